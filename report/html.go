package report

import (
	"crypto/sha256"
	"encoding/base64"
	"fmt"
	"html/template"
	"io"
	"math"
	"slices"
	"strconv"
	"strings"
	"time"

	"github.com/nfsstall/nfsstall/analyze"
)

// HTMLOptions are how the HTML report shows what it shows.
type HTMLOptions struct {
	// Location is the time zone of the times shown; nil is UTC.
	Location *time.Location
}

// HTML writes r as one self-contained HTML page: the answer first, then
// each diagnosed connection with its evidence, its Wireshark filter (with
// a copy button) and its pictures, then the tables, bounded as the text
// report's are. Nothing is fetched: the style, the one script (the copy
// button) and the pictures (SVG drawn in svg.go) are in the page, and its
// Content-Security-Policy lets nothing else load or run. Every string
// goes through html/template's escaping.
func HTML(w io.Writer, r *analyze.Report, o HTMLOptions) error {
	return htmlPage.Execute(w, buildPage(r, o))
}

// htmlMarks is the most evidence frames labelled in a connection's
// pictures: as many as the text's Wireshark filter shows.
const htmlMarks = textFilterFrames

// copyScript is the copy button's script. One line: a mail relay that
// rewrites line ends cannot change its hash in the policy. It copies with
// the Clipboard API, and where that is refused (a page from file:// may
// be) selects the filter and tries execCommand, telling the reader.
const copyScript = `document.addEventListener("click",function(e){var b=e.target.closest("button[data-copy]");if(!b)return;var c=document.getElementById(b.getAttribute("data-copy"));if(!c)return;var t=c.textContent;function done(m){b.textContent=m;setTimeout(function(){b.textContent="Copy"},2000)}function sel(){var r=document.createRange();r.selectNodeContents(c);var s=window.getSelection();s.removeAllRanges();s.addRange(r);var ok=false;try{ok=document.execCommand("copy")}catch(x){}done(ok?"Copied":"Selected: press Ctrl+C")}if(navigator.clipboard&&navigator.clipboard.writeText){navigator.clipboard.writeText(t).then(function(){done("Copied")},sel)}else{sel()}});`

// csp allows the page's own style and its one script (by hash), and
// nothing else: no fetch, no image, no other script, even one that got
// past the escaping.
var csp = func() string {
	h := sha256.Sum256([]byte(copyScript))
	return "default-src 'none'; style-src 'unsafe-inline'; script-src 'sha256-" + base64.StdEncoding.EncodeToString(h[:]) + "'; base-uri 'none'; form-action 'none'"
}()

const htmlStyle = `
body{font:15px/1.45 system-ui,-apple-system,"Segoe UI",Roboto,sans-serif;margin:0 auto;max-width:1000px;padding:0 16px 40px;color:#1b1f24;background:#fff}
h1{font-size:26px;margin:0 0 6px}h2{font-size:19px;margin:28px 0 8px;border-bottom:1px solid #d0d7de;padding-bottom:4px}h3{font-size:17px;margin:0 0 6px}
#answer{margin:12px 0;padding:10px 16px;border-radius:8px;border:2px solid #1a7f37;background:#dafbe1}
#answer.stall{border-color:#cf222e;background:#ffebe9}#answer.unproven{border-color:#9a6700;background:#fff8c5}
#answer p{margin:2px 0}.totals{font-size:14px;color:#424a53}.file{font-size:12px}
.diag{border:1px solid #d0d7de;border-radius:8px;padding:10px 16px;margin:12px 0}.diag p,.diag ul{margin:6px 0}
.verdict{font-family:ui-monospace,SFMono-Regular,Menlo,Consolas,monospace;color:#cf222e}
.peers{font-weight:normal;color:#57606a;font-size:14px}
.kind{font-family:ui-monospace,SFMono-Regular,Menlo,Consolas,monospace;font-size:13px}
.filter{display:flex;gap:8px;align-items:center;margin:8px 0;flex-wrap:wrap}
.filter code{background:#f6f8fa;border:1px solid #d0d7de;border-radius:4px;padding:3px 6px;font-size:13px;word-break:break-all}
.filter button{font:inherit;font-size:13px;padding:2px 10px;cursor:pointer}
figure{margin:10px 0}figcaption{font-size:13px;color:#57606a}
svg.graph{width:100%;height:auto;display:block;font:11px system-ui,sans-serif}
svg .plot{fill:#fff;stroke:#8c959f}svg .grid{stroke:#eaeef2}svg .tick{fill:#57606a}svg .axis{fill:#424a53;font-weight:600}
svg .seg{stroke:#0969da;stroke-width:2}svg .retx{stroke:#cf222e;stroke-width:3}
svg .ack{fill:none;stroke:#1a7f37;stroke-width:1.5}svg .win{fill:none;stroke:#8250df;stroke-width:1;stroke-dasharray:4 3}
svg .zerowin{fill:#ffe3c7;stroke:none}svg .call{stroke:#9a6700;stroke-dasharray:5 3}svg .call-label{fill:#9a6700;font-weight:600}
svg .span{stroke:#bc4c00;stroke-width:3}svg .evidence{fill:none;stroke:#cf222e;stroke-width:2}svg .frame-label{fill:#cf222e;font-weight:600}
svg .count{fill:none;stroke:#0969da;stroke-width:1.5}svg .range{stroke:#54aeff;stroke-width:3}svg .mean{fill:none;stroke:#0550ae;stroke-width:1.5}
.legend{font-size:13px;color:#57606a}.legend b{font-weight:600}
table{border-collapse:collapse;font-size:13px;margin:6px 0;width:100%}th,td{border-bottom:1px solid #eaeef2;padding:3px 8px;text-align:left;vertical-align:top}
th{background:#f6f8fa}td.n{text-align:right;font-variant-numeric:tabular-nums}
.more{font-size:13px;color:#57606a}.sev-stall{color:#cf222e;font-weight:600}.sev-warning{color:#9a6700;font-weight:600}
.side{display:grid;grid-template-columns:1fr 1fr;gap:16px}.side>div{border:1px solid #d0d7de;border-radius:8px;padding:10px 14px}
`

// page is what the template shows.
type page struct {
	CSP, Title, Answer, AnswerClass, Totals string
	Captures                                []string
	Notes                                   int // completeness lines and warnings, at the end
	NotesLine                               string
	Diagnoses                               []diagView
	MoreDiagnoses                           string
	FindingsHead                            string
	Findings                                htmlTable
	Unanswered                              htmlTable
	UnansweredNote                          string
	Procedures                              htmlTable
	ProceduresNote                          string
	Latency                                 []template.HTML
	Operations, Sessions, Connections       htmlTable
	ClientsTitle                            string
	Clients                                 htmlTable
	Skipped, Completeness, Warnings         []string
}

// diagView is one diagnosed connection.
type diagView struct {
	Conn           int
	Verdict, Peers string
	Summary        string
	Evidence       []evidenceLine
	MoreEvidence   string
	Filters        []filterView
	Graphs         []figure
	NoGraphs       string
}

type evidenceLine struct{ Kind, Text string }

type filterView struct{ ID, File, Text string }

type figure struct {
	SVG     template.HTML
	Caption string
}

// htmlTable is a bounded table: its rows, and what it left out.
type htmlTable struct {
	Cols []string
	Num  []bool // right-aligned columns
	Rows [][]string
	More string
}

func buildPage(r *analyze.Report, o HTMLOptions) *page {
	loc := o.Location
	if loc == nil {
		loc = time.UTC
	}
	when := func(t analyze.Time) string {
		return time.Unix(0, int64(t)).In(loc).Format("2006-01-02 15:04:05.000000 MST")
	}
	multi := len(r.Captures) > 1
	p := &page{CSP: csp, Answer: stallLine(r), AnswerClass: "ok"}
	p.Title = "nfsstall: " + p.Answer
	if len(r.Diagnoses) > 0 {
		p.AnswerClass = "stall"
	} else if r.Summary.Unproven > 0 || r.Untracked != nil {
		p.AnswerClass = "unproven"
	}
	var packets int64
	for _, c := range r.Captures {
		packets += c.Packets
		span := ""
		if c.Packets > 0 {
			span = ", " + when(c.FirstTime) + " to " + when(c.LastTime)
		}
		if c.Truncated {
			span += fmt.Sprintf(", TRUNCATED at byte %d", c.TruncatedAt)
		}
		if n := c.ToolDropped(); n > 0 {
			span += fmt.Sprintf(", %d dropped by the capture tool", n)
		}
		p.Captures = append(p.Captures, fmt.Sprintf("%s (%s, %s): %d packets%s", c.File, c.Format, c.LinkType, c.Packets, span))
	}
	s := r.Summary
	n2 := func(v int64) int { return int(min(v, 2)) }
	p.Totals = fmt.Sprintf("%d %s, %d packets, %s; %d %s, %d %s, %d %s, %d unanswered, %d RPC %s, %d TCP %s (%d never ACKed), %d zero-window %s",
		len(r.Captures), analyze.Plural(len(r.Captures), "capture", "captures"), packets, analyze.FormatMS(s.DurationMS),
		s.Connections, analyze.Plural(s.Connections, "connection", "connections"),
		s.Calls, analyze.Plural(n2(s.Calls), "call", "calls"), s.Replies, analyze.Plural(n2(s.Replies), "reply", "replies"),
		s.Unanswered, s.RPCRetransmissions, analyze.Plural(n2(s.RPCRetransmissions), "retransmission", "retransmissions"),
		s.TCPRetransmissions, analyze.Plural(n2(s.TCPRetransmissions), "retransmission", "retransmissions"), s.UnackedRetransmissions,
		s.ZeroWindowEpisodes, analyze.Plural(n2(s.ZeroWindowEpisodes), "episode", "episodes"))
	p.Notes = len(r.Completeness) + len(r.Warnings)
	p.NotesLine = fmt.Sprintf("%d %s on what the capture missed or on the input", p.Notes, analyze.Plural(p.Notes, "note", "notes"))
	p.Completeness, p.Warnings = r.Completeness, r.Warnings

	// The diagnoses, the longest stalls first, as many as the text shows.
	order := diagnosisOrder(r)
	for _, i := range order[:min(len(order), textDiagnoses)] {
		p.Diagnoses = append(p.Diagnoses, buildDiag(r, &r.Diagnoses[i], multi, when))
	}
	if n := len(r.Diagnoses) - len(p.Diagnoses); n > 0 {
		verdicts := map[string]int64{}
		for _, i := range order[textDiagnoses:] {
			verdicts[r.Diagnoses[i].Verdict]++
		}
		p.MoreDiagnoses = fmt.Sprintf("and %d more %s with a stall, the %d above being the longest (%s): --format json lists them",
			n, analyze.Plural(n, "connection", "connections"), textDiagnoses, kindCounts(verdicts))
	}

	// Findings no verdict above holds.
	shown := map[int]bool{}
	for _, d := range r.Diagnoses {
		for _, i := range d.Findings {
			shown[i] = true
		}
	}
	groups := groupFindings(r, func(i int) bool { return !shown[i] })
	omitted := omittedFindings(r)
	var listed int64
	bySev := map[string]int64{}
	for _, g := range groups {
		listed += int64(g.n)
		bySev[string(g.severity)] += int64(g.n)
	}
	if listed > 0 || len(omitted) > 0 {
		p.FindingsHead = fmt.Sprintf("%d not under a verdict above (%s)", listed, kindCounts(bySev))
		if len(omitted) > 0 {
			p.FindingsHead += "; counted, not listed: " + kindCounts(omitted)
		}
	}
	p.Findings.Cols = []string{"severity", "kind", "conn", "what"}
	p.Findings.Num = []bool{false, false, true, false}
	for _, g := range groups[:min(len(groups), textFindingLines)] {
		p.Findings.Rows = append(p.Findings.Rows, []string{string(g.severity), g.kind, strconv.Itoa(g.conn),
			strings.TrimPrefix(g.line(r), fmt.Sprintf("%-7s [%s] connection %d: ", g.severity, g.kind, g.conn))})
	}
	if n := len(groups) - textFindingLines; n > 0 {
		rest := map[string]int64{}
		for _, g := range groups[textFindingLines:] {
			rest[g.kind] += int64(g.n)
		}
		p.Findings.More = fmt.Sprintf("and %d more %s (%s): --format json lists them", n, analyze.Plural(n, "line", "lines"), kindCounts(rest))
	}

	// Unanswered calls, the oldest first.
	p.Unanswered.Cols = []string{"conn", "xid", "procedure", "file", "frame", "sent", "age", "sends", "detail"}
	p.Unanswered.Num = []bool{true, false, false, false, true, false, true, true, false}
	young := 0
	for _, u := range r.Unanswered {
		if r.StallAfterMS > 0 && u.AgeMS < r.StallAfterMS {
			young++
		}
	}
	for _, u := range r.Unanswered[:min(len(r.Unanswered), textUnanswered)] {
		detail := u.Detail
		if u.ReplyPartial != "" {
			detail = strings.TrimPrefix(detail+"; "+u.ReplyPartial, "; ")
		}
		p.Unanswered.Rows = append(p.Unanswered.Rows, []string{strconv.Itoa(u.Connection), u.XID.String(),
			u.Label(), u.Path, analyze.FrameLabel(u.Capture, u.Frame, multi),
			when(u.Sent), analyze.FormatMS(u.AgeMS), strconv.Itoa(u.Sends), detail})
	}
	if n := r.Summary.Unanswered - int64(len(p.Unanswered.Rows)); n > 0 && len(p.Unanswered.Rows) > 0 {
		p.Unanswered.More = fmt.Sprintf("and %d more (%d in all; --format json lists the oldest %d)", n, r.Summary.Unanswered, len(r.Unanswered))
	}
	if young > 0 {
		p.UnansweredNote = fmt.Sprintf("%d of these %s: unanswered for less than %s (--stall-after) when the capture ended, too soon after %s to judge.",
			young, analyze.Plural(young, "is not a stall", "are not stalls"), analyze.FormatMS(r.StallAfterMS), analyze.Plural(young, "it", "them"))
	}

	// Procedures and their latency over time.
	p.Procedures.Cols = []string{"procedure", "calls", "replies", "errors", "retrans", "unanswered", "min", "mean", "p50", "p90", "p99", "max", "bytes"}
	p.Procedures.Num = []bool{false, true, true, true, true, true, true, true, true, true, true, true, true}
	for _, pr := range r.Procedures[:min(len(r.Procedures), textProceduresListed)] {
		l := pr.Latency
		lat := []string{"-", "-", "-", "-", "-", "-"}
		if pr.Timed() {
			for i, v := range []float64{l.Min, l.Mean, l.P50, l.P90, l.P99, l.Max} {
				lat[i] = analyze.FormatMS(v)
			}
		}
		row := []string{pr.Label(), i64(pr.Calls), i64(pr.Replies), i64(pr.Errors), i64(pr.Retransmits), i64(pr.Unanswered)}
		p.Procedures.Rows = append(p.Procedures.Rows, append(append(row, lat...), i64(pr.Bytes)))
	}
	if n := len(r.Procedures) - len(p.Procedures.Rows); n > 0 {
		p.Procedures.More = fmt.Sprintf("and %d more procedures (--format json lists them)", n)
	}
	if len(r.Procedures) == 0 {
		p.ProceduresNote = "No RPC calls or replies found on the analysed ports"
		if len(r.Ports) > 0 {
			p.ProceduresNote += " (" + portList(r.Ports) + ")"
		}
		p.ProceduresNote += "."
		if hint := analyze.OtherPortsHint(r.OtherPorts, r.Ports); hint != "" {
			p.ProceduresNote += " " + hint + "."
		}
	}
	for i := range r.LatencyOverTime[:min(len(r.LatencyOverTime), textProceduresListed)] {
		p.Latency = append(p.Latency, latencySVG(&r.LatencyOverTime[i], r.Summary.DurationMS))
	}

	p.Operations.Cols = []string{"operation", "count", "errors"}
	p.Operations.Num = []bool{false, true, true}
	for _, op := range r.Operations[:min(len(r.Operations), textOperations)] {
		p.Operations.Rows = append(p.Operations.Rows, []string{op.Name, i64(op.Count), i64(op.Errors)})
	}
	if n := len(r.Operations) - len(p.Operations.Rows); n > 0 {
		p.Operations.More = fmt.Sprintf("and %d more operations (--format json lists them)", n)
	}
	p.Sessions.Cols = []string{"session", "client", "server", "calls", "slots used at once", "max slotid", "highest slotid"}
	p.Sessions.Num = []bool{false, false, false, true, true, true, true}
	for _, ss := range r.NFS4Sessions {
		p.Sessions.Rows = append(p.Sessions.Rows, []string{ss.SessionID, ss.Client, ss.Server, i64(ss.Calls),
			strconv.Itoa(ss.MaxSlotsInUse), strconv.FormatUint(uint64(ss.MaxSlotID), 10), strconv.FormatUint(uint64(ss.HighestSlotID), 10)})
	}

	if cs, ok := clientsOf(r); ok {
		p.ClientsTitle = cs.Title
		p.Clients = htmlTable{Cols: clientCols, Num: []bool{false, true, true, true, true, false}, Rows: cs.Rows,
			More: strings.Join(cs.More, "; ")}
	}
	p.Connections.Cols = []string{"id", "proto", "client", "server", "first frame", "handshake", "calls", "replies", "unanswered", "bytes c→s", "bytes s→c", "not captured"}
	p.Connections.Num = []bool{true, false, false, false, true, false, true, true, true, true, true, true}
	for _, c := range r.Connections[:min(len(r.Connections), textConnections)] {
		hs := "no (joined mid-stream)"
		if c.Handshake {
			hs = "yes"
		}
		if c.Transport == "udp" {
			hs = "-"
		}
		p.Connections.Rows = append(p.Connections.Rows, []string{strconv.Itoa(c.ID), c.Transport, c.Client, c.Server,
			analyze.FrameLabel(c.Capture, c.FirstFrame, multi), hs, i64(c.Calls), i64(c.Replies), i64(c.Unanswered),
			i64(c.BytesToSrv), i64(c.BytesToCli), i64(c.MissingBytes)})
	}
	if n := r.Summary.Connections - len(p.Connections.Rows); n > 0 && len(p.Connections.Rows) > 0 {
		p.Connections.More = fmt.Sprintf("and %d more (%d in all; --format json lists %d in full and sums the rest per client and server)",
			n, r.Summary.Connections, len(r.Connections))
	}
	for _, sk := range r.Skipped {
		p.Skipped = append(p.Skipped, fmt.Sprintf("%d %s: %s", sk.Count, sk.What, sk.Reason))
	}
	if r.Untracked != nil {
		p.Skipped = append(p.Skipped, "not analysed: "+untrackedNote(r.Untracked))
	}
	return p
}

func i64(v int64) string { return strconv.FormatInt(v, 10) }

// diagnosisGroups are a diagnosis' findings, those of one kind summed in
// one group, in the verdict's own order: its main evidence first.
func diagnosisGroups(r *analyze.Report, d *analyze.Diagnosis) []*findingGroup {
	groups := groupFindings(r, func(j int) bool { return slices.Contains(d.Findings, j) })
	pos := func(g *findingGroup) int {
		p := len(d.Findings)
		for k, j := range d.Findings {
			if f := r.Findings[j]; f.Kind == g.kind && f.Severity == g.severity && f.Connection == g.conn {
				p = min(p, k)
			}
		}
		return p
	}
	slices.SortStableFunc(groups, func(a, b *findingGroup) int { return pos(a) - pos(b) })
	return groups
}

// timeOrigin is the time TimeMS counts from: the first packet of the
// captures.
func timeOrigin(r *analyze.Report) analyze.Time {
	var t0 analyze.Time
	for _, c := range r.Captures {
		if c.Packets > 0 && (t0 == 0 || c.FirstTime < t0) {
			t0 = c.FirstTime
		}
	}
	return t0
}

func buildDiag(r *analyze.Report, d *analyze.Diagnosis, multi bool, when func(analyze.Time) string) diagView {
	v := diagView{Conn: d.Connection, Verdict: d.Verdict, Summary: d.Summary}
	for _, c := range r.Connections {
		if c.ID == d.Connection {
			v.Peers = c.Client + " → " + c.Server + " (" + c.Transport + ")"
		}
	}
	groups := diagnosisGroups(r, d)
	for _, g := range groups[:min(len(groups), textFindingsPerDiag)] {
		v.Evidence = append(v.Evidence, evidenceLine{g.kind, strings.TrimPrefix(g.line(r), fmt.Sprintf("%-7s [%s] connection %d: ", g.severity, g.kind, g.conn))})
	}
	if n := len(groups) - textFindingsPerDiag; n > 0 {
		rest := map[string]int64{}
		for _, g := range groups[textFindingsPerDiag:] {
			rest[g.kind] += int64(g.n)
		}
		v.MoreEvidence = fmt.Sprintf("and %s more (%s): --format json lists them", analyze.Plural(n, "1 line", fmt.Sprintf("%d lines", n)), kindCounts(rest))
	}
	for i, wf := range d.WiresharkFilters {
		f := filterView{ID: fmt.Sprintf("filter-%d-%d", d.Connection, i), Text: textFilter(wf)}
		if multi && wf.Capture < len(r.Captures) {
			f.File = r.Captures[wf.Capture].File
		}
		v.Filters = append(v.Filters, f)
	}
	var tl *analyze.Timeline
	for i := range r.Timelines {
		if r.Timelines[i].Connection == d.Connection {
			tl = &r.Timelines[i]
		}
	}
	if tl == nil {
		v.NoGraphs = "No timeline of this connection in the report: nothing to draw."
		return v
	}
	v.Graphs = connectionGraphs(r, d, tl, multi)
	return v
}

// connectionGraphs draws a diagnosed connection: a time–sequence graph
// per direction that carried data (the direction of the evidence first),
// then the calls outstanding.
func connectionGraphs(r *analyze.Report, d *analyze.Diagnosis, tl *analyze.Timeline, multi bool) []figure {
	origin := timeOrigin(r)
	rel := func(t analyze.Time) float64 { return float64(t-origin) / 1e6 }
	tEnd := r.Summary.DurationMS
	t0 := math.Inf(1)
	for _, sp := range tl.Segments {
		t0 = min(t0, sp.TimeMS)
	}
	for _, a := range tl.Acks {
		t0 = min(t0, a.TimeMS)
	}
	for _, c := range tl.Outstanding {
		t0 = min(t0, c.TimeMS)
	}
	var marks []evidenceMark
	var spans []findingSpan
	var calls []callMark
	seen := map[[2]int64]bool{}
	for _, fi := range d.Findings {
		f := &r.Findings[fi]
		about := "[" + f.Kind + "] " + f.Summary
		if f.Path != "" {
			about += " (file " + f.Path + ")"
		}
		if len(spans) < htmlMarks {
			spans = append(spans, findingSpan{kind: f.Kind, from: rel(f.Start), to: rel(f.Start) + f.DurationMS, title: about})
			t0 = min(t0, rel(f.Start))
		}
		if f.Kind == "unanswered_call" && len(calls) < htmlMarks {
			label := "stuck call"
			if f.XID != nil {
				label += " " + f.XID.String()
			}
			calls = append(calls, callMark{t: rel(f.Start), label: label, title: about})
		}
		for k, fr := range f.Frames {
			c := f.Capture
			if k < len(f.FrameCaptures) {
				c = f.FrameCaptures[k]
			}
			key := [2]int64{int64(c), fr}
			if seen[key] || len(marks) >= htmlMarks {
				continue
			}
			seen[key] = true
			label := analyze.FrameLabel(c, fr, multi)
			marks = append(marks, evidenceMark{capture: c, frame: fr, label: label, title: "frame " + label + ": " + about})
		}
	}
	if math.IsInf(t0, 1) {
		t0 = 0
	}
	// Zero-window periods: the zero_window findings of the connection
	// (the advertiser known from their frames among the ACKs), and runs
	// of zero-window ACKs in the timeline.
	ackFrom := map[[2]int64]bool{}
	for _, a := range tl.Acks {
		ackFrom[[2]int64{int64(a.Capture), a.Frame}] = a.FromServer
	}
	var shades [2][]interval // by the direction of the data held up: [0] client's, [1] server's
	addShade := func(advertiserServer, known bool, iv interval) {
		switch {
		case !known:
			shades[0] = append(shades[0], iv)
			shades[1] = append(shades[1], iv)
		case advertiserServer:
			shades[0] = append(shades[0], iv)
		default:
			shades[1] = append(shades[1], iv)
		}
	}
	for _, f := range r.Findings {
		if f.Connection != d.Connection || f.Kind != "zero_window" {
			continue
		}
		fromServer, known := false, false
		for _, fr := range f.Frames {
			if s, ok := ackFrom[[2]int64{int64(f.Capture), fr}]; ok {
				fromServer, known = s, true
				break
			}
		}
		addShade(fromServer, known, interval{rel(f.Start), rel(f.Start) + f.DurationMS})
	}
	for _, side := range []bool{false, true} {
		open := -1.0
		for _, a := range tl.Acks {
			if a.FromServer != side {
				continue
			}
			if a.Window == 0 && open < 0 {
				open = a.TimeMS
			} else if a.Window != 0 && open >= 0 {
				addShade(side, true, interval{open, a.TimeMS})
				open = -1
			}
		}
		if open >= 0 {
			addShade(side, true, interval{open, tEnd})
		}
	}
	// Directions: those with data or ACKs of it; the evidence's first.
	has := [2]bool{}
	for _, sp := range tl.Segments {
		has[b2i(sp.FromServer)] = true
	}
	for _, a := range tl.Acks {
		has[b2i(!a.FromServer)] = true
	}
	first, ok := stuckData[d.Verdict]
	if !ok {
		// The direction of the first evidence frame that carried data.
		first = true
		segDir := map[[2]int64]bool{}
		for _, sp := range tl.Segments {
			segDir[[2]int64{int64(sp.Capture), sp.Frame}] = sp.FromServer
		}
		for _, m := range marks {
			if s, ok := segDir[[2]int64{int64(m.capture), m.frame}]; ok {
				first = s
				break
			}
		}
	}
	var out []figure
	for _, dir := range []bool{first, !first} {
		if !has[b2i(dir)] {
			continue
		}
		g := &tseqGraph{conn: d.Connection, fromServer: dir, multi: multi, t0: t0, tEnd: tEnd, tl: tl,
			shades: shades[b2i(dir)], marks: marks, spans: spans, calls: calls}
		out = append(out, figure{SVG: g.svg(), Caption: fmt.Sprintf("Connection %d, data %s: blue data segments by relative sequence number over time, red retransmissions, green the %s's ACK, dashed purple its ACK + receive window, orange shading zero-window periods; circled frames are the evidence, hover for details.",
			d.Connection, direction(dir), map[bool]string{true: "client", false: "server"}[dir])})
	}
	caption := fmt.Sprintf("Connection %d: calls waiting for a reply over time.", d.Connection)
	if n := tl.DroppedOutstanding; n > 0 {
		caption += fmt.Sprintf(" The oldest %d changes are not kept (the timeline is bounded).", n)
	}
	out = append(out, figure{SVG: outstandingSVG(tl, t0, tEnd), Caption: caption})
	if tl.DroppedSegments > 0 || tl.DroppedAcks > 0 {
		for i := range out[:len(out)-1] {
			out[i].Caption += fmt.Sprintf(" The oldest %d data segments and %d ACKs are not kept (the timeline is bounded): the graph begins later than the connection.",
				tl.DroppedSegments, tl.DroppedAcks)
		}
	}
	return out
}

// stuckData says, per verdict, whose data the first picture shows (true:
// the server's): the data that did not get through, or the calls that got
// no answer.
var stuckData = map[string]bool{
	"client_not_acking":    true,
	"client_window_closed": true,
	"server_not_acking":    false,
	"server_window_closed": false,
	"server_not_replying":  false,
	"reconnect_failing":    false,
}

func b2i(b bool) int {
	if b {
		return 1
	}
	return 0
}

var htmlPage = template.Must(template.New("page").Parse(`<!DOCTYPE html>
<html lang="en"><head><meta charset="utf-8">
<meta http-equiv="Content-Security-Policy" content="{{.CSP}}">
<meta name="viewport" content="width=device-width, initial-scale=1">
<title>{{.Title}}</title>
<style>` + htmlStyle + `</style>
</head><body>
<section id="answer" class="{{.AnswerClass}}">
<h1 id="verdict">{{.Answer}}</h1>
<p class="totals">{{.Totals}}</p>
{{range .Captures}}<p class="totals file">{{.}}</p>
{{end}}{{if gt (len .Diagnoses) 1}}{{range .Diagnoses}}<p class="jump"><a href="#connection-{{.Conn}}">connection {{.Conn}}: {{.Verdict}}</a> <span class="peers">{{.Peers}}</span></p>
{{end}}{{end}}{{if .Notes}}<p><a href="#notes">{{.NotesLine}}</a>: read {{if eq .Notes 1}}it{{else}}them{{end}} before trusting a "no stall".</p>{{end}}
</section>
{{if .Diagnoses}}
{{range .Diagnoses}}<article class="diag" id="connection-{{.Conn}}" data-connection="{{.Conn}}">
<h3>Connection {{.Conn}}: <span class="verdict">{{.Verdict}}</span> <span class="peers">{{.Peers}}</span></h3>
<p class="summary">{{.Summary}}</p>
<ul class="evidence">{{range .Evidence}}<li><span class="kind">[{{.Kind}}]</span> {{.Text}}</li>{{end}}{{if .MoreEvidence}}<li class="more">{{.MoreEvidence}}</li>{{end}}</ul>
{{range .Filters}}<div class="filter"><span>Wireshark{{if .File}}, in {{.File}}{{end}}:</span> <code id="{{.ID}}">{{.Text}}</code> <button type="button" data-copy="{{.ID}}">Copy</button></div>
{{end}}{{range .Graphs}}<figure>{{.SVG}}<figcaption>{{.Caption}}</figcaption></figure>
{{end}}{{if .NoGraphs}}<p class="more">{{.NoGraphs}}</p>{{end}}
</article>
{{end}}{{if .MoreDiagnoses}}<p class="more">{{.MoreDiagnoses}}</p>{{end}}{{end}}
{{define "table"}}<table><thead><tr>{{range .Cols}}<th>{{.}}</th>{{end}}</tr></thead><tbody>
{{range .Rows}}<tr>{{range $i, $c := .}}<td{{if index $.Num $i}} class="n"{{end}}>{{$c}}</td>{{end}}</tr>
{{end}}</tbody></table>{{if .More}}<p class="more">{{.More}}</p>{{end}}{{end}}
{{if .FindingsHead}}<h2>Findings</h2><p>{{.FindingsHead}}</p>{{if .Findings.Rows}}{{template "table" .Findings}}{{end}}{{end}}
{{if .Unanswered.Rows}}<h2>Unanswered calls</h2><p class="more">No reply by the end of the capture, the oldest first.</p>{{template "table" .Unanswered}}{{if .UnansweredNote}}<p>{{.UnansweredNote}}</p>{{end}}{{end}}
<h2>Procedures</h2>{{if .ProceduresNote}}<p>{{.ProceduresNote}}</p>{{else}}<p class="more">Latency in ms, from the first transmission of each call.</p>{{template "table" .Procedures}}{{end}}
{{if .Latency}}<h3>Latency over time</h3><p class="legend">Per procedure: a bar from the fastest to the slowest reply in each interval, the line the mean (log scale).</p>
{{range .Latency}}<figure>{{.}}</figure>
{{end}}{{end}}
{{if .Operations.Rows}}<h2>NFSv4 operations</h2><p class="more">Inside every COMPOUND call; errors: results that failed.</p>{{template "table" .Operations}}{{end}}
{{if .Sessions.Rows}}<h2>NFSv4.1 sessions</h2>{{template "table" .Sessions}}{{end}}
{{if .Clients.Rows}}<h2 id="clients">{{.ClientsTitle}}</h2>{{template "table" .Clients}}{{end}}
{{if .Connections.Rows}}<h2>Connections</h2>{{template "table" .Connections}}{{end}}
{{if .Skipped}}<h2>Not analysed</h2><ul>{{range .Skipped}}<li>{{.}}</li>{{end}}</ul>{{end}}
{{if .Notes}}<h2 id="notes">What the capture missed, warnings</h2><ul>{{range .Completeness}}<li>capture: {{.}}</li>{{end}}{{range .Warnings}}<li>warning: {{.}}</li>{{end}}</ul>{{end}}
<script>` + copyScript + `</script>
</body></html>
`))
