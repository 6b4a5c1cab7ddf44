package analyze_test

// The HTML report's picture data (Report.Timelines, LatencyOverTime) held
// to tshark's views of the lab's captures: every segment point, ACK
// point, count of calls waiting and latency bucket is rebuilt from the
// *.tcp.tsv and *.rpc.tsv views alone (frame times, tcp.seq, tcp.len,
// tcp.ack_raw against the peer's base, tcp.window_size, the
// tcp.analysis.* retransmission flags, rpc.msgtyp/xid, rpc.time) and
// compared point by point.

import (
	"math"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"testing"

	"github.com/nfsstall/nfsstall/analyze"
	"github.com/nfsstall/nfsstall/capture"
	"github.com/nfsstall/nfsstall/decode"
	"github.com/nfsstall/nfsstall/internal/tsharkview"
)

// The lab's captures held to tshark, but snap200: tshark loses its place in
// the streams the snaplen cut (see TestLatencyAgreesWithTsharkRPCTime).
var timelineCaptures = []string{"stall-client-noack.pcap", "stall-server-hung.pcap", "zero-window-ends.pcap", "mixed.pcap",
	"stall-server-stopped.pcap", "zero-window.pcap", "reconnect.pcap", "reconnect-drop.pcap", "reconnect-rst.pcap",
	"nfs4-grace.pcap", "nfs4-ops.pcap", "nfs4-server-hung.pcap", "any-sll2.pcap", "ipv6.pcap"}

// firstPacketTime is the time of the capture's frame 1.
func firstPacketTime(t *testing.T, path string) int64 {
	t.Helper()
	in, err := capture.OpenInputs([]string{path}, nil)
	if err != nil {
		t.Fatal(err)
	}
	defer in.Close()
	var p capture.Packet
	if err := in.Next(&p); err != nil {
		t.Fatal(err)
	}
	if p.Frame != 1 {
		t.Fatalf("first packet is frame %d", p.Frame)
	}
	return p.Time
}

func msSince(t0, ns int64) float64 { return float64(ns-t0) / 1e6 }

func closeMS(a, b float64) bool { return math.Abs(a-b) < 1e-6 }

// tail checks that got is the last len(got) of want, and that dropped
// counts the rest.
func tail[T any](t *testing.T, what string, got []T, dropped int64, want []T, eq func(g, w T) bool) {
	t.Helper()
	if int64(len(got))+dropped != int64(len(want)) {
		t.Errorf("%s: %d kept + %d dropped, tshark's view has %d", what, len(got), dropped, len(want))
		return
	}
	w := want[len(want)-len(got):]
	bad := 0
	for i := range got {
		if !eq(got[i], w[i]) {
			if bad++; bad <= 5 {
				t.Errorf("%s %d: %+v, tshark %+v", what, i, got[i], w[i])
			}
		}
	}
}

func TestTimelinesAgreeWithTshark(t *testing.T) {
	checked := map[string]int{}
	for _, name := range timelineCaptures {
		t.Run(name, func(t *testing.T) {
			path := filepath.Join(pcapDir, name+".gz")
			r, _ := run(t, path)
			t0 := firstPacketTime(t, path)
			tcpRows := readTSV(t, filepath.Join(pcapDir, name+".tcp.tsv"))
			rpcRows := readTSV(t, filepath.Join(pcapDir, name+".rpc.tsv"))

			// Which connections: the diagnosed ones, or the 3 busiest.
			var wantIDs []int
			for _, d := range r.Diagnoses {
				if len(wantIDs) < 10 {
					wantIDs = append(wantIDs, d.Connection)
				}
			}
			if len(r.Diagnoses) == 0 {
				conns := slices.Clone(r.Connections)
				slices.SortStableFunc(conns, func(x, y analyze.Connection) int {
					if x.Calls != y.Calls {
						return int(y.Calls - x.Calls)
					}
					return x.ID - y.ID
				})
				for _, c := range conns[:min(3, len(conns))] {
					wantIDs = append(wantIDs, c.ID)
				}
			}
			var gotIDs []int
			for _, tl := range r.Timelines {
				gotIDs = append(gotIDs, tl.Connection)
			}
			if !slices.Equal(gotIDs, wantIDs) {
				t.Fatalf("timelines of connections %v, want %v", gotIDs, wantIDs)
			}

			byFrame := map[string]tsharkview.Row{}
			for _, row := range tcpRows {
				byFrame[row["frame.number"]] = row
			}
			for _, tl := range r.Timelines {
				var conn analyze.Connection
				for _, c := range r.Connections {
					if c.ID == tl.Connection {
						conn = c
					}
				}
				if conn.Transport != "tcp" {
					if len(tl.Segments)+len(tl.Acks) > 0 {
						t.Errorf("connection %d (%s): TCP points", conn.ID, conn.Transport)
					}
					continue
				}
				first, ok := byFrame[strconv.FormatInt(conn.FirstFrame, 10)]
				if !ok {
					t.Fatalf("connection %d: first frame %d not in tshark's TCP view", conn.ID, conn.FirstFrame)
				}
				stream := first["tcp.stream"]
				serverPort := conn.Server[strings.LastIndex(conn.Server, ":")+1:]
				var rows []tsharkview.Row
				var base [2]uint32 // per sender: 0 client, 1 server
				var haveBase [2]bool
				for _, row := range tcpRows {
					if row["tcp.stream"] != stream {
						continue
					}
					rows = append(rows, row)
					d := 0
					if row["tcp.srcport"] == serverPort {
						d = 1
					}
					if !haveBase[d] {
						base[d] = uint32(parseUint(t, row["tcp.seq_raw"]) - parseUint(t, row["tcp.seq"]))
						haveBase[d] = true
					}
				}
				var segs []analyze.SegmentPoint
				var acks []analyze.AckPoint
				var last [2]*analyze.AckPoint
				for _, row := range rows {
					fromServer := row["tcp.srcport"] == serverPort
					d := 0
					if fromServer {
						d = 1
					}
					frame := int64(parseUint(t, row["frame.number"]))
					tm := msSince(t0, epochNS(t, row["frame.time_epoch"]))
					if n := parseUint(t, row["tcp.len"]); n > 0 {
						segs = append(segs, analyze.SegmentPoint{TimeMS: tm, Frame: frame, FromServer: fromServer,
							Seq: uint32(parseUint(t, row["tcp.seq"])), Len: uint32(n),
							Retransmission: row["tcp.analysis.retransmission"] == "1" || row["tcp.analysis.fast_retransmission"] == "1" ||
								row["tcp.analysis.spurious_retransmission"] == "1"})
					}
					flags, err := strconv.ParseUint(strings.TrimPrefix(row["tcp.flags"], "0x"), 16, 16)
					if err != nil {
						t.Fatal(err)
					}
					if flags&0x10 == 0 {
						continue
					}
					if !haveBase[1-d] {
						t.Fatalf("frame %d: the peer never sent", frame)
					}
					p := analyze.AckPoint{TimeMS: tm, Frame: frame, FromServer: fromServer,
						Ack: uint32(parseUint(t, row["tcp.ack_raw"])) - base[1-d], Window: uint32(parseUint(t, row["tcp.window_size"]))}
					if l := last[d]; l != nil && l.Ack == p.Ack && l.Window == p.Window {
						continue // a run of the same ACK and window: one point
					}
					acks = append(acks, p)
					last[d] = &p
				}
				tail(t, "segment", tl.Segments, tl.DroppedSegments, segs, func(g, w analyze.SegmentPoint) bool {
					return g.Frame == w.Frame && closeMS(g.TimeMS, w.TimeMS) && g.Capture == 0 && g.FromServer == w.FromServer &&
						g.Seq == w.Seq && g.Len == w.Len && g.Retransmission == w.Retransmission
				})
				tail(t, "ACK", tl.Acks, tl.DroppedAcks, acks, func(g, w analyze.AckPoint) bool {
					return g.Frame == w.Frame && closeMS(g.TimeMS, w.TimeMS) && g.FromServer == w.FromServer && g.Ack == w.Ack && g.Window == w.Window
				})

				// Calls waiting: a call counts on the connection it was
				// first sent on (keyed by client address, server and XID,
				// as a reconnect re-sends it on another) from its first
				// transmission to its reply, on whichever connection; the
				// same XID for another procedure is a new call.
				var outs []analyze.CountPoint
				type callKey struct{ client, server, xid string }
				type waitingCall struct{ stream, proc string }
				waiting := map[callKey]waitingCall{}
				n := 0
				for _, row := range rpcRows {
					if row["tcp.stream"] == "" || row["rpc.xid"] == "" {
						continue
					}
					tm := msSince(t0, epochNS(t, row["frame.time_epoch"]))
					types := strings.Split(row["rpc.msgtyp"], ",")
					procs := strings.Split(row["rpc.procedure"], ",")
					src, dst := row["ip.src"]+row["ipv6.src"], row["ip.dst"]+row["ipv6.dst"]
					for i, xid := range strings.Split(row["rpc.xid"], ",") {
						k := callKey{src, dst + ":" + row["tcp.dstport"], xid}
						if types[i] == "1" {
							k = callKey{dst, src + ":" + row["tcp.srcport"], xid}
						}
						w, ok := waiting[k]
						switch {
						case types[i] == "0" && ok && w.proc == procs[i]:
							continue // a re-send
						case types[i] == "0":
							if ok {
								delete(waiting, k) // superseded
								if w.stream == stream {
									n--
									outs = append(outs, analyze.CountPoint{TimeMS: tm, N: n})
								}
							}
							waiting[k] = waitingCall{row["tcp.stream"], procs[i]}
							if row["tcp.stream"] == stream {
								n++
								outs = append(outs, analyze.CountPoint{TimeMS: tm, N: n})
							}
						case types[i] == "1" && ok:
							delete(waiting, k)
							if w.stream == stream {
								n--
								outs = append(outs, analyze.CountPoint{TimeMS: tm, N: n})
							}
						}
					}
				}
				tail(t, "calls waiting", tl.Outstanding, tl.DroppedOutstanding, outs, func(g, w analyze.CountPoint) bool {
					return g.N == w.N && closeMS(g.TimeMS, w.TimeMS)
				})
				checked["segments"] += len(tl.Segments)
				checked["acks"] += len(tl.Acks)
				checked["outstanding"] += len(tl.Outstanding)
				for _, s := range tl.Segments {
					if s.Retransmission {
						checked["retransmissions"]++
					}
				}
				for _, a := range tl.Acks {
					if a.Window == 0 {
						checked["zero windows"]++
					}
				}
			}
		})
	}
	t.Logf("points checked: %v", checked)
	for _, k := range []string{"segments", "acks", "outstanding", "retransmissions", "zero windows"} {
		if checked[k] < 2 {
			t.Errorf("only %d %s checked", checked[k], k)
		}
	}
}

// TestLatencyOverTimeAgreesWithTshark: each procedure's latency buckets
// (count, min, mean, max) are those of tshark's rpc.time of its replies
// (from the first transmission: see below),
// bucketed by the reply's frame time since frame 1, the bucket length 10
// ms doubled until the latest reply falls within 120 buckets.
func TestLatencyOverTimeAgreesWithTshark(t *testing.T) {
	checked := 0
	for _, name := range timelineCaptures {
		if strings.HasPrefix(name, "nfs4-") {
			continue // NFSv4 rows are per operation, which the RPC view does not name
		}
		t.Run(name, func(t *testing.T) {
			path := filepath.Join(pcapDir, name+".gz")
			r, _ := run(t, path)
			t0 := firstPacketTime(t, path)
			type key struct {
				prog, vers uint32
				name       string
			}
			type reply struct{ at, lat int64 }
			replies := map[key][]reply{}
			var latest int64
			// The latency from the client's first transmission of the
			// XID (to the same server, for the same procedure, since its
			// previous reply), on any connection: rpc.time, the time from
			// tshark's call on the reply's connection, plus how much
			// earlier the first transmission was (README, "Latency").
			type callKey struct{ client, server, xid string }
			type sent struct {
				t    int64
				proc string
			}
			firstSent := map[callKey]sent{}
			callAt := map[string]int64{} // call frame -> time
			for _, row := range readTSV(t, filepath.Join(pcapDir, name+".rpc.tsv")) {
				if row["rpc.xid"] == "" {
					continue
				}
				if strings.Contains(row["rpc.xid"], ",") {
					t.Fatalf("frame %s: several RPC messages in one frame; the oracle reads one per row", row["frame.number"])
				}
				src, dst := row["ip.src"]+row["ipv6.src"], row["ip.dst"]+row["ipv6.dst"]
				sport, dport := row["tcp.srcport"]+row["udp.srcport"], row["tcp.dstport"]+row["udp.dstport"]
				ts := epochNS(t, row["frame.time_epoch"])
				if row["rpc.msgtyp"] == "0" {
					k := callKey{src, dst + ":" + dport, row["rpc.xid"]}
					if f, ok := firstSent[k]; !ok || f.proc != row["rpc.procedure"] {
						firstSent[k] = sent{ts, row["rpc.procedure"]}
					}
					callAt[row["frame.number"]] = ts
					continue
				}
				k := callKey{dst, src + ":" + sport, row["rpc.xid"]}
				f, ok := firstSent[k]
				delete(firstSent, k)
				if row["rpc.time"] == "" || !ok {
					continue // tshark did not pair it
				}
				lat := secondsNS(t, row["rpc.time"]) + callAt[row["rpc.repframe"]] - f.t
				prog := uint32(parseUint(t, row["rpc.program"]))
				vers := uint32(parseUint(t, strings.Split(row["rpc.programversion"], ",")[0]))
				k2 := key{prog, vers, decode.ProcName(prog, vers, uint32(parseUint(t, row["rpc.procedure"])))}
				at := ts - t0
				replies[k2] = append(replies[k2], reply{at, lat})
				latest = max(latest, at)
			}
			width := int64(10e6)
			for latest/width >= 120 {
				width *= 2
			}
			if len(r.LatencyOverTime) != min(len(replies), 40) {
				t.Errorf("%d series, tshark has replies of %d procedures", len(r.LatencyOverTime), len(replies))
			}
			for _, s := range r.LatencyOverTime {
				if s.BucketMS != float64(width)/1e6 {
					t.Errorf("%s: buckets of %v ms, want %v", s.Procedure, s.BucketMS, float64(width)/1e6)
				}
				rs := replies[key{s.ProgramNumber, s.Version, s.Procedure}]
				if len(rs) == 0 {
					t.Errorf("%s %s v%d: no reply in tshark's view", s.Program, s.Procedure, s.Version)
					continue
				}
				var want []analyze.LatencyPoint
				byBucket := map[int64][]int64{}
				var order []int64
				for _, x := range rs {
					b := x.at / width
					if _, ok := byBucket[b]; !ok {
						order = append(order, b)
					}
					byBucket[b] = append(byBucket[b], x.lat)
				}
				slices.Sort(order)
				for _, b := range order {
					l := byBucket[b]
					var sum int64
					for _, v := range l {
						sum += v
					}
					want = append(want, analyze.LatencyPoint{TimeMS: float64(b*width) / 1e6, Count: len(l),
						MinMS: float64(slices.Min(l)) / 1e6, MeanMS: float64(sum) / float64(len(l)) / 1e6, MaxMS: float64(slices.Max(l)) / 1e6})
				}
				if len(s.Buckets) != len(want) {
					t.Errorf("%s: %d buckets, tshark's replies fill %d:\n%+v\n%+v", s.Procedure, len(s.Buckets), len(want), s.Buckets, want)
					continue
				}
				for i, g := range s.Buckets {
					w := want[i]
					if g.Count != w.Count || !closeMS(g.TimeMS, w.TimeMS) || !closeMS(g.MinMS, w.MinMS) || !closeMS(g.MeanMS, w.MeanMS) || !closeMS(g.MaxMS, w.MaxMS) {
						t.Errorf("%s bucket %d: %+v, tshark %+v", s.Procedure, i, g, w)
					}
					checked += g.Count
				}
			}
		})
	}
	t.Logf("%d replies checked", checked)
	if checked < 100 {
		t.Errorf("only %d replies checked", checked)
	}
}
