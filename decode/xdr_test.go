package decode

import (
	"bytes"
	"encoding/binary"
	"errors"
	"testing"
	"unsafe"
)

// wire builds XDR bytes by hand for tests: each method appends one item.
type wire []byte

func (w wire) u32(vs ...uint32) wire {
	for _, v := range vs {
		w = binary.BigEndian.AppendUint32(w, v)
	}
	return w
}

func (w wire) u64(v uint64) wire { return binary.BigEndian.AppendUint64(w, v) }

// opaque appends a variable-length opaque: length, bytes, zero padding.
func (w wire) opaque(b []byte) wire {
	w = w.u32(uint32(len(b)))
	return w.fixed(b)
}

func (w wire) str(s string) wire { return w.opaque([]byte(s)) }

// fixed appends bytes and zero padding to a multiple of 4.
func (w wire) fixed(b []byte) wire {
	w = append(w, b...)
	for len(w)%4 != 0 {
		w = append(w, 0)
	}
	return w
}

// raw appends bytes as they are, without padding.
func (w wire) raw(b ...byte) wire { return append(w, b...) }

func (w wire) cat(more wire) wire { return append(w, more...) }

// within reports whether s lies inside b's memory (an empty s always does),
// which is how tests check that decoders alias their input.
func within(b, s []byte) bool {
	if len(s) == 0 {
		return true
	}
	if len(b) == 0 {
		return false
	}
	lo := uintptr(unsafe.Pointer(unsafe.SliceData(b)))
	p := uintptr(unsafe.Pointer(unsafe.SliceData(s)))
	return p >= lo && p+uintptr(len(s)) <= lo+uintptr(len(b))
}

func TestXDRReaders(t *testing.T) {
	type result struct {
		v   any
		off int
		err error
	}
	tests := []struct {
		name string
		in   []byte
		read func(x *XDR) any
		want result
	}{
		{"uint32", wire{}.u32(0xdeadbeef), func(x *XDR) any { return x.Uint32() }, result{uint32(0xdeadbeef), 4, nil}},
		{"uint32 short", []byte{1, 2, 3}, func(x *XDR) any { return x.Uint32() }, result{uint32(0), 0, ErrShort}},
		{"uint32 empty", nil, func(x *XDR) any { return x.Uint32() }, result{uint32(0), 0, ErrShort}},
		{"int32 negative", wire{}.u32(0xfffffffe), func(x *XDR) any { return x.Int32() }, result{int32(-2), 4, nil}},
		{"int32 short", []byte{0xff}, func(x *XDR) any { return x.Int32() }, result{int32(0), 0, ErrShort}},
		{"uint64", wire{}.u64(0x0102030405060708), func(x *XDR) any { return x.Uint64() }, result{uint64(0x0102030405060708), 8, nil}},
		{"uint64 short", wire{}.u32(1), func(x *XDR) any { return x.Uint64() }, result{uint64(0), 0, ErrShort}},
		{"bool false", wire{}.u32(0), func(x *XDR) any { return x.Bool() }, result{false, 4, nil}},
		{"bool true", wire{}.u32(1), func(x *XDR) any { return x.Bool() }, result{true, 4, nil}},
		{"bool two", wire{}.u32(2), func(x *XDR) any { return x.Bool() }, result{false, 0, ErrBadBool}},
		{"bool all ones", wire{}.u32(0xffffffff), func(x *XDR) any { return x.Bool() }, result{false, 0, ErrBadBool}},
		{"bool short", []byte{0, 0}, func(x *XDR) any { return x.Bool() }, result{false, 0, ErrShort}},
		{"opaque empty", wire{}.u32(0), func(x *XDR) any { return string(x.Opaque(10)) }, result{"", 4, nil}},
		{"opaque no padding needed", wire{}.str("abcd"), func(x *XDR) any { return string(x.Opaque(10)) }, result{"abcd", 8, nil}},
		{"opaque padded 1", wire{}.str("a"), func(x *XDR) any { return string(x.Opaque(10)) }, result{"a", 8, nil}},
		{"opaque padded 3", wire{}.str("abcde"), func(x *XDR) any { return string(x.Opaque(10)) }, result{"abcde", 12, nil}},
		{"opaque at max", wire{}.str("abcde"), func(x *XDR) any { return string(x.Opaque(5)) }, result{"abcde", 12, nil}},
		{"opaque above max", wire{}.str("abcdef"), func(x *XDR) any { return string(x.Opaque(5)) }, result{"", 0, ErrTooLong}},
		{"opaque max zero", wire{}.str("a"), func(x *XDR) any { return string(x.Opaque(0)) }, result{"", 0, ErrTooLong}},
		{"opaque no limit", wire{}.str("abcdef"), func(x *XDR) any { return string(x.Opaque(-1)) }, result{"abcdef", 12, nil}},
		{"opaque huge length no limit", wire{}.u32(0xffffffff).raw(1, 2, 3, 4), func(x *XDR) any { return string(x.Opaque(-1)) }, result{"", 4, ErrShort}},
		{"opaque body short", wire{}.u32(8).raw('a', 'b', 'c'), func(x *XDR) any { return string(x.Opaque(10)) }, result{"", 4, ErrShort}},
		{"opaque padding missing", wire{}.u32(5).raw('a', 'b', 'c', 'd', 'e'), func(x *XDR) any { return string(x.Opaque(10)) }, result{"", 4, ErrShort}},
		{"opaque length short", []byte{0, 0, 0}, func(x *XDR) any { return string(x.Opaque(10)) }, result{"", 0, ErrShort}},
		{"fixed 3", wire{}.fixed([]byte("xyz")), func(x *XDR) any { return string(x.FixedOpaque(3)) }, result{"xyz", 4, nil}},
		{"fixed 8", wire{}.fixed([]byte("12345678")), func(x *XDR) any { return string(x.FixedOpaque(8)) }, result{"12345678", 8, nil}},
		{"fixed 0", nil, func(x *XDR) any { return string(x.FixedOpaque(0)) }, result{"", 0, nil}},
		{"fixed padding missing", []byte("xyz"), func(x *XDR) any { return string(x.FixedOpaque(3)) }, result{"", 0, ErrShort}},
		{"fixed negative", []byte("xyz"), func(x *XDR) any { return string(x.FixedOpaque(-1)) }, result{"", 0, ErrBadLength}},
		{"skip 0", []byte{1}, func(x *XDR) any { x.Skip(0); return nil }, result{nil, 0, nil}},
		{"skip 1 rounds to 4", wire{}.u32(1, 2), func(x *XDR) any { x.Skip(1); return x.Uint32() }, result{uint32(2), 8, nil}},
		{"skip 5 rounds to 8", wire{}.u32(1, 2, 3), func(x *XDR) any { x.Skip(5); return x.Uint32() }, result{uint32(3), 12, nil}},
		{"skip short", wire{}.u32(1), func(x *XDR) any { x.Skip(5); return nil }, result{nil, 0, ErrShort}},
		{"skip negative", wire{}.u32(1), func(x *XDR) any { x.Skip(-4); return nil }, result{nil, 0, ErrBadLength}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			x := NewXDR(tt.in)
			got := result{tt.read(&x), x.Offset(), x.Err()}
			if got != tt.want {
				t.Errorf("got %#v, want %#v", got, tt.want)
			}
		})
	}
}

func TestXDRSequence(t *testing.T) {
	in := wire{}.u32(7).str("name").u64(1<<40).u32(1).fixed([]byte{9, 9, 9, 9, 9, 9, 9, 9}).raw(0xaa, 0xbb)
	x := NewXDR(in)
	if v := x.Uint32(); v != 7 {
		t.Errorf("Uint32 = %d, want 7", v)
	}
	if v := x.Opaque(255); string(v) != "name" {
		t.Errorf("Opaque = %q, want name", v)
	}
	if v := x.Uint64(); v != 1<<40 {
		t.Errorf("Uint64 = %d, want 1<<40", v)
	}
	if v := x.Bool(); !v {
		t.Error("Bool = false, want true")
	}
	x.Skip(8)
	if x.Offset() != len(in)-2 {
		t.Errorf("Offset = %d, want %d", x.Offset(), len(in)-2)
	}
	if !bytes.Equal(x.Rest(), []byte{0xaa, 0xbb}) {
		t.Errorf("Rest = %x, want aabb", x.Rest())
	}
	if x.Err() != nil {
		t.Errorf("Err = %v", x.Err())
	}
	if x.Uint32() != 0 || !errors.Is(x.Err(), ErrShort) {
		t.Errorf("read past end: err = %v, want ErrShort", x.Err())
	}
	if !bytes.Equal(x.Rest(), []byte{0xaa, 0xbb}) {
		t.Errorf("Rest after error = %x, want the unread aabb", x.Rest())
	}
}

// TestXDRStickyError checks that after the first error every read returns
// the zero value and neither the error nor the offset move.
func TestXDRStickyError(t *testing.T) {
	in := wire{}.u32(1, 2).u32(3, 4, 5, 6, 7, 8, 9)
	x := NewXDR(in)
	x.Uint32()
	x.Opaque(0) // length 2 above max 0
	if !errors.Is(x.Err(), ErrTooLong) || x.Offset() != 4 {
		t.Fatalf("err = %v, offset %d; want ErrTooLong at 4", x.Err(), x.Offset())
	}
	checks := []struct {
		name string
		read func() any
		zero any
	}{
		{"Uint32", func() any { return x.Uint32() }, uint32(0)},
		{"Int32", func() any { return x.Int32() }, int32(0)},
		{"Uint64", func() any { return x.Uint64() }, uint64(0)},
		{"Bool", func() any { return x.Bool() }, false},
		{"Opaque", func() any { return x.Opaque(100) == nil }, true},
		{"FixedOpaque", func() any { return x.FixedOpaque(4) == nil }, true},
		{"Skip", func() any { x.Skip(4); return nil }, nil},
		{"Skip negative", func() any { x.Skip(-1); return nil }, nil},
		{"FixedOpaque negative", func() any { return x.FixedOpaque(-1) == nil }, true},
	}
	for _, c := range checks {
		if got := c.read(); got != c.zero {
			t.Errorf("%s after error = %v, want %v", c.name, got, c.zero)
		}
		if !errors.Is(x.Err(), ErrTooLong) || x.Offset() != 4 {
			t.Errorf("%s after error: err = %v, offset %d; want ErrTooLong at 4", c.name, x.Err(), x.Offset())
		}
	}
}

// TestXDROpaqueAliases checks that Opaque returns a window on the input,
// not a copy, and that its capacity stops at its length so an append by
// the caller cannot overwrite the rest of the message.
func TestXDROpaqueAliases(t *testing.T) {
	in := wire{}.str("abc").u32(0x11223344)
	x := NewXDR(in)
	b := x.Opaque(10)
	in[4] = 'z'
	if string(b) != "zbc" {
		t.Errorf("Opaque = %q after changing the input, want zbc: not an alias", b)
	}
	if cap(b) != len(b) {
		t.Errorf("cap = %d, want %d", cap(b), len(b))
	}
	_ = append(b, 'q')
	if in[7] != 0 {
		t.Errorf("append to the result changed the padding byte to %q", in[7])
	}
	if v := x.Uint32(); v != 0x11223344 {
		t.Errorf("next Uint32 = %#x", v)
	}
	if !within(in, b) {
		t.Error("result does not lie within the input")
	}
}

func TestXDRZeroValue(t *testing.T) {
	var x XDR
	if x.Uint32() != 0 || !errors.Is(x.Err(), ErrShort) || len(x.Rest()) != 0 {
		t.Errorf("zero XDR: err %v, rest %d bytes", x.Err(), len(x.Rest()))
	}
}

func TestDecodeError(t *testing.T) {
	x := NewXDR([]byte{0, 0, 0, 1, 0})
	x.Uint32()
	x.Uint32()
	err := x.fail("rpc call credential")
	want := "rpc call credential at byte 4: xdr: message ends early"
	if err == nil || err.Error() != want {
		t.Fatalf("err = %v, want %q", err, want)
	}
	if !errors.Is(err, ErrShort) {
		t.Error("errors.Is(err, ErrShort) = false")
	}
	var de *DecodeError
	if !errors.As(err, &de) || de.Offset != 4 || de.Where != "rpc call credential" {
		t.Errorf("errors.As = %+v", de)
	}
	ok := NewXDR([]byte{0, 0, 0, 1})
	ok.Uint32()
	if err := ok.fail("anything"); err != nil {
		t.Errorf("fail without error = %v, want nil", err)
	}
}
