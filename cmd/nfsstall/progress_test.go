package main

import (
	"testing"
	"time"

	"github.com/nfsstall/nfsstall/analyze"
)

// TestProgressLine: sizes in binary units (250e6 bytes are 238.4 MiB:
// 250e6/1048576 = 238.42), times in FormatMS's.
func TestProgressLine(t *testing.T) {
	tests := []struct {
		p       analyze.Progress
		elapsed time.Duration
		want    string
	}{
		{analyze.Progress{Packets: 4096, Read: 250e6, Total: 1e9}, time.Second,
			"nfsstall: 238.4 MiB of 953.7 MiB (25%), 238.4 MiB/s, 3.00 s left, 4096 packets"},
		{analyze.Progress{Packets: 8192, Read: 2e9, Total: 60e9}, 2 * time.Second,
			"nfsstall: 1.9 GiB of 55.9 GiB (3%), 953.7 MiB/s, 58.00 s left, 8192 packets"},
		{analyze.Progress{Packets: 100, Read: 999, Total: 1000}, time.Second,
			"nfsstall: 999 B of 1000 B (99%), 999 B/s, 0 µs left, 100 packets"},
		// stdin or a pipe: no total, no ETA.
		{analyze.Progress{Packets: 4096, Read: 5e8}, 500 * time.Millisecond,
			"nfsstall: 476.8 MiB read, 953.7 MiB/s, 4096 packets"},
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
