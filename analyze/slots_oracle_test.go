package analyze_test

// session_slots and state_recovery_loop held to tshark's recorded view of
// the public captures (nfs4view_test.go): replaying tshark's pairing, a
// slot given a call while its earlier call has no reply yet, a SEQUENCE
// answered with a slot error (SEQ_MISORDERED, BADSLOT, RETRY_UNCACHED_REP,
// SEQ_FALSE_RETRY, BAD_HIGH_SLOT) or a state error (BADSESSION,
// DEADSESSION, STALE_CLIENTID, EXPIRED). A capture where tshark shows none
// must get no session_slots finding, and none with a state_recovery_loop;
// one with no CB_RECALL/CB_LAYOUTRECALL no recall_stuck, one with no
// NFS4ERR_DENIED no lock_wait, one with no NFS4ERR_CB_PATH_DOWN (and
// healthy callbacks) no callback_path_down.

import (
	"strings"
	"testing"

	"github.com/nfsstall/nfsstall/analyze"
)

func TestSlotsAndStateOracle(t *testing.T) {
	slotErrs := map[string]bool{"10063": true, "10053": true, "10068": true, "10076": true, "10077": true}
	stateErrs := map[string]bool{"10052": true, "10078": true, "10022": true, "10011": true}
	checked := 0
	for _, pc := range nfs4Captures {
		t.Run(pc.file, func(t *testing.T) {
			msgs, path, ok := nfs4View(t, pc)
			if !ok {
				t.Skipf("%s not found", pc.path())
			}
			type slotKey struct{ session, slot string }
			type callAt struct{ frame, xid string }
			held := map[slotKey]int{}
			waiting := map[callAt]slotKey{}
			reuse, slotErr, stateErr, seqCalls := 0, 0, 0, 0
			recalls, denied, cbDown := 0, 0, 0
			for _, m := range msgs {
				for _, op := range strings.Split(m["cbops"], ",") {
					if m["msgtyp"] == "0" && (op == "4" || op == "5") {
						recalls++ // CB_RECALL, CB_LAYOUTRECALL
					}
				}
				if m["prog"] != "100003" || m["vers"] != "4" {
					continue
				}
				if m["msgtyp"] == "1" {
					switch m["status"] {
					case "10010":
						denied++
					case "10048":
						cbDown++
					}
					if slotErrs[m["status"]] {
						slotErr++
					}
					if stateErrs[m["status"]] {
						stateErr++
					}
					if k, ok := waiting[callAt{m["partner"], m["xid"]}]; ok {
						delete(waiting, callAt{m["partner"], m["xid"]})
						held[k]--
					}
					continue
				}
				if m["session"] == "" || m["slotid"] == "" || len(m["ops"]) < 2 || m["ops"][:2] != "53" {
					continue
				}
				seqCalls++
				k := slotKey{m["session"], m["slotid"]}
				if held[k] > 0 {
					reuse++
				}
				held[k]++
				waiting[callAt{m["frame"], m["xid"]}] = k
			}
			r := runPublic(t, path)
			slots := findingsOf(r, analyze.KindSessionSlots)
			loops := findingsOf(r, analyze.KindStateRecovery)
			t.Logf("tshark: %d SEQUENCE calls, %d on a held slot, %d slot errors, %d state errors; nfsstall: %d session_slots, %d state_recovery_loop",
				seqCalls, reuse, slotErr, stateErr, len(slots), len(loops))
			if reuse == 0 && slotErr == 0 && len(slots) > 0 {
				t.Errorf("session_slots %+v, but tshark shows no slot held twice and no slot error", slots)
			}
			if stateErr == 0 && len(loops) > 0 {
				t.Errorf("state_recovery_loop %+v, but tshark shows no state error", loops)
			}
			if n := len(findingsOf(r, analyze.KindRecallStuck)); recalls == 0 && n > 0 {
				t.Errorf("%d recall_stuck, but tshark shows no CB_RECALL or CB_LAYOUTRECALL", n)
			}
			if n := len(findingsOf(r, analyze.KindLockWait)); denied == 0 && n > 0 {
				t.Errorf("%d lock_wait, but tshark shows no NFS4ERR_DENIED", n)
			}
			// callback_path_down also comes from SEQUENCE status flags and
			// unanswered callbacks, which the view does not hold: only a
			// capture with neither a CB_PATH_DOWN nor a callback may have none.
			if n := len(findingsOf(r, analyze.KindCallbackPathDown)); cbDown == 0 && n > 0 {
				for _, f := range findingsOf(r, analyze.KindCallbackPathDown) {
					t.Logf("callback_path_down: %s", f.Summary)
				}
				t.Errorf("%d callback_path_down, but tshark shows no NFS4ERR_CB_PATH_DOWN", n)
			}
			if seqCalls > 0 {
				checked++
			}
		})
	}
	if checked > 0 && checked < 3 {
		t.Errorf("checked %d captures with SEQUENCE, want the 4.1 ones (3 or more)", checked)
	}
}
