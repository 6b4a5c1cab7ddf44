package tcpflow

// Reassembly of one direction of a TCP connection.
//
// gopacket's reassembly package is not used here, for three reasons found
// while building on it: it sees only the captured bytes of a segment, so
// every segment cut by the snaplen looks like a sequence hole and stalls the
// stream until a flush; it can only tell which frame a byte came from
// through an AssemblerContext stored per buffered page, which costs a heap
// allocation per packet; and the stall analysis needs the same per-direction
// sequence state anyway. This reassembler delivers in-order bytes at once,
// holds out-of-order segments (copied) until their hole is filled, and turns
// bytes that were sent but not captured into explicit gaps of exact length.

type half struct {
	dir    Dir
	sawSYN bool
	isn    uint32
	synced bool // next is valid: set by the SYN, the first data seen, or the peer's first ACK
	// ackOnly: synced by the peer's ACK alone; no byte of this direction
	// has been captured yet. The first data re-anchors the stream (see data).
	ackOnly bool
	next    uint32 // sequence number of the next byte to deliver
	fin     bool
	finSeq  uint32   // sequence number the FIN occupies
	queue   []queued // out-of-order segments, sorted by seq
	qbytes  int
	// delivered counts the bytes handed on (data and gaps): the stream
	// offset of next.
	delivered int64
	ackedOff  int64 // stream offset the peer has ACKed, as last reported
}

// offsetOf returns the stream offset of sequence number seq (which must be
// within 2^31 of next).
func (h *half) offsetOf(seq uint32) int64 { return h.delivered + seqDiff(seq, h.next) }

type queued struct {
	seq     uint32
	data    []byte // captured bytes (a pooled buffer)
	wireLen int
	at      FrameRef
}

// seqDiff returns a-b in sequence space (RFC 1982 style, wraps at 2^32).
func seqDiff(a, b uint32) int64 { return int64(int32(a - b)) }

// data handles a segment carrying wireLen bytes at seq, of which payload
// were captured.
func (f *Flows) data(c *conn, h *half, seq uint32, payload []byte, wireLen int, at FrameRef) {
	if !h.synced {
		// Joined mid-stream: start at the first byte seen. The RPC framer
		// finds the first record boundary.
		h.synced, h.next = true, seq
	}
	if h.ackOnly {
		// Synced by the peer's ACK before any byte of this direction was
		// captured: bytes between that ACK and this segment may have been
		// in flight when the capture began, so start at the first byte
		// seen, as a mid-stream join does. Bytes the peer ACKed since are
		// already gaps; a segment far from the ACK (a stale or bogus ACK)
		// re-anchors the stream.
		h.ackOnly = false
		if d := seqDiff(seq, h.next); d > 0 || d < -(1<<30) {
			h.next = seq
		}
	}
	if seqDiff(seq, h.next) <= 0 {
		f.deliver(c, h, seq, payload, wireLen, at)
		f.drain(c, h, at)
		return
	}
	f.enqueue(h, seq, payload, wireLen, at)
	for h.qbytes > f.limits.QueuePerDirection || (f.queued > f.limits.QueueTotal && len(h.queue) > 0) ||
		f.overSegments(h) {
		f.Stats.ForcedGaps++
		f.Stats.ForcedGapByte += seqDiff(h.queue[0].seq, h.next)
		f.skipTo(c, h, h.queue[0].seq, h.queue[0].at, GapLost)
	}
}

// deliver hands the part of a segment beyond h.next to the handler: its
// captured bytes as data, and what the snaplen cut as a gap.
func (f *Flows) deliver(c *conn, h *half, seq uint32, payload []byte, wireLen int, at FrameRef) {
	overlap := int(seqDiff(h.next, seq))
	if overlap >= wireLen {
		return // all already delivered: a retransmission or keep-alive
	}
	if overlap < len(payload) {
		c.h.Data(h.dir, payload[overlap:], at)
	}
	if capEnd := max(overlap, len(payload)); wireLen > capEnd {
		c.h.Gap(h.dir, wireLen-capEnd, at, GapSnaplen)
	}
	h.delivered += int64(wireLen - overlap)
	h.next = seq + uint32(wireLen)
}

// drain delivers queued segments that the last delivery made contiguous.
// Their bytes are attributed to the frame that filled the hole (at), when it
// is the later one: that is where the bytes became usable, and where
// Wireshark shows a message completed by out-of-order reassembly.
func (f *Flows) drain(c *conn, h *half, at FrameRef) {
	n := 0
	for n < len(h.queue) && seqDiff(h.queue[n].seq, h.next) <= 0 {
		q := &h.queue[n]
		f.deliver(c, h, q.seq, q.data, q.wireLen, later(q.at, at))
		f.unqueue(h, q)
		n++
	}
	if n > 0 {
		rest := copy(h.queue, h.queue[n:])
		clear(h.queue[rest:])
		h.queue = h.queue[:rest]
	}
}

// overSegments reports whether h's queue holds more segments than the
// limits allow (a zero limit is no limit).
func (f *Flows) overSegments(h *half) bool {
	if len(h.queue) == 0 {
		return false
	}
	l := &f.limits
	return (l.QueueSegments > 0 && len(h.queue) > l.QueueSegments) ||
		(l.QueueSegmentsTotal > 0 && f.queuedN > l.QueueSegmentsTotal)
}

func (f *Flows) enqueue(h *half, seq uint32, payload []byte, wireLen int, at FrameRef) {
	buf := f.getBuf(len(payload))
	copy(buf, payload)
	q := queued{seq: seq, data: buf, wireLen: wireLen, at: at}
	// Insert sorted. Segments mostly arrive in order, so look at the end
	// first; otherwise a binary search keeps a hostile order from costing
	// a scan of the queue per segment.
	i := len(h.queue)
	if i > 0 && seqDiff(h.queue[i-1].seq, seq) > 0 {
		lo, hi := 0, i-1
		for lo < hi {
			m := int(uint(lo+hi) >> 1)
			if seqDiff(h.queue[m].seq, seq) > 0 {
				hi = m
			} else {
				lo = m + 1
			}
		}
		i = lo
	}
	h.queue = append(h.queue, queued{})
	copy(h.queue[i+1:], h.queue[i:])
	h.queue[i] = q
	h.qbytes += len(buf)
	f.queued += len(buf)
	f.queuedN++
}

func (f *Flows) unqueue(h *half, q *queued) {
	h.qbytes -= len(q.data)
	f.queued -= len(q.data)
	f.queuedN--
	f.putBuf(q.data)
	q.data = nil
}

// skipTo declares the bytes up to seq missing (why says how we know they
// were sent), then delivers what queued segments became contiguous.
func (f *Flows) skipTo(c *conn, h *half, seq uint32, at FrameRef, why GapReason) {
	if n := seqDiff(seq, h.next); n > 0 {
		c.h.Gap(h.dir, int(n), at, why)
		h.delivered += n
		h.next = seq
	}
	// Nothing filled the hole: queued bytes keep their own frames.
	f.drain(c, h, FrameRef{})
}

// later returns the later of two frames (by capture time, then frame).
func later(a, b FrameRef) FrameRef {
	if b.Time > a.Time || (b.Time == a.Time && b.File == a.File && b.Frame > a.Frame) {
		return b
	}
	return a
}

// acked handles the peer acknowledging h's bytes up to ack. A receiver only
// ACKs bytes it has, so an ACK beyond what was captured means the capture
// missed them: waiting longer cannot fill the hole.
func (f *Flows) acked(c *conn, h *half, ack uint32, at FrameRef) {
	if !h.synced {
		// Nothing of this direction captured yet: the ACK says where its
		// stream stands, so that bytes ACKed later and never captured (a
		// one-way capture, a capture that drops one side) are known to be
		// missing, not absent.
		h.synced, h.ackOnly, h.next = true, true, ack
		return
	}
	if h.fin && ack == h.finSeq+1 {
		ack = h.finSeq // the FIN takes a sequence number but carries no byte
	}
	for {
		d := seqDiff(ack, h.next)
		if d <= 0 || d > 1<<30 {
			return
		}
		if len(h.queue) > 0 && seqDiff(h.queue[0].seq, ack) < 0 {
			f.skipTo(c, h, h.queue[0].seq, at, GapAcked)
			continue
		}
		f.skipTo(c, h, ack, at, GapAcked)
		return
	}
}

// flushHalf declares every remaining hole lost and delivers the queue.
func (f *Flows) flushHalf(c *conn, h *half, at FrameRef) {
	for len(h.queue) > 0 {
		f.skipTo(c, h, h.queue[0].seq, h.queue[0].at, GapLost)
	}
}

func (f *Flows) getBuf(n int) []byte {
	for i := len(f.freeBufs) - 1; i >= 0; i-- {
		if b := f.freeBufs[i]; cap(b) >= n {
			f.freeBufs[i] = f.freeBufs[len(f.freeBufs)-1]
			f.freeBufs = f.freeBufs[:len(f.freeBufs)-1]
			return b[:n]
		}
		if len(f.freeBufs)-i > 8 {
			break // do not scan a long list for a big buffer
		}
	}
	return make([]byte, n, max(n, 2048))
}

func (f *Flows) putBuf(b []byte) {
	if len(f.freeBufs) < 1024 {
		f.freeBufs = append(f.freeBufs, b[:0])
	}
}
