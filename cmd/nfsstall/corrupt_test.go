package main

import (
	"bytes"
	"compress/gzip"
	"encoding/binary"
	"encoding/json"
	"fmt"
	"io"
	"math/rand/v2"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/gopacket/gopacket"
	"github.com/gopacket/gopacket/layers"

	"github.com/nfsstall/nfsstall/decode"
)

// The corruption test damages every capture in testdata/pcaps the ways
// files get damaged: random byte errors inside packets (what editcap -E
// does), packets moved off the analysed ports, and the file cut short at
// many offsets: inside the file header, inside a record header, inside a
// packet, inside an RPC record header. nfsstall must not panic, must exit 0
// or 1 (2 only when the file header itself is gone), and must say what it
// could not decode.

// layout is where the records of an uncompressed capture file are.
type layout struct {
	ng      bool
	hdrEnd  int // end of the file header (pcapng: the section header block)
	records []record
}

// record is one packet record: its header starts at start, its packet
// data runs from data to end.
type record struct {
	start, data, end int
	link             layers.LinkType
}

// parseLayout walks a pcap or pcapng file. It stops at a record that does
// not fit (a file cut short keeps the records before it).
func parseLayout(t *testing.T, b []byte) layout {
	t.Helper()
	if len(b) < 24 {
		t.Fatalf("capture of %d bytes", len(b))
	}
	if binary.BigEndian.Uint32(b) == 0x0a0d0d0a {
		return parsePcapng(t, b)
	}
	var order binary.ByteOrder = binary.BigEndian
	if m := binary.LittleEndian.Uint32(b); m == 0xa1b2c3d4 || m == 0xa1b23c4d {
		order = binary.LittleEndian
	}
	l := layout{hdrEnd: 24}
	link := layers.LinkType(order.Uint32(b[20:]))
	for off := 24; off+16 <= len(b); {
		caplen := int(order.Uint32(b[off+8:]))
		if off+16+caplen > len(b) {
			break
		}
		l.records = append(l.records, record{start: off, data: off + 16, end: off + 16 + caplen, link: link})
		off += 16 + caplen
	}
	return l
}

func parsePcapng(t *testing.T, b []byte) layout {
	t.Helper()
	var order binary.ByteOrder = binary.LittleEndian
	if binary.BigEndian.Uint32(b[8:]) == 0x1a2b3c4d {
		order = binary.BigEndian
	}
	l := layout{ng: true}
	var links []layers.LinkType
	for off := 0; off+12 <= len(b); {
		typ, n := order.Uint32(b[off:]), int(order.Uint32(b[off+4:]))
		if n < 12 || off+n > len(b) {
			break
		}
		switch typ {
		case 0x0a0d0d0a:
			links = nil
			if l.hdrEnd == 0 {
				l.hdrEnd = off + n
			}
		case 1: // interface description
			links = append(links, layers.LinkType(order.Uint16(b[off+8:])))
		case 6: // enhanced packet
			ifc, caplen := int(order.Uint32(b[off+8:])), int(order.Uint32(b[off+20:]))
			if ifc >= len(links) {
				t.Fatalf("pcapng packet on interface %d of %d", ifc, len(links))
			}
			l.records = append(l.records, record{start: off, data: off + 28, end: off + 28 + caplen, link: links[ifc]})
		}
		off += n
	}
	if l.hdrEnd == 0 || len(l.records) == 0 {
		t.Fatal("pcapng without a section header or packets")
	}
	return l
}

// captureBytes returns a capture's bytes, gunzipped when compressed.
func captureBytes(t *testing.T, path string) []byte {
	t.Helper()
	b, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	if len(b) > 2 && b[0] == 0x1f && b[1] == 0x8b {
		zr, err := gzip.NewReader(bytes.NewReader(b))
		if err != nil {
			t.Fatal(err)
		}
		if b, err = io.ReadAll(zr); err != nil {
			t.Fatal(err)
		}
	}
	return b
}

// jsonReport is the part of the JSON report the corruption tests read.
type jsonReport struct {
	Captures []struct {
		Packets     int64 `json:"packets"`
		Truncated   bool  `json:"truncated"`
		TruncatedAt int64 `json:"truncated_at_offset"`
	} `json:"captures"`
	Summary struct {
		Calls           int64            `json:"calls"`
		Replies         int64            `json:"replies"`
		Unanswered      int64            `json:"unanswered"`
		OrphanReplies   int64            `json:"orphan_replies"`
		Undecodable     int64            `json:"undecodable"`
		GarbageBytes    int64            `json:"garbage_bytes"`
		MissingBytes    int64            `json:"missing_bytes"`
		CaptureLoss     int64            `json:"capture_loss_bytes"`
		TruncatedFrames int64            `json:"truncated_frames"`
		TCPAnalysis     map[string]int64 `json:"tcp_analysis"`
	} `json:"summary"`
	Connections []struct {
		Resyncs int64 `json:"resyncs"`
	} `json:"connections"`
	Skipped []struct {
		What   string `json:"what"`
		Count  int64  `json:"count"`
		Reason string `json:"reason"`
	} `json:"skipped"`
	Warnings []string `json:"warnings"`
}

// skippedCount sums the skipped entries whose reason contains reason.
func (r *jsonReport) skippedCount(reason string) int64 {
	var n int64
	for _, s := range r.Skipped {
		if strings.Contains(s.Reason, reason) {
			n += s.Count
		}
	}
	return n
}

// signals adds up everything the report says went wrong with the input:
// what it skipped and why, records it could not decode, bytes it passed
// over or never saw, replies without calls, calls without replies, TCP
// anomalies, resyncs and warnings. Damage that loses an RPC message must
// show up in it.
func (r *jsonReport) signals() int64 {
	s := &r.Summary
	n := s.Unanswered + s.OrphanReplies + s.Undecodable + s.GarbageBytes + s.MissingBytes + s.TruncatedFrames + int64(len(r.Warnings))
	for _, sk := range r.Skipped {
		n += sk.Count
	}
	for _, c := range s.TCPAnalysis {
		n += c
	}
	for _, c := range r.Connections {
		n += c.Resyncs
	}
	return n
}

// runCapture runs the command on a capture given as bytes on stdin.
func runCapture(t *testing.T, data []byte) (int, *jsonReport, string) {
	t.Helper()
	code, out, stderr := checkRun(t, data) // no panic, valid JSON, exit status rules, printable output
	if code == exitError {
		return code, nil, stderr
	}
	var r jsonReport
	if err := json.Unmarshal([]byte(out), &r); err != nil {
		t.Fatal(err)
	}
	return code, &r, stderr
}

// serverPortAt returns the offset in data of the analysed port of a TCP or
// UDP packet (the server's), or -1.
func serverPortAt(data []byte, link layers.LinkType) int {
	p := gopacket.NewPacket(data, link, gopacket.DecodeOptions{NoCopy: true, Lazy: true})
	tl := p.TransportLayer()
	if tl == nil || len(tl.LayerContents()) < 4 {
		return -1
	}
	off := cap(data) - cap(tl.LayerContents())
	for _, at := range []int{off, off + 2} {
		switch binary.BigEndian.Uint16(data[at:]) {
		case 2049, 20048, 111:
			return at
		}
	}
	return -1
}

// rpcCallAt returns the offset in data of the record marker at the start
// of a TCP payload that begins an RPC call, or -1.
func rpcCallAt(data []byte, link layers.LinkType) int {
	p := gopacket.NewPacket(data, link, gopacket.DecodeOptions{NoCopy: true, Lazy: true})
	tcp, ok := p.TransportLayer().(*layers.TCP)
	if !ok || len(tcp.Payload) < 44 || !decode.LooksLikeCall(tcp.Payload[4:]) {
		return -1
	}
	return cap(data) - cap(tcp.Payload)
}

func TestCorruptedCaptures(t *testing.T) {
	for i, path := range realCaptures(t) {
		name := filepath.Base(path)
		t.Run(name, func(t *testing.T) {
			t.Parallel()
			orig := captureBytes(t, path)
			l := parseLayout(t, orig)
			code, base, _ := runCapture(t, orig)
			if code == exitError {
				t.Fatal("the undamaged capture does not read")
			}
			if int(base.Captures[0].Packets) != len(l.records) {
				t.Fatalf("read %d packets, the file has %d records", base.Captures[0].Packets, len(l.records))
			}
			rng := rand.New(rand.NewPCG(20261126, uint64(i)))
			t.Run("byte errors", func(t *testing.T) { byteErrors(t, orig, l, base, rng) })
			t.Run("off port", func(t *testing.T) { offPort(t, orig, l, base, rng) })
			t.Run("cuts", func(t *testing.T) { cuts(t, orig, l, base, rng) })
			t.Run("boundaries", func(t *testing.T) { boundaries(t, orig, uint64(i)) })
		})
	}
}

// damaged picks about 2% of the records (at least one) at random.
func damaged(l layout, rng *rand.Rand) []int {
	var out []int
	for i := range l.records {
		if rng.Float64() < 0.02 {
			out = append(out, i)
		}
	}
	if len(out) == 0 {
		out = append(out, rng.IntN(len(l.records)))
	}
	return out
}

// byteErrors overwrites 1-4 random bytes of packet data in ~2% of the
// packets. The file's structure is intact, so every packet must still be
// read; the damage may not fabricate traffic; and when it loses RPC
// messages the report must say something went wrong. Over the variants of
// one capture, the report must notice the damage at least once.
func byteErrors(t *testing.T, orig []byte, l layout, base *jsonReport, rng *rand.Rand) {
	noticed := false
	for v := 0; v < 3; v++ {
		b := bytes.Clone(orig)
		hit := damaged(l, rng)
		for _, i := range hit {
			rec := l.records[i]
			if rec.end == rec.data {
				continue
			}
			for n := 1 + rng.IntN(4); n > 0; n-- {
				at := rec.data + rng.IntN(rec.end-rec.data)
				b[at] ^= byte(1 + rng.IntN(255)) // always a change
			}
		}
		code, r, _ := runCapture(t, b)
		if code == exitError {
			t.Fatalf("variant %d: exit 2 for damage inside packets", v)
		}
		c := r.Captures[0]
		if int(c.Packets) != len(l.records) || c.Truncated != base.Captures[0].Truncated {
			t.Errorf("variant %d: read %d packets (truncated %v), want %d", v, c.Packets, c.Truncated, len(l.records))
		}
		got, was := r.Summary.Calls+r.Summary.Replies, base.Summary.Calls+base.Summary.Replies
		if got > was+2*int64(len(hit)) {
			t.Errorf("variant %d: %d RPC messages from %d damaged packets, %d undamaged", v, got, len(hit), was)
		}
		if got < was && r.signals() <= base.signals() {
			t.Errorf("variant %d: %d of %d RPC messages lost, and the report shows no more trouble than the undamaged one (%d)",
				v, was-got, was, base.signals())
		}
		if r.signals() > base.signals() {
			noticed = true
		}
	}
	if !noticed {
		t.Errorf("damage in 3 variants never showed in the report")
	}
}

// offPort moves ~2% of the analysed packets off their port: the report
// must count exactly those packets as skipped, and say what the holes
// they leave cost.
func offPort(t *testing.T, orig []byte, l layout, base *jsonReport, rng *rand.Rand) {
	b := bytes.Clone(orig)
	moved := 0
	for _, i := range damaged(l, rng) {
		rec := l.records[i]
		if at := serverPortAt(b[rec.data:rec.end], rec.link); at >= 0 {
			binary.BigEndian.PutUint16(b[rec.data+at:], 9) // discard
			moved++
		}
	}
	if moved == 0 {
		t.Skip("no analysed packet among those picked")
	}
	_, r, _ := runCapture(t, b)
	const reason = "not on an analysed port"
	if got, want := r.skippedCount(reason), base.skippedCount(reason)+int64(moved); got != want {
		t.Errorf("%d packets skipped as %q, want %d (%d moved)", got, reason, want, moved)
	}
}

// cuts cuts the file at many offsets.
func cuts(t *testing.T, orig []byte, l layout, base *jsonReport, rng *rand.Rand) {
	type cut struct {
		what string
		at   int
		rec  int // the record the cut falls in (-1: the file header)
	}
	var cs []cut
	for _, at := range []int{0, 3, 4, 12, l.hdrEnd - 1} {
		cs = append(cs, cut{"in the file header", at, -1})
	}
	cs = append(cs, cut{"after the file header", l.hdrEnd, 0})
	if l.ng && l.records[0].start > l.hdrEnd+1 {
		cs = append(cs, cut{"in the blocks before the first packet", l.hdrEnd + 1, 0})
	}
	n := len(l.records)
	for k := 0; k < 6; k++ {
		i := rng.IntN(n)
		rec := l.records[i]
		cs = append(cs,
			cut{"in a record header", rec.start + 1 + rng.IntN(rec.data-rec.start-1), i},
			cut{"in packet data", rec.data + rng.IntN(max(1, rec.end-rec.data)), i})
	}
	// Inside the record marker and the RPC header of a call.
	calls := 0
	for i := n/3 + rng.IntN(max(1, n/3)); i < n && calls < 2; i++ {
		rec := l.records[i]
		if at := rpcCallAt(orig[rec.data:rec.end], rec.link); at >= 0 {
			cs = append(cs, cut{"in an RPC record marker", rec.data + at + 2, i}, cut{"in an RPC call header", rec.data + at + 4 + 13, i})
			calls++
		}
	}
	if calls == 0 && base.Summary.Calls > 0 && !strings.Contains(t.Name(), "udp") && !strings.Contains(t.Name(), "snap200") {
		t.Errorf("no TCP segment that starts an RPC call was found to cut")
	}
	for _, c := range cs {
		data := orig[:c.at]
		code, r, stderr := runCapture(t, data)
		label := fmt.Sprintf("cut at %d (%s)", c.at, c.what)
		if c.rec < 0 {
			// Without a whole file header this is not a capture.
			if code != exitError {
				t.Errorf("%s: exit %d, want 2", label, code)
			}
			continue
		}
		if code == exitError {
			t.Errorf("%s: exit 2", label)
			continue
		}
		cp := r.Captures[0]
		if int(cp.Packets) != c.rec {
			t.Errorf("%s: read %d packets, want the %d before the cut", label, cp.Packets, c.rec)
		}
		if c.at == l.records[c.rec].start || c.at == l.hdrEnd {
			if cp.Truncated && !l.ng { // pcapng: blocks may follow the header
				t.Errorf("%s: truncated at a record boundary", label)
			}
			continue
		}
		if !cp.Truncated {
			t.Errorf("%s: not reported truncated", label)
			continue
		}
		// pcapng: reading a packet may read other blocks first, so the
		// record may start before the packet block.
		if at := int(cp.TruncatedAt); at > l.records[c.rec].start || (!l.ng && at != l.records[c.rec].start) {
			t.Errorf("%s: truncated at offset %d, the record starts at %d", label, at, l.records[c.rec].start)
		}
		if !strings.Contains(stderr, fmt.Sprintf("byte offset %d", cp.TruncatedAt)) {
			t.Errorf("%s: stderr does not name the offset: %q", label, stderr)
		}
		if r.Summary.Calls > base.Summary.Calls {
			t.Errorf("%s: %d calls, more than the whole file's %d", label, r.Summary.Calls, base.Summary.Calls)
		}
	}
}

// TestCutGzip cuts a compressed capture: the gzip stream ends early, which
// is a truncated capture, not an error.
func TestCutGzip(t *testing.T) {
	b, err := os.ReadFile(filepath.Join(pcapDir, "mixed.pcap.gz"))
	if err != nil {
		t.Fatal(err)
	}
	code, r, stderr := runCapture(t, b[:len(b)/2])
	if code == exitError || !r.Captures[0].Truncated || r.Captures[0].Packets == 0 {
		t.Fatalf("exit %d, captures %+v, stderr %q", code, r.Captures, stderr)
	}
	if r.Summary.Calls == 0 {
		t.Errorf("no calls read before the cut")
	}
}

// TestSnoopIsNamed: a Sun snoop file is a capture nfsstall does not read;
// the error says which format it is and how to convert it.
func TestSnoopIsNamed(t *testing.T) {
	// The 16-byte snoop header: "snoop\0\0\0", version 2, datalink 4 (Ethernet).
	hdr := []byte("snoop\x00\x00\x00\x00\x00\x00\x02\x00\x00\x00\x04")
	files := map[string][]byte{"hand-built": hdr}
	if b, err := os.ReadFile(filepath.Join(publicDir, "sample-captures--genbroad.snoop")); err == nil {
		files["genbroad.snoop"] = b
	}
	for name, data := range files {
		path := filepath.Join(t.TempDir(), "capture.snoop")
		os.WriteFile(path, data, 0o644)
		for _, args := range [][]string{{path}, {"-"}} {
			out, errOut, code := nfsstall(t, bytes.NewReader(data), args...)
			if code != exitError || out != "" {
				t.Errorf("%s %v: exit %d, stdout %q", name, args, code, out)
			}
			if !strings.Contains(errOut, "Sun snoop capture") || !strings.Contains(errOut, "editcap -F pcap") {
				t.Errorf("%s %v: stderr %q does not name snoop and its conversion", name, args, errOut)
			}
		}
	}
}
