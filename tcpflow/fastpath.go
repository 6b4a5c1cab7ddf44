package tcpflow

import (
	"encoding/binary"

	"github.com/gopacket/gopacket/layers"

	"github.com/nfsstall/nfsstall/capture"
)

// decodeFast decodes the frame nearly every NFS capture is made of,
// Ethernet II (or a Linux cooked header, tcpdump -i any) carrying IPv4
// without options carrying TCP, without going through gopacket's layer
// parser, which costs several times as much per packet. It fills s exactly
// as the general path would and reports true; for anything else (VLAN
// tags, IP options or fragments, SYN segments, whose options are read,
// malformed headers) it reports false and leaves the packet to the
// general path.
func decodeFast(p *capture.Packet, s *Segment) bool {
	b := p.Data
	var ip []byte
	switch p.LinkType {
	case layers.LinkTypeEthernet:
		if len(b) < 14 || b[12] != 0x08 || b[13] != 0x00 {
			return false
		}
		ip = b[14:]
	case layers.LinkTypeLinuxSLL2: // protocol first, device type at 8 (see cooked)
		if len(b) < 20 || b[0] != 0x08 || b[1] != 0x00 || cookedNotByProtocol(binary.BigEndian.Uint16(b[8:10])) {
			return false
		}
		ip = b[20:]
	case layers.LinkTypeLinuxSLL: // device type at 2, protocol at 14
		if len(b) < 16 || b[14] != 0x08 || b[15] != 0x00 || cookedNotByProtocol(binary.BigEndian.Uint16(b[2:4])) {
			return false
		}
		ip = b[16:]
	default:
		return false
	}
	if len(ip) < 20+20 || ip[0] != 0x45 || ip[9] != byte(layers.IPProtocolTCP) {
		return false
	}
	ipLen := int(binary.BigEndian.Uint16(ip[2:4]))
	if ipLen < 20+20 || binary.BigEndian.Uint16(ip[6:8])&0x3fff != 0 { // TSO (0), too short, MF or offset
		return false
	}
	if len(ip) > ipLen {
		ip = ip[:ipLen] // Ethernet padding
	}
	t := ip[20:]
	if len(t) < 20 {
		return false
	}
	hdr := int(t[12]>>4) * 4
	if hdr < 20 || hdr > len(t) || t[13]&FlagSYN != 0 {
		return false
	}
	s.Proto = ProtoTCP
	s.TTL = ip[8]
	v4in6(&s.Src.Addr, ip[12:16])
	v4in6(&s.Dst.Addr, ip[16:20])
	s.Src.Port = binary.BigEndian.Uint16(t[0:2])
	s.Dst.Port = binary.BigEndian.Uint16(t[2:4])
	s.Seq = binary.BigEndian.Uint32(t[4:8])
	s.Ack = binary.BigEndian.Uint32(t[8:12])
	s.Flags = t[13]
	s.Window = binary.BigEndian.Uint16(t[14:16])
	s.WScale = -1
	sackOptions(t[20:hdr], s)
	s.Payload = t[hdr:]
	s.WireLen = max(ipLen-20-hdr, len(s.Payload))
	return true
}
