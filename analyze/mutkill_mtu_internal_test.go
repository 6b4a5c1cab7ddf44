package analyze

import (
	"testing"

	"github.com/nfsstall/nfsstall/tcpflow"
)

// TestMutkillMTUFreeBound: the list of mtuDirs kept for reuse holds at most
// maxMTUFree (64); one given back beyond that is left to the collector.
func TestMutkillMTUFreeBound(t *testing.T) {
	a := &Analyzer{}
	for range maxMTUFree + 3 {
		a.mtuGiveBack(&mtuDir{})
	}
	if len(a.mtuFree) != 64 {
		t.Errorf("%d mtuDirs kept for reuse, want the bound 64", len(a.mtuFree))
	}
}

// TestMutkillMTUCloseGivesBack: a connection that closes with no hole and
// no ICMP error in a direction gives that direction's mtuDir back for
// reuse (nothing to report); one with a hole keeps it for its finding.
func TestMutkillMTUCloseGivesBack(t *testing.T) {
	a := &Analyzer{}
	c := &connState{a: a}
	clean, holed := &mtuDir{}, &mtuDir{}
	holed.hole.at = tcpflow.FrameRef{Frame: 7}
	c.mtu.dir[tcpflow.ToClient], c.mtu.dir[tcpflow.ToServer] = clean, holed
	c.mtuClose()
	if c.mtu.dir[tcpflow.ToClient] != nil || len(a.mtuFree) != 1 || a.mtuFree[0] != clean {
		t.Errorf("clean direction: state %v, free list %v; want given back", c.mtu.dir[tcpflow.ToClient], a.mtuFree)
	}
	if c.mtu.dir[tcpflow.ToServer] != holed {
		t.Errorf("the direction with a hole lost its state")
	}
}
