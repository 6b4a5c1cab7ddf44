// Package decode holds the pure wire decoders of nfsstall: XDR (RFC 4506),
// ONC RPC v2 (RFC 5531) and NFSv3 (RFC 1813). They are functions of bytes:
// no packets, no streams, no I/O, so each can be tested and fuzzed alone.
//
// Decoders fill structs owned by the caller and never allocate on success.
// Byte-slice fields they set alias the input buffer: they stay valid only as
// long as the caller keeps that buffer unchanged, so copy what you keep.
package decode

import (
	"encoding/binary"
	"errors"
	"strconv"
)

// Errors returned (wrapped; test with errors.Is) when the wire does not decode.
var (
	// ErrShort means the buffer ran out before the item being read. It is
	// also what a message cut by the capture's snaplen gives.
	ErrShort = errors.New("xdr: message ends early")
	// ErrTooLong means a variable-length item declares a length above the
	// protocol's limit: the bytes are not what we think they are.
	ErrTooLong = errors.New("xdr: length above limit")
	// ErrBadBool means a bool was neither 0 nor 1 (RFC 4506 section 4.4).
	ErrBadBool = errors.New("xdr: bool neither 0 nor 1")
	// ErrBadLength means a caller asked to read a negative number of bytes.
	ErrBadLength = errors.New("xdr: negative length")
)

// XDR is a read cursor over XDR data (RFC 4506). The first error sticks;
// later reads return zero values, so a decoder is a straight list of reads
// and one Err() check. The zero value reads from an empty buffer.
type XDR struct {
	buf []byte
	off int
	err error
}

// NewXDR returns a cursor at the start of b.
func NewXDR(b []byte) XDR { return XDR{buf: b} }

// take returns the next n bytes and moves past them. It is the one place
// that indexes the buffer, so every read is bounds-checked here. On failure
// the offset stays at the start of the item that did not fit, which is what
// an error message should point at.
func (x *XDR) take(n int) []byte {
	if x.err != nil {
		return nil
	}
	if n < 0 {
		x.err = ErrBadLength
		return nil
	}
	if n > len(x.buf)-x.off {
		x.err = ErrShort
		return nil
	}
	b := x.buf[x.off : x.off+n : x.off+n]
	x.off += n
	return b
}

// padded rounds n up to the 4-byte XDR unit. The caller guarantees n >= 0.
func padded(n int) int { return (n + 3) &^ 3 }

// Uint32 reads an unsigned int.
func (x *XDR) Uint32() uint32 {
	b := x.take(4)
	if b == nil {
		return 0
	}
	return binary.BigEndian.Uint32(b)
}

// Int32 reads a (signed) int.
func (x *XDR) Int32() int32 { return int32(x.Uint32()) }

// Uint64 reads an unsigned hyper.
func (x *XDR) Uint64() uint64 {
	b := x.take(8)
	if b == nil {
		return 0
	}
	return binary.BigEndian.Uint64(b)
}

// Bool reads a bool. RFC 4506 encodes it as an enum {FALSE = 0, TRUE = 1};
// any other value means we are decoding something that is not what we
// think, so it is an error (ErrBadBool) rather than "true".
func (x *XDR) Bool() bool {
	off := x.off
	v := x.Uint32()
	if x.err != nil {
		return false
	}
	if v > 1 {
		x.rejectAt(off, ErrBadBool)
		return false
	}
	return v == 1
}

// Opaque reads a variable-length opaque<max> (or string<max>): a length,
// that many bytes, and padding to a multiple of 4. A length above max is
// ErrTooLong; a negative max means no limit but the buffer. The result
// aliases the input; it is never a copy.
func (x *XDR) Opaque(max int) []byte {
	if x.err != nil {
		return nil
	}
	start := x.off
	n := x.Uint32()
	if x.err != nil {
		return nil
	}
	// Compare as uint64 so a huge length cannot overflow int on 32-bit
	// platforms before we reject it.
	if max >= 0 && uint64(n) > uint64(max) {
		x.rejectAt(start, ErrTooLong)
		return nil
	}
	if uint64(n) > uint64(len(x.buf)-x.off) {
		x.err = ErrShort
		return nil
	}
	b := x.take(padded(int(n)))
	if b == nil {
		return nil
	}
	return b[:n:n]
}

// FixedOpaque reads a fixed-length opaque[n] and its padding. The result
// aliases the input.
func (x *XDR) FixedOpaque(n int) []byte {
	if n < 0 {
		if x.err == nil {
			x.err = ErrBadLength
		}
		return nil
	}
	b := x.take(padded(n))
	if b == nil {
		return nil
	}
	return b[:n:n]
}

// Skip moves past n bytes rounded up to a multiple of 4, as for an item of
// n bytes whose content we do not need.
func (x *XDR) Skip(n int) {
	if n < 0 {
		if x.err == nil {
			x.err = ErrBadLength
		}
		return
	}
	x.take(padded(n))
}

// Err returns the first error met, or nil.
func (x *XDR) Err() error { return x.err }

// Offset returns how many bytes have been read. After an error it is the
// offset of the item that failed to decode.
func (x *XDR) Offset() int { return x.off }

// Rest returns the unread bytes (all of them, even after an error, so a
// caller can look at what did not decode). It aliases the input.
func (x *XDR) Rest() []byte { return x.buf[x.off:] }

// DecodeError says where in the wire a decoder failed. It wraps one of the
// package's error values, so errors.Is(err, ErrShort) and the like work.
type DecodeError struct {
	Where  string // what was being decoded, e.g. "rpc call credential"
	Offset int    // byte offset of the item that did not decode
	Err    error  // the cause: ErrShort, ErrTooLong, ...
}

// Error reads like "rpc call credential at byte 28: xdr: message ends early".
// It is built only when asked for, so failing decodes stay cheap.
func (e *DecodeError) Error() string {
	return e.Where + " at byte " + strconv.Itoa(e.Offset) + ": " + e.Err.Error()
}

// Unwrap returns the cause.
func (e *DecodeError) Unwrap() error { return e.Err }

// fail wraps the cursor's error with where it happened; nil when there is
// none, so decoders can end with "return x.fail(where)".
func (x *XDR) fail(where string) error {
	if x.err == nil {
		return nil
	}
	return &DecodeError{Where: where, Offset: x.off, Err: x.err}
}

// rejectAt fails the cursor with err at off, the start of the item whose
// value the decoder rejects (a union arm it does not know, a count above
// its limit): the offset an error message points at. Decoders call it
// where the cursor has not failed before.
func (x *XDR) rejectAt(off int, err error) {
	x.off = off
	x.err = err
}

// failWith records err at the current offset (when no earlier error
// sticks) and wraps it; for checks above the XDR layer, such as a wrong
// message type.
func (x *XDR) failWith(where string, err error) error {
	if x.err == nil {
		x.err = err
	}
	return x.fail(where)
}

// mark sets bit in *has when the reads so far succeeded, so that each field
// a decoder keeps is a read followed by a mark.
func (x *XDR) mark(has *uint32, bit uint32) {
	if x.err == nil {
		*has |= bit
	}
}
