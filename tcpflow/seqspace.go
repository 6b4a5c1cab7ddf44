package tcpflow

// Sequence-space arithmetic. TCP sequence and ACK numbers live on a circle
// of 2^32 (RFC 9293 §3.4): only the distance between two of them means
// anything, and a distance d and 2^32-d name the same pair. Every
// comparison in this package goes through these helpers, with one rule:
//
//   - b-a in [0, 2^31) (as uint32): b is d bytes at or after a;
//   - b-a in (2^31, 2^32): b is 2^32-d bytes before a;
//   - b-a == 2^31: ambiguous (each is "before" the other by the same
//     distance). It is treated as far: not ahead, and not a plausible
//     retransmission either. A real connection never produces it (see
//     seqFar); a flipped top bit of a sequence number does, at once.
//
// Beyond that, distances are bounded by plausibility: RFC 7323 §2.3 caps
// the window at 2^30 bytes (window scale 14) precisely so that the old and
// the new can be told apart, so a segment or ACK more than seqFar ahead of
// what is expected is not something the connection can have sent: it is a
// damaged or hostile header, and must not make the stream declare a
// gigabyte lost or jump over the bytes that follow.

// seqFar is the farthest ahead a sequence or ACK number is believed.
const seqFar = 1 << 30

// seqDiff returns a-b as a signed distance in [-2^31, 2^31): at the
// ambiguous distance 2^31 it returns -2^31 whichever way round, so callers
// that can meet it use seqAhead or seqBehind instead.
func seqDiff(a, b uint32) int64 { return int64(int32(a - b)) }

// seqAhead returns how far a is after b, and whether it is at most seqFar
// after it (0 when a == b).
func seqAhead(a, b uint32) (int64, bool) {
	d := a - b
	return int64(d), d <= seqFar
}

// seqBehind returns how far a is before b (0 when a == b), and whether a is
// at or before b by less than 2^31: a past byte, not the ambiguous point.
func seqBehind(a, b uint32) (int64, bool) {
	d := b - a
	return int64(d), d < 1<<31
}

// seqCovers reports whether a cumulative ACK ack acknowledges everything
// before end: ack is at or after end, by at most seqFar.
func seqCovers(ack, end uint32) bool { return ack-end <= seqFar }

// seqIn reports whether x lies in [lo, hi), an interval shorter than 2^31.
func seqIn(x, lo, hi uint32) bool { return x-lo < hi-lo }
