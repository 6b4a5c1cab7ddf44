package analyze_test

// NFSv4.1 sessions held to tshark's recorded view (nfs4view_test.go): per
// session, the calls with SEQUENCE, the largest slot id and highest slot
// id they sent, the server's largest highest slot id and its smallest and
// largest target, and the slots used at once, replayed from tshark's
// pairing: a call takes its slot at its frame and frees it at its reply's.

import (
	"strings"
	"testing"

	"github.com/nfsstall/nfsstall/analyze"
)

type oracleSession struct {
	calls, results                  int64
	maxSlot, maxHighest, srvHighest uint32
	targetMin, targetMax            uint32
	inUse, maxInUse                 int
}

// sessionsOf replays tshark's view: SEQUENCE (op 53) calls and their replies.
func sessionsOf(t *testing.T, msgs []map[string]string) map[string]*oracleSession {
	out := map[string]*oracleSession{}
	type callAt struct{ frame, xid string }
	waiting := map[callAt]*oracleSession{}
	hasSequence := func(m map[string]string) bool {
		return m["prog"] == "100003" && m["vers"] == "4" && strings.HasPrefix(m["ops"], "53") && m["session"] != ""
	}
	for _, m := range msgs {
		if !hasSequence(m) {
			continue
		}
		switch m["msgtyp"] {
		case "0":
			s := out[m["session"]]
			if s == nil {
				s = &oracleSession{}
				out[m["session"]] = s
			}
			s.calls++
			s.maxSlot = max(s.maxSlot, u32(t, m["slotid"]))
			s.maxHighest = max(s.maxHighest, u32(t, m["highslot"]))
			s.inUse++
			s.maxInUse = max(s.maxInUse, s.inUse)
			waiting[callAt{m["frame"], m["xid"]}] = s
		case "1":
			if s, ok := waiting[callAt{m["partner"], m["xid"]}]; ok {
				delete(waiting, callAt{m["partner"], m["xid"]})
				s.inUse--
			}
			if m["target"] == "" {
				continue // the SEQUENCE failed: no result body
			}
			s := out[m["session"]]
			if s == nil {
				continue
			}
			target := u32(t, m["target"])
			if s.results == 0 || target < s.targetMin {
				s.targetMin = target
			}
			s.targetMax = max(s.targetMax, target)
			s.srvHighest = max(s.srvHighest, u32(t, m["highslot"]))
			s.results++
		}
	}
	return out
}

func TestNFS4SessionsOracle(t *testing.T) {
	checked := 0
	for _, pc := range nfs4Captures {
		t.Run(pc.file, func(t *testing.T) {
			msgs, path, ok := nfs4View(t, pc)
			if !ok {
				t.Skipf("%s not found", pc.path())
			}
			want := sessionsOf(t, msgs)
			r := runPublic(t, path)
			got := map[string]analyze.NFS4Session{}
			for _, s := range r.NFS4Sessions {
				got[s.SessionID] = s
			}
			for id, w := range want {
				g, ok := got[id]
				if !ok {
					t.Errorf("session %s: not listed; tshark: %d calls with SEQUENCE", id, w.calls)
					continue
				}
				checked++
				for _, c := range []struct {
					what      string
					got, want int64
				}{
					{"calls", g.Calls, w.calls}, {"results", g.Results, w.results},
					{"max_slots_in_use", int64(g.MaxSlotsInUse), int64(w.maxInUse)},
					{"max_slotid", int64(g.MaxSlotID), int64(w.maxSlot)}, {"highest_slotid", int64(g.HighestSlotID), int64(w.maxHighest)},
					{"server_highest_slotid", int64(g.ServerHighestSlotID), int64(w.srvHighest)},
					{"target_highest_slotid_min", int64(g.TargetHighestSlotIDMin), int64(w.targetMin)},
					{"target_highest_slotid_max", int64(g.TargetHighestSlotIDMax), int64(w.targetMax)},
				} {
					if c.got != c.want {
						t.Errorf("session %s: %s %d, tshark %d", id, c.what, c.got, c.want)
					}
				}
			}
			for id, g := range got {
				if want[id] == nil && g.Calls > 0 {
					t.Errorf("session %s: %d calls, tshark has none", id, g.Calls)
				}
			}
		})
	}
	t.Logf("checked %d sessions", checked)
	if checked > 0 && checked < 2 {
		t.Errorf("checked %d sessions, want the 4.1 captures' (2 or more)", checked)
	}
}
