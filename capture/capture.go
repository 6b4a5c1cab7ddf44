package capture

import (
	"bufio"
	"compress/gzip"
	"errors"
	"io"
	"time"

	"github.com/gopacket/gopacket"
	"github.com/gopacket/gopacket/layers"
)

// ErrNotCapture is wrapped by Open when a file is neither pcap nor pcapng.
var ErrNotCapture = errors.New("not a pcap or pcapng file")

// readBufSize is large because pcapgo issues two small reads per packet; a
// big buffer turns them into memcpy (measured 3x over the 4 KiB default).
// It is not larger: a read(2) of 1 MiB from the page cache lasts about
// 100 us, long enough for the runtime to hand the reading goroutine's
// processor away and to park it when the call returns. With 256 KiB,
// bench/run.sh's big capture took 23% less time (median of 9, alternating
// with the 1-MiB build); with the hand-over's polling too (prefetch.go),
// voluntary context switches went from 1,700 to 210 a run. Records up to
// MaxRecordData fit it whole.
const readBufSize = 256 << 10

// MaxRecordData is the most bytes kept of one packet record: tcpdump's
// largest snaplen (MAXIMUM_SNAPLEN), more than any frame analysis needs.
// A record that claims more (a pcap snaplen of 0xffffffff, a pcapng
// interface with snaplen 0) is cut to it as a snaplen would cut it: the
// rest is passed over unread, never held, and the packet keeps its
// original length; CaptureInfo.CutRecords counts such records.
const MaxRecordData = 256 << 10

// CaptureInfo describes one input file as read so far.
type CaptureInfo struct {
	Path        string
	Format      string            // "pcap" or "pcapng"
	Compressed  bool              // gzip, xz, bzip2 or zstd (detected by content)
	Compression string            // which: "gzip", "xz", "bzip2", "zstd"
	LinkTypes   []layers.LinkType // distinct, in the order first seen (pcapng: over its interfaces and sections), the first MaxLinkTypesListed
	Snaplen     uint32
	Packets     int64
	First       int64  // ns since the Unix epoch of the first packet (0 if none)
	Last        int64  // ns of the last packet
	End         int64  // pcapng interface statistics end time, when later than Last
	Dropped     uint64 // packets the capturing interface said it dropped (pcapng); IfDrop when HasIfDrop
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
	// InterfacesOver counts pcapng interfaces described past the bound of
	// one section's (65,536), and InterfacesOverPackets their packets:
	// skipped, their frame numbers kept.
	InterfacesOver, InterfacesOverPackets int64
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
	fast   *pcapFast // pr, when it is one: read without the interface
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
	unz  io.ReadCloser // the decompressor of xz, bzip2 or zstd
	pool *bufPool
}

// Position returns the bytes read from the file so far (compressed bytes
// for a gzip file, read ahead of the packets by at most a buffer) and the
// file's size, 0 when unknown.
func (f *File) Position() (read, size int64) { return f.raw.n, f.size }

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
	var data []byte
	var t int64
	var length, ifc int
	var err error
	if f.fast != nil {
		data, t, _, length, err = f.fast.next()
	} else {
		var ci gopacket.CaptureInfo
		data, ci, err = f.pr.ZeroCopyReadPacketData()
		for err == nil && ci.InterfaceIndex < 0 {
			f.Info.Packets++ // a frame all the same, as Wireshark numbers them
			f.Info.InterfacesOverPackets++
			f.recOff = f.offset()
			data, ci, err = f.pr.ZeroCopyReadPacketData()
		}
		t, length, ifc = ci.Timestamp.UnixNano(), ci.Length, ci.InterfaceIndex
	}
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
	p.Time = t
	p.Data = data
	p.Length = length
	if f.ng != nil {
		p.LinkType = f.ng.link(ifc) // of the current section
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
