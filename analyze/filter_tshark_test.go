package analyze_test

import (
	"os/exec"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"testing"

	"github.com/nfsstall/nfsstall/analyze"
)

// TestWiresharkFiltersSelectTheEvidence runs each diagnosis' filters, both
// forms, through tshark on the stall captures: each selects exactly the
// evidence frames. It needs tshark (4.0 or later, for the set form) and
// skips without it: the filters' text is tested by report's tests.
func TestWiresharkFiltersSelectTheEvidence(t *testing.T) {
	if testing.Short() {
		t.Skip("runs tshark nine times")
	}
	tshark, err := exec.LookPath("tshark")
	if err != nil {
		t.Skip("tshark not installed")
	}
	for _, name := range []string{"stall-client-noack.pcap.gz", "stall-server-hung.pcap.gz", "zero-window.pcap.gz", "reconnect-drop.pcap.gz"} {
		path := filepath.Join(pcapDir, name)
		r := analyzeCapture(t, path, analyze.DefaultOptions())
		if len(r.Diagnoses) == 0 {
			t.Fatalf("%s: no diagnosis", name)
		}
		for _, d := range r.Diagnoses {
			for _, wf := range d.WiresharkFilters {
				for _, filter := range []string{wf.Filter, wf.FilterSet} {
					out, err := exec.Command(tshark, "-r", path, "-Y", filter, "-T", "fields", "-e", "frame.number").Output()
					if err != nil {
						t.Fatalf("%s: tshark -Y %q: %v", name, filter, err)
					}
					var got []int64
					for _, l := range strings.Fields(string(out)) {
						n, _ := strconv.ParseInt(l, 10, 64)
						got = append(got, n)
					}
					if !slices.Equal(got, wf.Frames) {
						t.Errorf("%s: %q selects %v, want %v", name, filter, got, wf.Frames)
					}
				}
			}
		}
	}
}
