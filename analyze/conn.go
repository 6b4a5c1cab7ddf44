package analyze

import (
	"errors"

	"github.com/nfsstall/nfsstall/decode"
	"github.com/nfsstall/nfsstall/tcpflow"
)

// connState follows one connection: it frames both byte streams into RPC
// records and hands decoded calls and replies to the Analyzer.
type connState struct {
	// What every segment touches comes first, together: with thousands
	// of connections the table is far larger than the processor's cache,
	// and each cache line of it a segment touches is a miss. Gathered
	// here, with both directions' dack behind one pointer instead of two,
	// bench/run.sh conns (10,000 connections) took about 5% less CPU.
	// (dack is not held in place: it would push connState from the
	// 896-byte size class to 1,152, 2.5 MB more on a full table.)
	a       *Analyzer
	last    tcpflow.FrameRef
	segs    [2]int64    // TCP segments captured, per direction
	ttl     [2]ttlRange // per sender: where the capture was taken
	synWait bool        // the client's SYN was seen and no segment of the client since (reconnect.go)
	// dack: pauses for the peer's delayed ACK (delack.go), per sender;
	// nil until the first data
	dack *[2]dackDir
	// mtu: full-size segments and their ACKs, for MTU black holes, and
	// the ICMP errors quoting the connection (mtu.go)
	mtu mtuState
	// held: calls waiting here and the server's window (held.go)
	held heldCalls

	info tcpflow.ConnInfo
	// live is tcpflow's ConnInfo, until Close: it is told when the
	// connection carries RPC, so a full table keeps it.
	live *tcpflow.ConnInfo
	// st frames the byte streams: made at the first byte, freed at Close
	// (a SYN flood's connections never need one), when what the framers
	// counted is kept in framed.
	st     *connStreams
	framed framerCounts
	at     tcpflow.FrameRef // frame of the bytes being fed
	// where the message being decoded began, and whether bytes of it were
	// not captured (set per record; for UDP, the datagram's frame)
	msgFirst   tcpflow.FrameRef
	msgMissing bool

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
	inflight     []inflightCall
	inflightHead int   // inflight[:inflightHead] are done
	ackUnwatched int64 // calls forgotten from inflight because it was full (maxInflight)
	recent       [2]recordLog

	tracked int // calls first sent here that are waiting for their reply

	// lz: the bytes the capture missed, by direction (captureloss.go):
	// loss, bytes the peer ACKed that the capture never saw; holes, bytes
	// missing that nothing showed arrived (see tcpflow.GapLost);
	// nil until the first gap: most connections have none, and a table of
	// thousands of connections would carry 288 bytes each for nothing.
	lz *lossLogs
	// inHole: the framer is passing over missing bytes, so a record that
	// ends now ended where the capture has a hole (its time is unknown)
	inHole    [2]bool
	msgInHole bool             // the message being decoded ended in a hole
	lastReply tcpflow.FrameRef // the latest reply decoded here
	idx       int              // index in Analyzer.conns; -1 once folded (history.go)
	inKept    bool             // in Analyzer.kept
	// lastPins counts the calls waiting for a reply that were last sent
	// here (tracked those first sent here); named: a finding listed names
	// it. Either keeps it from folding when it closes.
	lastPins int
	named    bool
	// pinKept: closed, and kept only for the calls waiting on it (see
	// evictPinned); evict: their calls are being dropped
	pinKept, evict bool
	row            int         // index in Report.Connections
	pic            connPicture // its timeline (timeline.go)
	icmpErrors     int64       // ICMP errors quoting the connection (mtu.go)
}

// maxFreeStreams bounds the connStreams kept for reuse.
const maxFreeStreams = 64

// connStreams frames both directions of a connection.
type connStreams struct {
	framers [2]decode.Framer
	sinks   [2]dirSink
}

// framerCounts is what a connection's framers counted.
type framerCounts struct {
	garbage int64
	resyncs int
	tooLong int
}

// streams returns c's framers, made on first use.
func (c *connState) streams() *connStreams {
	if c.st == nil {
		if n := len(c.a.freeStreams); n > 0 {
			c.st, c.a.freeStreams = c.a.freeStreams[n-1], c.a.freeStreams[:n-1]
		} else {
			c.st = &connStreams{}
		}
		for d := range c.st.sinks {
			c.st.sinks[d] = dirSink{c: c, dir: tcpflow.Dir(d)}
			c.st.framers[d].Reset(&c.st.sinks[d], c.info.SawSYN)
			c.st.framers[d].SetHeadPool(&c.a.heads)
		}
	}
	return c.st
}

// dirSink receives the records of one direction.
type dirSink struct {
	c   *connState
	dir tcpflow.Dir
}

func (c *connState) Segment(dir tcpflow.Dir, s *tcpflow.Segment, flags tcpflow.Analysis, at tcpflow.FrameRef) {
	c.last = at
	c.ttl[dir].see(s.TTL)
	c.segs[dir]++
	if !c.a.opts.NoPictures {
		c.a.pic.segment(c, dir, s, flags, at)
	}
	c.held.segment(dir, s, at)
	if s.Flags&(tcpflow.FlagSYN|tcpflow.FlagRST) != 0 || c.synWait {
		c.a.reconn.segment(c, dir, s.Flags, at)
	}
	if s.WireLen > 0 && s.Truncated() {
		c.truncatedFrames++
	}
	c.mtuSegment(dir, s, flags, at)
	c.dackSegment(dir, s, flags, at)
}

func (c *connState) Data(dir tcpflow.Dir, b []byte, at tcpflow.FrameRef) {
	c.at = at
	c.bytes[dir] += int64(len(b))
	fr := &c.streams().framers[dir]
	fr.Mark = mark(at)
	fr.Feed(b)
}

func (c *connState) Gap(dir tcpflow.Dir, n int, at tcpflow.FrameRef, why tcpflow.GapReason) {
	c.at = at
	c.bytes[dir] += int64(n)
	c.missing += int64(n)
	switch why {
	case tcpflow.GapAcked:
		c.lossLogs().loss[dir].add(int64(n), at)
	case tcpflow.GapLost:
		c.lossLogs().holes[dir].add(int64(n), at)
	}
	fr := &c.streams().framers[dir]
	fr.Mark = mark(at)
	// Bytes cut by the snaplen were on the wire in a captured frame, at
	// its time; bytes the capture missed were not: a record ending among
	// them ended at an unknown time.
	c.inHole[dir] = why != tcpflow.GapSnaplen
	fr.Skip(int64(n))
	c.inHole[dir] = false
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
	c.msgStart, c.msgEnd, c.msgInHole = -1, -1, false
	if !c.message(dir, payload) {
		c.undecodable++
	}
}

// Acked notes when the server's TCP acknowledged each call: the evidence
// that a call reached the server even though no reply came.
func (c *connState) Acked(dir tcpflow.Dir, upTo int64, at tcpflow.FrameRef) {
	l := &c.recent[dir]
	n := len(l.recs) - l.head
	l.acked(upTo)
	c.a.records += len(l.recs) - l.head - n
	if dir != tcpflow.ToServer {
		return
	}
	for c.inflightHead < len(c.inflight) && c.inflight[c.inflightHead].end <= upTo {
		w := &c.inflight[c.inflightHead]
		if p := w.p; p.id == w.id && p.lastConn == c && p.ackedAt.Frame == 0 {
			p.ackedAt = at
		}
		*w = inflightCall{}
		c.inflightHead++
		c.a.watched--
	}
	if c.inflightHead == len(c.inflight) {
		c.inflight, c.inflightHead = c.inflight[:0], 0
		if cap(c.inflight) >= 2048 {
			c.inflight = nil // a burst's array is not kept for an idle connection
		}
	}
}

// inflightCall is a call waiting for the server's TCP to ACK its last
// byte. id tells whether p is still that call: calls are recycled once
// answered.
type inflightCall struct {
	p   *call
	id  uint64
	end int64
}

// maxInflight bounds the calls watched for their ACK per connection.
const maxInflight = 4096

// watchAck starts watching for the server's ACK of the call just decoded.
// The watch list is a queue: ACKs take from its head.
func (c *connState) watchAck(p *call) {
	if c.msgEnd < 0 || c.info.Proto != tcpflow.ProtoTCP {
		return
	}
	if len(c.inflight)-c.inflightHead >= maxInflight || c.a.watched >= c.a.opts.MaxWatchedTotal {
		if c.a.watched >= c.a.opts.MaxWatchedTotal {
			c.a.watchedDropped++
		} else {
			c.ackUnwatched++
		}
		if c.inflightHead == len(c.inflight) {
			return // nothing of this connection's to forget: not watched
		}
		c.inflight[c.inflightHead] = inflightCall{} // forget the oldest
		c.inflightHead++
		c.a.watched--
	}
	if c.inflightHead > 0 && c.inflightHead >= len(c.inflight)/2 {
		n := copy(c.inflight, c.inflight[c.inflightHead:])
		clear(c.inflight[n:])
		c.inflight, c.inflightHead = c.inflight[:n], 0
	}
	c.inflight = append(c.inflight, inflightCall{p: p, id: p.id, end: c.msgEnd})
	c.a.watched++
}

// recordLog remembers records of one direction, so never-ACKed bytes can
// be named as part of a message ("the READ reply to xid ..."): the records
// the peer has not ACKed yet and the last few it has, at most maxRecords
// (the newest). What it holds follows the bytes in flight, not the age of
// the connection, so ten thousand idle connections cost little.
type recordLog struct {
	recs []recentRecord // oldest first; recs[:head] are forgotten
	head int
}

const (
	maxRecords = 64
	keepAcked  = 4
)

type recentRecord struct {
	start, end int64
	xid        uint32
	prog, vers uint32
	proc       uint32
	call       bool
	known      bool // prog/vers/proc known (a reply whose call was seen)
}

func (l *recordLog) add(r recentRecord) {
	if len(l.recs)-l.head >= maxRecords {
		l.recs[l.head] = recentRecord{}
		l.head++
	}
	if l.head > 0 && l.head >= len(l.recs)/2 {
		n := copy(l.recs, l.recs[l.head:])
		l.recs, l.head = l.recs[:n], 0
	}
	l.recs = append(l.recs, r)
}

// acked forgets the records the peer has ACKed up to offset upTo, but
// for the last keepAcked of them.
func (l *recordLog) acked(upTo int64) {
	n := l.head
	for n < len(l.recs) && l.recs[n].end <= upTo {
		n++
	}
	if drop := n - l.head - keepAcked; drop > 0 {
		l.head += drop
	}
	if l.head == len(l.recs) {
		l.recs, l.head = l.recs[:0], 0
	}
}

func (c *connState) remember(dir tcpflow.Dir, xid uint32, isCall bool, p *call) {
	if c.msgEnd < 0 {
		return
	}
	r := recentRecord{start: c.msgStart, end: c.msgEnd, xid: xid, call: isCall}
	if p != nil {
		r.prog, r.vers, r.proc, r.known = p.prog, p.vers, p.proc, true
	}
	l := &c.recent[dir]
	n := len(l.recs) - l.head
	if c.a.records >= c.a.opts.MaxRecordsTotal {
		// All connections together remember as many as allowed: forget
		// this direction's oldest, or, holding none, do not remember it.
		c.a.recordsDropped++
		if n == 0 {
			return
		}
		l.recs[l.head] = recentRecord{}
		l.head++
		n--
		c.a.records--
	}
	l.add(r)
	c.a.records += len(l.recs) - l.head - n
}

// find returns the newest remembered record holding stream offset off.
func (l *recordLog) find(off int64) (recentRecord, bool) {
	for i := len(l.recs) - 1; i >= l.head; i-- {
		if rec := l.recs[i]; off >= rec.start && off < rec.end {
			return rec, true
		}
	}
	return recentRecord{}, false
}

func (c *connState) Close(at tcpflow.FrameRef, tcp *tcpflow.TCPSummary) {
	c.closed = true
	c.live = nil
	defer func() {
		c.a.retire(c)
		if c.idx >= 0 && tcp != nil && c.tcp == tcp {
			// Kept: its own copy (tcp points into tcpflow's connection).
			kept := *tcp
			c.tcp = &kept
		}
	}()
	c.tcp = tcp
	c.mtuClose()
	c.dackClose()
	if c.st == nil {
		return
	}
	defer func() {
		for d := range c.st.framers {
			fr := &c.st.framers[d]
			c.framed.garbage += fr.Garbage
			c.framed.resyncs += fr.Resyncs
			c.framed.tooLong += fr.TooLong
		}
		// Reused by the next connection (streams Resets it): a capture
		// of many short connections would otherwise allocate one each.
		if len(c.a.freeStreams) < maxFreeStreams {
			c.a.freeStreams = append(c.a.freeStreams, c.st)
		}
		c.st = nil
	}()
	fs := &c.st.framers
	for d := range fs {
		fs[d].Finish()
	}
	// A reply that began but whose last byte never came: remember how much
	// of it was sent, for the unanswered call's report. Any other record
	// left open is counted apart (openrec.go).
	if r, ok := fs[tcpflow.ToServer].Partial(); ok {
		c.noteOpen(tcpflow.ToServer, r)
	}
	if r, ok := fs[tcpflow.ToClient].Partial(); ok {
		var p *call
		if xid, typ, err := decode.Header(r.Head); err == nil && typ == decode.MsgReply {
			k := callKey{client: c.info.Client.Addr, server: c.info.Server, xid: xid}
			p = c.a.pending[k]
			if p != nil {
				p.partialHave, p.partialLen = r.Have, r.Len
			}
			// The record's end is where its declared length puts it.
			c.msgStart, c.msgEnd = r.Start, r.Start+4*int64(r.Fragments)+r.Len
			c.remember(tcpflow.ToClient, xid, false, p)
		}
		if p == nil {
			c.noteOpen(tcpflow.ToClient, r)
		}
	}
}

// Record is called by the framer with each complete RPC record.
func (s *dirSink) Record(r *decode.Record) {
	c := s.c
	c.msgFirst, c.msgMissing = unmark(r.First), r.Missing > 0
	c.msgStart, c.msgEnd = r.Start, c.st.framers[s.dir].Offset()
	c.msgInHole = c.inHole[s.dir]
	if !c.message(s.dir, r.Head) {
		c.undecodable++
		// A record that is not RPC means the framer lost its place
		// (garbage, or a false boundary found mid-stream).
		c.st.framers[s.dir].Desync()
	}
}

// Plausible reports whether b could start an RPC message in this direction.
// A whole header is judged whole (the framer's window holds the longest);
// of a message whose rest was not captured (cut), the fixed header is.
func (s *dirSink) Plausible(b []byte, cut bool) bool {
	if s.c.a.nfs4 != nil && s.c.a.plausibleReverse(s.c, s.dir, b, cut) {
		return true // an NFSv4 callback, or the reply to one
	}
	if s.dir == tcpflow.ToServer {
		return decode.LooksLikeCall(b) || (cut && decode.LooksLikeCallHeader(b))
	}
	if !decode.LooksLikeReply(b) && !(cut && decode.LooksLikeReplyHeader(b)) {
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
		m := &c.a.callMsg
		if err := decode.ParseCall(b, m); err != nil && !cutShort(err, b, 24) {
			return false
		}
		c.a.onCall(c, m, c.at)
	case typ == decode.MsgReply && dir == tcpflow.ToClient:
		m := &c.a.replyMsg
		if err := decode.ParseReply(b, m); err != nil && !cutShort(err, b, 12) {
			return false
		}
		c.a.onReply(c, m, c.at)
	default:
		if !c.reverse(dir, typ, b) {
			return false
		}
	}
	if c.live != nil {
		c.live.CarriedRPC = true
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
	return decode.Mark{File: int64(at.File), Frame: at.Frame, Time: at.Time}
}

func unmark(m decode.Mark) tcpflow.FrameRef {
	return tcpflow.FrameRef{File: int(m.File), Frame: m.Frame, Time: m.Time}
}

// maxEmptyListed bounds the connections listed that carried nothing: no
// payload byte either way, no TCP evidence (SYNs and ACKs only, as in a
// SYN flood or a port scan, released to make room for others). Beyond it
// they are counted in Report.Skipped, not kept: a flood of millions costs
// no memory.
const maxEmptyListed = 1000

// dropIfEmpty forgets c, just closed, when it carried nothing and
// maxEmptyListed such connections are already kept.
func (a *Analyzer) dropIfEmpty(c *connState) {
	if a.emptyKept < maxEmptyListed {
		a.emptyKept++
		return
	}
	a.emptyDropped++
	a.removeConn(c)
}

// removeConn takes c out of a.conns, leaving a hole; the table is
// compacted only once the holes are more than half of it, so removing a
// connection costs a constant, not a pass over every connection held.
func (a *Analyzer) removeConn(c *connState) {
	a.conns[c.idx] = nil
	c.idx = -1
	a.connHoles++
	if a.connHoles > len(a.conns)/2 {
		a.compactConns()
	}
}

// compactConns removes the connections dropped from a.conns.
func (a *Analyzer) compactConns() {
	n := 0
	for _, c := range a.conns {
		if c != nil {
			c.idx = n
			a.conns[n] = c
			n++
		}
	}
	clear(a.conns[n:])
	a.conns, a.connHoles = a.conns[:n], 0
}
