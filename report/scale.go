package report

import (
	"cmp"
	"fmt"
	"maps"
	"slices"
	"strings"

	"github.com/nfsstall/nfsstall/analyze"
)

// The text report is read by a person: every section is bounded, whatever
// the capture, and ranked so that what is cut is the least of it; a
// section cut says how much was left out, by kind, and where the rest is
// (JSON has every listed item). Bounds on what is printed, not on what is
// analysed.
const (
	textDiagnoses        = 10 // connections with a verdict named, the longest stalls
	textDiagnosesFull    = 3  // of those, shown in full (summary, findings, filter)
	textFindingsPerDiag  = 4  // findings under each verdict shown in full
	textFindingLines     = 20 // lines of FINDINGS (a line may sum many findings)
	textUnanswered       = 20 // rows of UNANSWERED CALLS, the oldest
	textConnections      = 20 // rows of CONNECTIONS
	textOperations       = 30 // rows of NFSv4 OPERATIONS
	textSessions         = 20 // rows of NFSv4.1 SESSIONS, the most calls first
	textProceduresListed = 40 // rows of PROCEDURES
	textFilterFrames     = 20 // frames in a Wireshark filter
)

// textFilter is a diagnosis' Wireshark filter for the text: the set form
// with ranges (Wireshark 4.0 and later), its first textFilterFrames frames
// when it has more; JSON has both forms in full.
func textFilter(wf analyze.WiresharkFilter) string {
	if len(wf.Frames) == 0 {
		return wf.Filter
	}
	if n := len(wf.Frames) - textFilterFrames; n > 0 {
		return fmt.Sprintf("%s (the first %d frames of %d; --format json has the filter for all)",
			analyze.FrameSet(wf.Frames[:textFilterFrames]), textFilterFrames, len(wf.Frames))
	}
	return wf.FilterSet
}

// severityRank orders severities, the worst first.
func severityRank(s analyze.Severity) int {
	switch s {
	case analyze.SeverityStall:
		return 0
	case analyze.SeverityWarning:
		return 1
	}
	return 2
}

// findingGroup is the findings of one kind and severity on one
// connection: printed as one line when there are several.
type findingGroup struct {
	kind     string
	severity analyze.Severity
	conn     int
	n        int
	totalMS  float64
	longest  int // index in Report.Findings of the longest
	first    int64
	last     int64
}

// groupFindings groups the findings whose index keep accepts, the worst
// first: by severity, then by the time they add up to, then by kind and
// connection (a stable order).
func groupFindings(r *analyze.Report, keep func(int) bool) []*findingGroup {
	type key struct {
		kind string
		sev  analyze.Severity
		conn int
	}
	by := map[key]*findingGroup{}
	var out []*findingGroup
	for i, f := range r.Findings {
		if !keep(i) {
			continue
		}
		k := key{f.Kind, f.Severity, f.Connection}
		g := by[k]
		if g == nil {
			g = &findingGroup{kind: f.Kind, severity: f.Severity, conn: f.Connection, longest: i}
			by[k] = g
			out = append(out, g)
		}
		g.n++
		g.totalMS += f.DurationMS
		if f.DurationMS > r.Findings[g.longest].DurationMS {
			g.longest = i
		}
		for _, fr := range f.Frames {
			if g.first == 0 || fr < g.first {
				g.first = fr
			}
			g.last = max(g.last, fr)
		}
	}
	slices.SortStableFunc(out, func(a, b *findingGroup) int {
		return cmp.Or(cmp.Compare(severityRank(a.severity), severityRank(b.severity)),
			cmp.Compare(b.totalMS, a.totalMS), cmp.Compare(a.kind, b.kind), cmp.Compare(a.conn, b.conn))
	})
	return out
}

// line is the group's line: the finding itself when it is alone; else
// how many, over which frames, how long in all, and the longest of them.
func (g *findingGroup) line(r *analyze.Report) string {
	f := r.Findings[g.longest]
	if g.n == 1 {
		return fmt.Sprintf("%-7s [%s] connection %d: %s", g.severity, g.kind, g.conn, f.Summary)
	}
	return fmt.Sprintf("%-7s [%s] connection %d: %d findings, frames %d to %d, %s in all; the longest: %s",
		g.severity, g.kind, g.conn, g.n, g.first, g.last, analyze.FormatMS(g.totalMS), f.Summary)
}

// kindCounts says how many findings of each kind a list holds, as
// "1,254 zero_window, 3 slow_reply", the most first.
func kindCounts(counts map[string]int64) string {
	kinds := slices.Collect(maps.Keys(counts))
	slices.SortFunc(kinds, func(a, b string) int { return cmp.Or(cmp.Compare(counts[b], counts[a]), cmp.Compare(a, b)) })
	parts := make([]string, 0, len(kinds))
	for _, k := range kinds {
		parts = append(parts, fmt.Sprintf("%d %s", counts[k], k))
	}
	return strings.Join(parts, ", ")
}

// omittedFindings returns, per kind, the findings the analysis counted but
// did not list (Report.Skipped's "KIND findings" entries).
func omittedFindings(r *analyze.Report) map[string]int64 {
	out := map[string]int64{}
	for _, s := range r.Skipped {
		if kind, ok := strings.CutSuffix(s.What, " findings"); ok {
			out[kind] += s.Count
		}
	}
	return out
}

// diagnosisRank orders connections with a verdict: the one whose findings
// add up to the longest first.
func diagnosisOrder(r *analyze.Report) []int {
	idx := make([]int, len(r.Diagnoses))
	total := make([]float64, len(r.Diagnoses))
	for i, d := range r.Diagnoses {
		idx[i] = i
		for _, f := range d.Findings {
			total[i] += r.Findings[f].DurationMS
		}
	}
	slices.SortStableFunc(idx, func(a, b int) int { return cmp.Compare(total[b], total[a]) })
	return idx
}

// briefDiagnosis is a verdict on one line, for the stalls named after
// those shown in full: the connection, the verdict, its findings by kind
// and the longest.
func briefDiagnosis(r *analyze.Report, d analyze.Diagnosis) string {
	kinds := map[string]int64{}
	longest := 0.0
	for _, i := range d.Findings {
		kinds[r.Findings[i].Kind]++
		longest = max(longest, r.Findings[i].DurationMS)
	}
	return fmt.Sprintf("connection %d: %s (%s; the longest %s)",
		d.Connection, d.Verdict, kindCounts(kinds), analyze.FormatMS(longest))
}
