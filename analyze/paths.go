package analyze

import (
	"strings"

	"github.com/nfsstall/nfsstall/decode"
)

// File names. A handle says nothing of the file it names, but the capture
// often holds the operation that returned it with a name: an NFSv3 LOOKUP,
// CREATE, MKDIR, SYMLINK or MKNOD (directory handle and name in the call,
// the new handle in the reply), a MOUNT MNT (the export's path in the
// call, its root handle in the reply), an NFSv4 COMPOUND of PUTFH or
// PUTROOTFH, LOOKUP or OPEN, then GETFH. Each teaches one handle's name
// and its directory's handle; a path is the chain of them, from the root
// when the capture shows it (an export, or PUTROOTFH's "/"), otherwise
// relative to the first directory it does not name. Not learned (yet):
// READDIRPLUS entries, RENAME, LINK, LOOKUPP.

// DefaultMaxPaths bounds the handles named (about 80 bytes each).
const DefaultMaxPaths = 16384

// maxPathName is the longest name kept of one handle (a component, or an
// export's path); longer ones are not learned.
const maxPathName = 48

// maxPathDepth bounds the walk from a handle up to its root: a loop
// (hostile input, a hash collision) ends there.
const maxPathDepth = 64

// pathTable maps a handle (by Wireshark's nfs.fh.hash) to its name and its
// directory's handle. Its map is sized once at the first name, so learning
// allocates nothing after.
type pathTable struct {
	names   map[uint32]pathEntry
	max     int
	dropped int64 // names not learned: the table was full
}

type pathEntry struct {
	parent uint32
	// root: name is the path of a root (an export's path, or "/"), not a
	// component under parent.
	root    bool
	nameLen uint8
	name    [maxPathName]byte
}

// learn notes that handle fh is name under directory parent, or, with
// root, the root at path name.
func (t *pathTable) learn(fh, parent uint32, root bool, name []byte) {
	if len(name) == 0 || len(name) > maxPathName || (!root && fh == parent) {
		return
	}
	if t.names == nil {
		if t.max <= 0 {
			return
		}
		t.names = make(map[uint32]pathEntry, t.max)
	}
	if _, ok := t.names[fh]; !ok && len(t.names) >= t.max {
		t.dropped++
		return
	}
	e := pathEntry{parent: parent, root: root, nameLen: uint8(len(name))}
	copy(e.name[:], name)
	t.names[fh] = e
}

// path returns the path of handle fh as the capture shows it: absolute
// when its chain reaches a root, else relative to the first directory not
// named; "" when fh itself was never named.
func (t *pathTable) path(fh uint32) string {
	var parts []string
	h := fh
	for range maxPathDepth {
		e, ok := t.names[h]
		if !ok {
			break
		}
		name := string(e.name[:e.nameLen])
		if e.root {
			parts = append(parts, strings.TrimSuffix(name, "/"))
			if len(parts) == 1 && parts[0] == "" {
				return "/"
			}
			break
		}
		parts = append(parts, name)
		h = e.parent
	}
	if len(parts) == 0 {
		return ""
	}
	for i, j := 0, len(parts)-1; i < j; i, j = i+1, j-1 {
		parts[i], parts[j] = parts[j], parts[i]
	}
	return strings.Join(parts, "/")
}

// rootHash stands for the handle PUTROOTFH makes current, which the
// compound does not show: a value no crc32 of a real handle is known to
// take, used only as a parent in the table.
const rootHash = 0

// pathOf returns the path of a call's handle, "" when unknown.
func (a *Analyzer) pathOf(p *call) string {
	if !p.hasFH {
		return ""
	}
	return a.paths.path(p.fhHash)
}

// learnNFS3 learns the handle an NFSv3 reply res to p returned, named by
// p's directory handle and name.
func (a *Analyzer) learnNFS3(p *call, res *decode.NFS3Result) {
	switch p.proc {
	case decode.NFS3ProcLookup, decode.NFS3ProcCreate, decode.NFS3ProcMkdir, decode.NFS3ProcSymlink, decode.NFS3ProcMknod:
	default:
		return
	}
	if res.Has&decode.HasFH == 0 || res.Status != 0 || !p.hasFH || p.nameCut || len(res.FH) == 0 {
		return
	}
	a.paths.learn(decode.FHHash(res.FH), p.fhHash, false, p.nameBuf[:p.nameLen])
}

// mntCall keeps the export path a MNT call m asks for in p's name.
func mntCall(p *call, m *decode.Call) {
	path, err := decode.ParseMountPath(m.Args)
	if err != nil {
		return
	}
	p.nameLen = uint8(copy(p.nameBuf[:], path))
	p.nameCut = len(path) > len(p.nameBuf)
}

// learnMnt learns the root handle a MNT reply returned, named by the path
// its call p asked for.
func (a *Analyzer) learnMnt(p *call, results []byte) {
	if p.nameCut || p.nameLen == 0 {
		return
	}
	status, fh, err := decode.ParseMountResult(p.vers, results)
	if err != nil || status != 0 || len(fh) == 0 {
		return
	}
	a.paths.learn(decode.FHHash(fh), 0, true, p.nameBuf[:p.nameLen])
}

// nameV4 finds, in a COMPOUND whose main operation is a LOOKUP or an
// OPEN, the handle a GETFH will return and what names it: the directory
// PUTFH or PUTROOTFH made current and the names LOOKUP (or OPEN, by name)
// walked from it, joined with "/" in p's name (what the call named). It
// keeps the GETFH's index for the reply (learnV4).
func (p *call) nameV4(args *decode.Compound4Args) {
	main := args.MainOp()
	named := main == decode.OpLookup || main == decode.OpOpen
	var (
		dir             uint32
		known, fromRoot bool
		path            [maxPathName]byte
		n               int
		fits            = true
	)
	for i := range min(args.N, decode.MaxOps) {
		o := &args.Ops[i]
		switch o.Op {
		case decode.OpPutFH:
			known, fromRoot, n, fits = o.Has&decode.HasFH != 0, false, 0, true
			if known {
				dir = decode.FHHash(o.FH)
			}
		case decode.OpPutRootFH:
			dir, known, fromRoot, n, fits = rootHash, true, true, 0, true
		case decode.OpLookup, decode.OpOpen:
			if o.Has&decode.HasName == 0 {
				known = false // OPEN of a handle, not a name
				continue
			}
			if n > 0 {
				if n == len(path) {
					fits = false
					continue
				}
				path[n] = '/'
				n++
			}
			if n+len(o.Name) > len(path) {
				fits = false
				continue
			}
			n += copy(path[n:], o.Name)
		case decode.OpGetFH:
			if known && fromRoot && n == 0 {
				p.v4.getfh, p.v4.rootFH = uint8(i+1), true // the root itself
				return
			}
			if !known || !fits || n == 0 || !named {
				return
			}
			p.v4.getfh, p.v4.dir, p.v4.fromRoot = uint8(i+1), dir, fromRoot
			p.nameLen, p.nameCut = uint8(copy(p.nameBuf[:], path[:n])), false
			return
		case decode.OpSaveFH, decode.OpRestoreFH, decode.OpLookupP, decode.OpPutPubFH, decode.OpCreate:
			known = false // the current handle is no longer one the walk names
		}
	}
}

// learnV4 learns the handle the GETFH of p's compound returned (res).
func (a *Analyzer) learnV4(p *call, res *decode.Compound4Res) {
	i := int(p.v4.getfh) - 1
	if i < 0 || i >= min(res.N, decode.MaxOps) || (p.nameCut && !p.v4.rootFH) {
		return
	}
	o := &res.Ops[i]
	if o.Op != decode.OpGetFH || o.Status != decode.NFS4OK || o.Has&decode.HasFH == 0 || len(o.FH) == 0 {
		return
	}
	fh := decode.FHHash(o.FH)
	if p.v4.rootFH {
		a.paths.learn(fh, 0, true, []byte("/"))
		return
	}
	if p.v4.fromRoot {
		// Names walked from the root: an absolute path.
		var abs [maxPathName + 1]byte
		abs[0] = '/'
		n := 1 + copy(abs[1:], p.nameBuf[:p.nameLen])
		a.paths.learn(fh, 0, true, abs[:n])
		return
	}
	a.paths.learn(fh, p.v4.dir, false, p.nameBuf[:p.nameLen])
}

// Path returns the path learned so far of the file handle whose
// Wireshark nfs.fh.hash is fhHash, "" when none (tests hold it to
// tshark's nfs.full_name).
func (a *Analyzer) Path(fhHash uint32) string { return a.paths.path(fhHash) }
