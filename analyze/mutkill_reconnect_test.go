package analyze_test

import (
	"net"
	"strings"
	"testing"
	"time"

	"github.com/nfsstall/nfsstall/analyze"
	"github.com/nfsstall/nfsstall/internal/handcap"
)

// Runs of SYNs (reconnect.go): their order and what the calls before them
// say, by hand from hand-built captures.

// TestMutReconnectSameTimeOrder: two clients start their runs of SYNs at
// the same instant, 198.18.0.1 to server 198.18.0.9 and 198.18.0.5 to
// server 198.18.0.2; runs that start together are listed by client
// address, so 198.18.0.1's first, though its server's address is the
// greater.
func TestMutReconnectSameTimeOrder(t *testing.T) {
	s := newScenario(t)
	a, aSrv := net.IP{198, 18, 0, 1}, net.IP{198, 18, 0, 9}
	b, bSrv := net.IP{198, 18, 0, 5}, net.IP{198, 18, 0, 2}
	s.tcpSeg(0, a, aSrv, 900, 2049, 1000, 0, synF, nil)
	s.tcpSeg(0, b, bSrv, 901, 2049, 7000, 0, synF, nil)
	for _, dt := range []time.Duration{time.Second, 2 * time.Second} {
		s.tcpSeg(dt, a, aSrv, 900, 2049, 1000, 0, synF, nil)
		s.tcpSeg(0, b, bSrv, 901, 2049, 7000, 0, synF, nil)
	}
	r := s.run(analyze.DefaultOptions())
	var got []string
	for _, f := range reconnectFindings(r) {
		got = append(got, f.Summary[:strings.Index(f.Summary, " sent ")])
	}
	if strings.Join(got, " ") != "198.18.0.1 198.18.0.5" {
		t.Errorf("reconnect findings by client %v, want 198.18.0.1 then 198.18.0.5", got)
	}
}

// TestMutReconnectReplyBeforeFirstSYN: the client's connection from port
// 700 gets its reply at 100 ms and is reset and folded (one connection
// listed); a new connection's SYN follows in the same millisecond, later
// in the capture, and its re-sends are never answered. No reply came
// since the first SYN: the run is a stall that says so.
func TestMutReconnectReplyBeforeFirstSYN(t *testing.T) {
	h := &handScenario{}
	// Port 701: the connection listed in full (the most bytes).
	h.add(handcap.Seg{MS: 0, Port: 701, ToServer: true, Flags: handcap.SYN, Seq: 1000})
	h.add(handcap.Seg{MS: 1, Port: 701, Flags: handcap.SYN | handcap.ACK, Seq: 5000, Ack: 1001})
	call := readCall(1, 0, 8192)
	h.add(handcap.Seg{MS: 2, Port: 701, ToServer: true, Flags: handcap.PSH | handcap.ACK, Seq: 1001, Ack: 5001, Payload: call})
	reply := readReply(1, 8192)
	h.add(handcap.Seg{MS: 3, Port: 701, Flags: handcap.PSH | handcap.ACK, Seq: 5001, Ack: 1001 + uint32(len(call)), Payload: reply})
	h.add(handcap.Seg{MS: 4, Port: 701, ToServer: true, Flags: handcap.RST | handcap.ACK, Seq: 1001 + uint32(len(call)), Ack: 5001 + uint32(len(reply))})
	// Port 700: a NULL call answered at 100 ms, then reset.
	h.add(handcap.Seg{MS: 10, Port: 700, ToServer: true, Flags: handcap.SYN, Seq: 2000})
	h.add(handcap.Seg{MS: 11, Port: 700, Flags: handcap.SYN | handcap.ACK, Seq: 6000, Ack: 2001})
	null := nfsNullCall(2)
	h.add(handcap.Seg{MS: 12, Port: 700, ToServer: true, Flags: handcap.PSH | handcap.ACK, Seq: 2001, Ack: 6001, Payload: null})
	nullReply := nfsNullReply(2)
	h.add(handcap.Seg{MS: 100, Port: 700, Flags: handcap.PSH | handcap.ACK, Seq: 6001, Ack: 2001 + uint32(len(null)), Payload: nullReply})
	h.add(handcap.Seg{MS: 100, Port: 700, ToServer: true, Flags: handcap.RST | handcap.ACK, Seq: 2001 + uint32(len(null)), Ack: 6001 + uint32(len(nullReply))})
	// Port 702: SYNs from the same millisecond on, never answered.
	for _, ms := range []int64{100, 1100, 3100} {
		h.add(handcap.Seg{MS: ms, Port: 702, ToServer: true, Flags: handcap.SYN, Seq: 3000})
	}
	opts := analyze.DefaultOptions()
	opts.MaxConnsListed = 1
	r := h.runWith(t, opts)
	fs := reconnectFindings(r)
	if len(fs) != 1 {
		t.Fatalf("reconnect findings %+v", fs)
	}
	want := "the client made 2 calls to this server earlier in the capture and no reply came from the server since the first SYN"
	if f := fs[0]; f.Severity != analyze.SeverityStall || !strings.Contains(f.Summary, want) {
		t.Errorf("finding %s %q, want a stall saying %q", f.Severity, f.Summary, want)
	}
}
