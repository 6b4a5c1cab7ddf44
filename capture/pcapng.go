package capture

import (
	"bufio"
	"encoding/binary"
	"errors"
	"fmt"
	"io"
	"math/bits"
	"time"

	"github.com/gopacket/gopacket"
	"github.com/gopacket/gopacket/layers"
)

// pcapngReader reads the blocks of a pcapng file straight out of the
// capture's read buffer (no copy per packet, as pcapFast). It is written
// for what pcapgo's NgReader gets wrong for nfsstall: each Section Header
// Block starts a new list of interfaces, in its own byte order; an
// interface's if_tsresol of 0 means seconds (pcapgo takes it as absent,
// µs); the interface statistics block's isb_osdrop is kept as well as
// isb_ifdrop.
type pcapngReader struct {
	br     *bufio.Reader
	info   *CaptureInfo // link types, snaplen, end time and drops are kept up to date in it
	big    bool         // the section's byte order
	ifaces []ngIface    // the current section's interfaces
	// overIfaces counts the current section's interfaces described past
	// MaxInterfaces: not kept; their packets are skipped (see
	// ZeroCopyReadPacketData).
	overIfaces uint32
	sections   int
	off        int64 // offset in the capture stream of the next block
	blockOff   int64 // offset of the block read last (or being read)
	lastTime   int64 // the last packet's time, for simple packet blocks, which carry none
	// Interface statistics of the sections already ended, and the sums
	// of the current section's interfaces' latest counters, kept as
	// blocks come so that a statistics block costs the same whatever the
	// number of interfaces.
	ifDrop, osDrop             uint64
	hasIfDrop, hasOsDrop       bool
	secIfDrop, secOsDrop       uint64
	secHasIfDrop, secHasOsDrop bool
	// links marks the link types listed in info.LinkTypes.
	links linkSet
	// large holds the head of a block larger than br's buffer (grown to
	// the longest such head, at most ngHeadMax bytes and the block's
	// header and trailer): the rest is passed over.
	large []byte
}

// ngHeadMax is the most bytes kept of a block's body: a packet block's
// fields and MaxRecordData bytes of packet, with room for its options.
const ngHeadMax = 20 + MaxRecordData + 1024

// ngIface is one interface of the current section.
type ngIface struct {
	link    layers.LinkType
	snaplen uint32
	units   uint64 // timestamp units per second (if_tsresol)
	offset  int64  // seconds added to every timestamp (if_tsoffset)
	// The latest statistics block's drop counters: they count from the
	// start of the capture, so the latest replaces the earlier ones.
	ifDrop, osDrop       uint64
	hasIfDrop, hasOsDrop bool
}

// pcapng block types and option codes (draft-ietf-opsawg-pcapng).
const (
	ngSHB = 0x0a0d0d0a
	ngIDB = 1
	ngPB  = 2 // the obsolete Packet Block
	ngSPB = 3
	ngISB = 5
	ngEPB = 6

	ngByteOrderMagic uint32 = 0x1a2b3c4d

	optEnd       = 0
	optTSResol   = 9
	optTSOffset  = 14
	optISBEnd    = 3
	optISBIfDrop = 5
	optISBOsDrop = 7
)

// MaxInterfaces bounds the interfaces of one section (a hostile file
// could describe millions); an interface id is 32 bits, but no capture
// tool writes more than a few hundred. The interfaces beyond it are
// counted, not kept (CaptureInfo.InterfacesOver), and their packets are
// skipped with their frame numbers (CaptureInfo.InterfacesOverPackets):
// the rest of the file still reads. Each interface is an append to the section's list and a
// packet's is an index into it: interleaved interface and packet blocks
// cost the same per block however many came before.
const MaxInterfaces = 1 << 16

// MaxLinkTypesListed bounds the distinct link types listed per file in
// CaptureInfo.LinkTypes and Unsupported: a pcapng file may give each of
// 65,536 interfaces a link type of its own.
const MaxLinkTypesListed = 64

// linkSet is a set of link types (16 bits), a bit each.
type linkSet [1 << 16 / 64]uint64

func (s *linkSet) has(l layers.LinkType) bool { return s[l/64]&(1<<(l%64)) != 0 }
func (s *linkSet) add(l layers.LinkType)      { s[l/64] |= 1 << (l % 64) }

var (
	errNgBlockLength = errors.New("block total length is not a multiple of 4 of at least 12 bytes")
	errNgTrailer     = errors.New("block total lengths at its start and end differ")
	errNgByteOrder   = errors.New("section header block without a valid byte-order magic")
)

// ngError says which block of the file could not be read.
func (r *pcapngReader) ngError(what string, err error) error {
	return fmt.Errorf("pcapng %s at offset %d: %w", what, r.blockOff, err)
}

func newPcapngReader(br *bufio.Reader, info *CaptureInfo) (*pcapngReader, error) {
	r := &pcapngReader{br: br, info: info}
	// The first block must be a section header: read it now, so that a
	// file that is not pcapng after all is refused at Open.
	typ, body, _, err := r.block()
	if err != nil {
		return nil, err
	}
	if typ != ngSHB {
		return nil, r.ngError("file", errors.New("does not start with a section header block"))
	}
	if err := r.section(body); err != nil {
		return nil, err
	}
	return r, nil
}

func (r *pcapngReader) u16(b []byte) uint16 {
	if r.big {
		return binary.BigEndian.Uint16(b)
	}
	return binary.LittleEndian.Uint16(b)
}

func (r *pcapngReader) u32(b []byte) uint32 {
	if r.big {
		return binary.BigEndian.Uint32(b)
	}
	return binary.LittleEndian.Uint32(b)
}

func (r *pcapngReader) u64(b []byte) uint64 {
	if r.big {
		return binary.BigEndian.Uint64(b)
	}
	return binary.LittleEndian.Uint64(b)
}

// block reads the next block and returns its type, its body (what lies
// between the block length fields) and the body's length. A block longer
// than br's buffer is read in pieces: the first ngHeadMax bytes of its
// body are returned (body may then be shorter than bodyLen), the rest is
// passed over unread. The body is valid until the next call. A file that
// ends cleanly between blocks returns io.EOF; one that ends inside a block,
// io.ErrUnexpectedEOF.
func (r *pcapngReader) block() (typ uint32, body []byte, bodyLen int, err error) {
	r.blockOff = r.off
	h, err := r.br.Peek(12)
	if len(h) < 8 {
		if len(h) == 0 && err == io.EOF {
			return 0, nil, 0, io.EOF
		}
		return 0, nil, 0, r.short(len(h), err)
	}
	if binary.BigEndian.Uint32(h) == ngSHB { // a palindrome: the same in either byte order
		if len(h) < 12 {
			return 0, nil, 0, r.short(len(h), err)
		}
		switch ngByteOrderMagic {
		case binary.BigEndian.Uint32(h[8:]):
			r.big = true
		case binary.LittleEndian.Uint32(h[8:]):
			r.big = false
		default:
			return 0, nil, 0, r.ngError("block", errNgByteOrder)
		}
	}
	typ, n := r.u32(h), int(r.u32(h[4:]))
	if n < 12 || n%4 != 0 {
		return 0, nil, 0, r.ngError("block", errNgBlockLength)
	}
	var trailer []byte
	if n <= r.br.Size() {
		b, err := r.br.Peek(n)
		if len(b) < n {
			return 0, nil, 0, r.short(len(b), err)
		}
		r.br.Discard(n)
		body, trailer = b[8:n-4], b[n-4:]
	} else {
		// A short file cannot make it allocate what its block header
		// claims, nor a long one hold it.
		keep := 8 + min(n-12, ngHeadMax)
		r.large = grow(r.large, keep+4)
		got, err := io.ReadFull(r.br, r.large[:keep])
		if err == nil {
			var m int
			m, err = r.br.Discard(n - 4 - keep)
			got += m
		}
		if err == nil {
			var m int
			m, err = io.ReadFull(r.br, r.large[keep:keep+4])
			got += m
		}
		if err != nil {
			r.off += int64(got)
			if err == io.EOF {
				err = io.ErrUnexpectedEOF
			}
			return 0, nil, 0, err
		}
		body, trailer = r.large[8:keep], r.large[keep:keep+4]
	}
	r.off += int64(n)
	if int(r.u32(trailer)) != n {
		return 0, nil, 0, r.ngError("block", errNgTrailer)
	}
	return typ, body, n - 12, nil
}

// short consumes the n bytes there are of a read that wanted more.
func (r *pcapngReader) short(n int, err error) error {
	r.br.Discard(n)
	r.off += int64(n)
	if err == nil || err == io.EOF {
		return io.ErrUnexpectedEOF
	}
	return err
}

// options calls f for each option of an options list, until the end of
// options or of the block (an option running past the block ends the list:
// the rest of it cannot be told apart from garbage).
func (r *pcapngReader) options(b []byte, f func(code uint16, v []byte)) {
	for len(b) >= 4 {
		code, n := r.u16(b), int(r.u16(b[2:]))
		if code == optEnd || 4+n > len(b) {
			return
		}
		f(code, b[4:4+n])
		b = b[min(len(b), 4+(n+3)&^3):]
	}
}

// section starts a new section: the interfaces of the one before it are
// gone, their statistics kept.
func (r *pcapngReader) section(body []byte) error {
	if len(body) < 16 {
		return r.ngError("section header block", errNgBlockLength)
	}
	if major := r.u16(body[4:]); major != 1 {
		return r.ngError("section header block", fmt.Errorf("unsupported version %d.%d", major, r.u16(body[6:])))
	}
	r.foldStats()
	r.ifaces = r.ifaces[:0]
	r.overIfaces = 0
	r.sections++
	return nil
}

// foldStats moves the current section's interface statistics into the
// file's totals.
func (r *pcapngReader) foldStats() {
	r.ifDrop += r.secIfDrop
	r.osDrop += r.secOsDrop
	r.hasIfDrop = r.hasIfDrop || r.secHasIfDrop
	r.hasOsDrop = r.hasOsDrop || r.secHasOsDrop
	r.secIfDrop, r.secOsDrop, r.secHasIfDrop, r.secHasOsDrop = 0, 0, false, false
}

// interfaceBlock adds an interface to the current section.
func (r *pcapngReader) interfaceBlock(body []byte) error {
	if len(body) < 8 {
		return r.ngError("interface description block", errNgBlockLength)
	}
	i := ngIface{link: layers.LinkType(r.u16(body)), snaplen: r.u32(body[4:]), units: 1e6}
	var err error
	r.options(body[8:], func(code uint16, v []byte) {
		switch {
		case code == optTSResol && len(v) >= 1:
			// A negative power of 10, or of 2 when the high bit is set;
			// 0 is a power like any other: seconds.
			exp := uint(v[0] & 0x7f)
			if v[0]&0x80 != 0 {
				if exp > 63 {
					err = fmt.Errorf("if_tsresol 2^-%d does not fit in 64 bits", exp)
					return
				}
				i.units = 1 << exp
				return
			}
			if exp > 19 {
				err = fmt.Errorf("if_tsresol 10^-%d does not fit in 64 bits", exp)
				return
			}
			i.units = 1
			for range exp {
				i.units *= 10
			}
		case code == optTSOffset && len(v) >= 8:
			i.offset = int64(r.u64(v))
		}
	})
	if err != nil {
		return r.ngError("interface description block", err)
	}
	if len(r.ifaces) >= MaxInterfaces {
		r.overIfaces++
		r.info.InterfacesOver++
		return nil
	}
	r.ifaces = append(r.ifaces, i)
	if !r.links.has(i.link) && len(r.info.LinkTypes) < MaxLinkTypesListed {
		r.links.add(i.link)
		r.info.LinkTypes = append(r.info.LinkTypes, i.link)
	}
	r.info.Snaplen = max(r.info.Snaplen, i.snaplen)
	return nil
}

// time converts a timestamp of interface i to ns since the epoch.
func (i *ngIface) time(ts uint64) int64 {
	sec, frac := ts/i.units, ts%i.units
	hi, lo := bits.Mul64(frac, 1e9)
	ns, _ := bits.Div64(hi, lo, i.units) // frac < units, so hi < units: no overflow
	return (int64(sec)+i.offset)*1e9 + int64(ns)
}

// statsBlock records an interface statistics block's end time and drop
// counters. One naming an interface the section does not have is ignored.
func (r *pcapngReader) statsBlock(body []byte) {
	if len(body) < 12 {
		return
	}
	id := r.u32(body)
	if id >= uint32(len(r.ifaces)) {
		return
	}
	i := &r.ifaces[id]
	end := i.time(uint64(r.u32(body[4:]))<<32 | uint64(r.u32(body[8:])))
	ifDrop, osDrop := i.ifDrop, i.osDrop
	r.options(body[12:], func(code uint16, v []byte) {
		if len(v) < 8 {
			return
		}
		switch code {
		case optISBEnd:
			end = i.time(uint64(r.u32(v))<<32 | uint64(r.u32(v[4:])))
		case optISBIfDrop:
			i.ifDrop, i.hasIfDrop = r.u64(v), true
		case optISBOsDrop:
			i.osDrop, i.hasOsDrop = r.u64(v), true
		}
	})
	r.info.End = max(r.info.End, end)
	// The interface's counters replace its earlier ones in the sums
	// (uint64 arithmetic wraps as the sum's would).
	r.secIfDrop += i.ifDrop - ifDrop
	r.secOsDrop += i.osDrop - osDrop
	r.secHasIfDrop = r.secHasIfDrop || i.hasIfDrop
	r.secHasOsDrop = r.secHasOsDrop || i.hasOsDrop
	r.info.IfDrop, r.info.HasIfDrop = r.ifDrop+r.secIfDrop, r.hasIfDrop || r.secHasIfDrop
	r.info.OsDrop, r.info.HasOsDrop = r.osDrop+r.secOsDrop, r.hasOsDrop || r.secHasOsDrop
	r.info.Dropped = r.info.IfDrop
}

// ZeroCopyReadPacketData returns the next packet; ci.InterfaceIndex is
// its interface in the current section (see link). data is valid until
// the next call.
func (r *pcapngReader) ZeroCopyReadPacketData() (data []byte, ci gopacket.CaptureInfo, err error) {
	for {
		typ, body, bodyLen, err := r.block()
		if err != nil {
			return nil, ci, err
		}
		switch typ {
		case ngSHB:
			if err := r.section(body); err != nil {
				return nil, ci, err
			}
		case ngIDB:
			if err := r.interfaceBlock(body); err != nil {
				return nil, ci, err
			}
		case ngISB:
			r.statsBlock(body)
		case ngEPB, ngPB:
			if len(body) < 20 {
				return nil, ci, r.ngError("packet block", errNgBlockLength)
			}
			id := r.u32(body)
			if typ == ngPB {
				id = uint32(r.u16(body))
			}
			if over := id - uint32(len(r.ifaces)); id >= uint32(len(r.ifaces)) && over < r.overIfaces {
				// An interface past MaxInterfaces: its timestamp's
				// resolution was not kept, so the packet is only counted
				// (File.read skips it, keeping its frame number).
				ci.InterfaceIndex = -1
				return nil, ci, nil
			}
			if id >= uint32(len(r.ifaces)) {
				return nil, ci, r.ngError("packet block", fmt.Errorf("interface %d not described in its section (%d interfaces)", id, len(r.ifaces)))
			}
			caplen, length := int(r.u32(body[12:])), int(r.u32(body[16:]))
			if caplen > bodyLen-20 {
				return nil, ci, r.ngError("packet block", fmt.Errorf("captured length %d exceeds the block", caplen))
			}
			t := r.ifaces[id].time(uint64(r.u32(body[4:]))<<32 | uint64(r.u32(body[8:])))
			r.lastTime = t
			ci.Timestamp = time.Unix(0, t).UTC()
			ci.InterfaceIndex = int(id)
			data := r.packet(body[20:], caplen, length, &ci)
			return data, ci, nil
		case ngSPB:
			if len(body) < 4 {
				return nil, ci, r.ngError("simple packet block", errNgBlockLength)
			}
			if len(r.ifaces) == 0 {
				return nil, ci, r.ngError("simple packet block", errors.New("no interface described in its section"))
			}
			length := int(r.u32(body))
			caplen := min(length, bodyLen-4)
			if s := r.ifaces[0].snaplen; s != 0 {
				caplen = min(caplen, int(s))
			}
			// It carries no timestamp: the previous packet's is the best
			// guess, where a zero would read as a wild jump to 1970.
			ci.Timestamp = time.Unix(0, r.lastTime).UTC()
			data := r.packet(body[4:], caplen, length, &ci)
			return data, ci, nil
		}
	}
}

// packet returns a packet's captured bytes, which start b, cut to
// MaxRecordData (see File.read), and sets its lengths in ci.
func (r *pcapngReader) packet(b []byte, caplen, length int, ci *gopacket.CaptureInfo) []byte {
	keep := min(caplen, MaxRecordData)
	ci.CaptureLength, ci.Length = keep, length
	if keep < caplen {
		r.info.CutRecords++
		ci.Length = max(length, caplen)
	}
	return b[:keep:keep]
}

// link returns the link type of interface i of the current section.
func (r *pcapngReader) link(i int) layers.LinkType { return r.ifaces[i].link }
