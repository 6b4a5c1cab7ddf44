package analyze

import (
	"testing"

	"github.com/nfsstall/nfsstall/tcpflow"
)

// Folding a connection, or dropping one that carried nothing (past
// maxEmptyListed of them kept), leaves a hole in Analyzer.conns
// (removeConn); the table is compacted only once the holes are more than
// half of it, so that each connection removed costs a constant, not a
// pass over every connection still held. Of ten connections, the first
// five removals leave holes; the sixth compacts the four left, in their
// order, their idx their new places.
func TestMutRemovalCompactsOnlyPastHalf(t *testing.T) {
	for _, tt := range []struct {
		name   string
		setup  func(a *Analyzer)
		remove func(a *Analyzer, c *connState)
		check  func(t *testing.T, a *Analyzer)
	}{
		{"fold", func(*Analyzer) {}, (*Analyzer).fold, func(t *testing.T, a *Analyzer) {
			if a.folded.conns != 6 {
				t.Errorf("%d connections folded, want 6", a.folded.conns)
			}
		}},
		{"drop empty", func(a *Analyzer) { a.emptyKept = maxEmptyListed }, (*Analyzer).dropIfEmpty, func(t *testing.T, a *Analyzer) {
			if a.emptyDropped != 6 || a.emptyKept != maxEmptyListed {
				t.Errorf("%d dropped, %d kept; want 6 and %d", a.emptyDropped, a.emptyKept, maxEmptyListed)
			}
		}},
	} {
		t.Run(tt.name, func(t *testing.T) {
			a := New(DefaultOptions())
			var cs []*connState
			for i := 1; i <= 10; i++ {
				info := &tcpflow.ConnInfo{ID: i, Proto: tcpflow.ProtoTCP, Server: tcpflow.Endpoint{Port: 2049}}
				info.Client.Port = uint16(700 + i)
				info.First = tcpflow.FrameRef{Frame: int64(i), Time: int64(i) * 1e6}
				cs = append(cs, a.newConn(info).(*connState))
			}
			tt.setup(a)
			for i := range 5 {
				tt.remove(a, cs[i])
				if len(a.conns) != 10 || a.connHoles != i+1 || a.conns[i] != nil || cs[i].idx != -1 {
					t.Fatalf("after %d removals: %d held, %d holes, conns[%d] still set %v; want 10 held, %d holes", i+1, len(a.conns), a.connHoles, i, i < len(a.conns) && a.conns[i] != nil, i+1)
				}
			}
			tt.remove(a, cs[5])
			if len(a.conns) != 4 || a.connHoles != 0 {
				t.Fatalf("after 6 removals: %d held, %d holes; want 4 and 0", len(a.conns), a.connHoles)
			}
			for i, c := range a.conns {
				if c != cs[6+i] || c.idx != i {
					t.Errorf("conns[%d] is connection %d at idx %d; want connection %d", i, c.info.ID, c.idx, 7+i)
				}
			}
			tt.check(t, a)
		})
	}
}
