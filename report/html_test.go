package report

import (
	"bytes"
	"crypto/sha256"
	"encoding/base64"
	"html"
	"html/template"
	"regexp"
	"strings"
	"testing"

	"github.com/nfsstall/nfsstall/analyze"
)

// TestHTMLEscapesEverything puts markup, quotes and ampersands in every
// string a capture (or its file name) can bring, and checks that none
// reaches the page as markup: the page's only element tags are the
// report's own, its one script is the copy button's, and the strings
// show escaped.
func TestHTMLEscapesEverything(t *testing.T) {
	r := pictureReport()
	evil := `"><img src=x onerror="window.__pwned=1"><script>window.__pwned=2</script>&amp;'`
	r.Captures[0].File = "trace" + evil + ".pcap"
	r.Connections[0].Client = evil
	r.Findings = append(r.Findings, analyze.Finding{Kind: "slow_reply", Severity: analyze.SeverityWarning, Connection: 2, Summary: "LOOKUP " + evil, Path: evil})
	r.Unanswered = []analyze.Unanswered{{Connection: 1, XID: 1, Procedure: "LOOKUP" + evil, ProgramName: "NFS", Version: 3, Detail: "name " + evil, Path: evil}}
	r.Procedures = []analyze.Procedure{{Name: evil, ProgramName: "NFS", Version: 3, Calls: 1}}
	r.Warnings = []string{evil}
	r.Completeness = []string{evil}
	r.Skipped = []analyze.Skipped{{What: evil, Count: 1, Reason: evil}}
	r.LatencyOverTime[0].Procedure = evil
	var out bytes.Buffer
	if err := HTML(&out, r, HTMLOptions{}); err != nil {
		t.Fatal(err)
	}
	page := out.String()
	for _, bad := range []string{"<img", "<script>window", "onerror=\"window"} {
		if strings.Contains(page, bad) {
			t.Errorf("page holds %q unescaped", bad)
		}
	}
	if n := strings.Count(page, "<script"); n != 1 {
		t.Errorf("%d scripts, want 1 (the copy button's)", n)
	}
	// Every tag on the page is one the report writes.
	own := map[string]bool{}
	for _, tag := range strings.Fields("html head meta title style body section h1 h2 h3 p a article span ul li div code button figure figcaption table thead tbody tr th td script svg g rect line text polyline circle b") {
		own[tag] = true
	}
	for _, m := range regexp.MustCompile(`<([a-zA-Z][a-zA-Z0-9]*)`).FindAllStringSubmatch(page, -1) {
		if !own[strings.ToLower(m[1])] {
			t.Errorf("unexpected element <%s>", m[1])
		}
	}
	// The strings are there, escaped (html/template writes " as &#34;).
	esc := "&#34;&gt;&lt;img src=x onerror=&#34;window.__pwned=1&#34;&gt;&lt;script&gt;window.__pwned=2&lt;/script&gt;&amp;amp;&#39;"
	if n := strings.Count(page, esc); n < 8 {
		t.Errorf("the hostile string shows escaped %d times, want one per place (8 or more)", n)
	}
	// In the SVG's hover titles too (escaped as html.EscapeString does).
	svgs := parseSVGs(t, page)
	found := false
	for _, els := range svgs {
		for _, e := range els {
			found = found || strings.Contains(e.title, "(file dir/"+hostile+")")
		}
	}
	if !found {
		t.Error("the finding's file name is not in a hover title, as it is")
	}
}

// TestHTMLSelfContained: the page loads nothing (no src, no href but to
// its own anchors, no url() or @import in its style), and its Content
// Security Policy allows nothing but its own style and the one script, by
// the script's SHA-256 computed here from the page.
func TestHTMLSelfContained(t *testing.T) {
	var out bytes.Buffer
	if err := HTML(&out, pictureReport(), HTMLOptions{}); err != nil {
		t.Fatal(err)
	}
	page := out.String()
	for _, bad := range []string{" src=", "url(", "@import", "<link", "<iframe", "<object"} {
		if strings.Contains(page, bad) {
			t.Errorf("page holds %q", bad)
		}
	}
	for _, m := range regexp.MustCompile(`href="([^"]*)"`).FindAllStringSubmatch(page, -1) {
		if !strings.HasPrefix(m[1], "#") {
			t.Errorf("link to %s", m[1])
		}
	}
	script := regexp.MustCompile(`(?s)<script>(.*?)</script>`).FindStringSubmatch(page)
	if script == nil {
		t.Fatal("no script")
	}
	sum := sha256.Sum256([]byte(script[1]))
	want := "default-src 'none'; style-src 'unsafe-inline'; script-src 'sha256-" + base64.StdEncoding.EncodeToString(sum[:]) + "'; base-uri 'none'; form-action 'none'"
	policy := regexp.MustCompile(`<meta http-equiv="Content-Security-Policy" content="([^"]*)">`).FindStringSubmatch(page)
	if policy == nil || html.UnescapeString(policy[1]) != want {
		t.Errorf("policy %q, want one allowing exactly the page's script: %q", policy, want)
	}
	if strings.Contains(script[1], "\n") {
		t.Error("the script spans lines: a mail relay rewriting line ends would break its hash")
	}
}

// TestHTMLOrderAndBounds: the answer comes first, then the diagnoses, then
// the tables; on a report past every bound, each section shows what the
// text report shows (scale.go's bounds) and says what it left out.
func TestHTMLOrderAndBounds(t *testing.T) {
	r := bigReport()
	var out bytes.Buffer
	if err := HTML(&out, r, HTMLOptions{}); err != nil {
		t.Fatal(err)
	}
	page := out.String()
	last := -1
	for _, mark := range []string{`id="verdict">STALL: server_not_replying (15 connections), client_not_acking (15 connections)</h1>`,
		`id="connection-30"`, `<h2>Findings</h2>`, `<h2>Unanswered calls</h2>`, `<h2>Procedures</h2>`, `<h2>Connections</h2>`, `<h2>Not analysed</h2>`} {
		i := strings.Index(page, mark)
		if i < 0 {
			t.Fatalf("no %s", mark)
		}
		if i < last {
			t.Errorf("%s out of order", mark)
		}
		last = i
	}
	// The 10 longest stalls (connections 30 down to 21), each with at most
	// 4 lines of evidence.
	diags := regexp.MustCompile(`<article class="diag" id="connection-(\d+)"`).FindAllStringSubmatch(page, -1)
	if len(diags) != textDiagnoses || diags[0][1] != "30" || diags[9][1] != "21" {
		t.Errorf("diagnoses shown: %v", diags)
	}
	if !strings.Contains(page, "and 20 more connections with a stall, the 10 above being the longest (10 client_not_acking, 10 server_not_replying)") {
		t.Error("no line for the 20 diagnoses not shown")
	}
	for _, a := range regexp.MustCompile(`(?s)<article class="diag".*?</article>`).FindAllString(page, -1) {
		if n := strings.Count(a, `<span class="kind">`); n > textFindingsPerDiag {
			t.Errorf("%d evidence lines in a diagnosis", n)
		}
	}
	tables := regexp.MustCompile(`(?s)<h2>([A-Za-z ]+)</h2>.*?<tbody>(.*?)</tbody>`).FindAllStringSubmatch(page, -1)
	rows := map[string]int{}
	for _, m := range tables {
		rows[m[1]] = strings.Count(m[2], "<tr>")
	}
	if rows["Findings"] != textFindingLines || rows["Unanswered calls"] != textUnanswered || rows["Connections"] != textConnections {
		t.Errorf("table rows %v", rows)
	}
	for _, more := range []string{"and 480 more (500 in all; --format json lists the oldest 300)", "and 4980 more (5000 in all; --format json lists 200 in full"} {
		if !strings.Contains(page, more) {
			t.Errorf("no %q", more)
		}
	}
}

// TestDiffHTML: baseline and candidate side by side, the changes, and the
// procedure rows of the text diff, with values computed by hand: READ p50
// 2 ms -> 8 ms is 4.00x, its error rate 1 of 4 replies, 25.0%.
func TestDiffHTML(t *testing.T) {
	base := &analyze.Report{Captures: []analyze.Capture{{File: "good.pcap"}}, Summary: analyze.Summary{DurationMS: 1000},
		Procedures: []analyze.Procedure{{Name: "READ", ProgramName: "NFS", Version: 3, Calls: 4, Replies: 4, Latency: analyze.Latency{P50: 2, P99: 3}}}}
	cand := pictureReport()
	cand.Procedures = []analyze.Procedure{{Name: "READ", ProgramName: "NFS", Version: 3, Calls: 5, Replies: 4, Errors: 1, Latency: analyze.Latency{P50: 8, P99: 30}}}
	c := analyze.Compare(base, cand)
	var out bytes.Buffer
	if err := DiffHTML(&out, c, HTMLOptions{}); err != nil {
		t.Fatal(err)
	}
	page := out.String()
	for _, want := range []string{
		`<h1 id="verdict">Candidate: STALL: client_not_acking (1 connection)</h1>`,
		`<div class="Baseline"><h2>Baseline</h2>`, `<p><b>no stall found</b></p>`,
		`<div class="Candidate"><h2>Candidate</h2>`, `<span class="verdict">client_not_acking</span>`,
		`<code id="candidate-filter-1-0">frame.number in {9,11..12,14}</code>`,
		`<td>NFSv3 READ</td><td class="n">4</td><td class="n">5</td><td class="n">0.0%</td><td class="n">25.0%</td><td class="n">2.00 ms</td><td class="n">8.00 ms</td><td class="n">4.00x</td><td class="n">3.00 ms</td><td class="n">30.0 ms</td><td class="n">10.00x</td>`,
	} {
		if !strings.Contains(page, want) {
			t.Errorf("diff page lacks %s", want)
		}
	}
	for _, ch := range c.Changes {
		if !strings.Contains(page, "<li>"+template.HTMLEscapeString(ch.Summary)+"</li>") {
			t.Errorf("change %q not listed", ch.Summary)
		}
	}
	if len(c.Changes) == 0 || !strings.Contains(page, "<h2>Changes (candidate against baseline)</h2>") {
		t.Error("no changes section")
	}
	// The text diff shows the same row.
	var text bytes.Buffer
	if err := DiffText(&text, c); err != nil {
		t.Fatal(err)
	}
	if !regexp.MustCompile(`NFSv3 READ +4 -> 5 +0\.0% -> 25\.0% +2\.00 ms -> 8\.00 ms +4\.00x +3\.00 ms -> 30\.0 ms +10\.00x`).MatchString(text.String()) {
		t.Errorf("text diff row differs:\n%s", text.String())
	}
}

// TestHTMLCaptureLine: a file cut short, and drops the capture tool
// counted, are said on the file's line in the answer, as in the text.
func TestHTMLCaptureLine(t *testing.T) {
	r := pictureReport()
	drops := uint64(5)
	r.Captures[0].Truncated, r.Captures[0].TruncatedAt, r.Captures[0].IfDrop = true, 8972, &drops
	var out bytes.Buffer
	if err := HTML(&out, r, HTMLOptions{}); err != nil {
		t.Fatal(err)
	}
	want := `<p class="totals file">c.pcap (pcap, ETHERNET): 14 packets, 2026-11-26 00:00:00.000000 UTC to 2026-11-26 00:00:01.000000 UTC, TRUNCATED at byte 8972, 5 dropped by the capture tool</p>`
	if !strings.Contains(out.String(), want) {
		t.Errorf("no %s", want)
	}
}
