package decode

// OpRes4 holds what nfsstall keeps of one operation's result. Which fields
// an operation sets is said at each; Has says which were decoded. Byte
// slices alias the input.
type OpRes4 struct {
	Op     uint32
	Status uint32 // nfsstat4
	// At is the byte offset of the result's code in the results.
	At int
	// FH is GETFH's handle.
	FH []byte
	// Stateid is the stateid returned by OPEN, OPEN_CONFIRM,
	// OPEN_DOWNGRADE, CLOSE, LOCK, LOCKU, LAYOUTGET and LAYOUTRETURN.
	Stateid Stateid4
	// Deleg is the delegation OPEN granted (DelegNone, DelegRead,
	// DelegWrite, DelegNoneExt) and DelegStateid its stateid.
	Deleg        uint32
	DelegStateid Stateid4
	// Count is the data length READ returned, the bytes WRITE wrote
	// (count4), COPY copied; READ_PLUS's number of contents; READDIR's
	// number of entries.
	Count uint64
	// EOF is READ, READ_PLUS and SEEK's eof.
	EOF bool
	// Committed is WRITE's stable_how4 committed; Verf WRITE and COMMIT's
	// write verifier.
	Committed uint32
	Verf      []byte
	// Offset and Length are the range a conflicting lock holds (LOCK and
	// LOCKT with NFS4ERR_DENIED, with Type its lock type and ClientID and
	// Owner its owner); SEEK's offset; LAYOUTGET's first layout range.
	Offset, Length uint64
	Type           uint32
	ClientID       uint64
	Owner          []byte
	// Has says which fields were decoded (HasStatus, HasFH, ...).
	Has uint32
}

func (o *OpRes4) mark(x *XDR, bit uint32) { x.mark(&o.Has, bit) }

// Compound4Res holds what nfsstall keeps of a COMPOUND reply's results.
// Like Compound4Args it is large (about 6 KB) and meant to be reused.
type Compound4Res struct {
	// Status is the compound's nfsstat4: that of its last operation, the
	// first that failed.
	Status uint32
	Tag    []byte // aliases the input
	// NumOps is the number of results the reply declares.
	NumOps uint32
	// N is how many results' codes were read, as in Compound4Args.
	N   int
	Ops [MaxOps]OpRes4
	// The results that are a struct of their own, when they succeeded.
	Sequence      SequenceRes4
	CreateSession CreateSessionRes4
	ExchangeID    ExchangeIDRes4
	SetClientID   SetClientIDRes4
	Has           uint32 // HasSequence, ...
	// ResumeAt is as in Compound4Args, for the data of a READ.
	ResumeAt int

	spare   OpRes4
	dataEnd int
	faults  faults
}

// OpCodes appends the codes of the results kept to dst.
func (r *Compound4Res) OpCodes(dst []uint32) []uint32 {
	for i := range min(r.N, MaxOps) {
		dst = append(dst, r.Ops[i].Op)
	}
	return dst
}

// MainOp returns the first of the reply's main opcodes as Wireshark picks
// them among the results (see OpTier); 0 when there are none. It is the
// call's when no operation failed before it.
func (r *Compound4Res) MainOp() uint32 {
	best, op := 0, uint32(0)
	for i := range min(r.N, MaxOps) {
		if t := OpTier(r.Ops[i].Op); best == 0 || t < best {
			best, op = t, r.Ops[i].Op
		}
	}
	return op
}

// ParseCompoundResult decodes the results b of a COMPOUND reply into r,
// resetting r first. As ParseCompoundArgs, it keeps what decoded when the
// message is cut short or holds an operation it does not know.
func ParseCompoundResult(b []byte, r *Compound4Res) error {
	*r = Compound4Res{}
	x := NewXDR(b)
	r.Status = x.Uint32()
	r.Tag = x.Opaque(maxNFS4Name)
	r.NumOps = x.Uint32()
	if x.err != nil {
		return x.hdrFail(&r.faults, "nfs4 compound result")
	}
	return r.ops(&x, 0)
}

// ResumeCompoundResult is ResumeCompoundArgs for a reply whose decode
// stopped in the data of a READ: b holds the results from r.ResumeAt on.
func ResumeCompoundResult(b []byte, r *Compound4Res) error {
	return resume(b, &r.ResumeAt, r.ops)
}

// ops decodes the results from the (r.N)th on; base is the offset in the
// results of x's first byte.
func (r *Compound4Res) ops(x *XDR, base int) error {
	for i := r.N; uint32(i) < r.NumOps; i++ {
		o := opSlot(&r.Ops, &r.spare, i)
		*o = OpRes4{At: base + x.off}
		r.dataEnd = 0
		o.Op = x.Uint32()
		if x.err != nil {
			return x.opFail(&r.faults, i, 0, true, false, base)
		}
		r.N++
		o.Status = x.Uint32()
		o.mark(x, HasStatus)
		if x.err != nil {
			return x.opFail(&r.faults, i, o.Op, true, false, base)
		}
		if !r.opRes(x, o) {
			return r.faults.set(OpError{Index: i, Op: o.Op, Reply: true, Offset: base + x.off - 8, Err: ErrUnknownOp})
		}
		if x.err != nil {
			r.ResumeAt = x.resumeAt(base, r.dataEnd)
			return x.opFail(&r.faults, i, o.Op, true, false, base)
		}
	}
	return nil
}

// opRes reads the result of operation o.Op after its status with the
// function of its family; false for an unknown code.
func (r *Compound4Res) opRes(x *XDR, o *OpRes4) bool {
	switch opFamily(o.Op) {
	case famSession:
		return r.sessionRes(x, o)
	case famFS:
		return r.fsRes(x, o)
	case famIO:
		return r.ioRes(x, o)
	case famState:
		return r.stateRes(x, o)
	case famLayout:
		return r.layoutRes(x, o)
	}
	return false
}

func (r *Compound4Res) markHas(x *XDR, bit uint32) { x.mark(&r.Has, bit) }

func (o *OpRes4) stateid(x *XDR) {
	readStateid(x, &o.Stateid)
	o.mark(x, HasStateid)
}
