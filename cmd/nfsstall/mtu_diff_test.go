package main

import (
	"encoding/json"
	"path/filepath"
	"testing"
)

// TestDiffNamesMTUBlackHole: nfsstall diff of a healthy capture against
// the lab's mtu-blackhole lists the new finding kind and the new verdict
// (report/diff.go enumerates no kinds: it takes them from the reports).
func TestDiffNamesMTUBlackHole(t *testing.T) {
	out, errOut, code := nfsstall(t, nil, "--format", "json", "diff",
		filepath.Join(pcapDir, "mixed.pcap.gz"), filepath.Join(pcapDir, "mtu-blackhole.pcap"))
	if code == exitError {
		t.Fatalf("exit %d: %s", code, errOut)
	}
	var d struct {
		Changes []struct {
			Kind   string `json:"kind"`
			Metric string `json:"metric"`
		} `json:"changes"`
	}
	if err := json.Unmarshal([]byte(out), &d); err != nil {
		t.Fatal(err)
	}
	var finding, verdict bool
	for _, c := range d.Changes {
		finding = finding || c.Kind == "new_finding" && c.Metric == "mtu_black_hole"
		verdict = verdict || c.Kind == "new_verdict" && c.Metric == "mtu_black_hole"
	}
	if !finding || !verdict {
		t.Errorf("diff changes %+v: new finding mtu_black_hole %v, new verdict %v", d.Changes, finding, verdict)
	}
}
