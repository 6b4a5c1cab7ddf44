// Package advcap writes adversarial capture files: shapes a hostile or
// broken capture may take to cost memory or time out of proportion to its
// size on disk (one huge record, a flood of pcapng interfaces, interface
// and packet blocks interleaved, many rotated files). bench/adversarial.sh
// and the capture readers' tests use them; every writer streams, so a
// 100 MB record costs no memory to write.
package advcap

import (
	"bufio"
	"compress/gzip"
	"encoding/binary"
	"fmt"
	"io"
	"os"
	"path/filepath"
)

// frame is an Ethernet, IPv4 and TCP header (no options) from
// 10.0.0.1:700 to 10.0.0.2:2049, ACK|PSH, as the start of every packet.
var frame = func() []byte {
	b := make([]byte, 54)
	copy(b[0:], []byte{2, 0, 0, 0, 0, 2, 2, 0, 0, 0, 0, 1, 0x08, 0x00})
	ip := b[14:34]
	ip[0], ip[8], ip[9] = 0x45, 64, 6
	binary.BigEndian.PutUint16(ip[2:], 40)
	copy(ip[12:], []byte{10, 0, 0, 1, 10, 0, 0, 2})
	tcp := b[34:54]
	binary.BigEndian.PutUint16(tcp[0:], 700)
	binary.BigEndian.PutUint16(tcp[2:], 2049)
	binary.BigEndian.PutUint32(tcp[4:], 1)
	binary.BigEndian.PutUint32(tcp[8:], 1)
	tcp[12], tcp[13] = 5<<4, 0x18
	binary.BigEndian.PutUint16(tcp[14:], 65535)
	return b
}()

// Frame returns the 54-byte Ethernet/IPv4/TCP header every packet starts
// with (a copy).
func Frame() []byte { return append([]byte(nil), frame...) }

var le = binary.LittleEndian

// PcapHeader writes a pcap (µs, little-endian, Ethernet) file header.
func PcapHeader(w io.Writer, snaplen uint32) error {
	h := make([]byte, 24)
	le.PutUint32(h, 0xa1b2c3d4)
	le.PutUint16(h[4:], 2)
	le.PutUint16(h[6:], 4)
	le.PutUint32(h[16:], snaplen)
	le.PutUint32(h[20:], 1)
	_, err := w.Write(h)
	return err
}

// PcapRecord writes one pcap record at time ts (µs since the epoch) of
// size captured bytes: the TCP frame header, then zeros.
func PcapRecord(w io.Writer, ts int64, size int64) error {
	h := make([]byte, 16)
	le.PutUint32(h, uint32(ts/1e6))
	le.PutUint32(h[4:], uint32(ts%1e6))
	le.PutUint32(h[8:], uint32(size))
	le.PutUint32(h[12:], uint32(size))
	if _, err := w.Write(h); err != nil {
		return err
	}
	return body(w, size)
}

// body writes size bytes of a packet: the frame header (cut if size is
// smaller), then zeros, streamed.
func body(w io.Writer, size int64) error {
	n := min(size, int64(len(frame)))
	if _, err := w.Write(frame[:n]); err != nil {
		return err
	}
	_, err := io.CopyN(w, zeros{}, size-n)
	return err
}

type zeros struct{}

func (zeros) Read(p []byte) (int, error) {
	clear(p)
	return len(p), nil
}

// BigPcap writes a pcap file whose header claims snaplen 0xffffffff and
// which holds one record of size bytes.
func BigPcap(w io.Writer, size int64) error {
	if err := PcapHeader(w, 0xffffffff); err != nil {
		return err
	}
	return PcapRecord(w, 1.7e15, size)
}

// NgWriter writes pcapng blocks, little-endian.
type NgWriter struct {
	W   io.Writer
	Err error
}

func (n *NgWriter) block(typ uint32, fixed []byte, data int64) {
	if n.Err != nil {
		return
	}
	pad := (4 - data%4) % 4
	total := 12 + int64(len(fixed)) + data + pad
	h := make([]byte, 8, 8+len(fixed))
	le.PutUint32(h, typ)
	le.PutUint32(h[4:], uint32(total))
	h = append(h, fixed...)
	if _, n.Err = n.W.Write(h); n.Err != nil {
		return
	}
	if data > 0 {
		if n.Err = body(n.W, data); n.Err != nil {
			return
		}
	}
	t := make([]byte, 4+pad)
	le.PutUint32(t[pad:], uint32(total))
	_, n.Err = n.W.Write(t)
}

// Section writes a section header block.
func (n *NgWriter) Section() {
	b := make([]byte, 16)
	le.PutUint32(b, 0x1a2b3c4d)
	le.PutUint16(b[4:], 1)
	le.PutUint64(b[8:], ^uint64(0))
	n.block(0x0a0d0d0a, b, 0)
}

// Interface writes an interface description block (Ethernet).
func (n *NgWriter) Interface(snaplen uint32) {
	b := make([]byte, 8)
	le.PutUint16(b, 1)
	le.PutUint32(b[4:], snaplen)
	n.block(1, b, 0)
}

// Packet writes an enhanced packet block of size captured bytes on
// interface id at ts µs.
func (n *NgWriter) Packet(id uint32, ts int64, size int64) {
	b := make([]byte, 20)
	le.PutUint32(b, id)
	le.PutUint32(b[4:], uint32(uint64(ts)>>32))
	le.PutUint32(b[8:], uint32(ts))
	le.PutUint32(b[12:], uint32(size))
	le.PutUint32(b[16:], uint32(size))
	n.block(6, b, size)
}

// Block writes a block of type typ with size bytes of body (the packet
// frame header, then zeros): a block of a kind readers pass over, or one
// they read.
func (n *NgWriter) Block(typ uint32, size int64) { n.block(typ, nil, size) }

// BigBlock writes a pcapng file with one interface, a packet, a custom
// block (type 0x40000BAD, copied) of size bytes and another packet.
func BigBlock(w io.Writer, size int64) error {
	n := &NgWriter{W: w}
	n.Section()
	n.Interface(262144)
	n.Packet(0, 1.7e15, 60)
	n.Block(0x40000BAD, size)
	n.Packet(0, 1.7e15+1000, 60)
	return n.Err
}

// BigPcapng writes a pcapng file with one interface of snaplen 0 (no
// limit) and one packet of size bytes.
func BigPcapng(w io.Writer, size int64) error {
	n := &NgWriter{W: w}
	n.Section()
	n.Interface(0)
	n.Packet(0, 1.7e15, size)
	return n.Err
}

// Interfaces writes a pcapng file with count interfaces and then one
// packet on the first.
func Interfaces(w io.Writer, count int) error {
	n := &NgWriter{W: bufio.NewWriter(w)}
	n.Section()
	for range count {
		n.Interface(262144)
	}
	n.Packet(0, 1.7e15, 60)
	if n.Err != nil {
		return n.Err
	}
	return n.W.(*bufio.Writer).Flush()
}

// Interleaved writes a pcapng file of pairs interface and packet blocks,
// each packet on the interface described just before it.
func Interleaved(w io.Writer, pairs int) error {
	n := &NgWriter{W: bufio.NewWriter(w)}
	n.Section()
	for i := range pairs {
		n.Interface(262144)
		n.Packet(uint32(i), 1.7e15+int64(i)*1000, 60)
	}
	if n.Err != nil {
		return n.Err
	}
	return n.W.(*bufio.Writer).Flush()
}

// Rotated writes files pcap files named rot-NNNN.pcap into dir, as
// tcpdump -C rotates them: each holds packets packets 1 ms apart, each
// file's after the one before it; overlap makes every file span the same
// time instead (captures from many interfaces at once); gz gzips each
// (rot-NNNN.pcap.gz). It returns their paths.
func Rotated(dir string, files, packets int, overlap, gz bool) ([]string, error) {
	var paths []string
	for i := range files {
		p := filepath.Join(dir, fmt.Sprintf("rot-%04d.pcap", i))
		if gz {
			p += ".gz"
		}
		f, err := os.Create(p)
		if err != nil {
			return nil, err
		}
		var zw *gzip.Writer
		w := bufio.NewWriter(f)
		if gz {
			zw = gzip.NewWriter(f)
			w = bufio.NewWriter(zw)
		}
		err = PcapHeader(w, 262144)
		start := int64(1.7e15) + int64(i*packets)*1000
		if overlap {
			start = 1.7e15 + int64(i)
		}
		for j := 0; j < packets && err == nil; j++ {
			err = PcapRecord(w, start+int64(j)*1000, 1000)
		}
		if err == nil {
			err = w.Flush()
		}
		if err == nil && zw != nil {
			err = zw.Close()
		}
		if cerr := f.Close(); err == nil {
			err = cerr
		}
		if err != nil {
			return nil, err
		}
		paths = append(paths, p)
	}
	return paths, nil
}

// Stats writes a pcapng file with count interfaces, then an interface
// statistics block for each (with an isb_ifdrop option), then one packet.
func Stats(w io.Writer, count int) error {
	n := &NgWriter{W: bufio.NewWriter(w)}
	n.Section()
	for range count {
		n.Interface(262144)
	}
	for i := range count {
		b := make([]byte, 12+12+4)
		le.PutUint32(b, uint32(i))
		le.PutUint16(b[12:], 5) // isb_ifdrop
		le.PutUint16(b[14:], 8)
		le.PutUint64(b[16:], 1)
		n.block(5, b, 0)
	}
	n.Packet(0, 1.7e15, 60)
	if n.Err != nil {
		return n.Err
	}
	return n.W.(*bufio.Writer).Flush()
}

// LinkTypes writes a pcapng file with count interfaces, each of a link
// type of its own (count at most 65,536), then a packet on each.
func LinkTypes(w io.Writer, count int) error {
	n := &NgWriter{W: bufio.NewWriter(w)}
	n.Section()
	for i := range count {
		b := make([]byte, 8)
		le.PutUint16(b, uint16(i))
		le.PutUint32(b[4:], 262144)
		n.block(1, b, 0)
	}
	for i := range count {
		n.Packet(uint32(i), 1.7e15+int64(i), 60)
	}
	if n.Err != nil {
		return n.Err
	}
	return n.W.(*bufio.Writer).Flush()
}
