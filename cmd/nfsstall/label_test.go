package main

import (
	"encoding/json"
	"fmt"
	"path/filepath"
	"regexp"
	"testing"
)

// The one procedure label (issue 14): program, version and procedure,
// "NFSv3 READ", "PORTMAPv2 CALLIT", in the text's tables and sentences and
// in diff, never "READ" in one place and "NFS v3 READ" in another.

var (
	// a call named in a sentence: the two words before "xid 0x..."
	callNamed = regexp.MustCompile(`(\S+) (\S+) xid 0x[0-9a-f]{8}`)
	// PROGRAMvN, as RFC 5531's program names are written with their version
	labelProg = regexp.MustCompile(`^[A-Z][A-Z0-9_]*v[0-9]+$`)
	// the spaced form this replaced
	spacedLabel = regexp.MustCompile(`\b[A-Z][A-Z0-9_]* v[0-9]+ [A-Z]`)
)

// TestOneProcedureLabel: in the text report of every capture, a call named
// before its XID is named PROGRAMvN NAME, and the spaced "PORTMAP v2
// CALLIT" appears nowhere.
func TestOneProcedureLabel(t *testing.T) {
	named := 0
	for _, path := range realCaptures(t) {
		out, _, _ := nfsstall(t, nil, "--wide", "--port", "2049,20048,111", path)
		for _, m := range callNamed.FindAllStringSubmatch(out, -1) {
			switch m[1] + " " + m[2] {
			case "RPC call", "RPC reply", "reply to":
				continue // a call whose program is not known, or "the READ reply to xid"
			}
			named++
			if !labelProg.MatchString(m[1]) {
				t.Errorf("%s: %q: the call is not named PROGRAMvN NAME", filepath.Base(path), m[0])
			}
		}
		if m := spacedLabel.FindString(out); m != "" {
			t.Errorf("%s: %q: a procedure named the spaced way", filepath.Base(path), m)
		}
	}
	if named < 10 {
		t.Errorf("only %d calls named before their XID in all the reports: the check checks little", named)
	}
}

// TestDiffProcedureLabels: every procedure a diff names in its changes is
// a row of one of its two reports written PROGRAMvN NAME from the row's
// own program_name, version and name (the JSON fields), whether the change
// is about a procedure's figures or a finding only the candidate has.
func TestDiffProcedureLabels(t *testing.T) {
	kinds := map[string]int{}
	for _, pair := range [][2]string{
		{"mixed.pcap.gz", "stall-server-hung.pcap.gz"},
		{"mixed.pcap.gz", "stall-client-noack.pcap.gz"},
		{"stall-server-hung.pcap.gz", "nfs4-server-hung.pcap.gz"},
		{"zero-window.pcap.gz", "reconnect.pcap.gz"},
	} {
		out, errOut, code := nfsstall(t, nil, "diff", "--format", "json", filepath.Join(pcapDir, pair[0]), filepath.Join(pcapDir, pair[1]))
		if code == exitError {
			t.Fatalf("%v: exit %d: %s", pair, code, errOut)
		}
		type proc struct {
			Program string `json:"program_name"`
			Version int    `json:"version"`
			Name    string `json:"name"`
		}
		var d struct {
			Baseline, Candidate struct {
				Procedures []proc `json:"procedures"`
			}
			Changes []struct {
				Kind      string `json:"kind"`
				Procedure string `json:"procedure"`
			} `json:"changes"`
		}
		if err := json.Unmarshal([]byte(out), &d); err != nil {
			t.Fatal(err)
		}
		rows := map[string]bool{}
		for _, p := range append(d.Baseline.Procedures, d.Candidate.Procedures...) {
			rows[fmt.Sprintf("%sv%d %s", p.Program, p.Version, p.Name)] = true
		}
		for _, c := range d.Changes {
			if c.Procedure == "" {
				continue
			}
			kinds[c.Kind]++
			if !rows[c.Procedure] {
				t.Errorf("%v: change %s names procedure %q, not a row of either report written PROGRAMvN NAME", pair, c.Kind, c.Procedure)
			}
		}
	}
	if kinds["procedure"] == 0 || kinds["new_finding"] == 0 {
		t.Errorf("changes checked by kind %v: want both procedure and new_finding changes", kinds)
	}
}
