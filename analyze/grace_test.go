package analyze_test

import (
	"fmt"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/nfsstall/nfsstall/analyze"
)

// Hand-built grace periods (NFSv4.1, RFC 8881): reclaims with OPEN
// CLAIM_PREVIOUS, RECLAIM_COMPLETE, and OPENs answered NFS4ERR_GRACE.
// The oracle is the construction: the frames and times written.

// sendAfter writes one record dt after the previous segment and returns
// its frame.
func (v *convo) sendAfter(dt time.Duration, toServer bool, b []byte) int64 {
	if toServer {
		f := v.s.seg(dt, true, v.c, v.sv, ackF|pshF, 501, b)
		v.c += uint32(len(b))
		return f
	}
	f := v.s.seg(dt, false, v.sv, v.c, ackF|pshF, 501, b)
	v.sv += uint32(len(b))
	return f
}

// compound41 is an NFSv4.1 COMPOUND call: SEQUENCE (slot 0), then ops.
func compound41(xid, seq uint32, ops ...[]byte) []byte {
	b := words(xid, 0, 2, 100003, 4, 1, 0, 0, 0, 0)
	b = append(b, words(0, 1, uint32(len(ops)+1), 53)...)
	b = append(b, words(sessionID...)...)
	b = append(b, words(seq, 0, 0, 0)...)
	for _, op := range ops {
		b = append(b, op...)
	}
	return record(b)
}

// reply41 answers it: status st on the last of ops (codes), SEQUENCE and
// the others NFS4_OK.
func reply41(xid, seq, st uint32, codes ...uint32) []byte {
	b := words(xid, 1, 0, 0, 0, 0, st, 0, uint32(len(codes)+1), 53, 0)
	b = append(b, words(sessionID...)...)
	b = append(b, words(seq, 0, 0, 0, 0)...)
	for i, op := range codes {
		s := uint32(0)
		if i == len(codes)-1 {
			s = st
		}
		b = append(b, words(op, s)...)
	}
	return record(b)
}

func putfh4(fh uint32) []byte { return words(22, 4, fh) }

// open4 is OPEN (share read, owner "o") of claim: CLAIM_NULL of name, or
// CLAIM_PREVIOUS (delegation type none).
func open4(previous bool, name string) []byte {
	b := words(18, 0, 1, 0, 0, 0x1122, 1, 'o'<<24, 0) // seqid, access, deny, clientid, owner "o", NOCREATE
	if previous {
		return append(b, words(1, 0)...)
	}
	return append(append(b, words(0)...), xdrString(name)...)
}

func graceFindings(r *analyze.Report) []analyze.Finding {
	var out []analyze.Finding
	for _, f := range r.Findings {
		if f.Kind == analyze.KindGrace {
			out = append(out, f)
		}
	}
	return out
}

// TestGraceReclaimWithoutComplete: a 4.1 client reclaims an open after a
// restart, never sends RECLAIM_COMPLETE, and its new OPEN is refused with
// GRACE 2 ms after each call, the calls 1.002 s apart (the last answer
// 3.006 s after the first, 3.008 s after the first call) to the end: a stall, and the missing
// RECLAIM_COMPLETE named.
func TestGraceReclaimWithoutComplete(t *testing.T) {
	v := newConvo(t)
	reclaim := v.sendAfter(time.Millisecond, true, compound41(1, 1, putfh4(0xaaaa), open4(true, "")))
	v.sendAfter(time.Millisecond, false, reply41(1, 1, 0, 22, 18))
	var calls, refusals []int64
	for i := range uint32(4) {
		dt := time.Second
		if i == 0 {
			dt = 100 * time.Millisecond
		}
		calls = append(calls, v.sendAfter(dt, true, compound41(10+i, 2+i, putfh4(0xbbbb), open4(false, "new"))))
		refusals = append(refusals, v.sendAfter(2*time.Millisecond, false, reply41(10+i, 2+i, 10013, 22, 18)))
	}
	r := v.s.run(analyze.DefaultOptions())
	g := graceFindings(r)
	if len(g) != 1 {
		t.Fatalf("grace findings %+v", g)
	}
	f := g[0]
	want := append(slices.Concat(calls, refusals), reclaim)
	slices.Sort(want)
	if f.Severity != analyze.SeverityStall || !slices.Equal(f.Frames, want) || f.DurationMS != 3006 {
		t.Errorf("finding %+v, want a stall of 3.006 s with frames %v", f, want)
	}
	for _, s := range []string{"answered 4 calls NFS4ERR_GRACE",
		fmt.Sprintf("the first at frame %d, the last at frame %d (3.01 s as seen)", refusals[0], refusals[3]),
		"no OPEN or LOCK was answered NFS4_OK after the last",
		"198.18.0.1: 4 calls refused (OPEN) over 3.01 s, on 1 connection",
		fmt.Sprintf("1 reclaim OPEN from frame %d", reclaim),
		"NFSv4.1, never sent RECLAIM_COMPLETE",
		"1 client reclaimed and never sent RECLAIM_COMPLETE", "waited on it 3.01 s"} {
		if !strings.Contains(f.Summary, s) {
			t.Errorf("summary lacks %q: %s", s, f.Summary)
		}
	}
	if len(r.Diagnoses) != 1 || r.Diagnoses[0].Verdict != analyze.VerdictGrace || !strings.Contains(r.Diagnoses[0].Summary, "is in its NFSv4 grace period") {
		t.Errorf("diagnoses %+v", r.Diagnoses)
	}
}

// TestGraceShortAfterReclaimComplete: the client reclaims, sends
// RECLAIM_COMPLETE (answered NFS4_OK), one OPEN is refused and the next,
// 300 ms later, opens: a warning (refused for less than --stall-after),
// the grace seen to end at the OPEN answered NFS4_OK.
func TestGraceShortAfterReclaimComplete(t *testing.T) {
	v := newConvo(t)
	reclaim := v.sendAfter(time.Millisecond, true, compound41(1, 1, putfh4(0xaaaa), open4(true, "")))
	v.sendAfter(time.Millisecond, false, reply41(1, 1, 0, 22, 18))
	rc := v.sendAfter(time.Millisecond, true, compound41(2, 2, words(58, 0)))
	v.sendAfter(time.Millisecond, false, reply41(2, 2, 0, 58))
	v.sendAfter(time.Millisecond, true, compound41(3, 3, putfh4(0xbbbb), open4(false, "new")))
	refused := v.sendAfter(time.Millisecond, false, reply41(3, 3, 10013, 22, 18))
	v.sendAfter(300*time.Millisecond, true, compound41(4, 4, putfh4(0xbbbb), open4(false, "new")))
	opened := v.sendAfter(time.Millisecond, false, reply41(4, 4, 0, 22, 18))
	r := v.s.run(analyze.DefaultOptions())
	g := graceFindings(r)
	if len(g) != 1 {
		t.Fatalf("grace findings %+v", g)
	}
	f := g[0]
	if want := []int64{reclaim, rc, refused - 1, refused, opened}; f.Severity != analyze.SeverityWarning || !slices.Equal(f.Frames, want) {
		t.Errorf("finding %+v, want a warning with frames %v", f, want)
	}
	for _, s := range []string{"answered 1 call NFS4ERR_GRACE", fmt.Sprintf("it was over by frame %d", opened),
		fmt.Sprintf("RECLAIM_COMPLETE at frame %d (NFS4_OK)", rc)} {
		if !strings.Contains(f.Summary, s) {
			t.Errorf("summary lacks %q: %s", s, f.Summary)
		}
	}
	if strings.Contains(f.Summary, "never sent RECLAIM_COMPLETE") || len(r.Diagnoses) != 0 {
		t.Errorf("summary %s, diagnoses %+v", f.Summary, r.Diagnoses)
	}
}

// TestGraceNotFromReclaimCompleteAlone: an NFSv4.1 client sends
// RECLAIM_COMPLETE after every new client ID, restart or not (as the
// public nfstrace nfsv41 and suricata nfs4-01 captures show at mount):
// alone it is no finding.
func TestGraceNotFromReclaimCompleteAlone(t *testing.T) {
	v := newConvo(t)
	v.sendAfter(time.Millisecond, true, compound41(2, 1, words(58, 0)))
	v.sendAfter(time.Millisecond, false, reply41(2, 1, 0, 58))
	v.sendAfter(time.Millisecond, true, compound41(3, 2, putfh4(0xbbbb), open4(false, "new")))
	v.sendAfter(time.Millisecond, false, reply41(3, 2, 0, 22, 18))
	if g := graceFindings(v.s.run(analyze.DefaultOptions())); len(g) != 0 {
		t.Errorf("grace findings %+v", g)
	}
}
