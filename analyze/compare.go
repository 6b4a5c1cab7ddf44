package analyze

import (
	"fmt"
	"math"
	"slices"
)

// Comparison is a healthy (baseline) capture set against a hung (candidate) one.
type Comparison struct {
	SchemaVersion int      `json:"schema_version"`
	Baseline      *Report  `json:"baseline"`
	Candidate     *Report  `json:"candidate"`
	Changes       []Change `json:"changes"`
}

// Change is one difference worth a person's attention.
type Change struct {
	Kind      string  `json:"kind"` // procedure, tcp, throughput, new_finding, new_verdict
	Procedure string  `json:"procedure,omitempty"`
	Metric    string  `json:"metric"`
	Baseline  float64 `json:"baseline"`
	Candidate float64 `json:"candidate"`
	Ratio     float64 `json:"ratio,omitempty"` // candidate / baseline, when both are non-zero
	Summary   string  `json:"summary"`
}

// ProcedurePair is one procedure's row on both sides (for side-by-side tables).
type ProcedurePair struct {
	Label               string
	Baseline, Candidate *Procedure
}

// latencyRatioWorth is how much slower a percentile must get to be listed.
const latencyRatioWorth = 2.0

// Compare lists what changed from base to cand.
func Compare(base, cand *Report) *Comparison {
	cmp := &Comparison{SchemaVersion: SchemaVersion, Baseline: base, Candidate: cand, Changes: []Change{}}
	add := func(c Change) {
		if c.Baseline != 0 && c.Candidate != 0 {
			c.Ratio = round3(c.Candidate / c.Baseline)
		}
		cmp.Changes = append(cmp.Changes, c)
	}
	for _, pp := range PairProcedures(base, cand) {
		b, c := pp.Baseline, pp.Candidate
		if c == nil {
			continue
		}
		if b == nil {
			add(Change{Kind: "procedure", Procedure: pp.Label, Metric: "calls", Candidate: float64(c.Calls),
				Summary: fmt.Sprintf("%s: %d calls in the candidate, none in the baseline", pp.Label, c.Calls)})
			continue
		}
		be, ce := errorRate(b), errorRate(c)
		if ce > be {
			add(Change{Kind: "procedure", Procedure: pp.Label, Metric: "error_rate", Baseline: round6(be), Candidate: round6(ce),
				Summary: fmt.Sprintf("%s: error rate %.1f%% (baseline %.1f%%)", pp.Label, 100*ce, 100*be)})
		}
		for _, q := range []struct {
			name string
			b, c float64
		}{{"p50_ms", b.Latency.P50, c.Latency.P50}, {"p99_ms", b.Latency.P99, c.Latency.P99}} {
			if b.Replies > 0 && c.Replies > 0 && q.b > 0 && q.c/q.b >= latencyRatioWorth {
				add(Change{Kind: "procedure", Procedure: pp.Label, Metric: q.name, Baseline: q.b, Candidate: q.c,
					Summary: fmt.Sprintf("%s: latency %s %s, %.1fx the baseline's %s", pp.Label, q.name[:3], FormatMS(q.c), q.c/q.b, FormatMS(q.b))})
			}
		}
		if c.Unanswered > b.Unanswered {
			add(Change{Kind: "procedure", Procedure: pp.Label, Metric: "unanswered", Baseline: float64(b.Unanswered), Candidate: float64(c.Unanswered),
				Summary: fmt.Sprintf("%s: %d unanswered %s (baseline %d)", pp.Label, c.Unanswered, Plural(int(c.Unanswered), "call", "calls"), b.Unanswered)})
		}
	}
	for _, m := range []struct {
		name string
		b, c int64
	}{
		{"tcp_retransmissions", base.Summary.TCPRetransmissions, cand.Summary.TCPRetransmissions},
		{"unacked_retransmissions", base.Summary.UnackedRetransmissions, cand.Summary.UnackedRetransmissions},
		{"zero_window_episodes", base.Summary.ZeroWindowEpisodes, cand.Summary.ZeroWindowEpisodes},
		{"rpc_retransmissions", base.Summary.RPCRetransmissions, cand.Summary.RPCRetransmissions},
	} {
		if m.c > m.b {
			add(Change{Kind: "tcp", Metric: m.name, Baseline: float64(m.b), Candidate: float64(m.c),
				Summary: fmt.Sprintf("%s: %d (baseline %d)", m.name, m.c, m.b)})
		}
	}
	bt, ct := Throughput(base), Throughput(cand)
	if bt > 0 && ct < bt/latencyRatioWorth {
		add(Change{Kind: "throughput", Metric: "data_bytes_per_s", Baseline: round3(bt), Candidate: round3(ct),
			Summary: fmt.Sprintf("READ/WRITE throughput %s, %.1fx lower than the baseline's %s", FormatRate(ct), bt/max(ct, 1), FormatRate(bt))})
	}
	// Findings and verdicts the baseline does not have.
	// Findings (by kind and procedure) and verdicts only the candidate has;
	// baseline/candidate hold how many of them each side has.
	countFindings := func(r *Report) map[string]int {
		n := map[string]int{}
		for _, f := range r.Findings {
			if f.Severity != SeverityInfo {
				n[f.Kind+"/"+f.ProcLabel()]++
			}
		}
		return n
	}
	baseF, candF := countFindings(base), countFindings(cand)
	for _, f := range cand.Findings {
		key := f.Kind + "/" + f.ProcLabel()
		if baseF[key] > 0 || candF[key] == 0 {
			continue
		}
		add(Change{Kind: "new_finding", Procedure: f.ProcLabel(), Metric: f.Kind, Candidate: float64(candF[key]),
			Summary: fmt.Sprintf("only the candidate has %s findings (%d): %s", f.Kind, candF[key], f.Summary)})
		candF[key] = 0 // one change per kind and procedure, showing the first
	}
	countVerdicts := func(r *Report) map[string]int {
		n := map[string]int{}
		for _, d := range r.Diagnoses {
			n[d.Verdict]++
		}
		return n
	}
	baseV, candV := countVerdicts(base), countVerdicts(cand)
	for _, d := range cand.Diagnoses {
		if baseV[d.Verdict] > 0 || candV[d.Verdict] == 0 {
			continue
		}
		add(Change{Kind: "new_verdict", Metric: d.Verdict, Candidate: float64(candV[d.Verdict]),
			Summary: fmt.Sprintf("only the candidate has verdict %s (%d %s; the first, connection %d): %s",
				d.Verdict, candV[d.Verdict], Plural(candV[d.Verdict], "connection", "connections"), d.Connection, d.Summary)})
		candV[d.Verdict] = 0
	}
	return cmp
}

// PairProcedures lines up the procedure rows of both reports, in the
// candidate's order, then the baseline-only ones.
func PairProcedures(base, cand *Report) []ProcedurePair {
	var out []ProcedurePair
	idx := map[string]int{}
	for _, side := range []struct {
		r    *Report
		cand bool
	}{{cand, true}, {base, false}} {
		for i := range side.r.Procedures {
			p := &side.r.Procedures[i]
			label := p.Label()
			j, ok := idx[label]
			if !ok {
				j = len(out)
				idx[label] = j
				out = append(out, ProcedurePair{Label: label})
			}
			if side.cand {
				out[j].Candidate = p
			} else {
				out[j].Baseline = p
			}
		}
	}
	return out
}

// Throughput is the READ/WRITE data rate over the capture, bytes per second.
func Throughput(r *Report) float64 {
	if r.Summary.DurationMS <= 0 {
		return 0
	}
	var b int64
	for _, p := range r.Procedures {
		b += p.Bytes
	}
	return float64(b) / (r.Summary.DurationMS / 1000)
}

func errorRate(p *Procedure) float64 {
	if p.Replies == 0 {
		return 0
	}
	return float64(p.Errors) / float64(p.Replies)
}

func round3(v float64) float64 { return math.Round(v*1000) / 1000 }

// round6 keeps a fraction to 6 decimals, not float division's 17 digits.
func round6(v float64) float64 { return math.Round(v*1e6) / 1e6 }

// HasStall reports whether any finding of r has severity stall.
func (r *Report) HasStall() bool {
	return slices.ContainsFunc(r.Findings, func(f Finding) bool { return f.Severity == SeverityStall })
}
