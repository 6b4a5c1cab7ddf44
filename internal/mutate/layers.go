package mutate

// The packet layers: link, IPv4 and IPv6, TCP with its options, UDP, and
// RPC record markers and headers, each down to its header fields.

import "encoding/binary"

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
