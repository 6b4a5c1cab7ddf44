package main

import (
	"bytes"
	"fmt"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/nfsstall/nfsstall/internal/mutate"
)

// TestBoundaryCampaign is the boundary mutator at scale, outside the
// usual run: NFSSTALL_CAMPAIGN=N runs N variants of every capture in
// testdata/pcaps (from variant NFSSTALL_CAMPAIGN_FROM on) through run(),
// each within 20 s, and writes every variant
// that panics, hangs or exits 2 without a damaged file header to
// NFSSTALL_CAMPAIGN_DIR (default: a temporary directory), with every
// 100th variant as a sample to measure the built binary's memory on.
//
//	NFSSTALL_CAMPAIGN=2000 NFSSTALL_CAMPAIGN_DIR=/tmp/campaign go test ./cmd/nfsstall -run TestBoundaryCampaign -v -timeout 2h
func TestBoundaryCampaign(t *testing.T) {
	n, _ := strconv.Atoi(os.Getenv("NFSSTALL_CAMPAIGN"))
	if n <= 0 {
		t.Skip("NFSSTALL_CAMPAIGN not set")
	}
	from, _ := strconv.Atoi(os.Getenv("NFSSTALL_CAMPAIGN_FROM")) // the first variant: another campaign
	dir := os.Getenv("NFSSTALL_CAMPAIGN_DIR")
	if dir == "" {
		dir = t.TempDir()
	}
	os.MkdirAll(filepath.Join(dir, "sample"), 0o755)
	total, failed := 0, 0
	for i, path := range realCaptures(t) {
		b, err := os.ReadFile(path)
		if err != nil {
			t.Fatal(err)
		}
		c, err := mutate.Parse(b)
		if err != nil {
			t.Fatal(err)
		}
		name := filepath.Base(path)
		codes := map[int]int{}
		for v := from; v < from+n; v++ {
			seed := uint64(i)<<32 | uint64(v) | 1<<60
			file := v%10 == 9
			data, ms := c.Variant(seed, 1+v%6, file)
			total++
			code, stderr, panicked, hung := runGuarded(data)
			codes[code]++
			bad := ""
			switch {
			case panicked != "":
				bad = "panic: " + panicked
			case hung:
				bad = "hang"
			case code == exitError && !(file && headerMutated(ms) && headerError(stderr)):
				bad = "exit 2: " + stderr
			case code != exitOK && code != exitStall && code != exitError:
				bad = fmt.Sprintf("exit %d", code)
			}
			out := ""
			if bad != "" {
				failed++
				out = filepath.Join(dir, fmt.Sprintf("%s-%d.pcap", name, v))
				t.Errorf("%s variant %d %s: %s (saved as %s)", name, v, describe(ms), firstLine(bad), out)
			} else if v%100 == 0 {
				out = filepath.Join(dir, "sample", fmt.Sprintf("%s-%d.pcap", name, v))
			}
			if out != "" {
				os.WriteFile(out, data, 0o644)
			}
		}
		t.Logf("%s: %d variants, exit codes %v", name, n, codes)
	}
	t.Logf("%d variants, %d failed", total, failed)
}

// runGuarded runs the command on data in a goroutine, turning a panic
// into a message and giving up after 20 s.
func runGuarded(data []byte) (code int, stderr, panicked string, hung bool) {
	type result struct {
		code          int
		stderr, panic string
	}
	done := make(chan result, 1)
	go func() {
		var r result
		defer func() {
			if p := recover(); p != nil {
				r.panic = fmt.Sprint(p)
			}
			done <- r
		}()
		var out, errb bytes.Buffer
		r.code = run([]string{"--progress", "never", "--port", fuzzPorts, "--format", "json", "-"}, bytes.NewReader(data), &out, &errb)
		r.stderr = errb.String()
	}()
	select {
	case r := <-done:
		return r.code, r.stderr, r.panic, false
	case <-time.After(20 * time.Second):
		return -1, "", "", true
	}
}

func firstLine(s string) string {
	s, _, _ = strings.Cut(s, "\n")
	return s
}
