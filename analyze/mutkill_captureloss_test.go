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

// Three connections between one client and server, each a call and its
// reply then a reset, with ever more bytes: with one closed connection
// listed, the first two fold, and their group spans from the first
// connection's SYN to the second's reset.
func TestMutFoldedGroupSpan(t *testing.T) {
	s := newScenario(t)
	var first, last time.Time
	for i, n := range []uint32{512, 1024, 4096} {
		s.cport = uint16(700 + i)
		c, sv := uint32(100), uint32(900)
		if i == 0 {
			first = s.now.Add(time.Millisecond) // the SYN's time
		}
		s.handshake(c, sv)
		s.exchange(&c, &sv, readCall(uint32(1+i), 0, n), readReply(uint32(1+i), n))
		s.seg(time.Millisecond, true, c, 0, 0x04, 0, nil)
		if i == 1 {
			last = s.now
		}
	}
	opts := analyze.DefaultOptions()
	opts.MaxConnsListed = 1
	r := s.run(opts)
	if len(r.Connections) != 1 || r.Connections[0].ID != 3 || len(r.ConnectionGroups) != 1 {
		t.Fatalf("connections %+v\ngroups %+v", r.Connections, r.ConnectionGroups)
	}
	g := r.ConnectionGroups[0]
	if g.Connections != 2 || g.Calls != 2 || int64(g.FirstTime) != first.UnixNano() || int64(g.LastTime) != last.UnixNano() {
		t.Errorf("group %+v: want 2 connections, 2 calls, first_time %d, last_time %d", g, first.UnixNano(), last.UnixNano())
	}
}

// Three connections that close (reset) with a call each still waiting:
// under Options.MaxClosedKept (4) all three are kept, and their calls
// reported unanswered; none is given up.
func TestMutClosedKeptUnderTheBound(t *testing.T) {
	s := newScenario(t)
	for i := range 3 {
		s.cport = uint16(700 + i)
		c, sv := uint32(100), uint32(900)
		s.handshake(c, sv)
		s.exchange(&c, &sv, readCall(uint32(1+i), 0, 512), nil)
		s.seg(time.Millisecond, false, sv, c, ackF, 501, nil)
		s.seg(time.Millisecond, true, c, 0, 0x04, 0, nil)
	}
	s.cport = 800
	s.seg(2*time.Second, true, 200, 900, ackF, 501, nil) // time passes, on another connection
	opts := analyze.DefaultOptions()
	opts.Limits.CloseIdle = 100e6 // reset connections released after 100 ms
	opts.MaxClosedKept = 4
	r := s.run(opts)
	if r.Summary.Unanswered != 3 {
		t.Errorf("%d unanswered, want 3", r.Summary.Unanswered)
	}
	if sk, ok := skippedWith(r, "RPC calls", "closed connections were kept"); ok {
		t.Errorf("skipped %+v: the bound (4) was not reached", sk)
	}
}

// The server's window stays closed on connection 1 (TestServerWindowClosed);
// a second later the client opens connection 2, where the server answers
// a call: the zero window is a warning, the episode over.
func TestMutZeroWindowEpisodeOver(t *testing.T) {
	s := newScenario(t)
	c, sv := uint32(100), uint32(900)
	call := writeCall(9, 4096)
	s.seg(0, true, c, sv, ackF, 501, call[:1448])
	c += 1448
	zw := s.seg(time.Millisecond, false, sv, c, ackF, 0, nil)
	zwAt := s.now // the episode's only evidence frame
	for _, d := range []time.Duration{200, 400, 800, 1600} {
		s.seg(d*time.Millisecond, true, c-1, sv, ackF, 501, nil) // probe: seq = snd_una - 1
		s.seg(50*time.Microsecond, false, sv, c, ackF, 0, nil)
	}
	s.cport = 767
	c2, sv2 := uint32(1000), uint32(2000)
	s.handshake(c2, sv2)
	s.seg(time.Second, true, c2, sv2, ackF|pshF, 501, readCall(10, 0, 512))
	c2 += uint32(len(readCall(10, 0, 512)))
	replyFrame := s.seg(time.Millisecond, false, sv2, c2, ackF|pshF, 501, readReply(10, 512))
	gap := s.now.Sub(zwAt)
	r := s.run(analyze.DefaultOptions())
	z := findKinds(r)[analyze.KindZeroWindow]
	if len(z) != 1 || z[0].Connection != 1 || z[0].Frames[0] != zw {
		t.Fatalf("zero_window %+v", z)
	}
	want := fmt.Sprintf("; the episode is over: the client went on on connection 2, where the server was still replying at frame %d, %s after the episode's last frame",
		replyFrame, analyze.FormatMS(float64(gap)/1e6))
	if z[0].Severity != analyze.SeverityWarning || !strings.HasSuffix(z[0].Summary, want) {
		t.Errorf("zero_window %s %q\nwant a warning ending %q", z[0].Severity, z[0].Summary, want)
	}
}

// The client re-sends call 9, which the server never ACKs; the server then
// answers the earlier call 8 on the same connection. The connection did
// not end: the finding stays a stall (only a later connection ends an
// episode).
func TestMutReplyOnTheSameConnectionEndsNoEpisode(t *testing.T) {
	s := newScenario(t)
	c, sv := uint32(100), uint32(900)
	call8, call9 := readCall(8, 0, 512), readCall(9, 0, 512)
	s.seg(0, true, c, sv, ackF|pshF, 501, call8)
	c += uint32(len(call8))
	first := s.seg(time.Millisecond, true, c, sv, ackF|pshF, 501, call9)
	for _, d := range []time.Duration{200, 400, 800, 1600} {
		s.seg(d*time.Millisecond, true, c, sv, ackF|pshF, 501, call9)
	}
	s.seg(100*time.Millisecond, false, sv, c, ackF|pshF, 501, readReply(8, 512))
	r := s.run(analyze.DefaultOptions())
	u := findKinds(r)[analyze.KindUnackedRetran]
	if len(u) != 1 || u[0].Frames[0] != first {
		t.Fatalf("unacked %+v", u)
	}
	if u[0].Severity != analyze.SeverityStall || strings.Contains(u[0].Summary, "episode is over") {
		t.Errorf("unacked %s %q: want a stall", u[0].Severity, u[0].Summary)
	}
}

// unansweredFinding returns the report's one unanswered_call finding.
func unansweredFinding(t *testing.T, r *analyze.Report) analyze.Finding {
	t.Helper()
	u := findKinds(r)[analyze.KindUnanswered]
	if len(u) != 1 {
		t.Fatalf("unanswered_call findings %+v", u)
	}
	return u[0]
}

// A call on connection 1 never answered; later the client ACKs 100 bytes
// from the server the capture never saw on connection 1 (frame x), and,
// at the same instant, on connection 2 (frame y > x). The first frame
// after the call that shows missing bytes is x: the warning names it,
// and no other connection.
func TestMutReplyMissedFirstOfEqualTimes(t *testing.T) {
	s := newScenario(t)
	s.cport = 700
	c1, sv1 := uint32(100), uint32(900)
	s.handshake(c1, sv1)
	s.cport = 701
	c2, sv2 := uint32(100), uint32(900)
	s.handshake(c2, sv2)
	s.cport = 700
	s.exchange(&c1, &sv1, readCall(1, 0, 512), nil)
	s.seg(time.Millisecond, false, sv1, c1, ackF, 501, nil)
	x := s.seg(time.Millisecond, true, c1, sv1+100, ackF, 501, nil)
	s.cport = 701
	y := s.seg(0, true, c2, sv2+100, ackF, 501, nil)
	s.cport = 700
	s.seg(3*time.Second, false, sv1+100, c1, ackF, 501, nil)
	r := s.run(analyze.DefaultOptions())
	u := unansweredFinding(t, r)
	want := fmt.Sprintf("; after it was sent, the client ACKed at frame %d 100 bytes from the server that the capture did not see: its reply may be among them, so this is not evidence of a stall", x)
	if u.Severity != analyze.SeverityWarning || !strings.HasSuffix(u.Summary, want) {
		t.Errorf("unanswered %s %q\nwant a warning ending %q (not frame %d, connection 2)", u.Severity, u.Summary, want, y)
	}
}

// Connection 1, which folds away, showed 100 bytes from the server
// missing at the very instant the call on connection 2 was sent: not
// after it, so they cannot hold its reply, folded or not (as an open
// connection's are judged, lossLog.after): the call is a stall either way.
func TestMutFoldedLossAtTheCallsInstant(t *testing.T) {
	s := newScenario(t)
	s.cport = 701
	c2, sv2 := uint32(100), uint32(900)
	s.handshake(c2, sv2)
	s.exchange(&c2, &sv2, readCall(2, 0, 512), readReply(2, 512))
	s.cport = 700
	c1, sv1 := uint32(100), uint32(900)
	s.handshake(c1, sv1)
	s.exchange(&c1, &sv1, readCall(1, 0, 512), nil)
	s.cport = 701
	s.seg(0, true, c2, sv2+100, ackF, 501, nil) // the call's instant
	s.seg(time.Millisecond, true, c2, 0, 0x04, 0, nil)
	s.cport = 700
	s.seg(time.Millisecond, false, sv1, c1, ackF, 501, nil)
	// Connections 3 to 6, more bytes: listed before connection 1.
	for i := range 4 {
		s.cport = uint16(800 + i)
		c, sv := uint32(100), uint32(900)
		s.handshake(c, sv)
		s.exchange(&c, &sv, readCall(uint32(10+i), 0, 4096), readReply(uint32(10+i), 4096))
		s.seg(time.Millisecond, true, c, 0, 0x04, 0, nil)
	}
	s.cport = 700
	s.seg(3*time.Second, false, sv1, c1, ackF, 501, nil)
	opts := analyze.DefaultOptions()
	opts.MaxConnsListed = 1
	for _, o := range []analyze.Options{analyze.DefaultOptions(), opts} {
		r := s.run(o)
		u := unansweredFinding(t, r)
		if u.Severity != analyze.SeverityStall || strings.Contains(u.Summary, "may be among them") {
			t.Errorf("MaxConnsListed %d: unanswered %s %q: want a stall", o.MaxConnsListed, u.Severity, u.Summary)
		}
		listed1 := false
		for _, row := range r.Connections {
			listed1 = listed1 || row.ID == 1
		}
		if folded := o.MaxConnsListed == 1; listed1 == folded {
			t.Errorf("MaxConnsListed %d: connection 1 listed %v", o.MaxConnsListed, listed1)
		}
	}
}

// Connections 2 and 3 (same client and server as connection 1, where a
// call waits) each show 100 bytes from the server missing at the same
// instant, frames x then y, and fold away (connection 2 first: fewer
// bytes). What a folded pair keeps is its latest missing bytes: of equal
// times, the later frame, y on connection 3.
func TestMutFoldedLatestOfEqualTimes(t *testing.T) {
	s := newScenario(t)
	s.cport = 700
	c1, sv1 := uint32(100), uint32(900)
	s.handshake(c1, sv1)
	s.exchange(&c1, &sv1, readCall(1, 0, 512), nil)
	s.seg(time.Millisecond, false, sv1, c1, ackF, 501, nil)
	var cs, svs [2]uint32
	for i, n := range []uint32{512, 1024} {
		s.cport = uint16(701 + i)
		cs[i], svs[i] = 100, 900
		s.handshake(cs[i], svs[i])
		s.exchange(&cs[i], &svs[i], readCall(uint32(2+i), 0, n), readReply(uint32(2+i), n))
	}
	s.cport = 701
	x := s.seg(time.Millisecond, true, cs[0], svs[0]+100, ackF, 501, nil)
	s.cport = 702
	y := s.seg(0, true, cs[1], svs[1]+100, ackF, 501, nil)
	for i := range 2 {
		s.cport = uint16(701 + i)
		s.seg(time.Millisecond, true, cs[i], 0, 0x04, 0, nil)
	}
	// Connection 4, more bytes: the one closed connection listed.
	s.cport = 800
	c, sv := uint32(100), uint32(900)
	s.handshake(c, sv)
	s.exchange(&c, &sv, readCall(10, 0, 4096), readReply(10, 4096))
	s.seg(time.Millisecond, true, c, 0, 0x04, 0, nil)
	s.cport = 700
	s.seg(3*time.Second, false, sv1, c1, ackF, 501, nil)
	opts := analyze.DefaultOptions()
	opts.MaxConnsListed = 1
	r := s.run(opts)
	for _, row := range r.Connections {
		if row.ID == 2 || row.ID == 3 {
			t.Fatalf("connection %d listed: it should have folded", row.ID)
		}
	}
	u := unansweredFinding(t, r)
	want := fmt.Sprintf("; after it was sent, the client ACKed at frame %d 100 bytes from the server that the capture did not see on connection 3: its reply may be among them, so this is not evidence of a stall", y)
	if u.Severity != analyze.SeverityWarning || !strings.HasSuffix(u.Summary, want) {
		t.Errorf("unanswered %s %q\nwant a warning ending %q (not frame %d)", u.Severity, u.Summary, want, x)
	}
}
