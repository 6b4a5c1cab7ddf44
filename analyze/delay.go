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

// Delay loops (issue 13, item 8): a server that answers NFS4ERR_DELAY
// (NFSv4) or NFS3ERR_JUKEBOX (NFSv3; both 10008) tells the client to try
// again later, and the client re-sends the same operation on the same file
// with a new XID (not an RPC retransmission), backing off. A loop is the
// DELAY answers to one client's calls of one operation (an NFSv4
// COMPOUND's main operation, an NFSv3 procedure) on one file handle, until
// a reply with another status ends it. What it holds for the server:
// a delegation being recalled (then the recall, not the server, is what
// the client waits on: recall_stuck, which asks delayLoopsByHandle), a file
// being recalled from tape or a slow back end, a busy server.
//
// Per loop: the DELAY answers (evidence: the first maxWatchFrames and the
// last watchTail), the intervals between the calls (the client's
// backoff), how it ended. At most maxOpenDelays loops are open at once;
// loops of a single DELAY that ended quickly are not kept.

// KindDelay is the finding of a delay loop.
const KindDelay = "server_delaying"

// VerdictDelay: calls waited long on a server answering DELAY / JUKEBOX.
const VerdictDelay = "server_delaying"

const maxOpenDelays = 4096

// delayKey is one client's operation on one file at one server.
type delayKey struct {
	client [16]byte
	server tcpflow.Endpoint
	vers   uint32
	row    uint32 // the procedure, or opRow plus the COMPOUND's main operation
	fh     uint32 // FHHash; hasFH false: none
	hasFH  bool
}

// delayLoop is one key's DELAY answers until another status.
type delayLoop struct {
	key         delayKey
	proc        string           // the operation, for people (ProcLabel)
	name        string           // and as JSON's findings name it (Finding.Procedure)
	file        string           // the name the call was about in directory key.fh, if any (recall.go)
	label       string           // the operation and file
	since       tcpflow.FrameRef // the first call answered DELAY
	first, last tcpflow.FrameRef // the first and last DELAY answers
	delays      int
	ev          evidence  // the calls and their DELAY answers
	gaps        intervals // between the calls answered DELAY (and the call that ended it)
	prevCall    int64
	// conn: the connection of the second DELAY answer (or of the reply
	// ending a loop of one kept), named (kept from folding) for the
	// finding once the loop is worth one
	conn      int
	end       tcpflow.FrameRef // the reply that ended it (Frame 0: none)
	endStatus uint32
}

// delayTable follows the open loops and keeps the ended ones worth a
// finding.
type delayTable struct {
	open     map[delayKey]*delayLoop
	done     []*delayLoop
	doneMore int64
	refused  int64 // DELAY answers not followed: maxOpenDelays loops open
}

// reply sees the status st of the reply at of p, an NFSv3 call or NFSv4
// COMPOUND.
func (t *delayTable) reply(c *connState, p *call, st uint32, at tcpflow.FrameRef, stallAfter int64) {
	k := delayKey{client: c.info.Client.Addr, server: c.info.Server, vers: p.vers, row: p.row, fh: p.fhHash, hasFH: p.hasFH}
	loop := t.open[k]
	if st != decode.NFS4ErrDelay { // == NFS3ErrJukebox
		if loop == nil {
			return
		}
		delete(t.open, k)
		loop.call(p)
		loop.ev.add(p.first)
		loop.ev.add(at)
		loop.end, loop.endStatus = at, st
		if loop.delays < 2 && at.Time-loop.since.Time < stallAfter {
			return
		}
		if loop.delays < 2 {
			loop.conn, c.named = c.info.ID, true
		}
		if len(t.done) >= maxListed {
			t.doneMore++
			return
		}
		t.done = append(t.done, loop)
		return
	}
	if loop == nil {
		if len(t.open) >= maxOpenDelays {
			t.refused++
			return
		}
		if t.open == nil {
			t.open = map[delayKey]*delayLoop{}
		}
		loop = &delayLoop{key: k, since: p.first, first: at, proc: p.procLabel(), name: p.name()}
		if !p.nameCut {
			loop.file = string(p.nameBuf[:p.nameLen])
		}
		loop.label = loop.proc
		if d := p.detail(&c.a.paths); d != "" {
			loop.label += " (" + d + ")"
		}
		t.open[k] = loop
		loop.conn = c.info.ID
	}
	loop.call(p)
	loop.delays++
	if loop.delays == 2 {
		loop.conn, c.named = c.info.ID, true
	}
	loop.last = at
	loop.ev.add(p.first)
	loop.ev.add(at)
}

// call notes a call of the loop, for the intervals.
func (l *delayLoop) call(p *call) {
	if l.prevCall != 0 {
		l.gaps.add(p.first.Time - l.prevCall)
	}
	l.prevCall = p.first.Time
}

// waited is how long the loop kept the client waiting: from its first
// call to the reply that ended it, or to the last DELAY answer.
func (l *delayLoop) waited() int64 {
	if l.end.Frame != 0 {
		return l.end.Time - l.since.Time
	}
	return l.last.Time - l.since.Time
}

// delayLoopsByHandle gives the loops (open and ended) by file handle
// hash, so that a verdict that explains them (a recall of that file) can
// take precedence.
func (a *Analyzer) delayLoopsByHandle() map[uint32][]*delayLoop {
	out := map[uint32][]*delayLoop{}
	for _, l := range a.allDelayLoops() {
		if l.key.hasFH {
			out[l.key.fh] = append(out[l.key.fh], l)
		}
	}
	return out
}

// allDelayLoops is the ended loops kept and the open ones of two DELAY
// answers or more, the open ones sorted by their first answer.
func (a *Analyzer) allDelayLoops() []*delayLoop {
	t := &a.watch.delay
	open := slices.Collect(maps.Values(t.open))
	open = slices.DeleteFunc(open, func(l *delayLoop) bool {
		return l.delays < 2 && l.waited() < a.opts.StallAfter
	})
	slices.SortFunc(open, func(x, y *delayLoop) int {
		if c := cmp.Compare(x.first.Time, y.first.Time); c != 0 {
			return c
		}
		return bytes.Compare(x.key.client[:], y.key.client[:])
	})
	return append(slices.Clone(t.done), open...)
}

// delayFindings makes one finding per loop.
func (a *Analyzer) delayFindings(all []Finding, omitted map[string]int64) []Finding {
	t := &a.watch.delay
	omitted[KindDelay] += t.doneMore
	byFH := a.delayLoopsByHandle()
	for i, l := range a.allDelayLoops() {
		if i >= maxListed {
			omitted[KindDelay]++
			continue
		}
		all = append(all, a.delayFinding(l, byFH[l.key.fh]))
	}
	return all
}

// delayFinding describes loop l; same are the loops on its file handle
// (l among them).
func (a *Analyzer) delayFinding(l *delayLoop, same []*delayLoop) Finding {
	f := Finding{Kind: KindDelay, Severity: SeverityWarning, Connection: l.conn, Start: Time(l.since.Time)}
	f.setFrames(l.ev.refs())
	f.DurationMS = ms(l.waited())
	f.Procedure, f.procLabel = l.name, l.proc
	status := "NFS4ERR_DELAY"
	if l.key.vers == 3 {
		status = "NFS3ERR_JUKEBOX"
	}
	var b strings.Builder
	fmt.Fprintf(&b, "%s's %s was answered %s %d %s over %s (frames %s",
		tcpflow.Endpoint{Addr: l.key.client}.IP(), l.label, status, l.delays, Plural(l.delays, "time", "times"),
		FormatMS(ms(l.last.Time-l.first.Time)), a.frames(f.refs))
	if l.ev.n > len(f.refs) {
		fmt.Fprintf(&b, "; %d calls and answers in all", l.ev.n)
	}
	fmt.Fprintf(&b, "): the server %s says it is busy with the file and the client re-sends the call with a new XID each time", l.key.server)
	if s := l.gaps.String(); s != "" {
		fmt.Fprintf(&b, "; intervals between the calls %s", s)
	}
	switch {
	case l.end.Frame != 0 && l.endStatus == decode.NFS4OK:
		fmt.Fprintf(&b, "; it succeeded at frame %s, %s after the first call", a.frame(l.end), FormatMS(f.DurationMS))
	case l.end.Frame != 0:
		name := decode.NFS4StatName(l.endStatus)
		if l.key.vers == 3 {
			name = decode.NFS3StatName(l.endStatus)
		}
		fmt.Fprintf(&b, "; it ended with %s at frame %s, %s after the first call", name, a.frame(l.end), FormatMS(f.DurationMS))
	default:
		fmt.Fprintf(&b, "; no answer but %s by the end of the capture, %s after the first call", status, FormatMS(f.DurationMS))
	}
	if others := len(same) - 1; l.key.hasFH && others > 0 {
		clients := map[[16]byte]bool{}
		for _, o := range same {
			clients[o.key.client] = true
		}
		fmt.Fprintf(&b, "; %d other delay %s on the same file (%d %s in all): a file many wait on, as when the server recalls a delegation of it",
			others, Plural(others, "loop", "loops"), len(clients), Plural(len(clients), "client", "clients"))
	}
	switch {
	case l.key.hasFH && a.recallExplains(l.key.client, l.key.fh, l.file):
		// Another client's recall of the file holds it: recall_stuck
		// (recall.go) is the verdict, this loop its evidence.
		b.WriteString("; the server is recalling the file from another client (recall_stuck): that is why it delays")
	case l.waited() >= a.opts.StallAfter:
		f.Severity = SeverityStall
	}
	f.Summary = b.String()
	return f
}

// delayVerdict is the verdict for calls that waited on DELAY / JUKEBOX
// answers: the loop findings at idx.
func (a *Analyzer) delayVerdict(r *Report, d *Diagnosis, idx []int) {
	f := r.Findings[idx[0]]
	d.Verdict = VerdictDelay
	d.Findings = idx
	d.Summary = fmt.Sprintf("the server keeps answering %s with NFS4ERR_DELAY / NFS3ERR_JUKEBOX (\"busy, try later\") and the client keeps re-sending it: it waited %s (frames %s). The server side holds it up: a file being recalled from tape or a slow back end, a busy server, or a delegation it is recalling from another client (a CB_RECALL in the capture shows that).",
		f.ProcLabel(), FormatMS(f.DurationMS), a.findingFrames(r, idx))
}

// skipped says how many DELAY answers were not followed.
func (t *delayTable) skipped() (Skipped, bool) {
	if t.refused == 0 {
		return Skipped{}, false
	}
	return Skipped{Bound: true, What: "DELAY/JUKEBOX answers not followed for " + KindDelay, Count: t.refused,
		Reason: fmt.Sprintf("%d delay loops are followed at once", maxOpenDelays)}, true
}
