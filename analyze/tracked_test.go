package analyze_test

import (
	"path/filepath"
	"testing"

	"github.com/nfsstall/nfsstall/analyze"
	"github.com/nfsstall/nfsstall/capture"
)

// TestPerConnectionBoundCountsWaitingCalls: MaxCallsPerConn bounds the
// calls waiting at once on a connection, not the calls it ever carried.
// libnfs waits for each reply before its next call, so a bound of 2 lets
// every call of the lab's captures be paired: none untracked, every reply
// with its call (as tshark pairs them: TestAgreesWithTshark); and, with
// MaxConnsListed 1, the connections that closed fold as they would
// without the bound (a call answered no longer pins its connection).
func TestPerConnectionBoundCountsWaitingCalls(t *testing.T) {
	for _, name := range []string{"mixed.pcap.gz", "stall-server-stopped.pcap.gz"} {
		path := filepath.Join(pcapDir, name)
		full := analyzeCapture(t, path, analyze.DefaultOptions())
		opts := analyze.DefaultOptions()
		opts.MaxCallsPerConn, opts.MaxConnsListed = 2, 1
		r := analyzeCapture(t, path, opts)
		if r.Untracked != nil || r.Summary.OrphanReplies != full.Summary.OrphanReplies || r.Summary.Calls < 10 {
			t.Errorf("%s: MaxCallsPerConn 2: untracked %+v, %d orphan replies (unbounded: %d) of %d calls",
				name, r.Untracked, r.Summary.OrphanReplies, full.Summary.OrphanReplies, r.Summary.Calls)
		}
		if len(r.Connections) > 1+len(r.Diagnoses)+len(full.Unanswered) {
			t.Errorf("%s: %d connections listed with MaxConnsListed 1: closed connections whose calls were answered did not fold", name, len(r.Connections))
		}
	}
}

// analyzeCapture runs the analysis of the capture at path with opts.
func analyzeCapture(t *testing.T, path string, opts analyze.Options) *analyze.Report {
	t.Helper()
	in, err := capture.OpenInputs([]string{path}, nil)
	if err != nil {
		t.Fatal(err)
	}
	defer in.Close()
	r, err := analyze.Run(in, opts)
	if err != nil {
		t.Fatal(err)
	}
	return r
}
