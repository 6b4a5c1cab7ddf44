package analyze

import (
	"fmt"
	"strings"
	"time"

	"github.com/nfsstall/nfsstall/capture"
)

// captureSkips says what the capture readers set aside: packets dropped
// as copies of another input file's, records cut to capture.MaxRecordData,
// and timestamps taken as wild.
func captureSkips(caps []*capture.CaptureInfo) []Skipped {
	var out []Skipped
	var dups int64
	var from []string
	for _, ci := range caps {
		if ci.Duplicates > 0 {
			dups += ci.Duplicates
			from = append(from, fmt.Sprintf("%d from %s", ci.Duplicates, ci.Path))
		}
	}
	if dups > 0 {
		out = append(out, Skipped{What: "duplicate packets", Count: dups,
			Reason: "the same timestamp and bytes as a packet of another input file (a merged file given with its parts?): counted once, the later copy dropped (" +
				strings.Join(from, ", ") + ")"})
	}
	for _, ci := range caps {
		if ci.CutRecords > 0 {
			out = append(out, Skipped{Bound: true, What: "packet records", Count: ci.CutRecords,
				Reason: fmt.Sprintf("%s: records longer than the %d bytes kept of a packet (the file's snaplen allows more): cut there as a snaplen cuts, the rest passed over unread", ci.Path, capture.MaxRecordData)})
		}
	}
	for _, ci := range caps {
		if ci.InterfacesOver > 0 {
			out = append(out, Skipped{Bound: true, What: "pcapng interfaces", Count: ci.InterfacesOver,
				Reason: fmt.Sprintf("%s: more than %d interfaces in one section: the ones past it are not kept, and the %d packets on them were skipped (their frame numbers kept)",
					ci.Path, capture.MaxInterfaces, ci.InterfacesOverPackets)})
		}
	}
	for _, ci := range caps {
		if ci.WildCount == 0 {
			continue
		}
		var ex []string
		for _, w := range ci.WildTimes {
			claimed := time.Unix(0, w.Claimed).UTC().Format(time.RFC3339Nano)
			if w.Frame == 0 {
				ex = append(ex, fmt.Sprintf("the interface statistics end time %s (ignored)", claimed))
				continue
			}
			ex = append(ex, fmt.Sprintf("frame %d claimed %s (taken as %s)", w.Frame, claimed, time.Unix(0, w.Given).UTC().Format(time.RFC3339Nano)))
		}
		if n := ci.WildCount - int64(len(ci.WildTimes)); n > 0 {
			ex = append(ex, fmt.Sprintf("and %d more", n))
		}
		out = append(out, Skipped{What: "frame timestamps", Count: ci.WildCount,
			Reason: fmt.Sprintf("%s: more than %s away from both neighbouring frames, which agree (or, for a first or last frame, from its one neighbour): a clock claim no other frame backs, given the neighbour's time so that it neither stretches the capture nor ages calls: %s",
				ci.Path, strings.TrimSuffix(time.Duration(capture.WildGap).String(), "0m0s"), strings.Join(ex, "; "))})
	}
	return out
}
