package analyze_test

import (
	"strings"
	"testing"
	"time"

	"github.com/nfsstall/nfsstall/analyze"
)

// TestMutkillLockWaitPollRange: A holds the lock; B's LOCK is denied three
// times, its calls sent 1 s, 3 s and 2 s after the previous frame (each
// denial 1 ms after its call). By hand the polls are 3.001 s and 2.001 s
// apart: "every 2.00 s to 3.00 s".
func TestMutkillLockWaitPollRange(t *testing.T) {
	s := newScenario(t)
	a := s.peer(cliA, 700)
	b := s.peer(cliB, 700)
	a.call(time.Millisecond, lookupGetFH41(1, sidA, 1, dirFH, "report.txt"))
	a.reply(time.Millisecond, lookupGetFH41OK(1, sidA, 1, fileFH))
	a.call(time.Millisecond, lock41(2, sidA, 2, fileFH, "owner-a"))
	a.reply(time.Millisecond, lock41OK(2, sidA, 2))
	for i, dt := range []time.Duration{time.Second, 3 * time.Second, 2 * time.Second} {
		b.call(dt, lock41(10+uint32(i), sidB, 1+uint32(i), fileFH, "owner-b"))
		b.reply(time.Millisecond, lock41Denied(10+uint32(i), sidB, 1+uint32(i), 0xa, "owner-a"))
	}
	fs := findingsOf(s.run(analyze.DefaultOptions()), analyze.KindLockWait)
	if len(fs) != 1 || !strings.Contains(fs[0].Summary, "denied (NFS4ERR_DENIED) 3 times") ||
		!strings.Contains(fs[0].Summary, "the client polls for it, every 2.00 s to 3.00 s") {
		t.Errorf("findings %+v", fs)
	}
}
