package analyze_test

import (
	"fmt"
	"hash/crc32"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/nfsstall/nfsstall/analyze"
)

// NFSv4 lock waits, hand-built. The oracle is RFC 8881 section 18.10.4:
// a LOCK that conflicts gets NFS4ERR_DENIED with LOCK4denied (the
// conflicting lock's range, type and owner); a blocking lock polls with
// LOCK until the holder's LOCKU frees it.

// lockScene: A locks report.txt; B's LOCK is denied polls times, 1 s
// apart; with release, A unlocks and B's next LOCK is granted. It returns
// A's grant, B's first and last denial, B's grant (0 without release).
func lockScene(t *testing.T, polls int, release bool) (*scenario, [4]int64) {
	s := newScenario(t)
	a := s.peer(cliA, 700)
	b := s.peer(cliB, 700)
	a.call(time.Millisecond, lookupGetFH41(1, sidA, 1, dirFH, "report.txt"))
	a.reply(time.Millisecond, lookupGetFH41OK(1, sidA, 1, fileFH))
	a.call(time.Millisecond, lock41(2, sidA, 2, fileFH, "owner-a"))
	var fr [4]int64
	fr[0] = a.reply(time.Millisecond, lock41OK(2, sidA, 2))
	for i := range uint32(polls) {
		b.call(time.Second, lock41(10+i, sidB, 1+i, fileFH, "owner-b"))
		f := b.reply(time.Millisecond, lock41Denied(10+i, sidB, 1+i, 0xa, "owner-a"))
		if i == 0 {
			fr[1] = f
		}
		fr[2] = f
	}
	if release {
		a.call(time.Millisecond, locku41(3, sidA, 3, fileFH))
		a.reply(time.Millisecond, locku41OK(3, sidA, 3))
		b.call(time.Second, lock41(99, sidB, 99, fileFH, "owner-b"))
		fr[3] = b.reply(time.Millisecond, lock41OK(99, sidB, 99))
	}
	return s, fr
}

func TestLockWaitGranted(t *testing.T) {
	s, fr := lockScene(t, 3, true)
	r := s.run(analyze.DefaultOptions())
	fs := findingsOf(r, analyze.KindLockWait)
	if len(fs) != 1 {
		t.Fatalf("findings %+v, want one lock_wait", r.Findings)
	}
	f := fs[0]
	// B's calls 1 s after the previous frame, replies 1 ms after their
	// call: tries at T, T+1.001, T+2.002 s (polls every 1.001 s), A's
	// LOCKU and reply at T+2.004 and 2.005, B's LOCK at T+3.005 granted at
	// T+3.006: 3.01 s from the first try to the grant.
	want := []int64{fr[0], fr[1], fr[2], fr[3]}
	fh := fmt.Sprintf("FH 0x%08x %q", crc32.ChecksumIEEE([]byte{0xfe, 0xed, 0xfa, 0xce}), "report.txt")
	if f.Severity != analyze.SeverityInfo || !slices.Equal(f.Frames, want) || f.Path != "report.txt" {
		t.Errorf("%s frames %v, want info at %v: %s", f.Severity, f.Frames, want, f.Summary)
	}
	for _, w := range []string{"198.18.0.3's LOCK on " + fh, "denied (NFS4ERR_DENIED) 3 times", "every 1.00 s;",
		`a write lock on bytes 0 to 99 holds it, owner "owner-a" of client ID 0x000000000000000a`,
		"the capture shows 198.18.0.1's LOCK on the file granted at frame", "granted at frame", "3.01 s after the first try"} {
		if !strings.Contains(f.Summary, w) {
			t.Errorf("finding does not say %q: %s", w, f.Summary)
		}
	}
	if len(r.Diagnoses) != 0 {
		t.Errorf("diagnoses %+v: a lock wait is no stall", r.Diagnoses)
	}
}

func TestLockWaitNotGranted(t *testing.T) {
	s, fr := lockScene(t, 4, false)
	r := s.run(analyze.DefaultOptions())
	fs := findingsOf(r, analyze.KindLockWait)
	if len(fs) != 1 || fs[0].Severity != analyze.SeverityWarning || !slices.Equal(fs[0].Frames, []int64{fr[0], fr[1], fr[2]}) ||
		!strings.Contains(fs[0].Summary, "still not granted at the end of the capture") {
		t.Errorf("findings %+v", fs)
	}
	if len(r.Diagnoses) != 0 {
		t.Errorf("diagnoses %+v: a lock wait is no stall", r.Diagnoses)
	}
}
