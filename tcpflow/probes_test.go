package tcpflow

import (
	"bytes"
	"encoding/binary"
	"flag"
	"os"
	"path/filepath"
	"testing"
)

// Real Linux captures never show two of the flags nfsstall sets: Linux
// probes a zero window with a keep-alive-shaped segment (seq = snd_una - 1,
// no data), which tshark counts as keep_alive, so its ACK is neither a
// zero_window_probe_ack nor (the window being 0) a keep_alive_ack; and
// libnfs sets no TCP keep-alive. testdata/probes.pcap is built by hand
// (go test ./tcpflow -run TestMakeProbes -make-probes) with both: a
// one-byte zero-window probe (as BSD and Windows send) and its ACK, and a
// keep-alive and its ACK, plus a zero-window episode that ends and one
// that does not. Its oracle is tshark's view of it, written by
// `bash testdata/pcaps/make-captures.sh --views ../../tcpflow/testdata/probes.pcap`
// (probes.pcap.tcp.tsv), never this program's output.
var makeProbes = flag.Bool("make-probes", false, "rewrite testdata/probes.pcap")

const probesFile = "testdata/probes.pcap"

// probeSeg is one hand-made segment; times are ms from the first.
type probeSeg struct {
	ms       int64
	port     uint16 // the client's port (the server's is 2049)
	toServer bool
	flags    byte // TCP flags byte
	seq, ack uint32
	win      uint16
	n        int // payload bytes
}

const (
	fSYN = 0x02
	fPSH = 0x08
	fACK = 0x10
)

// probeSegs: client 198.18.0.1, server 198.18.0.2:2049, no window
// scaling; the server sends data the client stops reading. The one-byte
// probe comes last on its connection: Wireshark does not count a probe's
// byte as sent (its next segment may start at the same byte and is not a
// retransmission), a rule nfsstall does not follow yet (README, known
// differences); this file is about the flags, not that.
var probeSegs = []probeSeg{
	// Connection 1: a duplicate ACK, a keep-alive and its ACK, then an
	// episode that ends, with a one-byte probe and its ACK.
	{0, 700, true, fSYN, 1000, 0, 65535, 0},
	{1, 700, false, fSYN | fACK, 5000, 1001, 65535, 0},
	{2, 700, true, fACK, 1001, 5001, 65535, 0},
	{3, 700, true, fPSH | fACK, 1001, 5001, 65535, 100},
	{4, 700, false, fPSH | fACK, 5001, 1101, 65535, 1000},
	{5, 700, true, fACK, 1101, 6001, 65535, 0},
	{6, 700, true, fACK, 1101, 6001, 65535, 0},     // duplicate_ack
	{2006, 700, false, fACK, 6000, 1101, 65535, 0}, // keep_alive
	{2007, 700, true, fACK, 1101, 6001, 65535, 0},  // keep_alive_ack
	{2100, 700, false, fPSH | fACK, 6001, 1101, 65535, 1000},
	{2101, 700, true, fACK, 1101, 7001, 0, 0},      // zero_window: episode 1 starts
	{2301, 700, false, fACK, 7001, 1101, 65535, 1}, // zero_window_probe (one byte)
	{2302, 700, true, fACK, 1101, 7001, 0, 0},      // zero_window_probe_ack
	{3302, 700, true, fACK, 1101, 7001, 65535, 0},  // window_update: episode 1 ends
	// Connection 2: an episode that never ends, probed the Linux way.
	{3400, 701, true, fSYN, 2000, 0, 65535, 0},
	{3401, 701, false, fSYN | fACK, 9000, 2001, 65535, 0},
	{3402, 701, true, fACK, 2001, 9001, 65535, 0},
	{3403, 701, true, fPSH | fACK, 2001, 9001, 65535, 100},
	{3404, 701, false, fPSH | fACK, 9001, 2101, 65535, 1000},
	{3405, 701, true, fACK, 2101, 10001, 0, 0},      // zero_window: episode 2
	{3605, 701, false, fACK, 10000, 2101, 65535, 0}, // keep_alive (the Linux probe)
	{3606, 701, true, fACK, 2101, 10001, 0, 0},
	{4606, 701, false, fACK, 10000, 2101, 65535, 0},
	{4607, 701, true, fACK, 2101, 10001, 0, 0},
}

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

// probesPcap builds the capture (microsecond pcap, Ethernet).
func probesPcap() []byte {
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
	const t0 = 1795000000 // 2026-11-18, seconds
	for i, s := range probeSegs {
		src, dst, sport, dport, smacX, dmacX := cli, srv, s.port, uint16(2049), cmac, smac
		if !s.toServer {
			src, dst, sport, dport, smacX, dmacX = srv, cli, 2049, s.port, smac, cmac
		}
		payload := bytes.Repeat([]byte{'p'}, s.n)
		tcp := make([]byte, 20, 20+len(payload))
		binary.BigEndian.PutUint16(tcp[0:], sport)
		binary.BigEndian.PutUint16(tcp[2:], dport)
		binary.BigEndian.PutUint32(tcp[4:], s.seq)
		binary.BigEndian.PutUint32(tcp[8:], s.ack)
		tcp[12] = 5 << 4
		tcp[13] = s.flags
		binary.BigEndian.PutUint16(tcp[14:], s.win)
		tcp = append(tcp, payload...)
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
		ip[9] = 6
		copy(ip[12:], src)
		copy(ip[16:], dst)
		binary.BigEndian.PutUint16(ip[10:], csum(ip, 0))
		frame := append(append(append(append([]byte{}, dmacX...), smacX...), 0x08, 0x00), ip...)
		frame = append(frame, tcp...)
		if len(frame) < 60 {
			frame = append(frame, make([]byte, 60-len(frame))...)
		}
		rec := make([]byte, 16)
		binary.LittleEndian.PutUint32(rec[0:], uint32(t0+s.ms/1000))
		binary.LittleEndian.PutUint32(rec[4:], uint32(s.ms%1000*1000))
		binary.LittleEndian.PutUint32(rec[8:], uint32(len(frame)))
		binary.LittleEndian.PutUint32(rec[12:], uint32(len(frame)))
		out.Write(rec)
		out.Write(frame)
	}
	return out.Bytes()
}

// TestMakeProbes writes testdata/probes.pcap with -make-probes; without
// it, it checks the committed file is what probeSegs describe (so the
// committed tshark view belongs to it).
func TestMakeProbes(t *testing.T) {
	b := probesPcap()
	if *makeProbes {
		if err := os.WriteFile(probesFile, b, 0o644); err != nil {
			t.Fatal(err)
		}
		t.Logf("wrote %s; now run: bash testdata/pcaps/make-captures.sh --views %s", probesFile, filepath.Join("..", "..", "tcpflow", probesFile))
		return
	}
	old, err := os.ReadFile(probesFile)
	if err != nil {
		t.Fatal(err)
	}
	if !bytes.Equal(old, b) {
		t.Errorf("%s differs from probeSegs: run go test ./tcpflow -run TestMakeProbes -make-probes and remake its tshark view", probesFile)
	}
}
