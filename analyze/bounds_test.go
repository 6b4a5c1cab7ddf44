package analyze_test

import (
	"bytes"
	"encoding/binary"
	"fmt"
	"strings"
	"testing"
	"time"

	"github.com/gopacket/gopacket"
	"github.com/gopacket/gopacket/layers"

	"github.com/nfsstall/nfsstall/analyze"
	"github.com/nfsstall/nfsstall/capture"
	"github.com/nfsstall/nfsstall/internal/advcap"
	"github.com/nfsstall/nfsstall/tcpflow"
)

// Every bound on the analysis' state, when a capture reaches it, is
// reported in Report.Skipped with its value. The tests build captures that
// just pass each bound.

// skipped returns the report's skipped entry whose What is what.
func skipped(t *testing.T, r *analyze.Report, what string) analyze.Skipped {
	t.Helper()
	for _, s := range r.Skipped {
		if s.What == what {
			return s
		}
	}
	t.Fatalf("no skipped entry %q in %+v", what, r.Skipped)
	return analyze.Skipped{}
}

func noSkipped(t *testing.T, r *analyze.Report, what string) {
	t.Helper()
	for _, s := range r.Skipped {
		if s.What == what {
			t.Errorf("skipped %+v before the bound was reached", s)
		}
	}
}

// TestBoundRecordLength: a record marker declaring a fragment above the
// largest accepted (16 MiB) is lost sync, not a 2 GiB buffer; the framer
// finds the next call and the report counts the rejected marker.
func TestBoundRecordLength(t *testing.T) {
	s := newScenario(t)
	c, sv := uint32(100), uint32(900)
	s.seg(0, true, c-1, 0, 0x02, 501, nil) // SYN: the stream starts at a record
	s.seg(time.Millisecond, false, sv-1, c, 0x12, 501, nil)
	bad := words(0x7fffffff, 1, 0, 2) // marker: a 2 GiB last fragment
	s.seg(time.Millisecond, true, c, sv, ackF|pshF, 501, bad)
	c += uint32(len(bad))
	call := readCall(7, 0, 4096)
	s.seg(time.Millisecond, true, c, sv, ackF|pshF, 501, call)
	c += uint32(len(call))
	s.seg(time.Millisecond, false, sv, c, ackF|pshF, 501, readReply(7, 4096))
	r := s.run(analyze.DefaultOptions())
	if r.Summary.Calls != 1 || r.Summary.Replies != 1 {
		t.Errorf("calls %d replies %d, want the call after the bad marker and its reply", r.Summary.Calls, r.Summary.Replies)
	}
	sk := skipped(t, r, "RPC record markers")
	if sk.Count != 1 || !strings.Contains(sk.Reason, "longer than 16777216 bytes") {
		t.Errorf("skipped %+v", sk)
	}
}

// TestBoundConnections: with room for 4 connections, the fifth open one
// is not analysed (its packets are counted), and connections that ended
// make room at once.
func TestBoundConnections(t *testing.T) {
	opts := analyze.DefaultOptions()
	opts.Limits.MaxConnections = 4
	s := newScenario(t)
	// Six connections that stay open, each a call and its reply.
	for i := range 6 {
		s.cport = uint16(700 + i)
		call := readCall(uint32(i+1), 0, 512)
		s.seg(time.Millisecond, true, 100, 900, ackF|pshF, 501, call)
		s.seg(time.Millisecond, false, 900, 100+uint32(len(call)), ackF|pshF, 501, readReply(uint32(i+1), 512))
	}
	r := s.run(opts)
	if r.Summary.Connections != 4 || r.Summary.Calls != 4 {
		t.Errorf("%d connections, %d calls; want 4 and 4", r.Summary.Connections, r.Summary.Calls)
	}
	sk := skipped(t, r, "packets")
	if sk.Count != 4 || !strings.Contains(sk.Reason, "connection table was full (4 connections tracked at once)") {
		t.Errorf("skipped %+v, want the 4 packets of the last 2 connections", sk)
	}
	noSkipped(t, r, "connections")

	// The same, but each connection ends with a RST: ended connections are
	// released early to make room, and every call is analysed.
	s = newScenario(t)
	for i := range 6 {
		s.cport = uint16(700 + i)
		call := readCall(uint32(i+1), 0, 512)
		s.seg(time.Millisecond, true, 100, 900, ackF|pshF, 501, call)
		s.seg(time.Millisecond, false, 900, 100+uint32(len(call)), ackF|pshF, 501, readReply(uint32(i+1), 512))
		s.seg(time.Millisecond, true, 100+uint32(len(call)), 0, 0x04, 0, nil)
	}
	r = s.run(opts)
	if r.Summary.Connections != 6 || r.Summary.Calls != 6 || r.Summary.Replies != 6 {
		t.Errorf("%d connections, %d calls, %d replies; want 6 of each", r.Summary.Connections, r.Summary.Calls, r.Summary.Replies)
	}
	if sk := skipped(t, r, "connections"); sk.Count != 4 || !strings.Contains(sk.Reason, "4 connections were open at once") {
		t.Errorf("skipped %+v, want the 4 connections released to make room", sk)
	}
}

// TestBoundReassembly: out-of-order segments held behind a hole are
// bounded in segments as well as bytes; past the bound the hole is
// declared lost, and the report says so with the limits.
func TestBoundReassembly(t *testing.T) {
	opts := analyze.DefaultOptions()
	opts.Limits.QueueSegments = 8
	s := newScenario(t)
	c, sv := uint32(100), uint32(900)
	s.seg(0, true, c-1, 0, 0x02, 501, nil)
	// A hole of 4 bytes, then 10 one-byte segments behind it.
	for i := range 10 {
		s.seg(time.Millisecond, true, c+4+uint32(i), sv, ackF, 501, []byte{byte(i)})
	}
	r := s.run(opts)
	sk := skipped(t, r, "stream holes")
	if sk.Count != 1 || !strings.Contains(sk.Reason, "8 segments per direction") {
		t.Errorf("skipped %+v", sk)
	}
}

// TestBoundFindingsListed: findings of one kind past the first 1000 are
// counted, not listed; the summary counts them all.
func TestBoundFindingsListed(t *testing.T) {
	s := newScenario(t)
	c, sv := uint32(100), uint32(900)
	const episodes = 1005
	for range episodes {
		s.seg(time.Millisecond, true, c, sv, ackF, 0, nil) // the client's window closes
		s.seg(time.Millisecond, true, c, sv, ackF, 501, nil)
	}
	r := s.run(analyze.DefaultOptions())
	if r.Summary.ZeroWindowEpisodes != episodes {
		t.Errorf("%d zero-window episodes counted, want %d", r.Summary.ZeroWindowEpisodes, episodes)
	}
	n := 0
	for _, f := range r.Findings {
		if f.Kind == analyze.KindZeroWindow {
			n++
		}
	}
	if n != 1000 {
		t.Errorf("%d zero_window findings listed, want 1000", n)
	}
	if sk := skipped(t, r, "zero_window findings"); sk.Count != episodes-1000 {
		t.Errorf("skipped %+v", sk)
	}
}

// TestBoundCallsWatchedForACK: a connection whose server ACKs nothing
// watches at most 4096 calls for their ACK.
func TestBoundCallsWatchedForACK(t *testing.T) {
	s := newScenario(t)
	c, sv := uint32(100), uint32(900)
	const calls = 4100
	for i := range calls {
		call := readCall(uint32(i+1), uint64(i)*4096, 4096)
		s.seg(time.Microsecond, true, c, sv, ackF|pshF, 501, call)
		c += uint32(len(call))
	}
	r := s.run(analyze.DefaultOptions())
	if r.Summary.Calls != calls {
		t.Fatalf("%d calls", r.Summary.Calls)
	}
	if sk := skipped(t, r, "calls watched for their TCP ACK"); sk.Count != calls-4096 || !strings.Contains(sk.Reason, "4096") {
		t.Errorf("skipped %+v", sk)
	}
}

// TestBoundTCPEvidence: a sender whose peer ACKs nothing is remembered for
// its last 4096 transmissions, and at most 256 re-sent runs are followed.
func TestBoundTCPEvidence(t *testing.T) {
	s := newScenario(t)
	c, sv := uint32(100), uint32(900)
	const sent, resent = 4200, 300
	seg := []byte(strings.Repeat("x", 10))
	for i := range sent {
		s.seg(time.Microsecond, false, sv+uint32(i*len(seg)), c, ackF, 501, seg)
	}
	// Re-send the first 300 segments, each its own run, late enough not
	// to count as out-of-order.
	for i := range resent {
		s.seg(10*time.Millisecond, false, sv+uint32(i*len(seg)), c, ackF, 501, seg)
	}
	r := s.run(analyze.DefaultOptions())
	sk := skipped(t, r, "TCP transmissions")
	if sk.Count < sent-4096 || !strings.Contains(sk.Reason, "more than 4096") {
		t.Errorf("skipped %+v, want at least %d", sk, sent-4096)
	}
	if sk := skipped(t, r, "TCP re-sends"); sk.Count != resent-256 || !strings.Contains(sk.Reason, "256 re-sent runs") {
		t.Errorf("skipped %+v, want %d", sk, resent-256)
	}
	n := 0
	for _, f := range r.Findings {
		if f.Kind == analyze.KindUnackedRetran {
			n++
		}
	}
	if n != 256 {
		t.Errorf("%d unacked_retransmission findings, want 256", n)
	}
}

// TestBoundCallsTracked: the calls waiting for a reply are bounded
// (Options.MaxCalls); past it, calls are counted and reported untracked.
func TestBoundCallsTracked(t *testing.T) {
	opts := analyze.DefaultOptions()
	opts.MaxCalls = 10
	s := newScenario(t)
	c, sv := uint32(100), uint32(900)
	for i := range 15 {
		call := readCall(uint32(i+1), 0, 512)
		s.seg(time.Microsecond, true, c, sv, ackF|pshF, 501, call)
		c += uint32(len(call))
	}
	r := s.run(opts)
	if r.Summary.Calls != 15 || r.Summary.Unanswered != 10 {
		t.Errorf("calls %d unanswered %d, want 15 and 10", r.Summary.Calls, r.Summary.Unanswered)
	}
	if sk := skipped(t, r, "RPC calls"); sk.Count != 5 || !strings.Contains(sk.Reason, fmt.Sprint(10)) {
		t.Errorf("skipped %+v", sk)
	}
}

// skippedPackets returns the report's "packets" entry whose reason
// contains reason.
func skippedPackets(t *testing.T, r *analyze.Report, reason string) analyze.Skipped {
	t.Helper()
	for _, s := range r.Skipped {
		if s.What == "packets" && strings.Contains(s.Reason, reason) {
			return s
		}
	}
	t.Fatalf("no skipped packets %q in %+v", reason, r.Skipped)
	return analyze.Skipped{}
}

// fragPiece is one IP fragment to write: bytes off..off+n of a datagram's
// IP payload, more fragments following or not.
type fragPiece struct {
	off, n int
	more   bool
}

// pieces cuts an IP payload of n bytes into fragments of 1480 bytes.
func pieces(n int) []fragPiece {
	var out []fragPiece
	for off := 0; off < n; off += 1480 {
		out = append(out, fragPiece{off, min(1480, n-off), off+1480 < n})
	}
	return out
}

// udpDatagram is the IP payload of a UDP datagram from the client's port
// to 2049, or back (checksum 0: none, as IPv4 allows).
func (s *scenario) udpDatagram(toServer bool, payload []byte) []byte {
	b := make([]byte, 8, 8+len(payload))
	sp, dp := s.cport, uint16(2049)
	if !toServer {
		sp, dp = dp, sp
	}
	binary.BigEndian.PutUint16(b[0:], sp)
	binary.BigEndian.PutUint16(b[2:], dp)
	binary.BigEndian.PutUint16(b[4:], uint16(8+len(payload)))
	return append(b, payload...)
}

// frag writes one Ethernet/IPv4 fragment of datagram id (ip is its whole
// IP payload, UDP) dt after the previous packet and returns its frame.
func (s *scenario) frag(dt time.Duration, toServer bool, id uint16, ip []byte, pc fragPiece) int64 {
	s.t.Helper()
	s.now = s.now.Add(dt)
	cip, sip := []byte{198, 18, 0, 1}, []byte{198, 18, 0, 2}
	if !toServer {
		cip, sip = sip, cip
	}
	b := make([]byte, 14+20, 14+20+pc.n)
	copy(b, []byte{2, 0, 0, 0, 0, 2, 2, 0, 0, 0, 0, 1, 0x08, 0x00})
	h := b[14:]
	h[0], h[8], h[9] = 0x45, 64, byte(layers.IPProtocolUDP)
	binary.BigEndian.PutUint16(h[2:], uint16(20+pc.n))
	binary.BigEndian.PutUint16(h[4:], id)
	fl := uint16(pc.off / 8)
	if pc.more {
		fl |= 0x2000
	}
	binary.BigEndian.PutUint16(h[6:], fl)
	copy(h[12:], cip)
	copy(h[16:], sip)
	data := append(b, ip[pc.off:pc.off+pc.n]...)
	if err := s.w.WritePacket(gopacket.CaptureInfo{Timestamp: s.now, CaptureLength: len(data), Length: len(data)}, data); err != nil {
		s.t.Fatal(err)
	}
	s.frame++
	return s.frame
}

// TestFragmentedUDP: NFS over UDP with datagrams larger than the MTU: a
// READ reply of 8 KiB in six IP fragments, in reverse order, and a call in
// three, are analysed at the frame of the fragment that completed them.
func TestFragmentedUDP(t *testing.T) {
	s := newScenario(t)
	s.udp(0, true, 2049, readCall(0x3001, 0, 8192)[4:])
	reply := s.udpDatagram(false, readReply(0x3001, 8192)[4:])
	pcs := pieces(len(reply))
	var last int64
	for i := len(pcs) - 1; i >= 0; i-- {
		last = s.frag(time.Millisecond, false, 7, reply, pcs[i])
	}
	// A call with 3000 bytes of padding behind its arguments, never answered.
	call := s.udpDatagram(true, append(readCall(0x3002, 8192, 8192)[4:], make([]byte, 3000)...))
	for _, pc := range pieces(len(call)) {
		last = s.frag(time.Millisecond, true, 8, call, pc)
	}
	r := s.run(analyze.DefaultOptions())
	if r.Summary.Calls != 2 || r.Summary.Replies != 1 || r.Summary.OrphanReplies != 0 {
		t.Fatalf("calls %d, replies %d, orphans %d", r.Summary.Calls, r.Summary.Replies, r.Summary.OrphanReplies)
	}
	if len(r.Procedures) != 1 || r.Procedures[0].Latency.Max != float64(len(pcs)) {
		t.Errorf("procedures %+v, want the reply timed at its last fragment, %d ms after the call", r.Procedures, len(pcs))
	}
	if len(r.Unanswered) != 1 || r.Unanswered[0].Frame != last {
		t.Errorf("unanswered %+v, want the call at frame %d", r.Unanswered, last)
	}
	noSkipped(t, r, "packets")
}

// TestBoundFragments: each bound on IP fragment reassembly, when a capture
// reaches it, is reported with its value and the datagrams it dropped.
func TestBoundFragments(t *testing.T) {
	dg := func(s *scenario) []byte { return s.udpDatagram(true, make([]byte, 5992)) }
	type step func(s *scenario, ip []byte)
	first := func(id uint16) step {
		return func(s *scenario, ip []byte) { s.frag(time.Millisecond, true, id, ip, pieces(len(ip))[0]) }
	}
	whole := func(id uint16, dt time.Duration) step {
		return func(s *scenario, ip []byte) {
			for i, pc := range pieces(len(ip)) {
				s.frag(dt*time.Duration(1-min(i, 1)), true, id, ip, pc)
			}
		}
	}
	at := func(id uint16, pc fragPiece) step {
		return func(s *scenario, ip []byte) {
			if len(ip) < pc.off+pc.n {
				ip = append(ip, make([]byte, pc.off+pc.n-len(ip))...)
			}
			s.frag(time.Millisecond, true, id, ip, pc)
		}
	}
	for _, tt := range []struct {
		name   string
		limits func(*tcpflow.Limits)
		steps  []step
		count  int64
		reason string
	}{
		{"datagrams", func(l *tcpflow.Limits) { l.FragDatagrams = 2 }, []step{first(1), first(2), first(3)}, 1,
			"as many datagrams were in reassembly as allowed (2 datagrams in reassembly at once; 1 datagram dropped, the oldest first)"},
		{"bytes", func(l *tcpflow.Limits) { l.FragBytes = 4096 }, []step{at(1, fragPiece{4440, 1480, true})}, 1,
			"held as many bytes as allowed (4096 bytes of reassembly buffers at once; 1 datagram dropped, the oldest first)"},
		{"timeout", nil, []step{first(1), whole(2, 31*time.Second)}, 1,
			"not completed in time: dropped incomplete (30s of capture time after its first fragment, as Linux; 1 datagram)"},
		{"length", nil, []step{first(1), at(1, fragPiece{64480, 1480, false})}, 2,
			"beyond the largest IP datagram: the datagram is dropped (65535 bytes with the IPv4 header, or 65535 bytes of IPv6 payload; 1 datagram)"},
		{"overlap", nil, []step{first(1), at(1, fragPiece{8, 1480, true})}, 2,
			"the datagram is dropped whole, as the receiving host drops it (RFC 5722, Linux) (1 datagram)"},
		{"duplicate", nil, []step{first(1), first(1), whole(1, 0)}, 2, // the first fragment, sent thrice
			"duplicate IP fragment (the same offset and length as one already held; the first copy is used)"},
		{"end", nil, []step{first(1), first(2)}, 2,
			"still incomplete at the end of the capture (2 datagrams)"},
	} {
		t.Run(tt.name, func(t *testing.T) {
			opts := analyze.DefaultOptions()
			if tt.limits != nil {
				tt.limits(&opts.Limits)
			}
			s := newScenario(t)
			ip := dg(s)
			for _, st := range tt.steps {
				st(s, ip)
			}
			r := s.run(opts)
			if sk := skippedPackets(t, r, "IP fragment"); sk.Count != tt.count || !strings.HasSuffix(sk.Reason, tt.reason) {
				t.Errorf("skipped %+v, want %d: ...%s", sk, tt.count, tt.reason)
			}
		})
	}
}

// TestPcapngInterfacesOverCap: interfaces past capture.MaxInterfaces are
// a bound reached, in skipped with the count of their packets.
func TestPcapngInterfacesOverCap(t *testing.T) {
	var buf bytes.Buffer
	if err := advcap.Interleaved(&buf, capture.MaxInterfaces+2); err != nil {
		t.Fatal(err)
	}
	in, err := capture.OpenInputs([]string{"-"}, bytes.NewReader(buf.Bytes()))
	if err != nil {
		t.Fatal(err)
	}
	defer in.Close()
	r, err := analyze.Run(in, analyze.DefaultOptions())
	if err != nil {
		t.Fatal(err)
	}
	s := skipped(t, r, "pcapng interfaces")
	if !s.Bound || s.Count != 2 || !strings.Contains(s.Reason, "the 2 packets on them were skipped") || !strings.Contains(s.Reason, "65536") {
		t.Errorf("skipped %+v", s)
	}
	if r.Captures[0].Packets != capture.MaxInterfaces+2 {
		t.Errorf("%d packets, want every frame counted", r.Captures[0].Packets)
	}
}
