package capture

import (
	"strconv"
	"strings"

	"github.com/gopacket/gopacket/layers"
)

// LinkType is a link type number (LINKTYPE_ value), as in a pcap header
// or a pcapng interface block.
type LinkType = layers.LinkType

// LinkInfo describes one link type: its number, its tcpdump name
// (LINKTYPE_ without the prefix, as Wireshark shows it too) and whether
// nfsstall decodes it.
type LinkInfo struct {
	Type      LinkType
	Name      string
	Supported bool
	// Note qualifies the name in the list of supported types.
	Note string
}

// LinkTypes is the table of link types nfsstall names, the supported ones
// in the order SupportedLinkTypes lists them. Several numbers may share a
// name (12 and 14 are DLT_RAW on some BSDs).
var LinkTypes = [...]LinkInfo{
	{layers.LinkTypeEthernet, "ETHERNET", true, " (with 802.1Q/QinQ)"},
	{layers.LinkTypeLinuxSLL, "LINUX_SLL", true, ""},
	{layers.LinkTypeLinuxSLL2, "LINUX_SLL2", true, ""},
	{layers.LinkTypeRaw, "RAW", true, ""},
	{12, "RAW", true, ""},
	{14, "RAW", true, ""},
	{layers.LinkTypeIPv4, "IPV4", true, ""},
	{layers.LinkTypeIPv6, "IPV6", true, ""},
	{layers.LinkTypeNull, "NULL", true, ""},
	{layers.LinkTypeLoop, "LOOP", true, ""},
	{layers.LinkTypeIEEE802_11, "IEEE802_11", false, ""},
	{layers.LinkTypeIEEE80211Radio, "IEEE802_11_RADIOTAP", false, ""},
}

// lookupLinkType returns lt's row of LinkTypes, or nil.
func lookupLinkType(lt LinkType) *LinkInfo {
	for i := range LinkTypes {
		if LinkTypes[i].Type == lt {
			return &LinkTypes[i]
		}
	}
	return nil
}

// supported holds the supported link types of LinkTypes, for a lookup
// per packet.
var supported = func() (s linkSet) {
	for _, r := range LinkTypes {
		if r.Supported {
			s.add(r.Type)
		}
	}
	return s
}()

// LinkTypeSupported reports whether nfsstall decodes link type lt.
func LinkTypeSupported(lt LinkType) bool { return supported.has(lt) }

// LinkTypeName returns the tcpdump name of a link type (LINKTYPE_ without
// the prefix), e.g. "ETHERNET", "LINUX_SLL2", or "LINKTYPE_n" for one not
// in LinkTypes.
func LinkTypeName(lt LinkType) string {
	if r := lookupLinkType(lt); r != nil {
		return r.Name
	}
	return "LINKTYPE_" + strconv.Itoa(int(lt))
}

// SupportedLinkTypes lists the link types nfsstall decodes, for error messages.
var SupportedLinkTypes = supportedLinkTypes()

func supportedLinkTypes() string {
	var names []string
	last := ""
	for _, r := range LinkTypes {
		if r.Supported && r.Name != last {
			names = append(names, r.Name+r.Note)
			last = r.Name
		}
	}
	return strings.Join(names, ", ")
}
