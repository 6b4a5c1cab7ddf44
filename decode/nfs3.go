package decode

import "errors"

// NFS version 3, RFC 1813. The decoders read the arguments of a call (the
// RPC Call.Args) and the results of a reply (Reply.Results), keeping the
// few fields that say what an operation was about and how it went.

// NFSv3 procedure numbers (RFC 1813 section 3).
const (
	NFS3ProcNull        = 0
	NFS3ProcGetattr     = 1
	NFS3ProcSetattr     = 2
	NFS3ProcLookup      = 3
	NFS3ProcAccess      = 4
	NFS3ProcReadlink    = 5
	NFS3ProcRead        = 6
	NFS3ProcWrite       = 7
	NFS3ProcCreate      = 8
	NFS3ProcMkdir       = 9
	NFS3ProcSymlink     = 10
	NFS3ProcMknod       = 11
	NFS3ProcRemove      = 12
	NFS3ProcRmdir       = 13
	NFS3ProcRename      = 14
	NFS3ProcLink        = 15
	NFS3ProcReaddir     = 16
	NFS3ProcReaddirplus = 17
	NFS3ProcFsstat      = 18
	NFS3ProcFsinfo      = 19
	NFS3ProcPathconf    = 20
	NFS3ProcCommit      = 21
)

// stable_how values of WRITE (RFC 1813 section 3.3.7).
const (
	Unstable = 0
	DataSync = 1
	FileSync = 2
)

// nfsstat3 values (RFC 1813 section 2.6).
const (
	NFS3OK             = 0
	NFS3ErrPerm        = 1
	NFS3ErrNoEnt       = 2
	NFS3ErrIO          = 5
	NFS3ErrNXIO        = 6
	NFS3ErrAccess      = 13
	NFS3ErrExist       = 17
	NFS3ErrXDev        = 18
	NFS3ErrNoDev       = 19
	NFS3ErrNotDir      = 20
	NFS3ErrIsDir       = 21
	NFS3ErrInval       = 22
	NFS3ErrFBig        = 27
	NFS3ErrNoSpc       = 28
	NFS3ErrROFS        = 30
	NFS3ErrMLink       = 31
	NFS3ErrNameTooLong = 63
	NFS3ErrNotEmpty    = 66
	NFS3ErrDQuot       = 69
	NFS3ErrStale       = 70
	NFS3ErrRemote      = 71
	NFS3ErrBadHandle   = 10001
	NFS3ErrNotSync     = 10002
	NFS3ErrBadCookie   = 10003
	NFS3ErrNotSupp     = 10004
	NFS3ErrTooSmall    = 10005
	NFS3ErrServerFault = 10006
	NFS3ErrBadType     = 10007
	NFS3ErrJukebox     = 10008 // the server is busy (e.g. recalling a file from tape): retry later
)

// Bits of NFS3Args.Has and NFS3Result.Has: which fields were decoded. A
// field whose bit is clear holds its zero value, either because the
// procedure has no such field or because the message ended before it.
const (
	HasFH = 1 << iota
	HasName
	HasFH2
	HasName2
	HasOffset
	HasCount
	HasStable
	HasSize
	HasCookie
	HasStatus
	HasEOF
	HasCommitted
	HasVerf
)

// Sizes and limits from RFC 1813's XDR.
const (
	nfs3FHSize   = 64 // NFS3_FHSIZE: nfs_fh3 is opaque data<64>
	fattr3Size   = 84 // 5 uint32, 2 size3, specdata3, fsid, fileid, 3 nfstime3
	wccAttrSize  = 24 // size3 and 2 nfstime3
	nfstime3Size = 8
	verf3Size    = 8 // cookieverf3, createverf3 and writeverf3
	// filename3 and nfspath3 are string<> without a bound; a bound still
	// tells a garbage length (ErrTooLong) from a snaplen cut (ErrShort).
	// 4096 is Linux's PATH_MAX, above any real name or symlink target.
	maxNFS3Name = 4096
)

// ErrUnknownProc means the procedure number is not one of NFSv3's 22.
var ErrUnknownProc = errors.New("nfs3: unknown procedure")

// NFS3Args holds what nfsstall keeps of an NFSv3 call's arguments. Byte
// slices alias the input and are valid only as long as it is.
type NFS3Args struct {
	// FH is the (first) file handle: the object, or the directory for the
	// procedures that take a directory and a name; nil for NULL. For LINK
	// it is the file being linked.
	FH []byte
	// Name is the name in the directory FH: LOOKUP, CREATE, MKDIR,
	// SYMLINK, MKNOD, REMOVE, RMDIR, RENAME (from name); for LINK the new
	// link's name in directory FH2.
	Name []byte
	// FH2 is the second handle: RENAME's target directory, LINK's directory.
	FH2 []byte
	// Name2 is RENAME's target name, or SYMLINK's target path (symlink_data).
	Name2 []byte
	// Offset is READ, WRITE and COMMIT's offset.
	Offset uint64
	// Count is READ, WRITE and COMMIT's count, READDIR's count and
	// READDIRPLUS's maxcount: in every case the most bytes the reply may
	// carry (READDIRPLUS's dircount, the bytes of names, is not kept).
	Count uint32
	// Stable is WRITE's stable_how: Unstable, DataSync or FileSync.
	Stable uint32
	// Size is the size a sattr3 sets (SETATTR's truncate or extend, or the
	// initial size of CREATE, MKDIR, SYMLINK, MKNOD) when it sets one.
	Size uint64
	// Cookie is READDIR and READDIRPLUS's cookie: 0 for the first batch.
	Cookie uint64
	// Has says which of the fields above were decoded (HasFH, HasName, ...).
	Has uint32
}

// mark sets bit in a.Has when the reads so far succeeded, so each field is
// a read followed by a mark.
func (a *NFS3Args) mark(x *XDR, bit uint32) { x.mark(&a.Has, bit) }

// ParseNFS3Args decodes the arguments b of NFSv3 procedure proc into a,
// resetting a first. It decodes what is there: for a message cut by the
// snaplen, a holds the fields before the cut (see Has) and the error wraps
// ErrShort. WRITE's data is not read, so a WRITE cut anywhere in its data
// decodes without error.
func ParseNFS3Args(proc uint32, b []byte, a *NFS3Args) error {
	*a = NFS3Args{}
	x := NewXDR(b)
	switch proc {
	case NFS3ProcNull:
	case NFS3ProcGetattr, NFS3ProcReadlink, NFS3ProcFsstat, NFS3ProcFsinfo, NFS3ProcPathconf:
		a.FH = x.Opaque(nfs3FHSize)
		a.mark(&x, HasFH)
	case NFS3ProcSetattr:
		a.FH = x.Opaque(nfs3FHSize)
		a.mark(&x, HasFH)
		a.sattr3(&x)
		if x.Bool() { // sattrguard3: the ctime the client expects
			x.Skip(nfstime3Size)
		}
	case NFS3ProcLookup, NFS3ProcRemove, NFS3ProcRmdir:
		a.dirop(&x)
	case NFS3ProcAccess:
		a.FH = x.Opaque(nfs3FHSize)
		a.mark(&x, HasFH)
		x.Uint32() // access bits
	case NFS3ProcRead, NFS3ProcCommit, NFS3ProcWrite:
		a.FH = x.Opaque(nfs3FHSize)
		a.mark(&x, HasFH)
		a.Offset = x.Uint64()
		a.mark(&x, HasOffset)
		a.Count = x.Uint32()
		a.mark(&x, HasCount)
		if proc == NFS3ProcWrite {
			a.Stable = x.Uint32()
			a.mark(&x, HasStable)
			// The data<> that follows is the bulk of the message and what
			// a snaplen cuts; nothing in it is needed.
		}
	case NFS3ProcCreate:
		a.dirop(&x)
		a.createHow(&x)
	case NFS3ProcMkdir:
		a.dirop(&x)
		a.sattr3(&x)
	case NFS3ProcSymlink:
		a.dirop(&x)
		a.sattr3(&x)
		a.Name2 = x.Opaque(maxNFS3Name)
		a.mark(&x, HasName2)
	case NFS3ProcMknod:
		a.dirop(&x)
		a.mknodData(&x)
	case NFS3ProcRename:
		a.dirop(&x)
		a.FH2 = x.Opaque(nfs3FHSize)
		a.mark(&x, HasFH2)
		a.Name2 = x.Opaque(maxNFS3Name)
		a.mark(&x, HasName2)
	case NFS3ProcLink:
		a.FH = x.Opaque(nfs3FHSize)
		a.mark(&x, HasFH)
		a.FH2 = x.Opaque(nfs3FHSize)
		a.mark(&x, HasFH2)
		a.Name = x.Opaque(maxNFS3Name)
		a.mark(&x, HasName)
	case NFS3ProcReaddir:
		a.FH = x.Opaque(nfs3FHSize)
		a.mark(&x, HasFH)
		a.Cookie = x.Uint64()
		a.mark(&x, HasCookie)
		x.Skip(verf3Size)
		a.Count = x.Uint32()
		a.mark(&x, HasCount)
	case NFS3ProcReaddirplus:
		a.FH = x.Opaque(nfs3FHSize)
		a.mark(&x, HasFH)
		a.Cookie = x.Uint64()
		a.mark(&x, HasCookie)
		x.Skip(verf3Size)
		x.Uint32() // dircount
		a.Count = x.Uint32()
		a.mark(&x, HasCount)
	default:
		return x.failWith("nfs3 args", ErrUnknownProc)
	}
	if x.err != nil {
		return x.fail("nfs3 " + nfs3Procs[proc] + " args")
	}
	return nil
}

// createHow reads CREATE's createhow3.
func (a *NFS3Args) createHow(x *XDR) {
	at := x.off
	switch mode := x.Uint32(); {
	case x.err != nil:
	case mode == createUnchecked || mode == createGuarded:
		a.sattr3(x)
	case mode == createExclusive:
		x.Skip(verf3Size)
	default:
		x.rejectAt(at, ErrBadUnion)
	}
}

// mknodData reads MKNOD's mknoddata3.
func (a *NFS3Args) mknodData(x *XDR) {
	at := x.off
	switch typ := x.Uint32(); {
	case x.err != nil:
	case typ == nf3Chr || typ == nf3Blk:
		a.sattr3(x)
		x.Skip(8) // specdata3: major and minor
	case typ == nf3Sock || typ == nf3FIFO:
		a.sattr3(x)
	case typ == nf3Reg || typ == nf3Dir || typ == nf3Lnk:
		// default: void
	default:
		x.rejectAt(at, ErrBadUnion)
	}
}

// dirop reads a diropargs3: directory handle and name.
func (a *NFS3Args) dirop(x *XDR) {
	a.FH = x.Opaque(nfs3FHSize)
	a.mark(x, HasFH)
	a.Name = x.Opaque(maxNFS3Name)
	a.mark(x, HasName)
}

// createmode3 and ftype3 values the argument unions switch on.
const (
	createUnchecked = 0
	createGuarded   = 1
	createExclusive = 2

	nf3Reg  = 1
	nf3Dir  = 2
	nf3Blk  = 3
	nf3Chr  = 4
	nf3Lnk  = 5
	nf3Sock = 6
	nf3FIFO = 7
)

// time_how values of set_atime and set_mtime.
const (
	dontChange      = 0
	setToServerTime = 1
	setToClientTime = 2
)

// sattr3 reads a sattr3 (RFC 1813 section 2.6): six unions, each present
// only when its discriminant says so. Only the size is kept.
func (a *NFS3Args) sattr3(x *XDR) {
	if x.Bool() { // set_mode3
		x.Uint32()
	}
	if x.Bool() { // set_uid3
		x.Uint32()
	}
	if x.Bool() { // set_gid3
		x.Uint32()
	}
	if x.Bool() { // set_size3
		a.Size = x.Uint64()
		a.mark(x, HasSize)
	}
	setTime(x) // set_atime
	setTime(x) // set_mtime
}

// setTime reads a set_atime or set_mtime union.
func setTime(x *XDR) {
	at := x.off
	switch how := x.Uint32(); {
	case x.err != nil:
	case how == setToClientTime:
		x.Skip(nfstime3Size)
	case how == dontChange || how == setToServerTime:
	default:
		// time_how has three values; anything else is not a sattr3.
		x.rejectAt(at, ErrBadUnion)
	}
}

// NFS3Result holds what nfsstall keeps of an NFSv3 reply's results. Byte
// slices alias the input and are valid only as long as it is.
type NFS3Result struct {
	// Status is the nfsstat3 (NFS3OK, NFS3ErrJukebox, ...). NULL has none.
	Status uint32
	// Count is the bytes READ returned or WRITE wrote.
	Count uint32
	// EOF is READ's end-of-file flag.
	EOF bool
	// Committed is WRITE's stable_how committed: how safely it was written.
	Committed uint32
	// Verf is the write verifier of WRITE and COMMIT. It changes when the
	// server restarts, which obliges clients to resend unstable writes.
	Verf []byte
	// FH is the handle of the object found (LOOKUP) or made (CREATE, MKDIR,
	// SYMLINK, MKNOD, when the server returns one): it ties a name to a
	// handle.
	FH []byte
	// Has says which of the fields above were decoded (HasStatus, HasCount,
	// HasEOF, HasCommitted, HasVerf, HasFH).
	Has uint32
}

// mark sets bit in r.Has when the reads so far succeeded.
func (r *NFS3Result) mark(x *XDR, bit uint32) { x.mark(&r.Has, bit) }

// ParseNFS3Result decodes the results b of NFSv3 procedure proc into r,
// resetting r first. Every procedure but NULL yields Status. READ also
// yields post_op_attr (skipped), Count and EOF, not reading the data, so a
// READ cut in its data decodes without error; WRITE yields wcc_data
// (skipped), Count, Committed and Verf; COMMIT wcc_data and Verf; LOOKUP,
// CREATE, MKDIR, SYMLINK and MKNOD the new handle. The rest of a reply is
// not read. For a message cut short, r holds the fields before the cut
// (see Has) and the error wraps ErrShort.
func ParseNFS3Result(proc uint32, b []byte, r *NFS3Result) error {
	*r = NFS3Result{}
	x := NewXDR(b)
	if proc > NFS3ProcCommit {
		return x.failWith("nfs3 result", ErrUnknownProc)
	}
	if proc == NFS3ProcNull {
		return nil // void
	}
	r.Status = x.Uint32()
	r.mark(&x, HasStatus)
	ok := x.err == nil && r.Status == NFS3OK
	switch proc {
	case NFS3ProcRead:
		postOpAttr(&x)
		if ok {
			r.Count = x.Uint32()
			r.mark(&x, HasCount)
			r.EOF = x.Bool()
			r.mark(&x, HasEOF)
		}
	case NFS3ProcWrite:
		wccData(&x)
		if ok {
			r.Count = x.Uint32()
			r.mark(&x, HasCount)
			r.Committed = x.Uint32()
			r.mark(&x, HasCommitted)
			r.Verf = x.FixedOpaque(verf3Size)
			r.mark(&x, HasVerf)
		}
	case NFS3ProcCommit:
		wccData(&x)
		if ok {
			r.Verf = x.FixedOpaque(verf3Size)
			r.mark(&x, HasVerf)
		}
	case NFS3ProcLookup:
		if ok {
			r.FH = x.Opaque(nfs3FHSize)
			r.mark(&x, HasFH)
		}
	case NFS3ProcCreate, NFS3ProcMkdir, NFS3ProcSymlink, NFS3ProcMknod:
		if ok && x.Bool() { // post_op_fh3
			r.FH = x.Opaque(nfs3FHSize)
			r.mark(&x, HasFH)
		}
	}
	if x.err != nil {
		return x.fail("nfs3 " + nfs3Procs[proc] + " result")
	}
	return nil
}

// postOpAttr skips a post_op_attr: a bool and, when true, a fattr3.
func postOpAttr(x *XDR) {
	if x.Bool() {
		x.Skip(fattr3Size)
	}
}

// wccData skips a wcc_data: pre_op_attr (bool and wcc_attr) then
// post_op_attr.
func wccData(x *XDR) {
	if x.Bool() {
		x.Skip(wccAttrSize)
	}
	postOpAttr(x)
}
