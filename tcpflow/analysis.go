package tcpflow

// Per-direction TCP analysis, following Wireshark's tcp.analysis.* rules
// (packet-tcp.c, tcp_analyze_sequence_number) so that counts agree with
// tshark, plus what the stall diagnosis needs beyond them: which bytes were
// re-sent and never ACKed, with the frame of every transmission, and how
// long each zero-window episode lasted.

// Analysis flags, named after Wireshark's tcp.analysis.* fields.
type Analysis uint32

// The flags a segment can carry.
const (
	ARetransmission Analysis = 1 << iota
	AFastRetransmission
	ASpuriousRetransmission
	AOutOfOrder
	ALostSegment
	AAckLostSegment
	ADuplicateAck
	AZeroWindow
	AZeroWindowProbe
	AZeroWindowProbeAck
	AKeepAlive
	AKeepAliveAck
	AWindowFull
	AWindowUpdate
	numAnalysis = iota
)

var analysisNames = [numAnalysis]string{
	"retransmission", "fast_retransmission", "spurious_retransmission", "out_of_order",
	"lost_segment", "ack_lost_segment", "duplicate_ack", "zero_window", "zero_window_probe",
	"zero_window_probe_ack", "keep_alive", "keep_alive_ack", "window_full", "window_update",
}

// Name returns the tcp.analysis field name of a single flag.
func (a Analysis) Name() string {
	for i := 0; i < numAnalysis; i++ {
		if a == 1<<i {
			return analysisNames[i]
		}
	}
	return ""
}

// AnalysisFlags lists every flag, in a fixed order.
func AnalysisFlags() []Analysis {
	out := make([]Analysis, numAnalysis)
	for i := range out {
		out[i] = 1 << i
	}
	return out
}

// RetransmissionFamily is what Wireshark's tcp.analysis.retransmission
// filter matches: fast and spurious retransmissions are flagged as
// retransmissions too.
const RetransmissionFamily = ARetransmission | AFastRetransmission | ASpuriousRetransmission

// Window scale states, as Wireshark keeps them.
const (
	scaleUnknown = -1 // the handshake was not captured
	scaleNone    = -2 // handshake seen, no window scaling negotiated
)

// seqState is one direction's sequence-analysis state, as its sender.
type seqState struct {
	haveNext        bool
	nextseq         uint32 // highest seq+len sent (SYN and FIN count 1)
	nextseqTime     int64
	maxseqtobeacked uint32
	haveAck         bool
	lastack         uint32 // last ACK this direction sent
	lastackTime     int64
	window          uint32 // last window this direction advertised (scaled)
	haveWindow      bool
	winScale        int8
	dupacks         int
	lastFlags       Analysis
	synTime         int64  // when this direction's SYN was seen
	synOnly         bool   // nextseq comes from a SYN, and nothing was sent since
	maxWindow       uint32 // the largest window this direction advertised
}

// Unacked is a run of bytes that a sender re-sent and the peer never
// ACKed by the end of the capture.
type Unacked struct {
	Dir      Dir
	Seq      uint32
	Len      int
	Start    int64      // stream offset of the first byte (-1 when unknown)
	Frames   []FrameRef // the original transmission when captured, then every re-send
	Resends  int        // how many times the bytes were re-sent
	MoreSent int        // re-sends beyond those listed in Frames
	Head     []byte     // the first RunHead bytes of the re-sent payload (as captured)
}

// ZeroWindow is one episode of a receiver advertising a zero window.
type ZeroWindow struct {
	Dir    Dir // the direction of the segments that advertised it
	Start  FrameRef
	End    FrameRef // the segment that reopened the window; zero if never
	Probes int      // probes (and keep-alives) the other side sent meanwhile
	Closed bool     // false: still closed at the end of the capture
}

// TCPSummary is what the TCP analysis of one connection found.
type TCPSummary struct {
	Count      [2][numAnalysis]int64 // per direction, per flag
	Unacked    []Unacked
	ZeroWins   []ZeroWindow
	Recovered  [2]int64 // retransmitted runs eventually ACKed, per direction
	MaxStuckNS [2]int64 // longest time a retransmitted run waited for its ACK, per direction
	// Bounds hit (see maxSentLog and maxRetrans): unACKed transmissions
	// forgotten because the log was full (a later re-send of their bytes
	// cannot name its original frame), and re-sends not followed because
	// maxRetrans runs were already followed (they cannot become findings).
	SentForgotten    int64
	RetransUntracked int64
	// ZeroWinsMore counts the episodes not kept in ZeroWins (past
	// maxZeroWins on this connection, or Limits.ZeroWinTotal on all).
	ZeroWinsMore int64
}

// maxZeroWins bounds the zero-window episodes kept per connection (one
// still open at the end is always kept: it may be a stall).
const maxZeroWins = 1024

// bigLog: a sent log that drains with at least this capacity gives its
// array back (smaller ones are kept: refilled at once on a busy stream).
const bigLog = 2048

// MaxZeroWins is maxZeroWins, for reports.
const MaxZeroWins = maxZeroWins

// evidenceBudget counts the stall evidence that all the connections of a
// Flows hold at once, against the totals in Limits.
type evidenceBudget struct {
	limits            *Limits
	stats             *Stats
	sent, runs, zwins int
}

// takeRun reports whether a new re-sent run may be followed, and counts it.
// A nil budget (a tracker made outside a Flows, in tests) has no total.
func (ev *evidenceBudget) takeRun() bool {
	if ev == nil {
		return true
	}
	if ev.runs >= ev.limits.RetransTotal {
		ev.stats.RetransTotalSkipped++
		return false
	}
	ev.runs++
	return true
}

// add counts transmissions and runs given back (negative) or taken.
func (ev *evidenceBudget) add(sent, runs int) {
	if ev != nil {
		ev.sent += sent
		ev.runs += runs
	}
}

// Counted returns how many segments of direction d carried flag a.
func (s *TCPSummary) Counted(d Dir, a Analysis) int64 {
	for i := 0; i < numAnalysis; i++ {
		if a == 1<<i {
			return s.Count[d][i]
		}
	}
	return 0
}

// maxSentLog bounds the unacknowledged transmissions remembered per
// direction (to name a retransmission's original frame); maxRetrans bounds
// the re-sent runs followed at once, maxFrames the frames kept per run.
const (
	maxSentLog = 4096
	maxRetrans = 256
	maxFrames  = 32
)

// MaxSentLog and MaxRetransRuns are maxSentLog and maxRetrans, for reports.
const (
	MaxSentLog     = maxSentLog
	MaxRetransRuns = maxRetrans
)

type sentSeg struct {
	seq, end uint32
	at       FrameRef
}

type retransRun struct {
	seq, end uint32
	frames   []FrameRef
	resends  int
	more     int
	first    int64 // time of the first re-send
	// head holds the first bytes the first re-send carried: when the
	// capture joined after the bytes' first transmission, the stream never
	// delivered them, and these are all there is to say what they are.
	head  [RunHead]byte
	headN uint8
}

// RunHead is how many bytes of a re-sent run's payload are kept: a record
// marker and an RPC call or reply header.
const RunHead = 32

// tracker holds one direction's analysis and stall evidence.
type tracker struct {
	sent    []sentSeg // unacked transmissions, oldest first
	retrans []retransRun
	ev      *evidenceBudget // the connection's (nil: no total)
	zw      *ZeroWindow     // open episode advertised by this direction
}

// analyze computes the Wireshark flags of segment s sent in direction d,
// updates both directions' state, and records stall evidence. It follows
// Wireshark's tcp_analyze_sequence_number, in the same order, as named
// steps: the handshake, the flags of the forward direction, the ACK of a
// lost segment, the retransmission classification, and the state advance.
func (c *conn) analyze(d Dir, s *Segment, at FrameRef) Analysis {
	fwd, rev := &c.tcp[d], &c.tcp[1-d]
	sum := &c.sum
	seq, ack := s.Seq, s.Ack
	seglen := uint32(s.WireLen)
	syn, fin := s.Flags&FlagSYN != 0, s.Flags&FlagFIN != 0

	window := handshake(fwd, rev, s, at)
	flags := forwardFlags(fwd, rev, s, seglen, window)

	if !fwd.haveAck || ack != fwd.lastack {
		fwd.dupacks = 0
	}
	if s.Flags&FlagACK != 0 && rev.haveNext && seqDiff(ack, rev.maxseqtobeacked) > 0 {
		flags |= AAckLostSegment
		rev.maxseqtobeacked = rev.nextseq
	}

	if flags&AKeepAlive == 0 && (seglen > 0 || syn || fin) {
		flags |= c.retransmission(fwd, rev, seq, seglen, at)
	}

	advance(fwd, s, seglen, window, flags, at)

	for i := 0; i < numAnalysis; i++ {
		if flags&(1<<i) != 0 {
			sum.Count[d][i]++
		}
	}
	c.evidence(d, s, seq, seglen, window, flags, at)
	return flags
}

// handshake learns the window scale from the handshake and returns the
// window s advertises, scaled. A SYN's own window is never scaled.
func handshake(fwd, rev *seqState, s *Segment, at FrameRef) uint32 {
	ack := s.Ack
	syn := s.Flags&FlagSYN != 0
	window := uint32(s.Window)
	if syn && s.Flags&FlagACK != 0 && rev.synOnly && ack != rev.nextseq {
		// The SYN-ACK acknowledges the peer's SYN: when it disagrees with
		// the SYN captured, the SYN's sequence number was damaged. Left
		// alone, every byte of the connection would be flagged a
		// retransmission, and the last, never ACKed within the capture,
		// evidence of a stall. Wireshark follows the SYN; a real capture
		// never tells the two apart.
		rev.nextseq, rev.maxseqtobeacked = ack, ack
	}
	if syn {
		fwd.synTime = at.Time
		if s.WScale >= 0 {
			fwd.winScale = s.WScale
		} else {
			fwd.winScale = scaleNone
		}
		if s.Flags&FlagACK != 0 && rev.winScale >= 0 && fwd.winScale < 0 {
			// SYN-ACK without the option: scaling is off both ways.
			rev.winScale = scaleNone
		}
	} else if fwd.winScale >= 0 && rev.winScale >= 0 {
		window <<= uint(fwd.winScale)
	}
	return window
}

// forwardFlags computes the flags of the forward direction, up to
// Wireshark's finished_fwd: a zero-window probe, a keep-alive ACK or a
// zero-window probe ACK ends the computation early.
func forwardFlags(fwd, rev *seqState, s *Segment, seglen, window uint32) Analysis {
	seq, ack := s.Seq, s.Ack
	syn, fin, rst := s.Flags&FlagSYN != 0, s.Flags&FlagFIN != 0, s.Flags&FlagRST != 0
	ctl := syn || fin || rst
	var flags Analysis

	if seglen == 1 && fwd.haveNext && seq == fwd.nextseq && rev.haveWindow && rev.window == 0 {
		flags |= AZeroWindowProbe
		return flags
	}
	if window == 0 && !ctl {
		flags |= AZeroWindow
	}
	// The flags compare as Wireshark's GT_SEQ and LT_SEQ do, so that
	// counts agree with tshark even at the ambiguous distance 2^31 (where
	// both LT_SEQ(a, b) and LT_SEQ(b, a) hold): they are labels, and
	// nothing below indexes or sizes anything by them. Evidence (below, in
	// evidence) uses the plausibility rules of seqspace.go instead.
	if fwd.haveNext && seqDiff(seq, fwd.nextseq) > 0 && !rst {
		flags |= ALostSegment
	}
	if seglen <= 1 && fwd.haveNext && seq == fwd.nextseq-1 && !ctl {
		flags |= AKeepAlive
	}
	if seglen == 0 && window != 0 && fwd.haveWindow && window != fwd.window && fwd.haveNext && seq == fwd.nextseq &&
		fwd.haveAck && ack == fwd.lastack && !ctl {
		flags |= AWindowUpdate
	}
	if seglen > 0 && rev.winScale != scaleUnknown && rev.haveAck && rev.haveWindow &&
		seq+seglen == rev.lastack+rev.window && !ctl {
		flags |= AWindowFull
	}
	if seglen == 0 && window != 0 && fwd.haveWindow && window == fwd.window && fwd.haveNext && seq == fwd.nextseq &&
		fwd.haveAck && ack == fwd.lastack && rev.lastFlags&AKeepAlive != 0 && !ctl {
		flags |= AKeepAliveAck
		return flags
	}
	if seglen == 0 && window == 0 && fwd.haveWindow && window == fwd.window && fwd.haveNext && seq == fwd.nextseq &&
		fwd.haveAck && (ack == fwd.lastack || ack == fwd.lastack+1) && rev.lastFlags&AZeroWindowProbe != 0 && !ctl {
		flags |= AZeroWindowProbeAck
		return flags
	}
	if seglen == 0 && window != 0 && fwd.haveWindow && window == fwd.window && fwd.haveNext && seq == fwd.nextseq &&
		fwd.haveAck && ack == fwd.lastack && !ctl {
		fwd.dupacks++
		flags |= ADuplicateAck
	}
	return flags
}

// retransmission classifies a segment that carries data, SYN or FIN: a
// fast retransmission, a spurious one, out of order, or a retransmission.
func (c *conn) retransmission(fwd, rev *seqState, seq, seglen uint32, at FrameRef) Analysis {
	notAdvanced := fwd.haveNext && seqDiff(seq, fwd.nextseq) < 0
	switch {
	case notAdvanced && rev.dupacks >= 2 && rev.haveAck && rev.lastack == seq && at.Time-rev.lastackTime < 20e6:
		return AFastRetransmission | ARetransmission
	case seglen > 0 && rev.haveAck && seqDiff(seq+seglen, rev.lastack) <= 0:
		// Bytes the peer had already ACKed.
		return ASpuriousRetransmission | ARetransmission
	case notAdvanced && at.Time-fwd.nextseqTime < c.oooThresh() && fwd.nextseq != seq+seglen:
		return AOutOfOrder
	case notAdvanced:
		return ARetransmission
	}
	return 0
}

// advance moves the forward direction's state past s: the highest
// sequence number sent, the last ACK and the window.
func advance(fwd *seqState, s *Segment, seglen, window uint32, flags Analysis, at FrameRef) {
	seq, ack := s.Seq, s.Ack
	syn, fin, rst := s.Flags&FlagSYN != 0, s.Flags&FlagFIN != 0, s.Flags&FlagRST != 0
	// Advance the highest sequence number sent.
	if seglen > 0 || syn || fin {
		next := seq + seglen
		if syn || fin {
			next++
		}
		fwd.synOnly = syn && seglen == 0 && (!fwd.haveNext || fwd.synOnly)
		if !fwd.haveNext || seqDiff(next, fwd.nextseq) > 0 {
			fwd.haveNext, fwd.nextseq, fwd.nextseqTime = true, next, at.Time
			if flags&AKeepAlive == 0 {
				fwd.maxseqtobeacked = next
			}
		}
	} else if !fwd.haveNext && !rst {
		// A pure ACK is where a mid-stream capture first learns this
		// direction's sequence number.
		fwd.haveNext, fwd.nextseq, fwd.nextseqTime, fwd.maxseqtobeacked = true, seq, at.Time, seq
	}
	if s.Flags&FlagACK != 0 {
		if !fwd.haveAck || ack != fwd.lastack {
			fwd.lastackTime = at.Time
		}
		fwd.haveAck, fwd.lastack = true, ack
	}
	fwd.haveWindow, fwd.window = true, window
	fwd.maxWindow = max(fwd.maxWindow, window)
	fwd.lastFlags = flags
}

// oooThresh is Wireshark's out-of-order threshold: the handshake's RTT
// when it was captured, else 3 ms.
func (c *conn) oooThresh() int64 {
	if c.firstRTT > 0 {
		return c.firstRTT
	}
	return 3e6
}

// evidence keeps what the stall diagnosis needs: the transmissions not yet
// ACKed, the re-sent runs, and zero-window episodes.
func (c *conn) evidence(d Dir, s *Segment, seq, seglen, window uint32, flags Analysis, at FrameRef) {
	fwd, rev := &c.trk[d], &c.trk[1-d]
	syn, rst := s.Flags&FlagSYN != 0, s.Flags&FlagRST != 0
	if c.ev == nil {
		// A connection made outside a Flows (tests): a budget of its own.
		l := DefaultLimits
		c.ev = &evidenceBudget{limits: &l, stats: &Stats{}}
	}

	// The first RTT: from the client's SYN to its ACK of the SYN-ACK.
	if !syn && s.Flags&FlagACK != 0 && c.firstRTT == 0 && c.tcp[d].synTime != 0 && c.tcp[1-d].synTime != 0 {
		c.firstRTT = at.Time - c.tcp[d].synTime
	}

	// Evidence rests only on sequence and ACK numbers near the stream's
	// (see seqspace.go): a damaged one would otherwise be a re-sent run
	// no ACK ever covers, or an ACK that covers every run.
	h := &c.halves[d]
	if seglen > 0 && flags&(AKeepAlive|AZeroWindowProbe) == 0 && (!h.synced || h.plausible(seq)) {
		// A segment flagged a retransmission that the stream takes as its
		// next new bytes, with nothing queued beyond, re-sends nothing the
		// capture saw: the flag comes from a sequence number the stream
		// did not believe (Wireshark's flags follow every one). Logged as
		// a transmission, it cannot become a never-ACKed re-send.
		fresh := h.synced && seq == h.next && len(h.queue) == 0
		if flags&RetransmissionFamily != 0 && !fresh {
			if !fwd.noteRetrans(seq, seq+seglen, s.Payload, at) {
				c.sum.RetransUntracked++
			}
		} else {
			if len(fwd.sent) >= maxSentLog {
				// Full (the peer's ACKs are not in the capture, or it
				// stopped ACKing): forget the older half at once, so a
				// long one-way capture costs a constant per segment.
				n := len(fwd.sent) / 2
				fwd.sent = fwd.sent[:copy(fwd.sent, fwd.sent[n:])]
				c.sum.SentForgotten += int64(n)
				c.ev.sent -= n
			}
			keep := true
			if c.ev.sent >= c.ev.limits.SentTotal {
				// All connections together hold as many as allowed: this
				// direction forgets its older half, or, holding few, does
				// not remember this one.
				n := max(1, len(fwd.sent)/2)
				if len(fwd.sent) >= 2 {
					// Into a new array: the old one's capacity would
					// otherwise stay with this direction.
					fwd.sent = append(make([]sentSeg, 0, len(fwd.sent)-n+1), fwd.sent[n:]...)
					c.ev.sent -= n
				} else {
					keep = false
				}
				c.sum.SentForgotten += int64(n)
				c.ev.stats.SentTotalForgotten += int64(n)
			}
			if keep {
				fwd.sent = append(fwd.sent, sentSeg{seq: seq, end: seq + seglen, at: at})
				c.ev.sent++
			}
		}
	}
	if peer := &c.halves[1-d]; s.Flags&FlagACK != 0 && !syn && (!peer.synced || peer.plausible(s.Ack)) {
		rev.acked(s.Ack, at, &c.sum, 1-d)
	}

	// Zero-window episodes, per advertising direction.
	switch {
	case rst || syn:
	case window == 0 && fwd.zw == nil:
		fwd.zw = &ZeroWindow{Dir: d, Start: at}
	case window != 0 && fwd.zw != nil:
		fwd.zw.End, fwd.zw.Closed = at, true
		switch {
		case len(c.sum.ZeroWins) >= maxZeroWins:
			c.sum.ZeroWinsMore++
		case c.ev.zwins >= c.ev.limits.ZeroWinTotal:
			c.sum.ZeroWinsMore++
			c.ev.stats.ZeroWinTotalSkipped++
		default:
			c.sum.ZeroWins = append(c.sum.ZeroWins, *fwd.zw)
			c.ev.zwins++
		}
		fwd.zw = nil
	}
	if rev.zw != nil && flags&(AZeroWindowProbe|AKeepAlive) != 0 {
		rev.zw.Probes++
	}
}

// noteRetrans records a re-send of [seq, end): one run per starting
// sequence number, with the original transmission's frame when known. It
// returns false when the re-send starts a new run and maxRetrans runs are
// already followed.
func (t *tracker) noteRetrans(seq, end uint32, payload []byte, at FrameRef) bool {
	for i := range t.retrans {
		r := &t.retrans[i]
		if r.seq == seq {
			if d, ok := seqAhead(end, r.end); ok && d > 0 {
				r.end = end
			}
			r.resends++
			if len(r.frames) < maxFrames {
				r.frames = append(r.frames, at)
			} else {
				r.more++
			}
			return true
		}
	}
	if len(t.retrans) >= maxRetrans {
		return false
	}
	if !t.ev.takeRun() {
		return false
	}
	r := retransRun{seq: seq, end: end, first: at.Time, resends: 1}
	r.headN = uint8(copy(r.head[:], payload))
	for i := len(t.sent) - 1; i >= 0; i-- {
		if sg := t.sent[i]; seqIn(seq, sg.seq, sg.end) {
			r.frames = append(r.frames, sg.at)
			break
		}
	}
	r.frames = append(r.frames, at)
	t.retrans = append(t.retrans, r)
	return true
}

// acked drops what the peer has now acknowledged up to ack. An ACK covers
// an end at most seqFar before it: one 2^31 away covers nothing.
func (t *tracker) acked(ack uint32, at FrameRef, sum *TCPSummary, d Dir) {
	n := 0
	for n < len(t.sent) && seqCovers(ack, t.sent[n].end) {
		n++
	}
	if n > 0 {
		t.sent = t.sent[:copy(t.sent, t.sent[n:])]
		t.ev.add(-n, 0)
		if len(t.sent) == 0 && cap(t.sent) >= bigLog {
			t.sent = nil // a burst's array is not kept for an idle connection
		}
	}
	keep := t.retrans[:0]
	for _, r := range t.retrans {
		if seqCovers(ack, r.end) {
			t.ev.add(0, -1)
			sum.Recovered[d]++
			sum.MaxStuckNS[d] = max(sum.MaxStuckNS[d], at.Time-r.first)
			continue
		}
		keep = append(keep, r)
	}
	clear(t.retrans[len(keep):])
	t.retrans = keep
}

// finish closes open episodes and reports runs never ACKed.
func (c *conn) finishAnalysis() *TCPSummary {
	if c.ev == nil {
		l := DefaultLimits
		c.ev = &evidenceBudget{limits: &l, stats: &Stats{}}
	}
	zwKept := len(c.sum.ZeroWins)
	for d := range c.trk {
		t := &c.trk[d]
		if t.zw != nil {
			c.sum.ZeroWins = append(c.sum.ZeroWins, *t.zw)
			t.zw = nil
		}
		h := &c.halves[d]
		for _, r := range t.retrans {
			u := Unacked{Dir: Dir(d), Seq: r.seq, Len: int(r.end - r.seq), Start: -1, Frames: r.frames, Resends: r.resends, MoreSent: r.more,
				Head: append([]byte(nil), r.head[:r.headN]...)}
			if off, ok := h.offsetOf(r.seq); h.synced && ok {
				u.Start = off
			}
			c.sum.Unacked = append(c.sum.Unacked, u)
		}
		c.ev.sent -= len(t.sent)
		c.ev.runs -= len(t.retrans)
		t.retrans, t.sent = nil, nil
	}
	// The episodes are handed on with the summary: they no longer count
	// against the total of the connections still open.
	c.ev.zwins -= zwKept
	// A copy: a pointer into c would keep the whole connection (its
	// reassembly and analysis state) alive as long as the summary is.
	sum := c.sum
	return &sum
}
