package report

import (
	"bytes"
	"encoding/json"
	"fmt"
	"math"
	"strings"
	"testing"

	"github.com/nfsstall/nfsstall/analyze"
)

// marshal is the reference: encoding/json's Encoder with SetIndent("", "  "),
// which JSON promises to match byte for byte.
func marshal(t *testing.T, v any) string {
	t.Helper()
	var b bytes.Buffer
	enc := json.NewEncoder(&b)
	enc.SetIndent("", "  ")
	if err := enc.Encode(v); err != nil {
		t.Fatal(err)
	}
	return b.String()
}

// TestJSONSameAsEncodingJSON: the streamed JSON renderer writes what
// encoding/json writes for the same model: every key, omitempty honoured
// (untracked, frame_captures, xid, link_types), map keys sorted, HTML
// characters and control characters in wire strings escaped (\u003c,
// \u001b), invalid UTF-8 replaced, and empty arrays as [] (never null)
// when the model holds empty slices, as analyze builds it.
func TestJSONSameAsEncodingJSON(t *testing.T) {
	drop := uint64(3)
	full := handReport(2)
	full.Captures[0].IfDrop = &drop
	full.Captures[0].LinkTypes = []string{"ETHERNET", "LINUX_SLL"}
	full.Findings[1].FrameCaptures = []int{0}
	full.Findings[1].XID = xidp(0x21224519)
	full.Summary.TCPAnalysis = map[string]int64{"zero_window": 1, "retransmission": 6, "keep_alive": 5}
	full.Warnings = []string{"name \"<a&b>\" \x1b[2J \xff\xfe end"}
	full.Completeness = []string{}
	full.Untracked = &analyze.Untracked{Calls: 1}
	missing := "server_to_client"
	full.Connections[0].CaptureLoss = &analyze.CaptureLoss{
		ClientToServer:   analyze.LossSide{Frames: []int64{}},
		ServerToClient:   analyze.LossSide{Bytes: 1448, Frames: []int64{4103}},
		MissingDirection: &missing,
	}
	full.Procedures[0].Latency.Mean = 1.0 / 3 // a float as long as encoding/json writes one
	full.OtherPorts, full.Ports = []analyze.OtherPort{{Port: 20048, Transport: "tcp", Calls: 3}}, []uint16{2049}
	full.Operations = []analyze.Operation{{Version: 4, Name: "WRITE", Code: 38, Count: 3, Errors: 1},
		{Version: 4, Name: "CB_RECALL", Code: 4, Count: 1, Callback: true}}
	full.NFS4Sessions = []analyze.NFS4Session{{SessionID: "00112233445566778899aabbccddeeff", Client: "10.0.0.1:700",
		Server: "10.0.0.2:2049", Calls: 3, MaxSlotsInUse: 2, TargetHighestSlotIDMax: 63, Slots: 64}}

	empty := &analyze.Report{
		SchemaVersion: analyze.SchemaVersion,
		Captures:      []analyze.Capture{}, Procedures: []analyze.Procedure{}, Connections: []analyze.Connection{},
		Findings: []analyze.Finding{}, Diagnoses: []analyze.Diagnosis{}, Unanswered: []analyze.Unanswered{},
		Skipped: []analyze.Skipped{}, Warnings: []string{}, Completeness: []string{}, ConnectionGroups: []analyze.ConnectionGroup{},
		Operations: []analyze.Operation{}, NFS4Sessions: []analyze.NFS4Session{}, OtherPorts: []analyze.OtherPort{}, Ports: []uint16{},
		Summary: analyze.Summary{TCPAnalysis: map[string]int64{}},
	}
	for name, r := range map[string]*analyze.Report{"full": full, "empty": empty} {
		t.Run(name, func(t *testing.T) {
			var got bytes.Buffer
			if err := JSON(&got, r); err != nil {
				t.Fatal(err)
			}
			want := marshal(t, r)
			if got.String() != want {
				t.Errorf("JSON differs from encoding/json:\n got %s\nwant %s", got.String(), want)
			}
			if strings.Contains(got.String(), "null") && name == "empty" {
				t.Errorf("null in a report whose arrays are all empty:\n%s", got.String())
			}
			var m map[string]any
			if err := json.Unmarshal(got.Bytes(), &m); err != nil {
				t.Fatal(err)
			}
			for _, k := range []string{"captures", "procedures", "connections", "findings", "diagnoses", "unanswered_calls", "skipped", "warnings", "completeness", "operations", "nfs4_sessions"} {
				if _, ok := m[k].([]any); !ok {
					t.Errorf("%s is %T, want an array", k, m[k])
				}
			}
			if _, ok := m["untracked"]; ok != (r.Untracked != nil) {
				t.Errorf("untracked present %v, model has %v", ok, r.Untracked)
			}
		})
	}
	// The escapes themselves, as encoding/json makes them.
	var got bytes.Buffer
	JSON(&got, full)
	for _, w := range []string{`\u003ca\u0026b\u003e`, `\u001b[2J`, `\ufffd\ufffd end`, `"xid": "0x21224519"`, `"first_time": "2026-11-26T00:48:09.441654000Z"`, `"mean": 0.3333333333333333`} {
		if !strings.Contains(got.String(), w) {
			t.Errorf("JSON lacks %q", w)
		}
	}
	if strings.Contains(got.String(), "\x1b") || strings.Contains(got.String(), "\xff") {
		t.Errorf("raw control or invalid bytes in JSON")
	}
}

// TestJSONWriteError: a writer's error is returned.
func TestJSONWriteError(t *testing.T) {
	if err := JSON(&failWriter{n: 10}, handReport(1)); err == nil {
		t.Error("no error from a failing writer")
	}
	// A value encoding/json refuses (NaN) is an error too, not half a report.
	r := handReport(0)
	r.Procedures[0].Latency.P99 = math.NaN()
	if err := JSON(&bytes.Buffer{}, r); err == nil {
		t.Error("NaN latency encoded")
	}
}

// diffPair is a baseline and a candidate that differ in what DiffText
// must report: READ's p99 5x worse and its error rate up, a verdict only
// the candidate has, more TCP retransmissions, a procedure only the
// candidate has and one only the baseline has.
func diffPair() (base, cand *analyze.Report) {
	proc := func(name string, calls, replies, errs int64, p50, p99 float64, bytes int64) analyze.Procedure {
		return analyze.Procedure{Program: 100003, Version: 3, Name: name, ProgramName: "NFS", Calls: calls, Replies: replies, Errors: errs,
			Latency: analyze.Latency{Min: p50 / 2, Mean: p50, P50: p50, P90: (p50 + p99) / 2, P99: p99, Max: 2 * p99}, Bytes: bytes}
	}
	base = &analyze.Report{
		Captures: []analyze.Capture{{File: "good.pcap", Packets: 1000}},
		Summary:  analyze.Summary{Calls: 300, DurationMS: 10000, TCPRetransmissions: 2},
		Procedures: []analyze.Procedure{
			proc("READ", 200, 200, 2, 1.5, 10, 100<<20),
			proc("GETATTR", 100, 100, 0, 0.1, 0.2, 0),
		},
	}
	cand = &analyze.Report{
		Captures: []analyze.Capture{{File: "bad0.pcap", Packets: 700}, {File: "bad1.pcap", Packets: 50}},
		Summary:  analyze.Summary{Calls: 130, Unanswered: 1, DurationMS: 20000, TCPRetransmissions: 9, UnackedRetransmissions: 6},
		Procedures: []analyze.Procedure{
			proc("READ", 120, 119, 6, 1.6, 50, 10<<20),
			proc("WRITE", 10, 10, 0, 2, 4, 1<<20),
		},
		Findings:  []analyze.Finding{{Kind: "unacked_retransmission", Severity: analyze.SeverityStall, Connection: 2, Summary: "the server re-sent 1448 bytes 6 times"}},
		Diagnoses: []analyze.Diagnosis{{Connection: 2, Verdict: "client_not_acking", Summary: "the client never ACKed the reply", Findings: []int{0}}},
	}
	return base, cand
}

func TestDiffChanges(t *testing.T) {
	base, cand := diffPair()
	c := analyze.Compare(base, cand)
	b, cd := base.Procedures[0], cand.Procedures[0] // READ on both sides
	bRate, cRate := float64(b.Errors)/float64(b.Replies), float64(cd.Errors)/float64(cd.Replies)
	r6 := func(v float64) float64 { return math.Round(v*1e6) / 1e6 } // JSON keeps a fraction to 6 decimals

	// The changes, each computed from the two models.
	want := map[string]analyze.Change{
		"error_rate": {Kind: "procedure", Procedure: "NFSv3 READ", Metric: "error_rate", Baseline: r6(bRate), Candidate: r6(cRate),
			Ratio:   math.Round(cRate/bRate*1000) / 1000,
			Summary: fmt.Sprintf("NFSv3 READ: error rate %.1f%% (baseline %.1f%%)", 100*cRate, 100*bRate)},
		"p99_ms": {Kind: "procedure", Procedure: "NFSv3 READ", Metric: "p99_ms", Baseline: b.Latency.P99, Candidate: cd.Latency.P99, Ratio: 5,
			Summary: "NFSv3 READ: latency p99 50.0 ms, 5.0x the baseline's 10.0 ms"},
		"calls": {Kind: "procedure", Procedure: "NFSv3 WRITE", Metric: "calls", Candidate: 10,
			Summary: "NFSv3 WRITE: 10 calls in the candidate, none in the baseline"},
		"tcp_retransmissions":     {Kind: "tcp", Metric: "tcp_retransmissions", Baseline: 2, Candidate: 9, Ratio: 4.5, Summary: "tcp_retransmissions: 9 (baseline 2)"},
		"unacked_retransmissions": {Kind: "tcp", Metric: "unacked_retransmissions", Candidate: 6, Summary: "unacked_retransmissions: 6 (baseline 0)"},
		"unacked_retransmission": {Kind: "new_finding", Metric: "unacked_retransmission", Candidate: 1,
			Summary: "only the candidate has unacked_retransmission findings (1): the server re-sent 1448 bytes 6 times"},
		"client_not_acking": {Kind: "new_verdict", Metric: "client_not_acking", Candidate: 1,
			Summary: "only the candidate has verdict client_not_acking (1 connection; the first, connection 2): the client never ACKed the reply"},
	}
	// Throughput: (100 MiB + 0) over 10 s against (10+1) MiB over 20 s.
	bt, ct := float64(100<<20)/10, float64(11<<20)/20
	want["data_bytes_per_s"] = analyze.Change{Kind: "throughput", Metric: "data_bytes_per_s", Baseline: bt, Candidate: ct, Ratio: math.Round(ct/bt*1000) / 1000,
		Summary: fmt.Sprintf("READ/WRITE throughput %.1f KiB/s, %.1fx lower than the baseline's %.1f MiB/s", ct/1024, bt/ct, bt/(1<<20))}
	got := map[string]analyze.Change{}
	for _, ch := range c.Changes {
		if _, dup := got[ch.Metric]; dup {
			t.Errorf("two changes of %s", ch.Metric)
		}
		got[ch.Metric] = ch
	}
	for k, w := range want {
		if got[k] != w {
			t.Errorf("change %s:\n got %+v\nwant %+v", k, got[k], w)
		}
	}
	for k := range got {
		if _, ok := want[k]; !ok {
			t.Errorf("unexpected change %+v (READ's p50 went 1.5 -> 1.6 ms, under 2x: no change)", got[k])
		}
	}

	// Text: both sides, every change's summary in order, the procedure
	// table side by side, the TCP line.
	var out bytes.Buffer
	if err := DiffText(&out, c); err != nil {
		t.Fatal(err)
	}
	lines := strings.Split(out.String(), "\n")
	wantHead := []string{
		"baseline  1 capture, 1000 packets, 10.00 s, 300 calls, 0 unanswered: no stall found",
		"candidate 2 captures, 750 packets, 20.00 s, 130 calls, 1 unanswered: STALL: client_not_acking (1 connection)",
		"",
		"CHANGES (candidate against baseline)",
	}
	for i, w := range wantHead {
		if lines[i] != w {
			t.Errorf("line %d:\n got %q\nwant %q", i, lines[i], w)
		}
	}
	for i, ch := range c.Changes {
		if lines[len(wantHead)+i] != "  - "+ch.Summary {
			t.Errorf("change line %d %q, want %q", i, lines[len(wantHead)+i], "  - "+ch.Summary)
		}
	}
	pr := section(t, lines, "PROCEDURES (baseline -> candidate")
	wantRows := [][]string{
		{"procedure", "calls", "error rate", "p50", "p50 ratio", "p99", "p99 ratio"},
		// Candidate's order, then the baseline-only ones.
		{"NFSv3 READ", "200 -> 120", fmt.Sprintf("%.1f%% -> %.1f%%", 100*bRate, 100*cRate), "1.50 ms -> 1.60 ms", fmt.Sprintf("%.2fx", 1.6/1.5), "10.0 ms -> 50.0 ms", "5.00x"},
		{"NFSv3 WRITE", "- -> 10", "- -> 0.0%", "- -> 2.00 ms", "-", "- -> 4.00 ms", "-"},
		{"NFSv3 GETATTR", "100 -> -", "0.0% -> -", "100 µs -> -", "-", "200 µs -> -", "-"},
	}
	for i, w := range wantRows {
		if g := cells(pr[i]); strings.Join(g, "|") != strings.Join(w, "|") {
			t.Errorf("procedures row %d:\n got %q\nwant %q", i, g, w)
		}
	}
	tcpLine := fmt.Sprintf("TCP  retransmissions 2 -> 9, never ACKed 0 -> 6, zero-window episodes 0 -> 0; READ/WRITE throughput %.1f MiB/s -> %.1f KiB/s", bt/(1<<20), ct/1024)
	if !slicesContain(lines, tcpLine) {
		t.Errorf("no line %q in:\n%s", tcpLine, out.String())
	}

	// JSON: the comparison as encoding/json writes it.
	var js bytes.Buffer
	if err := DiffJSON(&js, c); err != nil {
		t.Fatal(err)
	}
	if js.String() != marshal(t, c) {
		t.Errorf("diff JSON is not encoding/json's:\n%s", js.String())
	}
}

// TestDiffNoChange: the same report on both sides changes nothing; a p99
// that fell far below the baseline's keeps two significant digits.
func TestDiffNoChange(t *testing.T) {
	base, _ := diffPair()
	same, _ := diffPair()
	same.Procedures[0].Latency.P99 = 0.05 // 10 ms -> 50 µs: better, no change
	c := analyze.Compare(base, same)
	if len(c.Changes) != 0 {
		t.Fatalf("changes %+v", c.Changes)
	}
	var out bytes.Buffer
	if err := DiffText(&out, c); err != nil {
		t.Fatal(err)
	}
	lines := strings.Split(out.String(), "\n")
	if lines[3] != "No significant change." {
		t.Errorf("line 3 %q", lines[3])
	}
	row := cells(section(t, lines, "PROCEDURES (baseline -> candidate")[1])
	if want := "0.005x"; row[6] != want { // 0.05/10, not rounded to 0.01x

		t.Errorf("p99 ratio %q, want %q", row[6], want)
	}
}
