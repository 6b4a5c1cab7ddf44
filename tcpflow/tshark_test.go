package tcpflow

import (
	"fmt"
	"path/filepath"
	"slices"
	"strconv"
	"testing"

	"nfsstall/internal/tsharkview"
)

const pcapDir = "../testdata/pcaps"

// flagRecorder keeps the analysis flags of every frame.
type flagRecorder struct{ flags map[int64]Analysis }

func (r *flagRecorder) Segment(_ Dir, _ *Segment, a Analysis, at FrameRef) { r.flags[at.Frame] |= a }
func (r *flagRecorder) Acked(Dir, int64, FrameRef)                         {}
func (r *flagRecorder) Data(Dir, []byte, FrameRef)                         {}
func (r *flagRecorder) Gap(Dir, int, FrameRef, GapReason)                  {}
func (r *flagRecorder) Datagram(Dir, []byte, int, FrameRef)                {}
func (r *flagRecorder) Close(FrameRef, *TCPSummary)                        {}

// TestAnalysisAgreesWithTshark compares, frame by frame, the tcp.analysis
// flags nfsstall computes with those tshark recorded for every capture.
func TestAnalysisAgreesWithTshark(t *testing.T) {
	names, err := tsharkview.Captures(pcapDir)
	if err != nil {
		t.Fatal(err)
	}
	for _, name := range names {
		t.Run(name, func(t *testing.T) {
			rows, err := tsharkview.Read(filepath.Join(pcapDir, name+".tcp.tsv"))
			if err != nil {
				t.Fatal(err)
			}
			hasTCP := len(rows) > 0
			path, err := tsharkview.CaptureFile(pcapDir, name)
			if err != nil {
				t.Fatal(err)
			}
			rec := &flagRecorder{flags: map[int64]Analysis{}}
			// Every TCP port of the lab (NFS, MOUNT, portmap): tshark's view covers them all.
			f := NewFlows([]uint16{2049, 20048, 111}, DefaultLimits, func(*ConnInfo) ConnHandler { return rec })
			in, err := OpenInputs([]string{path}, nil)
			if err != nil {
				t.Fatal(err)
			}
			defer in.Close()
			var p Packet
			for in.Next(&p) == nil {
				f.Packet(&p)
			}
			f.Finish()

			if !hasTCP {
				// No TCP in the capture (UDP only): nothing may be flagged.
				if len(rec.flags) != 0 {
					t.Errorf("flags on a capture tshark shows no TCP in: %v", rec.flags)
				}
				return
			}
			for _, flag := range AnalysisFlags() {
				col := "tcp.analysis." + flag.Name()
				if _, recorded := rows[0][col]; !recorded {
					continue // tshark's view does not record this flag
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
				if !slices.Equal(got, want) {
					t.Errorf("%s: nfsstall frames %s; tshark %s", col, short(got), short(want))
				}
			}
		})
	}
}

func short(fs []int64) string {
	if len(fs) > 12 {
		return fmt.Sprintf("%v ... (%d)", fs[:12], len(fs))
	}
	return fmt.Sprint(fs)
}
