package main

import (
	"bytes"
	"encoding/binary"
	"encoding/json"
	"flag"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"regexp"
	"strings"
	"testing"
	"time"

	"github.com/gopacket/gopacket"
	"github.com/gopacket/gopacket/layers"
	"github.com/gopacket/gopacket/pcapgo"

	"nfsstall/tcpflow"
)

var update = flag.Bool("update", false, "rewrite the golden text reports in testdata/golden")

const pcapDir = "../../testdata/pcaps"

// nfsstall runs the command line and returns stdout, stderr, exit status.
func nfsstall(t *testing.T, stdin io.Reader, args ...string) (string, string, int) {
	t.Helper()
	var out, errb bytes.Buffer
	code := run(args, stdin, &out, &errb)
	return out.String(), errb.String(), code
}

func realCaptures(t *testing.T) []string {
	var out []string
	for _, pat := range []string{"*.pcap", "*.pcapng", "*.gz"} {
		m, _ := filepath.Glob(filepath.Join(pcapDir, pat))
		for _, f := range m {
			if !strings.Contains(f, ".tsv") && !strings.Contains(f, ".txt") { // tshark's views
				out = append(out, f)
			}
		}
	}
	if len(out) == 0 {
		t.Fatal("no captures in " + pcapDir)
	}
	return out
}

// TestGoldenText compares the text report of every capture with the file
// in testdata/golden (go test ./cmd/nfsstall -update rewrites them), and
// its exit status with what tshark's views of the capture say: 1 when they
// show a stall (tsharkStalls: an unanswered call, never-ACKed retransmitted
// data, a zero window open at the end), 0 when they show none. The golden
// files never decide the status.
func TestGoldenText(t *testing.T) {
	for _, path := range realCaptures(t) {
		name := filepath.Base(path)
		t.Run(name, func(t *testing.T) {
			out, errOut, code := nfsstall(t, nil, "--port", "2049,20048,111", path)
			stalls := tsharkStalls(t, strings.TrimSuffix(name, ".gz"), []string{"2049", "20048", "111"})
			wantCode := exitOK
			if len(stalls) > 0 {
				t.Logf("tshark's views show: %s", strings.Join(stalls, "; "))
				wantCode = exitStall
			}
			if code != wantCode {
				t.Errorf("exit %d, want %d: tshark's views show %d stalls %q (stderr %q)", code, wantCode, len(stalls), stalls, errOut)
			}
			golden := filepath.Join("testdata", "golden", name+".txt")
			if *update {
				if err := os.MkdirAll(filepath.Dir(golden), 0o755); err != nil {
					t.Fatal(err)
				}
				if err := os.WriteFile(golden, []byte(out), 0o644); err != nil {
					t.Fatal(err)
				}
				return
			}
			want, err := os.ReadFile(golden)
			if err != nil {
				t.Fatalf("%v (run go test ./cmd/nfsstall -update to create it)", err)
			}
			if out != string(want) {
				t.Errorf("text report differs from %s (go test ./cmd/nfsstall -update, then review the diff):\n%s", golden, out)
			}
		})
	}
}

var (
	rfc3339ns = regexp.MustCompile(`^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{9}Z$`)
	xidRE     = regexp.MustCompile(`^0x[0-9a-f]{8}$`)
	endpoint  = regexp.MustCompile(`^(\d+\.\d+\.\d+\.\d+|\[[0-9a-f:.]+\]):\d+$`)
)

// TestJSONContract checks the keys, types and formats that
// ../shared/report-json.md promises, on every real capture.
func TestJSONContract(t *testing.T) {
	for _, path := range realCaptures(t) {
		t.Run(filepath.Base(path), func(t *testing.T) {
			out, _, code := nfsstall(t, nil, "--format", "json", path)
			if code == exitError {
				t.Fatalf("exit %d", code)
			}
			var r map[string]any
			if err := json.Unmarshal([]byte(out), &r); err != nil {
				t.Fatalf("not JSON: %v", err)
			}
			if r["schema_version"] != 1.0 {
				t.Errorf("schema_version %v", r["schema_version"])
			}
			caps := list(t, r, "captures")
			if len(caps) != 1 {
				t.Fatalf("%d captures", len(caps))
			}
			c := caps[0].(map[string]any)
			has(t, c, "file", "format", "link_type", "packets", "first_time", "last_time", "truncated")
			for _, k := range []string{"first_time", "last_time"} {
				if s, _ := c[k].(string); !rfc3339ns.MatchString(s) {
					t.Errorf("captures[0].%s = %q, not RFC 3339 with ns", k, s)
				}
			}
			sum := r["summary"].(map[string]any)
			has(t, sum, "connections", "calls", "replies", "unanswered", "rpc_retransmissions",
				"tcp_retransmissions", "unacked_retransmissions", "zero_window_episodes", "capture_loss_bytes")
			var lossBytes float64
			for _, p := range list(t, r, "procedures") {
				pm := p.(map[string]any)
				has(t, pm, "program", "version", "name", "calls", "replies", "unanswered", "errors", "latency_ms")
				has(t, pm["latency_ms"].(map[string]any), "min", "mean", "p50", "p90", "p99", "max")
			}
			for _, cn := range list(t, r, "connections") {
				cm := cn.(map[string]any)
				has(t, cm, "id", "client", "server", "calls", "replies", "unanswered", "capture_loss")
				cl := cm["capture_loss"].(map[string]any)
				has(t, cl, "client_to_server", "server_to_client", "missing_direction")
				for _, d := range []string{"client_to_server", "server_to_client"} {
					side := cl[d].(map[string]any)
					has(t, side, "bytes", "frames")
					lossBytes += side["bytes"].(float64)
					list(t, side, "frames")
				}
				if m := cl["missing_direction"]; m != nil && m != "client_to_server" && m != "server_to_client" {
					t.Errorf("missing_direction %v", m)
				}
				for _, k := range []string{"client", "server"} {
					if !endpoint.MatchString(cm[k].(string)) {
						t.Errorf("connection %s %q is not ip:port", k, cm[k])
					}
				}
			}
			if lossBytes != sum["capture_loss_bytes"].(float64) {
				t.Errorf("capture_loss_bytes %v, connections add up to %v", sum["capture_loss_bytes"], lossBytes)
			}
			for _, f := range list(t, r, "findings") {
				fm := f.(map[string]any)
				has(t, fm, "kind", "severity", "connection", "frames", "start", "duration_ms", "summary")
				if x, ok := fm["xid"]; ok && !xidRE.MatchString(x.(string)) {
					t.Errorf("finding xid %q", x)
				}
			}
			list(t, r, "diagnoses")
			for _, u := range list(t, r, "unanswered_calls") {
				if x := u.(map[string]any)["xid"].(string); !xidRE.MatchString(x) {
					t.Errorf("unanswered xid %q", x)
				}
			}
		})
	}
}

func list(t *testing.T, m map[string]any, key string) []any {
	t.Helper()
	v, ok := m[key].([]any)
	if !ok {
		t.Fatalf("%q is %T, want a JSON array (never null)", key, m[key])
	}
	return v
}

func has(t *testing.T, m map[string]any, keys ...string) {
	t.Helper()
	for _, k := range keys {
		if _, ok := m[k]; !ok {
			t.Errorf("missing key %q in %v", k, m)
		}
	}
}

func TestBadInput(t *testing.T) {
	dir := t.TempDir()
	text := filepath.Join(dir, "notes.txt")
	os.WriteFile(text, []byte("hello world\n"), 0o644)
	empty := filepath.Join(dir, "empty.pcap")
	os.WriteFile(empty, nil, 0o644)
	tests := []struct {
		name   string
		args   []string
		stderr string
	}{
		{"not a capture", []string{text}, text + ": not a pcap or pcapng file (starts with 0x68656c6c)"},
		{"empty file", []string{empty}, empty + ": not a pcap or pcapng file (file has only 0 bytes)"},
		{"missing file", []string{filepath.Join(dir, "nope.pcap")}, "no such file"},
		{"no file", nil, "no capture file given"},
		{"bad format", []string{"--format", "xml", text}, "--format must be text or json"},
		{"bad port", []string{"--port", "70000", text}, `"70000" is not a port number`},
		{"unknown flag", []string{"--frobnicate", text}, "unknown flag: --frobnicate"},
		{"stdin twice", []string{"-", "-"}, "only once"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			out, errOut, code := nfsstall(t, strings.NewReader(""), tt.args...)
			if code != exitError {
				t.Errorf("exit %d, want %d", code, exitError)
			}
			if !strings.Contains(errOut, tt.stderr) {
				t.Errorf("stderr %q does not say %q", errOut, tt.stderr)
			}
			if out != "" {
				t.Errorf("stdout not empty: %q", out)
			}
		})
	}
}

func TestHelp(t *testing.T) {
	_, errOut, code := nfsstall(t, nil, "--help")
	if code != exitOK || !strings.Contains(errOut, "Exit status") || !strings.Contains(errOut, "--format") {
		t.Errorf("exit %d, help:\n%s", code, errOut)
	}
}

func TestTruncatedFileIsAWarning(t *testing.T) {
	out, errOut, code := nfsstall(t, nil, "--format", "json", filepath.Join(pcapDir, "cut.pcap"))
	if code == exitError {
		t.Fatalf("exit %d: %s", code, errOut)
	}
	// Where the cut record starts, by walking the pcap record headers.
	data, err := os.ReadFile(filepath.Join(pcapDir, "cut.pcap"))
	if err != nil {
		t.Fatal(err)
	}
	off := 24
	for off+16 <= len(data) && off+16+int(binary.LittleEndian.Uint32(data[off+8:])) <= len(data) {
		off += 16 + int(binary.LittleEndian.Uint32(data[off+8:]))
	}
	if want := fmt.Sprintf("cut.pcap: file ends inside the packet record that starts at byte offset %d;", off); !strings.Contains(errOut, want) {
		t.Errorf("stderr %q does not say %q", errOut, want)
	}
	var r struct {
		Captures []struct {
			Truncated bool  `json:"truncated"`
			Packets   int64 `json:"packets"`
		} `json:"captures"`
	}
	if err := json.Unmarshal([]byte(out), &r); err != nil || !r.Captures[0].Truncated || r.Captures[0].Packets == 0 {
		t.Errorf("captures %+v (%v)", r.Captures, err)
	}
}

func TestStdinMatchesFile(t *testing.T) {
	path := filepath.Join(pcapDir, "mixed.pcap.gz")
	data, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	fromFile, _, _ := nfsstall(t, nil, "--format", "json", path)
	fromStdin, _, code := nfsstall(t, bytes.NewReader(data), "--format", "json", "-")
	if code == exitError {
		t.Fatalf("exit %d", code)
	}
	strip := func(s string) string { return strings.Replace(s, path, "-", 1) }
	if strip(fromFile) != fromStdin {
		t.Errorf("stdin report differs from the file's")
	}
}

// TestRotatedFiles splits a capture in two (as tcpdump -C does) and checks
// that both files read together give the same analysis, with frame
// numbers counted per file.
func TestRotatedFiles(t *testing.T) {
	src := filepath.Join(pcapDir, "mixed.pcap.gz")
	f, err := tcpflow.Open(src, nil)
	if err != nil {
		t.Fatal(err)
	}
	var p tcpflow.Packet
	var total int64
	for f.Next(&p) == nil {
		total++
	}
	f.Close()
	parts := splitCapture(t, src, total/2+1)
	whole, _, _ := nfsstall(t, nil, "--format", "json", src)
	// Given in reverse order: the reader must order them by time.
	split, _, code := nfsstall(t, nil, "--format", "json", parts[1], parts[0])
	if code == exitError {
		t.Fatalf("exit %d", code)
	}
	var a, b struct {
		Summary    map[string]any   `json:"summary"`
		Procedures []map[string]any `json:"procedures"`
		Captures   []struct {
			Packets int64 `json:"packets"`
		} `json:"captures"`
	}
	json.Unmarshal([]byte(whole), &a)
	json.Unmarshal([]byte(split), &b)
	if len(b.Captures) != 2 || b.Captures[0].Packets+b.Captures[1].Packets != a.Captures[0].Packets {
		t.Fatalf("captures %+v, whole %+v", b.Captures, a.Captures)
	}
	sa, _ := json.Marshal(a.Summary)
	sb, _ := json.Marshal(b.Summary)
	pa, _ := json.Marshal(a.Procedures)
	pb, _ := json.Marshal(b.Procedures)
	if string(pa) != string(pb) {
		t.Errorf("procedures differ:\n%s\n%s", pa, pb)
	}
	// Connections are the same, though split files may start one anew.
	if !strings.Contains(string(sb), `"calls":`) || a.Summary["calls"] != b.Summary["calls"] || a.Summary["unanswered"] != b.Summary["unanswered"] {
		t.Errorf("summary differs:\n%s\n%s", sa, sb)
	}
}

// splitCapture writes src into two pcap files, the second starting at
// frame first, as tcpdump -C rotation would, and returns their paths.
func splitCapture(t *testing.T, src string, first int64) [2]string {
	t.Helper()
	f, err := tcpflow.Open(src, nil)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	dir := t.TempDir()
	parts := [2]string{filepath.Join(dir, "rot0"), filepath.Join(dir, "rot1")}
	var ws [2]*pcapgo.Writer
	for i, path := range parts {
		out, err := os.Create(path)
		if err != nil {
			t.Fatal(err)
		}
		defer out.Close()
		ws[i] = pcapgo.NewWriterNanos(out)
		if err := ws[i].WriteFileHeader(262144, layers.LinkTypeEthernet); err != nil {
			t.Fatal(err)
		}
	}
	var p tcpflow.Packet
	for f.Next(&p) == nil {
		w := ws[0]
		if p.Frame >= first {
			w = ws[1]
		}
		if err := w.WritePacket(ciOf(p), p.Data); err != nil {
			t.Fatal(err)
		}
	}
	return parts
}

func ciOf(p tcpflow.Packet) gopacket.CaptureInfo {
	return gopacket.CaptureInfo{Timestamp: time.Unix(0, p.Time), CaptureLength: len(p.Data), Length: p.Length}
}
