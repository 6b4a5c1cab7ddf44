// Package advconn writes adversarial captures for the analysis' memory
// bounds: shapes that grow a table with the input (connections, pending
// calls, per-connection TCP evidence, reassembly queues, IP fragments).
// Frames are built by hand (Ethernet, IPv4, TCP or UDP without options),
// so a test can write millions of them quickly; tests and
// bench/adversarial-analysis.sh use the same shapes.
package advconn

import (
	"bufio"
	"encoding/binary"
	"fmt"
	"io"

	"github.com/nfsstall/nfsstall/internal/gencap"
)

// Shapes lists the shapes by name, with what the scale n means.
var Shapes = []struct {
	Name, Doc string
	Default   int
	Write     func(w io.Writer, n int) error
}{
	{"short", "n connections, each a handshake, a READ call, its reply and a RST", 100000, Short},
	{"synrst", "n connections, each a SYN and a RST, from n client addresses", 250000, SynRst},
	{"neverclosed", "n connections, each a handshake and one READ call (ACKed, never answered), 10 ms apart, never closed", 200000, NeverClosed},
	{"unacked", "n connections, each 4,096 new 1-byte segments each way that the peer never ACKs", 1000, Unacked},
	{"ooochurn", "8 connections, n rounds of out-of-order segments (60 KB, then 100 bytes) queued behind holes on all at once, then the holes filled", 50, OOOChurn},
	{"combined", "n connections with 65,536 unanswered calls among them, full reassembly queues, and 8 MiB of incomplete IP fragments", 10000, Combined},
}

// Writer writes a pcap file of hand-built frames.
type Writer struct {
	w   *bufio.Writer
	now int64 // ns
	buf []byte
	err error
}

// NewWriter writes the pcap file header (nanosecond timestamps, Ethernet,
// snaplen 262144) to w.
func NewWriter(w io.Writer) *Writer {
	x := &Writer{w: bufio.NewWriterSize(w, 1<<20), now: 1_700_000_000e9, buf: make([]byte, 0, 70000)}
	var h [24]byte
	le := binary.LittleEndian
	le.PutUint32(h[0:], 0xa1b23c4d)
	le.PutUint16(h[4:], 2)
	le.PutUint16(h[6:], 4)
	le.PutUint32(h[16:], 262144)
	le.PutUint32(h[20:], 1)
	_, x.err = x.w.Write(h[:])
	return x
}

// Flush writes what is buffered and returns the first error.
func (x *Writer) Flush() error {
	if x.err != nil {
		return x.err
	}
	return x.w.Flush()
}

// Advance moves the clock on by dt ns.
func (x *Writer) Advance(dt int64) { x.now += dt }

// Addr returns the IPv4 address 10.a.b.c for client number i.
func Addr(i int) [4]byte { return [4]byte{10, byte(i >> 16), byte(i >> 8), byte(i)} }

// Server is the NFS server's address.
var Server = [4]byte{192, 168, 0, 1}

// TCP flags.
const (
	FIN = 0x01
	SYN = 0x02
	RST = 0x04
	PSH = 0x08
	ACK = 0x10
)

// TCP writes one segment between client cli:cport and the server's port
// 2049, in the direction toServer.
func (x *Writer) TCP(cli [4]byte, cport uint16, toServer bool, seq, ack uint32, flags uint8, win uint16, payload []byte) {
	b := x.ipHeader(cli, toServer, 6, 20+len(payload), 0, false)
	t := len(b)
	b = append(b, make([]byte, 20)...)
	be := binary.BigEndian
	sp, dp := cport, uint16(2049)
	if !toServer {
		sp, dp = dp, sp
	}
	be.PutUint16(b[t:], sp)
	be.PutUint16(b[t+2:], dp)
	be.PutUint32(b[t+4:], seq)
	be.PutUint32(b[t+8:], ack)
	b[t+12] = 5 << 4
	b[t+13] = flags
	be.PutUint16(b[t+14:], win)
	b = append(b, payload...)
	x.frame(b)
}

// UDPFragment writes one IPv4 fragment of a UDP datagram from the client
// to the server's port 2049: off is its offset in bytes (a multiple of 8),
// more whether fragments follow, data its bytes (the UDP header included
// in the first).
func (x *Writer) UDPFragment(cli [4]byte, id uint16, off int, more bool, data []byte) {
	b := x.ipHeader(cli, true, 17, len(data), id, more)
	be := binary.BigEndian
	be.PutUint16(b[14+6:], be.Uint16(b[14+6:])|uint16(off/8))
	ipChecksum(b[14:34])
	b = append(b, data...)
	x.frame(b)
}

func (x *Writer) ipHeader(cli [4]byte, toServer bool, proto byte, n int, id uint16, more bool) []byte {
	b := x.buf[:0]
	b = append(b, 2, 0, 0, 0, 0, 2, 2, 0, 0, 0, 0, 1, 8, 0)
	ip := len(b)
	b = append(b, make([]byte, 20)...)
	be := binary.BigEndian
	b[ip] = 0x45
	be.PutUint16(b[ip+2:], uint16(20+n))
	be.PutUint16(b[ip+4:], id)
	if more {
		b[ip+6] = 0x20
	}
	b[ip+8] = 64
	b[ip+9] = proto
	src, dst := cli, Server
	if !toServer {
		src, dst = dst, src
	}
	copy(b[ip+12:], src[:])
	copy(b[ip+16:], dst[:])
	ipChecksum(b[ip : ip+20])
	return b
}

func ipChecksum(h []byte) {
	h[10], h[11] = 0, 0
	var s uint32
	for i := 0; i < len(h); i += 2 {
		s += uint32(h[i])<<8 | uint32(h[i+1])
	}
	for s > 0xffff {
		s = s&0xffff + s>>16
	}
	binary.BigEndian.PutUint16(h[10:], ^uint16(s))
}

func (x *Writer) frame(b []byte) {
	if x.err != nil {
		return
	}
	var rec [16]byte
	le := binary.LittleEndian
	le.PutUint32(rec[0:], uint32(x.now/1e9))
	le.PutUint32(rec[4:], uint32(x.now%1e9))
	le.PutUint32(rec[8:], uint32(len(b)))
	le.PutUint32(rec[12:], uint32(len(b)))
	x.w.Write(rec[:])
	_, x.err = x.w.Write(b)
	x.buf = b[:0]
}

// Handshake writes a SYN, SYN-ACK and ACK: the client's first byte is
// then at sequence 1001, the server's at 5001.
func (x *Writer) Handshake(cli [4]byte, cport uint16) {
	x.TCP(cli, cport, true, 1000, 0, SYN, 65535, nil)
	x.TCP(cli, cport, false, 5000, 1001, SYN|ACK, 65535, nil)
	x.TCP(cli, cport, true, 1001, 5001, ACK, 65535, nil)
}

// client returns the address and port of connection i: a new address for
// each, so that no two connections share a client and server pair.
func client(i int) ([4]byte, uint16) { return Addr(i), uint16(20000 + i%40000) }

// SynRst: n connections, each a SYN and a RST.
func SynRst(w io.Writer, n int) error {
	x := NewWriter(w)
	for i := range n {
		cli, port := client(i)
		x.Advance(10e3)
		x.TCP(cli, port, true, 1000, 0, SYN, 65535, nil)
		x.TCP(cli, port, false, 0, 1001, RST|ACK, 0, nil)
	}
	return x.Flush()
}

// Short: n connections, each a handshake, a READ call of 512 bytes, its
// reply (ACKed) and the client's RST, 1 ms apart.
func Short(w io.Writer, n int) error {
	x := NewWriter(w)
	fh := make([]byte, 32)
	var call, reply []byte
	for i := range n {
		cli, port := client(i)
		x.Advance(1e6)
		x.Handshake(cli, port)
		call = gencap.AppendReadCall(call[:0], uint32(i+1), 0, fh, 0, 512)
		x.TCP(cli, port, true, 1001, 5001, ACK|PSH, 65535, call)
		reply = gencap.AppendReadReply(reply[:0], uint32(i+1), 512, true, uint64(i), 0)
		reply = append(reply, make([]byte, 512)...)
		x.Advance(100e3)
		x.TCP(cli, port, false, 5001, 1001+uint32(len(call)), ACK|PSH, 65535, reply)
		x.TCP(cli, port, true, 1001+uint32(len(call)), 5001+uint32(len(reply)), ACK, 65535, nil)
		x.TCP(cli, port, true, 1001+uint32(len(call)), 0, RST, 0, nil)
	}
	return x.Flush()
}

// NeverClosed: n connections, each a handshake and a READ call that the
// server ACKs and never answers, 10 ms apart.
func NeverClosed(w io.Writer, n int) error {
	x := NewWriter(w)
	fh := make([]byte, 32)
	var call []byte
	for i := range n {
		cli, port := client(i)
		x.Advance(10e6)
		x.Handshake(cli, port)
		call = gencap.AppendReadCall(call[:0], uint32(i+1), 0, fh, 0, 4096)
		x.TCP(cli, port, true, 1001, 5001, ACK|PSH, 65535, call)
		x.TCP(cli, port, false, 5001, 1001+uint32(len(call)), ACK, 65535, nil)
	}
	return x.Flush()
}

// Unacked: n connections, each 4,096 new 1-byte segments each way that
// the peer never ACKs.
func Unacked(w io.Writer, n int) error {
	x := NewWriter(w)
	one := []byte{0}
	for i := range n {
		cli, port := client(i)
		x.Advance(1e6)
		x.Handshake(cli, port)
		for j := range uint32(4096) {
			x.Advance(1e3)
			x.TCP(cli, port, true, 1001+j, 5001, ACK, 65535, one)
			x.TCP(cli, port, false, 5001+j, 1001, ACK, 65535, one)
		}
	}
	return x.Flush()
}

// OOOChurn: 8 connections; n rounds of a hole of one byte on each, then
// out-of-order segments behind the holes, interleaved across the
// connections (60 KB ones on even rounds, 100-byte ones on odd ones, up to
// 3 MiB per connection), then the bytes that fill the holes.
func OOOChurn(w io.Writer, n int) error {
	x := NewWriter(w)
	next := make([]uint32, 8)
	for c := range next {
		cli, port := client(c)
		x.Handshake(cli, port)
		next[c] = 1001
	}
	big := make([]byte, 60000)
	small := make([]byte, 100)
	seq := make([]uint32, len(next))
	for r := range n {
		p, count := big, 52
		if r%2 == 1 {
			p, count = small, 1500
		}
		for c := range next {
			seq[c] = next[c] + 1
		}
		for range count {
			for c := range next {
				cli, port := client(c)
				x.Advance(1e3)
				x.TCP(cli, port, true, seq[c], 5001, ACK, 65535, p)
				seq[c] += uint32(len(p))
			}
		}
		for c := range next {
			cli, port := client(c)
			x.TCP(cli, port, true, next[c], 5001, ACK, 65535, []byte{0})
			x.TCP(cli, port, false, 5001, seq[c], ACK, 65535, nil)
			next[c] = seq[c]
		}
	}
	return x.Flush()
}

// Combined: n connections carrying 65,536 READ calls among them that are
// never answered, then every reassembly queue filled (out-of-order 60 KB
// segments behind a hole on 8 more connections), then 8 MiB of IP
// fragments of UDP datagrams that never complete.
func Combined(w io.Writer, n int) error {
	x := NewWriter(w)
	fh := make([]byte, 32)
	var call []byte
	calls := 65536
	per := (calls + n - 1) / n
	xid := uint32(0)
	for i := range n {
		cli, port := client(i)
		x.Advance(10e3)
		x.Handshake(cli, port)
		seq := uint32(1001)
		for range per {
			if int(xid) >= calls {
				break
			}
			xid++
			call = gencap.AppendReadCall(call[:0], xid, 0, fh, 0, 4096)
			x.TCP(cli, port, true, seq, 5001, ACK|PSH, 65535, call)
			seq += uint32(len(call))
		}
	}
	big := make([]byte, 60000)
	for c := range 8 {
		cli, port := client(n + c)
		x.Handshake(cli, port)
		seq := uint32(1002)
		for range 70 {
			x.Advance(1e3)
			x.TCP(cli, port, true, seq, 5001, ACK, 65535, big)
			seq += uint32(len(big))
		}
	}
	// Fragments: 1,024 datagrams of 8 KiB each, the last fragment never sent.
	frag := make([]byte, 1480)
	copy(frag, []byte{0x03, 0x00, 0x08, 0x01, 0x22, 0x00, 0, 0}) // UDP 768 -> 2049
	for d := range 1024 {
		for off := 0; off < 8192; off += len(frag) {
			x.Advance(1e3)
			x.UDPFragment(Addr(d), uint16(d), off, true, frag)
		}
	}
	return x.Flush()
}

// Write writes the shape called name at scale n (0: its default).
func Write(w io.Writer, name string, n int) error {
	for _, s := range Shapes {
		if s.Name == name {
			if n <= 0 {
				n = s.Default
			}
			return s.Write(w, n)
		}
	}
	return fmt.Errorf("no shape %q", name)
}
