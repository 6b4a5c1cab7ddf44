package analyze_test

import (
	"strings"
	"testing"
	"time"

	"github.com/nfsstall/nfsstall/analyze"
)

// TestMutkillGraceReclaimIsNotTheEnd: a new OPEN is refused NFS4ERR_GRACE,
// then a reclaim OPEN (CLAIM_PREVIOUS) is answered NFS4_OK. RFC 8881
// section 8.4.2.1: a server in grace grants reclaims and refuses the rest,
// so the reclaim's NFS4_OK does not show the grace period over; no OPEN or
// LOCK that is not a reclaim was answered NFS4_OK.
func TestMutkillGraceReclaimIsNotTheEnd(t *testing.T) {
	v := newConvo(t)
	v.sendAfter(time.Millisecond, true, compound41(1, 1, putfh4(0xbbbb), open4(false, "new")))
	v.sendAfter(time.Millisecond, false, reply41(1, 1, 10013, 22, 18))
	v.sendAfter(100*time.Millisecond, true, compound41(2, 2, putfh4(0xaaaa), open4(true, "")))
	v.sendAfter(time.Millisecond, false, reply41(2, 2, 0, 22, 18))
	g := graceFindings(v.s.run(analyze.DefaultOptions()))
	if len(g) != 1 {
		t.Fatalf("grace findings %+v", g)
	}
	if s := g[0].Summary; strings.Contains(s, "it was over by frame") || !strings.Contains(s, "no OPEN or LOCK was answered NFS4_OK after the last") {
		t.Errorf("a reclaim's NFS4_OK taken for the end of grace: %s", s)
	}
}

// TestMutkillGraceReclaimsOnly: a client reclaims an open (answered
// NFS4_OK) and nothing is refused NFS4ERR_GRACE: the finding says the
// server was sent reclaims and refused nothing, with no duration of
// refusals (no first or last GRACE answer to measure between).
func TestMutkillGraceReclaimsOnly(t *testing.T) {
	v := newConvo(t)
	v.sendAfter(time.Millisecond, true, compound41(1, 1, putfh4(0xaaaa), open4(true, "")))
	v.sendAfter(time.Millisecond, false, reply41(1, 1, 0, 22, 18))
	g := graceFindings(v.s.run(analyze.DefaultOptions()))
	if len(g) != 1 {
		t.Fatalf("grace findings %+v", g)
	}
	s := g[0].Summary
	if !strings.Contains(s, "was sent reclaim OPENs") || !strings.Contains(s, "no call was answered NFS4ERR_GRACE") ||
		strings.Contains(s, "answered 0 calls") || g[0].DurationMS != 0 {
		t.Errorf("finding %+v", g[0])
	}
}
