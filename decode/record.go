package decode

import "encoding/binary"

// Record marking (RFC 5531 section 11): over TCP, each RPC message is sent
// as one or more fragments, each preceded by a 4-byte marker whose top bit
// says "last fragment" and whose low 31 bits give the fragment length.

// HeadMax is how many bytes of each record the Framer keeps: enough for the
// RPC header, an AUTH_SYS credential and the NFS arguments or results that
// nfsstall reports. The rest of a record (READ and WRITE data) is counted,
// never buffered, so memory does not depend on record sizes.
const HeadMax = 512

// DefaultMaxFragment is the largest fragment, and the largest record (the
// sum of its fragments), the Framer accepts by default. Linux and common
// servers send at most a little over 1 MiB; a marker beyond this is taken
// as a sign of lost sync (counted in Framer.TooLong), never buffered or
// trusted.
const DefaultMaxFragment = 16 << 20

// SearchWindow is how many bytes after a candidate marker the Framer shows
// RecordSink.Plausible when looking for a record boundary: the longest
// legal RPC header (a call with 400-byte credential and verifier bodies),
// so that a header with a long credential or verifier (RPCSEC_GSS: a
// context handle, a krb5 MIC) is judged whole. A record shorter than this
// is shown whole, as soon as its last byte is held.
const SearchWindow = MaxCallHeader

// Record is one RPC record (a whole message), as the Framer saw it.
type Record struct {
	// Head holds the first bytes of the message (fragment markers removed),
	// at most HeadMax. It is shorter when bytes near the start were not
	// captured. Only valid during RecordSink.Record.
	Head      []byte
	Len       int64 // message length: the sum of its fragment lengths
	Fragments int
	Missing   int64 // bytes of the message that were sent but not captured
	Start     int64 // stream offset of the record's first marker
	Have      int64 // bytes of the message delivered or skipped so far
	// First is the caller's Mark when the record's first byte was read:
	// where (which frame) the message began.
	First Mark
}

// Mark says which captured frame a record's first byte came from: the
// capture file, the frame's number in it and its time. The Framer copies
// it into a record when that byte arrives and never reads it, so the
// caller learns where each message began without the Framer knowing about
// frames.
type Mark struct{ File, Frame, Time int64 }

// RecordSink receives the records of one stream.
type RecordSink interface {
	// Record is called when the last byte of a record has passed.
	Record(r *Record)
	// Plausible reports whether b, the bytes after a candidate record
	// marker, could start an RPC message on this stream. b is SearchWindow
	// bytes, or the whole record when it is shorter; or, when cut is true,
	// the start of a record whose rest was not captured (it runs on into a
	// gap or past the end of the stream), of at least 12 bytes: then only
	// what is there can be judged. The Framer asks when it must find a
	// record boundary: after joining a stream mid-way or losing the marker
	// in a gap. While a window fills, the Framer also asks with cut true
	// about its first bytes (24 or more) to pass over positions they
	// already rule out: a cut judgement must accept the start of anything
	// the whole judgement accepts.
	Plausible(b []byte, cut bool) bool
}

// Framer splits one direction of a TCP byte stream into RPC records. It
// is fed in-order bytes and gaps; it never allocates.
type Framer struct {
	sink        RecordSink
	maxFragment uint32

	// Mark is copied into each record as Record.First when its first byte
	// is read; set it before Feed and Skip.
	Mark Mark

	off    int64 // stream offset of the next byte
	synced bool  // at a known position in the record structure

	mk       [4]byte // marker bytes gathered so far
	mkN      int
	inBody   bool
	fragLeft int64 // bytes of the current fragment still to come
	last     bool  // the current fragment is its record's last

	rec       Record
	firstMark Mark // Mark when the current record's first marker byte came
	// head holds the first bytes of the record in progress. With a
	// HeadPool it is borrowed when a record begins and given back when it
	// ends, so an idle stream holds none.
	head        *[HeadMax]byte
	pool        *HeadPool
	headN       int
	headStopped bool // a gap came: later bytes are not contiguous with head

	// carry holds the bytes under examination while looking for a record
	// boundary; like head it is borrowed from the pool only while bytes
	// are held.
	carry  *carryBuf
	carryN int

	// Garbage counts bytes passed over while looking for a record boundary.
	Garbage int64
	// Resyncs counts how many times the Framer lost and looked for sync.
	Resyncs int
	// TooLong counts record markers rejected because their fragment, or
	// the record so far, was longer than the largest accepted.
	TooLong int
}

// Reset makes f a new Framer for sink, reusing its memory; a zero Framer
// is ready once Reset. synced says whether the stream starts at a record
// boundary (the capture saw the SYN); otherwise the Framer first looks for
// one.
func (f *Framer) Reset(sink RecordSink, synced bool) {
	f.releaseHead()
	f.carryN = 0
	f.releaseCarry()
	*f = Framer{sink: sink, maxFragment: DefaultMaxFragment, synced: synced, head: f.head, carry: f.carry, pool: f.pool}
}

// Offset returns the stream offset of the next byte.
func (f *Framer) Offset() int64 { return f.off }

// Feed hands the Framer the next bytes of the stream.
func (f *Framer) Feed(b []byte) {
	for len(b) > 0 {
		if !f.synced {
			b = f.search(b)
			continue
		}
		if !f.inBody {
			if f.mkN == 0 && f.rec.Fragments == 0 {
				f.firstMark = f.Mark
			}
			n := copy(f.mk[f.mkN:], b)
			f.mkN += n
			f.off += int64(n)
			b = b[n:]
			if f.mkN < 4 {
				return
			}
			f.mkN = 0
			f.marker()
			continue
		}
		n := int(min(f.fragLeft, int64(len(b))))
		if !f.headStopped && f.headN < HeadMax {
			if f.head == nil {
				f.head = f.pool.get()
			}
			f.headN += copy(f.head[f.headN:], b[:n])
		}
		f.fragLeft -= int64(n)
		f.rec.Have += int64(n)
		f.off += int64(n)
		b = b[n:]
		if f.fragLeft == 0 {
			f.endFragment()
		}
	}
}

// marker interprets the 4 marker bytes just read.
func (f *Framer) marker() {
	v := binary.BigEndian.Uint32(f.mk[:])
	length := v & 0x7fffffff
	if length > f.maxFragment || f.rec.Len+int64(length) > int64(f.maxFragment) {
		f.TooLong++
		f.lose(4)
		return
	}
	if f.rec.Fragments == 0 {
		f.rec.Start = f.off - 4
		f.rec.First = f.firstMark
	}
	f.rec.Fragments++
	f.rec.Len += int64(length)
	f.last = v&0x80000000 != 0
	f.fragLeft = int64(length)
	f.inBody = true
	if length == 0 {
		f.endFragment()
	}
}

func (f *Framer) endFragment() {
	f.inBody = false
	if !f.last {
		return
	}
	f.rec.Head = f.headBytes()
	f.sink.Record(&f.rec)
	f.rec = Record{}
	f.headN = 0
	f.headStopped = false
	f.releaseHead()
}

// HeadPool lends head buffers to Framers, so that a Framer holds one only
// while a record is in progress (and a search buffer only while it holds
// bytes looking for a record boundary): ten thousand idle connections then
// cost little. A Framer without a pool keeps the buffers it first
// allocates. It is not safe for concurrent use.
type HeadPool struct {
	free   []*[HeadMax]byte
	carrys []*carryBuf
}

func (p *HeadPool) get() *[HeadMax]byte {
	if p == nil || len(p.free) == 0 {
		return new([HeadMax]byte)
	}
	h := p.free[len(p.free)-1]
	p.free = p.free[:len(p.free)-1]
	return h
}

// SetHeadPool makes f borrow its head buffers from p.
func (f *Framer) SetHeadPool(p *HeadPool) { f.pool = p }

func (f *Framer) headBytes() []byte {
	if f.head == nil {
		return nil
	}
	return f.head[:f.headN]
}

// releaseHead gives the head buffer back to the pool, if there is one.
func (f *Framer) releaseHead() {
	if f.pool != nil && f.head != nil {
		f.pool.free = append(f.pool.free, f.head)
		f.head = nil
	}
}

// Skip says the next n bytes of the stream were sent but not captured.
func (f *Framer) Skip(n int64) {
	if n <= 0 {
		return
	}
	if !f.synced && !f.syncAtGap() {
		f.off += n
		f.Garbage += int64(f.carryN)
		f.carryN = 0 // what follows is not contiguous with the carry
		f.releaseCarry()
		return
	}
	f.off += n
	if f.inBody {
		take := min(n, f.fragLeft)
		f.fragLeft -= take
		f.rec.Missing += take
		f.rec.Have += take
		f.headStopped = true
		n -= take
		if f.fragLeft == 0 {
			f.endFragment()
		}
	}
	if n > 0 {
		// The gap covers a record marker: where records start is unknown.
		f.lose(0)
	}
}

// Desync tells the Framer that the record it just delivered did not parse:
// it is not where it thought, and must look for a record boundary.
func (f *Framer) Desync() { f.lose(0) }

// lose drops the record in progress and starts looking for a boundary;
// garbage is how many bytes just read are known not to belong to a record.
func (f *Framer) lose(garbage int) {
	f.Garbage += int64(garbage)
	f.Resyncs++
	f.synced = false
	f.inBody, f.mkN, f.fragLeft, f.carryN = false, 0, 0, 0
	f.rec = Record{}
	f.headN = 0
	f.headStopped = false
	f.releaseHead()
	f.releaseCarry()
}

// Partial returns the record in progress at the end of the stream, if any:
// a message whose last bytes never came.
func (f *Framer) Partial() (*Record, bool) {
	if !f.synced || f.rec.Fragments == 0 {
		return nil, false
	}
	f.rec.Head = f.headBytes()
	return &f.rec, true
}

// Finish ends the stream. Bytes still held while searching may begin a
// record that runs past the end of the capture (the last bytes captured
// of a long message, fewer than a search window): they are judged as at
// a gap, so Partial can name that record. What is left is garbage.
func (f *Framer) Finish() {
	if !f.synced && !f.syncAtGap() {
		f.Garbage += int64(f.carryN)
		f.carryN = 0
		f.releaseCarry()
	}
}
