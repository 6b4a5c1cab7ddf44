package decode

// Tests written for the mutants of decode that bench/mutation.sh found
// alive: each states its oracle (RFC 5531 record marking and message
// layout, RFC 2203, the Framer's and RecordSink's documented contracts)
// and computes what it expects by hand.

import (
	"bytes"
	"encoding/binary"
	"testing"
)

// xdrWords is the XDR encoding of 32-bit words.
func xdrWords(ws ...uint32) []byte {
	b := make([]byte, 4*len(ws))
	for i, w := range ws {
		binary.BigEndian.PutUint32(b[4*i:], w)
	}
	return b
}

// deniedReply is the shortest RPC message (RFC 5531 section 9: xid,
// msg_type REPLY, reply_stat MSG_DENIED, reject_stat AUTH_ERROR, auth_stat),
// 20 bytes, with its record marker (last fragment).
func deniedReply(xid uint32) []byte {
	body := xdrWords(xid, MsgReply, MsgDenied, AuthError, 5 /* AUTH_REJECTEDVERF */)
	return append(xdrWords(0x80000000|uint32(len(body))), body...)
}

// judgeSink is a reply stream's sink that logs every record and every
// judgement it is asked for, and holds the Framer to RecordSink's
// contract: a cut judgement gets at least 12 bytes.
type judgeSink struct {
	t      *testing.T
	recs   []Record
	judged []judgement
}

type judgement struct {
	n   int
	cut bool
	ok  bool
}

func (s *judgeSink) Record(r *Record) {
	c := *r
	c.Head = bytes.Clone(r.Head)
	s.recs = append(s.recs, c)
}

func (s *judgeSink) Plausible(b []byte, cut bool) bool {
	if cut && len(b) < minHeader {
		s.t.Errorf("cut judgement of %d bytes: RecordSink promises at least %d", len(b), minHeader)
	}
	ok := LooksLikeReply(b)
	if cut {
		ok = LooksLikeReplyHeader(b)
	}
	s.judged = append(s.judged, judgement{len(b), cut, ok})
	return ok
}

// garbage are bytes no marker can start in: every 4 bytes from any of
// them read as a length over any maximum used here.
var garbage = []byte{0xff, 0xff, 0xff, 0xff, 0xff}

// TestRecordFirstMark: Record.First is the caller's Mark when the record's
// first byte (its first marker's first byte) was read, not a later
// marker byte's nor a later fragment's.
func TestRecordFirstMark(t *testing.T) {
	s := &judgeSink{t: t}
	f := NewFramer(s, true)
	body := xdrWords(7, MsgReply, MsgDenied, AuthError, 5)
	f.Mark = Mark{File: 1}
	f.Feed(xdrWords(8)[:2]) // first fragment, 8 bytes, not last: marker split
	f.Mark = Mark{File: 2}
	f.Feed(append(xdrWords(8)[2:], body[:8]...))
	f.Mark = Mark{File: 3}
	f.Feed(append(xdrWords(0x80000000|12), body[8:]...)) // last fragment
	f.Mark = Mark{File: 4}
	f.Feed(deniedReply(8))
	if len(s.recs) != 2 {
		t.Fatalf("%d records, want 2", len(s.recs))
	}
	want := []struct {
		first       Mark
		start, size int64
		fragments   int
	}{{Mark{File: 1}, 0, 20, 2}, {Mark{File: 4}, 4 + 8 + 4 + 12, 20, 1}}
	for i, w := range want {
		r := s.recs[i]
		if r.First != w.first || r.Start != w.start || r.Len != w.size || r.Fragments != w.fragments || !bytes.Equal(r.Head[:4], xdrWords(7+uint32(i))) {
			t.Errorf("record %d: first %v start %d len %d fragments %d head %x; want first %v start %d len %d fragments %d",
				i, r.First, r.Start, r.Len, r.Fragments, r.Head, w.first, w.start, w.size, w.fragments)
		}
	}
}

// TestHeadPoolLends: with a HeadPool a Framer holds a search buffer only
// while it holds bytes looking for a boundary, and a head buffer only
// while a record is in progress; what it gives back the next Framer
// borrows, and two Framers never hold the same buffer.
func TestHeadPoolLends(t *testing.T) {
	pool := &HeadPool{}
	s := &judgeSink{t: t}
	f := NewFramer(s, false)
	f.SetHeadPool(pool)
	f.Feed(garbage) // searching, from an empty pool
	if f.carry == nil || len(pool.carrys) != 0 {
		t.Fatalf("searching: framer's carry %p, pool holds %d", f.carry, len(pool.carrys))
	}
	carry := f.carry
	rec := deniedReply(1)
	f.Feed(rec[:10]) // a record begins: its head is borrowed
	f.Feed(rec[10:])
	if len(s.recs) != 1 || f.Garbage != int64(len(garbage)) {
		t.Fatalf("%d records, garbage %d; want 1 and %d", len(s.recs), f.Garbage, len(garbage))
	}
	if f.carry != nil || f.head != nil {
		t.Errorf("synced and between records, the framer still holds carry %p head %p", f.carry, f.head)
	}
	if len(pool.carrys) != 1 || pool.carrys[0] != carry || len(pool.free) != 1 || pool.free[0] == nil {
		t.Fatalf("pool holds carrys %v, heads %v; want the framer's carry %p and one head", pool.carrys, pool.free, carry)
	}
	head := pool.free[0]

	// A second framer borrows what the first gave back; a third, while
	// the second holds them, gets buffers of its own.
	g := NewFramer(s, false)
	g.SetHeadPool(pool)
	g.Feed(garbage)
	if g.carry != carry || len(pool.carrys) != 0 {
		t.Errorf("second framer's carry %p, want the pooled %p", g.carry, carry)
	}
	h := NewFramer(s, true)
	h.SetHeadPool(pool)
	h.Feed(rec[:6]) // inside a record: holds a head
	if h.head != head || len(pool.free) != 0 {
		t.Errorf("third framer's head %p, want the pooled %p", h.head, head)
	}
	k := NewFramer(s, false)
	k.SetHeadPool(pool)
	k.Feed(garbage)
	if k.carry == nil || k.carry == carry {
		t.Errorf("fourth framer shares the second's carry")
	}
}

// TestSkipZeroKeepsSearch: Skip(0) says no byte was lost; while searching
// it must not drop the bytes held, or a record that straddles it is lost.
func TestSkipZeroKeepsSearch(t *testing.T) {
	s := &judgeSink{t: t}
	f := NewFramer(s, false)
	rec := deniedReply(9)
	f.Feed(append(bytes.Clone(garbage), rec[:10]...))
	f.Skip(0)
	f.Feed(rec[10:])
	f.Finish()
	if len(s.recs) != 1 || s.recs[0].Missing != 0 || f.Garbage != int64(len(garbage)) {
		t.Fatalf("records %+v, garbage %d; want the whole record and %d bytes of garbage", s.recs, f.Garbage, len(garbage))
	}
}

// TestResyncsCounted: each loss of sync is counted once: a marker longer
// than the largest fragment, a gap over a marker, a record that did not
// parse.
func TestResyncsCounted(t *testing.T) {
	s := &judgeSink{t: t}
	f := NewFramer(s, true)
	f.Feed(xdrWords(0x80000000 | (DefaultMaxFragment + 1)))
	if f.Resyncs != 1 || f.TooLong != 1 || f.Synced() {
		t.Fatalf("after a too-long marker: resyncs %d, too long %d, synced %v", f.Resyncs, f.TooLong, f.Synced())
	}
	g := NewFramer(s, true)
	g.Skip(4) // the gap holds the next marker
	g.Desync()
	if g.Resyncs != 2 {
		t.Errorf("after a gap over a marker and a desync: resyncs %d, want 2", g.Resyncs)
	}
}

// TestSearchFindsShortestRecord: joined mid-stream, the search finds a
// 20-byte record (the shortest RPC message) as soon as its last byte is
// held, also when 20 is the largest fragment allowed (the maximum is
// inclusive).
func TestSearchFindsShortestRecord(t *testing.T) {
	for _, max := range []uint32{DefaultMaxFragment, minRecord} {
		s := &judgeSink{t: t}
		f := NewFramer(s, false)
		f.SetMaxFragment(max)
		f.Feed(append(bytes.Clone(garbage), deniedReply(3)...))
		if len(s.recs) != 1 || s.recs[0].Len != 20 || s.recs[0].Start != int64(len(garbage)) || f.Garbage != int64(len(garbage)) {
			t.Errorf("max fragment %d: records %+v, garbage %d: want the 20-byte record at offset %d, found before Finish", max, s.recs, f.Garbage, len(garbage))
		}
	}
}

// TestSyncAtGap: joined mid-stream, a record whose start was captured but
// whose rest fell in a gap (a snaplen cut) is found by its first bytes
// when the gap comes, judged cut with exactly the bytes held, at least 12;
// fewer than 12 are not judged. The same at the end of the capture
// (Finish), where Partial names the record.
func TestSyncAtGap(t *testing.T) {
	for _, tt := range []struct {
		name   string
		length uint32 // the record's, from its marker
		held   int    // bytes of the body captured before the gap
		max    uint32
		found  bool
	}{
		{"shortest record, 12 bytes held", 20, 12, DefaultMaxFragment, true},
		{"100-byte record, 12 bytes held", 100, 12, DefaultMaxFragment, true},
		{"record as long as the maximum", 24, 16, 24, true},
		{"longer than the maximum", 25, 16, 24, false},
		{"19 bytes: shorter than any RPC message", 19, 12, DefaultMaxFragment, false},
		{"8 bytes held: too few to judge", 20, 8, DefaultMaxFragment, false},
	} {
		for _, atEnd := range []bool{false, true} {
			s := &judgeSink{t: t}
			f := NewFramer(s, false)
			f.SetMaxFragment(tt.max)
			body := xdrWords(11, MsgReply, MsgAccepted, AuthNone, 0, Success)
			in := append(bytes.Clone(garbage), xdrWords(0x80000000|tt.length)...)
			in = append(in, body[:tt.held]...)
			f.Feed(in)
			rest := int64(tt.length) - int64(tt.held)
			if atEnd {
				f.Finish()
			} else {
				f.Skip(rest)
			}
			name := tt.name + map[bool]string{false: ", then a gap", true: ", then the end"}[atEnd]
			var last judgement
			if len(s.judged) > 0 {
				last = s.judged[len(s.judged)-1]
			}
			if !tt.found {
				if f.Synced() || len(s.recs) != 0 || f.Garbage != int64(len(in)) {
					t.Errorf("%s: synced %v, records %d, garbage %d; want none found and %d bytes of garbage", name, f.Synced(), len(s.recs), f.Garbage, len(in))
				}
				continue
			}
			if !last.ok || !last.cut || last.n != tt.held {
				t.Errorf("%s: last judgement %+v, want a cut one of the %d bytes held, accepted", name, last, tt.held)
			}
			if f.Garbage != int64(len(garbage)) {
				t.Errorf("%s: garbage %d, want %d", name, f.Garbage, len(garbage))
			}
			var r Record
			if atEnd {
				p, ok := f.Partial()
				if !ok {
					t.Errorf("%s: no partial record", name)
					continue
				}
				r = *p
			} else {
				if len(s.recs) != 1 {
					t.Errorf("%s: %d records, want 1", name, len(s.recs))
					continue
				}
				r = s.recs[0]
			}
			wantHave, wantMissing := int64(tt.held), int64(0)
			if !atEnd {
				wantHave, wantMissing = int64(tt.length), rest
			}
			if r.Start != int64(len(garbage)) || r.Len != int64(tt.length) || r.Have != wantHave || r.Missing != wantMissing || !bytes.Equal(r.Head, body[:tt.held]) {
				t.Errorf("%s: record start %d len %d have %d missing %d head %x; want %d %d %d %d %x",
					name, r.Start, r.Len, r.Have, r.Missing, r.Head, len(garbage), tt.length, wantHave, wantMissing, body[:tt.held])
			}
		}
	}
}

// authSysGIDs is an authsys_parms body (RFC 5531 appendix A) with n gids.
func authSysGIDs(n int) []byte {
	b := xdrWords(1, 1)                   // stamp, machinename length 1
	b = append(b, 'm', 0, 0, 0)           // "m" and its padding
	b = append(b, xdrWords(1000, 100)...) // uid, gid
	b = append(b, xdrWords(uint32(n))...)
	for i := range n {
		b = append(b, xdrWords(uint32(2000+i))...)
	}
	return b
}

// TestAuthSysSixteenGIDs: RFC 5531 bounds gids<16>: 16 decode, 17 do not.
func TestAuthSysSixteenGIDs(t *testing.T) {
	var s AuthSysCred
	if !parseAuthSys(authSysGIDs(16), &s) || s.GIDs[15] != 2015 || s.UID != 1000 {
		t.Errorf("16 gids: %+v", s)
	}
	if parseAuthSys(authSysGIDs(17), &s) {
		t.Errorf("17 gids accepted")
	}
}

// gssNullCall is an NFS NULL call with an RPCSEC_GSS credential (RFC 2203
// section 5: version 1, gss_proc, seq_num, service, handle) and an
// AUTH_NONE verifier.
func gssNullCall(proc, service uint32) []byte {
	cred := xdrWords(1, proc, 1, service, 4, 0xcafe)
	b := xdrWords(1, MsgCall, 2, ProgNFS, 3, 0, RPCSECGSS, uint32(len(cred)))
	b = append(b, cred...)
	return append(b, xdrWords(AuthNone, 0)...)
}

// TestLooksLikeCallGSS: RFC 2203's gss_proc is DATA 0 to DESTROY 3 and
// its service none 1, integrity 2, privacy 3: anything else is no call.
func TestLooksLikeCallGSS(t *testing.T) {
	for proc := uint32(0); proc <= 4; proc++ {
		for service := uint32(0); service <= 4; service++ {
			want := proc <= 3 && service >= 1 && service <= 3
			if got := LooksLikeCall(gssNullCall(proc, service)); got != want {
				t.Errorf("gss_proc %d service %d: %v, want %v", proc, service, got, want)
			}
		}
	}
}

// TestLooksLikeReplyBounds: RFC 5531 reply_stat is MSG_ACCEPTED 0 or
// MSG_DENIED 1; accept_stat SUCCESS 0 to SYSTEM_ERR 5; reject_stat
// RPC_MISMATCH 0 or AUTH_ERROR 1.
func TestLooksLikeReplyBounds(t *testing.T) {
	for stat := uint32(0); stat <= 2; stat++ {
		h := xdrWords(1, MsgReply, stat)
		if got := LooksLikeReplyHeader(h); got != (stat <= 1) {
			t.Errorf("reply_stat %d: header %v", stat, got)
		}
	}
	for stat := uint32(0); stat <= 6; stat++ {
		if got := LooksLikeReply(xdrWords(1, MsgReply, MsgAccepted, AuthNone, 0, stat)); got != (stat <= 5) {
			t.Errorf("accept_stat %d: %v", stat, got)
		}
	}
	for stat := uint32(0); stat <= 2; stat++ {
		if got := LooksLikeReply(xdrWords(1, MsgReply, MsgDenied, stat, 1)); got != (stat <= 1) {
			t.Errorf("reject_stat %d: %v", stat, got)
		}
	}
}

// TestAuthFlavorNameUnassigned: flavors past AUTH_TLS (7, RFC 9289) are
// named by number, not looked up past the table.
func TestAuthFlavorNameUnassigned(t *testing.T) {
	for f, want := range map[uint32]string{AuthTLS: "AUTH_TLS", 8: "AUTH_8", 390003: "AUTH_390003"} {
		if got := AuthFlavorName(f); got != want {
			t.Errorf("flavor %d: %q, want %q", f, got, want)
		}
	}
}
