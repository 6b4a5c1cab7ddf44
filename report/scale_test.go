package report

import (
	"fmt"
	"slices"
	"strings"
	"testing"

	"github.com/nfsstall/nfsstall/analyze"
)

// bigReport is a report far past every text bound: 30 connections with a
// verdict (connection i's stall lasting i s, each with 6 findings of 3
// kinds), 60 connections with 50 zero-window episodes each, 500 unanswered
// calls of which 300 are listed, 200 connections listed of 5,000, and 120
// findings the analysis counted but did not list.
func bigReport() *analyze.Report {
	r := &analyze.Report{Captures: []analyze.Capture{{File: "big.pcap", Format: "pcap", LinkType: "ETHERNET"}}}
	r.Summary.Connections, r.Summary.Unanswered = 5000, 500
	for c := 1; c <= 30; c++ {
		d := analyze.Diagnosis{Connection: c, Verdict: "server_not_replying", Summary: fmt.Sprintf("diagnosis %d", c)}
		if c%2 == 0 {
			d.Verdict = "client_not_acking"
		}
		for k := range 6 {
			kind := []string{"unanswered_call", "slow_reply", "rpc_retransmission"}[k%3]
			d.Findings = append(d.Findings, len(r.Findings))
			r.Findings = append(r.Findings, analyze.Finding{Kind: kind, Severity: analyze.SeverityStall, Connection: c,
				Frames: []int64{int64(100*c + k)}, DurationMS: float64(1000 * c), Summary: fmt.Sprintf("finding %d.%d", c, k)})
		}
		r.Diagnoses = append(r.Diagnoses, d)
	}
	for c := 100; c < 160; c++ {
		for e := range 50 {
			r.Findings = append(r.Findings, analyze.Finding{Kind: "zero_window", Severity: analyze.SeverityInfo, Connection: c,
				Frames: []int64{int64(1000*c + e)}, DurationMS: float64(c), Summary: fmt.Sprintf("zero window %d.%d", c, e)})
		}
	}
	r.Skipped = append(r.Skipped, analyze.Skipped{What: "zero_window findings", Count: 120, Bound: true})
	for i := range 300 {
		r.Unanswered = append(r.Unanswered, analyze.Unanswered{Connection: 1, XID: analyze.XID(i), Procedure: "READ", ProgramName: "NFS", Version: 3})
	}
	for i := range 200 {
		r.Connections = append(r.Connections, analyze.Connection{ID: i + 1, Transport: "tcp"})
	}
	for i := range 50 {
		r.Procedures = append(r.Procedures, analyze.Procedure{Name: fmt.Sprintf("P%d", i), ProgramName: "NFS", Version: 3})
	}
	return r
}

func TestTextBounded(t *testing.T) {
	r := bigReport()
	lines := render(t, r)
	if len(lines) > 180 {
		t.Errorf("%d lines", len(lines))
	}

	// DIAGNOSIS: the 10 longest stalls (connections 21 to 30) named, the 3
	// longest (28 to 30) in full first, each with at most 4 lines of
	// findings, then the next 7 a line each, in the model's order; then
	// the rest counted by verdict.
	diag := section(t, lines, "DIAGNOSIS")
	var conns []string
	for _, l := range diag {
		if c, ok := strings.CutPrefix(l, "  connection "); ok {
			conns = append(conns, strings.SplitN(c, ":", 2)[0])
		}
	}
	if got := strings.Join(conns, ","); got != "28,29,30,21,22,23,24,25,26,27" {
		t.Errorf("connections shown: %s", got)
	}
	// Each in full shows its 6 findings in 3 lines, one per kind (2
	// each); a brief one counts them by kind, with the longest (connection
	// 21's findings last 21 s each).
	if n := strings.Count(strings.Join(diag, "\n"), "    - ["); n != 9 {
		t.Errorf("%d finding lines under DIAGNOSIS, want 9", n)
	}
	if want := "  connection 21: server_not_replying (2 rpc_retransmission, 2 slow_reply, 2 unanswered_call; the longest 21.00 s)"; !slices.Contains(diag, want) {
		t.Errorf("DIAGNOSIS lacks %q:\n%s", want, strings.Join(diag, "\n"))
	}
	want := "  and 20 more connections with a stall, the 10 above being the longest (10 client_not_acking, 10 server_not_replying): --format json lists them"
	if diag[len(diag)-1] != want {
		t.Errorf("last DIAGNOSIS line %q, want %q", diag[len(diag)-1], want)
	}

	// FINDINGS: 3,000 zero windows on 60 connections, one line each, the
	// longest in all first (connection 159), 20 lines, the rest counted.
	find := section(t, lines, "FINDINGS")
	if len(find) != textFindingLines+1 {
		t.Fatalf("%d FINDINGS lines:\n%s", len(find), strings.Join(find, "\n"))
	}
	if !strings.HasPrefix(find[0], "  info    [zero_window] connection 159: 50 findings, frames 159000 to 159049, ") {
		t.Errorf("first finding line %q", find[0])
	}
	if want := "  ... and 40 more lines (2000 zero_window): --format json lists them"; find[len(find)-1] != want {
		t.Errorf("last FINDINGS line %q, want %q", find[len(find)-1], want)
	}
	if !strings.Contains(strings.Join(lines, "\n"), "FINDINGS (3000 not under a verdict above: 3000 info; and 120 more counted, not listed: 120 zero_window)") {
		t.Errorf("FINDINGS heading without the totals")
	}

	// UNANSWERED CALLS: the 20 oldest, then the rest counted.
	un := section(t, lines, "UNANSWERED CALLS")
	if len(un) != 1+textUnanswered+1 || un[len(un)-1] != "  ... and 480 more (500 in all; --format json lists the oldest 300)" {
		t.Errorf("UNANSWERED CALLS: %d lines, last %q", len(un), un[len(un)-1])
	}
	cn := section(t, lines, "CONNECTIONS")
	if len(cn) != 1+textConnections+1 || !strings.HasPrefix(cn[len(cn)-1], "  ... and 4980 more (5000 in all;") {
		t.Errorf("CONNECTIONS: %d lines, last %q", len(cn), cn[len(cn)-1])
	}
	pr := section(t, lines, "PROCEDURES")
	if len(pr) != 1+textProceduresListed+1 || pr[len(pr)-1] != "  ... and 10 more procedures (--format json lists them)" {
		t.Errorf("PROCEDURES: %d lines, last %q", len(pr), pr[len(pr)-1])
	}
}

func TestTextFilter(t *testing.T) {
	frames := []int64{3, 5, 6, 7, 9}
	wf := analyze.WiresharkFilter{Filter: "frame.number == 3 || ...", FilterSet: analyze.FrameSet(frames), Frames: frames}
	if got, want := textFilter(wf), "frame.number in {3,5..7,9}"; got != want {
		t.Errorf("%q, want %q", got, want)
	}
	var many []int64
	for i := range 45 {
		many = append(many, int64(10+3*i))
	}
	wf = analyze.WiresharkFilter{FilterSet: analyze.FrameSet(many), Frames: many}
	got := textFilter(wf)
	if !strings.HasPrefix(got, "frame.number in {10,13,16,") || !strings.Contains(got, ",67} (the first 20 frames of 45;") {
		t.Errorf("%q", got)
	}
	if got := textFilter(analyze.WiresharkFilter{Filter: "frame.number == 1"}); got != "frame.number == 1" {
		t.Errorf("no frames: %q", got)
	}
	for _, tt := range []struct {
		frames []int64
		want   string
	}{
		{[]int64{1}, "frame.number in {1}"},
		{[]int64{1, 2}, "frame.number in {1..2}"},
		{[]int64{1, 3}, "frame.number in {1,3}"},
		{[]int64{1, 2, 3, 10, 11, 20}, "frame.number in {1..3,10..11,20}"},
	} {
		if got := analyze.FrameSet(tt.frames); got != tt.want {
			t.Errorf("FrameSet(%v) = %q, want %q", tt.frames, got, tt.want)
		}
	}
}

// TestTextYoungUnanswered: an unanswered call younger than --stall-after
// at the end is listed, with why it is not a stall.
func TestTextYoungUnanswered(t *testing.T) {
	r := handReport(0)
	r.StallAfterMS = 1000
	young := 0
	for _, u := range r.Unanswered {
		if u.AgeMS < 1000 {
			young++
		}
	}
	if young != 1 {
		t.Fatalf("the hand report has %d young calls", young)
	}
	text := strings.Join(render(t, r), "\n")
	if !strings.Contains(text, "\n1 of these is not a stall: unanswered for less than 1.00 s (--stall-after) when the capture ended, too soon after it to judge.\n\n") {
		t.Errorf("no note on the young call:\n%s", text)
	}
	r.StallAfterMS = 0.1
	if strings.Contains(strings.Join(render(t, r), "\n"), "not a stall") {
		t.Errorf("a note though every call is older than --stall-after")
	}
}
