// Package capfile hand-builds small capture files for tests: pcap files
// with chosen magic, byte order and record headers, and pcapng files block
// by block with chosen options. The capture and tcpflow tests share it
// (test helpers of one package cannot be imported by another's tests).
package capfile

import (
	"bytes"
	"encoding/binary"
)

// pcapng block types and option codes (draft-ietf-opsawg-pcapng).
const (
	BlockSHB = 0x0a0d0d0a
	BlockIDB = 1
	BlockISB = 5
	BlockEPB = 6

	OptTSResol   = 9
	OptTSOffset  = 14
	OptISBEnd    = 3
	OptISBIfDrop = 5
	OptISBOsDrop = 7
)

// linkEthernet is DLT_EN10MB.
const linkEthernet = 1

// NgWriter hand-builds pcapng blocks in a chosen byte order per section.
type NgWriter struct {
	B     bytes.Buffer
	Order binary.ByteOrder
}

// Opt is one option: code and value (padded when written).
type Opt struct {
	Code uint16
	V    []byte
}

// Block writes one block of type typ with the given body and options.
func (w *NgWriter) Block(typ uint32, body []byte, opts ...Opt) {
	for _, o := range opts {
		h := make([]byte, 4)
		w.Order.PutUint16(h, o.Code)
		w.Order.PutUint16(h[2:], uint16(len(o.V)))
		body = append(append(body, h...), o.V...)
		for len(body)%4 != 0 {
			body = append(body, 0)
		}
	}
	if len(opts) > 0 {
		body = append(body, 0, 0, 0, 0) // opt_endofopt
	}
	for len(body)%4 != 0 {
		body = append(body, 0)
	}
	n := uint32(12 + len(body))
	h := make([]byte, 8)
	w.Order.PutUint32(h, typ)
	w.Order.PutUint32(h[4:], n)
	w.B.Write(h)
	w.B.Write(body)
	t := make([]byte, 4)
	w.Order.PutUint32(t, n)
	w.B.Write(t)
}

// Section starts a section in byte order order.
func (w *NgWriter) Section(order binary.ByteOrder) {
	w.Order = order
	body := make([]byte, 16)
	order.PutUint32(body, 0x1a2b3c4d)
	order.PutUint16(body[4:], 1)
	order.PutUint64(body[8:], 1<<64-1) // section length unknown
	w.Block(BlockSHB, body)
}

// Iface adds an interface of link type link (snaplen 262144).
func (w *NgWriter) Iface(link uint16, opts ...Opt) {
	body := make([]byte, 8)
	w.Order.PutUint16(body, link)
	w.Order.PutUint32(body[4:], 262144)
	w.Block(BlockIDB, body, opts...)
}

// Packet adds an enhanced packet block on interface id at ts (in the
// interface's time units).
func (w *NgWriter) Packet(id uint32, ts uint64, data []byte) {
	body := make([]byte, 20)
	w.Order.PutUint32(body, id)
	w.Order.PutUint32(body[4:], uint32(ts>>32))
	w.Order.PutUint32(body[8:], uint32(ts))
	w.Order.PutUint32(body[12:], uint32(len(data)))
	w.Order.PutUint32(body[16:], uint32(len(data)))
	w.Block(BlockEPB, append(body, data...))
}

// Stats adds an interface statistics block for interface id.
func (w *NgWriter) Stats(id uint32, opts ...Opt) {
	body := make([]byte, 12)
	w.Order.PutUint32(body, id)
	w.Block(BlockISB, body, opts...)
}

// U64 encodes v in the section's byte order.
func (w *NgWriter) U64(v uint64) []byte {
	b := make([]byte, 8)
	w.Order.PutUint64(b, v)
	return b
}

// PcapRecords builds a pcap 2.4 file (µs, Ethernet) in the given byte
// order with the given magic; each record's captured length is its data's
// length, its original length wire[i], and extra bytes of per-record
// fields follow the standard 16-byte header.
func PcapRecords(magic uint32, order binary.ByteOrder, extra int, pkts [][]byte, wire []int) []byte {
	var b bytes.Buffer
	h := make([]byte, 24)
	order.PutUint32(h, magic)
	order.PutUint16(h[4:], 2)
	order.PutUint16(h[6:], 4)
	order.PutUint32(h[16:], 65535)
	order.PutUint32(h[20:], linkEthernet)
	b.Write(h)
	for i, p := range pkts {
		r := make([]byte, 16+extra)
		order.PutUint32(r, uint32(1000+i))
		order.PutUint32(r[4:], 7)
		order.PutUint32(r[8:], uint32(len(p)))
		order.PutUint32(r[12:], uint32(wire[i]))
		if extra >= 8 { // ifindex, protocol, packet type, then padding not guaranteed zero
			order.PutUint32(r[16:], 2)
			order.PutUint16(r[20:], 0x0800)
			for j := 23; j < len(r); j++ {
				r[j] = 0xee
			}
		}
		b.Write(r)
		b.Write(p)
	}
	return b.Bytes()
}

// PcapAt builds a nanosecond pcap file of copies of frame at the given
// times (ns since the epoch).
func PcapAt(frame []byte, times []int64) []byte {
	be := binary.BigEndian
	out := be.AppendUint32(nil, 0xa1b23c4d)
	out = be.AppendUint16(be.AppendUint16(out, 2), 4)
	out = be.AppendUint32(be.AppendUint32(be.AppendUint32(be.AppendUint32(out, 0), 0), 65535), linkEthernet)
	for _, t := range times {
		out = be.AppendUint32(be.AppendUint32(out, uint32(t/1e9)), uint32(t%1e9))
		out = be.AppendUint32(be.AppendUint32(out, uint32(len(frame))), uint32(len(frame)))
		out = append(out, frame...)
	}
	return out
}
