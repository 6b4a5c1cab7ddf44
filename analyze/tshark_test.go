package analyze_test

// These tests hold nfsstall to tshark's view of every real capture in
// testdata/pcaps (recorded beside each capture by make-captures.sh): the
// same RPC messages at the same frames, paired the same way, with the same
// latencies, and the same per-procedure SRT statistics. Where tshark gives
// up (a reply in a frame it did not dissect as RPC, e.g. after a
// snaplen-cut segment), nfsstall may see more, and the test checks that the
// extra message sits in a frame tshark shows as TCP payload it did not
// dissect.

import (
	"fmt"
	"math"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"testing"

	"github.com/nfsstall/nfsstall/analyze"
	"github.com/nfsstall/nfsstall/capture"
	"github.com/nfsstall/nfsstall/internal/tsharkview"
)

const pcapDir = "../testdata/pcaps"

// labPorts are the server ports of the capture lab: NFS, MOUNT, portmap.
var labPorts = []uint16{2049, 20048, 111}

// tsharkMsg is one RPC message in a *.rpc.tsv view.
type tsharkMsg struct {
	frame   int64
	xid     uint32
	call    bool
	prog    uint32
	proc    uint32
	hasProc bool
	partner int64   // the paired message's frame, 0 if none
	rpcTime float64 // seconds, replies only; NaN if absent
}

// readTSV reads a tshark view or fails the test.
func readTSV(t *testing.T, path string) []tsharkview.Row {
	t.Helper()
	rows, err := tsharkview.Read(path)
	if err != nil {
		t.Fatal(err)
	}
	return rows
}

func parseUint(t *testing.T, s string) uint64 {
	t.Helper()
	v, err := strconv.ParseUint(s, 0, 64)
	if err != nil {
		t.Fatalf("bad number %q: %v", s, err)
	}
	return v
}

// readRPCView returns tshark's RPC messages, one entry per message.
func readRPCView(t *testing.T, path string) []tsharkMsg {
	var out []tsharkMsg
	for _, row := range readTSV(t, path) {
		frame := int64(parseUint(t, row["frame.number"]))
		if row["rpc.xid"] == "" {
			continue // "RPC Continuation": bytes of a message, no header
		}
		xids := strings.Split(row["rpc.xid"], ",")
		types := strings.Split(row["rpc.msgtyp"], ",")
		if len(xids) != len(types) {
			t.Fatalf("%s frame %d: xids %q types %q", path, frame, row["rpc.xid"], row["rpc.msgtyp"])
		}
		single := len(xids) == 1
		for i := range xids {
			m := tsharkMsg{frame: frame, xid: uint32(parseUint(t, xids[i])), call: types[i] == "0", rpcTime: math.NaN()}
			if single {
				if v := row["rpc.program"]; v != "" {
					m.prog = uint32(parseUint(t, strings.Split(v, ",")[0]))
				}
				if v := row["rpc.procedure"]; v != "" {
					m.proc, m.hasProc = uint32(parseUint(t, strings.Split(v, ",")[0])), true
				}
				// tshark 4.0 fills rpc.repframe/rpc.reqframe inconsistently
				// (capture-lab.md); either holds the partner's frame.
				for _, k := range []string{"rpc.repframe", "rpc.reqframe"} {
					if v := row[k]; v != "" && m.partner == 0 {
						m.partner = int64(parseUint(t, v))
					}
				}
				if v := row["rpc.time"]; v != "" && !m.call {
					m.rpcTime, _ = strconv.ParseFloat(v, 64)
				}
			}
			out = append(out, m)
		}
	}
	return out
}

// tcpPayloadFrames returns the frames with TCP payload in a *.tcp.tsv view.
func tcpPayloadFrames(t *testing.T, path string) map[int64]bool {
	out := map[int64]bool{}
	for _, row := range readTSV(t, path) {
		if row["tcp.len"] != "" && row["tcp.len"] != "0" {
			out[int64(parseUint(t, row["frame.number"]))] = true
		}
	}
	return out
}

type srtRow struct {
	calls         int64
	min, max, avg float64 // seconds
}

// readSRT parses `tshark -z rpc,srt,100003,3` output, keyed by procedure
// number: Index Procedure Calls "Min SRT" "Max SRT" "Avg SRT" "Sum SRT".
func readSRT(t *testing.T, path string) map[uint32]srtRow {
	data, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	out := map[uint32]srtRow{}
	for _, line := range strings.Split(string(data), "\n") {
		f := strings.Fields(line)
		if len(f) != 7 {
			continue
		}
		proc, err := strconv.ParseUint(f[0], 10, 32)
		if err != nil {
			continue
		}
		calls, _ := strconv.ParseInt(f[2], 10, 64)
		mn, _ := strconv.ParseFloat(f[3], 64)
		mx, _ := strconv.ParseFloat(f[4], 64)
		avg, err := strconv.ParseFloat(f[5], 64)
		if err != nil {
			t.Fatalf("%s: Avg SRT %q: %v", path, f[5], err)
		}
		out[uint32(proc)] = srtRow{calls: calls, min: mn, max: mx, avg: avg}
	}
	return out
}

func captures(t *testing.T) []string {
	names, err := tsharkview.Captures(pcapDir)
	if err != nil {
		t.Fatal(err)
	}
	return names
}

func captureFile(t *testing.T, name string) string {
	p, err := tsharkview.CaptureFile(pcapDir, name)
	if err != nil {
		t.Fatal(err)
	}
	return p
}

// run analyses one capture, returning the report and every message.
func run(t *testing.T, paths ...string) (*analyze.Report, []analyze.Message) {
	t.Helper()
	in, err := capture.OpenInputs(paths, nil)
	if err != nil {
		t.Fatal(err)
	}
	defer in.Close()
	opts := analyze.DefaultOptions()
	opts.Ports = labPorts
	var msgs []analyze.Message
	opts.Trace = func(m *analyze.Message) { msgs = append(msgs, *m) }
	r, err := analyze.Run(in, opts)
	if err != nil {
		t.Fatal(err)
	}
	return r, msgs
}

type msgKey struct {
	frame int64
	xid   uint32
	call  bool
}

func TestAgreesWithTshark(t *testing.T) {
	for _, name := range captures(t) {
		t.Run(name, func(t *testing.T) {
			view := readRPCView(t, filepath.Join(pcapDir, name+".rpc.tsv"))
			payload := tcpPayloadFrames(t, filepath.Join(pcapDir, name+".tcp.tsv"))
			r, msgs := run(t, captureFile(t, name))

			// tshark shows a message it could reassemble at the frame of
			// its last byte (as nfsstall does), but one whose bytes were
			// cut by the snaplen at the frame where it began: compare
			// each message at the frame tshark would use.
			ours := map[msgKey]analyze.Message{}
			callsByFrame := map[int64]analyze.Message{} // by last frame
			for _, m := range msgs {
				ours[msgKey{tsharkFrame(m), m.XID, m.Call}] = m
				if m.Call {
					callsByFrame[m.Frame] = m
				}
			}
			theirs := map[msgKey]tsharkMsg{}
			tsharkRPCFrames := map[int64]bool{}
			for _, m := range view {
				theirs[msgKey{m.frame, m.xid, m.call}] = m
				tsharkRPCFrames[m.frame] = true
			}

			// 1. Every message tshark decoded, nfsstall decoded at the same
			// frame, with the same program and procedure and pairing.
			for k, tm := range theirs {
				om, ok := ours[k]
				if !ok {
					t.Errorf("tshark has %s xid 0x%08x at frame %d; nfsstall does not", kind(k.call), k.xid, k.frame)
					continue
				}
				if tm.prog != 0 && om.Prog != 0 && tm.prog != om.Prog {
					t.Errorf("frame %d: program %d, tshark %d", k.frame, om.Prog, tm.prog)
				}
				if tm.call && tm.hasProc && om.Proc != tm.proc {
					t.Errorf("frame %d: procedure %d, tshark %d", k.frame, om.Proc, tm.proc)
				}
				if !tm.call && tm.partner != 0 {
					// tshark pairs a reply with the call on its own TCP
					// connection; nfsstall with the call's first
					// transmission, wherever it went (a reconnect re-sends
					// it). tshark's choice must be one of those two.
					cm, ok := callsByFrame[om.CallFrame]
					if ok && tsharkFrame(cm) != tm.partner {
						cm, ok = callsByFrame[om.LastCallFrame]
					}
					if !ok || tsharkFrame(cm) != tm.partner {
						t.Errorf("reply frame %d: paired with call frame %d (last sent %d), tshark %d", k.frame, om.CallFrame, om.LastCallFrame, tm.partner)
						continue
					}
					if first := callsByFrame[om.CallFrame]; om.Latency != om.Time-first.Time {
						t.Errorf("reply frame %d: latency %d ns, but the call (frame %d) came %d ns before", k.frame, om.Latency, first.Frame, om.Time-first.Time)
					}
					lat := tsharkTime(om) - tsharkTime(cm)
					if !math.IsNaN(tm.rpcTime) && math.Abs(float64(lat)/1e9-tm.rpcTime) > 1.5e-9 {
						t.Errorf("reply frame %d: time since call %.9f s, tshark rpc.time %.9f", k.frame, float64(lat)/1e9, tm.rpcTime)
					}
				}
			}
			// 2. Messages only nfsstall decoded must sit in frames tshark
			// did not dissect as RPC at all (it gave up on that stream).
			extraReplies := map[int64]bool{} // (tshark) call frames nfsstall paired and tshark did not
			callTsharkFrame := func(om analyze.Message) int64 { return tsharkFrame(callsByFrame[om.CallFrame]) }
			for k, om := range ours {
				if _, ok := theirs[k]; ok {
					if !k.call {
						if tm := theirs[k]; tm.partner == 0 && om.CallFrame != 0 {
							extraReplies[callTsharkFrame(om)] = true
						}
					}
					continue
				}
				if tsharkRPCFrames[k.frame] || !payload[k.frame] {
					t.Errorf("nfsstall has %s xid 0x%08x at frame %d, where tshark dissected other RPC or saw no TCP payload", kind(k.call), k.xid, k.frame)
					continue
				}
				if !k.call && om.CallFrame != 0 {
					extraReplies[callTsharkFrame(om)] = true
				}
			}
			// 3. Unanswered calls: tshark's, less those nfsstall answered
			// through a reply tshark did not decode, are exactly nfsstall's.
			want := map[int64]uint32{}
			for _, tm := range view {
				if tm.call && tm.partner == 0 && !extraReplies[tm.frame] {
					if _, retrans := retransmitted(view, tm); !retrans {
						want[tm.frame] = tm.xid
					}
				}
			}
			got := map[int64]uint32{}
			for _, u := range r.Unanswered {
				got[tsharkFrame(callsByFrame[u.LastFrame])] = uint32(u.XID)
			}
			if fmt.Sprint(got) != fmt.Sprint(want) {
				t.Errorf("unanswered calls (frame:xid): nfsstall %v, tshark %v", got, want)
			}
			if int64(len(r.Unanswered)) != r.Summary.Unanswered {
				t.Errorf("summary.unanswered %d, list has %d", r.Summary.Unanswered, len(r.Unanswered))
			}
			// 4. tshark's SRT table, for procedures where both paired the
			// same replies.
			srt := readSRT(t, filepath.Join(pcapDir, name+".srt.txt"))
			for _, p := range r.Procedures {
				if p.Program != 100003 || p.Version != 3 {
					continue
				}
				proc := procNumber(t, msgs, p.Name)
				row, ok := srt[proc]
				extra := extraPairs(msgs, theirs, proc)
				if !ok {
					if p.Replies-extra != 0 {
						t.Errorf("%s: %d replies, tshark SRT has none", p.Name, p.Replies)
					}
					continue
				}
				if p.Replies-extra != row.calls {
					t.Errorf("%s: %d replies (%d tshark did not decode), tshark SRT %d", p.Name, p.Replies, extra, row.calls)
				}
				// min/max/mean only where both time every reply from the
				// same frame: no snaplen-cut message, no re-sent call
				// (TestLatencyAgreesWithTsharkRPCTime checks those per
				// call). tshark prints 6 decimals: within one unit of the
				// last.
				if extra == 0 && !anyMissing(msgs, proc) && p.Retransmits == 0 {
					if math.Abs(p.Latency.Min/1e3-row.min) > 1e-6 || math.Abs(p.Latency.Max/1e3-row.max) > 1e-6 ||
						math.Abs(p.Latency.Mean/1e3-row.avg) > 1e-6 {
						t.Errorf("%s: latency min/max/mean %.6f/%.6f/%.6f s, tshark SRT %.6f/%.6f/%.6f", p.Name,
							p.Latency.Min/1e3, p.Latency.Max/1e3, p.Latency.Mean/1e3, row.min, row.max, row.avg)
					}
				}
			}
			for proc, row := range srt {
				found := false
				for _, p := range r.Procedures {
					if p.Program == 100003 && p.Version == 3 && procNumber(t, msgs, p.Name) == proc {
						found = true
					}
				}
				if !found && row.calls > 0 {
					t.Errorf("tshark SRT has procedure %d (%d calls); nfsstall has no row", proc, row.calls)
				}
			}
		})
	}
}

// tsharkFrame is the frame where tshark shows message m.
func tsharkFrame(m analyze.Message) int64 {
	if m.Missing {
		return m.FirstFrame
	}
	return m.Frame
}

func tsharkTime(m analyze.Message) int64 {
	if m.Missing {
		return m.FirstTime
	}
	return m.Time
}

// anyMissing reports whether a message of NFSv3 procedure proc was cut by
// the snaplen: tshark then times it from another frame than nfsstall.
func anyMissing(msgs []analyze.Message, proc uint32) bool {
	for _, m := range msgs {
		if m.Prog == 100003 && m.Proc == proc && m.Missing {
			return true
		}
	}
	return false
}

func kind(call bool) string {
	if call {
		return "call"
	}
	return "reply"
}

// retransmitted reports whether tm's XID is sent again later (then only
// the last transmission can be the unanswered one).
func retransmitted(view []tsharkMsg, tm tsharkMsg) (int64, bool) {
	for _, m := range view {
		if m.call && m.xid == tm.xid && m.frame > tm.frame {
			return m.frame, true
		}
	}
	return 0, false
}

// procNumber maps an NFSv3 procedure name back to its number through the
// traced messages (the model carries names).
func procNumber(t *testing.T, msgs []analyze.Message, name string) uint32 {
	for p := uint32(0); p < 22; p++ {
		if nfs3Names[p] == name {
			return p
		}
	}
	t.Fatalf("unknown NFSv3 procedure %q", name)
	return 0
}

var nfs3Names = [22]string{"NULL", "GETATTR", "SETATTR", "LOOKUP", "ACCESS", "READLINK", "READ", "WRITE", "CREATE",
	"MKDIR", "SYMLINK", "MKNOD", "REMOVE", "RMDIR", "RENAME", "LINK", "READDIR", "READDIRPLUS", "FSSTAT", "FSINFO",
	"PATHCONF", "COMMIT"}

// extraPairs counts NFSv3 replies to proc that nfsstall paired and tshark did not.
func extraPairs(msgs []analyze.Message, theirs map[msgKey]tsharkMsg, proc uint32) int64 {
	var n int64
	for _, m := range msgs {
		if m.Call || m.Prog != 100003 || m.Proc != proc || m.CallFrame == 0 {
			continue
		}
		if tm, ok := theirs[msgKey{tsharkFrame(m), m.XID, false}]; !ok || tm.partner == 0 {
			n++
		}
	}
	return n
}

// TestTCPCountsAgreeWithTshark: per connection, the tcp.analysis counts in
// the report equal tshark's count of frames carrying each flag in that TCP
// stream.
func TestTCPCountsAgreeWithTshark(t *testing.T) {
	isLab := func(port string) bool {
		for _, p := range labPorts {
			if port == strconv.Itoa(int(p)) {
				return true
			}
		}
		return false
	}
	for _, name := range captures(t) {
		t.Run(name, func(t *testing.T) {
			rows := readTSV(t, filepath.Join(pcapDir, name+".tcp.tsv"))
			r, _ := run(t, captureFile(t, name))
			type stream struct {
				client, server string
				first          int64
				counts         map[string]int64
			}
			streams := map[string]*stream{}
			var order []string
			for _, row := range rows {
				id := row["tcp.stream"]
				st := streams[id]
				if st == nil {
					src := endpointOf(row["ip.src"], row["ipv6.src"], row["tcp.srcport"])
					dst := endpointOf(row["ip.dst"], row["ipv6.dst"], row["tcp.dstport"])
					if !isLab(row["tcp.dstport"]) && !isLab(row["tcp.srcport"]) {
						continue
					}
					if !isLab(row["tcp.dstport"]) {
						src, dst = dst, src
					}
					st = &stream{client: src, server: dst, first: int64(parseUint(t, row["frame.number"])), counts: map[string]int64{}}
					streams[id] = st
					order = append(order, id)
				}
				for col, v := range row {
					if v == "1" && strings.HasPrefix(col, "tcp.analysis.") {
						st.counts[strings.TrimPrefix(col, "tcp.analysis.")]++
					}
				}
			}
			total := map[string]int64{}
			for _, id := range order {
				st := streams[id]
				var conn *analyze.Connection
				for i := range r.Connections {
					c := &r.Connections[i]
					if c.Client == st.client && c.Server == st.server && c.FirstFrame == st.first {
						conn = c
					}
				}
				if conn == nil {
					t.Errorf("tshark stream %s (%s -> %s, frame %d): no such connection in the report", id, st.client, st.server, st.first)
					continue
				}
				if fmt.Sprint(conn.TCPAnalysis) != fmt.Sprint(st.counts) {
					t.Errorf("connection %d: tcp_analysis %v, tshark stream %s %v", conn.ID, conn.TCPAnalysis, id, st.counts)
				}
				for k, v := range st.counts {
					total[k] += v
				}
			}
			if fmt.Sprint(r.Summary.TCPAnalysis) != fmt.Sprint(total) {
				t.Errorf("summary tcp_analysis %v, tshark %v", r.Summary.TCPAnalysis, total)
			}
			if eps := int64(len(tsharkEpisodes(t, rows))); r.Summary.TCPRetransmissions != total["retransmission"] || r.Summary.ZeroWindowEpisodes != eps {
				t.Errorf("summary: tcp_retransmissions %d (tshark %d), zero_window_episodes %d (tshark's view %d)",
					r.Summary.TCPRetransmissions, total["retransmission"], r.Summary.ZeroWindowEpisodes, eps)
			}
		})
	}
}

func endpointOf(v4, v6, port string) string {
	if v4 != "" {
		return v4 + ":" + port
	}
	return "[" + v6 + "]:" + port
}

// tsharkEpisode is a zero-window episode read off tshark's TCP view.
type tsharkEpisode struct {
	start, end   int64 // frames; end 0: still closed at the end of the capture
	startT, endT int64 // ns
	probes       int
}

// tsharkEpisodes reads the zero-window episodes off tshark's view: one
// starts at a frame tshark flags tcp.analysis.zero_window while its sender
// has none open, and ends at that sender's next frame, not SYN or RST, with
// a non-zero window; its probes are the peer's frames in between that
// tshark flags zero_window_probe or keep_alive (tcpflow's
// TestZeroWindowEpisodesAgreeWithTshark holds the TCP layer to the same).
func tsharkEpisodes(t *testing.T, rows []tsharkview.Row) []tsharkEpisode {
	open := map[string]int{} // sender -> index in out, +1
	var out []tsharkEpisode
	for _, row := range rows {
		sender := row["tcp.stream"] + " " + endpointOf(row["ip.src"], row["ipv6.src"], row["tcp.srcport"])
		peer := row["tcp.stream"] + " " + endpointOf(row["ip.dst"], row["ipv6.dst"], row["tcp.dstport"])
		flags, _ := strconv.ParseUint(row["tcp.flags"], 0, 16)
		frame := int64(parseUint(t, row["frame.number"]))
		if i := open[peer]; i > 0 && (row["tcp.analysis.zero_window_probe"] == "1" || row["tcp.analysis.keep_alive"] == "1") {
			out[i-1].probes++
		}
		switch i := open[sender]; {
		case i == 0 && row["tcp.analysis.zero_window"] == "1":
			out = append(out, tsharkEpisode{start: frame, startT: epochNS(t, row["frame.time_epoch"])})
			open[sender] = len(out)
		case i > 0 && flags&(0x02|0x04) == 0 && row["tcp.window_size_value"] != "0":
			out[i-1].end, out[i-1].endT = frame, epochNS(t, row["frame.time_epoch"])
			delete(open, sender)
		}
	}
	return out
}
