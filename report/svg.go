package report

import (
	"cmp"
	"fmt"
	"html"
	"html/template"
	"math"
	"slices"
	"strconv"
	"strings"

	"github.com/nfsstall/nfsstall/analyze"
)

// The HTML report's pictures are SVG written here, inline in the page: no
// chart library, no script, nothing fetched. A graph is drawn at a fixed
// width and whatever the data, it is cut to what that width can show:
// every series is drawn by pixel column (one mark per column, holding the
// range of what fell in it), so no graph has more than a few thousand
// elements however many points analyze kept (svgMaxElements).
const (
	svgWidth  = 960.0
	svgPadL   = 76.0 // room for the y axis' labels
	svgPadR   = 16.0
	svgPadT   = 22.0
	svgPadB   = 34.0 // room for the x axis' labels
	plotWidth = svgWidth - svgPadL - svgPadR

	tseqHeight        = 300.0
	outstandingHeight = 150.0
	latencyHeight     = 170.0

	// svgMaxElements is the most elements a graph may hold (a test
	// checks it on a timeline of 100,000 segments); what the columns
	// leave room for, with the axes and labels, stays under it.
	svgMaxElements = 5000
	// svgMaxShades is the most zero-window periods shaded in one graph:
	// periods less than a pixel apart are drawn as one, and the gap that
	// merges them grows until they fit.
	svgMaxShades = 200
)

// svgBuf writes one SVG element tree; every attribute value and text goes
// through HTML escaping (strings from the wire reach titles).
type svgBuf struct {
	b     strings.Builder
	elems int
}

// attrs writes key="value" pairs, values escaped.
func (s *svgBuf) attrs(kv []string) {
	for i := 0; i+1 < len(kv); i += 2 {
		s.b.WriteString(" ")
		s.b.WriteString(kv[i])
		s.b.WriteString(`="`)
		s.b.WriteString(html.EscapeString(kv[i+1]))
		s.b.WriteString(`"`)
	}
}

// el writes an element with a hover title (none when title is empty) and
// no other content.
func (s *svgBuf) el(tag, title string, kv ...string) {
	s.elems++
	s.b.WriteString("<" + tag)
	s.attrs(kv)
	if title == "" {
		s.b.WriteString("/>")
		return
	}
	s.elems++
	s.b.WriteString("><title>" + html.EscapeString(title) + "</title></" + tag + ">")
}

// text writes a text element.
func (s *svgBuf) text(body string, kv ...string) {
	s.elems++
	s.b.WriteString("<text")
	s.attrs(kv)
	s.b.WriteString(">" + html.EscapeString(body) + "</text>")
}

// open starts an element that others go in; close ends it.
func (s *svgBuf) open(tag string, kv ...string) {
	s.elems++
	s.b.WriteString("<" + tag)
	s.attrs(kv)
	s.b.WriteString(">")
}

func (s *svgBuf) close(tag string) { s.b.WriteString("</" + tag + ">") }

func (s *svgBuf) html() template.HTML { return template.HTML(s.b.String()) }

// f1 formats a coordinate.
func f1(v float64) string { return strconv.FormatFloat(v, 'f', 1, 64) }

// scale maps a domain to the plot area of a graph height high.
type scale struct {
	t0, t1 float64 // time domain, ms
	v0, v1 float64 // value domain (log10 of it when log)
	log    bool
	height float64
}

func (p scale) x(t float64) float64 {
	if p.t1 <= p.t0 {
		return svgPadL
	}
	return svgPadL + (t-p.t0)/(p.t1-p.t0)*plotWidth
}

func (p scale) y(v float64) float64 {
	if p.log {
		v = math.Log10(max(v, 1e-300))
	}
	bottom := p.height - svgPadB
	if p.v1 <= p.v0 {
		return bottom
	}
	return bottom - (v-p.v0)/(p.v1-p.v0)*(p.height-svgPadT-svgPadB)
}

// column is the pixel column of time t: 0 to plotWidth-1.
func (p scale) column(t float64) int {
	return min(max(int(p.x(t)-svgPadL), 0), int(plotWidth)-1)
}

// frame draws the axes, the grid and the x ticks; the caller draws the
// y ticks (their labels depend on the quantity).
func (s *svgBuf) frame(p scale, xlabel string) {
	bottom := p.height - svgPadB
	s.el("rect", "", "class", "plot", "x", f1(svgPadL), "y", f1(svgPadT), "width", f1(plotWidth), "height", f1(bottom-svgPadT))
	for _, t := range niceTicks(p.t0, p.t1, 8) {
		x := p.x(t)
		s.el("line", "", "class", "grid", "x1", f1(x), "y1", f1(svgPadT), "x2", f1(x), "y2", f1(bottom))
		s.text(timeTick(t), "class", "tick", "x", f1(x), "y", f1(bottom+14), "text-anchor", "middle")
	}
	s.text(xlabel, "class", "axis", "x", f1(svgPadL+plotWidth), "y", f1(p.height-4), "text-anchor", "end")
}

// ytick draws one horizontal grid line and its label.
func (s *svgBuf) ytick(p scale, v float64, label string) {
	y := p.y(v)
	s.el("line", "", "class", "grid", "x1", f1(svgPadL), "y1", f1(y), "x2", f1(svgPadL+plotWidth), "y2", f1(y))
	s.text(label, "class", "tick", "x", f1(svgPadL-4), "y", f1(y+4), "text-anchor", "end")
}

// niceTicks returns at most about n round values (1, 2 or 5 times a power
// of ten apart) between lo and hi.
func niceTicks(lo, hi float64, n int) []float64 {
	if hi <= lo || n < 1 {
		return []float64{lo}
	}
	raw := (hi - lo) / float64(n)
	step := math.Pow(10, math.Floor(math.Log10(raw)))
	for _, m := range []float64{1, 2, 5, 10} {
		if step*m >= raw {
			step *= m
			break
		}
	}
	var out []float64
	for v := math.Ceil(lo/step) * step; v <= hi+step*1e-9; v += step {
		out = append(out, v)
	}
	return out
}

// timeTick labels a time axis tick: time since the capture's first packet.
func timeTick(ms float64) string {
	if ms == 0 {
		return "0"
	}
	switch {
	case ms >= 1000:
		return strconv.FormatFloat(ms/1000, 'f', -1, 64) + " s"
	case ms >= 1:
		return strconv.FormatFloat(ms, 'f', -1, 64) + " ms"
	}
	return strconv.FormatFloat(ms*1000, 'f', -1, 64) + " µs"
}

// byteTick labels a byte count with a decimal unit: 0, 500, 1.5k, 4M.
func byteTick(v float64) string {
	for _, u := range []struct {
		div  float64
		unit string
	}{{1e9, "G"}, {1e6, "M"}, {1e3, "k"}} {
		if v >= u.div {
			return strconv.FormatFloat(v/u.div, 'f', -1, 64) + u.unit
		}
	}
	return strconv.FormatFloat(v, 'f', -1, 64)
}

// stepPoints downsamples a step series (a value that holds from one
// point's time to the next) to at most four points per pixel column: the
// value entering the column, the lowest and highest in it, and the last;
// the line is then held to tEnd. Consecutive equal points are dropped.
func stepPoints(p scale, ts []float64, vs []float64, tEnd float64) string {
	var pts []string
	lastX, lastY := math.NaN(), math.NaN()
	add := func(x, y float64) {
		if x == lastX && y == lastY {
			return
		}
		lastX, lastY = x, y
		pts = append(pts, f1(x)+","+f1(y))
	}
	var prev float64
	for i := 0; i < len(ts); {
		c := p.column(ts[i])
		x := p.x(ts[i])
		lo, hi := vs[i], vs[i]
		j := i
		for ; j < len(ts) && p.column(ts[j]) == c; j++ {
			lo, hi = min(lo, vs[j]), max(hi, vs[j])
		}
		last := vs[j-1]
		if i > 0 {
			add(x, p.y(prev))
		}
		if lo != hi {
			// Up and down in one column: its range as a vertical run.
			first := vs[i]
			add(x, p.y(first))
			add(x, p.y(lo))
			add(x, p.y(hi))
		}
		add(x, p.y(last))
		prev = last
		i = j
	}
	if len(ts) > 0 {
		add(p.x(max(tEnd, ts[len(ts)-1])), p.y(prev))
	}
	return strings.Join(pts, " ")
}

// interval is a period of time, ms.
type interval struct{ from, to float64 }

// mergeShades merges periods that overlap or are less than a pixel
// apart, and then, while more than svgMaxShades remain, those closer
// than a gap that doubles each time.
func mergeShades(p scale, in []interval) []interval {
	if len(in) == 0 {
		return nil
	}
	s := slices.Clone(in)
	slices.SortFunc(s, func(a, b interval) int { return cmp.Compare(a.from, b.from) })
	pixel := (p.t1 - p.t0) / plotWidth
	for gap := pixel; ; gap *= 2 {
		out := []interval{s[0]}
		for _, iv := range s[1:] {
			last := &out[len(out)-1]
			if iv.from-last.to < gap {
				last.to = max(last.to, iv.to)
				continue
			}
			out = append(out, iv)
		}
		if len(out) <= svgMaxShades || gap <= 0 {
			return out
		}
		s = out
	}
}

// evidenceMark is a frame of a diagnosis' evidence, to label where the
// timeline shows it.
type evidenceMark struct {
	capture int
	frame   int64
	label   string // the frame number (FILE:FRAME with several files)
	title   string // what the finding says of it, and the file name
}

// findingSpan is a finding of the diagnosis drawn as a bar over the time
// it covers (from its start for its duration).
type findingSpan struct {
	kind  string
	from  float64
	to    float64
	title string
}

// tseqGraph is one direction of a connection in a time–sequence graph:
// its data segments and the ACKs and windows the other side advertised.
type tseqGraph struct {
	conn       int
	fromServer bool
	multi      bool // several capture files: frames are FILE:FRAME
	// t0 to tEnd is the time shown: the connection's first point to the
	// end of the capture (the silence after a stall is what the
	// picture is for).
	t0, tEnd float64
	tl       *analyze.Timeline
	shades   []interval // zero-window periods of the receiver
	marks    []evidenceMark
	spans    []findingSpan
	calls    []callMark
}

// callMark is a stuck call: a dashed line from when it was sent.
type callMark struct {
	t     float64
	label string
	title string
}

// direction names who sent the data a graph shows.
func direction(fromServer bool) string {
	if fromServer {
		return "server → client"
	}
	return "client → server"
}

// svg draws the graph: x is time since the capture's first packet, y
// the relative sequence number (as Wireshark shows it) of the data.
func (g *tseqGraph) svg() template.HTML {
	var segs []analyze.SegmentPoint
	for _, sp := range g.tl.Segments {
		if sp.FromServer == g.fromServer {
			segs = append(segs, sp)
		}
	}
	var acks []analyze.AckPoint
	for _, a := range g.tl.Acks {
		if a.FromServer != g.fromServer {
			acks = append(acks, a)
		}
	}
	var top float64
	for _, sp := range segs {
		top = max(top, float64(sp.Seq)+float64(sp.Len))
	}
	for _, a := range acks {
		top = max(top, float64(a.Ack))
	}
	t0, t1 := g.t0, max(g.tEnd, g.t0+1)
	// Room above the data for the window line; a window far larger than
	// the data is cut at the top.
	vmax := max(top*1.15, 1)
	p := scale{t0: t0, t1: t1, v0: 0, v1: vmax, height: tseqHeight}
	var s svgBuf
	s.open("svg", "xmlns", "http://www.w3.org/2000/svg", "class", "graph tseq", "data-graph", "timeseq",
		"data-connection", strconv.Itoa(g.conn), "data-direction", map[bool]string{true: "server", false: "client"}[g.fromServer],
		"viewBox", "0 0 "+f1(svgWidth)+" "+f1(tseqHeight), "role", "img",
		"aria-label", fmt.Sprintf("time-sequence graph of connection %d, %s", g.conn, direction(g.fromServer)))
	s.frame(p, "time since the first packet")
	for _, v := range niceTicks(0, vmax, 6) {
		s.ytick(p, v, byteTick(v))
	}
	s.text("relative seq", "class", "axis", "x", "4", "y", f1(svgPadT-8))
	s.legend()
	// Zero-window periods, shaded under everything else.
	for _, iv := range mergeShades(p, g.shades) {
		x0, x1 := p.x(max(iv.from, t0)), p.x(min(iv.to, t1))
		s.el("rect", "zero window: "+analyze.FormatMS(iv.to-iv.from)+" from "+timeTick(iv.from), "class", "zerowin",
			"x", f1(x0), "y", f1(svgPadT), "width", f1(max(x1-x0, 1)), "height", f1(tseqHeight-svgPadB-svgPadT))
	}
	// ACK line and ACK + window line.
	if len(acks) > 0 {
		ts := make([]float64, len(acks))
		av := make([]float64, len(acks))
		wv := make([]float64, len(acks))
		for i, a := range acks {
			ts[i], av[i] = a.TimeMS, float64(a.Ack)
			wv[i] = min(float64(a.Ack)+float64(a.Window), vmax)
		}
		s.el("polyline", "ACK + receive window advertised by the "+map[bool]string{true: "client", false: "server"}[g.fromServer], "class", "win", "points", stepPoints(p, ts, wv, t1))
		s.el("polyline", "ACK of the "+map[bool]string{true: "client", false: "server"}[g.fromServer], "class", "ack", "points", stepPoints(p, ts, av, t1))
	}
	// Data segments, one vertical mark per pixel column and kind
	// (original, retransmission), spanning the sequence range sent in it.
	type col struct {
		lo, hi      float64
		first, last analyze.SegmentPoint
		n           int
		t           float64
		retx        bool
	}
	draw := func(c *col) {
		if c.n == 0 {
			return
		}
		x := p.x(c.t)
		class := "seg"
		what := "data"
		if c.retx {
			class, what = "retx", "retransmission"
		}
		title := fmt.Sprintf("frame %s: %s, Seq=%d, Len=%d", analyze.FrameLabel(c.first.Capture, c.first.Frame, g.multi), what, c.first.Seq, c.first.Len)
		if c.n > 1 {
			title = fmt.Sprintf("frames %s to %s: %d %s segments, Seq=%.0f to %.0f", analyze.FrameLabel(c.first.Capture, c.first.Frame, g.multi),
				analyze.FrameLabel(c.last.Capture, c.last.Frame, g.multi), c.n, what, c.lo, c.hi)
		}
		y0, y1 := p.y(c.lo), p.y(c.hi)
		if y0-y1 < 2 {
			y1 = y0 - 2 // a segment always shows
		}
		if c.retx && y0-y1 < 10 {
			// A re-sent segment stands out round its place.
			mid := (y0 + y1) / 2
			y0, y1 = mid+5, mid-5
		}
		s.el("line", title, "class", class, "x1", f1(x), "y1", f1(y0), "x2", f1(x), "y2", f1(y1))
	}
	var cur [2]col // [0] originals, [1] retransmissions
	curCol := [2]int{-1, -1}
	for _, sp := range segs {
		k := 0
		if sp.Retransmission {
			k = 1
		}
		c := p.column(sp.TimeMS)
		if c != curCol[k] {
			draw(&cur[k])
			cur[k] = col{t: sp.TimeMS, first: sp, retx: k == 1}
			curCol[k] = c
		}
		lo, hi := float64(sp.Seq), float64(sp.Seq)+float64(sp.Len)
		if cur[k].n == 0 || lo < cur[k].lo {
			cur[k].lo = lo
		}
		cur[k].hi = max(cur[k].hi, hi)
		cur[k].last = sp
		cur[k].n++
	}
	draw(&cur[0])
	draw(&cur[1])
	g.drawMarks(&s, p, segs, acks)
	s.close("svg")
	return s.html()
}

// legend names the marks of a time–sequence graph, above its plot.
func (s *svgBuf) legend() {
	x := svgPadL + 170
	y := svgPadT - 8
	s.open("g", "class", "legend")
	defer s.close("g")
	for _, item := range []struct{ class, label string }{
		{"seg", "data"}, {"retx", "retransmission"}, {"ack", "ACK"}, {"win", "ACK + window"}, {"zerowin", "zero window"}, {"evidence", "evidence frame"},
	} {
		switch item.class {
		case "zerowin":
			s.el("rect", "", "class", item.class, "x", f1(x), "y", f1(y-8), "width", "16", "height", "10")
		case "evidence":
			s.el("circle", "", "class", item.class, "cx", f1(x+8), "cy", f1(y-3), "r", "3.5")
		default:
			s.el("line", "", "class", item.class, "x1", f1(x), "y1", f1(y-3), "x2", f1(x+16), "y2", f1(y-3))
		}
		s.text(item.label, "class", "tick", "x", f1(x+20), "y", f1(y+1))
		x += 20 + 7*float64(len(item.label)) + 14
	}
}

// drawMarks draws the stuck calls, the findings' spans and the evidence
// frames' labels.
func (g *tseqGraph) drawMarks(s *svgBuf, p scale, segs []analyze.SegmentPoint, acks []analyze.AckPoint) {
	bottom := p.height - svgPadB
	for _, c := range g.calls {
		x := p.x(c.t)
		s.el("line", c.title, "class", "call", "x1", f1(x), "y1", f1(svgPadT), "x2", f1(x), "y2", f1(bottom))
		// At the bottom, clear of the frame labels (drawn above their
		// points) and the finding spans; on the left of the line near
		// the right edge.
		if x > svgPadL+plotWidth*0.8 {
			s.text(c.label, "class", "call-label", "x", f1(x-3), "y", f1(bottom-26), "text-anchor", "end")
		} else {
			s.text(c.label, "class", "call-label", "x", f1(x+3), "y", f1(bottom-26))
		}
	}
	for i, sp := range g.spans {
		y := bottom - 4 - float64(i%4)*5
		x0, x1 := p.x(max(sp.from, p.t0)), p.x(min(sp.to, p.t1))
		s.el("line", sp.title, "class", "span", "data-kind", sp.kind, "x1", f1(x0), "y1", f1(y), "x2", f1(max(x1, x0+2)), "y2", f1(y))
	}
	type at struct{ x, y float64 }
	where := map[[2]int64]at{}
	for _, sp := range segs {
		where[[2]int64{int64(sp.Capture), sp.Frame}] = at{p.x(sp.TimeMS), p.y(float64(sp.Seq) + float64(sp.Len))}
	}
	for _, a := range acks {
		k := [2]int64{int64(a.Capture), a.Frame}
		if _, ok := where[k]; !ok {
			where[k] = at{p.x(a.TimeMS), p.y(float64(a.Ack))}
		}
	}
	// Labels of frames close together are stacked, not drawn over each
	// other.
	lastX, stack := math.Inf(-1), 0
	for _, m := range g.marks {
		pt, ok := where[[2]int64{int64(m.capture), m.frame}]
		if !ok {
			continue
		}
		if math.Abs(pt.x-lastX) < 30 {
			stack++
		} else {
			stack = 0
		}
		lastX = pt.x
		ly := max(pt.y-8-float64(stack%6)*12, svgPadT+10)
		s.el("circle", m.title, "class", "evidence", "data-frame", m.label, "cx", f1(pt.x), "cy", f1(pt.y), "r", "3.5")
		if pt.x > svgPadL+plotWidth-40 {
			s.text(m.label, "class", "frame-label", "data-frame", m.label, "x", f1(pt.x-4), "y", f1(ly), "text-anchor", "end")
		} else {
			s.text(m.label, "class", "frame-label", "data-frame", m.label, "x", f1(pt.x+4), "y", f1(ly))
		}
	}
}

// outstandingSVG draws how many calls waited for a reply on a connection
// over time, as a step line from t0 to tEnd.
func outstandingSVG(tl *analyze.Timeline, t0, tEnd float64) template.HTML {
	ts := make([]float64, len(tl.Outstanding))
	vs := make([]float64, len(tl.Outstanding))
	most := 1
	for i, c := range tl.Outstanding {
		ts[i], vs[i] = c.TimeMS, float64(c.N)
		most = max(most, c.N)
	}
	p := scale{t0: t0, t1: max(tEnd, t0+1), v0: 0, v1: float64(most), height: outstandingHeight}
	var s svgBuf
	s.open("svg", "xmlns", "http://www.w3.org/2000/svg", "class", "graph outstanding", "data-graph", "outstanding",
		"data-connection", strconv.Itoa(tl.Connection), "viewBox", "0 0 "+f1(svgWidth)+" "+f1(outstandingHeight), "role", "img",
		"aria-label", fmt.Sprintf("calls outstanding over time on connection %d", tl.Connection))
	s.frame(p, "time since the first packet")
	for _, v := range niceTicks(0, float64(most), 4) {
		if v == math.Trunc(v) {
			s.ytick(p, v, strconv.FormatFloat(v, 'f', -1, 64))
		}
	}
	s.text("calls waiting", "class", "axis", "x", "4", "y", f1(svgPadT-8))
	if len(ts) > 0 {
		s.el("polyline", fmt.Sprintf("calls waiting for a reply on connection %d: at most %d at once", tl.Connection, most),
			"class", "count", "points", stepPoints(p, ts, vs, p.t1))
	}
	s.close("svg")
	return s.html()
}

// latencySVG draws one procedure's response time over the capture: per
// bucket a bar from the fastest to the slowest reply, and the mean as a
// line, on a log scale (latency spans microseconds to seconds).
func latencySVG(ls *analyze.LatencySeries, tEnd float64) template.HTML {
	lo, hi := math.Inf(1), 0.0
	for _, b := range ls.Buckets {
		if b.Count == 0 {
			continue
		}
		lo, hi = min(lo, max(b.MinMS, 1e-3)), max(hi, b.MaxMS)
	}
	if math.IsInf(lo, 1) {
		lo, hi = 1e-3, 1
	}
	v0, v1 := math.Floor(math.Log10(lo)), math.Ceil(math.Log10(max(hi, 1e-3)))
	if v1 <= v0 {
		v1 = v0 + 1
	}
	p := scale{t0: 0, t1: max(tEnd, 1), v0: v0, v1: v1, log: true, height: latencyHeight}
	for _, b := range ls.Buckets {
		p.t1 = max(p.t1, b.TimeMS+ls.BucketMS)
	}
	label := ls.Program + " " + ls.Procedure
	var s svgBuf
	s.open("svg", "xmlns", "http://www.w3.org/2000/svg", "class", "graph latency", "data-graph", "latency",
		"data-procedure", label, "viewBox", "0 0 "+f1(svgWidth)+" "+f1(latencyHeight), "role", "img",
		"aria-label", "latency over time of "+label)
	s.frame(p, "time since the first packet")
	for d := v0; d <= v1; d++ {
		s.ytick(p, math.Pow(10, d), analyze.FormatMS(math.Pow(10, d)))
	}
	s.text(label+" latency", "class", "axis", "x", "4", "y", f1(svgPadT-8))
	// Buckets merged by pixel column: the lowest min, the highest max,
	// the mean weighted by count.
	type agg struct {
		t, lo, hi, sum float64
		n, buckets     int
	}
	var cols []agg
	lastCol := -1
	for _, b := range ls.Buckets {
		if b.Count == 0 {
			continue
		}
		c := p.column(b.TimeMS + ls.BucketMS/2)
		if c != lastCol {
			cols = append(cols, agg{t: b.TimeMS + ls.BucketMS/2, lo: b.MinMS, hi: b.MaxMS})
			lastCol = c
		}
		a := &cols[len(cols)-1]
		a.lo, a.hi = min(a.lo, b.MinMS), max(a.hi, b.MaxMS)
		a.sum += b.MeanMS * float64(b.Count)
		a.n += b.Count
		a.buckets++
	}
	var mean []string
	for _, a := range cols {
		x := p.x(a.t)
		y0, y1 := p.y(max(a.lo, 1e-3)), p.y(max(a.hi, 1e-3))
		if y0-y1 < 2 {
			y1 = y0 - 2
		}
		m := a.sum / float64(a.n)
		s.el("line", fmt.Sprintf("%s: %d %s, min %s, mean %s, max %s", timeTick(a.t), a.n, analyze.Plural(a.n, "reply", "replies"),
			analyze.FormatMS(a.lo), analyze.FormatMS(m), analyze.FormatMS(a.hi)),
			"class", "range", "x1", f1(x), "y1", f1(y0), "x2", f1(x), "y2", f1(y1))
		mean = append(mean, f1(x)+","+f1(p.y(max(m, 1e-3))))
	}
	if len(mean) > 0 {
		s.el("polyline", label+": mean latency", "class", "mean", "points", strings.Join(mean, " "))
	}
	s.close("svg")
	return s.html()
}
