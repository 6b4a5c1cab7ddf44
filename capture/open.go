package capture

// Opening a capture file: gzip or not, pcap (old versions fixed up) or
// pcapng, told apart by the first bytes, with read buffers pooled across
// files. Reading its records is in capture.go.

import (
	"bufio"
	"bytes"
	"compress/gzip"
	"encoding/binary"
	"fmt"
	"io"
	"os"
	"slices"

	"github.com/gopacket/gopacket/layers"
	"github.com/gopacket/gopacket/pcapgo"
)

// reader returns a read buffer of size bytes over r.
func (f *File) reader(r io.Reader, size int) *bufio.Reader {
	b := f.pool.get(r, size)
	for i := range f.made {
		if f.made[i] == nil {
			f.made[i] = b
			break
		}
	}
	return b
}

// bufPool keeps the read buffers of files read to their end for the files
// opened after them (rotated files: one or two open at a time, each a
// read buffer of 256 KiB). It keeps at most maxPooled, of the sizes asked
// for: a file that ends gives its buffers to the next.
type bufPool struct {
	free []*bufio.Reader
	gz   []*gzip.Reader // gzip readers, each with its window (32 KiB) and tables
}

// gzip returns a gzip reader of r, one of the pool's if it has one.
func (p *bufPool) gzip(r *bufio.Reader) (*gzip.Reader, error) {
	if p == nil || len(p.gz) == 0 {
		return gzip.NewReader(r)
	}
	zr := p.gz[len(p.gz)-1]
	p.gz = p.gz[:len(p.gz)-1]
	if err := zr.Reset(r); err != nil {
		return nil, err // a header that does not start: dropped with the file
	}
	return zr, nil
}

const maxPooled = 8

func (p *bufPool) get(r io.Reader, size int) *bufio.Reader {
	if p != nil {
		for i, b := range p.free {
			if b.Size() == size {
				p.free = slices.Delete(p.free, i, i+1)
				b.Reset(r)
				return b
			}
		}
	}
	return bufio.NewReaderSize(r, size)
}

func (p *bufPool) put(b *bufio.Reader) {
	if p == nil || b == nil || len(p.free) >= maxPooled {
		return
	}
	b.Reset(nil) // lets go of the file
	p.free = append(p.free, b)
}

// rawCounter counts the bytes read from the file itself (compressed bytes
// for a gzip file), for a progress line.
type rawCounter struct {
	io.ReadCloser
	n int64
}

func (r *rawCounter) Read(p []byte) (int, error) {
	n, err := r.ReadCloser.Read(p)
	r.n += int64(n)
	return n, err
}

// Open opens a capture file ("-" reads stdin), detecting gzip and the
// capture format by their magic numbers, never by the file name.
func Open(path string, stdin io.Reader) (*File, error) {
	return openSized(path, stdin, readBufSize, nil)
}

// openSized is Open with read buffers of bufSize bytes, taken from pool
// when it has some (pool may be nil).
func openSized(path string, stdin io.Reader, bufSize int, pool *bufPool) (*File, error) {
	var rc io.ReadCloser
	var size int64
	if path == "-" {
		rc = io.NopCloser(stdin)
	} else {
		f, err := os.Open(path)
		if err != nil {
			return nil, err
		}
		if st, err := f.Stat(); err == nil && st.Mode().IsRegular() {
			size = st.Size()
		}
		rc = f
	}
	raw := &rawCounter{ReadCloser: rc}
	f, err := newFile(path, raw, bufSize, pool)
	if err != nil {
		rc.Close()
		return nil, err
	}
	f.raw, f.size = raw, size
	return f, nil
}

func newFile(path string, rc io.ReadCloser, size int, pool *bufPool) (*File, error) {
	cf := &File{Info: CaptureInfo{Path: path}, closer: rc, pool: pool}
	cf.cr = &countingReader{r: rc}
	// The first bytes say whether the file is compressed before a read
	// buffer is made: the compressed bytes need only a small one.
	var head [6]byte
	n, err := io.ReadFull(cf.cr, head[:])
	if err != nil && err != io.EOF && err != io.ErrUnexpectedEOF {
		return nil, fmt.Errorf("%s: reading the capture header: %w", path, err)
	}
	src := io.MultiReader(bytes.NewReader(head[:n]), cf.cr)
	var br *bufio.Reader
	if kind := compression(head[:n]); kind != "" {
		small := cf.reader(src, min(max(size/16, 4<<10), 64<<10))
		var zr io.Reader
		if kind == "gzip" {
			gz, err := cf.pool.gzip(small)
			if err != nil {
				return nil, fmt.Errorf("%s: gzip: %w", path, err)
			}
			cf.zr, zr = gz, gz
		} else {
			d, err := decompressor(kind, small)
			if err != nil {
				return nil, fmt.Errorf("%s: %s: %w", path, kind, err)
			}
			cf.unz, zr = d, d
		}
		cf.cr = &countingReader{r: zr} // offsets are in the uncompressed stream
		br = cf.reader(cf.cr, size)
		cf.Info.Compressed, cf.Info.Compression = true, kind
	} else {
		br = cf.reader(src, size)
	}
	cf.buf = br
	magic, err := br.Peek(8)
	if len(magic) < 4 {
		if err == nil || err == io.EOF {
			return nil, fmt.Errorf("%s: %w (file has only %d bytes)", path, ErrNotCapture, len(magic))
		}
		return nil, fmt.Errorf("%s: reading the capture header: %w", path, err)
	}
	switch m := binary.BigEndian.Uint32(magic); m {
	case 0xa1b2c3d4, 0xd4c3b2a1, 0xa1b23c4d, 0x4d3cb2a1:
		src := br
		if hdr, _ := br.Peek(24); len(hdr) == 24 {
			if cf.old = newOldPcap(br, hdr); cf.old != nil {
				cf.buf2 = cf.reader(cf.old, smallBufSize)
				src = cf.buf2
			}
		}
		// pcapgo reads the file header only: given the buffer itself, it
		// would put one of its own (4 KiB) in front of a smaller one.
		hdr, _ := src.Peek(24)
		r, err := pcapgo.NewReader(bytes.NewReader(hdr))
		if err != nil {
			return nil, fmt.Errorf("%s: pcap header: %w", path, err)
		}
		src.Discard(len(hdr))
		cf.Info.Format = "pcap"
		cf.link = r.LinkType()
		cf.Info.LinkTypes = []layers.LinkType{cf.link}
		cf.Info.Snaplen = r.Snaplen()
		fast := newPcapFast(src, r, m)
		fast.cuts = &cf.Info.CutRecords
		cf.pr, cf.fast = fast, fast
	case magicModified, magicModifiedSwapped:
		r, link, err := newModifiedPcap(br)
		if err != nil {
			return nil, fmt.Errorf("%s: modified pcap header: %w", path, err)
		}
		cf.Info.Format = "pcap"
		cf.link = link
		cf.Info.LinkTypes = []layers.LinkType{link}
		cf.Info.Snaplen = r.snaplen
		r.cuts = &cf.Info.CutRecords
		cf.pr, cf.fast = r, r
	case 0x0a0d0d0a:
		cf.Info.Format = "pcapng"
		r, err := newPcapngReader(br, &cf.Info)
		if err != nil {
			return nil, fmt.Errorf("%s: pcapng header: %w", path, err)
		}
		cf.ng = r
		cf.pr = r
	default:
		if len(magic) == 8 && string(magic) == "snoop\x00\x00\x00" {
			return nil, fmt.Errorf("%s: Sun snoop capture: not read by nfsstall; convert it with `editcap -F pcap %s out.pcap`", path, path)
		}
		return nil, fmt.Errorf("%s: %w (starts with 0x%x)", path, ErrNotCapture, magic[:4])
	}
	return cf, nil
}

// Close closes the underlying file.
func (f *File) Close() error {
	if f.unz != nil {
		f.unz.Close() // a zstd decoder's goroutines
		f.unz = nil
	}
	if f.closer == nil {
		return nil
	}
	err := f.closer.Close()
	f.closer = nil
	return err
}

// release closes a file read to its end and lets go of its buffers; its
// Info and Position stay.
func (f *File) release() {
	f.Close()
	for i, b := range f.made {
		f.pool.put(b)
		f.made[i] = nil
	}
	if p := f.pool; p != nil && f.zr != nil && len(p.gz) < maxPooled {
		p.gz = append(p.gz, f.zr)
	}
	f.zr = nil
	f.cr, f.buf, f.old, f.buf2, f.pr, f.fast, f.ng = nil, nil, nil, nil, nil, nil, nil
	f.cur, f.q, f.nq, f.eof = slot{}, [2]slot{}, 0, true
}

// oldPcap lets pcapgo, which takes only pcap version 2.4, read files of
// versions 2.0 to 2.3 (SunOS and 1990s tcpdump; libpcap and Wireshark
// read them). It rewrites the header's minor version to 4 and, as libpcap
// does, swaps each record's captured and original lengths, which those
// versions wrote the other way round: always before 2.3, and in 2.3 when
// the captured length is the larger. Byte counts do not change, so record
// offsets stay those of the file.
type oldPcap struct {
	r      io.Reader
	order  binary.ByteOrder
	minor  uint16
	hdr    [24]byte // the file header, then each record header in turn
	hdrLen int      // bytes of hdr still to hand out
	hdrOff int
	body   int64 // bytes of the current record's data still to pass
	first  bool  // the file header has not been read yet
}

// newOldPcap returns nil when the header (its first 24 bytes) needs no
// rewriting: any version but 2.0 to 2.3.
func newOldPcap(r io.Reader, hdr []byte) *oldPcap {
	var order binary.ByteOrder = binary.BigEndian
	if m := binary.LittleEndian.Uint32(hdr); m == 0xa1b2c3d4 || m == 0xa1b23c4d {
		order = binary.LittleEndian
	}
	if order.Uint16(hdr[4:]) != 2 || order.Uint16(hdr[6:]) >= 4 {
		return nil
	}
	return &oldPcap{r: r, order: order, minor: order.Uint16(hdr[6:]), first: true}
}

func (o *oldPcap) Read(p []byte) (int, error) {
	if o.hdrLen == 0 && o.body == 0 {
		// At a header: read it whole, so it can be rewritten before any
		// of it is handed out.
		n := 16
		if o.first {
			n = 24
		}
		got, err := io.ReadFull(o.r, o.hdr[:n])
		if got < n {
			if got == 0 {
				return 0, err
			}
			n = copy(p, o.hdr[:got]) // a cut header: pass on what is there
			return n, io.ErrUnexpectedEOF
		}
		if o.first {
			o.order.PutUint16(o.hdr[6:], 4)
			o.first = false
		} else {
			caplen, length := o.order.Uint32(o.hdr[8:]), o.order.Uint32(o.hdr[12:])
			if o.minor < 3 || caplen > length {
				caplen, length = length, caplen
				o.order.PutUint32(o.hdr[8:], caplen)
				o.order.PutUint32(o.hdr[12:], length)
			}
			o.body = int64(caplen)
		}
		o.hdrLen, o.hdrOff = n, 0
	}
	if o.hdrLen > 0 {
		n := copy(p, o.hdr[o.hdrOff:o.hdrOff+o.hdrLen])
		o.hdrOff += n
		o.hdrLen -= n
		return n, nil
	}
	if int64(len(p)) > o.body {
		p = p[:o.body]
	}
	n, err := o.r.Read(p)
	o.body -= int64(n)
	return n, err
}
