package report

import (
	"fmt"
	"io"
	"maps"
	"slices"
	"strings"
	"text/tabwriter"

	"nfsstall/analyze"
)

// Text writes r for people: what is wrong first, then the tables.
func Text(w io.Writer, r *analyze.Report) error {
	tw := &errWriter{w: w}
	header(tw, r)
	diagnoses(tw, r)
	findings(tw, r)
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
	w   io.Writer
	err error
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
			span = fmt.Sprintf(", %s to %s", c.FirstTime, c.LastTime)
		}
		w.printf("  [%d] %s (%s, %s, snaplen %d): %d packets%s%s\n", i, c.File, format, links, c.Snaplen, c.Packets, span, extra)
	}
	w.printf("  %d %s, %d calls, %d replies, %d unanswered, %d RPC retransmissions\n",
		s.Connections, analyze.Plural(s.Connections, "connection", "connections"), s.Calls, s.Replies, s.Unanswered, s.RPCRetransmissions)
	w.printf("  %s\n", stallLine(r))
	for _, m := range r.Completeness {
		w.printf("  capture: %s\n", m)
	}
	for _, m := range r.Warnings {
		w.printf("  warning: %s\n", m)
	}
	w.printf("\n")
}

func diagnoses(w *errWriter, r *analyze.Report) {
	titled(w, "DIAGNOSIS", len(r.Diagnoses), func() {
		for _, d := range r.Diagnoses {
			w.printf("  connection %d: %s\n    %s\n", d.Connection, d.Verdict, d.Summary)
			for _, i := range d.Findings {
				f := r.Findings[i]
				// Each summary names its evidence frames; JSON lists them all.
				w.printf("    - [%s] %s\n", f.Kind, f.Summary)
			}
			for _, wf := range d.WiresharkFilters {
				if len(r.Captures) > 1 {
					w.printf("    Wireshark, in %s: %s\n", r.Captures[wf.Capture].File, wf.Filter)
				} else {
					w.printf("    Wireshark: %s\n", wf.Filter)
				}
			}
		}
	})
}

// textPerKind bounds the findings of one kind printed in text; JSON has
// them all.
const textPerKind = 20

// findings lists the findings no diagnosis already showed.
func findings(w *errWriter, r *analyze.Report) {
	shown := map[int]bool{}
	for _, d := range r.Diagnoses {
		for _, i := range d.Findings {
			shown[i] = true
		}
	}
	perKind := map[string]int{}
	header := false
	for i, f := range r.Findings {
		if shown[i] {
			continue
		}
		perKind[f.Kind]++
		if perKind[f.Kind] > textPerKind {
			continue
		}
		if !header {
			w.printf("FINDINGS\n")
			header = true
		}
		w.printf("  %-7s [%s] connection %d: %s\n", f.Severity, f.Kind, f.Connection, f.Summary)
	}
	kinds := slices.Sorted(maps.Keys(perKind)) // a stable report
	for _, kind := range kinds {
		if n := perKind[kind]; n > textPerKind {
			w.printf("  ... and %d more %s findings (all are in --format json)\n", n-textPerKind, kind)
		}
	}
	if header {
		w.printf("\n")
	}
}

func unanswered(w *errWriter, r *analyze.Report) {
	tableSection(w, "UNANSWERED CALLS (no reply by the end of the capture)", "  conn\txid\tprocedure\tframe\tsent\tage\tsends\tdetail\n", len(r.Unanswered), func(t io.Writer) {
		for _, u := range r.Unanswered {
			frame := analyze.FrameLabel(u.Capture, u.Frame, len(r.Captures) > 1)
			detail := u.Detail
			if u.ReplyPartial != "" {
				detail = strings.TrimPrefix(detail+"; "+u.ReplyPartial, "; ")
			}
			fmt.Fprintf(t, "  %d\t%s\t%s\t%s\t%s\t%s\t%d\t%s\n", u.Connection, u.XID, analyze.ProcLabel(u.ProgramName, u.Version, u.Procedure, false),
				frame, u.Sent, analyze.FormatMS(u.AgeMS), u.Sends, detail)
		}
	})
}

func procedures(w *errWriter, r *analyze.Report) {
	if len(r.Procedures) == 0 {
		if r.Summary.Replies > 0 {
			// Replies whose calls are not in the capture have no procedure.
			w.printf("No RPC calls found on the analysed ports (%d %s whose calls are not in the capture).\n\n",
				r.Summary.Replies, analyze.Plural(int(r.Summary.Replies), "reply", "replies"))
			return
		}
		w.printf("No RPC calls or replies found on the analysed ports.\n\n")
		return
	}
	tableSection(w, "PROCEDURES (latency in ms, from the first transmission of each call)", "  procedure\tcalls\treplies\terrors\tretrans\tunanswered\tmin\tmean\tp50\tp90\tp99\tmax\tbytes\n", len(r.Procedures), func(t io.Writer) {
		for _, p := range r.Procedures {
			l := p.Latency
			lat := "-\t-\t-\t-\t-\t-"
			if p.Replies > 0 {
				lat = fmt.Sprintf("%.3f\t%.3f\t%.3f\t%.3f\t%.3f\t%.3f", l.Min, l.Mean, l.P50, l.P90, l.P99, l.Max)
			}
			fmt.Fprintf(t, "  %s\t%d\t%d\t%d\t%d\t%d\t%s\t%d\n", analyze.ProcLabel(p.ProgramName, p.Version, p.Name, false),
				p.Calls, p.Replies, p.Errors, p.Retransmits, p.Unanswered, lat, p.Bytes)
		}
	})
}

func connections(w *errWriter, r *analyze.Report) {
	tableSection(w, "CONNECTIONS", "  id\tproto\tclient\tserver\tfirst frame\thandshake\tcalls\treplies\tunanswered\tbytes c->s\tbytes s->c\tnot captured\n", len(r.Connections), func(t io.Writer) {
		for _, c := range r.Connections {
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
			w.printf("  %d %s: %s\n", s.Count, s.What, s.Reason)
		}
	})
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
