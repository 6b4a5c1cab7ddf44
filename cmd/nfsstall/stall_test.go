package main

import (
	"encoding/json"
	"fmt"
	"path/filepath"
	"regexp"
	"slices"
	"strconv"
	"strings"
	"testing"
)

// regexpSections matches the headings of the text report's sections.
var regexpSections = regexp.MustCompile(`(?m)^[A-Z][A-Z ]+[A-Z]$`)

// TestExitStatusAndDiagnosisFirst runs the stall captures end to end: the
// exit status says whether there is a stall, and a stalled report opens
// with its diagnosis, right after the capture summary.
func TestExitStatusAndDiagnosisFirst(t *testing.T) {
	tests := []struct {
		capture string
		code    int
		verdict string // "" for none
	}{
		{"stall-server-hung.pcap.gz", exitStall, "server_not_replying"},
		{"stall-client-noack.pcap.gz", exitStall, "client_not_acking"},
		{"zero-window.pcap.gz", exitStall, "client_window_closed"},
		{"stall-server-stopped.pcap.gz", exitOK, ""}, // recovered: slow reply only
		{"reconnect.pcap.gz", exitOK, ""},            // recovered after a reconnect
		{"reconnect-drop.pcap.gz", exitStall, "reconnect_failing"},
		{"reconnect-rst.pcap.gz", exitOK, ""}, // refused with RST for 30 ms, then reconnected
		{"mtu-blackhole.pcap", exitStall, "mtu_black_hole"},
		{"mixed.pcap.gz", exitOK, ""},
	}
	for _, tt := range tests {
		t.Run(tt.capture, func(t *testing.T) {
			out, errOut, code := nfsstall(t, nil, filepath.Join(pcapDir, tt.capture))
			if code != tt.code {
				t.Fatalf("exit %d, want %d (stderr %q)", code, tt.code, errOut)
			}
			sections := regexpSections.FindAllString(out, -1)
			// The header answers first, in one line.
			head, _, _ := strings.Cut(out, "\n\n")
			if want := "\n  STALL: " + tt.verdict + " (1 connection)"; tt.verdict != "" && !strings.HasSuffix(head, want) ||
				tt.verdict == "" && !strings.HasSuffix(head, "\n  no stall found") {
				t.Errorf("header does not end with the answer:\n%s", head)
			}
			if tt.verdict == "" {
				if strings.Contains(out, "DIAGNOSIS") {
					t.Errorf("a report without a stall has a DIAGNOSIS section:\n%s", out)
				}
				return
			}
			if len(sections) == 0 || sections[0] != "DIAGNOSIS" {
				t.Errorf("report should open with DIAGNOSIS, sections are %v", sections)
			}
			if !strings.Contains(out, "connection 1: "+tt.verdict) {
				t.Errorf("no verdict %s in:\n%s", tt.verdict, out)
			}
			// The Wireshark filter shows exactly the evidence frames.
			js, _, _ := nfsstall(t, nil, "--format", "json", filepath.Join(pcapDir, tt.capture))
			var r struct {
				Findings []struct {
					Frames []int64 `json:"frames"`
				} `json:"findings"`
				Diagnoses []struct {
					Findings         []int `json:"findings"`
					WiresharkFilters []struct {
						Capture   int    `json:"capture"`
						Filter    string `json:"filter"`
						FilterSet string `json:"filter_set"`
					} `json:"wireshark_filters"`
				} `json:"diagnoses"`
			}
			if err := json.Unmarshal([]byte(js), &r); err != nil || len(r.Diagnoses) != 1 {
				t.Fatalf("JSON: %v, %d diagnoses", err, len(r.Diagnoses))
			}
			var frames []int64
			for _, i := range r.Diagnoses[0].Findings {
				frames = append(frames, r.Findings[i].Frames...)
			}
			slices.Sort(frames)
			var terms []string
			fs := slices.Compact(frames)
			for _, f := range fs {
				terms = append(terms, "frame.number == "+strconv.FormatInt(f, 10))
			}
			want := strings.Join(terms, " || ")
			// The set form, ranges for runs of frames, written here by hand.
			var set []string
			for i := 0; i < len(fs); i++ {
				j := i
				for j+1 < len(fs) && fs[j+1] == fs[j]+1 {
					j++
				}
				if j > i {
					set = append(set, fmt.Sprintf("%d..%d", fs[i], fs[j]))
				} else {
					set = append(set, strconv.FormatInt(fs[i], 10))
				}
				i = j
			}
			wantSet := "frame.number in {" + strings.Join(set, ",") + "}"
			wf := r.Diagnoses[0].WiresharkFilters
			if len(wf) != 1 || wf[0].Filter != want || wf[0].FilterSet != wantSet || !strings.Contains(out, "    Wireshark: "+wantSet+"\n") {
				t.Errorf("wireshark filter %+v, want %q and %q", wf, want, wantSet)
			}
		})
	}
}

// TestDiff compares a healthy capture with hung ones: the changes name the
// candidate's verdict and unanswered call, exit 1; a capture against itself
// shows no finding or verdict change and exits 0.
func TestDiff(t *testing.T) {
	healthy := filepath.Join(pcapDir, "stall-server-stopped.pcap.gz")
	for _, c := range []struct{ capture, verdict string }{
		{"stall-server-hung.pcap.gz", "server_not_replying"},
		{"stall-client-noack.pcap.gz", "client_not_acking"},
	} {
		t.Run(c.capture, func(t *testing.T) {
			hung := filepath.Join(pcapDir, c.capture)
			out, errOut, code := nfsstall(t, nil, "diff", "--wide", healthy, hung)
			if code != exitStall {
				t.Fatalf("exit %d, want %d: %s", code, exitStall, errOut)
			}
			if !strings.Contains(out, "only the candidate has verdict "+c.verdict) || !strings.Contains(out, "STALL: "+c.verdict) {
				t.Errorf("text diff does not name the new verdict:\n%s", out)
			}
			out, _, code = nfsstall(t, nil, "diff", "--format", "json", healthy, hung)
			var d struct {
				SchemaVersion int             `json:"schema_version"`
				Baseline      json.RawMessage `json:"baseline"`
				Candidate     struct {
					Diagnoses []struct {
						Verdict string `json:"verdict"`
					} `json:"diagnoses"`
				} `json:"candidate"`
				Changes []struct {
					Kind, Metric string
					Candidate    float64
				} `json:"changes"`
			}
			if err := json.Unmarshal([]byte(out), &d); err != nil || code != exitStall {
				t.Fatalf("exit %d, JSON %v", code, err)
			}
			if d.SchemaVersion != 1 || len(d.Baseline) < 2 || len(d.Candidate.Diagnoses) != 1 || d.Candidate.Diagnoses[0].Verdict != c.verdict {
				t.Errorf("diff JSON: schema %d, candidate diagnoses %+v", d.SchemaVersion, d.Candidate.Diagnoses)
			}
			var sawVerdict, sawUnanswered bool
			for _, ch := range d.Changes {
				sawVerdict = sawVerdict || ch.Kind == "new_verdict" && ch.Metric == c.verdict && ch.Candidate == 1
				sawUnanswered = sawUnanswered || ch.Kind == "new_finding" && ch.Metric == "unanswered_call" && ch.Candidate == 1
			}
			if !sawVerdict || !sawUnanswered {
				t.Errorf("changes lack the new verdict (%v) or the unanswered call (%v): %+v", sawVerdict, sawUnanswered, d.Changes)
			}
		})
	}
	t.Run("same capture", func(t *testing.T) {
		out, _, code := nfsstall(t, nil, "diff", healthy, healthy)
		if code != exitOK || strings.Contains(out, "only the candidate") {
			t.Errorf("exit %d:\n%s", code, out)
		}
		// Side by side, every latency ratio of a capture with itself is 1.
		_, table, _ := strings.Cut(out, "PROCEDURES")
		rows := 0
		for _, line := range strings.Split(table, "\n") {
			if f := strings.Fields(line); len(f) > 2 && f[0] == "NFSv3" {
				rows++
				for _, x := range f {
					if strings.HasSuffix(x, "x") && x != "1.00x" {
						t.Errorf("ratio %s in %q", x, line)
					}
				}
			}
		}
		if rows == 0 {
			t.Errorf("no procedure rows in:\n%s", out)
		}
	})
}

// TestStallAcrossRotation splits the client-not-ACKing capture in the
// middle of the server's re-sends, as tcpdump -C rotation would: the
// evidence spans both files, each frame numbered in its own file, and
// maps back to the frames of the unsplit capture.
func TestStallAcrossRotation(t *testing.T) {
	src := filepath.Join(pcapDir, "stall-client-noack.pcap.gz")
	type finding struct {
		Kind          string  `json:"kind"`
		Capture       int     `json:"capture"`
		Frames        []int64 `json:"frames"`
		FrameCaptures []int   `json:"frame_captures"`
	}
	var whole, split struct {
		Findings []finding `json:"findings"`
	}
	out, _, _ := nfsstall(t, nil, "--format", "json", src)
	if err := json.Unmarshal([]byte(out), &whole); err != nil {
		t.Fatal(err)
	}
	var unacked finding
	for _, f := range whole.Findings {
		if f.Kind == "unacked_retransmission" {
			unacked = f
		}
	}
	if len(unacked.Frames) < 3 || unacked.FrameCaptures != nil {
		t.Fatalf("unsplit finding %+v", unacked)
	}
	cut := unacked.Frames[len(unacked.Frames)/2] // the first frame of the second file
	parts := splitCapture(t, src, cut)
	out, _, code := nfsstall(t, nil, "--format", "json", parts[0], parts[1])
	if code != exitStall {
		t.Fatalf("exit %d", code)
	}
	if err := json.Unmarshal([]byte(out), &split); err != nil {
		t.Fatal(err)
	}
	for _, f := range split.Findings {
		if f.Kind != "unacked_retransmission" {
			continue
		}
		if len(f.FrameCaptures) != len(f.Frames) || f.Capture != 0 {
			t.Fatalf("frames %v in files %v, capture %d", f.Frames, f.FrameCaptures, f.Capture)
		}
		for i, fr := range f.Frames {
			if f.FrameCaptures[i] == 1 {
				fr += cut - 1
			}
			if fr != unacked.Frames[i] {
				t.Errorf("frame %d: file %d frame %d, unsplit frame %d", i, f.FrameCaptures[i], f.Frames[i], unacked.Frames[i])
			}
		}
		text, _, _ := nfsstall(t, nil, parts[0], parts[1])
		if !strings.Contains(text, "frames 0:"+strconv.FormatInt(unacked.Frames[0], 10)+", ") ||
			!strings.Contains(text, ", 1:"+strconv.FormatInt(unacked.Frames[len(unacked.Frames)-1]-cut+1, 10)) {
			t.Errorf("text does not number frames FILE:FRAME:\n%s", text)
		}
		return
	}
	t.Errorf("no unacked_retransmission in the split capture")
}
