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
	"encoding/binary"
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
