package decode

func readStateid(x *XDR, s *Stateid4) {
	s.Seqid = x.Uint32()
	copy(s.Other[:], x.FixedOpaque(12))
}

// count reads an array length and checks that that many items of at
// least size bytes each fit in what is left; it returns 0 on error, so a
// loop over it stops.
func (x *XDR) count(size int) int {
	at := x.off
	n := x.Uint32()
	if x.err != nil {
		return 0
	}
	if uint64(n)*uint64(size) > uint64(len(x.buf)-x.off) {
		x.rejectAt(at, ErrShort)
		return 0
	}
	return int(n)
}

// bitmap4 skips a bitmap4 (uint32<>).
func bitmap4(x *XDR) {
	at := x.off
	n := x.Uint32()
	if x.err == nil && n > maxBitmap4 {
		x.rejectAt(at, ErrTooLong)
		return
	}
	x.Skip(4 * int(n))
}

// fattr4 skips a fattr4: the bitmap and the opaque attribute values.
func fattr4(x *XDR) {
	bitmap4(x)
	x.Opaque(maxNFS4Data)
}
