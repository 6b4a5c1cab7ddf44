package tcpflow

import (
	"os"
	"path/filepath"
	"slices"
	"testing"

	"github.com/nfsstall/nfsstall/internal/handcap"
)

// The bounds on stall evidence (Limits.RetransTotal, SentTotal,
// ZeroWinTotal; maxFrames and maxRetrans per run and direction), checked
// on hand-built connections against counts worked out by hand from the
// rules stated in evidence.go and flow.go.

func budgetCapture(t *testing.T, b *tortureBuilder) string {
	path := filepath.Join(t.TempDir(), "budget.pcap")
	if err := os.WriteFile(path, handcap.Pcap(b.segs), 0o644); err != nil {
		t.Fatal(err)
	}
	return path
}

func runFrames(u Unacked) []int64 {
	var out []int64
	for _, f := range u.Frames {
		out = append(out, f.Frame)
	}
	return out
}

// TestRetransTotal: with one run followed at once (in all), a second run
// re-sent while the first is open is not followed (counted untracked and
// skipped); once the first is ACKed, the second's next re-send is
// followed, naming its original transmission; a run keeps maxFrames
// frames and counts the re-sends past them.
func TestRetransTotal(t *testing.T) {
	b := &tortureBuilder{}
	b.open("budget", 1000, 5000, w, w, -1, -1)
	b.exchange(1, 1, 100, 1000, w, w) // frames 4-6
	b.s(1, tPA, 1001, 101, w, 100)    // 7: A
	b.s(0, tPA, 1101, 101, w, 100)    // 8: B
	b.s(200, tPA, 1001, 101, w, 100)  // 9: A re-sent: followed
	b.s(0, tPA, 1101, 101, w, 100)    // 10: B re-sent: not followed
	b.c(1, tA, 101, 1101, w, 0)       // 11: A ACKed
	b.s(400, tPA, 1101, 101, w, 100)  // 12: B re-sent: followed
	const more = 33
	for range more {
		b.s(100, tPA, 1101, 101, w, 100) // 13...: B again
	}
	limits := DefaultLimits
	limits.RetransTotal = 1
	_, _, h, f := analyseFile(t, budgetCapture(t, b), limits)
	s := h.byPort[600]
	if s == nil {
		t.Fatal("no connection")
	}
	if s.RetransUntracked != 1 || f.Stats.RetransTotalSkipped != 1 {
		t.Errorf("untracked %d, skipped %d; want 1, 1", s.RetransUntracked, f.Stats.RetransTotalSkipped)
	}
	if s.Recovered != [2]int64{0, 1} || s.MaxStuckNS != [2]int64{0, 1e6} {
		t.Errorf("recovered %v, longest wait %v; want [0 1], [0 1ms]", s.Recovered, s.MaxStuckNS)
	}
	if len(s.Unacked) != 1 {
		t.Fatalf("%d runs never ACKed, want 1", len(s.Unacked))
	}
	u := s.Unacked[0]
	want := []int64{8, 12}
	for i := 13; len(want) < maxFrames; i++ {
		want = append(want, int64(i))
	}
	if got := runFrames(u); !slices.Equal(got, want) || u.Resends != more+1 || u.MoreSent != more+2-maxFrames ||
		u.Seq != 5000+1101 || u.Len != 100 || u.Dir != ToClient {
		t.Errorf("run %+v frames %v; want seq %d len 100, frames %v, resends %d, more %d", u, got, 5000+1101, want, more+1, more+2-maxFrames)
	}
}

// TestSentTotal: with two transmissions remembered (in all), a third makes
// the direction forget its older half, so a re-send of the forgotten one
// names no original; ACKs give back what they cover, so later ones are
// remembered again and named.
func TestSentTotal(t *testing.T) {
	b := &tortureBuilder{}
	b.open("budget", 1000, 5000, w, w, -1, -1)
	b.exchange(1, 1, 100, 1000, w, w) // frames 4-6, all ACKed
	b.s(1, tPA, 1001, 101, w, 100)    // 7: A
	b.s(0, tPA, 1101, 101, w, 100)    // 8: B
	b.s(0, tPA, 1201, 101, w, 100)    // 9: C: A forgotten
	b.s(200, tPA, 1001, 101, w, 100)  // 10: A re-sent: no original
	b.s(0, tPA, 1201, 101, w, 100)    // 11: C re-sent: original 9
	b.c(1, tA, 101, 1201, w, 0)       // 12: A and B ACKed
	b.s(1, tPA, 1301, 101, w, 100)    // 13: D, remembered
	b.s(200, tPA, 1301, 101, w, 100)  // 14: D re-sent: original 13
	limits := DefaultLimits
	limits.SentTotal = 2
	_, _, h, f := analyseFile(t, budgetCapture(t, b), limits)
	s := h.byPort[600]
	if s == nil {
		t.Fatal("no connection")
	}
	if s.SentForgotten != 1 || f.Stats.SentTotalForgotten != 1 {
		t.Errorf("forgotten %d (connection), %d (all); want 1, 1", s.SentForgotten, f.Stats.SentTotalForgotten)
	}
	if s.Recovered != [2]int64{0, 1} {
		t.Errorf("recovered %v, want [0 1]", s.Recovered)
	}
	var got [][]int64
	for _, u := range s.Unacked {
		got = append(got, runFrames(u))
	}
	if want := [][]int64{{9, 11}, {13, 14}}; !slices.EqualFunc(got, want, slices.Equal) {
		t.Errorf("runs never ACKed %v, want %v", got, want)
	}
}

// TestZeroWinTotal: with one episode kept (in all), the second episode
// that ends is counted, not kept; one still open at the end is kept.
func TestZeroWinTotal(t *testing.T) {
	b := &tortureBuilder{}
	b.open("budget", 1000, 5000, w, w, -1, -1)
	b.exchange(1, 1, 100, 1000, w, w)
	b.c(1, tA, 101, 1001, 0, 0)   // 7: episode 1
	b.c(100, tA, 101, 1001, w, 0) // 8: ends
	b.c(1, tA, 101, 1001, 0, 0)   // 9: episode 2
	b.c(100, tA, 101, 1001, w, 0) // 10: ends: not kept
	b.c(1, tA, 101, 1001, 0, 0)   // 11: episode 3, open at the end: kept
	limits := DefaultLimits
	limits.ZeroWinTotal = 1
	_, _, h, f := analyseFile(t, budgetCapture(t, b), limits)
	s := h.byPort[600]
	if s == nil {
		t.Fatal("no connection")
	}
	var got []int64
	for _, z := range s.ZeroWins {
		got = append(got, z.Start.Frame, z.End.Frame)
	}
	if want := []int64{7, 8, 11, 0}; !slices.Equal(got, want) || s.ZeroWinsMore != 1 || f.Stats.ZeroWinTotalSkipped != 1 {
		t.Errorf("episodes %v, more %d, skipped %d; want %v, 1, 1", got, s.ZeroWinsMore, f.Stats.ZeroWinTotalSkipped, want)
	}
}

// TestMaxRetransRuns: one direction follows at most maxRetrans runs at
// once; the re-send that would start one more is counted untracked.
func TestMaxRetransRuns(t *testing.T) {
	b := &tortureBuilder{}
	b.open("budget", 1000, 5000, w, w, -1, -1)
	const n = maxRetrans + 1
	for i := range uint32(n) {
		b.s(1, tPA, 1+2*i, 1, w, 2)
	}
	for i := range uint32(n) {
		b.s(10, tPA, 1+2*i, 1, w, 2) // retransmission: a run each
	}
	_, _, h, _ := analyseFile(t, budgetCapture(t, b), DefaultLimits)
	s := h.byPort[600]
	if s == nil {
		t.Fatal("no connection")
	}
	if len(s.Unacked) != maxRetrans || s.RetransUntracked != 1 {
		t.Errorf("%d runs, %d untracked; want %d, 1", len(s.Unacked), s.RetransUntracked, maxRetrans)
	}
}

// TestMaxZeroWins: one connection keeps maxZeroWins episodes that ended,
// counts the rest, and keeps the one still open at the end.
func TestMaxZeroWins(t *testing.T) {
	b := &tortureBuilder{}
	b.open("budget", 1000, 5000, w, w, -1, -1)
	const ended = maxZeroWins + 2
	for range ended {
		b.c(1, tA, 1, 1, 0, 0) // zero window
		b.c(1, tA, 1, 1, w, 0) // open again
	}
	b.c(1, tA, 1, 1, 0, 0) // still closed at the end
	limits := DefaultLimits
	limits.ZeroWinTotal = ended + 1
	_, _, h, f := analyseFile(t, budgetCapture(t, b), limits)
	s := h.byPort[600]
	if s == nil {
		t.Fatal("no connection")
	}
	n := len(s.ZeroWins)
	if n != maxZeroWins+1 || s.ZeroWinsMore != 2 || f.Stats.ZeroWinTotalSkipped != 0 || s.ZeroWins[n-1].Closed || !s.ZeroWins[n-2].Closed {
		t.Errorf("%d episodes kept (last closed %v), %d more, %d skipped; want %d (the last open), 2, 0",
			n, n > 0 && s.ZeroWins[n-1].Closed, s.ZeroWinsMore, f.Stats.ZeroWinTotalSkipped, maxZeroWins+1)
	}
}
