package analyze

import "github.com/nfsstall/nfsstall/capture"

// LinkTypeName returns the tcpdump name of a link type (LINKTYPE_ without
// the prefix), e.g. "ETHERNET", "LINUX_SLL2", from capture's link-type table.
func LinkTypeName(lt capture.LinkType) string { return capture.LinkTypeName(lt) }
