package tcpflow

// Link layers: which layer a packet starts with, by its link type, and the
// Linux cooked headers, taken off by hand. IP, TCP and UDP are in packet.go.

import (
	"encoding/binary"

	"github.com/nfsstall/nfsstall/capture"
)

const (
	firstEth = iota
	firstDot1Q
	firstLoop
	firstIP4
	firstIP6
	numFirst
	// The Linux cooked headers are taken off by hand (see cooked), and
	// what follows them is parsed from one of the layers above.
	firstSLL
	firstSLL2
)

// firstOf is the layer a packet starts with, by its link header; the
// link types and their headers are capture's table (capture.LinkHeaderOf).
var firstOf = [...]int{
	capture.HeaderEthernet:  firstEth,
	capture.HeaderLinuxSLL:  firstSLL,
	capture.HeaderLinuxSLL2: firstSLL2,
	capture.HeaderLoopback:  firstLoop,
	capture.HeaderIP:        firstIP4, // IPv4 or IPv6: Decode picks by the version nibble
}

// firstLayer says which layer a packet of link type lt starts with, and
// false for a link type capture's table does not mark supported.
func firstLayer(lt capture.LinkType) (int, bool) {
	h := capture.LinkHeaderOf(lt)
	if h == capture.HeaderNone {
		return 0, false
	}
	return firstOf[h], true
}

// Linux ARPHRD_ types after which the protocol field of a cooked header
// does not name what follows (libpcap's LINKTYPE_LINUX_SLL page).
const (
	arphrdFRAD       = 770 // a Frame Relay LAPF frame follows
	arphrdRadiotap   = 803 // a radiotap header follows
	arphrdNetlink    = 824 // the protocol is a netlink family
	ethTypeIPv4      = 0x0800
	ethTypeIPv6      = 0x86dd
	ethTypeDot1Q     = 0x8100
	ethTypeQinQ      = 0x88a8
	ethTypeDot1Q9100 = 0x9100
)

// cookedNotByProtocol reports whether, after a cooked header of device
// type hatype, the protocol field does not say what follows.
func cookedNotByProtocol(hatype uint16) bool {
	return hatype == arphrdFRAD || hatype == arphrdRadiotap || hatype == arphrdNetlink
}

// cooked takes the Linux cooked header (LINUX_SLL, 16 bytes, or
// LINUX_SLL2, 20 bytes; tcpdump -i any) off data and says which layer
// follows, from the header's protocol field: 0x0800 IPv4, 0x86DD IPv6,
// 0x8100 and 0x88A8 a VLAN tag. The device type (ARPHRD_) does not decide
// it: on a GRE tunnel (ARPHRD_IPGRE, 778) the protocol field is the GRE
// protocol type, 0x0800 for IPv4 as Wireshark reads it, where gopacket's
// SLL2 layer assumes an Ethernet header follows and finds no IP at all.
func cooked(v2 bool, data []byte) (int, []byte, SkipReason) {
	var proto, hatype uint16
	if v2 {
		if len(data) < 20 {
			return 0, nil, SkipMalformed
		}
		proto, hatype, data = binary.BigEndian.Uint16(data[0:2]), binary.BigEndian.Uint16(data[8:10]), data[20:]
	} else {
		if len(data) < 16 {
			return 0, nil, SkipMalformed
		}
		proto, hatype, data = binary.BigEndian.Uint16(data[14:16]), binary.BigEndian.Uint16(data[2:4]), data[16:]
	}
	if cookedNotByProtocol(hatype) {
		return 0, nil, SkipNotIP
	}
	switch proto {
	case ethTypeIPv4:
		return firstIP4, data, SkipNone
	case ethTypeIPv6:
		return firstIP6, data, SkipNone
	case ethTypeDot1Q, ethTypeQinQ, ethTypeDot1Q9100:
		return firstDot1Q, data, SkipNone
	}
	return 0, nil, SkipNotIP
}
