package gencap

// Writing one frame: Ethernet, IPv4 and TCP headers (with options) and the
// payload, from a packet's description.

import "encoding/binary"

// build writes the frame of d into g.frame and advances the clock.
func (g *Generator) build(c *conn, d *desc) []byte {
	side := 0
	if d.toClient {
		side = 1
	}
	opts := g.optLen(d)
	f := g.frame
	g.putEthernet(f, c, d)
	tl := ipLen + tcpLen + opts + int(d.n)
	src, dst, sport, dport := g.endpoints(c, d)
	putIPv4(f[ethLen:ethLen+ipLen], c, side, tl, src, dst)
	tsval := g.putTCP(f[ethLen+ipLen:ethLen+ipLen+tcpLen+opts], c, d, side, sport, dport)
	g.putPayload(f[ethLen+ipLen+tcpLen+opts:ethLen+ipLen+tcpLen+opts+int(d.n)], c, d)
	c.tsLast[side] = tsval
	return f[:ethLen+tl]
}

// optLen is the length of the TCP options of d's packet.
func (g *Generator) optLen(d *desc) int {
	syn := d.flags&fSYN != 0
	switch {
	case syn && g.cfg.Timestamps:
		return 20
	case syn:
		return 12
	case g.cfg.Timestamps:
		return 12
	}
	return 0
}

// putEthernet writes the Ethernet header of d's packet to f.
func (g *Generator) putEthernet(f []byte, c *conn, d *desc) {
	if d.toClient {
		copy(f[0:6], c.cliMAC[:])
		copy(f[6:12], g.srvMAC[:])
	} else {
		copy(f[0:6], g.srvMAC[:])
		copy(f[6:12], c.cliMAC[:])
	}
	binary.BigEndian.PutUint16(f[12:], 0x0800)
}

// endpoints are the addresses and ports d's packet goes from and to.
func (g *Generator) endpoints(c *conn, d *desc) (src, dst [4]byte, sport, dport uint16) {
	src, dst = c.cliIP, g.srvIP
	sport, dport = c.cliPort, uint16(ServerPort)
	if d.toClient {
		src, dst, sport, dport = dst, src, dport, sport
	}
	return src, dst, sport, dport
}

// putIPv4 writes the IPv4 header of a packet of side's, tl bytes long, to
// ip, with the side's next IP ID.
func putIPv4(ip []byte, c *conn, side, tl int, src, dst [4]byte) {
	be := binary.BigEndian
	ip[0], ip[1] = 0x45, 0
	be.PutUint16(ip[2:], uint16(tl))
	c.ipID[side]++
	be.PutUint16(ip[4:], c.ipID[side])
	be.PutUint16(ip[6:], 0x4000) // DF
	ip[8], ip[9] = 64, 6
	ip[10], ip[11] = 0, 0
	copy(ip[12:16], src[:])
	copy(ip[16:20], dst[:])
	be.PutUint16(ip[10:], ipChecksum(ip))
}

// putTCP writes the TCP header of d's packet, with its options, to t and
// returns the timestamp value it carries.
func (g *Generator) putTCP(t []byte, c *conn, d *desc, side int, sport, dport uint16) uint32 {
	cfg := &g.cfg
	be := binary.BigEndian
	be.PutUint16(t[0:], sport)
	be.PutUint16(t[2:], dport)
	be.PutUint32(t[4:], d.seq)
	be.PutUint32(t[8:], d.ack)
	t[12] = byte(len(t) / 4 << 4)
	t[13] = d.flags
	win := uint16(clientWindow)
	if d.toClient {
		win = serverWindow
	}
	be.PutUint16(t[14:], win)
	be.PutUint32(t[16:], 0) // checksum (not computed, as with offload) and urgent pointer
	// Timestamps advance with a 1 ms clock.
	tsval := c.tsBase[side] + uint32((g.now-cfg.Start)/1e6)
	tsecr := c.tsLast[1-side]
	o := t[tcpLen:]
	switch {
	case d.flags&fSYN != 0:
		mss := uint16(cfg.Segment + 12)
		if !cfg.Timestamps {
			mss = uint16(cfg.Segment)
		}
		o[0], o[1] = 2, 4
		be.PutUint16(o[2:], mss)
		scale := byte(clientWScale)
		if d.toClient {
			scale = serverWScale
		}
		if cfg.Timestamps {
			o[4], o[5] = 4, 2 // SACK permitted
			o[6], o[7] = 8, 10
			be.PutUint32(o[8:], tsval)
			if !d.toClient {
				tsecr = 0
			}
			be.PutUint32(o[12:], tsecr)
			o[16] = 1
			o[17], o[18], o[19] = 3, 3, scale
		} else {
			o[4], o[5], o[6], o[7] = 1, 1, 4, 2
			o[8] = 1
			o[9], o[10], o[11] = 3, 3, scale
		}
	case cfg.Timestamps:
		o[0], o[1], o[2], o[3] = 1, 1, 8, 10
		be.PutUint32(o[4:], tsval)
		be.PutUint32(o[8:], tsecr)
	}
	return tsval
}

// putPayload copies d's payload from its source to p.
func (g *Generator) putPayload(p []byte, c *conn, d *desc) {
	switch d.kind {
	case payCall:
		copy(p, c.call[d.off:])
	case payGarbage:
		copy(p, g.pattern[d.off:])
	case payReply:
		n := 0
		if int(d.off) < c.replyHdr {
			n = copy(p, c.reply[d.off:c.replyHdr])
		}
		if n < len(p) {
			copy(p[n:], g.pattern[int(d.off)+n-c.replyHdr:])
		}
	}
}

func ipChecksum(h []byte) uint16 {
	var s uint32
	for i := 0; i < len(h); i += 2 {
		s += uint32(h[i])<<8 | uint32(h[i+1])
	}
	for s > 0xffff {
		s = s&0xffff + s>>16
	}
	return ^uint16(s)
}
