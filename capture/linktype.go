package capture

import (
	"strconv"
	"strings"

	"github.com/gopacket/gopacket/layers"
)

// LinkType is a link type number (LINKTYPE_ value), as in a pcap header
// or a pcapng interface block.
type LinkType = layers.LinkType

// LinkHeader says what header the packets of a link type start with, for
// the link types nfsstall decodes.
type LinkHeader uint8

// Link headers nfsstall decodes.
const (
	HeaderNone      LinkHeader = iota // not decoded
	HeaderEthernet                    // Ethernet II, VLAN tags (802.1Q, QinQ) allowed
	HeaderLinuxSLL                    // Linux cooked header, 16 bytes (tcpdump -i any)
	HeaderLinuxSLL2                   // Linux cooked header v2, 20 bytes
	HeaderLoopback                    // BSD loopback: a 4-byte address family (NULL: host order, LOOP: network order)
	HeaderIP                          // none: the IP header, v4 or v6 by its version nibble
)

// linkInfo describes one link type: its number, its tcpdump name
// (LINKTYPE_ without the prefix, as Wireshark shows it too) and the header
// its packets start with (HeaderNone: nfsstall does not decode it).
type linkInfo struct {
	typ    LinkType
	name   string
	header LinkHeader
	note   string // qualifies the name in the list of supported types
}

// linkTypes is the one table of link types nfsstall names: what
// LinkTypeSupported, LinkTypeName, LinkHeaderOf and SupportedLinkTypes say
// is read from it, and tcpflow's decoder starts from LinkHeaderOf. The supported ones
// come in the order SupportedLinkTypes lists them. Several numbers may
// share a name (12 and 14 are DLT_RAW on some BSDs).
var linkTypes = [...]linkInfo{
	{layers.LinkTypeEthernet, "ETHERNET", HeaderEthernet, " (with 802.1Q/QinQ)"},
	{layers.LinkTypeLinuxSLL, "LINUX_SLL", HeaderLinuxSLL, ""},
	{layers.LinkTypeLinuxSLL2, "LINUX_SLL2", HeaderLinuxSLL2, ""},
	{layers.LinkTypeRaw, "RAW", HeaderIP, ""},
	{12, "RAW", HeaderIP, ""},
	{14, "RAW", HeaderIP, ""},
	{layers.LinkTypeIPv4, "IPV4", HeaderIP, ""},
	{layers.LinkTypeIPv6, "IPV6", HeaderIP, ""},
	{layers.LinkTypeNull, "NULL", HeaderLoopback, ""},
	{layers.LinkTypeLoop, "LOOP", HeaderLoopback, ""},
	{layers.LinkTypeIEEE802_11, "IEEE802_11", HeaderNone, ""},
	{layers.LinkTypeIEEE80211Radio, "IEEE802_11_RADIOTAP", HeaderNone, ""},
}

// lookupLinkType returns lt's row of linkTypes, or nil.
func lookupLinkType(lt LinkType) *linkInfo {
	for i := range linkTypes {
		if linkTypes[i].typ == lt {
			return &linkTypes[i]
		}
	}
	return nil
}

// supported holds the supported link types of linkTypes, for a lookup
// per packet.
var supported = func() (s linkSet) {
	for _, r := range linkTypes {
		if r.header != HeaderNone {
			s.add(r.typ)
		}
	}
	return s
}()

// LinkTypeSupported reports whether nfsstall decodes link type lt.
func LinkTypeSupported(lt LinkType) bool { return supported.has(lt) }

// LinkHeaderOf returns the header the packets of link type lt start
// with, HeaderNone for a link type nfsstall does not decode.
func LinkHeaderOf(lt LinkType) LinkHeader {
	if r := lookupLinkType(lt); r != nil {
		return r.header
	}
	return HeaderNone
}

// LinkTypeName returns the tcpdump name of a link type (LINKTYPE_ without
// the prefix), e.g. "ETHERNET", "LINUX_SLL2", or "LINKTYPE_n" for one not
// in the table.
func LinkTypeName(lt LinkType) string {
	if r := lookupLinkType(lt); r != nil {
		return r.name
	}
	return "LINKTYPE_" + strconv.Itoa(int(lt))
}

// SupportedLinkTypes lists the link types nfsstall decodes, for error messages.
var SupportedLinkTypes = supportedLinkTypes()

func supportedLinkTypes() string {
	var names []string
	last := ""
	for _, r := range linkTypes {
		if r.header != HeaderNone && r.name != last {
			names = append(names, r.name+r.note)
			last = r.name
		}
	}
	return strings.Join(names, ", ")
}
