package main

import (
	"encoding/json"
	"path/filepath"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/nfsstall/nfsstall/internal/tsharkview"
)

// TestTimeAndHostFilters: --since, --until, --client and --server keep the
// calls tshark's view shows within them (port 2049), and count what they
// leave out in skipped; the frames keep their numbers.
func TestTimeAndHostFilters(t *testing.T) {
	const name = "mixed.pcap"
	rows, err := tsharkview.Read(filepath.Join(pcapDir, name+".rpc.tsv"))
	if err != nil {
		t.Fatal(err)
	}
	type call struct {
		at     int64 // ns, exactly as the view has it
		client string
		frame  string
	}
	var calls []call
	for _, r := range rows {
		if r["tcp.dstport"] != "2049" && r["udp.dstport"] != "2049" {
			continue
		}
		sec, frac, _ := strings.Cut(r["frame.time_epoch"], ".")
		s, _ := strconv.ParseInt(sec, 10, 64)
		ns, _ := strconv.ParseInt((frac + "000000000")[:9], 10, 64)
		at := s*1e9 + ns
		for _, m := range strings.Split(r["rpc.msgtyp"], ",") {
			if m == "0" {
				calls = append(calls, call{at, r["ip.src"] + r["ipv6.src"], r["frame.number"]})
			}
		}
	}
	if len(calls) < 20 {
		t.Fatalf("%d calls in the view", len(calls))
	}
	// A window from the 5th call to the 15th, by their times.
	since, until := calls[5].at, calls[15].at
	inWindow := 0
	for _, c := range calls {
		if c.at >= since && c.at <= until {
			inWindow++
		}
	}
	ts := func(ns int64) string { return time.Unix(0, ns).UTC().Format(time.RFC3339Nano) }
	var r struct {
		Summary struct {
			Calls int `json:"calls"`
		} `json:"summary"`
		Skipped []struct {
			Count  int    `json:"count"`
			Reason string `json:"reason"`
		} `json:"skipped"`
		Unanswered []struct {
			Frame int `json:"frame"`
		} `json:"unanswered_calls"`
	}
	report := func(args ...string) {
		t.Helper()
		out, errOut, code := nfsstall(t, nil, append([]string{"--format", "json"}, append(args, filepath.Join(pcapDir, name+".gz"))...)...)
		if code == exitError {
			t.Fatalf("%q: exit %d: %s", args, code, errOut)
		}
		r.Skipped = nil
		if err := json.Unmarshal([]byte(out), &r); err != nil {
			t.Fatal(err)
		}
	}
	skipped := func(what string) int {
		for _, s := range r.Skipped {
			if strings.Contains(s.Reason, what) {
				return s.Count
			}
		}
		return 0
	}
	report("--since", ts(since), "--until", ts(until))
	if r.Summary.Calls != inWindow || skipped("outside the time window") == 0 {
		t.Errorf("window %s to %s: %d calls (tshark: %d), %d packets outside", ts(since), ts(until), r.Summary.Calls, inWindow, skipped("outside the time window"))
	}
	// The same window in local time (here UTC, with --utc), as people type it.
	local := func(ns int64) string { return time.Unix(0, ns).UTC().Format("2006-01-02 15:04:05.000000") }
	report("--utc", "--since", local(since), "--until", local(until))
	if r.Summary.Calls != inWindow {
		t.Errorf("window in local time: %d calls (tshark: %d)", r.Summary.Calls, inWindow)
	}
	// Every call comes from one client: --client it keeps them all, any
	// other address none.
	report("--client", calls[0].client)
	if r.Summary.Calls != len(calls) || skipped("not of the clients or servers") != 0 {
		t.Errorf("--client %s: %d calls (tshark: %d)", calls[0].client, r.Summary.Calls, len(calls))
	}
	report("--client", "198.18.9.9", "--server", "198.18.0.2")
	if r.Summary.Calls != 0 || skipped("not of the clients or servers") == 0 {
		t.Errorf("--client of no connection: %d calls, %d packets filtered", r.Summary.Calls, skipped("not of the clients or servers"))
	}
	for _, bad := range [][]string{{"--since", "yesterday"}, {"--client", "host.example"}, {"--since", "2026-11-26", "--until", "2026-11-25"}} {
		_, errOut, code := nfsstall(t, nil, append(bad, filepath.Join(pcapDir, name+".gz"))...)
		if code != exitError || !strings.Contains(errOut, bad[0]) && !strings.Contains(errOut, "--until") {
			t.Errorf("%q: exit %d, %q", bad, code, errOut)
		}
	}
}
