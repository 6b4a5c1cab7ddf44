package analyze

import (
	"testing"

	"github.com/nfsstall/nfsstall/tcpflow"
)

// Tests that kill mutants of conn.go and timeline.go from the second
// random sample (bench/mutation.sh) where no report output carries the
// difference: the expected state is worked out by hand from the rule in
// the code's comments.

// Dropping a connection that carried nothing (past maxEmptyListed of them
// kept) leaves a hole in Analyzer.conns, like folding one
// (TestMutFoldCompactsOnlyPastHalf covers fold's copy of the rule); the
// table is compacted only once the holes are more than half of it. Of
// ten connections, the first five drops leave holes; the sixth compacts
// the four left, in their order, their idx their new places.
func TestMutDropEmptyCompactsOnlyPastHalf(t *testing.T) {
	a := New(DefaultOptions())
	var cs []*connState
	for i := 1; i <= 10; i++ {
		info := &tcpflow.ConnInfo{ID: i, Proto: tcpflow.ProtoTCP, Server: tcpflow.Endpoint{Port: 2049}}
		info.Client.Port = uint16(700 + i)
		info.First = tcpflow.FrameRef{Frame: int64(i), Time: int64(i) * 1e6}
		cs = append(cs, a.newConn(info).(*connState))
	}
	a.emptyKept = maxEmptyListed
	for i := range 5 {
		a.dropIfEmpty(cs[i])
		if len(a.conns) != 10 || a.connHoles != i+1 || a.conns[i] != nil || cs[i].idx != -1 {
			t.Fatalf("after %d drops: %d held, %d holes, conns[%d] still set %v; want 10 held, %d holes", i+1, len(a.conns), a.connHoles, i, i < len(a.conns) && a.conns[i] != nil, i+1)
		}
	}
	a.dropIfEmpty(cs[5])
	if len(a.conns) != 4 || a.connHoles != 0 {
		t.Fatalf("after 6 drops: %d held, %d holes; want 4 and 0", len(a.conns), a.connHoles)
	}
	for i, c := range a.conns {
		if c != cs[6+i] || c.idx != i {
			t.Errorf("conns[%d] is connection %d at idx %d; want connection %d", i, c.info.ID, c.idx, 7+i)
		}
	}
	if a.emptyDropped != 6 || a.emptyKept != maxEmptyListed {
		t.Errorf("%d dropped, %d kept; want 6 and %d", a.emptyDropped, a.emptyKept, maxEmptyListed)
	}
}

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
