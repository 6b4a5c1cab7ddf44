package decode

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

// SetClientIDRes4 is SETCLIENTID's result (4.0). When it failed with
// NFS4ERR_CLID_INUSE (another principal holds the client ID string), the
// server names the callback address of the client that holds it:
// InUseNetID and InUseAddr (a universal address), aliasing the input
// (HasClidInUse).
type SetClientIDRes4 struct {
	ClientID   uint64
	Confirm    [verifier4Size]byte
	InUseNetID []byte
	InUseAddr  []byte
}

// sessionArgs reads the arguments of the client and session operations
// (SETCLIENTID, EXCHANGE_ID, CREATE_SESSION, SEQUENCE...); false for any
// other operation.
func (a *Compound4Args) sessionArgs(x *XDR, o *OpArgs4) bool {
	switch o.Op {
	case OpDelegPurge, OpRenew, OpDestroyClientID:
		o.ClientID = x.Uint64()
		o.mark(x, HasClientID)
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
	case OpReclaimComplete:
		o.Reclaim = x.Bool()
	default:
		return false
	}
	return true
}

// sessionRes reads the results after the status of the client and
// session operations (SETCLIENTID, EXCHANGE_ID, CREATE_SESSION,
// SEQUENCE...); false for any other operation.
func (r *Compound4Res) sessionRes(x *XDR, o *OpRes4) bool {
	ok := o.Status == NFS4OK
	switch o.Op {
	case OpDelegPurge, OpRenew, OpSetClientIDConfirm, OpBackchannelCtl,
		OpDestroySession, OpDestroyClientID, OpReclaimComplete:
		// status only
	case OpSetClientID:
		switch {
		case ok:
			s := &r.SetClientID
			*s = SetClientIDRes4{}
			s.ClientID = x.Uint64()
			copy(s.Confirm[:], x.FixedOpaque(verifier4Size))
			r.markHas(x, HasSetClientID)
		case o.Status == NFS4ErrClidInUse:
			s := &r.SetClientID
			*s = SetClientIDRes4{}
			s.InUseNetID = x.Opaque(maxNFS4Name)
			s.InUseAddr = x.Opaque(maxNFS4Name)
			r.markHas(x, HasClidInUse)
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
	default:
		return false
	}
	return true
}

func (o *OpArgs4) session(x *XDR) {
	copy(o.SessionID[:], x.FixedOpaque(sessionIDSize))
	o.mark(x, HasSession)
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
