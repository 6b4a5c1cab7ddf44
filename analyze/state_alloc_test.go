package analyze_test

import (
	"testing"
	"time"

	"github.com/nfsstall/nfsstall/analyze"
)

// TestStatePathsNoAllocs holds the NFSv4 state, slot and recall
// following to no heap allocation per packet once warm: a waiter's OPEN
// answered NFS4ERR_DELAY while a recall is outstanding, SEQUENCE refused
// SEQ_MISORDERED, SEQUENCE replies flagging the callback path down and
// revoked state, RENEW answered STALE_CLIENTID then SETCLIENTID: each
// repeated, every one after the first meeting only tables already made.
func TestStatePathsNoAllocs(t *testing.T) {
	s := newScenario(t)
	a := s.peer(cliA, 700)
	b := s.peer(cliB, 700)
	c := s.peer(cliA, 800)
	a.call(time.Millisecond, lookupGetFH41(1, sidA, 1, dirFH, "report.txt"))
	a.reply(time.Millisecond, lookupGetFH41OK(1, sidA, 1, fileFH))
	a.reply(time.Millisecond, cbRecallOf(0x77, sidA, fileFH))
	const rounds = 400
	for i := range uint32(rounds) {
		b.call(time.Millisecond, open41(10+i, sidB, 10+i, dirFH, "report.txt"))
		b.reply(time.Millisecond, open41Delay(10+i, sidB, 10+i))
		a.call(time.Millisecond, seqGetattr41(1000+i, sidA, 5, 0, fileFH))
		a.reply(time.Millisecond, seqFail(1000+i, 10063))
		a.call(time.Millisecond, seqGetattr41(5000+i, sidA, 2+i, 1, fileFH))
		a.reply(time.Millisecond, seqGetattrOK(5000+i, sidA, 2+i, 1, 15, 0x201|0x40))
		c.call(time.Millisecond, renew40(9000+2*i, 7))
		c.reply(time.Millisecond, renew40Reply(9000+2*i, 10022))
		c.call(time.Millisecond, setClientID40(9001+2*i, "client-c", 3))
		c.reply(time.Millisecond, setClientID40OK(9001+2*i, 7))
	}
	an := analyze.New(analyze.DefaultOptions())
	if allocs := steadyAllocs(an, memPackets(t, s.buf.Bytes()), 20); allocs != 0 {
		t.Errorf("%.2f allocations per 20 packets at steady state, want 0", allocs)
	}
	r := an.Finish(nil)
	for _, kind := range []string{analyze.KindRecallStuck, analyze.KindSessionSlots, analyze.KindCallbackPathDown, analyze.KindStateRevoked, analyze.KindStateRecovery} {
		if len(findingsOf(r, kind)) == 0 {
			t.Errorf("no %s finding: the capture does not exercise it", kind)
		}
	}
}
