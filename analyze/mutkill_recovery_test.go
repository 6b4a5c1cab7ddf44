package analyze_test

import (
	"testing"
	"time"

	"github.com/nfsstall/nfsstall/analyze"
)

// TestMutkillStateRevokedDuration: two SEQUENCE replies with
// SEQ4_STATUS_RECALLABLE_STATE_REVOKED; the second call goes 501 ms after the
// first reply and is answered 1 ms later: by hand the finding spans 502 ms.
func TestMutkillStateRevokedDuration(t *testing.T) {
	s := newScenario(t)
	a := s.peer(cliA, 700)
	a.call(time.Millisecond, seqGetattr41(1, sidA, 1, 0, 0xfeed))
	a.reply(time.Millisecond, seqGetattrOK(1, sidA, 1, 0, 15, 0x40))
	a.call(501*time.Millisecond, seqGetattr41(2, sidA, 2, 0, 0xfeed))
	a.reply(time.Millisecond, seqGetattrOK(2, sidA, 2, 0, 15, 0x40))
	fs := findingsOf(s.run(analyze.DefaultOptions()), analyze.KindStateRevoked)
	if len(fs) != 1 || fs[0].DurationMS != 502 {
		t.Fatalf("findings %+v, want one of 502 ms", fs)
	}
}
