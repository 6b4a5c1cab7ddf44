package analyze_test

import (
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/nfsstall/nfsstall/analyze"
)

// Session slots, hand-built. The oracle is RFC 8881 section 2.10.6.1: a
// slot holds one request at a time; a new request carries the slot's
// last sequence id plus one, a retry the same; the server answers any
// other with NFS4ERR_SEQ_MISORDERED; a slot id past the table gets
// NFS4ERR_BADSLOT (section 18.46.3).

// session41 opens a session of slots fore slots on p (EXCHANGE_ID,
// CREATE_SESSION).
func session41(p *v4peer, xid *uint32, sid []uint32, slots uint32) {
	*xid++
	p.call(time.Millisecond, exchangeID(*xid, "slot-client", 1))
	p.reply(time.Millisecond, exchangeIDOK(*xid, 5))
	*xid++
	p.call(time.Millisecond, createSession(*xid, 5))
	p.reply(time.Millisecond, createSessionOK(*xid, sid, slots))
}

func TestSessionSlotsMisorderedLoop(t *testing.T) {
	s := newScenario(t)
	a := s.peer(cliA, 700)
	xid := uint32(10)
	session41(a, &xid, sidA, 4)
	xid++
	a.call(time.Millisecond, seqGetattr41(xid, sidA, 1, 0, 0xfeed))
	a.reply(time.Millisecond, seqGetattrOK(xid, sidA, 1, 0, 3, 0))
	// Sequence id 3 on slot 0, whose last was 1: neither 2 nor 1.
	var want []int64
	for range 3 {
		xid++
		want = append(want, a.call(500*time.Millisecond, seqGetattr41(xid, sidA, 3, 0, 0xfeed)))
		want = append(want, a.reply(time.Millisecond, seqFail(xid, 10063)))
	}
	r := s.run(analyze.DefaultOptions())
	fs := findingsOf(r, analyze.KindSessionSlots)
	if len(fs) != 1 {
		t.Fatalf("findings %+v, want one session_slots", r.Findings)
	}
	f := fs[0]
	if f.Severity != analyze.SeverityStall || !slices.Equal(f.Frames, want) {
		t.Errorf("%s frames %v, want stall at %v", f.Severity, f.Frames, want)
	}
	for _, w := range []string{"0000000a0000000a0000000a00000001", "3 NFS4ERR_SEQ_MISORDERED", "used sequence id 3 on slot 0, whose previous request had 1: the next must be 2",
		"no SEQUENCE succeeded"} {
		if !strings.Contains(f.Summary, w) {
			t.Errorf("finding does not say %q: %s", w, f.Summary)
		}
	}
	if len(r.Diagnoses) != 1 || r.Diagnoses[0].Verdict != analyze.VerdictSessionSlots {
		t.Errorf("diagnoses %+v, want session_slots", r.Diagnoses)
	}
}

// TestSessionSlotsRecovered: a BADSLOT (slot 20 of 16), then the client
// behaves: a warning, no verdict.
func TestSessionSlotsBadSlotRecovered(t *testing.T) {
	s := newScenario(t)
	a := s.peer(cliA, 700)
	xid := uint32(10)
	session41(a, &xid, sidA, 16)
	xid++
	c := a.call(time.Millisecond, seqGetattr41(xid, sidA, 1, 20, 0xfeed))
	rep := a.reply(time.Millisecond, seqFail(xid, 10053))
	xid++
	a.call(time.Millisecond, seqGetattr41(xid, sidA, 1, 0, 0xfeed))
	a.reply(time.Millisecond, seqGetattrOK(xid, sidA, 1, 0, 15, 0))
	r := s.run(analyze.DefaultOptions())
	fs := findingsOf(r, analyze.KindSessionSlots)
	if len(fs) != 1 || fs[0].Severity != analyze.SeverityWarning || !slices.Equal(fs[0].Frames, []int64{c, rep}) ||
		!strings.Contains(fs[0].Summary, "1 NFS4ERR_BADSLOT") || !strings.Contains(fs[0].Summary, "SEQUENCE succeeded again") {
		t.Errorf("findings %+v", fs)
	}
	if len(r.Diagnoses) != 0 {
		t.Errorf("diagnoses %+v, want none", r.Diagnoses)
	}
}

// TestSessionSlotsReuse: a new request (sequence id 2) on slot 0 while
// the request of sequence id 1 has no reply.
func TestSessionSlotsReuse(t *testing.T) {
	s := newScenario(t)
	a := s.peer(cliA, 700)
	xid := uint32(10)
	session41(a, &xid, sidA, 16)
	f1 := a.call(time.Millisecond, seqGetattr41(100, sidA, 1, 0, 0xfeed))
	f2 := a.call(time.Millisecond, seqGetattr41(101, sidA, 2, 0, 0xfeed))
	a.reply(time.Millisecond, seqGetattrOK(100, sidA, 1, 0, 15, 0))
	a.reply(time.Millisecond, seqGetattrOK(101, sidA, 2, 0, 15, 0))
	// A retry (same sequence id, new XID) on a busy slot is allowed.
	a.call(time.Millisecond, seqGetattr41(102, sidA, 3, 0, 0xfeed))
	a.call(time.Millisecond, seqGetattr41(103, sidA, 3, 0, 0xfeed))
	a.reply(time.Millisecond, seqGetattrOK(103, sidA, 3, 0, 15, 0))
	r := s.run(analyze.DefaultOptions())
	fs := findingsOf(r, analyze.KindSessionSlots)
	if len(fs) != 1 || fs[0].Severity != analyze.SeverityWarning || !slices.Equal(fs[0].Frames, []int64{f1, f2}) ||
		!strings.Contains(fs[0].Summary, "unanswered one 1 time") ||
		!strings.Contains(fs[0].Summary, "slot 0: sequence id 2 at frame") {
		t.Errorf("findings %+v, want one reuse at frames %d, %d", fs, f1, f2)
	}
}

// TestSessionSlotsAllBusy: a session of 2 slots, both held 1.5 s (longer
// than --slow, 1 s), the server lowering its target from 1 to 0 on the
// way.
func TestSessionSlotsAllBusy(t *testing.T) {
	s := newScenario(t)
	a := s.peer(cliA, 700)
	xid := uint32(10)
	session41(a, &xid, sidA, 2)
	a.call(time.Millisecond, seqGetattr41(100, sidA, 1, 0, 0xfeed))
	a.reply(time.Millisecond, seqGetattrOK(100, sidA, 1, 0, 1, 0))
	a.call(time.Millisecond, seqGetattr41(101, sidA, 2, 0, 0xfeed))
	full := a.call(time.Millisecond, seqGetattr41(102, sidA, 1, 1, 0xfeed))
	freed := a.reply(1500*time.Millisecond, seqGetattrOK(101, sidA, 2, 0, 0, 0))
	a.reply(time.Millisecond, seqGetattrOK(102, sidA, 1, 1, 0, 0))
	r := s.run(analyze.DefaultOptions())
	fs := findingsOf(r, analyze.KindSessionSlots)
	if len(fs) != 1 || fs[0].Severity != analyze.SeverityWarning || !slices.Equal(fs[0].Frames, []int64{full, freed}) {
		t.Fatalf("findings %+v, want one at frames %d, %d", fs, full, freed)
	}
	for _, w := range []string{"every slot the session may use (2)", "for 1.50 s", "lowered target_highest_slotid from 1 to 0"} {
		if !strings.Contains(fs[0].Summary, w) {
			t.Errorf("finding does not say %q: %s", w, fs[0].Summary)
		}
	}
}

// TestSessionSlotsHealthy: calls in order on two slots, each answered
// before the next on its slot: nothing.
func TestSessionSlotsHealthy(t *testing.T) {
	s := newScenario(t)
	a := s.peer(cliA, 700)
	xid := uint32(10)
	session41(a, &xid, sidA, 4)
	for i := range uint32(10) {
		a.call(time.Millisecond, seqGetattr41(100+2*i, sidA, i+1, 0, 0xfeed))
		a.call(time.Millisecond, seqGetattr41(101+2*i, sidA, i+1, 1, 0xfeed))
		a.reply(time.Millisecond, seqGetattrOK(101+2*i, sidA, i+1, 1, 3, 0))
		a.reply(time.Millisecond, seqGetattrOK(100+2*i, sidA, i+1, 0, 3, 0))
	}
	r := s.run(analyze.DefaultOptions())
	if fs := findingsOf(r, analyze.KindSessionSlots); len(fs) != 0 {
		t.Errorf("findings %+v, want none", fs)
	}
}
