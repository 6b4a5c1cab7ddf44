package decode

// stateArgs reads the arguments of the state operations (OPEN, CLOSE,
// LOCK, delegations...); false for any other operation.
func (a *Compound4Args) stateArgs(x *XDR, o *OpArgs4) bool {
	switch o.Op {
	case OpClose:
		o.Seqid = x.Uint32()
		o.mark(x, HasSeqid)
		o.stateid(x)
	case OpDelegReturn, OpFreeStateid:
		o.stateid(x)
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
	case OpReleaseLockOwner:
		o.owner(x)
	case OpGetDirDelegation:
		x.Bool()
		bitmap4(x)
		x.Skip(2 * nfstime4Size)
		bitmap4(x)
		bitmap4(x)
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
	default:
		return false
	}
	return true
}

// stateRes reads the results after the status of the state operations
// (OPEN, CLOSE, LOCK, delegations...); false for any other operation.
func (r *Compound4Res) stateRes(x *XDR, o *OpRes4) bool {
	ok := o.Status == NFS4OK
	switch o.Op {
	case OpDelegReturn, OpReleaseLockOwner, OpFreeStateid:
		// status only
	case OpClose, OpLockU, OpOpenConfirm, OpOpenDowngrade:
		if ok {
			o.stateid(x)
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
	case OpTestStateid:
		if ok {
			n := x.count(4)
			x.Skip(4 * n)
		}
	case OpWantDelegation:
		if ok {
			o.delegation(x)
		}
	default:
		return false
	}
	return true
}

// owner reads a state_owner4 (open_owner4, lock_owner4).
func (o *OpArgs4) owner(x *XDR) {
	o.ClientID = x.Uint64()
	o.Owner = x.Opaque(maxOwner4)
	o.mark(x, HasOwner|HasClientID)
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
