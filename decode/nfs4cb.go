package decode

// NFSv4 callbacks: the server calls the client, with CB_NULL (procedure 0)
// and CB_COMPOUND (procedure 1) of the program the client named: in
// SETCLIENTID (4.0, on a connection the server opens) or CREATE_SESSION and
// BACKCHANNEL_CTL (4.1, on the client's own connection, the other way;
// Linux uses 0x40000000). The program's version is 1.

// NFSv4 callback procedures (RFC 7530 section 16.2).
const (
	CBProcNull     = 0
	CBProcCompound = 1
)

// Callback operation codes (nfs_cb_opnum4).
const (
	CBOpGetattr            = 3
	CBOpRecall             = 4
	CBOpLayoutRecall       = 5
	CBOpNotify             = 6
	CBOpPushDeleg          = 7
	CBOpRecallAny          = 8
	CBOpRecallableObjAvail = 9
	CBOpRecallSlot         = 10
	CBOpSequence           = 11
	CBOpWantsCancelled     = 12
	CBOpNotifyLock         = 13
	CBOpNotifyDeviceID     = 14
	CBOpOffload            = 15
	CBOpIllegal            = 10044
)

// layoutrecall_type4 values of CB_LAYOUTRECALL.
const (
	LayoutRecallFile = 1
	LayoutRecallFSID = 2
	LayoutRecallAll  = 3
)

// CBOpArgs4 holds what nfsstall keeps of one callback operation's
// arguments. Byte slices alias the input.
type CBOpArgs4 struct {
	Op uint32
	// At is the byte offset of the operation's code in the arguments.
	At int
	// FH is the file of CB_GETATTR, CB_RECALL, CB_LAYOUTRECALL (file),
	// CB_NOTIFY, CB_PUSH_DELEG, CB_NOTIFY_LOCK and CB_OFFLOAD.
	FH []byte
	// Stateid is CB_RECALL's delegation, CB_LAYOUTRECALL's layout (file),
	// CB_NOTIFY's directory delegation and CB_OFFLOAD's copy.
	Stateid Stateid4
	// Truncate is CB_RECALL's truncate flag.
	Truncate bool
	// Type is CB_LAYOUTRECALL's layout type (HasType), IOMode its iomode,
	// Recall its layoutrecall_type4 (LayoutRecallFile, ...; HasClaim),
	// Changed its clora_changed.
	Type, IOMode, Recall uint32
	Changed              bool
	// Offset and Length are CB_LAYOUTRECALL's range (file).
	Offset, Length uint64
	// ClientID and Owner are CB_NOTIFY_LOCK's lock owner.
	ClientID uint64
	Owner    []byte
	// Status is CB_OFFLOAD's outcome of the copy; Count the bytes copied.
	Status uint32
	Count  uint64
	// Has says which fields were decoded (HasFH, HasStateid, ...).
	Has uint32
}

func (o *CBOpArgs4) mark(x *XDR, bit uint32) { x.mark(&o.Has, bit) }

// CBSequenceArgs4 is CB_SEQUENCE's arguments: which back-channel slot the
// callback uses.
type CBSequenceArgs4 struct {
	SessionID     [sessionIDSize]byte
	SequenceID    uint32
	SlotID        uint32
	HighestSlotID uint32
	CacheThis     bool
	// ReferringCalls counts the calls of the fore channel the callback
	// refers to (referring_call4 entries over all lists).
	ReferringCalls int
}

// CBCompound4Args holds what nfsstall keeps of a CB_COMPOUND call's
// arguments; it is meant to be reused.
type CBCompound4Args struct {
	Tag           []byte
	MinorVersion  uint32
	CallbackIdent uint32 // 4.0: SETCLIENTID's callback_ident
	NumOps        uint32
	N             int // as in Compound4Args
	Ops           [MaxOps]CBOpArgs4
	Sequence      CBSequenceArgs4
	Has           uint32 // HasSequence

	spare  CBOpArgs4
	faults faults
}

// MainCBOp returns the callback operation that says what a CB_COMPOUND is
// for: the first that is not CB_SEQUENCE (which only carries the slot), or
// CB_SEQUENCE when it is alone; 0 when no operation was read. Wireshark
// has no main opcode for callbacks; this is nfsstall's rule.
func (a *CBCompound4Args) MainCBOp() uint32 {
	return mainCBOp(a.N, func(i int) uint32 { return a.Ops[i].Op })
}

// ParseCBCompoundArgs decodes the arguments b of a CB_COMPOUND call into a,
// resetting a first; partial decoding and errors are as for
// ParseCompoundArgs.
func ParseCBCompoundArgs(b []byte, a *CBCompound4Args) error {
	*a = CBCompound4Args{}
	x := NewXDR(b)
	a.Tag = x.Opaque(maxNFS4Name)
	a.MinorVersion = x.Uint32()
	a.CallbackIdent = x.Uint32()
	a.NumOps = x.Uint32()
	if x.err != nil {
		return x.hdrFail(&a.faults, "nfs4 cb_compound args")
	}
	for i := 0; uint32(i) < a.NumOps; i++ {
		o := opSlot(&a.Ops, &a.spare, i)
		*o = CBOpArgs4{At: x.off}
		o.Op = x.Uint32()
		if x.err != nil {
			return x.opFail(&a.faults, i, 0, false, true, 0)
		}
		a.N++
		if !a.opArgs(&x, o) {
			return a.faults.set(OpError{Index: i, Op: o.Op, CB: true, Offset: x.off - 4, Err: ErrUnknownOp})
		}
		if x.err != nil {
			return x.opFail(&a.faults, i, o.Op, false, true, 0)
		}
	}
	return nil
}

func (a *CBCompound4Args) opArgs(x *XDR, o *CBOpArgs4) bool {
	switch o.Op {
	case CBOpIllegal:
	case CBOpGetattr:
		o.fh(x)
		bitmap4(x)
	case CBOpRecall:
		o.stateid(x)
		o.Truncate = x.Bool()
		o.fh(x)
	case CBOpLayoutRecall:
		o.Type = x.Uint32()
		o.mark(x, HasType)
		o.IOMode = x.Uint32()
		o.Changed = x.Bool()
		at := x.off
		o.Recall = x.Uint32()
		o.mark(x, HasClaim)
		switch {
		case x.err != nil:
		case o.Recall == LayoutRecallFile:
			o.fh(x)
			o.Offset = x.Uint64()
			o.mark(x, HasOffset)
			o.Length = x.Uint64()
			o.mark(x, HasLength)
			o.stateid(x)
		case o.Recall == LayoutRecallFSID:
			x.Skip(16) // fsid4
		case o.Recall == LayoutRecallAll:
		default:
			x.rejectAt(at, ErrBadUnion)
			o.Has &^= HasClaim
		}
	case CBOpNotify:
		o.stateid(x)
		o.fh(x)
		notify4(x)
	case CBOpPushDeleg:
		o.fh(x)
		var r OpRes4
		r.delegation(x)
	case CBOpRecallAny, CBOpRecallableObjAvail:
		x.Uint32() // objects to keep
		bitmap4(x)
	case CBOpRecallSlot:
		x.Uint32()
	case CBOpSequence:
		s := &a.Sequence
		*s = CBSequenceArgs4{}
		copy(s.SessionID[:], x.FixedOpaque(sessionIDSize))
		s.SequenceID = x.Uint32()
		s.SlotID = x.Uint32()
		s.HighestSlotID = x.Uint32()
		s.CacheThis = x.Bool()
		for n := x.count(sessionIDSize + 4); n > 0 && x.err == nil; n-- {
			x.Skip(sessionIDSize)
			m := x.count(8)
			x.Skip(8 * m)
			s.ReferringCalls += m
		}
		if x.err == nil {
			a.Has |= HasSequence
		}
	case CBOpWantsCancelled:
		x.Skip(8)
	case CBOpNotifyLock:
		o.fh(x)
		o.ClientID = x.Uint64()
		o.Owner = x.Opaque(maxOwner4)
		o.mark(x, HasOwner|HasClientID)
	case CBOpNotifyDeviceID:
		notify4(x)
	case CBOpOffload:
		o.fh(x)
		o.stateid(x)
		o.Status = x.Uint32()
		o.mark(x, HasStatus)
		if x.err == nil && o.Status == NFS4OK {
			var r OpRes4
			r.writeResponse(x)
			o.Count = r.Count
		} else {
			o.Count = x.Uint64() // bytes copied before the failure
		}
		o.mark(x, HasCount)
	default:
		return false
	}
	return true
}

func (o *CBOpArgs4) fh(x *XDR) {
	o.FH = x.Opaque(nfs4FHSize)
	o.mark(x, HasFH)
}

func (o *CBOpArgs4) stateid(x *XDR) {
	readStateid(x, &o.Stateid)
	o.mark(x, HasStateid)
}

// notify4 skips a notify4<>: a bitmap and opaque values each.
func notify4(x *XDR) {
	for n := x.count(8); n > 0 && x.err == nil; n-- {
		bitmap4(x)
		x.Opaque(maxNFS4Data)
	}
}

// CBSequenceRes4 is CB_SEQUENCE's result.
type CBSequenceRes4 struct {
	SessionID           [sessionIDSize]byte
	SequenceID          uint32
	SlotID              uint32
	HighestSlotID       uint32
	TargetHighestSlotID uint32
}

// CBOpRes4 is one callback operation's result: they carry nothing but the
// status that nfsstall keeps (CB_GETATTR's attributes are skipped).
type CBOpRes4 struct {
	Op     uint32
	Status uint32
}

// CBCompound4Res holds what nfsstall keeps of a CB_COMPOUND reply.
type CBCompound4Res struct {
	Status   uint32 // the status of the last result, the first that failed
	Tag      []byte
	NumOps   uint32
	N        int
	Ops      [MaxOps]CBOpRes4
	Sequence CBSequenceRes4
	Has      uint32 // HasSequence

	spare  CBOpRes4
	faults faults
}

// MainCBOp returns the main callback operation of the results, by the rule
// of CBCompound4Args.MainCBOp.
func (r *CBCompound4Res) MainCBOp() uint32 {
	return mainCBOp(r.N, func(i int) uint32 { return r.Ops[i].Op })
}

// ParseCBCompoundResult decodes the results b of a CB_COMPOUND reply into
// r, resetting r first; partial decoding and errors are as for
// ParseCompoundResult.
func ParseCBCompoundResult(b []byte, r *CBCompound4Res) error {
	*r = CBCompound4Res{}
	x := NewXDR(b)
	r.Status = x.Uint32()
	r.Tag = x.Opaque(maxNFS4Name)
	r.NumOps = x.Uint32()
	if x.err != nil {
		return x.hdrFail(&r.faults, "nfs4 cb_compound result")
	}
	for i := 0; uint32(i) < r.NumOps; i++ {
		o := opSlot(&r.Ops, &r.spare, i)
		*o = CBOpRes4{}
		o.Op = x.Uint32()
		if x.err != nil {
			return x.opFail(&r.faults, i, 0, true, true, 0)
		}
		r.N++
		o.Status = x.Uint32()
		if x.err != nil {
			return x.opFail(&r.faults, i, o.Op, true, true, 0)
		}
		ok := o.Status == NFS4OK
		switch o.Op {
		case CBOpRecall, CBOpLayoutRecall, CBOpNotify, CBOpPushDeleg, CBOpRecallAny,
			CBOpRecallableObjAvail, CBOpRecallSlot, CBOpWantsCancelled, CBOpNotifyLock,
			CBOpNotifyDeviceID, CBOpOffload, CBOpIllegal:
		case CBOpGetattr:
			if ok {
				fattr4(&x)
			}
		case CBOpSequence:
			if ok {
				s := &r.Sequence
				copy(s.SessionID[:], x.FixedOpaque(sessionIDSize))
				s.SequenceID = x.Uint32()
				s.SlotID = x.Uint32()
				s.HighestSlotID = x.Uint32()
				s.TargetHighestSlotID = x.Uint32()
				if x.err == nil {
					r.Has |= HasSequence
				}
			}
		default:
			return r.faults.set(OpError{Index: i, Op: o.Op, Reply: true, CB: true, Offset: x.off - 8, Err: ErrUnknownOp})
		}
		if x.err != nil {
			return x.opFail(&r.faults, i, o.Op, true, true, 0)
		}
	}
	return nil
}

// mainCBOp is MainCBOp of the n operations whose codes op gives.
func mainCBOp(n int, op func(i int) uint32) uint32 {
	main := uint32(0)
	for i := range min(n, MaxOps) {
		if c := op(i); c != CBOpSequence {
			return c
		}
		main = CBOpSequence
	}
	return main
}
