package capture

import (
	"bufio"
	"bytes"
	"compress/gzip"
	"encoding/binary"
	"errors"
	"fmt"
	"io"
	"os"
	"slices"
	"time"

	"github.com/gopacket/gopacket"
	"github.com/gopacket/gopacket/layers"
	"github.com/gopacket/gopacket/pcapgo"
)

// ErrNotCapture is wrapped by Open when a file is neither pcap nor pcapng.
var ErrNotCapture = errors.New("not a pcap or pcapng file")

// readBufSize is large because pcapgo issues two small reads per packet; a
// big buffer turns them into memcpy (measured 3x over the 4 KiB default).
const readBufSize = 1 << 20

// MaxRecordData is the most bytes kept of one packet record: tcpdump's
// largest snaplen (MAXIMUM_SNAPLEN), more than any frame analysis needs.
// A record that claims more (a pcap snaplen of 0xffffffff, a pcapng
// interface with snaplen 0) is cut to it as a snaplen would cut it: the
// rest is passed over unread, never held, and the packet keeps its
// original length; CaptureInfo.CutRecords counts such records.
const MaxRecordData = 256 << 10

// CaptureInfo describes one input file as read so far.
type CaptureInfo struct {
	Path       string
	Format     string            // "pcap" or "pcapng"
	Compressed bool              // gzip
	LinkTypes  []layers.LinkType // distinct, in the order first seen (pcapng: over its interfaces and sections), the first MaxLinkTypesListed
	Snaplen    uint32
	Packets    int64
	First      int64  // ns since the Unix epoch of the first packet (0 if none)
	Last       int64  // ns of the last packet
	End        int64  // pcapng interface statistics end time, when later than Last
	Dropped    uint64 // packets the capturing interface said it dropped (pcapng); IfDrop when HasIfDrop
	// The pcapng interface statistics counters, summed over interfaces
	// (the latest block of each): isb_ifdrop, packets the interface
	// dropped, and isb_osdrop, packets the OS (the capture buffer) dropped.
	// Has* say whether any block carried them.
	IfDrop, OsDrop       uint64
	HasIfDrop, HasOsDrop bool
	// Truncated is set when the file ends inside a record (tcpdump killed,
	// file cut); TruncatedAt is the offset of that record in the
	// (uncompressed) capture stream.
	Truncated   bool
	TruncatedAt int64
	ReadErr     error // the error that ended reading, when not a clean EOF
	// Unsupported lists link types seen that nfsstall cannot decode (the
	// first MaxLinkTypesListed).
	Unsupported []layers.LinkType
	// WildCount counts the timestamps found wild (see File.Next) and
	// WildTimes lists the first few.
	WildCount int64
	WildTimes []WildTime
	// Duplicates counts this file's packets dropped as copies of another
	// file's (see Input.Next).
	Duplicates int64
	// CutRecords counts the records longer than MaxRecordData, cut to it
	// (their bytes past it read as cut by a snaplen).
	CutRecords int64
}

// packetReader is what pcapgo's two readers have in common.
type packetReader interface {
	ZeroCopyReadPacketData() ([]byte, gopacket.CaptureInfo, error)
}

// countingReader counts the bytes of the (uncompressed) capture stream
// read into the buffer pcapgo reads from, so a read error can name the
// offset of the record it happened in (see File.offset).
type countingReader struct {
	r io.Reader
	n int64
}

func (c *countingReader) Read(p []byte) (int, error) {
	n, err := c.r.Read(p)
	c.n += int64(n)
	return n, err
}

// File is one open capture file.
type File struct {
	Info   CaptureInfo
	closer io.Closer
	cr     *countingReader
	buf    *bufio.Reader // over cr; what the records are read from
	old    *oldPcap      // pcap 2.0-2.3: the fix-up between buf and buf2
	buf2   *bufio.Reader
	pr     packetReader
	ng     *pcapngReader
	link   layers.LinkType // pcap: the file's link type
	recOff int64           // offset where the current record started
	raw    *rawCounter     // bytes read from the file itself, for progress
	size   int64           // the file's size; 0 when unknown (stdin, a pipe)
	// The wild-timestamp rule's state (see Next): the packet handed out
	// last, up to two read ahead of it, the frames handed out and the last
	// one's time.
	cur       slot
	q         [2]slot
	nq        int
	eof       bool
	delivered int64
	lastTime  int64
	// The read buffers made for the file, given back to pool (if any)
	// when it is released.
	made [3]*bufio.Reader
	zr   *gzip.Reader
	pool *bufPool
}

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
// read buffer of 1 MiB). It keeps at most maxPooled, of the sizes asked
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

// Position returns the bytes read from the file so far (compressed bytes
// for a gzip file, read ahead of the packets by at most a buffer) and the
// file's size, 0 when unknown.
func (f *File) Position() (read, size int64) { return f.raw.n, f.size }

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
	// The first two bytes say whether the file is gzip before a read
	// buffer is made: the compressed bytes need only a small one.
	var gz [2]byte
	n, err := io.ReadFull(cf.cr, gz[:])
	if err != nil && err != io.EOF && err != io.ErrUnexpectedEOF {
		return nil, fmt.Errorf("%s: reading the capture header: %w", path, err)
	}
	src := io.MultiReader(bytes.NewReader(gz[:n]), cf.cr)
	var br *bufio.Reader
	if n == 2 && gz == [2]byte{0x1f, 0x8b} {
		zr, err := cf.pool.gzip(cf.reader(src, min(max(size/16, 4<<10), 64<<10)))
		if err != nil {
			return nil, fmt.Errorf("%s: gzip: %w", path, err)
		}
		cf.zr = zr
		cf.cr = &countingReader{r: zr} // offsets are in the uncompressed stream
		br = cf.reader(cf.cr, size)
		cf.Info.Compressed = true
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
		cf.pr = fast
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
		cf.pr = r
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
	f.cr, f.buf, f.old, f.buf2, f.pr, f.ng = nil, nil, nil, nil, nil, nil
	f.cur, f.q, f.nq, f.eof = slot{}, [2]slot{}, 0, true
}

// WildGap is how far a frame's timestamp may be from its neighbours'
// before it is taken as wild (see File.Next).
const WildGap = int64(time.Hour)

// maxWildListed bounds the wild timestamps listed per file; all are counted.
const maxWildListed = 8

// WildTime is a frame whose timestamp was found wild, and the time it was
// given for the analysis.
type WildTime struct {
	Frame   int64 // 0: the pcapng interface statistics end time
	Claimed int64 // ns since the epoch, as the file says
	Given   int64 // ns, the time analysed (0 for a dropped end time)
}

// Next reads the next packet into p. p.Data is valid until the next call.
// It returns io.EOF at the end of the file; a file that ends inside a record
// also ends with io.EOF, with Info.Truncated set.
//
// Timestamps are claims: one frame whose clock is decades off would make
// the capture last decades and every open call a stall that long. A frame
// more than WildGap (1 hour) away from both the previous and the next
// frame of its file, while those two are within WildGap of each other, is
// taken as wild: it is given the previous frame's time. A first frame is
// wild when it is more than WildGap from the second while the second and
// third agree (it is given the second's time); a last frame, when it is
// more than WildGap from the one before it (given that one's time): a
// claim no other frame backs. Two or more frames in a row that agree are a
// real jump (a clock step, a paused capture) and kept. The rule reads
// ahead only for a frame already more than WildGap from the one before it
// (or the first), copying the bytes it holds: the hot path pays one
// comparison. Wild frames are listed in Info.WildTimes.
func (f *File) Next(p *Packet) error {
	if f.nq > 0 {
		// Rotate the slots, so that each keeps a buffer of its own.
		f.cur, f.q[0], f.q[1] = f.q[0], f.q[1], f.cur
		f.nq--
	} else {
		if err := f.read(&f.cur.p); err != nil {
			return err
		}
		f.cur.own = false
	}
	q := &f.cur.p
	first := f.delivered == 0
	if first || absDiff(q.Time, f.lastTime) > WildGap {
		n1 := f.ahead(0)
		switch {
		case first:
			if n1 != nil && absDiff(q.Time, n1.Time) > WildGap {
				if n2 := f.ahead(1); n2 != nil && absDiff(n1.Time, n2.Time) <= WildGap {
					f.wild(q, n1.Time)
				}
			}
		case n1 == nil:
			f.wild(q, f.lastTime) // the last frame, far from the one before it
		case absDiff(q.Time, n1.Time) > WildGap && absDiff(n1.Time, f.lastTime) <= WildGap:
			f.wild(q, f.lastTime)
		}
	}
	f.delivered++
	f.lastTime = q.Time
	if first {
		f.Info.First = q.Time
	}
	f.Info.Last = max(f.Info.Last, q.Time)
	*p = *q
	return nil
}

// ahead returns the packet k+1 places after the current one (k is 0 or
// 1), reading it if it has not been, or nil at the end of the file.
// Before reading, it copies the bytes of the packets it keeps out of the
// read buffer, which the read may overwrite.
func (f *File) ahead(k int) *Packet {
	for f.nq <= k {
		if f.eof {
			return nil
		}
		f.cur.keep()
		if f.nq > 0 {
			f.q[f.nq-1].keep()
		}
		s := &f.q[f.nq]
		if f.read(&s.p) != nil {
			return nil
		}
		s.own = false
		f.nq++
	}
	return &f.q[k].p
}

// slot holds a packet read by File, and a buffer for its bytes when they
// must outlive the next read.
type slot struct {
	p   Packet
	buf []byte
	own bool // p.Data is in buf, not in the read buffer
}

func (s *slot) keep() {
	if !s.own {
		s.buf = append(s.buf[:0], s.p.Data...)
		s.p.Data = s.buf[:len(s.buf):len(s.buf)] // its capacity ends with its bytes (see Packet)
		s.own = true
	}
}

// wild records that q's timestamp was found wild and gives it time t.
func (f *File) wild(q *Packet, t int64) {
	f.Info.WildCount++
	if len(f.Info.WildTimes) < maxWildListed {
		f.Info.WildTimes = append(f.Info.WildTimes, WildTime{Frame: q.Frame, Claimed: q.Time, Given: t})
	}
	q.Time = t
}

func absDiff(a, b int64) int64 {
	if a > b {
		return a - b
	}
	return b - a
}

// read reads the next record of the file into p, its time as the file
// says.
func (f *File) read(p *Packet) error {
	if f.eof {
		return io.EOF
	}
	f.recOff = f.offset()
	data, ci, err := f.pr.ZeroCopyReadPacketData()
	if err != nil {
		f.eof = true
		// The pcapng interface statistics end time is a claim too: one far
		// beyond the last frame would stretch every call's age to it.
		if f.Info.End != 0 && f.Info.Packets > 0 && f.Info.End-f.Info.Last > WildGap {
			f.Info.WildCount++
			f.Info.WildTimes = append(f.Info.WildTimes, WildTime{Claimed: f.Info.End})
			f.Info.End = 0
		}
		// A clean end is one at a record boundary: in pcap, a record
		// header whose data is all missing reads as io.EOF too. (pcapng
		// may read whole blocks of other kinds before its clean end.)
		if err == io.EOF && (f.ng != nil || f.offset() == f.recOff) {
			return io.EOF
		}
		// pcapgo reports a record cut short as io.ErrUnexpectedEOF; any other
		// error (a corrupt record header) also ends the file here, but is
		// kept so the report can say what it was.
		f.Info.Truncated = true
		f.Info.TruncatedAt = f.recOff
		if f.ng != nil {
			f.Info.TruncatedAt = f.ng.blockOff // the block that failed, not the first one read in this call
		}
		if !errors.Is(err, io.ErrUnexpectedEOF) {
			f.Info.ReadErr = err
		}
		return io.EOF
	}
	f.Info.Packets++
	p.Frame = f.Info.Packets
	p.Time = ci.Timestamp.UnixNano()
	p.Data = data
	p.Length = ci.Length
	if f.ng != nil {
		p.LinkType = f.ng.link(ci.InterfaceIndex) // of the current section
	} else {
		p.LinkType = f.link
	}
	return nil
}

// offset returns the offset in the (uncompressed) capture stream of the
// next byte pcapgo will read: the bytes read from the stream less those
// still buffered on the way.
func (f *File) offset() int64 {
	n := f.cr.n - int64(f.buf.Buffered())
	if f.old != nil {
		n -= int64(f.old.hdrLen) + int64(f.buf2.Buffered())
	}
	return n
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
