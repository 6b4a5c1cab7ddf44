package decode

import (
	"errors"
)

// OpArgs4 holds what nfsstall keeps of one operation's arguments. Which
// fields an operation sets is said at each; Has says which were decoded.
// Byte slices alias the input.
type OpArgs4 struct {
	Op uint32
	// At is the byte offset of the operation's code in the arguments.
	At int
	// FH is PUTFH's handle.
	FH []byte
	// Name is the name the operation is about: LOOKUP, OPEN (CLAIM_NULL,
	// CLAIM_DELEGATE_CUR, CLAIM_DELEGATE_PREV), CREATE, REMOVE, LINK (the
	// new name), RENAME (the old one), SECINFO, and the xattr operations'
	// key.
	Name []byte
	// Name2 is RENAME's new name and CREATE's symlink target.
	Name2 []byte
	// Stateid is the stateid of READ, WRITE, CLOSE, LOCKU, DELEGRETURN,
	// OPEN_DOWNGRADE, OPEN_CONFIRM, SETATTR, FREE_STATEID, LAYOUTGET,
	// LAYOUTRETURN (file), LAYOUTCOMMIT, the 4.2 data operations (the
	// source for COPY and CLONE), OPEN's CLAIM_DELEGATE_CUR and
	// CLAIM_DELEG_CUR_FH, and LOCK's open stateid (new lock owner) or lock
	// stateid.
	Stateid Stateid4
	// Offset and Length are the byte range: READ, WRITE, COMMIT (Length
	// 0), LOCK, LOCKT, LOCKU, LAYOUTGET, LAYOUTRETURN (file), LAYOUTCOMMIT,
	// ALLOCATE, DEALLOCATE, READ_PLUS, SEEK, CLONE and COPY (source offset).
	Offset, Length uint64
	// Count is READ, READ_PLUS and COMMIT's count, WRITE's data length,
	// READDIR and LAYOUTGET's maxcount.
	Count uint32
	// Stable is WRITE's stable_how4.
	Stable uint32
	// Seqid is the seqid of OPEN, CLOSE, OPEN_CONFIRM, OPEN_DOWNGRADE,
	// LOCKU, and LOCK's lock seqid.
	Seqid uint32
	// Type is LOCK, LOCKT and LOCKU's lock type, CREATE's object type,
	// LAYOUTGET, LAYOUTRETURN and GETDEVICEINFO's layout type.
	Type uint32
	// IOMode is LAYOUTGET and LAYOUTRETURN's iomode.
	IOMode uint32
	// Claim is OPEN's claim type (ClaimNull, ...); LAYOUTRETURN's return
	// type (LayoutReturnFile, ...). HasClaim says it was read.
	Claim uint32
	// DelegType is the delegation type an OPEN with CLAIM_PREVIOUS reclaims.
	DelegType uint32
	// ShareAccess and ShareDeny are OPEN and OPEN_DOWNGRADE's.
	ShareAccess, ShareDeny uint32
	// Create is true for an OPEN that may create the file; CreateMode is
	// then its createmode4.
	Create     bool
	CreateMode uint32
	// ClientID and Owner are OPEN's open owner, LOCK's new lock owner,
	// LOCKT's and RELEASE_LOCKOWNER's lock owner; ClientID alone is RENEW,
	// SETCLIENTID_CONFIRM, DELEGPURGE and DESTROY_CLIENTID's client.
	ClientID uint64
	Owner    []byte
	// Reclaim is LOCK and LAYOUTRETURN's reclaim flag, RECLAIM_COMPLETE's
	// one_fs.
	Reclaim bool
	// NewLockOwner says LOCK opens a new lock owner (Owner) from an open
	// stateid, rather than using an existing lock stateid.
	NewLockOwner bool
	// SessionID is DESTROY_SESSION and BIND_CONN_TO_SESSION's session.
	SessionID [sessionIDSize]byte
	// Has says which fields were decoded (HasFH, HasStateid, ...).
	Has uint32
}

func (o *OpArgs4) mark(x *XDR, bit uint32) { x.mark(&o.Has, bit) }

// Bits of Compound4Args.Has and Compound4Res.Has: which of the single
// operations' structs were decoded whole.
const (
	HasSequence = 1 << iota
	HasCreateSession
	HasExchangeID
	HasSetClientID
	HasBackchannelCtl
	HasClidInUse // Compound4Res: SETCLIENTID's NFS4ERR_CLID_INUSE address
)

// Compound4Args holds what nfsstall keeps of a COMPOUND call's arguments.
// It is large (about 8 KB on 64-bit platforms) and meant to be reused:
// ParseCompoundArgs resets it.
type Compound4Args struct {
	Tag          []byte // aliases the input
	MinorVersion uint32
	// NumOps is the number of operations the compound declares.
	NumOps uint32
	// N is how many operations' codes were read. Ops[:min(N, MaxOps)]
	// hold them in order. When the decode fails in an operation, the
	// *OpError's Index says which: N-1, holding what decoded of it, or N
	// when its code was cut.
	N   int
	Ops [MaxOps]OpArgs4
	// The operations whose arguments are a struct of their own. A compound
	// that holds one twice keeps the last.
	Sequence      SequenceArgs4
	CreateSession CreateSessionArgs4
	ExchangeID    ExchangeIDArgs4
	SetClientID   SetClientIDArgs4
	// BackchannelProgram is BACKCHANNEL_CTL's new callback program.
	BackchannelProgram uint32
	Has                uint32 // HasSequence, ...
	// ResumeAt, when the decode stopped in the data of a WRITE (or
	// SETXATTR) that runs past the end of the buffer, is the offset in the
	// arguments where the next operation begins, so that
	// ResumeCompoundArgs can decode the ops after the data from the end of
	// the message (as a record's tail holds it); otherwise 0.
	ResumeAt int

	spare   OpArgs4 // where operations past MaxOps decode
	dataEnd int     // offset in the buffer just past the current op's data, once its length is read
	faults  faults
}

// OpCodes appends the codes of the operations kept to dst.
func (a *Compound4Args) OpCodes(dst []uint32) []uint32 {
	for i := range min(a.N, MaxOps) {
		dst = append(dst, a.Ops[i].Op)
	}
	return dst
}

// CBProgram returns the program the server is to call the client back
// with, when the compound names one: CREATE_SESSION's or BACKCHANNEL_CTL's
// (4.1, on the client's own connection), SETCLIENTID's (4.0, on a
// connection to the address SetClientID.Addr). A callback on that program
// (version 1) is a CB_NULL or a CB_COMPOUND.
func (a *Compound4Args) CBProgram() (prog uint32, ok bool) {
	switch {
	case a.Has&HasBackchannelCtl != 0:
		return a.BackchannelProgram, true
	case a.Has&HasCreateSession != 0:
		return a.CreateSession.CBProgram, true
	case a.Has&HasSetClientID != 0:
		return a.SetClientID.CBProgram, true
	}
	return 0, false
}

// MainOp returns the operation Wireshark names first as the compound's
// nfs.main_opcode (see OpTier), 0 when no operation was read.
func (a *Compound4Args) MainOp() uint32 {
	best, op := 0, uint32(0)
	for i := range min(a.N, MaxOps) {
		if t := OpTier(a.Ops[i].Op); best == 0 || t < best {
			best, op = t, a.Ops[i].Op
		}
	}
	return op
}

// ParseCompoundArgs decodes the arguments b of a COMPOUND call (program
// 100003 version 4 procedure 1) into a, resetting a first. It decodes what
// is there: for a message cut short, a holds the operations before the
// cut and what decoded of the one cut (see N and Has) and the error wraps
// ErrShort. An operation it does not know ends the decode with an
// *OpError wrapping ErrUnknownOp: what follows cannot be found. The error
// lives in a (decoding allocates nothing, even when it fails): it is
// valid until a is decoded into again.
func ParseCompoundArgs(b []byte, a *Compound4Args) error {
	*a = Compound4Args{}
	x := NewXDR(b)
	a.Tag = x.Opaque(maxNFS4Name)
	a.MinorVersion = x.Uint32()
	a.NumOps = x.Uint32()
	if x.err != nil {
		return x.hdrFail(&a.faults, "nfs4 compound args")
	}
	return a.ops(&x, 0)
}

// ResumeCompoundArgs goes on decoding a compound whose decode stopped in
// the data of a WRITE that ran past the end of its buffer (a.ResumeAt is
// set): b holds the arguments from offset a.ResumeAt on, up to the end of
// the message. The ops after the data are added to a (At and error
// offsets count from the start of the arguments, as if the buffer had
// been whole). It returns ErrBadResume when a.ResumeAt is not set.
func ResumeCompoundArgs(b []byte, a *Compound4Args) error {
	return resume(b, &a.ResumeAt, a.ops)
}

// ErrBadResume means a resume was asked of a decode that did not stop in
// data that ran past its buffer.
var ErrBadResume = errors.New("nfs4: nothing to resume")

// resume decodes with ops the rest b of a compound whose decode stopped
// at *at, the offset of b's first byte, and clears *at; ErrBadResume when
// *at is not set.
func resume(b []byte, at *int, ops func(x *XDR, base int) error) error {
	if *at <= 0 {
		return ErrBadResume
	}
	x := NewXDR(b)
	base := *at
	*at = 0
	return ops(&x, base)
}

// resumeAt is where the decode of a compound that failed goes on: base plus
// dataEnd when it stopped in data that ran past the buffer (dataEnd set,
// the error ErrShort), else 0.
func (x *XDR) resumeAt(base, dataEnd int) int {
	if dataEnd > 0 && x.err == ErrShort {
		return base + dataEnd
	}
	return 0
}

// ops decodes the operations from the (a.N)th on; base is the offset in
// the arguments of x's first byte.
func (a *Compound4Args) ops(x *XDR, base int) error {
	for i := a.N; uint32(i) < a.NumOps; i++ {
		o := opSlot(&a.Ops, &a.spare, i)
		*o = OpArgs4{At: base + x.off}
		a.dataEnd = 0
		o.Op = x.Uint32()
		if x.err != nil {
			return x.opFail(&a.faults, i, 0, false, false, base)
		}
		a.N++
		if !a.opArgs(x, o) {
			return a.faults.set(OpError{Index: i, Op: o.Op, Offset: base + x.off - 4, Err: ErrUnknownOp})
		}
		if x.err != nil {
			a.ResumeAt = x.resumeAt(base, a.dataEnd)
			return x.opFail(&a.faults, i, o.Op, false, false, base)
		}
	}
	return nil
}

// opArgs reads the arguments of operation o.Op with the function of its
// family; false for an unknown code.
func (a *Compound4Args) opArgs(x *XDR, o *OpArgs4) bool {
	switch opFamily(o.Op) {
	case famSession:
		return a.sessionArgs(x, o)
	case famFS:
		return a.fsArgs(x, o)
	case famIO:
		return a.ioArgs(x, o)
	case famState:
		return a.stateArgs(x, o)
	case famLayout:
		return a.layoutArgs(x, o)
	}
	return false
}

func (a *Compound4Args) markHas(x *XDR, bit uint32) { x.mark(&a.Has, bit) }

func (o *OpArgs4) stateid(x *XDR) {
	readStateid(x, &o.Stateid)
	o.mark(x, HasStateid)
}

// range4 reads an offset and a length.
func (o *OpArgs4) range4(x *XDR) {
	o.Offset = x.Uint64()
	o.mark(x, HasOffset)
	o.Length = x.Uint64()
	o.mark(x, HasLength)
}
