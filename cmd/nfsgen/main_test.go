package main

import (
	"bytes"
	"os"
	"path/filepath"
	"regexp"
	"strconv"
	"testing"
)

func TestWritesTheCaptureItDescribes(t *testing.T) {
	out := filepath.Join(t.TempDir(), "x.pcap")
	var stdout, stderr bytes.Buffer
	if code := run([]string{"--size", "300K", "--conns", "3", "--unanswered", "4", out}, &stdout, &stderr); code != 0 {
		t.Fatalf("exit %d: %s", code, stderr.String())
	}
	m := regexp.MustCompile(`^nfsgen: (\d+) bytes, \d+ packets, 3 connections, (\d+) calls, (\d+) replies, 4 unanswered`).FindStringSubmatch(stderr.String())
	if m == nil {
		t.Fatalf("stderr %q", stderr.String())
	}
	st, err := os.Stat(out)
	if err != nil {
		t.Fatal(err)
	}
	if n, _ := strconv.ParseInt(m[1], 10, 64); n != st.Size() || n < 300<<10 {
		t.Errorf("said %s bytes, wrote %d", m[1], st.Size())
	}
	if calls, _ := strconv.Atoi(m[2]); calls < 5 {
		t.Errorf("%d calls", calls)
	}

	// The same flags to stdout give the same bytes.
	stdout.Reset()
	if code := run([]string{"--size", "300K", "--conns", "3", "--unanswered", "4", "-"}, &stdout, &stderr); code != 0 {
		t.Fatal(code)
	}
	file, _ := os.ReadFile(out)
	if !bytes.Equal(file, stdout.Bytes()) {
		t.Error("stdout differs from the file")
	}
}

func TestBadFlags(t *testing.T) {
	for _, args := range [][]string{
		{},
		{"--size", "lots", "x"},
		{"--small", "1001", "x"},
		{"--conns", "0", "x"},
		{"a", "b"},
	} {
		var stdout, stderr bytes.Buffer
		if code := run(args, &stdout, &stderr); code != 2 || stderr.Len() == 0 {
			t.Errorf("%q: exit %d, stderr %q", args, code, stderr.String())
		}
	}
}

func TestParseSize(t *testing.T) {
	for in, want := range map[string]int64{"0": 0, "512": 512, "64K": 64 << 10, "512M": 512 << 20, "1G": 1 << 30, "8KiB": 8 << 10, "2MB": 2 << 20} {
		if got, err := parseSize(in); err != nil || got != want {
			t.Errorf("parseSize(%q) = %d, %v; want %d", in, got, err, want)
		}
	}
}
