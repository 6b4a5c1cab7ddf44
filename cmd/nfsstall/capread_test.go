package main

import (
	"encoding/binary"
	"encoding/json"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

// pcapngWithStats hand-builds a little-endian pcapng file: one Ethernet
// interface, the frames given, then an interface statistics block with
// the options given (code, 8-byte value).
func pcapngWithStats(frames [][]byte, stats map[uint16]uint64) []byte {
	le := binary.LittleEndian
	var out []byte
	block := func(typ uint32, body []byte) {
		for len(body)%4 != 0 {
			body = append(body, 0)
		}
		n := uint32(12 + len(body))
		out = le.AppendUint32(le.AppendUint32(out, typ), n)
		out = le.AppendUint32(append(out, body...), n)
	}
	shb := le.AppendUint32(nil, 0x1a2b3c4d)
	shb = le.AppendUint64(le.AppendUint32(shb, 1), 1<<64-1) // version 1.0, length unknown
	block(0x0a0d0d0a, shb)
	block(1, le.AppendUint32(le.AppendUint32(nil, 1), 262144)) // Ethernet
	for i, f := range frames {
		ts := uint64(1_700_000_000+i) * 1e6
		epb := le.AppendUint32(le.AppendUint32(le.AppendUint32(nil, 0), uint32(ts>>32)), uint32(ts))
		epb = le.AppendUint32(le.AppendUint32(epb, uint32(len(f))), uint32(len(f)))
		block(6, append(epb, f...))
	}
	if stats != nil {
		isb := le.AppendUint32(le.AppendUint32(le.AppendUint32(nil, 0), 0), 0)
		for _, code := range []uint16{5, 7} {
			if v, ok := stats[code]; ok {
				isb = le.AppendUint64(le.AppendUint16(le.AppendUint16(isb, code), 8), v)
			}
		}
		block(5, le.AppendUint32(isb, 0))
	}
	return out
}

// ethFrame is a minimal Ethernet/IPv4/TCP frame (ACK, no payload).
func ethFrame() []byte {
	b := make([]byte, 14+20+20)
	b[12], b[13] = 0x08, 0x00
	ip := b[14:]
	ip[0], ip[8], ip[9] = 0x45, 64, 6
	binary.BigEndian.PutUint16(ip[2:], 40)
	copy(ip[12:], []byte{10, 0, 0, 1, 10, 0, 0, 2})
	binary.BigEndian.PutUint16(ip[20:], 800)
	binary.BigEndian.PutUint16(ip[22:], 2049)
	ip[32], ip[33] = 5<<4, 0x10
	binary.BigEndian.PutUint16(ip[34:], 65535) // window
	return b
}

// TestCaptureToolDrops: pcapng isb_ifdrop and isb_osdrop reach the JSON
// captures as if_drop and os_drop, only when present, and the text header
// says the capture tool dropped packets.
func TestCaptureToolDrops(t *testing.T) {
	dir := t.TempDir()
	for _, tt := range []struct {
		name   string
		stats  map[uint16]uint64
		ifDrop any
		osDrop any
		text   string
	}{
		{"both", map[uint16]uint64{5: 2, 7: 3}, 2.0, 3.0, "the capture tool dropped 5 packets"},
		{"osdrop only", map[uint16]uint64{7: 4}, nil, 4.0, "the capture tool dropped 4 packets"},
		{"zero", map[uint16]uint64{5: 0, 7: 0}, 0.0, 0.0, ""},
		{"no statistics", nil, nil, nil, ""},
	} {
		path := filepath.Join(dir, strings.ReplaceAll(tt.name, " ", "-")+".pcapng")
		if err := os.WriteFile(path, pcapngWithStats([][]byte{ethFrame(), ethFrame()}, tt.stats), 0o644); err != nil {
			t.Fatal(err)
		}
		js, errOut, code := nfsstall(t, nil, "--format", "json", path)
		if code != exitOK {
			t.Fatalf("%s: exit %d: %s\n%s", tt.name, code, errOut, js)
		}
		var r struct {
			Captures []map[string]any `json:"captures"`
		}
		if err := json.Unmarshal([]byte(js), &r); err != nil || len(r.Captures) != 1 {
			t.Fatalf("%s: %v", tt.name, err)
		}
		c := r.Captures[0]
		if c["if_drop"] != tt.ifDrop || c["os_drop"] != tt.osDrop || c["packets"] != 2.0 {
			t.Errorf("%s: captures[0] = %v", tt.name, c)
		}
		text, _, _ := nfsstall(t, nil, "--wide", path) // lines unbroken, to find phrases whole
		head, _, _ := strings.Cut(text, "\n\n")
		if tt.text != "" && !strings.Contains(head, tt.text) || tt.text == "" && strings.Contains(head, "dropped") {
			t.Errorf("%s: header:\n%s", tt.name, head)
		}
	}
}

// TestOverlappingInputs: the same file twice is an error naming it; a
// capture given with its parts gives the analysis of the capture alone,
// and skipped says how many copies were dropped.
func TestOverlappingInputs(t *testing.T) {
	src := filepath.Join(pcapDir, "mixed.pcap.gz")
	_, errOut, code := nfsstall(t, nil, src, src)
	if code != exitError || !strings.Contains(errOut, src+": given twice") {
		t.Errorf("same file twice: exit %d, %q", code, errOut)
	}
	link := filepath.Join(t.TempDir(), "link.pcap.gz")
	abs, _ := filepath.Abs(src)
	if err := os.Symlink(abs, link); err != nil {
		t.Fatal(err)
	}
	_, errOut, code = nfsstall(t, nil, src, link)
	if code != exitError || !strings.Contains(errOut, link+": the same file as "+src) {
		t.Errorf("same file through a link: exit %d, %q", code, errOut)
	}

	whole, _, _ := nfsstall(t, nil, "--format", "json", src)
	var n struct {
		Captures []struct {
			Packets int64 `json:"packets"`
		} `json:"captures"`
	}
	json.Unmarshal([]byte(whole), &n)
	parts := splitCapture(t, src, n.Captures[0].Packets/2)
	both, _, code := nfsstall(t, nil, "--format", "json", src, parts[0], parts[1])
	if code == exitError {
		t.Fatalf("exit %d", code)
	}
	var a, b struct {
		Summary map[string]any `json:"summary"`
		Skipped []struct {
			What   string `json:"what"`
			Count  int64  `json:"count"`
			Reason string `json:"reason"`
		} `json:"skipped"`
	}
	json.Unmarshal([]byte(whole), &a)
	json.Unmarshal([]byte(both), &b)
	for _, k := range []string{"calls", "replies", "unanswered", "rpc_retransmissions", "tcp_retransmissions"} {
		if a.Summary[k] != b.Summary[k] {
			t.Errorf("%s: %v alone, %v with its parts", k, a.Summary[k], b.Summary[k])
		}
	}
	var dups int64
	for _, s := range b.Skipped {
		if s.What == "duplicate packets" {
			dups = s.Count
		}
	}
	if dups != n.Captures[0].Packets {
		t.Errorf("duplicate packets skipped: %d, want %d: %+v", dups, n.Captures[0].Packets, b.Skipped)
	}
}
