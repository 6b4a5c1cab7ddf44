package decode

import (
	"encoding/binary"
	"fmt"
	"testing"
)

// Hostile shapes: no input may make decoding cost more than linear time
// or more than constant memory. Work is counted here, not timed: what the
// Framer asks its sink, the records it delivers, and the bytes a decoder
// can possibly read (a decoder that gives the same answer on a short
// prefix of its input cannot have looked at the rest).

// countSink counts what the Framer asks and delivers.
type countSink struct {
	plausible, records int
	fragments          int
	len                int64
	head               int
}

func (s *countSink) Record(r *Record) {
	s.records++
	s.fragments, s.len, s.head = r.Fragments, r.Len, len(r.Head)
}

func (s *countSink) Plausible(b []byte, _ bool) bool {
	s.plausible++
	return LooksLikeCall(b)
}

// tinyFragments is one record of n fragments of 4 bytes each (the last
// flagged last): the most markers per byte a stream can carry.
func tinyFragments(n int) []byte {
	var b []byte
	for i := range n {
		v := uint32(4)
		if i == n-1 {
			v |= 0x80000000
		}
		b = binary.BigEndian.AppendUint32(b, v)
		b = binary.BigEndian.AppendUint32(b, uint32(i))
	}
	return b
}

// TestFramerTinyFragments: a record of n tiny fragments is one record of n
// fragments whose head stays at HeadMax bytes; the Framer allocates
// nothing whatever n, and asks its sink nothing (it is in sync).
func TestFramerTinyFragments(t *testing.T) {
	for _, n := range []int{1000, 10000, 100000} {
		s := &countSink{}
		f := NewFramer(s, true)
		data := tinyFragments(n)
		f.Feed(data)
		if s.records != 1 || s.fragments != n || s.len != int64(4*n) || s.head != min(HeadMax, 4*n) || s.plausible != 0 {
			t.Errorf("n=%d: %+v", n, s)
		}
		if allocs := testing.AllocsPerRun(3, func() { f.Reset(s, true); f.Feed(data) }); allocs != 0 {
			t.Errorf("n=%d: %v allocations", n, allocs)
		}
	}
}

// TestFramerSearchIsLinear: looking for a record boundary in n bytes of
// garbage asks the sink at most once per byte, and keeps at most a few
// dozen bytes.
func TestFramerSearchIsLinear(t *testing.T) {
	for _, n := range []int{1000, 10000, 100000} {
		s := &countSink{}
		f := NewFramer(s, false)
		// Garbage full of candidate markers: every 4-byte word is a
		// plausible length, so the sink is asked at every offset.
		data := make([]byte, n)
		for i := 0; i+4 <= n; i += 4 {
			binary.BigEndian.PutUint32(data[i:], 100)
		}
		for off := 0; off < n; off += 1448 {
			f.Feed(data[off:min(off+1448, n)])
		}
		f.Finish()
		if s.plausible > n || s.records != 0 || f.Garbage != int64(n) {
			t.Errorf("n=%d: asked %d times, %d records, %d garbage bytes", n, s.plausible, s.records, f.Garbage)
		}
	}
}

// TestFramerSearchWaitingIsLinear: garbage in which every 32 bytes look
// like the start of a call (a marker and a fixed header, whose credential
// then fails) makes positions wait for their whole window; fed a byte at
// a time, the sink is still asked at most twice per byte: once about each
// position's whole window, and once per chunk about the position waiting.
func TestFramerSearchWaitingIsLinear(t *testing.T) {
	for _, n := range []int{1000, 10000, 100000} {
		s := &countSink{}
		f := NewFramer(s, false)
		var data []byte
		for len(data) < n {
			data = binary.BigEndian.AppendUint32(data, 3000)
			for _, w := range []uint32{1, MsgCall, 2, ProgNFS, 3, 1, AuthSys, 400, 0, 300} { // machine name of 300
				data = binary.BigEndian.AppendUint32(data, w)
			}
		}
		data = data[:n]
		for i := range data {
			f.Feed(data[i : i+1])
		}
		f.Finish()
		if s.plausible > 2*n || s.records != 0 {
			t.Errorf("n=%d: asked %d times, %d records", n, s.plausible, s.records)
		}
	}
}

// TestFramerRecordLengthBound: a record is refused, never buffered, when
// one fragment or the sum of its fragments passes the largest accepted.
func TestFramerRecordLengthBound(t *testing.T) {
	const big = DefaultMaxFragment/2 + 1
	for _, tt := range []struct {
		name  string
		steps []step
	}{
		{"one fragment", []step{{data: marker(DefaultMaxFragment+1, true)}}},
		{"2 GiB", []step{{data: marker(0x7fffffff, true)}}},
		{"fragments summed", []step{{data: marker(big, false)}, {skip: big}, {data: marker(big, true)}}},
	} {
		s := &countSink{}
		f := NewFramer(s, true)
		allocs := testing.AllocsPerRun(1, func() {
			f.Reset(s, true)
			for _, st := range tt.steps {
				if st.skip > 0 {
					f.Skip(st.skip)
				} else {
					f.Feed(st.data)
				}
			}
		})
		if f.TooLong != 1 || f.Synced() || s.records != 0 || allocs != 0 {
			t.Errorf("%s: TooLong %d, synced %v, %d records, %v allocations", tt.name, f.TooLong, f.Synced(), s.records, allocs)
		}
	}
	// Exactly the limit is accepted.
	f := NewFramer(&countSink{}, true)
	f.Feed(marker(DefaultMaxFragment, true))
	if f.TooLong != 0 || !f.Synced() {
		t.Errorf("a record of exactly %d bytes refused", DefaultMaxFragment)
	}
}

// readdirplusReply is the results of a successful READDIRPLUS with n
// entries (name, cookie, attributes, handle each).
func readdirplusReply(n int) []byte {
	w := func(b []byte, vs ...uint32) []byte {
		for _, v := range vs {
			b = binary.BigEndian.AppendUint32(b, v)
		}
		return b
	}
	b := w(nil, NFS3OK, 0) // status, no dir attributes
	b = append(b, make([]byte, verf3Size)...)
	for i := range n {
		name := fmt.Sprintf("file%07d", i)
		b = w(b, 1, 0, uint32(i), uint32(len(name))) // entry follows, fileid
		b = append(b, name...)                       // name (padded below)
		b = append(b, make([]byte, padded(len(name))-len(name))...)
		b = w(b, 0, uint32(i+1), 0, 1, 8, 0xdead, 0xbeef) // cookie, no attributes, handle
	}
	return w(b, 0, 1) // no more entries, eof
}

// TestDecodersReadAPrefix: the NFSv3 result decoders read a fixed prefix
// of the results, whatever follows: given a directory listing of n or 10n
// entries, or only its first bytes, they decode the same thing. So their
// work does not depend on how deep a listing is.
func TestDecodersReadAPrefix(t *testing.T) {
	for _, proc := range []uint32{NFS3ProcReaddir, NFS3ProcReaddirplus} {
		var want NFS3Result
		if err := ParseNFS3Result(proc, readdirplusReply(0)[:4], &want); err != nil {
			t.Fatal(err)
		}
		for _, n := range []int{100, 1000, 10000} {
			var got NFS3Result
			if err := ParseNFS3Result(proc, readdirplusReply(n), &got); err != nil || got.Status != want.Status || got.Has != want.Has {
				t.Errorf("proc %d, %d entries: %+v (%v), want %+v as from its first 4 bytes", proc, n, got, err, want)
			}
		}
	}
}

// TestHugeOpaqueLengths: a length of 2^32-1 in front of an opaque is
// refused (ErrTooLong) or runs out of input (ErrShort) at once: nothing is
// allocated but the error (and its text) and nothing is skipped byte by byte.
func TestHugeOpaqueLengths(t *testing.T) {
	words := func(fields ...uint32) []byte {
		var b []byte
		for _, v := range fields {
			b = binary.BigEndian.AppendUint32(b, v)
		}
		return b
	}
	const huge = 0xffffffff
	var (
		c Call
		r Reply
		a NFS3Args
	)
	tests := []struct {
		name string
		in   []byte
		run  func([]byte) error
	}{
		{"credential", words(1, 0, 2, ProgNFS, 3, 1, AuthSys, huge), func(b []byte) error { return ParseCall(b, &c) }},
		{"verifier", words(1, 1, 0, AuthNone, huge), func(b []byte) error { return ParseReply(b, &r) }},
		{"file handle", words(huge), func(b []byte) error { return ParseNFS3Args(NFS3ProcGetattr, b, &a) }},
		{"name", words(8, 1, 2, huge), func(b []byte) error { return ParseNFS3Args(NFS3ProcLookup, b, &a) }},
		{"symlink target", words(8, 1, 2, 4, 0x61626364, 0, 0, 0, 0, 0, 0, huge), func(b []byte) error { return ParseNFS3Args(NFS3ProcSymlink, b, &a) }},
	}
	for _, tt := range tests {
		var err error
		if allocs := testing.AllocsPerRun(10, func() { err = tt.run(tt.in) }); allocs > 2 {
			t.Errorf("%s: %v allocations", tt.name, allocs)
		}
		if err == nil {
			t.Errorf("%s: a 4 GiB length decoded", tt.name)
		}
	}
}

// The benchmarks show the cost per fragment and per byte staying flat as
// inputs grow tenfold (go test ./decode -run '^$' -bench Hostile).

func BenchmarkHostileTinyFragments(b *testing.B) {
	for _, n := range []int{1000, 10000, 100000} {
		data := tinyFragments(n)
		b.Run(fmt.Sprint(n), func(b *testing.B) {
			f := NewFramer(&countSink{}, true)
			b.SetBytes(int64(len(data)))
			for b.Loop() {
				f.Reset(f.sink, true)
				f.Feed(data)
			}
		})
	}
}

func BenchmarkHostileSearch(b *testing.B) {
	for _, n := range []int{10000, 100000, 1000000} {
		data := make([]byte, n)
		for i := 0; i+4 <= n; i += 4 {
			binary.BigEndian.PutUint32(data[i:], 100)
		}
		b.Run(fmt.Sprint(n), func(b *testing.B) {
			f := NewFramer(&countSink{}, false)
			b.SetBytes(int64(n))
			for b.Loop() {
				f.Reset(f.sink, false)
				f.Feed(data)
			}
		})
	}
}

// TestLooksLikeHeaders: the checks for a message cut short accept every
// message the full checks accept, judge what bytes there are, and need
// the fixed header.
func TestLooksLikeHeaders(t *testing.T) {
	call := testCall(1, 0)
	reply := binary.BigEndian.AppendUint32(nil, 1)
	for _, v := range []uint32{MsgReply, MsgAccepted, AuthNone, 0, Success} {
		reply = binary.BigEndian.AppendUint32(reply, v)
	}
	for n := 0; n <= len(call); n++ {
		if got, want := LooksLikeCallHeader(call[:n]), n >= 24; got != want {
			t.Errorf("call cut to %d bytes: %v", n, got)
		}
		if LooksLikeCall(call[:n]) && !LooksLikeCallHeader(call[:n]) {
			t.Errorf("call of %d bytes: full check yes, header check no", n)
		}
	}
	for n := 0; n <= len(reply); n++ {
		if got, want := LooksLikeReplyHeader(reply[:n]), n >= 12; got != want {
			t.Errorf("reply cut to %d bytes: %v", n, got)
		}
	}
	bad := append([]byte(nil), call...)
	binary.BigEndian.PutUint32(bad[12:], 123456) // unknown program
	if LooksLikeCallHeader(bad) {
		t.Error("unknown program accepted")
	}
	binary.BigEndian.PutUint32(bad[12:], ProgNFS)
	binary.BigEndian.PutUint32(bad[28:], 100000) // credential longer than 400
	if LooksLikeCallHeader(bad) {
		t.Error("credential length above 400 accepted")
	}
	if LooksLikeReplyHeader(call) || LooksLikeCallHeader(reply) {
		t.Error("a call taken for a reply or the other way round")
	}
}
