package analyze

import (
	"encoding/binary"

	"github.com/nfsstall/nfsstall/decode"
	"github.com/nfsstall/nfsstall/tcpflow"
)

// NFSv4 callbacks: the server calls the client (CB_NULL, CB_COMPOUND with
// CB_SEQUENCE, CB_RECALL, CB_LAYOUTRECALL, ...). In 4.1 they come on the
// client's own connection the other way (the backchannel): a call flows to
// the client and its reply to the server. Their XIDs are the server's,
// independent of the client's, so they wait for their reply in a table of
// their own, keyed by connection and XID, not in Analyzer.pending, where a
// client call of the same XID would be taken for them. In 4.0 the server
// opens a connection to the address SETCLIENTID named; when its port is
// followed (--port), that connection's calls go the usual way, and the
// program they name, remembered from SETCLIENTID, gives them callback rows.

// DefaultMaxCallbacks bounds the callbacks waiting for their reply (a
// server sends few at a time: one per backchannel slot).
const DefaultMaxCallbacks = 4096

// callbackTable holds the callbacks waiting for their reply.
type callbackTable struct {
	pending   map[cbKey]cbCall
	untracked int64 // callbacks not tracked: the table was full
}

// cbKey is a callback: the connection it came on (the calling side is the
// server's, this table's) and its XID.
type cbKey struct {
	conn int
	xid  uint32
}

// cbCall is a callback waiting for its reply.
type cbCall struct {
	prog, vers, proc uint32
	row              uint32
	first, last      tcpflow.FrameRef
	sends            int
	endInHole        bool
}

// reverse decodes a message that goes the other way from calls and
// replies on c: a callback call from the server, or the client's reply to
// one. It reports false for anything else (undecodable, as before).
func (c *connState) reverse(dir tcpflow.Dir, typ uint32, b []byte) bool {
	a := c.a
	switch {
	case typ == decode.MsgCall && dir == tcpflow.ToClient:
		m := &a.callMsg
		if err := decode.ParseCall(b, m); err != nil && !cutShort(err, b, 24) {
			return false
		}
		if !a.v4().isCBProgram(m.Prog) {
			return false
		}
		a.onCallback(c, m, c.at)
		return true
	case typ == decode.MsgReply && dir == tcpflow.ToServer:
		m := &a.replyMsg
		if err := decode.ParseReply(b, m); err != nil && !cutShort(err, b, 12) {
			return false
		}
		return a.onCallbackReply(c, m, c.at)
	}
	return false
}

// plausibleReverse reports whether b, in direction dir of c, could start
// a callback call or the reply to one waiting (for the framer, finding a
// record boundary).
func (a *Analyzer) plausibleReverse(c *connState, dir tcpflow.Dir, b []byte, cut bool) bool {
	if a.nfs4 == nil {
		return false
	}
	xid, typ, err := decode.Header(b)
	if err != nil {
		return false
	}
	if dir == tcpflow.ToClient {
		return typ == decode.MsgCall && a.looksLikeCallback(b, cut)
	}
	_, ok := a.nfs4.callbacks.pending[cbKey{conn: c.info.ID, xid: xid}]
	return ok && typ == decode.MsgReply && (decode.LooksLikeReply(b) || cut && decode.LooksLikeReplyHeader(b))
}

// looksLikeCallback reports whether b plausibly starts a callback call: a
// call of a callback program, version 1, whose header passes what
// decode.LooksLikeCall asks of a call (which knows only the NFS family's
// programs, not the number a client chose for its callbacks).
func (a *Analyzer) looksLikeCallback(b []byte, cut bool) bool {
	if len(b) < 24 {
		return false
	}
	x := decode.NewXDR(b[12:])
	prog, vers := x.Uint32(), x.Uint32()
	if x.Err() != nil || vers != 1 || !a.nfs4.isCBProgram(prog) {
		return false
	}
	// Judge the rest as a call of NFS's: a copy with its program number
	// (in a buffer kept for it: a local one would escape, as b does).
	h := &a.nfs4.cbHead
	n := copy(h[:], b)
	binary.BigEndian.PutUint32(h[12:], decode.ProgNFS)
	return decode.LooksLikeCall(h[:n]) || cut && decode.LooksLikeCallHeader(h[:n])
}

// cbRow returns the row of a callback call m: CB_COMPOUND's by its main
// callback operation (counting its operations), any other by procedure.
func (a *Analyzer) cbRow(m *decode.Call) uint32 {
	if m.Vers != 1 || m.Proc != decode.CBProcCompound {
		return rawRow(m.Proc)
	}
	n := a.v4()
	args := &n.cbArgs
	decode.ParseCBCompoundArgs(m.Args, args) // keep what decoded, even if cut short
	for i := range min(args.N, decode.MaxOps) {
		n.cbOps[cbOpSlot(args.Ops[i].Op)]++
	}
	n.opsUnseen += int64(args.N - min(args.N, decode.MaxOps))
	return cbOpRow + args.MainCBOp()
}

// onCallback records a callback call from the server on c.
func (a *Analyzer) onCallback(c *connState, m *decode.Call, at tcpflow.FrameRef) {
	a.sum.Calls++
	c.calls++
	n := a.v4()
	row := a.cbRow(m)
	a.recallCallback(c, m, at, c.info.Client.Addr, c.info.Server) // recall.go
	ps := a.proc(m.Prog, m.Vers, row)
	ps.calls++
	k := cbKey{conn: c.info.ID, xid: m.XID}
	retrans := false
	if old, ok := n.callbacks.pending[k]; ok && old.prog == m.Prog && old.proc == m.Proc {
		old.sends++
		old.last = at
		n.callbacks.pending[k] = old
		ps.retrans++
		a.sum.RPCRetransmissions++
		retrans = true
	}
	a.traceCallback(c, m.XID, true, m.Prog, m.Vers, m.Proc, at, retrans, nil)
	if retrans {
		return
	}
	if n.callbacks.pending == nil {
		n.callbacks.pending = map[cbKey]cbCall{}
	}
	if _, ok := n.callbacks.pending[k]; !ok && len(n.callbacks.pending) >= a.opts.MaxCallbacks {
		n.callbacks.untracked++
		return
	}
	n.callbacks.pending[k] = cbCall{prog: m.Prog, vers: m.Vers, proc: m.Proc, row: row, first: at, last: at,
		sends: 1, endInHole: c.msgInHole}
}

// onCallbackReply records the client's reply to a callback on c. On an
// NFSv4 capture, a reply to a callback not waiting (sent before the
// capture began, or not tracked) is an orphan reply, as one to a client
// call is; elsewhere, with no NFSv4 seen, it reports false (undecodable).
func (a *Analyzer) onCallbackReply(c *connState, m *decode.Reply, at tcpflow.FrameRef) bool {
	n := a.nfs4
	if n == nil {
		return false
	}
	k := cbKey{conn: c.info.ID, xid: m.XID}
	cb, ok := n.callbacks.pending[k]
	if !ok {
		a.sum.Replies++
		a.sum.OrphanReplies++
		c.replies++
		if c.info.SawSYN {
			a.orphansAfterSYN++
		}
		return true
	}
	delete(n.callbacks.pending, k)
	a.sum.Replies++
	c.replies++
	a.traceCallback(c, m.XID, false, cb.prog, cb.vers, cb.proc, at, false, &cb)
	ps := a.proc(cb.prog, cb.vers, cb.row)
	ps.replies++
	if !cb.endInHole && !c.msgInHole {
		a.addLatency(&ps.first, at.Time-cb.first.Time)
		a.addLatency(&ps.last, at.Time-cb.last.Time)
	} else {
		ps.unmeasured++
		a.unmeasured++
	}
	failed := m.ReplyStat != 0 || m.AcceptStat != 0
	if !failed && cb.vers == 1 && cb.proc == decode.CBProcCompound {
		failed = a.cbFailed(m.Results)
	}
	a.cbReplied(c, m, at, failed, cb.vers == 1 && cb.proc == decode.CBProcCompound) // recall.go
	if failed {
		ps.errors++
	}
	return true
}

// traceCallback hands a callback message to Options.Trace.
func (a *Analyzer) traceCallback(c *connState, xid uint32, isCall bool, prog, vers, proc uint32, at tcpflow.FrameRef, retrans bool, cb *cbCall) {
	if a.opts.Trace == nil {
		return
	}
	msg := Message{Conn: c.info.ID, Call: isCall, XID: xid, Prog: prog, Vers: vers, Proc: proc,
		Capture: at.File, Frame: at.Frame, Time: at.Time, FirstFrame: c.msgFirst.Frame, FirstTime: c.msgFirst.Time,
		Missing: c.msgMissing, Retransmission: retrans, Callback: true}
	if cb != nil {
		msg.CallFrame, msg.Latency = cb.first.Frame, at.Time-cb.first.Time
		msg.LastCallFrame, msg.LatencyLast = cb.last.Frame, at.Time-cb.last.Time
	}
	a.opts.Trace(&msg)
}

// unansweredCallbacks counts the callbacks never answered in their rows.
func (a *Analyzer) unansweredCallbacks() {
	if a.nfs4 == nil {
		return
	}
	for _, cb := range a.nfs4.callbacks.pending {
		a.proc(cb.prog, cb.vers, cb.row)
		a.unansweredByProc[a.procKeyOf(cb.prog, cb.vers, cb.row)]++
	}
}
