package tcpflow

// Per-direction TCP analysis, following Wireshark's tcp.analysis.* rules
// (packet-tcp.c, tcp_analyze_sequence_number) so that counts agree with
// tshark. What the stall diagnosis needs beyond them (which bytes were
// re-sent and never ACKed, with the frame of every transmission, and how
// long each zero-window episode lasted) is kept in evidence.go.

import "math/bits"

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
	// base is what Wireshark's relative sequence numbers count from: the
	// SYN's sequence number, or one before the first seen when the
	// capture began after the SYN (its first segment shows Seq=1).
	base            uint32
	baseSet         bool
	haveNext        bool
	nextseq         uint32 // highest seq+len sent (SYN and FIN count 1)
	nextseqTime     int64
	maxseqtobeacked uint32
	haveAck         bool
	lastack         uint32 // last ACK this direction sent
	lastackTime     int64
	window          uint32 // last window this direction advertised (scaled)
	rawWindow       uint16 // the same, as the window field carried it
	haveWindow      bool
	winScale        int8
	dupacks         int
	lastFlags       Analysis
	synTime         int64  // when this direction's SYN was seen
	synOnly         bool   // nextseq comes from a SYN, and nothing was sent since
	maxWindow       uint32 // the largest window this direction advertised
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

// Counted returns how many segments of direction d carried flag a.
func (s *TCPSummary) Counted(d Dir, a Analysis) int64 {
	for i := 0; i < numAnalysis; i++ {
		if a == 1<<i {
			return s.Count[d][i]
		}
	}
	return 0
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

	if !fwd.baseSet {
		fwd.base, fwd.baseSet = seq-1, true
		if syn {
			fwd.base = seq
		}
	}
	if !rev.baseSet && s.Flags&FlagACK != 0 {
		// As Wireshark: the peer not seen yet, its numbers count from
		// the ACK (its next segment shows Seq=1 when it starts there).
		rev.base, rev.baseSet = ack-1, true
	}
	window := handshake(fwd, rev, s, at)
	s.RelSeq, s.RelAck, s.ScaledWindow = seq-fwd.base, ack-rev.base, window
	flags := forwardFlags(fwd, rev, s, seglen, window)

	if !fwd.haveAck || ack != fwd.lastack {
		fwd.dupacks = 0
	}
	if s.Flags&FlagACK != 0 && rev.haveNext && gtSeq(ack, rev.maxseqtobeacked) {
		flags |= AAckLostSegment
		rev.maxseqtobeacked = rev.nextseq
	}

	if flags&AKeepAlive == 0 && (seglen > 0 || syn || fin) {
		end := seq + seglen
		if syn || fin {
			end++
		}
		flags |= c.retransmission(fwd, rev, seq, seglen, end, at)
	}

	advance(fwd, s, seglen, window, flags, at)

	for f := flags; f != 0; f &= f - 1 { // most segments carry no flag
		sum.Count[d][bits.TrailingZeros32(uint32(f))]++
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
	} else if fwd.winScale >= 0 && rev.winScale != scaleNone {
		// Scaled by this direction's own shift unless the peer's SYN
		// turned scaling off; a peer whose SYN was not captured counts
		// as agreeing (as in Wireshark: a SYN-ACK carries the option only
		// when the SYN did, RFC 7323 section 2.2).
		window <<= uint(fwd.winScale)
	}
	return window
}

// forwardFlags computes the flags of the forward direction, up to
// Wireshark's finished_fwd: a zero-window probe, a keep-alive ACK or a
// zero-window probe ACK ends the computation early. Whether a window
// changed is judged on the window field, as Wireshark does: a SYN's
// window is not scaled, the next segment's is, and the same field in both
// is no window update.
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
	// The flags compare as Wireshark's GT_SEQ and LT_SEQ do (gtSeq,
	// ltSeq), so that counts agree with tshark even at the ambiguous
	// distance 2^31 (where both LT_SEQ(a, b) and LT_SEQ(b, a) hold): they
	// are labels, and nothing below indexes or sizes anything by them.
	// Evidence (evidence.go) uses the plausibility rules of seqspace.go
	// instead.
	if fwd.haveNext && gtSeq(seq, fwd.nextseq) && !rst {
		flags |= ALostSegment
	}
	if seglen <= 1 && fwd.haveNext && seq == fwd.nextseq-1 && !ctl {
		flags |= AKeepAlive
	}
	if seglen == 0 && window != 0 && fwd.haveWindow && s.Window != fwd.rawWindow && fwd.haveNext && seq == fwd.nextseq &&
		fwd.haveAck && ack == fwd.lastack && !ctl {
		flags |= AWindowUpdate
	}
	if seglen > 0 && rev.winScale != scaleUnknown && rev.haveAck && rev.haveWindow &&
		seq+seglen == rev.lastack+rev.window && !ctl {
		flags |= AWindowFull
	}
	if seglen == 0 && window != 0 && fwd.haveWindow && s.Window == fwd.rawWindow && fwd.haveNext && seq == fwd.nextseq &&
		fwd.haveAck && ack == fwd.lastack && rev.lastFlags&AKeepAlive != 0 && !ctl {
		flags |= AKeepAliveAck
		return flags
	}
	if seglen == 0 && window == 0 && fwd.haveWindow && s.Window == fwd.rawWindow && fwd.haveNext && seq == fwd.nextseq &&
		fwd.haveAck && ack == fwd.lastack && rev.lastFlags&AZeroWindowProbe != 0 && !ctl {
		flags |= AZeroWindowProbeAck
		return flags
	}
	if seglen == 0 && window != 0 && fwd.haveWindow && s.Window == fwd.rawWindow && fwd.haveNext && seq == fwd.nextseq &&
		fwd.haveAck && ack == fwd.lastack && !ctl {
		fwd.dupacks++
		flags |= ADuplicateAck
	}
	return flags
}

// retransmission classifies a segment that carries data, SYN or FIN: a
// fast retransmission, a spurious one, out of order, or a retransmission.
// end is where it ends in sequence space (a SYN or FIN counts one).
func (c *conn) retransmission(fwd, rev *seqState, seq, seglen, end uint32, at FrameRef) Analysis {
	// Data starting one byte before the next expected, and longer than a
	// byte, is not a retransmission (Wireshark: the previous segment may
	// have been a zero-window probe).
	notAdvanced := fwd.haveNext && ltSeq(seq, fwd.nextseq) && !(seglen > 1 && seq == fwd.nextseq-1)
	switch {
	case notAdvanced && rev.dupacks >= 2 && rev.haveAck && rev.lastack == seq && at.Time-rev.lastackTime < 20e6:
		return AFastRetransmission | ARetransmission
	case seglen > 0 && rev.haveAck && leSeq(seq+seglen, rev.lastack):
		// Bytes the peer had already ACKed.
		return ASpuriousRetransmission | ARetransmission
	case notAdvanced && at.Time-fwd.nextseqTime < c.oooThresh() && fwd.nextseq != end:
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
	// Advance the highest sequence number sent, by any segment that ends
	// past it (a pure ACK too: one past it was flagged lost_segment, and
	// the sender's next segments start there), except a zero-window
	// probe, whose byte Wireshark does not count as sent (the sender's
	// next segment starts at the same byte, and is no retransmission).
	next := seq + seglen
	if syn || fin {
		next++
	}
	if seglen > 0 || syn || fin {
		fwd.synOnly = syn && seglen == 0 && (!fwd.haveNext || fwd.synOnly)
	}
	if !fwd.haveNext {
		// A pure ACK is where a mid-stream capture often first learns
		// this direction's sequence number.
		if seglen > 0 || syn || fin || !rst {
			fwd.haveNext, fwd.nextseq, fwd.nextseqTime, fwd.maxseqtobeacked = true, next, at.Time, next
		}
	} else if flags&AZeroWindowProbe == 0 {
		if gtSeq(next, fwd.nextseq) {
			fwd.nextseq, fwd.nextseqTime = next, at.Time
		}
		// The highest contiguous sequence number sent: it advances only
		// from a segment that starts at it, so that an ACK of bytes sent
		// past a lost segment is an ACK of a segment not captured.
		if seq == fwd.maxseqtobeacked {
			fwd.maxseqtobeacked = fwd.nextseq
		}
	}
	if s.Flags&FlagACK != 0 {
		// Every ACK, a duplicate too: a fast retransmission follows the
		// last of the duplicate ACKs within 20 ms.
		fwd.haveAck, fwd.lastack, fwd.lastackTime = true, ack, at.Time
	}
	fwd.haveWindow, fwd.window, fwd.rawWindow = true, window, s.Window
	fwd.maxWindow = max(fwd.maxWindow, window)
	fwd.lastFlags = flags
}

// Wireshark's comparisons of sequence numbers (GT_SEQ, LT_SEQ, LE_SEQ in
// packet-tcp.h): at the distance 2^31 both gtSeq(a, b) and ltSeq(a, b)
// hold.
func gtSeq(a, b uint32) bool { return int32(b-a) < 0 }
func ltSeq(a, b uint32) bool { return int32(a-b) < 0 }
func leSeq(a, b uint32) bool { return int32(b-a) >= 0 }

// oooThresh is Wireshark's out-of-order threshold: the handshake's RTT
// when it was captured, else 3 ms.
func (c *conn) oooThresh() int64 {
	if c.firstRTT > 0 {
		return c.firstRTT
	}
	return 3e6
}
