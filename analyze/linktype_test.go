package analyze_test

// Every supported link type, on real traffic: the Ethernet frames of
// mixed.pcap are re-wrapped in each link layer (the IP packets untouched)
// and must give exactly the report of the original.

import (
	"encoding/binary"
	"encoding/json"
	"os"
	"path/filepath"
	"testing"
	"time"

	"github.com/gopacket/gopacket"
	"github.com/gopacket/gopacket/layers"
	"github.com/gopacket/gopacket/pcapgo"

	"github.com/nfsstall/nfsstall/capture"
)

// rewrap turns one Ethernet frame (without VLAN tags) into the same packet
// under link type lt.
type rewrap struct {
	name string
	lt   layers.LinkType
	wrap func(eth []byte) []byte
}

func linkTypeCases() []rewrap {
	etherType := func(eth []byte) uint16 { return binary.BigEndian.Uint16(eth[12:14]) }
	ip := func(eth []byte) []byte { return eth[14:] }
	vlan := func(eth []byte, tpids ...uint16) []byte {
		out := append([]byte{}, eth[:12]...)
		for i, tpid := range tpids {
			out = binary.BigEndian.AppendUint16(out, tpid)
			out = binary.BigEndian.AppendUint16(out, uint16(100+i)) // VLAN id
		}
		return append(out, eth[12:]...)
	}
	af := func(eth []byte) uint32 {
		if etherType(eth) == 0x86dd {
			return 10 // AF_INET6 on Linux
		}
		return 2 // AF_INET
	}
	return []rewrap{
		{"802.1Q", layers.LinkTypeEthernet, func(eth []byte) []byte { return vlan(eth, 0x8100) }},
		{"QinQ", layers.LinkTypeEthernet, func(eth []byte) []byte { return vlan(eth, 0x88a8, 0x8100) }},
		{"LINUX_SLL", layers.LinkTypeLinuxSLL, func(eth []byte) []byte {
			h := make([]byte, 16)
			binary.BigEndian.PutUint16(h[0:], 0) // to us
			binary.BigEndian.PutUint16(h[2:], 1) // ARPHRD_ETHER
			binary.BigEndian.PutUint16(h[4:], 6)
			copy(h[6:12], eth[6:12])
			binary.BigEndian.PutUint16(h[14:], etherType(eth))
			return append(h, ip(eth)...)
		}},
		{"LINUX_SLL2", layers.LinkTypeLinuxSLL2, func(eth []byte) []byte {
			h := make([]byte, 20)
			binary.BigEndian.PutUint16(h[0:], etherType(eth))
			binary.BigEndian.PutUint32(h[4:], 2) // interface index
			binary.BigEndian.PutUint16(h[8:], 1) // ARPHRD_ETHER
			h[10], h[11] = 0, 6
			copy(h[12:18], eth[6:12])
			return append(h, ip(eth)...)
		}},
		{"RAW", layers.LinkTypeRaw, ip},
		{"IPV4", layers.LinkTypeIPv4, ip},
		{"IPV6", layers.LinkTypeIPv6, ip},
		{"NULL", layers.LinkTypeNull, func(eth []byte) []byte {
			return append(binary.LittleEndian.AppendUint32(nil, af(eth)), ip(eth)...) // host order
		}},
		{"LOOP", layers.LinkTypeLoop, func(eth []byte) []byte {
			return append(binary.BigEndian.AppendUint32(nil, af(eth)), ip(eth)...) // network order
		}},
	}
}

func TestLinkTypes(t *testing.T) {
	for _, name := range []string{"mixed.pcap", "ipv6.pcap"} {
		t.Run(name, func(t *testing.T) { testLinkTypes(t, name) })
	}
}

func testLinkTypes(t *testing.T, name string) {
	src := captureFile(t, name)
	want := reportParts(t, src)
	if want.calls == 0 {
		t.Fatal("the original has no calls")
	}
	v6 := name == "ipv6.pcap"
	for _, lc := range linkTypeCases() {
		if (lc.lt == layers.LinkTypeIPv4 && v6) || (lc.lt == layers.LinkTypeIPv6 && !v6) {
			continue
		}
		t.Run(lc.name, func(t *testing.T) {
			path := filepath.Join(t.TempDir(), "rewrapped.pcap")
			rewrite(t, src, path, lc)
			got := reportParts(t, path)
			if got.summary != want.summary {
				t.Errorf("summary %s\nwant    %s", got.summary, want.summary)
			}
			if got.procedures != want.procedures || got.connections != want.connections {
				t.Errorf("procedures or connections differ from the Ethernet original")
			}
			if got.linkType == want.linkType && lc.lt != layers.LinkTypeEthernet {
				t.Errorf("link type reported as %q", got.linkType)
			}
		})
	}
}

// parts is what must not depend on the link layer, as JSON text.
type parts struct {
	summary, procedures, connections, linkType string
	calls                                      int64
}

func reportParts(t *testing.T, path string) parts {
	t.Helper()
	r, _ := run(t, path)
	enc := func(v any) string {
		b, err := json.Marshal(v)
		if err != nil {
			t.Fatal(err)
		}
		return string(b)
	}
	return parts{enc(r.Summary), enc(r.Procedures), enc(r.Connections), r.Captures[0].LinkType, r.Summary.Calls}
}

func rewrite(t *testing.T, src, dst string, lc rewrap) {
	t.Helper()
	f, err := capture.Open(src, nil)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	out, err := os.Create(dst)
	if err != nil {
		t.Fatal(err)
	}
	defer out.Close()
	w := pcapgo.NewWriterNanos(out)
	if err := w.WriteFileHeader(262144+64, lc.lt); err != nil {
		t.Fatal(err)
	}
	var p capture.Packet
	for f.Next(&p) == nil {
		data := lc.wrap(p.Data)
		ci := gopacket.CaptureInfo{Timestamp: time.Unix(0, p.Time), CaptureLength: len(data), Length: p.Length + len(data) - len(p.Data)}
		if err := w.WritePacket(ci, data); err != nil {
			t.Fatal(err)
		}
	}
}
