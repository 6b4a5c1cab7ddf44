package analyze_test

import (
	"strings"
	"testing"
	"time"

	"github.com/nfsstall/nfsstall/analyze"
)

// File names learned from what the capture shows, written beside the
// handle of an unanswered call.

// convo is a hand-built connection with its handshake: send adds one
// record each way, in order.
type convo struct {
	s     *scenario
	c, sv uint32
}

func newConvo(t *testing.T) *convo {
	s := newScenario(t)
	v := &convo{s: s, c: 1000, sv: 5000}
	s.seg(0, true, v.c, 0, synF, 501, nil)
	s.seg(time.Millisecond, false, v.sv, v.c+1, synF|ackF, 501, nil)
	v.c, v.sv = v.c+1, v.sv+1
	return v
}

func (v *convo) send(toServer bool, b []byte) {
	if toServer {
		v.s.seg(time.Millisecond, true, v.c, v.sv, ackF|pshF, 501, b)
		v.c += uint32(len(b))
		return
	}
	v.s.seg(time.Millisecond, false, v.sv, v.c, ackF|pshF, 501, b)
	v.sv += uint32(len(b))
}

// xdrString is an XDR string: length, bytes, padding.
func xdrString(s string) []byte {
	b := append(words(uint32(len(s))), s...)
	return append(b, make([]byte, (4-len(s)%4)%4)...)
}

// compound40 is an NFSv4.0 COMPOUND call of ops (each its code and args).
func compound40(xid uint32, nops uint32, ops ...[]byte) []byte {
	b := words(xid, 0, 2, 100003, 4, 1, 0, 0, 0, 0, 0, 0, nops)
	for _, op := range ops {
		b = append(b, op...)
	}
	return record(b)
}

// compoundOK is its reply: every result NFS4_OK, GETFH's with handle fh.
func compoundOK(xid uint32, codes []uint32, fh uint32) []byte {
	b := words(xid, 1, 0, 0, 0, 0, 0, 0, uint32(len(codes)))
	for _, op := range codes {
		b = append(b, words(op, 0)...)
		if op == 10 {
			b = append(b, words(4, fh)...)
		}
	}
	return record(b)
}

func lookup4(name string) []byte { return append(words(15), xdrString(name)...) }

func TestPathFromNFS4Lookups(t *testing.T) {
	v := newConvo(t)
	v.send(true, compound40(1, 4, words(24), lookup4("export"), lookup4("dir"), words(10)))
	v.send(false, compoundOK(1, []uint32{24, 15, 15, 10}, 0xaaaa0001))
	v.send(true, compound40(2, 3, words(22, 4, 0xaaaa0001), lookup4("file"), words(10)))
	v.send(false, compoundOK(2, []uint32{22, 15, 10}, 0xbbbb0002))
	v.send(true, compound40(3, 2, words(22, 4, 0xbbbb0002), lookup4("x"))) // never answered
	v.s.seg(3*time.Second, false, v.sv, v.c, ackF, 501, nil)
	r := v.s.run(analyze.DefaultOptions())
	if len(r.Unanswered) != 1 {
		t.Fatalf("unanswered %+v", r.Unanswered)
	}
	if u := r.Unanswered[0]; u.Path != "/export/dir/file" || !strings.Contains(u.Detail, `name "x"`) {
		t.Errorf("unanswered %+v, want path /export/dir/file", u)
	}
	var found bool
	for _, f := range r.Findings {
		if f.Kind == analyze.KindUnanswered {
			found = true
			if f.Path != "/export/dir/file" {
				t.Errorf("finding %+v, want path /export/dir/file", f)
			}
		}
	}
	if !found {
		t.Errorf("no unanswered_call finding in %+v", r.Findings)
	}
}

func TestPathFromMountAndNFS3Lookup(t *testing.T) {
	v := newConvo(t)
	v.send(true, record(append(words(1, 0, 2, 100005, 3, 1, 0, 0, 0, 0), xdrString("/srv/data")...)))
	v.send(false, record(words(1, 1, 0, 0, 0, 0, 0, 8, 0x11, 0x22, 0)))
	lookup := append(words(2, 0, 2, 100003, 3, 3, 0, 0, 0, 0, 8, 0x11, 0x22), xdrString("big.iso")...)
	v.send(true, record(lookup))
	v.send(false, record(words(2, 1, 0, 0, 0, 0, 0, 8, 0xdeadbeef, 0xcafef00d, 0, 0)))
	v.send(true, readCall(3, 0, 4096)) // the handle LOOKUP returned; never answered
	v.s.seg(3*time.Second, false, v.sv, v.c, ackF, 501, nil)
	r := v.s.run(analyze.DefaultOptions())
	if len(r.Unanswered) != 1 || r.Unanswered[0].Path != "/srv/data/big.iso" {
		t.Errorf("unanswered %+v, want the READ of /srv/data/big.iso", r.Unanswered)
	}
}

// TestPathRelativeWithoutRoot: without the root's lookup in the capture,
// the path is relative to the first directory it does not name.
func TestPathRelativeWithoutRoot(t *testing.T) {
	v := newConvo(t)
	lookup := append(words(2, 0, 2, 100003, 3, 3, 0, 0, 0, 0, 8, 0x11, 0x22), xdrString("big.iso")...)
	v.send(true, record(lookup))
	v.send(false, record(words(2, 1, 0, 0, 0, 0, 0, 8, 0xdeadbeef, 0xcafef00d, 0, 0)))
	v.send(true, readCall(3, 0, 4096))
	v.s.seg(3*time.Second, false, v.sv, v.c, ackF, 501, nil)
	opts := analyze.DefaultOptions()
	r := v.s.run(opts)
	if len(r.Unanswered) != 1 || r.Unanswered[0].Path != "big.iso" {
		t.Errorf("unanswered %+v, want path big.iso", r.Unanswered)
	}
}

// TestPathsBounded: past Options.MaxPaths, names are counted, not learned.
func TestPathsBounded(t *testing.T) {
	v := newConvo(t)
	for xid := uint32(1); xid <= 3; xid++ {
		lookup := append(words(xid, 0, 2, 100003, 3, 3, 0, 0, 0, 0, 8, 0x11, 0x22), xdrString("f")...)
		v.send(true, record(lookup))
		v.send(false, record(words(xid, 1, 0, 0, 0, 0, 0, 8, xid, 0, 0, 0)))
	}
	opts := analyze.DefaultOptions()
	opts.MaxPaths = 1
	r := v.s.run(opts)
	for _, sk := range r.Skipped {
		if sk.What == "file names" {
			if sk.Count != 2 || !sk.Bound {
				t.Errorf("skipped %+v, want 2 names not learned, a bound", sk)
			}
			return
		}
	}
	t.Errorf("no file names skipped in %+v", r.Skipped)
}
