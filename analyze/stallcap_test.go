package analyze_test

// Stall verdicts on the real stall captures (make-captures.sh), with every
// expected XID and frame taken from tshark's view of the same capture, not
// written into the test: re-making the captures re-makes the expectations.

import (
	"math"
	"path/filepath"
	"slices"
	"strings"
	"testing"

	"github.com/nfsstall/nfsstall/analyze"
)

// tcpRow is one frame of a *.tcp.tsv view.
type tcpRow struct {
	frame      int64
	stream     int64
	fromServer bool // source port is 2049
	seq, ack   uint32
	len        int64
	win        int64 // calculated window (tcp.window_size)
	flags      map[string]bool
}

func readTCPView(t *testing.T, name string) []tcpRow {
	t.Helper()
	var out []tcpRow
	for _, row := range readTSV(t, filepath.Join(pcapDir, name+".tcp.tsv")) {
		r := tcpRow{
			frame:      int64(parseUint(t, row["frame.number"])),
			stream:     int64(parseUint(t, row["tcp.stream"])),
			fromServer: row["tcp.srcport"] == "2049",
			seq:        uint32(parseUint(t, row["tcp.seq_raw"])),
			ack:        uint32(parseUint(t, orZero(row["tcp.ack_raw"]))),
			len:        int64(parseUint(t, orZero(row["tcp.len"]))),
			win:        int64(parseUint(t, orZero(row["tcp.window_size"]))),
			flags:      map[string]bool{},
		}
		for k, v := range row {
			if name, ok := strings.CutPrefix(k, "tcp.analysis."); ok && v == "1" {
				r.flags[name] = true
			}
		}
		out = append(out, r)
	}
	return out
}

func orZero(s string) string {
	if s == "" {
		return "0"
	}
	return s
}

func seqAfterOrAt(a, b uint32) bool { return int32(a-b) >= 0 }

// tsharkUnansweredNFS returns tshark's NFS calls that have no reply.
func tsharkUnansweredNFS(t *testing.T, name string) []tsharkMsg {
	var out []tsharkMsg
	for _, m := range readRPCView(t, filepath.Join(pcapDir, name+".rpc.tsv")) {
		if m.call && m.prog == 100003 && m.partner == 0 {
			out = append(out, m)
		}
	}
	return out
}

// diagnosisFor returns the one diagnosis of the report, failing unless there
// is exactly one and it has the verdict.
func onlyDiagnosis(t *testing.T, r *analyze.Report, verdict string) analyze.Diagnosis {
	t.Helper()
	if len(r.Diagnoses) != 1 {
		t.Fatalf("want one diagnosis (%s), got %+v", verdict, r.Diagnoses)
	}
	d := r.Diagnoses[0]
	if d.Verdict != verdict {
		t.Fatalf("verdict %s, want %s: %s", d.Verdict, verdict, d.Summary)
	}
	return d
}

// evidence returns the diagnosis's findings of one kind.
func evidence(r *analyze.Report, d analyze.Diagnosis, kind string) []analyze.Finding {
	var out []analyze.Finding
	for _, i := range d.Findings {
		if r.Findings[i].Kind == kind {
			out = append(out, r.Findings[i])
		}
	}
	return out
}

func rowAt(rows []tcpRow, frame int64) (tcpRow, int) {
	for i, r := range rows {
		if r.frame == frame {
			return r, i
		}
	}
	return tcpRow{}, -1
}

// The lab repro: the server process is frozen (SIGSTOP) and stays frozen to
// the end of the capture. Its kernel ACKs the READ call; no reply comes.
// nfs4-server-hung is the same over NFSv4.0 (a READ COMPOUND unanswered).
func TestCaptureServerNotReplying(t *testing.T) {
	for _, name := range []string{"stall-server-hung.pcap", "nfs4-server-hung.pcap"} {
		t.Run(name, func(t *testing.T) { testServerNotReplying(t, name) })
	}
}

func testServerNotReplying(t *testing.T, name string) {
	r, _ := run(t, captureFile(t, name))
	d := onlyDiagnosis(t, r, "server_not_replying")

	lone := tsharkUnansweredNFS(t, name)
	if len(lone) != 1 {
		t.Fatalf("the capture should have one NFS call tshark shows unanswered, has %d", len(lone))
	}
	call := lone[0]
	fs := evidence(r, d, analyze.KindUnanswered)
	if len(fs) != 1 || fs[0].XID == nil || uint32(*fs[0].XID) != call.xid || fs[0].Frames[0] != call.frame {
		t.Fatalf("want the unanswered_call xid 0x%08x frame %d as evidence, got %+v", call.xid, call.frame, fs)
	}
	// The server's TCP ACK of the call: the first server frame whose ACK
	// covers the call's last byte, per tshark's sequence numbers.
	rows := readTCPView(t, name)
	cr, i := rowAt(rows, call.frame)
	if i < 0 {
		t.Fatalf("call frame %d not in the tcp view", call.frame)
	}
	end := cr.seq + uint32(cr.len)
	var ackFrame int64
	for _, x := range rows[i+1:] {
		if x.fromServer && x.stream == cr.stream && seqAfterOrAt(x.ack, end) {
			ackFrame = x.frame
			break
		}
	}
	if ackFrame == 0 || !slices.Contains(fs[0].Frames, ackFrame) {
		t.Errorf("the server's ACK of the call is frame %d (tshark); evidence frames %v", ackFrame, fs[0].Frames)
	}
	if !strings.Contains(d.Summary, call.xidString()) {
		t.Errorf("diagnosis summary does not name xid %s: %s", call.xidString(), d.Summary)
	}
}

func (m tsharkMsg) xidString() string { return analyze.XID(m.xid).String() }

// The incident's shape: the client's pure ACKs are dropped before the wire
// to the end of the capture; the server re-sends the start of its READ
// reply with backoff and nothing ACKs it.
func TestCaptureClientNotAcking(t *testing.T) {
	const name = "stall-client-noack.pcap"
	r, _ := run(t, captureFile(t, name))
	d := onlyDiagnosis(t, r, "client_not_acking")
	rows := readTCPView(t, name)

	lone := tsharkUnansweredNFS(t, name)
	if len(lone) != 1 {
		t.Fatalf("the capture should have one NFS call tshark shows unanswered, has %d", len(lone))
	}
	fs := evidence(r, d, analyze.KindUnackedRetran)
	if len(fs) == 0 {
		t.Fatalf("no unacked_retransmission evidence: %+v", d)
	}
	for _, f := range fs {
		// The never-ACKed bytes are the reply to the stuck call.
		if f.XID == nil || uint32(*f.XID) != lone[0].xid {
			t.Errorf("unacked bytes mapped to %v, want the reply to xid 0x%08x: %s", f.XID, lone[0].xid, f.Summary)
		}
		// The original and every re-send: server frames with the same
		// seq, every re-send flagged a retransmission by tshark, and no
		// other tshark retransmission of that seq left out.
		first, i := rowAt(rows, f.Frames[0])
		if i < 0 || !first.fromServer || first.len == 0 {
			t.Fatalf("first frame %d is not server data", f.Frames[0])
		}
		var want []int64
		for _, x := range rows[i+1:] {
			if x.fromServer && x.stream == first.stream && x.seq == first.seq && x.len > 0 {
				want = append(want, x.frame)
				if !x.flags["retransmission"] && !x.flags["fast_retransmission"] && !x.flags["spurious_retransmission"] {
					t.Errorf("frame %d re-sends seq %d but tshark does not flag it a retransmission", x.frame, x.seq)
				}
			}
		}
		if !slices.Equal(f.Frames[1:], want) {
			t.Errorf("re-sends of seq %d: nfsstall %v, tshark view %v", first.seq, f.Frames[1:], want)
		}
		// And the client really never ACKed them after the original.
		for _, x := range rows[i+1:] {
			if !x.fromServer && x.stream == first.stream && seqAfterOrAt(x.ack, first.seq+1) {
				t.Errorf("client frame %d ACKs %d, beyond seq %d", x.frame, x.ack, first.seq)
			}
		}
	}
	if len(evidence(r, d, analyze.KindUnanswered)) != 1 {
		t.Errorf("the stuck call should be evidence too: %+v", d)
	}
}

// The client's reader is frozen to the end of the capture: its receive
// buffer fills, it advertises a zero window and the server probes.
func TestCaptureClientWindowClosed(t *testing.T) {
	const name = "zero-window.pcap"
	r, _ := run(t, captureFile(t, name))
	d := onlyDiagnosis(t, r, "client_window_closed")
	rows := readTCPView(t, name)

	fs := evidence(r, d, analyze.KindZeroWindow)
	if len(fs) != 1 || fs[0].Severity != analyze.SeverityStall {
		t.Fatalf("want one ongoing zero_window finding as evidence, got %+v", fs)
	}
	f := fs[0]
	// tshark's view: the episode still open at the end starts at the first
	// zero-window frame from the client after its last non-zero window.
	var start int64
	var stream int64 = -1
	for _, x := range rows {
		if x.fromServer || x.flags["keep_alive"] {
			continue
		}
		switch {
		case x.win > 0:
			start = 0
		case x.flags["zero_window"] && start == 0:
			start, stream = x.frame, x.stream
		}
	}
	if start == 0 || f.Frames[0] != start {
		t.Fatalf("episode starts at frame %v, tshark view says %d", f.Frames, start)
	}
	probes := 0
	for _, x := range rows {
		if x.fromServer && x.stream == stream && x.frame > start && (x.flags["keep_alive"] || x.flags["zero_window_probe"]) {
			probes++
		}
	}
	if probes < 2 || f.Probes != probes {
		t.Errorf("probes: nfsstall %d, tshark %d (want >= 2)", f.Probes, probes)
	}
}

// The client's reader is frozen twice and thawed while capturing: two
// zero-window episodes that end. Each must be one zero_window finding,
// not a stall, with tshark's frames (the first zero-window frame, the
// frame that reopened the window), the time between them and the probes.
func TestCaptureZeroWindowEnds(t *testing.T) {
	const name = "zero-window-ends.pcap"
	r, _ := run(t, captureFile(t, name))
	want := tsharkEpisodes(t, readTSV(t, filepath.Join(pcapDir, name+".tcp.tsv")))
	if len(want) < 2 {
		t.Fatalf("tshark's view has %d zero-window episodes, the capture was made for 2", len(want))
	}
	var got []analyze.Finding
	for _, f := range r.Findings {
		if f.Kind == analyze.KindZeroWindow {
			got = append(got, f)
		}
	}
	if len(got) != len(want) {
		t.Fatalf("%d zero_window findings, tshark's view %d episodes", len(got), len(want))
	}
	for i, e := range want {
		f := got[i]
		if e.end == 0 {
			t.Errorf("episode at frame %d never ends in tshark's view", e.start)
			continue
		}
		if !slices.Equal(f.Frames, []int64{e.start, e.end}) || f.Probes != e.probes ||
			math.Abs(f.DurationMS-float64(e.endT-e.startT)/1e6) > 1e-6 || f.Severity == analyze.SeverityStall {
			t.Errorf("finding frames %v, %.6f ms, %d probes, %s; tshark: frames [%d %d], %.6f ms, %d probes, ended",
				f.Frames, f.DurationMS, f.Probes, f.Severity, e.start, e.end, float64(e.endT-e.startT)/1e6, e.probes)
		}
	}
	if len(r.Diagnoses) != 0 {
		t.Errorf("episodes that ended are no stall; got %+v", r.Diagnoses)
	}
}

// The server is frozen while a READ is outstanding, the client's socket is
// aborted (RST) and the client re-sends the same XID on a new connection,
// answered once the server thaws: RPC retransmission across a reconnect.
func TestCaptureReconnect(t *testing.T) {
	const name = "reconnect.pcap"
	r, _ := run(t, captureFile(t, name))
	// tshark: NFS calls whose XID shows up on more than one TCP stream.
	view := readRPCView(t, filepath.Join(pcapDir, name+".rpc.tsv"))
	streamOf := map[int64]int64{}
	for _, x := range readTCPView(t, name) {
		streamOf[x.frame] = x.stream
	}
	frames := map[uint32][]int64{}
	streams := map[uint32]map[int64]bool{}
	for _, m := range view {
		if m.call && m.prog == 100003 {
			frames[m.xid] = append(frames[m.xid], m.frame)
			if streams[m.xid] == nil {
				streams[m.xid] = map[int64]bool{}
			}
			streams[m.xid][streamOf[m.frame]] = true
		}
	}
	var resent []uint32
	for xid, s := range streams {
		if len(s) > 1 {
			resent = append(resent, xid)
		}
	}
	if len(resent) == 0 {
		t.Fatal("the capture has no XID re-sent on a new connection")
	}
	got := map[uint32]analyze.Finding{}
	for _, f := range r.Findings {
		if f.Kind == analyze.KindRPCRetrans {
			got[uint32(*f.XID)] = f
		}
	}
	for _, xid := range resent {
		f, ok := got[xid]
		if !ok {
			t.Errorf("no rpc_retransmission finding for xid 0x%08x (tshark frames %v)", xid, frames[xid])
			continue
		}
		n := len(frames[xid])
		if len(f.Frames) < n || !slices.Equal(f.Frames[:n], frames[xid]) {
			t.Errorf("xid 0x%08x: frames %v, tshark's call frames %v", xid, f.Frames, frames[xid])
		}
		if !strings.Contains(f.Summary, "after a reconnect") || !strings.Contains(f.Summary, "answered at frame") {
			t.Errorf("xid 0x%08x: summary should say reconnect and answered: %s", xid, f.Summary)
		}
	}
	for _, f := range r.Findings {
		if f.Severity == analyze.SeverityStall {
			t.Errorf("the stall recovered within the capture; got a stall finding: %s", f.Summary)
		}
	}
}

// A stall that recovered within the capture (server frozen 10 s, then
// thawed) is a slow reply, not a stall.
func TestCaptureRecoveredServerStall(t *testing.T) {
	const name = "stall-server-stopped.pcap"
	r, _ := run(t, captureFile(t, name))
	if len(r.Diagnoses) != 0 {
		t.Fatalf("recovered stall diagnosed as %+v", r.Diagnoses)
	}
	// tshark's slowest NFS reply must be a slow_reply finding.
	var slowest tsharkMsg
	for _, m := range readRPCView(t, filepath.Join(pcapDir, name+".rpc.tsv")) {
		if !m.call && m.rpcTime > slowest.rpcTime || slowest.frame == 0 && !m.call {
			slowest = m
		}
	}
	if slowest.rpcTime < 1 {
		t.Fatalf("capture has no reply slower than 1 s (slowest %v s)", slowest.rpcTime)
	}
	for _, f := range r.Findings {
		if f.Kind == analyze.KindSlowReply && uint32(*f.XID) == slowest.xid {
			if !slices.Contains(f.Frames, slowest.frame) || !slices.Contains(f.Frames, slowest.partner) {
				t.Errorf("slow_reply frames %v lack tshark's call %d or reply %d", f.Frames, slowest.partner, slowest.frame)
			}
			return
		}
	}
	t.Errorf("no slow_reply finding for xid 0x%08x (%.3f s)", slowest.xid, slowest.rpcTime)
}

// Captures of healthy traffic get no stall finding and no diagnosis.
func TestHealthyCapturesHaveNoStall(t *testing.T) {
	for _, name := range captures(t) {
		if strings.HasPrefix(name, "stall-") || name == "zero-window.pcap" || name == "reconnect.pcap" || name == "reconnect-drop.pcap" ||
			name == "nfs4-server-hung.pcap" || name == "nfs4-grace.pcap" || name == "mtu-blackhole.pcap" {
			continue
		}
		t.Run(name, func(t *testing.T) {
			r, _ := run(t, captureFile(t, name))
			for _, f := range r.Findings {
				if f.Severity == analyze.SeverityStall {
					t.Errorf("stall finding on a healthy capture: %s", f.Summary)
				}
			}
			if len(r.Diagnoses) != 0 {
				t.Errorf("diagnoses on a healthy capture: %+v", r.Diagnoses)
			}
		})
	}
}
