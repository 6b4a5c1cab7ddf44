package analyze_test

// Tests that kill mutants of captureloss.go, history.go, connlist.go and
// openrec.go (bench/mutation.sh): hand-built captures whose expected
// report text and numbers are computed by hand from the segments written.

import (
	"fmt"
	"strings"
	"testing"
	"time"

	"github.com/nfsstall/nfsstall/analyze"
)

// One connection whose peers each ACK 100 bytes the capture never saw:
// the report's header counts both directions on one connection, and,
// with no call unanswered, says nothing of unanswered calls.
func TestMutLossNoteBothDirectionsEqual(t *testing.T) {
	s := newScenario(t)
	c, sv := uint32(100), uint32(900)
	s.handshake(c, sv)
	cliAck := s.seg(time.Millisecond, true, c, sv+100, ackF, 501, nil) // 100 server bytes not captured
	srvAck := s.seg(time.Millisecond, false, sv+100, c+100, ackF, 501, nil)
	r := s.run(analyze.DefaultOptions())
	want := fmt.Sprintf("the capture missed bytes that the peers ACKed (100 bytes client->server, the first ACKed at frame %d; 100 bytes server->client, the first ACKed at frame %d; on 1 connection)", srvAck, cliAck)
	if len(r.Completeness) == 0 || r.Completeness[0] != want {
		t.Errorf("completeness %q\nwant first %q", r.Completeness, want)
	}
	if r.Summary.CaptureLossBytes != 200 || r.Summary.Unanswered != 0 {
		t.Errorf("summary %+v", r.Summary)
	}
}

// The one-way capture of TestOneWayCaptureNeverBlamesTheMissingSide: the
// warning names who ACKed (the server) and who sent the bytes the
// capture lacks (the client: the 68 bytes of its READ call).
func TestMutOneWaySentenceNamesTheSides(t *testing.T) {
	s := newScenario(t)
	c, sv := uint32(100), uint32(900)
	s.seg(0, false, sv, c, ackF, 501, nil)
	call := readCall(5, 0, 4096)
	c += uint32(len(call)) // the client's call, not captured
	s.seg(time.Millisecond, false, sv, c, ackF, 501, nil)
	reply := readReply(5, 4096)
	s.seg(100*time.Microsecond, false, sv, c, ackF|pshF, 501, reply[:1448])
	for _, d := range []time.Duration{200, 400, 800} {
		s.seg(d*time.Millisecond, false, sv, c, ackF|pshF, 501, reply[:1448])
	}
	r := s.run(analyze.DefaultOptions())
	u := findKinds(r)[analyze.KindUnackedRetran]
	want := fmt.Sprintf("; but the capture holds no client->server packet of this connection although the server's ACKs show client sent %d bytes: whether the client ACKed is unknown", len(call))
	if len(u) != 1 || !strings.HasSuffix(u[0].Summary, want) {
		t.Fatalf("unacked %+v\nwant the summary to end %q", u, want)
	}
}

// A call of which the capture holds its record marker and exactly the 24
// bytes of RPC header up to the procedure number, then ends: the open
// record is described by its procedure, and, alone, with no "more".
func TestMutOpenRecordWith24HeaderBytes(t *testing.T) {
	s := newScenario(t)
	c, sv := uint32(100), uint32(900)
	s.handshake(c, sv)
	call := readCall(9, 0, 4096) // marker + 64-byte message
	f := s.seg(time.Millisecond, true, c, sv, ackF|pshF, 501, call[:4+24])
	r := s.run(analyze.DefaultOptions())
	sk, ok := skippedWith(r, "RPC records client->server", "still open")
	if !ok || sk.Count != 1 {
		t.Fatalf("skipped %+v", r.Skipped)
	}
	want := fmt.Sprintf("(connection 1 at frame %d: NFSv3 READ call xid 0x00000009, 24 of 64 bytes)", f)
	if !strings.HasSuffix(sk.Reason, want) {
		t.Errorf("reason %q\nwant it to end %q", sk.Reason, want)
	}
}
