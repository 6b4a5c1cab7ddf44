package tcpflow

import (
	"github.com/nfsstall/nfsstall/capture"
)

// FrameRef names the packet a byte or an event came from.
type FrameRef struct {
	File  int   // index of the capture file
	Frame int64 // 1-based frame number within that file
	Time  int64 // ns since the Unix epoch
}

// Dir is the direction of a half-connection.
type Dir uint8

// Directions, named from the NFS server's point of view.
const (
	ToServer Dir = 0 // client -> server: calls
	ToClient Dir = 1 // server -> client: replies
)

func (d Dir) String() string {
	if d == ToServer {
		return "client->server"
	}
	return "server->client"
}

// GapReason says why bytes of a stream are missing.
type GapReason uint8

const (
	// GapSnaplen: the segment was captured but cut by the snaplen; its TCP
	// length shows the bytes were sent.
	GapSnaplen GapReason = iota
	// GapLost: the bytes were never captured, and nothing shows they
	// arrived: later sequence numbers show they were sent, but the hole was
	// declared at a reassembly limit or at the end of the capture. Lost by
	// the network or by the capture: the capture cannot tell.
	GapLost
	// GapAcked: the peer ACKed the bytes, so they were sent and arrived,
	// but the capture never saw them: capture loss (tcpdump drops, a
	// one-way capture, an asymmetric route), not network loss.
	GapAcked
)

// ConnInfo identifies one connection (or UDP flow) to an analysed port.
type ConnInfo struct {
	ID     int // 1-based, in order of first packet
	Proto  Proto
	Client Endpoint
	Server Endpoint
	First  FrameRef // its first packet
	SawSYN bool     // the capture has its handshake
	// CarriedRPC is set by the handler, through the pointer newConn is
	// given (valid until Close), once the connection carried an RPC
	// message: a full connection table releases connections that never
	// did before any that did.
	CarriedRPC bool
}

// ConnHandler consumes one connection. The byte slices it is handed are
// only valid during the call: copy what is kept.
type ConnHandler interface {
	// Segment is called for every TCP segment, with its tcp.analysis
	// flags, before the bytes it releases are delivered.
	Segment(dir Dir, s *Segment, flags Analysis, at FrameRef)
	// Acked says the peer has now acknowledged direction dir's stream up
	// to offset upTo (a stream offset, as counted by Data and Gap).
	Acked(dir Dir, upTo int64, at FrameRef)
	// Data delivers the next in-order bytes of one direction.
	Data(dir Dir, b []byte, at FrameRef)
	// Gap says the next n bytes of one direction were sent but not captured.
	Gap(dir Dir, n int, at FrameRef, why GapReason)
	// Datagram delivers one UDP payload; wireLen is its length on the wire.
	Datagram(dir Dir, payload []byte, wireLen int, at FrameRef)
	// Close is called once, when the connection ends (FIN/RST and idle, or
	// the end of the capture), after all its bytes were delivered, with
	// what the TCP analysis found (nil for UDP). tcp points into the
	// connection's state: a handler that keeps it past Close keeps a copy,
	// or it keeps the whole of that state alive.
	Close(at FrameRef, tcp *TCPSummary)
}

// Limits bound the reassembly state. Every field has one meaning for
// zero: a zero (or negative) field takes its value in DefaultLimits, so
// Limits{} is DefaultLimits; no field means "no limit" or a limit of zero.
type Limits struct {
	// QueuePerDirection caps the out-of-order bytes held for one direction
	// while a hole waits to be filled; past it the hole is declared lost.
	QueuePerDirection int
	// QueueTotal caps the out-of-order bytes held for all connections.
	QueueTotal int
	// QueueSegments and QueueSegmentsTotal cap the out-of-order segments
	// held, per direction and in all: segments whose payload the snaplen
	// cut away hold few bytes each but still cost a buffer and a place in
	// the sorted queue.
	QueueSegments      int
	QueueSegmentsTotal int
	// MaxConnections caps the connections tracked at once. When the table
	// is full, connections that ended or have been idle for CloseIdle are
	// released early, then connections that never carried RPC (see
	// ConnInfo.CarriedRPC), the least recently active first; if none can
	// go, the new connection is not analysed (its packets are counted as
	// SkipConnLimit).
	MaxConnections int
	// CloseIdle is how long (capture time, ns) a connection that has ended
	// with FIN or RST is kept for late packets before it is released.
	CloseIdle int64
	// IP fragment reassembly (see defrag.go): FragDatagrams caps the
	// datagrams in reassembly at once and FragBytes the bytes of buffers
	// they hold (past either the oldest is dropped); FragTimeout is how
	// long (capture time, ns) after its first fragment an incomplete
	// datagram is dropped.
	FragDatagrams int
	FragBytes     int
	FragTimeout   int64
	// Stall evidence held at once, all connections together (besides the
	// per-direction bounds MaxSentLog and MaxRetransRuns): SentTotal
	// unACKed transmissions remembered, RetransTotal re-sent runs
	// followed, ZeroWinTotal zero-window episodes kept.
	SentTotal    int
	RetransTotal int
	ZeroWinTotal int
}

// DefaultLimits fit a 1 MiB NFS READ reply reordered on a busy link, while
// bounding memory for captures with thousands of connections.
var DefaultLimits = Limits{
	QueuePerDirection:  4 << 20,
	QueueTotal:         24 << 20,
	QueueSegments:      2048,
	QueueSegmentsTotal: 12288,
	MaxConnections:     10000,
	CloseIdle:          30e9,
	FragDatagrams:      1024,
	FragBytes:          8 << 20,
	FragTimeout:        30e9,
	SentTotal:          1 << 17,
	RetransTotal:       8192,
	ZeroWinTotal:       8192,
}

// Stats counts what happened to packets, so the report can say what was
// skipped and why.
type Stats struct {
	Packets       int64
	Skipped       [numSkipReasons]int64
	ForcedGaps    int64 // holes declared lost because a queue limit was hit
	ForcedGapByte int64
	// Implausible counts TCP segments dropped because their sequence
	// number is more than 2^30 from the stream's (see seqspace.go).
	Implausible int64
	Connections int
	// Evicted counts connections released before their end (or before
	// CloseIdle after it) because the connection table was full, and of
	// those EvictedQuiet the ones still active that never carried RPC.
	Evicted      int64
	EvictedQuiet int64
	// TableScans counts scans of the full connection table for room.
	TableScans int64
	// Fragments counts the TCP and UDP IP fragments taken for reassembly,
	// Reassembled the datagrams they completed, and FragDropped the
	// datagrams dropped incomplete (not those shown by their first
	// fragment to be on other ports), by the reason their fragments are
	// counted under in Skipped.
	// OtherPorts counts the RPC calls seen to ports not analysed (the
	// first MaxOtherPorts ports), for a hint when the analysed ones had
	// none (otherports.go).
	OtherPorts  []OtherPort
	Fragments   int64
	Reassembled int64
	FragDropped [numSkipReasons]int64
	// Stall evidence forgotten or not kept because a total across
	// connections (Limits.SentTotal, RetransTotal, ZeroWinTotal) was
	// reached: transmissions forgotten, re-sent runs not followed,
	// zero-window episodes counted but not kept.
	SentTotalForgotten  int64
	RetransTotalSkipped int64
	ZeroWinTotalSkipped int64
	// ICMPErrors counts the ICMP and ICMPv6 errors that quote a segment of
	// a followed connection, handed to it (icmp.go): analysed, not
	// skipped. Other ICMP is skipped as not TCP or UDP.
	ICMPErrors int64
}

// FragDroppedCount returns how many datagrams in reassembly were dropped
// for reason r.
func (s *Stats) FragDroppedCount(r SkipReason) int64 { return s.FragDropped[r] }

// SkipCount returns how many packets were skipped for reason r.
func (s *Stats) SkipCount(r SkipReason) int64 { return s.Skipped[r] }

// SkipReasons lists every skip reason with a non-zero count.
func (s *Stats) SkipReasons() []SkipReason {
	var out []SkipReason
	for r := SkipReason(1); r < numSkipReasons; r++ {
		if s.Skipped[r] > 0 {
			out = append(out, r)
		}
	}
	return out
}

type connKey struct {
	server, client Endpoint
	proto          Proto
}

type conn struct {
	key     connKey
	info    ConnInfo
	h       ConnHandler
	halves  [2]half
	last    int64 // capture time of the last packet
	rst     bool
	closed  bool // ended; kept only for late packets
	gone    bool // released: no longer in the table
	closeAt FrameRef

	tcp      [2]seqState // Wireshark-style sequence analysis, per sender
	trk      [2]tracker  // stall evidence, per sender
	sum      TCPSummary
	firstRTT int64
	ev       *evidenceBudget // shared by every connection of a Flows
}

// Flows demultiplexes packets into connections to the analysed ports and
// reassembles their TCP byte streams.
type Flows struct {
	// what SetWindow and SetHosts keep (filter.go)
	windowed, hostFiltered bool
	since, until           int64
	clients, servers       [][16]byte
	ports                  [65536 / 64]uint64
	newConn                func(*ConnInfo) ConnHandler
	limits                 Limits
	conns                  connTable
	nextID                 int
	dec                    *Decoder
	seg                    Segment
	frags                  *defrag
	Stats                  Stats
	queued                 int                       // out-of-order bytes held, all connections
	queuedN                int                       // out-of-order segments held, all connections
	freeBufs               [len(bufClasses)][][]byte // see getBuf
	lastTime               int64                     // the latest capture time seen: the clock of sweeps
	sweepAt                int64
	// closing lists connections that ended (FIN/RST), for sweep: scanning
	// only them keeps a sweep's cost independent of the open connections.
	closing     []*conn
	closingGone int // connections on closing already released
	ev          evidenceBudget
	// scanCredit: new connections to refuse before the full connection
	// table is scanned again (see makeRoom).
	scanCredit int
}

// withDefaults returns l with every zero (or negative) field set to its
// value in DefaultLimits.
func (l Limits) withDefaults() Limits {
	d := &DefaultLimits
	for _, f := range []struct{ v, def *int }{
		{&l.QueuePerDirection, &d.QueuePerDirection}, {&l.QueueTotal, &d.QueueTotal},
		{&l.QueueSegments, &d.QueueSegments}, {&l.QueueSegmentsTotal, &d.QueueSegmentsTotal},
		{&l.MaxConnections, &d.MaxConnections}, {&l.FragDatagrams, &d.FragDatagrams},
		{&l.FragBytes, &d.FragBytes}, {&l.SentTotal, &d.SentTotal},
		{&l.RetransTotal, &d.RetransTotal}, {&l.ZeroWinTotal, &d.ZeroWinTotal},
	} {
		if *f.v <= 0 {
			*f.v = *f.def
		}
	}
	if l.CloseIdle <= 0 {
		l.CloseIdle = d.CloseIdle
	}
	if l.FragTimeout <= 0 {
		l.FragTimeout = d.FragTimeout
	}
	return l
}

// NewFlows returns a Flows that follows TCP and UDP traffic to or from the
// given server ports and hands each new connection to newConn.
func NewFlows(ports []uint16, limits Limits, newConn func(*ConnInfo) ConnHandler) *Flows {
	limits = limits.withDefaults()
	f := &Flows{newConn: newConn, limits: limits, conns: newConnTable(), dec: NewDecoder()}
	f.ev = evidenceBudget{limits: &f.limits, stats: &f.Stats}
	for _, p := range ports {
		f.ports[p/64] |= 1 << (p % 64)
	}
	f.frags = newDefrag(limits, &f.Stats, func(_ Proto, b []byte) bool {
		return f.isServerPort(uint16(b[0])<<8|uint16(b[1])) || f.isServerPort(uint16(b[2])<<8|uint16(b[3]))
	})
	return f
}

// Limits returns the limits in force (zero fields given their default).
func (f *Flows) Limits() Limits { return f.limits }

func (f *Flows) isServerPort(p uint16) bool { return f.ports[p/64]&(1<<(p%64)) != 0 }

// Packet decodes p and feeds it to its connection.
func (f *Flows) Packet(p *capture.Packet) {
	f.Stats.Packets++
	if f.windowed && (p.Time < f.since || p.Time > f.until) {
		f.Stats.Skipped[SkipOutsideWindow]++
		return
	}
	s := &f.seg
	if r := f.dec.Decode(p, s); r != SkipNone {
		if r == SkipFragment {
			f.fragment(p)
			return
		}
		if r == SkipNotTCPUDP && f.dec.icmpOK && f.icmpError(p) {
			return
		}
		f.Stats.Skipped[r]++
		return
	}
	f.segment(p, s, 1)
}

// fragment takes an IP fragment to reassembly. The datagram it completes,
// if any, is analysed as if it had come whole in this packet: Wireshark
// too shows a reassembled datagram in the frame of the fragment that
// completed it, at that frame's time.
func (f *Flows) fragment(p *capture.Packet) {
	fr := &f.dec.frag
	if fr.key.proto != ProtoTCP && fr.key.proto != ProtoUDP {
		f.Stats.Skipped[SkipNotTCPUDP]++ // the protocol is in every fragment
		return
	}
	if fr.off == 0 && !fr.more {
		// An IPv6 atomic fragment (RFC 6946): a whole datagram.
		f.reassembled(p, fr.key.proto, fr.data, fr.wireLen, 1)
		return
	}
	d := f.frags.add(fr, p.Time)
	if d == nil {
		return
	}
	if d.ignore {
		f.Stats.Skipped[SkipOtherPort] += d.nfrag
	} else {
		f.reassembled(p, d.key.proto, d.payload(), d.total, d.nfrag)
	}
	f.frags.done(d)
}

// reassembled analyses a whole datagram: data is the captured part of its
// IP payload, wireLen its length, n the packets it came in.
func (f *Flows) reassembled(p *capture.Packet, proto Proto, data []byte, wireLen int, n int64) {
	s := &f.seg
	if r := f.dec.decodeTransport(proto, data, wireLen, s); r != SkipNone {
		f.Stats.Skipped[r] += n
		return
	}
	f.segment(p, s, n)
}

// segment feeds a decoded segment that came in p to its connection; n is
// the packets it stands for in the skipped counts (its IP fragments).
func (f *Flows) segment(p *capture.Packet, s *Segment, n int64) {
	var key connKey
	var dir Dir
	switch {
	case f.isServerPort(s.Dst.Port):
		key, dir = connKey{server: s.Dst, client: s.Src, proto: s.Proto}, ToServer
	case f.isServerPort(s.Src.Port):
		key, dir = connKey{server: s.Src, client: s.Dst, proto: s.Proto}, ToClient
	default:
		f.Stats.Skipped[SkipOtherPort] += n
		f.noteOtherPort(s)
		return
	}
	if f.hostFiltered && !f.hostWanted(key) {
		f.Stats.Skipped[SkipHostFilter] += n
		return
	}
	at := FrameRef{File: p.File, Frame: p.Frame, Time: p.Time}
	if p.Time > f.lastTime {
		f.lastTime = p.Time
	}
	c := f.conns.get(&key)
	if c != nil && s.Proto == ProtoTCP && s.Flags&(FlagSYN|FlagACK) == FlagSYN && dir == ToServer && c.isNewSYN(s.Seq) {
		// A new SYN on a 4-tuple whose connection ended (or whose ISN
		// differs): a reconnect from the same port is a new connection.
		f.release(key, c, at)
		c = nil
	}
	if c == nil {
		if f.conns.len() >= f.limits.MaxConnections && !f.makeRoom(at) {
			f.Stats.Skipped[SkipConnLimit] += n
			return
		}
		c = f.open(key, s, dir, at)
	}
	c.last = p.Time
	if s.Proto == ProtoUDP {
		c.h.Datagram(dir, s.Payload, s.WireLen, at)
	} else {
		f.tcp(c, dir, s, at)
	}
	if f.lastTime >= f.sweepAt {
		f.sweep(at)
	}
}

// isNewSYN reports whether a client SYN with sequence number seq starts a
// new connection rather than retransmitting this one's SYN.
func (c *conn) isNewSYN(seq uint32) bool {
	h := &c.halves[ToServer]
	return c.closed || c.rst || !h.sawSYN || h.isn != seq
}

func (f *Flows) tcp(c *conn, dir Dir, s *Segment, at FrameRef) {
	c.h.Segment(dir, s, c.analyze(dir, s, at), at)
	h, peer := &c.halves[dir], &c.halves[1-dir]
	// A RST or FIN ends the connection only when its sequence number is
	// plausible for its sender (RFC 5961 takes a RST only in the window):
	// a damaged one must not end a live connection, whose later packets
	// would then be late ones.
	believed := !h.synced || h.plausible(s.Seq)
	if s.Flags&FlagRST != 0 && believed {
		c.rst = true
	}
	// The ACK first: it acknowledges bytes the peer sent before this
	// segment, so what it releases (holes the capture missed, and the
	// queued bytes behind them) comes before this segment's data. A reply
	// must not be decoded before the call its ACK releases.
	if s.Flags&(FlagSYN|FlagACK) == FlagSYN|FlagACK && peer.sawSYN && peer.delivered == 0 && len(peer.queue) == 0 && s.Ack != peer.next {
		// The SYN-ACK acknowledges the peer's ISN+1: when it disagrees
		// with the SYN seen, before any byte, the SYN's sequence number
		// was damaged (or answered another SYN); following the SYN would
		// drop every byte of the connection as a re-send, or declare up
		// to 2^30 bytes lost before the first.
		peer.isn, peer.next = s.Ack-1, s.Ack
	}
	if s.Flags&FlagACK != 0 {
		if believed := f.acked(c, peer, s.Ack, at); peer.synced && believed {
			// An implausible ACK (far ahead: damaged) acknowledges nothing;
			// one beyond the bytes delivered, only those.
			if off, ok := peer.offsetOf(s.Ack); ok && min(off, peer.delivered) > peer.ackedOff {
				peer.ackedOff = min(off, peer.delivered)
				c.h.Acked(1-dir, peer.ackedOff, at)
			}
		}
	}
	if s.Flags&FlagSYN != 0 {
		// A SYN (or one with another ISN) sets the sequence space only
		// before any byte was taken: later, it is a damaged header (a real
		// new connection on this 4-tuple starts with the client's SYN,
		// which opens a new conn above), and following it would strand
		// the queued segments and make every later byte implausible.
		if (!h.sawSYN || h.isn != s.Seq) && h.delivered == 0 && len(h.queue) == 0 {
			h.sawSYN, h.isn = true, s.Seq
			h.synced, h.next = true, s.Seq+1
		}
	} else if s.WireLen > 0 {
		f.data(c, h, s.Seq, s.Payload, s.WireLen, at)
	}
	if s.Flags&FlagFIN != 0 && believed {
		h.fin, h.finSeq = true, s.Seq+uint32(s.WireLen)
	}
	if c.rst || (h.fin && peer.fin) {
		if !c.closed {
			c.closed, c.closeAt = true, at
			f.closing = append(f.closing, c)
		}
	}
}
