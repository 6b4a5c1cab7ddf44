package decode

import "encoding/binary"

// The Framer's search for a record boundary in a stream joined midway or
// after a gap, and the carry buffer that holds the bytes it has not yet
// ruled out.

// carryBuf holds two search windows with their markers (a window is
// tested once all its bytes are here, then the bytes before it dropped),
// and the Mark of each chunk they came in, so that a record found in them
// begins where its first byte came, not where the search decided.
type carryBuf struct {
	b      [2 * (4 + SearchWindow)]byte
	marks  [maxChunkMarks]chunkMark // oldest first
	nMarks int
}

// maxChunkMarks bounds the chunks whose Mark is kept while searching; past
// it the oldest is forgotten, and its bytes take the next chunk's Mark (a
// record found there begins later than it did). The search holds up to
// 4+SearchWindow bytes: 64 marks keep every chunk's Mark while chunks
// average 14 bytes or more (a TCP segment carries hundreds); only a
// stream of tinier segments loses some, for the records found among them.
const maxChunkMarks = 64

// chunkMark is the stream offset where a chunk fed to the Framer began,
// and the Mark it was fed with.
type chunkMark struct {
	off int64
	m   Mark
}

// note records that the bytes from stream offset off on came with m.
func (c *carryBuf) note(off int64, m Mark) {
	if c.nMarks > 0 && c.marks[c.nMarks-1].m == m {
		return // the same chunk, or one of the same frame
	}
	if c.nMarks == maxChunkMarks {
		c.nMarks = copy(c.marks[:], c.marks[1:])
	}
	c.marks[c.nMarks] = chunkMark{off, m}
	c.nMarks++
}

// prune forgets the chunks that ended before stream offset off.
func (c *carryBuf) prune(off int64) {
	i := 0
	for i+1 < c.nMarks && c.marks[i+1].off <= off {
		i++
	}
	if i > 0 {
		c.nMarks = copy(c.marks[:], c.marks[i:c.nMarks])
	}
}

// markAt returns the Mark of the byte at stream offset off (def when no
// chunk is known) and where the next chunk begins (-1: none).
func (c *carryBuf) markAt(off int64, def Mark) (Mark, int64) {
	m, next := def, int64(-1)
	if c.nMarks > 0 {
		m = c.marks[0].m
	}
	for _, cm := range c.marks[:c.nMarks] {
		if cm.off > off {
			next = cm.off
			break
		}
		m = cm.m
	}
	return m, next
}

func (p *HeadPool) getCarry() *carryBuf {
	if p == nil || len(p.carrys) == 0 {
		return new(carryBuf)
	}
	c := p.carrys[len(p.carrys)-1]
	p.carrys = p.carrys[:len(p.carrys)-1]
	return c
}

// releaseCarry gives the search buffer back to the pool, if there is one
// and no bytes are held in it.
func (f *Framer) releaseCarry() {
	if f.carry != nil && f.carryN == 0 {
		f.carry.nMarks = 0
	}
	if f.pool != nil && f.carry != nil && f.carryN == 0 {
		f.pool.carrys = append(f.pool.carrys, f.carry)
		f.carry = nil
	}
}

// search looks for a record boundary: a marker with a plausible length
// followed by bytes the sink finds plausible. Bytes pass through a small
// carry buffer so a boundary split across two chunks is still found. It
// returns what is left of b once sync is found (nil while still looking).
func (f *Framer) search(b []byte) []byte {
	const w = 4 + SearchWindow
	if f.carry == nil {
		f.carry = f.pool.getCarry()
	}
	if len(b) > 0 {
		f.carry.note(f.off, f.Mark)
	}
	for {
		take := copy(f.carry.b[f.carryN:], b)
		f.carryN += take
		f.off += int64(take)
		b = b[take:]
		// Test each position whose bytes are all here: a full window, or a
		// record shorter than the window that ends within the carry (a short
		// reply at a stream's end). A position whose marker, or whose bytes
		// so far, already rule it out is passed over at once, so that
		// garbage does not hold up the records after it; stop at the first
		// that must wait for more.
		p := 0
	scan:
		for ; p+4+minRecord <= f.carryN; p++ {
			n := binary.BigEndian.Uint32(f.carry.b[p:])
			length, held := int(n&0x7fffffff), f.carryN-p-4
			var ok bool
			switch {
			case length < minRecord || length > int(f.maxFragment):
			case p+w <= f.carryN:
				ok = f.candidate(f.carry.b[p:p+w], false)
			case n&0x80000000 != 0 && length <= held:
				ok = f.candidate(f.carry.b[p:p+4+length], false)
			case held >= minJudged && !f.sink.Plausible(f.carry.b[p+4:f.carryN], true):
			default:
				break scan
			}
			if !ok {
				continue
			}
			f.syncAt(p)
			return b
		}
		// Positions before p are not boundaries: drop them.
		if p > 0 {
			f.Garbage += int64(p)
			f.carryN = copy(f.carry.b[:], f.carry.b[p:f.carryN])
			f.carry.prune(f.off - int64(f.carryN))
		}
		if len(b) == 0 {
			return nil
		}
	}
}

// minRecord is the shortest RPC message: a reply denied with AUTH_ERROR
// (xid, msg_type, reply_stat, reject_stat, auth_stat), as an RPCSEC_GSS
// server sends when a context expires.
const minRecord = 20

// minHeader is the fewest bytes after a marker that Plausible is asked to
// judge when the rest of a record was not captured: a reply's xid,
// msg_type and reply_stat.
const minHeader = 12

// minJudged is the fewest bytes after a marker from which a cut judgement
// rules a position out before its window is full: a call's fixed header.
const minJudged = 24

// syncAtGap looks, when a gap comes while searching (or the stream ends),
// for a record boundary among the bytes held, which are all there is
// before the gap: positions the search left waiting for a full window are
// judged with what is there. A record that ends within them is judged
// whole; one that runs on into the gap by its first bytes: with a snaplen
// cut, the few bytes captured at the start of a segment are all there is
// to find a record by. On success the Framer is synced and the bytes from
// the boundary on are fed again.
func (f *Framer) syncAtGap() bool {
	if f.carry == nil {
		return false
	}
	for p := 0; p+4+minHeader <= f.carryN; p++ {
		v := binary.BigEndian.Uint32(f.carry.b[p:])
		length := int(v & 0x7fffffff)
		if length < minRecord || length > int(f.maxFragment) {
			continue
		}
		held := f.carryN - p - 4
		ok := false
		switch {
		case length > held:
			ok = f.sink.Plausible(f.carry.b[p+4:f.carryN], true)
		case v&0x80000000 != 0:
			ok = f.sink.Plausible(f.carry.b[p+4:p+4+length], false)
		default: // a first fragment that ends here: judge what it holds
			ok = f.sink.Plausible(f.carry.b[p+4:p+4+length], true)
		}
		if ok {
			f.syncAt(p)
			return true
		}
	}
	return false
}

// syncAt takes the record boundary at carry[p]: the bytes before it are
// garbage, the held bytes from it on are fed again as a synced stream,
// chunk by chunk, each with the Mark it first came with.
func (f *Framer) syncAt(p int) {
	f.Garbage += int64(p)
	var tmp carryBuf
	rest := tmp.b[:copy(tmp.b[:], f.carry.b[p:f.carryN])]
	tmp.nMarks = copy(tmp.marks[:], f.carry.marks[:f.carry.nMarks])
	f.off -= int64(len(rest))
	f.carryN = 0
	f.releaseCarry()
	f.synced = true
	cur := f.Mark
	for len(rest) > 0 {
		m, next := tmp.markAt(f.off, cur)
		n := len(rest)
		if next > f.off && next-f.off < int64(n) {
			n = int(next - f.off)
		}
		f.Mark = m
		f.Feed(rest[:n])
		rest = rest[n:]
	}
	f.Mark = cur
}

// candidate reports whether w, a marker and the bytes after it (a search
// window, or a whole record shorter than that), could start a record.
func (f *Framer) candidate(w []byte, cut bool) bool {
	length := binary.BigEndian.Uint32(w) & 0x7fffffff
	if length < minRecord || length > f.maxFragment {
		return false
	}
	return f.sink.Plausible(w[4:], cut)
}
