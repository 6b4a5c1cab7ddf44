package analyze

import (
	"fmt"
	"strings"

	"github.com/nfsstall/nfsstall/tcpflow"
)

// What the capture did not see is not evidence (../shared/report-json.md,
// "Capture loss"). A receiver only ACKs bytes it has, so bytes the peer
// ACKed that the capture never saw were sent and arrived: the capture lost
// them (tcpdump drops, a one-way capture, an asymmetric route), not the
// network. A call with no reply is a stall only when nothing the capture
// missed could hold its reply; a verdict that rests on one side's silence
// needs that side's packets in the capture.

// maxLossEvents bounds the missing-byte events remembered per connection
// and direction: the first ones are listed, the latest is always kept (it
// is what decides whether a call's reply may be among them).
const maxLossEvents = 32

// lossEvent is one run of missing bytes: the frame that showed it (the
// peer's ACK covering them, or the segment after the hole), and its
// length.
type lossEvent struct {
	at tcpflow.FrameRef
	n  int64
}

// lossLog counts the bytes of one direction that the capture missed.
// lossLogs are a connection's losses: bytes its peers ACKed that the
// capture missed (loss), and holes the capture left in a stream it could
// not tell were sent (holes), by direction.
type lossLogs struct {
	loss, holes [2]lossLog
}

// noLosses is what ll gives for a connection with none (never written).
var noLosses lossLogs

// ll is c's losses, for reading: a zero value when there were none.
func (c *connState) ll() *lossLogs {
	if c.lz == nil {
		return &noLosses
	}
	return c.lz
}

// lossLogs is c's losses, for writing: allocated at the first.
func (c *connState) lossLogs() *lossLogs {
	if c.lz == nil {
		c.lz = &lossLogs{}
	}
	return c.lz
}

type lossLog struct {
	bytes  int64
	count  int64       // events, listed or not
	events []lossEvent // the first maxLossEvents
	last   lossEvent   // the latest
}

func (l *lossLog) add(n int64, at tcpflow.FrameRef) {
	if n <= 0 {
		return
	}
	l.bytes += n
	l.count++
	e := lossEvent{at: at, n: n}
	if len(l.events) < maxLossEvents {
		l.events = append(l.events, e)
	}
	l.last = e
}

// after returns the first remembered event shown after time t (the
// latest when those listed are all earlier), and whether there is one.
func (l *lossLog) after(t int64) (lossEvent, bool) {
	if l.count == 0 || l.last.at.Time <= t {
		return lossEvent{}, false
	}
	for _, e := range l.events {
		if e.at.Time > t {
			return e, true
		}
	}
	return l.last, true
}

// frames lists the frames that showed missing bytes (bounded).
func (l *lossLog) frames() []tcpflow.FrameRef {
	out := make([]tcpflow.FrameRef, 0, len(l.events)+1)
	for _, e := range l.events {
		out = append(out, e.at)
	}
	if l.count > int64(len(l.events)) {
		out = append(out, l.last.at)
	}
	return out
}

// missingDirection returns the direction of which the capture holds no
// segment although the peer's ACKs show it carried bytes, and whether
// there is one.
func (c *connState) missingDirection() (tcpflow.Dir, bool) {
	for d := tcpflow.ToServer; d <= tcpflow.ToClient; d++ {
		if c.segs[d] == 0 && c.ll().loss[d].bytes > 0 {
			return d, true
		}
	}
	return 0, false
}

// unreadFile is a file whose reading stopped at a damaged record: the
// rest of it may hold anything.
type unreadFile struct {
	path   string
	offset int64
	last   int64 // time of the last packet read from it
}

// pairKey names a client (by address) and a server endpoint: a reply may
// come on any connection between them (a reconnect).
type pairKey struct {
	client [16]byte
	server tcpflow.Endpoint
}

// byPair indexes the connections by client address and server, once.
func (a *Analyzer) byPair() map[pairKey][]*connState {
	if a.pairs == nil {
		a.pairs = map[pairKey][]*connState{}
		for _, c := range a.conns {
			k := pairKey{c.info.Client.Addr, c.info.Server}
			a.pairs[k] = append(a.pairs[k], c)
		}
	}
	return a.pairs
}

// replyMissed says which bytes the capture missed that may hold the reply
// to p: bytes from the server, on any connection from p's client to its
// server, that the capture did not see and that were shown missing after
// p was first sent. It returns "" when there are none: then the silence is
// evidence.
func (a *Analyzer) replyMissed(p *call) string {
	for _, u := range a.unread {
		if p.first.Time <= u.last {
			return fmt.Sprintf("; reading %s stopped at a damaged record (byte offset %d) after it was sent, and the reply may be in what followed, so this is not evidence of a stall", u.path, u.offset)
		}
	}
	if p.conn.info.Proto != tcpflow.ProtoTCP {
		// Over UDP no ACK shows what the capture missed: only the capture
		// tool's own count of its drops does.
		if a.toolDropped > 0 {
			return fmt.Sprintf("; the capture tool dropped %d packets, and over UDP nothing shows whether the reply was among them, so this is not evidence of a stall", a.toolDropped)
		}
		return ""
	}
	var best lossEvent
	bestConn := 0
	acked := false
	// A call whose end fell in a hole was decoded when the hole was
	// declared, maybe after its reply: it was sent once its first byte was.
	since := p.first.Time
	if p.endInHole && p.began != 0 && p.began < since {
		since = p.began
	}
	k := pairKey{p.conn.info.Client.Addr, p.conn.info.Server}
	for _, c := range a.byPair()[k] {
		for i, l := range []*lossLog{&c.ll().loss[tcpflow.ToClient], &c.ll().holes[tcpflow.ToClient]} {
			if e, ok := l.after(since); ok && (bestConn == 0 || e.at.Time < best.at.Time) {
				best, bestConn, acked = e, c.info.ID, i == 0
			}
		}
	}
	// Connections of the pair folded away (history.go) left their latest
	// missing bytes from the server.
	if f := a.foldedPair(k); f != nil && f.lastLossConn != 0 && f.lastLoss.at.Time > since && (bestConn == 0 || f.lastLoss.at.Time < best.at.Time) {
		best, bestConn, acked = f.lastLoss, f.lastLossConn, f.lastLossAcked
	}
	if bestConn == 0 {
		return ""
	}
	how := fmt.Sprintf("the client ACKed at frame %s %d bytes from the server that the capture did not see", a.frame(best.at), best.n)
	if !acked {
		how = fmt.Sprintf("the capture missed %d bytes from the server before frame %s (a hole nothing filled)", best.n, a.frame(best.at))
	}
	where := ""
	if bestConn != p.lastConn.info.ID {
		where = fmt.Sprintf(" on connection %d", bestConn)
	}
	return fmt.Sprintf("; after it was sent, %s%s: its reply may be among them, so this is not evidence of a stall", how, where)
}

// captureLoss is a connection's capture-loss record for the report.
func (c *connState) captureLoss() *CaptureLoss {
	cl := &CaptureLoss{
		ClientToServer: c.lossSide(tcpflow.ToServer),
		ServerToClient: c.lossSide(tcpflow.ToClient),
	}
	if d, ok := c.missingDirection(); ok {
		s := dirKey(d)
		cl.MissingDirection = &s
	}
	return cl
}

func (c *connState) lossSide(d tcpflow.Dir) LossSide {
	s := LossSide{Bytes: c.ll().loss[d].bytes, Frames: []int64{}}
	for _, f := range c.ll().loss[d].frames() {
		s.Frames = append(s.Frames, f.Frame)
	}
	return s
}

// dirKey is a direction as the JSON contract spells it.
func dirKey(d tcpflow.Dir) string {
	if d == tcpflow.ToServer {
		return "client_to_server"
	}
	return "server_to_client"
}

// lossNote summarises what the capture missed, for the report's header:
// what it means for the verdicts. It returns "" for a capture that, as
// far as the ACKs show, missed nothing.
func (a *Analyzer) lossNote() string {
	var bytes [2]int64
	var firstAt [2]tcpflow.FrameRef // the earliest frame that showed missing bytes
	var conns int
	var missing [2][]int // connection IDs, per missing direction
	// Connections folded away (history.go) first: they closed earlier.
	fo := &a.folded
	conns = fo.lossConns
	bytes = fo.lossBytes
	firstAt = fo.lossFirst
	var missingN [2]int
	for d := range missing {
		missing[d] = append(missing[d], fo.missingDir[d]...)
		missingN[d] = fo.missingDirN[d]
	}
	for _, c := range a.conns {
		if c.ll().loss[0].bytes+c.ll().loss[1].bytes == 0 {
			continue
		}
		conns++
		for d := range bytes {
			bytes[d] += c.ll().loss[d].bytes
			if e := c.ll().loss[d].events; len(e) > 0 && (firstAt[d].Frame == 0 || e[0].at.Time < firstAt[d].Time) {
				firstAt[d] = e[0].at
			}
		}
		if d, ok := c.missingDirection(); ok {
			missing[d] = append(missing[d], c.info.ID)
			missingN[d]++
		}
	}
	if conns == 0 {
		return ""
	}
	var parts []string
	for d, n := range bytes {
		if n > 0 {
			parts = append(parts, fmt.Sprintf("%d bytes %s, the first ACKed at frame %s", n, tcpflow.Dir(d), a.frame(firstAt[d])))
		}
	}
	note := fmt.Sprintf("the capture missed bytes that the peers ACKed (%s; on %d %s)", strings.Join(parts, "; "), conns, Plural(conns, "connection", "connections"))
	for d, ids := range missing {
		switch n := missingN[d]; {
		case n == 0:
			continue
		case n == conns:
			note += fmt.Sprintf("; the capture holds no %s packet at all although the ACKs show that side sent data: a one-way capture (an asymmetric route, a SPAN port, a filter), so nothing can rest on that side's silence", tcpflow.Dir(d))
		default:
			note += fmt.Sprintf("; %d %s (%s) %s no %s packet although the ACKs show that side sent data", n, Plural(n, "connection", "connections"),
				connList(ids, n), Plural(n, "has", "have"), tcpflow.Dir(d))
		}
	}
	if a.lossUnanswered > 0 {
		note += fmt.Sprintf("; %d unanswered %s may have %s reply in them, so no verdict rests on %s", a.lossUnanswered,
			Plural(int(a.lossUnanswered), "call", "calls"), Plural(int(a.lossUnanswered), "its", "their"), Plural(int(a.lossUnanswered), "it", "them"))
	}
	return note
}

// discount turns stall evidence that the capture cannot back into
// warnings, saying why, so that no verdict rests on it:
//   - bytes re-sent and never ACKed, when the capture holds no packet at
//     all from the receiver (whose ACKs are the evidence) although its
//     peer's ACKs show it sent some: its silence is the capture's;
//   - an episode that is over: the client gave up the connection and a
//     later connection between the same client and server carried replies
//     after the episode's last frame (a partition that healed, a
//     reconnect): the evidence describes the past, not the end.
func (a *Analyzer) discount(all []Finding) {
	byID := map[int]*connState{}
	for _, c := range a.conns {
		byID[c.info.ID] = c
	}
	for i := range all {
		f := &all[i]
		if f.Severity != SeverityStall || (f.Kind != KindUnackedRetran && f.Kind != KindZeroWindow) {
			continue
		}
		c := byID[f.Connection]
		if c == nil {
			continue
		}
		if d, ok := c.missingDirection(); ok && f.Kind == KindUnackedRetran && d == 1-f.side {
			f.Severity = SeverityWarning
			f.unproven = true
			f.Summary += fmt.Sprintf("; but the capture holds no %s packet of this connection although the %s's ACKs show %s sent %d bytes: whether the %s ACKed is unknown",
				d, sideName(f.side), sideName(1-f.side), c.ll().loss[d].bytes, sideName(1-f.side))
			continue
		}
		if later, at, ok := a.answeredLater(c, f.refs[len(f.refs)-1].Time); ok {
			f.Severity = SeverityWarning
			f.Summary += fmt.Sprintf("; the episode is over: the client went on on connection %d, where the server was still replying at frame %s, %s after the episode's last frame",
				later, a.frame(at), FormatMS(ms(at.Time-f.refs[len(f.refs)-1].Time)))
		}
	}
}

// answeredLater returns a connection opened after c between the same
// client and server that carried a reply after time t, and that reply's
// frame.
func (a *Analyzer) answeredLater(c *connState, t int64) (int, tcpflow.FrameRef, bool) {
	k := pairKey{c.info.Client.Addr, c.info.Server}
	for _, o := range a.byPair()[k] {
		if o.info.ID > c.info.ID && o.lastReply.Time > t {
			return o.info.ID, o.lastReply, true
		}
	}
	// Connections of the pair folded away (history.go) left their latest
	// reply. (Not those of other pairs: a reply there says nothing.)
	if f := a.pairSums[k]; f != nil && f.lastReplyConn > c.info.ID && f.lastReply.Time > t {
		return f.lastReplyConn, f.lastReply, true
	}
	return 0, tcpflow.FrameRef{}, false
}

// sideName names the sender of a direction.
func sideName(d tcpflow.Dir) string {
	if d == tcpflow.ToServer {
		return "client"
	}
	return "server"
}

// connList names a few of n connections: "1, 2, 3 and 7 more".
func connList(ids []int, n int) string {
	var b strings.Builder
	for i, id := range ids[:min(3, len(ids))] {
		if i > 0 {
			b.WriteString(", ")
		}
		fmt.Fprint(&b, id)
	}
	if shown := min(3, len(ids)); n > shown {
		fmt.Fprintf(&b, " and %d more", n-shown)
	}
	return b.String()
}
