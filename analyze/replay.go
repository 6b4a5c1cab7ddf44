package analyze

import (
	"encoding/binary"
	"fmt"

	"github.com/nfsstall/nfsstall/decode"
	"github.com/nfsstall/nfsstall/tcpflow"
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
	fp               uint64
}

// answeredLog remembers the last maxAnswered answered calls: a ring in
// answer order, and an index from key to the newest ring entry of each key.
// The index is an open-addressed table of fingerprints (linear probing,
// deletion by backward shift), not a Go map: it is touched by every call
// and every reply, and hashing a 40-byte key through a map costs more than
// the rest of a reply's bookkeeping.
type answeredLog struct {
	ring []answeredCall
	next int // when the ring is full, the oldest entry: the next to reuse
	// slots[i].at is 0 (empty) or 1 + a ring index, slots[i].fp that
	// entry's fingerprint: side by side, so that a probe reads one cache
	// line (the table is too large for the nearest caches, and a miss per
	// field was most of a reply's cost here). Twice maxAnswered slots keep
	// probes short.
	slots []answeredSlot
}

type answeredSlot struct {
	fp uint64
	at int32
}

const answeredSlots = 2 * maxAnswered // a power of two

// fingerprint hashes a call key; equal keys give equal fingerprints, and
// the ring entry's full key settles a collision.
func fingerprint(k callKey) uint64 {
	h := uint64(k.xid) * 0x9e3779b97f4a7c15
	for _, b := range [][]byte{k.client[:], k.server.Addr[:]} {
		h ^= binary.LittleEndian.Uint64(b[:8])
		h *= 0xff51afd7ed558ccd
		h ^= binary.LittleEndian.Uint64(b[8:16])
		h *= 0xc4ceb9fe1a85ec53
	}
	h ^= uint64(k.server.Port)
	return h ^ h>>29
}

// find returns the slot holding k, or the empty slot where it would go.
func (l *answeredLog) find(k callKey, fp uint64) (int, bool) {
	i := int(fp & (answeredSlots - 1))
	for {
		s := l.slots[i]
		if s.at == 0 {
			return i, false
		}
		if s.fp == fp && l.ring[s.at-1].k == k {
			return i, true
		}
		i = (i + 1) & (answeredSlots - 1)
	}
}

// remove empties slot i and shifts back the entries probed past it.
func (l *answeredLog) remove(i int) {
	l.slots[i] = answeredSlot{}
	j := i
	for {
		j = (j + 1) & (answeredSlots - 1)
		if l.slots[j].at == 0 {
			return
		}
		home := int(l.slots[j].fp & (answeredSlots - 1))
		// Move j's entry to the hole at i unless its home lies in (i, j].
		if (j > i && (home <= i || home > j)) || (j < i && home <= i && home > j) {
			l.slots[i], l.slots[j] = l.slots[j], answeredSlot{}
			i = j
		}
	}
}

func (l *answeredLog) add(e answeredCall) { l.addFP(e, fingerprint(e.k)) }

// addFP adds e under fingerprint fp (tests choose fingerprints to force
// collisions and probes that wrap around the table).
func (l *answeredLog) addFP(e answeredCall, fp uint64) {
	if l.slots == nil {
		l.slots = make([]answeredSlot, answeredSlots)
		// The ring's whole capacity at once: grown by append it would
		// allocate five times its size (large slices grow by a quarter),
		// and pages of it that are never written are never touched.
		l.ring = make([]answeredCall, 0, maxAnswered)
	}
	at := len(l.ring)
	if at == maxAnswered {
		at = l.next
		old := l.ring[at]
		if i, ok := l.find(old.k, old.fp); ok && int(l.slots[i].at-1) == at {
			l.remove(i)
		}
		l.next = (l.next + 1) % maxAnswered
		l.ring[at] = e
	} else {
		l.ring = append(l.ring, e)
	}
	l.ring[at].fp = fp
	i, _ := l.find(e.k, fp) // an older entry of the same key gives its slot up
	l.slots[i] = answeredSlot{fp: fp, at: int32(at + 1)}
}

// take returns the remembered answer of the call k, if it was of the same
// program, version and procedure, and forgets it: the call is pending
// again.
func (l *answeredLog) take(k callKey, prog, vers, proc uint32) (answeredCall, bool) {
	return l.takeFP(k, fingerprint(k), prog, vers, proc)
}

func (l *answeredLog) takeFP(k callKey, fp uint64, prog, vers, proc uint32) (answeredCall, bool) {
	if l.slots == nil {
		return answeredCall{}, false
	}
	i, ok := l.find(k, fp)
	if !ok {
		return answeredCall{}, false
	}
	e := l.ring[l.slots[i].at-1]
	if e.prog != prog || e.vers != vers || e.proc != proc {
		return answeredCall{}, false // the XID reused for another call
	}
	l.remove(i)
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
		label = p.label(e.k.xid, &a.paths)
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
		XID: xidPtr(e.k.xid), Procedure: decode.ProcName(e.prog, e.vers, e.proc), procLabel: procLabel(e.prog, e.vers, e.proc),
		Start: Time(e.first.Time), DurationMS: ms(at.Time - e.first.Time),
		Summary: fmt.Sprintf("%s sent at frame %s was re-sent %s at frame %s, %s after its reply at frame %s: a replay (the reply did not reach the client, or crossed the re-send)",
			label, a.frame(e.first), where, a.frame(at), FormatMS(ms(at.Time-e.reply.Time)), a.frame(e.reply)),
	}
	f.setFrames(refs)
	a.retrans = append(a.retrans, f)
}
