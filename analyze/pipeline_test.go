package analyze_test

import (
	"bytes"
	"encoding/json"
	"fmt"
	"strings"
	"testing"

	"github.com/nfsstall/nfsstall/analyze"
	"github.com/nfsstall/nfsstall/capture"
	"github.com/nfsstall/nfsstall/internal/gencap"
	"github.com/nfsstall/nfsstall/report"
)

// jsonReport analyses paths (or capBytes, read as stdin) and renders the
// JSON report.
func jsonReport(t *testing.T, opts analyze.Options, capBytes []byte, paths ...string) []byte {
	t.Helper()
	in, err := capture.OpenInputs(paths, bytes.NewReader(capBytes))
	if err != nil {
		t.Fatal(err)
	}
	defer in.Close()
	r, err := analyze.Run(in, opts)
	if err != nil {
		t.Fatal(err)
	}
	var out bytes.Buffer
	if err := report.JSON(&out, r); err != nil {
		t.Fatal(err)
	}
	// The streamed JSON is what encoding/json writes in one go.
	var std bytes.Buffer
	enc := json.NewEncoder(&std)
	enc.SetIndent("", "  ")
	if err := enc.Encode(r); err != nil {
		t.Fatal(err)
	}
	if !bytes.Equal(out.Bytes(), std.Bytes()) {
		t.Errorf("report.JSON differs from encoding/json's output")
	}
	return out.Bytes()
}

// TestPipelinedSameAsSequential holds the pipelined path (reading in a
// goroutine of its own) to the sequential one: the same JSON report, byte
// for byte, for every real capture and for generated ones.
func TestPipelinedSameAsSequential(t *testing.T) {
	type input struct {
		name    string
		paths   []string
		capture []byte
	}
	var inputs []input
	for _, name := range captures(t) {
		inputs = append(inputs, input{name: name, paths: []string{captureFile(t, name)}})
	}
	for _, g := range []struct {
		name string
		cfg  gencap.Config
	}{
		{"generated", gencap.Config{Seed: 3, Size: 12 << 20, Conns: 40, Active: 12, BigRate: 0.2, NoAttrRate: 0.2,
			ReorderRate: 0.002, RetransRate: 0.002, Unanswered: 30, Timestamps: true}},
		{"generated mid-stream", gencap.Config{Seed: 4, Size: 4 << 20, Conns: 7, NoHandshake: true, SeqNearWrap: true,
			ReorderRate: 0.002, RetransRate: 0.002, Unanswered: 3}},
	} {
		var buf bytes.Buffer
		if _, err := gencap.Write(&buf, g.cfg); err != nil {
			t.Fatal(err)
		}
		inputs = append(inputs, input{name: g.name, paths: []string{"-"}, capture: buf.Bytes()})
	}
	for _, in := range inputs {
		t.Run(in.name, func(t *testing.T) {
			opts := analyze.DefaultOptions()
			opts.Ports = labPorts
			opts.Sequential = true
			seq := jsonReport(t, opts, in.capture, in.paths...)
			opts.Sequential = false
			pipe := jsonReport(t, opts, in.capture, in.paths...)
			if !bytes.Equal(seq, pipe) {
				t.Errorf("pipelined report differs from the sequential one:\n%s\n----\n%s", pipe, seq)
			}
		})
	}
}

// TestCallLimits checks that calls beyond the tracking limits are counted,
// said in the report, and not paired.
func TestCallLimits(t *testing.T) {
	var buf bytes.Buffer
	st, err := gencap.Write(&buf, gencap.Config{Seed: 5, Size: 0, Conns: 4, Active: 4, Unanswered: 1000})
	if err != nil {
		t.Fatal(err)
	}
	for _, tt := range []struct {
		name              string
		maxCalls, perConn int
		tracked, byConn   int64
	}{
		{"in all", 300, 1000, 300, 0},
		{"per connection", 10000, 100, 400, 600},
		{"no limit hit", 10000, 10000, 1000, 0},
	} {
		t.Run(tt.name, func(t *testing.T) {
			in, err := capture.OpenInputs([]string{"-"}, bytes.NewReader(buf.Bytes()))
			if err != nil {
				t.Fatal(err)
			}
			defer in.Close()
			opts := analyze.DefaultOptions()
			opts.MaxCalls, opts.MaxCallsPerConn = tt.maxCalls, tt.perConn
			r, err := analyze.Run(in, opts)
			if err != nil {
				t.Fatal(err)
			}
			if r.Summary.Calls != st.Calls || r.Summary.Unanswered != tt.tracked {
				t.Errorf("calls %d unanswered %d, want %d and %d", r.Summary.Calls, r.Summary.Unanswered, st.Calls, tt.tracked)
			}
			var skipped int64
			for _, s := range r.Skipped {
				if s.What == "RPC calls" {
					skipped = s.Count
					if !s.Bound {
						t.Errorf("%+v is not flagged a bound (the command says bounds on stderr)", s)
					}
					if want := fmt.Sprintf("; %d of these calls met the per-connection limit", tt.byConn); !strings.Contains(s.Reason, want) {
						t.Errorf("reason %q does not say %q", s.Reason, want)
					}
				}
			}
			if skipped != st.Calls-tt.tracked {
				t.Errorf("skipped %+v, want %d RPC calls", r.Skipped, st.Calls-tt.tracked)
			}
			if (skipped > 0) != (r.Untracked != nil && r.Untracked.Calls == skipped) {
				t.Errorf("untracked %+v, want %d calls", r.Untracked, skipped)
			}
		})
	}
}

// TestUnansweredListBounded checks that the unanswered calls listed are
// the oldest, and that all are counted.
func TestUnansweredListBounded(t *testing.T) {
	var buf bytes.Buffer
	st, err := gencap.Write(&buf, gencap.Config{Seed: 6, Size: 0, Conns: 8, Active: 8, Unanswered: 12000})
	if err != nil {
		t.Fatal(err)
	}
	in, err := capture.OpenInputs([]string{"-"}, bytes.NewReader(buf.Bytes()))
	if err != nil {
		t.Fatal(err)
	}
	defer in.Close()
	r, err := analyze.Run(in, analyze.DefaultOptions())
	if err != nil {
		t.Fatal(err)
	}
	if r.Summary.Unanswered != st.Unanswered || r.Procedures[0].Unanswered != st.Unanswered {
		t.Errorf("unanswered %d (READ row %d), want %d", r.Summary.Unanswered, r.Procedures[0].Unanswered, st.Unanswered)
	}
	if len(r.Unanswered) != 10000 {
		t.Fatalf("%d listed, want 10000", len(r.Unanswered))
	}
	for i := 1; i < len(r.Unanswered); i++ {
		if r.Unanswered[i].Sent < r.Unanswered[i-1].Sent {
			t.Fatalf("not oldest first at %d", i)
		}
	}
	var conns int64
	for _, c := range r.Connections {
		conns += c.Unanswered
	}
	if conns != st.Unanswered {
		t.Errorf("connections count %d unanswered", conns)
	}
	found := false
	for _, s := range r.Skipped {
		if s.What == "unanswered calls listed" && s.Count == st.Unanswered-10000 {
			found = true
		}
	}
	if !found {
		t.Errorf("skipped %+v", r.Skipped)
	}
}
