package analyze

import (
	"bytes"
	"cmp"
	"fmt"
	"maps"
	"slices"
	"strings"

	"github.com/nfsstall/nfsstall/decode"
	"github.com/nfsstall/nfsstall/tcpflow"
)

// Lock waits (issue 13, item 9). An NFSv4 LOCK that conflicts is answered
// NFS4ERR_DENIED with the conflicting lock (LOCK4denied: range, type,
// owner; RFC 8881 section 18.10.4); a blocking lock (F_SETLKW) makes the
// client poll with LOCK again until it is granted. NLM (program 100021)
// answers a blocking LOCK NLM4_BLOCKED and calls the client back with
// GRANTED when the lock is free (nlmwait.go). Both are a wait for another
// application to release its lock, not a fault: lock_wait is info when the
// lock came, a warning when it had not by the end.
//
// Followed by waiting client address and file handle hash (at most
// maxLockWaits), the latest granted lock per file (at most maxLockWaits)
// to name who holds it. Only COMPOUNDs whose main operation is LOCK or
// LOCKU come here.

// KindLockWait is the finding of a lock waited for.
const (
	KindLockWait = "lock_wait"
	maxLockWaits = 1024 // about 200 B each
)

// lockTable holds the NFSv4 lock waits and the locks granted.
type lockTable struct {
	waits   map[lockKey]*lockWait
	held    map[uint32]lockHeld // by file handle hash: the latest LOCK granted
	dropped int64
}

type lockKey struct {
	client [16]byte
	fh     uint32
}

// lockWait is one client's denied LOCKs on one file.
type lockWait struct {
	key         lockKey
	conn        int
	first, last tcpflow.FrameRef // the first and latest NFS4ERR_DENIED
	firstCall   tcpflow.FrameRef
	denied      int
	granted     tcpflow.FrameRef
	// the conflicting lock, from the first LOCK4denied
	hasHolder        bool
	offset, length   uint64
	typ              uint32
	clientID         uint64
	ownerLen         uint8
	owner            [32]byte
	holder           lockHeld // the latest lock the capture saw granted on the file, when by another client
	pollMin, pollMax int64
	latestCall       tcpflow.FrameRef
	afterUnlock      int // denials after the holder's LOCKU
}

// lockHeld is a LOCK granted, and its LOCKU when one came.
type lockHeld struct {
	client   [16]byte
	conn     int
	at       tcpflow.FrameRef
	unlocked tcpflow.FrameRef
	ok       bool
}

// other reports whether h is another client's than the one at addr on
// connection conn: another address, or another connection (two processes
// of one host, each its own NFSv4 client).
func (h lockHeld) other(addr [16]byte, conn int) bool {
	return h.ok && (h.client != addr || h.conn != conn)
}

// lockReply looks at the reply, on c at frame at, to p, a COMPOUND of main
// operation LOCK or LOCKU.
func (a *Analyzer) lockReply(p *call, res *decode.Compound4Res, c *connState, at tcpflow.FrameRef) {
	if p.row != opRow+decode.OpLock && p.row != opRow+decode.OpLockU || !p.hasFH {
		return
	}
	t := &a.nfs4.locks
	for i := range min(res.N, decode.MaxOps) {
		o := &res.Ops[i]
		k := lockKey{client: c.info.Client.Addr, fh: p.fhHash}
		switch {
		case o.Op == decode.OpLockU && o.Status == decode.NFS4OK:
			if h, ok := t.held[p.fhHash]; ok && !h.other(k.client, c.info.ID) && h.unlocked.Frame == 0 {
				h.unlocked = at
				t.held[p.fhHash] = h
			}
		case o.Op == decode.OpLock && o.Status == decode.NFS4OK:
			if w := t.waits[k]; w != nil && w.granted.Frame == 0 {
				w.granted = at
			}
			if len(t.held) < maxLockWaits || t.held != nil && t.held[p.fhHash].ok {
				if t.held == nil {
					t.held = map[uint32]lockHeld{}
				}
				t.held[p.fhHash] = lockHeld{client: k.client, conn: c.info.ID, at: at, ok: true}
			}
		case o.Op == decode.OpLock && o.Status == decode.NFS4ErrDenied:
			w := t.waits[k]
			if w == nil || w.granted.Frame != 0 {
				if w == nil && len(t.waits) >= maxLockWaits {
					t.dropped++
					return
				}
				if t.waits == nil {
					t.waits = map[lockKey]*lockWait{}
				}
				w = &lockWait{key: k, first: at, firstCall: p.first}
				t.waits[k] = w
				if o.Has&decode.HasDenied != 0 {
					w.hasHolder, w.offset, w.length, w.typ, w.clientID = true, o.Offset, o.Length, o.Type, o.ClientID
					w.ownerLen = uint8(copy(w.owner[:], o.Owner))
				}
				if h := t.held[p.fhHash]; h.other(k.client, c.info.ID) && h.unlocked.Frame == 0 {
					w.holder = h
				}
			}
			if w.latestCall.Frame != 0 {
				gap := p.first.Time - w.latestCall.Time
				if w.pollMin == 0 || gap < w.pollMin {
					w.pollMin = gap
				}
				w.pollMax = max(w.pollMax, gap)
			}
			w.latestCall = p.first
			w.denied++
			if h := t.held[p.fhHash]; w.holder.ok && h.at == w.holder.at && h.unlocked.Frame != 0 {
				w.afterUnlock++
				w.holder.unlocked = h.unlocked
			}
			w.last, w.conn = at, c.info.ID
		}
	}
}

// lockTypeName names an nfs_lock_type4.
func lockTypeName(t uint32) string {
	switch t {
	case 1:
		return "read"
	case 2:
		return "write"
	case 3:
		return "blocking read"
	case 4:
		return "blocking write"
	}
	return fmt.Sprintf("type %d", t)
}

// lockRange words a byte range; a length of all ones is to the end of
// the file.
func lockRange(off, length uint64) string {
	if length == ^uint64(0) || length == 0 {
		return fmt.Sprintf("bytes %d to the end of the file", off)
	}
	return fmt.Sprintf("bytes %d to %d", off, off+length-1)
}

// lockFindings turns the NFSv4 lock waits into findings.
func (a *Analyzer) lockFindings(all []Finding, end int64, omitted map[string]int64) []Finding {
	if a.nfs4 == nil {
		return all
	}
	t := &a.nfs4.locks
	waits := slices.Collect(maps.Values(t.waits))
	slices.SortFunc(waits, func(x, y *lockWait) int {
		if c := cmp.Compare(x.first.Time, y.first.Time); c != 0 {
			return c
		}
		return bytes.Compare(x.key.client[:], y.key.client[:])
	})
	for i, w := range waits {
		if i >= maxListed {
			omitted[KindLockWait] += int64(len(waits) - i)
			break
		}
		all = append(all, a.lockWaitFinding(w, end))
	}
	return all
}

func (a *Analyzer) lockWaitFinding(w *lockWait, end int64) Finding {
	client := tcpflow.Endpoint{Addr: w.key.client}.IP()
	file := fmt.Sprintf("FH 0x%08x", w.key.fh)
	path := a.paths.path(w.key.fh)
	if path != "" {
		file += fmt.Sprintf(" %q", path)
	}
	f := Finding{Kind: KindLockWait, Connection: w.conn, Procedure: "LOCK", Path: path, Start: Time(w.firstCall.Time)}
	refs := []tcpflow.FrameRef{w.first}
	if w.last != w.first {
		refs = append(refs, w.last)
	}
	var b strings.Builder
	fmt.Fprintf(&b, "%s's LOCK on %s", client, file)
	fmt.Fprintf(&b, " was denied (NFS4ERR_DENIED) %d %s, frames %s to %s", w.denied, Plural(w.denied, "time", "times"), a.frame(w.first), a.frame(w.last))
	if w.denied > 1 {
		lo, hi := FormatMS(ms(w.pollMin)), FormatMS(ms(w.pollMax))
		if lo == hi {
			fmt.Fprintf(&b, ": the client polls for it, every %s", lo)
		} else {
			fmt.Fprintf(&b, ": the client polls for it, every %s to %s", lo, hi)
		}
	}
	if w.hasHolder {
		fmt.Fprintf(&b, "; the server says a %s lock on %s holds it, owner %q of client ID 0x%016x", lockTypeName(w.typ), lockRange(w.offset, w.length), w.owner[:w.ownerLen], w.clientID)
	}
	if w.holder.ok {
		refs = append(refs, w.holder.at)
		fmt.Fprintf(&b, "; the capture shows %s's LOCK on the file granted at frame %s (connection %d), not unlocked before the first denial", tcpflow.Endpoint{Addr: w.holder.client}.IP(), a.frame(w.holder.at), w.holder.conn)
		if w.afterUnlock > 0 {
			refs = append(refs, w.holder.unlocked)
			fmt.Fprintf(&b, "; that holder's LOCKU succeeded at frame %s, yet the server denied %d later %s: it still holds a conflicting lock (state the server did not release: look at the server)",
				a.frame(w.holder.unlocked), w.afterUnlock, Plural(w.afterUnlock, "try", "tries"))
		}
	}
	if w.granted.Frame != 0 {
		refs = append(refs, w.granted)
		f.Severity = SeverityInfo
		f.DurationMS = ms(w.granted.Time - w.firstCall.Time)
		fmt.Fprintf(&b, "; granted at frame %s, %s after the first try: an application held the lock that long (a wait, not a fault)", a.frame(w.granted), FormatMS(f.DurationMS))
	} else {
		f.Severity = SeverityWarning
		f.DurationMS = ms(end - w.firstCall.Time)
		if w.afterUnlock > 0 {
			fmt.Fprintf(&b, "; still not granted at the end of the capture, %s after the first try", FormatMS(f.DurationMS))
		} else {
			fmt.Fprintf(&b, "; still not granted at the end of the capture, %s after the first try: the application waits for another to release its lock (a wait, not a fault of NFS; find the holder)", FormatMS(f.DurationMS))
		}
	}
	f.setFrames(refs)
	f.Summary = b.String()
	return f
}

// skipped says what the lock table left out.
func (t *lockTable) skipped(r *Report) {
	r.skip(true, "NFSv4 LOCK denials", t.dropped,
		fmt.Sprintf("not followed for %s: %d clients' waits on a file are followed, the most kept", KindLockWait, maxLockWaits))
}
