package decode

import (
	"errors"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"testing"
)

// The fuzz targets' corpora hold, beside the hand-built cases added here,
// one message of each kind of compound (call or reply, by its op codes) of
// the public NFSv4 captures, cut to 1536 bytes: testdata/fuzz/<target>/
// real-*, written by `go test ./decode -run TestNFS4Oracle -update`.

// checkOpError checks an error from a COMPOUND decoder: a *DecodeError
// before the first op, an *OpError within one, with an offset inside the
// input, wrapping one of want.
func checkOpError(t *testing.T, b []byte, err error, n int, want ...error) {
	t.Helper()
	if err == nil {
		return
	}
	var oe *OpError
	if errors.As(err, &oe) {
		if oe.Offset < 0 || oe.Offset > len(b) {
			t.Fatalf("error offset %d outside 0..%d", oe.Offset, len(b))
		}
		if oe.Index != n-1 && (oe.Index != n || oe.Op != 0) {
			t.Fatalf("error at op %d, %d ops read", oe.Index, n)
		}
		_ = err.Error()
	} else {
		checkDecodeError(t, b, err, ErrShort, ErrTooLong)
		if n != 0 {
			t.Fatalf("header error %v after %d ops", err, n)
		}
	}
	for _, w := range want {
		if errors.Is(err, w) {
			return
		}
	}
	t.Fatalf("unexpected error %v", err)
}

var compoundErrors = []error{ErrShort, ErrTooLong, ErrBadBool, ErrBadUnion, ErrUnknownOp}

// FuzzParseCompoundArgs: beyond not panicking, the ops read never exceed
// those declared, every slice aliases the input within its limit, and a
// prefix of the input decodes to the same ops up to the cut.
func FuzzParseCompoundArgs(f *testing.F) {
	for _, tt := range argsCases4 {
		f.Add([]byte(tt.in))
	}
	f.Fuzz(func(t *testing.T, b []byte) {
		var a Compound4Args
		err := ParseCompoundArgs(b, &a)
		checkOpError(t, b, err, a.N, compoundErrors...)
		if uint64(a.N) > uint64(a.NumOps) || err == nil && uint64(a.N) != uint64(a.NumOps) {
			t.Fatalf("N %d of %d ops, err %v", a.N, a.NumOps, err)
		}
		if !within(b, a.Tag) || !within(b, a.ExchangeID.Owner) || !within(b, a.SetClientID.ID) {
			t.Fatal("slice not within the input")
		}
		for i := range min(a.N, MaxOps) {
			o := &a.Ops[i]
			for _, s := range [][]byte{o.FH, o.Name, o.Name2, o.Owner} {
				if !within(b, s) {
					t.Fatalf("op %d: slice not within the input", i)
				}
			}
			if len(o.FH) > nfs4FHSize || len(o.Owner) > maxOwner4 || len(o.Name) > maxNFS4Name {
				t.Fatalf("op %d: field above its limit", i)
			}
		}
		if a.N > 0 {
			m := a.MainOp()
			if OpTier(m) == 0 || !strings.Contains(" "+opList(a.OpCodes(nil))+" ", " "+strconv.Itoa(int(m))+" ") {
				t.Fatalf("MainOp %d not among the ops", m)
			}
		}
		if a.ResumeAt != 0 && (a.ResumeAt <= len(b) || !errors.Is(err, ErrShort)) {
			t.Fatalf("ResumeAt %d in %d bytes, err %v", a.ResumeAt, len(b), err)
		}
		if a.ResumeAt != 0 {
			n := a.N
			rerr := ResumeCompoundArgs(b, &a) // any bytes: must not panic
			if a.N < n || rerr == ErrBadResume {
				t.Fatalf("resume: N %d from %d, %v", a.N, n, rerr)
			}
		}
		if len(b) > 0 {
			var p Compound4Args
			perr := ParseCompoundArgs(b[:len(b)/2], &p)
			if perr == nil && err == nil && p.N != a.N {
				t.Fatalf("prefix decodes %d ops, whole %d", p.N, a.N)
			}
			for i := range min(p.N, a.N, MaxOps) - 1 {
				if p.Ops[i].Op != a.Ops[i].Op || p.Ops[i].Has != a.Ops[i].Has {
					t.Fatalf("prefix: op %d differs", i)
				}
			}
		}
	})
}

func opList(ops []uint32) string {
	s := make([]string, len(ops))
	for i, op := range ops {
		s[i] = strconv.Itoa(int(op))
	}
	return strings.Join(s, " ")
}

// FuzzParseCompoundResult is FuzzParseCompoundArgs's counterpart.
func FuzzParseCompoundResult(f *testing.F) {
	for _, tt := range resCases4 {
		f.Add([]byte(tt.in))
	}
	f.Fuzz(func(t *testing.T, b []byte) {
		var r Compound4Res
		err := ParseCompoundResult(b, &r)
		checkOpError(t, b, err, r.N, compoundErrors...)
		if uint64(r.N) > uint64(r.NumOps) || err == nil && uint64(r.N) != uint64(r.NumOps) {
			t.Fatalf("N %d of %d ops, err %v", r.N, r.NumOps, err)
		}
		for i := range min(r.N, MaxOps) {
			o := &r.Ops[i]
			if !within(b, o.FH) || !within(b, o.Owner) || !within(b, o.Verf) || len(o.FH) > nfs4FHSize {
				t.Fatalf("op %d: slice not within the input or above its limit", i)
			}
			// A failed op carries nothing but its status, save LOCK and
			// LOCKT's conflicting lock and OFFLOAD_STATUS and SETATTR.
			if o.Status != NFS4OK && o.Has&^(HasStatus|HasDenied|HasOffset|HasLength|HasType|HasOwner|HasClientID) != 0 {
				t.Fatalf("op %d failed with %d but has %#x", i, o.Status, o.Has)
			}
		}
		if s := r.SetClientID; !within(b, s.InUseAddr) || !within(b, s.InUseNetID) || len(s.InUseAddr) > maxNFS4Name {
			t.Fatal("SETCLIENTID's in-use address not within the input or above its limit")
		}
		if r.ResumeAt != 0 && (r.ResumeAt <= len(b) || !errors.Is(err, ErrShort)) {
			t.Fatalf("ResumeAt %d in %d bytes, err %v", r.ResumeAt, len(b), err)
		}
		if r.ResumeAt != 0 {
			if rerr := ResumeCompoundResult(b, &r); rerr == ErrBadResume {
				t.Fatal("resume refused")
			}
		}
		if len(b) > 0 {
			var p Compound4Res
			ParseCompoundResult(b[:len(b)/2], &p)
			for i := range min(p.N, r.N, MaxOps) - 1 {
				if p.Ops[i].Op != r.Ops[i].Op || p.Ops[i].Status != r.Ops[i].Status || p.Ops[i].Has != r.Ops[i].Has {
					t.Fatalf("prefix: op %d differs", i)
				}
			}
		}
	})
}

// FuzzParseCBCompound: an even first byte makes the rest CB_COMPOUND
// arguments, an odd one results.
func FuzzParseCBCompound(f *testing.F) {
	for _, tt := range cbArgsCases {
		f.Add(append([]byte{0}, tt.in...))
	}
	f.Add(append([]byte{1}, wire{}.u32(NFS4OK).str("").u32(2).u32(CBOpSequence, NFS4OK).raw(sess4...).u32(4, 0, 0, 0).u32(CBOpRecall, 0)...))
	f.Fuzz(func(t *testing.T, in []byte) {
		if len(in) == 0 {
			return
		}
		b := in[1:]
		if in[0]%2 == 0 {
			var a CBCompound4Args
			err := ParseCBCompoundArgs(b, &a)
			checkOpError(t, b, err, a.N, compoundErrors...)
			if uint64(a.N) > uint64(a.NumOps) {
				t.Fatal("more ops than declared")
			}
			for i := range min(a.N, MaxOps) {
				if o := &a.Ops[i]; !within(b, o.FH) || !within(b, o.Owner) {
					t.Fatalf("op %d: slice not within the input", i)
				}
			}
			_ = a.MainCBOp()
			return
		}
		var r CBCompound4Res
		err := ParseCBCompoundResult(b, &r)
		checkOpError(t, b, err, r.N, compoundErrors...)
		if uint64(r.N) > uint64(r.NumOps) {
			t.Fatal("more ops than declared")
		}
		_ = r.MainCBOp()
	})
}

// readSeed reads a fuzz corpus file of one []byte value.
func readSeed(t testing.TB, path string) []byte {
	t.Helper()
	b, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	_, lit, ok := strings.Cut(strings.TrimSpace(string(b)), "\n[]byte(")
	if !ok {
		t.Fatalf("%s: not a []byte seed", path)
	}
	s, err := strconv.Unquote(strings.TrimSuffix(lit, ")"))
	if err != nil {
		t.Fatalf("%s: %v", path, err)
	}
	return []byte(s)
}

// realSeeds returns the real messages of a fuzz target's corpus.
func realSeeds(t testing.TB, target string) map[string][]byte {
	paths, _ := filepath.Glob(filepath.Join("testdata", "fuzz", target, "real-*"))
	seeds := map[string][]byte{}
	for _, p := range paths {
		seeds[filepath.Base(p)] = readSeed(t, p)
	}
	return seeds
}

// TestNFS4ZeroAllocs: decoding real compounds, whole and cut, allocates
// nothing.
func TestNFS4ZeroAllocs(t *testing.T) {
	args, res := realSeeds(t, "FuzzParseCompoundArgs"), realSeeds(t, "FuzzParseCompoundResult")
	if len(args) == 0 || len(res) == 0 {
		t.Fatal("no real seeds")
	}
	var a Compound4Args
	var r Compound4Res
	for name, b := range args {
		if err := ParseCompoundArgs(b, &a); err != nil && !errors.Is(err, ErrShort) {
			t.Errorf("%s: %v", name, err)
		}
		if n := testing.AllocsPerRun(50, func() { ParseCompoundArgs(b, &a); a.MainOp() }); n != 0 {
			t.Errorf("%s: ParseCompoundArgs allocates %v times", name, n)
		}
	}
	for name, b := range res {
		if err := ParseCompoundResult(b, &r); err != nil && !errors.Is(err, ErrShort) {
			t.Errorf("%s: %v", name, err)
		}
		if n := testing.AllocsPerRun(50, func() { ParseCompoundResult(b, &r); r.MainOp() }); n != 0 {
			t.Errorf("%s: ParseCompoundResult allocates %v times", name, n)
		}
	}
	var cb CBCompound4Args
	in := cbArgsCases[0].in
	if n := testing.AllocsPerRun(50, func() { ParseCBCompoundArgs(in, &cb) }); n != 0 {
		t.Errorf("ParseCBCompoundArgs allocates %v times", n)
	}
}

// BenchmarkParseCompoundWrite decodes the arguments of a Linux 4.1 WRITE
// compound (SEQUENCE, PUTFH, WRITE, GETATTR) and the reply's results.
func BenchmarkParseCompoundWrite(b *testing.B) {
	call := argsCases4[0].in
	reply := result4(resSequence(), resOK(OpPutFH), resOK(OpWrite).u32(5, FileSync).raw(verf4...), resGetattr())
	var a Compound4Args
	var r Compound4Res
	b.ReportAllocs()
	for b.Loop() {
		if ParseCompoundArgs(call, &a) != nil || ParseCompoundResult(reply, &r) != nil || a.MainOp() != OpWrite {
			b.Fatal("decode failed")
		}
	}
}
