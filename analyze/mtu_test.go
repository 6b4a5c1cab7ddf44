package analyze_test

import (
	"encoding/binary"
	"fmt"
	"slices"
	"strings"
	"testing"

	"github.com/nfsstall/nfsstall/analyze"
	"github.com/nfsstall/nfsstall/internal/handcap"
)

// Hand-built MTU black holes (handcap: client 198.18.0.1:800, server
// 198.18.0.2:2049). The oracle is the list of segments itself: which were
// full size, which re-sent, which ACKed or SACKed, numbered in the order
// they are added (pcap frame numbers).

const (
	mtuClientISN = 1000
	mtuServerISN = 5000
	mss          = 1448
)

// sackOpt is a TCP SACK option of one block (RFC 2018), NOP-padded.
func sackOpt(le, re uint32) []byte {
	b := []byte{1, 1, 5, 10}
	b = binary.BigEndian.AppendUint32(b, le)
	return binary.BigEndian.AppendUint32(b, re)
}

// mtuRun is a hand-built read through a path that passes short segments
// only: its frames, by role.
type mtuRun struct {
	h            handScenario
	smallAckedAt int64   // the client's ACK of the small reply before
	full         []int64 // the reply's full-size segments, first sent
	tail         int64   // the reply's short last segment (0: none)
	sack         int64   // the client's duplicate ACK SACKing it (0: none)
	resends      []int64 // every re-send of a full-size segment
	tailResends  []int64
	serverNext   uint32 // the server's sequence number after the reply
	replyStart   uint32
	clientNext   uint32
}

// mtuScenario: a handshake, a small call answered and ACKed (the
// server's 48-byte reply is the longest it gets ACKed), then a READ whose
// replyN-byte reply goes out at 11 ms as full-size segments and a tail.
// sackTail: the client SACKs the tail at 12 ms; resendTail: the server
// re-sends the tail along with the first segment (the seed's shape); the
// first segment is re-sent at 211, 611, 1411, 3011 and 6211 ms, the second
// and third once at 20 ms.
func mtuScenario(replyN uint32, sackTail, resendTail bool) *mtuRun {
	m := &mtuRun{}
	h := &m.h
	h.add(handcap.Seg{MS: 0, Port: 800, ToServer: true, Flags: handcap.SYN, Seq: mtuClientISN})
	h.add(handcap.Seg{MS: 1, Port: 800, Flags: handcap.SYN | handcap.ACK, Seq: mtuServerISN, Ack: mtuClientISN + 1})
	h.add(handcap.Seg{MS: 2, Port: 800, ToServer: true, Flags: handcap.ACK, Seq: mtuClientISN + 1, Ack: mtuServerISN + 1})
	cseq, sseq := uint32(mtuClientISN+1), uint32(mtuServerISN+1)
	call := readCall(1, 0, 4)
	h.add(handcap.Seg{MS: 3, Port: 800, ToServer: true, Flags: handcap.PSH | handcap.ACK, Seq: cseq, Ack: sseq, Payload: call})
	cseq += uint32(len(call))
	reply := readReply(1, 4)
	h.add(handcap.Seg{MS: 4, Port: 800, Flags: handcap.PSH | handcap.ACK, Seq: sseq, Ack: cseq, Payload: reply})
	sseq += uint32(len(reply))
	m.smallAckedAt = h.add(handcap.Seg{MS: 5, Port: 800, ToServer: true, Flags: handcap.ACK, Seq: cseq, Ack: sseq})

	call = readCall(2, 0, replyN)
	h.add(handcap.Seg{MS: 10, Port: 800, ToServer: true, Flags: handcap.PSH | handcap.ACK, Seq: cseq, Ack: sseq, Payload: call})
	cseq += uint32(len(call))
	reply = readReply(2, replyN)
	m.replyStart = sseq
	var segs [][2]uint32 // offsets in reply
	for off := uint32(0); off < uint32(len(reply)); off += mss {
		segs = append(segs, [2]uint32{off, min(off+mss, uint32(len(reply)))})
	}
	hasTail := segs[len(segs)-1][1]-segs[len(segs)-1][0] < mss
	for i, s := range segs {
		f := h.add(handcap.Seg{MS: 11, Port: 800, Flags: handcap.ACK, Seq: sseq + s[0], Ack: cseq, Payload: reply[s[0]:s[1]]})
		if hasTail && i == len(segs)-1 {
			m.tail = f
		} else {
			m.full = append(m.full, f)
		}
	}
	if hasTail && sackTail {
		t := segs[len(segs)-1]
		m.sack = h.add(handcap.Seg{MS: 12, Port: 800, ToServer: true, Flags: handcap.ACK, Seq: cseq, Ack: sseq, Opts: sackOpt(sseq+t[0], sseq+t[1])})
	}
	for i := 1; i < min(3, len(segs)); i++ {
		if hasTail && i == len(segs)-1 {
			break
		}
		s := segs[i]
		m.resends = append(m.resends, h.add(handcap.Seg{MS: 20, Port: 800, Flags: handcap.ACK, Seq: sseq + s[0], Ack: cseq, Payload: reply[s[0]:s[1]]}))
	}
	for _, at := range []int64{211, 611, 1411, 3011, 6211} {
		s := segs[0]
		m.resends = append(m.resends, h.add(handcap.Seg{MS: at, Port: 800, Flags: handcap.ACK, Seq: sseq + s[0], Ack: cseq, Payload: reply[s[0]:s[1]]}))
		if hasTail && resendTail {
			t := segs[len(segs)-1]
			m.tailResends = append(m.tailResends, h.add(handcap.Seg{MS: at, Port: 800, Flags: handcap.PSH | handcap.ACK, Seq: sseq + t[0], Ack: cseq, Payload: reply[t[0]:t[1]]}))
		}
	}
	m.serverNext, m.clientNext = sseq+uint32(len(reply)), cseq
	return m
}

func mtuFindings(r *analyze.Report) []analyze.Finding {
	var out []analyze.Finding
	for _, f := range r.Findings {
		if f.Kind == analyze.KindMTUBlackHole {
			out = append(out, f)
		}
	}
	return out
}

func sorted(fs ...[]int64) []int64 {
	var out []int64
	for _, f := range fs {
		out = append(out, f...)
	}
	slices.Sort(out)
	return slices.Compact(out)
}

// TestMTUBlackHole: three full-size segments and a 204-byte tail; the
// client SACKs the tail and never ACKs the full-size ones, re-sent to the
// end. A stall, the server to blame on neither side: the path, with the
// sizes that pass and do not; the verdict mtu_black_hole replaces
// client_not_acking.
func TestMTUBlackHole(t *testing.T) {
	// 4 + 44 bytes of record marker and header: 3 full segments + 204.
	m := mtuScenario(3*mss+204-48, true, false)
	r := m.h.run(t)
	fs := mtuFindings(r)
	if len(fs) != 1 {
		t.Fatalf("%d mtu_black_hole findings, want 1: %+v", len(fs), r.Findings)
	}
	f := fs[0]
	if f.Severity != analyze.SeverityStall || f.Connection != 1 {
		t.Errorf("severity %s connection %d, want stall on 1", f.Severity, f.Connection)
	}
	want := sorted(m.full, m.resends, []int64{m.tail, m.sack})
	if !slices.Equal(f.Frames, want) {
		t.Errorf("frames %v, want %v (full-size segments and their re-sends, the tail and its SACK)", f.Frames, want)
	}
	// The tail SACKed is the longest segment of the server ACKed.
	for _, s := range []string{"1448 bytes of TCP payload", "re-sent 7 times", "3 runs of bytes, the first sent at frame 8",
		fmt.Sprintf("a 204-byte segment sent after them (frame %d) was acknowledged by the client at frame %d", m.tail, m.sack),
		fmt.Sprintf("longest segment of the server ever ACKed was 204 bytes (frame %d)", m.tail), "no ICMP", "segments of 204 bytes pass, 1448-byte ones do not"} {
		if !strings.Contains(f.Summary, s) {
			t.Errorf("summary lacks %q: %s", s, f.Summary)
		}
	}
	if len(r.Diagnoses) != 1 || r.Diagnoses[0].Verdict != analyze.VerdictMTUBlackHole {
		t.Fatalf("diagnoses %+v, want one mtu_black_hole", r.Diagnoses)
	}
	d := r.Diagnoses[0]
	for _, s := range []string{"path from the server to the client", "(1448 bytes of payload) never arrive while 204-byte ones do"} {
		if !strings.Contains(d.Summary, s) {
			t.Errorf("verdict lacks %q: %s", s, d.Summary)
		}
	}
	if len(d.WiresharkFilters) != 1 || !slices.Equal(d.WiresharkFilters[0].Frames, want) {
		t.Errorf("Wireshark filter %+v, want frames %v", d.WiresharkFilters, want)
	}
	if !strings.Contains(d.Summary, "The capture does not tell where on the path") {
		t.Errorf("verdict does not say the capture point is unknown (all TTLs 64): %s", d.Summary)
	}
	// The client's packets with TTL 61, the server's 64: captured on the
	// server's side of three routers, the sender's; with the TTLs the
	// other way round, on the client's, where the full-size segments
	// arrived.
	for _, tc := range []struct {
		client, server byte
		want           string
	}{
		{61, 64, "the capture was taken on the server's side of the routers between them: the drop is beyond them or at the client"},
		{64, 61, "the capture was taken on the client's side of the routers between them: the full-size segments crossed them, so what drops them is on the client's own network"},
	} {
		m := mtuScenario(3*mss+204-48, true, false)
		for i := range m.h.segs {
			if m.h.segs[i].ToServer {
				m.h.segs[i].TTL = tc.client
			} else {
				m.h.segs[i].TTL = tc.server
			}
		}
		r := m.h.run(t)
		if len(r.Diagnoses) != 1 || !strings.Contains(r.Diagnoses[0].Summary, tc.want) {
			t.Errorf("TTLs client %d server %d: diagnoses %+v, want one saying %q", tc.client, tc.server, r.Diagnoses, tc.want)
		}
	}
}

// TestMTUBlackHoleNotTheSeed: a receiver that ACKs nothing (the seed's
// verdict): the short tail is re-sent and never ACKed either, nothing is
// SACKed and the client sends nothing after; not a path that drops
// full-size segments. (The seed's own capture: mtu_oracle_test.go.)
func TestMTUBlackHoleNotTheSeed(t *testing.T) {
	m := mtuScenario(3*mss+204-48, false, true)
	r := m.h.run(t)
	if fs := mtuFindings(r); len(fs) != 0 {
		t.Errorf("mtu_black_hole on the seed's shape: %+v", fs)
	}
	if len(r.Diagnoses) != 1 || r.Diagnoses[0].Verdict != analyze.VerdictClientNotAcking {
		t.Errorf("diagnoses %+v, want client_not_acking", r.Diagnoses)
	}
	// The tail SACKed but also re-sent and never ACKed (cumulatively):
	// a short segment never ACKed either is still no black hole.
	m = mtuScenario(3*mss+204-48, true, true)
	if fs := mtuFindings(m.h.run(t)); len(fs) != 0 {
		t.Errorf("mtu_black_hole with the short tail re-sent and never ACKed: %+v", fs)
	}
}

// TestMTUBlackHoleRecovered: the full-size segments are ACKed in the end
// (the path healed, or the sender lowered its segment size): no finding.
func TestMTUBlackHoleRecovered(t *testing.T) {
	m := mtuScenario(3*mss+204-48, true, false)
	m.h.add(handcap.Seg{MS: 6300, Port: 800, ToServer: true, Flags: handcap.ACK, Seq: m.clientNext, Ack: m.serverNext})
	if fs := mtuFindings(m.h.run(t)); len(fs) != 0 {
		t.Errorf("mtu_black_hole after the bytes were ACKed: %+v", fs)
	}
}

// TestMTUBlackHoleFullSizeACKedBefore: segments of the same size were
// ACKed earlier on the connection, so the size is not what the path
// refuses: no mtu_black_hole (the definition: longer than every segment
// ever ACKed).
func TestMTUBlackHoleFullSizeACKedBefore(t *testing.T) {
	m := mtuScenario(3*mss+204-48, true, false)
	// The same scenario, the small first reply replaced by a full-size one.
	h := &m.h
	var segs []handcap.Seg
	segs = append(segs, h.segs[:3]...)
	call := readCall(1, 0, mss-48)
	segs = append(segs, handcap.Seg{MS: 3, Port: 800, ToServer: true, Flags: handcap.PSH | handcap.ACK, Seq: mtuClientISN + 1, Ack: mtuServerISN + 1, Payload: call, Win: 65535})
	reply := readReply(1, mss-48)
	segs = append(segs, handcap.Seg{MS: 4, Port: 800, Flags: handcap.PSH | handcap.ACK, Seq: mtuServerISN + 1, Ack: mtuClientISN + 1 + uint32(len(call)), Payload: reply, Win: 65535})
	segs = append(segs, handcap.Seg{MS: 5, Port: 800, ToServer: true, Flags: handcap.ACK, Seq: mtuClientISN + 1 + uint32(len(call)), Ack: mtuServerISN + 1 + uint32(len(reply)), Win: 65535})
	// Shift the rest of the scenario's sequence numbers by what the
	// longer first exchange added.
	dc, ds := uint32(len(call)-len(readCall(1, 0, 4))), uint32(len(reply)-len(readReply(1, 4)))
	for _, s := range h.segs[6:] {
		if s.ToServer {
			s.Seq += dc
			s.Ack += ds
			if len(s.Opts) > 0 {
				le := binary.BigEndian.Uint32(s.Opts[4:]) + ds
				re := binary.BigEndian.Uint32(s.Opts[8:]) + ds
				s.Opts = sackOpt(le, re)
			}
		} else {
			s.Seq += ds
			s.Ack += dc
		}
		segs = append(segs, s)
	}
	var h2 handScenario
	for _, s := range segs {
		h2.add(s)
	}
	r := h2.run(t)
	if fs := mtuFindings(r); len(fs) != 0 {
		t.Errorf("mtu_black_hole although a %d-byte segment was ACKed before: %+v", mss, fs)
	}
	if len(r.Diagnoses) != 1 || r.Diagnoses[0].Verdict != analyze.VerdictClientNotAcking {
		t.Errorf("diagnoses %+v, want client_not_acking", r.Diagnoses)
	}
}

// icmpFragNeeded is an IPv4 ICMP "fragmentation needed" (RFC 792 type 3
// code 4, RFC 1191 next-hop MTU) from router 198.18.0.254 to the server,
// quoting the server's segment to the client's port 800 with sequence
// number seq.
func icmpFragNeeded(mtu uint16, seq uint32) []byte {
	quote := make([]byte, 28)
	quote[0], quote[8], quote[9] = 0x45, 63, 6
	binary.BigEndian.PutUint16(quote[2:], 1500)
	copy(quote[12:], []byte{198, 18, 0, 2})
	copy(quote[16:], []byte{198, 18, 0, 1})
	binary.BigEndian.PutUint16(quote[20:], 2049)
	binary.BigEndian.PutUint16(quote[22:], 800)
	binary.BigEndian.PutUint32(quote[24:], seq)
	icmp := []byte{3, 4, 0, 0, 0, 0, byte(mtu >> 8), byte(mtu)}
	icmp = append(icmp, quote...)
	ip := make([]byte, 20)
	ip[0], ip[8], ip[9] = 0x45, 64, 1
	binary.BigEndian.PutUint16(ip[2:], uint16(20+len(icmp)))
	copy(ip[12:], []byte{198, 18, 0, 254})
	copy(ip[16:], []byte{198, 18, 0, 2})
	return append(ip, icmp...)
}

// TestMTUBlackHoleICMPSeen: a router's "fragmentation needed" quoting the
// server's full-size segment is in the capture: the path told the
// server, so this is a path MTU update in progress (a warning), and the
// verdict is not mtu_black_hole.
func TestMTUBlackHoleICMPSeen(t *testing.T) {
	m := mtuScenario(3*mss+204-48, true, false)
	icmp := m.h.add(handcap.Seg{MS: 11, IP: icmpFragNeeded(1400, m.replyStart)})
	r := m.h.run(t)
	fs := mtuFindings(r)
	if len(fs) != 1 {
		t.Fatalf("%d mtu_black_hole findings, want 1", len(fs))
	}
	f := fs[0]
	if f.Severity != analyze.SeverityWarning {
		t.Errorf("severity %s, want warning", f.Severity)
	}
	if !slices.Contains(f.Frames, icmp) {
		t.Errorf("frames %v lack the ICMP error's frame %d", f.Frames, icmp)
	}
	for _, s := range []string{"1 ICMP error", "MTU 1400", "path MTU update in progress, not a black hole"} {
		if !strings.Contains(f.Summary, s) {
			t.Errorf("summary lacks %q: %s", s, f.Summary)
		}
	}
	for _, d := range r.Diagnoses {
		if d.Verdict == analyze.VerdictMTUBlackHole {
			t.Errorf("verdict mtu_black_hole although the ICMP came: %s", d.Summary)
		}
	}
	for _, s := range r.Skipped {
		if strings.Contains(s.Reason, "not TCP or UDP") {
			t.Errorf("the ICMP error was skipped: %+v", s)
		}
	}
	if len(r.Connections) != 1 || r.Connections[0].ICMPErrors != 1 {
		t.Errorf("connections %+v: want one, with icmp_errors 1", r.Connections)
	}
}

// TestMTUBlackHoleClientAlive: no short segment of the server follows the
// full-size ones (the reply is exactly three of them), but the client
// keeps sending on the connection (a NULL call at 2 s, ACKed by the server
// and not re-sent) and the server's short reply was ACKed before: the
// weaker evidence, said so. Not when the client re-sends its call.
func TestMTUBlackHoleClientAlive(t *testing.T) {
	m := mtuScenario(3*mss-48, false, false)
	if m.tail != 0 {
		t.Fatal("scenario: want no tail")
	}
	call := nfsNullCall(9)
	alive := m.h.add(handcap.Seg{MS: 2000, Port: 800, ToServer: true, Flags: handcap.PSH | handcap.ACK, Seq: m.clientNext, Ack: m.replyStart, Payload: call})
	m.h.add(handcap.Seg{MS: 2001, Port: 800, Flags: handcap.ACK, Seq: m.serverNext, Ack: m.clientNext + uint32(len(call))})
	r := m.h.run(t)
	fs := mtuFindings(r)
	if len(fs) != 1 {
		t.Fatalf("%d mtu_black_hole findings, want 1", len(fs))
	}
	for _, s := range []string{fmt.Sprintf("the client kept sending on the connection (1 segment since the first re-send, the first at frame %d, none re-sent", alive),
		"none re-sent: the server's short ACKs of its data got through", "rests on that and on the smaller ones ACKed before", fmt.Sprintf("longest segment of the server ever ACKed was %d bytes (frame 5)", len(readReply(1, 4)))} {
		if !strings.Contains(fs[0].Summary, s) {
			t.Errorf("summary lacks %q: %s", s, fs[0].Summary)
		}
	}
	// The client's call re-sent (the server's ACK of it lost too): the
	// path may be dead one way, not only for full-size packets.
	m = mtuScenario(3*mss-48, false, false)
	m.h.add(handcap.Seg{MS: 2000, Port: 800, ToServer: true, Flags: handcap.PSH | handcap.ACK, Seq: m.clientNext, Ack: m.replyStart, Payload: call})
	m.h.add(handcap.Seg{MS: 2001, Port: 800, Flags: handcap.ACK, Seq: m.serverNext, Ack: m.clientNext + uint32(len(call))})
	m.h.add(handcap.Seg{MS: 2300, Port: 800, ToServer: true, Flags: handcap.PSH | handcap.ACK, Seq: m.clientNext, Ack: m.replyStart, Payload: call})
	if fs := mtuFindings(m.h.run(t)); len(fs) != 0 {
		t.Errorf("mtu_black_hole although the client re-sent its call: %+v", fs)
	}
	// The same without the client's call: nothing shows the client alive,
	// no finding.
	m = mtuScenario(3*mss-48, false, false)
	if fs := mtuFindings(m.h.run(t)); len(fs) != 0 {
		t.Errorf("mtu_black_hole with nothing showing smaller segments pass: %+v", fs)
	}
}
