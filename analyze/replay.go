package analyze

import (
	"fmt"

	"nfsstall/decode"
	"nfsstall/tcpflow"
)

// A call re-sent with the XID of a call that was already answered is a
// replay: the client did not get the reply (the connection broke before
// it arrived, or a UDP reply was lost after the capture point) and sends
// the call again, on the same connection or after a reconnect. Like a
// re-send while the call waits, it counts as an RPC retransmission (the
// contract: "calls whose XID was already seen on the same client"), and
// then waits for a reply of its own.

// maxAnswered bounds the answered calls remembered to recognise replays:
// the most recent, of all clients. A replay of a call answered more than
// maxAnswered answers earlier is taken for a new call (it is not counted
// anywhere: nothing is left to compare it with). Linux clients re-send
// within a timeout of a minute or so, and keep far fewer calls in flight.
const maxAnswered = 16384

// answeredCall is a call whose reply was seen.
type answeredCall struct {
	k                callKey
	prog, vers, proc uint32
	first, reply     tcpflow.FrameRef
	conn, replyConn  int // where the call was first sent, and where its reply came
}

// answeredLog remembers the last maxAnswered answered calls: a ring in
// answer order, and an index by key to the newest entry of each key.
type answeredLog struct {
	ring []answeredCall
	next int // when the ring is full, the oldest entry: the next to reuse
	idx  map[callKey]int
}

func (l *answeredLog) add(e answeredCall) {
	if l.idx == nil {
		l.idx = make(map[callKey]int)
	}
	if len(l.ring) < maxAnswered {
		l.idx[e.k] = len(l.ring)
		l.ring = append(l.ring, e)
		return
	}
	old := &l.ring[l.next]
	if i, ok := l.idx[old.k]; ok && i == l.next {
		delete(l.idx, old.k)
	}
	*old = e
	l.idx[e.k] = l.next
	l.next = (l.next + 1) % maxAnswered
}

// take returns the remembered answer of the call k, if it was of the same
// program, version and procedure, and forgets it: the call is pending
// again.
func (l *answeredLog) take(k callKey, prog, vers, proc uint32) (answeredCall, bool) {
	i, ok := l.idx[k]
	if !ok {
		return answeredCall{}, false
	}
	e := l.ring[i]
	if e.prog != prog || e.vers != vers || e.proc != proc {
		return answeredCall{}, false // the XID reused for another call
	}
	delete(l.idx, k)
	return e, true
}

// noteReplay records a call re-sent at frame at on c after its reply e.
// p is the call now waiting again, nil when it is not tracked.
func (a *Analyzer) noteReplay(e answeredCall, p *call, at tcpflow.FrameRef, c *connState) {
	a.retransCnt++
	if len(a.retrans) >= maxListed {
		return
	}
	c.named = true
	label := fmt.Sprintf("%s xid %s", procLabel(e.prog, e.vers, e.proc), XID(e.k.xid))
	if p != nil {
		label = p.label(e.k.xid)
	}
	where := "on the same connection"
	switch {
	case e.conn != c.info.ID && e.replyConn == e.conn:
		where = fmt.Sprintf("after a reconnect (connection %d, then %d)", e.conn, c.info.ID)
	case e.conn != c.info.ID || e.replyConn != c.info.ID:
		where = fmt.Sprintf("on connection %d (first sent on connection %d, answered on connection %d)", c.info.ID, e.conn, e.replyConn)
	}
	refs := []tcpflow.FrameRef{e.first, e.reply, at}
	f := Finding{
		Kind: KindRPCRetrans, Severity: SeverityWarning, Connection: c.info.ID,
		XID: xidPtr(e.k.xid), Procedure: decode.ProcName(e.prog, e.vers, e.proc),
		Start: Time(e.first.Time), DurationMS: ms(at.Time - e.first.Time),
		Summary: fmt.Sprintf("%s sent at frame %s was re-sent %s at frame %s, %s after its reply at frame %s: a replay (the reply did not reach the client, or crossed the re-send)",
			label, a.frame(e.first), where, a.frame(at), fmtMS(ms(at.Time-e.reply.Time)), a.frame(e.reply)),
	}
	f.setFrames(refs)
	a.retrans = append(a.retrans, f)
}
