package analyze_test

import (
	"strings"
	"testing"
	"time"

	"github.com/nfsstall/nfsstall/analyze"
)

// What a connection remembers of its calls and records (conn.go) at the
// edges of its bounds, by hand from hand-built captures: calls watched for
// the server's ACK (at most 4096 per connection), records remembered to
// name never-ACKed bytes (the unACKed ones and the last 4 ACKed, at most
// 64 per direction, Options.MaxRecordsTotal in all).

// ackOnly writes a segment of no data from one side ACKing the other's
// bytes up to ack.
func (v *convo) ackOnly(toServer bool, ack uint32) {
	if toServer {
		v.s.seg(time.Millisecond, true, v.c, ack, ackF, 501, nil)
		return
	}
	v.s.seg(time.Millisecond, false, v.sv, ack, ackF, 501, nil)
}

// TestMutRecordsTotalAfterACKs: with MaxRecordsTotal 8, ten calls each
// ACKed at once leave 4 records remembered (the last 4 ACKed); ten more
// never ACKed bring that to 8 after four, and each of the six after
// forgets one: 6 records forgotten.
func TestMutRecordsTotalAfterACKs(t *testing.T) {
	v := newConvo(t)
	for xid := uint32(1); xid <= 10; xid++ {
		v.send(true, nfsNullCall(xid))
		v.ackOnly(false, v.c)
	}
	for xid := uint32(11); xid <= 20; xid++ {
		v.send(true, nfsNullCall(xid))
	}
	opts := analyze.DefaultOptions()
	opts.MaxRecordsTotal = 8
	r := v.s.run(opts)
	if s := skipped(t, r, "RPC records remembered"); s.Count != 6 {
		t.Errorf("records forgotten %d, want 6", s.Count)
	}
}

// TestMutInflightHeadNotFull: 2049 calls wait for the server's ACK, which
// then ACKs the first 2048: one call is watched. A 2050th call makes two,
// far from 4096: no call is forgotten unwatched.
func TestMutInflightHeadNotFull(t *testing.T) {
	v := newConvo(t)
	const n = 2049
	var batch []byte
	var end2048 uint32
	for xid := uint32(1); xid <= n; xid++ {
		batch = append(batch, nfsNullCall(xid)...)
		if xid == n-1 {
			end2048 = v.c + uint32(len(batch))
		}
		if len(batch) >= 1400 || xid == n {
			v.send(true, batch)
			batch = nil
		}
	}
	v.ackOnly(false, end2048)
	v.send(true, nfsNullCall(n+1))
	v.ackOnly(false, v.c)
	v.s.seg(3*time.Second, true, v.c, v.sv, ackF, 501, nil)
	r := v.s.run(analyze.DefaultOptions())
	noSkipped(t, r, "calls watched for their TCP ACK")
	if r.Summary.Unanswered != n+1 {
		t.Errorf("%d unanswered, want %d", r.Summary.Unanswered, n+1)
	}
}

// TestMutRecordsKeptWithACKedHead: 66 NULL calls; the server answers the
// first 20, the client ACKs the first 10 replies (6 of them forgotten, 4
// kept), the server sends the other 46 replies and re-sends the 11th twice,
// never ACKed. 60 records are remembered, under 64: the 11th is still
// known, and the finding names its bytes as the NULL reply to xid 11.
func TestMutRecordsKeptWithACKedHead(t *testing.T) {
	v := newConvo(t)
	var calls []byte
	for xid := uint32(1); xid <= 66; xid++ {
		calls = append(calls, nfsNullCall(xid)...)
	}
	v.send(true, calls)
	var at11 uint32
	for xid := uint32(1); xid <= 20; xid++ {
		if xid == 11 {
			at11 = v.sv
		}
		v.send(false, nfsNullReply(xid))
	}
	v.ackOnly(true, at11)
	for xid := uint32(21); xid <= 66; xid++ {
		v.send(false, nfsNullReply(xid))
	}
	r11 := nfsNullReply(11)
	v.s.seg(200*time.Millisecond, false, at11, v.c, ackF|pshF, 501, r11)
	v.s.seg(400*time.Millisecond, false, at11, v.c, ackF|pshF, 501, r11)
	v.s.seg(3*time.Second, true, v.c, at11, ackF, 501, nil)
	r := v.s.run(analyze.DefaultOptions())
	k := findKinds(r)
	if len(k[analyze.KindUnackedRetran]) != 1 {
		t.Fatalf("findings %+v", r.Findings)
	}
	want := "these are bytes of the NFSv3 NULL reply to xid 0x0000000b"
	if s := k[analyze.KindUnackedRetran][0].Summary; !strings.Contains(s, want) {
		t.Errorf("summary %q lacks %q", s, want)
	}
}
