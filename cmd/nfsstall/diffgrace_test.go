package main

import (
	"path/filepath"
	"strings"
	"testing"
)

// TestDiffGrace: a healthy NFSv4 capture against the grace period after
// a server restart: the diff names the new grace_period finding and
// verdict, and exits 1 (its stall: calls refused for 5.1 s, past the
// default --stall-after, as tshark's nfs4 view shows: see
// tsharkGraceStalls).
func TestDiffGrace(t *testing.T) {
	healthy := filepath.Join(pcapDir, "nfs4-ops.pcap.gz")
	grace := filepath.Join(pcapDir, "nfs4-grace.pcap.gz")
	out, errOut, code := nfsstall(t, nil, "diff", "--wide", healthy, grace)
	if code != exitStall {
		t.Fatalf("exit %d, want %d: %s", code, exitStall, errOut)
	}
	for _, want := range []string{"only the candidate has verdict grace_period (1 connection", "only the candidate has grace_period findings (1): server 198.18.0.2:2049 answered 6 calls NFS4ERR_GRACE"} {
		if !strings.Contains(out, want) {
			t.Errorf("diff lacks %q:\n%s", want, out)
		}
	}
}
