package analyze_test

import (
	"net"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/nfsstall/nfsstall/analyze"
)

// State recovery loops, hand-built. The oracle is RFC 8881 section
// 18.35.4: an EXCHANGE_ID whose co_ownerid the server knows with another
// co_verifier is a client that rebooted, and the server replaces the
// client record, dropping the old one's sessions and state; that client's
// next SEQUENCE gets NFS4ERR_BADSESSION (section 2.10.4) and it recovers
// with EXCHANGE_ID and CREATE_SESSION (section 8.4.2.1). Two clients with
// one owner and their own verifiers play this against each other.

var (
	cliA = net.IP{198, 18, 0, 1}
	cliB = net.IP{198, 18, 0, 3}
	sidA = []uint32{0xa, 0xa, 0xa, 1}
	sidB = []uint32{0xb, 0xb, 0xb, 1}
)

func findingsOf(r *analyze.Report, kind string) []analyze.Finding {
	var out []analyze.Finding
	for _, f := range r.Findings {
		if f.Kind == kind {
			out = append(out, f)
		}
	}
	return out
}

// register runs EXCHANGE_ID and CREATE_SESSION for p and returns the
// EXCHANGE_ID call's frame.
func register(p *v4peer, xid *uint32, owner string, verf uint32, sid []uint32) int64 {
	*xid++
	f := p.call(time.Millisecond, exchangeID(*xid, owner, verf))
	p.reply(time.Millisecond, exchangeIDOK(*xid, 77))
	*xid++
	p.call(time.Millisecond, createSession(*xid, 77))
	p.reply(time.Millisecond, createSessionOK(*xid, sid, 16))
	return f
}

// lose sends a GETATTR whose SEQUENCE gets BADSESSION and returns the
// reply's frame.
func lose(p *v4peer, xid *uint32, sid []uint32) int64 {
	*xid++
	p.call(100*time.Millisecond, seqGetattr41(*xid, sid, 1, 0, 0xfeed))
	return p.reply(time.Millisecond, seqFail(*xid, 10052))
}

func TestStateRecoveryLoopCollision(t *testing.T) {
	s := newScenario(t)
	a := s.peer(cliA, 700)
	b := s.peer(cliB, 700)
	xa, xb := uint32(100), uint32(200)
	const owner = "Linux NFSv4.1 web-1" // both VMs cloned from one image
	register(a, &xa, owner, 1, sidA)
	register(b, &xb, owner, 2, sidB)
	// Each one's EXCHANGE_ID replaces the other's record: A then B then
	// A... each loss followed by a new registration.
	var wantA, wantB []int64
	for round := range 3 {
		// A destroys its dead session first, as Linux does, and is told
		// BADSESSION again: 6 errors in 3 cycles. From an error to A's
		// EXCHANGE_ID: 3 ms (destroy call and reply, the call); from it
		// to A's next error: 3 ms (the rest of A's register) + 105 ms
		// (B's loss and register) + 101 ms (A's call and error) = 209 ms.
		// First error to last EXCHANGE_ID: 3+209+3+209+3 = 427 ms.
		lost := lose(a, &xa, sidA)
		xa++
		destroy := a.call(time.Millisecond, destroySession(xa, sidA))
		a.reply(time.Millisecond, destroySessionReply(xa, 10052))
		wantA = append(wantA, lost, destroy, register(a, &xa, owner, 1, sidA))
		if round < 2 {
			wantB = append(wantB, lose(b, &xb, sidB), register(b, &xb, owner, 2, sidB))
		}
	}
	r := s.run(analyze.DefaultOptions())
	loops := findingsOf(r, analyze.KindStateRecovery)
	if len(loops) != 2 {
		t.Fatalf("state_recovery_loop findings %+v, want 2 (A and B)", loops)
	}
	for i, want := range []struct {
		client string
		frames []int64
		sev    analyze.Severity
		cycles string
	}{
		{"198.18.0.1", wantA, analyze.SeverityStall, "re-established it 3 times in 427 ms: the server answered 6 NFS4ERR_BADSESSION, each time followed by the client's EXCHANGE_ID (and 3 DESTROY_SESSION)"},
		{"198.18.0.3", wantB, analyze.SeverityWarning, "re-established it 2 times"},
	} {
		f := loops[i]
		if !strings.HasPrefix(f.Summary, want.client+" lost") || f.Severity != want.sev || !strings.Contains(f.Summary, want.cycles) {
			t.Errorf("finding %d: %s %s, want %s %s (%s)", i, f.Severity, f.Summary, want.client, want.sev, want.cycles)
		}
		if !slices.Equal(f.Frames, want.frames) {
			t.Errorf("finding %d frames %v, want %v", i, f.Frames, want.frames)
		}
		for _, w := range []string{"client-ID collision", `"Linux NFSv4.1 web-1"`, "198.18.0.1 (first at frame", "198.18.0.3 (first at frame", "NFS4ERR_BADSESSION"} {
			if !strings.Contains(f.Summary, w) {
				t.Errorf("finding %d does not say %q: %s", i, w, f.Summary)
			}
		}
	}
	if len(r.Diagnoses) != 1 || r.Diagnoses[0].Verdict != analyze.VerdictStateRecoveryLoop || r.Diagnoses[0].Connection != loops[0].Connection {
		t.Fatalf("diagnoses %+v, want one state_recovery_loop on A's connection", r.Diagnoses)
	}
	d := r.Diagnoses[0].Summary
	for _, w := range []string{"198.18.0.1", "198.18.0.3", "clients' configuration is to blame", "unique identity"} {
		if !strings.Contains(d, w) {
			t.Errorf("verdict does not say %q: %s", w, d)
		}
	}
}

// TestStateRecoveryLoopServer40: a 4.0 client whose RENEW gets
// NFS4ERR_STALE_CLIENTID (RFC 7530 section 16.29.4: the server no longer
// knows the client ID, as after a restart) and that registers again with
// SETCLIENTID and SETCLIENTID_CONFIRM (section 9.6.2), three times, alone:
// the server is to blame.
func TestStateRecoveryLoopServer40(t *testing.T) {
	s := newScenario(t)
	a := s.peer(cliA, 800)
	xid := uint32(1)
	var want []int64
	for round := range 4 {
		clid := uint32(round + 1)
		f := a.call(time.Millisecond, setClientID40(xid, "client-a", 9))
		if round > 0 {
			want = append(want, f)
		}
		a.reply(time.Millisecond, setClientID40OK(xid, clid))
		xid++
		a.call(time.Millisecond, confirm40(xid, clid))
		a.reply(time.Millisecond, confirm40OK(xid))
		xid++
		if round < 3 {
			a.call(time.Second, renew40(xid, clid))
			want = append(want, a.reply(time.Millisecond, renew40Reply(xid, 10022)))
			xid++
		}
	}
	r := s.run(analyze.DefaultOptions())
	loops := findingsOf(r, analyze.KindStateRecovery)
	if len(loops) != 1 {
		t.Fatalf("findings %+v, want one state_recovery_loop", r.Findings)
	}
	f := loops[0]
	slices.Sort(want)
	if f.Severity != analyze.SeverityStall || !slices.Equal(f.Frames, want) || !strings.Contains(f.Summary, "re-established it 3 times") ||
		!strings.Contains(f.Summary, "3 NFS4ERR_STALE_CLIENTID") || !strings.Contains(f.Summary, "client's SETCLIENTID") ||
		!strings.Contains(f.Summary, "the server itself is discarding") {
		t.Errorf("finding %s frames %v (want %v): %s", f.Severity, f.Frames, want, f.Summary)
	}
	if len(r.Diagnoses) != 1 || r.Diagnoses[0].Verdict != analyze.VerdictStateRecoveryLoop ||
		!strings.Contains(r.Diagnoses[0].Summary, "the server side is to blame") {
		t.Errorf("diagnoses %+v", r.Diagnoses)
	}
}

// TestStateRecoveryNotALoop: one recovery after a lost session is what a
// server restart looks like (no finding); one owner sent from two
// addresses with the same verifier is one client trunking over two
// addresses (RFC 8881 section 2.10.5), no collision.
func TestStateRecoveryNotALoop(t *testing.T) {
	s := newScenario(t)
	a := s.peer(cliA, 700)
	b := s.peer(cliB, 700)
	xa, xb := uint32(100), uint32(200)
	register(a, &xa, "one-client", 5, sidA)
	register(b, &xb, "one-client", 5, sidA) // the same instance, another address
	lose(a, &xa, sidA)
	register(a, &xa, "one-client", 5, sidA)
	r := s.run(analyze.DefaultOptions())
	if fs := findingsOf(r, analyze.KindStateRecovery); len(fs) != 0 {
		t.Errorf("findings %+v, want none", fs)
	}
	if len(r.Diagnoses) != 0 {
		t.Errorf("diagnoses %+v, want none", r.Diagnoses)
	}
}

// TestClientIDCollisionWithoutLoop: two addresses, one owner, two
// verifiers, no state error yet: a warning naming both.
func TestClientIDCollisionWithoutLoop(t *testing.T) {
	s := newScenario(t)
	a := s.peer(cliA, 700)
	b := s.peer(cliB, 700)
	xa, xb := uint32(100), uint32(200)
	fa := register(a, &xa, "container", 1, sidA)
	fb := register(b, &xb, "container", 2, sidB)
	r := s.run(analyze.DefaultOptions())
	fs := findingsOf(r, analyze.KindStateRecovery)
	if len(fs) != 1 || fs[0].Severity != analyze.SeverityWarning || !slices.Equal(fs[0].Frames, []int64{fa, fb}) ||
		!strings.Contains(fs[0].Summary, "client-ID collision") || !strings.Contains(fs[0].Summary, "198.18.0.3") ||
		!strings.Contains(fs[0].Summary, "the sender changed 1 time") || !strings.Contains(fs[0].Summary, "one client that restarted under a new address") {
		t.Errorf("findings %+v, want one collision warning at frames %d, %d", fs, fa, fb)
	}
}

// TestStateRevokedFlags: SEQUENCE's sr_status_flags with
// SEQ4_STATUS_RECALLABLE_STATE_REVOKED (0x40, RFC 8881 section 18.46.3).
func TestStateRevokedFlags(t *testing.T) {
	s := newScenario(t)
	a := s.peer(cliA, 700)
	a.call(time.Millisecond, seqGetattr41(1, sidA, 1, 0, 0xfeed))
	f1 := a.reply(time.Millisecond, seqGetattrOK(1, sidA, 1, 0, 15, 0x40))
	a.call(time.Millisecond, seqGetattr41(2, sidA, 2, 0, 0xfeed))
	f2 := a.reply(time.Millisecond, seqGetattrOK(2, sidA, 2, 0, 15, 0x40))
	a.call(time.Millisecond, seqGetattr41(3, sidA, 3, 0, 0xfeed))
	a.reply(time.Millisecond, seqGetattrOK(3, sidA, 3, 0, 15, 0))
	r := s.run(analyze.DefaultOptions())
	fs := findingsOf(r, analyze.KindStateRevoked)
	if len(fs) != 1 || fs[0].Severity != analyze.SeverityWarning || !slices.Equal(fs[0].Frames, []int64{f1, f2}) ||
		!strings.Contains(fs[0].Summary, "2 SEQUENCE replies") || !strings.Contains(fs[0].Summary, "SEQ4_STATUS_RECALLABLE_STATE_REVOKED") {
		t.Errorf("findings %+v", r.Findings)
	}
	if got := analyze.SeqStatusNames(0x201 | 0x8000); got != "CB_PATH_DOWN|CB_PATH_DOWN_SESSION|0x8000" {
		t.Errorf("SeqStatusNames = %q", got)
	}
}

// TestClientIDInUse40: SETCLIENTID refused NFS4ERR_CLID_INUSE, whose
// result names the holder's callback address (RFC 7530 section 16.33.2:
// clientaddr4 r_addr "198.18.0.3.156.64", port 156*256+64 = 40000).
func TestClientIDInUse40(t *testing.T) {
	s := newScenario(t)
	a := s.peer(cliA, 800)
	inUse := func(xid uint32) []byte {
		return compound4Reply(xid, 10017, 1, append(append(words(35, 10017), opaque("tcp")...), opaque("198.18.0.3.156.64")...))
	}
	a.call(time.Millisecond, setClientID40(1, "shared-name", 1))
	f1 := a.reply(time.Millisecond, inUse(1))
	a.call(time.Second, setClientID40(2, "shared-name", 1))
	f2 := a.reply(time.Millisecond, inUse(2))
	r := s.run(analyze.DefaultOptions())
	fs := findingsOf(r, analyze.KindStateRecovery)
	if len(fs) != 1 || fs[0].Severity != analyze.SeverityWarning || !slices.Equal(fs[0].Frames, []int64{f1, f2}) ||
		!strings.Contains(fs[0].Summary, "refused 198.18.0.1's SETCLIENTID 2 times with NFS4ERR_CLID_INUSE") ||
		!strings.Contains(fs[0].Summary, "the client at 198.18.0.3 (callback port 40000)") {
		t.Errorf("findings %+v", fs)
	}
}
