package analyze

import (
	"strconv"

	"github.com/gopacket/gopacket/layers"
)

// LinkTypeName returns the tcpdump name of a link type (LINKTYPE_ without
// the prefix), e.g. "ETHERNET", "LINUX_SLL2".
func LinkTypeName(lt layers.LinkType) string {
	switch lt {
	case layers.LinkTypeNull:
		return "NULL"
	case layers.LinkTypeEthernet:
		return "ETHERNET"
	case layers.LinkTypeRaw, 12, 14:
		return "RAW"
	case layers.LinkTypeLoop:
		return "LOOP"
	case layers.LinkTypeLinuxSLL:
		return "LINUX_SLL"
	case layers.LinkTypeLinuxSLL2:
		return "LINUX_SLL2"
	case layers.LinkTypeIPv4:
		return "IPV4"
	case layers.LinkTypeIPv6:
		return "IPV6"
	case layers.LinkTypeIEEE802_11:
		return "IEEE802_11"
	case layers.LinkTypeIEEE80211Radio:
		return "IEEE802_11_RADIOTAP"
	}
	return "LINKTYPE_" + strconv.Itoa(int(lt))
}
