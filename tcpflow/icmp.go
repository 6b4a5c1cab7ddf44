package tcpflow

import (
	"encoding/binary"

	"github.com/nfsstall/nfsstall/capture"
)

// ICMP and ICMPv6 errors that quote a TCP segment of a followed
// connection (issue 13, item 3): "destination unreachable" (RFC 792 type
// 3, with "fragmentation needed" code 4 carrying the next-hop MTU, RFC
// 1191) and ICMPv6 "destination unreachable" (type 1) and "packet too big"
// (type 2, RFC 4443). The quoted IP header and the first 8 bytes of its TCP
// header name the connection and the direction of the segment that could
// not be delivered. Decoding reads the bytes in place: nothing is
// allocated.

// ICMP types decoded.
const (
	ICMP4Unreachable = 3 // RFC 792 destination unreachable
	ICMP4FragNeeded  = 4 // its code "fragmentation needed and DF set"
	ICMP6Unreachable = 1 // RFC 4443 destination unreachable
	ICMP6TooBig      = 2 // RFC 4443 packet too big
)

// ICMPError is one ICMP or ICMPv6 error quoting a TCP segment.
type ICMPError struct {
	V6         bool
	Type, Code uint8
	// MTU is the next-hop MTU of an ICMP "fragmentation needed" (0 when
	// the router did not fill it in, RFC 1191) or the MTU of an ICMPv6
	// "packet too big"; 0 for other errors.
	MTU uint32
	// From is the address that sent the error (a router on the path, or
	// the destination host itself).
	From Endpoint
	// Src and Dst are the quoted segment's endpoints: Src sent it.
	Src, Dst Endpoint
	Seq      uint32 // the quoted segment's sequence number
}

// TooBig reports whether the error says the quoted packet was larger than
// the path's MTU: ICMP "fragmentation needed" or ICMPv6 "packet too big".
func (e *ICMPError) TooBig() bool {
	if e.V6 {
		return e.Type == ICMP6TooBig
	}
	return e.Type == ICMP4Unreachable && e.Code == ICMP4FragNeeded
}

// ICMPHandler is implemented by a ConnHandler that wants the ICMP errors
// quoting its connection. dir is the direction of the quoted segment.
type ICMPHandler interface {
	ICMP(dir Dir, e *ICMPError, at FrameRef)
}

// parseICMP4 decodes an ICMP message b (the IPv4 payload) into e when it
// is a destination unreachable that quotes the first 8 bytes or more of a
// TCP header whose IP header is whole (RFC 792 promises 64 bits of the
// original datagram's data).
func parseICMP4(b []byte, e *ICMPError) bool {
	if len(b) < 8 || b[0] != ICMP4Unreachable {
		return false
	}
	e.V6, e.Type, e.Code, e.MTU = false, b[0], b[1], 0
	if e.Code == ICMP4FragNeeded {
		e.MTU = uint32(binary.BigEndian.Uint16(b[6:8]))
	}
	q := b[8:]
	if len(q) < 20 || q[0]>>4 != 4 {
		return false
	}
	ihl := int(q[0]&0x0f) * 4
	if ihl < 20 || q[9] != byte(ProtoTCP) || binary.BigEndian.Uint16(q[6:8])&0x1fff != 0 || len(q) < ihl+8 {
		// Not TCP, or a fragment past the first (it has no TCP header),
		// or the quote is too short to name the connection.
		return false
	}
	v4in6(&e.Src.Addr, q[12:16])
	v4in6(&e.Dst.Addr, q[16:20])
	quotedTCP(q[ihl:], e)
	return true
}

// parseICMP6 decodes an ICMPv6 message b (the payload after the IPv6
// extension headers) into e when it is a destination unreachable or a
// packet too big that quotes an IPv6 packet whose extension headers are
// whole and which carries the first 8 bytes or more of a TCP header.
func parseICMP6(b []byte, e *ICMPError) bool {
	if len(b) < 8 || b[0] != ICMP6Unreachable && b[0] != ICMP6TooBig {
		return false
	}
	e.V6, e.Type, e.Code, e.MTU = true, b[0], b[1], 0
	if b[0] == ICMP6TooBig {
		e.MTU = binary.BigEndian.Uint32(b[4:8])
	}
	q := b[8:]
	if len(q) < 40 || q[0]>>4 != 6 {
		return false
	}
	copy(e.Src.Addr[:], q[8:24])
	copy(e.Dst.Addr[:], q[24:40])
	nh, rest := q[6], q[40:]
walk:
	for range 8 { // a bounded chain, as in fragment6
		switch nh {
		case ip6HopByHop, ip6Routing, ip6DestOpts:
			if len(rest) < 8 || len(rest) < (int(rest[1])+1)*8 {
				return false
			}
			nh, rest = rest[0], rest[(int(rest[1])+1)*8:]
			continue
		case ip6Fragment:
			if len(rest) < 8 || binary.BigEndian.Uint16(rest[2:4])&^7 != 0 {
				return false // cut short, or not the first fragment: no TCP header
			}
			nh, rest = rest[0], rest[8:]
			continue
		case ip6AH:
			if len(rest) < 8 || len(rest) < (int(rest[1])+2)*4 {
				return false
			}
			nh, rest = rest[0], rest[(int(rest[1])+2)*4:]
			continue
		}
		break walk
	}
	if nh != byte(ProtoTCP) || len(rest) < 8 {
		return false
	}
	quotedTCP(rest, e)
	return true
}

// IPv6 next-header values walked through in a quoted packet (RFC 8200,
// RFC 4302), besides those of fragment6.
const (
	ip6HopByHop = 0
	ip6AH       = 51
	ip6ICMP     = 58
)

// quotedTCP reads the ports and sequence number of a quoted TCP header (at
// least 8 bytes).
func quotedTCP(t []byte, e *ICMPError) {
	e.Src.Port = binary.BigEndian.Uint16(t[0:2])
	e.Dst.Port = binary.BigEndian.Uint16(t[2:4])
	e.Seq = binary.BigEndian.Uint32(t[4:8])
}

// icmp6Payload returns the ICMPv6 message behind the IPv6 header (and its
// Routing and Destination Options headers), or nil.
func (d *Decoder) icmp6Payload() []byte {
	ip := &d.ip6
	nh := uint8(ip.NextHeader)
	if ip.HopByHop != nil {
		nh = uint8(ip.HopByHop.NextHeader)
	}
	b := ip.Payload
	for range 8 {
		if nh != ip6Routing && nh != ip6DestOpts {
			break
		}
		if len(b) < 8 || len(b) < (int(b[1])+1)*8 {
			return nil
		}
		nh, b = b[0], b[(int(b[1])+1)*8:]
	}
	if nh != ip6ICMP {
		return nil
	}
	return b
}

// decodeICMP fills d.icmp from a packet that carried no TCP or UDP and
// reports whether it is an ICMP error quoting a TCP segment.
func (d *Decoder) decodeICMP(sawIP4 bool, s *Segment) bool {
	e := &d.icmp
	if sawIP4 {
		if d.ip4.Protocol != 1 || !parseICMP4(d.ip4.Payload, e) {
			return false
		}
	} else if b := d.icmp6Payload(); b == nil || !parseICMP6(b, e) {
		return false
	}
	e.From = Endpoint{Addr: s.Src.Addr}
	return true
}

// icmpError hands the ICMP error just decoded to the connection it
// quotes, and reports whether there was one: such an error is analysed,
// not skipped (Stats.ICMPErrors counts them). One quoting a connection of
// a client or server not asked for is skipped as such; one quoting no
// followed connection stays skipped as not TCP or UDP.
func (f *Flows) icmpError(p *capture.Packet) bool {
	e := &f.dec.icmp
	var key connKey
	var dir Dir
	switch {
	case f.isServerPort(e.Dst.Port):
		key, dir = connKey{server: e.Dst, client: e.Src, proto: ProtoTCP}, ToServer
	case f.isServerPort(e.Src.Port):
		key, dir = connKey{server: e.Src, client: e.Dst, proto: ProtoTCP}, ToClient
	default:
		return false
	}
	if f.hostFiltered && !f.hostWanted(key) {
		f.Stats.Skipped[SkipHostFilter]++
		return true
	}
	c := f.conns.get(&key)
	if c == nil {
		return false
	}
	f.Stats.ICMPErrors++
	if h, ok := c.h.(ICMPHandler); ok {
		h.ICMP(dir, e, FrameRef{File: p.File, Frame: p.Frame, Time: p.Time})
	}
	return true
}
