package report

import (
	"fmt"
	"io"
	"strings"
	"text/tabwriter"
	"time"

	"github.com/nfsstall/nfsstall/analyze"
)

// TextOptions are how the text report shows what it shows.
type TextOptions struct {
	// Width is the widest a line of prose may be (the command: the
	// terminal's, 80 when not a terminal, 0 with --wide); 0 does not
	// break lines. Tables and Wireshark filters are never broken (a
	// filter is pasted whole).
	Width int
	// Location is the time zone of the times shown (tcpdump shows local
	// time; the command passes time.Local unless --utc); nil is UTC.
	Location *time.Location
}

// Text writes r for people, times in UTC: what is wrong first, then the
// tables.
func Text(w io.Writer, r *analyze.Report) error { return TextWith(w, r, TextOptions{}) }

// TextWith is Text with options.
func TextWith(w io.Writer, r *analyze.Report, o TextOptions) error {
	loc := o.Location
	if loc == nil {
		loc = time.UTC
	}
	tw := &errWriter{w: w, loc: loc, width: o.Width}
	header(tw, r)
	diagnoses(tw, r)
	findings(tw, r)
	clients(tw, r) // clients.go
	unanswered(tw, r)
	procedures(tw, r)
	operations(tw, r)
	sessions(tw, r)
	connections(tw, r)
	skipped(tw, r)
	return tw.err
}

// errWriter keeps the first write error so the renderers stay readable.
type errWriter struct {
	w     io.Writer
	err   error
	loc   *time.Location // the time zone of the times shown
	width int            // of prose lines; 0: not broken (wrap.go)
}

// time formats t in the report's time zone, the zone named: times from the
// capture are compared with logs and tcpdump output, both local.
func (e *errWriter) time(t analyze.Time) string {
	return time.Unix(0, int64(t)).In(e.loc).Format("2006-01-02 15:04:05.000000 MST")
}

func (e *errWriter) Write(p []byte) (int, error) {
	if e.err != nil {
		return len(p), nil
	}
	_, e.err = e.w.Write(p)
	return len(p), nil
}

func (e *errWriter) printf(format string, args ...any) { fmt.Fprintf(e, format, args...) }

func table(w io.Writer) *tabwriter.Writer { return tabwriter.NewWriter(w, 0, 0, 2, ' ', 0) }

// titled prints a section of n entries: its title, what body prints, and a
// blank line; nothing when n is 0.
func titled(w *errWriter, title string, n int, body func()) {
	if n == 0 {
		return
	}
	w.printf("%s\n", title)
	body()
	w.printf("\n")
}

// tableSection prints a titled section of n rows as a table: the column
// names, then the rows that rows writes, aligned in columns.
func tableSection(w *errWriter, title, columns string, n int, rows func(t io.Writer)) {
	titled(w, title, n, func() {
		t := table(w)
		io.WriteString(t, columns)
		rows(t)
		t.Flush()
	})
}

func header(w *errWriter, r *analyze.Report) {
	var packets int64
	for _, c := range r.Captures {
		packets += c.Packets
	}
	s := r.Summary
	w.printf("nfsstall: %d %s, %d packets, %s\n", len(r.Captures), analyze.Plural(len(r.Captures), "capture", "captures"),
		packets, analyze.FormatMS(s.DurationMS))
	for i, c := range r.Captures {
		format := c.Format
		if c.Compressed {
			format += ", " + c.Compression
		}
		links := c.LinkType
		if len(c.LinkTypes) > 1 {
			links = strings.Join(c.LinkTypes, "+")
		}
		extra := ""
		if c.Truncated {
			extra = fmt.Sprintf(", TRUNCATED at byte %d", c.TruncatedAt)
		}
		if n := c.ToolDropped(); n > 0 {
			extra += fmt.Sprintf(", %d dropped by the capture tool", n)
		}
		span := ""
		if c.Packets > 0 {
			span = fmt.Sprintf(", %s to %s", w.time(c.FirstTime), w.time(c.LastTime))
		}
		w.para(fmt.Sprintf("  [%d] ", i), "      ", fmt.Sprintf("%s (%s, %s, snaplen %d): %d packets%s%s", c.File, format, links, c.Snaplen, c.Packets, span, extra))
	}
	n := func(v int64) int { return int(min(v, 2)) }
	w.para("  ", "    ", fmt.Sprintf("%d %s, %d %s, %d %s, %d unanswered, %d RPC %s",
		s.Connections, analyze.Plural(s.Connections, "connection", "connections"),
		s.Calls, analyze.Plural(n(s.Calls), "call", "calls"), s.Replies, analyze.Plural(n(s.Replies), "reply", "replies"),
		s.Unanswered, s.RPCRetransmissions, analyze.Plural(n(s.RPCRetransmissions), "retransmission", "retransmissions")))
	w.para("  ", "    ", stallLine(r))
	for _, m := range r.Completeness {
		w.para("  capture: ", "    ", m)
	}
	for _, m := range r.Warnings {
		w.para("  warning: ", "    ", m)
	}
	w.printf("\n")
}

func diagnoses(w *errWriter, r *analyze.Report) {
	// The longest stalls are named: the first few in full, the next on a
	// line each; the rest are counted.
	shown, full := map[int]bool{}, map[int]bool{}
	for k, i := range diagnosisOrder(r)[:min(len(r.Diagnoses), textDiagnoses)] {
		shown[i] = true
		full[i] = k < textDiagnosesFull
	}
	titled(w, "DIAGNOSIS", len(r.Diagnoses), func() {
		for i, d := range r.Diagnoses {
			if !full[i] {
				continue
			}
			w.printf("  connection %d: %s\n", d.Connection, d.Verdict)
			w.para("    ", "    ", d.Summary)
			// Each summary names its evidence frames; JSON lists them all.
			// Repeated findings of a kind are summed in one line.
			groups := diagnosisGroups(r, &d)
			for _, g := range groups[:min(len(groups), textFindingsPerDiag)] {
				w.para("    - ", "      ", fmt.Sprintf("[%s] %s", g.kind, strings.TrimPrefix(g.line(r), fmt.Sprintf("%-7s [%s] connection %d: ", g.severity, g.kind, g.conn))))
			}
			if n := len(groups) - textFindingsPerDiag; n > 0 {
				rest := map[string]int64{}
				for _, g := range groups[textFindingsPerDiag:] {
					rest[g.kind] += int64(g.n)
				}
				w.para("    - ", "      ", fmt.Sprintf("and %s more (%s): --format json lists them", analyze.Plural(n, "1 line", fmt.Sprintf("%d lines", n)), kindCounts(rest)))
			}
			for _, wf := range d.WiresharkFilters {
				f := textFilter(wf)
				if len(r.Captures) > 1 {
					w.printf("    Wireshark, in %s: %s\n", r.Captures[wf.Capture].File, f)
				} else {
					w.printf("    Wireshark: %s\n", f)
				}
			}
		}
		for i, d := range r.Diagnoses {
			if shown[i] && !full[i] {
				w.para("  ", "    ", briefDiagnosis(r, d))
			}
		}
		if n := len(r.Diagnoses) - len(shown); n > 0 {
			verdicts := map[string]int64{}
			for i, d := range r.Diagnoses {
				if !shown[i] {
					verdicts[d.Verdict]++
				}
			}
			w.para("  ", "    ", fmt.Sprintf("and %d more %s with a stall, the %d above being the longest (%s): --format json lists them",
				n, analyze.Plural(n, "connection", "connections"), textDiagnoses, kindCounts(verdicts)))
		}
	})
}

// findings lists the findings no diagnosis already showed, the worst
// first, those of one kind on one connection summed in one line, at most
// textFindingLines lines; the heading gives the totals, the findings the
// analysis counted but did not list included.
func findings(w *errWriter, r *analyze.Report) {
	shown := map[int]bool{}
	for _, d := range r.Diagnoses {
		for _, i := range d.Findings {
			shown[i] = true
		}
	}
	groups := groupFindings(r, func(i int) bool { return !shown[i] })
	omitted := omittedFindings(r)
	var listed, total int64
	bySev := map[analyze.Severity]int64{}
	for _, g := range groups {
		listed += int64(g.n)
		bySev[g.severity] += int64(g.n)
	}
	total = listed
	for _, n := range omitted {
		total += n
	}
	if total == 0 {
		return
	}
	var sev []string
	for _, s := range []analyze.Severity{analyze.SeverityStall, analyze.SeverityWarning, analyze.SeverityInfo} {
		if bySev[s] > 0 {
			sev = append(sev, fmt.Sprintf("%d %s", bySev[s], s))
		}
	}
	head := fmt.Sprintf("FINDINGS (%d not under a verdict above: %s", listed, strings.Join(sev, ", "))
	if listed == 0 {
		head = "FINDINGS (those listed are all under a verdict above"
	}
	if n := total - listed; n > 0 {
		head += fmt.Sprintf("; and %d more counted, not listed: %s", n, kindCounts(omitted))
	}
	w.para("", "  ", head+")")
	for _, g := range groups[:min(len(groups), textFindingLines)] {
		w.para("  ", "    ", g.line(r))
	}
	if n := len(groups) - textFindingLines; n > 0 {
		rest := map[string]int64{}
		for _, g := range groups[textFindingLines:] {
			rest[g.kind] += int64(g.n)
		}
		w.para("  ", "    ", fmt.Sprintf("... and %d more %s (%s): --format json lists them", n, analyze.Plural(n, "line", "lines"), kindCounts(rest)))
	}
	w.printf("\n")
}

func unanswered(w *errWriter, r *analyze.Report) {
	rows := r.Unanswered[:min(len(r.Unanswered), textUnanswered)]
	tableSection(w, "UNANSWERED CALLS (no reply by the end of the capture, the oldest first)", "  conn\txid\tprocedure\tframe\tsent\tage\tsends\tdetail\n", len(rows), func(t io.Writer) {
		for _, u := range rows {
			frame := analyze.FrameLabel(u.Capture, u.Frame, len(r.Captures) > 1)
			detail := u.Detail
			if u.ReplyPartial != "" {
				detail = strings.TrimPrefix(detail+"; "+u.ReplyPartial, "; ")
			}
			fmt.Fprintf(t, "  %d\t%s\t%s\t%s\t%s\t%s\t%d\t%s\n", u.Connection, u.XID, u.Label(),
				frame, w.time(u.Sent), analyze.FormatMS(u.AgeMS), u.Sends, detail)
		}
		if n := r.Summary.Unanswered - int64(len(rows)); n > 0 {
			fmt.Fprintf(t, "  ... and %d more (%d in all; --format json lists the oldest %d)\n", n, r.Summary.Unanswered, len(r.Unanswered))
		}
	})
	// Why a call listed here is not a stall when it is not one.
	young := 0
	for _, u := range r.Unanswered {
		if r.StallAfterMS > 0 && u.AgeMS < r.StallAfterMS {
			young++
		}
	}
	if young > 0 {
		w.para("", "  ", fmt.Sprintf("%d of these %s: unanswered for less than %s (--stall-after) when the capture ended, too soon after %s to judge.",
			young, analyze.Plural(young, "is not a stall", "are not stalls"), analyze.FormatMS(r.StallAfterMS), analyze.Plural(young, "it", "them")))
		w.printf("\n")
	}
}

func procedures(w *errWriter, r *analyze.Report) {
	if len(r.Procedures) == 0 {
		if r.Summary.Replies > 0 {
			// Replies whose calls are not in the capture have no procedure.
			w.printf("No RPC calls found on the analysed ports (%d %s whose calls are not in the capture).\n\n",
				r.Summary.Replies, analyze.Plural(int(r.Summary.Replies), "reply", "replies"))
			return
		}
		ports := ""
		if len(r.Ports) > 0 {
			ports = " (" + portList(r.Ports) + ")"
		}
		w.printf("No RPC calls or replies found on the analysed ports%s.\n", ports)
		if hint := analyze.OtherPortsHint(r.OtherPorts, r.Ports); hint != "" {
			w.para("", "  ", hint+".")
		}
		w.printf("\n")
		return
	}
	rows := r.Procedures[:min(len(r.Procedures), textProceduresListed)]
	tableSection(w, "PROCEDURES (latency from the first transmission of each call)", "  procedure\tcalls\treplies\terrors\tretrans\tunanswered\tmin\tmean\tp50\tp90\tp99\tmax\tbytes\n", len(rows), func(t io.Writer) {
		if n := len(r.Procedures) - len(rows); n > 0 {
			defer fmt.Fprintf(t, "  ... and %d more procedures (--format json lists them)\n", n)
		}
		for _, p := range rows {
			l := p.Latency
			lat := "-\t-\t-\t-\t-\t-"
			if p.Timed() {
				lat = strings.Join([]string{analyze.FormatMS(l.Min), analyze.FormatMS(l.Mean), analyze.FormatMS(l.P50),
					analyze.FormatMS(l.P90), analyze.FormatMS(l.P99), analyze.FormatMS(l.Max)}, "\t")
			}
			fmt.Fprintf(t, "  %s\t%d\t%d\t%d\t%d\t%d\t%s\t%d\n", p.Label(),
				p.Calls, p.Replies, p.Errors, p.Retransmits, p.Unanswered, lat, p.Bytes)
		}
	})
}

func connections(w *errWriter, r *analyze.Report) {
	rows := r.Connections[:min(len(r.Connections), textConnections)]
	tableSection(w, "CONNECTIONS", "  id\tproto\tclient\tserver\tfirst frame\thandshake\tcalls\treplies\tunanswered\tbytes c->s\tbytes s->c\tnot captured\n", len(rows), func(t io.Writer) {
		defer func() {
			if n := r.Summary.Connections - len(rows); n > 0 {
				fmt.Fprintf(t, "  ... and %d more (%d in all; --format json lists %d in full and sums the rest per client and server)\n",
					n, r.Summary.Connections, len(r.Connections))
			}
		}()
		for _, c := range rows {
			frame := analyze.FrameLabel(c.Capture, c.FirstFrame, len(r.Captures) > 1)
			hs := "no (joined mid-stream)"
			if c.Handshake {
				hs = "yes"
			}
			if c.Transport == "udp" {
				hs = "-"
			}
			fmt.Fprintf(t, "  %d\t%s\t%s\t%s\t%s\t%s\t%d\t%d\t%d\t%d\t%d\t%d\n", c.ID, c.Transport, c.Client, c.Server, frame, hs,
				c.Calls, c.Replies, c.Unanswered, c.BytesToSrv, c.BytesToCli, c.MissingBytes)
		}
	})
}

func skipped(w *errWriter, r *analyze.Report) {
	titled(w, "NOT ANALYSED", len(r.Skipped), func() {
		for _, s := range r.Skipped {
			w.para("  ", "    ", fmt.Sprintf("%d %s: %s", s.Count, s.What, s.Reason))
		}
	})
}

// portList writes ports as "2049, 20048".
func portList(ports []uint16) string {
	s := make([]string, len(ports))
	for i, p := range ports {
		s[i] = fmt.Sprint(p)
	}
	return strings.Join(s, ", ")
}

// stallLine is the one-line answer: which verdicts, on how many
// connections, or that there is no stall.
func stallLine(r *analyze.Report) string {
	if len(r.Diagnoses) == 0 {
		line := "no stall found"
		if n := r.Summary.Unproven; n > 0 {
			// Silence the capture cannot vouch for: not "no stall".
			line = fmt.Sprintf("no stall proven: %d %s would be %s but rest on what the capture did not see (the capture: lines say what)",
				n, analyze.Plural(int(min(n, 2)), "finding", "findings"), analyze.Plural(int(min(n, 2)), "a stall", "stalls"))
		}
		if n := tooYoung(r); n > 0 {
			// What --stall-after kept from being a stall, said at once.
			line += fmt.Sprintf("; %d too young to judge: lasting less than --stall-after (%s) when the capture ended",
				n, analyze.FormatMS(r.StallAfterMS))
		}
		if u := r.Untracked; u != nil {
			return line + " among the tracked connections and calls; not analysed: " + untrackedNote(u)
		}
		return line
	}
	var parts []string
	count := map[string]int{}
	for _, d := range r.Diagnoses {
		if count[d.Verdict] == 0 {
			parts = append(parts, d.Verdict)
		}
		count[d.Verdict]++
	}
	for i, v := range parts {
		parts[i] = fmt.Sprintf("%s (%d %s)", v, count[v], analyze.Plural(count[v], "connection", "connections"))
	}
	return "STALL: " + strings.Join(parts, ", ")
}

// untrackedNote says what the analysis stopped tracking at its bounds.
func untrackedNote(u *analyze.Untracked) string {
	var parts []string
	if u.RefusedPackets > 0 {
		parts = append(parts, fmt.Sprintf("%d %s of new connections refused while the connection table was full (%d connections at once, the most tracked)",
			u.RefusedPackets, analyze.Plural(int(min(u.RefusedPackets, 2)), "packet", "packets"), u.MaxConnections))
	}
	if u.Calls > 0 {
		parts = append(parts, fmt.Sprintf("%d RPC %s not tracked for a reply (%d waiting at once in all, %d per connection)",
			u.Calls, analyze.Plural(int(min(u.Calls, 2)), "call", "calls"), u.MaxCalls, u.MaxCallsPerConn))
	}
	return strings.Join(parts, "; ")
}

// tooYoung counts what would be a stall had it lasted --stall-after by
// the end of the capture: findings so marked, and the unanswered calls
// listed that are younger.
func tooYoung(r *analyze.Report) int {
	n := 0
	for _, f := range r.Findings {
		if f.TooYoung {
			n++
		}
	}
	for _, u := range r.Unanswered {
		if r.StallAfterMS > 0 && u.AgeMS < r.StallAfterMS {
			n++
		}
	}
	return n
}
