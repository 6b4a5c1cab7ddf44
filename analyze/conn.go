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
	if !c.message(dir, payload) {
		c.undecodable++
	}
}

func (c *connState) Acked(dir tcpflow.Dir, upTo int64, at tcpflow.FrameRef) {}

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
			if p := c.a.pending[k]; p != nil {
				p.partialHave, p.partialLen = r.Have, r.Len
			}
		}
	}
}

// Record is called by the framer with each complete RPC record.
func (s *dirSink) Record(r *decode.Record) {
	c := s.c
	c.msgFirst, c.msgMissing = unmark(r.First), r.Missing > 0
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
