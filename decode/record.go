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

// DefaultMaxFragment is the largest fragment the Framer accepts by default.
// Linux and common servers send at most a little over 1 MiB; a marker
// beyond this is taken as a sign of lost sync, not buffered or trusted.
const DefaultMaxFragment = 16 << 20

// searchWindow is how many bytes after a candidate marker the Framer shows
// RecordSink.Plausible when looking for a record boundary.
const searchWindow = 40

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

// Mark is an opaque caller value (for nfsstall: a frame reference) that
// the Framer copies into a record when the record's first byte arrives, so
// the caller learns where each message began without the Framer knowing
// about frames.
type Mark struct{ A, B, C int64 }

// RecordSink receives the records of one stream.
type RecordSink interface {
	// Record is called when the last byte of a record has passed.
	Record(r *Record)
	// Plausible reports whether b, the bytes after a candidate record
	// marker (searchWindow of them), could start an RPC message on this
	// stream. The Framer asks when it must find a record boundary: after
	// joining a stream mid-way or losing the marker in a gap.
	Plausible(b []byte) bool
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

	rec         Record
	firstMark   Mark // Mark when the current record's first marker byte came
	head        [HeadMax]byte
	headN       int
	headStopped bool // a gap came: later bytes are not contiguous with head

	carry  [2 * (4 + searchWindow)]byte
	carryN int

	// Garbage counts bytes passed over while looking for a record boundary.
	Garbage int64
	// Resyncs counts how many times the Framer lost and looked for sync.
	Resyncs int
}

// NewFramer returns a Framer delivering to sink. synced says whether the
// stream starts at a record boundary (the capture saw the SYN); otherwise
// the Framer first looks for one.
func NewFramer(sink RecordSink, synced bool) *Framer {
	f := &Framer{}
	f.Reset(sink, synced)
	return f
}

// Reset makes f a new Framer for sink, reusing its memory.
func (f *Framer) Reset(sink RecordSink, synced bool) {
	*f = Framer{sink: sink, maxFragment: DefaultMaxFragment, synced: synced}
}

// SetMaxFragment changes the largest fragment length accepted.
func (f *Framer) SetMaxFragment(n uint32) { f.maxFragment = n }

// Offset returns the stream offset of the next byte.
func (f *Framer) Offset() int64 { return f.off }

// Synced reports whether the Framer knows where records start.
func (f *Framer) Synced() bool { return f.synced }

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
	if length > f.maxFragment {
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
	f.rec.Head = f.head[:f.headN]
	f.sink.Record(&f.rec)
	f.rec = Record{}
	f.headN = 0
	f.headStopped = false
}

// Skip says the next n bytes of the stream were sent but not captured.
func (f *Framer) Skip(n int64) {
	if n <= 0 {
		return
	}
	f.off += n
	if !f.synced {
		f.Garbage += int64(f.carryN)
		f.carryN = 0 // what follows is not contiguous with the carry
		return
	}
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
}

// search looks for a record boundary: a marker with a plausible length
// followed by bytes the sink finds plausible. Bytes pass through a small
// carry buffer so a boundary split across two chunks is still found. It
// returns what is left of b once sync is found (nil while still looking).
func (f *Framer) search(b []byte) []byte {
	const w = 4 + searchWindow
	for {
		take := copy(f.carry[f.carryN:], b)
		f.carryN += take
		f.off += int64(take)
		b = b[take:]
		for p := 0; p+w <= f.carryN; p++ {
			if !f.candidate(f.carry[p : p+w]) {
				continue
			}
			f.Garbage += int64(p)
			var tmp [len(f.carry)]byte
			rest := tmp[:copy(tmp[:], f.carry[p:f.carryN])]
			f.carryN = 0
			f.synced = true
			f.off -= int64(len(rest))
			f.Feed(rest)
			return b
		}
		if drop := f.carryN - (w - 1); drop > 0 {
			f.Garbage += int64(drop)
			f.carryN = copy(f.carry[:], f.carry[drop:f.carryN])
		}
		if len(b) == 0 {
			return nil
		}
	}
}

func (f *Framer) candidate(w []byte) bool {
	length := binary.BigEndian.Uint32(w) & 0x7fffffff
	// 24 bytes is the shortest RPC message (an accepted reply with an empty
	// verifier and no results).
	if length < 24 || length > f.maxFragment {
		return false
	}
	return f.sink.Plausible(w[4:])
}

// Partial returns the record in progress at the end of the stream, if any:
// a message whose last bytes never came.
func (f *Framer) Partial() (*Record, bool) {
	if !f.synced || f.rec.Fragments == 0 {
		return nil, false
	}
	f.rec.Head = f.head[:f.headN]
	return &f.rec, true
}

// Finish counts bytes still held while searching as garbage.
func (f *Framer) Finish() {
	if !f.synced {
		f.Garbage += int64(f.carryN)
		f.carryN = 0
	}
}
