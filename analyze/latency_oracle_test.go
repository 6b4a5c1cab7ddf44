package analyze_test

// Per-procedure latency statistics held to tshark. The oracle is tshark's
// rpc.time of every NFSv3 reply (*.rpc.tsv), not a trace field nfsstall
// computes: from it and tshark's frame times the test rebuilds each call's
// latency under nfsstall's two definitions, then the count, min, max, mean
// and the nearest-rank p50/p90/p99 of each procedure, and compares them
// with the report's latency_ms and latency_last_ms.
//
// Definitions (README, "Latency"):
//   - tshark's rpc.time on a reply is the time since the call with that XID
//     on the same TCP connection (tshark keys calls by XID and conversation).
//   - latency_ms ("from the first transmission"): from the first time the
//     client sent that XID (same program and procedure, to the same server),
//     on any connection, since the previous reply to that XID. Across a
//     reconnect that is an earlier call on another connection:
//     latency = rpc.time + (time of tshark's call - time of the first call).
//   - latency_last_ms: from the last transmission before the reply.
//   - pN: the nearest-rank quantile, the ceil(N/100 * n)-th smallest of the
//     n latencies (exact below 4096 replies per procedure, as here).

import (
	"fmt"
	"math"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"testing"

	"github.com/nfsstall/nfsstall/analyze"
	"github.com/nfsstall/nfsstall/internal/tsharkview"
)

// oracleCall is one NFSv3 call row of a view.
type oracleCall struct {
	frame  int64
	t      int64 // ns
	client string
	server string // ip:port
	xid    string
	proc   uint32
}

// oracleLatencies returns, per NFSv3 procedure, the latencies (ns) from
// the first and from the last transmission of every call tshark paired,
// rebuilt from tshark's rpc.time.
func oracleLatencies(t *testing.T, rows []tsharkview.Row) (first, last map[uint32][]int64) {
	first, last = map[uint32][]int64{}, map[uint32][]int64{}
	type key struct{ client, server, xid string }
	sent := map[key][]oracleCall{} // transmissions since the last reply
	callAt := map[int64]oracleCall{}
	for _, row := range rows {
		if row["rpc.xid"] == "" || strings.Contains(row["rpc.xid"], ",") {
			if strings.Contains(row["rpc.xid"], ",") {
				t.Fatalf("frame %s: several RPC messages in one frame; the oracle reads one per row", row["frame.number"])
			}
			continue
		}
		if row["rpc.program"] != "100003" || strings.Split(row["rpc.programversion"], ",")[0] != "3" {
			continue
		}
		frame := int64(parseUint(t, row["frame.number"]))
		ts := epochNS(t, row["frame.time_epoch"])
		src := row["ip.src"] + row["ipv6.src"]
		dst := row["ip.dst"] + row["ipv6.dst"]
		sport, dport := row["tcp.srcport"]+row["udp.srcport"], row["tcp.dstport"]+row["udp.dstport"]
		switch row["rpc.msgtyp"] {
		case "0":
			c := oracleCall{frame: frame, t: ts, client: src, server: dst + ":" + dport, xid: row["rpc.xid"],
				proc: uint32(parseUint(t, row["rpc.procedure"]))}
			k := key{c.client, c.server, c.xid}
			if prev := sent[k]; len(prev) > 0 && prev[0].proc != c.proc {
				sent[k] = nil // the XID reused for another procedure: a new call
			}
			sent[k] = append(sent[k], c)
			callAt[frame] = c
		case "1":
			k := key{dst, src + ":" + sport, row["rpc.xid"]}
			partner := row["rpc.repframe"]
			if partner == "" || row["rpc.time"] == "" {
				delete(sent, k)
				continue // tshark did not pair it
			}
			call, ok := callAt[int64(parseUint(t, partner))]
			if !ok {
				t.Fatalf("reply frame %d: tshark's call frame %s is not an NFSv3 call row", frame, partner)
			}
			rpcTime := secondsNS(t, row["rpc.time"])
			if call.t+rpcTime != ts {
				t.Fatalf("reply frame %d: call time + rpc.time = %d, frame time %d", frame, call.t+rpcTime, ts)
			}
			tx := sent[k]
			if len(tx) == 0 {
				t.Fatalf("reply frame %d: no call of xid %s before it", frame, k.xid)
			}
			first[call.proc] = append(first[call.proc], rpcTime+call.t-tx[0].t)
			last[call.proc] = append(last[call.proc], rpcTime+call.t-tx[len(tx)-1].t)
			delete(sent, k)
		}
	}
	return first, last
}

// epochNS parses a time in seconds with up to 9 decimals exactly.
func epochNS(t *testing.T, s string) int64 {
	sec, frac, _ := strings.Cut(s, ".")
	frac = (frac + "000000000")[:9]
	a, err1 := strconv.ParseInt(sec, 10, 64)
	b, err2 := strconv.ParseInt(frac, 10, 64)
	if err1 != nil || err2 != nil {
		t.Fatalf("bad time %q", s)
	}
	return a*1e9 + b
}

func secondsNS(t *testing.T, s string) int64 { return epochNS(t, s) }

// nearestRank is the q-quantile by nearest rank: the ceil(q*n)-th smallest.
// q is given in percent so that ceil is exact integer arithmetic.
func nearestRank(sorted []int64, pct int) int64 {
	n := len(sorted)
	rank := (pct*n + 99) / 100
	rank = max(1, min(rank, n))
	return sorted[rank-1]
}

// oracleSummary computes the report's Latency (ms) from latencies in ns.
func oracleSummary(ns []int64) analyze.Latency {
	s := slices.Clone(ns)
	slices.Sort(s)
	var sum int64
	for _, v := range s {
		sum += v
	}
	ms := func(v int64) float64 { return float64(v) / 1e6 }
	return analyze.Latency{Min: ms(s[0]), Max: ms(s[len(s)-1]), Mean: float64(sum) / float64(len(s)) / 1e6,
		P50: ms(nearestRank(s, 50)), P90: ms(nearestRank(s, 90)), P99: ms(nearestRank(s, 99))}
}

func latencyDiff(got, want analyze.Latency) string {
	var out []string
	for _, f := range []struct {
		name string
		g, w float64
	}{{"min", got.Min, want.Min}, {"mean", got.Mean, want.Mean}, {"p50", got.P50, want.P50},
		{"p90", got.P90, want.P90}, {"p99", got.P99, want.P99}, {"max", got.Max, want.Max}} {
		if math.Abs(f.g-f.w) > 1e-6 { // 1 ns
			out = append(out, fmt.Sprintf("%s %.6f ms (tshark %.6f)", f.name, f.g, f.w))
		}
	}
	return strings.Join(out, ", ")
}

// TestLatencyAgreesWithTsharkRPCTime: for every NFSv3 procedure of every
// capture, latency_ms and latency_last_ms (count, min, mean, p50, p90,
// p99, max) equal what tshark's per-call rpc.time gives, retransmitted
// calls included. Procedures where tshark and nfsstall cannot time the
// same messages are skipped, each with its reason: a message cut by the
// snaplen (tshark times it from its first frame, nfsstall from its last)
// or a reply tshark did not pair (it lost its place in a cut stream).
func TestLatencyAgreesWithTsharkRPCTime(t *testing.T) {
	checked, checkedRetrans, checkedP99 := 0, 0, 0
	// The lab's captures, and testdata/rpc-resent.pcap (resent_test.go):
	// a call re-sent on its own connection, which the lab cannot make.
	var dirs, names []string
	for _, dir := range []string{pcapDir, "testdata"} {
		ns, err := tsharkview.Captures(dir)
		if err != nil {
			t.Fatal(err)
		}
		for _, n := range ns {
			dirs, names = append(dirs, dir), append(names, n)
		}
	}
	for i, name := range names {
		dir := dirs[i]
		t.Run(name, func(t *testing.T) {
			rows := readTSV(t, filepath.Join(dir, name+".rpc.tsv"))
			first, last := oracleLatencies(t, rows)
			view := readRPCView(t, filepath.Join(dir, name+".rpc.tsv"))
			theirs := map[msgKey]tsharkMsg{}
			for _, m := range view {
				theirs[msgKey{m.frame, m.xid, m.call}] = m
			}
			path, err := tsharkview.CaptureFile(dir, name)
			if err != nil {
				t.Fatal(err)
			}
			r, msgs := run(t, path)
			for _, p := range r.Procedures {
				if p.Program != 100003 || p.Version != 3 {
					continue
				}
				proc := procNumber(t, msgs, p.Name)
				if anyMissing(msgs, proc) {
					t.Logf("%s: skipped, a message was cut by the snaplen", p.Name)
					continue
				}
				if n := extraPairs(msgs, theirs, proc); n > 0 {
					t.Logf("%s: skipped, %d replies tshark did not pair", p.Name, n)
					continue
				}
				timed := p.Replies - p.Untimed
				if int64(len(first[proc])) != timed {
					t.Errorf("%s: %d timed replies, tshark paired %d", p.Name, timed, len(first[proc]))
					continue
				}
				if timed == 0 {
					continue
				}
				if d := latencyDiff(p.Latency, oracleSummary(first[proc])); d != "" {
					t.Errorf("%s latency_ms (from the first transmission): %s", p.Name, d)
				}
				if d := latencyDiff(p.LatencyLast, oracleSummary(last[proc])); d != "" {
					t.Errorf("%s latency_last_ms (from the last transmission): %s", p.Name, d)
				}
				checked++
				if p.Retransmits > 0 {
					checkedRetrans++
				}
				if distinctTop(first[proc]) {
					checkedP99++
				}
			}
		})
	}
	// The check must reach what it is for: calls re-sent after a reconnect
	// (reconnect.pcap) and on their own connection (rpc-resent.pcap), and
	// a procedure where p99 differs from p95 (20 or more replies).
	if checked < 20 || checkedRetrans < 2 || checkedP99 == 0 {
		t.Errorf("checked %d procedures, %d with retransmitted calls, %d where p99 differs from p95: too few", checked, checkedRetrans, checkedP99)
	}
}

// distinctTop reports whether the p95 and p99 nearest-rank values differ.
func distinctTop(ns []int64) bool {
	s := slices.Clone(ns)
	slices.Sort(s)
	return nearestRank(s, 95) != nearestRank(s, 99)
}
