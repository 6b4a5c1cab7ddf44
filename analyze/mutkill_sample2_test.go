package analyze_test

// Tests that kill mutants of conn.go, calls.go, assemble.go and
// findings.go from the second random sample (bench/mutation.sh): hand-built
// captures whose expected numbers and text are computed by hand from the
// segments written.

import (
	"fmt"
	"strings"
	"testing"
	"time"

	"github.com/nfsstall/nfsstall/analyze"
	"github.com/nfsstall/nfsstall/internal/handcap"
)

// A record holding only the 24 bytes of an RPC call's fixed header (xid
// to procedure, RFC 5531 section 9), no credential, and a reply record
// holding only its 12 (xid, REPLY, reply_stat): both are cut short exactly
// at what identifies them, so both count, and the call is answered.
func TestMutCutShortAtTheHeader(t *testing.T) {
	s := newScenario(t)
	c, sv := uint32(100), uint32(900)
	s.handshake(c, sv)
	s.exchange(&c, &sv, record(words(7, 0, 2, 100003, 3, 0)), record(words(7, 1, 0)))
	r := s.run(analyze.DefaultOptions())
	if r.Summary.Calls != 1 || r.Summary.Replies != 1 || r.Summary.Unanswered != 0 || r.Summary.Undecodable != 0 {
		t.Errorf("summary %+v: want 1 call, 1 reply, none unanswered or undecodable", r.Summary)
	}
}

// A READ of 4096 bytes answered with its 4096 bytes: the READ row's
// bytes are the reply's count.
func TestMutReadBytesFromTheReply(t *testing.T) {
	s := newScenario(t)
	c, sv := uint32(100), uint32(900)
	s.handshake(c, sv)
	s.exchange(&c, &sv, readCall(5, 0, 4096), readReply(5, 4096))
	r := s.run(analyze.DefaultOptions())
	found := false
	for _, p := range r.Procedures {
		if p.Name == "READ" {
			found = true
			if p.Bytes != 4096 || p.Calls != 1 || p.Replies != 1 {
				t.Errorf("READ row %+v: want 1 call, 1 reply, 4096 bytes", p)
			}
		}
	}
	if !found {
		t.Fatalf("no READ row: %+v", r.Procedures)
	}
}

// An RPC call over UDP to port 111 (portmap), not analysed: the packets
// skipped as not on an analysed port carry the --port hint naming it.
func TestMutOtherPortSkipCarriesTheHint(t *testing.T) {
	s := newScenario(t)
	c, sv := uint32(100), uint32(900)
	s.handshake(c, sv)
	s.exchange(&c, &sv, readCall(5, 0, 4096), readReply(5, 4096))
	s.udp(time.Millisecond, true, 111, words(9, 0, 2, 100000, 2, 0, 0, 0, 0, 0))
	r := s.run(analyze.DefaultOptions())
	sk, ok := skippedWith(r, "packets", "not on an analysed port")
	if !ok || sk.Count != 1 {
		t.Fatalf("skipped %+v: want 1 packet not on an analysed port", r.Skipped)
	}
	want := "not on an analysed port (RPC calls were seen to ports not analysed: 111/udp (1); --port 2049,111 analyses them too)"
	if sk.Reason != want {
		t.Errorf("reason %q\nwant %q", sk.Reason, want)
	}
}

// Thirteen calls denied AUTH_BADCRED, then one accepted: the finding keeps
// the first ten denials, the last two and the accepted reply, 13 frames,
// and its text lists the first ten and elides the other three.
func TestMutLongFrameListElided(t *testing.T) {
	v := newConvo(t)
	getattr := func(xid uint32) []byte {
		return record(words(xid, 0, 2, 100003, 3, 1, 0, 0, 0, 0, 8, 0xdeadbeef, 0xcafef00d))
	}
	var denied []string
	for i := range uint32(13) {
		v.sendAfter(time.Millisecond, true, getattr(10+i))
		denied = append(denied, fmt.Sprint(v.sendAfter(time.Millisecond, false, authDenied(10+i, 1))))
	}
	v.sendAfter(time.Millisecond, true, getattr(30))
	v.sendAfter(time.Millisecond, false, getattrOK(30))
	r := v.s.run(analyze.DefaultOptions())
	a := authFindings(r)
	if len(a) != 1 || len(a[0].Frames) != 13 {
		t.Fatalf("auth findings %+v: want one of 13 frames", a)
	}
	want := "; frames " + strings.Join(denied[:10], ", ") + ", ... 3 more)"
	if !strings.Contains(a[0].Summary, want) {
		t.Errorf("summary %q\nlacks %q", a[0].Summary, want)
	}
}

// 1001 NFSv4.1 sessions (sessions followed slot by slot raised past them),
// each with one call of slot 20 of 16 answered NFS4ERR_BADSLOT: one
// session_slots finding each, the first 1000 listed, the last counted in
// skipped (it was dropped uncounted before).
func TestMutSlotFindingsListedToTheBound(t *testing.T) {
	s := newScenario(t)
	a := s.peer(cliA, 700)
	xid := uint32(10)
	const sessions = 1001
	for i := range uint32(sessions) {
		sid := []uint32{0xb, 0xb, 0xb, i + 1}
		session41(a, &xid, sid, 16)
		xid++
		a.call(time.Millisecond, seqGetattr41(xid, sid, 1, 20, 0xfeed))
		a.reply(time.Millisecond, seqFail(xid, 10053))
	}
	opts := analyze.DefaultOptions()
	opts.MaxSessions = 8 * sessions
	r := s.run(opts)
	if n := len(r.NFS4Sessions); n != sessions {
		t.Fatalf("%d sessions, want %d", n, sessions)
	}
	if n := len(findingsOf(r, analyze.KindSessionSlots)); n != 1000 {
		t.Errorf("%d session_slots findings listed, want 1000", n)
	}
	if sk := skipped(t, r, analyze.KindSessionSlots+" findings"); sk.Count != 1 || !sk.Bound {
		t.Errorf("skipped %+v, want the 1 finding past the 1000 listed", sk)
	}
}

// One READ reply of four pieces of 2 full segments and a 500-byte tail,
// the client ACKing the two full segments at once and the tail only 40 ms
// later, the server resuming 1 ms after that ACK: three pauses, all in
// the one reply.
func TestMutDelayedACKPausesInOneReply(t *testing.T) {
	var h handScenario
	const port = 800
	h.add(handcap.Seg{Port: port, ToServer: true, Flags: handcap.SYN, Seq: 100})
	h.add(handcap.Seg{Port: port, Flags: handcap.SYN | handcap.ACK, Seq: 900, Ack: 101})
	h.add(handcap.Seg{Port: port, ToServer: true, Flags: handcap.ACK, Seq: 101, Ack: 901})
	cseq, sseq := uint32(101), uint32(901)
	call := readCall(7, 0, 4*3396-48)
	h.add(handcap.Seg{Port: port, ToServer: true, Flags: handcap.PSH | handcap.ACK, Seq: cseq, Ack: sseq, Payload: call})
	cseq += uint32(len(call))
	h.add(handcap.Seg{MS: 1, Port: port, Flags: handcap.ACK, Seq: sseq, Ack: cseq})
	reply := readReply(7, 4*3396-48) // 4 x (2 x 1448 + 500)
	t0 := int64(2)
	for i := range uint32(4) {
		base := i * 3396
		piece := reply[base : base+3396]
		h.add(handcap.Seg{MS: t0, Port: port, Flags: handcap.ACK, Seq: sseq + base, Ack: cseq, Payload: piece[:1448]})
		h.add(handcap.Seg{MS: t0, Port: port, Flags: handcap.ACK, Seq: sseq + base + 1448, Ack: cseq, Payload: piece[1448:2896]})
		h.add(handcap.Seg{MS: t0, Port: port, ToServer: true, Flags: handcap.ACK, Seq: cseq, Ack: sseq + base + 2896})
		h.add(handcap.Seg{MS: t0, Port: port, Flags: handcap.PSH | handcap.ACK, Seq: sseq + base + 2896, Ack: cseq, Payload: piece[2896:]})
		h.add(handcap.Seg{MS: t0 + 40, Port: port, ToServer: true, Flags: handcap.ACK, Seq: cseq, Ack: sseq + base + 3396})
		t0 += 41
	}
	r := h.run(t)
	if r.Summary.Replies != 1 {
		t.Fatalf("%d replies, want 1", r.Summary.Replies)
	}
	fs := dackFindings(r)
	if len(fs) != 1 {
		t.Fatalf("%d delayed_ack_pause findings, want 1: %+v", len(fs), r.Findings)
	}
	if want := "the server's reply data stopped 3 times (in 1 replies)"; !strings.HasPrefix(fs[0].Summary, want) {
		t.Errorf("summary %q\nwant it to start %q", fs[0].Summary, want)
	}
}
