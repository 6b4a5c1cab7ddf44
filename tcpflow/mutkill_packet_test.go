package tcpflow

import (
	"bytes"
	"encoding/binary"
	"net"
	"testing"

	"github.com/gopacket/gopacket"
	"github.com/gopacket/gopacket/layers"

	"github.com/nfsstall/nfsstall/capture"
)

// Decoding (packet.go, linklayer.go): lengths from the RFCs' header
// fields, as tshark reads them.

// TestIPv6WireLength: the TCP payload's length on the wire is the IPv6
// payload length (RFC 8200) less the TCP header (tshark's tcp.len), also
// when the snaplen cut the packet.
func TestIPv6WireLength(t *testing.T) {
	ip := &layers.IPv6{Version: 6, HopLimit: 64, NextHeader: layers.IPProtocolTCP,
		SrcIP: net.IP(fragClient6[:]), DstIP: net.IP(fragServer6[:])}
	tcp := &layers.TCP{SrcPort: clientPort, DstPort: serverPort, Seq: 1, Ack: 1, ACK: true, Window: 512}
	tcp.SetNetworkLayerForChecksum(ip)
	eth := &layers.Ethernet{SrcMAC: net.HardwareAddr{2, 0, 0, 0, 0, 1}, DstMAC: net.HardwareAddr{2, 0, 0, 0, 0, 2}, EthernetType: layers.EthernetTypeIPv6}
	buf := gopacket.NewSerializeBuffer()
	payload := bytes.Repeat([]byte("0123456789"), 10)
	if err := gopacket.SerializeLayers(buf, gopacket.SerializeOptions{FixLengths: true, ComputeChecksums: true}, eth, ip, tcp, gopacket.Payload(payload)); err != nil {
		t.Fatal(err)
	}
	full := buf.Bytes()
	d := NewDecoder()
	for _, capLen := range []int{len(full), 14 + 40 + 20 + 10} {
		var s Segment
		if r := d.Decode(&capture.Packet{Data: full[:capLen], Length: len(full), LinkType: layers.LinkTypeEthernet}, &s); r != SkipNone {
			t.Fatalf("skipped: %v", r)
		}
		if s.WireLen != 100 || len(s.Payload) != capLen-14-40-20 {
			t.Errorf("captured %d: payload %d, wire %d; want %d, 100", capLen, len(s.Payload), s.WireLen, capLen-14-40-20)
		}
	}
}

// TestUDPNoWindowScale: a UDP segment has no window scale option: WScale
// is -1, whatever the segment decoded before it held.
func TestUDPNoWindowScale(t *testing.T) {
	d := NewDecoder()
	s := Segment{WScale: 7}
	frame := frag4(layers.IPProtocolUDP, 1, udpPayload(serverPort, 20, 1), piece{0, 28, false})
	if r := d.Decode(&capture.Packet{Data: frame, Length: len(frame), LinkType: layers.LinkTypeEthernet}, &s); r != SkipNone {
		t.Fatalf("skipped: %v", r)
	}
	if s.Proto != ProtoUDP || s.WScale != -1 || s.WireLen != 20 {
		t.Errorf("decoded %+v", s)
	}
}

// ip6Ext is an Ethernet/IPv6 frame whose payload (next header nh) is ext.
func ip6Ext(nh byte, ext []byte) []byte {
	b := make([]byte, 14+40, 14+40+len(ext))
	b[12], b[13] = 0x86, 0xdd
	h := b[14:]
	h[0] = 0x60
	binary.BigEndian.PutUint16(h[4:], uint16(len(ext)))
	h[6], h[7] = nh, 64
	copy(h[8:], fragClient6[:])
	copy(h[24:], fragServer6[:])
	return append(b, ext...)
}

// TestIPv6ExtensionChainCut: an extension header chain cut short is
// counted, not read beyond its end (RFC 8200 section 4: Hdr Ext Len counts
// 8-octet units beyond the first 8). A Destination Options header that
// ends the packet and names a Fragment header next leaves the Fragment
// header missing: malformed. One that claims more bytes than the packet
// holds is not a fragment: the packet carries no TCP or UDP.
func TestIPv6ExtensionChainCut(t *testing.T) {
	d := NewDecoder()
	for _, tc := range []struct {
		name string
		ext  []byte
		want SkipReason
	}{
		{"fragment header missing", []byte{ip6Fragment, 0, 1, 4, 0, 0, 0, 0}, SkipMalformed},
		{"options longer than the packet", []byte{ip6Fragment, 1, 1, 4, 0, 0, 0, 0}, SkipNotTCPUDP},
		{"options longer than the packet, with more", []byte{ip6Fragment, 2, 1, 4, 0, 0, 0, 0, 1, 2, 3, 4, 5, 6, 7, 8}, SkipNotTCPUDP},
	} {
		frame := ip6Ext(ip6DestOpts, tc.ext)
		var s Segment
		if r := d.Decode(&capture.Packet{Data: frame, Length: len(frame), LinkType: layers.LinkTypeEthernet}, &s); r != tc.want {
			t.Errorf("%s: %v, want %v", tc.name, r, tc.want)
		}
	}
}

// TestCookedHeaderOnly: a Linux cooked header with nothing behind it, whose
// protocol field says ARP (0x0806), is a packet that is not IP (as tshark
// shows it), not a malformed one.
func TestCookedHeaderOnly(t *testing.T) {
	d := NewDecoder()
	sll := make([]byte, 16)
	binary.BigEndian.PutUint16(sll[2:], 1) // ARPHRD_ETHER
	binary.BigEndian.PutUint16(sll[14:], 0x0806)
	sll2 := make([]byte, 20)
	binary.BigEndian.PutUint16(sll2[0:], 0x0806)
	binary.BigEndian.PutUint16(sll2[8:], 1)
	for _, tc := range []struct {
		lt   layers.LinkType
		data []byte
	}{{layers.LinkTypeLinuxSLL, sll}, {layers.LinkTypeLinuxSLL2, sll2}} {
		var s Segment
		if r := d.Decode(&capture.Packet{Data: tc.data, Length: len(tc.data), LinkType: tc.lt}, &s); r != SkipNotIP {
			t.Errorf("%v: %v, want %v", tc.lt, r, SkipNotIP)
		}
	}
}

// TestFragmentedTCPNoGap: a TCP segment reassembled from IP fragments is
// whole: its payload length is the datagram's length less the TCP header,
// so no byte of it is a gap.
func TestFragmentedTCPNoGap(t *testing.T) {
	data := bytes.Repeat([]byte("0123456789"), 300)
	seg := tcpPayload(data)
	for _, v := range ipVersions {
		r := newMrun(t, DefaultLimits)
		for i, pc := range split(len(seg), 1480) {
			frame := v.frag(layers.IPProtocolTCP, 1, seg, pc)
			r.frame++
			r.f.Packet(&capture.Packet{Frame: r.frame, Time: int64(i+1) * 1e6, Data: frame, Length: len(frame), LinkType: layers.LinkTypeEthernet})
		}
		r.f.Finish()
		checkLog(t, v.name, r.log.String(), "c1 open @3\nc1 > data \""+string(data)+"\" @3\nc1 close\n")
	}
}
