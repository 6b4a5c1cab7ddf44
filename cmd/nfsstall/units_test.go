package main

import (
	"os"
	"path/filepath"
	"regexp"
	"testing"
)

// capturesToRead are the lab's captures and, when ../shared/pcaps-public
// is there, the public ones with the ports that carry their RPC
// (publicCaptures); it is not part of the repository, so they are skipped
// without it.
func capturesToRead(t *testing.T) (paths, ports []string) {
	t.Helper()
	for _, p := range realCaptures(t) {
		paths, ports = append(paths, p), append(ports, "2049,20048,111")
	}
	for _, pc := range publicCaptures {
		path := filepath.Join(publicDir, pc.file)
		if _, err := os.Stat(path); err != nil || pc.ports == "" {
			continue
		}
		paths, ports = append(paths, path), append(ports, pc.ports)
	}
	return paths, ports
}

var (
	// A duration as analyze.FormatMS writes it, each unit within its
	// range: µs below 1000, ms below 1000.0, s below 60.00, then min, h.
	durationForm = regexp.MustCompile(`\b(\d{1,3} µs|[1-9]\.\d\d ms|[1-9]\d\.\d ms|[1-9]\d\d ms|([1-9]|[1-5]\d)\.\d\d s|([1-9]|[1-5]\d) min [0-5]\d s|[1-9]\d* h [0-5]\d min)\b`)
	// Anything else that reads as a duration.
	durationAny = regexp.MustCompile(`\b\d+(\.\d+)? ?(µs|us|ms|s|sec|secs|seconds|min|mins|minutes|h|hours)\b`)
	// A size as analyze.FormatBytes writes it (a plain count of bytes,
	// "1448 bytes", is exact and left alone).
	sizeForm = regexp.MustCompile(`\b\d+\.\d (KiB|MiB|GiB|TiB)(/s)?|\b\d+ B/s\b`)
	sizeAny  = regexp.MustCompile(`\b\d+(\.\d+)? ?(KiB|MiB|GiB|TiB|kB|KB|MB|GB|TB|Kb|Mb|Gb)\b`)
	// Decimals that are not durations: addresses and versions
	// (198.18.0.1), clock times (17:07:41.159627), ratios and percentages.
	notDuration = regexp.MustCompile(`\b\d+(\.\d+){2,}\b|:\d+\.\d+|\b\d+\.\d+(x|%)`)
	// A bare decimal left after those: a duration without its unit, as a
	// table of "latency in ms" once wrote them.
	bareDecimal = regexp.MustCompile(`\b\d+\.\d+\b`)
)

// unitsMixed returns the durations and sizes of out not written in the
// one form.
func unitsMixed(out string) []string {
	var bad []string
	rest := durationForm.ReplaceAllString(out, "")
	bad = append(bad, durationAny.FindAllString(rest, -1)...)
	rest = sizeForm.ReplaceAllString(rest, "")
	bad = append(bad, sizeAny.FindAllString(rest, -1)...)
	rest = notDuration.ReplaceAllString(sizeAny.ReplaceAllString(durationAny.ReplaceAllString(rest, ""), ""), "")
	bad = append(bad, bareDecimal.FindAllString(rest, -1)...)
	return bad
}

// TestUnitsFormCheck: the check itself tells the forms apart.
func TestUnitsFormCheck(t *testing.T) {
	for _, s := range []string{"9633.016 ms", "13.2 s", "1000.0 ms", "1000 µs", "3s", "61.00 s", "0.50 s", "60 min 00 s", "1 min 60 s", "min 0.020 max", "43.62 ms", "540.3 ms", "1.0 ms", "1.5 MB", "2 kB", "12.5 MB/s", "0.5 ms"} {
		if len(unitsMixed("x "+s+" y")) == 0 {
			t.Errorf("%q passes as the one form", s)
		}
	}
	for _, s := range []string{"540 µs", "43.6 ms", "4.52 ms", "540 ms", "9.63 s", "2 min 05 s", "1 h 30 min", "64.0 MiB", "1.5 KiB/s", "12 B/s", "1448 bytes", "198.18.0.1:2049", "17:07:41.159627", "5.0x", "5.0%"} {
		if bad := unitsMixed("x " + s + " y"); len(bad) > 0 {
			t.Errorf("%q fails: %q", s, bad)
		}
	}
}

// TestOneUnitForm: no text report of a real capture (the lab's, and the
// public ones when present), nor a diff of two, writes a duration or a size
// in another form than analyze.FormatMS's and FormatBytes'.
func TestOneUnitForm(t *testing.T) {
	durations := 0
	check := func(name, out string) {
		t.Helper()
		durations += len(durationForm.FindAllString(out, -1))
		if bad := unitsMixed(out); len(bad) > 0 {
			t.Errorf("%s: durations or sizes not in the one form: %q", name, bad)
		}
	}
	paths, ports := capturesToRead(t)
	for i, path := range paths {
		out, _, _ := nfsstall(t, nil, "--wide", "--port", ports[i], path)
		check(filepath.Base(path), out)
	}
	for _, pair := range [][2]string{{"mixed.pcap.gz", "stall-server-hung.pcap.gz"}, {"zero-window.pcap.gz", "reconnect.pcap.gz"}} {
		out, _, _ := nfsstall(t, nil, "diff", filepath.Join(pcapDir, pair[0]), filepath.Join(pcapDir, pair[1]))
		check("diff "+pair[0]+" "+pair[1], out)
	}
	if durations < 100 {
		t.Errorf("only %d durations in all the reports: the check checks little", durations)
	}
}
