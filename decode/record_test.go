package decode

import (
	"bytes"
	"encoding/binary"
	"testing"
)

// recSink collects records from a client-to-server stream: like the
// analyzer, it finds only calls plausible there (a reply-shaped run of bytes
// inside a call is exactly the false boundary direction rules out).
type recSink struct {
	recs []gotRecord
}

type gotRecord struct {
	head      []byte
	len       int64
	fragments int
	missing   int64
	start     int64
}

func (s *recSink) Record(r *Record) {
	s.recs = append(s.recs, gotRecord{bytes.Clone(r.Head), r.Len, r.Fragments, r.Missing, r.Start})
}

func (s *recSink) Plausible(b []byte) bool { return LooksLikeCall(b) }

// marker builds a record marker.
func marker(n int, last bool) []byte {
	v := uint32(n)
	if last {
		v |= 0x80000000
	}
	return binary.BigEndian.AppendUint32(nil, v)
}

// testCall is an RPC call (NFSv3 GETATTR, AUTH_NONE) with xid, padded with
// extra argument bytes.
func testCall(xid uint32, extra int) []byte {
	var b []byte
	for _, w := range []uint32{xid, MsgCall, 2, ProgNFS, 3, 1, AuthNone, 0, AuthNone, 0} {
		b = binary.BigEndian.AppendUint32(b, w)
	}
	return append(b, make([]byte, extra)...)
}

func record(msg []byte) []byte { return append(marker(len(msg), true), msg...) }

func cat(parts ...[]byte) []byte { return bytes.Join(parts, nil) }

// step is one thing fed to a Framer: bytes, or a gap of skip bytes.
type step struct {
	data []byte
	skip int64
}

func TestFramer(t *testing.T) {
	c1, c2 := testCall(1, 8), testCall(2, 100)
	tests := []struct {
		name     string
		synced   bool
		steps    []step
		want     []uint32 // xids of the records, in order
		lens     []int64
		frags    []int
		missing  []int64
		garbage  int64
		noRecord bool
	}{
		{name: "two records in one chunk", synced: true,
			steps: []step{{data: cat(record(c1), record(c2))}},
			want:  []uint32{1, 2}, lens: []int64{int64(len(c1)), int64(len(c2))}},
		{name: "byte at a time", synced: true,
			steps: bytesOneByOne(cat(record(c1), record(c2))),
			want:  []uint32{1, 2}},
		{name: "multi-fragment record", synced: true,
			steps: []step{{data: cat(marker(20, false), c2[:20], marker(30, false), c2[20:50], marker(len(c2)-50, true), c2[50:])}},
			want:  []uint32{2}, lens: []int64{int64(len(c2))}, frags: []int{3}},
		{name: "gap inside a record body keeps sync", synced: true,
			steps: []step{{data: cat(record(c2)[:60])}, {skip: int64(len(c2) + 4 - 60)}, {data: record(c1)}},
			want:  []uint32{2, 1}, missing: []int64{int64(len(c2) + 4 - 60), 0}},
		{name: "gap across a marker loses sync, then resyncs", synced: true,
			steps: []step{{data: record(c2)[:60]}, {skip: int64(len(c2)+4-60) + 10}, {data: cat(record(c1)[10:], record(c2), record(c1))}},
			want:  []uint32{2, 2, 1}},
		{name: "garbage before the first record (mid-stream)", synced: false,
			steps:   []step{{data: cat([]byte("some bytes of an earlier READ reply..."), record(c1), record(c2))}},
			want:    []uint32{1, 2},
			garbage: int64(len("some bytes of an earlier READ reply..."))},
		{name: "boundary split across chunks while searching", synced: false,
			steps:   []step{{data: []byte("xx")}, {data: record(c1)[:7]}, {data: cat(record(c1)[7:], record(c2))}},
			want:    []uint32{1, 2},
			garbage: 2},
		{name: "absurd fragment length loses sync", synced: true,
			steps: []step{{data: cat(marker(0x7ffffff0, true), []byte("junkjunk"), record(c1))}},
			want:  []uint32{1}},
		{name: "record cut at the end is not delivered", synced: true,
			steps: []step{{data: record(c2)[:50]}}, noRecord: true},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			s := &recSink{}
			f := NewFramer(s, tt.synced)
			for _, st := range tt.steps {
				if st.data != nil {
					f.Feed(st.data)
				} else {
					f.Skip(st.skip)
				}
			}
			f.Finish()
			if tt.noRecord {
				if len(s.recs) != 0 {
					t.Fatalf("got %d records, want none", len(s.recs))
				}
				if _, ok := f.Partial(); !ok {
					t.Errorf("Partial: no record in progress")
				}
				return
			}
			if len(s.recs) != len(tt.want) {
				t.Fatalf("got %d records, want %d", len(s.recs), len(tt.want))
			}
			for i, r := range s.recs {
				xid, _, err := Header(r.head)
				if err != nil || xid != tt.want[i] {
					t.Errorf("record %d: xid %d (%v), want %d", i, xid, err, tt.want[i])
				}
				if tt.lens != nil && r.len != tt.lens[i] {
					t.Errorf("record %d: len %d, want %d", i, r.len, tt.lens[i])
				}
				if tt.frags != nil && r.fragments != tt.frags[i] {
					t.Errorf("record %d: %d fragments, want %d", i, r.fragments, tt.frags[i])
				}
				if tt.missing != nil && r.missing != tt.missing[i] {
					t.Errorf("record %d: missing %d, want %d", i, r.missing, tt.missing[i])
				}
			}
			if tt.garbage != 0 && f.Garbage != tt.garbage {
				t.Errorf("garbage %d, want %d", f.Garbage, tt.garbage)
			}
		})
	}
}

func bytesOneByOne(b []byte) []step {
	out := make([]step, len(b))
	for i := range b {
		out[i].data = b[i : i+1]
	}
	return out
}

func TestFramerOffsets(t *testing.T) {
	c1, c2 := testCall(1, 0), testCall(2, 0)
	s := &recSink{}
	f := NewFramer(s, false)
	f.Feed(cat([]byte("abc"), record(c1), record(c2)))
	if len(s.recs) != 2 {
		t.Fatalf("got %d records", len(s.recs))
	}
	if s.recs[0].start != 3 || s.recs[1].start != int64(3+4+len(c1)) {
		t.Errorf("starts %d, %d; want 3, %d", s.recs[0].start, s.recs[1].start, 3+4+len(c1))
	}
	if f.Offset() != int64(3+8+len(c1)+len(c2)) {
		t.Errorf("offset %d", f.Offset())
	}
}

func TestFramerHeadCapped(t *testing.T) {
	big := testCall(7, 5000)
	s := &recSink{}
	f := NewFramer(s, true)
	f.Feed(record(big))
	if len(s.recs) != 1 || len(s.recs[0].head) != HeadMax || s.recs[0].len != int64(len(big)) {
		t.Fatalf("got %+v", s.recs)
	}
}

func TestFramerNoAllocs(t *testing.T) {
	data := cat(record(testCall(1, 8)), record(testCall(2, 100)))
	f := NewFramer(nopSink{}, true)
	if n := testing.AllocsPerRun(100, func() { f.Feed(data) }); n != 0 {
		t.Errorf("Feed allocates %v times per call", n)
	}
}

type nopSink struct{}

func (nopSink) Record(*Record)          {}
func (nopSink) Plausible(b []byte) bool { return LooksLikeCall(b) || LooksLikeReply(b) }

func BenchmarkFramer(b *testing.B) {
	// A 1 MiB READ reply cut into 1448-byte segments, as on the wire.
	reply := make([]byte, 1<<20+128)
	binary.BigEndian.PutUint32(reply, 9)
	binary.BigEndian.PutUint32(reply[4:], MsgReply)
	stream := record(reply)
	f := NewFramer(nopSink{}, true)
	b.SetBytes(int64(len(stream)))
	b.ReportAllocs()
	for b.Loop() {
		for off := 0; off < len(stream); off += 1448 {
			f.Feed(stream[off:min(off+1448, len(stream))])
		}
	}
}

// FuzzFramer feeds arbitrary bytes and gaps: the framer must not panic, and
// every record it delivers must be consistent.
func FuzzFramer(f *testing.F) {
	f.Add(cat(record(testCall(1, 8)), record(testCall(2, 100))), uint16(7), false)
	f.Add(cat([]byte("garbage"), marker(20, false), testCall(3, 0)[:20], marker(20, true), testCall(3, 0)[20:]), uint16(3), true)
	f.Add(marker(0x7fffffff, true), uint16(1), true)
	f.Add(loadBoundarySeeds(f).stream, uint16(1460), true)
	f.Fuzz(func(t *testing.T, data []byte, cut uint16, synced bool) {
		s := &checkSink{t: t}
		fr := NewFramer(s, synced)
		// Feed in chunks of varying size, with a gap every third chunk.
		step := int(cut%97) + 1
		var fed int64
		for i, off := 0, 0; off < len(data); i, off = i+1, off+step {
			end := min(off+step, len(data))
			if i%3 == 2 {
				fr.Skip(int64(end - off))
			} else {
				fr.Feed(data[off:end])
			}
			fed += int64(end - off)
		}
		fr.Finish()
		if fr.Offset() != fed {
			t.Fatalf("offset %d after %d bytes", fr.Offset(), fed)
		}
		if r, ok := fr.Partial(); ok && (r.Have > r.Len || len(r.Head) > HeadMax) {
			t.Fatalf("partial record inconsistent: %+v", r)
		}
	})
}

type checkSink struct{ t *testing.T }

func (s *checkSink) Record(r *Record) {
	if len(r.Head) > HeadMax || int64(len(r.Head)) > r.Len || r.Missing > r.Len || r.Fragments < 1 || r.Have != r.Len {
		s.t.Fatalf("inconsistent record: head %d len %d missing %d fragments %d have %d",
			len(r.Head), r.Len, r.Missing, r.Fragments, r.Have)
	}
}

func (s *checkSink) Plausible(b []byte) bool { return LooksLikeCall(b) || LooksLikeReply(b) }
