package analyze_test

import (
	"fmt"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"testing"

	"github.com/nfsstall/nfsstall/analyze"
	"github.com/nfsstall/nfsstall/internal/tsharkview"
)

// viewSeg is one TCP segment of tshark's view.
type viewSeg struct {
	frame          int64
	stream         string
	fromServer     bool
	seq, ack, n    uint32
	retrans        bool
	sackLE, sackRE []uint32
}

func atoiU32(t *testing.T, s string) uint32 {
	t.Helper()
	if s == "" {
		return 0
	}
	v, err := strconv.ParseUint(s, 10, 32)
	if err != nil {
		t.Fatalf("number %q: %v", s, err)
	}
	return uint32(v)
}

// readViewSegs reads NAME.tcp.tsv and, when present, NAME.sack.tsv (raw
// SACK edges, comma-joined) of a capture in pcapDir.
func readViewSegs(t *testing.T, name string) []viewSeg {
	t.Helper()
	rows, err := tsharkview.Read(filepath.Join(pcapDir, name+".tcp.tsv"))
	if err != nil {
		t.Fatal(err)
	}
	sacks := map[int64][2][]uint32{}
	if srows, err := tsharkview.Read(filepath.Join(pcapDir, name+".sack.tsv")); err == nil {
		for _, r := range srows {
			var le, re []uint32
			for _, x := range strings.Split(r["tcp.options.sack_le"], ",") {
				le = append(le, atoiU32(t, x))
			}
			for _, x := range strings.Split(r["tcp.options.sack_re"], ",") {
				re = append(re, atoiU32(t, x))
			}
			f, _ := strconv.ParseInt(r["frame.number"], 10, 64)
			sacks[f] = [2][]uint32{le, re}
		}
	}
	var out []viewSeg
	for _, r := range rows {
		if r["tcp.srcport"] != "2049" && r["tcp.dstport"] != "2049" {
			continue
		}
		f, _ := strconv.ParseInt(r["frame.number"], 10, 64)
		s := viewSeg{frame: f, stream: r["tcp.stream"], fromServer: r["tcp.srcport"] == "2049",
			seq: atoiU32(t, r["tcp.seq_raw"]), ack: atoiU32(t, r["tcp.ack_raw"]), n: atoiU32(t, r["tcp.len"]),
			retrans: r["tcp.analysis.retransmission"] == "1"}
		s.sackLE, s.sackRE = sacks[f][0], sacks[f][1]
		out = append(out, s)
	}
	return out
}

// ackedBy reports whether the client segment a acknowledges [seq, seq+n)
// cumulatively or with a SACK block.
func ackedBy(a viewSeg, seq, n uint32) bool {
	if int32(a.ack-(seq+n)) >= 0 {
		return true
	}
	for i := range a.sackLE {
		if int32(seq-a.sackLE[i]) >= 0 && int32(a.sackRE[i]-(seq+n)) >= 0 {
			return true
		}
	}
	return false
}

// TestMTUBlackHoleAgreesWithTshark holds the lab's mtu-blackhole capture
// (the client's firewall drops packets of 600 bytes and more, captured at
// the server) to tshark's view: the server's segments flagged
// tcp.analysis.retransmission with tcp.len of 1000 or more whose end no
// tcp.ack of the client ever reaches are the re-sent full-size runs
// (grouped by tcp.seq_raw, with the original transmission; the first 4
// runs by first re-send are listed), the first shorter segment of the
// server after the first of them is the one that passed, and the client
// segment whose SACK block (tcp.options.sack_le/re, NAME.sack.tsv) covers
// it is its ACK; the longest server segment the client ever ACKed or
// SACKed is named with its frame.
func TestMTUBlackHoleAgreesWithTshark(t *testing.T) {
	const name = "mtu-blackhole.pcap"
	segs := readViewSegs(t, name)
	clientACKs := map[string][]viewSeg{}
	for _, s := range segs {
		if !s.fromServer {
			clientACKs[s.stream] = append(clientACKs[s.stream], s)
		}
	}
	everAcked := func(s viewSeg) (int64, bool) {
		for _, a := range clientACKs[s.stream] {
			if a.frame > s.frame && ackedBy(a, s.seq, s.n) {
				return a.frame, true
			}
		}
		return 0, false
	}
	// The re-sent full-size runs never ACKed, in order of first re-send.
	var runSeqs []uint32
	runFrames := map[uint32][]int64{}
	stream, resends := "", 0
	for _, s := range segs {
		if !s.fromServer || !s.retrans || s.n < 1000 {
			continue
		}
		if _, ok := everAcked(s); ok {
			continue
		}
		if stream != "" && s.stream != stream {
			t.Fatalf("re-sent full-size segments on streams %s and %s", stream, s.stream)
		}
		stream = s.stream
		resends++
		if _, ok := runFrames[s.seq]; !ok {
			runSeqs = append(runSeqs, s.seq)
			for _, o := range segs {
				if o.fromServer && o.stream == s.stream && o.seq == s.seq && !o.retrans {
					runFrames[s.seq] = append(runFrames[s.seq], o.frame)
					break
				}
			}
		}
		runFrames[s.seq] = append(runFrames[s.seq], s.frame)
	}
	if len(runSeqs) == 0 {
		t.Fatal("tshark's view shows no full-size segment re-sent and never ACKed")
	}
	// The hole: the earliest original transmission; the shorter segment
	// after it that passed, and its ACK.
	var hole viewSeg
	for _, s := range segs {
		if s.fromServer && s.stream == stream && slices.Contains(runSeqs, s.seq) && !s.retrans {
			hole = s
			break
		}
	}
	var small viewSeg
	var smallAck int64
	for _, s := range segs {
		if s.fromServer && s.stream == stream && s.frame > hole.frame && s.n > 0 && s.n < hole.n {
			if f, ok := everAcked(s); ok {
				small, smallAck = s, f
				break
			}
		}
	}
	if smallAck == 0 {
		t.Fatal("tshark's view shows no shorter segment ACKed after the full-size ones")
	}
	// The longest server segment the client ACKed, the first of that
	// length.
	var longest viewSeg
	for _, s := range segs {
		if s.fromServer && s.stream == stream && s.n > longest.n {
			if _, ok := everAcked(s); ok {
				longest = s
			}
		}
	}
	var want []int64
	for i, seq := range runSeqs {
		if i < 4 {
			want = append(want, runFrames[seq]...)
		}
	}
	want = sorted(want, []int64{small.frame, smallAck})

	r, _ := run(t, captureFile(t, name))
	fs := mtuFindings(r)
	if len(fs) != 1 {
		t.Fatalf("%d mtu_black_hole findings, want 1: %+v", len(fs), r.Findings)
	}
	f := fs[0]
	if !slices.Equal(f.Frames, want) {
		t.Errorf("frames %v, tshark's view shows %v", f.Frames, want)
	}
	if f.Severity != analyze.SeverityStall {
		t.Errorf("severity %s, want stall", f.Severity)
	}
	for _, s := range []string{
		fmt.Sprintf("(%d bytes of TCP payload) were re-sent %d times", hole.n, resends),
		fmt.Sprintf("%d runs of bytes, the first sent at frame %d", len(runSeqs), hole.frame),
		fmt.Sprintf("a %d-byte segment sent after them (frame %d) was acknowledged by the client at frame %d", small.n, small.frame, smallAck),
		fmt.Sprintf("the longest segment of the server ever ACKed was %d bytes (frame %d)", longest.n, longest.frame),
		"no ICMP",
	} {
		if !strings.Contains(f.Summary, s) {
			t.Errorf("summary lacks %q: %s", s, f.Summary)
		}
	}
	if len(r.Diagnoses) != 1 || r.Diagnoses[0].Verdict != analyze.VerdictMTUBlackHole || r.Diagnoses[0].Connection != f.Connection {
		t.Errorf("diagnoses %+v, want one mtu_black_hole on connection %d", r.Diagnoses, f.Connection)
	}
	t.Logf("%s", f.Summary)
}

// TestMTUBlackHoleNotOnTheSeed: the seed's capture (stall-client-noack,
// the client's pure ACKs dropped): tshark's view shows the server's
// re-sent, never-ACKed bytes are full-size segments too, but segments of
// that size were ACKed before on the same connection (so the path passes
// them), and the client sent nothing after the first of them (so nothing
// shows a smaller segment passing): no mtu_black_hole, the verdict stays
// client_not_acking.
func TestMTUBlackHoleNotOnTheSeed(t *testing.T) {
	const name = "stall-client-noack.pcap"
	segs := readViewSegs(t, name)
	var first viewSeg // the original of the first never-ACKed re-sent segment
	for i, s := range segs {
		if !s.fromServer || !s.retrans || s.n == 0 {
			continue
		}
		acked := false
		for _, a := range segs[i+1:] {
			if !a.fromServer && a.stream == s.stream && ackedBy(a, s.seq, s.n) {
				acked = true
				break
			}
		}
		if !acked {
			for _, o := range segs {
				if o.fromServer && o.stream == s.stream && o.seq == s.seq {
					first = o
					break
				}
			}
			break
		}
	}
	if first.frame == 0 {
		t.Fatal("tshark's view shows no re-sent segment never ACKed")
	}
	sameSizeAcked, clientAfter := false, 0
	for i, s := range segs {
		if s.stream != first.stream {
			continue
		}
		if !s.fromServer && s.frame > first.frame {
			clientAfter++
		}
		if s.fromServer && s.frame < first.frame && s.n >= first.n {
			for _, a := range segs[i+1:] {
				if !a.fromServer && a.stream == s.stream && ackedBy(a, s.seq, s.n) {
					sameSizeAcked = true
					break
				}
			}
		}
	}
	if !sameSizeAcked || clientAfter != 0 {
		t.Fatalf("tshark's view: a %d-byte segment ACKed before %v, client segments after frame %d: %d; the seed's shape is not what this test is about",
			first.n, sameSizeAcked, first.frame, clientAfter)
	}
	r, _ := run(t, captureFile(t, name+".gz"))
	if fs := mtuFindings(r); len(fs) != 0 {
		t.Errorf("mtu_black_hole on the seed: %+v", fs)
	}
	if len(r.Diagnoses) != 1 || r.Diagnoses[0].Verdict != analyze.VerdictClientNotAcking {
		t.Errorf("diagnoses %+v, want client_not_acking", r.Diagnoses)
	}
}
