package main

// The JSON contract (../shared/report-json.md) checked key by key for its
// VALUE on the real stall captures, every expected value computed here from
// tshark's views of the same capture (testdata/pcaps/*.tsv, capinfos),
// never from nfsstall's own earlier output: a renamed key, a wrong
// connection id, a frame off by one all fail here.

import (
	"bytes"
	"encoding/json"
	"fmt"
	"math"
	"os"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/nfsstall/nfsstall/internal/tsharkview"
)

// view is what tshark saw in one capture.
type view struct {
	t       *testing.T
	tcp     []tsharkview.Row
	rpc     []tsharkview.Row
	capinfo map[string]string
	streams []int64 // tcp.stream of the NFS connections, in order of first frame
}

func loadView(t *testing.T, name string) *view {
	t.Helper()
	v := &view{t: t, capinfo: map[string]string{}}
	var err error
	if v.tcp, err = tsharkview.Read(filepath.Join(pcapDir, name+".tcp.tsv")); err != nil {
		t.Fatal(err)
	}
	if v.rpc, err = tsharkview.Read(filepath.Join(pcapDir, name+".rpc.tsv")); err != nil {
		t.Fatal(err)
	}
	data, err := os.ReadFile(filepath.Join(pcapDir, name+".capinfos.txt"))
	if err != nil {
		t.Fatal(err)
	}
	for _, line := range strings.Split(string(data), "\n") {
		if k, val, ok := strings.Cut(line, ":"); ok && !strings.HasPrefix(line, " ") {
			v.capinfo[strings.TrimSpace(k)] = strings.TrimSpace(val)
		}
	}
	for _, r := range v.tcp {
		if r["tcp.srcport"] == "2049" || r["tcp.dstport"] == "2049" {
			if s := v.int(r["tcp.stream"]); !slices.Contains(v.streams, s) {
				v.streams = append(v.streams, s)
			}
		}
	}
	return v
}

func (v *view) int(s string) int64 {
	v.t.Helper()
	n, err := strconv.ParseInt(s, 0, 64)
	if err != nil {
		v.t.Fatalf("tshark view value %q: %v", s, err)
	}
	return n
}

func (v *view) time(r tsharkview.Row) time.Time {
	f, err := strconv.ParseFloat(r["frame.time_epoch"], 64)
	if err != nil {
		v.t.Fatal(err)
	}
	sec := math.Floor(f)
	return time.Unix(int64(sec), int64(math.Round((f-sec)*1e6))*1e3).UTC()
}

// nfsMsg is one RPC message to or from port 2049, as tshark decoded it.
type nfsMsg struct {
	row     tsharkview.Row
	frame   int64
	call    bool
	xid     string
	proc    int64
	stream  int64
	partner string // the reply's frame on a call (tshark 4.0's rpc.reqframe), "" if none
}

func (v *view) nfsMessages() []nfsMsg {
	var out []nfsMsg
	stream := map[int64]int64{}
	for _, r := range v.tcp {
		stream[v.int(r["frame.number"])] = v.int(r["tcp.stream"])
	}
	for _, r := range v.rpc {
		if r["rpc.xid"] == "" || strings.Contains(r["rpc.xid"], ",") || (r["tcp.dstport"] != "2049" && r["tcp.srcport"] != "2049") {
			continue // these captures carry one message per frame
		}
		m := nfsMsg{row: r, frame: v.int(r["frame.number"]), call: r["rpc.msgtyp"] == "0", xid: r["rpc.xid"]}
		m.stream = stream[m.frame]
		if m.call {
			m.proc = v.int(r["rpc.procedure"])
			m.partner = r["rpc.reqframe"]
		}
		out = append(out, m)
	}
	return out
}

// unanswered returns tshark's NFS calls that have no reply.
func (v *view) unanswered() []nfsMsg {
	var out []nfsMsg
	for _, m := range v.nfsMessages() {
		if m.call && m.partner == "" {
			out = append(out, m)
		}
	}
	return out
}

func (v *view) row(frame int64) tsharkview.Row {
	for _, r := range v.tcp {
		if v.int(r["frame.number"]) == frame {
			return r
		}
	}
	v.t.Fatalf("frame %d not in the TCP view", frame)
	return nil
}

// serverAck returns the first segment from the server that ACKs the call
// in frame call (its last byte).
func (v *view) serverAck(call int64) tsharkview.Row {
	c := v.row(call)
	end := uint32(v.int(c["tcp.seq_raw"]) + v.int(c["tcp.len"]))
	for _, r := range v.tcp {
		if v.int(r["frame.number"]) > call && r["tcp.srcport"] == "2049" && r["tcp.stream"] == c["tcp.stream"] &&
			int32(uint32(v.int(r["tcp.ack_raw"]))-end) >= 0 {
			return r
		}
	}
	v.t.Fatalf("no server ACK of frame %d", call)
	return nil
}

// ms is a duration in ms as the report rounds it (to the ns).
func msBetween(a, b time.Time) float64 { return float64(b.Sub(a).Nanoseconds()) / 1e6 }

func near(a, b float64) bool { return math.Abs(a-b) < 0.0015 }

func TestJSONValuesAgainstTshark(t *testing.T) {
	for _, name := range []string{"stall-server-hung.pcap", "stall-client-noack.pcap"} {
		t.Run(name, func(t *testing.T) {
			v := loadView(t, name)
			path := filepath.Join(pcapDir, name+".gz")
			var out, errb bytes.Buffer
			code := run([]string{"--format", "json", path}, nil, &out, &errb)
			if code != exitStall {
				t.Fatalf("exit %d, want %d (a stall); stderr %s", code, exitStall, errb.String())
			}
			var r map[string]any
			if err := json.Unmarshal(out.Bytes(), &r); err != nil {
				t.Fatal(err)
			}
			eq := func(what string, got, want any) {
				t.Helper()
				if fmt.Sprint(got) != fmt.Sprint(want) {
					t.Errorf("%s = %v, tshark says %v", what, got, want)
				}
			}
			obj := func(m any, key string) map[string]any {
				t.Helper()
				o, ok := m.(map[string]any)[key].(map[string]any)
				if !ok {
					t.Fatalf("%q is not an object", key)
				}
				return o
			}
			arr := func(m any, key string) []any {
				t.Helper()
				a, ok := m.(map[string]any)[key].([]any)
				if !ok {
					t.Fatalf("%q is not an array", key)
				}
				return a
			}
			num := func(m any, key string) float64 {
				t.Helper()
				f, ok := m.(map[string]any)[key].(float64)
				if !ok {
					t.Fatalf("%q is %T, not a number", key, m.(map[string]any)[key])
				}
				return f
			}
			str := func(m any, key string) string {
				t.Helper()
				s, ok := m.(map[string]any)[key].(string)
				if !ok {
					t.Fatalf("%q is %T, not a string", key, m.(map[string]any)[key])
				}
				return s
			}
			stamp := func(tm time.Time) string { return tm.Format("2006-01-02T15:04:05.000000000Z") }

			// captures: capinfos.
			caps := arr(r, "captures")
			eq("len(captures)", len(caps), 1)
			c0 := caps[0]
			eq("captures[0].file", str(c0, "file"), path)
			eq("captures[0].format", str(c0, "format"), "pcap")
			eq("captures[0].link_type", str(c0, "link_type"), map[string]string{"ether": "ETHERNET"}[v.capinfo["File encapsulation"]])
			eq("captures[0].packets", num(c0, "packets"), float64(v.int(v.capinfo["Number of packets"])))
			eq("captures[0].truncated", c0.(map[string]any)["truncated"], false)
			eq("captures[0].snaplen", num(c0, "snaplen"), float64(v.int(strings.Fields(strings.TrimPrefix(v.capinfo["Packet size limit"], "file hdr:"))[0])))
			for key, ci := range map[string]string{"first_time": "First packet time", "last_time": "Last packet time"} {
				want, err := time.Parse("2006-01-02 15:04:05.000000", v.capinfo[ci])
				if err != nil {
					t.Fatal(err)
				}
				eq("captures[0]."+key, str(c0, key), stamp(want))
			}

			// summary, procedures, connections: the RPC view.
			msgs := v.nfsMessages()
			var calls, replies int
			perStream := map[int64][3]int{} // calls, replies, unanswered
			type procRow struct {
				calls, replies int
				min, max       float64
			}
			procs := map[string]*procRow{}
			procName := map[int64]string{0: "NULL", 1: "GETATTR", 3: "LOOKUP", 4: "ACCESS", 6: "READ", 7: "WRITE", 19: "FSINFO", 20: "PATHCONF", 18: "FSSTAT"}
			byFrame := map[int64]nfsMsg{}
			for _, m := range msgs {
				byFrame[m.frame] = m
			}
			for _, m := range msgs {
				s := perStream[m.stream]
				if m.call {
					calls++
					s[0]++
					if m.partner == "" {
						s[2]++
					}
					p := procs[procName[m.proc]]
					if p == nil {
						p = &procRow{min: math.Inf(1)}
						procs[procName[m.proc]] = p
					}
					p.calls++
				} else {
					replies++
					s[1]++
				}
				perStream[m.stream] = s
			}
			for _, m := range msgs {
				if m.call || m.row["rpc.time"] == "" {
					continue
				}
				call := byFrame[v.int(m.row["rpc.repframe"])]
				p := procs[procName[call.proc]]
				p.replies++
				sec, _ := strconv.ParseFloat(m.row["rpc.time"], 64)
				p.min, p.max = math.Min(p.min, sec*1e3), math.Max(p.max, sec*1e3)
			}
			sum := obj(r, "summary")
			eq("summary.connections", num(sum, "connections"), float64(len(v.streams)))
			eq("summary.calls", num(sum, "calls"), float64(calls))
			eq("summary.replies", num(sum, "replies"), float64(replies))
			eq("summary.unanswered", num(sum, "unanswered"), float64(len(v.unanswered())))
			var retrans, ackLost int
			for _, row := range v.tcp {
				if slices.Contains(v.streams, v.int(row["tcp.stream"])) {
					if row["tcp.analysis.retransmission"] == "1" {
						retrans++
					}
					if row["tcp.analysis.ack_lost_segment"] == "1" {
						ackLost++
					}
				}
			}
			eq("summary.tcp_retransmissions", num(sum, "tcp_retransmissions"), float64(retrans))
			if ackLost == 0 {
				eq("summary.capture_loss_bytes", num(sum, "capture_loss_bytes"), 0.0)
			}
			for _, p := range arr(r, "procedures") {
				want := procs[str(p, "name")]
				if want == nil {
					t.Errorf("procedure %s: not in tshark's view", str(p, "name"))
					continue
				}
				eq("procedures["+str(p, "name")+"].calls", num(p, "calls"), float64(want.calls))
				eq("procedures["+str(p, "name")+"].replies", num(p, "replies"), float64(want.replies))
				eq("procedures["+str(p, "name")+"].program", num(p, "program"), 100003.0)
				eq("procedures["+str(p, "name")+"].version", num(p, "version"), 3.0)
				if want.replies > 0 {
					lat := obj(p, "latency_ms")
					if !near(num(lat, "min"), want.min) || !near(num(lat, "max"), want.max) {
						t.Errorf("procedures[%s].latency_ms min %v max %v, tshark's rpc.time %v..%v", str(p, "name"), lat["min"], lat["max"], want.min, want.max)
					}
				}
			}
			conns := arr(r, "connections")
			eq("len(connections)", len(conns), len(v.streams))
			for i, s := range v.streams {
				cn := conns[i]
				eq("connections[].id", num(cn, "id"), float64(i+1))
				var first tsharkview.Row
				for _, row := range v.tcp {
					if v.int(row["tcp.stream"]) == s {
						first = row
						break
					}
				}
				client, server := first["ip.src"]+":"+first["tcp.srcport"], first["ip.dst"]+":"+first["tcp.dstport"]
				if first["tcp.srcport"] == "2049" {
					client, server = server, client
				}
				eq("connections[].client", str(cn, "client"), client)
				eq("connections[].server", str(cn, "server"), server)
				eq("connections[].calls", num(cn, "calls"), float64(perStream[s][0]))
				eq("connections[].replies", num(cn, "replies"), float64(perStream[s][1]))
				eq("connections[].unanswered", num(cn, "unanswered"), float64(perStream[s][2]))
			}

			// The unanswered call: finding, diagnosis, unanswered_calls.
			un := v.unanswered()
			if len(un) != 1 {
				t.Fatalf("tshark shows %d unanswered NFS calls", len(un))
			}
			call := un[0]
			connID := float64(slices.Index(v.streams, call.stream) + 1)
			callTime := v.time(v.row(call.frame))
			lastRow := v.tcp[len(v.tcp)-1]
			end, err := time.Parse("2006-01-02 15:04:05.000000", v.capinfo["Last packet time"])
			if err != nil {
				t.Fatal(err)
			}
			_ = lastRow
			xid := fmt.Sprintf("0x%08x", v.int(call.xid))
			ua := arr(r, "unanswered_calls")
			eq("len(unanswered_calls)", len(ua), 1)
			u := ua[0]
			eq("unanswered_calls[0].connection", num(u, "connection"), connID)
			eq("unanswered_calls[0].xid", str(u, "xid"), xid)
			eq("unanswered_calls[0].program", num(u, "program"), 100003.0)
			eq("unanswered_calls[0].version", num(u, "version"), 3.0)
			eq("unanswered_calls[0].procedure", str(u, "procedure"), procName[call.proc])
			eq("unanswered_calls[0].frame", num(u, "frame"), float64(call.frame))
			eq("unanswered_calls[0].last_frame", num(u, "last_frame"), float64(call.frame))
			eq("unanswered_calls[0].sent", str(u, "sent"), stamp(callTime))
			eq("unanswered_calls[0].sends", num(u, "sends"), 1.0)
			if !near(num(u, "age_ms"), msBetween(callTime, end)) {
				t.Errorf("unanswered_calls[0].age_ms = %v, from tshark's times %v", u.(map[string]any)["age_ms"], msBetween(callTime, end))
			}

			findings := arr(r, "findings")
			var unansweredAt = -1
			for i, f := range findings {
				if str(f, "kind") == "unanswered_call" {
					unansweredAt = i
				}
			}
			if unansweredAt < 0 {
				t.Fatal("no unanswered_call finding")
			}
			f := findings[unansweredAt]
			ack := v.serverAck(call.frame)
			eq("finding.severity", str(f, "severity"), "stall")
			eq("finding.connection", num(f, "connection"), connID)
			eq("finding.xid", str(f, "xid"), xid)
			eq("finding.procedure", str(f, "procedure"), procName[call.proc])
			eq("finding.capture", num(f, "capture"), 0.0)
			eq("finding.start", str(f, "start"), stamp(callTime))
			eq("finding.frames", arr(f, "frames"), []float64{float64(call.frame), float64(v.int(ack["frame.number"]))})
			if !near(num(f, "duration_ms"), msBetween(callTime, end)) {
				t.Errorf("finding.duration_ms = %v, from tshark's times %v", f.(map[string]any)["duration_ms"], msBetween(callTime, end))
			}

			diags := arr(r, "diagnoses")
			eq("len(diagnoses)", len(diags), 1)
			d := diags[0]
			eq("diagnoses[0].connection", num(d, "connection"), connID)
			want := "server_not_replying"
			if name == "stall-client-noack.pcap" {
				want = "client_not_acking"
			}
			eq("diagnoses[0].verdict", str(d, "verdict"), want)
			idx := arr(d, "findings")
			if !slices.Contains(idx, any(float64(unansweredAt))) {
				t.Errorf("diagnoses[0].findings %v lacks the unanswered call's finding %d", idx, unansweredAt)
			}
			for _, i := range idx {
				eq("finding of the diagnosis: connection", num(findings[int(i.(float64))], "connection"), connID)
			}
			filters := arr(d, "wireshark_filters")
			if len(filters) != 1 || !strings.Contains(str(filters[0], "filter"), fmt.Sprintf("frame.number == %d ", call.frame)) {
				t.Errorf("wireshark_filters %v lack the call's frame %d", filters, call.frame)
			}
			if name != "stall-client-noack.pcap" {
				return
			}
			// The never-ACKed bytes: tshark's retransmissions from the
			// server whose bytes no later client segment ACKs, and their
			// original transmission (the first segment with that seq).
			var frames []float64
			var seq int64 = -1
			for _, row := range v.tcp {
				if row["tcp.analysis.retransmission"] != "1" || row["tcp.srcport"] != "2049" {
					continue
				}
				s := v.int(row["tcp.seq_raw"])
				end := uint32(s + v.int(row["tcp.len"]))
				acked := false
				for _, later := range v.tcp {
					if later["tcp.dstport"] == "2049" && later["tcp.stream"] == row["tcp.stream"] && v.int(later["frame.number"]) > v.int(row["frame.number"]) &&
						int32(uint32(v.int(later["tcp.ack_raw"]))-end) >= 0 {
						acked = true
					}
				}
				if acked {
					continue
				}
				if seq < 0 {
					seq = s
					for _, orig := range v.tcp {
						if orig["tcp.srcport"] == "2049" && v.int(orig["tcp.seq_raw"]) == s {
							frames = append(frames, float64(v.int(orig["frame.number"])))
							break
						}
					}
				}
				if s == seq {
					frames = append(frames, float64(v.int(row["frame.number"])))
				}
			}
			var unacked map[string]any
			for _, f := range findings {
				if str(f, "kind") == "unacked_retransmission" {
					unacked = f.(map[string]any)
				}
			}
			if unacked == nil {
				t.Fatal("no unacked_retransmission finding")
			}
			eq("unacked_retransmission.frames", arr(unacked, "frames"), frames)
			eq("unacked_retransmission.connection", num(unacked, "connection"), connID)
			eq("unacked_retransmission.xid", str(unacked, "xid"), xid)
			eq("summary.unacked_retransmissions", num(sum, "unacked_retransmissions"), float64(len(frames)-1))
		})
	}
}

// nfs3ProcNames are the NFSv3 procedures by number (RFC 1813, section 3).
var nfs3ProcNames = []string{"NULL", "GETATTR", "SETATTR", "LOOKUP", "ACCESS", "READLINK", "READ", "WRITE", "CREATE",
	"MKDIR", "SYMLINK", "MKNOD", "REMOVE", "RMDIR", "RENAME", "LINK", "READDIR", "READDIRPLUS", "FSSTAT", "FSINFO",
	"PATHCONF", "COMMIT"}

// TestJSONLatencyNullWithoutReply: a procedure none of whose calls got a
// reply has latency_ms and latency_last_ms null (not zeros, which read as
// replies in 0 ms); one with replies has numbers, its min and max tshark's
// rpc.time. Which procedures got a reply is tshark's rpc.reqframe on the
// replies. cut.pcap's last READ (frame 58) is its only READ and has none.
func TestJSONLatencyNullWithoutReply(t *testing.T) {
	nulls := 0
	for _, name := range []string{"cut.pcap", "stall-server-hung.pcap.gz", "stall-client-noack.pcap.gz"} {
		t.Run(name, func(t *testing.T) {
			v := &view{t: t}
			rows, err := tsharkview.Read(filepath.Join(pcapDir, strings.TrimSuffix(name, ".gz")+".rpc.tsv"))
			if err != nil {
				t.Fatal(err)
			}
			type proc struct {
				replied  int
				min, max float64
			}
			want := map[string]*proc{}
			callProc := map[string]string{} // call frame -> procedure
			for _, r := range rows {
				if r["tcp.dstport"] != "2049" || r["rpc.msgtyp"] != "0" || r["rpc.program"] != "100003" || strings.Contains(r["rpc.xid"], ",") {
					continue
				}
				p := nfs3ProcNames[v.int(r["rpc.procedure"])]
				callProc[r["frame.number"]] = p
				if want[p] == nil {
					want[p] = &proc{min: math.Inf(1)}
				}
			}
			for _, r := range rows {
				// tshark 4.0 names the call's frame rpc.repframe on a reply
				// (and the reply's rpc.reqframe on a call).
				p, ok := callProc[r["rpc.repframe"]]
				if r["rpc.msgtyp"] != "1" || !ok || r["rpc.time"] == "" {
					continue
				}
				sec, err := strconv.ParseFloat(r["rpc.time"], 64)
				if err != nil {
					t.Fatal(err)
				}
				w := want[p]
				w.replied++
				w.min, w.max = math.Min(w.min, sec*1e3), math.Max(w.max, sec*1e3)
			}
			var out, errb bytes.Buffer
			if code := run([]string{"--format", "json", filepath.Join(pcapDir, name)}, nil, &out, &errb); code == exitError {
				t.Fatalf("exit %d: %s", code, errb.String())
			}
			var r struct {
				Procedures []map[string]json.RawMessage `json:"procedures"`
			}
			if err := json.Unmarshal(out.Bytes(), &r); err != nil {
				t.Fatal(err)
			}
			seen := 0
			for _, p := range r.Procedures {
				var prog int
				var pname string
				json.Unmarshal(p["program"], &prog)
				json.Unmarshal(p["name"], &pname)
				if prog != 100003 {
					continue
				}
				w := want[pname]
				if w == nil {
					t.Errorf("procedure %s: no call in tshark's view", pname)
					continue
				}
				seen++
				for _, key := range []string{"latency_ms", "latency_last_ms"} {
					raw, ok := p[key]
					if !ok {
						t.Errorf("%s: no %s", pname, key)
						continue
					}
					if w.replied == 0 {
						nulls++
						if string(raw) != "null" {
							t.Errorf("%s: no reply in tshark's view, %s = %s, want null", pname, key, raw)
						}
						continue
					}
					var lat map[string]float64
					if err := json.Unmarshal(raw, &lat); err != nil || lat == nil {
						t.Errorf("%s: %d replies in tshark's view, %s = %s, want an object", pname, w.replied, key, raw)
						continue
					}
					if key == "latency_ms" && (!near(lat["min"], w.min) || !near(lat["max"], w.max)) {
						t.Errorf("%s: latency_ms min %v max %v, tshark's rpc.time %v..%v", pname, lat["min"], lat["max"], w.min, w.max)
					}
				}
			}
			if seen != len(want) {
				t.Errorf("%d NFSv3 procedures in the JSON, tshark has calls of %d", seen, len(want))
			}
		})
	}
	if nulls == 0 {
		t.Error("no procedure without a reply among the captures: the null case is not checked")
	}
}
