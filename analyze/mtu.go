package analyze

import (
	"fmt"
	"slices"
	"strings"

	"github.com/nfsstall/nfsstall/tcpflow"
)

// MTU black holes (issue 13, item 3): a path whose MTU is below what the
// sender's MSS makes of its full-size segments drops them, and the ICMP
// "fragmentation needed" (ICMPv6 "packet too big") that should tell the
// sender is not sent or is filtered. In a capture: one direction's
// full-size segments are re-sent and never ACKed while the same sender's
// smaller segments get through.
//
// Precisely, on one direction of a TCP connection (the sender):
//   - full size: a segment of at least minFullSize bytes of payload that
//     is longer than every segment of the sender the peer ever ACKed
//     (cumulatively or by SACK) before it;
//   - the first full-size segment not ACKed (the hole) is never ACKed by
//     the end of the capture, and every run of bytes the sender re-sent
//     and never got ACKed (tcpflow.Unacked) is full size: a short segment
//     re-sent and never ACKed too is a receiver that ACKs nothing
//     (client_not_acking), not a black hole;
//   - smaller segments pass: a segment of the sender shorter than the
//     hole, sent after it, was ACKed or SACKed by the peer (proof), or,
//     failing that, the peer kept sending on the connection after the
//     hole was first re-sent, data among it, none of it re-sent (so the
//     sender's short ACKs of it arrived; a path dead one way would leave
//     the peer re-sending too), and had ACKed smaller segments of the
//     sender before the hole (weaker: said so in the summary). The seed's capture
//     (stall-client-noack) has neither: segments of the same size were
//     ACKed before, and the client sent nothing after;
//   - an ICMP error too big (tcpflow.ICMPError.TooBig) quoting the
//     sender's segments makes it a path MTU update in progress instead: a
//     warning, never a stall.
//
// The per-segment cost is a few comparisons: a direction's state only
// moves while a segment is longer than every one ACKed so far, which on a
// healthy connection stops after its first full-size segment is ACKed.
// Nothing grows with the input. A direction keeps only its latest
// segment and the longest one ACKed (mtuPre) until it sends a segment of
// minFullSize bytes longer than that; then an mtuDir follows it, its
// segments awaiting their ACK in a fixed array (one per length, the
// longest lengths win), and is given back once a full-size segment was
// ACKed and nothing is open (a healthy connection holds one only for its
// first round trip), or when the connection closes with no hole.

// KindMTUBlackHole is the finding of full-size segments lost on the path
// while smaller ones pass.
const KindMTUBlackHole = "mtu_black_hole"

// VerdictMTUBlackHole: the path drops a side's full-size segments.
const VerdictMTUBlackHole = "mtu_black_hole"

const (
	// minFullSize: a segment shorter than this is no full-size segment
	// of any link (the IPv6 minimum MTU is 1280).
	minFullSize = 1000
	// mtuPend: the segments longer than every one ACKed so far followed
	// at once, per direction.
	mtuPend = 4
	// mtuListed: the re-sent runs whose frames a finding lists.
	mtuListed = 4
)

type mtuSeg struct {
	seq, end uint32
	at       tcpflow.FrameRef
}

func (s mtuSeg) len() uint32 { return s.end - s.seq }

// mtuDir is one sender's side of a connection.
type mtuDir struct {
	maxAcked   uint32           // the longest segment of the sender the peer ACKed
	maxAckedAt tcpflow.FrameRef // that segment's frame
	pend       [mtuPend]mtuSeg  // segments longer than maxAcked awaiting their ACK
	npend      int
	hole       mtuSeg // the first full-size segment not ACKed (hole.at.Frame 0: none)
	// small: a shorter segment sent after the hole (small.at.Frame 0:
	// none yet); smallAck: the peer's segment that ACKed or SACKed it
	small, smallAck tcpflow.FrameRef
	smallLen        uint32
	smallSeq        uint32
	resent          bool             // the hole was re-sent
	peerAfter       int64            // the peer's segments since the hole was first re-sent
	peerFirst       tcpflow.FrameRef // the first of them
	peerData        int64            // of them, those carrying data
	peerResent      int64            // of them, those re-sending data
	// ICMP errors quoting the sender's segments: too big (with the
	// smallest MTU they gave) and others (unreachable)
	tooBig, unreach int
	icmpFirst       tcpflow.FrameRef
	icmpMTU         uint32
}

// mtuPre is what a direction keeps while it has no mtuDir.
type mtuPre struct {
	last    mtuSeg // its latest segment
	acked   uint32 // the longest segment of it the peer ACKed
	ackedAt tcpflow.FrameRef
}

type mtuState struct {
	pre [2]mtuPre
	dir [2]*mtuDir
}

// seqCoversEnd: an ACK of ack covers bytes ending at end.
func seqCoversEnd(ack, end uint32) bool { return int32(ack-end) >= 0 }

// covered reports whether segment s's ACK (cumulative or SACK blocks)
// covers [seq, end).
func covered(s *tcpflow.Segment, seq, end uint32) bool {
	if s.Flags&tcpflow.FlagACK != 0 && seqCoversEnd(s.Ack, end) {
		return true
	}
	for _, b := range s.SACK[:s.SACKN] {
		if int32(seq-b[0]) >= 0 && int32(b[1]-end) >= 0 {
			return true
		}
	}
	return false
}

// mtuSegment follows segment s of direction dir.
func (c *connState) mtuSegment(dir tcpflow.Dir, s *tcpflow.Segment, flags tcpflow.Analysis, at tcpflow.FrameRef) {
	m := &c.mtu
	d := m.dir[dir]
	if n := uint32(s.WireLen); n > 0 && s.Flags&tcpflow.FlagSYN == 0 && d == nil {
		pr := &m.pre[dir]
		if n >= minFullSize && n > pr.acked && flags&tcpflow.RetransmissionFamily == 0 {
			d = c.mtuOpen(dir)
		} else {
			pr.last = mtuSeg{s.Seq, s.Seq + n, at}
		}
	}
	if n := uint32(s.WireLen); n > 0 && s.Flags&tcpflow.FlagSYN == 0 && d != nil {
		seq, end := s.Seq, s.Seq+n
		if n > d.maxAcked {
			d.await(mtuSeg{seq, end, at})
		}
		switch {
		case d.hole.at.Frame == 0:
			if n >= minFullSize && n > d.maxAcked && flags&tcpflow.RetransmissionFamily == 0 {
				d.hole = mtuSeg{seq, end, at}
			}
		case seq == d.hole.seq && flags&tcpflow.RetransmissionFamily != 0:
			d.resent = true
		case n < d.hole.len() && d.small.Frame == 0 && int32(seq-d.hole.end) >= 0:
			d.small, d.smallLen, d.smallSeq = at, n, seq
		}
	}
	if s.Flags&tcpflow.FlagACK == 0 && s.SACKN == 0 {
		return
	}
	if p := m.dir[1-dir]; p != nil {
		p.acked(s, at)
		if p.resent {
			if p.peerAfter == 0 {
				p.peerFirst = at
			}
			p.peerAfter++
			if s.WireLen > 0 {
				p.peerData++
			}
			if flags&tcpflow.RetransmissionFamily != 0 {
				p.peerResent++
			}
		}
		if p.hole.at.Frame == 0 && p.npend == 0 && p.maxAcked >= minFullSize && p.tooBig+p.unreach == 0 {
			m.pre[1-dir] = mtuPre{acked: p.maxAcked, ackedAt: p.maxAckedAt}
			c.a.mtuGiveBack(p)
			m.dir[1-dir] = nil
		}
	} else if pr := &m.pre[1-dir]; pr.last.at.Frame != 0 && pr.last.len() > pr.acked && covered(s, pr.last.seq, pr.last.end) {
		pr.acked, pr.ackedAt = pr.last.len(), pr.last.at
	}
}

// maxMTUFree bounds the mtuDirs kept for reuse: a stream whose segments
// keep growing past every one ACKed (offload super-frames) takes one and
// gives it back again and again without allocating.
const maxMTUFree = 64

func (a *Analyzer) mtuGiveBack(d *mtuDir) {
	if len(a.mtuFree) < maxMTUFree {
		a.mtuFree = append(a.mtuFree, d)
	}
}

// mtuOpen gives direction dir an mtuDir, starting from what its mtuPre
// knows.
func (c *connState) mtuOpen(dir tcpflow.Dir) *mtuDir {
	m := &c.mtu
	pr := &m.pre[dir]
	var d *mtuDir
	if n := len(c.a.mtuFree); n > 0 {
		d, c.a.mtuFree = c.a.mtuFree[n-1], c.a.mtuFree[:n-1]
		*d = mtuDir{maxAcked: pr.acked, maxAckedAt: pr.ackedAt}
	} else {
		d = &mtuDir{maxAcked: pr.acked, maxAckedAt: pr.ackedAt}
	}
	if pr.last.at.Frame != 0 && pr.last.len() > pr.acked {
		d.await(pr.last)
	}
	m.dir[dir] = d
	return d
}

// await keeps seg until its ACK. One segment per length is kept, the
// earliest (a cumulative ACK reaches it first): what an ACK proves is the
// length of a segment that got through. When all mtuPend are taken, the
// shortest length gives way to a longer one.
func (d *mtuDir) await(seg mtuSeg) {
	short := 0
	for i := range d.npend {
		if d.pend[i].len() == seg.len() {
			return
		}
		if d.pend[i].len() < d.pend[short].len() {
			short = i
		}
	}
	if d.npend < mtuPend {
		d.pend[d.npend] = seg
		d.npend++
		return
	}
	if seg.len() > d.pend[short].len() {
		d.pend[short] = seg
	}
}

// acked takes the peer's segment s: what its ACK and SACK blocks cover of
// this sender's segments.
func (d *mtuDir) acked(s *tcpflow.Segment, at tcpflow.FrameRef) {
	keep := 0
	for i := range d.npend {
		g := d.pend[i]
		if covered(s, g.seq, g.end) {
			if g.len() > d.maxAcked {
				d.maxAcked, d.maxAckedAt = g.len(), g.at
			}
			continue
		}
		d.pend[keep] = g
		keep++
	}
	d.npend = keep
	if d.hole.at.Frame == 0 {
		return
	}
	if covered(s, d.hole.seq, d.hole.end) {
		// The full-size segment got through after all: no hole, and
		// what was seen since proves nothing.
		*d = mtuDir{maxAcked: d.maxAcked, maxAckedAt: d.maxAckedAt, pend: d.pend, npend: d.npend,
			tooBig: d.tooBig, unreach: d.unreach, icmpFirst: d.icmpFirst, icmpMTU: d.icmpMTU}
		return
	}
	if d.small.Frame != 0 && d.smallAck.Frame == 0 && covered(s, d.smallSeq, d.smallSeq+d.smallLen) {
		d.smallAck = at
	}
}

// ICMP takes an ICMP error quoting a segment of direction dir
// (tcpflow.ICMPHandler).
func (c *connState) ICMP(dir tcpflow.Dir, e *tcpflow.ICMPError, at tcpflow.FrameRef) {
	c.icmpErrors++
	d := c.mtu.dir[dir]
	if d == nil {
		d = c.mtuOpen(dir)
	}
	if d.tooBig+d.unreach == 0 {
		d.icmpFirst = at
	}
	if e.TooBig() {
		if d.tooBig == 0 || e.MTU != 0 && e.MTU < d.icmpMTU {
			d.icmpMTU = e.MTU
		}
		d.tooBig++
	} else {
		d.unreach++
	}
}

// mtuClose drops the state of a connection that ends with no hole and no
// ICMP error: nothing to report.
func (c *connState) mtuClose() {
	for dir, d := range c.mtu.dir {
		if d != nil && d.hole.at.Frame == 0 && d.tooBig+d.unreach == 0 {
			c.a.mtuGiveBack(d)
			c.mtu.dir[dir] = nil
		}
	}
}

// mtuFindings adds a finding for every direction of a connection that
// shows a black hole, the first maxListed; the others are counted in
// omitted.
func (a *Analyzer) mtuFindings(all []Finding, end int64, omitted map[string]int64) []Finding {
	n := 0
	for _, c := range a.conns {
		for dir := range c.mtu.dir {
			if _, _, ok := c.mtuRuns(tcpflow.Dir(dir)); !ok {
				continue
			}
			if n >= maxListed {
				omitted[KindMTUBlackHole]++
				continue
			}
			n++
			all = append(all, c.mtuFinding(tcpflow.Dir(dir), end))
		}
	}
	return all
}

// mtuEvidence counts the black holes of a connection (hasEvidence keeps
// a closed connection that has one).
func (c *connState) mtuEvidence() int {
	n := 0
	for dir := range c.mtu.dir {
		if _, _, ok := c.mtuRuns(tcpflow.Dir(dir)); ok {
			n++
		}
	}
	return n
}

// mtuRuns reports whether direction dir shows a black hole, with the
// runs of bytes never ACKed and their re-sends.
func (c *connState) mtuRuns(dir tcpflow.Dir) (runs []tcpflow.Unacked, resends int, ok bool) {
	d := c.mtu.dir[dir]
	if d == nil || c.tcp == nil || d.hole.at.Frame == 0 || !d.resent {
		return nil, 0, false
	}
	inRun := false
	for _, u := range c.tcp.Unacked {
		if u.Dir != dir {
			continue
		}
		if u.Len < minFullSize || uint32(u.Len) <= d.maxAcked {
			return nil, 0, false // a short segment is never ACKed either
		}
		runs = append(runs, u)
		resends += u.Resends
		if int32(d.hole.seq-u.Seq) >= 0 && int32(u.Seq+uint32(u.Len)-d.hole.seq) > 0 {
			inRun = true
		}
	}
	proof := d.smallAck.Frame != 0
	if !inRun || !proof && (d.peerData == 0 || d.peerResent > 0 || d.maxAcked == 0) {
		return nil, 0, false
	}
	return runs, resends, true
}

// mtuFinding describes direction dir's black hole (mtuRuns: it has one).
func (c *connState) mtuFinding(dir tcpflow.Dir, end int64) Finding {
	d := c.mtu.dir[dir]
	runs, resends, _ := c.mtuRuns(dir)
	proof := d.smallAck.Frame != 0
	sender, receiver := "client", "server"
	if dir == tcpflow.ToClient {
		sender, receiver = "server", "client"
	}
	a := c.a
	var refs []tcpflow.FrameRef
	for i, u := range runs {
		if i < mtuListed {
			refs = append(refs, u.Frames...)
		}
	}
	if proof {
		refs = append(refs, d.small, d.smallAck)
	}
	if d.tooBig+d.unreach > 0 {
		refs = append(refs, d.icmpFirst)
	}
	refs = sortFrames(refs)
	f := Finding{Kind: KindMTUBlackHole, Connection: c.info.ID, Start: Time(d.hole.at.Time),
		DurationMS: ms(end - d.hole.at.Time), side: dir}
	f.setFrames(refs)

	size := d.hole.len()
	var b strings.Builder
	fmt.Fprintf(&b, "the %s's full-size segments (%d bytes of TCP payload) were re-sent %d %s and the %s never ACKed them (%d %s of bytes, the first sent at frame %s",
		sender, size, resends, Plural(resends, "time", "times"), receiver, len(runs), Plural(len(runs), "run", "runs"), a.frame(d.hole.at))
	if len(runs) > mtuListed {
		fmt.Fprintf(&b, "; the frames of the first %d listed", mtuListed)
	}
	b.WriteString(")")
	largest := "none"
	if d.maxAcked > 0 {
		largest = fmt.Sprintf("%d bytes (frame %s)", d.maxAcked, a.frame(d.maxAckedAt))
	}
	passes := d.maxAcked
	if proof {
		passes = max(passes, d.smallLen)
		fmt.Fprintf(&b, ", while its smaller segments got through: a %d-byte segment sent after them (frame %s) was acknowledged by the %s at frame %s",
			d.smallLen, a.frame(d.small), receiver, a.frame(d.smallAck))
	} else {
		fmt.Fprintf(&b, ", while the %s kept sending on the connection (%d %s since the first re-send, the first at frame %s, none re-sent: the %s's short ACKs of its data got through); no smaller segment of the %s came after them to show it passes, so this rests on that and on the smaller ones ACKed before",
			receiver, d.peerAfter, Plural(int(d.peerAfter), "segment", "segments"), a.frame(d.peerFirst), sender, sender)
	}
	fmt.Fprintf(&b, "; the longest segment of the %s ever ACKed was %s", sender, largest)

	if d.tooBig > 0 {
		f.Severity = SeverityWarning
		mtu := "no MTU given"
		if d.icmpMTU > 0 {
			mtu = fmt.Sprintf("MTU %d", d.icmpMTU)
		}
		fmt.Fprintf(&b, "; %d ICMP %s quoting the %s's segments %s in the capture (the first at frame %s, %s): the path told the %s its MTU, so this is a path MTU update in progress, not a black hole; if the %s keeps sending %d-byte segments after it, it ignores them",
			d.tooBig, Plural(d.tooBig, "error \"fragmentation needed\" / \"packet too big\"", "errors \"fragmentation needed\" / \"packet too big\""), sender,
			Plural(d.tooBig, "is", "are"), a.frame(d.icmpFirst), mtu, sender, sender, size)
	} else {
		fmt.Fprintf(&b, "; no ICMP \"fragmentation needed\" / \"packet too big\" quoting this connection is in the capture")
		if d.unreach > 0 {
			fmt.Fprintf(&b, " (%d other ICMP %s quoting it, the first at frame %s)", d.unreach, Plural(d.unreach, "unreachable", "unreachables"), a.frame(d.icmpFirst))
		}
		fmt.Fprintf(&b, ": the path between them drops packets of the %s's full size silently (an MTU black hole): segments of %d bytes pass, %d-byte ones do not", sender, passes, size)
		if end-d.hole.at.Time >= a.opts.StallAfter {
			f.Severity = SeverityStall
		} else {
			f.Severity = SeverityWarning
		}
	}
	f.Summary = b.String()
	return f
}

// mtuVerdict is the verdict for a connection whose full-size segments
// are lost on the path: the black-hole findings at idx.
func (c *connState) mtuVerdict(r *Report, d *Diagnosis, idx []int, e stallEvidence, stuck string) {
	f := r.Findings[idx[0]]
	sender, receiver := "client", "server"
	if f.side == tcpflow.ToClient {
		sender, receiver = "server", "client"
	}
	d.Verdict = VerdictMTUBlackHole
	d.Findings = append(slices.Clone(idx), e.unanswered...)
	m := c.mtu.dir[f.side]
	passes := max(m.maxAcked, m.smallLen)
	var where string
	switch side, why := c.capturedAt(); side {
	case receiver:
		where = fmt.Sprintf(" Here %s: the full-size segments crossed them, so what drops them is on the %s's own network: its interface's MTU, or a firewall there.", why, receiver)
	case sender:
		where = fmt.Sprintf(" Here %s: the drop is beyond them or at the %s; a capture at the %s shows whether the full-size segments reach it.", why, receiver, receiver)
	default:
		where = fmt.Sprintf(" The capture does not tell where on the path (the %s's own interface or firewall included): one at the %s shows whether the full-size segments reach it.", receiver, receiver)
	}
	d.Summary = fmt.Sprintf("an MTU black hole on the path from the %s to the %s: the %s's full-size segments (%d bytes of payload) never arrive while %d-byte ones do (frames %s), and no ICMP \"fragmentation needed\" / \"packet too big\" comes back. Neither host's TCP is stuck: a link between them (a tunnel, VPN, VLAN or jumbo-frame mismatch) has a smaller MTU than the %s's MSS allows for, and the ICMP that would tell the %s is not sent or is filtered. Let that ICMP through, fix the MTU mismatch, or clamp the MSS on the path.%s%s",
		sender, receiver, sender, m.hole.len(), passes, c.a.findingFrames(r, idx), sender, sender, where, stuck)
}
