package main

import (
	"encoding/json"
	"path/filepath"
	"regexp"
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
		{"mixed.pcap.gz", exitOK, ""},
	}
	for _, tt := range tests {
		t.Run(tt.capture, func(t *testing.T) {
			out, errOut, code := nfsstall(t, nil, filepath.Join(pcapDir, tt.capture))
			if code != tt.code {
				t.Fatalf("exit %d, want %d (stderr %q)", code, tt.code, errOut)
			}
			sections := regexpSections.FindAllString(out, -1)
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
			out, errOut, code := nfsstall(t, nil, "diff", healthy, hung)
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
