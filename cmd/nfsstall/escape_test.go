package main

import (
	"bytes"
	"encoding/binary"
	"encoding/json"
	"net"
	"strings"
	"testing"
	"time"

	"github.com/gopacket/gopacket"
	"github.com/gopacket/gopacket/layers"
	"github.com/gopacket/gopacket/pcapgo"
)

// evilNames are file names a hostile client (or server) can put on the
// wire: terminal escape sequences (clear screen, set title, OSC 8
// hyperlink), C0 and C1 controls, a bidi override that reorders what
// follows, invalid UTF-8, and a multi-byte rune cut by the 48-byte limit
// on names kept.
var evilNames = []string{
	"evil\x1b[2J\x1b]0;pwned\x07name",
	"\x1b]8;;http://x/\x1b\\link\x1b]8;;\x1b\\",
	"tab\there\rcr\x00nul\x7fdel",
	"c1\u009b31mred\u0085nel",
	"bidi\u202egnp.exe",
	"bad\xff\xfeutf8\xc3",
	strings.Repeat("a", 47) + "é" + "tail",
}

// lookupCapture is a capture of one LOOKUP call per name, over TCP, with
// an AUTH_SYS credential whose machine name is hostile too; no call is
// answered, so every name reaches the findings and the unanswered list.
func lookupCapture(t testing.TB, names []string) []byte {
	t.Helper()
	var buf bytes.Buffer
	w := pcapgo.NewWriterNanos(&buf)
	w.WriteFileHeader(262144, layers.LinkTypeEthernet)
	now := time.Unix(1_700_000_000, 0)
	seq := uint32(1000)
	write := func(toServer bool, payload []byte, s, a uint32) {
		cip, sip := net.IP{198, 18, 0, 1}, net.IP{198, 18, 0, 2}
		ip := &layers.IPv4{Version: 4, TTL: 64, Protocol: layers.IPProtocolTCP, SrcIP: cip, DstIP: sip}
		tcp := &layers.TCP{SrcPort: 800, DstPort: 2049, Seq: s, Ack: a, ACK: true, PSH: len(payload) > 0, Window: 501}
		if !toServer {
			ip.SrcIP, ip.DstIP = sip, cip
			tcp.SrcPort, tcp.DstPort = 2049, 800
		}
		tcp.SetNetworkLayerForChecksum(ip)
		eth := &layers.Ethernet{SrcMAC: net.HardwareAddr{2, 0, 0, 0, 0, 1}, DstMAC: net.HardwareAddr{2, 0, 0, 0, 0, 2}, EthernetType: layers.EthernetTypeIPv4}
		b := gopacket.NewSerializeBuffer()
		if err := gopacket.SerializeLayers(b, gopacket.SerializeOptions{FixLengths: true, ComputeChecksums: true}, eth, ip, tcp, gopacket.Payload(payload)); err != nil {
			t.Fatal(err)
		}
		now = now.Add(time.Millisecond)
		w.WritePacket(gopacket.CaptureInfo{Timestamp: now, CaptureLength: len(b.Bytes()), Length: len(b.Bytes())}, b.Bytes())
	}
	xdrString := func(b []byte, s string) []byte {
		b = binary.BigEndian.AppendUint32(b, uint32(len(s)))
		b = append(b, s...)
		for len(b)%4 != 0 {
			b = append(b, 0)
		}
		return b
	}
	for i, name := range names {
		var cred []byte
		cred = binary.BigEndian.AppendUint32(cred, 1) // stamp
		cred = xdrString(cred, "host\x1b[31m\u202e"+name)
		cred = append(cred, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0) // uid, gid, no groups
		var msg []byte
		for _, v := range []uint32{uint32(0x1000 + i), 0, 2, 100003, 3, 3, 1} { // LOOKUP, AUTH_SYS
			msg = binary.BigEndian.AppendUint32(msg, v)
		}
		msg = xdrString(msg, string(cred))
		msg = append(msg, 0, 0, 0, 0, 0, 0, 0, 0)                // AUTH_NONE verifier
		msg = xdrString(msg, "\x01\x02\x03\x04\x05\x06\x07\x08") // directory handle
		msg = xdrString(msg, name)                               // the name
		rec := append(binary.BigEndian.AppendUint32(nil, 0x80000000|uint32(len(msg))), msg...)
		write(true, rec, seq, 5000)
		seq += uint32(len(rec))
	}
	// The server's TCP ACKs them, 5 s later: the calls are stalls.
	now = now.Add(5 * time.Second)
	write(false, nil, 5000, seq)
	return buf.Bytes()
}

// TestWireStringsEscaped: names from the wire reach the text report
// escaped (no control character, escape sequence or bidi override gets
// to the terminal, invalid UTF-8 is shown as \x escapes) and the JSON
// report as valid JSON that decodes to the same escaped text.
func TestWireStringsEscaped(t *testing.T) {
	capture := lookupCapture(t, evilNames)
	var out, errb bytes.Buffer
	if code := run([]string{"-"}, bytes.NewReader(capture), &out, &errb); code != exitStall {
		t.Fatalf("exit %d: %s", code, errb.String())
	}
	text := out.String()
	checkPrintable(t, "text report", text)
	for _, want := range []string{
		`name "evil\x1b[2J\x1b]0;pwned\aname"`,
		`name "tab\there\rcr\x00nul\x7fdel"`,
		`name "c1\u009b31mred\u0085nel"`,
		`name "bidi\u202egnp.exe"`,
		`name "bad\xff\xfeutf8\xc3"`,
		`name "` + strings.Repeat("a", 47) + `\xc3"...`, // cut inside é: the half rune escaped
	} {
		if !strings.Contains(text, want) {
			t.Errorf("text report lacks %s", want)
		}
	}

	out.Reset()
	if code := run([]string{"--format", "json", "-"}, bytes.NewReader(capture), &out, &errb); code != exitStall {
		t.Fatalf("exit %d", code)
	}
	if !json.Valid(out.Bytes()) {
		t.Fatal("invalid JSON")
	}
	var r struct {
		Findings []struct {
			Summary string `json:"summary"`
		} `json:"findings"`
		Unanswered []struct {
			Detail string `json:"detail"`
		} `json:"unanswered_calls"`
	}
	if err := json.Unmarshal(out.Bytes(), &r); err != nil {
		t.Fatal(err)
	}
	if len(r.Findings) != len(evilNames) || len(r.Unanswered) != len(evilNames) {
		t.Fatalf("%d findings, %d unanswered, want %d", len(r.Findings), len(r.Unanswered), len(evilNames))
	}
	for i, u := range r.Unanswered {
		checkPrintable(t, "JSON detail", u.Detail)
		if !strings.Contains(text, u.Detail) {
			t.Errorf("unanswered %d: JSON detail %q is not the text report's", i, u.Detail)
		}
	}
	for _, f := range r.Findings {
		checkPrintable(t, "JSON summary", f.Summary)
	}
	// The hostile machine name is not shown anywhere.
	if strings.Contains(text, "host") || strings.Contains(out.String(), "host") {
		t.Error("the AUTH_SYS machine name is in a report")
	}
}
