package capture

import (
	"bufio"
	"encoding/binary"
	"fmt"
	"io"
	"time"

	"github.com/gopacket/gopacket"
	"github.com/gopacket/gopacket/layers"
	"github.com/gopacket/gopacket/pcapgo"
)

// pcapFast reads the records of a pcap file (version 2.4) straight out of
// the capture's read buffer: a packet's bytes are not copied, where
// pcapgo's ZeroCopyReadPacketData copies each into a buffer of its own
// (a third of the time spent reading a capture from the page cache). It
// returns what pcapgo returns, errors included, and consumes the same bytes,
// so offsets stay those of the file; but a record longer than
// MaxRecordData is cut to it, where pcapgo would hold it whole.
type pcapFast struct {
	br      *bufio.Reader
	order   binary.ByteOrder
	factor  uint32 // ns per timestamp fraction unit: 1000 for µs files, 1 for ns
	snaplen uint32
	// extra is the length of the fields a record header carries after the
	// standard 16 bytes: 8 in the modified pcap of Alexey Kuznetsov's
	// patched libpcap (ifindex, protocol, packet type, padding), else 0.
	extra int
	// cut holds the kept bytes of a record larger than br's buffer (grown
	// to the longest such record, at most MaxRecordData bytes); cuts
	// counts the records cut to MaxRecordData (see CaptureInfo.CutRecords).
	cut  []byte
	cuts *int64
}

// eagerReadMax is pcapgo's: a record may be longer than the snaplen up to
// this length.
const eagerReadMax = 262144

// newPcapFast reads the records of br, whose file header r has read (br
// is past it); magic is the file's first 4 bytes, big-endian.
func newPcapFast(br *bufio.Reader, r *pcapgo.Reader, magic uint32) *pcapFast {
	f := &pcapFast{br: br, order: binary.LittleEndian, factor: 1, snaplen: r.Snaplen(), cuts: new(int64)}
	if magic == 0xa1b2c3d4 || magic == 0xa1b23c4d {
		f.order = binary.BigEndian
	}
	if r.Resolution() == gopacket.TimestampResolutionMicrosecond {
		f.factor = 1000
	}
	return f
}

// Magic numbers of the modified pcap format (Alexey Kuznetsov's patched
// libpcap, 1999), as read big-endian from the file's first 4 bytes: a
// big-endian file, then a little-endian one. Timestamps are in µs.
const (
	magicModified        = 0xa1b2cd34
	magicModifiedSwapped = 0x34cdb2a1
)

// newModifiedPcap reads the 24-byte file header of a modified pcap file
// (pcapgo refuses its magic) from br and returns a reader for its records
// and the file's link type. Wireshark reads these files; so does nfsstall.
// Two patches wrote this magic with different record headers: 8 more
// bytes (ss991029: ifindex, protocol, packet type, padding) or 12
// (ss990915, SuSE 6.3: 5 more bytes of SMP debugging and padding). As
// Wireshark does, the first records are tried as each and the one whose
// headers make the more sense is taken, ss991029 on a tie.
func newModifiedPcap(br *bufio.Reader) (*pcapFast, layers.LinkType, error) {
	hdr := make([]byte, 24)
	if _, err := io.ReadFull(br, hdr); err != nil {
		return nil, 0, fmt.Errorf("short file header: %w", err)
	}
	f := &pcapFast{br: br, order: binary.BigEndian, factor: 1000, extra: 8, cuts: new(int64)}
	if binary.BigEndian.Uint32(hdr) == magicModifiedSwapped {
		f.order = binary.LittleEndian
	}
	if major := f.order.Uint16(hdr[4:]); major != 2 {
		return nil, 0, fmt.Errorf("unknown major version %d", major)
	}
	f.snaplen = f.order.Uint32(hdr[16:])
	head, err := br.Peek(min(64<<10, br.Size()))
	ended := err != nil // the file ends within head
	if f.demerits(head, 12, ended) < f.demerits(head, 8, ended) {
		f.extra = 12
	}
	return f, layers.LinkType(f.order.Uint32(hdr[20:])), nil
}

// demerits counts what makes no sense in the first records of b read
// with extra bytes of per-record fields, as Wireshark's libpcap_try_record
// counts it: the fewer, the likelier the variant.
func (r *pcapFast) demerits(b []byte, extra int, ended bool) int {
	n := 0
	for range 3 { // Wireshark's MAX_RECORDS_TO_TRY
		if len(b) == 0 {
			return n
		}
		if len(b) < 16+extra {
			if ended {
				n++
			}
			return n
		}
		usec, caplen, length := r.order.Uint32(b[4:]), r.order.Uint32(b[8:]), r.order.Uint32(b[12:])
		ifindex, proto, pktType := r.order.Uint32(b[16:]), r.order.Uint16(b[20:]), b[22]
		if usec >= 1e6 {
			n++
		}
		if caplen > r.snaplen {
			n++
		}
		if length > 128<<20 {
			n++
		}
		if caplen > length {
			n++
		}
		if ifindex > 10000 {
			n++
		}
		if !(proto >= 0x0600 || proto == 0x0060 || proto == 0x0200 || proto == 0x0400 || proto <= 0x0017) {
			n++
		}
		if pktType > 4 {
			n++
		}
		if caplen > eagerReadMax {
			return n + 1
		}
		if rec := 16 + extra + int(caplen); rec <= len(b) {
			b = b[rec:]
		} else {
			if ended {
				n++
			}
			return n
		}
	}
	return n
}

// ZeroCopyReadPacketData returns the next record. data is valid until the
// next call.
func (r *pcapFast) ZeroCopyReadPacketData() (data []byte, ci gopacket.CaptureInfo, err error) {
	data, t, caplen, length, err := r.next()
	if err != nil {
		return nil, ci, err // (what the header said is not used)
	}
	ci.Timestamp = time.Unix(0, t).UTC()
	ci.CaptureLength, ci.Length = caplen, length
	return data, ci, nil
}

// next returns the next record, its time in ns since the epoch, and its
// captured and original lengths (cut to MaxRecordData as
// ZeroCopyReadPacketData says): File reads pcap records through it, not
// through the packetReader interface, for the gopacket.CaptureInfo and
// time.Time it would build and take apart again for every packet
// (BenchmarkReadPcap: 58 ns a packet through the interface, 52 here).
func (r *pcapFast) next() (data []byte, t int64, caplen, length int, err error) {
	hl := 16 + r.extra
	h, err := r.br.Peek(hl)
	if len(h) < hl {
		return nil, 0, 0, 0, r.short(len(h), err)
	}
	sec, frac := r.order.Uint32(h[0:4]), r.order.Uint32(h[4:8])*r.factor // wraps as in pcapgo
	rec, length := int(r.order.Uint32(h[8:12])), int(r.order.Uint32(h[12:16]))
	r.br.Discard(hl)
	// time.Unix(sec, frac).UnixNano(): a frac of a second or more carries
	// into the seconds, which is the same sum.
	t = int64(sec)*1e9 + int64(frac)
	if rec > max(int(r.snaplen), eagerReadMax) {
		return nil, t, rec, length, fmt.Errorf("capture length exceeds snap length: %d > %d", rec, r.snaplen)
	}
	// A captured length larger than the original length is not an error:
	// Wireshark's wiretap (libpcap.c) refuses a record only when its
	// captured length exceeds the largest snaplen, and otherwise reads the
	// captured length's bytes (pcapgo stops the file here). Its original
	// length is what the file says.
	keep := min(rec, MaxRecordData)
	caplen = rec
	if keep < rec {
		// Cut as a snaplen would cut it: the bytes past the limit are
		// passed over unread, and the frame was at least as long as the
		// record.
		*r.cuts++
		caplen, length = keep, max(length, rec)
	}
	if rec <= r.br.Size() {
		d, err := r.br.Peek(rec)
		if len(d) < rec {
			return nil, t, caplen, length, r.short(len(d), err)
		}
		r.br.Discard(rec)
		return d[:keep:keep], t, caplen, length, nil
	}
	// Larger than the buffer: the kept bytes are copied into a buffer of
	// a fixed size, whatever the record header claims.
	r.cut = grow(r.cut, keep)
	n, err := io.ReadFull(r.br, r.cut)
	if err == nil {
		var m int
		m, err = r.br.Discard(rec - keep)
		n += m
	}
	if err != nil {
		if err == io.EOF && n > 0 {
			err = io.ErrUnexpectedEOF
		}
		return nil, t, caplen, length, err
	}
	return r.cut[:keep:keep], t, caplen, length, nil
}

// grow returns b with length n (at most a pcapng block's head), in a
// new buffer if b is too short: doubled, so that records of growing
// lengths do not allocate each, but no longer than a record can need.
func grow(b []byte, n int) []byte {
	if cap(b) < n {
		b = make([]byte, n, min(max(n, 2*cap(b)), 8+ngHeadMax+4))
	}
	return b[:n]
}

// short consumes the n bytes there are of a read that wanted more, and
// returns io.ReadFull's error for it.
func (r *pcapFast) short(n int, err error) error {
	r.br.Discard(n)
	if n > 0 && err == io.EOF {
		return io.ErrUnexpectedEOF
	}
	return err
}
