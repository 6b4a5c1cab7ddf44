package analyze_test

// What the capture did not see is not evidence: the captures of
// testdata/pcaps with frames removed (as tcpdump's kernel drops remove
// them) or with one direction removed (a one-way capture, an asymmetric
// route) must never yield a stall where the whole capture has none, and a
// stall capture must keep its verdict when frames that are not its
// evidence go.

import (
	"errors"
	"fmt"
	"io"
	"math/rand/v2"
	"path/filepath"
	"slices"
	"testing"

	"nfsstall/analyze"
	"nfsstall/tcpflow"
)

// loaded is a capture held in memory, with each frame's direction.
type loaded struct {
	pkts []tcpflow.Packet
	caps []*tcpflow.CaptureInfo
	// toClient: the frame is a TCP segment from the server port with
	// payload; toServer: any TCP segment to it
	toClient, toServer []bool
}

func loadCapture(t *testing.T, path string) *loaded {
	t.Helper()
	in, err := tcpflow.OpenInputs([]string{path}, nil)
	if err != nil {
		t.Fatal(err)
	}
	defer in.Close()
	l := &loaded{}
	dec := tcpflow.NewDecoder()
	var s tcpflow.Segment
	for {
		var p tcpflow.Packet
		err := in.Next(&p)
		if errors.Is(err, io.EOF) {
			break
		}
		if err != nil {
			t.Fatal(err)
		}
		p.Data = slices.Clone(p.Data)
		l.pkts = append(l.pkts, p)
		cp := p
		ok := dec.Decode(&cp, &s) == tcpflow.SkipNone && s.Proto == tcpflow.ProtoTCP
		l.toClient = append(l.toClient, ok && s.Src.Port == 2049 && s.WireLen > 0)
		l.toServer = append(l.toServer, ok && s.Dst.Port == 2049)
	}
	l.caps = in.Captures()
	return l
}

// analyse runs the analysis on the frames keep says to keep.
func (l *loaded) analyse(opts analyze.Options, keep func(i int) bool) *analyze.Report {
	a := analyze.New(opts)
	for i := range l.pkts {
		if keep(i) {
			p := l.pkts[i]
			a.Packet(&p)
		}
	}
	return a.Finish(l.caps)
}

func stalls(r *analyze.Report) []string {
	var out []string
	for _, f := range r.Findings {
		if f.Severity == analyze.SeverityStall {
			out = append(out, fmt.Sprintf("connection %d [%s] %s", f.Connection, f.Kind, f.Summary))
		}
	}
	return out
}

// sample returns the indexes of frames with want set: all of them when
// there are at most max, else a seeded sample of max.
func sample(want []bool, max int, seed uint64) []int {
	var idx []int
	for i, w := range want {
		if w {
			idx = append(idx, i)
		}
	}
	if len(idx) <= max {
		return idx
	}
	rng := rand.New(rand.NewPCG(seed, 1))
	rng.Shuffle(len(idx), func(i, j int) { idx[i], idx[j] = idx[j], idx[i] })
	idx = idx[:max]
	slices.Sort(idx)
	return idx
}

// healthyCaptures are the captures of testdata/pcaps with no stall.
func realTCPCaptures(t *testing.T) []string {
	t.Helper()
	paths, err := filepath.Glob(filepath.Join(pcapDir, "*.pcap*"))
	if err != nil {
		t.Fatal(err)
	}
	var out []string
	for _, p := range paths {
		if ext := filepath.Ext(p); ext == ".gz" || ext == ".pcap" || ext == ".pcapng" {
			if m, _ := filepath.Match("*.tsv.gz", filepath.Base(p)); !m {
				out = append(out, p)
			}
		}
	}
	if len(out) < 10 {
		t.Fatalf("only %d captures in %s", len(out), pcapDir)
	}
	return out
}

// perCapture bounds the frames removed one at a time from a capture: every
// frame of the small captures, a seeded sample of the rest.
const perCapture = 250

func TestCaptureLossIsNeverAStall(t *testing.T) {
	opts := analyze.DefaultOptions()
	opts.Sequential = true
	for _, path := range realTCPCaptures(t) {
		l := loadCapture(t, path)
		base := l.analyse(analyze.DefaultOptions(), func(int) bool { return true })
		if len(base.Diagnoses) > 0 {
			continue // a stall capture: see TestCaptureLossKeepsVerdicts
		}
		t.Run(filepath.Base(path), func(t *testing.T) {
			// Any unanswered call would count, so only the capture-loss
			// rule keeps a missing reply from being a stall. Calls in
			// flight when the file ends are excused by the threshold as
			// in the whole capture.
			opts.StallAfter = 1e6
			whole := l.analyse(opts, func(int) bool { return true })
			inFlight := len(stalls(whole))
			removed := 0
			for _, drop := range sample(l.toClient, perCapture, 8) {
				r := l.analyse(opts, func(i int) bool { return i != drop })
				removed++
				if s := stalls(r); len(s) > inFlight {
					t.Fatalf("without frame %d: %d stall findings (whole capture: %d): %q", l.pkts[drop].Frame, len(s), inFlight, s)
				}
			}
			if removed == 0 {
				t.Skip("no server data frame")
			}
			for name, keep := range map[string][]bool{"client->server only": l.toServer, "server->client only": l.toClient} {
				r := l.analyse(analyze.DefaultOptions(), func(i int) bool { return keep[i] })
				if s := stalls(r); len(s) > 0 {
					t.Errorf("%s: stall findings %q", name, s)
				}
			}
			// The one-way capture says so.
			r := l.analyse(analyze.DefaultOptions(), func(i int) bool { return l.toServer[i] })
			if r.Summary.CaptureLossBytes == 0 || len(r.Completeness) == 0 {
				t.Errorf("client->server only: capture_loss_bytes %d, completeness %q", r.Summary.CaptureLossBytes, r.Completeness)
			}
			missing := false
			for _, c := range r.Connections {
				if c.CaptureLoss.MissingDirection != nil && *c.CaptureLoss.MissingDirection == "server_to_client" {
					missing = true
				}
			}
			if !missing && whole.Summary.Replies > 0 {
				t.Errorf("client->server only: no connection has missing_direction server_to_client")
			}
		})
	}
}

// Removing frames that are not a stall's evidence keeps the verdict and
// adds no stall.
func TestCaptureLossKeepsVerdicts(t *testing.T) {
	for _, path := range realTCPCaptures(t) {
		l := loadCapture(t, path)
		opts := analyze.DefaultOptions()
		opts.Sequential = true
		base := l.analyse(opts, func(int) bool { return true })
		if len(base.Diagnoses) == 0 {
			continue
		}
		t.Run(filepath.Base(path), func(t *testing.T) {
			evidence := map[int64]bool{}
			for _, d := range base.Diagnoses {
				for _, i := range d.Findings {
					for _, fr := range base.Findings[i].Frames {
						evidence[fr] = true
					}
				}
			}
			other := make([]bool, len(l.pkts))
			for i, p := range l.pkts {
				other[i] = !evidence[p.Frame] && (l.toClient[i] || l.toServer[i])
			}
			for _, drop := range sample(other, perCapture/2, 9) {
				r := l.analyse(opts, func(i int) bool { return i != drop })
				if got, want := verdicts(r), verdicts(base); !slices.Equal(got, want) {
					t.Fatalf("without frame %d: verdicts %q, whole capture %q", l.pkts[drop].Frame, got, want)
				}
			}
		})
	}
}

func verdicts(r *analyze.Report) []string {
	var out []string
	for _, d := range r.Diagnoses {
		out = append(out, fmt.Sprintf("%d:%s", d.Connection, d.Verdict))
	}
	return out
}
