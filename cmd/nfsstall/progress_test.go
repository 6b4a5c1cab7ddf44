package main

import (
	"testing"
	"time"

	"github.com/nfsstall/nfsstall/analyze"
)

func TestProgressLine(t *testing.T) {
	tests := []struct {
		p       analyze.Progress
		elapsed time.Duration
		want    string
	}{
		{analyze.Progress{Packets: 4096, Read: 250e6, Total: 1e9}, time.Second,
			"nfsstall: 250.0 MB of 1.0 GB (25%), 250.0 MB/s, 3s left, 4096 packets"},
		{analyze.Progress{Packets: 8192, Read: 2e9, Total: 60e9}, 2 * time.Second,
			"nfsstall: 2.0 GB of 60.0 GB (3%), 1.0 GB/s, 58s left, 8192 packets"},
		{analyze.Progress{Packets: 100, Read: 999, Total: 1000}, time.Second,
			"nfsstall: 999 B of 1.0 kB (99%), 999 B/s, 0s left, 100 packets"},
		// stdin or a pipe: no total, no ETA.
		{analyze.Progress{Packets: 4096, Read: 5e8}, 500 * time.Millisecond,
			"nfsstall: 500.0 MB read, 1.0 GB/s, 4096 packets"},
	}
	for _, tt := range tests {
		if got := progressLine(tt.p, tt.elapsed); got != tt.want {
			t.Errorf("progressLine(%+v, %v)\n got %q\nwant %q", tt.p, tt.elapsed, got, tt.want)
		}
	}
}

// TestProgressOnlyOnTerminal: by default the progress line goes only to a
// terminal; a buffer (a pipe, a file) gets none.
func TestProgressOnlyOnTerminal(t *testing.T) {
	_, errOut, code := nfsstall(t, nil, "--format", "json", pcapDir+"/cut.pcap")
	if code == exitError {
		t.Fatalf("exit %d", code)
	}
	for _, r := range errOut {
		if r == '\r' {
			t.Fatalf("progress written to a non-terminal: %q", errOut)
		}
	}
}
