package analyze_test

import (
	"fmt"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"testing"

	"github.com/nfsstall/nfsstall/analyze"
)

// TestGraceAgreesWithTshark holds the grace_period finding of the lab's
// nfs4-grace (ganesha killed and restarted in its 5 s grace period; six
// new clients' OPENs refused) to tshark's views: the replies whose
// COMPOUND status (the first nfs.nfsstat4) is 10013, NFS4ERR_GRACE, from
// the nfs4 view; their times, clients and calls from the rpc view. The
// finding's frames (the calls refused and their GRACE replies), count, first-to-last duration and the longest a
// client address's calls were refused (its first refused call's
// frame.time_epoch to its last GRACE reply's) are computed from them; the
// grace is over at the first OPEN reply with status 0 after the last GRACE.
func TestGraceAgreesWithTshark(t *testing.T) {
	const name = "nfs4-grace.pcap"
	nfs4 := readTSV(t, filepath.Join(pcapDir, name+".nfs4.tsv"))
	rpc := map[string]map[string]string{}
	for _, r := range readTSV(t, filepath.Join(pcapDir, name+".rpc.tsv")) {
		rpc[r["frame.number"]] = r
	}
	secs := func(frame string) float64 {
		f, err := strconv.ParseFloat(rpc[frame]["frame.time_epoch"], 64)
		if err != nil {
			t.Fatalf("frame %s: time %q", frame, rpc[frame]["frame.time_epoch"])
		}
		return f
	}
	var grace, refused []int64
	var firstT, lastT float64
	since, until := map[string]float64{}, map[string]float64{}
	var over int64
	for _, r := range nfs4 {
		if r["rpc.msgtyp"] != "1" {
			continue
		}
		st, _, _ := strings.Cut(r["nfs.nfsstat4"], ",")
		frame := r["frame.number"]
		switch {
		case st == "10013":
			f, _ := strconv.ParseInt(frame, 10, 64)
			grace = append(grace, f)
			at := secs(frame)
			if len(grace) == 1 {
				firstT = at
			}
			lastT = at
			call, _ := strconv.ParseInt(rpc[frame]["rpc.repframe"], 10, 64)
			refused = append(refused, call, f)
			client := rpc[frame]["ip.dst"]
			if _, ok := since[client]; !ok {
				since[client] = secs(rpc[frame]["rpc.repframe"]) // on a reply, its call's frame (tshark 4.0 swaps the two names)
			}
			until[client] = at
			over = 0
		case st == "0" && r["nfs.main_opcode"] == "18" && len(grace) > 0 && over == 0:
			over, _ = strconv.ParseInt(frame, 10, 64)
		}
	}
	if len(grace) != 6 || over == 0 {
		t.Fatalf("the view's GRACE replies %v, grace over at %d: not the capture described", grace, over)
	}
	var waited float64
	for c := range since {
		waited = max(waited, until[c]-since[c])
	}

	r, _ := run(t, captureFile(t, name))
	var got []analyze.Finding
	for _, f := range r.Findings {
		if f.Kind == analyze.KindGrace {
			got = append(got, f)
		}
	}
	if len(got) != 1 {
		t.Fatalf("grace findings %+v", got)
	}
	f := got[0]
	if want := append(slices.Clone(refused), over); !slices.Equal(f.Frames, want) {
		t.Errorf("frames %v, want the calls refused, their GRACE replies and the OPEN that ended it %v", f.Frames, want)
	}
	durMS := (lastT - firstT) * 1000
	if d := f.DurationMS - durMS; d > 0.001 || d < -0.001 {
		t.Errorf("duration %v ms, want %v", f.DurationMS, durMS)
	}
	for _, want := range []string{
		fmt.Sprintf("answered %d calls NFS4ERR_GRACE", len(grace)),
		fmt.Sprintf("the first at frame %d, the last at frame %d (%s as seen)", grace[0], grace[len(grace)-1], analyze.FormatMS(durMS)),
		fmt.Sprintf("it was over by frame %d", over),
		fmt.Sprintf("198.18.0.1: %d calls refused (OPEN) over %s, on %d connections", len(grace), analyze.FormatMS(waited*1000), len(grace)),
	} {
		if !strings.Contains(f.Summary, want) {
			t.Errorf("summary lacks %q: %s", want, f.Summary)
		}
	}
	if f.Severity != analyze.SeverityStall {
		t.Errorf("severity %s, want stall (calls refused for %.2f s, past --stall-after)", f.Severity, waited)
	}
	if len(r.Diagnoses) != 1 || r.Diagnoses[0].Verdict != analyze.VerdictGrace || r.Diagnoses[0].Connection != f.Connection ||
		!strings.Contains(r.Diagnoses[0].Summary, "was in its NFSv4 grace period") {
		t.Errorf("diagnoses %+v, want grace_period on connection %d", r.Diagnoses, f.Connection)
	}
	// The finding is on the connection of the first GRACE reply.
	for _, c := range r.Connections {
		if c.ID == f.Connection && c.FirstFrame > grace[0] {
			t.Errorf("finding on connection %d, which begins after the first GRACE reply", c.ID)
		}
	}
}
