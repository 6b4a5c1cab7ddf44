package decode

import "strconv"

// The Network Lock Manager (program 100021): byte-range locks for NFSv2
// and v3. Version 4 goes with NFSv3 (64-bit offsets), versions 1 to 3 with
// NFSv2 (32-bit); the XDR is The Open Group's XNFS, Protocols for X/Open
// PC Interworking, chapters 10 and 14 (nlm_prot.x), and RFC 1813 appendix
// II. A blocking LOCK the server cannot grant at once is answered BLOCKED;
// the server's lock manager calls the client's back with GRANTED (or the
// one-way GRANTED_MSG, answered by GRANTED_RES) when the lock is free.
// nfsstall reads only what tells a lock wait: the lock (file handle, owner
// pid, range), the block flag, and the status.

// NLM procedures (the same numbers in versions 1 to 4; SHARE, UNSHARE,
// NM_LOCK and FREE_ALL, 20 to 23, are not read).
const (
	NLMProcTest       = 1
	NLMProcLock       = 2
	NLMProcCancel     = 3
	NLMProcUnlock     = 4
	NLMProcGranted    = 5
	NLMProcTestMsg    = 6
	NLMProcLockMsg    = 7
	NLMProcCancelMsg  = 8
	NLMProcUnlockMsg  = 9
	NLMProcGrantedMsg = 10
	NLMProcTestRes    = 11
	NLMProcLockRes    = 12
	NLMProcCancelRes  = 13
	NLMProcUnlockRes  = 14
	NLMProcGrantedRes = 15
)

// nlm4_stats (nlm_stats in versions 1 to 3 stop at DENIED_GRACE_PERIOD).
const (
	NLMGranted       = 0
	NLMDenied        = 1
	NLMDeniedNoLocks = 2
	NLMBlocked       = 3
	NLMDeniedGrace   = 4
	NLMDeadlock      = 5
	NLMFailed        = 9
)

const (
	lmMaxStrLen = 1024 // LM_MAXSTRLEN: caller_name
	maxNetobj   = 1024 // MAXNETOBJ_SZ: cookies, handles, owners
)

// NLMLock is an nlm4_lock (nlm_lock): who locks what. Slices alias the
// input.
type NLMLock struct {
	CallerName []byte // the client's host name
	FH         []byte
	OH         []byte // the owner handle
	SVID       uint32 // the owner's process id
	Offset     uint64
	Length     uint64 // 0: to the end of the file
}

// Bits of NLMArgs.Has and NLMRes.Has.
const (
	NLMHasLock = 1 << iota
	NLMHasBlock
	NLMHasStat
	NLMHasHolder
)

// NLMArgs is what nfsstall keeps of an NLM call's arguments; meant to be
// reused (ParseNLMArgs resets it).
type NLMArgs struct {
	Cookie    []byte
	Block     bool // LOCK, CANCEL: wait for the lock
	Exclusive bool
	Reclaim   bool // LOCK: reclaimed after a server restart
	Lock      NLMLock
	// Res holds the arguments of the *_RES procedures (11 to 15), which
	// are results sent as calls.
	Res NLMRes
	Has uint32

	err DecodeError
}

// NLMHolder is an nlm4_holder: the lock a TEST found in the way.
type NLMHolder struct {
	Exclusive bool
	SVID      uint32
	OH        []byte
	Offset    uint64
	Length    uint64
}

// NLMRes is an nlm4_res or nlm4_testres.
type NLMRes struct {
	Cookie []byte
	Stat   uint32
	Holder NLMHolder // TEST (TEST_RES) answered DENIED
	Has    uint32

	err DecodeError
}

// nlmLock reads an nlm4_lock (64-bit offset and length) or, before
// version 4, an nlm_lock (32-bit).
func nlmLock(x *XDR, v4 bool, l *NLMLock) {
	l.CallerName = x.Opaque(lmMaxStrLen)
	l.FH = x.Opaque(maxNetobj)
	l.OH = x.Opaque(maxNetobj)
	l.SVID = x.Uint32()
	if v4 {
		l.Offset = x.Uint64()
		l.Length = x.Uint64()
	} else {
		l.Offset = uint64(x.Uint32())
		l.Length = uint64(x.Uint32())
	}
}

// ParseNLMArgs decodes the arguments b of NLM procedure proc of version
// vers into a, resetting it first. Procedures it does not read leave a
// empty and return nil. A message cut short keeps what decoded; the error
// (valid until a is decoded into again) says where it stopped.
func ParseNLMArgs(vers, proc uint32, b []byte, a *NLMArgs) error {
	*a = NLMArgs{}
	x := NewXDR(b)
	v4 := vers >= 4
	switch proc {
	case NLMProcTest, NLMProcTestMsg, NLMProcGranted, NLMProcGrantedMsg:
		a.Cookie = x.Opaque(maxNetobj)
		a.Exclusive = x.Bool()
		nlmLock(&x, v4, &a.Lock)
		x.mark(&a.Has, NLMHasLock)
	case NLMProcLock, NLMProcLockMsg, NLMProcCancel, NLMProcCancelMsg:
		a.Cookie = x.Opaque(maxNetobj)
		a.Block = x.Bool()
		x.mark(&a.Has, NLMHasBlock)
		a.Exclusive = x.Bool()
		nlmLock(&x, v4, &a.Lock)
		x.mark(&a.Has, NLMHasLock)
		if proc == NLMProcLock || proc == NLMProcLockMsg {
			a.Reclaim = x.Bool()
			x.Uint32() // state: the client's NSM state
		}
	case NLMProcUnlock, NLMProcUnlockMsg:
		a.Cookie = x.Opaque(maxNetobj)
		nlmLock(&x, v4, &a.Lock)
		x.mark(&a.Has, NLMHasLock)
	case NLMProcTestRes, NLMProcLockRes, NLMProcCancelRes, NLMProcUnlockRes, NLMProcGrantedRes:
		parseNLMRes(&x, v4, proc == NLMProcTestRes, &a.Res)
		a.Cookie = a.Res.Cookie
	default:
		return nil
	}
	if x.err != nil {
		a.err = DecodeError{Where: "nlm args", Offset: x.off, Err: x.err}
		return &a.err
	}
	return nil
}

// ParseNLMResult decodes the results b of a reply to NLM procedure proc of
// version vers into r, resetting it first: nlm4_testres for TEST, nlm4_res
// for LOCK, CANCEL, UNLOCK and GRANTED; other procedures (the one-way
// *_MSG ones return nothing) leave r empty and return nil.
func ParseNLMResult(vers, proc uint32, b []byte, r *NLMRes) error {
	*r = NLMRes{}
	switch proc {
	case NLMProcTest, NLMProcLock, NLMProcCancel, NLMProcUnlock, NLMProcGranted:
	default:
		return nil
	}
	x := NewXDR(b)
	parseNLMRes(&x, vers >= 4, proc == NLMProcTest, r)
	if x.err != nil {
		r.err = DecodeError{Where: "nlm result", Offset: x.off, Err: x.err}
		return &r.err
	}
	return nil
}

// parseNLMRes reads an nlm4_res, or with test an nlm4_testres (whose
// DENIED arm holds the lock in the way).
func parseNLMRes(x *XDR, v4, test bool, r *NLMRes) {
	r.Cookie = x.Opaque(maxNetobj)
	r.Stat = x.Uint32()
	x.mark(&r.Has, NLMHasStat)
	if !test || x.err != nil || r.Stat != NLMDenied {
		return
	}
	h := &r.Holder
	h.Exclusive = x.Bool()
	h.SVID = x.Uint32()
	h.OH = x.Opaque(maxNetobj)
	if v4 {
		h.Offset = x.Uint64()
		h.Length = x.Uint64()
	} else {
		h.Offset = uint64(x.Uint32())
		h.Length = uint64(x.Uint32())
	}
	x.mark(&r.Has, NLMHasHolder)
}

// NLMStatName names an nlm4_stats value.
func NLMStatName(s uint32) string {
	switch s {
	case NLMGranted:
		return "NLM4_GRANTED"
	case NLMDenied:
		return "NLM4_DENIED"
	case NLMDeniedNoLocks:
		return "NLM4_DENIED_NOLOCKS"
	case NLMBlocked:
		return "NLM4_BLOCKED"
	case NLMDeniedGrace:
		return "NLM4_DENIED_GRACE_PERIOD"
	case NLMDeadlock:
		return "NLM4_DEADLCK"
	case 6:
		return "NLM4_ROFS"
	case 7:
		return "NLM4_STALE_FH"
	case 8:
		return "NLM4_FBIG"
	case NLMFailed:
		return "NLM4_FAILED"
	}
	return "NLM4_STAT_" + strconv.FormatUint(uint64(s), 10)
}
