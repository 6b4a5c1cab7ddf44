package analyze_test

import (
	"bytes"
	"encoding/binary"
	"net"
	"strings"
	"testing"
	"time"

	"github.com/gopacket/gopacket"
	"github.com/gopacket/gopacket/layers"
	"github.com/gopacket/gopacket/pcapgo"

	"github.com/nfsstall/nfsstall/analyze"
	"github.com/nfsstall/nfsstall/capture"
)

// scenario builds a capture by hand: TCP segments between one NFS client
// and server, at chosen times.
type scenario struct {
	t     *testing.T
	buf   bytes.Buffer
	w     *pcapgo.Writer
	now   time.Time
	frame int64
	cport uint16
	// cli is the client's IPv4 address (198.18.0.1 if nil).
	cli net.IP
	// IP TTLs of the client's and the server's packets (64 if zero).
	cliTTL, srvTTL uint8
}

func (s *scenario) ttl(toServer bool) uint8 {
	t := s.srvTTL
	if toServer {
		t = s.cliTTL
	}
	if t == 0 {
		return 64
	}
	return t
}

func (s *scenario) client() net.IP {
	if s.cli == nil {
		return net.IP{198, 18, 0, 1}
	}
	return s.cli
}

func newScenario(t *testing.T) *scenario {
	s := &scenario{t: t, now: time.Unix(1_700_000_000, 0), cport: 766}
	s.w = pcapgo.NewWriterNanos(&s.buf)
	if err := s.w.WriteFileHeader(262144, layers.LinkTypeEthernet); err != nil {
		t.Fatal(err)
	}
	return s
}

const ackF, pshF = 0x10, 0x08

// seg writes one segment dt after the previous one and returns its frame.
func (s *scenario) seg(dt time.Duration, toServer bool, seq, ack uint32, flags uint8, win uint16, payload []byte) int64 {
	s.t.Helper()
	s.now = s.now.Add(dt)
	cip, sip := s.client(), net.IP{198, 18, 0, 2}
	ip := &layers.IPv4{Version: 4, TTL: s.ttl(toServer), Protocol: layers.IPProtocolTCP, SrcIP: cip, DstIP: sip}
	tcp := &layers.TCP{SrcPort: layers.TCPPort(s.cport), DstPort: 2049, Seq: seq, Ack: ack, Window: win,
		ACK: flags&ackF != 0, PSH: flags&pshF != 0, SYN: flags&0x02 != 0, FIN: flags&0x01 != 0, RST: flags&0x04 != 0}
	if !toServer {
		ip.SrcIP, ip.DstIP = sip, cip
		tcp.SrcPort, tcp.DstPort = 2049, layers.TCPPort(s.cport)
	}
	tcp.SetNetworkLayerForChecksum(ip)
	return s.write(ip, tcp, gopacket.Payload(payload))
}

// write adds one Ethernet frame carrying ls at s.now and returns its frame.
func (s *scenario) write(ls ...gopacket.SerializableLayer) int64 {
	s.t.Helper()
	eth := &layers.Ethernet{SrcMAC: net.HardwareAddr{2, 0, 0, 0, 0, 1}, DstMAC: net.HardwareAddr{2, 0, 0, 0, 0, 2}, EthernetType: layers.EthernetTypeIPv4}
	b := gopacket.NewSerializeBuffer()
	if err := gopacket.SerializeLayers(b, gopacket.SerializeOptions{FixLengths: true, ComputeChecksums: true}, append([]gopacket.SerializableLayer{eth}, ls...)...); err != nil {
		s.t.Fatal(err)
	}
	data := b.Bytes()
	if err := s.w.WritePacket(gopacket.CaptureInfo{Timestamp: s.now, CaptureLength: len(data), Length: len(data)}, data); err != nil {
		s.t.Fatal(err)
	}
	s.frame++
	return s.frame
}

// run analyses the capture built so far.
func (s *scenario) run(opts analyze.Options) *analyze.Report {
	s.t.Helper()
	in, err := capture.OpenInputs([]string{"-"}, bytes.NewReader(s.buf.Bytes()))
	if err != nil {
		s.t.Fatal(err)
	}
	defer in.Close()
	r, err := analyze.Run(in, opts)
	if err != nil {
		s.t.Fatal(err)
	}
	return r
}

func words(ws ...uint32) []byte {
	var b []byte
	for _, w := range ws {
		b = binary.BigEndian.AppendUint32(b, w)
	}
	return b
}

// readCall is a record-marked NFSv3 READ call (AUTH_NONE, 8-byte handle).
func readCall(xid uint32, offset uint64, count uint32) []byte {
	msg := words(xid, 0, 2, 100003, 3, 6, 0, 0, 0, 0, 8, 0xdeadbeef, 0xcafef00d, uint32(offset>>32), uint32(offset), count)
	return append(words(0x80000000|uint32(len(msg))), msg...)
}

// readReplyHead is the start of a record-marked READ reply carrying n data
// bytes: marker, RPC header, status, no attributes, count, eof, data length.
func readReplyHead(xid, n uint32) []byte {
	head := words(xid, 1, 0, 0, 0, 0, 0, 0, n, 0, n)
	return append(words(0x80000000|uint32(len(head))+n), head...)
}

func readReply(xid, n uint32) []byte { return append(readReplyHead(xid, n), make([]byte, n)...) }

func findKinds(r *analyze.Report) map[string][]analyze.Finding {
	out := map[string][]analyze.Finding{}
	for _, f := range r.Findings {
		out[f.Kind] = append(out[f.Kind], f)
	}
	return out
}

func frameList(fs ...int64) []int64 { return fs }

func sameFrames(a, b []int64) bool {
	return len(a) == len(b) && string(words64(a)) == string(words64(b))
}

func words64(fs []int64) []byte {
	var b []byte
	for _, f := range fs {
		b = binary.BigEndian.AppendUint64(b, uint64(f))
	}
	return b
}

// TestSeedClientNotAcking replays the incident this tool exists for: a
// 1 MiB READ call that the server's TCP ACKs; the server sends the start of
// its reply and re-sends it at growing intervals; the client never ACKs.
func TestSeedClientNotAcking(t *testing.T) {
	s := newScenario(t)
	const xid = 0xccbc20c7
	c, sv := uint32(5000), uint32(20317249)
	call := readCall(xid, 1376075776, 1048576)
	callFrame := s.seg(0, true, c, sv, ackF|pshF, 501, call)
	c += uint32(len(call))
	ackFrame := s.seg(40*time.Microsecond, false, sv, c, ackF, 501, nil)
	reply := readReply(xid, 1048576)
	first := s.seg(200*time.Microsecond, false, sv, c, ackF, 501, reply[:1448])
	s.seg(10*time.Microsecond, false, sv+1448, c, ackF, 501, reply[1448:2896])
	var resends []int64
	for _, d := range []time.Duration{200, 400, 800, 1600} {
		resends = append(resends, s.seg(d*time.Millisecond, false, sv, c, ackF, 501, reply[:1448]))
	}
	r := s.run(analyze.DefaultOptions())

	k := findKinds(r)
	if len(k["unanswered_call"]) != 1 || len(k["unacked_retransmission"]) != 1 {
		t.Fatalf("findings: %+v", r.Findings)
	}
	u := k["unanswered_call"][0]
	if u.XID == nil || *u.XID != xid || u.Procedure != "READ" || u.Severity != analyze.SeverityStall ||
		!sameFrames(u.Frames, frameList(callFrame, ackFrame)) {
		t.Errorf("unanswered_call: %+v", u)
	}
	for _, want := range []string{"offset 1376075776, 1048576 bytes", "the server's TCP ACKed it at frame 2", "reply began but is incomplete: 2892 of 1048620 bytes sent"} {
		if !strings.Contains(u.Summary, want) {
			t.Errorf("unanswered summary %q lacks %q", u.Summary, want)
		}
	}
	ur := k["unacked_retransmission"][0]
	if !sameFrames(ur.Frames, append([]int64{first}, resends...)) || ur.XID == nil || *ur.XID != xid {
		t.Errorf("unacked_retransmission frames %v xid %v, want %v", ur.Frames, ur.XID, append([]int64{first}, resends...))
	}
	if !strings.Contains(ur.Summary, "bytes of the NFSv3 READ reply to xid 0xccbc20c7") || !strings.Contains(ur.Summary, "re-sent 1448 bytes") {
		t.Errorf("unacked summary: %s", ur.Summary)
	}
	if len(r.Diagnoses) != 1 || r.Diagnoses[0].Verdict != analyze.VerdictClientNotAcking {
		t.Fatalf("diagnoses: %+v", r.Diagnoses)
	}
	if r.Summary.TCPRetransmissions != 4 || r.Summary.UnackedRetransmissions != 4 || r.Summary.Unanswered != 1 {
		t.Errorf("summary: %+v", r.Summary)
	}
}

// TestServerNotReplying: the call is ACKed, then only keep-alive-like
// traffic on another call's connection comes; no reply.
func TestServerNotReplying(t *testing.T) {
	s := newScenario(t)
	c, sv := uint32(100), uint32(900)
	// A healthy exchange first: answered in 0.2 ms, no finding.
	call := readCall(1, 0, 4096)
	s.seg(0, true, c, sv, ackF|pshF, 501, call)
	c += uint32(len(call))
	rep := readReply(1, 4096)
	s.seg(200*time.Microsecond, false, sv, c, ackF|pshF, 501, rep)
	sv += uint32(len(rep))
	// Then the stuck one.
	call = readCall(2, 4096, 4096)
	stuck := s.seg(time.Millisecond, true, c, sv, ackF|pshF, 501, call)
	c += uint32(len(call))
	ack := s.seg(50*time.Microsecond, false, sv, c, ackF, 501, nil)
	// The client's TCP keep-alives show the capture went on for 5 s.
	for i := 0; i < 5; i++ {
		s.seg(time.Second, true, c-1, sv, ackF, 501, nil)
		s.seg(50*time.Microsecond, false, sv, c, ackF, 501, nil)
	}
	r := s.run(analyze.DefaultOptions())
	if len(r.Diagnoses) != 1 || r.Diagnoses[0].Verdict != analyze.VerdictServerNotReplying {
		t.Fatalf("diagnoses %+v\nfindings %+v", r.Diagnoses, r.Findings)
	}
	f := r.Findings[r.Diagnoses[0].Findings[0]]
	if f.Kind != "unanswered_call" || *f.XID != 2 || !sameFrames(f.Frames, frameList(stuck, ack)) || f.DurationMS < 5000 {
		t.Errorf("finding %+v", f)
	}
	if r.Procedures[0].Calls != 2 || r.Procedures[0].Replies != 1 || r.Procedures[0].Unanswered != 1 {
		t.Errorf("procedure row %+v", r.Procedures[0])
	}
}

// TestClientWindowClosed: the client advertises a zero window and never
// reopens it; the server probes.
func TestClientWindowClosed(t *testing.T) {
	s := newScenario(t)
	c, sv := uint32(100), uint32(900)
	call := readCall(7, 0, 65536)
	s.seg(0, true, c, sv, ackF|pshF, 501, call)
	c += uint32(len(call))
	rep := readReply(7, 65536)
	s.seg(time.Millisecond, false, sv, c, ackF, 501, rep[:1448])
	sv += 1448
	zw := s.seg(time.Millisecond, true, c, sv, ackF, 0, nil)
	var probes int
	for _, d := range []time.Duration{200, 400, 800, 1600} {
		s.seg(d*time.Millisecond, false, sv-1, c, ackF, 501, nil) // Linux probe: seq = snd_una - 1
		s.seg(50*time.Microsecond, true, c, sv, ackF, 0, nil)
		probes++
	}
	r := s.run(analyze.DefaultOptions())
	if len(r.Diagnoses) != 1 || r.Diagnoses[0].Verdict != analyze.VerdictClientWindowClosed {
		t.Fatalf("diagnoses %+v\nfindings %+v", r.Diagnoses, r.Findings)
	}
	z := findKinds(r)["zero_window"]
	if len(z) != 1 || z[0].Frames[0] != zw || z[0].Severity != analyze.SeverityStall || !strings.Contains(z[0].Summary, "4 window probes") {
		t.Errorf("zero_window %+v", z)
	}
	if r.Summary.ZeroWindowEpisodes != 1 {
		t.Errorf("zero_window_episodes %d", r.Summary.ZeroWindowEpisodes)
	}
}

// TestServerNotAcking: the client re-sends a call the server never ACKs.
func TestServerNotAcking(t *testing.T) {
	s := newScenario(t)
	c, sv := uint32(100), uint32(900)
	call := readCall(9, 0, 4096)
	first := s.seg(0, true, c, sv, ackF|pshF, 501, call)
	var resends []int64
	for _, d := range []time.Duration{200, 400, 800, 1600} {
		resends = append(resends, s.seg(d*time.Millisecond, true, c, sv, ackF|pshF, 501, call))
	}
	r := s.run(analyze.DefaultOptions())
	if len(r.Diagnoses) != 1 || r.Diagnoses[0].Verdict != analyze.VerdictServerNotAcking {
		t.Fatalf("diagnoses %+v\nfindings %+v", r.Diagnoses, r.Findings)
	}
	u := findKinds(r)["unacked_retransmission"]
	if len(u) != 1 || !sameFrames(u[0].Frames, append([]int64{first}, resends...)) || !strings.Contains(u[0].Summary, "READ call xid 0x00000009") {
		t.Errorf("unacked %+v", u)
	}
	// A TCP re-send of the same bytes is not an RPC retransmission.
	if r.Summary.RPCRetransmissions != 0 || r.Summary.Calls != 1 {
		t.Errorf("summary %+v", r.Summary)
	}
}

// TestHealthy: calls answered in 0.2 ms give no finding and no diagnosis.
func TestHealthy(t *testing.T) {
	s := newScenario(t)
	c, sv := uint32(100), uint32(900)
	for xid := uint32(1); xid <= 20; xid++ {
		call := readCall(xid, uint64(xid)<<20, 1<<16)
		s.seg(time.Millisecond, true, c, sv, ackF|pshF, 501, call)
		c += uint32(len(call))
		rep := readReply(xid, 1<<16)
		for off := 0; off < len(rep); off += 1448 {
			s.seg(4*time.Microsecond, false, sv+uint32(off), c, ackF, 501, rep[off:min(off+1448, len(rep))])
		}
		sv += uint32(len(rep))
		s.seg(200*time.Microsecond, true, c, sv, ackF, 501, nil)
	}
	r := s.run(analyze.DefaultOptions())
	if len(r.Findings) != 0 || len(r.Diagnoses) != 0 || r.Summary.Unanswered != 0 || r.Summary.Replies != 20 {
		t.Errorf("findings %+v diagnoses %+v summary %+v", r.Findings, r.Diagnoses, r.Summary)
	}
}

// TestThresholds: --stall-after and --slow move what counts.
func TestThresholds(t *testing.T) {
	s := newScenario(t)
	c, sv := uint32(100), uint32(900)
	call := readCall(3, 0, 4096)
	s.seg(0, true, c, sv, ackF|pshF, 501, call)
	c += uint32(len(call))
	rep := readReply(3, 4096)
	s.seg(300*time.Millisecond, false, sv, c, ackF|pshF, 501, rep) // a 300 ms reply
	call2 := readCall(4, 0, 4096)
	s.seg(time.Millisecond, true, c, sv+uint32(len(rep)), ackF|pshF, 501, call2)
	s.seg(500*time.Millisecond, false, sv+uint32(len(rep)), c+uint32(len(call2)), ackF, 501, nil) // 500 ms outstanding at the end

	opts := analyze.DefaultOptions()
	r := s.run(opts)
	if len(r.Findings) != 0 || r.Summary.Unanswered != 1 {
		t.Errorf("defaults: findings %+v, unanswered %d", r.Findings, r.Summary.Unanswered)
	}
	opts.Slow, opts.StallAfter = 100e6, 400e6
	r = s.run(opts)
	k := findKinds(r)
	if len(k["slow_reply"]) != 1 || len(k["unanswered_call"]) != 1 {
		t.Errorf("tight thresholds: %+v", r.Findings)
	}
}

// lookupCall is a record-marked NFSv3 LOOKUP call for name in an 8-byte directory handle.
func lookupCall(xid uint32, name string) []byte {
	msg := words(xid, 0, 2, 100003, 3, 3, 0, 0, 0, 0, 8, 0x01020304, 0x05060708, uint32(len(name)))
	msg = append(msg, name...)
	for len(msg)%4 != 0 {
		msg = append(msg, 0)
	}
	return append(words(0x80000000|uint32(len(msg))), msg...)
}

// TestWireStringsAreEscaped: a file name carrying a terminal escape
// sequence is shown escaped, in findings and so in the text report.
func TestWireStringsAreEscaped(t *testing.T) {
	s := newScenario(t)
	c, sv := uint32(100), uint32(900)
	call := lookupCall(5, "evil\x1b[2J\x07name\n")
	s.seg(0, true, c, sv, ackF|pshF, 501, call)
	s.seg(2*time.Second, false, sv, c+uint32(len(call)), ackF, 501, nil)
	r := s.run(analyze.DefaultOptions())
	if len(r.Findings) != 1 {
		t.Fatalf("findings %+v", r.Findings)
	}
	sum := r.Findings[0].Summary
	if strings.ContainsAny(sum, "\x1b\x07\n") {
		t.Errorf("raw control characters in %q", sum)
	}
	if !strings.Contains(sum, `name "evil\x1b[2J\aname\n"`) || !strings.Contains(sum, "FH 0x") {
		t.Errorf("summary %q does not show the escaped name and handle", sum)
	}
}

// udp writes one UDP datagram dt after the previous one, from the client
// port to dport or back, and returns its frame.
func (s *scenario) udp(dt time.Duration, toServer bool, dport uint16, payload []byte) int64 {
	s.t.Helper()
	s.now = s.now.Add(dt)
	cip, sip := s.client(), net.IP{198, 18, 0, 2}
	ip := &layers.IPv4{Version: 4, TTL: s.ttl(toServer), Protocol: layers.IPProtocolUDP, SrcIP: cip, DstIP: sip}
	udp := &layers.UDP{SrcPort: layers.UDPPort(s.cport), DstPort: layers.UDPPort(dport)}
	if !toServer {
		ip.SrcIP, ip.DstIP = sip, cip
		udp.SrcPort, udp.DstPort = udp.DstPort, udp.SrcPort
	}
	udp.SetNetworkLayerForChecksum(ip)
	return s.write(ip, udp, gopacket.Payload(payload))
}

// Over UDP nothing acknowledges a call: an unanswered one is still
// server_not_replying, but the verdict must not claim the call arrived.
func TestUDPCallNotAnswered(t *testing.T) {
	s := newScenario(t)
	call := readCall(0x1001, 0, 4096)[4:] // no record marker over UDP
	s.udp(0, true, 2049, call)
	s.udp(2*time.Second, true, 2049, readCall(0x1002, 4096, 4096)[4:])
	s.udp(time.Millisecond, false, 2049, readReply(0x1002, 4096)[4:])
	r := s.run(analyze.DefaultOptions())
	if len(r.Diagnoses) != 1 || r.Diagnoses[0].Verdict != "server_not_replying" {
		t.Fatalf("diagnoses %+v", r.Diagnoses)
	}
	sum := r.Diagnoses[0].Summary
	if !strings.Contains(sum, "over UDP") || strings.Contains(sum, "is stuck") || strings.Contains(sum, "TCP") {
		t.Errorf("summary: %s", sum)
	}
}

// PORTMAP CALLIT (rpcbind BCAST) is silent when the called procedure
// fails (RFC 1833): unanswered, it is information, not a stall.
func TestCallitSilenceIsNoStall(t *testing.T) {
	s := newScenario(t)
	callit := words(0x2001, 0, 2, 100000, 2, 5, 0, 0, 0, 0, 100003, 3, 0, 0)
	s.udp(0, true, 111, callit)
	s.udp(3*time.Second, true, 111, words(0x2002, 0, 2, 100000, 2, 0, 0, 0, 0, 0)) // NULL, answered
	s.udp(time.Millisecond, false, 111, words(0x2002, 1, 0, 0, 0, 0))
	opts := analyze.DefaultOptions()
	opts.Ports = []uint16{111}
	r := s.run(opts)
	if len(r.Diagnoses) != 0 || r.Summary.Unanswered != 1 {
		t.Fatalf("diagnoses %+v, unanswered %d", r.Diagnoses, r.Summary.Unanswered)
	}
	fs := findKinds(r)[analyze.KindUnanswered]
	if len(fs) != 1 || fs[0].Severity != analyze.SeverityInfo || !strings.Contains(fs[0].Summary, "RFC 1833") {
		t.Errorf("findings %+v", fs)
	}
}

// TestSeedExactFrames replays frames 17786-17791 of the incident exactly
// as the write-up quotes them (sequence numbers, lengths, times). The
// server's first transmissions of the bytes it re-sends are not in the
// capture: its pure ACK (17787) already has seq 20323137, 5888 bytes past
// what the client ever ACKed (20317249). What the re-sent head segment
// carries is not quoted: either the start of an earlier READ reply (whose
// call is not in the capture) or of the reply to the stuck call.
func TestSeedExactFrames(t *testing.T) {
	const xid = 0xccbc20c7
	for _, tc := range []struct {
		name    string
		headXID uint32
		says    string
	}{
		{"earlier reply", 0xccbc20c6, "these bytes begin an RPC reply, xid 0xccbc20c6, whose call is not in the capture"},
		{"reply to the stuck call", xid, "these bytes begin the NFSv3 READ reply to xid 0xccbc20c7 (call at frame 1)"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			s := newScenario(t)
			at := func(sec float64) time.Duration { return time.Duration(sec * 1e9) }
			head := readReply(tc.headXID, 1048576)[:1448]
			// The write-up's call is 160 bytes (AUTH_SYS); only its length
			// in sequence space matters, so the AUTH_NONE call is padded
			// inside its record.
			call := readCall(xid, 1376075776, 1048576)
			call = append(call, make([]byte, 160-len(call))...)
			binary.BigEndian.PutUint32(call, 0x80000000|156)
			callFrame := s.seg(0, true, 13417, 20317249, ackF|pshF, 5623, call)
			ackFrame := s.seg(at(0.494499755-0.494431937), false, 20323137, 13577, ackF, 5623, nil)
			tailFrame := s.seg(at(0.503423525-0.494499755), false, 20323041, 13577, ackF, 5623, make([]byte, 96))
			var heads []int64
			prev := 0.503423525
			for _, ts := range []float64{0.711405976, 1.139363629, 1.971276412} {
				heads = append(heads, s.seg(at(ts-prev), false, 20317249, 13577, ackF, 5623, head))
				prev = ts
			}
			r := s.run(analyze.DefaultOptions())
			if len(r.Diagnoses) != 1 || r.Diagnoses[0].Verdict != analyze.VerdictClientNotAcking {
				t.Fatalf("diagnoses %+v\nfindings %+v", r.Diagnoses, r.Findings)
			}
			k := findKinds(r)
			u := k[analyze.KindUnanswered]
			if len(u) != 1 || *u[0].XID != xid || !sameFrames(u[0].Frames, frameList(callFrame, ackFrame)) {
				t.Errorf("unanswered_call: %+v", u)
			}
			var sawTail, sawHead bool
			for _, f := range k[analyze.KindUnackedRetran] {
				switch {
				case sameFrames(f.Frames, frameList(tailFrame)):
					sawTail = true
				case sameFrames(f.Frames, heads):
					sawHead = true
					if f.XID == nil || *f.XID != analyze.XID(tc.headXID) || !strings.Contains(f.Summary, tc.says) {
						t.Errorf("head bytes: %s\nwant %q", f.Summary, tc.says)
					}
				}
			}
			if !sawTail || !sawHead {
				t.Errorf("want the 96-byte tail (frame %d) and the 1448-byte head (frames %v) as never-ACKed re-sends: %+v",
					tailFrame, heads, k[analyze.KindUnackedRetran])
			}
		})
	}
}

// writeCall is a record-marked NFSv3 WRITE call (AUTH_NONE, 8-byte handle)
// carrying n data bytes.
func writeCall(xid uint32, n uint32) []byte {
	msg := words(xid, 0, 2, 100003, 3, 7, 0, 0, 0, 0, 8, 0xdeadbeef, 0xcafef00d, 0, 0, n, 2, n)
	msg = append(msg, make([]byte, n)...)
	return append(words(0x80000000|uint32(len(msg))), msg...)
}

// The server stops reading its socket in the middle of a WRITE: it
// advertises a zero window, the client probes, the window never reopens.
func TestServerWindowClosed(t *testing.T) {
	s := newScenario(t)
	c, sv := uint32(100), uint32(900)
	call := writeCall(9, 4096)
	s.seg(0, true, c, sv, ackF, 501, call[:1448])
	c += 1448
	zw := s.seg(time.Millisecond, false, sv, c, ackF, 0, nil)
	for _, d := range []time.Duration{200, 400, 800, 1600} {
		s.seg(d*time.Millisecond, true, c-1, sv, ackF, 501, nil) // probe: seq = snd_una - 1
		s.seg(50*time.Microsecond, false, sv, c, ackF, 0, nil)
	}
	r := s.run(analyze.DefaultOptions())
	if len(r.Diagnoses) != 1 || r.Diagnoses[0].Verdict != analyze.VerdictServerWindowClosed {
		t.Fatalf("diagnoses %+v\nfindings %+v", r.Diagnoses, r.Findings)
	}
	z := findKinds(r)[analyze.KindZeroWindow]
	if len(z) != 1 || z[0].Frames[0] != zw || z[0].Severity != analyze.SeverityStall || z[0].Probes != 4 ||
		!strings.Contains(z[0].Summary, "the server advertised a zero window") {
		t.Errorf("zero_window %+v", z)
	}
}

// Loss that TCP recovered from (a reply segment re-sent, then ACKed),
// while a later call gets neither an ACK nor a reply: the evidence points
// at the path, not at either process.
func TestPacketLoss(t *testing.T) {
	s := newScenario(t)
	c, sv := uint32(100), uint32(900)
	call := readCall(11, 0, 1000)
	s.seg(0, true, c, sv, ackF|pshF, 501, call)
	c += uint32(len(call))
	rep := readReply(11, 1000)
	s.seg(time.Millisecond, false, sv, c, ackF|pshF, 501, rep)
	s.seg(200*time.Millisecond, false, sv, c, ackF|pshF, 501, rep) // re-sent: the ACK was lost
	sv += uint32(len(rep))
	s.seg(100*time.Microsecond, true, c, sv, ackF, 501, nil) // recovered
	lost := readCall(12, 1000, 1000)
	callFrame := s.seg(10*time.Millisecond, true, c, sv, ackF|pshF, 501, lost)
	s.udp(3*time.Second, true, 53, []byte("later traffic on another port"))
	r := s.run(analyze.DefaultOptions())
	if len(r.Diagnoses) != 1 || r.Diagnoses[0].Verdict != analyze.VerdictPacketLoss {
		t.Fatalf("diagnoses %+v\nfindings %+v", r.Diagnoses, r.Findings)
	}
	u := findKinds(r)[analyze.KindUnanswered]
	if len(u) != 1 || *u[0].XID != 12 || u[0].Frames[0] != callFrame || !strings.Contains(u[0].Summary, "no TCP ACK of it from the server was captured") {
		t.Errorf("unanswered %+v", u)
	}
	if !strings.Contains(r.Diagnoses[0].Summary, "1 re-sent run was eventually ACKed") {
		t.Errorf("summary: %s", r.Diagnoses[0].Summary)
	}
}

// Where the capture was taken decides what missing ACKs prove; the TTLs
// tell it when routers lie between client and server.
func TestCapturePointFromTTL(t *testing.T) {
	for _, tc := range []struct {
		name           string
		cliTTL, srvTTL uint8
		says           string
	}{
		{"same segment", 64, 64, "captured at the client, the data arrived and no ACK left; captured at the server, the client's ACKs could also be lost"},
		{"at the client", 64, 61, "the client's packets have TTL 64, the server's 61: the capture was taken on the client's side of the routers between them: the data reached the client's side and no ACK left it"},
		{"at the server", 125, 255, "the server's packets have TTL 255, the client's 125: the capture was taken on the server's side of the routers between them: the client's ACKs may be lost on the way; a capture at the client tells"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			s := newScenario(t)
			s.cliTTL, s.srvTTL = tc.cliTTL, tc.srvTTL
			c, sv := uint32(5000), uint32(20317249)
			call := readCall(1, 0, 65536)
			s.seg(0, true, c, sv, ackF|pshF, 501, call)
			c += uint32(len(call))
			reply := readReply(1, 65536)
			for _, d := range []time.Duration{1, 200, 400, 800} {
				s.seg(d*time.Millisecond, false, sv, c, ackF, 501, reply[:1448])
			}
			r := s.run(analyze.DefaultOptions())
			if len(r.Diagnoses) != 1 || r.Diagnoses[0].Verdict != analyze.VerdictClientNotAcking {
				t.Fatalf("diagnoses %+v", r.Diagnoses)
			}
			if !strings.Contains(r.Diagnoses[0].Summary, tc.says) {
				t.Errorf("summary: %s\nwant %q", r.Diagnoses[0].Summary, tc.says)
			}
		})
	}
}
