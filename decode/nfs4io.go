package decode

// ioArgs reads the arguments of the data operations (READ, WRITE,
// COMMIT, COPY...); false for any other operation.
func (a *Compound4Args) ioArgs(x *XDR, o *OpArgs4) bool {
	switch o.Op {
	case OpOffloadCancel, OpOffloadStatus:
		o.stateid(x)
	case OpCommit:
		o.Offset = x.Uint64()
		o.mark(x, HasOffset)
		o.Count = x.Uint32()
		o.mark(x, HasCount)
	case OpRead, OpReadPlus:
		o.stateid(x)
		o.Offset = x.Uint64()
		o.mark(x, HasOffset)
		o.Count = x.Uint32()
		o.mark(x, HasCount)
	case OpWrite:
		o.stateid(x)
		o.Offset = x.Uint64()
		o.mark(x, HasOffset)
		o.Stable = x.Uint32()
		o.mark(x, HasStable)
		o.Count = skipData(x, &o.Has, &a.dataEnd)
	case OpAllocate, OpDeallocate:
		o.stateid(x)
		o.range4(x)
	case OpCopy:
		o.stateid(x)          // source
		x.Skip(stateid4Size)  // destination
		o.Offset = x.Uint64() // source offset
		o.mark(x, HasOffset)
		x.Uint64() // destination offset
		o.Length = x.Uint64()
		o.mark(x, HasLength)
		x.Skip(8) // consecutive, synchronous
		for n := x.count(8); n > 0 && x.err == nil; n-- {
			netloc4(x)
		}
	case OpCopyNotify:
		o.stateid(x)
		netloc4(x)
	case OpIOAdvise:
		o.stateid(x)
		o.range4(x)
		bitmap4(x)
	case OpSeek:
		o.stateid(x)
		o.Offset = x.Uint64()
		o.mark(x, HasOffset)
		x.Uint32() // data_content4
	case OpWriteSame:
		o.stateid(x)
		o.Stable = x.Uint32()
		o.mark(x, HasStable)
		o.Offset = x.Uint64() // adb_offset
		o.mark(x, HasOffset)
		x.Skip(8 + 8 + 8 + 4 + 8) // block size, count, reloff blocknum, block num, reloff pattern
		x.Opaque(maxNFS4Data)
	case OpClone:
		o.stateid(x)         // source
		x.Skip(stateid4Size) // destination
		o.Offset = x.Uint64()
		o.mark(x, HasOffset)
		x.Uint64() // destination offset
		o.Length = x.Uint64()
		o.mark(x, HasLength)
	default:
		return false
	}
	return true
}

// ioRes reads the results after the status of the data operations (READ,
// WRITE, COMMIT, COPY...); false for any other operation.
func (r *Compound4Res) ioRes(x *XDR, o *OpRes4) bool {
	ok := o.Status == NFS4OK
	switch o.Op {
	case OpAllocate, OpDeallocate, OpOffloadCancel, OpClone:
		// status only
	case OpCommit:
		if ok {
			o.Verf = x.FixedOpaque(verifier4Size)
			o.mark(x, HasVerf)
		}
	case OpRead:
		if ok {
			o.EOF = x.Bool()
			o.mark(x, HasEOF)
			o.Count = uint64(skipData(x, &o.Has, &r.dataEnd))
		}
	case OpWrite:
		if ok {
			o.Count = uint64(x.Uint32())
			o.mark(x, HasCount)
			o.Committed = x.Uint32()
			o.mark(x, HasCommitted)
			o.Verf = x.FixedOpaque(verifier4Size)
			o.mark(x, HasVerf)
		}
	case OpCopy:
		switch {
		case ok:
			o.writeResponse(x)
			x.Skip(8) // copy_requirements4
		case o.Status == NFS4ErrOffloadNoReqs:
			x.Skip(8)
		}
	case OpCopyNotify:
		if ok {
			x.Skip(nfstime4Size)
			o.stateid(x)
			for n := x.count(8); n > 0 && x.err == nil; n-- {
				netloc4(x)
			}
		}
	case OpIOAdvise:
		if ok {
			bitmap4(x)
		}
	case OpOffloadStatus:
		if ok {
			o.Count = x.Uint64()
			o.mark(x, HasCount)
			if n := x.count(4); n > 1 {
				x.rejectAt(x.off, ErrTooLong)
			} else {
				x.Skip(4 * n)
			}
		}
	case OpReadPlus:
		if ok {
			o.EOF = x.Bool()
			o.mark(x, HasEOF)
			n := x.count(4)
			o.Count = uint64(n)
			o.mark(x, HasCount)
			for ; n > 0 && x.err == nil; n-- {
				switch c := x.Uint32(); {
				case x.err != nil:
				case c == 0: // NFS4_CONTENT_DATA
					x.Uint64()
					x.Opaque(maxNFS4Data)
				case c == 1: // NFS4_CONTENT_HOLE
					x.Skip(16)
				}
				// Any other content is the default arm: void.
			}
		}
	case OpSeek:
		if ok {
			o.EOF = x.Bool()
			o.mark(x, HasEOF)
			o.Offset = x.Uint64()
			o.mark(x, HasOffset)
		}
	case OpWriteSame:
		if ok {
			o.writeResponse(x)
		}
	default:
		return false
	}
	return true
}

// skipData reads the data<> of WRITE, READ or SETXATTR without looking at it
// and returns its length. The length is kept (has gets HasCount) even when
// the data runs past the end of the buffer, as a snaplen or a record head
// leaves it; end is set to the offset just past the data.
func skipData(x *XDR, has *uint32, end *int) uint32 {
	at := x.off
	n := x.Uint32()
	if x.err != nil {
		return 0
	}
	if n > maxNFS4Data {
		x.rejectAt(at, ErrTooLong)
		return 0
	}
	*has |= HasCount
	*end = x.off + padded(int(n))
	x.Skip(int(n))
	return n
}

// writeResponse reads a write_response4 (COPY, WRITE_SAME).
func (o *OpRes4) writeResponse(x *XDR) {
	if n := x.count(stateid4Size); n > 1 {
		x.rejectAt(x.off, ErrTooLong)
	} else if n == 1 {
		x.Skip(stateid4Size)
	}
	o.Count = x.Uint64()
	o.mark(x, HasCount)
	o.Committed = x.Uint32()
	o.mark(x, HasCommitted)
	o.Verf = x.FixedOpaque(verifier4Size)
	o.mark(x, HasVerf)
}

// netloc_type4 values.
const (
	nl4Name    = 1
	nl4URL     = 2
	nl4NetAddr = 3
)

// netloc4 skips a netloc4.
func netloc4(x *XDR) {
	at := x.off
	switch t := x.Uint32(); {
	case x.err != nil:
	case t == nl4Name || t == nl4URL:
		x.Opaque(maxNFS4Name)
	case t == nl4NetAddr:
		x.Opaque(maxNFS4Name)
		x.Opaque(maxNFS4Name)
	default:
		x.rejectAt(at, ErrBadUnion)
	}
}
