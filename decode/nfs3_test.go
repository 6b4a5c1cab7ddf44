package decode

import (
	"bytes"
	"errors"
	"reflect"
	"testing"
)

// Handles and attribute blocks for hand-built NFSv3 messages.
var (
	dirFH  = []byte{0x01, 0x00, 0x06, 0x00, 0xea, 0x2c, 0xbb, 0x4a, 0x9e, 0xf7, 0x49, 0x95, 0xa5, 0x36, 0x56, 0x28, 0xce, 0xda, 0x60, 0xa2}
	fileFH = readFH
	dir2FH = []byte{0x01, 0x00, 0x06, 0x81, 0xea, 0x2c, 0xbb, 0x4a, 0x9e, 0xf7, 0x49, 0x95, 0xa5, 0x36, 0x56, 0x28,
		0xce, 0xda, 0x60, 0xa2, 0xf7, 0xdf, 0xa3, 0x40, 0x00, 0x00, 0x00, 0x00, 0x1a, 0x35, 0x6e, 0x66}
)

// fattr3 is an 84-byte fattr3 (RFC 1813 section 2.6) of a 1 MiB regular file.
func fattr3() wire {
	return wire{}.u32(1, 0o644, 1, 1000, 1000). // type, mode, nlink, uid, gid
							u64(1<<20).u64(1<<20).                           // size, used
							u32(0, 0).                                       // rdev
							u64(0x2a).u64(123456).                           // fsid, fileid
							u32(1700000000, 1, 1700000001, 2, 1700000002, 3) // atime, mtime, ctime
}

// wccAttr is a 24-byte wcc_attr: size, mtime, ctime.
func wccAttr() wire { return wire{}.u64(1<<20).u32(1700000001, 2, 1700000002, 3) }

func postOp(present bool) wire {
	if !present {
		return wire{}.u32(0)
	}
	return wire{}.u32(1).cat(fattr3())
}

func wcc(before, after bool) wire {
	w := wire{}.u32(0)
	if before {
		w = wire{}.u32(1).cat(wccAttr())
	}
	return w.cat(postOp(after))
}

// sattr3 sets mode 0644 and, when size >= 0, the size; atime to the
// server's clock, mtime to a time the client gives.
func sattr3(size int64) wire {
	w := wire{}.u32(1, 0o644, 0, 0) // mode set, uid and gid not
	if size >= 0 {
		w = w.u32(1).u64(uint64(size))
	} else {
		w = w.u32(0)
	}
	return w.u32(setToServerTime).u32(setToClientTime, 1700000000, 5)
}

// sattrNone changes nothing.
var sattrNone = wire{}.u32(0, 0, 0, 0, dontChange, dontChange)

type argsCase struct {
	name string
	proc uint32
	in   []byte
	want NFS3Args
}

var argsCases = []argsCase{
	{"NULL", NFS3ProcNull, nil, NFS3Args{}},
	{"GETATTR", NFS3ProcGetattr, wire{}.opaque(fileFH), NFS3Args{FH: fileFH, Has: HasFH}},
	{"SETATTR truncate, guarded", NFS3ProcSetattr,
		wire{}.opaque(fileFH).cat(sattr3(0)).u32(1, 1700000002, 3),
		NFS3Args{FH: fileFH, Size: 0, Has: HasFH | HasSize}},
	{"SETATTR mode only, unguarded", NFS3ProcSetattr,
		wire{}.opaque(fileFH).cat(sattr3(-1)).u32(0),
		NFS3Args{FH: fileFH, Has: HasFH}},
	{"LOOKUP", NFS3ProcLookup, wire{}.opaque(dirFH).str("passwd"),
		NFS3Args{FH: dirFH, Name: []byte("passwd"), Has: HasFH | HasName}},
	{"ACCESS", NFS3ProcAccess, wire{}.opaque(fileFH).u32(0x3f), NFS3Args{FH: fileFH, Has: HasFH}},
	{"READLINK", NFS3ProcReadlink, wire{}.opaque(fileFH), NFS3Args{FH: fileFH, Has: HasFH}},
	{"READ", NFS3ProcRead, readArgs, NFS3Args{FH: fileFH, Offset: 8192, Count: 4096, Has: HasFH | HasOffset | HasCount}},
	{"READ offset above 4 GiB", NFS3ProcRead, wire{}.opaque(fileFH).u64(5<<30 + 3).u32(1 << 20),
		NFS3Args{FH: fileFH, Offset: 5<<30 + 3, Count: 1 << 20, Has: HasFH | HasOffset | HasCount}},
	{"WRITE FILE_SYNC", NFS3ProcWrite, wire{}.opaque(fileFH).u64(65536).u32(5, FileSync).str("hello"),
		NFS3Args{FH: fileFH, Offset: 65536, Count: 5, Stable: FileSync, Has: HasFH | HasOffset | HasCount | HasStable}},
	{"WRITE UNSTABLE cut in its data", NFS3ProcWrite, wire{}.opaque(fileFH).u64(0).u32(32768, Unstable).u32(32768).raw(1, 2, 3),
		NFS3Args{FH: fileFH, Count: 32768, Stable: Unstable, Has: HasFH | HasOffset | HasCount | HasStable}},
	{"CREATE UNCHECKED", NFS3ProcCreate, wire{}.opaque(dirFH).str("new.txt").u32(createUnchecked).cat(sattr3(0)),
		NFS3Args{FH: dirFH, Name: []byte("new.txt"), Size: 0, Has: HasFH | HasName | HasSize}},
	{"CREATE GUARDED", NFS3ProcCreate, wire{}.opaque(dirFH).str("g").u32(createGuarded).cat(sattrNone),
		NFS3Args{FH: dirFH, Name: []byte("g"), Has: HasFH | HasName}},
	{"CREATE EXCLUSIVE", NFS3ProcCreate, wire{}.opaque(dirFH).str("lock").u32(createExclusive).fixed([]byte("verf0001")),
		NFS3Args{FH: dirFH, Name: []byte("lock"), Has: HasFH | HasName}},
	{"MKDIR", NFS3ProcMkdir, wire{}.opaque(dirFH).str("sub").cat(sattrNone),
		NFS3Args{FH: dirFH, Name: []byte("sub"), Has: HasFH | HasName}},
	{"SYMLINK", NFS3ProcSymlink, wire{}.opaque(dirFH).str("ln").cat(sattrNone).str("../target/file"),
		NFS3Args{FH: dirFH, Name: []byte("ln"), Name2: []byte("../target/file"), Has: HasFH | HasName | HasName2}},
	{"MKNOD CHR", NFS3ProcMknod, wire{}.opaque(dirFH).str("tty").u32(nf3Chr).cat(sattrNone).u32(4, 1),
		NFS3Args{FH: dirFH, Name: []byte("tty"), Has: HasFH | HasName}},
	{"MKNOD FIFO", NFS3ProcMknod, wire{}.opaque(dirFH).str("fifo").u32(nf3FIFO).cat(sattr3(-1)),
		NFS3Args{FH: dirFH, Name: []byte("fifo"), Has: HasFH | HasName}},
	{"MKNOD REG is void", NFS3ProcMknod, wire{}.opaque(dirFH).str("f").u32(nf3Reg),
		NFS3Args{FH: dirFH, Name: []byte("f"), Has: HasFH | HasName}},
	{"REMOVE", NFS3ProcRemove, wire{}.opaque(dirFH).str("old.log"),
		NFS3Args{FH: dirFH, Name: []byte("old.log"), Has: HasFH | HasName}},
	{"RMDIR", NFS3ProcRmdir, wire{}.opaque(dirFH).str("sub"),
		NFS3Args{FH: dirFH, Name: []byte("sub"), Has: HasFH | HasName}},
	{"RENAME", NFS3ProcRename, wire{}.opaque(dirFH).str("a.tmp").opaque(dir2FH).str("a"),
		NFS3Args{FH: dirFH, Name: []byte("a.tmp"), FH2: dir2FH, Name2: []byte("a"), Has: HasFH | HasName | HasFH2 | HasName2}},
	{"LINK", NFS3ProcLink, wire{}.opaque(fileFH).opaque(dir2FH).str("hardlink"),
		NFS3Args{FH: fileFH, FH2: dir2FH, Name: []byte("hardlink"), Has: HasFH | HasFH2 | HasName}},
	{"READDIR", NFS3ProcReaddir, wire{}.opaque(dirFH).u64(0).fixed(make([]byte, 8)).u32(8192),
		NFS3Args{FH: dirFH, Count: 8192, Has: HasFH | HasCookie | HasCount}},
	{"READDIRPLUS continuing", NFS3ProcReaddirplus, wire{}.opaque(dirFH).u64(512).fixed([]byte("cookverf")).u32(4096, 32768),
		NFS3Args{FH: dirFH, Cookie: 512, Count: 32768, Has: HasFH | HasCookie | HasCount}},
	{"FSSTAT", NFS3ProcFsstat, wire{}.opaque(dirFH), NFS3Args{FH: dirFH, Has: HasFH}},
	{"FSINFO", NFS3ProcFsinfo, wire{}.opaque(dirFH), NFS3Args{FH: dirFH, Has: HasFH}},
	{"PATHCONF", NFS3ProcPathconf, wire{}.opaque(dirFH), NFS3Args{FH: dirFH, Has: HasFH}},
	{"COMMIT", NFS3ProcCommit, wire{}.opaque(fileFH).u64(0).u32(0),
		NFS3Args{FH: fileFH, Has: HasFH | HasOffset | HasCount}},
	{"GETATTR empty handle", NFS3ProcGetattr, wire{}.u32(0), NFS3Args{FH: []byte{}, Has: HasFH}},
}

func TestParseNFS3Args(t *testing.T) {
	for _, tt := range argsCases {
		t.Run(tt.name, func(t *testing.T) {
			a := NFS3Args{Name: []byte("stale"), Has: HasStable} // must be reset
			if err := ParseNFS3Args(tt.proc, tt.in, &a); err != nil {
				t.Fatalf("ParseNFS3Args: %v", err)
			}
			if !reflect.DeepEqual(a, tt.want) {
				t.Errorf("got  %+v\nwant %+v", a, tt.want)
			}
			for _, s := range [][]byte{a.FH, a.Name, a.FH2, a.Name2} {
				if !within(tt.in, s) {
					t.Errorf("slice %q does not alias the input", s)
				}
			}
		})
	}
}

// TestParseNFS3ArgsTruncated cuts every argument case at every length, as
// a snaplen would: the result must be either success or ErrShort, never a
// panic, and it must hold a subset of the full decode's fields with the
// same values.
func TestParseNFS3ArgsTruncated(t *testing.T) {
	for _, tt := range argsCases {
		t.Run(tt.name, func(t *testing.T) {
			for n := 0; n < len(tt.in); n++ {
				var a NFS3Args
				err := ParseNFS3Args(tt.proc, tt.in[:n], &a)
				if err != nil && !errors.Is(err, ErrShort) {
					t.Fatalf("cut at %d: err = %v, want nil or ErrShort", n, err)
				}
				if msg := argsSubset(a, tt.want); msg != "" {
					t.Fatalf("cut at %d: %s", n, msg)
				}
			}
		})
	}
}

// argsSubset checks that part's fields are a subset of full's, equal where
// set; it returns what differs, or "".
func argsSubset(part, full NFS3Args) string {
	if part.Has&^full.Has != 0 {
		return "Has has bits the full decode lacks"
	}
	type field struct {
		bit     uint32
		got, wa any
	}
	for _, f := range []field{
		{HasFH, string(part.FH), string(full.FH)},
		{HasName, string(part.Name), string(full.Name)},
		{HasFH2, string(part.FH2), string(full.FH2)},
		{HasName2, string(part.Name2), string(full.Name2)},
		{HasOffset, part.Offset, full.Offset},
		{HasCount, part.Count, full.Count},
		{HasStable, part.Stable, full.Stable},
		{HasSize, part.Size, full.Size},
		{HasCookie, part.Cookie, full.Cookie},
	} {
		if part.Has&f.bit != 0 && f.got != f.wa {
			return "field differs from the full decode"
		}
	}
	return ""
}

func TestParseNFS3ArgsCut(t *testing.T) {
	write := wire{}.opaque(fileFH).u64(65536).u32(5, FileSync)
	rename := wire{}.opaque(dirFH).str("a.tmp").opaque(dir2FH).str("a")
	tests := []struct {
		name    string
		proc    uint32
		in      []byte
		want    NFS3Args
		wantOff int
	}{
		{"WRITE cut in handle", NFS3ProcWrite, write[:20], NFS3Args{}, 4},
		{"WRITE cut in offset", NFS3ProcWrite, write[:40], NFS3Args{FH: fileFH, Has: HasFH}, 36},
		{"WRITE cut before stable", NFS3ProcWrite, write[:48],
			NFS3Args{FH: fileFH, Offset: 65536, Count: 5, Has: HasFH | HasOffset | HasCount}, 48},
		{"RENAME cut in target name", NFS3ProcRename, rename[:len(rename)-2],
			NFS3Args{FH: dirFH, Name: []byte("a.tmp"), FH2: dir2FH, Has: HasFH | HasName | HasFH2}, len(rename) - 4},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			var a NFS3Args
			err := ParseNFS3Args(tt.proc, tt.in, &a)
			var de *DecodeError
			if !errors.Is(err, ErrShort) || !errors.As(err, &de) {
				t.Fatalf("err = %v, want a DecodeError wrapping ErrShort", err)
			}
			if de.Offset != tt.wantOff {
				t.Errorf("error offset = %d, want %d", de.Offset, tt.wantOff)
			}
			if !reflect.DeepEqual(a, tt.want) {
				t.Errorf("got  %+v\nwant %+v", a, tt.want)
			}
		})
	}
}

func TestParseNFS3ArgsErrors(t *testing.T) {
	tests := []struct {
		name    string
		proc    uint32
		in      []byte
		wantErr error
	}{
		{"unknown procedure 22", 22, wire{}.opaque(fileFH), ErrUnknownProc},
		{"unknown procedure max", 0xffffffff, nil, ErrUnknownProc},
		{"handle above 64 bytes", NFS3ProcGetattr, wire{}.opaque(make([]byte, 65)), ErrTooLong},
		{"name above 4096 bytes", NFS3ProcLookup, wire{}.opaque(dirFH).u32(4097), ErrTooLong},
		{"CREATE mode 3", NFS3ProcCreate, wire{}.opaque(dirFH).str("x").u32(3).cat(sattrNone), ErrBadUnion},
		{"MKNOD type 0", NFS3ProcMknod, wire{}.opaque(dirFH).str("x").u32(0), ErrBadUnion},
		{"MKNOD type 8", NFS3ProcMknod, wire{}.opaque(dirFH).str("x").u32(8), ErrBadUnion},
		{"sattr3 time_how 3", NFS3ProcMkdir, wire{}.opaque(dirFH).str("x").u32(0, 0, 0, 0, 3, 0), ErrBadUnion},
		{"sattr3 set_it 2", NFS3ProcSetattr, wire{}.opaque(fileFH).u32(2), ErrBadBool},
		{"SETATTR guard 7", NFS3ProcSetattr, wire{}.opaque(fileFH).cat(sattrNone).u32(7), ErrBadBool},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			var a NFS3Args
			if err := ParseNFS3Args(tt.proc, tt.in, &a); !errors.Is(err, tt.wantErr) {
				t.Errorf("err = %v, want %v", err, tt.wantErr)
			}
		})
	}
}

type resultCase struct {
	name string
	proc uint32
	in   []byte
	want NFS3Result
}

var (
	writeVerf   = []byte{0x5f, 0x1e, 0x2d, 0x3c, 0x00, 0x00, 0x00, 0x01}
	resultCases = []resultCase{
		{"NULL", NFS3ProcNull, nil, NFS3Result{}},
		{"GETATTR OK", NFS3ProcGetattr, wire{}.u32(NFS3OK).cat(fattr3()), NFS3Result{Status: NFS3OK, Has: HasStatus}},
		{"GETATTR STALE", NFS3ProcGetattr, wire{}.u32(NFS3ErrStale), NFS3Result{Status: NFS3ErrStale, Has: HasStatus}},
		{"READ OK with attributes, EOF", NFS3ProcRead, wire{}.u32(NFS3OK).cat(postOp(true)).u32(5, 1).str("hello"),
			NFS3Result{Status: NFS3OK, Count: 5, EOF: true, Has: HasStatus | HasCount | HasEOF}},
		{"READ OK without attributes", NFS3ProcRead, wire{}.u32(NFS3OK).cat(postOp(false)).u32(4096, 0).opaque(make([]byte, 4096)),
			NFS3Result{Status: NFS3OK, Count: 4096, Has: HasStatus | HasCount | HasEOF}},
		{"READ OK cut in its data", NFS3ProcRead, wire{}.u32(NFS3OK).cat(postOp(true)).u32(32768, 0).u32(32768).raw(1, 2, 3),
			NFS3Result{Status: NFS3OK, Count: 32768, Has: HasStatus | HasCount | HasEOF}},
		{"READ IO error", NFS3ProcRead, wire{}.u32(NFS3ErrIO).cat(postOp(true)),
			NFS3Result{Status: NFS3ErrIO, Has: HasStatus}},
		{"READ JUKEBOX without attributes", NFS3ProcRead, wire{}.u32(NFS3ErrJukebox).cat(postOp(false)),
			NFS3Result{Status: NFS3ErrJukebox, Has: HasStatus}},
		{"WRITE OK with full wcc_data", NFS3ProcWrite, wire{}.u32(NFS3OK).cat(wcc(true, true)).u32(32768, FileSync).fixed(writeVerf),
			NFS3Result{Status: NFS3OK, Count: 32768, Committed: FileSync, Verf: writeVerf, Has: HasStatus | HasCount | HasCommitted | HasVerf}},
		{"WRITE OK without wcc_data", NFS3ProcWrite, wire{}.u32(NFS3OK).cat(wcc(false, false)).u32(512, Unstable).fixed(writeVerf),
			NFS3Result{Status: NFS3OK, Count: 512, Committed: Unstable, Verf: writeVerf, Has: HasStatus | HasCount | HasCommitted | HasVerf}},
		{"WRITE OK only post-op attributes", NFS3ProcWrite, wire{}.u32(NFS3OK).cat(wcc(false, true)).u32(512, DataSync).fixed(writeVerf),
			NFS3Result{Status: NFS3OK, Count: 512, Committed: DataSync, Verf: writeVerf, Has: HasStatus | HasCount | HasCommitted | HasVerf}},
		{"WRITE NOSPC", NFS3ProcWrite, wire{}.u32(NFS3ErrNoSpc).cat(wcc(true, true)),
			NFS3Result{Status: NFS3ErrNoSpc, Has: HasStatus}},
		{"COMMIT OK", NFS3ProcCommit, wire{}.u32(NFS3OK).cat(wcc(true, true)).fixed(writeVerf),
			NFS3Result{Status: NFS3OK, Verf: writeVerf, Has: HasStatus | HasVerf}},
		{"LOOKUP OK", NFS3ProcLookup, wire{}.u32(NFS3OK).opaque(fileFH).cat(postOp(true)).cat(postOp(true)),
			NFS3Result{Status: NFS3OK, FH: fileFH, Has: HasStatus | HasFH}},
		{"LOOKUP NOENT", NFS3ProcLookup, wire{}.u32(NFS3ErrNoEnt).cat(postOp(true)),
			NFS3Result{Status: NFS3ErrNoEnt, Has: HasStatus}},
		{"CREATE OK with handle", NFS3ProcCreate, wire{}.u32(NFS3OK, 1).opaque(fileFH).cat(postOp(true)).cat(wcc(true, true)),
			NFS3Result{Status: NFS3OK, FH: fileFH, Has: HasStatus | HasFH}},
		{"MKDIR OK without handle", NFS3ProcMkdir, wire{}.u32(NFS3OK, 0).cat(postOp(false)).cat(wcc(false, false)),
			NFS3Result{Status: NFS3OK, Has: HasStatus}},
		{"REMOVE OK", NFS3ProcRemove, wire{}.u32(NFS3OK).cat(wcc(true, true)), NFS3Result{Status: NFS3OK, Has: HasStatus}},
	}
)

func TestParseNFS3Result(t *testing.T) {
	for _, tt := range resultCases {
		t.Run(tt.name, func(t *testing.T) {
			r := NFS3Result{EOF: true, Has: HasVerf} // must be reset
			if err := ParseNFS3Result(tt.proc, tt.in, &r); err != nil {
				t.Fatalf("ParseNFS3Result: %v", err)
			}
			if !reflect.DeepEqual(r, tt.want) {
				t.Errorf("got  %+v\nwant %+v", r, tt.want)
			}
			if !within(tt.in, r.Verf) || !within(tt.in, r.FH) {
				t.Error("slices do not alias the input")
			}
		})
	}
}

func TestParseNFS3ResultTruncated(t *testing.T) {
	for _, tt := range resultCases {
		t.Run(tt.name, func(t *testing.T) {
			for n := 0; n < len(tt.in); n++ {
				var r NFS3Result
				err := ParseNFS3Result(tt.proc, tt.in[:n], &r)
				if err != nil && !errors.Is(err, ErrShort) {
					t.Fatalf("cut at %d: err = %v, want nil or ErrShort", n, err)
				}
				if msg := resultSubset(r, tt.want); msg != "" {
					t.Fatalf("cut at %d: %s", n, msg)
				}
			}
		})
	}
}

func resultSubset(part, full NFS3Result) string {
	if part.Has&^full.Has != 0 {
		return "Has has bits the full decode lacks"
	}
	type field struct {
		bit     uint32
		got, wa any
	}
	for _, f := range []field{
		{HasStatus, part.Status, full.Status},
		{HasCount, part.Count, full.Count},
		{HasEOF, part.EOF, full.EOF},
		{HasCommitted, part.Committed, full.Committed},
		{HasVerf, string(part.Verf), string(full.Verf)},
		{HasFH, string(part.FH), string(full.FH)},
	} {
		if part.Has&f.bit != 0 && f.got != f.wa {
			return "field differs from the full decode"
		}
	}
	return ""
}

func TestParseNFS3ResultErrors(t *testing.T) {
	tests := []struct {
		name    string
		proc    uint32
		in      []byte
		wantErr error
		want    NFS3Result
	}{
		{"unknown procedure", 22, wire{}.u32(0), ErrUnknownProc, NFS3Result{}},
		{"status missing", NFS3ProcGetattr, []byte{0, 0}, ErrShort, NFS3Result{}},
		{"READ eof 2", NFS3ProcRead, wire{}.u32(NFS3OK, 0, 10, 2),
			ErrBadBool, NFS3Result{Status: NFS3OK, Count: 10, Has: HasStatus | HasCount}},
		{"READ attributes_follow 3", NFS3ProcRead, wire{}.u32(NFS3OK, 3), ErrBadBool, NFS3Result{Status: NFS3OK, Has: HasStatus}},
		{"READ cut in attributes", NFS3ProcRead, wire{}.u32(NFS3OK).cat(postOp(true))[:50],
			ErrShort, NFS3Result{Status: NFS3OK, Has: HasStatus}},
		{"WRITE cut in verifier", NFS3ProcWrite, wire{}.u32(NFS3OK).cat(wcc(false, false)).u32(512, Unstable).raw(1, 2, 3, 4),
			ErrShort, NFS3Result{Status: NFS3OK, Count: 512, Has: HasStatus | HasCount | HasCommitted}},
		{"LOOKUP handle above 64", NFS3ProcLookup, wire{}.u32(NFS3OK).opaque(make([]byte, 65)),
			ErrTooLong, NFS3Result{Status: NFS3OK, Has: HasStatus}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			var r NFS3Result
			err := ParseNFS3Result(tt.proc, tt.in, &r)
			if !errors.Is(err, tt.wantErr) {
				t.Errorf("err = %v, want %v", err, tt.wantErr)
			}
			if !reflect.DeepEqual(r, tt.want) {
				t.Errorf("got  %+v\nwant %+v", r, tt.want)
			}
		})
	}
}

// TestNFS3Layout pins the RFC 1813 sizes the decoders skip by.
func TestNFS3Layout(t *testing.T) {
	// The builders follow RFC 1813's field lists one by one.
	if n := len(fattr3()); n != fattr3Size {
		t.Errorf("fattr3 is %d bytes, constant says %d", n, fattr3Size)
	}
	if n := len(wccAttr()); n != wccAttrSize {
		t.Errorf("wcc_attr is %d bytes, constant says %d", n, wccAttrSize)
	}
}

func TestNFS3StatName(t *testing.T) {
	tests := []struct {
		s    uint32
		want string
	}{
		{0, "NFS3_OK"}, {1, "NFS3ERR_PERM"}, {2, "NFS3ERR_NOENT"}, {5, "NFS3ERR_IO"}, {6, "NFS3ERR_NXIO"},
		{13, "NFS3ERR_ACCES"}, {17, "NFS3ERR_EXIST"}, {18, "NFS3ERR_XDEV"}, {19, "NFS3ERR_NODEV"},
		{20, "NFS3ERR_NOTDIR"}, {21, "NFS3ERR_ISDIR"}, {22, "NFS3ERR_INVAL"}, {27, "NFS3ERR_FBIG"},
		{28, "NFS3ERR_NOSPC"}, {30, "NFS3ERR_ROFS"}, {31, "NFS3ERR_MLINK"}, {63, "NFS3ERR_NAMETOOLONG"},
		{66, "NFS3ERR_NOTEMPTY"}, {69, "NFS3ERR_DQUOT"}, {70, "NFS3ERR_STALE"}, {71, "NFS3ERR_REMOTE"},
		{10001, "NFS3ERR_BADHANDLE"}, {10002, "NFS3ERR_NOT_SYNC"}, {10003, "NFS3ERR_BAD_COOKIE"},
		{10004, "NFS3ERR_NOTSUPP"}, {10005, "NFS3ERR_TOOSMALL"}, {10006, "NFS3ERR_SERVERFAULT"},
		{10007, "NFS3ERR_BADTYPE"}, {10008, "NFS3ERR_JUKEBOX"},
		{3, "NFS3ERR_3"}, {10009, "NFS3ERR_10009"}, {0xffffffff, "NFS3ERR_4294967295"},
	}
	for _, tt := range tests {
		t.Run(tt.want, func(t *testing.T) {
			if got := NFS3StatName(tt.s); got != tt.want {
				t.Errorf("NFS3StatName(%d) = %q, want %q", tt.s, got, tt.want)
			}
		})
	}
}

func TestStableName(t *testing.T) {
	tests := []struct {
		s    uint32
		want string
	}{
		{Unstable, "UNSTABLE"}, {DataSync, "DATA_SYNC"}, {FileSync, "FILE_SYNC"}, {3, "STABLE_3"},
	}
	for _, tt := range tests {
		t.Run(tt.want, func(t *testing.T) {
			if got := StableName(tt.s); got != tt.want {
				t.Errorf("StableName(%d) = %q, want %q", tt.s, got, tt.want)
			}
		})
	}
}

// TestNFS3EndToEnd decodes a whole hand-built call and its reply the way
// the analyzer will: RPC first, then the NFS body from Args / Results.
func TestNFS3EndToEnd(t *testing.T) {
	var c Call
	if err := ParseCall(sysCall, &c); err != nil {
		t.Fatal(err)
	}
	var a NFS3Args
	if err := ParseNFS3Args(c.Proc, c.Args, &a); err != nil {
		t.Fatal(err)
	}
	if ProcName(c.Prog, c.Vers, c.Proc) != "READ" || a.Offset != 8192 || a.Count != 4096 || !bytes.Equal(a.FH, readFH) {
		t.Errorf("call: %s %+v", ProcName(c.Prog, c.Vers, c.Proc), a)
	}
	var r Reply
	if err := ParseReply(successReply, &r); err != nil {
		t.Fatal(err)
	}
	var res NFS3Result
	if err := ParseNFS3Result(c.Proc, r.Results, &res); err != nil {
		t.Fatal(err)
	}
	if r.XID != c.XID || res.Status != NFS3OK || res.Count != 4096 || !res.EOF {
		t.Errorf("reply: xid %#x, %+v", r.XID, res)
	}
}

func TestNFS3ZeroAllocs(t *testing.T) {
	var a NFS3Args
	var r NFS3Result
	for _, tt := range argsCases {
		t.Run("args "+tt.name, func(t *testing.T) {
			if n := testing.AllocsPerRun(100, func() { _ = ParseNFS3Args(tt.proc, tt.in, &a) }); n != 0 {
				t.Errorf("%v allocations per run, want 0", n)
			}
		})
	}
	for _, tt := range resultCases {
		t.Run("result "+tt.name, func(t *testing.T) {
			if n := testing.AllocsPerRun(100, func() { _ = ParseNFS3Result(tt.proc, tt.in, &r) }); n != 0 {
				t.Errorf("%v allocations per run, want 0", n)
			}
		})
	}
	t.Run("names", func(t *testing.T) {
		n := testing.AllocsPerRun(100, func() {
			_, _, _ = NFS3StatName(NFS3OK), NFS3StatName(NFS3ErrJukebox), StableName(FileSync)
		})
		if n != 0 {
			t.Errorf("%v allocations per run, want 0", n)
		}
	})
}

func BenchmarkParseNFS3Args(b *testing.B) {
	writeArgs := wire{}.opaque(fileFH).u64(1<<30).u32(32768, Unstable).u32(32768).cat(make(wire, 32768))
	for _, bb := range []struct {
		name string
		proc uint32
		in   []byte
	}{
		{"READ", NFS3ProcRead, readArgs},
		{"WRITE", NFS3ProcWrite, writeArgs},
		{"LOOKUP", NFS3ProcLookup, wire{}.opaque(dirFH).str("passwd")},
	} {
		b.Run(bb.name, func(b *testing.B) {
			var a NFS3Args
			b.ReportAllocs()
			for b.Loop() {
				if err := ParseNFS3Args(bb.proc, bb.in, &a); err != nil {
					b.Fatal(err)
				}
			}
		})
	}
}

func BenchmarkParseNFS3Result(b *testing.B) {
	for _, bb := range []struct {
		name string
		proc uint32
		in   []byte
	}{
		{"READ", NFS3ProcRead, wire{}.u32(NFS3OK).cat(postOp(true)).u32(4096, 0).opaque(make([]byte, 4096))},
		{"WRITE", NFS3ProcWrite, wire{}.u32(NFS3OK).cat(wcc(true, true)).u32(32768, FileSync).fixed(writeVerf)},
	} {
		b.Run(bb.name, func(b *testing.B) {
			var r NFS3Result
			b.ReportAllocs()
			for b.Loop() {
				if err := ParseNFS3Result(bb.proc, bb.in, &r); err != nil {
					b.Fatal(err)
				}
			}
		})
	}
}

// nfs3Proc maps a fuzz input's first byte to a procedure: 0-21 and, for
// one value in 23, an unknown one.
func nfs3Proc(b []byte) (uint32, []byte) {
	if len(b) == 0 {
		return 0, nil
	}
	return uint32(b[0]) % 23, b[1:]
}

// FuzzNFS3Args takes the procedure from the first byte and the arguments
// from the rest. Beyond not panicking, decoding any prefix of the input
// must give a subset of the fields of the whole, with the same values:
// that is what makes snaplen-cut messages safe to use.
func FuzzNFS3Args(f *testing.F) {
	for _, tt := range argsCases {
		f.Add(append([]byte{byte(tt.proc)}, tt.in...))
	}
	for _, seed := range loadBoundarySeeds(f).nfs3Args {
		f.Add(seed)
	}
	f.Fuzz(func(t *testing.T, in []byte) {
		proc, b := nfs3Proc(in)
		var a NFS3Args
		err := ParseNFS3Args(proc, b, &a)
		checkDecodeError(t, b, err, ErrShort, ErrTooLong, ErrBadBool, ErrBadUnion, ErrUnknownProc)
		for _, s := range [][]byte{a.FH, a.Name, a.FH2, a.Name2} {
			if !within(b, s) {
				t.Fatalf("slice %x is not within the input", s)
			}
		}
		if len(a.FH) > nfs3FHSize || len(a.FH2) > nfs3FHSize || len(a.Name) > maxNFS3Name || len(a.Name2) > maxNFS3Name {
			t.Fatal("field above its limit")
		}
		if (a.FH != nil) != (a.Has&HasFH != 0) || (a.Name != nil) != (a.Has&HasName != 0) ||
			(a.FH2 != nil) != (a.Has&HasFH2 != 0) || (a.Name2 != nil) != (a.Has&HasName2 != 0) {
			t.Fatalf("Has %#x disagrees with the slices set", a.Has)
		}
		for _, n := range []int{len(b) / 2, len(b) - 1} {
			if n < 0 {
				continue
			}
			var p NFS3Args
			perr := ParseNFS3Args(proc, b[:n], &p)
			if perr != nil && !errors.Is(perr, ErrShort) && (err == nil || !errors.Is(perr, errors.Unwrap(err))) {
				t.Fatalf("prefix %d: %v, whole: %v", n, perr, err)
			}
			if msg := argsSubset(p, a); msg != "" {
				t.Fatalf("prefix %d: %s", n, msg)
			}
		}
	})
}

// FuzzNFS3Result is FuzzNFS3Args's counterpart for results.
func FuzzNFS3Result(f *testing.F) {
	for _, tt := range resultCases {
		in := tt.in
		if len(in) > 256 {
			in = in[:256]
		}
		f.Add(append([]byte{byte(tt.proc)}, in...))
	}
	f.Fuzz(func(t *testing.T, in []byte) {
		proc, b := nfs3Proc(in)
		var r NFS3Result
		err := ParseNFS3Result(proc, b, &r)
		checkDecodeError(t, b, err, ErrShort, ErrTooLong, ErrBadBool, ErrUnknownProc)
		if !within(b, r.Verf) || !within(b, r.FH) {
			t.Fatal("slices not within the input")
		}
		if len(r.FH) > nfs3FHSize || (r.Verf != nil && len(r.Verf) != verf3Size) {
			t.Fatal("field of a wrong size")
		}
		if r.Has&^(HasStatus|HasCount|HasEOF|HasCommitted|HasVerf|HasFH) != 0 {
			t.Fatalf("Has %#x has argument bits", r.Has)
		}
		if r.Has&^HasStatus != 0 && r.Status != NFS3OK {
			t.Fatalf("fields beyond the status of a failed %d: %#x", r.Status, r.Has)
		}
		for _, n := range []int{len(b) / 2, len(b) - 1} {
			if n < 0 {
				continue
			}
			var p NFS3Result
			perr := ParseNFS3Result(proc, b[:n], &p)
			if perr != nil && !errors.Is(perr, ErrShort) && (err == nil || !errors.Is(perr, errors.Unwrap(err))) {
				t.Fatalf("prefix %d: %v, whole: %v", n, perr, err)
			}
			if msg := resultSubset(p, r); msg != "" {
				t.Fatalf("prefix %d: %s", n, msg)
			}
		}
	})
}
