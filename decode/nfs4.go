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

// opSlot returns where the ith operation of a compound is kept: ops[i],
// or spare past MaxOps (an operation decoded, not kept).
func opSlot[T any](ops *[MaxOps]T, spare *T, i int) *T {
	if i < MaxOps {
		return &ops[i]
	}
	return spare
}

// hdrFail wraps the cursor's error, met before the first operation, as a
// DecodeError.
func (x *XDR) hdrFail(f *faults, where string) error {
	f.hdr = DecodeError{Where: where, Offset: x.off, Err: x.err}
	return &f.hdr
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

// Operation families: the function that reads an operation's arguments
// and result (sessionArgs and sessionRes, fsArgs and fsRes, ...).
const (
	famUnknown = iota
	famSession
	famFS
	famIO
	famState
	famLayout
)

// opFamilies gives the family of each operation code below OpIllegal.
var opFamilies = [...]uint8{
	OpAccess:             famFS,
	OpClose:              famState,
	OpCommit:             famIO,
	OpCreate:             famFS,
	OpDelegPurge:         famSession,
	OpDelegReturn:        famState,
	OpGetattr:            famFS,
	OpGetFH:              famFS,
	OpLink:               famFS,
	OpLock:               famState,
	OpLockT:              famState,
	OpLockU:              famState,
	OpLookup:             famFS,
	OpLookupP:            famFS,
	OpNVerify:            famFS,
	OpOpen:               famState,
	OpOpenAttr:           famFS,
	OpOpenConfirm:        famState,
	OpOpenDowngrade:      famState,
	OpPutFH:              famFS,
	OpPutPubFH:           famFS,
	OpPutRootFH:          famFS,
	OpRead:               famIO,
	OpReaddir:            famFS,
	OpReadlink:           famFS,
	OpRemove:             famFS,
	OpRename:             famFS,
	OpRenew:              famSession,
	OpRestoreFH:          famFS,
	OpSaveFH:             famFS,
	OpSecinfo:            famFS,
	OpSetattr:            famFS,
	OpSetClientID:        famSession,
	OpSetClientIDConfirm: famSession,
	OpVerify:             famFS,
	OpWrite:              famIO,
	OpReleaseLockOwner:   famState,
	OpBackchannelCtl:     famSession,
	OpBindConnToSession:  famSession,
	OpExchangeID:         famSession,
	OpCreateSession:      famSession,
	OpDestroySession:     famSession,
	OpFreeStateid:        famState,
	OpGetDirDelegation:   famState,
	OpGetDeviceInfo:      famLayout,
	OpGetDeviceList:      famLayout,
	OpLayoutCommit:       famLayout,
	OpLayoutGet:          famLayout,
	OpLayoutReturn:       famLayout,
	OpSecinfoNoName:      famFS,
	OpSequence:           famSession,
	OpSetSSV:             famSession,
	OpTestStateid:        famState,
	OpWantDelegation:     famState,
	OpDestroyClientID:    famSession,
	OpReclaimComplete:    famSession,
	OpAllocate:           famIO,
	OpCopy:               famIO,
	OpCopyNotify:         famIO,
	OpDeallocate:         famIO,
	OpIOAdvise:           famIO,
	OpLayoutError:        famLayout,
	OpLayoutStats:        famLayout,
	OpOffloadCancel:      famIO,
	OpOffloadStatus:      famIO,
	OpReadPlus:           famIO,
	OpSeek:               famIO,
	OpWriteSame:          famIO,
	OpClone:              famIO,
	OpGetXattr:           famFS,
	OpSetXattr:           famFS,
	OpListXattrs:         famFS,
	OpRemoveXattr:        famFS,
}

// opFamily returns the family of operation op, famUnknown for a code no
// minor version defines.
func opFamily(op uint32) uint8 {
	if op < uint32(len(opFamilies)) {
		return opFamilies[op]
	}
	if op == OpIllegal {
		return famFS
	}
	return famUnknown
}
