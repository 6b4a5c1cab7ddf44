package report

import (
	"bytes"
	"errors"
	"fmt"
	"regexp"
	"strings"
	"testing"
	"time"

	"github.com/nfsstall/nfsstall/analyze"
)

// The text report's tests build the model by hand and compute every
// expected line from it: what the renderer must show, in which order, with
// which figures; not what it printed last time.

// t0 is a capture time: 2026-11-26 00:48:09.441654 UTC.
var t0 = analyze.Time(time.Date(2026, 11, 26, 0, 48, 9, 441654000, time.UTC).UnixNano())

func xidp(x analyze.XID) *analyze.XID { return &x }

// handReport is a report with every section: two diagnoses with the same
// verdict and one with another, a stall finding per diagnosis, more
// slow_reply findings than the text lists and two zero_window ones outside
// any diagnosis, unanswered calls (one with a partial reply), procedures
// with and without replies, TCP and UDP connections, and skipped packets.
func handReport(slow int) *analyze.Report {
	r := &analyze.Report{
		SchemaVersion: analyze.SchemaVersion,
		Captures: []analyze.Capture{{
			File: "hung.pcap.gz", Format: "pcap", Compressed: true, Compression: "gzip", LinkType: "ETHERNET",
			Packets: 4132, FirstTime: t0, LastTime: t0 + 17_005_484_000, Snaplen: 262144,
		}},
		Summary: analyze.Summary{
			Connections: 3, Calls: 11, Replies: 10, Unanswered: 2, RPCRetransmissions: 1,
			DurationMS: 17005.484, TCPAnalysis: map[string]int64{"retransmission": 6},
		},
	}
	stall := func(conn int, kind, summary string) analyze.Finding {
		return analyze.Finding{Kind: kind, Severity: analyze.SeverityStall, Connection: conn, Frames: []int64{3382}, Start: t0, Summary: summary}
	}
	r.Findings = append(r.Findings,
		stall(1, "unacked_retransmission", "the server re-sent 1448 bytes 6 times (frames 3383, 4103)"),
		stall(2, "unanswered_call", "READ xid 0x21224519 sent at frame 3382 was never answered"),
		stall(3, "zero_window", "the client advertised a zero window at frame 3042"),
	)
	for i := range slow {
		r.Findings = append(r.Findings, analyze.Finding{Kind: "slow_reply", Severity: analyze.SeverityWarning,
			Connection: 1 + i%3, XID: xidp(analyze.XID(0x100 + i)), Procedure: "READ", Frames: []int64{int64(10 + i)},
			Start: t0, DurationMS: 1500, Summary: fmt.Sprintf("READ xid 0x%08x took 1.50 s", 0x100+i)})
	}
	r.Findings = append(r.Findings,
		analyze.Finding{Kind: "zero_window", Severity: analyze.SeverityInfo, Connection: 2, Frames: []int64{50, 51},
			Summary: "the server advertised a zero window at frame 50 and reopened it at frame 51"},
		analyze.Finding{Kind: "zero_window", Severity: analyze.SeverityWarning, Connection: 3, Frames: []int64{60, 70},
			Summary: "the client advertised a zero window at frame 60 and reopened it at frame 70"},
	)
	r.Diagnoses = []analyze.Diagnosis{
		{Connection: 1, Verdict: "client_not_acking", Summary: "the client never ACKed the reply", Findings: []int{0},
			WiresharkFilters: []analyze.WiresharkFilter{{Capture: 0, Filter: "frame.number == 3383 || frame.number == 4103"}}},
		{Connection: 2, Verdict: "server_not_replying", Summary: "the server's TCP ACKed the call, no reply came", Findings: []int{1},
			WiresharkFilters: []analyze.WiresharkFilter{{Capture: 0, Filter: "frame.number == 3382"}}},
		{Connection: 3, Verdict: "client_not_acking", Summary: "again the client", Findings: []int{2},
			WiresharkFilters: []analyze.WiresharkFilter{{Capture: 0, Filter: "frame.number == 3042"}}},
	}
	r.Unanswered = []analyze.Unanswered{
		{Connection: 2, XID: 0x21224519, Program: 100003, Version: 3, Procedure: "READ", ProgramName: "NFS",
			Frame: 3382, LastFrame: 3382, Sent: t0 + 3_838_873_000, AgeMS: 13166.611, Sends: 1,
			Detail: "FH 0x18509f85, offset 4194304, 1048576 bytes", ReplyPartial: "reply incomplete: 1036764 of 1048704 bytes sent"},
		{Connection: 3, XID: 0xab, Program: 100005, Version: 3, Procedure: "MNT", ProgramName: "MOUNT",
			Frame: 7, LastFrame: 9, Sent: t0 + 1000, AgeMS: 0.25, Sends: 2, ReplyPartial: "reply incomplete: 4 of 28 bytes sent"},
	}
	r.Procedures = []analyze.Procedure{
		{Program: 100003, Version: 3, Name: "READ", ProgramName: "NFS", Calls: 5, Replies: 4, Unanswered: 1, Errors: 1, Retransmits: 1,
			Latency: analyze.Latency{Min: 2.8034, Mean: 3.5721, P50: 3.0116, P90: 4.8749, P99: 4.8751, Max: 4.8752}, Bytes: 4194304},
		{Program: 100005, Version: 3, Name: "MNT", ProgramName: "MOUNT", Calls: 2, Unanswered: 1},
	}
	r.Connections = []analyze.Connection{
		{ID: 1, Client: "198.18.0.1:733", Server: "198.18.0.2:2049", Transport: "tcp", FirstFrame: 17, Handshake: true,
			Calls: 11, Replies: 10, Unanswered: 1, BytesToSrv: 1152, BytesToCli: 5232388, MissingBytes: 12},
		{ID: 2, Client: "[fd00:198:18::1]:801", Server: "[fd00:198:18::2]:2049", Transport: "tcp", FirstFrame: 30,
			Calls: 3, Replies: 2, Unanswered: 1},
		{ID: 3, Client: "198.18.0.1:915", Server: "198.18.0.2:20048", Transport: "udp", FirstFrame: 1, Calls: 2},
	}
	r.Skipped = []analyze.Skipped{{What: "packets", Count: 48, Reason: "not on an analysed port"}}
	return r
}

func render(t *testing.T, r *analyze.Report) []string {
	t.Helper()
	var b bytes.Buffer
	if err := Text(&b, r); err != nil {
		t.Fatal(err)
	}
	return strings.Split(b.String(), "\n")
}

// cells splits a table row into its columns (tabwriter pads with two
// spaces or more; no value here holds two spaces in a row).
func cells(line string) []string {
	return regexp.MustCompile(`\s{2,}`).Split(strings.TrimSpace(line), -1)
}

// section returns the lines after the heading that starts with title, up
// to the blank line that ends the section.
func section(t *testing.T, lines []string, title string) []string {
	t.Helper()
	for i, l := range lines {
		if strings.HasPrefix(l, title) {
			end := i + 1
			for end < len(lines) && lines[end] != "" {
				end++
			}
			return lines[i+1 : end]
		}
	}
	t.Fatalf("no section %q in:\n%s", title, strings.Join(lines, "\n"))
	return nil
}

func TestTextOrderAndContent(t *testing.T) {
	const slow = 23 // more than the text lists of one kind
	r := handReport(slow)
	lines := render(t, r)
	text := strings.Join(lines, "\n")

	// The header: counts, the capture, the headline counts, the answer.
	c := r.Captures[0]
	want := []string{
		fmt.Sprintf("nfsstall: 1 capture, %d packets, %.2f s", c.Packets, r.Summary.DurationMS/1000),
		fmt.Sprintf("  [0] %s (pcap, gzip, ETHERNET, snaplen %d): %d packets, %s to %s", c.File, c.Snaplen, c.Packets,
			time.Unix(0, int64(c.FirstTime)).UTC().Format("2006-01-02 15:04:05.000000 MST"),
			time.Unix(0, int64(c.LastTime)).UTC().Format("2006-01-02 15:04:05.000000 MST")),
		// 1 RPC retransmission: singular.
		fmt.Sprintf("  %d connections, %d calls, %d replies, %d unanswered, %d RPC retransmission",
			r.Summary.Connections, r.Summary.Calls, r.Summary.Replies, r.Summary.Unanswered, r.Summary.RPCRetransmissions),
		// Verdicts in order of first appearance, each with its count.
		"  STALL: client_not_acking (2 connections), server_not_replying (1 connection)",
		"",
	}
	for i, w := range want {
		if lines[i] != w {
			t.Errorf("line %d:\n got %q\nwant %q", i, lines[i], w)
		}
	}

	// Sections in this order, each once.
	at := -1
	for _, title := range []string{"DIAGNOSIS", "FINDINGS", "UNANSWERED CALLS", "PROCEDURES", "CONNECTIONS", "NOT ANALYSED"} {
		i := strings.Index(text, "\n"+title)
		if i < 0 || strings.Count(text, "\n"+title) != 1 {
			t.Fatalf("section %s missing or repeated", title)
		}
		if i < at {
			t.Errorf("section %s comes before the one listed before it", title)
		}
		at = i
	}

	// Each diagnosis: its verdict, summary, its findings, its filter.
	var wantDiag []string
	for _, d := range r.Diagnoses {
		wantDiag = append(wantDiag, fmt.Sprintf("  connection %d: %s", d.Connection, d.Verdict), "    "+d.Summary)
		for _, i := range d.Findings {
			wantDiag = append(wantDiag, fmt.Sprintf("    - [%s] %s", r.Findings[i].Kind, r.Findings[i].Summary))
		}
		wantDiag = append(wantDiag, "    Wireshark: "+d.WiresharkFilters[0].Filter)
	}
	if got := section(t, lines, "DIAGNOSIS"); strings.Join(got, "\n") != strings.Join(wantDiag, "\n") {
		t.Errorf("DIAGNOSIS:\n%s\nwant:\n%s", strings.Join(got, "\n"), strings.Join(wantDiag, "\n"))
	}

	// Findings: those no diagnosis showed, summed per kind, severity and
	// connection, the worst first (warnings before info; then the most
	// time in all). In the model: 23 slow replies of 1.5 s on connections
	// 1, 2, 3 in turn (8, 8 and 7 of them), a zero window warning on
	// connection 3 and an info one on connection 2.
	slowLine := func(conn int) string {
		var n int
		var first, last int64
		for i := range slow {
			if 1+i%3 == conn {
				if n == 0 {
					first = int64(10 + i)
				}
				n, last = n+1, int64(10+i)
			}
		}
		return fmt.Sprintf("  warning [slow_reply] connection %d: %d findings, frames %d to %d, %s in all; the longest: READ xid 0x%08x took 1.50 s",
			conn, n, first, last, analyze.FormatMS(float64(n)*1500), 0x100+conn-1)
	}
	zw := r.Findings[len(r.Findings)-2:]
	wantFind := []string{
		slowLine(1), slowLine(2), slowLine(3),
		fmt.Sprintf("  warning [zero_window] connection 3: %s", zw[1].Summary),
		fmt.Sprintf("  info    [zero_window] connection 2: %s", zw[0].Summary),
	}
	got := section(t, lines, "FINDINGS")
	if strings.Join(got, "\n") != strings.Join(wantFind, "\n") {
		t.Errorf("FINDINGS:\n%s\nwant:\n%s", strings.Join(got, "\n"), strings.Join(wantFind, "\n"))
	}
	if want := fmt.Sprintf("FINDINGS (%d not under a verdict above: %d warning, 1 info)", slow+2, slow+1); !strings.Contains(text, want+"\n") {
		t.Errorf("no heading %q", want)
	}
	if strings.Contains(strings.Join(got, "\n"), "READ xid 0x21224519 sent at frame 3382") {
		t.Errorf("a diagnosis' finding is listed again under FINDINGS")
	}

	// Unanswered calls: one row per call, every column from the model.
	un := section(t, lines, "UNANSWERED CALLS")
	wantHead := []string{"conn", "xid", "procedure", "frame", "sent", "age", "sends", "detail"}
	if h := cells(un[0]); strings.Join(h, "|") != strings.Join(wantHead, "|") {
		t.Errorf("unanswered header %q", h)
	}
	wantRows := [][]string{
		{"2", "0x21224519", "NFSv3 READ", "3382", "2026-11-26 00:48:13.280527 UTC", "13.17 s", "1",
			"FH 0x18509f85, offset 4194304, 1048576 bytes; reply incomplete: 1036764 of 1048704 bytes sent"},
		// No detail: the partial reply alone, without a leading "; ".
		{"3", "0x000000ab", "MOUNTv3 MNT", "7", "2026-11-26 00:48:09.441655 UTC", "250 µs", "2", "reply incomplete: 4 of 28 bytes sent"},
	}
	for i, w := range wantRows {
		if g := cells(un[1+i]); strings.Join(g, "|") != strings.Join(w, "|") {
			t.Errorf("unanswered row %d:\n got %q\nwant %q", i, g, w)
		}
	}

	// Procedures: latency to three significant digits with its unit (min
	// 2.8034 ms, mean 3.5721, p50 3.0116, p90 4.8749, p99 4.8751, max
	// 4.8752), dashes without replies.
	pr := section(t, lines, "PROCEDURES")
	wantProc := [][]string{
		{"procedure", "calls", "replies", "errors", "retrans", "unanswered", "min", "mean", "p50", "p90", "p99", "max", "bytes"},
		{"NFSv3 READ", "5", "4", "1", "1", "1", "2.80 ms", "3.57 ms", "3.01 ms", "4.87 ms", "4.88 ms", "4.88 ms", "4194304"},
		{"MOUNTv3 MNT", "2", "0", "0", "0", "1", "-", "-", "-", "-", "-", "-", "0"},
	}
	for i, w := range wantProc {
		if g := cells(pr[i]); strings.Join(g, "|") != strings.Join(w, "|") {
			t.Errorf("procedures row %d:\n got %q\nwant %q", i, g, w)
		}
	}
	if len(pr) != len(wantProc) {
		t.Errorf("%d procedure lines, want %d", len(pr), len(wantProc))
	}

	// Connections: the handshake column says yes, joined mid-stream, or
	// "-" for UDP.
	cn := section(t, lines, "CONNECTIONS")
	wantConn := [][]string{
		{"id", "proto", "client", "server", "first frame", "handshake", "calls", "replies", "unanswered", "bytes c->s", "bytes s->c", "not captured"},
		{"1", "tcp", "198.18.0.1:733", "198.18.0.2:2049", "17", "yes", "11", "10", "1", "1152", "5232388", "12"},
		{"2", "tcp", "[fd00:198:18::1]:801", "[fd00:198:18::2]:2049", "30", "no (joined mid-stream)", "3", "2", "1", "0", "0", "0"},
		{"3", "udp", "198.18.0.1:915", "198.18.0.2:20048", "1", "-", "2", "0", "0", "0", "0", "0"},
	}
	for i, w := range wantConn {
		if g := cells(cn[i]); strings.Join(g, "|") != strings.Join(w, "|") {
			t.Errorf("connections row %d:\n got %q\nwant %q", i, g, w)
		}
	}

	sk := section(t, lines, "NOT ANALYSED")
	if len(sk) != 1 || sk[0] != "  48 packets: not on an analysed port" {
		t.Errorf("NOT ANALYSED: %q", sk)
	}
}

// TestTextSeveralFiles: with several captures every frame is FILE:FRAME,
// each Wireshark filter names its file, and the header lists each file.
func TestTextSeveralFiles(t *testing.T) {
	r := handReport(0)
	second := r.Captures[0]
	second.File, second.Compressed, second.Packets = "hung.pcap1", false, 10
	second.Truncated, second.TruncatedAt = true, 5000
	drop := uint64(7)
	second.IfDrop = &drop
	r.Captures = append(r.Captures, second)
	r.Unanswered[0].Capture = 1
	r.Connections[1].Capture = 1
	r.Diagnoses[0].WiresharkFilters = append(r.Diagnoses[0].WiresharkFilters, analyze.WiresharkFilter{Capture: 1, Filter: "frame.number == 2"})
	lines := render(t, r)
	if want := fmt.Sprintf("nfsstall: 2 captures, %d packets, 17.01 s", r.Captures[0].Packets+second.Packets); lines[0] != want {
		t.Errorf("got %q, want %q", lines[0], want)
	}
	if want := "  [1] hung.pcap1 (pcap, ETHERNET, snaplen 262144): 10 packets, 2026-11-26 00:48:09.441654 UTC to 2026-11-26 00:48:26.447138 UTC, TRUNCATED at byte 5000, 7 dropped by the capture tool"; lines[2] != want {
		t.Errorf("got  %q\nwant %q", lines[2], want)
	}
	diag := strings.Join(section(t, lines, "DIAGNOSIS"), "\n")
	for _, w := range []string{"    Wireshark, in hung.pcap.gz: frame.number == 3383 || frame.number == 4103", "    Wireshark, in hung.pcap1: frame.number == 2"} {
		if !strings.Contains(diag, w+"\n") {
			t.Errorf("DIAGNOSIS lacks %q:\n%s", w, diag)
		}
	}
	if g := cells(section(t, lines, "UNANSWERED CALLS")[1]); g[3] != "1:3382" {
		t.Errorf("unanswered frame %q, want 1:3382", g[3])
	}
	cn := section(t, lines, "CONNECTIONS")
	if g := cells(cn[1]); g[4] != "0:17" {
		t.Errorf("connection 1 first frame %q, want 0:17", g[4])
	}
	if g := cells(cn[2]); g[4] != "1:30" {
		t.Errorf("connection 2 first frame %q, want 1:30", g[4])
	}
}

// TestTextAnswerLine: the one-line answer without a stall, with the
// analysis' bounds reached, and with nothing to analyse.
func TestTextAnswerLine(t *testing.T) {
	empty := func() *analyze.Report {
		return &analyze.Report{Captures: []analyze.Capture{{File: "ok.pcap", Format: "pcapng", LinkType: "ETHERNET", LinkTypes: []string{"ETHERNET", "LINUX_SLL2"}}}}
	}
	r := empty()
	lines := render(t, r)
	if want := "  [0] ok.pcap (pcapng, ETHERNET+LINUX_SLL2, snaplen 0): 0 packets"; lines[1] != want {
		t.Errorf("got %q, want %q", lines[1], want)
	}
	if lines[3] != "  no stall found" {
		t.Errorf("answer %q", lines[3])
	}
	if !slicesContain(lines, "No RPC calls or replies found on the analysed ports.") {
		t.Errorf("no 'nothing found' line:\n%s", strings.Join(lines, "\n"))
	}
	// With RPC seen on other ports: which, and the --port that takes them.
	r = empty()
	r.Ports = []uint16{2049}
	r.OtherPorts = []analyze.OtherPort{{Port: 20048, Transport: "tcp", Calls: 3}, {Port: 111, Transport: "udp", Calls: 1}}
	lines = render(t, r)
	if !slicesContain(lines, "No RPC calls or replies found on the analysed ports (2049).") ||
		!slicesContain(lines, "RPC calls were seen to ports not analysed: 20048/tcp (3), 111/udp (1); --port 2049,20048,111 analyses them too.") {
		t.Errorf("no hint of the other ports:\n%s", strings.Join(lines, "\n"))
	}

	r = empty()
	r.Summary.Replies = 3
	r.Completeness = []string{"the capture missed 10 bytes"}
	r.Warnings = []string{"file ends inside a record"}
	r.Untracked = &analyze.Untracked{RefusedPackets: 1, MaxConnections: 4096, Calls: 5, MaxCalls: 100000, MaxCallsPerConn: 1024}
	lines = render(t, r)
	want := []string{
		"  no stall found among the tracked connections and calls; not analysed: " +
			"1 packet of new connections refused while the connection table was full (4096 connections at once, the most tracked); " +
			"5 RPC calls not tracked for a reply (100000 waiting at once in all, 1024 per connection)",
		"  capture: the capture missed 10 bytes",
		"  warning: file ends inside a record",
	}
	for i, w := range want {
		if lines[3+i] != w {
			t.Errorf("line %d:\n got %q\nwant %q", 3+i, lines[3+i], w)
		}
	}
	if !slicesContain(lines, "No RPC calls found on the analysed ports (3 replies whose calls are not in the capture).") {
		t.Errorf("no orphan replies line:\n%s", strings.Join(lines, "\n"))
	}
	for _, s := range []string{"DIAGNOSIS", "FINDINGS", "UNANSWERED", "CONNECTIONS", "NOT ANALYSED"} {
		if slicesContain(lines, s) || strings.Contains(strings.Join(lines, "\n"), "\n"+s) {
			t.Errorf("empty section %s printed", s)
		}
	}
}

func slicesContain(lines []string, s string) bool {
	for _, l := range lines {
		if l == s {
			return true
		}
	}
	return false
}

// TestTextWireStrings: names from the wire reach the model escaped (Go
// %q, done where findings are built); the text report prints the model's
// strings as they are, so what an operator's terminal receives is the
// escaped, printable form, never the raw control bytes; and a procedure
// name the model holds as text is printed as text.
func TestTextWireStrings(t *testing.T) {
	wire := "evil\x1b[2J\x1b]0;pwned\x07\u202e.exe"
	escaped := fmt.Sprintf("%q", wire) // as analyze builds a finding's text
	r := handReport(0)
	r.Findings[0].Summary = "LOOKUP name " + escaped + " was never answered"
	r.Unanswered[0].Detail = "name " + escaped
	var b bytes.Buffer
	if err := Text(&b, r); err != nil {
		t.Fatal(err)
	}
	out := b.String()
	if !strings.Contains(out, `LOOKUP name "evil\x1b[2J\x1b]0;pwned\a\u202e.exe" was never answered`) {
		t.Errorf("the escaped name is not printed as the model holds it:\n%s", out)
	}
	for _, raw := range []string{"\x1b", "\x07", "\u202e"} {
		if strings.Contains(out, raw) {
			t.Errorf("raw %q reached the text report", raw)
		}
	}
}

// failWriter fails after n bytes.
type failWriter struct{ n int }

var errFull = errors.New("disk full")

func (w *failWriter) Write(p []byte) (int, error) {
	if w.n -= len(p); w.n < 0 {
		return 0, errFull
	}
	return len(p), nil
}

// TestTextWriteError: the first write error is returned, at any point.
func TestTextWriteError(t *testing.T) {
	r := handReport(3)
	var b bytes.Buffer
	Text(&b, r)
	for _, n := range []int{0, 100, b.Len() / 2, b.Len() - 1} {
		if err := Text(&failWriter{n: n}, r); !errors.Is(err, errFull) {
			t.Errorf("failing after %d of %d bytes: %v", n, b.Len(), err)
		}
	}
	if err := Text(&failWriter{n: b.Len()}, r); err != nil {
		t.Errorf("room for all %d bytes: %v", b.Len(), err)
	}
}

// TestTextTimeZone: times are shown in the zone asked for, named.
func TestTextTimeZone(t *testing.T) {
	r := handReport(0)
	loc := time.FixedZone("XYZ", -5*3600-30*60)
	var b bytes.Buffer
	if err := TextWith(&b, r, TextOptions{Location: loc}); err != nil {
		t.Fatal(err)
	}
	first := time.Unix(0, int64(r.Captures[0].FirstTime)).In(loc).Format("2006-01-02 15:04:05.000000")
	if !strings.Contains(b.String(), first+" XYZ to ") || strings.Contains(b.String(), " UTC") {
		t.Errorf("times not in XYZ (%s):\n%s", first, b.String())
	}
}
