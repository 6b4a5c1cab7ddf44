package main

import (
	"bytes"
	"compress/gzip"
	"encoding/json"
	"flag"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"
	"unicode"
	"unicode/utf8"

	"github.com/gopacket/gopacket"
	"github.com/gopacket/gopacket/layers"
	"github.com/gopacket/gopacket/pcapgo"

	"nfsstall/report"
	"nfsstall/tcpflow"
)

var makeSeeds = flag.Bool("make-fuzz-seeds", false, "rewrite testdata/fuzz/FuzzCapture/real-* from the captures in testdata/pcaps")

// fuzzPorts are the ports FuzzCapture analyses: NFS, MOUNT (as the test
// captures run it) and portmap, so every RPC path is reachable.
const fuzzPorts = "2049,20048,111"

// FuzzCapture feeds raw bytes to the command's pipeline, as a capture
// file on standard input: capture reading, decoding, reassembly, RPC and
// NFS decoding, analysis, and both report formats. Whatever the bytes, it must
// not panic, the exit status must be 0 or 1 unless the file header is not
// a capture, the JSON must be valid, and neither the text report nor
// stderr may carry control characters (wire strings are escaped).
//
//	go test ./cmd/nfsstall -run '^$' -fuzz '^FuzzCapture$' -fuzztime 5m -fuzzminimizetime 5s
//
// The seeds in testdata/fuzz/FuzzCapture are the first packets of every
// capture in testdata/pcaps (go test ./cmd/nfsstall -run TestMakeFuzzSeeds
// -make-fuzz-seeds rewrites them).
func FuzzCapture(f *testing.F) {
	f.Add([]byte{})
	f.Add([]byte("snoop\x00\x00\x00\x00\x00\x00\x02\x00\x00\x00\x04"))
	f.Add(pcapHeader(layers.LinkTypeEthernet))
	f.Add(lookupCapture(f, evilNames[:3])) // hostile names and machine names
	addBoundarySeeds(f)
	f.Fuzz(func(t *testing.T, data []byte) {
		checkRun(t, data)
	})
}

// checkRun analyses data as the command does with "--port fuzzPorts -"
// (once, to render both formats from one analysis: fuzzing gets twice
// the executions) and checks what FuzzCapture promises. It returns the
// exit status the command gives, the JSON report and stderr.
func checkRun(t *testing.T, data []byte) (code int, jsonOut, stderr string) {
	t.Helper()
	var errb bytes.Buffer
	fs, o := flags("nfsstall", &errb)
	if err := fs.Parse([]string{"--progress", "never", "--port", fuzzPorts, "-"}); err != nil {
		t.Fatal(err)
	}
	opts, err := o.analysis()
	if err != nil {
		t.Fatal(err)
	}
	r, code := analyse(fs.Args(), o, opts, bytes.NewReader(data), &errb)
	stderr = errb.String()
	checkPrintable(t, "stderr", stderr)
	if r == nil {
		// Only a file that is not a capture is an error: anything wrong
		// inside one is reported, not fatal.
		if code != exitError || !headerError(stderr) {
			t.Fatalf("exit %d for a reason other than the file header: %q", code, stderr)
		}
		return code, "", stderr
	}
	code = exitOK
	if r.HasStall() {
		code = exitStall
	}
	var js, text bytes.Buffer
	if err := report.JSON(&js, r); err != nil || !json.Valid(js.Bytes()) {
		t.Fatalf("invalid JSON (%v):\n%s", err, js.Bytes())
	}
	if err := report.Text(&text, r); err != nil {
		t.Fatal(err)
	}
	checkPrintable(t, "text report", text.String())
	return code, js.String(), stderr
}

// headerError reports whether an error message is about the file as a
// whole: not a capture, an unreadable capture header, or no gzip stream.
func headerError(msg string) bool {
	for _, s := range []string{"not a pcap or pcapng file", "pcap header:", "pcapng header:", "gzip:", "reading the capture header:", "Sun snoop capture"} {
		if strings.Contains(msg, s) {
			return true
		}
	}
	return false
}

// checkPrintable fails when s holds a control character other than
// newline and tab, or is not UTF-8: bytes from the wire must reach a
// terminal escaped.
func checkPrintable(t *testing.T, what, s string) {
	t.Helper()
	if !utf8.ValidString(s) {
		t.Fatalf("%s is not valid UTF-8: %q", what, s)
	}
	for i, r := range s {
		if r == '\n' || r == '\t' {
			continue
		}
		if unicode.IsControl(r) || unicode.Is(unicode.Cf, r) {
			t.Fatalf("%s has control character %U at byte %d: %q", what, r, i, s[max(0, i-40):min(len(s), i+40)])
		}
	}
}

func pcapHeader(lt layers.LinkType) []byte {
	var b bytes.Buffer
	w := pcapgo.NewWriter(&b)
	w.WriteFileHeader(65535, lt)
	return b.Bytes()
}

// Seed sizes: each seed holds the first packets of a capture, each cut to
// seedSnaplen bytes (as tcpdump -s would), up to seedBudget bytes in all.
const (
	seedSnaplen = 160
	seedBudget  = 1800
)

// TestMakeFuzzSeeds writes the FuzzCapture seeds with -make-fuzz-seeds;
// without it, it checks their size and logs the seeds that differ from
// what the captures give now (captures are regenerated from time to time;
// stale seeds are still good seeds).
func TestMakeFuzzSeeds(t *testing.T) {
	dir := filepath.Join("testdata", "fuzz", "FuzzCapture")
	seeds := map[string][]byte{}
	for _, path := range realCaptures(t) {
		name := strings.TrimSuffix(strings.TrimSuffix(filepath.Base(path), ".gz"), ".pcap")
		f, err := tcpflow.Open(path, nil)
		if err != nil {
			t.Fatal(err)
		}
		var pkts []tcpflow.Packet
		var p tcpflow.Packet
		size := 0
		for size < seedBudget && f.Next(&p) == nil {
			q := p
			q.Data = bytes.Clone(p.Data[:min(len(p.Data), seedSnaplen)])
			pkts = append(pkts, q)
			size += 16 + len(q.Data)
		}
		format := f.Info.Format
		f.Close()
		var b bytes.Buffer
		if format == "pcapng" {
			writePcapng(t, &b, pkts)
		} else {
			writePcap(t, &b, pkts)
		}
		seeds["real-"+name] = b.Bytes()
		if name == "mixed" {
			// One seed as tcpdump -w - | gzip would leave it.
			var z bytes.Buffer
			zw, _ := gzip.NewWriterLevel(&z, gzip.BestCompression)
			zw.Write(b.Bytes())
			zw.Close()
			seeds["real-mixed-gzip"] = z.Bytes()
		}
	}
	total := 0
	for name, data := range seeds {
		file := filepath.Join(dir, name)
		want := fmt.Sprintf("go test fuzz v1\n[]byte(%q)\n", data)
		total += len(want)
		if *makeSeeds {
			if err := os.MkdirAll(dir, 0o755); err != nil {
				t.Fatal(err)
			}
			if err := os.WriteFile(file, []byte(want), 0o644); err != nil {
				t.Fatal(err)
			}
			continue
		}
		got, err := os.ReadFile(file)
		if err != nil || string(got) != want {
			t.Logf("%s is not what the captures give now (%v): go test ./cmd/nfsstall -run TestMakeFuzzSeeds -make-fuzz-seeds", file, err)
		}
	}
	if total > 200<<10 {
		t.Errorf("seeds take %d bytes, more than 200 KiB", total)
	}
}

func writePcap(t *testing.T, b *bytes.Buffer, pkts []tcpflow.Packet) {
	w := pcapgo.NewWriterNanos(b)
	lt := layers.LinkTypeEthernet
	if len(pkts) > 0 {
		lt = pkts[0].LinkType
	}
	if err := w.WriteFileHeader(seedSnaplen, lt); err != nil {
		t.Fatal(err)
	}
	for _, p := range pkts {
		if err := w.WritePacket(seedCI(p), p.Data); err != nil {
			t.Fatal(err)
		}
	}
}

func writePcapng(t *testing.T, b *bytes.Buffer, pkts []tcpflow.Packet) {
	lt := layers.LinkTypeEthernet
	if len(pkts) > 0 {
		lt = pkts[0].LinkType
	}
	w, err := pcapgo.NewNgWriterInterface(b, pcapgo.NgInterface{LinkType: lt, SnapLength: seedSnaplen, TimestampResolution: 9},
		pcapgo.NgWriterOptions{})
	if err != nil {
		t.Fatal(err)
	}
	for _, p := range pkts {
		if err := w.WritePacket(seedCI(p), p.Data); err != nil {
			t.Fatal(err)
		}
	}
	if err := w.Flush(); err != nil {
		t.Fatal(err)
	}
}

func seedCI(p tcpflow.Packet) gopacket.CaptureInfo {
	return gopacket.CaptureInfo{Timestamp: time.Unix(0, p.Time), CaptureLength: len(p.Data), Length: max(p.Length, len(p.Data))}
}
