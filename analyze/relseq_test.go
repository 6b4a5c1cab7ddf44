package analyze_test

import (
	"path/filepath"
	"strconv"
	"strings"
	"testing"

	"github.com/nfsstall/nfsstall/analyze"
	"github.com/nfsstall/nfsstall/internal/tsharkview"
)

// TestRelativeSeqAgreesWithTshark: the sequence number of never-ACKed bytes
// is given as Wireshark shows it (tcp.seq, relative) and as on the wire
// (tcp.seq_raw), at every evidence frame, on every real capture; and the
// text says Seq=N as Wireshark's packet list does. The seed's shape (the
// client never ACKs) is in stall-client-noack.
func TestRelativeSeqAgreesWithTshark(t *testing.T) {
	checked := 0
	for _, path := range realTCPCaptures(t) {
		name := strings.TrimSuffix(filepath.Base(path), ".gz")
		r := analyzeCapture(t, path, analyze.DefaultOptions())
		var rows map[string]tsharkview.Row
		for _, f := range r.Findings {
			if f.Kind != analyze.KindUnackedRetran {
				continue
			}
			if rows == nil {
				view, err := tsharkview.Read(filepath.Join(pcapDir, name+".tcp.tsv"))
				if err != nil {
					t.Fatal(err)
				}
				rows = map[string]tsharkview.Row{}
				for _, v := range view {
					rows[v["frame.number"]] = v
				}
			}
			if f.Seq == nil || f.SeqRaw == nil {
				t.Fatalf("%s: finding without seq: %+v", name, f)
			}
			for _, fr := range f.Frames {
				v := rows[strconv.FormatInt(fr, 10)]
				if v["tcp.seq"] != strconv.FormatUint(uint64(*f.Seq), 10) || v["tcp.seq_raw"] != strconv.FormatUint(uint64(*f.SeqRaw), 10) {
					t.Errorf("%s frame %d: seq %d raw %d; tshark's tcp.seq %s, tcp.seq_raw %s", name, fr, *f.Seq, *f.SeqRaw, v["tcp.seq"], v["tcp.seq_raw"])
				}
				checked++
			}
			if !strings.Contains(f.Summary, "at Seq="+strconv.FormatUint(uint64(*f.Seq), 10)+" (raw ") {
				t.Errorf("%s: summary %q", name, f.Summary)
			}
		}
	}
	if checked < 5 {
		t.Errorf("only %d evidence frames checked", checked)
	}
}

// TestRelativeSeqMidStream: a capture that begins after the handshake
// counts each direction from its first segment, as Wireshark does (tshark
// 4.0 on stall-client-noack cut to frames 3000 on shows the server's
// first segment as Seq=1): frames 3000 on of stall-client-noack, the
// frames keeping their numbers; the expected relative number is worked out
// from tshark's raw numbers.
func TestRelativeSeqMidStream(t *testing.T) {
	const cut = 3000
	path := filepath.Join(pcapDir, "stall-client-noack.pcap.gz")
	l := loadCapture(t, path)
	r := l.analyse(analyze.DefaultOptions(), func(i int) bool { return l.pkts[i].Frame >= cut })
	view, err := tsharkview.Read(filepath.Join(pcapDir, "stall-client-noack.pcap.tcp.tsv"))
	if err != nil {
		t.Fatal(err)
	}
	var base uint64
	for _, v := range view {
		n, _ := strconv.ParseInt(v["frame.number"], 10, 64)
		if n >= cut && v["tcp.srcport"] == "2049" {
			raw, _ := strconv.ParseUint(v["tcp.seq_raw"], 10, 32)
			base = raw - 1
			break
		}
	}
	found := false
	for _, f := range r.Findings {
		if f.Kind != analyze.KindUnackedRetran || f.SeqRaw == nil {
			continue
		}
		found = true
		if want := uint32(uint64(*f.SeqRaw) - base); *f.Seq != want {
			t.Errorf("mid-stream: Seq=%d (raw %d), want %d", *f.Seq, *f.SeqRaw, want)
		}
	}
	if !found {
		t.Fatal("no unacked_retransmission in the cut capture")
	}
}
