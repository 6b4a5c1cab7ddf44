package tcpflow

import (
	"encoding/binary"
	"testing"

	"github.com/gopacket/gopacket/layers"

	"github.com/nfsstall/nfsstall/capture"
)

// ICMP errors built byte by byte from the RFCs' layouts: RFC 792 (type 3,
// with RFC 1191's next-hop MTU in the low 16 bits of the second word) and
// RFC 4443 (type 1 and type 2, the MTU in the second word), quoting an IPv4
// or IPv6 header and the start of a TCP header. Checksums are left zero:
// nfsstall does not verify them (tshark does not by default either).

var (
	icmpClient4 = [4]byte{198, 18, 0, 1}
	icmpServer4 = [4]byte{198, 18, 0, 2}
	icmpRouter4 = [4]byte{198, 18, 0, 254}
	icmpClient6 = [16]byte{0xfd, 0, 1, 0x98, 0, 0x18, 15: 1}
	icmpServer6 = [16]byte{0xfd, 0, 1, 0x98, 0, 0x18, 15: 2}
	icmpRouter6 = [16]byte{0xfd, 0, 1, 0x98, 0, 0x18, 15: 0xfe}
)

// quotedTCP8 returns the first n bytes of a TCP header from sport to dport
// with sequence number seq (n at most 20).
func quotedTCPBytes(sport, dport uint16, seq uint32, n int) []byte {
	t := make([]byte, 20)
	binary.BigEndian.PutUint16(t[0:], sport)
	binary.BigEndian.PutUint16(t[2:], dport)
	binary.BigEndian.PutUint32(t[4:], seq)
	t[12], t[13] = 5<<4, FlagACK
	return t[:n]
}

// ip4 returns an IPv4 header (no options, or opts) of protocol proto from
// src to dst carrying payload.
func ip4(src, dst [4]byte, proto byte, fragOff uint16, opts, payload []byte) []byte {
	h := make([]byte, 20+len(opts))
	h[0] = 0x40 | byte(len(h)/4)
	binary.BigEndian.PutUint16(h[2:], uint16(len(h)+len(payload)))
	binary.BigEndian.PutUint16(h[6:], fragOff)
	h[8], h[9] = 64, proto
	copy(h[12:], src[:])
	copy(h[16:], dst[:])
	copy(h[20:], opts)
	return append(h, payload...)
}

// icmp4 is an ICMP message of type typ and code with the second word
// rest, quoting q.
func icmp4(typ, code byte, rest uint32, q []byte) []byte {
	m := make([]byte, 8)
	m[0], m[1] = typ, code
	binary.BigEndian.PutUint32(m[4:], rest)
	return append(m, q...)
}

// ip6 returns an IPv6 header with next header nh from src to dst carrying
// payload.
func ip6(src, dst [16]byte, nh byte, payload []byte) []byte {
	h := make([]byte, 40)
	h[0] = 0x60
	binary.BigEndian.PutUint16(h[4:], uint16(len(payload)))
	h[6], h[7] = nh, 64
	copy(h[8:], src[:])
	copy(h[24:], dst[:])
	return append(h, payload...)
}

// ext6 is an IPv6 extension header of 8 bytes (Hop-by-Hop, Routing,
// Destination Options: length field 0) with next header nh.
func ext6(nh byte) []byte { return []byte{nh, 0, 1, 4, 0, 0, 0, 0} }

// fragHdr6 is an IPv6 Fragment header with next header nh at offset off (in
// bytes, a multiple of 8) with the M flag.
func fragHdr6(nh byte, off uint16, more bool) []byte {
	b := []byte{nh, 0, 0, 0, 0, 0, 0, 7}
	v := off
	if more {
		v |= 1
	}
	binary.BigEndian.PutUint16(b[2:], v)
	return b
}

func concat(bs ...[]byte) []byte {
	var out []byte
	for _, b := range bs {
		out = append(out, b...)
	}
	return out
}

func TestParseICMP4(t *testing.T) {
	seg := quotedTCPBytes(2049, 800, 0x01020304, 20)
	quote := ip4(icmpServer4, icmpClient4, 6, 0x4000, nil, seg) // DF set: not a fragment
	for _, tc := range []struct {
		name     string
		msg      []byte
		ok       bool
		tooBig   bool
		mtu      uint32
		typ, cod uint8
	}{
		{"frag needed, MTU 1400", icmp4(3, 4, 1400, quote), true, true, 1400, 3, 4},
		// The next-hop MTU is the low 16 bits: the high 16 are unused and
		// must not leak in.
		{"frag needed, unused bits set", icmp4(3, 4, 0xabcd0000|576, quote), true, true, 576, 3, 4},
		{"frag needed, MTU 0 (pre-RFC 1191 router)", icmp4(3, 4, 0, quote), true, true, 0, 3, 4},
		{"host unreachable", icmp4(3, 1, 0, quote), true, false, 0, 3, 1},
		{"admin prohibited", icmp4(3, 13, 0xffff, quote), true, false, 0, 3, 13},
		{"quote of exactly 8 TCP bytes", icmp4(3, 4, 1400, ip4(icmpServer4, icmpClient4, 6, 0, nil, seg[:8])), true, true, 1400, 3, 4},
		{"quote with IP options", icmp4(3, 4, 1280, ip4(icmpServer4, icmpClient4, 6, 0, []byte{1, 1, 1, 0}, seg[:8])), true, true, 1280, 3, 4},
		{"quote of 7 TCP bytes", icmp4(3, 4, 1400, ip4(icmpServer4, icmpClient4, 6, 0, nil, seg[:7])), false, false, 0, 0, 0},
		{"quote of UDP", icmp4(3, 4, 1400, ip4(icmpServer4, icmpClient4, 17, 0, nil, seg[:8])), false, false, 0, 0, 0},
		{"quote of a later fragment", icmp4(3, 4, 1400, ip4(icmpServer4, icmpClient4, 6, 0x2001, nil, seg[:8])), false, false, 0, 0, 0},
		{"quote of a first fragment (MF)", icmp4(3, 4, 1400, ip4(icmpServer4, icmpClient4, 6, 0x2000, nil, seg[:8])), true, true, 1400, 3, 4},
		{"time exceeded", icmp4(11, 0, 0, quote), false, false, 0, 0, 0},
		{"echo reply", icmp4(0, 0, 0, nil), false, false, 0, 0, 0},
		{"quote not IPv4", icmp4(3, 4, 1400, append([]byte{0x65}, quote[1:]...)), false, false, 0, 0, 0},
		{"IHL below 5", icmp4(3, 4, 1400, append([]byte{0x44}, quote[1:]...)), false, false, 0, 0, 0},
		{"message of 7 bytes", icmp4(3, 4, 1400, nil)[:7], false, false, 0, 0, 0},
	} {
		var e ICMPError
		ok := parseICMP4(tc.msg, &e)
		if ok != tc.ok {
			t.Errorf("%s: parsed %v, want %v", tc.name, ok, tc.ok)
			continue
		}
		if !ok {
			continue
		}
		if e.TooBig() != tc.tooBig || e.MTU != tc.mtu || e.Type != tc.typ || e.Code != tc.cod || e.V6 {
			t.Errorf("%s: got type %d code %d MTU %d too big %v v6 %v", tc.name, e.Type, e.Code, e.MTU, e.TooBig(), e.V6)
		}
		if e.Src.String() != "198.18.0.2:2049" || e.Dst.String() != "198.18.0.1:800" || e.Seq != 0x01020304 {
			t.Errorf("%s: quoted %s -> %s seq %#x", tc.name, e.Src, e.Dst, e.Seq)
		}
	}
}

func TestParseICMP6(t *testing.T) {
	seg := quotedTCPBytes(2049, 800, 0xfffffffe, 20)
	tooBig := func(mtu uint32, q []byte) []byte { return icmp4(2, 0, mtu, q) } // same 8-byte layout
	plain := ip6(icmpServer6, icmpClient6, 6, seg)
	for _, tc := range []struct {
		name   string
		msg    []byte
		ok     bool
		tooBig bool
		mtu    uint32
	}{
		{"packet too big, MTU 1280", tooBig(1280, plain), true, true, 1280},
		{"packet too big, a 32-bit MTU", tooBig(70000, plain), true, true, 70000},
		{"unreachable, no route", icmp4(1, 0, 0, plain), true, false, 0},
		{"unreachable, port", icmp4(1, 4, 0, plain), true, false, 0},
		{"through Hop-by-Hop, Routing, Destination Options", tooBig(1400, ip6(icmpServer6, icmpClient6, 0, concat(ext6(43), ext6(60), ext6(6), seg[:8]))), true, true, 1400},
		{"through a first Fragment header", tooBig(1400, ip6(icmpServer6, icmpClient6, 44, concat(fragHdr6(6, 0, true), seg[:8]))), true, true, 1400},
		{"through an AH header", tooBig(1400, ip6(icmpServer6, icmpClient6, 51, concat([]byte{6, 1, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0}, seg[:8]))), true, true, 1400},
		{"a later fragment", tooBig(1400, ip6(icmpServer6, icmpClient6, 44, concat(fragHdr6(6, 8, false), seg[:8]))), false, false, 0},
		{"extension header cut short", tooBig(1400, ip6(icmpServer6, icmpClient6, 60, []byte{6, 1, 0, 0, 0, 0, 0, 0})), false, false, 0},
		{"quote of 7 TCP bytes", tooBig(1400, ip6(icmpServer6, icmpClient6, 6, seg[:7])), false, false, 0},
		{"quote of UDP", tooBig(1400, ip6(icmpServer6, icmpClient6, 17, seg[:8])), false, false, 0},
		{"quote of an IPv6 header cut short", tooBig(1400, plain[:39]), false, false, 0},
		{"quote not IPv6", tooBig(1400, append([]byte{0x45}, plain[1:]...)), false, false, 0},
		{"time exceeded", icmp4(3, 0, 0, plain), false, false, 0},
		{"chain of 9 extension headers", tooBig(1400, ip6(icmpServer6, icmpClient6, 60, concat(ext6(60), ext6(60), ext6(60), ext6(60), ext6(60), ext6(60), ext6(60), ext6(60), ext6(6), seg[:8]))), false, false, 0},
	} {
		var e ICMPError
		ok := parseICMP6(tc.msg, &e)
		if ok != tc.ok {
			t.Errorf("%s: parsed %v, want %v", tc.name, ok, tc.ok)
			continue
		}
		if !ok {
			continue
		}
		if e.TooBig() != tc.tooBig || e.MTU != tc.mtu || !e.V6 {
			t.Errorf("%s: got type %d code %d MTU %d too big %v", tc.name, e.Type, e.Code, e.MTU, e.TooBig())
		}
		if e.Src.String() != "[fd00:198:18::2]:2049" || e.Dst.String() != "[fd00:198:18::1]:800" || e.Seq != 0xfffffffe {
			t.Errorf("%s: quoted %s -> %s seq %#x", tc.name, e.Src, e.Dst, e.Seq)
		}
	}
}

// icmpLog is a ConnHandler that keeps the ICMP errors it is handed.
type icmpLog struct {
	quietHandler
	got *[]string
}

func (h icmpLog) ICMP(d Dir, e *ICMPError, at FrameRef) {
	*h.got = append(*h.got, d.String()+" from "+e.From.IP()+" mtu "+itoa(int(e.MTU))+" @"+itoa(int(at.Frame)))
}

func itoa(n int) string {
	if n == 0 {
		return "0"
	}
	s := ""
	for ; n > 0; n /= 10 {
		s = string(rune('0'+n%10)) + s
	}
	return s
}

// TestICMPErrorsReachTheirConnection: an ICMP error quoting a segment of
// a followed connection is handed to it with the quoted segment's
// direction and counted in Stats.ICMPErrors, not among the skipped; one
// quoting another connection, or another port, or any other ICMP stays
// skipped as not TCP or UDP.
func TestICMPErrorsReachTheirConnection(t *testing.T) {
	var got []string
	f := NewFlows([]uint16{serverPort}, Limits{}, func(*ConnInfo) ConnHandler { return icmpLog{got: &got} })
	eth := func(ipType uint16, b []byte) []byte {
		h := []byte{2, 0, 0, 0, 0, 1, 2, 0, 0, 0, 0, 2, byte(ipType >> 8), byte(ipType)}
		return append(h, b...)
	}
	frames := [][]byte{
		build(t, pkt{toServer: true, seq: 100, flags: FlagACK, data: "x"}),                                                                                  // 1 opens the connection
		eth(0x0800, ip4(icmpRouter4, icmpServer4, 1, 0, nil, icmp4(3, 4, 1400, ip4(icmpServer4, icmpClient4, 6, 0, nil, quotedTCPBytes(2049, 800, 5, 8))))), // 2 server's segment too big
		eth(0x0800, ip4(icmpRouter4, icmpClient4, 1, 0, nil, icmp4(3, 1, 0, ip4(icmpClient4, icmpServer4, 6, 0, nil, quotedTCPBytes(800, 2049, 5, 8))))),    // 3 client's unreachable
		eth(0x0800, ip4(icmpRouter4, icmpClient4, 1, 0, nil, icmp4(3, 4, 1400, ip4(icmpClient4, icmpServer4, 6, 0, nil, quotedTCPBytes(801, 2049, 5, 8))))), // 4 another connection
		eth(0x0800, ip4(icmpRouter4, icmpClient4, 1, 0, nil, icmp4(3, 4, 1400, ip4(icmpClient4, icmpServer4, 6, 0, nil, quotedTCPBytes(800, 22, 5, 8))))),   // 5 another port
		eth(0x0800, ip4(icmpRouter4, icmpClient4, 1, 0, nil, icmp4(8, 0, 0, nil))),                                                                          // 6 echo request
		eth(0x0800, ip4(icmpRouter4, icmpServer4, 1, 0, nil, icmp4(3, 4, 1400, ip4(icmpServer4, icmpClient4, 6, 0, nil, quotedTCPBytes(2049, 800, 5, 7))))), // 7 quote too short
	}
	for i, b := range frames {
		f.Packet(&capture.Packet{Frame: int64(i + 1), Time: int64(i+1) * 1e6, Data: b, Length: len(b), LinkType: layers.LinkTypeEthernet})
	}
	want := []string{"server->client from 198.18.0.254 mtu 1400 @2", "client->server from 198.18.0.254 mtu 0 @3"}
	if len(got) != len(want) || got[0] != want[0] || got[1] != want[1] {
		t.Errorf("handed %q, want %q", got, want)
	}
	if f.Stats.ICMPErrors != 2 {
		t.Errorf("ICMPErrors %d, want 2", f.Stats.ICMPErrors)
	}
	if n := f.Stats.SkipCount(SkipNotTCPUDP); n != 4 {
		t.Errorf("skipped as not TCP or UDP: %d, want 4 (frames 4-7)", n)
	}
}

// TestICMP6ErrorReachesItsConnection: the same over IPv6, the ICMPv6
// message behind a Destination Options header.
func TestICMP6ErrorReachesItsConnection(t *testing.T) {
	var got []string
	f := NewFlows([]uint16{serverPort}, Limits{}, func(*ConnInfo) ConnHandler { return icmpLog{got: &got} })
	tcp := quotedTCPBytes(800, 2049, 100, 20)
	tcp = append(tcp, 'x')
	open := append([]byte{2, 0, 0, 0, 0, 1, 2, 0, 0, 0, 0, 2, 0x86, 0xdd}, ip6(icmpClient6, icmpServer6, 6, tcp)...)
	msg := icmp4(2, 0, 1280, ip6(icmpServer6, icmpClient6, 6, quotedTCPBytes(2049, 800, 9, 8)))
	tooBig := append([]byte{2, 0, 0, 0, 0, 1, 2, 0, 0, 0, 0, 2, 0x86, 0xdd}, ip6(icmpRouter6, icmpServer6, 60, concat(ext6(58), msg))...)
	for i, b := range [][]byte{open, tooBig} {
		f.Packet(&capture.Packet{Frame: int64(i + 1), Time: int64(i+1) * 1e6, Data: b, Length: len(b), LinkType: layers.LinkTypeEthernet})
	}
	if len(got) != 1 || got[0] != "server->client from fd00:198:18::fe mtu 1280 @2" {
		t.Errorf("handed %q", got)
	}
	if f.Stats.ICMPErrors != 1 || f.Stats.SkipCount(SkipNotTCPUDP) != 0 {
		t.Errorf("ICMPErrors %d, skipped not TCP/UDP %d; want 1, 0", f.Stats.ICMPErrors, f.Stats.SkipCount(SkipNotTCPUDP))
	}
}

// TestSACKOptions: SACK blocks (RFC 2018: kind 5, length 2+8n) read from
// TCP options as Linux lays them out (NOP, NOP, timestamps, NOP, NOP,
// SACK), and the malformed ones that end the scan.
func TestSACKOptions(t *testing.T) {
	ts := []byte{1, 1, 8, 10, 0, 0, 0, 1, 0, 0, 0, 2}
	sack := func(blocks ...uint32) []byte {
		b := []byte{5, byte(2 + 4*len(blocks))}
		for _, v := range blocks {
			b = binary.BigEndian.AppendUint32(b, v)
		}
		return b
	}
	for _, tc := range []struct {
		name string
		opts []byte
		want [][2]uint32
	}{
		{"timestamps only", ts, nil},
		{"one block after timestamps", concat(ts, []byte{1, 1}, sack(8029, 8329)), [][2]uint32{{8029, 8329}}},
		{"three blocks", concat([]byte{1, 1}, sack(1, 2, 3, 4, 0xfffffff0, 16)), [][2]uint32{{1, 2}, {3, 4}, {0xfffffff0, 16}}},
		{"five blocks: the first four kept", sack(1, 2, 3, 4, 5, 6, 7, 8, 9, 10), [][2]uint32{{1, 2}, {3, 4}, {5, 6}, {7, 8}}},
		{"end of options before it", concat([]byte{0}, sack(1, 2)), nil},
		{"length past the options", sack(1, 2)[:9], nil},
		{"length below 2", concat([]byte{8, 1}, sack(1, 2)), nil},
		{"an odd block length: whole blocks only", concat([]byte{5, 14}, make([]byte, 12)), [][2]uint32{{0, 0}}},
	} {
		var s Segment
		s.SACKN = 3 // stale from an earlier packet
		sackOptions(tc.opts, &s)
		got := s.SACK[:s.SACKN]
		if len(got) != len(tc.want) {
			t.Errorf("%s: %v, want %v", tc.name, got, tc.want)
			continue
		}
		for i := range got {
			if got[i] != tc.want[i] {
				t.Errorf("%s: %v, want %v", tc.name, got, tc.want)
			}
		}
	}
}

// icmpCount is a ConnHandler that counts the ICMP errors it is handed.
type icmpCount struct {
	quietHandler
	n *int
}

func (h icmpCount) ICMP(Dir, *ICMPError, FrameRef) { *h.n++ }

// TestICMPErrorDoesNotAllocate: decoding an ICMP error and handing it to
// its connection allocates nothing per packet.
func TestICMPErrorDoesNotAllocate(t *testing.T) {
	var handed int
	f := NewFlows([]uint16{serverPort}, Limits{}, func(*ConnInfo) ConnHandler { return icmpCount{n: &handed} })
	open := build(t, pkt{toServer: true, seq: 100, flags: FlagACK, data: "x"})
	f.Packet(&capture.Packet{Frame: 1, Time: 1e6, Data: open, Length: len(open), LinkType: layers.LinkTypeEthernet})
	b := append([]byte{2, 0, 0, 0, 0, 1, 2, 0, 0, 0, 0, 2, 0x08, 0x00},
		ip4(icmpRouter4, icmpServer4, 1, 0, nil, icmp4(3, 4, 1400, ip4(icmpServer4, icmpClient4, 6, 0, nil, quotedTCPBytes(2049, 800, 5, 8))))...)
	p := &capture.Packet{Frame: 2, Time: 2e6, Data: b, Length: len(b), LinkType: layers.LinkTypeEthernet}
	if n := testing.AllocsPerRun(100, func() { f.Packet(p) }); n != 0 {
		t.Errorf("%v allocations per ICMP error", n)
	}
	if f.Stats.ICMPErrors < 100 || handed != int(f.Stats.ICMPErrors) {
		t.Errorf("ICMPErrors %d, handed %d: the errors were not handed on", f.Stats.ICMPErrors, handed)
	}
}

// TestICMPErrorOfAHostNotAskedFor: with --client naming another client,
// an ICMP error quoting this client's connection is skipped as not of
// the hosts asked for, as its TCP segments are.
func TestICMPErrorOfAHostNotAskedFor(t *testing.T) {
	var handed int
	f := NewFlows([]uint16{serverPort}, Limits{}, func(*ConnInfo) ConnHandler { return icmpCount{n: &handed} })
	other := [16]byte{10: 0xff, 11: 0xff, 12: 198, 13: 18, 14: 0, 15: 9}
	f.SetHosts([][16]byte{other}, nil)
	open := build(t, pkt{toServer: true, seq: 100, flags: FlagACK, data: "x"})
	b := append([]byte{2, 0, 0, 0, 0, 1, 2, 0, 0, 0, 0, 2, 0x08, 0x00},
		ip4(icmpRouter4, icmpServer4, 1, 0, nil, icmp4(3, 4, 1400, ip4(icmpServer4, icmpClient4, 6, 0, nil, quotedTCPBytes(2049, 800, 5, 8))))...)
	for i, d := range [][]byte{open, b} {
		f.Packet(&capture.Packet{Frame: int64(i + 1), Time: int64(i+1) * 1e6, Data: d, Length: len(d), LinkType: layers.LinkTypeEthernet})
	}
	if handed != 0 || f.Stats.ICMPErrors != 0 || f.Stats.SkipCount(SkipHostFilter) != 2 || f.Stats.SkipCount(SkipNotTCPUDP) != 0 {
		t.Errorf("handed %d, ICMPErrors %d, skipped host filter %d, not TCP/UDP %d; want 0, 0, 2, 0",
			handed, f.Stats.ICMPErrors, f.Stats.SkipCount(SkipHostFilter), f.Stats.SkipCount(SkipNotTCPUDP))
	}
}
