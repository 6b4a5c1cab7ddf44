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

	"github.com/nfsstall/nfsstall/capture"
)

var makeSeeds = flag.Bool("make-fuzz-seeds", false, "rewrite testdata/fuzz/FuzzCapture/real-* from the captures in testdata/pcaps")

// fuzzPorts are the ports FuzzCapture analyses: NFS, MOUNT (as the test
// captures run it) and portmap, so every RPC path is reachable.
const fuzzPorts = "2049,20048,111"

// FuzzCapture feeds raw bytes to the command, through run() as main calls
// it, as a capture file on standard input: capture reading, decoding,
// reassembly, RPC and NFS decoding, analysis, and both report formats.
// Whatever the bytes, it must not panic; the exit status must be 2 only
// when the input's header is not a capture (the error naming the input),
// else 1 exactly when the printed JSON report holds a finding of severity
// stall and 0 otherwise; the JSON must be valid, and neither the text
// report nor stderr may carry control characters (wire strings are escaped).
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

// checkRun runs the command as a user would, run() with "--port
// fuzzPorts -" and data on standard input, once per report format, and
// checks what FuzzCapture promises: the exit status is 2 only when the
// input is not a capture (its header, or its gzip wrapper, is bad), with
// an error naming the input; otherwise it is 1 exactly when the JSON report
// the command printed holds a finding of severity "stall", and 0 when it
// holds none; both formats give the same status. It returns the exit
// status, the JSON report and stderr (of the JSON run).
func checkRun(t *testing.T, data []byte) (code int, jsonOut, stderr string) {
	t.Helper()
	var codes [2]int
	var outs, errs [2]string
	for i, format := range []string{"json", "text"} {
		var out, errb bytes.Buffer
		codes[i] = run([]string{"--progress", "never", "--port", fuzzPorts, "--format", format, "-"}, bytes.NewReader(data), &out, &errb)
		outs[i], errs[i] = out.String(), errb.String()
		checkPrintable(t, format+" run's stderr", errs[i])
	}
	code, jsonOut, stderr = codes[0], outs[0], errs[0]
	if codes[1] != code {
		t.Fatalf("exit %d with --format json, %d with --format text (stderr %q, %q)", code, codes[1], stderr, errs[1])
	}
	switch code {
	case exitError:
		// Only a file that is not a capture is an error: anything wrong
		// inside one is reported, not fatal.
		if !strings.HasPrefix(stderr, "nfsstall: -: ") || !headerError(stderr) {
			t.Fatalf("exit %d for a reason other than the header of the input: %q", code, stderr)
		}
		if outs[0] != "" || outs[1] != "" {
			t.Fatalf("exit %d but a report on stdout: %q", code, outs)
		}
		return code, "", stderr
	case exitOK, exitStall:
	default:
		t.Fatalf("exit %d: not a status the command documents (0, 1, 2); stderr %q", code, stderr)
	}
	if !json.Valid([]byte(jsonOut)) {
		t.Fatalf("invalid JSON:\n%s", jsonOut)
	}
	var r struct {
		Findings []struct {
			Kind     string `json:"kind"`
			Severity string `json:"severity"`
		} `json:"findings"`
	}
	if err := json.Unmarshal([]byte(jsonOut), &r); err != nil {
		t.Fatalf("JSON report does not parse: %v\n%s", err, jsonOut)
	}
	want := exitOK
	for _, f := range r.Findings {
		if f.Severity == "stall" {
			want = exitStall
			break
		}
	}
	if code != want {
		t.Fatalf("exit %d, but the JSON report's findings %+v say %d (1 exactly when one has severity stall)", code, r.Findings, want)
	}
	checkPrintable(t, "text report", outs[1])
	return code, jsonOut, stderr
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
		f, err := capture.Open(path, nil)
		if err != nil {
			t.Fatal(err)
		}
		var pkts []capture.Packet
		var p capture.Packet
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

func writePcap(t *testing.T, b *bytes.Buffer, pkts []capture.Packet) {
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

func writePcapng(t *testing.T, b *bytes.Buffer, pkts []capture.Packet) {
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

func seedCI(p capture.Packet) gopacket.CaptureInfo {
	return gopacket.CaptureInfo{Timestamp: time.Unix(0, p.Time), CaptureLength: len(p.Data), Length: max(p.Length, len(p.Data))}
}
