package decode

import (
	"errors"
	"strconv"
)

// NFS version 4, minor versions 0 (RFC 7530), 1 (RFC 8881) and 2 (RFC
// 7862), with the extended attributes of RFC 8276. Version 4 has one
// procedure that does anything, COMPOUND: a tag, a minor version and a
// list of operations, each with its arguments; the reply carries a status,
// the tag and one result per operation up to the first that failed. The
// decoders walk every operation (most only to skip it) and keep the codes
// in order and the fields that say what the compound was about and how it
// went.

// NFSv4 procedure numbers (RFC 7530 section 16).
const (
	NFS4ProcNull     = 0
	NFS4ProcCompound = 1
)

// NFSv4 operation codes (nfs_opnum4).
const (
	OpAccess             = 3
	OpClose              = 4
	OpCommit             = 5
	OpCreate             = 6
	OpDelegPurge         = 7
	OpDelegReturn        = 8
	OpGetattr            = 9
	OpGetFH              = 10
	OpLink               = 11
	OpLock               = 12
	OpLockT              = 13
	OpLockU              = 14
	OpLookup             = 15
	OpLookupP            = 16
	OpNVerify            = 17
	OpOpen               = 18
	OpOpenAttr           = 19
	OpOpenConfirm        = 20
	OpOpenDowngrade      = 21
	OpPutFH              = 22
	OpPutPubFH           = 23
	OpPutRootFH          = 24
	OpRead               = 25
	OpReaddir            = 26
	OpReadlink           = 27
	OpRemove             = 28
	OpRename             = 29
	OpRenew              = 30
	OpRestoreFH          = 31
	OpSaveFH             = 32
	OpSecinfo            = 33
	OpSetattr            = 34
	OpSetClientID        = 35
	OpSetClientIDConfirm = 36
	OpVerify             = 37
	OpWrite              = 38
	OpReleaseLockOwner   = 39
	// Minor version 1.
	OpBackchannelCtl    = 40
	OpBindConnToSession = 41
	OpExchangeID        = 42
	OpCreateSession     = 43
	OpDestroySession    = 44
	OpFreeStateid       = 45
	OpGetDirDelegation  = 46
	OpGetDeviceInfo     = 47
	OpGetDeviceList     = 48
	OpLayoutCommit      = 49
	OpLayoutGet         = 50
	OpLayoutReturn      = 51
	OpSecinfoNoName     = 52
	OpSequence          = 53
	OpSetSSV            = 54
	OpTestStateid       = 55
	OpWantDelegation    = 56
	OpDestroyClientID   = 57
	OpReclaimComplete   = 58
	// Minor version 2 (RFC 7862), and RFC 8276's extended attributes.
	OpAllocate      = 59
	OpCopy          = 60
	OpCopyNotify    = 61
	OpDeallocate    = 62
	OpIOAdvise      = 63
	OpLayoutError   = 64
	OpLayoutStats   = 65
	OpOffloadCancel = 66
	OpOffloadStatus = 67
	OpReadPlus      = 68
	OpSeek          = 69
	OpWriteSame     = 70
	OpClone         = 71
	OpGetXattr      = 72
	OpSetXattr      = 73
	OpListXattrs    = 74
	OpRemoveXattr   = 75
	// OpIllegal is the code a server answers an unknown operation with.
	OpIllegal = 10044
)

// nfsstat4 values (RFC 8881 section 15; NFS4StatName names them all):
// those that change what a result holds, and those that say a client
// must wait, retry or recover, which is what stalls are made of.
const (
	NFS4OK                   = 0
	NFS4ErrTooSmall          = 10005
	NFS4ErrDelay             = 10008 // the server is busy, retry later: NFSv3's JUKEBOX
	NFS4ErrDenied            = 10010 // a lock conflicts
	NFS4ErrExpired           = 10011
	NFS4ErrGrace             = 10013 // the server is in its grace period after a restart
	NFS4ErrClidInUse         = 10017
	NFS4ErrMinorVersMismatch = 10021
	NFS4ErrStaleClientID     = 10022
	NFS4ErrStaleStateid      = 10023
	NFS4ErrBadStateid        = 10025
	NFS4ErrLeaseMoved        = 10031
	NFS4ErrNoGrace           = 10033
	NFS4ErrOpIllegal         = 10044
	NFS4ErrAdminRevoked      = 10047
	NFS4ErrCBPathDown        = 10048
	NFS4ErrBadSession        = 10052
	NFS4ErrBadSlot           = 10053
	NFS4ErrConnNotBound      = 10055 // NFS4ERR_CONN_NOT_BOUND_TO_SESSION
	NFS4ErrLayoutTryLater    = 10058
	NFS4ErrLayoutUnavail     = 10059 // NFS4ERR_LAYOUTUNAVAILABLE
	NFS4ErrRecallConflict    = 10061
	NFS4ErrSeqMisordered     = 10063
	NFS4ErrRetryUncached     = 10068 // NFS4ERR_RETRY_UNCACHED_REP
	NFS4ErrSeqFalseRetry     = 10076
	NFS4ErrBadHighSlot       = 10077
	NFS4ErrDeadSession       = 10078
	NFS4ErrReturnConflict    = 10086
	NFS4ErrDelegRevoked      = 10087
	NFS4ErrOffloadNoReqs     = 10094
)

// open_claim_type4 values (RFC 8881 section 18.16).
const (
	ClaimNull         = 0
	ClaimPrevious     = 1
	ClaimDelegateCur  = 2
	ClaimDelegatePrev = 3
	ClaimFH           = 4
	ClaimDelegCurFH   = 5
	ClaimDelegPrevFH  = 6
)

// opentype4 and createmode4 values of OPEN.
const (
	openCreate         = 1 // OPEN4_CREATE
	createUnchecked4   = 0
	createGuarded4     = 1
	createExclusive4   = 2
	createExclusive4_1 = 3
)

// open_delegation_type4 values: what OPEN granted.
const (
	DelegNone    = 0
	DelegRead    = 1
	DelegWrite   = 2
	DelegNoneExt = 3 // 4.1: none, with the reason why
)

// Sizes and limits from the protocol's XDR.
const (
	nfs4FHSize    = 128 // NFS4_FHSIZE
	stateid4Size  = 16  // seqid and other[12]
	sessionIDSize = 16  // NFS4_SESSIONID_SIZE
	verifier4Size = 8   // NFS4_VERIFIER_SIZE
	changeInfo4   = 20  // bool atomic, changeid4 before and after
	nfstime4Size  = 12  // int64 seconds, uint32 nseconds
	deviceIDSize  = 16  // NFS4_DEVICEID4_SIZE
	maxOwner4     = 1024
	// Strings without a bound in the XDR get one that tells garbage from a
	// snaplen cut: names as for NFSv3; tags, attribute lists, layout bodies
	// and data the largest record the Framer accepts.
	maxNFS4Name = maxNFS3Name
	maxNFS4Data = DefaultMaxFragment
	// bitmap4 is uint32<>: servers know well under 100 attributes.
	maxBitmap4 = 8
)

// MaxOps is how many operations of a COMPOUND have their fields kept. The
// Linux client sends at most a dozen; the rest of a longer compound are
// still decoded (to find the ones after) and counted.
const MaxOps = 32

// Bits of OpArgs4.Has and OpRes4.Has beyond the NFSv3 ones (HasFH,
// HasName, HasName2, HasOffset, HasCount, HasStable, HasStatus, HasEOF,
// HasCommitted, HasVerf keep their meaning).
const (
	HasStateid = HasVerf << (iota + 1)
	HasLength
	HasType
	HasSeqid
	HasOwner
	HasClaim
	HasDeleg
	HasDenied
	HasSession
	HasClientID
	HasShare
)

// ErrUnknownOp means an operation code that no minor version defines: the
// length of its arguments is unknown, so nothing after it can be read.
var ErrUnknownOp = errors.New("nfs4: unknown operation")

// Stateid4 is a stateid4: a sequence number and 12 bytes the server chose.
type Stateid4 struct {
	Seqid uint32
	Other [12]byte
}

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

func (o *OpArgs4) mark(x *XDR, bit uint32) {
	if x.err == nil {
		o.Has |= bit
	}
}

// SequenceArgs4 is SEQUENCE's arguments (4.1): which slot of which
// session the request uses.
type SequenceArgs4 struct {
	SessionID     [sessionIDSize]byte
	SequenceID    uint32
	SlotID        uint32
	HighestSlotID uint32
	CacheThis     bool
}

// ChannelAttrs4 is a channel_attrs4 of CREATE_SESSION: MaxRequests is the
// channel's slot count.
type ChannelAttrs4 struct {
	HeaderPadSize, MaxRequestSize, MaxResponseSize, MaxResponseSizeCached uint32
	MaxOperations, MaxRequests                                            uint32
}

// CreateSessionArgs4 is CREATE_SESSION's arguments (4.1).
type CreateSessionArgs4 struct {
	ClientID   uint64
	SequenceID uint32
	Flags      uint32 // CREATE_SESSION4_FLAG_PERSIST 1, CONN_BACK_CHAN 2, CONN_RDMA 4
	Fore, Back ChannelAttrs4
	CBProgram  uint32 // the program of the server's callbacks on the back channel
}

// ExchangeIDArgs4 is EXCHANGE_ID's arguments (4.1). Owner aliases the input.
type ExchangeIDArgs4 struct {
	Verifier [verifier4Size]byte
	Owner    []byte // co_ownerid: the client's name for itself
	Flags    uint32
}

// SetClientIDArgs4 is SETCLIENTID's arguments (4.0): the client and where
// the server is to call it back. Slices alias the input.
type SetClientIDArgs4 struct {
	Verifier      [verifier4Size]byte
	ID            []byte // the client's name for itself
	CBProgram     uint32
	NetID, Addr   []byte // r_netid ("tcp", "tcp6") and r_addr (universal address: h1.h2.h3.h4.p1.p2)
	CallbackIdent uint32
}

// Bits of Compound4Args.Has and Compound4Res.Has: which of the single
// operations' structs were decoded whole.
const (
	HasSequence = 1 << iota
	HasCreateSession
	HasExchangeID
	HasSetClientID
	HasBackchannelCtl
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

// OpError says which operation of a compound did not decode, and why.
type OpError struct {
	Index  int    // the operation's place in the compound, from 0
	Op     uint32 // its code; 0 when the code was cut
	Reply  bool   // in a result rather than the arguments
	CB     bool   // in a callback (CB_COMPOUND)
	Offset int    // byte offset of the item that did not decode
	Err    error  // ErrUnknownOp, ErrShort, ErrTooLong, ErrBadUnion, ...
}

// Error reads like "nfs4 op 3 (OPEN) args at byte 120: xdr: message ends
// early". It is built only when asked for.
func (e *OpError) Error() string {
	s := "nfs4 op "
	name := OpName(e.Op)
	if e.CB {
		s = "nfs4 callback op "
		name = CBOpName(e.Op)
	}
	what := " args"
	if e.Reply {
		what = " result"
	}
	s += strconv.Itoa(e.Index)
	if e.Op != 0 { // 0 is no operation: the code itself did not decode
		s += " (" + name + ")"
	}
	return s + what + " at byte " + strconv.Itoa(e.Offset) + ": " + e.Err.Error()
}

// Unwrap returns the cause.
func (e *OpError) Unwrap() error { return e.Err }

// faults holds the error a COMPOUND decoder returns, inside the struct
// the caller owns, so that a message cut short (every WRITE call whose
// data was not all captured) costs no allocation. The error is valid
// until the struct is decoded into again.
type faults struct {
	op  OpError
	hdr DecodeError
}

func (f *faults) set(e OpError) error {
	f.op = e
	return &f.op
}

// opFail wraps the cursor's error as an OpError.
func (x *XDR) opFail(f *faults, i int, op uint32, reply, cb bool, base int) error {
	return f.set(OpError{Index: i, Op: op, Reply: reply, CB: cb, Offset: base + x.off, Err: x.err})
}

// hdrFail wraps the cursor's error, met before the first operation, as a
// DecodeError.
func (x *XDR) hdrFail(f *faults, where string) error {
	f.hdr = DecodeError{Where: where, Offset: x.off, Err: x.err}
	return &f.hdr
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
	if a.ResumeAt <= 0 {
		return ErrBadResume
	}
	x := NewXDR(b)
	base := a.ResumeAt
	a.ResumeAt = 0
	return a.ops(&x, base)
}

// ErrBadResume means a resume was asked of a decode that did not stop in
// data that ran past its buffer.
var ErrBadResume = errors.New("nfs4: nothing to resume")

// ops decodes the operations from the (a.N)th on; base is the offset in
// the arguments of x's first byte.
func (a *Compound4Args) ops(x *XDR, base int) error {
	for i := a.N; uint32(i) < a.NumOps; i++ {
		o := &a.spare
		if i < MaxOps {
			o = &a.Ops[i]
		}
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
			if a.dataEnd > 0 && x.err == ErrShort {
				a.ResumeAt = base + a.dataEnd
			}
			return x.opFail(&a.faults, i, o.Op, false, false, base)
		}
	}
	return nil
}

// opArgs reads the arguments of operation o.Op; false for an unknown code.
func (a *Compound4Args) opArgs(x *XDR, o *OpArgs4) bool {
	switch o.Op {
	case OpGetFH, OpLookupP, OpPutPubFH, OpPutRootFH, OpReadlink, OpRestoreFH, OpSaveFH, OpIllegal:
		// void
	case OpAccess, OpSecinfoNoName:
		x.Uint32()
	case OpOpenAttr:
		x.Bool()
	case OpClose:
		o.Seqid = x.Uint32()
		o.mark(x, HasSeqid)
		o.stateid(x)
	case OpCommit:
		o.Offset = x.Uint64()
		o.mark(x, HasOffset)
		o.Count = x.Uint32()
		o.mark(x, HasCount)
	case OpCreate:
		o.Type = x.Uint32()
		o.mark(x, HasType)
		switch o.Type {
		case nf4Lnk:
			o.Name2 = x.Opaque(maxNFS4Name)
			o.mark(x, HasName2)
		case nf4Blk, nf4Chr:
			x.Skip(8) // specdata4
		}
		// Every other type takes the union's default arm: void.
		o.Name = x.Opaque(maxNFS4Name)
		o.mark(x, HasName)
		fattr4(x)
	case OpDelegPurge, OpRenew, OpDestroyClientID:
		o.ClientID = x.Uint64()
		o.mark(x, HasClientID)
	case OpDelegReturn, OpFreeStateid, OpOffloadCancel, OpOffloadStatus:
		o.stateid(x)
	case OpGetattr:
		bitmap4(x)
	case OpLink, OpLookup, OpRemove, OpSecinfo, OpGetXattr, OpRemoveXattr:
		o.Name = x.Opaque(maxNFS4Name)
		o.mark(x, HasName)
	case OpLock:
		o.Type = x.Uint32()
		o.mark(x, HasType)
		o.Reclaim = x.Bool()
		o.range4(x)
		o.NewLockOwner = x.Bool()
		if o.NewLockOwner {
			x.Uint32() // open seqid
			o.stateid(x)
			o.Seqid = x.Uint32()
			o.mark(x, HasSeqid)
			o.owner(x)
		} else {
			o.stateid(x)
			o.Seqid = x.Uint32()
			o.mark(x, HasSeqid)
		}
	case OpLockT:
		o.Type = x.Uint32()
		o.mark(x, HasType)
		o.range4(x)
		o.owner(x)
	case OpLockU:
		o.Type = x.Uint32()
		o.mark(x, HasType)
		o.Seqid = x.Uint32()
		o.mark(x, HasSeqid)
		o.stateid(x)
		o.range4(x)
	case OpNVerify, OpVerify:
		fattr4(x)
	case OpOpen:
		o.open(x)
	case OpOpenConfirm:
		o.stateid(x)
		o.Seqid = x.Uint32()
		o.mark(x, HasSeqid)
	case OpOpenDowngrade:
		o.stateid(x)
		o.Seqid = x.Uint32()
		o.mark(x, HasSeqid)
		o.ShareAccess = x.Uint32()
		o.ShareDeny = x.Uint32()
		o.mark(x, HasShare)
	case OpPutFH:
		o.FH = x.Opaque(nfs4FHSize)
		o.mark(x, HasFH)
	case OpRead, OpReadPlus:
		o.stateid(x)
		o.Offset = x.Uint64()
		o.mark(x, HasOffset)
		o.Count = x.Uint32()
		o.mark(x, HasCount)
	case OpReaddir:
		x.Skip(8 + verifier4Size) // cookie, cookieverf
		x.Uint32()                // dircount
		o.Count = x.Uint32()
		o.mark(x, HasCount)
		bitmap4(x)
	case OpRename:
		o.Name = x.Opaque(maxNFS4Name)
		o.mark(x, HasName)
		o.Name2 = x.Opaque(maxNFS4Name)
		o.mark(x, HasName2)
	case OpSetattr:
		o.stateid(x)
		fattr4(x)
	case OpSetClientID:
		s := &a.SetClientID
		*s = SetClientIDArgs4{}
		copy(s.Verifier[:], x.FixedOpaque(verifier4Size))
		s.ID = x.Opaque(maxOwner4)
		s.CBProgram = x.Uint32()
		s.NetID = x.Opaque(maxNFS4Name)
		s.Addr = x.Opaque(maxNFS4Name)
		s.CallbackIdent = x.Uint32()
		a.markHas(x, HasSetClientID)
	case OpSetClientIDConfirm:
		o.ClientID = x.Uint64()
		o.mark(x, HasClientID)
		x.Skip(verifier4Size)
	case OpWrite:
		o.stateid(x)
		o.Offset = x.Uint64()
		o.mark(x, HasOffset)
		o.Stable = x.Uint32()
		o.mark(x, HasStable)
		o.Count = o.data(x, &a.dataEnd)
	case OpReleaseLockOwner:
		o.owner(x)
	case OpBackchannelCtl:
		a.BackchannelProgram = x.Uint32()
		secParms(x)
		a.markHas(x, HasBackchannelCtl)
	case OpBindConnToSession:
		o.session(x)
		x.Uint32() // channel_dir_from_client4
		x.Bool()   // use_conn_in_rdma_mode
	case OpExchangeID:
		e := &a.ExchangeID
		*e = ExchangeIDArgs4{}
		copy(e.Verifier[:], x.FixedOpaque(verifier4Size))
		e.Owner = x.Opaque(maxOwner4)
		e.Flags = x.Uint32()
		stateProtect(x, false)
		implID(x)
		a.markHas(x, HasExchangeID)
	case OpCreateSession:
		c := &a.CreateSession
		*c = CreateSessionArgs4{}
		c.ClientID = x.Uint64()
		c.SequenceID = x.Uint32()
		c.Flags = x.Uint32()
		channelAttrs(x, &c.Fore)
		channelAttrs(x, &c.Back)
		c.CBProgram = x.Uint32()
		secParms(x)
		a.markHas(x, HasCreateSession)
	case OpDestroySession:
		o.session(x)
	case OpGetDirDelegation:
		x.Bool()
		bitmap4(x)
		x.Skip(2 * nfstime4Size)
		bitmap4(x)
		bitmap4(x)
	case OpGetDeviceInfo:
		x.Skip(deviceIDSize)
		o.Type = x.Uint32()
		o.mark(x, HasType)
		o.Count = x.Uint32()
		o.mark(x, HasCount)
		bitmap4(x)
	case OpGetDeviceList:
		o.Type = x.Uint32()
		o.mark(x, HasType)
		x.Skip(4 + 8 + verifier4Size) // maxdevices, cookie, cookieverf
	case OpLayoutCommit:
		o.range4(x)
		o.Reclaim = x.Bool()
		o.stateid(x)
		if x.Bool() { // newoffset4
			x.Skip(8)
		}
		if x.Bool() { // newtime4
			x.Skip(nfstime4Size)
		}
		o.Type = x.Uint32()
		o.mark(x, HasType)
		x.Opaque(maxNFS4Data) // layoutupdate4 body
	case OpLayoutGet:
		x.Bool() // signal_layout_avail
		o.Type = x.Uint32()
		o.mark(x, HasType)
		o.IOMode = x.Uint32()
		o.range4(x)
		x.Uint64() // minlength
		o.stateid(x)
		o.Count = x.Uint32()
		o.mark(x, HasCount)
	case OpLayoutReturn:
		o.Reclaim = x.Bool()
		o.Type = x.Uint32()
		o.mark(x, HasType)
		o.IOMode = x.Uint32()
		o.Claim = x.Uint32()
		o.mark(x, HasClaim)
		if x.err == nil && o.Claim == LayoutReturnFile {
			o.range4(x)
			o.stateid(x)
			x.Opaque(maxNFS4Data)
		}
		// LAYOUTRETURN4_FSID, _ALL and any other type: the default arm, void.
	case OpSequence:
		s := &a.Sequence
		*s = SequenceArgs4{}
		copy(s.SessionID[:], x.FixedOpaque(sessionIDSize))
		s.SequenceID = x.Uint32()
		s.SlotID = x.Uint32()
		s.HighestSlotID = x.Uint32()
		s.CacheThis = x.Bool()
		a.markHas(x, HasSequence)
	case OpSetSSV:
		x.Opaque(maxNFS4Data)
		x.Opaque(maxNFS4Data)
	case OpTestStateid:
		n := x.count(stateid4Size)
		x.Skip(n * stateid4Size)
	case OpWantDelegation:
		x.Uint32() // want
		at := x.off
		switch c := x.Uint32(); {
		case x.err != nil:
		case c == ClaimFH || c == ClaimDelegPrevFH:
		case c == ClaimPrevious:
			x.Uint32()
		default:
			x.rejectAt(at, ErrBadUnion)
		}
	case OpReclaimComplete:
		o.Reclaim = x.Bool()
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
	case OpLayoutError:
		o.range4(x)
		o.stateid(x)
		n := x.count(deviceIDSize + 8)
		x.Skip(n * (deviceIDSize + 8)) // device_error4: deviceid, status, opnum
	case OpLayoutStats:
		o.range4(x)
		o.stateid(x)
		x.Skip(32 + deviceIDSize) // read and write io_info4, deviceid
		o.Type = x.Uint32()
		o.mark(x, HasType)
		x.Opaque(maxNFS4Data)
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
	case OpSetXattr:
		x.Uint32() // setxattr_option4
		o.Name = x.Opaque(maxNFS4Name)
		o.mark(x, HasName)
		o.Count = o.data(x, &a.dataEnd)
	case OpListXattrs:
		x.Skip(8) // cookie
		o.Count = x.Uint32()
		o.mark(x, HasCount)
	default:
		return false
	}
	return true
}

func (a *Compound4Args) markHas(x *XDR, bit uint32) {
	if x.err == nil {
		a.Has |= bit
	}
}

// nfs_ftype4 values CREATE switches on.
const (
	nf4Reg       = 1
	nf4Dir       = 2
	nf4Blk       = 3
	nf4Chr       = 4
	nf4Lnk       = 5
	nf4Sock      = 6
	nf4FIFO      = 7
	nf4AttrDir   = 8
	nf4NamedAttr = 9
)

// layoutreturn_type4 values of LAYOUTRETURN.
const (
	LayoutReturnFile = 1
	LayoutReturnFSID = 2
	LayoutReturnAll  = 3
)

func (o *OpArgs4) stateid(x *XDR) {
	readStateid(x, &o.Stateid)
	o.mark(x, HasStateid)
}

func readStateid(x *XDR, s *Stateid4) {
	s.Seqid = x.Uint32()
	copy(s.Other[:], x.FixedOpaque(12))
}

// range4 reads an offset and a length.
func (o *OpArgs4) range4(x *XDR) {
	o.Offset = x.Uint64()
	o.mark(x, HasOffset)
	o.Length = x.Uint64()
	o.mark(x, HasLength)
}

// owner reads a state_owner4 (open_owner4, lock_owner4).
func (o *OpArgs4) owner(x *XDR) {
	o.ClientID = x.Uint64()
	o.Owner = x.Opaque(maxOwner4)
	o.mark(x, HasOwner|HasClientID)
}

func (o *OpArgs4) session(x *XDR) {
	copy(o.SessionID[:], x.FixedOpaque(sessionIDSize))
	o.mark(x, HasSession)
}

// data reads WRITE's data<> without looking at it and returns its length.
// The length is kept (HasCount) even when the data runs past the end of
// the buffer, as a snaplen or a record head leaves it.
func (o *OpArgs4) data(x *XDR, end *int) uint32 {
	at := x.off
	n := x.Uint32()
	if x.err != nil {
		return 0
	}
	if n > maxNFS4Data {
		x.rejectAt(at, ErrTooLong)
		return 0
	}
	o.Has |= HasCount
	*end = x.off + padded(int(n))
	x.Skip(int(n))
	return n
}

// open reads OPEN4args.
func (o *OpArgs4) open(x *XDR) {
	o.Seqid = x.Uint32()
	o.mark(x, HasSeqid)
	o.ShareAccess = x.Uint32()
	o.ShareDeny = x.Uint32()
	o.mark(x, HasShare)
	o.owner(x)
	switch t := x.Uint32(); {
	case x.err != nil:
	case t == openCreate:
		o.Create = true
		at := x.off
		o.CreateMode = x.Uint32()
		switch {
		case x.err != nil:
		case o.CreateMode == createUnchecked4 || o.CreateMode == createGuarded4:
			fattr4(x)
		case o.CreateMode == createExclusive4:
			x.Skip(verifier4Size)
		case o.CreateMode == createExclusive4_1:
			x.Skip(verifier4Size)
			fattr4(x)
		default:
			x.rejectAt(at, ErrBadUnion)
		}
	}
	// OPEN4_NOCREATE and any other opentype4 take the default arm: void.
	at := x.off
	o.Claim = x.Uint32()
	o.mark(x, HasClaim)
	switch {
	case x.err != nil:
	case o.Claim == ClaimNull || o.Claim == ClaimDelegatePrev:
		o.Name = x.Opaque(maxNFS4Name)
		o.mark(x, HasName)
	case o.Claim == ClaimPrevious:
		o.DelegType = x.Uint32()
		o.mark(x, HasDeleg)
	case o.Claim == ClaimDelegateCur:
		o.stateid(x)
		o.Name = x.Opaque(maxNFS4Name)
		o.mark(x, HasName)
	case o.Claim == ClaimDelegCurFH:
		o.stateid(x)
	case o.Claim == ClaimFH || o.Claim == ClaimDelegPrevFH:
	default:
		x.rejectAt(at, ErrBadUnion)
		o.Has &^= HasClaim
	}
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

// channelAttrs reads a channel_attrs4.
func channelAttrs(x *XDR, c *ChannelAttrs4) {
	c.HeaderPadSize = x.Uint32()
	c.MaxRequestSize = x.Uint32()
	c.MaxResponseSize = x.Uint32()
	c.MaxResponseSizeCached = x.Uint32()
	c.MaxOperations = x.Uint32()
	c.MaxRequests = x.Uint32()
	at := x.off
	switch n := x.Uint32(); { // ca_rdma_ird<1>
	case x.err != nil:
	case n > 1:
		x.rejectAt(at, ErrTooLong)
	case n == 1:
		x.Uint32()
	}
}

// secParms skips a callback_sec_parms4<>.
func secParms(x *XDR) {
	for n := x.count(4); n > 0 && x.err == nil; n-- {
		at := x.off
		switch f := x.Uint32(); {
		case x.err != nil:
		case f == AuthNone:
		case f == AuthSys:
			x.Uint32() // stamp
			x.Opaque(maxMachineName)
			x.Skip(8) // uid, gid
			if g := x.count(4); g > maxAuthSysGIDs {
				x.rejectAt(x.off, ErrTooLong)
			} else {
				x.Skip(4 * g)
			}
		case f == RPCSECGSS:
			x.Uint32() // service
			x.Opaque(maxAuthBody)
			x.Opaque(maxAuthBody)
		default:
			x.rejectAt(at, ErrBadUnion)
		}
	}
}

// state_protect_how4 values of EXCHANGE_ID.
const (
	sp4None     = 0
	sp4MachCred = 1
	sp4SSV      = 2
)

// stateProtect skips a state_protect4_a (reply false) or state_protect4_r.
func stateProtect(x *XDR, reply bool) {
	at := x.off
	switch how := x.Uint32(); {
	case x.err != nil:
	case how == sp4None:
	case how == sp4MachCred:
		bitmap4(x)
		bitmap4(x)
	case how == sp4SSV:
		bitmap4(x)
		bitmap4(x)
		if reply {
			x.Skip(16) // hash alg, encr alg, ssv len, window
			for n := x.count(4); n > 0 && x.err == nil; n-- {
				x.Opaque(maxAuthBody)
			}
			return
		}
		for range 2 { // ssp_hash_algs, ssp_encr_algs: sec_oid4<>
			for n := x.count(4); n > 0 && x.err == nil; n-- {
				x.Opaque(maxAuthBody)
			}
		}
		x.Skip(8) // window, num_gss_handles
	default:
		x.rejectAt(at, ErrBadUnion)
	}
}

// implID skips a nfs_impl_id4<1>.
func implID(x *XDR) {
	at := x.off
	n := x.Uint32()
	if x.err == nil && n > 1 {
		x.rejectAt(at, ErrTooLong)
		return
	}
	if n == 1 {
		x.Opaque(maxNFS4Name) // domain
		x.Opaque(maxNFS4Name) // name
		x.Skip(nfstime4Size)
	}
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

// OpTier is the interest Wireshark's NFS dissector gives an operation when
// it picks a compound's nfs.main_opcode (the nfs4_operation_tiers table of
// packet-nfs.c): 1 for the operations that do something, 2 for ACCESS and
// NVERIFY, 3 for GETATTR, PUTPUBFH and PUTROOTFH, 4 for GETFH, PUTFH,
// SAVEFH, RESTOREFH and SEQUENCE. The main opcodes are the operations of
// the lowest tier in the compound; Wireshark lists them all, MainOp
// returns the first. Codes past the table (ILLEGAL, unknown ones) are 1:
// tshark 4.0 names an ILLEGAL result as the main opcode over ACCESS,
// GETATTR, SEQUENCE and PUTFH (the hand-built tshark test holds one).
func OpTier(op uint32) int {
	switch op {
	case OpAccess, OpNVerify:
		return 2
	case OpGetattr, OpPutPubFH, OpPutRootFH:
		return 3
	case OpGetFH, OpPutFH, OpSaveFH, OpRestoreFH, OpSequence:
		return 4
	}
	return 1
}

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

func (o *OpRes4) mark(x *XDR, bit uint32) {
	if x.err == nil {
		o.Has |= bit
	}
}

// SequenceRes4 is SEQUENCE's result (4.1). TargetHighestSlotID below
// HighestSlotID asks the client to use fewer slots; StatusFlags carry
// SEQ4_STATUS_* (callback path down, lease expiring, state revoked...).
type SequenceRes4 struct {
	SessionID           [sessionIDSize]byte
	SequenceID          uint32
	SlotID              uint32
	HighestSlotID       uint32
	TargetHighestSlotID uint32
	StatusFlags         uint32
}

// CreateSessionRes4 is CREATE_SESSION's result (4.1): the session and the
// channels as the server granted them.
type CreateSessionRes4 struct {
	SessionID  [sessionIDSize]byte
	SequenceID uint32
	Flags      uint32
	Fore, Back ChannelAttrs4
}

// ExchangeIDRes4 is EXCHANGE_ID's result (4.1).
type ExchangeIDRes4 struct {
	ClientID   uint64
	SequenceID uint32
	Flags      uint32
}

// SetClientIDRes4 is SETCLIENTID's result (4.0).
type SetClientIDRes4 struct {
	ClientID uint64
	Confirm  [verifier4Size]byte
}

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
	if r.ResumeAt <= 0 {
		return ErrBadResume
	}
	x := NewXDR(b)
	base := r.ResumeAt
	r.ResumeAt = 0
	return r.ops(&x, base)
}

// ops decodes the results from the (r.N)th on; base is the offset in the
// results of x's first byte.
func (r *Compound4Res) ops(x *XDR, base int) error {
	for i := r.N; uint32(i) < r.NumOps; i++ {
		o := &r.spare
		if i < MaxOps {
			o = &r.Ops[i]
		}
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
			if r.dataEnd > 0 && x.err == ErrShort {
				r.ResumeAt = base + r.dataEnd
			}
			return x.opFail(&r.faults, i, o.Op, true, false, base)
		}
	}
	return nil
}

// opRes reads the result of operation o.Op after its status; false for an
// unknown code.
func (r *Compound4Res) opRes(x *XDR, o *OpRes4) bool {
	ok := o.Status == NFS4OK
	switch o.Op {
	case OpDelegPurge, OpDelegReturn, OpLookup, OpLookupP, OpNVerify, OpOpenAttr,
		OpPutFH, OpPutPubFH, OpPutRootFH, OpRenew, OpRestoreFH, OpSaveFH,
		OpSetClientIDConfirm, OpVerify, OpReleaseLockOwner, OpBackchannelCtl,
		OpDestroySession, OpFreeStateid, OpDestroyClientID, OpReclaimComplete,
		OpAllocate, OpDeallocate, OpLayoutError, OpLayoutStats, OpOffloadCancel,
		OpClone, OpIllegal:
		// status only
	case OpSetattr:
		bitmap4(x) // attrsset, whatever the status
	case OpAccess:
		if ok {
			x.Skip(8) // supported, access
		}
	case OpClose, OpLockU, OpOpenConfirm, OpOpenDowngrade:
		if ok {
			o.stateid(x)
		}
	case OpCommit:
		if ok {
			o.Verf = x.FixedOpaque(verifier4Size)
			o.mark(x, HasVerf)
		}
	case OpCreate:
		if ok {
			x.Skip(changeInfo4)
			bitmap4(x)
		}
	case OpGetattr:
		if ok {
			fattr4(x)
		}
	case OpGetFH:
		if ok {
			o.FH = x.Opaque(nfs4FHSize)
			o.mark(x, HasFH)
		}
	case OpLink, OpRemove, OpSetXattr, OpRemoveXattr:
		if ok {
			x.Skip(changeInfo4)
		}
	case OpLock, OpLockT:
		switch {
		case ok && o.Op == OpLock:
			o.stateid(x)
		case o.Status == NFS4ErrDenied:
			o.Offset = x.Uint64()
			o.Length = x.Uint64()
			o.Type = x.Uint32()
			o.ClientID = x.Uint64()
			o.Owner = x.Opaque(maxOwner4)
			o.mark(x, HasDenied|HasOffset|HasLength|HasType|HasOwner|HasClientID)
		}
	case OpOpen:
		if ok {
			o.stateid(x)
			x.Skip(changeInfo4)
			x.Uint32() // rflags
			bitmap4(x) // attrset
			o.delegation(x)
		}
	case OpRead:
		if ok {
			o.EOF = x.Bool()
			o.mark(x, HasEOF)
			o.Count = uint64(o.data(x, &r.dataEnd))
		}
	case OpReaddir:
		if ok {
			x.Skip(verifier4Size)
			for x.Bool() { // entry4 *: value follows
				x.Skip(8) // cookie
				x.Opaque(maxNFS4Name)
				fattr4(x)
				o.Count++
			}
			o.mark(x, HasCount)
			o.EOF = x.Bool()
			o.mark(x, HasEOF)
		}
	case OpReadlink:
		if ok {
			x.Opaque(maxNFS4Data)
		}
	case OpRename:
		if ok {
			x.Skip(2 * changeInfo4)
		}
	case OpSecinfo, OpSecinfoNoName:
		if ok {
			for n := x.count(4); n > 0 && x.err == nil; n-- {
				if x.Uint32() == RPCSECGSS {
					x.Opaque(maxAuthBody) // oid
					x.Skip(8)             // qop, service
				}
			}
		}
	case OpSetClientID:
		switch {
		case ok:
			s := &r.SetClientID
			*s = SetClientIDRes4{}
			s.ClientID = x.Uint64()
			copy(s.Confirm[:], x.FixedOpaque(verifier4Size))
			r.markHas(x, HasSetClientID)
		case o.Status == NFS4ErrClidInUse:
			x.Opaque(maxNFS4Name) // r_netid
			x.Opaque(maxNFS4Name) // r_addr
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
	case OpBindConnToSession:
		if ok {
			x.Skip(sessionIDSize + 8) // session, direction, rdma mode
		}
	case OpExchangeID:
		if ok {
			e := &r.ExchangeID
			*e = ExchangeIDRes4{}
			e.ClientID = x.Uint64()
			e.SequenceID = x.Uint32()
			e.Flags = x.Uint32()
			stateProtect(x, true)
			x.Uint64()          // so_minor_id
			x.Opaque(maxOwner4) // so_major_id
			x.Opaque(maxOwner4) // server_scope
			implID(x)
			r.markHas(x, HasExchangeID)
		}
	case OpCreateSession:
		if ok {
			c := &r.CreateSession
			*c = CreateSessionRes4{}
			copy(c.SessionID[:], x.FixedOpaque(sessionIDSize))
			c.SequenceID = x.Uint32()
			c.Flags = x.Uint32()
			channelAttrs(x, &c.Fore)
			channelAttrs(x, &c.Back)
			r.markHas(x, HasCreateSession)
		}
	case OpGetDirDelegation:
		if ok {
			at := x.off
			switch s := x.Uint32(); {
			case x.err != nil:
			case s == 0: // GDD4_OK
				x.Skip(verifier4Size + stateid4Size)
				bitmap4(x)
				bitmap4(x)
				bitmap4(x)
			case s == 1: // GDD4_UNAVAIL
				x.Bool()
			default:
				x.rejectAt(at, ErrBadUnion)
			}
		}
	case OpGetDeviceInfo:
		switch {
		case ok:
			o.Type = x.Uint32()
			o.mark(x, HasType)
			x.Opaque(maxNFS4Data)
			bitmap4(x)
		case o.Status == NFS4ErrTooSmall:
			x.Uint32() // mincount
		}
	case OpGetDeviceList:
		if ok {
			x.Skip(8 + verifier4Size)
			n := x.count(deviceIDSize)
			x.Skip(n * deviceIDSize)
			o.EOF = x.Bool()
			o.mark(x, HasEOF)
		}
	case OpLayoutCommit:
		if ok && x.Bool() { // newsize4
			o.Length = x.Uint64()
			o.mark(x, HasLength)
		}
	case OpLayoutGet:
		switch {
		case ok:
			x.Bool() // return_on_close
			o.stateid(x)
			for i, n := 0, x.count(24); i < n && x.err == nil; i++ {
				off, length := x.Uint64(), x.Uint64()
				x.Uint32() // iomode
				typ := x.Uint32()
				x.Opaque(maxNFS4Data)
				if i == 0 {
					o.Offset, o.Length, o.Type = off, length, typ
					o.mark(x, HasOffset|HasLength|HasType)
				}
			}
		case o.Status == NFS4ErrLayoutTryLater:
			x.Bool()
		}
	case OpLayoutReturn:
		if ok && x.Bool() {
			o.stateid(x)
		}
	case OpSequence:
		if ok {
			s := &r.Sequence
			*s = SequenceRes4{}
			copy(s.SessionID[:], x.FixedOpaque(sessionIDSize))
			s.SequenceID = x.Uint32()
			s.SlotID = x.Uint32()
			s.HighestSlotID = x.Uint32()
			s.TargetHighestSlotID = x.Uint32()
			s.StatusFlags = x.Uint32()
			r.markHas(x, HasSequence)
		}
	case OpSetSSV:
		if ok {
			x.Opaque(maxNFS4Data)
		}
	case OpTestStateid:
		if ok {
			n := x.count(4)
			x.Skip(4 * n)
		}
	case OpWantDelegation:
		if ok {
			o.delegation(x)
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
	case OpGetXattr:
		if ok {
			x.Opaque(maxNFS4Data)
		}
	case OpListXattrs:
		if ok {
			x.Skip(8) // cookie
			for n := x.count(4); n > 0 && x.err == nil; n-- {
				x.Opaque(maxNFS4Name)
			}
			o.EOF = x.Bool()
			o.mark(x, HasEOF)
		}
	default:
		return false
	}
	return true
}

func (r *Compound4Res) markHas(x *XDR, bit uint32) {
	if x.err == nil {
		r.Has |= bit
	}
}

func (o *OpRes4) stateid(x *XDR) {
	readStateid(x, &o.Stateid)
	o.mark(x, HasStateid)
}

// data reads READ's data<> as OpArgs4.data does WRITE's.
func (o *OpRes4) data(x *XDR, end *int) uint32 {
	at := x.off
	n := x.Uint32()
	if x.err != nil {
		return 0
	}
	if n > maxNFS4Data {
		x.rejectAt(at, ErrTooLong)
		return 0
	}
	o.Has |= HasCount
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

// limit_by4 and why_no_delegation4 values of a delegation.
const (
	limitSize     = 1
	limitBlocks   = 2
	wndContention = 1
	wndResource   = 2
)

// delegation reads an open_delegation4 (OPEN, WANT_DELEGATION).
func (o *OpRes4) delegation(x *XDR) {
	at := x.off
	o.Deleg = x.Uint32()
	o.mark(x, HasDeleg)
	switch {
	case x.err != nil:
	case o.Deleg == DelegNone:
	case o.Deleg == DelegRead || o.Deleg == DelegWrite:
		readStateid(x, &o.DelegStateid)
		x.Bool() // recall
		if o.Deleg == DelegWrite {
			lat := x.off
			switch l := x.Uint32(); {
			case x.err != nil:
			case l == limitSize || l == limitBlocks:
				x.Skip(8)
			default:
				x.rejectAt(lat, ErrBadUnion)
			}
		}
		x.Skip(12) // nfsace4: type, flag, access mask
		x.Opaque(maxNFS4Name)
	case o.Deleg == DelegNoneExt:
		switch why := x.Uint32(); {
		case x.err != nil:
		case why == wndContention || why == wndResource:
			x.Bool()
		}
	default:
		x.rejectAt(at, ErrBadUnion)
		o.Has &^= HasDeleg
	}
}
