package analyze_test

import (
	"fmt"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/nfsstall/nfsstall/analyze"
)

// Hand-built RPCSEC_GSS (RFC 2203) traffic: NFSv3 GETATTR calls with a
// GSS credential (gss_proc DATA, service none) denied with AUTH_ERROR, and
// the NULL calls (gss_proc INIT) that create contexts. The oracle is the
// construction.

// gssCred is an RPCSEC_GSS version 1 credential: gss_proc, seq_num,
// service none, a 4-byte context handle; then an empty RPCSEC_GSS
// verifier.
func gssCred(proc, seq uint32) []uint32 {
	return []uint32{6, 28, 1, proc, seq, 1, 4, 0xabcdef01, 6, 0}
}

// gssGetattr is an NFSv3 GETATTR of an 8-byte handle under RPCSEC_GSS.
func gssGetattr(xid, seq uint32) []byte {
	b := words(xid, 0, 2, 100003, 3, 1)
	b = append(b, words(gssCred(0, seq)...)...)
	return record(append(b, words(8, 0xdeadbeef, 0xcafef00d)...))
}

// gssInit is the NULL call creating a context (an 8-byte token).
func gssInit(xid uint32) []byte {
	b := words(xid, 0, 2, 100003, 3, 0)
	b = append(b, words(gssCred(1, 0)...)...)
	return record(append(b, words(8, 1, 2)...))
}

// gssInitOK accepts it (a handle, major/minor 0, seq window, empty token).
func gssInitOK(xid uint32) []byte {
	return record(words(xid, 1, 0, 0, 0, 0, 4, 0xabcdef01, 0, 0, 128, 0))
}

// authDenied is MSG_DENIED, AUTH_ERROR with auth_stat st.
func authDenied(xid, st uint32) []byte { return record(words(xid, 1, 1, 1, st)) }

// getattrOK is an NFS3_OK GETATTR reply (attributes not needed here).
func getattrOK(xid uint32) []byte { return record(words(xid, 1, 0, 0, 0, 0, 0)) }

func authFindings(r *analyze.Report) []analyze.Finding {
	var out []analyze.Finding
	for _, f := range r.Findings {
		if f.Kind == analyze.KindAuth {
			out = append(out, f)
		}
	}
	return out
}

// TestAuthContextLoop: the client's GSS context is set up and used, then
// its calls are denied RPCSEC_GSS_CTXPROBLEM; it creates a new context
// (accepted) and is denied again, three denials 1 s apart to the end: a
// stall, verdict auth_failing.
func TestAuthContextLoop(t *testing.T) {
	v := newConvo(t)
	v.sendAfter(time.Millisecond, true, gssInit(1))
	v.sendAfter(time.Millisecond, false, gssInitOK(1))
	v.sendAfter(time.Millisecond, true, gssGetattr(2, 1))
	v.sendAfter(time.Millisecond, false, getattrOK(2))
	var ev []int64
	for i := range uint32(3) {
		dt := time.Second
		if i == 0 {
			dt = 10 * time.Millisecond
		} else {
			ev = append(ev, v.sendAfter(dt, true, gssInit(10+i)))
			v.sendAfter(time.Millisecond, false, gssInitOK(10+i))
			dt = time.Millisecond
		}
		v.sendAfter(dt, true, gssGetattr(20+i, 1))
		ev = append(ev, v.sendAfter(time.Millisecond, false, authDenied(20+i, 14)))
	}
	r := v.s.run(analyze.DefaultOptions())
	a := authFindings(r)
	if len(a) != 1 {
		t.Fatalf("auth findings %+v", a)
	}
	f := a[0]
	// Denials at 0, 1.003 and 2.006 s: 2.006 s from the first to the last.
	if f.Severity != analyze.SeverityStall || !slices.Equal(f.Frames, ev) || f.DurationMS != 2006 {
		t.Errorf("finding %+v, want a stall of 2.006 s with frames %v", f, ev)
	}
	for _, s := range []string{"server 198.18.0.2:2049 denied 3 calls from 198.18.0.1 with AUTH_ERROR (RPCSEC_GSS_CTXPROBLEM 3)",
		fmt.Sprintf("from frame %d to frame %d (2.01 s", ev[0], ev[len(ev)-1]), "no longer has the GSS context",
		"created an RPCSEC_GSS context 2 times meanwhile", "no call of this client was accepted"} {
		if !strings.Contains(f.Summary, s) {
			t.Errorf("summary lacks %q: %s", s, f.Summary)
		}
	}
	if len(r.Diagnoses) != 1 || r.Diagnoses[0].Verdict != analyze.VerdictAuth || !strings.Contains(r.Diagnoses[0].Summary, "refuses the client's credentials") ||
		!strings.Contains(r.Diagnoses[0].Summary, "the server does not know the client's GSS context") {
		t.Errorf("diagnoses %+v", r.Diagnoses)
	}
}

// TestAuthRecovered: one call denied RPCSEC_GSS_CREDPROBLEM, a new
// context, then the call accepted: a warning, no verdict. A context set up
// with no denial is no finding at all.
func TestAuthRecovered(t *testing.T) {
	v := newConvo(t)
	v.sendAfter(time.Millisecond, true, gssInit(1))
	v.sendAfter(time.Millisecond, false, gssInitOK(1))
	v.sendAfter(time.Millisecond, true, gssGetattr(2, 1))
	v.sendAfter(time.Millisecond, false, getattrOK(2))
	if r := v.s.run(analyze.DefaultOptions()); len(authFindings(r)) != 0 {
		t.Fatalf("a context set up: findings %+v", authFindings(r))
	}
	v.sendAfter(time.Millisecond, true, gssGetattr(3, 2))
	denied := v.sendAfter(time.Millisecond, false, authDenied(3, 13))
	init := v.sendAfter(2*time.Second, true, gssInit(4))
	v.sendAfter(time.Millisecond, false, gssInitOK(4))
	v.sendAfter(time.Millisecond, true, gssGetattr(5, 1))
	ok := v.sendAfter(time.Millisecond, false, getattrOK(5))
	r := v.s.run(analyze.DefaultOptions())
	a := authFindings(r)
	if len(a) != 1 || a[0].Severity != analyze.SeverityWarning || !slices.Equal(a[0].Frames, []int64{denied, init, ok}) || len(r.Diagnoses) != 0 {
		t.Fatalf("auth findings %+v, diagnoses %+v: want one warning, frames %v", a, r.Diagnoses, []int64{denied, init, ok})
	}
	for _, s := range []string{"RPCSEC_GSS_CREDPROBLEM 1", "Kerberos ticket expired", fmt.Sprintf("accepted a call from it again at frame %d", ok)} {
		if !strings.Contains(a[0].Summary, s) {
			t.Errorf("summary lacks %q: %s", s, a[0].Summary)
		}
	}
}

// TestAuthBound: denials (each on a connection of its own, its
// handshake captured) to 4,097 client addresses: 4,096 pairs are
// followed, the last denial is counted in skipped, not followed.
func TestAuthBound(t *testing.T) {
	s := newScenario(t)
	for i := range 4097 {
		s.cli = []byte{198, 18, 1 + byte(i>>8), byte(i)}
		s.seg(time.Microsecond, true, 999, 0, synF, 501, nil)
		s.seg(time.Microsecond, false, 4999, 1000, synF|ackF, 501, nil)
		s.seg(time.Microsecond, false, 5000, 1000, ackF|pshF, 501, authDenied(uint32(i), 1))
	}
	r := s.run(analyze.DefaultOptions())
	found, beyond := false, false
	for _, sk := range r.Skipped {
		switch {
		case strings.HasPrefix(sk.What, "denials") && strings.Contains(sk.What, analyze.KindAuth):
			found = true
			if sk.Count != 1 || !sk.Bound || !strings.Contains(sk.Reason, "4096 client and server pairs") {
				t.Errorf("skipped %+v, want 1 denial past 4096 pairs", sk)
			}
		case sk.What == analyze.KindAuth+" findings":
			beyond = true
			if sk.Count != 4096-1000 {
				t.Errorf("skipped %+v, want the 3,096 findings past the 1,000 listed", sk)
			}
		}
	}
	if n := len(authFindings(r)); !found || !beyond || n != 1000 {
		t.Errorf("skipped %+v, %d findings: want the bound counted and 1,000 findings listed", r.Skipped, n)
	}
}
