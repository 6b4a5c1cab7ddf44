package analyze_test

import (
	"net"
	"testing"
	"time"

	"github.com/nfsstall/nfsstall/analyze"
)

// TestStateFindingsListedToTheBound: 1,001 clients, each told by a
// SEQUENCE reply that the server revoked state it could recall
// (SEQ4_STATUS_RECALLABLE_STATE_REVOKED, RFC 8881 section 18.46.3): one
// state_revoked finding each, 1,000 listed, the one past the bound
// counted in skipped, as every kind's findings are.
func TestStateFindingsListedToTheBound(t *testing.T) {
	s := newScenario(t)
	const clients = 1001
	for i := range clients {
		p := s.peer(net.IP{198, 18, byte(1 + i/250), byte(1 + i%250)}, 700)
		sid := []uint32{0xc, 0xc, 0xc, uint32(i + 1)}
		xid := uint32(10)
		session41(p, &xid, sid, 4)
		xid++
		p.call(time.Millisecond, seqGetattr41(xid, sid, 1, 0, 0xfeed))
		p.reply(time.Millisecond, seqGetattrOK(xid, sid, 1, 0, 3, 0x40))
	}
	opts := analyze.DefaultOptions()
	opts.MaxSessions = 4 * clients
	r := s.run(opts)
	if n := len(findingsOf(r, analyze.KindStateRevoked)); n != 1000 {
		t.Errorf("%d state_revoked findings listed, want 1000", n)
	}
	if sk := skipped(t, r, analyze.KindStateRevoked+" findings"); sk.Count != 1 || !sk.Bound {
		t.Errorf("skipped %+v, want the 1 finding past the 1000 listed", sk)
	}
}
