package analyze

import (
	"fmt"
	"slices"
	"strings"

	"github.com/nfsstall/nfsstall/tcpflow"
)

// Delayed-ACK pauses (issue 13, item 11): a sender stops in the middle
// of its data until the peer's delayed ACK of its last segment comes
// (~40 ms on Linux, up to 200 ms elsewhere), again and again: Nagle's
// algorithm holding a small segment back, or a send buffer or window
// with an odd segment outstanding, meeting a receiver that ACKs every
// second segment at once and a lone one only when its timer fires. Slow,
// not hung: a warning.
//
// A pause, on one direction of a TCP connection (the sender):
//   - A is a segment of new data of the sender, B the first segment of the
//     peer after it, C the sender's next segment of new data;
//   - B is a pure ACK (no data, no SYN/FIN/RST) acknowledging exactly up
//     to A's end (all the sender had sent), and the peer sent no data
//     between A and C and advertised no zero window (flow control is
//     zero_window's business);
//   - what B acknowledges beyond the peer's ACK before it is at most one
//     segment (the longest the sender sent): a receiver delays its ACK
//     of a lone segment and ACKs every second one at once; one that
//     ACKs a whole flight late held its ACK for another reason (its
//     application not reading, a window it would not reopen);
//   - the wait B-A is at least dackMinPause and at least dackRTTs times
//     the quickest the peer ever ACKed the sender's latest segment (what
//     it does when it does not delay): the ACK was held back;
//   - C follows B within max(dackMaxResume, (B-A)/10): the ACK released
//     it.
//
// A finding takes dackMinPauses pauses or more on one direction. The
// cost per segment is a few comparisons on a small state kept in the
// connection; what the pauses add up to (dackStats) is made at the first
// pause, and the pause lengths kept for the median are the first
// dackKeep.

// KindDelayedACK is the finding of repeated pauses for delayed ACKs.
const KindDelayedACK = "delayed_ack_pause"

const (
	dackMinPause  = 10e6 // ns
	dackMaxResume = 2e6  // ns
	dackRTTs      = 10
	dackMinPauses = 3
	dackKeep      = 256
	dackExamples  = 3
)

type dackDir struct {
	// (Fields ordered by size: every connection carries two.)
	last tcpflow.FrameRef // A: the sender's latest segment of new data
	ack  tcpflow.FrameRef // B: the peer's pure ACK of all of it (Frame 0: none yet)
	// quickest: the shortest time the peer took to ACK all the sender
	// had sent (haveQuick: seen)
	quickest int64
	st       *dackStats // nil until the first pause
	lastEnd  uint32
	// prevAck: the peer's latest ACK before B (havePrev: seen); ackedLen:
	// what B acknowledged beyond it; maxSeg: the sender's longest segment
	prevAck   uint32
	ackedLen  uint32
	maxSeg    uint32
	have      bool
	spoiled   bool // the peer sent something else first, data, or a zero window
	havePrev  bool
	haveQuick bool
}

// dackStats is what one direction's pauses add up to.
type dackStats struct {
	pauses   int
	lostNS   int64
	durs     []int64 // B-A of the first dackKeep pauses
	examples [dackExamples][3]tcpflow.FrameRef
	msgs     int   // messages (replies or calls) the pauses fell in
	lastMsg  int64 // the message count at the latest pause
	first    tcpflow.FrameRef
}

// dackSegment follows segment s of direction dir.
func (c *connState) dackSegment(dir tcpflow.Dir, s *tcpflow.Segment, flags tcpflow.Analysis, at tcpflow.FrameRef) {
	ctl := s.Flags&(tcpflow.FlagSYN|tcpflow.FlagFIN|tcpflow.FlagRST) != 0
	if s.WireLen > 0 && !ctl && flags&(tcpflow.RetransmissionFamily|tcpflow.AKeepAlive|tcpflow.AZeroWindowProbe) == 0 {
		if c.dack == nil {
			// Made at the first data: a SYN flood's connections carry none.
			c.dack = &[2]dackDir{}
		}
		d := &c.dack[dir]
		if d.have && d.ack.Frame != 0 && !d.spoiled {
			wait, resume := d.ack.Time-d.last.Time, at.Time-d.ack.Time
			if wait >= dackMinPause && d.haveQuick && wait >= dackRTTs*d.quickest && resume <= max(dackMaxResume, wait/10) && d.ackedLen <= d.maxSeg {
				c.dackPause(dir, d, at)
			}
		}
		d.last, d.lastEnd, d.have = at, s.Seq+uint32(s.WireLen), true
		d.maxSeg = max(d.maxSeg, uint32(s.WireLen))
		d.ack, d.spoiled = tcpflow.FrameRef{}, false
	}
	// As the peer of the other direction's sender.
	if c.dack == nil {
		return
	}
	p := &c.dack[1-dir]
	if !p.have {
		return
	}
	switch {
	case s.WireLen > 0 || ctl || s.Window == 0:
		p.spoiled = true
	case p.ack.Frame == 0 && s.Flags&tcpflow.FlagACK != 0 && s.Ack == p.lastEnd:
		p.ack = at
		p.ackedLen = ^uint32(0) // unknown: no ACK before it
		if p.havePrev {
			p.ackedLen = s.Ack - p.prevAck
		}
		if w := at.Time - p.last.Time; !p.haveQuick || w < p.quickest {
			p.quickest, p.haveQuick = w, true
		}
	}
	if s.Flags&tcpflow.FlagACK != 0 && !ctl {
		p.prevAck, p.havePrev = s.Ack, true
	}
}

// dackPause records a pause of d ended by the segment at.
func (c *connState) dackPause(dir tcpflow.Dir, d *dackDir, at tcpflow.FrameRef) {
	wait := d.ack.Time - d.last.Time
	if d.st == nil {
		d.st = &dackStats{first: d.last}
	}
	st := d.st
	if st.pauses < dackExamples {
		st.examples[st.pauses] = [3]tcpflow.FrameRef{d.last, d.ack, at}
	}
	st.pauses++
	st.lostNS += at.Time - d.last.Time
	if len(st.durs) < dackKeep {
		st.durs = append(st.durs, wait)
	}
	msg := c.replies
	if dir == tcpflow.ToServer {
		msg = c.calls
	}
	if st.msgs == 0 || msg != st.lastMsg {
		st.msgs++
		st.lastMsg = msg
	}
}

// dackFindings adds a finding for every direction that paused for
// delayed ACKs dackMinPauses times or more, the first maxListed; the
// others are counted in omitted.
func (a *Analyzer) dackFindings(all []Finding, end int64, omitted map[string]int64) []Finding {
	n := 0
	for _, c := range a.conns {
		if c.dack == nil {
			continue
		}
		for dir := range c.dack {
			if d := &c.dack[dir]; d.st != nil && d.st.pauses >= dackMinPauses {
				if n >= maxListed {
					omitted[KindDelayedACK]++
					continue
				}
				n++
				all = append(all, c.dackFinding(tcpflow.Dir(dir), d, end))
			}
		}
	}
	return all
}

// dackEvidence counts the directions of a connection with a finding
// (hasEvidence keeps a closed connection that has one).
func (c *connState) dackEvidence() int {
	n := 0
	if c.dack == nil {
		return 0
	}
	for dir := range c.dack {
		if d := &c.dack[dir]; d.st != nil && d.st.pauses >= dackMinPauses {
			n++
		}
	}
	return n
}

func (c *connState) dackFinding(dir tcpflow.Dir, d *dackDir, end int64) Finding {
	a := c.a
	sender, receiver, data, msgs := "client", "server", "data", "calls"
	if dir == tcpflow.ToClient {
		sender, receiver, data, msgs = "server", "client", "reply data", "replies"
	}
	st := d.st
	durs := slices.Clone(st.durs)
	slices.Sort(durs)
	median := durs[len(durs)/2]
	if len(durs)%2 == 0 {
		median = (durs[len(durs)/2-1] + durs[len(durs)/2]) / 2
	}
	var refs []tcpflow.FrameRef
	var ex []string
	for i := range min(st.pauses, dackExamples) {
		e := st.examples[i]
		refs = append(refs, e[:]...)
		ex = append(ex, fmt.Sprintf("%s, %s, %s", a.frame(e[0]), a.frame(e[1]), a.frame(e[2])))
	}
	f := Finding{Kind: KindDelayedACK, Severity: SeverityWarning, Connection: c.info.ID, Start: Time(st.first.Time),
		DurationMS: ms(st.lostNS), side: dir}
	f.setFrames(refs)
	var b strings.Builder
	fmt.Fprintf(&b, "the %s's %s stopped %d %s (in %d %s) until the %s's delayed ACK came: each time the %s's pure ACK of all it had sent came %s later (median; from %s to %s",
		sender, data, st.pauses, Plural(st.pauses, "time", "times"), st.msgs, msgs, receiver, receiver,
		FormatMS(ms(median)), FormatMS(ms(durs[0])), FormatMS(ms(durs[len(durs)-1])))
	if st.pauses > len(durs) {
		fmt.Fprintf(&b, ", the first %d pauses", len(durs))
	}
	fmt.Fprintf(&b, ") and the %s resumed at once after it, when otherwise the %s ACKs within %s: %s lost in all",
		sender, receiver, FormatMS(ms(d.quickest)), FormatMS(ms(st.lostNS)))
	timer := "the receiver's delayed-ACK timer"
	switch {
	case median >= 25e6 && median <= 60e6:
		timer = "Linux's 40.0 ms delayed-ACK timer (its minimum; the timer adapts)"
	case median >= 90e6 && median <= 110e6:
		timer = "a 100 ms delayed-ACK timer (BSD, macOS)"
	case median >= 150e6 && median <= 250e6:
		timer = "a 200 ms delayed-ACK timer (Windows, Solaris, older stacks)"
	}
	fmt.Fprintf(&b, "; the wait matches %s: the %s acknowledges a lone segment only when that timer fires, and the %s sends no more until its last segment is ACKed (Nagle's algorithm holding back a small segment, or a send buffer or window that is full); TCP_NODELAY on the %s's socket, or quick ACKs on the %s, remove the pauses (examples, last data / the %s's ACK / resumed: frames %s)",
		timer, receiver, sender, sender, receiver, receiver, strings.Join(ex, "; "))
	f.Summary = b.String()
	return f
}

// dackClose drops the state of a connection that ends with too few
// pauses for a finding.
func (c *connState) dackClose() {
	if c.dackEvidence() == 0 {
		c.dack = nil // no more segments: only a finding's stats matter
	}
}
