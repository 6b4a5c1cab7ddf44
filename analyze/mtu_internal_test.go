package analyze

import (
	"testing"

	"github.com/nfsstall/nfsstall/tcpflow"
)

// TestMTUStateReused: a stream whose segments keep growing past every one
// ACKed (offload super-frames: 2000, 2001, ... bytes, each ACKed at once)
// takes an mtuDir for each and gives it back: after the first, none is
// allocated.
func TestMTUStateReused(t *testing.T) {
	a := &Analyzer{}
	c := &connState{a: a}
	seq, size := uint32(1000), uint32(2000)
	data := tcpflow.Segment{Proto: tcpflow.ProtoTCP, Flags: tcpflow.FlagACK}
	ack := tcpflow.Segment{Proto: tcpflow.ProtoTCP, Flags: tcpflow.FlagACK}
	frame := int64(0)
	step := func() {
		frame++
		data.Seq, data.WireLen = seq, int(size)
		c.mtuSegment(tcpflow.ToClient, &data, 0, tcpflow.FrameRef{Frame: frame, Time: frame * 1e6})
		seq += size
		size++
		frame++
		ack.Ack = seq
		c.mtuSegment(tcpflow.ToServer, &ack, 0, tcpflow.FrameRef{Frame: frame, Time: frame * 1e6})
	}
	step()
	if c.mtu.dir[tcpflow.ToClient] != nil || c.mtu.pre[tcpflow.ToClient].acked != 2000 {
		t.Fatalf("after one full-size segment ACKed: state %v, longest ACKed %d; want given back, 2000", c.mtu.dir[tcpflow.ToClient], c.mtu.pre[tcpflow.ToClient].acked)
	}
	if n := testing.AllocsPerRun(100, step); n != 0 {
		t.Errorf("%v allocations per growing segment", n)
	}
	if got := c.mtu.pre[tcpflow.ToClient].acked; got != size-1 {
		t.Errorf("longest ACKed %d, want %d", got, size-1)
	}
}
