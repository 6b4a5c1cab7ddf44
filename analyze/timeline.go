package analyze

import (
	"cmp"
	"fmt"
	"slices"

	"github.com/nfsstall/nfsstall/capture"
	"github.com/nfsstall/nfsstall/tcpflow"
)

// Gathering the data of picture.go while the packets are read. Every
// connection that carries data gets, lazily, rings that keep the last
// points of its time-sequence graph (a stall is at the end of what a
// connection did); the rings of all connections together are bounded by
// Options.MaxTimelines, and made only when a connection first needs one
// (a ring is reused, never freed, never grown: no allocation per packet).

// Points kept per connection: the last of each kind.
const (
	timelineSegments    = 2048
	timelineAcks        = 1024
	timelineOutstanding = 512
)

// TimelineBytes is what one connection's rings cost (segment and ACK
// points 32 bytes each, outstanding counts 16): about 104 KiB. (A picture draws at most a few
// thousand points: the last 2,048 segments show a stall as well as more.)
const TimelineBytes = timelineSegments*32 + timelineAcks*32 + timelineOutstanding*16

// DefaultMaxTimelines is Options.MaxTimelines at the default budget.
const DefaultMaxTimelines = 12

// Report.Timelines lists the diagnosed connections' timelines, the first
// maxTimelinesListed (those the text report shows in full), or with no
// diagnosis the busiestTimelines connections with the most calls.
const (
	maxTimelinesListed = 10
	busiestTimelines   = 3
)

// ring keeps the last len(buf) values pushed.
type ring[T any] struct {
	buf  []T
	head int // the oldest
	n    int
}

func (r *ring[T]) push(v T) {
	if r.n < len(r.buf) {
		i := r.head + r.n
		if i >= len(r.buf) {
			i -= len(r.buf)
		}
		r.buf[i] = v
		r.n++
		return
	}
	r.buf[r.head] = v
	r.head++
	if r.head == len(r.buf) {
		r.head = 0
	}
}

// at returns the i-th oldest value kept.
func (r *ring[T]) at(i int) T {
	i += r.head
	if i >= len(r.buf) {
		i -= len(r.buf)
	}
	return r.buf[i]
}

// segPoint, ackPoint and cntPoint are the kept forms of SegmentPoint,
// AckPoint and CountPoint: times in ns since the epoch.
type segPoint struct {
	t, frame   int64
	seq, len   uint32
	file       int32
	fromServer bool
	retrans    bool
}

type ackPoint struct {
	t, frame   int64
	ack, win   uint32
	file       int32
	fromServer bool
}

type cntPoint struct {
	t int64
	n int64
}

// connTimeline is the rings of one connection, c, their holder.
type connTimeline struct {
	c    *connState
	segs ring[segPoint]
	acks ring[ackPoint]
	outs ring[cntPoint]
}

// connPicture is what a connection keeps for its timeline, ring or not.
type connPicture struct {
	tl *connTimeline
	// noRing: the connection asked for a ring and none could be given
	// (all held by connections with calls waiting), or its ring was given
	// to another: it gets none again, its timeline would have a hole.
	noRing bool
	// Points seen, kept or not: what the ring does not hold was dropped.
	segs, acks, outs int64
	last             [2]ackState // the last ACK and window each side advertised
}

type ackState struct {
	ack, win uint32
	ok       bool
}

// pictures is the Analyzer's share of the picture data.
type pictures struct {
	rings []*connTimeline // every ring made, at most Options.MaxTimelines
	max   int
	// now is the time of the message being decoded (or of the latest
	// segment): when a count of calls waiting changes.
	now int64
	// origin: the first packet's time, where latency buckets start.
	origin     int64
	haveOrigin bool
	lat        latencyTimes
}

// packet notes the first packet's time and analyses p.
func (a *Analyzer) packet(p *capture.Packet) {
	if !a.pic.haveOrigin {
		a.pic.origin, a.pic.haveOrigin = p.Time, true
	}
	a.flows.Packet(p)
}

// segment records a TCP segment of c: a data segment, and the ACK and
// window of its sender when either changed.
func (p *pictures) segment(c *connState, dir tcpflow.Dir, s *tcpflow.Segment, flags tcpflow.Analysis, at tcpflow.FrameRef) {
	p.now = at.Time
	cp := &c.pic
	data := s.WireLen > 0
	ackChanged := false
	if s.Flags&tcpflow.FlagACK != 0 {
		if l := &cp.last[dir]; !l.ok || l.ack != s.RelAck || l.win != s.ScaledWindow {
			*l = ackState{ack: s.RelAck, win: s.ScaledWindow, ok: true}
			ackChanged = true
			cp.acks++
		}
	}
	if data {
		cp.segs++
	}
	if !data && !ackChanged {
		return
	}
	tl := cp.tl
	if tl == nil {
		// A ring is first asked for by data: connections of SYNs and
		// ACKs only never hold one.
		if !data || cp.noRing {
			return
		}
		if tl = p.acquire(c); tl == nil {
			return
		}
	}
	fromServer := dir == tcpflow.ToClient
	if data {
		tl.segs.push(segPoint{t: at.Time, frame: at.Frame, file: int32(at.File), seq: s.RelSeq, len: uint32(s.WireLen),
			fromServer: fromServer, retrans: flags&tcpflow.RetransmissionFamily != 0})
	}
	if ackChanged {
		tl.acks.push(ackPoint{t: at.Time, frame: at.Frame, file: int32(at.File), ack: s.RelAck, win: s.ScaledWindow, fromServer: fromServer})
	}
}

// outstanding records that the calls waiting for a reply on c changed.
func (p *pictures) outstanding(c *connState) {
	cp := &c.pic
	cp.outs++
	tl := cp.tl
	if tl == nil {
		if cp.noRing {
			return
		}
		if tl = p.acquire(c); tl == nil {
			return
		}
	}
	tl.outs.push(cntPoint{t: p.now, n: int64(c.tracked)})
}

// acquire gives c a ring: a new one below the bound, else the ring of the
// connection least likely to be pictured (see victim). It returns nil when
// every ring is held by a connection with calls waiting.
func (p *pictures) acquire(c *connState) *connTimeline {
	var tl *connTimeline
	if len(p.rings) < p.max {
		tl = &connTimeline{
			segs: ring[segPoint]{buf: make([]segPoint, timelineSegments)},
			acks: ring[ackPoint]{buf: make([]ackPoint, timelineAcks)},
			outs: ring[cntPoint]{buf: make([]cntPoint, timelineOutstanding)},
		}
		p.rings = append(p.rings, tl)
	} else {
		if tl = p.victim(); tl == nil {
			c.pic.noRing = true
			return nil
		}
		old := tl.c
		old.pic.tl, old.pic.noRing = nil, true
		tl.segs.head, tl.segs.n = 0, 0
		tl.acks.head, tl.acks.n = 0, 0
		tl.outs.head, tl.outs.n = 0, 0
	}
	tl.c = c
	c.pic.tl = tl
	return tl
}

// victim returns the ring to reuse, the first of: a ring of a connection
// folded away (it will not be listed); of one that never carried an RPC
// message; of one closed with no call waiting and no TCP evidence (no
// finding can name it); of one open with no call waiting; fewest calls
// first, then the least recently active. A connection with calls waiting
// keeps its ring: it is the one a stall is about.
func (p *pictures) victim() *connTimeline {
	var best *connTimeline
	bestRank := 4
	for _, tl := range p.rings {
		c := tl.c
		rank := 4
		switch {
		case c.idx < 0:
			rank = 0
		case c.calls+c.replies == 0:
			rank = 1
		case c.pinned():
			continue
		case c.closed && !c.hasEvidence():
			rank = 2
		case !c.closed:
			rank = 3
		default:
			continue
		}
		if best == nil || rank < bestRank || rank == bestRank && (c.calls < best.c.calls ||
			c.calls == best.c.calls && c.last.Time < best.c.last.Time) {
			best, bestRank = tl, rank
		}
	}
	return best
}

// listPictures fills the data of picture.go, times in ms since first
// (the first packet's time: without the capture's, the first analysed).
func (a *Analyzer) listPictures(r *Report, first int64) {
	if a.opts.NoPictures {
		return
	}
	if first == 0 {
		first = a.pic.origin
	}
	a.listTimelines(r, first)
	a.listLatencyOverTime(r, first)
}

// listTimelines fills Report.Timelines (after the diagnoses): the first
// maxTimelinesListed diagnosed connections, or with none the
// busiestTimelines connections with the most calls (of as busy ones, those
// with a timeline, then the first). A connection chosen
// without a ring is counted in skipped.
func (a *Analyzer) listTimelines(r *Report, first int64) {
	var chosen []*connState
	if len(r.Diagnoses) > 0 {
		for _, d := range r.Diagnoses {
			if len(chosen) == maxTimelinesListed {
				break
			}
			if c := a.byID(d.Connection); c != nil {
				chosen = append(chosen, c)
			}
		}
	} else {
		for _, c := range a.conns {
			if c != nil && c.calls > 0 {
				chosen = append(chosen, c)
			}
		}
		slices.SortFunc(chosen, func(x, y *connState) int {
			if x.calls != y.calls {
				return cmp.Compare(y.calls, x.calls)
			}
			if hx, hy := x.pic.tl != nil, y.pic.tl != nil; hx != hy {
				if hx {
					return -1 // as busy, and pictured
				}
				return 1
			}
			return x.info.ID - y.info.ID
		})
		chosen = chosen[:min(len(chosen), busiestTimelines)]
	}
	var missed int64
	for _, c := range chosen {
		if c.pic.tl == nil && c.pic.noRing {
			missed++
			continue
		}
		r.Timelines = append(r.Timelines, c.timeline(first))
	}
	r.skip(true, "connection timelines", missed,
		fmt.Sprintf("not kept for the report's pictures: %d connections' timelines are kept at once (about %d KiB each), and connections with calls waiting keep theirs", a.pic.max, TimelineBytes>>10))
}

// timeline converts c's rings, times in ms since first.
func (c *connState) timeline(first int64) Timeline {
	ms := func(t int64) float64 { return float64(t-first) / 1e6 }
	cp := &c.pic
	t := Timeline{Connection: c.info.ID, Segments: []SegmentPoint{}, Acks: []AckPoint{}, Outstanding: []CountPoint{}}
	if tl := cp.tl; tl != nil {
		for i := range tl.segs.n {
			s := tl.segs.at(i)
			t.Segments = append(t.Segments, SegmentPoint{TimeMS: ms(s.t), Capture: int(s.file), Frame: s.frame,
				FromServer: s.fromServer, Seq: s.seq, Len: s.len, Retransmission: s.retrans})
		}
		for i := range tl.acks.n {
			k := tl.acks.at(i)
			t.Acks = append(t.Acks, AckPoint{TimeMS: ms(k.t), Capture: int(k.file), Frame: k.frame,
				FromServer: k.fromServer, Ack: k.ack, Window: k.win})
		}
		for i := range tl.outs.n {
			o := tl.outs.at(i)
			t.Outstanding = append(t.Outstanding, CountPoint{TimeMS: ms(o.t), N: int(o.n)})
		}
	}
	t.DroppedSegments = cp.segs - int64(len(t.Segments))
	t.DroppedAcks = cp.acks - int64(len(t.Acks))
	t.DroppedOutstanding = cp.outs - int64(len(t.Outstanding))
	return t
}
