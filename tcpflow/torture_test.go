package tcpflow

import (
	"bytes"
	"compress/gzip"
	"flag"
	"fmt"
	"io"
	"os"
	"slices"
	"strconv"
	"strings"
	"testing"

	"github.com/nfsstall/nfsstall/capture"
	"github.com/nfsstall/nfsstall/internal/tsharkview"

	"github.com/nfsstall/nfsstall/internal/handcap"
)

// testdata/torture.pcap.gz is a "TCP analysis torture" capture: many
// short connections, each exercising one branch of Wireshark's TCP
// sequence analysis (tcp_analyze_sequence_number in packet-tcp.c) and its
// near misses: the same shape off by one in length, sequence or ACK
// number, window or flags. It is built by hand (tortureCases below; go
// test ./tcpflow -run TestMakeTorture -make-torture), and its oracle is
// tshark 4.0's view of it, testdata/torture.pcap.tcp.tsv, never this
// program's output: see TestTortureAgreesWithTshark and
// TestTortureRunsAgreeWithTshark. bash testdata/make-torture.sh remakes
// both (a changed case changes the frame numbers of those after it: the
// view must be remade with the capture).
var makeTorture = flag.Bool("make-torture", false, "rewrite testdata/torture.pcap.gz")

const tortureFile = "testdata/torture.pcap.gz"

// Flag shorthands for the cases.
const (
	tA   = handcap.ACK
	tPA  = handcap.PSH | handcap.ACK
	tFA  = handcap.FIN | handcap.ACK
	tRA  = handcap.RST | handcap.ACK
	tR   = handcap.RST
	tSYN = handcap.SYN
	tSA  = handcap.SYN | handcap.ACK
)

// tortureBuilder lays out the connections one after the other, one client
// port each (from 600), a second apart. Sequence and ACK numbers are given
// relative to the connection's initial sequence numbers (ci for the
// client, si for the server), as tshark shows them.
type tortureBuilder struct {
	segs   []handcap.Seg
	names  []string // the case of every frame, for messages
	name   string
	port   uint16
	ms     int64
	ci, si uint32
}

// start begins a new connection (case) with the given initial sequence
// numbers; nothing is sent yet.
func (b *tortureBuilder) start(name string, ci, si uint32) {
	if b.port == 0 {
		b.port = 599
	}
	b.port++
	b.ms += 1000
	b.name, b.ci, b.si = name, ci, si
}

func (b *tortureBuilder) add(dt int64, toServer bool, fl byte, seq, ack uint32, win uint16, n int, opts []byte) {
	b.ms += dt
	if toServer {
		seq, ack = b.ci+seq, b.si+ack
	} else {
		seq, ack = b.si+seq, b.ci+ack
	}
	if fl&handcap.ACK == 0 {
		ack = 0
	}
	b.segs = append(b.segs, handcap.Seg{MS: b.ms, Port: b.port, ToServer: toServer, Flags: fl, Seq: seq, Ack: ack, Win: win, N: n, Opts: opts})
	b.names = append(b.names, b.name)
}

// c sends from the client, s from the server: dt ms after the previous
// frame, flags, relative seq and ack, the window field, n bytes of data.
func (b *tortureBuilder) c(dt int64, fl byte, seq, ack uint32, win uint16, n int) {
	b.add(dt, true, fl, seq, ack, win, n, nil)
}

func (b *tortureBuilder) s(dt int64, fl byte, seq, ack uint32, win uint16, n int) {
	b.add(dt, false, fl, seq, ack, win, n, nil)
}

// open starts a connection with a captured handshake, 1 ms a step (so
// the first RTT, Wireshark's out-of-order threshold, is 2 ms): the SYN
// with window cwin and, when cws >= 0, the window scale option cws; the
// SYN-ACK with swin and sws; the client's ACK with cwin.
func (b *tortureBuilder) open(name string, ci, si uint32, cwin, swin uint16, cws, sws int) {
	b.start(name, ci, si)
	opt := func(ws int) []byte {
		if ws < 0 {
			return nil
		}
		return handcap.WScale(byte(ws))
	}
	b.add(0, true, tSYN, 0, 0, cwin, 0, opt(cws))
	b.add(1, false, tSA, 0, 1, swin, 0, opt(sws))
	b.c(1, tA, 1, 1, cwin, 0)
}

// exchange is a call of q bytes and a reply of r, each ACKed, from
// relative sequence numbers cs and ss, with windows cw and sw.
func (b *tortureBuilder) exchange(cs, ss uint32, q, r int, cw, sw uint16) {
	b.c(1, tPA, cs, ss, cw, q)
	b.s(1, tPA, ss, cs+uint32(q), sw, r)
	b.c(1, tA, cs+uint32(q), ss+uint32(r), cw, 0)
}

const (
	w   = 65535 // an unscaled window that never fills
	big = 1 << 31
)

// tortureCases builds the capture. Each comment names what tshark is
// expected to show, for the reader: the test compares with tshark's view,
// not with these comments.
func tortureCases() *tortureBuilder {
	b := &tortureBuilder{}

	// Keep-alives (seq = next-1 with 0 or 1 byte) and their ACKs.
	b.open("keep-alive", 1000, 5000, w, w, -1, -1)
	b.exchange(1, 1, 100, 1000, w, w)
	b.c(2000, tA, 100, 1001, w, 0) // keep_alive
	b.s(1, tA, 1001, 101, w, 0)    // keep_alive_ack
	b.c(2000, tA, 100, 1001, w, 1) // keep_alive, one byte
	b.s(1, tA, 1001, 101, w, 0)    // keep_alive_ack
	b.c(2000, tA, 99, 1001, w, 0)  // seq next-2: no keep-alive
	b.s(1, tA, 1001, 101, w, 0)    // a duplicate ACK, not a keep-alive ACK
	b.c(2000, tA, 100, 1001, w, 0) // keep_alive
	b.s(1, tA, 1001, 101, w-1, 0)  // a window change: window_update, not keep_alive_ack
	b.c(2000, tA, 100, 1001, w, 0) // keep_alive
	b.c(1, tA, 101, 1001, w, 0)    // the sender speaks again: its duplicate ACK
	b.s(1, tA, 1001, 101, w-1, 0)  // the last client segment was no keep-alive
	b.c(2000, tA, 100, 1001, w, 0) // keep_alive
	b.s(1, tA, 1001, 100, w-1, 0)  // another ACK number: no keep_alive_ack
	b.c(2000, tA, 100, 1001, w, 2) // two bytes at next-1: not a keep-alive
	b.s(1, tA, 1001, 102, w-1, 0)
	b.c(2000, tFA, 101, 1001, w, 0) // a FIN at next-1: not a keep-alive
	b.c(2000, tRA, 101, 1001, w, 0) // a RST at next-1: not a keep-alive

	// A keep-alive of the server; the client's ACK of it; a keep-alive
	// before anything was sent in its direction (mid-stream).
	b.start("keep-alive mid-stream", 70000, 90000)
	b.c(0, tA, 1, 1, w, 0)
	b.s(1, tA, 1, 1, w, 0)
	b.c(1, tA, 0, 1, w, 0) // keep_alive
	b.s(1, tA, 1, 1, w, 0) // keep_alive_ack
	b.s(1, tA, 0, 1, w, 0) // keep_alive
	b.c(1, tA, 1, 1, w, 0) // keep_alive_ack
	b.c(1, tA, 1, 1, w, 0) // duplicate_ack

	// Zero-window probes (one byte at next, the peer's window 0) and
	// their ACKs, the BSD way.
	b.open("zero-window probe", 2000, 6000, w, w, -1, -1)
	b.exchange(1, 1, 100, 1000, w, w)
	b.s(1, tPA, 1001, 101, w, 1000)
	b.c(1, tA, 101, 2001, 0, 0)   // zero_window
	b.s(200, tA, 2001, 101, w, 1) // zero_window_probe
	b.c(1, tA, 101, 2001, 0, 0)   // zero_window_probe_ack (same ACK)
	b.s(1, tA, 2001, 101, w, 0)   // a pure ACK at the edge of a zero window: not window_full
	b.c(300, tA, 101, 2001, 0, 0) // the ACK repeated: no probe ACK now
	b.c(300, tA, 101, 2001, w, 0) // window_update: the episode ends

	b.open("zero-window probes repeated", 2050, 6050, w, w, -1, -1)
	b.exchange(1, 1, 100, 1000, w, w)
	b.c(1, tA, 101, 1001, 0, 0)   // zero_window
	b.s(200, tA, 1001, 101, w, 1) // zero_window_probe
	b.c(1, tA, 101, 1001, 0, 0)   // zero_window_probe_ack
	b.s(400, tA, 1001, 101, w, 1) // zero_window_probe again: its byte was not counted
	b.c(1, tA, 101, 1001, 0, 0)   // zero_window_probe_ack
	b.c(1, tA, 101, 1001, w, 0)   // window_update
	b.s(1, tA, 1001, 101, w, 100) // the byte again, with more: no retransmission
	b.c(1, tA, 101, 1101, w, 0)

	b.open("zero-window probe ACKed", 2100, 6100, w, w, -1, -1)
	b.exchange(1, 1, 100, 1000, w, w)
	b.c(1, tA, 101, 1001, 0, 0)   // zero_window
	b.s(200, tA, 1001, 101, w, 1) // zero_window_probe
	b.c(1, tA, 101, 1002, 0, 0)   // the byte taken (ACK+1): ack_lost_segment, no probe ACK
	b.s(1, tA, 1002, 101, w, 100) // lost_segment: the probe's byte was not counted
	b.c(1, tA, 101, 1102, w, 0)   // ack_lost_segment

	b.open("zero-window probe ACK+2", 2200, 6200, w, w, -1, -1)
	b.exchange(1, 1, 100, 1000, w, w)
	b.c(1, tA, 101, 1001, 0, 0)   // zero_window
	b.s(200, tA, 1001, 101, w, 1) // zero_window_probe
	b.c(1, tA, 101, 1003, 0, 0)   // ACK+2: no probe ACK (acks unseen bytes)

	b.open("zero-window probe ACK opens", 2300, 6300, w, w, -1, -1)
	b.exchange(1, 1, 100, 1000, w, w)
	b.c(1, tA, 101, 1001, 0, 0)   // zero_window
	b.s(200, tA, 1001, 101, w, 1) // zero_window_probe
	b.c(1, tA, 101, 1001, 100, 0) // window not 0: window_update, not a probe ACK

	b.open("zero-window probe ACK with data", 2400, 6400, w, w, -1, -1)
	b.exchange(1, 1, 100, 1000, w, w)
	b.c(1, tA, 101, 1001, 0, 0)   // zero_window
	b.s(200, tA, 1001, 101, w, 1) // zero_window_probe
	b.c(1, tPA, 101, 1001, 0, 10) // data: no probe ACK

	b.open("zero-window probe two bytes", 2500, 6500, w, w, -1, -1)
	b.exchange(1, 1, 100, 1000, w, w)
	b.c(1, tA, 101, 1001, 0, 0)   // zero_window
	b.s(200, tA, 1001, 101, w, 2) // two bytes: no probe
	b.c(1, tA, 101, 1001, 0, 0)

	b.open("zero-window probe past next", 2600, 6600, w, w, -1, -1)
	b.exchange(1, 1, 100, 1000, w, w)
	b.c(1, tA, 101, 1001, 0, 0)   // zero_window
	b.s(200, tA, 1002, 101, w, 1) // one byte past next: lost_segment, no probe
	b.c(1, tA, 101, 1001, 0, 0)

	b.open("probe into window 1", 2700, 6700, w, w, -1, -1)
	b.exchange(1, 1, 100, 1000, w, w)
	b.c(1, tA, 101, 1001, 1, 0)   // window 1
	b.s(200, tA, 1001, 101, w, 1) // not a probe: it fills the window
	b.c(1, tA, 101, 1002, 0, 0)   // zero_window

	b.open("zero window with FIN and RST", 2800, 6800, w, w, -1, -1)
	b.exchange(1, 1, 100, 1000, w, w)
	b.c(1, tFA, 101, 1001, 0, 0) // FIN with window 0: no zero_window
	b.s(1, tFA, 1001, 102, w, 0)
	b.c(1, tRA, 102, 1002, 0, 0) // RST with window 0: no zero_window

	// Window updates: a pure ACK that repeats seq and ack with a new
	// window, and its near misses.
	b.open("window update", 3000, 7000, w, w, -1, -1)
	b.exchange(1, 1, 100, 1000, 1000, w)
	b.c(1, tA, 101, 1001, 2000, 0)  // window_update
	b.c(1, tA, 101, 1001, 2000, 0)  // duplicate_ack
	b.c(1, tA, 101, 1001, 3000, 0)  // window_update
	b.c(1, tPA, 101, 1001, 4000, 5) // data: not an update
	b.c(1, tA, 106, 1001, 4001, 0)  // window_update
	b.c(1, tA, 105, 1001, 4002, 0)  // seq next-1: keep_alive, not an update
	b.c(1, tA, 107, 1001, 4003, 0)  // seq next+1: lost_segment, not an update
	b.c(1, tA, 107, 1000, 4004, 0)  // another ACK: not an update
	b.c(1, tA, 107, 1000, 0, 0)     // window 0: zero_window, not an update
	b.c(1, tA, 107, 1000, 100, 0)   // window_update
	b.c(1, tFA, 107, 1000, 200, 0)  // FIN: not an update

	// Window full: data up to the edge of the peer's window (scaled when
	// both SYNs had the option).
	b.open("window full scaled", 3100, 7100, 300, 512, 2, 3) // client window 100<<2 after the SYN
	b.c(1, tA, 1, 1, 100, 0)
	b.c(1, tPA, 1, 1, 100, 10)
	b.s(1, tPA, 1, 11, 512, 400)   // window_full (1 + 400 = 1 + 100<<2)
	b.c(1, tA, 11, 401, 100, 0)    //
	b.s(1, tPA, 401, 11, 512, 399) // one short
	b.s(1, tPA, 800, 11, 512, 1)   // window_full, one byte
	b.c(1, tA, 11, 801, 100, 0)
	b.c(1, tPA, 11, 801, 100, 4096) // window_full: the server's window 512<<3 from its ACK 11
	b.s(1, tA, 801, 4107, 512, 0)

	b.open("window full SYN-ACK without option", 3200, 7200, 300, 512, 2, -1) // no scaling either way
	b.c(1, tPA, 1, 1, 100, 10)
	b.s(1, tPA, 1, 11, 512, 400) // not full: the window is 100
	b.c(1, tA, 11, 401, 100, 0)
	b.s(1, tPA, 401, 11, 512, 100) // window_full, 401 + 100
	b.c(1, tA, 11, 501, 100, 0)
	b.c(1, tPA, 11, 501, 100, 512) // window_full, unscaled 512

	b.open("window full SYN without option", 3300, 7300, 300, 512, -1, 3) // no scaling
	b.c(1, tPA, 1, 1, 100, 10)
	b.s(1, tPA, 1, 11, 512, 100) // window_full
	b.c(1, tA, 11, 101, 100, 0)
	b.c(1, tPA, 11, 101, 100, 512) // window_full, unscaled

	b.open("window scale 15", 3400, 7400, 300, 512, 15, 0) // 15 is taken as 14
	b.c(1, tA, 1, 1, 0, 0)                                 // zero_window
	b.c(1, tA, 1, 1, 1, 0)                                 // window_update (16384)
	b.s(1, tPA, 1, 1, 512, 10)
	b.c(1, tA, 1, 11, 1, 0)

	b.open("window scale 0, server", 3410, 7410, 300, 512, 2, 0) // both scaled, the server's by 0
	b.c(1, tA, 1, 1, 100, 0)                                     // 400 bytes
	b.s(1, tPA, 1, 1, 512, 400)                                  // window_full
	b.c(1, tA, 1, 401, 100, 0)                                   //
	b.c(1, tPA, 1, 401, 100, 512)                                // window_full, 512<<0
	b.s(1, tA, 401, 513, 512, 0)

	b.open("window scale 1", 3415, 7415, 300, 512, 1, 1)
	b.c(1, tA, 1, 1, 200, 0)    // 400 bytes
	b.s(1, tPA, 1, 1, 512, 400) // window_full
	b.c(1, tA, 1, 401, 200, 0)

	b.open("window scale 0, client", 3420, 7420, 300, 64, 0, 3)
	b.s(1, tA, 1, 1, 64, 0)      // 512 bytes
	b.c(1, tPA, 1, 1, 300, 512)  // window_full, 64<<3
	b.s(1, tPA, 1, 513, 64, 300) // window_full, 300<<0
	b.c(1, tA, 513, 301, 300, 0)

	// A SYN-ACK without the option, then one with it: which scaling
	// holds is tshark's to say (window_full shows it).
	for _, cws := range []int{2, 0} {
		b.start(fmt.Sprintf("SYN-ACK without, then with, the option (client %d)", cws), 3430+uint32(cws), 7430)
		b.add(0, true, tSYN, 0, 0, 300, 0, handcap.WScale(byte(cws)))
		b.add(1, false, tSA, 0, 1, 512, 0, nil)
		b.add(1, false, tSA, 0, 1, 512, 0, handcap.WScale(3))
		b.c(1, tA, 1, 1, 100, 0)
		b.s(1, tPA, 1, 1, 64, 100)   // full if the client's window is not scaled
		b.c(1, tA, 1, 101, 100, 0)   //
		b.s(1, tPA, 101, 1, 64, 400) // full if it is scaled by 2
		b.c(1, tPA, 1, 501, 100, 64) // full if the server's is not scaled
		b.s(1, tA, 501, 65, 64, 0)
		b.c(1, tPA, 65, 501, 100, 512) // full if it is scaled by 3
	}

	b.start("RST first", 3490, 7490) // mid-stream, a RST first from the client
	b.c(0, tR, 1, 0, w, 0)
	b.c(1, tPA, 101, 1, w, 10) // see tortureExceptions
	b.s(1, tA, 1, 111, w, 0)
	b.c(1, tPA, 111, 1, w, 10)

	b.start("SYN-ACK without its SYN", 3480, 7480) // the client's SYN not captured
	b.add(0, false, tSA, 0, 1, 64, 0, handcap.WScale(3))
	b.c(1, tA, 1, 1, 100, 0)
	b.s(1, tA, 1, 1, 64, 0)
	b.c(1, tPA, 1, 1, 100, 64)   // full if the server's window is not scaled
	b.s(1, tA, 1, 65, 64, 0)     //
	b.c(1, tPA, 65, 1, 100, 512) // full if it is scaled by 3
	b.s(1, tPA, 1, 577, 64, 100) // full if the client's is not scaled

	b.start("SYN without its SYN-ACK", 3485, 7485) // the server's SYN-ACK not captured
	b.add(0, true, tSYN, 0, 0, 100, 0, handcap.WScale(2))
	b.c(2, tA, 1, 1, 100, 0)
	b.s(1, tA, 1, 1, 64, 0)
	b.s(1, tPA, 1, 1, 64, 100)   // full if the client's window is not scaled
	b.c(1, tA, 1, 101, 100, 0)   //
	b.s(1, tPA, 101, 1, 64, 400) // full if it is scaled by 2
	b.c(1, tPA, 1, 501, 100, 64) // full if the server's is not scaled

	b.start("window full mid-stream", 3500, 7500) // no handshake: scaling unknown
	b.c(0, tPA, 1, 1, 100, 10)
	b.s(1, tPA, 1, 11, 512, 100) // no window_full: the scale is not known
	b.c(1, tA, 11, 101, 100, 0)

	b.open("window full before the handshake ends", 3600, 7600, 300, 512, 2, 3)
	b.s(1, tPA, 1, 1, 512, 300) // right after the SYN-ACK, against the SYN's window

	// Duplicate ACKs and fast retransmission.
	b.open("fast retransmission", 4000, 8000, w, w, -1, -1)
	b.c(1, tPA, 1, 1, w, 100)
	b.s(1, tA, 1, 101, w, 1000)
	b.s(1, tA, 2001, 101, w, 1000) // lost_segment
	b.c(1, tA, 101, 1001, w, 0)
	b.c(1, tA, 101, 1001, w, 0)    // duplicate_ack 1
	b.c(1, tA, 101, 1001, w, 0)    // duplicate_ack 2
	b.c(1, tA, 101, 1001, w, 0)    // duplicate_ack 3
	b.s(1, tA, 1001, 101, w, 1000) // fast_retransmission
	b.c(1, tA, 101, 3001, w, 0)

	b.open("fast retransmission one dup ACK", 4100, 8100, w, w, -1, -1)
	b.c(1, tPA, 1, 1, w, 100)
	b.s(1, tA, 1, 101, w, 1000)
	b.s(1, tA, 2001, 101, w, 1000) // lost_segment
	b.c(1, tA, 101, 1001, w, 0)
	b.c(1, tA, 101, 1001, w, 0)     // duplicate_ack 1
	b.s(30, tA, 1001, 101, w, 1000) // one dup ACK only: retransmission
	b.c(1, tA, 101, 3001, w, 0)

	b.open("fast retransmission too late", 4200, 8200, w, w, -1, -1)
	b.c(1, tPA, 1, 1, w, 100)
	b.s(1, tA, 1, 101, w, 1000)
	b.s(1, tA, 2001, 101, w, 1000) // lost_segment
	b.c(1, tA, 101, 1001, w, 0)
	b.c(1, tA, 101, 1001, w, 0)     // duplicate_ack
	b.c(1, tA, 101, 1001, w, 0)     // duplicate_ack
	b.s(20, tA, 1001, 101, w, 1000) // 20 ms after the last: retransmission
	b.c(1, tA, 101, 3001, w, 0)

	b.open("fast retransmission 19 ms", 4300, 8300, w, w, -1, -1)
	b.c(1, tPA, 1, 1, w, 100)
	b.s(1, tA, 1, 101, w, 1000)
	b.s(1, tA, 2001, 101, w, 1000) // lost_segment
	b.c(1, tA, 101, 1001, w, 0)
	b.c(1, tA, 101, 1001, w, 0)     // duplicate_ack
	b.c(10, tA, 101, 1001, w, 0)    // duplicate_ack
	b.s(19, tA, 1001, 101, w, 1000) // fast_retransmission (19 ms after the last dup ACK)
	b.c(1, tA, 101, 3001, w, 0)

	b.open("fast retransmission elsewhere", 4400, 8400, w, w, -1, -1)
	b.c(1, tPA, 1, 1, w, 100)
	b.s(1, tA, 1, 101, w, 2000)
	b.s(1, tA, 3001, 101, w, 1000) // lost_segment
	b.c(1, tA, 101, 1001, w, 0)    // 1001 was sent: nothing
	b.c(1, tA, 101, 1001, w, 0)    // duplicate_ack
	b.c(1, tA, 101, 1001, w, 0)    // duplicate_ack
	b.s(1, tA, 1501, 101, w, 500)  // not at the ACK: no fast retransmission
	b.c(1, tA, 101, 4001, w, 0)    // ack_lost_segment (2001-3001 never seen)

	b.open("dup ACKs broken by data", 4500, 8500, w, w, -1, -1)
	b.c(1, tPA, 1, 1, w, 100)
	b.s(1, tA, 1, 101, w, 1000)
	b.s(1, tA, 2001, 101, w, 1000) // lost_segment
	b.c(1, tA, 101, 1001, w, 0)
	b.c(1, tA, 101, 1001, w, 0)    // duplicate_ack 1
	b.c(1, tA, 101, 1001, w, 0)    // duplicate_ack 2
	b.c(1, tPA, 101, 1001, w, 10)  // data with the same ACK
	b.c(1, tA, 111, 1001, w, 0)    // duplicate_ack 3: data with the same ACK resets no count
	b.s(1, tA, 1001, 111, w, 1000) // fast_retransmission
	b.c(1, tA, 111, 3001, w, 0)

	b.open("new data after dup ACKs", 4550, 8550, w, w, -1, -1)
	b.exchange(1, 1, 100, 1000, w, w)
	b.c(1, tA, 101, 1001, w, 0)   // duplicate_ack 1
	b.c(1, tA, 101, 1001, w, 0)   // duplicate_ack 2
	b.s(1, tA, 1001, 101, w, 100) // new data at the ACK: no fast retransmission
	b.c(1, tA, 101, 1101, w, 0)

	b.open("dup ACK near misses", 4600, 8600, w, w, -1, -1)
	b.exchange(1, 1, 100, 1000, w, w)
	b.c(1, tA, 101, 1001, w, 0)    // duplicate_ack
	b.c(1, tA, 101, 1001, w-1, 0)  // window change: window_update
	b.c(1, tA, 101, 1001, w-1, 0)  // duplicate_ack 1 again
	b.c(1, tA, 100, 1001, w-1, 0)  // seq next-1: keep_alive
	b.c(1, tA, 101, 1000, w-1, 0)  // ack back by one: nothing
	b.c(1, tA, 101, 1000, w-1, 0)  // duplicate_ack
	b.c(1, tFA, 101, 1000, w-1, 0) // FIN: not a duplicate
	b.s(1, tFA, 1001, 102, w, 0)
	b.c(1, tA, 102, 1002, w-1, 0)

	// Retransmissions, out of order, spurious.
	b.open("out of order", 5000, 9000, w, w, -1, -1)
	b.c(1, tPA, 1, 1, w, 100)
	b.s(1, tA, 1, 101, w, 1000)
	b.s(0, tA, 2001, 101, w, 1000) // lost_segment
	b.s(1, tA, 1001, 101, w, 1000) // out_of_order (1 ms < 2 ms)
	b.s(0, tA, 3001, 101, w, 500)
	b.s(0, tA, 4001, 101, w, 500) // lost_segment
	b.s(1, tA, 3501, 101, w, 500) // out_of_order: ends at 4001, next is 4501
	b.c(1, tA, 101, 4501, w, 0)

	b.open("out of order ends at next", 5100, 9100, w, w, -1, -1)
	b.c(1, tPA, 1, 1, w, 100)
	b.s(1, tA, 1, 101, w, 1000)
	b.s(0, tA, 2001, 101, w, 1000) // lost_segment
	b.s(1, tA, 1001, 101, w, 2000) // ends at next: retransmission, not out_of_order
	b.c(1, tA, 101, 3001, w, 0)

	b.open("out of order too late", 5200, 9200, w, w, -1, -1)
	b.c(1, tPA, 1, 1, w, 100)
	b.s(1, tA, 1, 101, w, 1000)
	b.s(0, tA, 2001, 101, w, 1000) // lost_segment
	b.s(2, tA, 1001, 101, w, 1000) // 2 ms: not below the threshold
	b.c(1, tA, 101, 3001, w, 0)

	// The first RTT is timed from the SYN to the first ACK after the
	// handshake, here the server's (51 ms): out of order within 51 ms.
	b.start("server first after the handshake", 5250, 9250)
	b.add(0, true, tSYN, 0, 0, w, 0, nil)
	b.add(1, false, tSA, 0, 1, w, 0, nil)
	b.s(50, tPA, 1, 1, w, 10)
	b.c(49, tA, 1, 11, w, 0)
	b.s(1, tA, 11, 1, w, 100)
	b.s(0, tA, 211, 1, w, 100)  // lost_segment
	b.s(50, tA, 111, 1, w, 100) // out_of_order (50 ms < 51 ms)

	b.start("out of order mid-stream", 5300, 9300) // no RTT: the threshold is 3 ms
	b.s(0, tA, 1, 1, w, 1000)
	b.s(0, tA, 2001, 1, w, 1000) // lost_segment
	b.s(2, tA, 1001, 1, w, 1000) // out_of_order (2 ms < 3 ms)
	b.s(0, tA, 4001, 1, w, 1000) // lost_segment
	b.s(3, tA, 3001, 1, w, 1000) // retransmission (3 ms)
	b.c(1, tA, 1, 5001, w, 0)

	b.open("spurious", 5400, 9400, w, w, -1, -1)
	b.exchange(1, 1, 100, 1000, w, w)
	b.s(100, tA, 1, 101, w, 1000)  // spurious_retransmission (all ACKed)
	b.s(100, tA, 2, 101, w, 1000)  // ends one past the ACK: retransmission
	b.s(100, tA, 1, 101, w, 999)   // ends one before: spurious
	b.c(100, tPA, 1, 1001, w, 100) // the client's, spurious
	b.s(1, tPA, 1001, 101, w, 1)

	b.start("SYN and FIN retransmitted", 5500, 9500)
	b.add(0, true, tSYN, 0, 0, w, 0, nil)
	b.add(1000, true, tSYN, 0, 0, w, 0, nil) // SYN again: retransmission
	b.add(1, false, tSA, 0, 1, w, 0, nil)
	b.add(1000, false, tSA, 0, 1, w, 0, nil) // SYN-ACK again: retransmission
	b.c(1, tA, 1, 1, w, 0)
	b.c(1, tA, 1, 1, w, 0) // duplicate_ack
	b.c(1, tFA, 1, 1, w, 0)
	b.c(200, tFA, 1, 1, w, 0) // FIN again: retransmission
	b.s(1, tFA, 1, 2, w, 0)
	b.c(1, tA, 2, 2, w, 0)

	b.start("data before the SYN-ACK", 5550, 9550)
	b.add(0, true, tSYN, 0, 0, w, 0, nil)
	b.c(1, tPA, 1, 0, w, 5) // (a fast-open client's data)
	b.add(1, false, tSA, 0, 1, w, 0, nil)
	b.c(1, tPA, 1, 1, w, 5) // retransmission
	b.s(1, tA, 1, 6, w, 0)

	b.open("one byte at next-1 with FIN or RST", 5560, 9560, w, w, -1, -1)
	b.exchange(1, 1, 100, 1000, w, w)
	b.c(1, tPA, 101, 1001, w, 10)
	b.c(100, tFA, 110, 1001, w, 1) // not a keep-alive (FIN): retransmission
	b.s(1, tFA, 1001, 112, w, 0)
	b.c(100, tRA, 111, 1002, w, 1) // not a keep-alive (RST)

	b.open("SYN after the handshake", 5600, 9600, w, w, -1, -1)
	b.add(1000, true, tSYN, 0, 0, w, 0, nil) // SYN again: retransmission
	b.c(1, tA, 1, 1, w, 0)                   // see tortureExceptions

	b.open("pure ACK past next", 5700, 9700, w, w, -1, -1)
	b.exchange(1, 1, 100, 1000, w, w)
	b.c(1, tA, 110, 1001, w, 0)   // lost_segment
	b.c(1, tA, 110, 1001, w, 0)   // duplicate_ack: next is now 110
	b.s(1, tA, 1001, 110, w, 0)   // ack_lost_segment
	b.c(1, tR, 120, 0, w, 0)      // RST past next: no lost_segment
	b.c(1, tPA, 120, 1001, w, 10) // next is now 120: no lost_segment

	b.open("pure ACK after a RST", 5800, 9800, w, w, -1, -1)
	b.exchange(1, 1, 100, 1000, w, w)
	b.c(1, tR, 101, 0, w, 0)
	b.c(1, tA, 101, 1001, w, 0) // see tortureExceptions

	// Re-sends never ACKed: the stall evidence (TestTortureRunsAgreeWithTshark).
	b.open("never ACKed", 5900, 9900, w, w, -1, -1)
	b.exchange(1, 1, 100, 1000, w, w)
	b.s(1, tPA, 1001, 101, w, 100)
	b.s(0, tPA, 1101, 101, w, 100)
	b.c(1, tA, 101, 1101, w, 0)
	b.s(200, tPA, 1101, 101, w, 100) // retransmission
	b.s(400, tPA, 1101, 101, w, 100) // retransmission
	b.s(800, tPA, 1101, 101, w, 100) // retransmission
	b.c(1, tPA, 101, 1101, w, 50)    // the client goes on
	b.c(300, tPA, 101, 1101, w, 50)  // and re-sends its call, never ACKed either

	b.open("re-send runs, one ACKed, one longer", 5910, 9910, w, w, -1, -1)
	b.exchange(1, 1, 100, 1000, w, w)
	b.s(1, tPA, 1001, 101, w, 100)
	b.s(0, tPA, 1101, 101, w, 100)
	b.s(0, tPA, 1201, 101, w, 100)
	b.s(200, tPA, 1001, 101, w, 100) // retransmission: a run at 1001
	b.s(0, tPA, 1101, 101, w, 100)   // retransmission: a run at 1101
	b.s(400, tPA, 1101, 101, w, 200) // retransmission: the run at 1101, longer
	b.c(1, tA, 101, 1101, w, 0)      // the run at 1001 is ACKed
	b.c(50, tA, 101, 1201, w, 0)     // not the run at 1101 (to 1301)

	b.open("re-send after reordering", 5920, 9920, w, w, -1, -1)
	b.exchange(1, 1, 100, 1000, w, w)
	b.s(1, tPA, 1101, 101, w, 100)   // lost_segment
	b.s(1, tPA, 1001, 101, w, 100)   // out_of_order: ends where the first starts
	b.s(200, tPA, 1101, 101, w, 100) // retransmission of the first, named as original

	b.start("re-send of bytes before the capture", 5930, 9930) // mid-stream
	b.s(0, tPA, 1001, 101, w, 100)
	b.s(10, tPA, 901, 101, w, 100) // retransmission of bytes never seen: no stream offset

	// Lost segments and ACKs of segments not seen.
	b.open("lost and ACKed unseen", 6000, 10000, w, w, -1, -1)
	b.exchange(1, 1, 100, 1000, w, w)
	b.s(1, tA, 1002, 101, w, 100) // lost_segment (one byte missing)
	b.c(1, tA, 101, 1001, w, 0)   // duplicate_ack
	b.c(1, tA, 101, 1102, w, 0)   // ack_lost_segment: past the last contiguous byte
	b.s(1, tRA, 1200, 101, w, 0)  // RST past next: no lost_segment

	b.open("ACKed unseen, contiguous", 6010, 10010, w, w, -1, -1)
	b.exchange(1, 1, 100, 1000, w, w)
	b.s(1, tA, 1101, 101, w, 100) // lost_segment
	b.s(1, tA, 1001, 101, w, 100) // out_of_order: fills the hole
	b.c(1, tA, 101, 1201, w, 0)   // everything seen: nothing
	b.c(1, tA, 101, 1202, w, 0)   // ack_lost_segment (one byte past)

	b.open("ACKed unseen, one byte", 6020, 10020, w, w, -1, -1)
	b.exchange(1, 1, 100, 1000, w, w)
	b.c(1, tA, 101, 1002, w, 0) // ack_lost_segment
	b.s(1, tA, 1001, 102, w, 0) // and the other way

	b.open("ACKed unseen, again", 6030, 10030, w, w, -1, -1)
	b.exchange(1, 1, 100, 1000, w, w)
	b.c(1, tA, 101, 1010, w, 0) // ack_lost_segment
	b.c(1, tA, 101, 1020, w, 0) // see tortureExceptions
	b.s(1, tA, 1001, 101, w, 100)
	b.c(1, tA, 101, 1110, w, 0) // see tortureExceptions

	b.open("ACK flag off", 6100, 10100, w, w, -1, -1)
	b.exchange(1, 1, 100, 1000, w, w)
	b.add(1, true, tR, 101, 5000, w, 0, nil) // a RST without ACK: ack is 0

	// Sequence numbers that wrap at 2^32, and the ambiguous 2^31.
	b.open("wrap", 1<<32-60, 1<<32-500, w, w, -1, -1)
	b.exchange(1, 1, 100, 1000, w, w) // both wrap
	b.s(1, tA, 1001, 101, w, 1000)
	b.s(0, tA, 3001, 101, w, 1000) // lost_segment
	b.s(1, tA, 2001, 101, w, 1000) // out_of_order
	b.c(1, tA, 101, 4001, w, 0)
	b.c(1, tA, 101, 4001, w, 0) // duplicate_ack
	b.c(1, tA, 101, 4002, w, 0) // ack_lost_segment

	b.open("next is 0", 1<<32-1001, 1<<32-1101, w, w, -1, -1)
	b.exchange(1, 1, 1000, 1100, w, w) // both next at raw 0
	b.c(100, tA, 1, 1101, w, 1000)     // see tortureExceptions
	b.s(100, tA, 1100, 1001, w, 0)
	b.c(1, tA, 1001, 1101, w, 0)

	b.open("wrap to 1", 1<<32-1000, 1<<32-1100, w, w, -1, -1)
	b.exchange(1, 1, 1000, 1100, w, w) // both next at raw 1
	b.c(100, tA, 1, 1101, w, 1000)     // spurious_retransmission
	b.s(100, tA, 1100, 1001, w, 0)     // keep_alive at raw 0
	b.c(1, tA, 1001, 1101, w, 0)       // keep_alive_ack
	b.s(1, tA, 1102, 1001, w, 10)      // lost_segment

	b.open("2^31 ahead", 7000, 11000, w, w, -1, -1)
	b.exchange(1, 1, 100, 1000, w, w)
	b.s(1, tA, 1001+big, 101, w, 10) // exactly 2^31 past next
	b.c(1, tA, 101, 1001+big, w, 0)  // an ACK 2^31 past

	b.open("2^31 - 1 ahead", 7100, 11100, w, w, -1, -1)
	b.exchange(1, 1, 100, 1000, w, w)
	b.s(1, tA, 1001+big-1, 101, w, 10) // lost_segment
	b.c(1, tA, 101, 1001+big-1, w, 0)  // ack_lost_segment

	b.open("2^31 + 1 ahead", 7200, 11200, w, w, -1, -1)
	b.exchange(1, 1, 100, 1000, w, w)
	b.s(1, tA, 1001+big+1, 101, w, 10) // behind by 2^31-1: retransmission
	b.c(1, tA, 101, 1001+big+1, w, 0)

	return b
}

// TestMakeTorture writes testdata/torture.pcap.gz with -make-torture;
// without it, it checks the committed file holds what tortureCases
// describes (so the committed tshark view belongs to it).
func TestMakeTorture(t *testing.T) {
	b := handcap.Pcap(tortureCases().segs)
	if *makeTorture {
		var z bytes.Buffer
		zw := gzip.NewWriter(&z) // no name, no time: the same bytes every run
		zw.Write(b)
		if err := zw.Close(); err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(tortureFile, z.Bytes(), 0o644); err != nil {
			t.Fatal(err)
		}
		t.Logf("wrote %s (%d frames)", tortureFile, len(tortureCases().segs))
		return
	}
	f, err := os.Open(tortureFile)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	zr, err := gzip.NewReader(f)
	if err != nil {
		t.Fatal(err)
	}
	old, err := io.ReadAll(zr)
	if err != nil {
		t.Fatal(err)
	}
	if !bytes.Equal(old, b) {
		t.Errorf("%s differs from tortureCases: run bash testdata/make-torture.sh", tortureFile)
	}
}

// tortureFrame is what nfsstall made of one frame of the torture capture.
type tortureFrame struct {
	flags   Analysis
	dupacks int // the sender's duplicate ACK count after the frame
}

// tortureHandler records the flags of every frame, and reads the
// sender's duplicate ACK count off its connection (Segment is called
// after the analysis of the segment); and each connection's summary.
type tortureHandler struct {
	flagRecorder
	f      **Flows
	frames map[int64]*tortureFrame
	counts map[uint16][2][numAnalysis]int64 // by client port
	byPort map[uint16]*TCPSummary
}

type tortureConn struct {
	*tortureHandler
	port uint16
}

func (c tortureConn) Close(at FrameRef, s *TCPSummary) {
	c.counts[c.port] = s.Count
	c.byPort[c.port] = s
	c.tortureHandler.Close(at, s)
}

func (h *tortureHandler) Segment(d Dir, s *Segment, a Analysis, at FrameRef) {
	fr := &tortureFrame{flags: a, dupacks: -1}
	for c := range (*h.f).conns.all() {
		if k := c.key; k.proto == ProtoTCP && (k.client.Port == s.Src.Port || k.client.Port == s.Dst.Port) && !c.gone {
			fr.dupacks = c.tcp[d].dupacks
		}
	}
	h.frames[at.Frame] = fr
}

func analyseTorture(t *testing.T) (map[int64]*tortureFrame, *flagRecorder, *tortureHandler) {
	frames, rec, h, _ := analyseFile(t, tortureFile, DefaultLimits)
	return frames, rec, h
}

// analyseFile runs the TCP analysis over path (server port 2049) with the
// given limits.
func analyseFile(t *testing.T, path string, limits Limits) (map[int64]*tortureFrame, *flagRecorder, *tortureHandler, *Flows) {
	rec := &flagRecorder{flags: map[int64]Analysis{}}
	var f *Flows
	h := &tortureHandler{f: &f, frames: map[int64]*tortureFrame{}, counts: map[uint16][2][numAnalysis]int64{}, byPort: map[uint16]*TCPSummary{}}
	f = NewFlows([]uint16{2049}, limits, func(ci *ConnInfo) ConnHandler { return tortureConn{h, ci.Client.Port} })
	in, err := capture.OpenInputs([]string{path}, nil)
	if err != nil {
		t.Fatal(err)
	}
	defer in.Close()
	var p capture.Packet
	for in.Next(&p) == nil {
		f.Packet(&p)
	}
	f.Finish()
	rec.sums = h.sums
	for n, fr := range h.frames {
		rec.flags[n] = fr.flags
	}
	return h.frames, rec, h, f
}

// tortureExceptions are the flags where nfsstall deliberately differs
// from tshark on the torture capture, by case name and flag, with why.
// Keep it short: every entry is a frame the comparison does not check.
var tortureExceptions = map[string]string{
	// Wireshark keeps the ACK field of a segment without the ACK flag
	// (0 in a SYN or a RST) as the sender's last ACK, so the sender's next
	// pure ACK repeating its last real one is no duplicate for tshark.
	// nfsstall ignores the field without the flag, as RFC 9293 (3.1) says
	// it must: for it that ACK is a duplicate.
	"SYN after the handshake/duplicate_ack": "the ACK field of a segment without ACK",
	"pure ACK after a RST/duplicate_ack":    "the ACK field of a segment without ACK",
	// The first segment of a direction that the capture shows is a RST:
	// Wireshark takes its sequence number as where the sender is, and
	// flags the sender's next data lost_segment, and the peer's ACK of
	// that data ack_lost_segment. nfsstall learns it from the next
	// segment instead: a RST may be out of the window (RFC 5961 has the
	// receiver ignore it), and the connection go on.
	"RST first/lost_segment":     "a RST's sequence number, first in its direction",
	"RST first/ack_lost_segment": "a RST's sequence number, first in its direction",
	// Wireshark takes a sequence number of 0 for "none seen yet": a
	// sender whose next sequence number is exactly 2^32 (0) has, for
	// tshark, sent nothing, so a re-send is no retransmission, and an ACK
	// of 0 is compared against nothing known. nfsstall has no such value:
	// 0 is a sequence number like any other ("wrap to 1" is the same
	// connection one byte later, and agrees).
	"next is 0/retransmission":          "Wireshark's 0 sentinel",
	"next is 0/spurious_retransmission": "Wireshark's 0 sentinel",
	"next is 0/ack_lost_segment":        "Wireshark's 0 sentinel",
	// After an ACK of bytes never seen, tshark 4.0 flags the next ACK
	// past them only after a lost segment, and once more at most (the
	// rule was not found); nfsstall flags every ACK past the highest
	// contiguous byte seen, until the sender's segments reach it. Not
	// yet matched: this case alone keeps the shapes that differ.
	"ACKed unseen, again/ack_lost_segment": "repeated ACKs past unseen bytes",
}

// TestTortureAgreesWithTshark compares, frame by frame, every tcp.analysis
// flag nfsstall computes on the torture capture with tshark's view of it,
// both ways (a flag missing or extra fails), and the duplicate ACK number
// of every duplicate ACK; and the zero-window episodes read off the view.
func TestTortureAgreesWithTshark(t *testing.T) {
	rows, err := tsharkview.Read("testdata/torture.pcap.tcp.tsv")
	if err != nil {
		t.Fatal(err)
	}
	names := tortureCases().names
	if len(rows) != len(names) {
		t.Fatalf("tshark's view has %d frames, tortureCases %d: run bash testdata/make-torture.sh", len(rows), len(names))
	}
	frames, rec, h := analyseTorture(t)
	counts := h.counts
	// Per connection and direction, how many frames carry each flag:
	// tshark's, or nfsstall's on the frames of tortureExceptions.
	wantCounts := map[uint16][2][numAnalysis]int64{}
	seen := map[Analysis]int{}
	used := map[string]bool{}
	for _, row := range rows {
		n, err := strconv.ParseInt(row["frame.number"], 10, 64)
		if err != nil {
			t.Fatalf("bad frame.number %q", row["frame.number"])
		}
		name := names[n-1]
		fr := frames[n]
		if fr == nil {
			t.Errorf("frame %d (%s): not analysed", n, name)
			continue
		}
		for _, flag := range AnalysisFlags() {
			col := "tcp.analysis." + flag.Name()
			v, ok := row[col]
			if !ok {
				t.Fatalf("tshark's view has no column %s", col)
			}
			want, got := v == "1", fr.flags&flag != 0
			if want {
				seen[flag]++
			}
			if want == got {
				if want {
					countFrame(wantCounts, row, flag)
				}
				continue
			}
			if why, ok := tortureExceptions[name+"/"+flag.Name()]; ok {
				used[name+"/"+flag.Name()] = true
				if got {
					countFrame(wantCounts, row, flag)
				}
				t.Logf("frame %d (%s): %s: tshark %v, nfsstall %v (known: %s)", n, name, flag.Name(), want, got, why)
				continue
			}
			t.Errorf("frame %d (%s): %s: tshark %v, nfsstall %v", n, name, flag.Name(), want, got)
		}
		if num := row["tcp.analysis.duplicate_ack_num"]; num != "" && fr.flags&ADuplicateAck != 0 {
			if want, _ := strconv.Atoi(num); fr.dupacks != want {
				t.Errorf("frame %d (%s): duplicate ACK number %d, tshark %d", n, name, fr.dupacks, want)
			}
		}
	}
	if len(counts) < len(wantCounts) || len(counts) < 40 {
		t.Errorf("%d connections closed with flag counts, tshark's view has flags on %d", len(counts), len(wantCounts))
	}
	for port, got := range counts {
		if want := wantCounts[port]; got != want {
			t.Errorf("client port %d: flag counts %v, tshark %v", port, got, want)
		}
	}
	for k := range tortureExceptions {
		if !used[k] {
			t.Errorf("exception %q: nfsstall and tshark agree there now: remove it", k)
		}
	}
	// Every flag must be shown by tshark somewhere here, or a bug that
	// drops it passes.
	for _, flag := range AnalysisFlags() {
		if seen[flag] < 2 {
			t.Errorf("tshark flags %s on %d frames of the torture capture: too few to catch a bug", flag.Name(), seen[flag])
		}
	}

	// Zero-window episodes, as in TestZeroWindowEpisodesAgreeWithTshark.
	want := tsharkEpisodes(t, rows)
	var got []tsharkEpisode
	for _, s := range rec.sums {
		for _, zw := range s.ZeroWins {
			e := tsharkEpisode{start: zw.Start.Frame, startT: zw.Start.Time, probes: zw.Probes}
			if zw.Closed {
				e.end, e.endT = zw.End.Frame, zw.End.Time
			}
			got = append(got, e)
		}
	}
	str := func(es []tsharkEpisode) string {
		var b strings.Builder
		for _, e := range es {
			fmt.Fprintf(&b, "[%d-%d %d probes %d] ", e.start, e.end, e.endT-e.startT, e.probes)
		}
		return b.String()
	}
	slicesSortEpisodes(got)
	if str(got) != str(want) {
		t.Errorf("zero-window episodes\nnfsstall %s\ntshark   %s", str(got), str(want))
	}
}

// countFrame counts flag on a frame of the view, by client port and
// direction.
func countFrame(m map[uint16][2][numAnalysis]int64, row tsharkview.Row, flag Analysis) {
	src, _ := strconv.Atoi(row["tcp.srcport"])
	dst, _ := strconv.Atoi(row["tcp.dstport"])
	port, d := uint16(src), ToServer
	if src == 2049 {
		port, d = uint16(dst), ToClient
	}
	c := m[port]
	for i := range numAnalysis {
		if flag == 1<<i {
			c[d][i]++
		}
	}
	m[port] = c
}

// TestAnalysisNames: each flag has the name of its tcp.analysis field
// (the column of tshark's view it is compared with), and nothing else
// has a name or a count.
func TestAnalysisNames(t *testing.T) {
	want := []string{"retransmission", "fast_retransmission", "spurious_retransmission", "out_of_order",
		"lost_segment", "ack_lost_segment", "duplicate_ack", "zero_window", "zero_window_probe",
		"zero_window_probe_ack", "keep_alive", "keep_alive_ack", "window_full", "window_update"}
	flags := AnalysisFlags()
	if len(flags) != len(want) {
		t.Fatalf("%d flags, want %d", len(flags), len(want))
	}
	var s TCPSummary
	for i, f := range flags {
		if f.Name() != want[i] {
			t.Errorf("flag %d: %q, want %q", i, f.Name(), want[i])
		}
		s.Count[ToClient][i] = int64(i + 1)
	}
	for i, f := range flags {
		if got := s.Counted(ToClient, f); got != int64(i+1) {
			t.Errorf("Counted(%s) = %d, want %d", f.Name(), got, i+1)
		}
	}
	for _, a := range []Analysis{0, 1 << numAnalysis, ARetransmission | ALostSegment} {
		if a.Name() != "" || s.Counted(ToClient, a) != 0 {
			t.Errorf("Analysis(%#x): name %q, count %d; want none", uint32(a), a.Name(), s.Counted(ToClient, a))
		}
	}
}

// tortureRun is a run of re-sent bytes as read off tshark's view.
type tortureRun struct {
	port     uint16
	dir      Dir
	seq, end uint32
	start    int64 // stream offset of seq (-1: before the stream's first byte)
	first    int64 // ns, the first re-send
	frames   []int64
	resends  int
}

// tsharkRuns reads, off tshark's view, the runs of re-sent bytes as the
// stall evidence follows them: every data segment tshark flags a
// retransmission (fast and spurious ones included: tshark flags them
// retransmission too), other than a keep-alive or a zero-window probe, is
// a re-send of the run that starts at its sequence number (or starts
// one), named by its original transmission (the latest data segment of
// the sender not flagged, not yet ACKed, that holds its first byte; not
// tcp.analysis.rto_frame, which names the oldest segment not ACKed) and
// every re-send; a run ends when the peer ACKs its
// last byte (an ACK at most 2^30 past it, the seqspace.go rule). Two
// rules of evidence.go are applied as stated there: a segment not within
// 2^30 of the sender's next in-order byte is no evidence, and one that
// starts at the next in-order byte with nothing received past it is new
// data, whatever its flag (the sequence numbers a flag came from were not
// believed). Returned: the runs never ACKed, and per client port and
// direction the runs ACKed and the longest any waited from its first
// re-send. resent says whether a row is a retransmission (tshark's flag,
// or nfsstall's on the frames of tortureExceptions).
func tsharkRuns(t *testing.T, rows []tsharkview.Row, resent func(tsharkview.Row) bool) (open []*tortureRun, recovered map[uint16][2]int64, stuck map[uint16][2]int64) {
	recovered, stuck = map[uint16][2]int64{}, map[uint16][2]int64{}
	type stream struct {
		synced bool
		start  uint32     // the stream's first byte (offset 0)
		next   uint32     // the next in-order byte
		past   [][2]int64 // received past next: [start, end) as distances from next
		sent   [][3]int64 // transmissions not yet ACKed: seq, end, frame
	}
	streams := map[[2]int]*stream{}
	for _, row := range rows {
		src, _ := strconv.Atoi(row["tcp.srcport"])
		dst, _ := strconv.Atoi(row["tcp.dstport"])
		port, d := uint16(src), ToServer
		if src == 2049 {
			port, d = uint16(dst), ToClient
		}
		frame, _ := strconv.ParseInt(row["frame.number"], 10, 64)
		at := epochNS(t, row["frame.time_epoch"])
		seq64, _ := strconv.ParseUint(row["tcp.seq_raw"], 10, 32)
		ack64, _ := strconv.ParseUint(row["tcp.ack_raw"], 10, 32)
		n, _ := strconv.Atoi(row["tcp.len"])
		fl, _ := strconv.ParseUint(row["tcp.flags"], 0, 16)
		seq, ack := uint32(seq64), uint32(ack64)
		st := streams[[2]int{int(port), int(d)}]
		if st == nil {
			st = &stream{}
			streams[[2]int{int(port), int(d)}] = st
		}
		if fl&0x02 != 0 && !st.synced {
			st.synced, st.next, st.start = true, seq+1, seq+1
		}
		plausible := !st.synced || seq-st.next <= seqFar || st.next-seq <= seqFar
		fresh := st.synced && seq == st.next && len(st.past) == 0
		if n > 0 && plausible {
			if !st.synced {
				st.synced, st.next, st.start = true, seq, seq
			}
			// Received: advance next over it and over what it joins.
			if off := int64(seq - st.next); seq-st.next <= seqFar {
				st.past = append(st.past, [2]int64{off, off + int64(n)})
			} else if e := seq + uint32(n) - st.next; e > 0 && e <= seqFar {
				st.past = append(st.past, [2]int64{0, int64(e)})
			}
			for {
				adv := int64(0)
				for _, p := range st.past {
					if p[0] <= 0 {
						adv = max(adv, p[1])
					}
				}
				if adv <= 0 {
					break
				}
				st.next += uint32(adv)
				keep := st.past[:0]
				for _, p := range st.past {
					if p[1] > adv {
						keep = append(keep, [2]int64{p[0] - adv, p[1] - adv})
					}
				}
				st.past = keep
			}
		}
		if n > 0 && plausible && !fresh && resent(row) &&
			row["tcp.analysis.keep_alive"] != "1" && row["tcp.analysis.zero_window_probe"] != "1" {
			var r *tortureRun
			for _, o := range open {
				if o.port == port && o.dir == d && o.seq == seq {
					r = o
				}
			}
			end := seq + uint32(n)
			if r == nil {
				r = &tortureRun{port: port, dir: d, seq: seq, end: end, first: at, start: -1}
				if off := seq - st.start; off <= seqFar {
					r.start = int64(off)
				}
				for i := len(st.sent) - 1; i >= 0; i-- {
					if sg := st.sent[i]; seq-uint32(sg[0]) < uint32(sg[1]-sg[0]) {
						r.frames = append(r.frames, sg[2])
						break
					}
				}
				open = append(open, r)
			} else if e := end - r.end; e > 0 && e <= seqFar {
				r.end = end
			}
			r.resends++
			r.frames = append(r.frames, frame)
		} else if n > 0 && plausible && row["tcp.analysis.keep_alive"] != "1" && row["tcp.analysis.zero_window_probe"] != "1" {
			st.sent = append(st.sent, [3]int64{int64(seq), int64(seq + uint32(n)), frame})
		}
		if fl&0x10 != 0 && fl&0x02 == 0 {
			if ps := streams[[2]int{int(port), int(1 - d)}]; ps != nil {
				keep := ps.sent[:0]
				for _, sg := range ps.sent {
					if ack-uint32(sg[1]) > seqFar {
						keep = append(keep, sg)
					}
				}
				ps.sent = keep
			}
			keep := open[:0]
			for _, o := range open {
				if o.port == port && o.dir != d && ack-o.end <= seqFar {
					rc, st := recovered[port], stuck[port]
					rc[o.dir]++
					st[o.dir] = max(st[o.dir], at-o.first)
					recovered[port], stuck[port] = rc, st
					continue
				}
				keep = append(keep, o)
			}
			open = keep
		}
	}
	return open, recovered, stuck
}

// TestTortureRunsAgreeWithTshark compares the stall evidence of re-sent
// bytes (the runs never ACKed, with the frame of every transmission; the
// runs ACKed and how long the longest waited) with what tshark's view of
// the torture capture shows.
func TestTortureRunsAgreeWithTshark(t *testing.T) {
	rows, err := tsharkview.Read("testdata/torture.pcap.tcp.tsv")
	if err != nil {
		t.Fatal(err)
	}
	_, _, h := analyseTorture(t)
	names := tortureCases().names
	frames, _, _ := analyseTorture(t)
	resent := func(row tsharkview.Row) bool {
		n, _ := strconv.ParseInt(row["frame.number"], 10, 64)
		if _, ok := tortureExceptions[names[n-1]+"/retransmission"]; ok {
			return frames[n].flags&ARetransmission != 0
		}
		return row["tcp.analysis.retransmission"] == "1"
	}
	open, recovered, stuck := tsharkRuns(t, rows, resent)
	str := func(port uint16, d Dir, seq, end uint32, start int64, frames []int64, resends int) string {
		return fmt.Sprintf("port %d dir %d seq %d len %d offset %d frames %v resends %d", port, d, seq, end-seq, start, frames, resends)
	}
	var want, got []string
	for _, r := range open {
		want = append(want, str(r.port, r.dir, r.seq, r.end, r.start, r.frames, r.resends))
	}
	nrec := 0
	for port, s := range h.byPort {
		for _, u := range s.Unacked {
			var frames []int64
			for _, f := range u.Frames {
				frames = append(frames, f.Frame)
			}
			got = append(got, str(port, u.Dir, u.Seq, u.Seq+uint32(u.Len), u.Start, frames, u.Resends))
		}
		if s.Recovered != recovered[port] || s.MaxStuckNS != stuck[port] {
			t.Errorf("port %d: runs ACKed %v, longest wait %v ns; tshark's view %v, %v", port, s.Recovered, s.MaxStuckNS, recovered[port], stuck[port])
		}
		nrec += int(s.Recovered[0] + s.Recovered[1])
	}
	slices.Sort(want)
	slices.Sort(got)
	if !slices.Equal(got, want) {
		t.Errorf("runs never ACKed\nnfsstall %q\ntshark   %q", got, want)
	}
	if len(want) < 3 || nrec < 5 {
		t.Errorf("%d runs never ACKed, %d ACKed: too few to catch a bug", len(want), nrec)
	}
}

func slicesSortEpisodes(es []tsharkEpisode) {
	for i := 1; i < len(es); i++ {
		for j := i; j > 0 && es[j].start < es[j-1].start; j-- {
			es[j], es[j-1] = es[j-1], es[j]
		}
	}
}
