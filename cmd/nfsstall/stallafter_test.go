package main

import (
	"encoding/json"
	"math"
	"path/filepath"
	"strings"
	"testing"
	"time"
)

// TestStallAfterNeverACKed: --stall-after applies to never-ACKed data as to
// an unanswered call: its age is from its first transmission to the end of
// the capture. stall-client-noack's READ reply bytes were first sent about
// 13 s before the end (tshark's view: the frame's time and the capture's
// last packet time), so --stall-after 30s finds no stall (exit 0) and says
// why, and --stall-after 5s finds the stall (exit 1).
func TestStallAfterNeverACKed(t *testing.T) {
	const name = "stall-client-noack.pcap"
	v := loadView(t, name)
	end, err := time.Parse("2006-01-02 15:04:05.000000", v.capinfo["Last packet time"])
	if err != nil {
		t.Fatal(err)
	}
	type finding struct {
		Kind       string  `json:"kind"`
		Severity   string  `json:"severity"`
		Frames     []int64 `json:"frames"`
		DurationMS float64 `json:"duration_ms"`
		SeqRaw     *uint32 `json:"seq_raw"`
		Summary    string  `json:"summary"`
	}
	for _, tt := range []struct {
		stallAfter string
		code       int
		severity   string
	}{
		{"30s", exitOK, "warning"},
		{"5s", exitStall, "stall"},
	} {
		t.Run(tt.stallAfter, func(t *testing.T) {
			out, errOut, code := nfsstall(t, nil, "--format", "json", "--stall-after", tt.stallAfter, filepath.Join(pcapDir, name+".gz"))
			if code != tt.code {
				t.Fatalf("exit %d, want %d (stderr %s)", code, tt.code, errOut)
			}
			var r struct {
				Findings  []finding `json:"findings"`
				Diagnoses []any     `json:"diagnoses"`
			}
			if err := json.Unmarshal([]byte(out), &r); err != nil {
				t.Fatal(err)
			}
			if (len(r.Diagnoses) > 0) != (tt.code == exitStall) {
				t.Errorf("%d diagnoses with exit %d", len(r.Diagnoses), code)
			}
			unacked := 0
			for _, f := range r.Findings {
				if tt.code == exitOK && f.Severity == "stall" {
					t.Errorf("a stall with --stall-after %s: %s", tt.stallAfter, f.Summary)
				}
				if f.Kind != "unacked_retransmission" {
					continue
				}
				unacked++
				// The bytes in tshark's view: the first frame's segment,
				// re-sent in every later frame of the finding, and no ACK
				// from the client covers them.
				first := v.row(f.Frames[0])
				seq, n := uint32(v.int(first["tcp.seq_raw"])), uint32(v.int(first["tcp.len"]))
				if f.SeqRaw == nil || *f.SeqRaw != seq {
					t.Errorf("seq_raw %v, tshark's frame %d has %d", f.SeqRaw, f.Frames[0], seq)
				}
				for _, fr := range f.Frames[1:] {
					if row := v.row(fr); row["tcp.analysis.retransmission"] != "1" || uint32(v.int(row["tcp.seq_raw"])) != seq {
						t.Errorf("frame %d: tshark does not show it re-sending seq %d", fr, seq)
					}
				}
				for _, row := range v.tcp {
					if v.int(row["frame.number"]) > f.Frames[0] && row["tcp.stream"] == first["tcp.stream"] && row["ip.src"] == first["ip.dst"] &&
						row["tcp.flags"] != "" && int32(uint32(v.int(row["tcp.ack_raw"]))-(seq+n)) >= 0 {
						t.Errorf("frame %s ACKs the bytes in tshark's view", row["frame.number"])
					}
				}
				age := msBetween(v.time(first), end.UTC())
				if math.Abs(f.DurationMS-age) > 0.001 {
					t.Errorf("duration_ms %v, tshark's first transmission is %v ms before the capture's last packet", f.DurationMS, age)
				}
				if age < 5000 || age >= 30000 {
					t.Fatalf("the bytes are %v ms old in tshark's view: the test wants between 5 s and 30 s", age)
				}
				if math.Round(age/10) != 1317 {
					t.Errorf("tshark's age %v ms is not the 13.17 s the note below expects", age)
				}
				if f.Severity != tt.severity {
					t.Errorf("severity %s, want %s", f.Severity, tt.severity)
				}
				note := strings.Contains(f.Summary, "not a stall: never ACKed for 13.17 s when the capture ended, less than --stall-after (30.00 s)")
				if note != (tt.code == exitOK) {
					t.Errorf("the note on why it is not a stall: %v in %q", note, f.Summary)
				}
			}
			if unacked == 0 {
				t.Error("no unacked_retransmission finding")
			}
		})
	}
}

// TestStallAfterZeroWindow: a zero window still closed at the end is a
// stall only when it has been closed for --stall-after. zero-window.pcap's
// client advertises a zero window at a frame tshark flags
// tcp.analysis.zero_window about 8.44 s before the capture's last packet,
// and sends no non-zero window after it: --stall-after 10s gives no stall
// and says why, 5s a stall.
func TestStallAfterZeroWindow(t *testing.T) {
	const name = "zero-window.pcap"
	v := loadView(t, name)
	end, err := time.Parse("2006-01-02 15:04:05.000000", v.capinfo["Last packet time"])
	if err != nil {
		t.Fatal(err)
	}
	for _, tt := range []struct {
		stallAfter string
		code       int
		severity   string
	}{
		{"10s", exitOK, "info"},
		{"5s", exitStall, "stall"},
	} {
		t.Run(tt.stallAfter, func(t *testing.T) {
			out, errOut, code := nfsstall(t, nil, "--format", "json", "--stall-after", tt.stallAfter, filepath.Join(pcapDir, name+".gz"))
			if code != tt.code {
				t.Fatalf("exit %d, want %d (stderr %s)", code, tt.code, errOut)
			}
			var r struct {
				Findings []struct {
					Kind       string  `json:"kind"`
					Severity   string  `json:"severity"`
					Frames     []int64 `json:"frames"`
					DurationMS float64 `json:"duration_ms"`
					Summary    string  `json:"summary"`
				} `json:"findings"`
			}
			if err := json.Unmarshal([]byte(out), &r); err != nil {
				t.Fatal(err)
			}
			open := 0
			for _, f := range r.Findings {
				if f.Kind != "zero_window" || len(f.Frames) != 1 { // one frame: never reopened
					continue
				}
				open++
				first := v.row(f.Frames[0])
				if first["tcp.analysis.zero_window"] != "1" {
					t.Errorf("frame %d: tshark does not flag a zero window", f.Frames[0])
				}
				for _, row := range v.tcp {
					if v.int(row["frame.number"]) > f.Frames[0] && row["tcp.stream"] == first["tcp.stream"] && row["ip.src"] == first["ip.src"] &&
						row["tcp.srcport"] == first["tcp.srcport"] && v.int(row["tcp.window_size_value"]) > 0 {
						t.Errorf("frame %s reopens the window in tshark's view", row["frame.number"])
					}
				}
				age := msBetween(v.time(first), end.UTC())
				if math.Abs(f.DurationMS-age) > 0.001 || math.Round(age/10) != 844 {
					t.Errorf("duration_ms %v, tshark's age %v ms; want both 8.44 s", f.DurationMS, age)
				}
				if f.Severity != tt.severity {
					t.Errorf("severity %s, want %s", f.Severity, tt.severity)
				}
				note := strings.Contains(f.Summary, "not a stall: closed for 8.44 s when the capture ended, less than --stall-after (10.00 s)")
				if note != (tt.code == exitOK) {
					t.Errorf("the note on why it is not a stall: %v in %q", note, f.Summary)
				}
			}
			if open != 1 {
				t.Errorf("%d zero windows open at the end, want 1", open)
			}
		})
	}
}

// TestStallAfterAnswerLine: the answer line says at once what --stall-after
// kept from being a stall. stall-client-noack holds, in tshark's view, one
// call never answered and one run of never-ACKed bytes, both about 13 s
// old at the end (TestStallAfterNeverACKed): with --stall-after 30s, 2.
func TestStallAfterAnswerLine(t *testing.T) {
	out, _, code := nfsstall(t, nil, "--wide", "--stall-after", "30s", filepath.Join(pcapDir, "stall-client-noack.pcap.gz"))
	if code != exitOK {
		t.Fatalf("exit %d", code)
	}
	want := "\n  no stall found; 2 too young to judge: lasting less than --stall-after (30.00 s) when the capture ended\n"
	if !strings.Contains(out, want) {
		t.Errorf("no answer line %q in\n%s", want, out)
	}
	if v := loadView(t, "stall-client-noack.pcap"); len(v.unanswered()) != 1 {
		t.Errorf("tshark's view has %d unanswered calls, the test counts 1", len(v.unanswered()))
	}
	out, _, _ = nfsstall(t, nil, "--wide", filepath.Join(pcapDir, "stall-client-noack.pcap.gz"))
	if strings.Contains(out, "too young") {
		t.Errorf("at the default --stall-after (1 s) nothing is too young, yet:\n%s", out)
	}
}
