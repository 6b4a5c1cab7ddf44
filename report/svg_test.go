package report

import (
	"bytes"
	"encoding/xml"
	"io"
	"regexp"
	"strings"
	"testing"
	"time"

	"github.com/nfsstall/nfsstall/analyze"
)

// svgEl is one element of a drawn SVG, with its attributes and its hover
// title.
type svgEl struct {
	name  string
	attr  map[string]string
	title string
	text  string
	inG   bool // inside a group (the legend)
}

// parseSVGs reads every <svg> of an HTML page (the SVG is written as XML)
// into its elements, in order.
func parseSVGs(t *testing.T, page string) [][]svgEl {
	t.Helper()
	var out [][]svgEl
	for _, m := range regexp.MustCompile(`(?s)<svg .*?</svg>`).FindAllString(page, -1) {
		d := xml.NewDecoder(strings.NewReader(m))
		var els []svgEl
		var stack []int // indexes of open elements in els
		depthG := 0
		for {
			tok, err := d.Token()
			if err == io.EOF {
				break
			}
			if err != nil {
				t.Fatalf("SVG is not well-formed: %v\n%s", err, m)
			}
			switch tok := tok.(type) {
			case xml.StartElement:
				if tok.Name.Local == "title" {
					stack = append(stack, -1)
					continue
				}
				e := svgEl{name: tok.Name.Local, attr: map[string]string{}, inG: depthG > 0}
				for _, a := range tok.Attr {
					e.attr[a.Name.Local] = a.Value
				}
				if e.name == "g" {
					depthG++
				}
				els = append(els, e)
				stack = append(stack, len(els)-1)
			case xml.EndElement:
				if tok.Name.Local == "g" {
					depthG--
				}
				stack = stack[:len(stack)-1]
			case xml.CharData:
				if len(stack) == 0 {
					continue
				}
				if stack[len(stack)-1] == -1 { // a title: its parent's
					els[stack[len(stack)-2]].title += string(tok)
				} else {
					els[stack[len(stack)-1]].text += string(tok)
				}
			}
		}
		out = append(out, els)
	}
	return out
}

// find returns the elements of a graph named name with class class,
// outside the legend.
func find(els []svgEl, name, class string) []svgEl {
	var out []svgEl
	for _, e := range els {
		if e.name == name && e.attr["class"] == class && !e.inG {
			out = append(out, e)
		}
	}
	return out
}

const hostile = `<script>alert(1)</script>"&'`

// pictureReport is a capture of 1 s: connection 1's server sent frames 10
// (t 0, Seq 1, 1000 bytes) and 11 (t 500 ms, Seq 1001), re-sent 11 as
// frame 12 (t 750 ms); the client ACKed Seq 1001 with a 3000-byte window
// (frame 13, t 250 ms), then with a zero window (frame 14, t 600 ms) that
// never reopened. One call waited from 0, two from 500 ms, none from
// 900 ms. The verdict's findings: the re-sent bytes (frames 11 and 12,
// from 500 ms for 500 ms, in a file with a hostile name), the zero window
// (frame 14, from 600 ms for 400 ms), and the stuck call (frame 9, from
// 100 ms).
func pictureReport() *analyze.Report {
	t0 := analyze.Time(time.Date(2026, 11, 26, 0, 0, 0, 0, time.UTC).UnixNano())
	at := func(ms int64) analyze.Time { return t0 + analyze.Time(ms*1e6) }
	xid := analyze.XID(0x10)
	r := &analyze.Report{
		Captures:    []analyze.Capture{{File: "c.pcap", Format: "pcap", LinkType: "ETHERNET", Packets: 14, FirstTime: t0, LastTime: at(1000)}},
		Summary:     analyze.Summary{Connections: 1, DurationMS: 1000},
		Connections: []analyze.Connection{{ID: 1, Client: "198.18.0.1:800", Server: "198.18.0.2:2049", Transport: "tcp"}},
		Findings: []analyze.Finding{
			{Kind: "unacked_retransmission", Severity: analyze.SeverityStall, Connection: 1, Frames: []int64{11, 12}, Start: at(500), DurationMS: 500,
				Summary: "the server re-sent " + hostile, Path: "dir/" + hostile},
			{Kind: "zero_window", Severity: analyze.SeverityStall, Connection: 1, Frames: []int64{14}, Start: at(600), DurationMS: 400, Summary: "zero window"},
			{Kind: "unanswered_call", Severity: analyze.SeverityStall, Connection: 1, XID: &xid, Frames: []int64{9}, Start: at(100), DurationMS: 900, Summary: "READ unanswered"},
		},
		Diagnoses: []analyze.Diagnosis{{Connection: 1, Verdict: "client_not_acking", Summary: "stuck " + hostile, Findings: []int{0, 1, 2},
			WiresharkFilters: []analyze.WiresharkFilter{{Filter: "frame.number == 9", FilterSet: "frame.number in {9,11..12,14}", Frames: []int64{9, 11, 12, 14}}}}},
		Timelines: []analyze.Timeline{{Connection: 1,
			Segments: []analyze.SegmentPoint{
				{TimeMS: 0, Frame: 10, FromServer: true, Seq: 1, Len: 1000},
				{TimeMS: 500, Frame: 11, FromServer: true, Seq: 1001, Len: 1000},
				{TimeMS: 750, Frame: 12, FromServer: true, Seq: 1001, Len: 1000, Retransmission: true},
			},
			Acks: []analyze.AckPoint{
				{TimeMS: 250, Frame: 13, Ack: 1001, Window: 3000},
				{TimeMS: 600, Frame: 14, Ack: 1001, Window: 0},
			},
			Outstanding: []analyze.CountPoint{{TimeMS: 0, N: 1}, {TimeMS: 500, N: 2}, {TimeMS: 900, N: 0}},
		}},
		LatencyOverTime: []analyze.LatencySeries{{Procedure: "READ", Program: "NFSv3", BucketMS: 100, Buckets: []analyze.LatencyPoint{
			{TimeMS: 0, Count: 2, MinMS: 1, MeanMS: 5, MaxMS: 10},
			{TimeMS: 100, Count: 1, MinMS: 100, MeanMS: 100, MaxMS: 100},
		}}},
	}
	return r
}

// TestTimeSequenceGraph checks the graph of pictureReport against
// positions computed by hand. The plot spans x 76 to 944 (868 px) for 0 to
// 1000 ms: x(t) = 76 + 0.868 t. The time-sequence graph is 300 high, its
// plot y 22 (top) to 266; its top value is 1.15 times the highest byte,
// 2001: y(v) = 266 - 244 v / 2301.15, so y(1) = 265.9, y(1001) = 159.9,
// y(2001) = 53.8.
func TestTimeSequenceGraph(t *testing.T) {
	var out bytes.Buffer
	if err := HTML(&out, pictureReport(), HTMLOptions{}); err != nil {
		t.Fatal(err)
	}
	svgs := parseSVGs(t, out.String())
	// Only the server sent data: one time-sequence graph, then the
	// calls outstanding, then the latency of READ.
	if len(svgs) != 3 {
		t.Fatalf("%d graphs, want 3", len(svgs))
	}
	ts := svgs[0]
	if ts[0].attr["data-graph"] != "timeseq" || ts[0].attr["data-direction"] != "server" || ts[0].attr["data-connection"] != "1" {
		t.Fatalf("first graph %v", ts[0].attr)
	}
	line := func(e svgEl) string {
		return e.attr["x1"] + "," + e.attr["y1"] + " " + e.attr["x2"] + "," + e.attr["y2"]
	}
	var segs []string
	for _, e := range find(ts, "line", "seg") {
		segs = append(segs, line(e))
	}
	if want := []string{"76.0,265.9 76.0,159.9", "510.0,159.9 510.0,53.8"}; strings.Join(segs, "|") != strings.Join(want, "|") {
		t.Errorf("data segments %q, want %q", segs, want)
	}
	retx := find(ts, "line", "retx")
	if len(retx) != 1 || line(retx[0]) != "727.0,159.9 727.0,53.8" {
		t.Errorf("retransmissions %v", retx)
	} else if retx[0].title != "frame 12: retransmission, Seq=1001, Len=1000" {
		t.Errorf("retransmission title %q", retx[0].title)
	}
	// The ACK holds at 1001 from 250 ms to the end; the window line
	// (ack + 3000, above the top: cut at y 22) drops to the ACK at
	// 600 ms, the zero window.
	if a := find(ts, "polyline", "ack"); len(a) != 1 || a[0].attr["points"] != "293.0,159.9 596.8,159.9 944.0,159.9" {
		t.Errorf("ACK line %v", a)
	}
	if w := find(ts, "polyline", "win"); len(w) != 1 || w[0].attr["points"] != "293.0,22.0 596.8,22.0 596.8,159.9 944.0,159.9" {
		t.Errorf("window line %v", w)
	}
	// The zero window from 600 ms to the end, once (the finding and the
	// ACKs say the same).
	if z := find(ts, "rect", "zerowin"); len(z) != 1 || z[0].attr["x"] != "596.8" || z[0].attr["width"] != "347.2" ||
		z[0].attr["y"] != "22.0" || z[0].attr["height"] != "244.0" {
		t.Errorf("zero-window shading %v", z)
	}
	// The evidence frames at their points: 11 and 12 at the top of their
	// data, 14 (an ACK) at its ACK; labels 8 px above.
	circles := find(ts, "circle", "evidence")
	labels := find(ts, "text", "frame-label")
	wantAt := []struct{ frame, cx, cy, ly string }{{"11", "510.0", "53.8", "45.8"}, {"12", "727.0", "53.8", "45.8"}, {"14", "596.8", "159.9", "151.9"}}
	if len(circles) != len(wantAt) || len(labels) != len(wantAt) {
		t.Fatalf("%d evidence marks, %d labels, want %d", len(circles), len(labels), len(wantAt))
	}
	for i, w := range wantAt {
		c, l := circles[i], labels[i]
		if c.attr["data-frame"] != w.frame || c.attr["cx"] != w.cx || c.attr["cy"] != w.cy || l.text != w.frame || l.attr["y"] != w.ly {
			t.Errorf("evidence %s: circle %v, label %q at y %s", w.frame, c.attr, l.text, l.attr["y"])
		}
	}
	// Hover: the frame, the finding, and the file name, as they are.
	if want := "frame 11: [unacked_retransmission] the server re-sent " + hostile + " (file dir/" + hostile + ")"; circles[0].title != want {
		t.Errorf("hover title %q, want %q", circles[0].title, want)
	}
	// The stuck call, dashed from when it was sent (100 ms: x 162.8);
	// frame 9 is not in the timeline, so it has no label.
	if c := find(ts, "line", "call"); len(c) != 1 || c[0].attr["x1"] != "162.8" {
		t.Errorf("stuck call mark %v", c)
	}
	if c := find(ts, "text", "call-label"); len(c) != 1 || c[0].text != "stuck call 0x00000010" {
		t.Errorf("stuck call label %v", c)
	}
	// One bar per finding, over its time.
	spans := find(ts, "line", "span")
	if len(spans) != 3 || line(spans[0]) != "510.0,262.0 944.0,262.0" || line(spans[1]) != "596.8,257.0 944.0,257.0" || line(spans[2]) != "162.8,252.0 944.0,252.0" {
		t.Errorf("finding spans %v", spans)
	}
}

// TestOutstandingAndLatencyGraphs: the calls outstanding of
// pictureReport, a graph 150 high (plot y 22 to 116, 2 calls at most:
// y(1) = 69, y(2) = 22) as a step line; the latency of READ, 170 high
// (plot y 22 to 136, log scale from 1 ms to 100 ms: y(1) = 136, y(10) =
// 79, y(100) = 22, y(5) = 136 - 57 log10(5) = 96.2), a bar per bucket at
// its middle (50 ms: x 119.4, 150 ms: x 206.2; a bar of one value drawn
// 2 px tall) and the mean as a line.
func TestOutstandingAndLatencyGraphs(t *testing.T) {
	var out bytes.Buffer
	if err := HTML(&out, pictureReport(), HTMLOptions{}); err != nil {
		t.Fatal(err)
	}
	svgs := parseSVGs(t, out.String())
	if len(svgs) != 3 {
		t.Fatalf("%d graphs", len(svgs))
	}
	o := svgs[1]
	if o[0].attr["data-graph"] != "outstanding" {
		t.Fatalf("second graph %v", o[0].attr)
	}
	if c := find(o, "polyline", "count"); len(c) != 1 || c[0].attr["points"] != "76.0,69.0 510.0,69.0 510.0,22.0 857.2,22.0 857.2,116.0 944.0,116.0" {
		t.Errorf("outstanding %v", c)
	}
	l := svgs[2]
	if l[0].attr["data-graph"] != "latency" || l[0].attr["data-procedure"] != "NFSv3 READ" {
		t.Fatalf("third graph %v", l[0].attr)
	}
	r := find(l, "line", "range")
	if len(r) != 2 || r[0].attr["x1"] != "119.4" || r[0].attr["y1"] != "136.0" || r[0].attr["y2"] != "79.0" ||
		r[1].attr["x1"] != "206.2" || r[1].attr["y1"] != "22.0" || r[1].attr["y2"] != "20.0" {
		t.Errorf("latency bars %v", r)
	}
	if r[0].title != "50 ms: 2 replies, min 1.00 ms, mean 5.00 ms, max 10.0 ms" {
		t.Errorf("latency bar title %q", r[0].title)
	}
	if m := find(l, "polyline", "mean"); len(m) != 1 || m[0].attr["points"] != "119.4,96.2 206.2,22.0" {
		t.Errorf("mean line %v", m)
	}
	var ticks []string
	for _, e := range find(l, "text", "tick") {
		if e.attr["text-anchor"] == "end" {
			ticks = append(ticks, e.text)
		}
	}
	if strings.Join(ticks, ",") != "1.00 ms,10.0 ms,100 ms" {
		t.Errorf("latency axis %q", ticks)
	}
}

// TestGraphBounded: a connection of 100,000 data segments each way (every
// other one re-sent), 100,000 ACKs (every other one a zero window) and
// 100,000 changes of the calls outstanding, over 100 s, draws at most
// svgMaxElements elements per graph, and the page stays small.
func TestGraphBounded(t *testing.T) {
	r := pictureReport()
	tl := &r.Timelines[0]
	tl.Segments, tl.Acks, tl.Outstanding = nil, nil, nil
	tl.DroppedSegments, tl.DroppedAcks, tl.DroppedOutstanding = 7, 8, 9
	const n = 100_000
	r.Summary.DurationMS = 100_000
	for i := range n {
		ms := float64(i)
		tl.Segments = append(tl.Segments, analyze.SegmentPoint{TimeMS: ms, Frame: int64(3 * i), FromServer: i%2 == 0, Seq: uint32(1 + 1000*i), Len: 1000, Retransmission: i%4 < 2},
			analyze.SegmentPoint{TimeMS: ms + 0.5, Frame: int64(3*i + 1), FromServer: i%2 == 1, Seq: uint32(1 + 1000*i), Len: 1000})
		tl.Acks = append(tl.Acks, analyze.AckPoint{TimeMS: ms + 0.7, Frame: int64(3*i + 2), FromServer: i%3 == 0, Ack: uint32(1000 * i), Window: uint32(i%2) * 65535})
		tl.Outstanding = append(tl.Outstanding, analyze.CountPoint{TimeMS: ms, N: i % 128})
	}
	for i := range 2000 {
		r.Findings = append(r.Findings, analyze.Finding{Kind: "zero_window", Severity: analyze.SeverityInfo, Connection: 1,
			Frames: []int64{int64(3*i*7 + 2)}, Start: r.Captures[0].FirstTime + analyze.Time(i*7)*1e6, DurationMS: 3})
	}
	var out bytes.Buffer
	start := time.Now()
	if err := HTML(&out, r, HTMLOptions{}); err != nil {
		t.Fatal(err)
	}
	took := time.Since(start)
	svgs := parseSVGs(t, out.String())
	if len(svgs) != 4 {
		t.Fatalf("%d graphs, want 4 (both directions, outstanding, latency)", len(svgs))
	}
	for i, els := range svgs {
		// Every element and its title count.
		count := len(els)
		for _, e := range els {
			if e.title != "" {
				count++
			}
		}
		if count > svgMaxElements {
			t.Errorf("graph %d (%s): %d elements, more than %d", i, els[0].attr["data-graph"], count, svgMaxElements)
		}
		if i < 2 {
			if z := len(find(els, "rect", "zerowin")); z == 0 || z > svgMaxShades {
				t.Errorf("graph %d: %d zero-window shades, want 1 to %d", i, z, svgMaxShades)
			}
			if s := len(find(els, "line", "seg")); s > int(plotWidth) {
				t.Errorf("graph %d: %d data marks, more than the %d pixel columns", i, s, int(plotWidth))
			}
		}
		t.Logf("graph %d (%s): %d elements", i, els[0].attr["data-graph"], count)
	}
	for _, want := range []string{"The oldest 7 data segments and 8 ACKs are not kept", "The oldest 9 changes are not kept"} {
		if !strings.Contains(out.String(), want) {
			t.Errorf("no caption saying %q", want)
		}
	}
	t.Logf("page %d bytes in %v", out.Len(), took)
	if out.Len() > 2<<20 {
		t.Errorf("page of %d bytes", out.Len())
	}
}

// TestGraphSeveralFiles: with two capture files, frames are FILE:FRAME,
// and an evidence frame is found in the timeline by its file too: frame
// 11 of file 1 is labelled 1:11, while frame 12 of file 0 (the finding
// says file 0; the timeline has it in file 1) is not labelled.
func TestGraphSeveralFiles(t *testing.T) {
	r := pictureReport()
	r.Captures = append(r.Captures, r.Captures[0])
	r.Captures[1].File = "c1.pcap"
	for i := range r.Timelines[0].Segments {
		r.Timelines[0].Segments[i].Capture = 1
	}
	r.Findings[0].FrameCaptures = []int{1, 0}
	var out bytes.Buffer
	if err := HTML(&out, r, HTMLOptions{}); err != nil {
		t.Fatal(err)
	}
	ts := parseSVGs(t, out.String())[0]
	var labels []string
	for _, l := range find(ts, "text", "frame-label") {
		labels = append(labels, l.text)
	}
	if strings.Join(labels, ",") != "1:11,0:14" {
		t.Errorf("labels %q, want 1:11 and 0:14", labels)
	}
	if retx := find(ts, "line", "retx"); len(retx) != 1 || retx[0].title != "frame 1:12: retransmission, Seq=1001, Len=1000" {
		t.Errorf("retransmission %v", retx)
	}
}
