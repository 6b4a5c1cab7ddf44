package analyze_test

import (
	"path/filepath"
	"strconv"
	"strings"
	"testing"

	"github.com/nfsstall/nfsstall/analyze"
)

// TestFindingTextNamesThePath: a finding that has a path (checked against
// tshark by the paths oracle tests) names it in its summary too, quoted,
// beside the handle; so does the unanswered call's detail.
func TestFindingTextNamesThePath(t *testing.T) {
	for _, name := range []string{"stall-client-noack.pcap.gz", "stall-server-hung.pcap.gz", "nfs4-server-hung.pcap.gz"} {
		opts := analyze.DefaultOptions()
		opts.Ports = []uint16{2049, 20048}
		r := analyzeCapture(t, filepath.Join(pcapDir, name), opts)
		named := 0
		for _, f := range r.Findings {
			if f.Path == "" {
				continue
			}
			named++
			if !strings.Contains(f.Summary, strconv.Quote(f.Path)) {
				t.Errorf("%s: finding with path %q: summary %q", name, f.Path, f.Summary)
			}
		}
		for _, u := range r.Unanswered {
			if u.Path != "" && !strings.Contains(u.Detail, strconv.Quote(u.Path)) {
				t.Errorf("%s: unanswered call with path %q: detail %q", name, u.Path, u.Detail)
			}
		}
		if named == 0 {
			t.Errorf("%s: no finding names a path", name)
		}
	}
}
