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
