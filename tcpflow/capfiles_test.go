package tcpflow

// Hand-built capture files for the tests of capread_test.go: copies of
// the writers in capture's tests (test helpers are not importable), with
// the pcapng block types and option codes they write.

import (
	"bytes"
	"encoding/binary"
	"io"
	"testing"

	"github.com/gopacket/gopacket/layers"

	"nfsstall/capture"
)

// pcapng block types and option codes (draft-ietf-opsawg-pcapng).
const (
	ngSHB = 0x0a0d0d0a
	ngIDB = 1
	ngEPB = 6
	ngISB = 5

	optTSResol   = 9
	optTSOffset  = 14
	optISBIfDrop = 5
	optISBOsDrop = 7
)

// pcapRecords builds a pcap 2.4 file (µs, Ethernet) in the given byte
// order with the given magic; each record's captured length is its data's
// length, its original length wire[i], and extra bytes of per-record
// fields follow the standard 16-byte header.
func pcapRecords(magic uint32, order binary.ByteOrder, extra int, pkts [][]byte, wire []int) []byte {
	var b bytes.Buffer
	h := make([]byte, 24)
	order.PutUint32(h, magic)
	order.PutUint16(h[4:], 2)
	order.PutUint16(h[6:], 4)
	order.PutUint32(h[16:], 65535)
	order.PutUint32(h[20:], uint32(layers.LinkTypeEthernet))
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

func readAll(t *testing.T, name string, file []byte) (*capture.File, []capture.Packet) {
	t.Helper()
	f, err := capture.Open("-", bytes.NewReader(file))
	if err != nil {
		t.Fatalf("%s: %v", name, err)
	}
	var out []capture.Packet
	for {
		var p capture.Packet
		if err := f.Next(&p); err == io.EOF {
			break
		} else if err != nil {
			t.Fatalf("%s: %v", name, err)
		}
		p.Data = bytes.Clone(p.Data)
		out = append(out, p)
	}
	return f, out
}

// pcapAt builds a nanosecond pcap file of copies of frame at the given
// times (ns since the epoch).
func pcapAt(frame []byte, times []int64) []byte {
	be := binary.BigEndian
	out := be.AppendUint32(nil, 0xa1b23c4d)
	out = be.AppendUint16(be.AppendUint16(out, 2), 4)
	out = be.AppendUint32(be.AppendUint32(be.AppendUint32(be.AppendUint32(out, 0), 0), 65535), uint32(layers.LinkTypeEthernet))
	for _, t := range times {
		out = be.AppendUint32(be.AppendUint32(out, uint32(t/1e9)), uint32(t%1e9))
		out = be.AppendUint32(be.AppendUint32(out, uint32(len(frame))), uint32(len(frame)))
		out = append(out, frame...)
	}
	return out
}

// ngWriter hand-builds pcapng blocks in a chosen byte order per section.
type ngWriter struct {
	b     bytes.Buffer
	order binary.ByteOrder
}

// opt is one option: code and value (padded when written).
type opt struct {
	code uint16
	v    []byte
}

func (w *ngWriter) block(typ uint32, body []byte, opts ...opt) {
	for _, o := range opts {
		h := make([]byte, 4)
		w.order.PutUint16(h, o.code)
		w.order.PutUint16(h[2:], uint16(len(o.v)))
		body = append(append(body, h...), o.v...)
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
	w.order.PutUint32(h, typ)
	w.order.PutUint32(h[4:], n)
	w.b.Write(h)
	w.b.Write(body)
	t := make([]byte, 4)
	w.order.PutUint32(t, n)
	w.b.Write(t)
}

func (w *ngWriter) section(order binary.ByteOrder) {
	w.order = order
	body := make([]byte, 16)
	order.PutUint32(body, 0x1a2b3c4d)
	order.PutUint16(body[4:], 1)
	order.PutUint64(body[8:], 1<<64-1) // section length unknown
	w.block(ngSHB, body)
}

func (w *ngWriter) iface(link layers.LinkType, opts ...opt) {
	body := make([]byte, 8)
	w.order.PutUint16(body, uint16(link))
	w.order.PutUint32(body[4:], 262144)
	w.block(ngIDB, body, opts...)
}

func (w *ngWriter) packet(id uint32, ts uint64, data []byte) {
	body := make([]byte, 20)
	w.order.PutUint32(body, id)
	w.order.PutUint32(body[4:], uint32(ts>>32))
	w.order.PutUint32(body[8:], uint32(ts))
	w.order.PutUint32(body[12:], uint32(len(data)))
	w.order.PutUint32(body[16:], uint32(len(data)))
	w.block(ngEPB, append(body, data...))
}

func (w *ngWriter) stats(id uint32, opts ...opt) {
	body := make([]byte, 12)
	w.order.PutUint32(body, id)
	w.block(ngISB, body, opts...)
}

func (w *ngWriter) u64(v uint64) []byte {
	b := make([]byte, 8)
	w.order.PutUint64(b, v)
	return b
}
