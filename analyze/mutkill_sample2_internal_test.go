package analyze

import (
	"testing"

	"github.com/nfsstall/nfsstall/tcpflow"
)

// Tests that kill mutants of timeline.go from the second
// random sample (bench/mutation.sh) where no report output carries the
// difference: the expected state is worked out by hand from the rule in
// the code's comments.

// Of three open connections with no call waiting and as many calls each,
// the timeline ring given up is the least recently active one's (victim:
// fewest calls first, then the least recently active).
func TestMutVictimLeastRecentlyActive(t *testing.T) {
	var p pictures
	lastMS := []int64{30, 10, 20}
	for i, ms := range lastMS {
		c := &connState{idx: i, calls: 2, replies: 2, last: tcpflow.FrameRef{Frame: int64(i + 1), Time: ms * 1e6}}
		p.rings = append(p.rings, &connTimeline{c: c})
	}
	if v := p.victim(); v == nil || v.c.last.Time != 10e6 {
		t.Fatalf("victim %+v, want the connection last active at 10 ms", v)
	}
	// Fewer calls goes first, however recent.
	p.rings[0].c.calls = 1
	if v := p.victim(); v == nil || v.c.last.Time != 30e6 {
		t.Errorf("victim %+v, want the connection of 1 call (last active at 30 ms)", v)
	}
}
