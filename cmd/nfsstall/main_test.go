package main

import (
	"bytes"
	"encoding/binary"
	"encoding/json"
	"flag"
	"fmt"
	"io"
	"maps"
	"os"
	"path/filepath"
	"reflect"
	"regexp"
	"slices"
	"strconv"
	"strings"
	"testing"
	"time"
	"unicode/utf8"

	"github.com/gopacket/gopacket"
	"github.com/gopacket/gopacket/layers"
	"github.com/gopacket/gopacket/pcapgo"

	"github.com/nfsstall/nfsstall/capture"

	"github.com/nfsstall/nfsstall/analyze"
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
			out, errOut, code := nfsstall(t, nil, "--utc", "--port", "2049,20048,111", path)
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
				if lat, ok := pm["latency_ms"].(map[string]any); ok || pm["replies"].(float64) > 0 {
					// null only without a reply (TestJSONLatencyNullWithoutReply)
					has(t, lat, "min", "mean", "p50", "p90", "p99", "max")
				}
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
		{"bad format", []string{"--format", "xml", text}, "--format must be text, json or html"},
		{"bad port", []string{"--port", "70000", text}, `"70000" is not a port number`},
		{"unknown flag", []string{"--frobnicate", text}, "unknown flag: --frobnicate"},
		{"stdin twice", []string{"-", "-"}, "only once"},
		{"stdin on both sides of diff", []string{"diff", "-", "-"}, "only once"},
		{"stdin twice in a list", []string{"diff", text + ",-", "-"}, "only once"},
		{"bad progress", []string{"--progress", "bogus", text}, "--progress must be auto, always or never"},
		{"diff with one side", []string{"diff", text}, "diff takes two arguments"},
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

// TestHelp: help asked for goes to stdout (nfsstall --help | less), in
// each of its spellings, and nothing else is done.
func TestHelp(t *testing.T) {
	for _, args := range [][]string{{"--help"}, {"-h"}, {"help"}, {"--format", "json", "help"}, {"diff", "--help"}} {
		out, errOut, code := nfsstall(t, nil, args...)
		if code != exitOK || !strings.Contains(out, "Exit status") || !strings.Contains(out, "--format") || errOut != "" {
			t.Errorf("%q: exit %d, stderr %q, stdout:\n%s", args, code, errOut, out)
		}
	}
}

func TestVersion(t *testing.T) {
	for _, args := range [][]string{{"--version"}, {"version"}} {
		out, errOut, code := nfsstall(t, nil, args...)
		// A test binary has build information; its main module is
		// nfsstall's.
		if code != exitOK || !strings.HasPrefix(out, "nfsstall ") || !strings.Contains(out, "go1.") || errOut != "" {
			t.Errorf("%q: exit %d, stdout %q, stderr %q", args, code, out, errOut)
		}
	}
}

// TestDiffFlagsAnywhere: flags before the command word, between it and the
// files, and after the files give the same report.
func TestDiffFlagsAnywhere(t *testing.T) {
	a, b := filepath.Join(pcapDir, "cut.pcap"), filepath.Join(pcapDir, "udp-null.pcap")
	var first string
	for i, args := range [][]string{
		{"--format", "json", "diff", a, b},
		{"diff", "--format", "json", a, b},
		{"diff", a, b, "--format=json"},
	} {
		out, errOut, code := nfsstall(t, nil, args...)
		if code == exitError || !strings.HasPrefix(out, "{") {
			t.Fatalf("%q: exit %d, stderr %q, stdout %.80q", args, code, errOut, out)
		}
		if i == 0 {
			first = out
		} else if out != first {
			t.Errorf("%q: report differs from %q's", args, "--format json diff")
		}
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

// TestRotatedFiles splits captures in two (as tcpdump -C does), gives the
// parts in reverse order, and checks that they read together give the
// unsplit file's whole report, every frame mapped through the split:
// captures (each part's packets and times), summary, procedures,
// connections, findings (frames, their files, the frames in their text),
// diagnoses (their text and one Wireshark filter per file), unanswered
// calls, skipped, warnings and completeness. Each split point lies inside
// what the report shows: between a stall's call and its re-sends, between
// a call and the zero window that holds its reply, halfway through a
// healthy capture's connections.
func TestRotatedFiles(t *testing.T) {
	for _, tt := range []struct {
		name  string
		first int64 // the unsplit frame that begins the second part
	}{
		{"mixed.pcap.gz", 0}, // halfway
		{"stall-client-noack.pcap.gz", 4000},
		{"zero-window.pcap.gz", 2800},
	} {
		t.Run(tt.name, func(t *testing.T) {
			src := filepath.Join(pcapDir, tt.name)
			wholeOut, _, wholeCode := nfsstall(t, nil, "--format", "json", "--pictures", src)
			whole := decodeReport(t, wholeOut)
			total := whole.num(t, whole.m["captures"].([]any)[0].(map[string]any)["packets"])
			first := tt.first
			if first == 0 {
				first = total/2 + 1
			}
			parts := splitCapture(t, src, first)
			// Given in reverse order: the reader must order them by time,
			// and number files as given (rot1 is file 0, rot0 file 1).
			splitOut, errOut, code := nfsstall(t, nil, "--format", "json", "--pictures", parts[1], parts[0])
			if code != wholeCode {
				t.Fatalf("exit %d, the unsplit file's %d (%s)", code, wholeCode, errOut)
			}
			split := decodeReport(t, splitOut)
			// Frame n of the unsplit file is frame n of rot0 (file 1)
			// before first, frame n-first+1 of rot1 (file 0) from there.
			unsplit := func(file, frame int64) int64 {
				switch file {
				case 1:
					if frame >= first {
						t.Errorf("frame %d of rot0, which holds frames 1-%d", frame, first-1)
					}
					return frame
				case 0:
					return frame + first - 1
				}
				t.Errorf("file %d: there are two", file)
				return -1
			}

			caps := split.m["captures"].([]any)
			wc := whole.m["captures"].([]any)[0].(map[string]any)
			if len(caps) != 2 {
				t.Fatalf("%d captures, want 2", len(caps))
			}
			for i, want := range []struct {
				file    string
				packets int64
			}{{parts[1], total - first + 1}, {parts[0], first - 1}} {
				c := caps[i].(map[string]any)
				if c["file"] != want.file || split.num(t, c["packets"]) != want.packets {
					t.Errorf("captures[%d] is %v with %v packets, want %s with %d", i, c["file"], c["packets"], want.file, want.packets)
				}
				for _, k := range []string{"format", "link_type", "truncated"} {
					if c[k] != wc[k] {
						t.Errorf("captures[%d].%s = %v, unsplit %v", i, k, c[k], wc[k])
					}
				}
			}
			if caps[1].(map[string]any)["first_time"] != wc["first_time"] || caps[0].(map[string]any)["last_time"] != wc["last_time"] {
				t.Errorf("capture times %v, unsplit %v", caps, wc)
			}

			// Everything else, with the split's frames mapped back.
			frameRef := regexp.MustCompile(`(^|[^\d:])([01]):(\d+)`)
			unsplitText := func(s string) string {
				return frameRef.ReplaceAllStringFunc(s, func(m string) string {
					sm := frameRef.FindStringSubmatch(m)
					file, _ := strconv.ParseInt(sm[2], 10, 64)
					n, _ := strconv.ParseInt(sm[3], 10, 64)
					return sm[1] + strconv.FormatInt(unsplit(file, n), 10)
				})
			}
			for _, c := range split.list(t, "connections") {
				c["first_frame"] = json.Number(strconv.FormatInt(unsplit(split.num(t, c["capture"]), split.num(t, c["first_frame"])), 10))
				c["capture"] = json.Number("0")
				// Capture-loss frames carry no file: these captures have
				// none (checked on the unsplit report below).
			}
			for _, c := range whole.list(t, "connections") {
				for _, d := range []string{"client_to_server", "server_to_client"} {
					if fr := c["capture_loss"].(map[string]any)[d].(map[string]any)["frames"].([]any); len(fr) != 0 {
						t.Fatalf("capture loss frames %v: their file cannot be told in the split report", fr)
					}
				}
			}
			for _, f := range split.list(t, "findings") {
				fc, _ := f["frame_captures"].([]any)
				frames := f["frames"].([]any)
				for i, fr := range frames {
					file := split.num(t, f["capture"])
					if fc != nil {
						file = split.num(t, fc[i])
					}
					frames[i] = json.Number(strconv.FormatInt(unsplit(file, split.num(t, fr)), 10))
				}
				delete(f, "frame_captures")
				f["capture"] = json.Number("0")
				f["summary"] = unsplitText(f["summary"].(string))
			}
			filterFrame := regexp.MustCompile(`frame\.number == (\d+)`)
			for _, d := range split.list(t, "diagnoses") {
				d["summary"] = unsplitText(d["summary"].(string))
				var frames []int64
				for _, wf := range d["wireshark_filters"].([]any) {
					wm := wf.(map[string]any)
					for _, sm := range filterFrame.FindAllStringSubmatch(wm["filter"].(string), -1) {
						n, _ := strconv.ParseInt(sm[1], 10, 64)
						frames = append(frames, unsplit(split.num(t, wm["capture"]), n))
					}
				}
				slices.Sort(frames)
				var terms []string
				for _, n := range frames {
					terms = append(terms, fmt.Sprintf("frame.number == %d", n))
				}
				d["wireshark_filters"] = []any{map[string]any{"capture": json.Number("0"), "filter": strings.Join(terms, " || "),
					"filter_set": analyze.FrameSet(frames)}}
			}
			for _, u := range split.list(t, "unanswered_calls") {
				file := split.num(t, u["capture"])
				u["frame"] = json.Number(strconv.FormatInt(unsplit(file, split.num(t, u["frame"])), 10))
				// last_frame carries no file of its own: these calls were
				// sent once, in one file.
				u["last_frame"] = json.Number(strconv.FormatInt(unsplit(file, split.num(t, u["last_frame"])), 10))
				u["capture"] = json.Number("0")
			}
			for _, tl := range split.listIf(t, "timelines") {
				for _, k := range []string{"segments", "acks"} {
					for _, pt := range tl[k].([]any) {
						m := pt.(map[string]any)
						m["frame"] = json.Number(strconv.FormatInt(unsplit(split.num(t, m["capture"]), split.num(t, m["frame"])), 10))
						m["capture"] = json.Number("0")
					}
				}
			}
			delete(whole.m, "captures")
			delete(split.m, "captures")
			for _, k := range slices.Sorted(maps.Keys(whole.m)) {
				if !reflect.DeepEqual(whole.m[k], split.m[k]) {
					a, _ := json.MarshalIndent(whole.m[k], "", " ")
					b, _ := json.MarshalIndent(split.m[k], "", " ")
					t.Errorf("%s of the rotated files, frames mapped back, differs from the unsplit file's:\n%s\nunsplit:\n%s", k, b, a)
				}
			}
			for k := range split.m {
				if _, ok := whole.m[k]; !ok {
					t.Errorf("key %s only in the rotated files' report", k)
				}
			}
		})
	}
}

// genericReport is a JSON report decoded generically, numbers kept exact.
type genericReport struct{ m map[string]any }

func decodeReport(t *testing.T, out string) genericReport {
	t.Helper()
	d := json.NewDecoder(strings.NewReader(out))
	d.UseNumber()
	var r genericReport
	if err := d.Decode(&r.m); err != nil {
		t.Fatalf("JSON report: %v\n%s", err, out)
	}
	if d.More() {
		t.Fatalf("JSON report: more than one value")
	}
	return r
}

func (r genericReport) num(t *testing.T, v any) int64 {
	t.Helper()
	n, ok := v.(json.Number)
	if !ok {
		t.Fatalf("%v (%T) is not a number", v, v)
	}
	i, err := n.Int64()
	if err != nil {
		t.Fatal(err)
	}
	return i
}

// listIf is list, but an absent key (omitted when empty) is no list.
func (r genericReport) listIf(t *testing.T, key string) []map[string]any {
	if _, ok := r.m[key]; !ok {
		return nil
	}
	return r.list(t, key)
}

func (r genericReport) list(t *testing.T, key string) []map[string]any {
	t.Helper()
	v, ok := r.m[key].([]any)
	if !ok {
		t.Fatalf("%q is %T, want an array", key, r.m[key])
	}
	out := make([]map[string]any, len(v))
	for i, e := range v {
		if out[i], ok = e.(map[string]any); !ok {
			t.Fatalf("%s[%d] is %T, want an object", key, i, e)
		}
	}
	return out
}

// splitCapture writes src into two pcap files, the second starting at
// frame first, as tcpdump -C rotation would, and returns their paths.
func splitCapture(t *testing.T, src string, first int64) [2]string {
	t.Helper()
	f, err := capture.Open(src, nil)
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
	var p capture.Packet
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

func ciOf(p capture.Packet) gopacket.CaptureInfo {
	return gopacket.CaptureInfo{Timestamp: time.Unix(0, p.Time), CaptureLength: len(p.Data), Length: p.Length}
}

// TestHelpFitsTheTerminal: --help, on stdout, fits 80 columns, names every
// verdict and finding kind the analysis can give, and exits 0.
func TestHelpFitsTheTerminal(t *testing.T) {
	out, errOut, code := nfsstall(t, nil, "--help")
	if code != exitOK || errOut != "" {
		t.Fatalf("exit %d, stderr %q", code, errOut)
	}
	for i, l := range strings.Split(out, "\n") {
		if n := utf8.RuneCountInString(l); n > 80 {
			t.Errorf("line %d is %d columns: %s", i+1, n, l)
		}
	}
	for _, k := range []string{"server_not_replying", "client_not_acking", "server_not_acking", "client_window_closed",
		"server_window_closed", "reconnect_failing", "grace_period", "server_delaying", "auth_failing", "mtu_black_hole",
		"state_recovery_loop", "session_slots", "recall_stuck", "callback_path_down", "packet_loss",
		"delayed_ack_pause", "state_revoked", "lock_wait"} {
		if !strings.Contains(out, k) {
			t.Errorf("--help does not name %s", k)
		}
	}
}

// TestPicturesOnlyWhenAsked: the JSON report gathers the pictures' data
// (timelines, latency over time) only with --pictures, and everything
// else in it is the same either way: the pictures change no finding.
func TestPicturesOnlyWhenAsked(t *testing.T) {
	for _, name := range []string{"stall-client-noack.pcap.gz", "mixed.pcap.gz"} {
		path := filepath.Join(pcapDir, name)
		plain, _, code1 := nfsstall(t, nil, "--format", "json", path)
		with, _, code2 := nfsstall(t, nil, "--format", "json", "--pictures", path)
		if code1 != code2 {
			t.Fatalf("%s: exit %d without --pictures, %d with", name, code1, code2)
		}
		var a, b map[string]any
		if err := json.Unmarshal([]byte(plain), &a); err != nil {
			t.Fatal(err)
		}
		if err := json.Unmarshal([]byte(with), &b); err != nil {
			t.Fatal(err)
		}
		for _, k := range []string{"timelines", "latency_over_time"} {
			if _, ok := a[k]; ok {
				t.Errorf("%s: %s without --pictures", name, k)
			}
			if l, _ := b[k].([]any); len(l) == 0 {
				t.Errorf("%s: no %s with --pictures", name, k)
			}
			delete(b, k)
		}
		if !reflect.DeepEqual(a, b) {
			t.Errorf("%s: the rest of the report differs with --pictures", name)
		}
	}
}
