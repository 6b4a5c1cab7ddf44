package tcpflow

import (
	"fmt"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"testing"

	"github.com/nfsstall/nfsstall/internal/tsharkview"

	"github.com/nfsstall/nfsstall/capture"
)

const pcapDir = "../testdata/pcaps"

// viewDirs hold captures with tshark's views: the lab's real captures and
// the hand-made probes.pcap (see probes_test.go).
var viewDirs = []string{pcapDir, "testdata"}

// flagRecorder keeps the analysis flags of every frame, and the summary
// of every connection.
type flagRecorder struct {
	flags map[int64]Analysis
	sums  []*TCPSummary
}

func (r *flagRecorder) Segment(_ Dir, _ *Segment, a Analysis, at FrameRef) { r.flags[at.Frame] |= a }
func (r *flagRecorder) Acked(Dir, int64, FrameRef)                         {}
func (r *flagRecorder) Data(Dir, []byte, FrameRef)                         {}
func (r *flagRecorder) Gap(Dir, int, FrameRef, GapReason)                  {}
func (r *flagRecorder) Datagram(Dir, []byte, int, FrameRef)                {}
func (r *flagRecorder) Close(_ FrameRef, s *TCPSummary) {
	if s != nil { // nil: UDP
		r.sums = append(r.sums, &TCPSummary{ZeroWins: slices.Clone(s.ZeroWins)})
	}
}

// viewCapture is one capture with its tshark TCP view.
type viewCapture struct {
	name, path string
	rows       []tsharkview.Row
}

func viewCaptures(t *testing.T) []viewCapture {
	var out []viewCapture
	for _, dir := range viewDirs {
		names, err := tsharkview.Captures(dir)
		if err != nil {
			t.Fatal(err)
		}
		for _, name := range names {
			rows, err := tsharkview.Read(filepath.Join(dir, name+".tcp.tsv"))
			if err != nil {
				t.Fatal(err)
			}
			path, err := tsharkview.CaptureFile(dir, name)
			if err != nil {
				t.Fatal(err)
			}
			out = append(out, viewCapture{name, path, rows})
		}
	}
	return out
}

// analyseCapture runs the TCP analysis over every lab port (NFS, MOUNT,
// portmap: tshark's view covers them all).
func analyseCapture(t *testing.T, path string) *flagRecorder {
	rec := &flagRecorder{flags: map[int64]Analysis{}}
	f := NewFlows([]uint16{2049, 20048, 111}, DefaultLimits, func(*ConnInfo) ConnHandler { return rec })
	in, err := capture.OpenInputs([]string{path}, nil)
	if err != nil {
		t.Fatal(err)
	}
	defer in.Close()
	var p capture.Packet
	for in.Next(&p) == nil {
		f.Packet(&p)
	}
	f.Finish()
	return rec
}

// TestAnalysisAgreesWithTshark compares, frame by frame, the tcp.analysis
// flags nfsstall computes with those tshark recorded for every capture.
func TestAnalysisAgreesWithTshark(t *testing.T) {
	// Every flag nfsstall sets must have its column in every view: a
	// flag without one would go unchecked (make-captures.sh TCP_FLAGS).
	seen := map[Analysis]int{} // frames tshark flags, over all captures
	for _, vc := range viewCaptures(t) {
		t.Run(vc.name, func(t *testing.T) {
			rows := vc.rows
			rec := analyseCapture(t, vc.path)
			if len(rows) == 0 {
				// No TCP in the capture (UDP only): nothing may be flagged.
				if len(rec.flags) != 0 {
					t.Errorf("flags on a capture tshark shows no TCP in: %v", rec.flags)
				}
				return
			}
			for _, flag := range AnalysisFlags() {
				col := "tcp.analysis." + flag.Name()
				if _, recorded := rows[0][col]; !recorded {
					t.Errorf("tshark's view has no column %s (add it to TCP_FLAGS in make-captures.sh, then --views)", col)
					continue
				}
				var want, got []int64
				for _, row := range rows {
					v := row[col]
					frame, _ := strconv.ParseInt(row["frame.number"], 10, 64)
					if v == "1" {
						want = append(want, frame)
					}
					if rec.flags[frame]&flag != 0 {
						got = append(got, frame)
					}
				}
				seen[flag] += len(want)
				if !slices.Equal(got, want) {
					t.Errorf("%s: nfsstall frames %s; tshark %s", col, short(got), short(want))
				}
			}
		})
	}
	// A flag no capture shows is compared only as "never set": a bug that
	// drops it would pass. Every flag is shown somewhere (the lab cannot
	// make loss or BSD-style probes: probes.pcap has them).
	for _, flag := range AnalysisFlags() {
		if seen[flag] == 0 {
			t.Errorf("no capture has a frame tshark flags %s: the comparison cannot catch a bug in it", flag.Name())
		}
	}
}

// tsharkEpisode is a zero-window episode read off tshark's view.
type tsharkEpisode struct {
	start, end int64 // frames; end 0: still closed at the end
	startT     int64 // ns
	endT       int64
	probes     int
}

// epochNS parses tshark's frame.time_epoch (seconds with 9 decimals) exactly.
func epochNS(t *testing.T, s string) int64 {
	sec, frac, _ := strings.Cut(s, ".")
	frac = (frac + "000000000")[:9]
	a, err1 := strconv.ParseInt(sec, 10, 64)
	b, err2 := strconv.ParseInt(frac, 10, 64)
	if err1 != nil || err2 != nil {
		t.Fatalf("bad frame.time_epoch %q", s)
	}
	return a*1e9 + b
}

// tsharkEpisodes reads every zero-window episode off tshark's view: it
// starts at a frame tshark flags tcp.analysis.zero_window when the same
// sender has none open, and ends at that sender's next frame whose window
// (tcp.window_size_value; scaling cannot make 0 non-zero) is not 0 and
// that is not a SYN or RST (whose window says nothing about the receive
// buffer). Probes are the peer's frames in between that tshark flags
// zero_window_probe or keep_alive (Linux probes look like keep-alives).
func tsharkEpisodes(t *testing.T, rows []tsharkview.Row) []tsharkEpisode {
	type sender struct{ stream, src, port string }
	open := map[sender]*tsharkEpisode{}
	var out []*tsharkEpisode
	for _, row := range rows {
		s := sender{row["tcp.stream"], row["ip.src"] + row["ipv6.src"], row["tcp.srcport"]}
		peer := sender{row["tcp.stream"], row["ip.dst"] + row["ipv6.dst"], row["tcp.dstport"]}
		frame, _ := strconv.ParseInt(row["frame.number"], 10, 64)
		flags, _ := strconv.ParseUint(row["tcp.flags"], 0, 16)
		if e := open[peer]; e != nil && (row["tcp.analysis.zero_window_probe"] == "1" || row["tcp.analysis.keep_alive"] == "1") {
			e.probes++
		}
		switch e := open[s]; {
		case e == nil && (row["tcp.analysis.zero_window"] == "1" ||
			flags&(0x01|0x02|0x04) == 0x01 && row["tcp.window_size_value"] == "0"):
			// A FIN's window is a real advertisement: nfsstall starts an
			// episode at a FIN with window 0, which tshark does not flag
			// zero_window (torture.pcap.gz, "zero window with FIN and RST").
			e = &tsharkEpisode{start: frame, startT: epochNS(t, row["frame.time_epoch"])}
			open[s] = e
			out = append(out, e)
		case e != nil && flags&(0x02|0x04) == 0 && row["tcp.window_size_value"] != "0":
			e.end, e.endT = frame, epochNS(t, row["frame.time_epoch"])
			delete(open, s)
		}
	}
	var res []tsharkEpisode
	for _, e := range out {
		res = append(res, *e)
	}
	return res
}

// TestZeroWindowEpisodesAgreeWithTshark checks every zero-window episode
// nfsstall reports (start frame, the frame that reopened the window, the
// duration, the probes meanwhile, still closed or not) against the
// episodes read off tshark's view, in every capture.
func TestZeroWindowEpisodesAgreeWithTshark(t *testing.T) {
	ended := 0
	for _, vc := range viewCaptures(t) {
		t.Run(vc.name, func(t *testing.T) {
			rec := analyseCapture(t, vc.path)
			want := tsharkEpisodes(t, vc.rows)
			var got []tsharkEpisode
			for _, s := range rec.sums {
				for _, zw := range s.ZeroWins {
					e := tsharkEpisode{start: zw.Start.Frame, startT: zw.Start.Time, probes: zw.Probes}
					if zw.Closed {
						e.end, e.endT = zw.End.Frame, zw.End.Time
					}
					got = append(got, e)
				}
			}
			slices.SortFunc(got, func(a, b tsharkEpisode) int { return int(a.start - b.start) })
			str := func(es []tsharkEpisode) string {
				var b strings.Builder
				for _, e := range es {
					if e.end == 0 {
						fmt.Fprintf(&b, "[%d-open probes %d] ", e.start, e.probes)
					} else {
						fmt.Fprintf(&b, "[%d-%d %.6fs probes %d] ", e.start, e.end, float64(e.endT-e.startT)/1e9, e.probes)
					}
				}
				return b.String()
			}
			if str(got) != str(want) {
				t.Errorf("zero-window episodes\nnfsstall %s\ntshark   %s", str(got), str(want))
			}
			for i := range min(len(got), len(want)) {
				if got[i].end != 0 && got[i].endT-got[i].startT != want[i].endT-want[i].startT {
					t.Errorf("episode at frame %d: %d ns, tshark's frame times %d ns", got[i].start, got[i].endT-got[i].startT, want[i].endT-want[i].startT)
				}
			}
			for _, e := range want {
				if e.end != 0 {
					ended++
				}
			}
		})
	}
	if ended < 3 {
		t.Errorf("only %d zero-window episodes that end in all captures: the check of their end is too weak", ended)
	}
}

func short(fs []int64) string {
	if len(fs) > 12 {
		return fmt.Sprintf("%v ... (%d)", fs[:12], len(fs))
	}
	return fmt.Sprint(fs)
}
