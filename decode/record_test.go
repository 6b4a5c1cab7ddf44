package decode

import (
	"bytes"
	"encoding/binary"
	"fmt"
	"strconv"
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

func (s *recSink) Plausible(b []byte, _ bool) bool { return LooksLikeCall(b) }

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

func (nopSink) Record(*Record)                  {}
func (nopSink) Plausible(b []byte, _ bool) bool { return LooksLikeCall(b) || LooksLikeReply(b) }

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

func (s *checkSink) Plausible(b []byte, _ bool) bool { return LooksLikeCall(b) || LooksLikeReply(b) }

// dirSink judges candidate boundaries as the analyzer does for one
// direction: calls toward the server, replies toward the client.
type dirSink struct {
	recSink
	replies bool
}

func (s *dirSink) Plausible(b []byte, cut bool) bool {
	if s.replies {
		return LooksLikeReply(b) || cut && LooksLikeReplyHeader(b)
	}
	return LooksLikeCall(b) || cut && LooksLikeCallHeader(b)
}

// TestFramerResyncRPCSECGSS: a stream joined mid-way whose first message
// carries an RPCSEC_GSS (krb5) credential or verifier is resynced: the
// window holds the longest header, so a reply's 28-byte MIC verifier (a
// 52-byte header) or a call's GSS credential and verifier are judged
// whole, for messages longer than the window and for short ones.
func TestFramerResyncRPCSECGSS(t *testing.T) {
	mic := bytes.Repeat([]byte{0xee}, 28)
	gssReply := func(xid uint32, n int) []byte {
		b := wire{}.u32(xid, MsgReply, MsgAccepted, RPCSECGSS).opaque(mic).u32(Success)
		return append(b, make([]byte, n)...)
	}
	gssCall := func(xid uint32, n int) []byte {
		cred := wire{}.u32(1, 0, 7, GSSServiceIntegrity).opaque([]byte("0123456789abcdef0123456789abcdef"))
		b := callHead(xid, ProgNFS, 3, NFS3ProcWrite).u32(RPCSECGSS).opaque(cred).u32(RPCSECGSS).opaque(mic)
		return append(b, make([]byte, n)...)
	}
	// The tail of an earlier message: bytes that are no header.
	junk := bytes.Repeat([]byte{0x5a, 0x00, 0x00, 0x01}, 50)
	tests := []struct {
		name    string
		replies bool
		msgs    [][]byte
	}{
		{"reply longer than the window", true, [][]byte{gssReply(0x101, 4000), gssReply(0x102, 100)}},
		{"short reply", true, [][]byte{gssReply(0x101, 8), gssReply(0x102, 8)}},
		// RPCSEC_GSS_CREDPROBLEM: a 20-byte denied reply, the shortest message.
		{"AUTH_ERROR reply", true, [][]byte{wire{}.u32(0x101, MsgReply, MsgDenied, AuthError, 13), gssReply(0x102, 8)}},
		{"call longer than the window", false, [][]byte{gssCall(0x201, 4000), gssCall(0x202, 100)}},
		{"short call", false, [][]byte{gssCall(0x201, 8), gssCall(0x202, 8)}},
	}
	for _, tt := range tests {
		for _, chunk := range []int{1, 1448, 1 << 20} {
			t.Run(tt.name+"/chunks of "+strconv.Itoa(chunk), func(t *testing.T) {
				stream := junk
				for _, m := range tt.msgs {
					stream = cat(stream, record(m))
				}
				s := &dirSink{replies: tt.replies}
				f := NewFramer(s, false)
				for off := 0; off < len(stream); off += chunk {
					f.Feed(stream[off:min(off+chunk, len(stream))])
				}
				f.Finish()
				if len(s.recs) != len(tt.msgs) || f.Garbage != int64(len(junk)) {
					t.Fatalf("%d records, %d bytes of garbage; want %d and %d", len(s.recs), f.Garbage, len(tt.msgs), len(junk))
				}
				for i, r := range s.recs {
					if xid, _, _ := Header(r.head); xid != binary.BigEndian.Uint32(tt.msgs[i]) || r.len != int64(len(tt.msgs[i])) {
						t.Errorf("record %d: xid %#x, %d bytes", i, xid, r.len)
					}
				}
			})
		}
	}
}

// markSink keeps the Mark each record began with.
type markSink struct {
	dirSink
	first []Mark
}

func (s *markSink) Record(r *Record) { s.first = append(s.first, r.First) }

// TestFramerResyncMarks: a record found by the boundary search begins
// where its first byte came (the chunk's Mark), not in the chunk in which
// the search had bytes enough to decide: in a stream joined mid-way, a
// reply whose marker is in the last bytes of one segment and whose header
// ends in the next begins in the first.
func TestFramerResyncMarks(t *testing.T) {
	mic := bytes.Repeat([]byte{0xee}, 28)
	reply := func(xid uint32, n int) []byte {
		return append(wire{}.u32(xid, MsgReply, MsgAccepted, RPCSECGSS).opaque(mic).u32(Success), make([]byte, n)...)
	}
	junk := bytes.Repeat([]byte{0x5a, 0x00, 0x00, 0x01}, 300)
	stream := cat(junk, record(reply(1, 3000)), record(reply(2, 10)), record(reply(3, 2000)))
	s := &markSink{dirSink: dirSink{replies: true}}
	f := NewFramer(s, false)
	// Segments of 1448 bytes, numbered from 1: reply 1 begins 48 bytes
	// before the end of the first, reply 2 in the third, reply 3 in the third.
	seg := int64(1)
	for off := 0; off < len(stream); off += 1448 {
		f.Mark = Mark{Frame: seg}
		f.Feed(stream[off:min(off+1448, len(stream))])
		seg++
	}
	f.Finish()
	at := func(off int) int64 { return int64(off/1448) + 1 }
	r1 := len(junk)
	r2 := r1 + 4 + len(reply(1, 3000))
	r3 := r2 + 4 + len(reply(2, 10))
	want := []Mark{{Frame: at(r1)}, {Frame: at(r2)}, {Frame: at(r3)}}
	if fmt.Sprint(s.first) != fmt.Sprint(want) {
		t.Errorf("records begin at %v, want %v", s.first, want)
	}
}
