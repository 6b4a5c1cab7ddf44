package analyze_test

import (
	"encoding/binary"
	"net"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/nfsstall/nfsstall/analyze"
)

// NLM lock waits, hand-built from XNFS chapter 14 (nlm_prot.x): the
// client's blocking LOCK to the server's lockd (port 4045 here, followed
// with --port) answered NLM4_BLOCKED (3); the server's lockd calls the
// client's lockd (its port 4045 too) with GRANTED (procedure 5) when the
// lock is free, answered NLM4_GRANTED (0).

// tconn is one TCP connection between two endpoints, opened by a.
type tconn struct {
	s          *scenario
	a, b       net.IP
	ap, bp     uint16
	aseq, bseq uint32
}

func (s *scenario) tconnect(a net.IP, ap uint16, b net.IP, bp uint16) *tconn {
	t := &tconn{s: s, a: a, b: b, ap: ap, bp: bp, aseq: 100, bseq: 900}
	s.tcpSeg(time.Millisecond, a, b, ap, bp, t.aseq, 0, synF, nil)
	s.tcpSeg(time.Millisecond, b, a, bp, ap, t.bseq, t.aseq+1, synF|ackF, nil)
	t.aseq, t.bseq = t.aseq+1, t.bseq+1
	s.tcpSeg(time.Millisecond, a, b, ap, bp, t.aseq, t.bseq, ackF, nil)
	return t
}

// send sends msg from the opener (fromA) or the other side, dt after
// the last frame; it returns its frame.
func (t *tconn) send(dt time.Duration, fromA bool, msg []byte) int64 {
	if fromA {
		t.s.tcpSeg(dt, t.a, t.b, t.ap, t.bp, t.aseq, t.bseq, ackF|pshF, msg)
		t.aseq += uint32(len(msg))
	} else {
		t.s.tcpSeg(dt, t.b, t.a, t.bp, t.ap, t.bseq, t.aseq, ackF|pshF, msg)
		t.bseq += uint32(len(msg))
	}
	return t.s.frame
}

// nlmLock4 is an nlm4_lock of handle "FH-report" at offset 0, length 100,
// owner pid 4242.
func nlmLock4() []byte {
	b := opaque("client1")
	b = append(b, opaque("FH-report")...)
	b = append(b, opaque("oh")...)
	b = append(b, words(4242)...)
	b = binary.BigEndian.AppendUint64(b, 0)
	return binary.BigEndian.AppendUint64(b, 100)
}

// nlmLockCall is a blocking, exclusive NLM v4 LOCK.
func nlmLockCall(xid uint32) []byte {
	b := words(xid, 0, 2, 100021, 4, 2, 0, 0, 0, 0)
	b = append(b, opaque("ck")...)
	b = append(b, words(1, 1)...) // block, exclusive
	b = append(b, nlmLock4()...)
	return record(append(b, words(0, 3)...)) // reclaim, state
}

// nlmGrantedCall is the server's GRANTED of that lock.
func nlmGrantedCall(xid uint32) []byte {
	b := words(xid, 0, 2, 100021, 4, 5, 0, 0, 0, 0)
	b = append(b, opaque("ck")...)
	b = append(b, words(1)...) // exclusive
	return record(append(b, nlmLock4()...))
}

// nlmRes answers with stat.
func nlmRes(xid, stat uint32) []byte {
	return record(append(append(words(xid, 1, 0, 0, 0, 0), opaque("ck")...), words(stat)...))
}

var srvIP = net.IP{198, 18, 0, 2}

// nlmScene: the LOCK blocked; grant: the server sends GRANTED after 2 s;
// answer: the client's lockd answers it. It returns the frames: the LOCK,
// BLOCKED, GRANTED, its answer.
func nlmScene(t *testing.T, grant, answer bool) (*analyze.Report, [4]int64) {
	s := newScenario(t)
	lk := s.tconnect(cliA, 800, srvIP, 4045)
	var fr [4]int64
	fr[0] = lk.send(time.Millisecond, true, nlmLockCall(1))
	fr[1] = lk.send(time.Millisecond, false, nlmRes(1, 3))
	if grant {
		cb := s.tconnect(srvIP, 900, cliA, 4045)
		fr[2] = cb.send(2*time.Second, true, nlmGrantedCall(0x51))
		if answer {
			fr[3] = cb.send(time.Millisecond, false, nlmRes(0x51, 0))
		}
	}
	s.tcpSeg(3*time.Second, cliA, srvIP, 800, 4045, lk.aseq, lk.bseq, ackF, nil) // the capture goes on
	opts := analyze.DefaultOptions()
	opts.Ports = []uint16{2049, 4045}
	return s.run(opts), fr
}

func TestNLMLockWaitGranted(t *testing.T) {
	r, fr := nlmScene(t, true, true)
	fs := findingsOf(r, analyze.KindLockWait)
	if len(fs) != 1 {
		t.Fatalf("findings %+v, want one lock_wait", r.Findings)
	}
	f := fs[0]
	// LOCK at T, BLOCKED T+1 ms, the callback's handshake 3 ms, GRANTED 2 s
	// later, answered 1 ms after: 2.005 s from the LOCK to the answer.
	if f.Severity != analyze.SeverityInfo || !slices.Equal(f.Frames, fr[:]) || f.DurationMS != 2005 {
		t.Errorf("%s %v %.3f ms, want info at %v, 2005 ms: %s", f.Severity, f.Frames, f.DurationMS, fr, f.Summary)
	}
	for _, w := range []string{"198.18.0.1's NLM LOCK on FH", "answered NLM4_BLOCKED", "sent the GRANTED callback", "answered NLM4_GRANTED", "a wait, not a fault"} {
		if !strings.Contains(f.Summary, w) {
			t.Errorf("finding does not say %q: %s", w, f.Summary)
		}
	}
	if len(r.Diagnoses) != 0 {
		t.Errorf("diagnoses %+v: a lock wait is no stall", r.Diagnoses)
	}
}

func TestNLMGrantedNeverAnswered(t *testing.T) {
	r, fr := nlmScene(t, true, false)
	fs := findingsOf(r, analyze.KindLockWait)
	if len(fs) != 1 || fs[0].Severity != analyze.SeverityWarning || !slices.Equal(fs[0].Frames, fr[:3]) ||
		!strings.Contains(fs[0].Summary, "never answered it") || !strings.Contains(fs[0].Summary, "firewall in front of the client's lockd port") {
		t.Errorf("findings %+v", fs)
	}
}

func TestNLMNoGrant(t *testing.T) {
	r, fr := nlmScene(t, false, false)
	fs := findingsOf(r, analyze.KindLockWait)
	if len(fs) != 1 || fs[0].Severity != analyze.SeverityWarning || !slices.Equal(fs[0].Frames, fr[:2]) ||
		!strings.Contains(fs[0].Summary, "no GRANTED callback by the end of the capture") {
		t.Errorf("findings %+v", fs)
	}
	if len(r.Diagnoses) != 0 {
		t.Errorf("diagnoses %+v", r.Diagnoses)
	}
}
