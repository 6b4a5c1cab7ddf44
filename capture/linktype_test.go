package capture

import (
	"testing"

	"github.com/gopacket/gopacket/layers"
)

// TestLinkTypeTable: the names and the supported list read from the one
// table are the ones nfsstall has always printed.
func TestLinkTypeTable(t *testing.T) {
	const want = "ETHERNET (with 802.1Q/QinQ), LINUX_SLL, LINUX_SLL2, RAW, IPV4, IPV6, NULL, LOOP"
	if SupportedLinkTypes != want {
		t.Errorf("SupportedLinkTypes = %q, want %q", SupportedLinkTypes, want)
	}
	for _, tt := range []struct {
		lt        LinkType
		name      string
		supported bool
	}{
		{layers.LinkTypeNull, "NULL", true},
		{layers.LinkTypeEthernet, "ETHERNET", true},
		{layers.LinkTypeRaw, "RAW", true},
		{12, "RAW", true},
		{14, "RAW", true},
		{layers.LinkTypeLoop, "LOOP", true},
		{layers.LinkTypeLinuxSLL, "LINUX_SLL", true},
		{layers.LinkTypeLinuxSLL2, "LINUX_SLL2", true},
		{layers.LinkTypeIPv4, "IPV4", true},
		{layers.LinkTypeIPv6, "IPV6", true},
		{layers.LinkTypeIEEE802_11, "IEEE802_11", false},
		{layers.LinkTypeIEEE80211Radio, "IEEE802_11_RADIOTAP", false},
		{147, "LINKTYPE_147", false},
		{65535, "LINKTYPE_65535", false},
	} {
		if got := LinkTypeName(tt.lt); got != tt.name {
			t.Errorf("LinkTypeName(%d) = %q, want %q", tt.lt, got, tt.name)
		}
		if got := LinkTypeSupported(tt.lt); got != tt.supported {
			t.Errorf("LinkTypeSupported(%d) = %v, want %v", tt.lt, got, tt.supported)
		}
	}
}
