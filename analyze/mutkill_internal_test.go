package analyze

import (
	"encoding/binary"
	"testing"

	"github.com/nfsstall/nfsstall/tcpflow"
)

// Bounds whose policy is stated in the code's comments and is not in the
// report: checked on the unexported state.

// TestMutReconnectCreditSpent: with maxOpenRuns runs of two SYNs open, a
// new run is refused after a scan that frees nothing, and the next
// maxOpenRuns/16 are refused unscanned (single-SYN runs put in meanwhile
// stay). The one after them scans again, frees those single-SYN runs, and
// is admitted.
func TestMutReconnectCreditSpent(t *testing.T) {
	key := func(i int) pairKey {
		var k pairKey
		binary.BigEndian.PutUint32(k.client[12:], uint32(i))
		return k
	}
	r := &reconnects{open: map[pairKey]*synRun{}}
	for i := range maxOpenRuns {
		r.open[key(i)] = &synRun{syns: 2}
	}
	if r.makeRoom() {
		t.Fatal("admitted with the table full of runs of two SYNs")
	}
	const single = 300
	for i := range single { // runs answered, single SYNs in their place
		delete(r.open, key(i))
		r.open[key(maxOpenRuns+i)] = &synRun{syns: 1}
	}
	for i := range maxOpenRuns / 16 {
		if r.makeRoom() || len(r.open) != maxOpenRuns {
			t.Fatalf("refusal %d on credit: admitted or scanned (%d open)", i+1, len(r.open))
		}
	}
	if !r.makeRoom() || len(r.open) != maxOpenRuns-single || r.credit != 0 {
		t.Errorf("after the credit: %d open, credit %d; want a scan to free %d and admit", len(r.open), r.credit, single)
	}
}

// TestMutInflightCompacted: calls sent one after another, each ACKed once
// the next is sent, keep one call waiting for its ACK at a time: the
// watch list, a queue ACKs take from the head of, is compacted as its head
// passes half of it, so it holds at most two entries however many calls
// the connection carries.
func TestMutInflightCompacted(t *testing.T) {
	a := &Analyzer{opts: DefaultOptions()}
	c := &connState{a: a}
	c.info.Proto = tcpflow.ProtoTCP
	calls := make([]call, 1000)
	for i := range calls {
		p := &calls[i]
		p.id, p.lastConn = uint64(i+1), c
		c.msgEnd = int64(i+1) * 100
		c.watchAck(p)
		if i > 0 {
			c.Acked(tcpflow.ToServer, int64(i)*100, tcpflow.FrameRef{Frame: int64(i + 1), Time: int64(i+1) * 1e6})
		}
		if len(c.inflight) > 2 || len(c.inflight)-c.inflightHead != 1 {
			t.Fatalf("after call %d: %d entries, head %d; want at most 2, one watched", i+1, len(c.inflight), c.inflightHead)
		}
	}
	if calls[998].ackedAt.Frame != 1000 || calls[999].ackedAt.Frame != 0 {
		t.Errorf("call 999 ACKed at frame %d (want 1000), call 1000 at %d (want none)", calls[998].ackedAt.Frame, calls[999].ackedAt.Frame)
	}
}
