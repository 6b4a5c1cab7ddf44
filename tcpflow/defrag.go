package tcpflow

import "math/bits"

// Reassembly of IP fragments (IPv4 MF flag and fragment offset, IPv6
// Fragment header).
//
// NFS over UDP sends every READ reply and WRITE call larger than the MTU
// (rsize/wsize 8 KiB, 32 KiB) as IP fragments, and only the first carries
// the UDP ports: whether a datagram is analysed is decided per datagram,
// from its first fragment or once it is whole. A whole datagram is handed
// on as if it had come in the packet of the fragment that completed it,
// with that packet's frame and time, which is where Wireshark shows it.
//
// The receiving host's rules are followed (Linux, RFC 5722): a fragment
// with the same offset and length as one held is a duplicate and ignored
// (the first copy is used); fragments that overlap otherwise, or disagree
// on where the datagram ends, drop the whole datagram, since the host
// would not have delivered it either; a fragment followed by more is cut
// to a multiple of 8 bytes. Which parts of a datagram are held is kept as
// a bitmap of its 8-byte blocks (fragment offsets count in 8 bytes), so a
// fragment costs at most a few hundred word operations, whatever the
// order, overlaps or number of fragments before it.
//
// State is bounded: at most Limits.FragDatagrams datagrams in reassembly
// and Limits.FragBytes bytes of buffers; past either the oldest datagram
// is dropped. A datagram not completed Limits.FragTimeout after its first
// fragment (capture time, the latest seen) is dropped, as the host drops
// it. Each drop counts the datagram's fragments in Stats.Skipped under its
// reason, and the datagram in Stats.FragDropped.

// fragBlocks is the number of 8-byte blocks of the longest IP payload.
const fragBlocks = (65535 + 7) / 8

// Reassembly buffers come in sizes 2 KiB to 64 KiB, doubling.
const (
	fragBufMin     = 2048
	fragBufClasses = 6
	fragBufsKept   = 4  // free buffers kept per size
	fragFreeKept   = 64 // free datagram records kept
)

type fragDatagram struct {
	key        fragKey
	prev, next *fragDatagram // in creation order, the oldest first
	created    int64         // the reassembly clock when its first fragment came
	// buf holds the captured bytes at their offsets (len == cap, pooled);
	// nil when no bytes were kept.
	buf []byte
	// cut is where the first byte the snaplen cut away would go; the
	// datagram's captured bytes are those before it.
	cut     int
	total   int  // payload length, known once the last fragment came
	maxEnd  int  // the furthest end of a fragment taken
	last    bool // the last fragment (MF = 0) came
	ignore  bool // its first fragment shows it is not on an analysed port: no bytes kept
	covered int  // blocks covered
	nfrag   int64
	have    [fragBlocks / 64]uint64 // blocks covered by a fragment
	starts  [fragBlocks / 64]uint64 // blocks where a fragment starts
}

// payload returns the datagram's captured bytes: all of them, or those
// before the first the snaplen cut away.
func (d *fragDatagram) payload() []byte { return d.buf[:min(d.total, d.cut, len(d.buf))] }

// defrag reassembles IP fragments. Fragments of different datagrams may
// interleave; each datagram is completed, or dropped, on its own.
type defrag struct {
	limits         Limits
	table          map[fragKey]*fragDatagram
	oldest, newest *fragDatagram
	n              int   // datagrams in reassembly
	held           int   // bytes of buffers they hold
	clock          int64 // the latest capture time seen
	stats          *Stats
	// keep says, from the first bytes of a datagram's payload (its TCP or
	// UDP ports), whether it may be analysed; nil keeps every datagram.
	keep  func(proto Proto, first []byte) bool
	free  []*fragDatagram
	bufs  [fragBufClasses][][]byte
	words int64 // bitmap words visited, which the tests hold to a constant per fragment
}

func newDefrag(limits Limits, stats *Stats, keep func(Proto, []byte) bool) *defrag {
	return &defrag{limits: limits, table: make(map[fragKey]*fragDatagram), stats: stats, keep: keep}
}

// add takes one fragment seen at capture time t. When it completes its
// datagram, add returns it, out of the table: the caller hands it on and
// then gives it back with done.
func (r *defrag) add(fr *fragment, t int64) *fragDatagram {
	r.stats.Fragments++
	r.advance(t)
	off, wire, data := fr.off, fr.wireLen, fr.data
	if fr.more {
		wire &^= 7 // as Linux does: a fragment followed by more ends on an 8-byte boundary
		data = data[:min(len(data), wire)]
	}
	end := off + wire
	d := r.table[fr.key]
	switch {
	case end > fr.maxLen:
		r.reject(d, fr, SkipFragTooLong)
		return nil
	case wire == 0: // no bytes: Linux drops the datagram
		r.reject(d, fr, SkipFragOverlap)
		return nil
	case d == nil:
	case !fr.more && (d.last && end != d.total || end < d.maxEnd),
		fr.more && d.last && end > d.total:
		r.reject(d, fr, SkipFragOverlap) // disagrees on where the datagram ends
		return nil
	}
	b0, b1 := off/8, (end+7)/8
	if d != nil {
		if free := b1 - b0 - r.count(&d.have, b0, b1); free != b1-b0 {
			if free == 0 && r.sameAs(d, b0, b1) {
				r.countFrags(d, SkipFragDuplicate, 1)
				return nil
			}
			r.reject(d, fr, SkipFragOverlap)
			return nil
		}
	} else {
		d = r.create(fr.key)
	}
	r.set(&d.have, b0, b1)
	d.starts[b0/64] |= 1 << (b0 % 64)
	d.covered += b1 - b0
	d.maxEnd = max(d.maxEnd, end)
	if !fr.more {
		d.last, d.total = true, end
	}
	d.nfrag++
	if len(data) < wire {
		d.cut = min(d.cut, off+len(data))
	}
	if off == 0 && !d.ignore && !r.keeps(fr.key.proto, data) {
		d.ignore = true
		r.putBuf(d.buf)
		d.buf = nil
	}
	if !d.ignore && len(data) > 0 {
		if !r.reserve(d, off+len(data)) {
			return nil // dropped: it alone would hold more than allowed
		}
		copy(d.buf[off:], data)
	}
	if d.last && d.covered == b1Of(d.total) {
		r.unlink(d)
		r.stats.Reassembled++
		return d
	}
	return nil
}

func b1Of(n int) int { return (n + 7) / 8 }

// keeps reports whether a datagram whose payload starts with first may be
// analysed; false only when first holds its ports and they are not.
func (r *defrag) keeps(proto Proto, first []byte) bool {
	return r.keep == nil || len(first) < 4 || r.keep(proto, first)
}

// sameAs reports whether the blocks b0..b1, all covered, are exactly one
// fragment held: one starts at b0, none starts inside, and it ends at b1
// (the block after is not covered, or starts another fragment).
func (r *defrag) sameAs(d *fragDatagram, b0, b1 int) bool {
	if d.starts[b0/64]&(1<<(b0%64)) == 0 || r.count(&d.starts, b0+1, b1) != 0 {
		return false
	}
	return b1 >= fragBlocks || d.have[b1/64]&(1<<(b1%64)) == 0 || d.starts[b1/64]&(1<<(b1%64)) != 0
}

// count returns how many of the bits b0..b1-1 of m are set.
func (r *defrag) count(m *[fragBlocks / 64]uint64, b0, b1 int) int {
	n := 0
	for b0 < b1 {
		w, lo := b0/64, b0%64
		hi := min(64, lo+b1-b0)
		n += bits.OnesCount64(m[w] & mask(lo, hi))
		b0 += hi - lo
		r.words++
	}
	return n
}

// set sets the bits b0..b1-1 of m.
func (r *defrag) set(m *[fragBlocks / 64]uint64, b0, b1 int) {
	for b0 < b1 {
		w, lo := b0/64, b0%64
		hi := min(64, lo+b1-b0)
		m[w] |= mask(lo, hi)
		b0 += hi - lo
		r.words++
	}
}

// mask has bits lo..hi-1 set (0 <= lo < hi <= 64).
func mask(lo, hi int) uint64 { return (^uint64(0) >> (64 - (hi - lo))) << lo }

// reject drops a fragment that cannot be taken, and with it the datagram
// it belongs to (d, when any fragment of it is held).
func (r *defrag) reject(d *fragDatagram, fr *fragment, why SkipReason) {
	if d == nil {
		if fr.off == 0 && !r.keeps(fr.key.proto, fr.data) {
			r.stats.Skipped[SkipOtherPort]++
			return
		}
		r.stats.Skipped[why]++
		r.stats.FragDropped[why]++
		return
	}
	r.countFrags(d, why, 1)
	r.drop(d, why)
}

// countFrags counts n fragments of d as skipped for why (as not on an
// analysed port when its first fragment showed it is not).
func (r *defrag) countFrags(d *fragDatagram, why SkipReason, n int64) {
	if d.ignore {
		why = SkipOtherPort
	}
	r.stats.Skipped[why] += n
}

// drop drops datagram d incomplete, counting its fragments for why.
func (r *defrag) drop(d *fragDatagram, why SkipReason) {
	r.countFrags(d, why, d.nfrag)
	if !d.ignore {
		r.stats.FragDropped[why]++
	}
	r.unlink(d)
	r.done(d)
}

// create starts the reassembly of a new datagram, the newest, dropping the
// oldest when as many are in reassembly as allowed.
func (r *defrag) create(k fragKey) *fragDatagram {
	for r.n >= r.limits.FragDatagrams && r.oldest != nil {
		r.drop(r.oldest, SkipFragTableFull)
	}
	var d *fragDatagram
	if n := len(r.free); n > 0 {
		d, r.free = r.free[n-1], r.free[:n-1]
		*d = fragDatagram{}
	} else {
		d = new(fragDatagram)
	}
	d.key, d.created, d.cut = k, r.clock, int(^uint(0)>>1)
	d.prev = r.newest
	if r.newest != nil {
		r.newest.next = d
	} else {
		r.oldest = d
	}
	r.newest = d
	r.table[k] = d
	r.n++
	return d
}

// unlink takes d out of the table and the creation order.
func (r *defrag) unlink(d *fragDatagram) {
	delete(r.table, d.key)
	if d.prev != nil {
		d.prev.next = d.next
	} else {
		r.oldest = d.next
	}
	if d.next != nil {
		d.next.prev = d.prev
	} else {
		r.newest = d.prev
	}
	d.prev, d.next = nil, nil
	r.n--
}

// done gives back a datagram add returned (or one dropped): its buffer and
// record are reused.
func (r *defrag) done(d *fragDatagram) {
	r.putBuf(d.buf)
	d.buf = nil
	if len(r.free) < fragFreeKept {
		r.free = append(r.free, d)
	}
}

// reserve makes d's buffer hold at least n bytes, dropping the oldest
// other datagrams while the buffers would hold more than allowed. It
// reports false, having dropped d, when d alone would.
func (r *defrag) reserve(d *fragDatagram, n int) bool {
	if n <= len(d.buf) {
		return true
	}
	c := 0
	for fragBufMin<<c < n {
		c++
	}
	size := fragBufMin << c
	for r.held-len(d.buf)+size > r.limits.FragBytes {
		v := r.oldest
		if v == d {
			v = d.next
		}
		if v == nil {
			r.drop(d, SkipFragBytesFull)
			return false
		}
		r.drop(v, SkipFragBytesFull)
	}
	var b []byte
	if k := len(r.bufs[c]); k > 0 {
		b, r.bufs[c] = r.bufs[c][k-1], r.bufs[c][:k-1]
	} else {
		b = make([]byte, size)
	}
	copy(b, d.buf)
	r.putBuf(d.buf)
	r.held += size
	d.buf = b
	return true
}

// putBuf gives back a buffer a datagram held.
func (r *defrag) putBuf(b []byte) {
	if b == nil {
		return
	}
	r.held -= len(b)
	c := 0
	for fragBufMin<<c < len(b) {
		c++
	}
	if len(r.bufs[c]) < fragBufsKept {
		r.bufs[c] = append(r.bufs[c], b)
	}
}

// advance moves the clock to capture time t, if later, and drops the
// datagrams that have waited longer than FragTimeout. The oldest are
// first in creation order, whose clock never goes back, so this looks at
// no datagram it keeps but the first.
func (r *defrag) advance(t int64) {
	if t > r.clock {
		r.clock = t
	}
	for r.oldest != nil && r.clock-r.oldest.created > r.limits.FragTimeout {
		r.drop(r.oldest, SkipFragTimeout)
	}
}

// finish drops every datagram still incomplete at the end of the capture
// (those past FragTimeout as timed out).
func (r *defrag) finish(t int64) {
	r.advance(t)
	for r.oldest != nil {
		r.drop(r.oldest, SkipFragEnd)
	}
}
