package decode

import (
	"errors"
	"reflect"
	"testing"
)

// cbCompound builds CB_COMPOUND4args.
func cbCompound(minor, ident uint32, ops ...wire) wire {
	w := wire{}.str("").u32(minor, ident, uint32(len(ops)))
	for _, op := range ops {
		w = append(w, op...)
	}
	return w
}

func cbSequence() wire {
	// One referring call list with two calls.
	return wire{}.u32(CBOpSequence).raw(sess4...).u32(4, 0, 0, 0).
		u32(1).raw(sess4...).u32(2, 11, 3, 12, 4)
}

var cbArgsCases = []struct {
	name  string
	in    []byte
	ops   []uint32
	main  uint32
	check func(t *testing.T, a *CBCompound4Args)
}{
	{
		name: "4.1 CB_RECALL",
		in:   cbCompound(1, 0, cbSequence(), wire{}.u32(CBOpRecall).stateid(dsid4).u32(1).opaque(fh4)),
		ops:  []uint32{CBOpSequence, CBOpRecall},
		main: CBOpRecall,
		check: func(t *testing.T, a *CBCompound4Args) {
			want := CBSequenceArgs4{SequenceID: 4, ReferringCalls: 2}
			copy(want.SessionID[:], sess4)
			if a.Sequence != want || a.Has != HasSequence {
				t.Errorf("%+v", a.Sequence)
			}
			o := a.Ops[1]
			o.At = 0
			if !reflect.DeepEqual(o, CBOpArgs4{Op: CBOpRecall, Stateid: dsid4, Truncate: true, FH: fh4, Has: HasStateid | HasFH}) {
				t.Errorf("%+v", o)
			}
		},
	},
	{
		name: "4.0 CB_RECALL",
		in:   cbCompound(0, 1, wire{}.u32(CBOpRecall).stateid(dsid4).u32(0).opaque(fh4)),
		ops:  []uint32{CBOpRecall},
		main: CBOpRecall,
		check: func(t *testing.T, a *CBCompound4Args) {
			if a.CallbackIdent != 1 || a.MinorVersion != 0 || a.Ops[0].Truncate {
				t.Errorf("%+v", a)
			}
		},
	},
	{
		name: "CB_LAYOUTRECALL",
		in: cbCompound(1, 0, cbSequence(),
			wire{}.u32(CBOpLayoutRecall, 1, 3, 1, LayoutRecallFile).opaque(fh4).u64(0).u64(^uint64(0)).stateid(sid4),
			wire{}.u32(CBOpLayoutRecall, 1, 3, 0, LayoutRecallFSID).u64(1).u64(2),
			wire{}.u32(CBOpLayoutRecall, 1, 3, 0, LayoutRecallAll)),
		ops:  []uint32{CBOpSequence, CBOpLayoutRecall, CBOpLayoutRecall, CBOpLayoutRecall},
		main: CBOpLayoutRecall,
		check: func(t *testing.T, a *CBCompound4Args) {
			o := a.Ops[1]
			if o.Type != 1 || o.IOMode != 3 || !o.Changed || o.Recall != LayoutRecallFile || o.Length != ^uint64(0) || o.Stateid != sid4 || string(o.FH) != string(fh4) {
				t.Errorf("%+v", o)
			}
			if a.Ops[2].Recall != LayoutRecallFSID || a.Ops[3].Recall != LayoutRecallAll {
				t.Errorf("%+v", a.Ops[2:4])
			}
		},
	},
	{
		name: "CB_NOTIFY_LOCK CB_OFFLOAD CB_GETATTR",
		in: cbCompound(2, 0, cbSequence(),
			wire{}.u32(CBOpNotifyLock).opaque(fh4).u64(0x99).opaque(lowner4),
			wire{}.u32(CBOpOffload).opaque(fh4).stateid(sid4).u32(NFS4OK).u32(0).u64(1<<20).u32(FileSync).raw(verf4...),
			wire{}.u32(CBOpOffload).opaque(fh4).stateid(sid4).u32(10006).u64(4096),
			wire{}.u32(CBOpGetattr).opaque(fh4).bitmap(0x18)),
		ops:  []uint32{CBOpSequence, CBOpNotifyLock, CBOpOffload, CBOpOffload, CBOpGetattr},
		main: CBOpNotifyLock,
		check: func(t *testing.T, a *CBCompound4Args) {
			if o := a.Ops[1]; o.ClientID != 0x99 || string(o.Owner) != string(lowner4) {
				t.Errorf("%+v", o)
			}
			if o := a.Ops[2]; o.Status != NFS4OK || o.Count != 1<<20 || o.Stateid != sid4 {
				t.Errorf("%+v", o)
			}
			if o := a.Ops[3]; o.Status != 10006 || o.Count != 4096 {
				t.Errorf("%+v", o)
			}
		},
	},
	{
		name: "CB_RECALL_ANY",
		in:   cbCompound(1, 0, cbSequence(), wire{}.u32(CBOpRecallAny, 10).bitmap(1), wire{}.u32(CBOpRecallSlot, 4)),
		ops:  []uint32{CBOpSequence, CBOpRecallAny, CBOpRecallSlot},
		main: CBOpRecallAny,
	},
	{
		name: "CB_RECALLABLE_OBJ_AVAIL",
		in:   cbCompound(1, 0, cbSequence(), wire{}.u32(CBOpRecallableObjAvail, 10).bitmap(1), wire{}.u32(CBOpRecallSlot, 4)),
		ops:  []uint32{CBOpSequence, CBOpRecallableObjAvail, CBOpRecallSlot},
		main: CBOpRecallableObjAvail,
	},
	{
		name: "CB_WANTS_CANCELLED",
		in:   cbCompound(1, 0, cbSequence(), wire{}.u32(CBOpWantsCancelled, 1, 0), wire{}.u32(CBOpRecallSlot, 4)),
		ops:  []uint32{CBOpSequence, CBOpWantsCancelled, CBOpRecallSlot},
		main: CBOpWantsCancelled,
	},
	{
		name: "CB_NOTIFY_DEVICEID",
		in:   cbCompound(1, 0, cbSequence(), wire{}.u32(CBOpNotifyDeviceID, 1).bitmap(2).opaque([]byte("x")), wire{}.u32(CBOpRecallSlot, 4)),
		ops:  []uint32{CBOpSequence, CBOpNotifyDeviceID, CBOpRecallSlot},
		main: CBOpNotifyDeviceID,
	},
	{
		name: "CB_PUSH_DELEG",
		in: cbCompound(1, 0, cbSequence(),
			wire{}.u32(CBOpPushDeleg).opaque(fh4).u32(DelegRead).stateid(dsid4).u32(0).u32(0, 0, 1).str("OWNER@"),
			wire{}.u32(CBOpRecallSlot, 4)),
		ops:  []uint32{CBOpSequence, CBOpPushDeleg, CBOpRecallSlot},
		main: CBOpPushDeleg,
	},
	{
		name: "CB_NOTIFY",
		in:   cbCompound(1, 0, cbSequence(), wire{}.u32(CBOpNotify).stateid(dsid4).opaque(fh4).u32(1).bitmap(2).opaque([]byte("x"))),
		ops:  []uint32{CBOpSequence, CBOpNotify},
		main: CBOpNotify,
	},
	{
		name: "CB_SEQUENCE alone",
		in:   cbCompound(1, 0, cbSequence()),
		ops:  []uint32{CBOpSequence},
		main: CBOpSequence,
	},
}

func cbOpCodes(a *CBCompound4Args) []uint32 {
	var ops []uint32
	for i := range min(a.N, MaxOps) {
		ops = append(ops, a.Ops[i].Op)
	}
	return ops
}

func TestParseCBCompoundArgs(t *testing.T) {
	for _, tt := range cbArgsCases {
		t.Run(tt.name, func(t *testing.T) {
			var a CBCompound4Args
			if err := ParseCBCompoundArgs(tt.in, &a); err != nil {
				t.Fatal(err)
			}
			if got := cbOpCodes(&a); !reflect.DeepEqual(got, tt.ops) {
				t.Errorf("ops %v, want %v", got, tt.ops)
			}
			if a.MainCBOp() != tt.main {
				t.Errorf("MainCBOp %s, want %s", CBOpName(a.MainCBOp()), CBOpName(tt.main))
			}
			if tt.check != nil {
				tt.check(t, &a)
			}
			for n := range len(tt.in) {
				var p CBCompound4Args
				if err := ParseCBCompoundArgs(tt.in[:n], &p); !errors.Is(err, ErrShort) {
					t.Fatalf("cut at %d: %v", n, err)
				}
				for i := range min(p.N, MaxOps) - 1 {
					if !reflect.DeepEqual(p.Ops[i], a.Ops[i]) {
						t.Fatalf("cut at %d: op %d %+v, want %+v", n, i, p.Ops[i], a.Ops[i])
					}
				}
			}
		})
	}
	var a CBCompound4Args
	err := ParseCBCompoundArgs(cbCompound(1, 0, cbSequence(), wire{}.u32(16)), &a)
	var oe *OpError
	if !errors.Is(err, ErrUnknownOp) || !errors.As(err, &oe) || !oe.CB || oe.Index != 1 || oe.Op != 16 {
		t.Errorf("unknown callback: %v", err)
	}
	if got := err.Error(); got != "nfs4 callback op 1 (CB_OP16) args at byte 92: nfs4: unknown operation" {
		t.Errorf("Error() = %q", got)
	}
}

func TestParseCBCompoundResult(t *testing.T) {
	in := wire{}.u32(NFS4OK).str("").u32(3).
		u32(CBOpSequence, NFS4OK).raw(sess4...).u32(4, 0, 0, 0).
		u32(CBOpGetattr, NFS4OK).fattr().
		u32(CBOpRecall, NFS4OK)
	var r CBCompound4Res
	if err := ParseCBCompoundResult(in, &r); err != nil {
		t.Fatal(err)
	}
	want := CBSequenceRes4{SequenceID: 4}
	copy(want.SessionID[:], sess4)
	if r.N != 3 || r.Sequence != want || r.Has != HasSequence || r.MainCBOp() != CBOpGetattr || r.Ops[2] != (CBOpRes4{CBOpRecall, NFS4OK}) {
		t.Errorf("%+v", r)
	}
	for n := range len(in) {
		if err := ParseCBCompoundResult(in[:n], &r); !errors.Is(err, ErrShort) {
			t.Fatalf("cut at %d: %v", n, err)
		}
	}
	// A recall the client fails: the compound's status is CB_RECALL's.
	in = wire{}.u32(10025).str("").u32(2).u32(CBOpSequence, NFS4OK).raw(sess4...).u32(4, 0, 0, 0).u32(CBOpRecall, 10025)
	if err := ParseCBCompoundResult(in, &r); err != nil || r.Status != 10025 || r.Ops[1].Status != 10025 || r.MainCBOp() != CBOpRecall {
		t.Errorf("%v %+v", err, r)
	}
	err := ParseCBCompoundResult(wire{}.u32(0).str("").u32(1).u32(99, 0), &r)
	if !errors.Is(err, ErrUnknownOp) {
		t.Errorf("unknown callback result: %v", err)
	}
}
