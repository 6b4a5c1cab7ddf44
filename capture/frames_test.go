package capture

import (
	"net"
	"testing"

	"github.com/gopacket/gopacket"
	"github.com/gopacket/gopacket/layers"
)

// The frames the reading tests write into capture files: a copy of
// tcpflow's test builder (test helpers are not importable), for TCP over
// IPv4 over Ethernet.

const pcapDir = "../testdata/pcaps"

// pkt describes one hand-built TCP segment.
type pkt struct {
	toServer bool
	seq, ack uint32
	flags    uint8
	data     string
	capLen   int // captured TCP payload bytes when the snaplen cuts it (0: all)
	srcPort  uint16
}

const (
	clientPort = 800
	serverPort = 2049
)

// TCP flag bits, as in the TCP header's flags byte.
const (
	flagFIN = 0x01
	flagSYN = 0x02
	flagRST = 0x04
	flagPSH = 0x08
	flagACK = 0x10
	ack     = flagACK
)

// build serializes p as an Ethernet/IPv4/TCP frame.
func build(t testing.TB, p pkt) []byte {
	t.Helper()
	cip, sip := net.IP{198, 18, 0, 1}, net.IP{198, 18, 0, 2}
	cport := uint16(clientPort)
	if p.srcPort != 0 {
		cport = p.srcPort
	}
	ip := &layers.IPv4{Version: 4, TTL: 64, Protocol: layers.IPProtocolTCP, SrcIP: cip, DstIP: sip}
	tcp := &layers.TCP{SrcPort: layers.TCPPort(cport), DstPort: serverPort, Seq: p.seq, Ack: p.ack, Window: 512,
		FIN: p.flags&flagFIN != 0, SYN: p.flags&flagSYN != 0, RST: p.flags&flagRST != 0, ACK: p.flags&flagACK != 0, PSH: p.flags&flagPSH != 0}
	if !p.toServer {
		ip.SrcIP, ip.DstIP = sip, cip
		tcp.SrcPort, tcp.DstPort = serverPort, layers.TCPPort(cport)
	}
	tcp.SetNetworkLayerForChecksum(ip)
	eth := &layers.Ethernet{SrcMAC: net.HardwareAddr{2, 0, 0, 0, 0, 1}, DstMAC: net.HardwareAddr{2, 0, 0, 0, 0, 2}, EthernetType: layers.EthernetTypeIPv4}
	buf := gopacket.NewSerializeBuffer()
	if err := gopacket.SerializeLayers(buf, gopacket.SerializeOptions{FixLengths: true, ComputeChecksums: true},
		eth, ip, tcp, gopacket.Payload(p.data)); err != nil {
		t.Fatal(err)
	}
	b := buf.Bytes()
	if p.capLen > 0 {
		b = b[:14+20+20+p.capLen] // what tcpdump -s writes
	}
	return b
}
