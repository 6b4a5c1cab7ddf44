package tcpflow

import (
	"encoding/binary"
	"fmt"
	"net/netip"

	"github.com/gopacket/gopacket"
	"github.com/gopacket/gopacket/layers"

	"github.com/nfsstall/nfsstall/capture"
)

// Proto is a transport protocol.
type Proto uint8

// Transport protocols nfsstall follows.
const (
	ProtoTCP Proto = 6
	ProtoUDP Proto = 17
)

// Endpoint is an IP address and port. IPv4 addresses are stored as
// IPv4-mapped IPv6 so that one fixed-size type serves as a map key.
type Endpoint struct {
	Addr [16]byte
	Port uint16
}

// V4 reports whether the address is IPv4.
func (e Endpoint) V4() bool {
	return e.Addr[10] == 0xff && e.Addr[11] == 0xff && e.Addr[0]|e.Addr[1]|e.Addr[2]|e.Addr[3]|e.Addr[4]|e.Addr[5]|e.Addr[6]|e.Addr[7]|e.Addr[8]|e.Addr[9] == 0
}

// String formats the endpoint as "ip:port" or "[v6]:port".
func (e Endpoint) String() string {
	if e.V4() {
		return fmt.Sprintf("%d.%d.%d.%d:%d", e.Addr[12], e.Addr[13], e.Addr[14], e.Addr[15], e.Port)
	}
	return fmt.Sprintf("[%s]:%d", ipv6String(e.Addr), e.Port)
}

// IP formats only the address.
func (e Endpoint) IP() string {
	if e.V4() {
		return fmt.Sprintf("%d.%d.%d.%d", e.Addr[12], e.Addr[13], e.Addr[14], e.Addr[15])
	}
	return ipv6String(e.Addr)
}

func ipv6String(a [16]byte) string {
	// net/netip does the RFC 5952 formatting; only used off the hot path.
	return netip.AddrFrom16(a).String()
}

// TCP flag bits, as in the TCP header's flags byte.
const (
	FlagFIN = 0x01
	FlagSYN = 0x02
	FlagRST = 0x04
	FlagPSH = 0x08
	FlagACK = 0x10
)

// Segment is the transport-level view of one packet.
type Segment struct {
	Proto    Proto
	Src, Dst Endpoint
	// TCP header fields.
	Seq, Ack uint32
	Flags    uint8
	Window   uint16 // raw, unscaled
	WScale   int8   // window scale option (SYN only), -1 when absent
	// Payload is the captured part of the transport payload; WireLen is its
	// length on the wire, larger when the snaplen cut the packet.
	Payload []byte
	WireLen int
	// TTL is the IPv4 TTL or IPv6 hop limit: left at its initial value
	// (64, 128, 255) by a sender on the capture's own network segment.
	TTL uint8
	// Set by the TCP analysis before ConnHandler.Segment (not by Decode;
	// stale for UDP): Seq and Ack relative to each direction's base, as
	// Wireshark shows tcp.seq and tcp.ack, and the window in bytes, scaled
	// as Wireshark's tcp.window_size (a SYN's is never scaled; unscaled
	// when the handshake was not captured).
	RelSeq, RelAck uint32
	ScaledWindow   uint32
	// SACK holds the first SACKN selective-acknowledgment blocks of the
	// TCP options (RFC 2018: left edge, right edge), raw sequence numbers.
	SACK  [maxSACK][2]uint32
	SACKN uint8
}

// maxSACK is the most SACK blocks a TCP header can carry (RFC 2018: 40
// bytes of options hold 4).
const maxSACK = 4

// sackOptions reads the SACK blocks of TCP options opts (the bytes after
// the 20-byte header) into s. Malformed options end the scan.
func sackOptions(opts []byte, s *Segment) {
	s.SACKN = 0
	for len(opts) > 0 {
		switch opts[0] {
		case 0: // end of options
			return
		case 1: // no-op
			opts = opts[1:]
			continue
		}
		if len(opts) < 2 || opts[1] < 2 || int(opts[1]) > len(opts) {
			return
		}
		if opts[0] == 5 {
			for b := opts[2:opts[1]]; len(b) >= 8 && s.SACKN < maxSACK; b = b[8:] {
				s.SACK[s.SACKN] = [2]uint32{binary.BigEndian.Uint32(b[:4]), binary.BigEndian.Uint32(b[4:8])}
				s.SACKN++
			}
		}
		opts = opts[opts[1]:]
	}
}

// Truncated reports whether the capture cut part of the payload.
func (s *Segment) Truncated() bool { return len(s.Payload) < s.WireLen }

// SkipReason says why a packet was not analysed.
type SkipReason uint8

// Reasons a packet is skipped before it reaches a connection.
const (
	SkipNone      SkipReason = iota
	SkipLinkType             // link type nfsstall does not decode
	SkipNotIP                // ARP, STP, ... : not an IP packet
	SkipFragment             // an IP fragment: Decode leaves it to the reassembly (Flows), never counted
	SkipNotTCPUDP            // ICMP and other protocols
	SkipMalformed            // headers cut short or invalid
	SkipOtherPort            // TCP/UDP not to or from an analysed port
	SkipConnLimit            // a new connection while the connection table was full
	// IP fragments that did not become part of an analysed datagram (see
	// defrag.go); the fragments of a datagram whose first fragment shows it
	// is not to or from an analysed port count as SkipOtherPort instead.
	SkipFragDuplicate // the same offset and length as a fragment held
	SkipFragOverlap   // its datagram's fragments overlap or disagree on its end
	SkipFragTooLong   // its datagram would exceed the largest IP datagram
	SkipFragTimeout   // its datagram was not completed within FragTimeout
	SkipFragTableFull // its datagram was dropped for a newer one: FragDatagrams reached
	SkipFragBytesFull // its datagram was dropped for a newer one: FragBytes reached
	SkipFragEnd       // its datagram was still incomplete at the end of the capture
	SkipOutsideWindow // before --since or after --until (Flows.SetWindow)
	SkipHostFilter    // not of a client or server asked for (Flows.SetHosts)
	numSkipReasons
)

var skipReasonNames = [...]string{
	SkipNone:      "",
	SkipLinkType:  "unsupported link type",
	SkipNotIP:     "not IP",
	SkipFragment:  "IP fragment",
	SkipNotTCPUDP: "not TCP or UDP",
	SkipMalformed: "malformed or truncated headers",
	SkipOtherPort: "not on an analysed port",
	SkipConnLimit: "new connection while the connection table was full",

	SkipFragDuplicate: "duplicate IP fragment (the same offset and length as one already held; the first copy is used)",
	SkipFragOverlap:   "IP fragment of a datagram whose fragments overlap or disagree on where it ends: the datagram is dropped whole, as the receiving host drops it (RFC 5722, Linux)",
	SkipFragTooLong:   "IP fragment reaching beyond the largest IP datagram: the datagram is dropped",
	SkipFragTimeout:   "IP fragment of a datagram not completed in time: dropped incomplete",
	SkipFragTableFull: "IP fragment of a datagram dropped incomplete to make room for newer ones: as many datagrams were in reassembly as allowed",
	SkipFragBytesFull: "IP fragment of a datagram dropped incomplete to make room for newer ones: the reassembly buffers held as many bytes as allowed",
	SkipFragEnd:       "IP fragment of a datagram still incomplete at the end of the capture",
	SkipOutsideWindow: "outside the time window asked for (--since, --until)",
	SkipHostFilter:    "not of the clients or servers asked for (--client, --server)",
}

// IsFragmentReason reports whether r counts IP fragments dropped by the
// reassembly (the drops of Stats.FragDropped).
func (r SkipReason) IsFragmentReason() bool { return r >= SkipFragDuplicate && r <= SkipFragEnd }

func (r SkipReason) String() string { return skipReasonNames[r] }

// Decoder turns packets into segments. It reuses its layers, so it does not
// allocate per packet; it is not safe for concurrent use.
type Decoder struct {
	eth     layers.Ethernet
	dot1q   layers.Dot1Q
	lo      layers.Loopback
	ip4     layers.IPv4
	ip6     layers.IPv6
	tcp     layers.TCP
	udp     layers.UDP
	parsers [numFirst]*gopacket.DecodingLayerParser // by first layer
	decoded []gopacket.LayerType
	// frag is the IP fragment of the last packet Decode reported as
	// SkipFragment; its data points into the packet.
	frag fragment
	// icmp is the ICMP error of the last packet Decode reported as
	// SkipNotTCPUDP, when icmpOK (icmp.go).
	icmp   ICMPError
	icmpOK bool
}

// fragment is one IP fragment as decoded: which datagram it belongs to,
// where its bytes go in it, and the IP header fields reassembly checks.
type fragment struct {
	key  fragKey
	off  int  // offset of its bytes in the datagram's payload (after the IP header, or the IPv6 Fragment header)
	more bool // more fragments follow (IPv4 MF, IPv6 M)
	// data is the captured part of its bytes; wireLen their length on the
	// wire (more when the snaplen cut the packet).
	data    []byte
	wireLen int
	// maxLen is the longest payload the datagram may have: 65535 bytes
	// less the IPv4 header, or less the IPv6 extension headers up to and
	// including the Fragment header (the IPv6 payload length is 16 bits).
	maxLen int
}

// fragKey names the datagram a fragment belongs to (RFC 791: source,
// destination, protocol and identification; RFC 8200: source,
// destination and identification, with the next header after the
// Fragment header).
type fragKey struct {
	src, dst [16]byte
	id       uint32
	proto    Proto
	v6       bool
}

// NewDecoder returns a Decoder for every supported link type.
func NewDecoder() *Decoder {
	d := &Decoder{decoded: make([]gopacket.LayerType, 0, 8)}
	firsts := [...]gopacket.LayerType{
		firstEth:   layers.LayerTypeEthernet,
		firstDot1Q: layers.LayerTypeDot1Q,
		firstLoop:  layers.LayerTypeLoopback,
		firstIP4:   layers.LayerTypeIPv4,
		firstIP6:   layers.LayerTypeIPv6,
	}
	for i, first := range firsts {
		p := gopacket.NewDecodingLayerParser(first,
			&d.eth, &d.dot1q, &d.lo, &d.ip4, &d.ip6, &d.tcp, &d.udp)
		p.IgnoreUnsupported = true
		d.parsers[i] = p
	}
	return d
}

// Decode fills s from p. It returns SkipNone when s holds a TCP or UDP
// segment, and otherwise why the packet carries none.
func (d *Decoder) Decode(p *capture.Packet, s *Segment) SkipReason {
	if decodeFast(p, s) {
		return SkipNone
	}
	return d.decodeLayers(p, s)
}

// decodeLayers is Decode through gopacket's layer parser: every link type,
// VLAN tags, IPv6, IP options, fragments, UDP, TCP options.
func (d *Decoder) decodeLayers(p *capture.Packet, s *Segment) SkipReason {
	d.icmpOK = false
	first, ok := firstLayer(p.LinkType)
	if !ok {
		return SkipLinkType
	}
	data := p.Data
	if first == firstSLL || first == firstSLL2 {
		var r SkipReason
		if first, data, r = cooked(first == firstSLL2, data); r != SkipNone {
			return r
		}
	} else if first == firstIP4 {
		if len(data) == 0 {
			return SkipMalformed
		}
		switch data[0] >> 4 {
		case 4:
		case 6:
			first = firstIP6
		default:
			return SkipNotIP
		}
	}
	parser := d.parsers[first]
	err := parser.DecodeLayers(data, &d.decoded)
	var sawIP4, sawIP6, sawTCP, sawUDP bool
	for _, lt := range d.decoded {
		switch lt {
		case layers.LayerTypeIPv4:
			sawIP4 = true
		case layers.LayerTypeIPv6:
			sawIP6 = true
		case layers.LayerTypeTCP:
			sawTCP = true
		case layers.LayerTypeUDP:
			sawUDP = true
		}
	}
	if !sawIP4 && !sawIP6 {
		if err != nil {
			return SkipMalformed
		}
		return SkipNotIP
	}
	// ipEnd: offset just past the IP payload on the wire, which is beyond
	// len(p.Data) when the snaplen cut the packet.
	var ipEnd int
	if sawIP4 {
		v4in6(&s.Src.Addr, d.ip4.SrcIP)
		v4in6(&s.Dst.Addr, d.ip4.DstIP)
		s.TTL = d.ip4.TTL
		if d.ip4.Flags&layers.IPv4MoreFragments != 0 || d.ip4.FragOffset != 0 {
			ip := &d.ip4
			fr := &d.frag
			fr.key = fragKey{src: s.Src.Addr, dst: s.Dst.Addr, id: uint32(ip.Id), proto: Proto(ip.Protocol)}
			fr.off = int(ip.FragOffset) * 8
			fr.more = ip.Flags&layers.IPv4MoreFragments != 0
			fr.data = ip.Payload
			fr.wireLen = max(int(ip.Length)-len(ip.Contents), len(ip.Payload))
			fr.maxLen = 65535 - len(ip.Contents)
			return SkipFragment
		}
		ipEnd = offsetIn(p.Data, d.ip4.Contents) + int(d.ip4.Length)
		if d.ip4.Length == 0 { // TSO super-frame: the length field is not filled in
			ipEnd = len(p.Data)
		}
	} else {
		ipEnd = offsetIn(p.Data, d.ip6.Contents) + 40 + int(d.ip6.Length)
		if d.ip6.Length == 0 { // jumbogram or offload
			ipEnd = len(p.Data)
		}
		copy(s.Src.Addr[:], d.ip6.SrcIP)
		copy(s.Dst.Addr[:], d.ip6.DstIP)
		s.TTL = d.ip6.HopLimit
		if !sawTCP && !sawUDP {
			if r := d.fragment6(p, s); r != SkipNone {
				return r
			}
		}
	}
	switch {
	case sawTCP:
		d.fillTCP(s, ipEnd-offsetIn(p.Data, d.tcp.Contents)-len(d.tcp.Contents))
		return SkipNone
	case sawUDP:
		d.fillUDP(s)
		return SkipNone
	}
	if err != nil {
		return SkipMalformed
	}
	d.icmpOK = d.decodeICMP(sawIP4, s)
	return SkipNotTCPUDP
}

// maxWScale is the largest window scale shift (RFC 7323 section 2.3).
const maxWScale = 14

// fillTCP fills s from the decoded TCP layer; wireLen is the length of
// its payload on the wire.
func (d *Decoder) fillTCP(s *Segment, wireLen int) {
	t := &d.tcp
	s.Proto = ProtoTCP
	s.Src.Port, s.Dst.Port = uint16(t.SrcPort), uint16(t.DstPort)
	s.Seq, s.Ack, s.Window = t.Seq, t.Ack, t.Window
	s.Flags = t.Contents[13]
	s.WScale = -1
	if t.SYN {
		for _, o := range t.Options {
			if o.OptionType == layers.TCPOptionKindWindowScale && len(o.OptionData) == 1 {
				// RFC 7323 section 2.3: a shift above 14 is taken as 14
				// (as Linux and tshark take it); a larger one would
				// overflow the scaled window to a closed window.
				s.WScale = int8(min(o.OptionData[0], maxWScale))
			}
		}
	}
	if hdr := len(t.Contents); hdr > 20 {
		sackOptions(t.Contents[20:hdr], s)
	} else {
		s.SACKN = 0
	}
	s.Payload = t.Payload
	s.WireLen = wireLen
	if s.WireLen < len(s.Payload) {
		// Ethernet padding was trimmed by IP already; anything else here
		// means inconsistent lengths: trust what was captured.
		s.WireLen = len(s.Payload)
	}
}

// fillUDP fills s from the decoded UDP layer.
func (d *Decoder) fillUDP(s *Segment) {
	u := &d.udp
	s.Proto = ProtoUDP
	s.Src.Port, s.Dst.Port = uint16(u.SrcPort), uint16(u.DstPort)
	s.Flags, s.Seq, s.Ack, s.Window, s.WScale, s.SACKN = 0, 0, 0, 0, -1, 0
	s.Payload = u.Payload
	s.WireLen = int(u.Length) - 8
	if s.WireLen < len(s.Payload) {
		s.WireLen = len(s.Payload)
	}
	if len(s.Payload) > s.WireLen {
		s.Payload = s.Payload[:s.WireLen]
	}
}

// IPv6 extension headers that may come before a Fragment header (RFC 8200
// section 4.1; Hop-by-Hop is taken off by gopacket's IPv6 layer).
const (
	ip6Routing  = 43
	ip6Fragment = 44
	ip6DestOpts = 60
)

// fragment6 looks behind the IPv6 header (and its extension headers) of a
// packet that carried no TCP or UDP for a Fragment header. It returns
// SkipFragment with d.frag filled when there is one, SkipMalformed when
// the headers are cut short, and SkipNone when there is none.
func (d *Decoder) fragment6(p *capture.Packet, s *Segment) SkipReason {
	ip := &d.ip6
	nh := uint8(ip.NextHeader)
	if ip.HopByHop != nil {
		nh = uint8(ip.HopByHop.NextHeader)
	}
	b := ip.Payload
	for range 8 { // a bounded chain: more is not a packet anyone sends
		if nh != ip6Routing && nh != ip6DestOpts {
			break
		}
		if len(b) < 8 || len(b) < (int(b[1])+1)*8 {
			return SkipNone // cut short: left to the general rule (not TCP or UDP)
		}
		nh, b = b[0], b[(int(b[1])+1)*8:]
	}
	if nh != ip6Fragment {
		return SkipNone
	}
	if len(b) < 8 || ip.Length == 0 { // cut short, or a jumbogram (which cannot be fragmented)
		return SkipMalformed
	}
	// pos: where the fragment's bytes start in the IPv6 payload, which is
	// at most 65535 bytes long.
	pos := offsetIn(p.Data, b) + 8 - offsetIn(p.Data, ip.Contents) - 40
	offField := binary.BigEndian.Uint16(b[2:4])
	fr := &d.frag
	fr.key = fragKey{src: s.Src.Addr, dst: s.Dst.Addr, id: binary.BigEndian.Uint32(b[4:8]), proto: Proto(b[0]), v6: true}
	fr.off = int(offField &^ 7)
	fr.more = offField&1 != 0
	fr.data = b[8:]
	fr.wireLen = max(int(ip.Length)-pos, len(fr.data))
	fr.maxLen = 65535 - pos
	return SkipFragment
}

// decodeTransport decodes the TCP or UDP header at the start of a
// reassembled IP payload (data, of which wireLen bytes were on the wire)
// into s, whose addresses are set.
func (d *Decoder) decodeTransport(proto Proto, data []byte, wireLen int, s *Segment) SkipReason {
	switch proto {
	case ProtoTCP:
		if d.tcp.DecodeFromBytes(data, gopacket.NilDecodeFeedback) != nil {
			return SkipMalformed
		}
		d.fillTCP(s, wireLen-len(d.tcp.Contents))
	case ProtoUDP:
		if d.udp.DecodeFromBytes(data, gopacket.NilDecodeFeedback) != nil {
			return SkipMalformed
		}
		d.fillUDP(s)
	default:
		return SkipNotTCPUDP
	}
	return SkipNone
}

// offsetIn returns where sub starts inside data. Layers slice their
// contents out of the packet buffer, so both share the end of the backing
// array and the difference of capacities is the offset.
func offsetIn(data, sub []byte) int { return cap(data) - cap(sub) }

func v4in6(dst *[16]byte, ip []byte) {
	*dst = [16]byte{10: 0xff, 11: 0xff}
	copy(dst[12:], ip)
}
