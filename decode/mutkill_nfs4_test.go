package decode

import (
	"errors"
	"testing"
)

// Tests of the NFSv4 decoders' bounds at their exact edges: each one fails
// on an off-by-one or a wrong operator in the bound (found by mutation
// testing, bench/mutation.sh decode), with the expected result worked out
// from RFC 8881's XDR by hand.

// count accepts a count whose items exactly fill what is left, rejects one
// item more, and measures what is left from the cursor, not the buffer's
// start.
func TestCountEdges(t *testing.T) {
	x := NewXDR(wire{}.u32(3).raw(make([]byte, 24)...))
	if n := x.count(8); n != 3 || x.err != nil {
		t.Errorf("3 items of 8 in 24 bytes: %d, %v", n, x.err)
	}
	x = NewXDR(wire{}.u32(3).raw(make([]byte, 20)...))
	if n := x.count(8); n != 0 || !errors.Is(x.err, ErrShort) || x.off != 0 {
		t.Errorf("3 items of 8 in 20 bytes: %d, %v at %d", n, x.err, x.off)
	}
	// After 4 bytes read: 2 items of 8 in the 12 bytes left do not fit
	// (they would in the buffer's 20).
	x = NewXDR(wire{}.u32(0, 2).raw(make([]byte, 12)...))
	x.Uint32()
	if n := x.count(8); n != 0 || !errors.Is(x.err, ErrShort) || x.off != 4 {
		t.Errorf("2 items of 8 in 12 bytes, at 4: %d, %v at %d", n, x.err, x.off)
	}
}

// bitmap4 takes maxBitmap4 words, and rejects one more.
func TestBitmap4Edges(t *testing.T) {
	x := NewXDR(wire{}.u32(maxBitmap4).raw(make([]byte, 4*maxBitmap4)...))
	bitmap4(&x)
	if x.err != nil || x.off != 4+4*maxBitmap4 {
		t.Errorf("%d words: %v at %d", maxBitmap4, x.err, x.off)
	}
	x = NewXDR(wire{}.u32(maxBitmap4 + 1).raw(make([]byte, 4*maxBitmap4+4)...))
	bitmap4(&x)
	if !errors.Is(x.err, ErrTooLong) || x.off != 0 {
		t.Errorf("%d words: %v at %d", maxBitmap4+1, x.err, x.off)
	}
}

// skipData keeps the length of data of the largest size accepted even
// when the data is not there (a record head), and rejects one byte more.
func TestSkipDataEdges(t *testing.T) {
	for _, tt := range []struct {
		n       uint32
		has     bool
		wantErr error
	}{{maxNFS4Data, true, ErrShort}, {maxNFS4Data + 1, false, ErrTooLong}} {
		x := NewXDR(wire{}.u32(tt.n))
		var has uint32
		var end int
		n := skipData(&x, &has, &end)
		if (has&HasCount != 0) != tt.has || !errors.Is(x.err, tt.wantErr) || tt.has && n != tt.n {
			t.Errorf("data of %d: n %d, has count %v, %v", tt.n, n, has&HasCount != 0, x.err)
		}
	}
}

// writeResponse: a write_response4 names at most one stateid (wr_callback_id<1>).
func TestWriteResponseStateids(t *testing.T) {
	for _, tt := range []struct {
		ids     uint32
		wantErr error
	}{{0, nil}, {1, nil}, {2, ErrTooLong}} {
		w := wire{}.u32(tt.ids)
		for range tt.ids {
			w = w.stateid(sid4)
		}
		w = w.u64(65536).u32(2).raw(verf4...)
		x := NewXDR(w)
		var o OpRes4
		o.writeResponse(&x)
		if !errors.Is(x.err, tt.wantErr) || tt.wantErr == nil && (o.Count != 65536 || o.Committed != 2) {
			t.Errorf("%d stateids: count %d, committed %d, %v", tt.ids, o.Count, o.Committed, x.err)
		}
	}
}

// resumeAt goes on past data cut short only when the decode stopped in
// data (dataEnd set).
func TestResumeAtEdges(t *testing.T) {
	x := XDR{err: ErrShort}
	if got := x.resumeAt(100, 0); got != 0 {
		t.Errorf("no data end: %d", got)
	}
	if got := x.resumeAt(100, 8); got != 108 {
		t.Errorf("data end 8: %d", got)
	}
	x.err = ErrTooLong
	if got := x.resumeAt(100, 8); got != 0 {
		t.Errorf("not cut: %d", got)
	}
}

// implID: nfs_impl_id4<1> takes one implementation id, not two.
func TestImplIDEdges(t *testing.T) {
	one := wire{}.u32(1).str("kernel.org").str("Linux").u64(0).u32(0)
	x := NewXDR(one.u32(0xcafe))
	implID(&x)
	if x.err != nil || x.Uint32() != 0xcafe {
		t.Errorf("one id: %v, next word misplaced", x.err)
	}
	x = NewXDR(wire{}.u32(2).cat(one[4:]).cat(one[4:]))
	implID(&x)
	if !errors.Is(x.err, ErrTooLong) || x.off != 0 {
		t.Errorf("two ids: %v at %d", x.err, x.off)
	}
}

// secParms: AUTH_SYS takes up to 16 groups (RFC 5531), not 17.
func TestSecParmsGroups(t *testing.T) {
	for _, tt := range []struct {
		groups  uint32
		wantErr error
	}{{16, nil}, {17, ErrTooLong}} {
		w := wire{}.u32(1, AuthSys, 0).str("client").u32(0, 0, tt.groups).raw(make([]byte, 4*tt.groups)...).u32(0xcafe)
		x := NewXDR(w)
		secParms(&x)
		if !errors.Is(x.err, tt.wantErr) || tt.wantErr == nil && x.Uint32() != 0xcafe {
			t.Errorf("%d groups: %v", tt.groups, x.err)
		}
	}
}

// LAYOUTERROR's device errors are 16 + 8 bytes each: the operation after
// them decodes.
func TestLayoutErrorDevices(t *testing.T) {
	devErr := make([]byte, deviceIDSize+8)
	op := wire{}.u32(OpLayoutError).u64(0).u64(4096).stateid(sid4).u32(2).raw(devErr...).raw(devErr...)
	var a Compound4Args
	if err := ParseCompoundArgs(compound4(2, op, opPutFH()), &a); err != nil || a.N != 2 || a.Ops[1].Op != OpPutFH {
		t.Fatalf("LAYOUTERROR with 2 device errors, then PUTFH: %v, %d ops", err, a.N)
	}
}

// CB_SEQUENCE's referring call lists are 16 + 4 bytes at least each: a
// count that cannot fit is rejected at the count.
func TestCBSequenceReferringCount(t *testing.T) {
	seq := wire{}.u32(CBOpSequence).raw(sess4...).u32(1, 0, 0, 0)
	// 2 lists of at least 20 bytes do not fit in the 24 bytes after the
	// count (they would at 12 bytes each).
	at := len(cbCompound(1, 0, seq))
	b := cbCompound(1, 0, seq.u32(2).raw(make([]byte, 24)...))
	var a CBCompound4Args
	err := ParseCBCompoundArgs(b, &a)
	var oe *OpError
	if !errors.As(err, &oe) || !errors.Is(err, ErrShort) || oe.Offset != at {
		t.Errorf("2 referring lists in 24 bytes: %v (want ErrShort at %d)", err, at)
	}
}

// An unknown operation in a CB_COMPOUND result is reported at its code,
// the word before its status.
func TestCBResultUnknownOpOffset(t *testing.T) {
	head := wire{}.u32(0).str("").u32(1)
	b := head.u32(99, 0)
	var r CBCompound4Res
	err := ParseCBCompoundResult(b, &r)
	var oe *OpError
	if !errors.As(err, &oe) || !errors.Is(err, ErrUnknownOp) || oe.Offset != len(head) || oe.Op != 99 {
		t.Errorf("unknown callback op 99: %v (want at %d)", err, len(head))
	}
}

// PeekRecordHead takes fragment lengths from 24 (the shortest reply) to
// DefaultMaxFragment, both included.
func TestPeekRecordHeadLengths(t *testing.T) {
	reply := wire{}.u32(7, MsgReply, MsgAccepted, 0, 0, Success)
	for _, tt := range []struct {
		n  uint32
		ok bool
	}{{23, false}, {24, true}, {DefaultMaxFragment, true}, {DefaultMaxFragment + 1, false}} {
		h, ok := PeekRecordHead(wire{}.u32(0x80000000 | tt.n).cat(reply))
		if ok != tt.ok || ok && h.XID != 7 {
			t.Errorf("fragment of %d bytes: %+v, %v; want %v", tt.n, h, ok, tt.ok)
		}
	}
}

// LAYOUTERROR: a device error count that cannot fit is rejected at the
// count (24 bytes each: 2 do not fit in 30).
func TestLayoutErrorCountFit(t *testing.T) {
	head := compound4(2, wire{}.u32(OpLayoutError).u64(0).u64(4096).stateid(sid4))
	at := len(head)
	var a Compound4Args
	err := ParseCompoundArgs(head.u32(2).raw(make([]byte, 30)...), &a)
	var oe *OpError
	if !errors.As(err, &oe) || !errors.Is(err, ErrShort) || oe.Offset != at {
		t.Errorf("2 device errors in 30 bytes: %v (want ErrShort at %d)", err, at)
	}
}
