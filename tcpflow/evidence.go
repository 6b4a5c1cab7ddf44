package tcpflow

// The stall evidence the TCP analysis keeps beyond Wireshark's flags:
// the transmissions not yet ACKed, the re-sent runs with the frame of every
// transmission, and zero-window episodes, within the budget of Limits.

// Unacked is a run of bytes that a sender re-sent and the peer never
// ACKed by the end of the capture.
type Unacked struct {
	Dir      Dir
	Seq      uint32
	RelSeq   uint32 // Seq as Wireshark shows it (relative to the direction's SYN, or its first segment)
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

	// The first RTT: from the client's SYN to the first ACK after the
	// handshake, its ACK of the SYN-ACK or the server's first segment
	// (as Wireshark times it).
	if !syn && s.Flags&FlagACK != 0 && c.firstRTT == 0 && c.tcp[d].synTime != 0 && c.tcp[1-d].synTime != 0 {
		c.firstRTT = at.Time - c.tcp[ToServer].synTime
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
			u := Unacked{Dir: Dir(d), Seq: r.seq, RelSeq: r.seq - c.tcp[d].base, Len: int(r.end - r.seq), Start: -1, Frames: r.frames, Resends: r.resends, MoreSent: r.more,
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
	// Not a copy: most connections' summaries are summed and dropped at
	// once (a copy each was 10,000 allocations of 328 bytes at the end of
	// a capture of as many connections); a handler that keeps one copies
	// it (see ConnHandler.Close).
	return &c.sum
}
