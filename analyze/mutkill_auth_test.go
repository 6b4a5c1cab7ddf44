package analyze_test

import (
	"testing"
	"time"

	"github.com/nfsstall/nfsstall/analyze"
)

// TestMutkillAuthRecoveredDuration: one call denied (frame at time d), a new
// context 2 s later, then the call accepted 3 ms after that: by hand the
// finding lasts from the denial to the accepting reply, 2.003 s = 2003 ms.
func TestMutkillAuthRecoveredDuration(t *testing.T) {
	v := newConvo(t)
	v.sendAfter(time.Millisecond, true, gssInit(1))
	v.sendAfter(time.Millisecond, false, gssInitOK(1))
	v.sendAfter(time.Millisecond, true, gssGetattr(2, 1))
	v.sendAfter(time.Millisecond, false, getattrOK(2))
	v.sendAfter(time.Millisecond, true, gssGetattr(3, 2))
	v.sendAfter(time.Millisecond, false, authDenied(3, 13))
	v.sendAfter(2*time.Second, true, gssInit(4))
	v.sendAfter(time.Millisecond, false, gssInitOK(4))
	v.sendAfter(time.Millisecond, true, gssGetattr(5, 1))
	v.sendAfter(time.Millisecond, false, getattrOK(5))
	a := authFindings(v.s.run(analyze.DefaultOptions()))
	if len(a) != 1 || a[0].DurationMS != 2003 {
		t.Fatalf("auth findings %+v, want one lasting 2003 ms", a)
	}
}
