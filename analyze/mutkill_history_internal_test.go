package analyze

import (
	"testing"

	"github.com/nfsstall/nfsstall/tcpflow"
)

// Folding a connection leaves a hole in Analyzer.conns; the table is
// compacted only once the holes are more than half of it, so that each
// connection folded costs a constant (history.go), not a pass over every
// connection still held. Of ten connections, the first five folds leave
// holes; the sixth compacts the four left, in their order, their idx
// their new places.
func TestMutFoldCompactsOnlyPastHalf(t *testing.T) {
	a := New(DefaultOptions())
	var cs []*connState
	for i := 1; i <= 10; i++ {
		info := &tcpflow.ConnInfo{ID: i, Proto: tcpflow.ProtoTCP, Server: tcpflow.Endpoint{Port: 2049}}
		info.Client.Port = uint16(700 + i)
		info.First = tcpflow.FrameRef{Frame: int64(i), Time: int64(i) * 1e6}
		cs = append(cs, a.newConn(info).(*connState))
	}
	for i := range 5 {
		a.fold(cs[i])
		if len(a.conns) != 10 || a.connHoles != i+1 || a.conns[i] != nil || cs[i].idx != -1 {
			t.Fatalf("after %d folds: %d held, %d holes, conns[%d] still set %v; want 10 held, %d holes", i+1, len(a.conns), a.connHoles, i, i < len(a.conns) && a.conns[i] != nil, i+1)
		}
	}
	a.fold(cs[5])
	if len(a.conns) != 4 || a.connHoles != 0 {
		t.Fatalf("after 6 folds: %d held, %d holes; want 4 and 0", len(a.conns), a.connHoles)
	}
	for i, c := range a.conns {
		if c != cs[6+i] || c.idx != i {
			t.Errorf("conns[%d] is connection %d at idx %d; want connection %d", i, c.info.ID, c.idx, 7+i)
		}
	}
	if a.folded.conns != 6 {
		t.Errorf("%d connections folded, want 6", a.folded.conns)
	}
}
