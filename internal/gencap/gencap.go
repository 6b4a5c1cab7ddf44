// Package gencap generates synthetic NFSv3 captures for benchmarks and
// tests: many TCP connections to port 2049 carrying record-marked READ
// calls and 64 KiB / 1 MiB READ replies cut into segments, with delayed
// ACKs, TCP timestamps, reordered and retransmitted segments, unanswered
// calls, sequence numbers near 2^32 and connections joined mid-stream.
// The output is a pcap file (microsecond timestamps, Ethernet) written
// with encoding/binary; the same Config and seed give the same bytes.
package gencap

import (
	"bufio"
	"encoding/binary"
	"io"
	"math/rand/v2"
)

// Config says what to generate. Zero values take the defaults noted.
type Config struct {
	Seed int64
	// Size is the approximate file size in bytes: no READ is started once
	// it is reached (unanswered calls still owed are then sent).
	Size int64
	// Conns is the number of connections (default 1); Active how many of
	// them exchange packets at once, interleaved (default min(Conns, 8)).
	Conns  int
	Active int
	// NoHandshake starts every connection mid-stream: no SYN, and the
	// first bytes the server sends are the tail of an earlier reply.
	NoHandshake bool
	// SeqNearWrap puts the initial sequence numbers just below 2^32, so
	// they wrap early in the capture.
	SeqNearWrap bool
	// SmallRead and BigRead are the READ sizes (default 64 KiB and 1 MiB);
	// BigRate is the fraction of READs of BigRead.
	SmallRead, BigRead int
	BigRate            float64
	// NoAttrRate is the fraction of READ replies without post_op_attr.
	NoAttrRate float64
	// ReorderRate is the fraction of reply segments sent after the segment
	// that follows them; RetransRate the fraction sent twice.
	ReorderRate, RetransRate float64
	// Unanswered calls are spread evenly over the capture; each other
	// call is also left unanswered with probability UnansweredRate. The
	// server's TCP ACKs an unanswered call, and sends no reply.
	Unanswered     int64
	UnansweredRate float64
	// Timestamps adds the TCP timestamps option to every segment.
	Timestamps bool
	// NoDelayedAck makes the client ACK every reply segment; by default it
	// ACKs every second one (and the last of each reply).
	NoDelayedAck bool
	// Segment is the TCP payload size of a full segment (default 1448).
	Segment int
	// Start is the time of the first packet, ns since the Unix epoch
	// (default 2024-01-01T00:00:00Z).
	Start int64
}

// Stats counts what was generated: what nfsstall should find.
type Stats struct {
	Packets     int64
	Bytes       int64 // bytes of the pcap file, headers included
	Connections int   // connections that carried at least one packet
	Calls       int64 // READ calls (each sent once)
	Replies     int64
	Unanswered  int64 // calls never answered
	DataBytes   int64 // READ data in replies
	// Retransmissions counts segments sent a second time (tshark flags
	// each as tcp.analysis.retransmission), Reordered segments sent after
	// their successor (tcp.analysis.out_of_order, and the successor
	// tcp.analysis.lost_segment).
	Retransmissions int64
	Reordered       int64
}

// ServerPort is the NFS port the generated traffic goes to.
const ServerPort = 2049

const (
	ethLen       = 14
	ipLen        = 20
	tcpLen       = 20
	pcapHdrLen   = 24
	pcapRecLen   = 16
	callLen      = 160 // record marker included
	replyHdrAttr = 4 + 128
	replyHdrNone = 4 + 44
	clientWScale = 7
	serverWScale = 7
	clientWindow = 0xfaf0 // raw; scaled by 2^7: about 8 MB
	serverWindow = 0xfe00
	defaultStart = 1704067200e9
	nsPerByte    = 8.0 / 10 // 10 Gbit/s
	handshakeRTT = 100e3    // ns
)

// payload sources of a packet
const (
	payNone = iota
	payCall
	payReply   // bytes of the current reply record
	payGarbage // tail of a reply sent before the capture began
)

const (
	fFIN = 0x01
	fSYN = 0x02
	fPSH = 0x08
	fACK = 0x10
)

// desc is one packet to send, its payload described, not copied.
type desc struct {
	toClient bool
	sticky   bool  // send the connection's next packet right after this one, at the same time
	delay    int32 // ns to wait before sending (a round trip)
	flags    uint8
	kind     uint8
	seq, ack uint32
	off, n   int32 // payload range in its source
}

type conn struct {
	id       int
	cliIP    [4]byte
	cliPort  uint16
	cliMAC   [6]byte
	seq      [2]uint32 // next sequence number: [0] client, [1] server
	ipID     [2]uint16
	tsBase   [2]uint32 // TCP timestamp clock of each side at Start
	tsLast   [2]uint32 // last timestamp value sent by each side
	xid      uint32
	fh       [32]byte
	offset   uint64
	started  bool
	busy     bool
	q        []desc
	qi       int
	call     [callLen]byte
	reply    [replyHdrAttr]byte // marker and RPC/NFS header of the current reply
	replyHdr int
}

// Generator produces the packets of one capture, one at a time.
type Generator struct {
	cfg     Config
	rng     *rand.Rand
	conns   []*conn
	slots   []*conn // connections exchanging packets now
	cur     int
	next    int // next connection to start an operation
	now     int64
	frame   []byte
	pattern []byte // READ data and pre-capture garbage
	stats   Stats
	srvIP   [4]byte
	srvMAC  [6]byte
	stopped bool
	gap     int64 // time the last frame took on the wire
	same    bool  // the last packet was sticky: send this one at the same time
	wrote   int64 // pcap bytes so far, as Write counts them
}

// New returns a Generator for cfg.
func New(cfg Config) *Generator {
	if cfg.Conns <= 0 {
		cfg.Conns = 1
	}
	if cfg.Active <= 0 {
		cfg.Active = 8
	}
	cfg.Active = min(cfg.Active, cfg.Conns)
	if cfg.SmallRead <= 0 {
		cfg.SmallRead = 64 << 10
	}
	if cfg.BigRead <= 0 {
		cfg.BigRead = 1 << 20
	}
	if cfg.Segment <= 0 {
		cfg.Segment = 1448
	}
	if cfg.Start == 0 {
		cfg.Start = defaultStart
	}
	g := &Generator{
		cfg:    cfg,
		rng:    rand.New(rand.NewPCG(uint64(cfg.Seed), 0x6e667367656e)),
		now:    cfg.Start,
		frame:  make([]byte, ethLen+ipLen+tcpLen+40+cfg.Segment),
		srvIP:  [4]byte{198, 19, 0, 1},
		srvMAC: [6]byte{0x02, 0x00, 0x5e, 0x00, 0x00, 0x01},
	}
	g.pattern = make([]byte, (max(cfg.SmallRead, cfg.BigRead)+cfg.Segment+7)&^7)
	for i := 0; i < len(g.pattern); i += 8 {
		binary.LittleEndian.PutUint64(g.pattern[i:], g.rng.Uint64())
	}
	g.conns = make([]*conn, cfg.Conns)
	for i := range g.conns {
		c := &conn{id: i}
		n := i + 1
		c.cliIP = [4]byte{198, 18, byte(n >> 8), byte(n)}
		c.cliPort = uint16(32768 + g.rng.IntN(28000)) // above 2049, so tshark tries NFS first
		c.cliMAC = [6]byte{0x02, 0x00, 0x5e, 0x10, byte(n >> 8), byte(n)}
		for d := range c.seq {
			if cfg.SeqNearWrap {
				c.seq[d] = 0 - uint32(1+g.rng.IntN(256<<10))
			} else {
				c.seq[d] = g.rng.Uint32()
			}
			c.ipID[d] = uint16(g.rng.Uint32())
			c.tsBase[d] = g.rng.Uint32()
		}
		c.xid = g.rng.Uint32()
		for j := 0; j < len(c.fh); j += 4 {
			binary.BigEndian.PutUint32(c.fh[j:], g.rng.Uint32())
		}
		g.conns[i] = c
	}
	g.stats.Bytes = pcapHdrLen
	g.slots = make([]*conn, 0, cfg.Active)
	for i := 0; i < cfg.Active; i++ {
		if c := g.startOp(); c != nil {
			g.slots = append(g.slots, c)
		}
	}
	return g
}

// Next returns the next packet's Ethernet frame and its time (ns since
// the Unix epoch), or ok false at the end. The frame is valid until the
// next call.
func (g *Generator) Next() (frame []byte, ts int64, ok bool) {
	for len(g.slots) > 0 {
		if g.cur >= len(g.slots) {
			g.cur = 0
		}
		c := g.slots[g.cur]
		if c.qi < len(c.q) {
			d := &c.q[c.qi]
			c.qi++
			if !g.same {
				g.now += g.gap
			}
			g.now += int64(d.delay)
			frame = g.build(c, d)
			g.gap = int64(float64(len(frame)+24) * nsPerByte) // 10 Gbit/s, with preamble and gap
			g.same = d.sticky
			if !d.sticky {
				g.cur++
			}
			g.stats.Packets++
			g.wrote += pcapRecLen + int64(len(frame))
			g.stats.Bytes = pcapHdrLen + g.wrote
			return frame, g.now, true
		}
		// This connection's operation is done: start another one.
		c.busy = false
		if nc := g.startOp(); nc != nil {
			g.slots[g.cur] = nc
		} else {
			g.slots = append(g.slots[:g.cur], g.slots[g.cur+1:]...)
		}
	}
	return nil, 0, false
}

// startOp picks the next idle connection and queues its next operation,
// or returns nil when the capture is complete.
func (g *Generator) startOp() *conn {
	cfg := &g.cfg
	owed := g.stats.Unanswered < cfg.Unanswered
	if g.stopped || (g.wrote >= cfg.Size && !owed) {
		g.stopped = true
		return nil
	}
	var c *conn
	for range g.conns {
		cand := g.conns[g.next]
		g.next = (g.next + 1) % len(g.conns)
		if !cand.busy {
			c = cand
			break
		}
	}
	if c == nil {
		return nil
	}
	c.busy = true
	c.q, c.qi = c.q[:0], 0
	if !c.started {
		c.started = true
		g.stats.Connections++
		if cfg.NoHandshake {
			g.queueGarbage(c)
		} else {
			g.queueHandshake(c)
		}
	}
	// Unanswered calls owed are spread in proportion to the bytes written.
	unanswered := owed && (g.wrote >= cfg.Size ||
		float64(g.stats.Unanswered)*float64(cfg.Size) <= float64(g.wrote)*float64(cfg.Unanswered))
	if !unanswered && cfg.UnansweredRate > 0 && g.rng.Float64() < cfg.UnansweredRate {
		unanswered = true
	}
	count := cfg.SmallRead
	if cfg.BigRate > 0 && g.rng.Float64() < cfg.BigRate {
		count = cfg.BigRead
	}
	g.queueCall(c, count)
	if unanswered {
		g.stats.Unanswered++
		g.push(c, desc{toClient: true, flags: fACK, seq: c.seq[1], ack: c.seq[0]})
	} else {
		g.queueReply(c, count)
	}
	return c
}

func (g *Generator) push(c *conn, d desc) { c.q = append(c.q, d) }

func (g *Generator) queueHandshake(c *conn) {
	g.push(c, desc{flags: fSYN, seq: c.seq[0] - 1})
	g.push(c, desc{toClient: true, flags: fSYN | fACK, seq: c.seq[1] - 1, ack: c.seq[0], delay: handshakeRTT / 2})
	g.push(c, desc{flags: fACK, seq: c.seq[0], ack: c.seq[1], delay: handshakeRTT / 2})
}

// queueGarbage sends the tail of a reply that began before the capture.
func (g *Generator) queueGarbage(c *conn) {
	seg := g.cfg.Segment
	n := 1 + g.rng.IntN(3)
	for i := 0; i < n; i++ {
		g.push(c, desc{toClient: true, flags: fACK, kind: payGarbage, seq: c.seq[1], ack: c.seq[0], off: int32(i * seg), n: int32(seg)})
		c.seq[1] += uint32(seg)
	}
	g.push(c, desc{flags: fACK, seq: c.seq[0], ack: c.seq[1]})
}

func (g *Generator) queueCall(c *conn, count int) {
	c.xid++
	AppendReadCall(c.call[:0], c.xid, uint32(g.now/1e9), c.fh[:], c.offset, uint32(count))
	c.offset += uint64(count)
	g.push(c, desc{flags: fPSH | fACK, kind: payCall, seq: c.seq[0], ack: c.seq[1], n: callLen})
	c.seq[0] += callLen
	g.stats.Calls++
}

func (g *Generator) queueReply(c *conn, count int) {
	cfg := &g.cfg
	attr := !(cfg.NoAttrRate > 0 && g.rng.Float64() < cfg.NoAttrRate)
	hdr := AppendReadReply(c.reply[:0], c.xid, uint32(count), attr, uint64(1000+c.id), uint32(g.now/1e9))
	total := len(hdr) + count // count is a multiple of 4: no padding
	c.replyHdr = len(hdr)
	g.stats.Replies++
	g.stats.DataBytes += int64(count)

	seg := cfg.Segment
	nseg := (total + seg - 1) / seg
	ackEvery := 2
	if cfg.NoDelayedAck {
		ackEvery = 1
	}
	base := c.seq[1]
	segDesc := func(i int) desc {
		off := i * seg
		return desc{toClient: true, flags: fACK, kind: payReply, seq: base + uint32(off), ack: c.seq[0],
			off: int32(off), n: int32(min(seg, total-off))}
	}
	clientAck := func(upTo int) {
		g.push(c, desc{flags: fACK, seq: c.seq[0], ack: base + uint32(min(upTo*seg, total))})
	}
	inOrder := 0
	for i := 0; i < nseg; i++ {
		r := g.rng.Float64()
		switch {
		case i+1 < nseg && r < cfg.ReorderRate:
			d := segDesc(i + 1)
			d.sticky = true
			g.push(c, d)
			g.push(c, segDesc(i))
			g.stats.Reordered++
			i++
			inOrder = 0
			clientAck(i + 1)
			continue
		case r < cfg.ReorderRate+cfg.RetransRate:
			d := segDesc(i)
			d.sticky = true
			g.push(c, d)
			g.push(c, segDesc(i))
			g.stats.Retransmissions++
		default:
			g.push(c, segDesc(i))
		}
		inOrder++
		if inOrder == ackEvery || i == nseg-1 {
			clientAck(i + 1)
			inOrder = 0
		}
	}
	// PSH on the reply's last segment, as Linux sends it.
	for j := len(c.q) - 1; j >= 0; j-- {
		if d := &c.q[j]; d.toClient && d.kind == payReply && int(d.off)+int(d.n) == total {
			d.flags |= fPSH
			break
		}
	}
	c.seq[1] = base + uint32(total)
}

// WriteHeader writes the pcap file header (microsecond timestamps,
// Ethernet).
func WriteHeader(w io.Writer) error {
	var h [pcapHdrLen]byte
	le := binary.LittleEndian
	le.PutUint32(h[0:], 0xa1b2c3d4)
	le.PutUint16(h[4:], 2)
	le.PutUint16(h[6:], 4)
	le.PutUint32(h[16:], 262144) // snaplen
	le.PutUint32(h[20:], 1)      // LINKTYPE_ETHERNET
	_, err := w.Write(h[:])
	return err
}

// Write generates the capture described by cfg into w as a pcap file.
func Write(w io.Writer, cfg Config) (Stats, error) {
	bw := bufio.NewWriterSize(w, 1<<20)
	if err := WriteHeader(bw); err != nil {
		return Stats{}, err
	}
	g := New(cfg)
	var rec [pcapRecLen]byte
	le := binary.LittleEndian
	for {
		frame, ts, ok := g.Next()
		if !ok {
			break
		}
		le.PutUint32(rec[0:], uint32(ts/1e9))
		le.PutUint32(rec[4:], uint32(ts%1e9/1e3))
		le.PutUint32(rec[8:], uint32(len(frame)))
		le.PutUint32(rec[12:], uint32(len(frame)))
		bw.Write(rec[:])
		if _, err := bw.Write(frame); err != nil {
			return g.stats, err
		}
	}
	return g.stats, bw.Flush()
}
