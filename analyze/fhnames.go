package analyze

import (
	"strings"

	"nfsstall/decode"
)

// File names. A file handle is opaque: a finding about "FH 0x3f91a738"
// tells an operator nothing until the handle is tied to a path, and the
// capture often shows how: the MOUNT MNT reply that gave an export's root
// handle, and every LOOKUP, CREATE, MKDIR, SYMLINK or MKNOD reply that gave
// the handle of a name in a directory. fhNames keeps what those replies
// showed, by Wireshark's handle hash (nfs.fh.hash, what findings show),
// and walks it up to a root to name a handle by its path.
//
// What it keeps is bounded (Options.MaxFileNames): a name is one entry of
// a few dozen bytes, learnt once per handle (a handle looked up again
// under the same name costs a comparison, not an allocation). Names past
// the bound are not learnt and are counted in Report.Skipped.

// fhName is the name of a handle in its parent directory.
type fhName struct {
	parent uint32 // the directory's handle hash
	name   string
}

type fhNames struct {
	max     int
	names   map[uint32]fhName
	roots   map[uint32]string // export root handle -> export path (MNT)
	dropped int64             // names not learnt: the table was full
}

// maxPathDepth bounds the walk up a path: a chain longer than that (or a
// loop, from hash collisions or a hostile capture) is cut, and shown as
// relative.
const maxPathDepth = 64

// learn records that handle child is name in directory parent.
func (t *fhNames) learn(child, parent uint32, name []byte) {
	if len(name) == 0 {
		return
	}
	if old, ok := t.names[child]; ok {
		if old.parent == parent && old.name == string(name) { // no allocation: compared in place
			return
		}
	} else if len(t.names) >= t.max {
		t.dropped++
		return
	}
	if t.names == nil {
		t.names = make(map[uint32]fhName)
	}
	t.names[child] = fhName{parent: parent, name: string(name)}
}

// root records an export's path and root handle (a MOUNT MNT reply).
func (t *fhNames) root(fh uint32, path []byte) {
	if old, ok := t.roots[fh]; ok && old == string(path) {
		return
	}
	if _, ok := t.roots[fh]; !ok && len(t.roots) >= t.max {
		t.dropped++
		return
	}
	if t.roots == nil {
		t.roots = make(map[uint32]string)
	}
	t.roots[fh] = string(path)
}

// path returns the path of handle h as far as the capture showed it: from
// its export's path when the MNT reply was seen ("/srv/export/dir/file"),
// else relative to the highest directory known ("…/dir/file"); "" when
// nothing is known of h. An export root is its export's path.
func (t *fhNames) path(h uint32) string {
	if r, ok := t.roots[h]; ok {
		return r
	}
	var parts []string
	at := h
	for range maxPathDepth {
		n, ok := t.names[at]
		if !ok {
			break
		}
		parts = append(parts, n.name)
		at = n.parent
		if r, ok := t.roots[at]; ok {
			return joinPath(r, parts)
		}
	}
	if len(parts) == 0 {
		return ""
	}
	return joinPath("…", parts)
}

// joinPath joins base and parts, which are in reverse order (the name of
// the handle first). Names from the wire are kept as they are: the report
// quotes them where it prints them.
func joinPath(base string, parts []string) string {
	var b strings.Builder
	b.WriteString(strings.TrimSuffix(base, "/"))
	for i := len(parts) - 1; i >= 0; i-- {
		b.WriteByte('/')
		b.WriteString(parts[i])
	}
	return b.String()
}

// learnName learns from the reply to p, a call of NFSv3 or MOUNT that
// decoded without error (res: its NFSv3 results, when NFSv3), the name of
// the handle it gave.
func (a *Analyzer) learnName(p *call, results []byte, res *decode.NFS3Result) {
	if p.nameCut || p.nameLen == 0 {
		return // a name cut short would name the file wrongly
	}
	switch {
	case p.prog == decode.ProgMount && p.proc == decode.MountProcMnt:
		if status, fh, err := decode.ParseMountResult(p.vers, results); err == nil && status == 0 && len(fh) > 0 {
			a.fhNames.root(decode.FHHash(fh), p.nameBuf[:p.nameLen])
		}
	case p.prog == decode.ProgNFS && p.vers == 3 && p.hasFH && res.Has&decode.HasFH != 0 && len(res.FH) > 0:
		switch p.proc {
		case decode.NFS3ProcLookup, decode.NFS3ProcCreate, decode.NFS3ProcMkdir, decode.NFS3ProcSymlink, decode.NFS3ProcMknod:
			a.fhNames.learn(decode.FHHash(res.FH), p.fhHash, p.nameBuf[:p.nameLen])
		}
	}
}
