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
	// jumped: the last data segment was implausibly far from next
	// (dropped); jumpEnd is where it ended, to recognise its successor.
	jumped  bool
	jumpEnd uint32
	// farAck: the last ACK was beyond reach (see acked), and not believed.
	farAck    uint32
	farAckSet bool
}

// offsetOf returns the stream offset of sequence number seq, and whether
// it is believable (see plausible) and not before the stream's first byte.
func (h *half) offsetOf(seq uint32) (int64, bool) {
	if d, ok := seqAhead(seq, h.next); ok {
		return h.delivered + d, true
	}
	if d, ok := seqBehind(seq, h.next); ok && d <= seqFar && d <= h.delivered {
		return h.delivered - d, true
	}
	return 0, false
}

// plausible reports whether seq is within seqFar of next, either way: a
// byte this direction can have sent or be sending. Anything else is a
// damaged or hostile header (see seqspace.go).
func (h *half) plausible(seq uint32) bool {
	_, ahead := seqAhead(seq, h.next)
	d, behind := seqBehind(seq, h.next)
	return ahead || (behind && d <= seqFar)
}

type queued struct {
	seq     uint32
	data    []byte // captured bytes (a pooled buffer)
	wireLen int
	at      FrameRef
}

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
		// already gaps; a segment not plausibly behind the ACK (ahead of
		// it, or a stale or bogus ACK) re-anchors the stream.
		h.ackOnly = false
		if back, ok := seqBehind(seq, h.next); !ok || back > seqFar {
			h.next = seq
		}
	}
	if !h.plausible(seq) || f.beyondReach(c, h, seq) {
		// Neither a re-send of recent bytes nor bytes the window allows:
		// a damaged sequence number. Queued, it would turn into a gap of
		// up to 4 GiB and hide every byte after it; delivered as a
		// re-send, garbage. Unless the next one continues it: then the
		// stream really jumped (the capture lost more than seqFar bytes,
		// ACKs included), and the jump is at least this far.
		f.Stats.Implausible++
		if !h.jumped || seq != h.jumpEnd {
			h.jumped, h.jumpEnd = true, seq+uint32(wireLen)
			return
		}
		h.jumped = false
		f.flushHalf(c, h) // queued bytes are before the jump
		jump := int64(seq - h.next)
		c.h.Gap(h.dir, int(jump), at, GapLost)
		h.delivered += jump
		h.next = seq
	}
	h.jumped = false
	if back, ok := seqBehind(seq, h.next); ok && back > 1 && h.delivered == 0 && len(h.queue) == 0 {
		// Bytes before the first one expected, when none was taken yet,
		// are not a re-send of anything: next came from a damaged SYN
		// (one behind is a keep-alive's probe byte, kept as one).
		h.next = seq
	}
	if back, ok := seqBehind(seq, h.next); ok {
		f.deliver(c, h, seq, back, payload, wireLen, at)
		f.drain(c, h, at)
		return
	}
	f.enqueue(h, seq, payload, wireLen, at)
	for h.qbytes > f.limits.QueuePerDirection || (f.queued > f.limits.QueueTotal && len(h.queue) > 0) ||
		f.overSegments(h) {
		// Queued segments are at most seqFar ahead of next (only
		// plausible ones are queued, and next never passes one without
		// draining it), so the gap is a forward distance.
		gap, _ := seqAhead(h.queue[0].seq, h.next)
		f.Stats.ForcedGaps++
		f.Stats.ForcedGapByte += gap
		f.skipToHead(c, h)
	}
}

// skipToHead declares the hole before the first queued segment lost and
// delivers what became contiguous. Each call removes at least that
// segment: should it not be plausibly ahead (the invariant above broken),
// it is dropped rather than looped on.
func (f *Flows) skipToHead(c *conn, h *half) {
	q := &h.queue[0]
	if _, ok := seqAhead(q.seq, h.next); !ok {
		if _, ok := seqBehind(q.seq, h.next); !ok {
			f.Stats.Implausible++
			f.unqueue(h, q)
			n := copy(h.queue, h.queue[1:])
			h.queue[n] = queued{}
			h.queue = h.queue[:n]
			return
		}
	}
	f.skipTo(c, h, q.seq, q.at, GapLost)
}

// deliver hands the part of a segment beyond h.next to the handler: its
// captured bytes as data, and what the snaplen cut as a gap. The segment
// starts back bytes before h.next (seqBehind's distance: never
// negative, so never an index before the payload).
func (f *Flows) deliver(c *conn, h *half, seq uint32, back int64, payload []byte, wireLen int, at FrameRef) {
	if back >= int64(wireLen) {
		return // all already delivered: a retransmission or keep-alive
	}
	overlap := int(back)
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
	for n < len(h.queue) {
		q := &h.queue[n]
		back, ok := seqBehind(q.seq, h.next)
		if !ok {
			break // still ahead: the queue is sorted
		}
		f.deliver(c, h, q.seq, back, q.data, q.wireLen, later(q.at, at))
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
	return len(h.queue) > l.QueueSegments || f.queuedN > l.QueueSegmentsTotal
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
	if n, ok := seqAhead(seq, h.next); ok && n > 0 {
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

// acked handles the peer acknowledging h's bytes up to ack, and reports
// false when the ACK is not believed because it is beyond reach. A receiver only
// ACKs bytes it has, so an ACK beyond what was captured means the capture
// missed them: waiting longer cannot fill the hole.
func (f *Flows) acked(c *conn, h *half, ack uint32, at FrameRef) bool {
	if !h.synced {
		// Nothing of this direction captured yet: the ACK says where its
		// stream stands, so that bytes ACKed later and never captured (a
		// one-way capture, a capture that drops one side) are known to be
		// missing, not absent.
		h.synced, h.ackOnly, h.next = true, true, ack
		return true
	}
	if h.fin && ack == h.finSeq+1 {
		ack = h.finSeq // the FIN takes a sequence number but carries no byte
	}
	if f.beyondReach(c, h, ack) {
		// More than the receiver's window ahead: believed only when the
		// receiver's next ACK this far confirms it (a capture that lost
		// more than a window of both directions); one damaged ACK would
		// declare up to 2^30 bytes ACKed and skip every byte before them.
		if !h.farAckSet || !seqIn(ack, h.farAck, h.farAck+uint32(f.reach(c, h))) {
			h.farAck, h.farAckSet = ack, true
			return false
		}
	}
	h.farAckSet = false
	for {
		// Only an ACK at most seqFar ahead is believed: a damaged one
		// would declare up to 4 GiB lost and skip every byte before it.
		if d, ok := seqAhead(ack, h.next); !ok || d == 0 {
			return true // nothing new; offsetOf judges the rest
		}
		if len(h.queue) > 0 && seqIn(h.queue[0].seq, h.next, ack) {
			f.skipTo(c, h, h.queue[0].seq, at, GapAcked)
			continue
		}
		f.skipTo(c, h, ack, at, GapAcked)
		return true
	}
}

// reach returns how far ahead of h's next byte a sequence or ACK number is
// believed: what the receiver's largest window let the sender have in
// flight, plus what reassembly may hold queued behind a hole. Without the
// handshake the window's scale is unknown (up to 2^14), and so is the
// reach: seqFar.
func (f *Flows) reach(c *conn, h *half) int64 {
	rcv := &c.tcp[1-h.dir]
	if rcv.winScale == scaleUnknown || c.tcp[h.dir].winScale == scaleUnknown {
		return seqFar
	}
	return min(seqFar, int64(rcv.maxWindow)+int64(f.limits.QueuePerDirection)+1<<16)
}

// beyondReach reports whether seq is more than reach ahead of h's next byte
// (and not behind it).
func (f *Flows) beyondReach(c *conn, h *half, seq uint32) bool {
	d, ok := seqAhead(seq, h.next)
	return ok && d > f.reach(c, h)
}

// flushHalf declares every remaining hole lost and delivers the queue.
func (f *Flows) flushHalf(c *conn, h *half) {
	for len(h.queue) > 0 {
		f.skipToHead(c, h)
	}
}

// Out-of-order buffers are pooled for reuse by size class (bufClasses):
// a queued segment holds a buffer of the smallest class that fits it, so
// the one-byte segments of a hostile or keep-alive-heavy stream do not
// each hold a full-size buffer. A buffer for an outsized segment (TSO/GRO
// captures hold segments of up to 64 KiB) is allocated to fit and left to
// the garbage collector once its bytes are delivered, so a burst of big
// segments does not stay in the pool for the rest of the capture. Each
// class keeps at most poolBufs free buffers.
var bufClasses = [...]int{256, 2048, 9216}

const poolBufs = 1024

func bufClass(n int) int {
	for i, c := range bufClasses {
		if n <= c {
			return i
		}
	}
	return -1
}

func (f *Flows) getBuf(n int) []byte {
	c := bufClass(n)
	if c < 0 {
		return make([]byte, n)
	}
	if k := len(f.freeBufs[c]); k > 0 {
		b := f.freeBufs[c][k-1]
		f.freeBufs[c][k-1] = nil
		f.freeBufs[c] = f.freeBufs[c][:k-1]
		return b[:n]
	}
	return make([]byte, n, bufClasses[c])
}

func (f *Flows) putBuf(b []byte) {
	c := bufClass(cap(b))
	if c < 0 || cap(b) != bufClasses[c] || len(f.freeBufs[c]) >= poolBufs {
		return
	}
	f.freeBufs[c] = append(f.freeBufs[c], b[:0])
}
