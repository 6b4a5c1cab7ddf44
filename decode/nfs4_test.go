package decode

import (
	"bytes"
	"errors"
	"reflect"
	"slices"
	"strconv"
	"testing"
)

// Pieces of hand-built NFSv4 messages, as a Linux client and server send
// them.
var (
	sess4   = []byte("0123456789abcdef")
	fh4     = []byte{0x01, 0x00, 0x07, 0x01, 0x9c, 0x1b, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x3d, 0x84, 0x2f, 0xa4, 0x0a, 0x00, 0x00, 0x00, 0xd5, 0x9d, 0xc2, 0x4b}
	sid4    = Stateid4{Seqid: 1, Other: [12]byte{0xa, 0xb, 0xc, 0xd, 1, 2, 3, 4, 5, 6, 7, 8}}
	dsid4   = Stateid4{Seqid: 2, Other: [12]byte{9, 9, 9, 9, 1, 2, 3, 4, 5, 6, 7, 8}}
	verf4   = []byte("verifier")
	owner4  = []byte("open id:\x00\x00\x00\x27\x00\x00\x00\x00\x00\x35\x7a\x2a")
	lowner4 = []byte("lock id:\x00\x00\x00\x01")
)

func (w wire) stateid(s Stateid4) wire { return w.u32(s.Seqid).raw(s.Other[:]...) }

// bitmap appends a bitmap4.
func (w wire) bitmap(words ...uint32) wire { return w.u32(uint32(len(words))).u32(words...) }

// fattr appends a fattr4 with mode (bit 33) set to 0644.
func (w wire) fattr() wire { return w.bitmap(0, 2).opaque([]byte{0, 0, 1, 0xa4}) }

// compound4 builds COMPOUND4args with a tag and minor version.
func compound4(minor uint32, ops ...wire) wire {
	w := wire{}.str("tag").u32(minor, uint32(len(ops)))
	for _, op := range ops {
		w = append(w, op...)
	}
	return w
}

// result4 builds COMPOUND4res: the status is the last result's.
func result4(ops ...wire) wire {
	status := uint32(0)
	if len(ops) > 0 {
		last := ops[len(ops)-1]
		status = uint32(last[4])<<24 | uint32(last[5])<<16 | uint32(last[6])<<8 | uint32(last[7])
	}
	w := wire{}.u32(status).str("tag").u32(uint32(len(ops)))
	for _, op := range ops {
		w = append(w, op...)
	}
	return w
}

func opSequence() wire {
	return wire{}.u32(OpSequence).raw(sess4...).u32(7, 3, 9, 1)
}

func opPutFH() wire { return wire{}.u32(OpPutFH).opaque(fh4) }

func opGetattr() wire { return wire{}.u32(OpGetattr).bitmap(0x0010011a, 0x00b0a23a) }

// caseArgs is a COMPOUND whose arguments decode to ops, with check for the
// fields kept.
type caseArgs struct {
	name  string
	in    []byte
	ops   []uint32
	main  uint32
	check func(t *testing.T, a *Compound4Args)
}

func wantOp(t *testing.T, got, want OpArgs4) {
	t.Helper()
	got.At = 0
	if !reflect.DeepEqual(got, want) {
		t.Errorf("op %s:\n got  %+v\n want %+v", OpName(want.Op), got, want)
	}
}

var argsCases4 = []caseArgs{
	{
		name: "4.1 WRITE",
		in: compound4(1, opSequence(), opPutFH(),
			wire{}.u32(OpWrite).stateid(sid4).u64(1<<20).u32(Unstable).opaque([]byte("hello")),
			opGetattr()),
		ops:  []uint32{OpSequence, OpPutFH, OpWrite, OpGetattr},
		main: OpWrite,
		check: func(t *testing.T, a *Compound4Args) {
			if string(a.Tag) != "tag" || a.MinorVersion != 1 || a.NumOps != 4 {
				t.Errorf("header %q %d %d", a.Tag, a.MinorVersion, a.NumOps)
			}
			if _, ok := a.CBProgram(); ok {
				t.Error("a WRITE names a callback program")
			}
			want := SequenceArgs4{SequenceID: 7, SlotID: 3, HighestSlotID: 9, CacheThis: true}
			copy(want.SessionID[:], sess4)
			if a.Sequence != want || a.Has != HasSequence {
				t.Errorf("sequence %+v has %b", a.Sequence, a.Has)
			}
			wantOp(t, a.Ops[1], OpArgs4{Op: OpPutFH, FH: fh4, Has: HasFH})
			wantOp(t, a.Ops[2], OpArgs4{Op: OpWrite, Stateid: sid4, Offset: 1 << 20, Stable: Unstable, Count: 5,
				Has: HasStateid | HasOffset | HasStable | HasCount})
		},
	},
	{
		name: "4.0 READ and COMMIT",
		in: compound4(0, opPutFH(),
			wire{}.u32(OpRead).stateid(sid4).u64(4096).u32(65536),
			wire{}.u32(OpCommit).u64(0).u32(0)),
		ops:  []uint32{OpPutFH, OpRead, OpCommit},
		main: OpRead,
		check: func(t *testing.T, a *Compound4Args) {
			wantOp(t, a.Ops[1], OpArgs4{Op: OpRead, Stateid: sid4, Offset: 4096, Count: 65536, Has: HasStateid | HasOffset | HasCount})
			wantOp(t, a.Ops[2], OpArgs4{Op: OpCommit, Has: HasOffset | HasCount})
		},
	},
	{
		name: "OPEN CLAIM_NULL create",
		in: compound4(1, opSequence(), opPutFH(),
			wire{}.u32(OpOpen, 0, 2, 0).u64(0x1122).opaque(owner4).u32(openCreate, createUnchecked4).fattr().u32(ClaimNull).str("new.txt"),
			wire{}.u32(OpGetFH), opGetattr()),
		ops:  []uint32{OpSequence, OpPutFH, OpOpen, OpGetFH, OpGetattr},
		main: OpOpen,
		check: func(t *testing.T, a *Compound4Args) {
			wantOp(t, a.Ops[2], OpArgs4{Op: OpOpen, ShareAccess: 2, ClientID: 0x1122, Owner: owner4, Create: true,
				CreateMode: createUnchecked4, Claim: ClaimNull, Name: []byte("new.txt"),
				Has: HasSeqid | HasShare | HasOwner | HasClientID | HasClaim | HasName})
		},
	},
	{
		name: "OPEN CLAIM_FH exclusive 4.1",
		in: compound4(1, opSequence(), opPutFH(),
			wire{}.u32(OpOpen, 0, 1, 0).u64(1).opaque(owner4).u32(openCreate, createExclusive4_1).raw(verf4...).fattr().u32(ClaimFH)),
		ops:  []uint32{OpSequence, OpPutFH, OpOpen},
		main: OpOpen,
		check: func(t *testing.T, a *Compound4Args) {
			o := a.Ops[2]
			if o.Claim != ClaimFH || !o.Create || o.CreateMode != createExclusive4_1 || o.Name != nil {
				t.Errorf("%+v", o)
			}
		},
	},
	{
		name: "OPEN CLAIM_PREVIOUS and CLAIM_DELEGATE_CUR",
		in: compound4(0, opPutFH(),
			wire{}.u32(OpOpen, 5, 1, 0).u64(1).opaque(owner4).u32(0, ClaimPrevious, DelegWrite),
			wire{}.u32(OpOpen, 6, 3, 0).u64(1).opaque(owner4).u32(0, ClaimDelegateCur).stateid(dsid4).str("f"),
			wire{}.u32(OpOpen, 7, 1, 0).u64(1).opaque(owner4).u32(0, ClaimDelegCurFH).stateid(dsid4)),
		ops:  []uint32{OpPutFH, OpOpen, OpOpen, OpOpen},
		main: OpOpen,
		check: func(t *testing.T, a *Compound4Args) {
			if o := a.Ops[1]; o.Claim != ClaimPrevious || o.DelegType != DelegWrite || o.Seqid != 5 || o.Has&HasDeleg == 0 {
				t.Errorf("%+v", o)
			}
			if o := a.Ops[2]; o.Claim != ClaimDelegateCur || o.Stateid != dsid4 || string(o.Name) != "f" {
				t.Errorf("%+v", o)
			}
			if o := a.Ops[3]; o.Claim != ClaimDelegCurFH || o.Stateid != dsid4 || o.Has&HasName != 0 {
				t.Errorf("%+v", o)
			}
		},
	},
	{
		name: "LOCK LOCKT LOCKU",
		in: compound4(1, opSequence(), opPutFH(),
			wire{}.u32(OpLock, 2, 0).u64(100).u64(50).u32(1, 3).stateid(sid4).u32(0).u64(0x1122).opaque(lowner4),
			wire{}.u32(OpLock, 1, 1).u64(0).u64(^uint64(0)).u32(0).stateid(dsid4).u32(4),
			wire{}.u32(OpLockT, 2).u64(10).u64(20).u64(0x1122).opaque(lowner4),
			wire{}.u32(OpLockU, 2, 5).stateid(dsid4).u64(100).u64(50)),
		ops:  []uint32{OpSequence, OpPutFH, OpLock, OpLock, OpLockT, OpLockU},
		main: OpLock,
		check: func(t *testing.T, a *Compound4Args) {
			wantOp(t, a.Ops[2], OpArgs4{Op: OpLock, Type: 2, Offset: 100, Length: 50, NewLockOwner: true, Stateid: sid4,
				ClientID: 0x1122, Owner: lowner4, Has: HasType | HasOffset | HasLength | HasStateid | HasSeqid | HasOwner | HasClientID})
			wantOp(t, a.Ops[3], OpArgs4{Op: OpLock, Type: 1, Reclaim: true, Length: ^uint64(0), Stateid: dsid4, Seqid: 4,
				Has: HasType | HasOffset | HasLength | HasStateid | HasSeqid})
			wantOp(t, a.Ops[4], OpArgs4{Op: OpLockT, Type: 2, Offset: 10, Length: 20, ClientID: 0x1122, Owner: lowner4,
				Has: HasType | HasOffset | HasLength | HasOwner | HasClientID})
			wantOp(t, a.Ops[5], OpArgs4{Op: OpLockU, Type: 2, Seqid: 5, Stateid: dsid4, Offset: 100, Length: 50,
				Has: HasType | HasSeqid | HasStateid | HasOffset | HasLength})
		},
	},
	{
		name: "CLOSE DELEGRETURN",
		in:   compound4(1, opSequence(), opPutFH(), wire{}.u32(OpClose, 3).stateid(sid4), wire{}.u32(OpDelegReturn).stateid(dsid4)),
		ops:  []uint32{OpSequence, OpPutFH, OpClose, OpDelegReturn},
		main: OpClose,
		check: func(t *testing.T, a *Compound4Args) {
			wantOp(t, a.Ops[2], OpArgs4{Op: OpClose, Seqid: 3, Stateid: sid4, Has: HasSeqid | HasStateid})
			wantOp(t, a.Ops[3], OpArgs4{Op: OpDelegReturn, Stateid: dsid4, Has: HasStateid})
		},
	},
	{
		name: "LAYOUTGET LAYOUTRETURN",
		in: compound4(1, opSequence(), opPutFH(),
			wire{}.u32(OpLayoutGet, 0, 1, 2).u64(0).u64(^uint64(0)).u64(4096).stateid(sid4).u32(4096),
			wire{}.u32(OpLayoutReturn, 0, 1, 2, LayoutReturnFile).u64(0).u64(^uint64(0)).stateid(sid4).opaque(nil),
			wire{}.u32(OpLayoutReturn, 1, 1, 3, LayoutReturnAll)),
		ops:  []uint32{OpSequence, OpPutFH, OpLayoutGet, OpLayoutReturn, OpLayoutReturn},
		main: OpLayoutGet,
		check: func(t *testing.T, a *Compound4Args) {
			wantOp(t, a.Ops[2], OpArgs4{Op: OpLayoutGet, Type: 1, IOMode: 2, Length: ^uint64(0), Stateid: sid4, Count: 4096,
				Has: HasType | HasOffset | HasLength | HasStateid | HasCount})
			wantOp(t, a.Ops[3], OpArgs4{Op: OpLayoutReturn, Type: 1, IOMode: 2, Claim: LayoutReturnFile, Length: ^uint64(0), Stateid: sid4,
				Has: HasType | HasClaim | HasOffset | HasLength | HasStateid})
			wantOp(t, a.Ops[4], OpArgs4{Op: OpLayoutReturn, Reclaim: true, Type: 1, IOMode: 3, Claim: LayoutReturnAll, Has: HasType | HasClaim})
		},
	},
	{
		name: "EXCHANGE_ID",
		in: compound4(1, wire{}.u32(OpExchangeID).raw(verf4...).str("Linux NFSv4.1 client").u32(0x101, sp4None).
			u32(1).str("kernel.org").str("Linux 6.1").u64(1700000000).u32(0)),
		ops:  []uint32{OpExchangeID},
		main: OpExchangeID,
		check: func(t *testing.T, a *Compound4Args) {
			e := a.ExchangeID
			if string(e.Owner) != "Linux NFSv4.1 client" || e.Flags != 0x101 || string(e.Verifier[:]) != string(verf4) || a.Has != HasExchangeID {
				t.Errorf("%+v", e)
			}
		},
	},
	{
		name: "EXCHANGE_ID machine credential",
		// Empty op bitmaps: tshark shows their bits as nfs.opcode values.
		in:   compound4(1, wire{}.u32(OpExchangeID).raw(verf4...).str("c").u32(1, sp4MachCred).bitmap().bitmap().u32(0)),
		ops:  []uint32{OpExchangeID},
		main: OpExchangeID,
	},
	{
		name: "CREATE_SESSION",
		in: compound4(1, wire{}.u32(OpCreateSession).u64(0x5e1f).u32(1, 3).
			u32(0, 1048576, 1048576, 7584, 8, 64, 0).
			u32(0, 4096, 4096, 0, 2, 1, 0).
			u32(0x40000000).
			u32(2, AuthNone, AuthSys).u32(0).str("host").u32(0, 0).u32(1, 10)),
		ops:  []uint32{OpCreateSession},
		main: OpCreateSession,
		check: func(t *testing.T, a *Compound4Args) {
			want := CreateSessionArgs4{ClientID: 0x5e1f, SequenceID: 1, Flags: 3,
				Fore:      ChannelAttrs4{0, 1048576, 1048576, 7584, 8, 64},
				Back:      ChannelAttrs4{0, 4096, 4096, 0, 2, 1},
				CBProgram: 0x40000000}
			if a.CreateSession != want || a.Has != HasCreateSession {
				t.Errorf("%+v", a.CreateSession)
			}
			if p, ok := a.CBProgram(); p != 0x40000000 || !ok {
				t.Errorf("CBProgram %#x %v", p, ok)
			}
		},
	},
	{
		name: "session upkeep",
		in: compound4(1, opSequence(), wire{}.u32(OpDestroySession).raw(sess4...),
			wire{}.u32(OpBindConnToSession).raw(sess4...).u32(3, 0),
			wire{}.u32(OpReclaimComplete, 1),
			wire{}.u32(OpBackchannelCtl, 0x40000000).u32(1, RPCSECGSS, GSSServiceIntegrity).opaque([]byte("h1")).opaque([]byte("h2")),
			wire{}.u32(OpDestroyClientID).u64(0x5e1f)),
		ops:  []uint32{OpSequence, OpDestroySession, OpBindConnToSession, OpReclaimComplete, OpBackchannelCtl, OpDestroyClientID},
		main: OpDestroySession,
		check: func(t *testing.T, a *Compound4Args) {
			if a.Ops[1].SessionID != [16]byte(sess4) || a.Ops[2].SessionID != [16]byte(sess4) || !a.Ops[3].Reclaim || a.Ops[5].ClientID != 0x5e1f {
				t.Errorf("%+v", a.Ops[:6])
			}
			if p, ok := a.CBProgram(); p != 0x40000000 || !ok {
				t.Errorf("CBProgram %#x %v", p, ok)
			}
		},
	},
	{
		name: "4.0 SETCLIENTID SETCLIENTID_CONFIRM RENEW",
		in: compound4(0, wire{}.u32(OpSetClientID).raw(verf4...).str("0.0.0.0/192.168.1.2 tcp UNIX 0").u32(0x40000000).
			str("tcp").str("192.168.1.2.135.217").u32(1),
			wire{}.u32(OpSetClientIDConfirm).u64(0x77).raw(verf4...),
			wire{}.u32(OpRenew).u64(0x77)),
		ops:  []uint32{OpSetClientID, OpSetClientIDConfirm, OpRenew},
		main: OpSetClientID,
		check: func(t *testing.T, a *Compound4Args) {
			s := a.SetClientID
			if string(s.ID) != "0.0.0.0/192.168.1.2 tcp UNIX 0" || s.CBProgram != 0x40000000 || string(s.NetID) != "tcp" ||
				string(s.Addr) != "192.168.1.2.135.217" || s.CallbackIdent != 1 || a.Has != HasSetClientID {
				t.Errorf("%+v", s)
			}
			if a.Ops[1].ClientID != 0x77 || a.Ops[2].ClientID != 0x77 {
				t.Errorf("%+v", a.Ops[1:3])
			}
			if p, ok := a.CBProgram(); p != 0x40000000 || !ok {
				t.Errorf("CBProgram %#x %v", p, ok)
			}
		},
	},
	{
		name: "LOOKUP path with GETFH",
		in: compound4(1, opSequence(), wire{}.u32(OpPutRootFH), wire{}.u32(OpLookup).str("export"),
			wire{}.u32(OpLookup).str("dir"), wire{}.u32(OpGetFH), opGetattr()),
		ops:  []uint32{OpSequence, OpPutRootFH, OpLookup, OpLookup, OpGetFH, OpGetattr},
		main: OpLookup,
		check: func(t *testing.T, a *Compound4Args) {
			if string(a.Ops[2].Name) != "export" || string(a.Ops[3].Name) != "dir" {
				t.Errorf("%+v", a.Ops[2:4])
			}
		},
	},
	{
		name: "operations skipped over",
		in: compound4(2, opSequence(), opPutFH(),
			wire{}.u32(OpAccess, 0x3f),
			wire{}.u32(OpSetattr).stateid(sid4).fattr(),
			wire{}.u32(OpReaddir).u64(0).raw(verf4...).u32(8192, 32768).bitmap(0x18091a, 0xb0a23a),
			wire{}.u32(OpRemove).str("gone"),
			wire{}.u32(OpRename).str("a").str("b"),
			wire{}.u32(OpCreate, nf4Lnk).str("target").str("link").fattr(),
			wire{}.u32(OpCreate, nf4Chr, 1, 3).str("null").fattr(),
			wire{}.u32(OpCreate, nf4Dir).str("d").fattr(),
			wire{}.u32(OpSaveFH), wire{}.u32(OpRestoreFH),
			wire{}.u32(OpLink).str("hard"),
			wire{}.u32(OpOpenConfirm).stateid(sid4).u32(2),
			wire{}.u32(OpOpenDowngrade).stateid(sid4).u32(3, 1, 0),
			wire{}.u32(OpSecinfo).str("x"), wire{}.u32(OpSecinfoNoName, 0),
			wire{}.u32(OpVerify).fattr(), wire{}.u32(OpNVerify).fattr(),
			wire{}.u32(OpLookupP),
			// Default arms of unions: void.
			wire{}.u32(OpCreate, nf4Reg).str("r").fattr(),
			wire{}.u32(OpOpen, 1, 1, 0).u64(1).opaque(owner4).u32(7, ClaimFH),
			wire{}.u32(OpLayoutReturn, 0, 1, 3, 9),
		),
		ops: []uint32{OpSequence, OpPutFH, OpAccess, OpSetattr, OpReaddir, OpRemove, OpRename, OpCreate, OpCreate, OpCreate,
			OpSaveFH, OpRestoreFH, OpLink, OpOpenConfirm, OpOpenDowngrade, OpSecinfo, OpSecinfoNoName, OpVerify, OpNVerify,
			OpLookupP, OpCreate, OpOpen, OpLayoutReturn},
		main: OpSetattr,
		check: func(t *testing.T, a *Compound4Args) {
			if o := a.Ops[7]; string(o.Name) != "link" || string(o.Name2) != "target" || o.Type != nf4Lnk {
				t.Errorf("CREATE %+v", o)
			}
			if o := a.Ops[6]; string(o.Name) != "a" || string(o.Name2) != "b" {
				t.Errorf("RENAME %+v", o)
			}
		},
	},
	{
		name: "4.1 and 4.2 operations skipped over",
		in: compound4(2, opSequence(), opPutFH(),
			wire{}.u32(OpTestStateid, 2).stateid(sid4).stateid(dsid4),
			wire{}.u32(OpFreeStateid).stateid(sid4),
			wire{}.u32(OpLayoutCommit).u64(0).u64(4096).u32(0).stateid(sid4).u32(1).u64(4095).u32(1).u64(1700000000).u32(0).u32(1).opaque(nil),
			wire{}.u32(OpGetDeviceInfo).raw(sess4...).u32(1, 4096).bitmap(6),
			wire{}.u32(OpAllocate).stateid(sid4).u64(0).u64(1<<20),
			wire{}.u32(OpDeallocate).stateid(sid4).u64(0).u64(1<<20),
			wire{}.u32(OpCopy).stateid(sid4).stateid(dsid4).u64(0).u64(0).u64(1<<20).u32(1, 1).u32(1, nl4NetAddr).str("tcp").str("10.0.0.1.8.1"),
			wire{}.u32(OpClone).stateid(sid4).stateid(dsid4).u64(0).u64(0).u64(4096),
			wire{}.u32(OpSeek).stateid(sid4).u64(0).u32(0),
			wire{}.u32(OpLayoutStats).u64(0).u64(4096).stateid(sid4).u64(1).u64(2).u64(3).u64(4).raw(sess4...).u32(1).opaque(nil),
			wire{}.u32(OpReadPlus).stateid(sid4).u64(0).u32(4096),
			wire{}.u32(OpIOAdvise).stateid(sid4).u64(0).u64(4096).bitmap(1),
			wire{}.u32(OpGetXattr).str("user.a"),
		),
		ops: []uint32{OpSequence, OpPutFH, OpTestStateid, OpFreeStateid, OpLayoutCommit, OpGetDeviceInfo, OpAllocate,
			OpDeallocate, OpCopy, OpClone, OpSeek, OpLayoutStats, OpReadPlus, OpIOAdvise, OpGetXattr},
		main: OpTestStateid,
	},
}

func TestParseCompoundArgs(t *testing.T) {
	for _, tt := range argsCases4 {
		t.Run(tt.name, func(t *testing.T) {
			var a Compound4Args
			a.Tag = []byte("stale") // must be reset
			if err := ParseCompoundArgs(tt.in, &a); err != nil {
				t.Fatalf("ParseCompoundArgs: %v", err)
			}
			if got := a.OpCodes(nil); !slices.Equal(got, tt.ops) {
				t.Errorf("ops %v, want %v", got, tt.ops)
			}
			if got := a.MainOp(); got != tt.main {
				t.Errorf("MainOp %s, want %s", OpName(got), OpName(tt.main))
			}
			for i := range min(a.N, MaxOps) {
				o := &a.Ops[i]
				for _, s := range [][]byte{o.FH, o.Name, o.Name2, o.Owner} {
					if !within(tt.in, s) {
						t.Errorf("op %d: slice %q does not alias the input", i, s)
					}
				}
			}
			if tt.check != nil {
				tt.check(t, &a)
			}
		})
	}
}

// TestParseCompoundArgsCut cuts every case at every length: the decode
// keeps what came before the cut, the same as the full decode, and the
// error wraps ErrShort.
func TestParseCompoundArgsCut(t *testing.T) {
	for _, tt := range argsCases4 {
		t.Run(tt.name, func(t *testing.T) {
			var full, a Compound4Args
			if err := ParseCompoundArgs(tt.in, &full); err != nil {
				t.Fatal(err)
			}
			for n := range len(tt.in) {
				err := ParseCompoundArgs(tt.in[:n], &a)
				if !errors.Is(err, ErrShort) {
					t.Fatalf("cut at %d: err = %v, want ErrShort", n, err)
				}
				var oe *OpError
				// The op that failed is the last one read, or the next
				// one when its code was cut.
				if a.N > 0 && (!errors.As(err, &oe) || oe.Index != a.N-1 && (oe.Index != a.N || oe.Op != 0)) {
					t.Fatalf("cut at %d: err = %v, want an OpError at op %d or %d", n, err, a.N-1, a.N)
				}
				for i := range min(a.N, MaxOps) {
					got, want := a.Ops[i], full.Ops[i]
					if i < a.N-1 {
						if !reflect.DeepEqual(got, want) {
							t.Fatalf("cut at %d: op %d %+v, want %+v", n, i, got, want)
						}
						continue
					}
					if got.Op != want.Op && oe.Op != 0 || got.Has&^want.Has != 0 {
						t.Fatalf("cut at %d: last op %+v, full %+v", n, got, want)
					}
					if got.Has&HasCount != 0 && got.Count != want.Count || got.Has&HasOffset != 0 && got.Offset != want.Offset ||
						got.Has&HasStateid != 0 && got.Stateid != want.Stateid || got.Has&HasName != 0 && !bytes.Equal(got.Name, want.Name) {
						t.Fatalf("cut at %d: last op %+v, full %+v", n, got, want)
					}
				}
			}
		})
	}
}

// TestWriteDataCut: a WRITE whose data runs past the end of what was
// captured (a snaplen, a record head) still gives its length.
func TestWriteDataCut(t *testing.T) {
	in := compound4(1, opSequence(), opPutFH(),
		wire{}.u32(OpWrite).stateid(sid4).u64(0).u32(FileSync).u32(1<<20), // 1 MiB declared, none present
		opGetattr())
	var a Compound4Args
	err := ParseCompoundArgs(in, &a)
	var oe *OpError
	if !errors.Is(err, ErrShort) || !errors.As(err, &oe) || oe.Index != 2 || oe.Op != OpWrite {
		t.Fatalf("err = %v", err)
	}
	if o := a.Ops[2]; a.N != 3 || o.Count != 1<<20 || o.Has&HasCount == 0 || a.MainOp() != OpWrite {
		t.Errorf("N %d, %+v", a.N, o)
	}
	if got := err.Error(); got != "nfs4 op 2 (WRITE) args at byte "+strconv.Itoa(len(in)-16)+": xdr: message ends early" {
		t.Errorf("Error() = %q", got)
	}
}

// TestResumeCompound: a WRITE call (and a READ reply) cut in its data
// by a record head goes on from the bytes after the data, as a record's
// tail holds them, to the same ops as the whole message, offsets
// included.
func TestResumeCompound(t *testing.T) {
	data := bytes.Repeat([]byte("x"), 4097)
	call := compound4(1, opSequence(), opPutFH(),
		wire{}.u32(OpWrite).stateid(sid4).u64(0).u32(FileSync).opaque(data), opGetattr())
	var whole, a Compound4Args
	if err := ParseCompoundArgs(call, &whole); err != nil {
		t.Fatal(err)
	}
	if err := ParseCompoundArgs(call[:200], &a); !errors.Is(err, ErrShort) || a.N != 3 || a.ResumeAt != len(call)-len(opGetattr()) {
		t.Fatalf("head: %v, N %d, ResumeAt %d", err, a.N, a.ResumeAt)
	}
	if err := ResumeCompoundArgs(call[a.ResumeAt:], &a); err != nil {
		t.Fatal(err)
	}
	if a.N != whole.N || a.ResumeAt != 0 || !reflect.DeepEqual(a.Ops[3], whole.Ops[3]) {
		t.Errorf("resumed N %d, %+v; whole %+v", a.N, a.Ops[3], whole.Ops[3])
	}
	if err := ResumeCompoundArgs(call, &a); err != ErrBadResume {
		t.Errorf("second resume: %v", err)
	}
	// Cut in the tail too: the error offset counts from the arguments' start.
	ParseCompoundArgs(call[:200], &a)
	at := a.ResumeAt
	err := ResumeCompoundArgs(call[at:at+6], &a)
	var oe *OpError
	if !errors.As(err, &oe) || oe.Index != 3 || oe.Offset != at+4 || !errors.Is(err, ErrShort) {
		t.Errorf("cut tail: %v", err)
	}

	reply := result4(resSequence(), resOK(OpPutFH), resOK(OpRead).u32(0).opaque(data), resGetattr())
	var wr, r Compound4Res
	if err := ParseCompoundResult(reply, &wr); err != nil {
		t.Fatal(err)
	}
	if err := ParseCompoundResult(reply[:300], &r); !errors.Is(err, ErrShort) || r.Ops[2].Count != 4097 || r.ResumeAt == 0 {
		t.Fatalf("head: %v, %+v", err, r.Ops[2])
	}
	if err := ResumeCompoundResult(reply[r.ResumeAt:], &r); err != nil || r.N != 4 || !reflect.DeepEqual(r.Ops[3], wr.Ops[3]) {
		t.Errorf("resumed: %v, N %d, %+v", err, r.N, r.Ops[3])
	}
	// A cut elsewhere than in data cannot be resumed.
	if ParseCompoundResult(reply[:40], &r); r.ResumeAt != 0 || ResumeCompoundResult(reply, &r) != ErrBadResume {
		t.Errorf("resume after a cut in SEQUENCE: ResumeAt %d", r.ResumeAt)
	}
}

func TestParseCompoundArgsErrors(t *testing.T) {
	tests := []struct {
		name    string
		in      []byte
		err     error
		n       int
		op      uint32
		wantOff int
	}{
		{"unknown op", compound4(1, opSequence(), wire{}.u32(76, 1, 2)), ErrUnknownOp, 2, 76, 16 + 36},
		{"op 0", compound4(0, wire{}.u32(0)), ErrUnknownOp, 1, 0, 16},
		{"OPEN bad claim", compound4(0, wire{}.u32(OpOpen, 0, 1, 0).u64(1).opaque(owner4).u32(0, 9)), ErrBadUnion, 1, OpOpen, 16 + 4 + 12 + 8 + 4 + len(owner4) + 4},
		{"OPEN bad createmode", compound4(0, wire{}.u32(OpOpen, 0, 1, 0).u64(1).opaque(owner4).u32(openCreate, 4)), ErrBadUnion, 1, OpOpen, 16 + 4 + 12 + 8 + 4 + len(owner4) + 4},
		{"OPEN bad delegation to reclaim", compound4(0, wire{}.u32(OpWantDelegation, 0, ClaimNull)), ErrBadUnion, 1, OpWantDelegation, 24},
		{"huge bitmap", compound4(0, wire{}.u32(OpGetattr, 1000)), ErrTooLong, 1, OpGetattr, 20},
		{"handle too long", compound4(0, wire{}.u32(OpPutFH).opaque(make([]byte, 129))), ErrTooLong, 1, OpPutFH, 20},
		{"bad bool", compound4(0, wire{}.u32(OpReclaimComplete, 2)), ErrBadBool, 1, OpReclaimComplete, 20},
		{"many stateids", compound4(0, wire{}.u32(OpTestStateid, 1<<30)), ErrShort, 1, OpTestStateid, 20},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			var a Compound4Args
			err := ParseCompoundArgs(tt.in, &a)
			var oe *OpError
			if !errors.Is(err, tt.err) || !errors.As(err, &oe) {
				t.Fatalf("err = %v, want an OpError wrapping %v", err, tt.err)
			}
			if a.N != tt.n || oe.Index != tt.n-1 || oe.Op != tt.op || oe.Offset != tt.wantOff {
				t.Errorf("N %d, error %+v; want N %d, op %d at %d", a.N, oe, tt.n, tt.op, tt.wantOff)
			}
		})
	}
	var a Compound4Args
	err := ParseCompoundArgs(wire{}.u32(300), &a)
	var de *DecodeError
	if !errors.Is(err, ErrShort) || !errors.As(err, &de) || de.Where != "nfs4 compound args" {
		t.Errorf("short tag: %v", err)
	}
}

func TestCompoundManyOps(t *testing.T) {
	ops := make([]wire, 40)
	for i := range ops {
		ops[i] = wire{}.u32(OpPutRootFH)
	}
	ops[39] = wire{}.u32(OpReadlink)
	var a Compound4Args
	if err := ParseCompoundArgs(compound4(0, ops...), &a); err != nil {
		t.Fatal(err)
	}
	if a.N != 40 || a.NumOps != 40 || len(a.OpCodes(nil)) != MaxOps {
		t.Errorf("N %d NumOps %d kept %d", a.N, a.NumOps, len(a.OpCodes(nil)))
	}
	// READLINK is past the array: the main op is taken among those kept.
	if a.MainOp() != OpPutRootFH {
		t.Errorf("MainOp %s", OpName(a.MainOp()))
	}
}

// TestCompoundHostileCounts: declared counts far above what the buffer
// holds end at the buffer; a megabyte of 4-byte ops is decoded (and
// counted) in one pass.
func TestCompoundHostileCounts(t *testing.T) {
	var a Compound4Args
	in := wire{}.str("").u32(1, 0xffffffff)
	for range 1 << 18 {
		in = in.u32(OpPutRootFH)
	}
	err := ParseCompoundArgs(in, &a)
	if !errors.Is(err, ErrShort) || a.N != 1<<18 || a.NumOps != 0xffffffff {
		t.Errorf("err %v, N %d", err, a.N)
	}
	for _, in := range [][]byte{
		compound4(0, wire{}.u32(OpTestStateid, 0xffffffff)),
		compound4(0, wire{}.u32(OpBackchannelCtl, 1, 0xffffffff)),
		compound4(0, wire{}.u32(OpLayoutError).u64(0).u64(0).stateid(sid4).u32(0x10000000)),
		compound4(0, wire{}.u32(OpCopy).stateid(sid4).stateid(sid4).u64(0).u64(0).u64(0).u32(0, 0, 0x7fffffff)),
	} {
		if err := ParseCompoundArgs(in, &a); !errors.Is(err, ErrShort) {
			t.Errorf("%x: err %v, want ErrShort", in, err)
		}
	}
	var r Compound4Res
	res := wire{}.u32(0).str("").u32(1).u32(OpReaddir, 0).raw(verf4...)
	for range 1 << 14 {
		res = res.u32(1).u64(1).str("n").bitmap().opaque(nil)
	}
	if err := ParseCompoundResult(res, &r); !errors.Is(err, ErrShort) || r.Ops[0].Count != 1<<14 {
		t.Errorf("READDIR without an end: err %v, %d entries", err, r.Ops[0].Count)
	}
}

func TestOpTier(t *testing.T) {
	tests := []struct {
		ops  []uint32
		main uint32
	}{
		{[]uint32{OpSequence, OpPutFH, OpGetattr}, OpGetattr},
		{[]uint32{OpSequence, OpPutRootFH, OpGetFH, OpGetattr}, OpPutRootFH},
		{[]uint32{OpSequence, OpPutFH, OpAccess, OpGetattr}, OpAccess},
		{[]uint32{OpPutFH, OpSaveFH, OpRestoreFH, OpGetFH}, OpPutFH},
		{[]uint32{OpSequence, OpPutFH, OpIllegal}, OpIllegal},
		{[]uint32{OpSequence, OpPutFH, OpSaveFH, OpPutFH, OpClone, OpGetattr}, OpClone},
		{[]uint32{OpSequence}, OpSequence},
		{nil, 0},
	}
	for _, tt := range tests {
		var a Compound4Args
		for i, op := range tt.ops {
			a.Ops[i].Op = op
		}
		a.N = len(tt.ops)
		if got := a.MainOp(); got != tt.main {
			t.Errorf("%v: MainOp %d, want %d", tt.ops, got, tt.main)
		}
	}
}

// caseRes is a COMPOUND reply.
type caseRes struct {
	name   string
	in     []byte
	ops    []uint32
	status uint32
	check  func(t *testing.T, r *Compound4Res)
}

func resSequence() wire {
	return wire{}.u32(OpSequence, NFS4OK).raw(sess4...).u32(7, 3, 63, 31, 0x40)
}

func resOK(op uint32) wire { return wire{}.u32(op, NFS4OK) }

func wantRes(t *testing.T, got, want OpRes4) {
	t.Helper()
	got.At = 0
	if !reflect.DeepEqual(got, want) {
		t.Errorf("result %s:\n got  %+v\n want %+v", OpName(want.Op), got, want)
	}
}

// filesLayout is an nfsv4_1_file_layout4 (RFC 8881 section 13.3), the
// body of a LAYOUT4_NFSV4_1_FILES layout: tshark parses it.
func filesLayout() wire {
	return wire{}.raw(sess4...).u32(4096, 0).u64(0).u32(1).opaque(fh4)
}

// filesDSAddr is an nfsv4_1_file_layout_ds_addr4: stripe indices and the
// data servers' addresses.
func filesDSAddr() wire {
	return wire{}.u32(1, 0).u32(1, 1).str("tcp").str("10.0.0.3.8.1")
}

func resGetattr() wire { return resOK(OpGetattr).fattr() }

var resCases4 = []caseRes{
	{
		name: "4.1 READ",
		in:   result4(resSequence(), resOK(OpPutFH), resOK(OpRead).u32(1).opaque([]byte("data!")), resGetattr()),
		ops:  []uint32{OpSequence, OpPutFH, OpRead, OpGetattr},
		check: func(t *testing.T, r *Compound4Res) {
			want := SequenceRes4{SequenceID: 7, SlotID: 3, HighestSlotID: 63, TargetHighestSlotID: 31, StatusFlags: 0x40}
			copy(want.SessionID[:], sess4)
			if r.Sequence != want || r.Has != HasSequence {
				t.Errorf("sequence %+v", r.Sequence)
			}
			wantRes(t, r.Ops[2], OpRes4{Op: OpRead, EOF: true, Count: 5, Has: HasStatus | HasEOF | HasCount})
		},
	},
	{
		name: "WRITE COMMIT",
		in: result4(resOK(OpPutFH), resOK(OpWrite).u32(65536, FileSync).raw(verf4...),
			resOK(OpCommit).raw(verf4...)),
		ops: []uint32{OpPutFH, OpWrite, OpCommit},
		check: func(t *testing.T, r *Compound4Res) {
			wantRes(t, r.Ops[1], OpRes4{Op: OpWrite, Count: 65536, Committed: FileSync, Verf: verf4, Has: HasStatus | HasCount | HasCommitted | HasVerf})
			wantRes(t, r.Ops[2], OpRes4{Op: OpCommit, Verf: verf4, Has: HasStatus | HasVerf})
		},
	},
	{
		name: "OPEN with a read delegation, GETFH",
		in: result4(resSequence(), resOK(OpPutFH),
			resOK(OpOpen).stateid(sid4).u32(1).u64(1).u64(2).u32(4).bitmap(0, 2).
				u32(DelegRead).stateid(dsid4).u32(0).u32(0, 0, 0x1f).str("OWNER@"),
			resOK(OpGetFH).opaque(fh4), resGetattr()),
		ops: []uint32{OpSequence, OpPutFH, OpOpen, OpGetFH, OpGetattr},
		check: func(t *testing.T, r *Compound4Res) {
			wantRes(t, r.Ops[2], OpRes4{Op: OpOpen, Stateid: sid4, Deleg: DelegRead, DelegStateid: dsid4, Has: HasStatus | HasStateid | HasDeleg})
			wantRes(t, r.Ops[3], OpRes4{Op: OpGetFH, FH: fh4, Has: HasStatus | HasFH})
		},
	},
	{
		name: "OPEN with a write delegation, and none with a reason",
		in: result4(
			resOK(OpOpen).stateid(sid4).u32(0).u64(1).u64(2).u32(4).bitmap().
				u32(DelegWrite).stateid(dsid4).u32(1).u32(limitSize).u64(1<<30).u32(0, 0, 0x1f).str("OWNER@"),
			resOK(OpOpen).stateid(sid4).u32(0).u64(1).u64(2).u32(4).bitmap().u32(DelegNoneExt, wndContention, 1)),
		ops: []uint32{OpOpen, OpOpen},
		check: func(t *testing.T, r *Compound4Res) {
			if r.Ops[0].Deleg != DelegWrite || r.Ops[0].DelegStateid != dsid4 || r.Ops[1].Deleg != DelegNoneExt {
				t.Errorf("%+v", r.Ops[:2])
			}
		},
	},
	{
		name: "LOCK denied",
		in: result4(resSequence(), resOK(OpPutFH),
			wire{}.u32(OpLock, NFS4ErrDenied).u64(0).u64(100).u32(2).u64(0x99).opaque(lowner4)),
		ops:    []uint32{OpSequence, OpPutFH, OpLock},
		status: NFS4ErrDenied,
		check: func(t *testing.T, r *Compound4Res) {
			wantRes(t, r.Ops[2], OpRes4{Op: OpLock, Status: NFS4ErrDenied, Length: 100, Type: 2, ClientID: 0x99, Owner: lowner4,
				Has: HasStatus | HasDenied | HasOffset | HasLength | HasType | HasOwner | HasClientID})
		},
	},
	{
		name: "LOCK LOCKT LOCKU granted",
		in: result4(resOK(OpLock).stateid(sid4), resOK(OpLockT), resOK(OpLockU).stateid(dsid4),
			resOK(OpClose).stateid(sid4), resOK(OpDelegReturn)),
		ops: []uint32{OpLock, OpLockT, OpLockU, OpClose, OpDelegReturn},
		check: func(t *testing.T, r *Compound4Res) {
			if r.Ops[0].Stateid != sid4 || r.Ops[2].Stateid != dsid4 || r.Ops[3].Stateid != sid4 {
				t.Errorf("%+v", r.Ops[:4])
			}
		},
	},
	{
		name:   "LOOKUP fails",
		in:     result4(resSequence(), resOK(OpPutFH), wire{}.u32(OpLookup, 2)),
		ops:    []uint32{OpSequence, OpPutFH, OpLookup},
		status: 2,
	},
	{
		name:   "ILLEGAL after ACCESS and GETATTR",
		in:     result4(resSequence(), resOK(OpPutFH), resOK(OpAccess).u32(1, 1), resGetattr(), wire{}.u32(OpIllegal, NFS4ErrOpIllegal)),
		ops:    []uint32{OpSequence, OpPutFH, OpAccess, OpGetattr, OpIllegal},
		status: NFS4ErrOpIllegal,
	},
	{
		name:   "SEQUENCE fails",
		in:     result4(wire{}.u32(OpSequence, 10052)),
		ops:    []uint32{OpSequence},
		status: 10052,
		check: func(t *testing.T, r *Compound4Res) {
			if r.Has != 0 {
				t.Errorf("Has %b", r.Has)
			}
		},
	},
	{
		name: "EXCHANGE_ID CREATE_SESSION",
		in: result4(
			resOK(OpExchangeID).u64(0x5e1f).u32(1, 0x10003, sp4None).u64(0).str("server").str("scope").u32(0),
			resOK(OpCreateSession).raw(sess4...).u32(1, 2).u32(0, 1048576, 1048576, 7584, 8, 30, 0).u32(0, 4096, 4096, 0, 2, 1, 0)),
		ops: []uint32{OpExchangeID, OpCreateSession},
		check: func(t *testing.T, r *Compound4Res) {
			if r.ExchangeID != (ExchangeIDRes4{0x5e1f, 1, 0x10003}) {
				t.Errorf("%+v", r.ExchangeID)
			}
			want := CreateSessionRes4{SequenceID: 1, Flags: 2, Fore: ChannelAttrs4{0, 1048576, 1048576, 7584, 8, 30}, Back: ChannelAttrs4{0, 4096, 4096, 0, 2, 1}}
			copy(want.SessionID[:], sess4)
			if r.CreateSession != want || r.Has != HasExchangeID|HasCreateSession {
				t.Errorf("%+v", r.CreateSession)
			}
		},
	},
	{
		name: "SETCLIENTID",
		in:   result4(resOK(OpSetClientID).u64(0x77).raw(verf4...), resOK(OpSetClientIDConfirm), resOK(OpRenew)),
		ops:  []uint32{OpSetClientID, OpSetClientIDConfirm, OpRenew},
		check: func(t *testing.T, r *Compound4Res) {
			if r.SetClientID.ClientID != 0x77 || string(r.SetClientID.Confirm[:]) != string(verf4) || r.Has != HasSetClientID {
				t.Errorf("%+v", r.SetClientID)
			}
		},
	},
	{
		name:   "SETCLIENTID in use",
		in:     result4(wire{}.u32(OpSetClientID, NFS4ErrClidInUse).str("tcp").str("10.0.0.2.3.4")),
		ops:    []uint32{OpSetClientID},
		status: NFS4ErrClidInUse,
		check: func(t *testing.T, r *Compound4Res) {
			// RFC 7530 section 16.33.2: SETCLIENTID4res's NFS4ERR_CLID_INUSE
			// arm is the clientaddr4 (r_netid, r_addr) of the holder.
			if string(r.SetClientID.InUseNetID) != "tcp" || string(r.SetClientID.InUseAddr) != "10.0.0.2.3.4" || r.Has != HasClidInUse {
				t.Errorf("%+v, has %b", r.SetClientID, r.Has)
			}
		},
	},
	{
		name: "LAYOUTGET",
		in: result4(resOK(OpLayoutGet).u32(1).stateid(sid4).u32(1).u64(0).u64(^uint64(0)).u32(2, 1).opaque(filesLayout()),
			resOK(OpLayoutReturn).u32(1).stateid(dsid4), resOK(OpLayoutReturn).u32(0)),
		ops: []uint32{OpLayoutGet, OpLayoutReturn, OpLayoutReturn},
		check: func(t *testing.T, r *Compound4Res) {
			wantRes(t, r.Ops[0], OpRes4{Op: OpLayoutGet, Stateid: sid4, Length: ^uint64(0), Type: 1, Has: HasStatus | HasStateid | HasOffset | HasLength | HasType})
			wantRes(t, r.Ops[1], OpRes4{Op: OpLayoutReturn, Stateid: dsid4, Has: HasStatus | HasStateid})
		},
	},
	{
		name:   "LAYOUTGET try later",
		in:     result4(wire{}.u32(OpLayoutGet, NFS4ErrLayoutTryLater, 1)),
		ops:    []uint32{OpLayoutGet},
		status: NFS4ErrLayoutTryLater,
	},
	{
		name: "results skipped over",
		in: result4(resSequence(), resOK(OpPutFH),
			resOK(OpAccess).u32(0x3f, 0x1f),
			wire{}.u32(OpSetattr, 0).bitmap(0, 2),
			resOK(OpReaddir).raw(verf4...).u32(1).u64(1).str("a").fattr().u32(1).u64(2).str("b").fattr().u32(0, 1),
			resOK(OpRemove).u32(1).u64(1).u64(2),
			resOK(OpRename).u32(1).u64(1).u64(2).u32(1).u64(1).u64(2),
			resOK(OpCreate).u32(1).u64(1).u64(2).bitmap(0, 2),
			resOK(OpLink).u32(1).u64(1).u64(2),
			resOK(OpSaveFH), resOK(OpRestoreFH),
			resOK(OpOpenConfirm).stateid(sid4), resOK(OpOpenDowngrade).stateid(sid4),
			resOK(OpSecinfo).u32(2, AuthSys, RPCSECGSS).opaque([]byte{0x2a, 0x86}).u32(0, 1),
			resOK(OpVerify), resOK(OpNVerify),
			resOK(OpTestStateid).u32(2, 0, 10025),
			resOK(OpFreeStateid), resOK(OpDestroySession), resOK(OpReclaimComplete),
			resOK(OpBindConnToSession).raw(sess4...).u32(1, 0),
			resOK(OpLayoutCommit).u32(1).u64(8192),
			resOK(OpGetDeviceInfo).u32(1).opaque(filesDSAddr()).bitmap(),
			resOK(OpAllocate), resOK(OpDeallocate),
			resOK(OpCopy).u32(0).u64(1<<20).u32(FileSync).raw(verf4...).u32(1, 1),
			resOK(OpClone), resOK(OpSeek).u32(0).u64(4096), resOK(OpLayoutStats),
			resOK(OpReadPlus).u32(1, 3, 0).u64(0).opaque([]byte("ab")).u32(1).u64(2).u64(4094).u32(7),
			resOK(OpIOAdvise).bitmap(1),
			resOK(OpReadlink).str("/target"),
		),
		ops: []uint32{OpSequence, OpPutFH, OpAccess, OpSetattr, OpReaddir, OpRemove, OpRename, OpCreate, OpLink, OpSaveFH,
			OpRestoreFH, OpOpenConfirm, OpOpenDowngrade, OpSecinfo, OpVerify, OpNVerify, OpTestStateid, OpFreeStateid,
			OpDestroySession, OpReclaimComplete, OpBindConnToSession, OpLayoutCommit, OpGetDeviceInfo, OpAllocate,
			OpDeallocate, OpCopy, OpClone, OpSeek, OpLayoutStats, OpReadPlus, OpIOAdvise, OpReadlink},
		check: func(t *testing.T, r *Compound4Res) {
			if o := r.Ops[4]; o.Count != 2 || !o.EOF {
				t.Errorf("READDIR %+v", o)
			}
			if o := r.Ops[25]; o.Count != 1<<20 || o.Committed != FileSync {
				t.Errorf("COPY %+v", o)
			}
			if o := r.Ops[27]; o.Offset != 4096 {
				t.Errorf("SEEK %+v", o)
			}
			if o := r.Ops[29]; o.Count != 3 || !o.EOF {
				t.Errorf("READ_PLUS %+v", o)
			}
		},
	},
}

func TestParseCompoundResult(t *testing.T) {
	for _, tt := range resCases4 {
		t.Run(tt.name, func(t *testing.T) {
			var r Compound4Res
			r.Tag = []byte("stale")
			if err := ParseCompoundResult(tt.in, &r); err != nil {
				t.Fatalf("ParseCompoundResult: %v", err)
			}
			if got := r.OpCodes(nil); !slices.Equal(got, tt.ops) {
				t.Errorf("ops %v, want %v", got, tt.ops)
			}
			if r.Status != tt.status || r.Ops[r.N-1].Status != tt.status || string(r.Tag) != "tag" {
				t.Errorf("status %d, last op's %d, want %d", r.Status, r.Ops[r.N-1].Status, tt.status)
			}
			for i := range r.N - 1 {
				if r.Ops[i].Status != NFS4OK {
					t.Errorf("op %d status %d", i, r.Ops[i].Status)
				}
			}
			if tt.check != nil {
				tt.check(t, &r)
			}
		})
	}
}

func TestParseCompoundResultCut(t *testing.T) {
	for _, tt := range resCases4 {
		t.Run(tt.name, func(t *testing.T) {
			var full, r Compound4Res
			if err := ParseCompoundResult(tt.in, &full); err != nil {
				t.Fatal(err)
			}
			for n := range len(tt.in) {
				err := ParseCompoundResult(tt.in[:n], &r)
				if !errors.Is(err, ErrShort) {
					t.Fatalf("cut at %d: err = %v, want ErrShort", n, err)
				}
				for i := range min(r.N, MaxOps) {
					got, want := r.Ops[i], full.Ops[i]
					if i < r.N-1 && !reflect.DeepEqual(got, want) || got.Has&^want.Has != 0 ||
						got.Has&HasStatus != 0 && got.Status != want.Status || got.Has&HasCount != 0 && got.Count != want.Count {
						t.Fatalf("cut at %d: op %d %+v, full %+v", n, i, got, want)
					}
				}
			}
		})
	}
}

func TestParseCompoundResultErrors(t *testing.T) {
	var r Compound4Res
	err := ParseCompoundResult(result4(resSequence(), wire{}.u32(99, 0)), &r)
	var oe *OpError
	if !errors.Is(err, ErrUnknownOp) || !errors.As(err, &oe) || oe.Index != 1 || oe.Op != 99 || !oe.Reply || r.N != 2 {
		t.Errorf("err = %v, N %d", err, r.N)
	}
	if got := err.Error(); got != "nfs4 op 1 (OP99) result at byte "+strconv.Itoa(16+44)+": nfs4: unknown operation" {
		t.Errorf("Error() = %q", got)
	}
	err = ParseCompoundResult(result4(resOK(OpOpen).stateid(sid4).u32(0).u64(1).u64(2).u32(4).bitmap().u32(7)), &r)
	if !errors.Is(err, ErrBadUnion) || r.Ops[0].Has&HasDeleg != 0 || r.Ops[0].Has&HasStateid == 0 {
		t.Errorf("bad delegation type: %v %+v", err, r.Ops[0])
	}
}

func TestNFS4Names(t *testing.T) {
	tests := []struct{ got, want string }{
		{OpName(OpSequence), "SEQUENCE"}, {OpName(OpAccess), "ACCESS"}, {OpName(OpRemoveXattr), "REMOVEXATTR"},
		{OpName(OpReclaimComplete), "RECLAIM_COMPLETE"}, {OpName(OpIllegal), "ILLEGAL"}, {OpName(0), "OP0"}, {OpName(76), "OP76"},
		{CBOpName(CBOpRecall), "CB_RECALL"}, {CBOpName(CBOpOffload), "CB_OFFLOAD"}, {CBOpName(CBOpIllegal), "CB_ILLEGAL"},
		{CBOpName(16), "CB_OP16"}, {CBProcName(0), "CB_NULL"}, {CBProcName(1), "CB_COMPOUND"}, {CBProcName(2), "CB_PROC2"},
		{NFS4StatName(0), "NFS4_OK"}, {NFS4StatName(2), "NFS4ERR_NOENT"}, {NFS4StatName(13), "NFS4ERR_ACCESS"},
		{NFS4StatName(70), "NFS4ERR_STALE"}, {NFS4StatName(10001), "NFS4ERR_BADHANDLE"}, {NFS4StatName(10002), "NFS4ERR_10002"},
		{NFS4StatName(10004), "NFS4ERR_NOTSUPP"}, {NFS4StatName(10008), "NFS4ERR_DELAY"}, {NFS4StatName(10013), "NFS4ERR_GRACE"},
		{NFS4StatName(10044), "NFS4ERR_OP_ILLEGAL"}, {NFS4StatName(10048), "NFS4ERR_CB_PATH_DOWN"},
		{NFS4StatName(10052), "NFS4ERR_BADSESSION"}, {NFS4StatName(10053), "NFS4ERR_BADSLOT"},
		{NFS4StatName(10063), "NFS4ERR_SEQ_MISORDERED"}, {NFS4StatName(10073), "NFS4ERR_10073"},
		{NFS4StatName(10074), "NFS4ERR_CLIENTID_BUSY"}, {NFS4StatName(10087), "NFS4ERR_DELEG_REVOKED"},
		{NFS4StatName(10088), "NFS4ERR_PARTNER_NOTSUPP"}, {NFS4StatName(10094), "NFS4ERR_OFFLOAD_NO_REQS"},
		{NFS4StatName(10096), "NFS4ERR_XATTR2BIG"}, {NFS4StatName(10097), "NFS4ERR_10097"}, {NFS4StatName(3), "NFS4ERR_3"},
		{NFS4StatName(10000), "NFS4ERR_10000"},
	}
	for _, tt := range tests {
		if tt.got != tt.want {
			t.Errorf("got %q, want %q", tt.got, tt.want)
		}
	}
	for _, c := range []struct {
		v    uint32
		name string
	}{
		{NFS4ErrTooSmall, "TOOSMALL"}, {NFS4ErrDelay, "DELAY"}, {NFS4ErrDenied, "DENIED"}, {NFS4ErrExpired, "EXPIRED"},
		{NFS4ErrGrace, "GRACE"}, {NFS4ErrClidInUse, "CLID_INUSE"}, {NFS4ErrMinorVersMismatch, "MINOR_VERS_MISMATCH"},
		{NFS4ErrStaleClientID, "STALE_CLIENTID"}, {NFS4ErrStaleStateid, "STALE_STATEID"}, {NFS4ErrBadStateid, "BAD_STATEID"},
		{NFS4ErrLeaseMoved, "LEASE_MOVED"}, {NFS4ErrNoGrace, "NO_GRACE"}, {NFS4ErrOpIllegal, "OP_ILLEGAL"},
		{NFS4ErrAdminRevoked, "ADMIN_REVOKED"}, {NFS4ErrCBPathDown, "CB_PATH_DOWN"}, {NFS4ErrBadSession, "BADSESSION"},
		{NFS4ErrBadSlot, "BADSLOT"}, {NFS4ErrConnNotBound, "CONN_NOT_BOUND_TO_SESSION"}, {NFS4ErrLayoutTryLater, "LAYOUTTRYLATER"},
		{NFS4ErrLayoutUnavail, "LAYOUTUNAVAILABLE"}, {NFS4ErrRecallConflict, "RECALLCONFLICT"},
		{NFS4ErrSeqMisordered, "SEQ_MISORDERED"}, {NFS4ErrRetryUncached, "RETRY_UNCACHED_REP"},
		{NFS4ErrSeqFalseRetry, "SEQ_FALSE_RETRY"}, {NFS4ErrBadHighSlot, "BAD_HIGH_SLOT"}, {NFS4ErrDeadSession, "DEADSESSION"},
		{NFS4ErrReturnConflict, "RETURNCONFLICT"}, {NFS4ErrDelegRevoked, "DELEG_REVOKED"}, {NFS4ErrOffloadNoReqs, "OFFLOAD_NO_REQS"},
	} {
		if got := NFS4StatName(c.v); got != "NFS4ERR_"+c.name {
			t.Errorf("NFS4StatName(%d) = %s, want NFS4ERR_%s", c.v, got, c.name)
		}
	}
	for op := uint32(3); op <= OpRemoveXattr; op++ {
		if OpName(op) == "OP"+strconv.Itoa(int(op)) {
			t.Errorf("op %d has no name", op)
		}
	}
	if n := testing.AllocsPerRun(100, func() { _ = OpName(OpWrite) + NFS4StatName(10008) + CBOpName(CBOpSequence) }); n > 1 {
		t.Errorf("naming allocates %v times", n)
	}
}
