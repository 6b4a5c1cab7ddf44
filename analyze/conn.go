package analyze

import (
	"errors"

	"nfsstall/decode"
	"nfsstall/tcpflow"
)

// connState follows one connection: it frames both byte streams into RPC
// records and hands decoded calls and replies to the Analyzer.
type connState struct {
	a       *Analyzer
	info    tcpflow.ConnInfo
	framers [2]decode.Framer
	sinks   [2]dirSink
	at      tcpflow.FrameRef // frame of the bytes being fed
	// where the message being decoded began, and whether bytes of it were
	// not captured (set per record; for UDP, the datagram's frame)
	msgFirst   tcpflow.FrameRef
	msgMissing bool
	last       tcpflow.FrameRef

	calls, replies  int64
	bytes           [2]int64
	missing         int64
	undecodable     int64
	truncatedFrames int64
	closed          bool
	tcp             *tcpflow.TCPSummary

	msgStart, msgEnd int64 // stream offsets of the record being decoded (-1 for UDP)
	// inflight: calls whose last byte the server's TCP has not ACKed yet,
	// in stream order.
	inflight []inflightCall
	recent   [2]recordRing

	// decode scratch, kept here so decoding does not allocate
	callMsg  decode.Call
	replyMsg decode.Reply
}

// dirSink receives the records of one direction.
type dirSink struct {
	c   *connState
	dir tcpflow.Dir
}

func (c *connState) Segment(dir tcpflow.Dir, s *tcpflow.Segment, flags tcpflow.Analysis, at tcpflow.FrameRef) {
	c.last = at
	if s.WireLen > 0 && s.Truncated() {
		c.truncatedFrames++
	}
}

func (c *connState) Data(dir tcpflow.Dir, b []byte, at tcpflow.FrameRef) {
	c.at = at
	c.bytes[dir] += int64(len(b))
	c.framers[dir].Mark = mark(at)
	c.framers[dir].Feed(b)
}

func (c *connState) Gap(dir tcpflow.Dir, n int, at tcpflow.FrameRef, why tcpflow.GapReason) {
	c.at = at
	c.bytes[dir] += int64(n)
	c.missing += int64(n)
	c.framers[dir].Mark = mark(at)
	c.framers[dir].Skip(int64(n))
}

func (c *connState) Datagram(dir tcpflow.Dir, payload []byte, wireLen int, at tcpflow.FrameRef) {
	c.last = at
	c.at = at
	c.bytes[dir] += int64(wireLen)
	if wireLen > len(payload) {
		c.truncatedFrames++
	}
	// Over UDP a datagram is one RPC message, without record marking.
	c.msgFirst, c.msgMissing = at, wireLen > len(payload)
	c.msgStart, c.msgEnd = -1, -1
	if !c.message(dir, payload) {
		c.undecodable++
	}
}

// Acked notes when the server's TCP acknowledged each call: the evidence
// that a call reached the server even though no reply came.
func (c *connState) Acked(dir tcpflow.Dir, upTo int64, at tcpflow.FrameRef) {
	if dir != tcpflow.ToServer {
		return
	}
	n := 0
	for n < len(c.inflight) && c.inflight[n].end <= upTo {
		if p := c.a.pending[c.inflight[n].key]; p != nil && p.lastConn == c && p.ackedAt.Frame == 0 {
			p.ackedAt = at
		}
		n++
	}
	if n > 0 {
		c.inflight = c.inflight[:copy(c.inflight, c.inflight[n:])]
	}
}

type inflightCall struct {
	key callKey
	end int64
}

// maxInflight bounds the calls watched for their ACK per connection.
const maxInflight = 4096

// watchAck starts watching for the server's ACK of the call just decoded.
func (c *connState) watchAck(k callKey) {
	if c.msgEnd < 0 || c.info.Proto != tcpflow.ProtoTCP {
		return
	}
	if len(c.inflight) >= maxInflight {
		c.inflight = c.inflight[:copy(c.inflight, c.inflight[1:])]
	}
	c.inflight = append(c.inflight, inflightCall{key: k, end: c.msgEnd})
}

// recordRing remembers the last records of one direction, so never-ACKed
// bytes can be named as part of a message ("the READ reply to xid ...").
type recordRing struct {
	recs [64]recentRecord
	n    int
}

type recentRecord struct {
	start, end int64
	xid        uint32
	call       bool
	prog, vers uint32
	proc       uint32
	known      bool // prog/vers/proc known (a reply whose call was seen)
}

func (c *connState) remember(dir tcpflow.Dir, xid uint32, isCall bool, p *call) {
	if c.msgEnd < 0 {
		return
	}
	r := recentRecord{start: c.msgStart, end: c.msgEnd, xid: xid, call: isCall}
	if p != nil {
		r.prog, r.vers, r.proc, r.known = p.prog, p.vers, p.proc, true
	}
	ring := &c.recent[dir]
	ring.recs[ring.n%len(ring.recs)] = r
	ring.n++
}

// find returns the remembered record holding stream offset off.
func (r *recordRing) find(off int64) (recentRecord, bool) {
	for i := 0; i < min(r.n, len(r.recs)); i++ {
		rec := r.recs[(r.n-1-i)%len(r.recs)]
		if off >= rec.start && off < rec.end {
			return rec, true
		}
	}
	return recentRecord{}, false
}

func (c *connState) Close(at tcpflow.FrameRef, tcp *tcpflow.TCPSummary) {
	c.closed = true
	c.tcp = tcp
	for d := range c.framers {
		c.framers[d].Finish()
	}
	// A reply that began but whose last byte never came: remember how much
	// of it was sent, for the unanswered call's report.
	if r, ok := c.framers[tcpflow.ToClient].Partial(); ok {
		if xid, typ, err := decode.Header(r.Head); err == nil && typ == decode.MsgReply {
			k := callKey{client: c.info.Client.Addr, server: c.info.Server, xid: xid}
			p := c.a.pending[k]
			if p != nil {
				p.partialHave, p.partialLen = r.Have, r.Len
			}
			// The record's end is where its declared length puts it.
			c.msgStart, c.msgEnd = r.Start, r.Start+4*int64(r.Fragments)+r.Len
			c.remember(tcpflow.ToClient, xid, false, p)
		}
	}
}

// Record is called by the framer with each complete RPC record.
func (s *dirSink) Record(r *decode.Record) {
	c := s.c
	c.msgFirst, c.msgMissing = unmark(r.First), r.Missing > 0
	c.msgStart, c.msgEnd = r.Start, c.framers[s.dir].Offset()
	if !c.message(s.dir, r.Head) {
		c.undecodable++
		// A record that is not RPC means the framer lost its place
		// (garbage, or a false boundary found mid-stream).
		c.framers[s.dir].Desync()
	}
}

// Plausible reports whether b could start an RPC message in this direction.
func (s *dirSink) Plausible(b []byte) bool {
	if s.dir == tcpflow.ToServer {
		return decode.LooksLikeCall(b)
	}
	if !decode.LooksLikeReply(b) {
		return false
	}
	xid, _, _ := decode.Header(b)
	return s.c.a.plausibleReply(s.c, xid)
}

// message decodes one RPC message. Calls flow to the server and replies
// to the client; anything else is undecodable.
func (c *connState) message(dir tcpflow.Dir, b []byte) bool {
	_, typ, err := decode.Header(b)
	if err != nil {
		return false
	}
	switch {
	case typ == decode.MsgCall && dir == tcpflow.ToServer:
		m := &c.callMsg
		if err := decode.ParseCall(b, m); err != nil && !cutShort(err, b, 24) {
			return false
		}
		c.a.onCall(c, m, c.at)
	case typ == decode.MsgReply && dir == tcpflow.ToClient:
		m := &c.replyMsg
		if err := decode.ParseReply(b, m); err != nil && !cutShort(err, b, 12) {
			return false
		}
		c.a.onReply(c, m, c.at)
	default:
		return false
	}
	return true
}

// cutShort reports whether a message that failed to decode was only cut
// short (by the snaplen, or a gap) after its first need bytes: for a call
// the fixed header (xid to procedure), for a reply xid to reply_stat. Such
// a message still counts, as it does for tshark.
func cutShort(err error, b []byte, need int) bool {
	return errors.Is(err, decode.ErrShort) && len(b) >= need
}

// mark and unmark carry a frame reference through the framer, which knows
// nothing of frames.
func mark(at tcpflow.FrameRef) decode.Mark {
	return decode.Mark{A: int64(at.File), B: at.Frame, C: at.Time}
}

func unmark(m decode.Mark) tcpflow.FrameRef {
	return tcpflow.FrameRef{File: int(m.A), Frame: m.B, Time: m.C}
}
