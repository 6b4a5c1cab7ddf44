package analyze_test

import (
	"strings"
	"testing"
	"time"

	"github.com/nfsstall/nfsstall/analyze"
)

// Verdicts and the findings behind them (verdict.go, findings.go): counts,
// words and orders computed by hand from hand-built captures.

// clientNotAcking writes, on the scenario's current client port, a READ
// call the server's TCP ACKs and a reply whose first 1448 bytes the server
// sends and then re-sends four times at 200, 400, 800 and 1600 ms; the
// client never ACKs them. It returns the reply's first frame and the
// re-sends.
func clientNotAcking(s *scenario, xid uint32) (first int64, resends []int64) {
	c, sv := uint32(5000), uint32(20317249)
	call := readCall(xid, 0, 65536)
	s.seg(time.Millisecond, true, c, sv, ackF|pshF, 501, call)
	c += uint32(len(call))
	s.seg(40*time.Microsecond, false, sv, c, ackF, 501, nil)
	reply := readReply(xid, 65536)
	first = s.seg(200*time.Microsecond, false, sv, c, ackF, 501, reply[:1448])
	for _, d := range []time.Duration{200, 400, 800, 1600} {
		resends = append(resends, s.seg(d*time.Millisecond, false, sv, c, ackF, 501, reply[:1448]))
	}
	return first, resends
}

// TestMutVerdictResendCount: the server sent reply bytes once and re-sent
// them 4 times, the client never ACKing: the finding says the server
// re-sent and the client never ACKed, and the client_not_acking verdict
// counts the 4 re-sends (5 frames, the original first).
func TestMutVerdictResendCount(t *testing.T) {
	s := newScenario(t)
	first, resends := clientNotAcking(s, 0x1234)
	r := s.run(analyze.DefaultOptions())
	if len(r.Diagnoses) != 1 || r.Diagnoses[0].Verdict != analyze.VerdictClientNotAcking {
		t.Fatalf("diagnoses %+v", r.Diagnoses)
	}
	want := "the server sent reply data and re-sent it 4 times (frames "
	if d := r.Diagnoses[0].Summary; !strings.HasPrefix(d, want) {
		t.Errorf("verdict summary %q, want it to begin %q", d, want)
	}
	k := findKinds(r)
	if len(k[analyze.KindUnackedRetran]) != 1 {
		t.Fatalf("findings %+v", r.Findings)
	}
	u := k[analyze.KindUnackedRetran][0]
	if !sameFrames(u.Frames, append([]int64{first}, resends...)) {
		t.Errorf("frames %v, want %v", u.Frames, append([]int64{first}, resends...))
	}
	if !strings.HasPrefix(u.Summary, "the server re-sent 1448 bytes") || !strings.Contains(u.Summary, "the client never ACKed them") {
		t.Errorf("unacked summary %q: want the server as sender, the client as receiver", u.Summary)
	}
}

// TestMutVerdictRankAcrossConnections: connection 1 (the first seen) has a
// call the server ACKed and never answered (server_not_replying, rank 5);
// connection 2 has reply data the client never ACKs (client_not_acking,
// rank 0). The more severe verdict is listed first, though its connection
// is the later one.
func TestMutVerdictRankAcrossConnections(t *testing.T) {
	s := newScenario(t)
	s.cport = 766
	c, sv := uint32(100), uint32(900)
	call := readCall(2, 4096, 4096)
	s.seg(0, true, c, sv, ackF|pshF, 501, call)
	c += uint32(len(call))
	s.seg(50*time.Microsecond, false, sv, c, ackF, 501, nil)

	s.cport = 767
	clientNotAcking(s, 0x77)

	s.cport = 766
	for range 5 {
		s.seg(time.Second, true, c-1, sv, ackF, 501, nil)
		s.seg(50*time.Microsecond, false, sv, c, ackF, 501, nil)
	}
	r := s.run(analyze.DefaultOptions())
	var got []string
	for _, d := range r.Diagnoses {
		got = append(got, d.Verdict)
	}
	if len(got) != 2 || got[0] != analyze.VerdictClientNotAcking || got[1] != analyze.VerdictServerNotReplying ||
		r.Diagnoses[0].Connection != 2 || r.Diagnoses[1].Connection != 1 {
		t.Errorf("diagnoses %v (connections %+v), want client_not_acking on 2, then server_not_replying on 1", got, r.Diagnoses)
	}
}

// TestMutRetransAnsweredAfter: in rpc-resent's traffic the call xid
// 0x5e000002 is first sent at 10 ms, again at 1010 ms, and answered at
// 2010 ms (frame 10): 2000 ms after its first transmission.
func TestMutRetransAnsweredAfter(t *testing.T) {
	h := &handScenario{segs: resentSegs()}
	r := h.run(t)
	k := findKinds(r)
	if len(k[analyze.KindRPCRetrans]) != 1 {
		t.Fatalf("findings %+v", r.Findings)
	}
	f := k[analyze.KindRPCRetrans][0]
	want := "answered at frame 10 on connection 1, " + analyze.FormatMS(2000) + " after the first transmission"
	if !strings.Contains(f.Summary, want) {
		t.Errorf("summary %q lacks %q", f.Summary, want)
	}
}
