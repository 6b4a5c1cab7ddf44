package analyze

import (
	"github.com/nfsstall/nfsstall/decode"
	"github.com/nfsstall/nfsstall/tcpflow"
)

// Calls and replies paired: a call waits in a.pending, keyed by client,
// server and XID, until its reply comes.

func (a *Analyzer) newCall() *call {
	if n := len(a.freeCalls); n > 0 {
		c := a.freeCalls[n-1]
		a.freeCalls = a.freeCalls[:n-1]
		*c = call{resends: c.resends[:0]}
		return c
	}
	return &call{}
}

// onCall records an RPC call message.
func (a *Analyzer) onCall(c *connState, m *decode.Call, at tcpflow.FrameRef) {
	a.pic.now = at.Time
	a.sum.Calls++
	c.calls++
	row := m.Proc
	switch {
	case m.Prog == decode.ProgNFS && m.Vers == 4 && m.Proc != decode.NFS4ProcCompound:
		row = rawRow(m.Proc)
	case isCompound(m.Prog, m.Vers, m.Proc):
		row = a.nfs4Call(m)
	case a.nfs4 != nil && a.nfs4.isCBProgram(m.Prog):
		row = a.cbRow(m) // NFSv4.0: a callback on a connection the server opened
		a.recallCallback(c, m, at, c.info.Server.Addr, c.info.Client)
	}
	ps := a.proc(m.Prog, m.Vers, row)
	ps.calls++
	k := callKey{client: c.info.Client.Addr, server: c.info.Server, xid: m.XID}
	retrans := false
	old := a.pending[k]
	if p := old; p != nil && p.prog == m.Prog && p.proc == m.Proc {
		// The same XID again from the same client: an RPC retransmission,
		// on this connection or after a reconnect.
		p.sends++
		p.last = at
		if p.lastConn != c {
			old := p.lastConn
			old.lastPins--
			c.lastPins++
			p.lastConn = c
			a.unpin(old)
		}
		p.ackedAt = tcpflow.FrameRef{} // the re-sent bytes must be ACKed anew
		if len(p.resends) < maxResends {
			p.resends = append(p.resends, at)
		}
		ps.retrans++
		a.sum.RPCRetransmissions++
		retrans = true
		c.watchAck(p)
	}
	var replayOf answeredCall
	replay := false
	if !retrans && old == nil {
		replayOf, replay = a.answered.take(k, m.Prog, m.Vers, m.Proc)
		if replay {
			ps.retrans++
			a.sum.RPCRetransmissions++
		}
	}
	if a.opts.Trace != nil {
		a.opts.Trace(&Message{Conn: c.info.ID, Call: true, XID: m.XID, Prog: m.Prog, Vers: m.Vers, Proc: m.Proc,
			Capture: at.File, Frame: at.Frame, Time: at.Time, FirstFrame: c.msgFirst.Frame, FirstTime: c.msgFirst.Time,
			Missing: c.msgMissing, Retransmission: retrans || replay})
	}
	if retrans {
		return
	}
	a.watchCall(c, m, at)
	if old != nil {
		// The XID of a pending call, reused by the same client for another
		// procedure: a new call; the earlier one can no longer be told
		// from it and is dropped (counted in Report.Skipped).
		a.superseded++
		a.dropPending(k, old)
	}
	if len(a.pending) >= a.opts.MaxCalls || c.tracked >= a.opts.MaxCallsPerConn {
		// Bounded memory: a call beyond the limits is counted, not paired.
		a.untracked++
		if c.tracked >= a.opts.MaxCallsPerConn {
			a.untrackedConn++
		}
		if replay {
			a.noteReplay(replayOf, nil, at, c)
		}
		return
	}
	c.tracked++
	c.held.note(c.tracked, at)
	c.lastPins++
	if !a.opts.NoPictures {
		a.pic.outstanding(c)
	}
	p := a.newCall()
	a.callID++
	p.id = a.callID
	p.conn, p.lastConn, p.prog, p.vers, p.proc, p.row = c, c, m.Prog, m.Vers, m.Proc, row
	p.first, p.last, p.sends = at, at, 1
	p.endInHole, p.began = c.msgInHole, c.msgFirst.Time
	p.wrapped = m.HasGSS && m.GSS.Service != decode.GSSServiceNone
	if m.Prog == decode.ProgNFS && m.Vers == 3 {
		var args decode.NFS3Args
		decode.ParseNFS3Args(m.Proc, m.Args, &args) // keep what decoded, even if cut short
		if args.Has&decode.HasOffset != 0 {
			p.hasOffset, p.offset = true, args.Offset
		}
		if args.Has&decode.HasFH != 0 {
			p.hasFH, p.fhHash = true, decode.FHHash(args.FH)
		}
		if args.Has&decode.HasName != 0 {
			p.nameLen = uint8(copy(p.nameBuf[:], args.Name))
			p.nameCut = len(args.Name) > len(p.nameBuf)
		}
		if args.Has&decode.HasCount != 0 {
			p.count = args.Count
			if m.Proc == decode.NFS3ProcWrite {
				ps.bytes += int64(args.Count)
			}
		}
	}
	if isCompound(m.Prog, m.Vers, m.Proc) {
		a.track4(p, c)
		ps.bytes += a.nfs4.curWrite
	}
	if m.Prog == decode.ProgMount && m.Proc == decode.MountProcMnt {
		mntCall(p, m)
	}
	if m.Prog == decode.ProgNLM {
		a.nlmCall(p, m, c, at) // nlmwait.go
	}
	a.pending[k] = p
	c.watchAck(p)
	c.remember(tcpflow.ToServer, m.XID, true, p)
	if replay {
		a.noteReplay(replayOf, p, at, c)
	}
}

// dropPending stops waiting for the reply of p, the call k, and recycles it.
func (a *Analyzer) dropPending(k callKey, p *call) {
	delete(a.pending, k)
	p.id = 0 // no longer the call an inflight watch refers to
	a.release(p)
	p.resends = p.resends[:0]
	a.freeCalls = append(a.freeCalls, p)
}

// release undoes what p, no longer waiting, pinned.
func (a *Analyzer) release(p *call) {
	if p.prog == decode.ProgNFS && p.vers == 4 {
		a.untrack4(p)
	}
	p.conn.tracked--
	if !a.opts.NoPictures {
		a.pic.outstanding(p.conn)
	}
	p.conn.held.note(p.conn.tracked, p.conn.last)
	p.lastConn.lastPins--
	a.unpin(p.conn)
	if p.lastConn != p.conn {
		a.unpin(p.lastConn)
	}
}

// onReply records an RPC reply message.
func (a *Analyzer) onReply(c *connState, m *decode.Reply, at tcpflow.FrameRef) {
	a.pic.now = at.Time
	a.sum.Replies++
	c.replies++
	k := callKey{client: c.info.Client.Addr, server: c.info.Server, xid: m.XID}
	p := a.pending[k]
	if a.opts.Trace != nil {
		msg := Message{Conn: c.info.ID, XID: m.XID, Capture: at.File, Frame: at.Frame, Time: at.Time,
			FirstFrame: c.msgFirst.Frame, FirstTime: c.msgFirst.Time, Missing: c.msgMissing}
		if p != nil {
			msg.Prog, msg.Vers, msg.Proc = p.prog, p.vers, p.proc
			msg.CallFrame, msg.Latency = p.first.Frame, at.Time-p.first.Time
			msg.LastCallFrame, msg.LatencyLast = p.last.Frame, at.Time-p.last.Time
		}
		a.opts.Trace(&msg)
	}
	c.remember(tcpflow.ToClient, m.XID, false, p)
	c.lastReply = at
	a.watchReply(c, m, p, at)
	if p == nil {
		a.sum.OrphanReplies++
		if c.info.SawSYN {
			a.orphansAfterSYN++ // the call was on the wire while capturing
		}
		return
	}
	delete(a.pending, k)
	p.id = 0 // no longer the call an inflight watch refers to
	a.answered.add(answeredCall{k: k, prog: p.prog, vers: p.vers, proc: p.proc, first: p.first, reply: at,
		conn: p.conn.info.ID, replyConn: c.info.ID})
	lat := at.Time - p.first.Time
	// Time only what the capture shows: a call or reply whose last byte
	// fell in a capture hole is known only by the frame that declared the
	// hole (often the reply's own frame, whose ACK covers the call: a
	// latency of 0), not by when it was on the wire.
	measured := !p.endInHole && !c.msgInHole
	if p.sends > 1 {
		a.noteRetransmitted(p, k, at, c)
	}
	if measured && lat > a.opts.Slow {
		a.noteSlow(p, k, at, c)
	}
	ps := a.proc(p.prog, p.vers, p.row)
	ps.replies++
	if measured {
		a.addLatency(&ps.first, lat)
		a.addLatency(&ps.last, at.Time-p.last.Time)
		if !a.opts.NoPictures {
			a.latencyAt(ps, at.Time, lat)
		}
	} else {
		ps.unmeasured++
		a.unmeasured++
	}
	failed := m.ReplyStat != 0 || m.AcceptStat != 0
	if !failed && p.prog == decode.ProgNFS && p.vers == 3 {
		var res decode.NFS3Result
		decode.ParseNFS3Result(p.proc, m.Results, &res)
		if res.Has&decode.HasStatus != 0 && res.Status != 0 {
			failed = true
		}
		if p.proc == decode.NFS3ProcRead && res.Has&decode.HasCount != 0 {
			ps.bytes += int64(res.Count)
		}
		if !failed {
			a.learnNFS3(p, &res)
		}
	}
	switch {
	case failed:
	case isCompound(p.prog, p.vers, p.proc):
		failed = a.nfs4Reply(p, m.Results, ps, c)
	case p.prog == decode.ProgNFS && p.vers == 2:
		failed = nfs2Failed(p.proc, m.Results)
	case p.row >= cbOpRow:
		failed = a.cbFailed(m.Results)
	case p.prog == decode.ProgMount && p.proc == decode.MountProcMnt:
		a.learnMnt(p, m.Results)
	}
	if p.prog == decode.ProgNLM && m.ReplyStat == 0 && m.AcceptStat == 0 {
		a.nlmReply(p, m.Results, c, at) // nlmwait.go
	}
	if p.row >= cbOpRow {
		a.cbReplied(c, m, at, failed, p.vers == 1 && p.proc == decode.CBProcCompound) // recall.go
	}
	if failed {
		ps.errors++
	}
	a.release(p)
	p.resends = p.resends[:0]
	a.freeCalls = append(a.freeCalls, p)
}

// plausibleReply reports whether xid is a call waiting for a reply on c.
func (a *Analyzer) plausibleReply(c *connState, xid uint32) bool {
	_, ok := a.pending[callKey{client: c.info.Client.Addr, server: c.info.Server, xid: xid}]
	return ok
}
