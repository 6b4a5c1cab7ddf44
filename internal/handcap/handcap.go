// Package handcap builds small hand-made TCP captures (microsecond pcap,
// Ethernet, IPv4) for tests whose oracle is tshark run on the result:
// the traffic Linux and libnfs never send (one-byte zero-window probes,
// an RPC call re-sent on the same connection).
package handcap

import (
	"bytes"
	"encoding/binary"
)

// TCP flag bits.
const (
	FIN = 0x01
	SYN = 0x02
	RST = 0x04
	PSH = 0x08
	ACK = 0x10
)

// WScale returns the TCP options of a window scale option with the given
// shift (RFC 7323 section 2.2), NOP-padded to 4 bytes, for Seg.Opts.
func WScale(shift byte) []byte { return []byte{1, 3, 3, shift} }

// Seg is one segment between client 198.18.0.1:Port and server
// 198.18.0.2:2049 (client 198.18.Client/256.Client%256 when Client is
// not 0); MS is its time in ms from the start, Payload its data (or, when
// nil, N filler bytes); Opts its TCP options (a multiple of 4 bytes long,
// e.g. WScale).
type Seg struct {
	MS       int64
	Client   uint16
	Port     uint16
	ToServer bool
	Flags    byte
	Seq, Ack uint32
	Win      uint16
	N        int
	Payload  []byte
	Opts     []byte
	// TTL is the IP TTL (0: 64).
	TTL byte
	// IP, when set, is a whole IPv4 or IPv6 packet (an ICMP error, say)
	// put in the frame as it is, at MS; the other fields are ignored.
	IP []byte
}

// T0 is the capture's start, 2026-11-18 (seconds since the epoch).
const T0 = 1795000000

func csum(b []byte, sum uint32) uint16 {
	for i := 0; i+1 < len(b); i += 2 {
		sum += uint32(binary.BigEndian.Uint16(b[i:]))
	}
	if len(b)%2 == 1 {
		sum += uint32(b[len(b)-1]) << 8
	}
	for sum > 0xffff {
		sum = sum>>16 + sum&0xffff
	}
	return ^uint16(sum)
}

// Pcap returns the capture of segs, with valid IP and TCP checksums.
func Pcap(segs []Seg) []byte {
	var out bytes.Buffer
	hdr := make([]byte, 24)
	binary.LittleEndian.PutUint32(hdr[0:], 0xa1b2c3d4)
	binary.LittleEndian.PutUint16(hdr[4:], 2)
	binary.LittleEndian.PutUint16(hdr[6:], 4)
	binary.LittleEndian.PutUint32(hdr[16:], 65535)
	binary.LittleEndian.PutUint32(hdr[20:], 1)
	out.Write(hdr)
	cli, srv := []byte{198, 18, 0, 1}, []byte{198, 18, 0, 2}
	cmac, smac := []byte{2, 0, 0xc6, 0x12, 0, 1}, []byte{2, 0, 0xc6, 0x12, 0, 2}
	for i, s := range segs {
		cli := cli
		if s.Client != 0 {
			cli = []byte{198, 18, byte(s.Client >> 8), byte(s.Client)}
		}
		src, dst, sport, dport, smacX, dmacX := cli, srv, s.Port, uint16(2049), cmac, smac
		if !s.ToServer {
			src, dst, sport, dport, smacX, dmacX = srv, cli, 2049, s.Port, smac, cmac
		}
		if s.IP != nil {
			et := []byte{0x08, 0x00}
			if s.IP[0]>>4 == 6 {
				et = []byte{0x86, 0xdd}
			}
			writeRecord(&out, s.MS, append(append(append(append([]byte{}, smac...), cmac...), et...), s.IP...))
			continue
		}
		payload := s.Payload
		if payload == nil {
			payload = bytes.Repeat([]byte{'p'}, s.N)
		}
		if len(s.Opts)%4 != 0 || len(s.Opts) > 40 {
			panic("handcap: TCP options must be a multiple of 4 bytes, at most 40")
		}
		tcp := make([]byte, 20, 20+len(s.Opts)+len(payload))
		binary.BigEndian.PutUint16(tcp[0:], sport)
		binary.BigEndian.PutUint16(tcp[2:], dport)
		binary.BigEndian.PutUint32(tcp[4:], s.Seq)
		binary.BigEndian.PutUint32(tcp[8:], s.Ack)
		tcp[12] = byte(5+len(s.Opts)/4) << 4
		tcp[13] = s.Flags
		binary.BigEndian.PutUint16(tcp[14:], s.Win)
		tcp = append(append(tcp, s.Opts...), payload...)
		var ph uint32
		for j := 0; j < 4; j += 2 {
			ph += uint32(binary.BigEndian.Uint16(src[j:])) + uint32(binary.BigEndian.Uint16(dst[j:]))
		}
		ph += 6 + uint32(len(tcp))
		binary.BigEndian.PutUint16(tcp[16:], csum(tcp, ph))
		ip := make([]byte, 20)
		ip[0] = 0x45
		binary.BigEndian.PutUint16(ip[2:], uint16(20+len(tcp)))
		binary.BigEndian.PutUint16(ip[4:], uint16(i+1))
		ip[6] = 0x40 // DF
		ip[8] = 64
		if s.TTL != 0 {
			ip[8] = s.TTL
		}
		ip[9] = 6
		copy(ip[12:], src)
		copy(ip[16:], dst)
		binary.BigEndian.PutUint16(ip[10:], csum(ip, 0))
		frame := append(append(append(append([]byte{}, dmacX...), smacX...), 0x08, 0x00), ip...)
		frame = append(frame, tcp...)
		if len(frame) < 60 {
			frame = append(frame, make([]byte, 60-len(frame))...)
		}
		writeRecord(&out, s.MS, frame)
	}
	return out.Bytes()
}

// writeRecord writes a pcap record of frame at ms from the start.
func writeRecord(out *bytes.Buffer, ms int64, frame []byte) {
	if len(frame) < 60 {
		frame = append(frame, make([]byte, 60-len(frame))...)
	}
	rec := make([]byte, 16)
	binary.LittleEndian.PutUint32(rec[0:], uint32(T0+ms/1000))
	binary.LittleEndian.PutUint32(rec[4:], uint32(ms%1000*1000))
	binary.LittleEndian.PutUint32(rec[8:], uint32(len(frame)))
	binary.LittleEndian.PutUint32(rec[12:], uint32(len(frame)))
	out.Write(rec)
	out.Write(frame)
}
