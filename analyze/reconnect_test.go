package analyze_test

import (
	"bytes"
	"slices"
	"strings"
	"testing"

	"github.com/nfsstall/nfsstall/analyze"
	"github.com/nfsstall/nfsstall/capture"
	"github.com/nfsstall/nfsstall/internal/handcap"
)

// Hand-built reconnects (handcap: client 198.18.0.1, server
// 198.18.0.2:2049). Each test's frames are numbered as the pcap numbers
// them: 1-based, in the order the segments are listed.

type handScenario struct {
	segs []handcap.Seg
}

// add appends a segment and returns its frame number.
func (h *handScenario) add(s handcap.Seg) int64 {
	if s.Payload == nil {
		s.Payload = []byte{}
	}
	if s.Win == 0 {
		s.Win = 65535
	}
	h.segs = append(h.segs, s)
	return int64(len(h.segs))
}

func (h *handScenario) run(t *testing.T) *analyze.Report {
	t.Helper()
	return h.runWith(t, analyze.DefaultOptions())
}

func (h *handScenario) runWith(t *testing.T, opts analyze.Options) *analyze.Report {
	t.Helper()
	in, err := capture.OpenInputs([]string{"-"}, bytes.NewReader(handcap.Pcap(h.segs)))
	if err != nil {
		t.Fatal(err)
	}
	defer in.Close()
	opts.Sequential = true
	r, err := analyze.Run(in, opts)
	if err != nil {
		t.Fatal(err)
	}
	return r
}

// oldConnection: a connection from port 800 whose READ call (xid 7) the
// server's TCP ACKs and never answers; at killMS the client resets it
// (ss -K). It returns the call's frame.
func (h *handScenario) oldConnection(killMS int64) int64 {
	h.add(handcap.Seg{MS: 0, Port: 800, ToServer: true, Flags: handcap.SYN, Seq: 1000})
	h.add(handcap.Seg{MS: 1, Port: 800, Flags: handcap.SYN | handcap.ACK, Seq: 5000, Ack: 1001})
	h.add(handcap.Seg{MS: 2, Port: 800, ToServer: true, Flags: handcap.ACK, Seq: 1001, Ack: 5001})
	call := readCall(7, 0, 4096)
	f := h.add(handcap.Seg{MS: 3, Port: 800, ToServer: true, Flags: handcap.PSH | handcap.ACK, Seq: 1001, Ack: 5001, Payload: call})
	h.add(handcap.Seg{MS: 4, Port: 800, Flags: handcap.ACK, Seq: 5001, Ack: 1001 + uint32(len(call))})
	h.add(handcap.Seg{MS: killMS, Port: 800, ToServer: true, Flags: handcap.RST | handcap.ACK, Seq: 1001 + uint32(len(call)), Ack: 5001})
	return f
}

func reconnectFindings(r *analyze.Report) []analyze.Finding {
	var out []analyze.Finding
	for _, f := range r.Findings {
		if f.Kind == analyze.KindReconnect {
			out = append(out, f)
		}
	}
	return out
}

// TestReconnectDropped: the call waits on a connection the client reset;
// its SYNs from port 801 (one 4-tuple, one ISN) go unanswered at 1, 2, 3,
// 5 and 9 s: a stall, with the SYNs as evidence and the verdict on the
// connection the call waits on.
func TestReconnectDropped(t *testing.T) {
	var h handScenario
	callFrame := h.oldConnection(500)
	var syns []int64
	for _, ms := range []int64{1000, 2000, 3000, 5000, 9000} {
		syns = append(syns, h.add(handcap.Seg{MS: ms, Port: 801, ToServer: true, Flags: handcap.SYN, Seq: 777}))
	}
	r := h.run(t)
	rec := reconnectFindings(r)
	if len(rec) != 1 {
		t.Fatalf("reconnect findings %+v", rec)
	}
	f := rec[0]
	if f.Severity != analyze.SeverityStall || !slices.Equal(f.Frames, syns) || f.Connection != 1 {
		t.Errorf("finding %+v, want stall on connection 1 with frames %v", f, syns)
	}
	for _, want := range []string{"sent 5 SYNs", "from source port 801 (one 4-tuple)", "over 8.00 s", "nobody answered the 5",
		"SYN intervals 1.00 s, 1.00 s, 2.00 s, 4.00 s (backing off)", "1 call from this client to this server waits for a reply: NFSv3 READ xid 0x00000007"} {
		if !strings.Contains(f.Summary, want) {
			t.Errorf("summary lacks %q: %s", want, f.Summary)
		}
	}
	if len(r.Diagnoses) != 1 {
		t.Fatalf("diagnoses %+v", r.Diagnoses)
	}
	d := r.Diagnoses[0]
	if d.Verdict != analyze.VerdictReconnectFailing || d.Connection != 1 || !strings.Contains(d.Summary, "nobody answered its SYNs") {
		t.Errorf("diagnosis %+v", d)
	}
	want := append([]int64{callFrame, callFrame + 1}, syns...)
	if len(d.WiresharkFilters) != 1 || !slices.Equal(d.WiresharkFilters[0].Frames, want) {
		t.Errorf("filter %+v, want frames %v", d.WiresharkFilters, want)
	}
}

// TestReconnectRefusedByRST: as TestReconnectDropped, but every SYN (each
// from a new port, as libnfs does) is answered by RST from the server's
// address, every 300 ms for 1.2 s.
func TestReconnectRefusedByRST(t *testing.T) {
	var h handScenario
	h.oldConnection(500)
	var ev []int64
	for i := int64(0); i < 5; i++ {
		port := uint16(900 + i)
		ms := 1000 + 300*i
		ev = append(ev, h.add(handcap.Seg{MS: ms, Port: port, ToServer: true, Flags: handcap.SYN, Seq: 100 * uint32(i)}))
		ev = append(ev, h.add(handcap.Seg{MS: ms, Port: port, Flags: handcap.RST | handcap.ACK, Ack: 100*uint32(i) + 1}))
	}
	r := h.run(t)
	rec := reconnectFindings(r)
	if len(rec) != 1 {
		t.Fatalf("reconnect findings %+v", rec)
	}
	f := rec[0]
	if f.Severity != analyze.SeverityStall || !slices.Equal(f.Frames, ev) {
		t.Errorf("finding %+v, want stall with frames %v", f, ev)
	}
	for _, want := range []string{"sent 5 SYNs", "changing source port 4 times (first 900, last 904)", "each of the 5 was answered by RST from the server's address"} {
		if !strings.Contains(f.Summary, want) {
			t.Errorf("summary lacks %q: %s", want, f.Summary)
		}
	}
	if len(r.Diagnoses) != 1 || r.Diagnoses[0].Verdict != analyze.VerdictReconnectFailing || !strings.Contains(r.Diagnoses[0].Summary, "refused with RST from the server's address") {
		t.Errorf("diagnoses %+v", r.Diagnoses)
	}
}

// TestReconnectRecovered: two SYNs unanswered, the third answered after
// 3 s; the call is re-sent and answered: a warning, no stall, no verdict.
func TestReconnectRecovered(t *testing.T) {
	var h handScenario
	h.oldConnection(500)
	var frames []int64
	for _, ms := range []int64{1000, 2000, 4000} {
		frames = append(frames, h.add(handcap.Seg{MS: ms, Port: 801, ToServer: true, Flags: handcap.SYN, Seq: 777}))
	}
	frames = append(frames, h.add(handcap.Seg{MS: 4001, Port: 801, Flags: handcap.SYN | handcap.ACK, Seq: 9000, Ack: 778}))
	h.add(handcap.Seg{MS: 4002, Port: 801, ToServer: true, Flags: handcap.ACK, Seq: 778, Ack: 9001})
	call := readCall(7, 0, 4096)
	h.add(handcap.Seg{MS: 4003, Port: 801, ToServer: true, Flags: handcap.PSH | handcap.ACK, Seq: 778, Ack: 9001, Payload: call})
	reply := readReply(7, 4096)
	h.add(handcap.Seg{MS: 4004, Port: 801, Flags: handcap.PSH | handcap.ACK, Seq: 9001, Ack: 778 + uint32(len(call)), Payload: reply})
	h.add(handcap.Seg{MS: 4005, Port: 801, ToServer: true, Flags: handcap.ACK, Seq: 778 + uint32(len(call)), Ack: 9001 + uint32(len(reply))})
	r := h.run(t)
	rec := reconnectFindings(r)
	if len(rec) != 1 || rec[0].Severity != analyze.SeverityWarning || !slices.Equal(rec[0].Frames, frames) {
		t.Fatalf("reconnect findings %+v, want one warning with frames %v", rec, frames)
	}
	if s := rec[0].Summary; !strings.Contains(s, "nobody answered the 2 before the last") || !strings.Contains(s, "SYN-ACK at frame 10 (connection 2), 3.00 s after the first SYN") {
		t.Errorf("summary %s", s)
	}
	if len(r.Diagnoses) != 0 {
		t.Errorf("diagnoses %+v", r.Diagnoses)
	}

	// Captured one way (client to server only): the client's ACK after
	// its last SYN shows the handshake completed.
	var oneWay handScenario
	for _, s := range h.segs {
		if s.ToServer {
			oneWay.add(s)
		}
	}
	r = oneWay.run(t)
	rec = reconnectFindings(r)
	if len(rec) != 1 || rec[0].Severity != analyze.SeverityWarning || !slices.Equal(rec[0].Frames, []int64{5, 6, 7, 8}) ||
		!strings.Contains(rec[0].Summary, "the client's ACK completing the handshake (its SYN-ACK not captured) came at frame 8") {
		t.Errorf("one-way capture: reconnect findings %+v", rec)
	}
	for _, f := range r.Findings {
		if f.Severity == analyze.SeverityStall {
			t.Errorf("one-way capture: stall %+v", f)
		}
	}
}

// TestReconnectNotOnHealthyConnects: a SYN answered at once, and a SYN
// answered by one RST, are no reconnect failing.
func TestReconnectNotOnHealthyConnects(t *testing.T) {
	var h handScenario
	h.add(handcap.Seg{MS: 0, Port: 800, ToServer: true, Flags: handcap.SYN, Seq: 1000})
	h.add(handcap.Seg{MS: 1, Port: 800, Flags: handcap.SYN | handcap.ACK, Seq: 5000, Ack: 1001})
	h.add(handcap.Seg{MS: 2, Port: 800, ToServer: true, Flags: handcap.ACK, Seq: 1001, Ack: 5001})
	call := readCall(7, 0, 16)
	h.add(handcap.Seg{MS: 3, Port: 800, ToServer: true, Flags: handcap.PSH | handcap.ACK, Seq: 1001, Ack: 5001, Payload: call})
	reply := readReply(7, 16)
	h.add(handcap.Seg{MS: 4, Port: 800, Flags: handcap.PSH | handcap.ACK, Seq: 5001, Ack: 1001 + uint32(len(call)), Payload: reply})
	// Another client's single SYN refused (a probe), 2 s later.
	h.add(handcap.Seg{MS: 2000, Client: 300, Port: 900, ToServer: true, Flags: handcap.SYN, Seq: 1})
	h.add(handcap.Seg{MS: 2000, Client: 300, Port: 900, Flags: handcap.RST | handcap.ACK, Ack: 2})
	h.add(handcap.Seg{MS: 3000, Port: 800, ToServer: true, Flags: handcap.ACK, Seq: 1001 + uint32(len(call)), Ack: 5001 + uint32(len(reply))})
	r := h.run(t)
	if rec := reconnectFindings(r); len(rec) != 0 || len(r.Diagnoses) != 0 {
		t.Errorf("reconnect findings %+v, diagnoses %+v", rec, r.Diagnoses)
	}
}

// TestReconnectNotOnSYNFlood: thousands of sources that never made a call
// send SYNs (some of them again and again) that nobody answers, while an
// NFS client works normally: no stall, no verdict; the repeated ones are
// info at most. After the flood (more sources than runs are followed), a
// real client's failing reconnect is still found.
func TestReconnectNotOnSYNFlood(t *testing.T) {
	var h handScenario
	h.add(handcap.Seg{MS: 0, Port: 800, ToServer: true, Flags: handcap.SYN, Seq: 1000})
	h.add(handcap.Seg{MS: 1, Port: 800, Flags: handcap.SYN | handcap.ACK, Seq: 5000, Ack: 1001})
	seq := uint32(1001)
	srv := uint32(5001)
	xid := uint32(1)
	exchange := func(ms int64) {
		call := readCall(xid, 0, 16)
		h.add(handcap.Seg{MS: ms, Port: 800, ToServer: true, Flags: handcap.PSH | handcap.ACK, Seq: seq, Ack: srv, Payload: call})
		seq += uint32(len(call))
		reply := readReply(xid, 16)
		h.add(handcap.Seg{MS: ms + 1, Port: 800, Flags: handcap.PSH | handcap.ACK, Seq: srv, Ack: seq, Payload: reply})
		srv += uint32(len(reply))
		xid++
	}
	exchange(2)
	for i := uint16(0); i < 6000; i++ {
		h.add(handcap.Seg{MS: 10 + int64(i)/10, Client: 256 + i, Port: 40000, ToServer: true, Flags: handcap.SYN, Seq: uint32(i)})
	}
	for rep := int64(1); rep <= 3; rep++ {
		for i := uint16(0); i < 50; i++ {
			h.add(handcap.Seg{MS: 1000*rep + int64(i), Client: 10000 + i, Port: 41000, ToServer: true, Flags: handcap.SYN, Seq: uint32(i)})
		}
		exchange(1000*rep + 500)
	}
	r := h.run(t)
	for _, f := range reconnectFindings(r) {
		if f.Severity != analyze.SeverityInfo {
			t.Fatalf("finding %+v", f)
		}
	}
	if n := len(reconnectFindings(r)); n != 50 {
		t.Errorf("%d reconnect findings, want 50 (info)", n)
	}
	if len(r.Diagnoses) != 0 {
		t.Errorf("diagnoses %+v", r.Diagnoses)
	}

	// The NFS client's call waits and its reconnect fails after the flood.
	call := readCall(xid, 0, 16)
	h.add(handcap.Seg{MS: 4000, Port: 800, ToServer: true, Flags: handcap.PSH | handcap.ACK, Seq: seq, Ack: srv, Payload: call})
	h.add(handcap.Seg{MS: 4001, Port: 800, Flags: handcap.ACK, Seq: srv, Ack: seq + uint32(len(call))})
	h.add(handcap.Seg{MS: 4100, Port: 800, ToServer: true, Flags: handcap.RST | handcap.ACK, Seq: seq + uint32(len(call)), Ack: srv})
	for _, ms := range []int64{5000, 6000, 8000} {
		h.add(handcap.Seg{MS: ms, Port: 801, ToServer: true, Flags: handcap.SYN, Seq: 4242})
	}
	r = h.run(t)
	if len(r.Diagnoses) != 1 || r.Diagnoses[0].Verdict != analyze.VerdictReconnectFailing || r.Diagnoses[0].Connection != 1 {
		t.Errorf("diagnoses %+v", r.Diagnoses)
	}
}

// TestReconnectEvidenceBounded: a RST answer to each of 500 SYNs, no
// backoff: the finding lists the first 10 SYNs and RSTs and the last 2,
// and counts them all.
func TestReconnectEvidenceBounded(t *testing.T) {
	var h handScenario
	h.oldConnection(500)
	var ev []int64
	for i := int64(0); i < 500; i++ {
		port := uint16(1000 + i)
		ms := 1000 + 3*i
		ev = append(ev, h.add(handcap.Seg{MS: ms, Port: port, ToServer: true, Flags: handcap.SYN, Seq: uint32(i)}))
		ev = append(ev, h.add(handcap.Seg{MS: ms, Port: port, Flags: handcap.RST | handcap.ACK, Ack: uint32(i) + 1}))
	}
	r := h.run(t)
	rec := reconnectFindings(r)
	if len(rec) != 1 {
		t.Fatalf("reconnect findings %+v", rec)
	}
	want := append(slices.Clone(ev[:10]), ev[len(ev)-2:]...)
	if f := rec[0]; f.Severity != analyze.SeverityStall || !slices.Equal(f.Frames, want) ||
		!strings.Contains(f.Summary, "1000 SYNs and RSTs in all") || !strings.Contains(f.Summary, "(no backoff)") {
		t.Errorf("finding %+v, want frames %v", f, want)
	}
}

// TestReconnectVerdictOnFoldedConnection: the client's calls were all
// answered on a connection it then reset, and its SYNs since get no
// answer; with one connection listed in full, both its connections fold
// (another client's busier one is listed). The client made calls and the
// server has sent nothing since its first SYN: still a stall, and the
// verdict names the SYNs' connection.
func TestReconnectVerdictOnFoldedConnection(t *testing.T) {
	var h handScenario
	h.add(handcap.Seg{MS: 0, Port: 800, ToServer: true, Flags: handcap.SYN, Seq: 1000})
	h.add(handcap.Seg{MS: 1, Port: 800, Flags: handcap.SYN | handcap.ACK, Seq: 5000, Ack: 1001})
	call := readCall(7, 0, 16)
	h.add(handcap.Seg{MS: 3, Port: 800, ToServer: true, Flags: handcap.PSH | handcap.ACK, Seq: 1001, Ack: 5001, Payload: call})
	reply := readReply(7, 16)
	h.add(handcap.Seg{MS: 4, Port: 800, Flags: handcap.PSH | handcap.ACK, Seq: 5001, Ack: 1001 + uint32(len(call)), Payload: reply})
	h.add(handcap.Seg{MS: 500, Port: 800, ToServer: true, Flags: handcap.RST | handcap.ACK, Seq: 1001 + uint32(len(call)), Ack: 5001 + uint32(len(reply))})
	// Another client's busier connection.
	h.add(handcap.Seg{MS: 600, Client: 300, Port: 700, ToServer: true, Flags: handcap.SYN, Seq: 1000})
	h.add(handcap.Seg{MS: 601, Client: 300, Port: 700, Flags: handcap.SYN | handcap.ACK, Seq: 5000, Ack: 1001})
	call = readCall(8, 0, 4096)
	h.add(handcap.Seg{MS: 603, Client: 300, Port: 700, ToServer: true, Flags: handcap.PSH | handcap.ACK, Seq: 1001, Ack: 5001, Payload: call})
	reply = readReply(8, 4096)
	h.add(handcap.Seg{MS: 604, Client: 300, Port: 700, Flags: handcap.PSH | handcap.ACK, Seq: 5001, Ack: 1001 + uint32(len(call)), Payload: reply})
	h.add(handcap.Seg{MS: 700, Client: 300, Port: 700, ToServer: true, Flags: handcap.RST | handcap.ACK, Seq: 1001 + uint32(len(call)), Ack: 5001 + uint32(len(reply))})
	var syns []int64
	for _, ms := range []int64{1000, 2000, 4000} {
		syns = append(syns, h.add(handcap.Seg{MS: ms, Port: 801, ToServer: true, Flags: handcap.SYN, Seq: 777}))
	}
	opts := analyze.DefaultOptions()
	opts.MaxConnsListed = 1
	r := h.runWith(t, opts)
	for _, c := range r.Connections {
		if c.ID != 2 {
			t.Errorf("connection %d listed, want only 2 (the others folded)", c.ID)
		}
	}
	rec := reconnectFindings(r)
	if len(rec) != 1 || rec[0].Severity != analyze.SeverityStall || !slices.Equal(rec[0].Frames, syns) || rec[0].Connection != 3 ||
		!strings.Contains(rec[0].Summary, "the client made 1 call to this server earlier in the capture and no reply came from the server since the first SYN") {
		t.Fatalf("reconnect findings %+v", rec)
	}
	if len(r.Diagnoses) != 1 || r.Diagnoses[0].Verdict != analyze.VerdictReconnectFailing || r.Diagnoses[0].Connection != 3 ||
		len(r.Diagnoses[0].WiresharkFilters) != 1 || !slices.Equal(r.Diagnoses[0].WiresharkFilters[0].Frames, syns) {
		t.Errorf("diagnoses %+v", r.Diagnoses)
	}
}

// TestReconnectFloodBound: 5000 sources each re-send a SYN nobody answers:
// 4096 runs are followed, the SYNs of the others are counted as skipped.
func TestReconnectFloodBound(t *testing.T) {
	var h handScenario
	for rep := int64(0); rep < 2; rep++ {
		for i := uint16(0); i < 5000; i++ {
			h.add(handcap.Seg{MS: 1000*rep + int64(i)/10, Client: 256 + i, Port: 40000, ToServer: true, Flags: handcap.SYN, Seq: uint32(i)})
		}
	}
	r := h.run(t)
	if n := len(reconnectFindings(r)); n != 1000 {
		t.Errorf("%d reconnect findings, want 1000 (listed; info)", n)
	}
	var got []analyze.Skipped
	for _, s := range r.Skipped {
		if strings.Contains(s.What, analyze.KindReconnect) {
			got = append(got, s)
		}
	}
	// The runs of the first 4096 sources given up to make room, rebuilt
	// when their SYN is re-sent; the re-sent SYNs of the last 904 refused
	// (4096 runs of two SYNs are open then); the findings beyond the
	// first 1000 listed.
	if len(got) != 2 || got[1].Count != 5000-4096 || got[0].Count != 4096-1000 {
		t.Errorf("skipped %+v", got)
	}
	if len(r.Diagnoses) != 0 {
		t.Errorf("diagnoses %+v", r.Diagnoses)
	}
}

// TestReconnectFoundDuringFlood: between the client's SYN retries, 4500
// sources each send one SYN (more than the runs followed at once): the
// client's run, given up to make room, is rebuilt from its connection's
// first SYN when the SYN is re-sent, and is a stall with all three SYNs.
func TestReconnectFoundDuringFlood(t *testing.T) {
	var h handScenario
	h.oldConnection(500)
	var syns []int64
	for wave, ms := range []int64{1000, 2000, 4000} {
		syns = append(syns, h.add(handcap.Seg{MS: ms, Port: 801, ToServer: true, Flags: handcap.SYN, Seq: 777}))
		if wave == 2 {
			break
		}
		for i := uint16(0); i < 4500; i++ {
			h.add(handcap.Seg{MS: ms + 1 + int64(i)/10, Client: 256 + uint16(wave)*4500 + i, Port: 40000, ToServer: true, Flags: handcap.SYN, Seq: uint32(i)})
		}
	}
	r := h.run(t)
	var stalls []analyze.Finding
	for _, f := range reconnectFindings(r) {
		if f.Severity != analyze.SeverityInfo {
			stalls = append(stalls, f)
		}
	}
	if len(stalls) != 1 || stalls[0].Severity != analyze.SeverityStall || !slices.Equal(stalls[0].Frames, syns) {
		t.Fatalf("reconnect findings (not info) %+v, want one stall with frames %v", stalls, syns)
	}
	if len(r.Diagnoses) != 1 || r.Diagnoses[0].Verdict != analyze.VerdictReconnectFailing {
		t.Errorf("diagnoses %+v", r.Diagnoses)
	}
}
