package report

import (
	"fmt"
	"html/template"
	"io"
	"strconv"

	"github.com/nfsstall/nfsstall/analyze"
)

// DiffHTML writes a comparison as one self-contained HTML page: the
// candidate's answer, baseline and candidate side by side (their totals
// and verdicts), what changed, and the procedures and TCP counts of both
// sides in one table; the rows are the text diff's (procedureDiffs).
func DiffHTML(w io.Writer, c *analyze.Comparison, o HTMLOptions) error {
	d := diffPage{CSP: csp, Answer: stallLine(c.Candidate), AnswerClass: "ok"}
	if len(c.Candidate.Diagnoses) > 0 {
		d.AnswerClass = "stall"
	}
	for i, r := range []*analyze.Report{c.Baseline, c.Candidate} {
		p := buildPage(r, o)
		side := diffSide{Name: []string{"Baseline", "Candidate"}[i], Answer: p.Answer, Totals: p.Totals, Captures: p.Captures, More: p.MoreDiagnoses}
		for _, dv := range p.Diagnoses {
			dv.Graphs, dv.NoGraphs = nil, "" // the pictures are in each side's own report
			for k := range dv.Filters {
				dv.Filters[k].ID = fmt.Sprintf("%s-%s", []string{"baseline", "candidate"}[i], dv.Filters[k].ID)
			}
			side.Diagnoses = append(side.Diagnoses, dv)
		}
		d.Sides = append(d.Sides, side)
	}
	for _, ch := range c.Changes {
		d.Changes = append(d.Changes, ch.Summary)
	}
	d.Procedures.Cols = []string{"procedure", "calls B", "calls C", "error rate B", "error rate C", "p50 ms B", "p50 ms C", "p50 C/B", "p99 ms B", "p99 ms C", "p99 C/B"}
	d.Procedures.Num = []bool{false, true, true, true, true, true, true, true, true, true, true}
	for _, pd := range procedureDiffs(c) {
		d.Procedures.Rows = append(d.Procedures.Rows, []string{pd.label, pd.calls[0], pd.calls[1], pd.errRate[0], pd.errRate[1],
			pd.p50[0], pd.p50[1], pd.p50Ratio, pd.p99[0], pd.p99[1], pd.p99Ratio})
	}
	s0, s1 := c.Baseline.Summary, c.Candidate.Summary
	d.TCP.Cols = []string{"", "baseline", "candidate"}
	d.TCP.Num = []bool{false, true, true}
	for _, row := range []struct {
		name string
		b, c int64
	}{{"TCP retransmissions", s0.TCPRetransmissions, s1.TCPRetransmissions},
		{"never ACKed", s0.UnackedRetransmissions, s1.UnackedRetransmissions},
		{"zero-window episodes", s0.ZeroWindowEpisodes, s1.ZeroWindowEpisodes},
		{"RPC retransmissions", s0.RPCRetransmissions, s1.RPCRetransmissions}} {
		d.TCP.Rows = append(d.TCP.Rows, []string{row.name, strconv.FormatInt(row.b, 10), strconv.FormatInt(row.c, 10)})
	}
	d.TCP.Rows = append(d.TCP.Rows, []string{"READ/WRITE throughput", analyze.FormatRate(analyze.Throughput(c.Baseline)), analyze.FormatRate(analyze.Throughput(c.Candidate))})
	return htmlDiffPage.Execute(w, &d)
}

type diffPage struct {
	CSP, Answer, AnswerClass string
	Sides                    []diffSide
	Changes                  []string
	Procedures, TCP          htmlTable
}

type diffSide struct {
	Name, Answer, Totals string
	Captures             []string
	Diagnoses            []diagView
	More                 string
}

var htmlDiffPage = template.Must(template.Must(htmlPage.Clone()).New("diff").Parse(`<!DOCTYPE html>
<html lang="en"><head><meta charset="utf-8">
<meta http-equiv="Content-Security-Policy" content="{{.CSP}}">
<meta name="viewport" content="width=device-width, initial-scale=1">
<title>nfsstall diff: {{.Answer}}</title>
<style>` + htmlStyle + `</style>
</head><body>
<section id="answer" class="{{.AnswerClass}}">
<h1 id="verdict">Candidate: {{.Answer}}</h1>
<p class="totals">{{if .Changes}}{{len .Changes}} change(s) against the baseline, below.{{else}}No significant change against the baseline.{{end}}</p>
</section>
<div class="side">{{range .Sides}}<div class="{{.Name}}"><h2>{{.Name}}</h2>
<p><b>{{.Answer}}</b></p><p class="totals">{{.Totals}}</p>{{range .Captures}}<p class="totals">{{.}}</p>{{end}}
{{range .Diagnoses}}<div class="diag" data-connection="{{.Conn}}"><h3>Connection {{.Conn}}: <span class="verdict">{{.Verdict}}</span></h3>
<p class="summary">{{.Summary}}</p>
{{range .Filters}}<div class="filter"><span>Wireshark{{if .File}}, in {{.File}}{{end}}:</span> <code id="{{.ID}}">{{.Text}}</code> <button type="button" data-copy="{{.ID}}">Copy</button></div>
{{end}}</div>{{end}}{{if .More}}<p class="more">{{.More}}</p>{{end}}
</div>{{end}}</div>
{{if .Changes}}<h2>Changes (candidate against baseline)</h2><ul>{{range .Changes}}<li>{{.}}</li>{{end}}</ul>{{end}}
<h2>Procedures</h2><p class="more">B: baseline, C: candidate; latency from the first transmission of each call.</p>
{{template "table" .Procedures}}
<h2>TCP</h2>{{template "table" .TCP}}
<script>` + copyScript + `</script>
</body></html>
`))
