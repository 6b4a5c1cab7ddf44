package analyze

import (
	"fmt"

	"github.com/nfsstall/nfsstall/decode"
)

// Operation is the count of one NFSv4 operation (or callback operation)
// across every COMPOUND (CB_COMPOUND) call, with the results that failed.
type Operation struct {
	Version int    `json:"version"`
	Name    string `json:"name"`
	Count   int64  `json:"count"`
	Errors  int64  `json:"errors"`
	// Extras beyond the contract: the operation's code (nfs_opnum4 or
	// nfs_cb_opnum4; 0 for codes no minor version defines, counted
	// together) and whether it is a callback operation.
	Code     uint32 `json:"code"`
	Callback bool   `json:"callback,omitempty"`
}

// listNFS4 adds the NFSv4 operations and sessions to the report, in code
// order, and says what the tables left out.
func (a *Analyzer) listNFS4(r *Report) {
	if a.paths.dropped > 0 {
		r.skip(true, "file names", a.paths.dropped,
			fmt.Sprintf("not learned: %d file handles were already named, the most kept; findings about the others show the handle alone", a.paths.max))
	}
	n := a.nfs4
	if n == nil {
		return
	}
	for slot := range n.ops {
		if n.ops[slot] == 0 && n.opErrors[slot] == 0 {
			continue
		}
		code := uint32(slot)
		switch slot {
		case opIllegal:
			code = decode.OpIllegal
		case opUnknown:
			code = 0
		}
		name := decode.OpName(code)
		if slot == opUnknown {
			name = "(unknown operations)"
		}
		r.Operations = append(r.Operations, Operation{Version: 4, Name: name, Code: code, Count: n.ops[slot], Errors: n.opErrors[slot]})
	}
	for slot := range n.cbOps {
		if n.cbOps[slot] == 0 && n.cbOpErrors[slot] == 0 {
			continue
		}
		code := uint32(slot)
		switch slot {
		case cbIllegal:
			code = decode.CBOpIllegal
		case cbUnknown:
			code = 0
		}
		name := decode.CBOpName(code)
		if slot == cbUnknown {
			name = "(unknown callback operations)"
		}
		r.Operations = append(r.Operations, Operation{Version: 4, Name: name, Code: code, Count: n.cbOps[slot], Errors: n.cbOpErrors[slot], Callback: true})
	}
	r.NFS4Sessions = n.sessions.listSessions()
	n.state.skipped(r)
	n.slots.skipped(r, a)
	n.recalls.skipped(r)
	n.locks.skipped(r)
	r.skip(false, "NFSv4 operations", n.opsUnseen,
		"not counted in operations: declared by a COMPOUND, but past the bytes kept of its record (after a WRITE's data) and not listed by its reply either, or past the first 32 of a compound")
	r.skip(true, "NFSv4.1 calls with SEQUENCE", n.sessions.dropped,
		fmt.Sprintf("not counted in nfs4_sessions: %d sessions were already followed, the most kept", n.sessions.max))
	r.skip(true, "NFSv4 callbacks", n.callbacks.untracked,
		fmt.Sprintf("not tracked for a reply: %d callbacks were already waiting, the most tracked; a reply to one is undecodable", a.opts.MaxCallbacks))
	r.skip(true, "NFSv4 callback programs", n.cbProgsDropped,
		fmt.Sprintf("not remembered: %d callback programs were already known, the most kept; calls of the others are not taken for callbacks", maxCBPrograms))
}
