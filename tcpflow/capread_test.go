package tcpflow

// Decoding what capture reads: the decoder on hand-built link layers, and
// capture files read with capture.Open whose packets must decode.

import (
	"bytes"
	"encoding/binary"
	"github.com/nfsstall/nfsstall/internal/capfile"
	"strings"
	"testing"

	"github.com/gopacket/gopacket/layers"

	"github.com/nfsstall/nfsstall/capture"
)

// ipv4TCP hand-builds an IPv4 header (no options) and a TCP header
// carrying opts (padded to 4 bytes) and payload.
func ipv4TCP(flags uint8, opts []byte, payload string) []byte {
	for len(opts)%4 != 0 {
		opts = append(opts, 1) // NOP
	}
	thl := 20 + len(opts)
	b := make([]byte, 20+thl+len(payload))
	b[0], b[8], b[9] = 0x45, 64, 6
	binary.BigEndian.PutUint16(b[2:], uint16(len(b)))
	copy(b[12:], []byte{198, 18, 0, 1, 198, 18, 0, 2})
	t := b[20:]
	binary.BigEndian.PutUint16(t[0:], clientPort)
	binary.BigEndian.PutUint16(t[2:], serverPort)
	binary.BigEndian.PutUint32(t[4:], 1000)
	t[12], t[13] = byte(thl/4)<<4, flags
	binary.BigEndian.PutUint16(t[14:], 512)
	copy(t[20:], opts)
	copy(t[thl:], payload)
	return b
}

// TestWindowScaleCapped: a window scale option above 14 is taken as 14
// (RFC 7323 section 2.3), as tshark takes it.
func TestWindowScaleCapped(t *testing.T) {
	eth := []byte{2, 0, 0, 0, 0, 2, 2, 0, 0, 0, 0, 1, 0x08, 0x00}
	for _, tt := range []struct {
		shift uint8
		want  int8
	}{{0, 0}, {7, 7}, {14, 14}, {15, 14}, {127, 14}, {128, 14}, {255, 14}} {
		p := capture.Packet{Data: append(bytes.Clone(eth), ipv4TCP(FlagSYN, []byte{3, 3, tt.shift}, "")...), LinkType: layers.LinkTypeEthernet}
		p.Length = len(p.Data)
		var s Segment
		if r := NewDecoder().Decode(&p, &s); r != SkipNone || s.WScale != tt.want {
			t.Errorf("shift %d: %v, WScale %d, want %d", tt.shift, r, s.WScale, tt.want)
		}
	}
}

// TestCookedByProtocol: what follows a Linux cooked header (tcpdump -i
// any) is decided by its protocol field, not by the device type: a GRE
// device (ARPHRD_IPGRE, 778) with protocol 0x0800 carries IPv4.
func TestCookedByProtocol(t *testing.T) {
	ip := ipv4TCP(FlagACK|FlagPSH, nil, "hello")
	sll2 := func(proto, hatype uint16) []byte {
		h := make([]byte, 20)
		binary.BigEndian.PutUint16(h[0:], proto)
		binary.BigEndian.PutUint32(h[4:], 7) // ifindex
		binary.BigEndian.PutUint16(h[8:], hatype)
		h[10], h[11] = 4, 0 // outgoing, no address
		return h
	}
	sll := func(proto, hatype uint16) []byte {
		h := make([]byte, 16)
		binary.BigEndian.PutUint16(h[0:], 4)
		binary.BigEndian.PutUint16(h[2:], hatype)
		binary.BigEndian.PutUint16(h[14:], proto)
		return h
	}
	cat := func(bs ...[]byte) []byte { return bytes.Join(bs, nil) }
	vlan := []byte{0, 5, 0x08, 0x00} // VLAN 5, then IPv4
	for _, tt := range []struct {
		name string
		link layers.LinkType
		data []byte
		want SkipReason
	}{
		{"SLL2 GRE IPv4", layers.LinkTypeLinuxSLL2, cat(sll2(0x0800, 778), ip), SkipNone},
		{"SLL2 Ethernet IPv4", layers.LinkTypeLinuxSLL2, cat(sll2(0x0800, 1), ip), SkipNone},
		{"SLL2 tunnel (ARPHRD_NONE) IPv4", layers.LinkTypeLinuxSLL2, cat(sll2(0x0800, 0xfffe), ip), SkipNone},
		{"SLL2 VLAN IPv4", layers.LinkTypeLinuxSLL2, cat(sll2(0x8100, 1), vlan, ip), SkipNone},
		{"SLL GRE IPv4", layers.LinkTypeLinuxSLL, cat(sll(0x0800, 778), ip), SkipNone},
		{"SLL2 ARP", layers.LinkTypeLinuxSLL2, cat(sll2(0x0806, 1), make([]byte, 28)), SkipNotIP},
		{"SLL2 netlink", layers.LinkTypeLinuxSLL2, cat(sll2(0x0800, 824), ip), SkipNotIP},
		{"SLL2 cut", layers.LinkTypeLinuxSLL2, sll2(0x0800, 778)[:19], SkipMalformed},
		{"SLL cut", layers.LinkTypeLinuxSLL, sll(0x0800, 778)[:15], SkipMalformed},
	} {
		p := capture.Packet{Data: tt.data, Length: len(tt.data), LinkType: tt.link}
		var s Segment
		r := NewDecoder().Decode(&p, &s)
		if r != tt.want {
			t.Errorf("%s: %v, want %v", tt.name, r, tt.want)
			continue
		}
		if r == SkipNone && (string(s.Payload) != "hello" || s.Src.IP() != "198.18.0.1" || s.Dst.Port != serverPort) {
			t.Errorf("%s: %s > %s payload %q", tt.name, s.Src, s.Dst, s.Payload)
		}
		// The fast path takes cooked IPv4 too, and decodes it the same.
		if fast := sameAsLayers(t, NewDecoder(), &p); fast != (r == SkipNone && !strings.Contains(tt.name, "VLAN")) {
			t.Errorf("%s: fast path took it: %v", tt.name, fast)
		}
	}
	// The cooked path allocates nothing per packet.
	d := NewDecoder()
	p := capture.Packet{Data: cat(sll2(0x0800, 778), ip), LinkType: layers.LinkTypeLinuxSLL2}
	var s Segment
	if n := testing.AllocsPerRun(100, func() { d.Decode(&p, &s) }); n != 0 {
		t.Errorf("%v allocations per packet", n)
	}
}

// TestCaplenAboveLen: a record whose captured length exceeds its original
// length (caplen = len+1) is read as Wireshark reads it, the captured
// bytes whole, and every record after it is read too.
func TestCaplenAboveLen(t *testing.T) {
	full := build(t, pkt{toServer: true, seq: 1, flags: ack, data: "0123456789"})
	var pkts [][]byte
	var wire []int
	for i := range 200 {
		pkts = append(pkts, full)
		wire = append(wire, len(full))
		if i == 100 {
			wire[i] = len(full) - 1
		}
	}
	for _, order := range []binary.ByteOrder{binary.BigEndian, binary.LittleEndian} {
		file := capfile.PcapRecords(0xa1b2c3d4, order, 0, pkts, wire)
		f, got := readAll(t, order.String(), file)
		if len(got) != len(pkts) || f.Info.Truncated || f.Info.ReadErr != nil {
			t.Fatalf("%v: read %d of %d packets, truncated %v, %v", order, len(got), len(pkts), f.Info.Truncated, f.Info.ReadErr)
		}
		if !bytes.Equal(got[100].Data, full) || got[100].Length != len(full)-1 {
			t.Errorf("%v: record 101: %d bytes, length %d", order, len(got[100].Data), got[100].Length)
		}
		var s Segment
		if r := NewDecoder().Decode(&got[100], &s); r != SkipNone || string(s.Payload) != "0123456789" {
			t.Errorf("%v: record 101 decodes as %v, payload %q", order, r, s.Payload)
		}
	}
}

// TestPcapngSections: each section header starts a new list of
// interfaces, in the section's own byte order; packets use their own
// section's interfaces.
func TestPcapngSections(t *testing.T) {
	eth := build(t, pkt{toServer: true, seq: 1, flags: ack, data: "hello"})
	raw := eth[14:]
	var w capfile.NgWriter
	w.Section(binary.LittleEndian)
	w.Iface(uint16(layers.LinkTypeEthernet))
	w.Packet(0, 1e6, eth)
	w.Section(binary.BigEndian)
	w.Iface(uint16(layers.LinkTypeRaw))
	w.Iface(uint16(layers.LinkTypeEthernet))
	w.Packet(0, 2e6, raw)
	w.Packet(1, 3e6, eth)
	w.Section(binary.LittleEndian)
	w.Iface(uint16(layers.LinkTypeRaw))
	w.Packet(0, 4e6, raw)
	f, got := readAll(t, "sections", w.B.Bytes())
	if f.Info.Truncated || len(got) != 4 {
		t.Fatalf("%d packets, truncated %v %v", len(got), f.Info.Truncated, f.Info.ReadErr)
	}
	wantLinks := []layers.LinkType{layers.LinkTypeEthernet, layers.LinkTypeRaw, layers.LinkTypeEthernet, layers.LinkTypeRaw}
	d := NewDecoder()
	for i, p := range got {
		var s Segment
		if p.LinkType != wantLinks[i] || p.Time != int64(i+1)*1e9 {
			t.Errorf("packet %d: link %v time %d, want %v", i+1, p.LinkType, p.Time, wantLinks[i])
		}
		if r := d.Decode(&p, &s); r != SkipNone || string(s.Payload) != "hello" {
			t.Errorf("packet %d: %v %q", i+1, r, s.Payload)
		}
	}

	// A packet naming an interface its section does not have ends the
	// file there, with the block's offset.
	w.Section(binary.BigEndian)
	at := w.B.Len()
	w.Packet(0, 5e6, raw)
	f, got = readAll(t, "no interface", w.B.Bytes())
	if len(got) != 4 || !f.Info.Truncated || f.Info.TruncatedAt != int64(at) || f.Info.ReadErr == nil ||
		!strings.Contains(f.Info.ReadErr.Error(), "interface 0 not described") {
		t.Errorf("no interface: %d packets, truncated %v at %d (want %d): %v", len(got), f.Info.Truncated, f.Info.TruncatedAt, at, f.Info.ReadErr)
	}
}

// FuzzOpen reads any bytes as a capture file: no panic, frames numbered
// in order, and every packet decodes to something.
func FuzzOpen(f *testing.F) {
	eth := build(f, pkt{toServer: true, seq: 1, flags: ack, data: "hello"})
	var w capfile.NgWriter
	w.Section(binary.LittleEndian)
	w.Iface(uint16(layers.LinkTypeEthernet), capfile.Opt{Code: capfile.OptTSResol, V: []byte{0}})
	w.Packet(0, 1, eth)
	w.Stats(0, capfile.Opt{Code: capfile.OptISBIfDrop, V: w.U64(1)}, capfile.Opt{Code: capfile.OptISBOsDrop, V: w.U64(2)})
	w.Section(binary.BigEndian)
	w.Iface(uint16(layers.LinkTypeRaw), capfile.Opt{Code: capfile.OptTSOffset, V: w.U64(5)})
	w.Packet(0, 2e6, eth[14:])
	w.Packet(0, 1<<62, eth[14:])
	w.Packet(0, 3e6, eth[14:])
	f.Add(w.B.Bytes())
	f.Add(capfile.PcapRecords(0xa1b2cd34, binary.LittleEndian, 8, [][]byte{eth, eth}, []int{len(eth), len(eth) - 1}))
	f.Add(capfile.PcapAt(eth, []int64{1e18, 1e9, 2e9, 3e18, 4e9}))
	f.Fuzz(func(t *testing.T, b []byte) {
		file, err := capture.Open("-", bytes.NewReader(b))
		if err != nil {
			return
		}
		d := NewDecoder()
		var p capture.Packet
		var s Segment
		for n := int64(1); file.Next(&p) == nil; n++ {
			if p.Frame != n {
				t.Fatalf("frame %d, want %d", p.Frame, n)
			}
			d.Decode(&p, &s)
		}
	})
}
