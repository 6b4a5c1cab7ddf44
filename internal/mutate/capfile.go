package mutate

// The capture file: pcap or pcapng (gzip-compressed or not), parsed into
// records, with the fields of its file, block and record headers.

import (
	"bytes"
	"compress/gzip"
	"encoding/binary"
	"errors"
	"io"
)

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
