package analyze_test

import (
	"fmt"
	"os"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"testing"

	"github.com/nfsstall/nfsstall/analyze"
	"github.com/nfsstall/nfsstall/internal/handcap"
	"github.com/nfsstall/nfsstall/internal/tsharkview"
)

func dackFindings(r *analyze.Report) []analyze.Finding {
	var out []analyze.Finding
	for _, f := range r.Findings {
		if f.Kind == analyze.KindDelayedACK {
			out = append(out, f)
		}
	}
	return out
}

// TestDelayedACKAgreesWithTshark: Wireshark's sample nfs_bad_stalls.cap
// (NFSv3 READs over TCP, 2003), whose READ latency clusters at ~39 ms
// against a 1.6 ms minimum. The pauses are computed here from tshark's
// view of it (analyze/testdata/nfs_bad_stalls.tcp.tsv.gz, written by
// make-bad-stalls-view.sh), by the definition in README: the server's
// segment of new data A, the client's first segment after it B a pure ACK
// of exactly A's end, no client data or zero window before the server's
// next data C, B-A at least 10 ms and at least 10 times the quickest the
// client ever ACKed all the server had sent, C-B at most max(2 ms,
// (B-A)/10), and B acknowledging at most the longest server segment
// beyond the client's ACK before it; the reply each falls in is the
// latest one tshark shows starting (rpc.msgtyp 1) at or before A.
func TestDelayedACKAgreesWithTshark(t *testing.T) {
	capPath := filepath.Join("..", "..", "shared", "pcaps-public", "sample-captures--nfs_bad_stalls.cap")
	if _, err := os.Stat(capPath); err != nil {
		t.Skipf("the public capture is not here (%v): ../shared/pcaps-public holds it", err)
	}
	rows, err := tsharkview.Read(filepath.Join("testdata", "nfs_bad_stalls.tcp.tsv"))
	if err != nil {
		t.Fatal(err)
	}
	type pause struct{ a, b, c, wait, lost int64 }
	var pauses []pause
	var aFrame, aTime, bFrame, bTime, replyStart int64
	var aEnd, maxSeg, prevAck, ackedLen uint32
	haveA, haveB, spoiled, havePrev := false, false, false, false
	quickest := int64(-1)
	replies := map[int64]bool{}
	for _, r := range rows {
		frame, _ := strconv.ParseInt(r["frame.number"], 10, 64)
		at := epochNS(t, r["frame.time_epoch"])
		n := atoiU32(t, r["tcp.len"])
		flags, _ := strconv.ParseUint(strings.TrimPrefix(r["tcp.flags"], "0x"), 16, 16)
		ctl := flags&0x07 != 0
		if r["tcp.srcport"] == "2049" {
			if slices.Contains(strings.Split(r["rpc.msgtyp"], ","), "1") {
				replyStart = frame
			}
			if n > 0 && !ctl && r["tcp.analysis.retransmission"] != "1" {
				if haveA && haveB && !spoiled {
					wait, resume := bTime-aTime, at-bTime
					if wait >= 10e6 && quickest >= 0 && wait >= 10*quickest && resume <= max(2e6, wait/10) && ackedLen <= maxSeg {
						pauses = append(pauses, pause{aFrame, bFrame, frame, wait, at - aTime})
						replies[replyStart] = true
					}
				}
				aFrame, aTime, aEnd, haveA, haveB, spoiled = frame, at, atoiU32(t, r["tcp.seq_raw"])+n, true, false, false
				maxSeg = max(maxSeg, n)
			}
			continue
		}
		if !haveA {
			continue
		}
		switch {
		case n > 0 || ctl || r["tcp.window_size_value"] == "0":
			spoiled = true
		case !haveB && flags&0x10 != 0 && atoiU32(t, r["tcp.ack_raw"]) == aEnd:
			haveB, bFrame, bTime = true, frame, at
			ackedLen = ^uint32(0)
			if havePrev {
				ackedLen = aEnd - prevAck
			}
			if w := at - aTime; quickest < 0 || w < quickest {
				quickest = w
			}
		}
		if flags&0x10 != 0 && !ctl {
			prevAck, havePrev = atoiU32(t, r["tcp.ack_raw"]), true
		}
	}
	if len(pauses) < 3 {
		t.Fatalf("tshark's view shows %d pauses", len(pauses))
	}
	var waits []int64
	var lost int64
	for _, p := range pauses {
		waits = append(waits, p.wait)
		lost += p.lost
	}
	slices.Sort(waits)
	median := waits[len(waits)/2]
	if len(waits)%2 == 0 {
		median = (waits[len(waits)/2-1] + waits[len(waits)/2]) / 2
	}
	var want []int64
	for _, p := range pauses[:3] {
		want = append(want, p.a, p.b, p.c)
	}

	r, _ := run(t, capPath)
	fs := dackFindings(r)
	if len(fs) != 1 {
		t.Fatalf("%d delayed_ack_pause findings, want 1: %+v", len(fs), r.Findings)
	}
	f := fs[0]
	if !slices.Equal(f.Frames, want) {
		t.Errorf("frames %v, tshark's view gives %v", f.Frames, want)
	}
	if f.Severity != analyze.SeverityWarning {
		t.Errorf("severity %s, want warning", f.Severity)
	}
	for _, s := range []string{
		fmt.Sprintf("the server's reply data stopped %d times (in %d replies)", len(pauses), len(replies)),
		fmt.Sprintf("came %s later (median; from %s to %s)", analyze.FormatMS(float64(median)/1e6), analyze.FormatMS(float64(waits[0])/1e6), analyze.FormatMS(float64(waits[len(waits)-1])/1e6)),
		fmt.Sprintf("client ACKs within %s: %s lost in all", analyze.FormatMS(float64(quickest)/1e6), analyze.FormatMS(float64(lost)/1e6)),
		"Linux's 40.0 ms delayed-ACK timer",
	} {
		if !strings.Contains(f.Summary, s) {
			t.Errorf("summary lacks %q: %s", s, f.Summary)
		}
	}
	if len(r.Diagnoses) != 0 {
		t.Errorf("diagnoses %+v: a delayed-ACK pause is slowness, not a stall", r.Diagnoses)
	}
	t.Logf("%s", f.Summary)
}

// dackScenario: a handshake, a NULL call answered and ACKed at once
// (the client ACKs quickly), then reads replies of 2 full segments and a
// 500-byte tail each; the client ACKs the two full segments at once
// (unless lateFull) and the tail only wait ms later (its delayed ACK);
// the server sends the next reply's data resume ms after that ACK.
func dackScenario(h *handScenario, reads int, wait, resume int64, lateFull bool) {
	dackScenarioOn(h, 800, 0, reads, wait, resume, lateFull)
}

// dackScenarioOn is dackScenario from client port port, starting at t0 ms.
func dackScenarioOn(h *handScenario, port uint16, t0 int64, reads int, wait, resume int64, lateFull bool) {
	h.add(handcap.Seg{MS: t0, Port: port, ToServer: true, Flags: handcap.SYN, Seq: 100})
	h.add(handcap.Seg{MS: t0, Port: port, Flags: handcap.SYN | handcap.ACK, Seq: 900, Ack: 101})
	h.add(handcap.Seg{MS: t0, Port: port, ToServer: true, Flags: handcap.ACK, Seq: 101, Ack: 901})
	cseq, sseq := uint32(101), uint32(901)
	null, nullReply := nfsNullCall(uint32(port)*100), nfsNullReply(uint32(port)*100)
	h.add(handcap.Seg{MS: t0, Port: port, ToServer: true, Flags: handcap.PSH | handcap.ACK, Seq: cseq, Ack: sseq, Payload: null})
	cseq += uint32(len(null))
	h.add(handcap.Seg{MS: t0, Port: port, Flags: handcap.PSH | handcap.ACK, Seq: sseq, Ack: cseq, Payload: nullReply})
	sseq += uint32(len(nullReply))
	h.add(handcap.Seg{MS: t0, Port: port, ToServer: true, Flags: handcap.ACK, Seq: cseq, Ack: sseq})
	t := t0 + 1
	// All calls first (pipelined), then the replies back to back.
	for i := range reads {
		call := readCall(uint32(port)*100+uint32(10+i), uint64(i)*3396, 3396-48)
		h.add(handcap.Seg{MS: t, Port: port, ToServer: true, Flags: handcap.PSH | handcap.ACK, Seq: cseq, Ack: sseq, Payload: call})
		cseq += uint32(len(call))
	}
	h.add(handcap.Seg{MS: t, Port: port, Flags: handcap.ACK, Seq: sseq, Ack: cseq})
	for i := range reads {
		reply := readReply(uint32(port)*100+uint32(10+i), 3396-48) // 2 x 1448 + 500
		h.add(handcap.Seg{MS: t, Port: port, Flags: handcap.ACK, Seq: sseq, Ack: cseq, Payload: reply[:1448]})
		h.add(handcap.Seg{MS: t, Port: port, Flags: handcap.ACK, Seq: sseq + 1448, Ack: cseq, Payload: reply[1448:2896]})
		if !lateFull {
			h.add(handcap.Seg{MS: t, Port: port, ToServer: true, Flags: handcap.ACK, Seq: cseq, Ack: sseq + 2896})
		}
		h.add(handcap.Seg{MS: t, Port: port, Flags: handcap.PSH | handcap.ACK, Seq: sseq + 2896, Ack: cseq, Payload: reply[2896:]})
		sseq += uint32(len(reply))
		h.add(handcap.Seg{MS: t + wait, Port: port, ToServer: true, Flags: handcap.ACK, Seq: cseq, Ack: sseq})
		t += wait + resume
	}
}

// TestDelayedACKHandBuilt: four replies, each after the first resumed
// 1 ms after the client's ACK of the previous reply's tail, which came
// 40 ms after it, while the client ACKs two full segments at once (0 ms):
// three pauses, the least for a finding.
func TestDelayedACKHandBuilt(t *testing.T) {
	var h handScenario
	dackScenario(&h, 4, 40, 1, false)
	r := h.run(t)
	fs := dackFindings(r)
	if len(fs) != 1 {
		t.Fatalf("%d delayed_ack_pause findings, want 1: %+v", len(fs), r.Findings)
	}
	f := fs[0]
	// Frames: 1-3 handshake, 4-6 the NULL call, reply and ACK, 7-10
	// calls, 11 the server's ACK, then per reply 5 frames: full, full,
	// client ACK, tail, the client's delayed ACK: reply i (0-based) has
	// its tail at 15+5i and the ACK at 16+5i, the next reply's first
	// segment at 17+5i.
	want := []int64{15, 16, 17, 20, 21, 22, 25, 26, 27}
	if !slices.Equal(f.Frames, want) {
		t.Errorf("frames %v, want %v", f.Frames, want)
	}
	for _, s := range []string{"stopped 3 times (in 3 replies)", "came 40.0 ms later (median; from 40.0 ms to 40.0 ms)",
		"client ACKs within 0 µs: 123 ms lost in all", "Linux's 40.0 ms"} {
		if !strings.Contains(f.Summary, s) {
			t.Errorf("summary lacks %q: %s", s, f.Summary)
		}
	}
	// Two pauses are no pattern.
	var h2 handScenario
	dackScenario(&h2, 3, 40, 1, false)
	if fs := dackFindings(h2.run(t)); len(fs) != 0 {
		t.Errorf("a finding from two pauses: %+v", fs)
	}
	// Resumed 10 ms after the ACK of a 40 ms wait: the ACK did not
	// release it (more than max(2 ms, 4 ms)).
	var h3 handScenario
	dackScenario(&h3, 5, 40, 10, false)
	if fs := dackFindings(h3.run(t)); len(fs) != 0 {
		t.Errorf("a finding although the sender resumed 10 ms after the ACK: %+v", fs)
	}
	// A 5 ms wait is below 10 ms: no delayed ACK.
	var h4 handScenario
	dackScenario(&h4, 5, 5, 0, false)
	if fs := dackFindings(h4.run(t)); len(fs) != 0 {
		t.Errorf("a finding from 5 ms waits: %+v", fs)
	}
	// The client ACKs each whole reply (three segments) 40 ms late: not
	// the delayed ACK of a lone segment (a receiver holding its ACKs, as
	// one whose application does not read does).
	var h5 handScenario
	dackScenario(&h5, 5, 40, 1, true)
	if fs := dackFindings(h5.run(t)); len(fs) != 0 {
		t.Errorf("a finding from whole flights ACKed late: %+v", fs)
	}
}

// TestDelayedACKNotOnHealthyCaptures: the lab's healthy captures have no
// delayed_ack_pause, nor have the zero-window ones, where the client
// (small receive buffer, reader slow or frozen) ACKs whole flights late
// when its application reads: flow control, not a delayed ACK.
func TestDelayedACKNotOnHealthyCaptures(t *testing.T) {
	for _, name := range []string{"mixed.pcap.gz", "mixed.pcapng.gz", "ipv6.pcap.gz", "nfs4-ops.pcap.gz", "any-sll2.pcap.gz",
		"zero-window-ends.pcap.gz", "zero-window.pcap.gz"} {
		r, _ := run(t, captureFile(t, name))
		if fs := dackFindings(r); len(fs) != 0 {
			t.Errorf("%s: %+v", name, fs)
		}
	}
}

// TestDelayedACKKeptWhenClosed: a closed connection with pauses is kept
// to the end for its finding, as one with bytes never ACKed is, however
// few connections are listed in full (--max-conns-listed 1 here, and the
// two healthy connections carry more bytes; a connection is released
// 100 ms after its RST).
func TestDelayedACKKeptWhenClosed(t *testing.T) {
	var h handScenario
	dackScenarioOn(&h, 800, 0, 4, 40, 1, false)
	last := h.segs[len(h.segs)-1]
	h.add(handcap.Seg{MS: 500, Port: 800, ToServer: true, Flags: handcap.RST | handcap.ACK, Seq: last.Seq, Ack: last.Ack})
	for i, port := range []uint16{801, 802} {
		t0 := int64(1000 + 1000*i)
		dackScenarioOn(&h, port, t0, 8, 0, 0, false) // no pause: ACKed at once
		last := h.segs[len(h.segs)-1]
		h.add(handcap.Seg{MS: t0 + 100, Port: port, ToServer: true, Flags: handcap.RST | handcap.ACK, Seq: last.Seq, Ack: last.Ack})
	}
	opts := analyze.DefaultOptions()
	opts.MaxConnsListed = 1
	opts.Limits.CloseIdle = 100e6 // released 100 ms after its RST
	r := h.runWith(t, opts)
	fs := dackFindings(r)
	if len(fs) != 1 || fs[0].Connection != 1 {
		t.Fatalf("delayed_ack_pause findings %+v, want one on connection 1", fs)
	}
	listed := false
	for _, c := range r.Connections {
		listed = listed || c.ID == 1
	}
	if !listed {
		t.Errorf("connection 1 is not listed: %+v", r.Connections)
	}
	if len(r.Connections) != 2 || r.Summary.RPCRetransmissions != 0 {
		t.Errorf("%d connections listed, %d RPC retransmissions: want 2 (one healthy one folded), 0", len(r.Connections), r.Summary.RPCRetransmissions)
	}
}
