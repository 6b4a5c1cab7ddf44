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

// Delegation and layout recalls (issue 13, item 7). When a client wants a
// file another client holds a delegation (or layout) on, the server
// recalls it with CB_RECALL (CB_LAYOUTRECALL) to the holder and answers
// the other client's OPEN, REMOVE, RENAME or SETATTR with NFS4ERR_DELAY
// until the holder returns it (DELEGRETURN, LAYOUTRETURN): RFC 8881
// sections 10.4.4 and 12.5.5, RFC 7530 section 10.4. A holder that never
// answers the recall, or answers and never returns, keeps the other
// client waiting: recall_stuck, naming both clients and the file. Its
// usual cause is the callback path: the server cannot reach the holder
// (4.0: a firewall in front of the client's callback port; 4.1: no
// backchannel), which the server tells the holder by RENEW's
// NFS4ERR_CB_PATH_DOWN (4.0) or SEQUENCE's status flags CB_PATH_DOWN,
// CB_PATH_DOWN_SESSION, BACKCHANNEL_FAULT (4.1): callback_path_down.
//
// Recalls are followed by holder address and file handle hash (at most
// maxRecalls); the NFS4ERR_DELAY replies by waiter address and the
// handle and name their call was about (at most maxDelays). Only
// callbacks, DELEGRETURN and LAYOUTRETURN calls, and NFS4ERR_DELAY
// replies reach the tables.

// Finding kinds and verdict of recalls.
const (
	KindRecallStuck       = "recall_stuck"
	KindCallbackPathDown  = "callback_path_down"
	VerdictRecallStuck    = "recall_stuck"
	maxRecalls            = 1024 // about 200 B each
	maxDelays             = 4096 // about 150 B each
	cbPathDownFlags       = seqStatusCBPathDown | seqStatusCBPathDownSess | seqStatusBackchannelFault
	recallDelayLookBehind = int64(1e9) // a DELAY this long before the recall is its waiter's too
)

// recallTable holds the recalls and the delays.
type recallTable struct {
	recalls map[recallKey]*recall
	byXID   map[cbKey]*recall // recalls waiting for the callback's reply
	delays  map[recallDelayKey]*delayRec
	dropped int64
	// who: by connection of a stuck recall finding, its holder and waiter
	who map[int][2]string
	// cbConn: a 4.0 callback connection (the server's, to the holder)
	// whose recall is stuck -> the connection of that recall's finding
	cbConn map[int]int
}

type recallKey struct {
	holder [16]byte
	fh     uint32
}

// recall is one recall of a file from a holder (the latest, when recalled
// again).
type recall struct {
	key        recallKey
	layout     bool // CB_LAYOUTRECALL, else CB_RECALL
	stateid    [12]byte
	server     tcpflow.Endpoint
	conn       int // the connection of the callback
	first      tcpflow.FrameRef
	sends      int
	recalls    int // CB_RECALLs of this file to this holder
	answered   tcpflow.FrameRef
	status     uint32 // the callback's status when answered (0 OK)
	failed     bool
	returned   tcpflow.FrameRef
	returnConn int
}

type recallDelayKey struct {
	waiter  [16]byte
	fh      uint32 // the handle the call was about (the directory, for a name)
	nameLen uint8  // the name the call was about (none: 0), as call.nameBuf
	name    [48]byte
}

func (k *recallDelayKey) nameStr() string { return string(k.name[:k.nameLen]) }

// delayRec is the NFS4ERR_DELAY replies a client got for calls about
// one file (or one name in a directory).
type delayRec struct {
	key         recallDelayKey
	conn        int
	op          string
	first, last tcpflow.FrameRef
	callFirst   tcpflow.FrameRef // the call of the first DELAY
	count       int
}

// recallCallback looks at a callback call m on c at frame at: holder is
// the client it goes to. Only a CB_COMPOUND's CB_RECALL and
// CB_LAYOUTRECALL (of a file) are kept; n.cbArgs holds its decode.
func (a *Analyzer) recallCallback(c *connState, m *decode.Call, at tcpflow.FrameRef, holder [16]byte, server tcpflow.Endpoint) {
	if m.Vers != 1 || m.Proc != decode.CBProcCompound {
		return
	}
	n := a.nfs4
	t := &n.recalls
	k := cbKey{conn: c.info.ID, xid: m.XID}
	if r := t.byXID[k]; r != nil {
		r.sends++ // the same callback again
		return
	}
	args := &n.cbArgs
	for i := range min(args.N, decode.MaxOps) {
		o := &args.Ops[i]
		layout := o.Op == decode.CBOpLayoutRecall
		if o.Op != decode.CBOpRecall && !(layout && o.Has&decode.HasClaim != 0 && o.Recall == decode.LayoutRecallFile) {
			continue
		}
		if o.Has&decode.HasFH == 0 {
			continue
		}
		rk := recallKey{holder: holder, fh: decode.FHHash(o.FH)}
		r := t.recalls[rk]
		if r == nil {
			if len(t.recalls) >= maxRecalls {
				t.dropped++
				return
			}
			if t.recalls == nil {
				t.recalls = map[recallKey]*recall{}
				t.byXID = map[cbKey]*recall{}
			}
			r = &recall{key: rk}
			t.recalls[rk] = r
		}
		recalls := r.recalls
		*r = recall{key: rk, layout: layout, stateid: o.Stateid.Other, server: server, conn: c.info.ID, first: at, sends: 1, recalls: recalls + 1}
		if len(t.byXID) < maxRecalls {
			t.byXID[k] = r
		}
		return
	}
}

// recallAnswered notes the reply, on c at frame at, to callback xid;
// failed and status say how it went.
func (a *Analyzer) recallAnswered(c *connState, xid uint32, at tcpflow.FrameRef, failed bool, status uint32) {
	t := &a.nfs4.recalls
	k := cbKey{conn: c.info.ID, xid: xid}
	r := t.byXID[k]
	if r == nil {
		return
	}
	delete(t.byXID, k)
	r.answered, r.failed, r.status = at, failed, status
}

// cbReplied hands the reply m to a callback, on c at frame at, to
// recallAnswered; compound: the callback is a CB_COMPOUND, whose status
// n.cbRes holds (cbFailed decoded it) unless the RPC failed.
func (a *Analyzer) cbReplied(c *connState, m *decode.Reply, at tcpflow.FrameRef, failed, compound bool) {
	status := uint32(0)
	if compound && m.ReplyStat == 0 && m.AcceptStat == 0 {
		status = a.nfs4.cbRes.Status
	}
	a.recallAnswered(c, m.XID, at, failed, status)
}

// recallReturn looks at a tracked COMPOUND call's arguments, sent on c at
// frame at, for DELEGRETURN and LAYOUTRETURN of a recalled file.
func (a *Analyzer) recallReturn(args *decode.Compound4Args, c *connState, at tcpflow.FrameRef) {
	t := &a.nfs4.recalls
	if len(t.recalls) == 0 {
		return
	}
	fh, hasFH := uint32(0), false
	for i := range min(args.N, decode.MaxOps) {
		o := &args.Ops[i]
		switch o.Op {
		case decode.OpPutFH:
			if o.Has&decode.HasFH != 0 {
				fh, hasFH = decode.FHHash(o.FH), true
			}
		case decode.OpDelegReturn, decode.OpLayoutReturn:
			for _, r := range t.recalls {
				if r.key.holder != c.info.Client.Addr || r.returned.Frame != 0 || r.layout != (o.Op == decode.OpLayoutReturn) {
					continue
				}
				if (hasFH && r.key.fh == fh) || (o.Has&decode.HasStateid != 0 && o.Stateid.Other == r.stateid) {
					r.returned, r.returnConn = at, c.info.ID
				}
			}
		}
	}
}

// recallReply looks at a COMPOUND reply, on c at frame at, to call p: an
// NFS4ERR_DELAY is kept with the file the call was about.
func (a *Analyzer) recallReply(p *call, res *decode.Compound4Res, c *connState, at tcpflow.FrameRef) {
	if res.Status != decode.NFS4ErrDelay || !p.hasFH {
		return
	}
	t := &a.nfs4.recalls
	k := recallDelayKey{waiter: c.info.Client.Addr, fh: p.fhHash}
	if p.nameLen > 0 && !p.nameCut {
		k.nameLen, k.name = p.nameLen, p.nameBuf
	}
	d := t.delays[k]
	if d == nil {
		if len(t.delays) >= maxDelays {
			t.dropped++
			return
		}
		if t.delays == nil {
			t.delays = map[recallDelayKey]*delayRec{}
		}
		d = &delayRec{key: k, first: at, callFirst: p.first, op: p.name()}
		t.delays[k] = d
	}
	d.count++
	d.last, d.conn = at, c.info.ID
}

// about reports whether a DELAY's call was about the recalled file fh:
// its handle, or a name whose handle the capture learned to be fh.
func (a *Analyzer) about(d *delayRec, fh uint32) bool {
	if d.key.fh == fh {
		return true
	}
	e, ok := a.paths.names[fh]
	return ok && !e.root && d.key.nameLen > 0 && e.parent == d.key.fh && bytes.Equal(e.name[:e.nameLen], d.key.name[:d.key.nameLen])
}

// waitersOf returns the DELAY records of other clients about r's file,
// from recallDelayLookBehind before the recall on, the first first.
func (a *Analyzer) waitersOf(r *recall) []*delayRec {
	var out []*delayRec
	for _, d := range a.nfs4.recalls.delays {
		if d.key.waiter != r.key.holder && d.last.Time >= r.first.Time-recallDelayLookBehind && a.about(d, r.key.fh) {
			out = append(out, d)
		}
	}
	slices.SortFunc(out, func(x, y *delayRec) int {
		if c := cmp.Compare(x.first.Time, y.first.Time); c != 0 {
			return c
		}
		return bytes.Compare(x.key.waiter[:], y.key.waiter[:])
	})
	return out
}

// recallExplains reports whether the capture shows a recall of file fh
// (the hash of the call's handle, or of the directory it names name in)
// from another client than waiter that was stuck or slow: DELAY answers
// to waiter's calls on that file are then the recall's doing, and
// server_delaying (delay.go) should yield to recall_stuck.
func (a *Analyzer) recallExplains(waiter [16]byte, fh uint32, name string) bool {
	if a.nfs4 == nil {
		return false
	}
	d := &delayRec{key: recallDelayKey{waiter: waiter, fh: fh}}
	d.key.nameLen = uint8(copy(d.key.name[:], name))
	for _, r := range a.nfs4.recalls.recalls {
		slow := r.returned.Frame == 0 || r.returned.Time-r.first.Time >= a.opts.Slow
		if slow && r.key.holder != waiter && a.about(d, r.key.fh) {
			return true
		}
	}
	return false
}

// recallFindings turns the recalls, the unanswered callbacks and the
// callback path reports into findings.
func (a *Analyzer) recallFindings(all []Finding, end int64, omitted map[string]int64) []Finding {
	if a.nfs4 == nil {
		return all
	}
	t := &a.nfs4.recalls
	recalls := slices.Collect(maps.Values(t.recalls))
	slices.SortFunc(recalls, func(x, y *recall) int {
		if c := cmp.Compare(x.first.Time, y.first.Time); c != 0 {
			return c
		}
		return cmp.Compare(x.key.fh, y.key.fh)
	})
	pathDown := a.pathDownByClient()
	listed := map[string]int{}
	for _, r := range recalls {
		if f, ok := a.recallFinding(r, end, pathDown[r.key.holder]); ok {
			all = listUpTo(all, f, listed, omitted)
		}
	}
	for _, s := range a.pathDownClients() {
		all = listUpTo(all, a.pathDownFinding(s), listed, omitted)
	}
	for _, f := range a.unansweredCallbackFindings(end) {
		all = listUpTo(all, f, listed, omitted)
	}
	return all
}

// pathDownByClient says, per client address, what the server reported of
// its callback path ("" when nothing).
func (a *Analyzer) pathDownByClient() map[[16]byte]string {
	out := map[[16]byte]string{}
	for _, s := range a.pathDownClients() {
		out[s.key.client] = fmt.Sprintf("the server reported the client's callback path down (frames %s)", a.frames(s.cbDownKeep.refs()))
	}
	return out
}

// pathDownClients lists the clients the server told their callback path
// is down, by address.
func (a *Analyzer) pathDownClients() []*clientState {
	var out []*clientState
	for _, s := range a.nfs4.state.clients {
		if s.cbDown > 0 {
			out = append(out, s)
		}
	}
	slices.SortFunc(out, func(x, y *clientState) int { return bytes.Compare(x.key.client[:], y.key.client[:]) })
	return out
}

// recallFinding describes a recall that was not answered, not returned,
// or kept another client waiting; ok false for one that went as it should.
func (a *Analyzer) recallFinding(r *recall, end int64, pathDown string) (Finding, bool) {
	waiters := a.waitersOf(r)
	holder := tcpflow.Endpoint{Addr: r.key.holder}.IP()
	what, ret := "CB_RECALL of its delegation", "DELEGRETURN"
	if r.layout {
		what, ret = "CB_LAYOUTRECALL of its layout", "LAYOUTRETURN"
	}
	file := fmt.Sprintf("FH 0x%08x", r.key.fh)
	path := a.paths.path(r.key.fh)
	if path != "" {
		file += fmt.Sprintf(" %q", path)
	}
	done := r.returned
	if done.Frame == 0 && r.answered.Frame != 0 && r.failed {
		done = r.answered // refused: the server revokes; no return to wait for
	}
	stuckFor := end - r.first.Time
	if done.Frame != 0 {
		stuckFor = done.Time - r.first.Time
	}
	if done.Frame != 0 && (len(waiters) == 0 || stuckFor < a.opts.Slow) {
		return Finding{}, false
	}
	if done.Frame == 0 && stuckFor < a.opts.StallAfter && len(waiters) == 0 {
		return Finding{}, false
	}
	f := Finding{Kind: KindRecallStuck, Connection: r.conn, Start: Time(r.first.Time), DurationMS: ms(stuckFor), Path: path, Procedure: "CB_RECALL"}
	if r.layout {
		f.Procedure = "CB_LAYOUTRECALL"
	}
	refs := []tcpflow.FrameRef{r.first}
	var b strings.Builder
	fmt.Fprintf(&b, "the server sent %s a %s on %s at frame %s", holder, what, file, a.frame(r.first))
	if r.sends > 1 {
		fmt.Fprintf(&b, " (sent %d times)", r.sends)
	}
	switch {
	case r.answered.Frame == 0:
		fmt.Fprintf(&b, "; the client never answered the callback (%s by the end of the capture)", FormatMS(ms(end-r.first.Time)))
	case r.failed && r.status == 0:
		refs = append(refs, r.answered)
		fmt.Fprintf(&b, "; the client answered it at frame %s with an RPC error", a.frame(r.answered))
	case r.failed:
		refs = append(refs, r.answered)
		fmt.Fprintf(&b, "; the client answered it at frame %s with %s", a.frame(r.answered), decode.NFS4StatName(r.status))
	default:
		refs = append(refs, r.answered)
		fmt.Fprintf(&b, "; the client answered it at frame %s", a.frame(r.answered))
	}
	switch {
	case r.returned.Frame != 0:
		refs = append(refs, r.returned)
		fmt.Fprintf(&b, " and sent %s at frame %s, %s after the recall", ret, a.frame(r.returned), FormatMS(ms(r.returned.Time-r.first.Time)))
	case r.answered.Frame != 0 && !r.failed:
		fmt.Fprintf(&b, " but sent no %s by the end of the capture (%s after the recall)", ret, FormatMS(ms(end-r.first.Time)))
	}
	if pathDown != "" {
		b.WriteString("; " + pathDown)
	}
	if len(waiters) > 0 {
		var ws []string
		for _, d := range waiters {
			refs = append(refs, d.first)
			if d.last != d.first {
				refs = append(refs, d.last)
			}
			name := ""
			if d.key.nameLen > 0 {
				name = fmt.Sprintf(" %q", d.key.nameStr())
			}
			ws = append(ws, fmt.Sprintf("%s's %s%s got NFS4ERR_DELAY %d %s (frames %s to %s)", tcpflow.Endpoint{Addr: d.key.waiter}.IP(), d.op, name,
				d.count, Plural(d.count, "time", "times"), a.frame(d.first), a.frame(d.last)))
		}
		fmt.Fprintf(&b, "; meanwhile %s: the server makes %s wait until %s returns the file",
			strings.Join(ws, ", "), Plural(len(waiters), "it", "them"), holder)
		f.Connection = waiters[0].conn
	}
	switch {
	case done.Frame == 0 && len(waiters) > 0 && stuckFor >= a.opts.StallAfter:
		f.Severity = SeverityStall
		t := &a.nfs4.recalls
		if t.who == nil {
			t.who = map[int][2]string{}
		}
		if _, ok := t.who[f.Connection]; !ok {
			t.who[f.Connection] = [2]string{holder, tcpflow.Endpoint{Addr: waiters[0].key.waiter}.IP()}
		}
		if r.conn != f.Connection {
			if t.cbConn == nil {
				t.cbConn = map[int]int{}
			}
			t.cbConn[r.conn] = f.Connection
		}
	default:
		f.Severity = SeverityWarning
	}
	f.setFrames(refs)
	f.Summary = b.String()
	return f, true
}

// pathDownFinding describes what the server said of a client's callback
// path.
func (a *Analyzer) pathDownFinding(s *clientState) Finding {
	client := tcpflow.Endpoint{Addr: s.key.client}.IP()
	refs := s.cbDownKeep.refs()
	f := Finding{Kind: KindCallbackPathDown, Severity: SeverityWarning, Connection: s.cbDownConn,
		Start: Time(refs[0].Time), DurationMS: ms(refs[len(refs)-1].Time - refs[0].Time)}
	f.setFrames(refs)
	var how []string
	if s.cbDownRenew > 0 {
		how = append(how, fmt.Sprintf("%d RENEW %s NFS4ERR_CB_PATH_DOWN (RFC 7530 section 16.29.4)", s.cbDownRenew, Plural(int(s.cbDownRenew), "reply", "replies")))
	}
	if n := s.cbDown - s.cbDownRenew; n > 0 {
		how = append(how, fmt.Sprintf("%d SEQUENCE %s with SEQ4_STATUS_%s (RFC 8881 section 18.46.3)", n, Plural(int(n), "reply", "replies"), SeqStatusNames(s.cbDownFlags)))
	}
	f.Summary = fmt.Sprintf("the server %s told %s that it cannot reach the client's callback path: %s (frames %s); the server cannot recall delegations from the client, so it stops granting them, and a recall it must make is stuck (4.0: a firewall or NAT in front of the client's callback port, or a wrong callback address; 4.1: no connection bound to the backchannel)",
		s.key.server, client, strings.Join(how, ", "), a.frames(refs))
	return f
}

// unansweredCallbackFindings: callbacks other than recalls (CB_NULL,
// CB_GETATTR, ...) with no reply for --stall-after or more: the client
// does not answer on its callback path.
func (a *Analyzer) unansweredCallbackFindings(end int64) []Finding {
	n := a.nfs4
	keys := slices.Collect(maps.Keys(n.callbacks.pending))
	slices.SortFunc(keys, func(x, y cbKey) int {
		if c := cmp.Compare(n.callbacks.pending[x].first.Time, n.callbacks.pending[y].first.Time); c != 0 {
			return c
		}
		return cmp.Compare(x.xid, y.xid)
	})
	var out []Finding
	for _, k := range keys {
		cb := n.callbacks.pending[k]
		if end-cb.first.Time < a.opts.StallAfter || n.recalls.byXID[k] != nil {
			continue // young, or a recall (its own finding)
		}
		c := a.connByID(k.conn)
		if c == nil {
			continue
		}
		name := a.rowLabel(cb.prog, cb.vers, cb.row)
		f := Finding{Kind: KindCallbackPathDown, Severity: SeverityWarning, Connection: k.conn, XID: xidPtr(k.xid), Procedure: name,
			Start: Time(cb.first.Time), DurationMS: ms(end - cb.first.Time)}
		refs := []tcpflow.FrameRef{cb.first}
		if cb.last != cb.first {
			refs = append(refs, cb.last)
		}
		f.setFrames(refs)
		f.Summary = fmt.Sprintf("the server's callback %s xid %s to %s (frame %s, sent %d %s) got no reply from the client (outstanding %s at the end of the capture): the client does not answer on its callback path",
			name, XID(k.xid), c.info.Client.IP(), a.frame(cb.first), cb.sends, Plural(cb.sends, "time", "times"), FormatMS(f.DurationMS))
		out = append(out, f)
	}
	return out
}

// connByID returns the connection of id among those held, nil if none.
func (a *Analyzer) connByID(id int) *connState {
	for _, c := range a.conns {
		if c.info.ID == id {
			return c
		}
	}
	return nil
}

// rowLabel names a callback's row: "CB_RECALL", "CB_NULL".
func (a *Analyzer) rowLabel(prog, vers, row uint32) string {
	name, _ := a.rowName(procKey{prog, vers, row})
	return name
}

// recallVerdict is the verdict for a client kept waiting by a recall
// stuck on another.
func (a *Analyzer) recallVerdict(r *Report, d *Diagnosis, stuckIdx, unanswered []int, stuck string) {
	f := r.Findings[stuckIdx[0]]
	d.Verdict = VerdictRecallStuck
	d.Findings = append(slices.Clone(stuckIdx), unanswered...)
	file := "a file"
	if f.Path != "" {
		file = fmt.Sprintf("%q", f.Path)
	}
	blame := "the holder did not return it: it never got or never answered the recall (its callback path: a firewall or NAT in front of its callback port, a backchannel not bound), or answered and kept the file"
	if strings.Contains(f.Summary, "callback path down") {
		blame = "the server cannot reach the holder's callback path (it said so), so the recall cannot get through: fix the path to the holder's callback port (4.0) or its backchannel (4.1); the server revokes the delegation only when the holder's lease expires"
	}
	who := a.nfs4.recalls.who[f.Connection]
	held := "a delegation"
	if f.Procedure == "CB_LAYOUTRECALL" {
		held = "a layout"
	}
	d.Summary = fmt.Sprintf("client %s waits on %s because client %s holds %s on it that the server recalled and did not get back (frames %s): %s; meanwhile the server answers %s NFS4ERR_DELAY and it retries.%s",
		who[1], file, who[0], held, a.findingFrames(r, stuckIdx), blame, who[1], stuck)
}

// recallOnCallbackConn returns the index in r.Findings of the stuck
// recall whose callback went on connection conn (NFSv4.0: a connection
// the server opened to the holder, where the unanswered CB_RECALL is a
// call with no reply from the holder, not a server that does not reply);
// -1 when none.
func (a *Analyzer) recallOnCallbackConn(r *Report, conn int) int {
	if a.nfs4 == nil {
		return -1
	}
	waiterConn, ok := a.nfs4.recalls.cbConn[conn]
	if !ok {
		return -1
	}
	for i, f := range r.Findings {
		if f.Kind == KindRecallStuck && f.Severity == SeverityStall && f.Connection == waiterConn {
			return i
		}
	}
	return -1
}

// skipped says what the recall tables left out.
func (t *recallTable) skipped(r *Report) {
	r.skip(true, "NFSv4 recalls and NFS4ERR_DELAY replies", t.dropped,
		fmt.Sprintf("not followed for %s: %d recalls and %d clients' delays on a file are followed, the most kept", KindRecallStuck, maxRecalls, maxDelays))
}
