package analyze_test

import (
	"fmt"
	"strings"
	"testing"
	"time"

	"github.com/nfsstall/nfsstall/analyze"
)

// TestHeldPlateauAndShrinkingWindow: three READ calls sent 1 ms apart,
// each ACKed by the server's TCP with a smaller window (40000, 20000,
// 4000 bytes; the handshake negotiated no scaling), none answered; the
// server's last ACK comes 3 s later. The server holds 3 calls from the
// third on (a plateau over nearly all the stall) and its window shrank to
// a tenth: the verdict says both, and states the busy-threads reading as
// a hypothesis.
func TestHeldPlateauAndShrinkingWindow(t *testing.T) {
	v := newConvo(t)
	var calls, acks []int64
	for i, win := range []uint16{40000, 20000, 4000} {
		call := readCall(uint32(i+1), uint64(i)*4096, 4096)
		calls = append(calls, v.s.seg(time.Millisecond, true, v.c, v.sv, ackF|pshF, 501, call))
		v.c += uint32(len(call))
		acks = append(acks, v.s.seg(100*time.Microsecond, false, v.sv, v.c, ackF, win, nil))
	}
	v.s.seg(3*time.Second, false, v.sv, v.c, ackF, 4000, nil)
	r := v.s.run(analyze.DefaultOptions())
	if len(r.Diagnoses) != 1 || r.Diagnoses[0].Verdict != analyze.VerdictServerNotReplying {
		t.Fatalf("diagnoses %+v", r.Diagnoses)
	}
	s := r.Diagnoses[0].Summary
	for _, w := range []string{
		fmt.Sprintf("The server holds 3 of this connection's calls at the end (at most 3 at once, first at frame %d)", calls[2]),
		fmt.Sprintf("the count has stood at 3 since frame %d", calls[2]),
		"fits all the server's NFS threads being busy or blocked (3 of them, if each holds one call), or the client's own limit on calls in flight",
		fmt.Sprintf("Since the start of the connection the server's advertised receive window went from 40000 bytes (frame %d) to 4000 at the end", acks[0]),
		"shrinking toward zero",
	} {
		if !strings.Contains(s, w) {
			t.Errorf("verdict lacks %q: %s", w, s)
		}
	}
}
