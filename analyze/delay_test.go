package analyze_test

import (
	"fmt"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/nfsstall/nfsstall/analyze"
)

// Hand-built delay loops: NFSv3 calls answered NFS3ERR_JUKEBOX and NFSv4
// COMPOUNDs answered NFS4ERR_DELAY (both 10008), each re-sent with a new
// XID. The oracle is the construction: frames, times and intervals
// written.

// readJukebox answers an NFSv3 READ with NFS3ERR_JUKEBOX (no attributes).
func readJukebox(xid uint32) []byte { return record(words(xid, 1, 0, 0, 0, 0, 10008, 0)) }

func delayFindings(r *analyze.Report) []analyze.Finding {
	var out []analyze.Finding
	for _, f := range r.Findings {
		if f.Kind == analyze.KindDelay {
			out = append(out, f)
		}
	}
	return out
}

// TestDelayJukeboxBackoff: a READ of one file answered JUKEBOX four
// times, re-sent 1, 2 and 4 s apart, then answered at last 8 s after the
// fourth: the client waited 15 s (a stall, though it ended), intervals
// 1 s, 2 s, 4 s, 8 s.
func TestDelayJukeboxBackoff(t *testing.T) {
	v := newConvo(t)
	var frames []int64
	gap := time.Duration(0)
	for i := range uint32(4) {
		frames = append(frames, v.sendAfter(gap, true, readCall(100+i, 0, 4096)))
		frames = append(frames, v.sendAfter(time.Millisecond, false, readJukebox(100+i)))
		gap = (1<<i)*time.Second - time.Millisecond
	}
	frames = append(frames, v.sendAfter(gap, true, readCall(104, 0, 4096)))
	frames = append(frames, v.sendAfter(time.Millisecond, false, readReply(104, 4096)))
	r := v.s.run(analyze.DefaultOptions())
	d := delayFindings(r)
	if len(d) != 1 {
		t.Fatalf("delay findings %+v", d)
	}
	f := d[0]
	// Evidence: the first 10 frames and the last 2 of the 10 calls and answers.
	if f.Severity != analyze.SeverityStall || !slices.Equal(f.Frames, frames) || f.DurationMS != 15001 || f.Connection != 1 {
		t.Errorf("finding %+v, want a stall of 15.001 s with frames %v", f, frames)
	}
	for _, s := range []string{"198.18.0.1's NFSv3 READ (FH 0x", "answered NFS3ERR_JUKEBOX 4 times over 7.00 s",
		"re-sends the call with a new XID", "intervals between the calls 1.00 s, 2.00 s, 4.00 s, 8.00 s (backing off)",
		fmt.Sprintf("it succeeded at frame %d, 15.00 s after the first call", frames[len(frames)-1])} {
		if !strings.Contains(f.Summary, s) {
			t.Errorf("summary lacks %q: %s", s, f.Summary)
		}
	}
	if len(r.Diagnoses) != 1 || r.Diagnoses[0].Verdict != analyze.VerdictDelay || !strings.Contains(r.Diagnoses[0].Summary, "waited 15.00 s") {
		t.Errorf("diagnoses %+v", r.Diagnoses)
	}
}

// TestDelayNFS4ToTheEnd: an NFSv4.1 OPEN in one directory answered
// NFS4ERR_DELAY 1 ms after each call, the calls 501 ms apart (2.005 s from the first call to the last answer), to the end of the capture: a stall
// with no success; a LOOKUP in another directory answered DELAY once and
// then NFS4_OK is no loop.
func TestDelayNFS4ToTheEnd(t *testing.T) {
	v := newConvo(t)
	v.sendAfter(time.Millisecond, true, compound41(1, 1, putfh4(0xdd), lookup4("x")))
	v.sendAfter(time.Millisecond, false, reply41(1, 1, 10008, 22, 15))
	v.sendAfter(100*time.Millisecond, true, compound41(2, 2, putfh4(0xdd), lookup4("x")))
	v.sendAfter(time.Millisecond, false, reply41(2, 2, 0, 22, 15))
	var frames []int64
	for i := range uint32(5) {
		frames = append(frames, v.sendAfter(500*time.Millisecond, true, compound41(10+i, 3+i, putfh4(0xbbbb), open4(false, "busy"))))
		frames = append(frames, v.sendAfter(time.Millisecond, false, reply41(10+i, 3+i, 10008, 22, 18)))
	}
	r := v.s.run(analyze.DefaultOptions())
	d := delayFindings(r)
	if len(d) != 1 {
		t.Fatalf("delay findings %+v", d)
	}
	f := d[0]
	if f.Severity != analyze.SeverityStall || !slices.Equal(f.Frames, frames) || f.DurationMS != 2005 || f.Procedure != "OPEN" || f.ProcLabel() != "NFSv4 OPEN" {
		t.Errorf("finding %+v, want a stall of 2.005 s (the first call to the last answer) on OPEN (NFSv4 OPEN) with frames %v", f, frames)
	}
	for _, s := range []string{"answered NFS4ERR_DELAY 5 times over 2.00 s", "intervals between the calls 501 ms, 501 ms, 501 ms, 501 ms (steady)",
		"no answer but NFS4ERR_DELAY by the end of the capture, 2.01 s after the first call"} {
		if !strings.Contains(f.Summary, s) {
			t.Errorf("summary lacks %q: %s", s, f.Summary)
		}
	}
	if len(r.Diagnoses) != 1 || r.Diagnoses[0].Verdict != analyze.VerdictDelay {
		t.Errorf("diagnoses %+v", r.Diagnoses)
	}
}

// TestDelayShortIsNoStall: two JUKEBOX answers 100 ms apart, then the
// READ answered: a warning, no verdict; the same READ on another file
// answered JUKEBOX once between them is not part of the loop.
func TestDelayShortIsNoStall(t *testing.T) {
	v := newConvo(t)
	other := readCall(50, 0, 4096)
	copy(other[48:], words(0x12345678)) // another handle (its first word, after the marker, 10 header words and its length)
	v.sendAfter(time.Millisecond, true, readCall(1, 0, 4096))
	v.sendAfter(time.Millisecond, false, readJukebox(1))
	v.sendAfter(time.Millisecond, true, other)
	v.sendAfter(time.Millisecond, false, readJukebox(50))
	v.sendAfter(100*time.Millisecond, true, readCall(2, 0, 4096))
	v.sendAfter(time.Millisecond, false, readJukebox(2))
	v.sendAfter(100*time.Millisecond, true, readCall(3, 0, 4096))
	v.sendAfter(time.Millisecond, false, readReply(3, 4096))
	r := v.s.run(analyze.DefaultOptions())
	d := delayFindings(r)
	if len(d) != 1 || d[0].Severity != analyze.SeverityWarning || len(d[0].Frames) != 6 || len(r.Diagnoses) != 0 {
		t.Fatalf("delay findings %+v, diagnoses %+v: want one warning of 6 frames", d, r.Diagnoses)
	}
	if !strings.Contains(d[0].Summary, "answered NFS3ERR_JUKEBOX 2 times") {
		t.Errorf("summary %s", d[0].Summary)
	}
}

// TestDelaySameFileTwoClients: two clients' OPENs in one directory (one
// handle) answered DELAY twice each: two loops, each naming the other.
func TestDelaySameFileTwoClients(t *testing.T) {
	v := newConvo(t)
	for i := range uint32(2) {
		v.sendAfter(100*time.Millisecond, true, compound41(1+i, 1+i, putfh4(0xbbbb), open4(false, "f")))
		v.sendAfter(time.Millisecond, false, reply41(1+i, 1+i, 10008, 22, 18))
	}
	w := newConvo(t)
	w.s = v.s
	v.s.cli, v.s.cport = []byte{198, 18, 0, 9}, 900
	w.c, w.sv = 7000, 9000
	for i := range uint32(2) {
		w.sendAfter(100*time.Millisecond, true, compound41(1+i, 1+i, putfh4(0xbbbb), open4(false, "f")))
		w.sendAfter(time.Millisecond, false, reply41(1+i, 1+i, 10008, 22, 18))
	}
	d := delayFindings(v.s.run(analyze.DefaultOptions()))
	if len(d) != 2 {
		t.Fatalf("delay findings %+v", d)
	}
	for _, f := range d {
		if !strings.Contains(f.Summary, "1 other delay loop on the same file (2 clients in all)") {
			t.Errorf("summary %s", f.Summary)
		}
	}
}

// TestDelayNotFromWrappedResults: under RPCSEC_GSS integrity the results
// begin with the wrapped body's length, not the status: a READ reply whose
// body is 10008 bytes long is no JUKEBOX.
func TestDelayNotFromWrappedResults(t *testing.T) {
	v := newConvo(t)
	for i := range uint32(3) {
		b := words(10+i, 0, 2, 100003, 3, 6, 6, 28, 1, 0, i, 2, 4, 0xabcdef01, 6, 0) // RPCSEC_GSS DATA, service integrity
		b = append(b, words(36, i, 8, 0xdeadbeef, 0xcafef00d, 0, 0, 4096)...)        // databody_integ: length, seq, READ args
		v.sendAfter(time.Second, true, record(b))
		v.sendAfter(time.Millisecond, false, record(append(words(10+i, 1, 0, 6, 0, 0, 10008), make([]byte, 10008)...)))
	}
	if d := delayFindings(v.s.run(analyze.DefaultOptions())); len(d) != 0 {
		t.Errorf("delay findings %+v", d)
	}
}

// TestDelayBound: 4,097 files each answered JUKEBOX once: 4,096 loops are
// followed at once, the last answer is counted in skipped, not followed.
func TestDelayBound(t *testing.T) {
	v := newConvo(t)
	for i := range uint32(4097) {
		call := readCall(i+1, 0, 4096)
		copy(call[48:], words(i)) // the handle's first word: one file each
		v.sendAfter(time.Microsecond, true, call)
		v.sendAfter(time.Microsecond, false, readJukebox(i+1))
	}
	r := v.s.run(analyze.DefaultOptions())
	if d := delayFindings(r); len(d) != 0 {
		t.Errorf("single short DELAYs made findings: %d", len(d))
	}
	found := false
	for _, sk := range r.Skipped {
		if strings.Contains(sk.What, analyze.KindDelay) {
			found = true
			if sk.Count != 1 || !sk.Bound || !strings.Contains(sk.Reason, "4096 delay loops") {
				t.Errorf("skipped %+v, want 1 answer past 4096 loops", sk)
			}
		}
	}
	if !found {
		t.Errorf("skipped %+v lacks the delay bound", r.Skipped)
	}
}

// TestDelayThenUnanswered: a READ answered JUKEBOX twice over 2 s, then
// re-sent and never answered (the server's TCP ACKs it; the capture ends
// 1.5 s later): the verdict is server_delaying and names the waiting call
// too.
func TestDelayThenUnanswered(t *testing.T) {
	v := newConvo(t)
	var loop []int64
	for i := range uint32(2) {
		loop = append(loop, v.sendAfter(time.Second, true, readCall(1+i, 0, 4096)))
		loop = append(loop, v.sendAfter(time.Millisecond, false, readJukebox(1+i)))
	}
	last := v.sendAfter(time.Second, true, readCall(3, 0, 4096))
	v.s.seg(1500*time.Millisecond, false, v.sv, v.c, ackF, 501, nil)
	r := v.s.run(analyze.DefaultOptions())
	if len(r.Diagnoses) != 1 {
		t.Fatalf("diagnoses %+v", r.Diagnoses)
	}
	d := r.Diagnoses[0]
	var kinds []string
	for _, i := range d.Findings {
		kinds = append(kinds, r.Findings[i].Kind)
	}
	if d.Verdict != analyze.VerdictDelay || !slices.Equal(kinds, []string{analyze.KindDelay, analyze.KindUnanswered}) ||
		!strings.Contains(d.Summary, fmt.Sprintf("READ xid 0x00000003 (frame %d) has waited 1.50 s", last)) {
		t.Errorf("diagnosis %+v (findings %v), want server_delaying with the delay loop %v and the READ at %d", d, kinds, loop, last)
	}
}
