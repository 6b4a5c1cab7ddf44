// Package mutate damages real captures at the places that matter: it
// parses a pcap or pcapng file down to the header fields of its packets
// (capture records, IP, TCP with its options, UDP, RPC record markers and
// the XDR lengths of RPC headers) and sets chosen fields to boundary
// values: 0, 1, the middle of their range and either side of it, their
// maximum, their current value plus or minus one or plus half their range,
// and lengths just past the end of what holds them. Random byte errors
// (editcap -E) almost never produce these; sequence-space and length
// arithmetic break exactly at them. It is used by tests only, and is
// deterministic from a seed.
package mutate

import (
	"bytes"
	"compress/gzip"
	"encoding/binary"
	"errors"
	"io"
	"math/rand/v2"
)

// Field is a header field of a capture: Bits bits at Shift within the
// Size bytes at Off, big-endian unless Little.
type Field struct {
	Name   string
	Off    int
	Size   int // 1, 2 or 4
	Shift  uint8
	Bits   uint8
	Little bool
	// Avail, for a length field, is the length that would exactly fit
	// what holds it (-1: not a length): values around it are tried too.
	Avail int
	// File is true for fields of the file header (pcap header, pcapng
	// section header): damage there may make the file unreadable.
	File bool
}

// Get returns the field's value in b.
func (f Field) Get(b []byte) uint64 {
	return (f.word(b) >> f.Shift) & f.mask()
}

// Set stores v (truncated to the field's width) in b.
func (f Field) Set(b []byte, v uint64) {
	w := f.word(b)&^(f.mask()<<f.Shift) | (v&f.mask())<<f.Shift
	var o binary.ByteOrder = binary.BigEndian
	if f.Little {
		o = binary.LittleEndian
	}
	switch f.Size {
	case 1:
		b[f.Off] = byte(w)
	case 2:
		o.PutUint16(b[f.Off:], uint16(w))
	default:
		o.PutUint32(b[f.Off:], uint32(w))
	}
}

func (f Field) mask() uint64 { return 1<<f.Bits - 1 }

func (f Field) word(b []byte) uint64 {
	var o binary.ByteOrder = binary.BigEndian
	if f.Little {
		o = binary.LittleEndian
	}
	switch f.Size {
	case 1:
		return uint64(b[f.Off])
	case 2:
		return uint64(o.Uint16(b[f.Off:]))
	default:
		return uint64(o.Uint32(b[f.Off:]))
	}
}

// Values returns the boundary values of f given its current value cur,
// deduplicated, in a fixed order.
func (f Field) Values(cur uint64) []uint64 {
	m, half := f.mask(), uint64(1)<<(f.Bits-1)
	vs := []uint64{0, 1, half - 1, half, half + 1, m, cur + 1, cur - 1, cur + half, cur - half}
	if f.Avail >= 0 {
		a := uint64(f.Avail)
		vs = append(vs, a-1, a, a+1, a+2, a+4)
	}
	var out []uint64
	seen := map[uint64]bool{cur & m: true} // a value equal to the current one is no mutation
	for _, v := range vs {
		if v &= m; !seen[v] {
			seen[v] = true
			out = append(out, v)
		}
	}
	return out
}

// Record is one packet record of a capture.
type Record struct {
	Start, Data, End int // the record (block) header, the packet data, its end
	Link             uint32
	Fields           []Field
}

// Capture is a parsed capture file.
type Capture struct {
	Data    []byte // uncompressed
	NG      bool
	Header  []Field // the file header's fields, and pcapng's other blocks
	Records []Record
}

// ErrNotCapture: the bytes are neither pcap nor pcapng.
var ErrNotCapture = errors.New("mutate: not a pcap or pcapng file")

// Parse reads a pcap or pcapng file, gzip-compressed or not. It keeps the
// records that fit and stops at the first that does not.
func Parse(b []byte) (*Capture, error) {
	if len(b) > 2 && b[0] == 0x1f && b[1] == 0x8b {
		zr, err := gzip.NewReader(bytes.NewReader(b))
		if err != nil {
			return nil, err
		}
		if b, err = io.ReadAll(zr); err != nil {
			return nil, err
		}
	}
	if len(b) < 24 {
		return nil, ErrNotCapture
	}
	if binary.BigEndian.Uint32(b) == 0x0a0d0d0a {
		return parseNG(b)
	}
	little := false
	switch binary.LittleEndian.Uint32(b) {
	case 0xa1b2c3d4, 0xa1b23c4d:
		little = true
	default:
		if m := binary.BigEndian.Uint32(b); m != 0xa1b2c3d4 && m != 0xa1b23c4d {
			return nil, ErrNotCapture
		}
	}
	c := &Capture{Data: b}
	u32 := func(off int) uint32 {
		if little {
			return binary.LittleEndian.Uint32(b[off:])
		}
		return binary.BigEndian.Uint32(b[off:])
	}
	c.Header = []Field{
		{Name: "pcap.version_major", Off: 4, Size: 2, Bits: 16, Little: little, Avail: -1, File: true},
		{Name: "pcap.snaplen", Off: 16, Size: 4, Bits: 32, Little: little, Avail: -1, File: true},
		{Name: "pcap.linktype", Off: 20, Size: 4, Bits: 32, Little: little, Avail: -1, File: true},
	}
	link := u32(20) & 0xffff
	for off := 24; off+16 <= len(b); {
		caplen := int(u32(off + 8))
		if caplen > len(b)-off-16 {
			break
		}
		r := Record{Start: off, Data: off + 16, End: off + 16 + caplen, Link: link}
		r.Fields = append(r.Fields,
			Field{Name: "pcap.caplen", Off: off + 8, Size: 4, Bits: 32, Little: little, Avail: caplen},
			Field{Name: "pcap.len", Off: off + 12, Size: 4, Bits: 32, Little: little, Avail: caplen},
			Field{Name: "pcap.ts_frac", Off: off + 4, Size: 4, Bits: 32, Little: little, Avail: -1})
		r.Fields = append(r.Fields, packetFields(b, r.Data, r.End, link)...)
		c.Records = append(c.Records, r)
		off = r.End
	}
	return c, nil
}

func parseNG(b []byte) (*Capture, error) {
	var o binary.ByteOrder = binary.LittleEndian
	little := true
	if binary.BigEndian.Uint32(b[8:]) == 0x1a2b3c4d {
		o, little = binary.BigEndian, false
	}
	c := &Capture{Data: b, NG: true}
	var links []uint32
	for off := 0; off+12 <= len(b); {
		typ, n := o.Uint32(b[off:]), int(o.Uint32(b[off+4:]))
		if n < 12 || n > len(b)-off {
			break
		}
		lenField := func(name string, at int, file bool) Field {
			return Field{Name: name, Off: at, Size: 4, Bits: 32, Little: little, Avail: n, File: file}
		}
		switch typ {
		case 0x0a0d0d0a:
			links = nil
			c.Header = append(c.Header, lenField("pcapng.shb.length", off+4, true), lenField("pcapng.shb.trailing_length", off+n-4, true))
			c.Header = append(c.Header, options(b, off+24, off+n-4, little, "pcapng.shb", off == 0)...)
		case 1:
			links = append(links, uint32(o.Uint16(b[off+8:])))
			c.Header = append(c.Header, lenField("pcapng.idb.length", off+4, false),
				Field{Name: "pcapng.idb.linktype", Off: off + 8, Size: 2, Bits: 16, Little: little, Avail: -1})
			c.Header = append(c.Header, options(b, off+16, off+n-4, little, "pcapng.idb", false)...)
		case 5:
			c.Header = append(c.Header, lenField("pcapng.isb.length", off+4, false))
			c.Header = append(c.Header, options(b, off+20, off+n-4, little, "pcapng.isb", false)...)
		case 6:
			if n < 32 {
				break
			}
			ifc, caplen := int(o.Uint32(b[off+8:])), int(o.Uint32(b[off+20:]))
			if ifc >= len(links) || caplen > n-32 {
				break
			}
			r := Record{Start: off, Data: off + 28, End: off + 28 + caplen, Link: links[ifc]}
			r.Fields = append(r.Fields,
				lenField("pcapng.epb.length", off+4, false),
				lenField("pcapng.epb.trailing_length", off+n-4, false),
				Field{Name: "pcapng.epb.interface", Off: off + 8, Size: 4, Bits: 32, Little: little, Avail: len(links)},
				Field{Name: "pcapng.epb.caplen", Off: off + 20, Size: 4, Bits: 32, Little: little, Avail: caplen},
				Field{Name: "pcapng.epb.origlen", Off: off + 24, Size: 4, Bits: 32, Little: little, Avail: caplen})
			r.Fields = append(r.Fields, options(b, off+28+(caplen+3)&^3, off+n-4, little, "pcapng.epb", false)...)
			r.Fields = append(r.Fields, packetFields(b, r.Data, r.End, r.Link)...)
			c.Records = append(c.Records, r)
		}
		off += n
	}
	if len(c.Header) == 0 {
		return nil, ErrNotCapture
	}
	return c, nil
}

// options lists the code, length and first value byte of the pcapng
// options in b[off:end].
func options(b []byte, off, end int, little bool, block string, file bool) []Field {
	var o binary.ByteOrder = binary.LittleEndian
	if !little {
		o = binary.BigEndian
	}
	var fs []Field
	for off+4 <= end {
		code, n := o.Uint16(b[off:]), int(o.Uint16(b[off+2:]))
		if code == 0 || off+4+n > end {
			break
		}
		fs = append(fs,
			Field{Name: block + ".option_code", Off: off, Size: 2, Bits: 16, Little: little, Avail: -1, File: file},
			Field{Name: block + ".option_length", Off: off + 2, Size: 2, Bits: 16, Little: little, Avail: end - off - 4, File: file})
		if n > 0 {
			fs = append(fs, Field{Name: block + ".option_value", Off: off + 4, Size: 1, Bits: 8, Avail: -1, File: file})
		}
		off += 4 + (n+3)&^3
	}
	return fs
}

// Link types whose packets are decoded.
const (
	linkNull     = 0
	linkEthernet = 1
	linkRaw      = 101
	linkSLL      = 113
	linkSLL2     = 276
	linkIPv4     = 228
	linkIPv6     = 229
)

// packetFields decodes the packet in b[off:end] down to its transport
// header and RPC message, and lists their fields.
func packetFields(b []byte, off, end int, link uint32) []Field {
	var etype uint16
	switch link {
	case linkEthernet:
		if end-off < 14 {
			return nil
		}
		etype, off = binary.BigEndian.Uint16(b[off+12:]), off+14
		for (etype == 0x8100 || etype == 0x88a8) && end-off >= 4 {
			etype, off = binary.BigEndian.Uint16(b[off+2:]), off+4
		}
	case linkSLL:
		if end-off < 16 {
			return nil
		}
		etype, off = binary.BigEndian.Uint16(b[off+14:]), off+16
	case linkSLL2:
		if end-off < 20 {
			return nil
		}
		etype, off = binary.BigEndian.Uint16(b[off:]), off+20
	case linkNull:
		if end-off < 4 {
			return nil
		}
		off += 4
		etype = ipVersion(b, off, end)
	case linkRaw, linkIPv4, linkIPv6:
		etype = ipVersion(b, off, end)
	default:
		return nil
	}
	switch etype {
	case 0x0800:
		return ipv4Fields(b, off, end)
	case 0x86dd:
		return ipv6Fields(b, off, end)
	}
	return nil
}

func ipVersion(b []byte, off, end int) uint16 {
	if off < end {
		switch b[off] >> 4 {
		case 4:
			return 0x0800
		case 6:
			return 0x86dd
		}
	}
	return 0
}

func ipv4Fields(b []byte, off, end int) []Field {
	if end-off < 20 {
		return nil
	}
	ihl := int(b[off]&15) * 4
	fs := []Field{
		{Name: "ip.hdr_len", Off: off, Size: 1, Bits: 4, Avail: -1},
		{Name: "ip.len", Off: off + 2, Size: 2, Bits: 16, Avail: end - off},
		{Name: "ip.flags.mf", Off: off + 6, Size: 2, Shift: 13, Bits: 1, Avail: -1},
		{Name: "ip.frag_offset", Off: off + 6, Size: 2, Bits: 13, Avail: -1},
	}
	total := int(binary.BigEndian.Uint16(b[off+2:]))
	if ihl < 20 || ihl > end-off || binary.BigEndian.Uint16(b[off+6:])&0x3fff != 0 {
		return fs // a fragment: no transport header to find in most
	}
	tend := min(end, off+max(total, ihl))
	return append(fs, transportFields(b, b[off+9], off+ihl, tend)...)
}

func ipv6Fields(b []byte, off, end int) []Field {
	if end-off < 40 {
		return nil
	}
	fs := []Field{{Name: "ipv6.plen", Off: off + 4, Size: 2, Bits: 16, Avail: end - off - 40}}
	next, p := b[off+6], off+40
	for next == 44 && end-p >= 8 { // a fragment header
		fs = append(fs,
			Field{Name: "ipv6.frag_offset", Off: p + 2, Size: 2, Shift: 3, Bits: 13, Avail: -1},
			Field{Name: "ipv6.frag.mf", Off: p + 2, Size: 2, Bits: 1, Avail: -1})
		if binary.BigEndian.Uint16(b[p+2:])&0xfff9 != 0 {
			return fs
		}
		next, p = b[p], p+8
	}
	tend := min(end, off+40+int(binary.BigEndian.Uint16(b[off+4:])))
	return append(fs, transportFields(b, next, p, tend)...)
}

func transportFields(b []byte, proto byte, off, end int) []Field {
	switch proto {
	case 6:
		return tcpFields(b, off, end)
	case 17:
		if end-off < 8 {
			return nil
		}
		fs := []Field{{Name: "udp.length", Off: off + 4, Size: 2, Bits: 16, Avail: end - off}}
		if rpcPort(b, off) {
			fs = append(fs, rpcFields(b, off+8, end, false)...)
		}
		return fs
	}
	return nil
}

// rpcPort reports whether the transport header at off is to or from a
// port RPC is analysed on (NFS, the test captures' MOUNT, portmap).
func rpcPort(b []byte, off int) bool {
	for _, p := range []uint16{binary.BigEndian.Uint16(b[off:]), binary.BigEndian.Uint16(b[off+2:])} {
		if p == 2049 || p == 20048 || p == 111 {
			return true
		}
	}
	return false
}

func tcpFields(b []byte, off, end int) []Field {
	if end-off < 20 {
		return nil
	}
	hl := int(b[off+12]>>4) * 4
	fs := []Field{
		{Name: "tcp.seq", Off: off + 4, Size: 4, Bits: 32, Avail: -1},
		{Name: "tcp.ack", Off: off + 8, Size: 4, Bits: 32, Avail: -1},
		{Name: "tcp.hdr_len", Off: off + 12, Size: 1, Shift: 4, Bits: 4, Avail: -1},
		{Name: "tcp.flags", Off: off + 13, Size: 1, Bits: 8, Avail: -1},
		{Name: "tcp.window", Off: off + 14, Size: 2, Bits: 16, Avail: -1},
	}
	if hl < 20 || hl > end-off {
		return fs
	}
	for p := off + 20; p < off+hl; {
		kind := b[p]
		if kind == 0 {
			break
		}
		if kind == 1 {
			p++
			continue
		}
		if p+2 > off+hl {
			break
		}
		n := int(b[p+1])
		if n < 2 || p+n > off+hl {
			break
		}
		fs = append(fs, Field{Name: "tcp.option_len", Off: p + 1, Size: 1, Bits: 8, Avail: off + hl - p})
		switch {
		case kind == 2 && n == 4:
			fs = append(fs, Field{Name: "tcp.options.mss", Off: p + 2, Size: 2, Bits: 16, Avail: -1})
		case kind == 3 && n == 3:
			fs = append(fs, Field{Name: "tcp.options.wscale", Off: p + 2, Size: 1, Bits: 8, Avail: 14})
		case kind == 5:
			for e := p + 2; e+8 <= p+n; e += 8 {
				fs = append(fs,
					Field{Name: "tcp.options.sack_le", Off: e, Size: 4, Bits: 32, Avail: -1},
					Field{Name: "tcp.options.sack_re", Off: e + 4, Size: 4, Bits: 32, Avail: -1})
			}
		}
		p += n
	}
	if rpcPort(b, off) {
		fs = append(fs, rpcFields(b, off+hl, end, true)...)
	}
	return fs
}

// rpcFields lists the record marker (over TCP) and the XDR lengths of an
// RPC call or reply header that starts at off: one that begins the
// payload, which is where a record boundary mostly is.
func rpcFields(b []byte, off, end int, marked bool) []Field {
	var fs []Field
	if marked {
		if end-off < 4 {
			return nil
		}
		n := int(binary.BigEndian.Uint32(b[off:]) & 0x7fffffff)
		fs = append(fs,
			Field{Name: "rpc.fragment_header", Off: off, Size: 4, Bits: 32, Avail: n | 1<<31},
			Field{Name: "rpc.fragment_len", Off: off, Size: 4, Bits: 31, Avail: n})
		off += 4
	}
	if end-off < 24 {
		return fs
	}
	u32 := func(at int) int { return int(binary.BigEndian.Uint32(b[at:])) }
	switch u32(off + 4) {
	case 0: // call: xid, type, rpcvers, prog, vers, proc, cred, verf
		if u32(off+8) != 2 || end-off < 32 {
			return fs
		}
		fs = append(fs, Field{Name: "rpc.cred.length", Off: off + 28, Size: 4, Bits: 32, Avail: end - off - 32})
		v := off + 32 + (u32(off+28)+3)&^3
		if v < off || end-v < 8 {
			return fs
		}
		fs = append(fs, Field{Name: "rpc.verf.length", Off: v + 4, Size: 4, Bits: 32, Avail: end - v - 8})
		if a := v + 8 + (u32(v+4)+3)&^3; a > v && end-a >= 4 {
			// The first argument: a file handle's length in most NFS calls.
			fs = append(fs, Field{Name: "rpc.args.first_length", Off: a, Size: 4, Bits: 32, Avail: end - a - 4})
		}
	case 1: // reply: xid, type, reply_stat, verf (when accepted)
		if u32(off+8) != 0 {
			return fs
		}
		fs = append(fs, Field{Name: "rpc.reply.verf.length", Off: off + 16, Size: 4, Bits: 32, Avail: end - off - 20},
			Field{Name: "rpc.reply.stat", Off: off + 8, Size: 4, Bits: 32, Avail: -1})
	}
	return fs
}

// Mutation is one field of one record set to a value (Record -1: the
// file header).
type Mutation struct {
	Record int
	Field  Field
	Old    uint64
	Value  uint64
}

// Variant returns a copy of the capture with n mutations chosen by seed,
// and the mutations. With file false, fields of the file header are left
// alone, so the file stays readable as a whole.
func (c *Capture) Variant(seed uint64, n int, file bool) ([]byte, []Mutation) {
	rng := rand.New(rand.NewPCG(seed, 0x6d757461746521))
	b := bytes.Clone(c.Data)
	var ms []Mutation
	for tries := 0; len(ms) < n && tries < 20*n; tries++ {
		rec, fs := -1, c.Header
		if len(c.Records) > 0 && (len(fs) == 0 || rng.IntN(20) > 0) {
			rec = rng.IntN(len(c.Records))
			fs = c.Records[rec].Fields
		}
		if !file {
			fs = notFile(fs)
		}
		if len(fs) == 0 {
			continue
		}
		f := fs[rng.IntN(len(fs))]
		cur := f.Get(b)
		vs := f.Values(cur)
		if len(vs) == 0 {
			continue
		}
		v := vs[rng.IntN(len(vs))]
		f.Set(b, v)
		ms = append(ms, Mutation{Record: rec, Field: f, Old: cur, Value: v})
	}
	return b, ms
}

func notFile(fs []Field) []Field {
	for i, f := range fs {
		if f.File {
			out := append([]Field(nil), fs[:i]...)
			for _, g := range fs[i+1:] {
				if !g.File {
					out = append(out, g)
				}
			}
			return out
		}
	}
	return fs
}

// RPC returns the RPC message of record rec in b (a copy of c.Data, maybe
// mutated): from its record marker when marked (over TCP), else from its
// XID. It returns nil when the record carries no RPC header the parser
// found.
func (c *Capture) RPC(b []byte, rec int) (msg []byte, marked bool) {
	r := c.Records[rec]
	for _, f := range r.Fields {
		start := -1
		switch f.Name {
		case "rpc.fragment_header":
			start, marked = f.Off, true
		case "rpc.cred.length":
			start = f.Off - 28
		case "rpc.reply.verf.length":
			start = f.Off - 16
		}
		if start >= r.Data && start < r.End {
			return b[start:r.End], marked
		}
	}
	return nil, false
}

// RPCVariants returns up to n RPC messages (with their record markers
// when over TCP) of records chosen by seed, each with one RPC field (the
// marker or an XDR length) set to a boundary value: seeds for fuzzing the
// decoders without a packet around them.
func (c *Capture) RPCVariants(seed uint64, n int) [][]byte {
	rng := rand.New(rand.NewPCG(seed, 0x727063))
	var out [][]byte
	for tries := 0; len(out) < n && tries < 50*n && len(c.Records) > 0; tries++ {
		rec := rng.IntN(len(c.Records))
		var fs []Field
		for _, f := range c.Records[rec].Fields {
			if len(f.Name) > 4 && f.Name[:4] == "rpc." {
				fs = append(fs, f)
			}
		}
		if len(fs) == 0 {
			continue
		}
		f := fs[rng.IntN(len(fs))]
		b := bytes.Clone(c.Data[c.Records[rec].Data:c.Records[rec].End])
		g := f
		g.Off -= c.Records[rec].Data
		vs := g.Values(g.Get(b))
		g.Set(b, vs[rng.IntN(len(vs))])
		whole := bytes.Clone(c.Data)
		copy(whole[c.Records[rec].Data:], b)
		if msg, _ := c.RPC(whole, rec); msg != nil {
			out = append(out, bytes.Clone(msg))
		}
	}
	return out
}

// Head returns the capture cut after its first n records: a small file to
// seed a fuzzer with, parsed again.
func (c *Capture) Head(n int) *Capture {
	if n >= len(c.Records) {
		return c
	}
	end := c.Records[n].Start
	if c.NG {
		// Keep the blocks before the first packet (interfaces).
		end = max(end, c.Records[0].Start)
	}
	h, err := Parse(c.Data[:end])
	if err != nil {
		return c
	}
	return h
}
