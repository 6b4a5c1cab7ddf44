package report

import (
	"encoding/json"
	"fmt"
	"io"
	"time"

	"github.com/nfsstall/nfsstall/analyze"
)

// DiffJSON writes a comparison as one JSON object:
// {"schema_version":1,"baseline":REPORT,"candidate":REPORT,"changes":[...]}.
func DiffJSON(w io.Writer, c *analyze.Comparison) error {
	enc := json.NewEncoder(w)
	enc.SetIndent("", "  ")
	return enc.Encode(c)
}

// DiffText writes a comparison for people: what changed first, then the
// procedures side by side; lines are not broken.
func DiffText(w io.Writer, c *analyze.Comparison) error { return DiffTextWith(w, c, TextOptions{}) }

// DiffTextWith is DiffText with options: prose broken at o.Width, as the
// text report's (the procedure table is not).
func DiffTextWith(w io.Writer, c *analyze.Comparison, o TextOptions) error {
	loc := o.Location
	if loc == nil {
		loc = time.UTC
	}
	ew := &errWriter{w: w, loc: loc, width: o.Width}
	side := func(name string, r *analyze.Report) {
		var packets int64
		for _, cp := range r.Captures {
			packets += cp.Packets
		}
		ew.para(fmt.Sprintf("%-9s ", name), "          ", fmt.Sprintf("%d %s, %d packets, %s, %d %s, %d unanswered: %s",
			len(r.Captures), analyze.Plural(len(r.Captures), "capture", "captures"), packets, analyze.FormatMS(r.Summary.DurationMS),
			r.Summary.Calls, analyze.Plural(int(min(r.Summary.Calls, 2)), "call", "calls"), r.Summary.Unanswered, stallLine(r)))
	}
	side("baseline", c.Baseline)
	side("candidate", c.Candidate)
	ew.printf("\n")
	if len(c.Changes) == 0 {
		ew.printf("No significant change.\n\n")
	} else {
		ew.printf("CHANGES (candidate against baseline)\n")
		for _, ch := range c.Changes {
			ew.para("  - ", "    ", ch.Summary)
		}
		ew.printf("\n")
	}
	ew.printf("PROCEDURES (baseline -> candidate; latency from the first transmission)\n")
	t := table(ew)
	fmt.Fprintf(t, "  procedure\tcalls\terror rate\tp50\tp50 ratio\tp99\tp99 ratio\n")
	diffs := procedureDiffs(c)
	for _, d := range diffs[:min(len(diffs), textProceduresListed)] {
		fmt.Fprintf(t, "  %s\t%s -> %s\t%s -> %s\t%s -> %s\t%s\t%s -> %s\t%s\n", d.label,
			d.calls[0], d.calls[1], d.errRate[0], d.errRate[1], d.p50[0], d.p50[1], d.p50Ratio, d.p99[0], d.p99[1], d.p99Ratio)
	}
	if more := len(diffs) - textProceduresListed; more > 0 {
		fmt.Fprintf(t, "  ... and %d more procedures (--format json lists them)\n", more)
	}
	t.Flush()
	s0, s1 := c.Baseline.Summary, c.Candidate.Summary
	ew.printf("\n")
	ew.para("TCP  ", "     ", fmt.Sprintf("retransmissions %d -> %d, never ACKed %d -> %d, zero-window episodes %d -> %d; READ/WRITE throughput %s -> %s",
		s0.TCPRetransmissions, s1.TCPRetransmissions, s0.UnackedRetransmissions, s1.UnackedRetransmissions,
		s0.ZeroWindowEpisodes, s1.ZeroWindowEpisodes, analyze.FormatRate(analyze.Throughput(c.Baseline)), analyze.FormatRate(analyze.Throughput(c.Candidate))))
	return ew.err
}

// procedureDiff is one procedure on both sides, as the diff shows it:
// each pair is [baseline, candidate], "-" where a side has no such
// procedure (or no reply to time).
type procedureDiff struct {
	label                    string
	calls, errRate, p50, p99 [2]string
	p50Ratio, p99Ratio       string
}

// procedureDiffs computes the side-by-side procedure rows of a
// comparison (text and HTML show the same).
func procedureDiffs(c *analyze.Comparison) []procedureDiff {
	var out []procedureDiff
	for _, pp := range analyze.PairProcedures(c.Baseline, c.Candidate) {
		b, cd := pp.Baseline, pp.Candidate
		num := func(p *analyze.Procedure, f func(*analyze.Procedure) string) string {
			if p == nil {
				return "-"
			}
			return f(p)
		}
		calls := func(p *analyze.Procedure) string { return fmt.Sprint(p.Calls) }
		errRate := func(p *analyze.Procedure) string {
			if p.Replies == 0 {
				return "-"
			}
			return fmt.Sprintf("%.1f%%", 100*float64(p.Errors)/float64(p.Replies))
		}
		p50 := func(p *analyze.Procedure) string { return lat(p, p.Latency.P50) }
		p99 := func(p *analyze.Procedure) string { return lat(p, p.Latency.P99) }
		ratio := func(q func(*analyze.Procedure) float64) string {
			if b == nil || cd == nil || !b.Timed() || !cd.Timed() || q(b) <= 0 {
				return "-"
			}
			return fmtRatio(q(cd) / q(b))
		}
		out = append(out, procedureDiff{label: pp.Label,
			calls:    [2]string{num(b, calls), num(cd, calls)},
			errRate:  [2]string{num(b, errRate), num(cd, errRate)},
			p50:      [2]string{num(b, p50), num(cd, p50)},
			p99:      [2]string{num(b, p99), num(cd, p99)},
			p50Ratio: ratio(func(p *analyze.Procedure) float64 { return p.Latency.P50 }),
			p99Ratio: ratio(func(p *analyze.Procedure) float64 { return p.Latency.P99 }),
		})
	}
	return out
}

func lat(p *analyze.Procedure, v float64) string {
	if !p.Timed() {
		return "-"
	}
	return analyze.FormatMS(v)
}

// fmtRatio keeps two significant digits for ratios far below 1, so a p99
// that fell from seconds to milliseconds does not read "0.00x".
func fmtRatio(r float64) string {
	if r < 0.01 && r > 0 {
		return fmt.Sprintf("%.2gx", r)
	}
	return fmt.Sprintf("%.2fx", r)
}
