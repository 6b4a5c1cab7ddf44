package main

import (
	"bytes"
	"encoding/binary"
	"fmt"
	"net"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/gopacket/gopacket"
	"github.com/gopacket/gopacket/layers"
	"github.com/gopacket/gopacket/pcapgo"
)

// synFlood writes a capture: n SYNs to port 2049 from distinct client
// ports, none answered, then one connection whose READ call the server's
// TCP ACKs and never answers, followed by 5 s of capture.
func synFlood(t *testing.T, n int) string {
	t.Helper()
	var buf bytes.Buffer
	w := pcapgo.NewWriterNanos(&buf)
	if err := w.WriteFileHeader(262144, layers.LinkTypeEthernet); err != nil {
		t.Fatal(err)
	}
	now := time.Unix(1_700_000_000, 0)
	cip, sip := net.IP{198, 18, 0, 1}, net.IP{198, 18, 0, 2}
	seg := func(dt time.Duration, cport uint16, toServer bool, seq, ack uint32, syn, ackf bool, payload []byte) {
		now = now.Add(dt)
		ip := &layers.IPv4{Version: 4, TTL: 64, Protocol: layers.IPProtocolTCP, SrcIP: cip, DstIP: sip}
		tcp := &layers.TCP{SrcPort: layers.TCPPort(cport), DstPort: 2049, Seq: seq, Ack: ack, Window: 501, SYN: syn, ACK: ackf, PSH: len(payload) > 0}
		if !toServer {
			ip.SrcIP, ip.DstIP = sip, cip
			tcp.SrcPort, tcp.DstPort = 2049, layers.TCPPort(cport)
		}
		tcp.SetNetworkLayerForChecksum(ip)
		eth := &layers.Ethernet{SrcMAC: net.HardwareAddr{2, 0, 0, 0, 0, 1}, DstMAC: net.HardwareAddr{2, 0, 0, 0, 0, 2}, EthernetType: layers.EthernetTypeIPv4}
		b := gopacket.NewSerializeBuffer()
		if err := gopacket.SerializeLayers(b, gopacket.SerializeOptions{FixLengths: true, ComputeChecksums: true}, eth, ip, tcp, gopacket.Payload(payload)); err != nil {
			t.Fatal(err)
		}
		if err := w.WritePacket(gopacket.CaptureInfo{Timestamp: now, CaptureLength: len(b.Bytes()), Length: len(b.Bytes())}, b.Bytes()); err != nil {
			t.Fatal(err)
		}
	}
	for i := range n {
		seg(10*time.Microsecond, uint16(1024+i%60000), true, 1000, 0, true, false, nil)
	}
	// The stalled connection: handshake, a READ call ACKed, no reply.
	const cport = 700
	c, s := uint32(5000), uint32(90000)
	seg(time.Millisecond, cport, true, c-1, 0, true, false, nil)
	seg(time.Millisecond, cport, false, s-1, c, true, true, nil)
	seg(time.Millisecond, cport, true, c, s, false, true, nil)
	var call []byte
	for _, v := range []uint32{0x80000000 | 64, 0xabc, 0, 2, 100003, 3, 6, 0, 0, 0, 0, 8, 0xdeadbeef, 0xcafef00d, 0, 0, 4096} {
		call = binary.BigEndian.AppendUint32(call, v)
	}
	seg(time.Millisecond, cport, true, c, s, false, true, call)
	seg(time.Millisecond, cport, false, s, c+uint32(len(call)), false, true, nil)
	seg(5*time.Second, cport, true, c+uint32(len(call)), s, false, true, nil)
	path := filepath.Join(t.TempDir(), "flood.pcap")
	if err := os.WriteFile(path, buf.Bytes(), 0o644); err != nil {
		t.Fatal(err)
	}
	return path
}

// TestSYNFloodDoesNotHideStall: 10,000 SYNs that carry nothing fill the
// connection table (10,000 connections); the stalled connection after
// them is still analysed: a full table releases connections that never
// carried RPC first. STALL, exit 1, and the release is reported. Beyond
// 1,000, connections that carried nothing are counted, not listed.
func TestSYNFloodDoesNotHideStall(t *testing.T) {
	for _, n := range []int{9999, 10000, 25000} {
		out, errOut, code := nfsstall(t, nil, synFlood(t, n))
		if code != exitStall {
			t.Fatalf("%d SYNs: exit %d, want %d (stderr %q)\n%s", n, code, exitStall, errOut, out)
		}
		head, _, _ := strings.Cut(out, "\n\n")
		if !strings.HasSuffix(head, "\n  STALL: server_not_replying (1 connection)") {
			t.Errorf("%d SYNs: header does not end with the stall:\n%s", n, head)
		}
		// Connections that carried nothing are listed up to 1,000; the
		// rest are counted, not kept.
		if !strings.Contains(head, "\n  1001 connections, 1 call,") {
			t.Errorf("%d SYNs: want 1001 connections listed:\n%s", n, head)
		}
		if !strings.Contains(out, fmt.Sprintf("\n  %d connections: not listed: they carried nothing", n-1000)) {
			t.Errorf("%d SYNs: %d connections not listed is not said", n, n-1000)
		}
		released := strings.Contains(out, "connections: released early to make room though still active, the least recently active first: they had carried no RPC message")
		if released != (n >= 10000) || strings.Contains(out, "connection table was full") {
			_, notAnalysed, _ := strings.Cut(out, "NOT ANALYSED")
			t.Errorf("%d SYNs: NOT ANALYSED section wrong:%s", n, notAnalysed)
		}
		// Every limit reached is said on stderr too, with its value.
		wantErr := []string{fmt.Sprintf("nfsstall: limit reached: %d connections not listed: they carried nothing", n-1000), "and 1000 such connections were already listed"}
		if n >= 10000 {
			wantErr = append(wantErr, "limit reached: ", "connections released early to make room", "10000 connections were open at once")
		}
		for _, w := range wantErr {
			if !strings.Contains(errOut, w) {
				t.Errorf("%d SYNs: stderr lacks %q:\n%s", n, w, errOut)
			}
		}
	}
}
