package analyze_test

import (
	"math"
	"strings"
	"testing"
	"time"

	"github.com/nfsstall/nfsstall/analyze"
)

// NFSv4.1 callbacks on the backchannel, built by hand: the server's
// callback XIDs are its own, so one may equal the XID of a client call
// still waiting for its reply on the same connection. Both must be paired
// with their own replies.

const synF = 0x02

// record marks msg as one RPC record.
func record(msg []byte) []byte { return append(words(0x80000000|uint32(len(msg))), msg...) }

var sessionID = []uint32{0x11111111, 0x22222222, 0x33333333, 0x44444444}

// lookupCompound is SEQUENCE (slot 3), PUTFH, LOOKUP "f": main op LOOKUP.
func lookupCompound(xid uint32) []byte { return lookupIn(xid, sessionID) }

// lookupIn is lookupCompound in session sid.
func lookupIn(xid uint32, sid []uint32) []byte {
	b := words(xid, 0, 2, 100003, 4, 1, 0, 0, 0, 0) // AUTH_NONE
	b = append(b, words(0, 1, 3, 53)...)            // tag, minor version 1, 3 ops, SEQUENCE
	b = append(b, words(sid...)...)
	b = append(b, words(7, 3, 9, 0)...)               // sequenceid, slotid, highest_slotid, cachethis
	b = append(b, words(22, 4, 0xfeedface, 15, 1)...) // PUTFH (4-byte handle), LOOKUP name of 1 byte
	return record(append(b, 'f', 0, 0, 0))
}

// lookupNoent answers it: SEQUENCE ok (target 5), PUTFH ok, LOOKUP NFS4ERR_NOENT.
func lookupNoent(xid uint32) []byte {
	b := words(xid, 1, 0, 0, 0, 0, 2, 0, 3, 53, 0) // accepted, success; status NOENT, tag, 3 results
	b = append(b, words(sessionID...)...)
	b = append(b, words(7, 3, 9, 5, 0)...) // sequenceid, slotid, highest, target, flags
	return record(append(b, words(22, 0, 15, 2)...))
}

// cbRecall is a CB_COMPOUND of CB_SEQUENCE and CB_RECALL.
func cbRecall(xid uint32) []byte {
	b := words(xid, 0, 2, 0x40000000, 1, 1, 0, 0, 0, 0)
	b = append(b, words(0, 1, 0, 2, 11)...) // tag, minor version, callback_ident, 2 ops, CB_SEQUENCE
	b = append(b, words(sessionID...)...)
	b = append(b, words(1, 0, 0, 0, 0)...)            // sequenceid, slotid, highest, cachethis, no referring calls
	b = append(b, words(4, 1, 0, 0, 0, 0)...)         // CB_RECALL: stateid, truncate
	return record(append(b, words(4, 0xfeedface)...)) // handle
}

func cbRecallOK(xid uint32) []byte {
	b := words(xid, 1, 0, 0, 0, 0, 0, 0, 2, 11, 0)
	b = append(b, words(sessionID...)...)
	b = append(b, words(1, 0, 0, 0)...)
	return record(append(b, words(4, 0)...))
}

func TestCallbackXIDCollides(t *testing.T) {
	s := newScenario(t)
	c, sv := uint32(1000), uint32(5000)
	s.seg(0, true, c, 0, synF, 501, nil)
	s.seg(time.Millisecond, false, sv, c+1, synF|ackF, 501, nil)
	c, sv = c+1, sv+1
	s.seg(time.Millisecond, true, c, sv, ackF, 501, nil)
	const xid = 0x5eed
	send := func(dt time.Duration, toServer bool, b []byte) {
		if toServer {
			s.seg(dt, true, c, sv, ackF|pshF, 501, b)
			c += uint32(len(b))
		} else {
			s.seg(dt, false, sv, c, ackF|pshF, 501, b)
			sv += uint32(len(b))
		}
	}
	send(time.Millisecond, true, lookupCompound(xid))
	send(time.Millisecond, false, cbRecall(xid)) // the server's callback, the same XID
	send(time.Millisecond, true, cbRecallOK(xid))
	send(3*time.Millisecond, false, lookupNoent(xid))
	r := s.run(analyze.DefaultOptions())

	if r.Summary.Calls != 2 || r.Summary.Replies != 2 || r.Summary.Undecodable != 0 || r.Summary.OrphanReplies != 0 || r.Summary.Unanswered != 0 {
		t.Errorf("summary %+v, want 2 calls and 2 replies paired, nothing undecodable", r.Summary)
	}
	rows := map[string]analyze.Procedure{}
	for _, p := range r.Procedures {
		rows[p.ProgramName+" "+p.Name] = p
	}
	for name, want := range map[string]struct {
		errors int64
		ms     float64
	}{"NFS LOOKUP": {1, 5}, "NFS_CB CB_RECALL": {0, 1}} {
		p, ok := rows[name]
		if !ok {
			t.Errorf("no row %s in %+v", name, r.Procedures)
			continue
		}
		if p.Calls != 1 || p.Replies != 1 || p.Errors != want.errors || math.Abs(p.Latency.Max-want.ms) > 1e-9 {
			t.Errorf("%s: %+v, want 1 call, 1 reply, %d errors, latency %.0f ms", name, p, want.errors, want.ms)
		}
	}
	ops := map[string]analyze.Operation{}
	for _, op := range r.Operations {
		ops[op.Name] = op
	}
	for name, n := range map[string]int64{"SEQUENCE": 1, "PUTFH": 1, "LOOKUP": 1, "CB_SEQUENCE": 1, "CB_RECALL": 1} {
		if ops[name].Count != n {
			t.Errorf("operation %s: %+v, want count %d", name, ops[name], n)
		}
	}
	if ops["LOOKUP"].Errors != 1 {
		t.Errorf("LOOKUP errors %d, want 1", ops["LOOKUP"].Errors)
	}
	if len(r.NFS4Sessions) != 1 {
		t.Fatalf("sessions %+v, want 1", r.NFS4Sessions)
	}
	se := r.NFS4Sessions[0]
	if se.SessionID != "11111111222222223333333344444444" || se.Calls != 1 || se.MaxSlotsInUse != 1 || se.MaxSlotID != 3 ||
		se.HighestSlotID != 9 || se.TargetHighestSlotIDMin != 5 || se.TargetHighestSlotIDMax != 5 {
		t.Errorf("session %+v", se)
	}
}

// TestNFS4FindingsNameMainOp: a finding about an NFSv4 call names its main
// operation, as its procedure row does, not "COMPOUND".
func TestNFS4FindingsNameMainOp(t *testing.T) {
	s := newScenario(t)
	c, sv := uint32(1000), uint32(5000)
	s.seg(0, true, c, 0, synF, 501, nil)
	s.seg(time.Millisecond, false, sv, c+1, synF|ackF, 501, nil)
	c, sv = c+1, sv+1
	call := lookupCompound(9)
	s.seg(time.Millisecond, true, c, sv, ackF|pshF, 501, call)
	s.seg(2*time.Second, false, sv, c+uint32(len(call)), ackF|pshF, 501, lookupNoent(9))
	r := s.run(analyze.DefaultOptions())
	var slow []analyze.Finding
	for _, f := range r.Findings {
		if f.Kind == analyze.KindSlowReply {
			slow = append(slow, f)
		}
	}
	if len(slow) != 1 || slow[0].Procedure != "LOOKUP" || !strings.HasPrefix(slow[0].Summary, "NFSv4 LOOKUP xid 0x00000009") {
		t.Errorf("slow replies %+v, want one about NFSv4 LOOKUP xid 0x00000009", slow)
	}
}

// TestNFS4TablesBounded: sessions past Options.MaxSessions and callbacks
// past MaxCallbacks are counted in skipped, not kept.
func TestNFS4TablesBounded(t *testing.T) {
	s := newScenario(t)
	c, sv := uint32(1000), uint32(5000)
	s.seg(0, true, c, 0, synF, 501, nil)
	s.seg(time.Millisecond, false, sv, c+1, synF|ackF, 501, nil)
	c, sv = c+1, sv+1
	for xid := uint32(1); xid <= 3; xid++ {
		call := lookupIn(xid, []uint32{xid, 0, 0, 0})
		s.seg(time.Millisecond, true, c, sv, ackF|pshF, 501, call)
		c += uint32(len(call))
	}
	for xid := uint32(10); xid <= 12; xid++ { // callbacks, none answered
		cb := cbRecall(xid)
		s.seg(time.Millisecond, false, sv, c, ackF|pshF, 501, cb)
		sv += uint32(len(cb))
	}
	opts := analyze.DefaultOptions()
	opts.MaxSessions, opts.MaxCallbacks = 2, 1
	r := s.run(opts)
	if len(r.NFS4Sessions) != 2 {
		t.Errorf("%d sessions listed, want 2 (the bound)", len(r.NFS4Sessions))
	}
	skipped := map[string]analyze.Skipped{}
	for _, sk := range r.Skipped {
		skipped[sk.What] = sk
	}
	if sk := skipped["NFSv4.1 calls with SEQUENCE"]; sk.Count != 1 || !sk.Bound {
		t.Errorf("sessions skipped %+v, want 1 call, a bound", sk)
	}
	if sk := skipped["NFSv4 callbacks"]; sk.Count != 2 || !sk.Bound {
		t.Errorf("callbacks skipped %+v, want 2, a bound", sk)
	}
	found := false
	for _, p := range r.Procedures {
		if p.Name == "CB_RECALL" {
			found = true
			if p.Calls != 3 || p.Unanswered != 1 {
				t.Errorf("CB_RECALL row %+v, want 3 calls, 1 tracked and unanswered", p)
			}
		}
	}
	if !found {
		t.Errorf("no CB_RECALL row in %+v", r.Procedures)
	}
}

// TestNFS4UnansweredSaysWhat: an unanswered NFSv4 call says what its main
// operation was about, as an NFSv3 call does: the handle PUTFH made
// current, the name.
func TestNFS4UnansweredSaysWhat(t *testing.T) {
	s := newScenario(t)
	c, sv := uint32(1000), uint32(5000)
	s.seg(0, true, c, 0, synF, 501, nil)
	s.seg(time.Millisecond, false, sv, c+1, synF|ackF, 501, nil)
	c, sv = c+1, sv+1
	call := lookupCompound(4)
	s.seg(time.Millisecond, true, c, sv, ackF|pshF, 501, call)
	s.seg(3*time.Second, false, sv, c+uint32(len(call)), ackF, 501, nil)
	r := s.run(analyze.DefaultOptions())
	if len(r.Unanswered) != 1 {
		t.Fatalf("unanswered %+v", r.Unanswered)
	}
	u := r.Unanswered[0]
	if u.Procedure != "LOOKUP" || !strings.HasPrefix(u.Detail, "FH 0x") || !strings.HasSuffix(u.Detail, `name "f"`) {
		t.Errorf("unanswered %+v, want LOOKUP with its FH and name", u)
	}
}

// TestCallbackReplyWithoutCall: on an NFSv4 connection, the client's reply
// to a callback the capture does not hold is an orphan reply, not an
// undecodable record (which would make the framer look for sync again).
func TestCallbackReplyWithoutCall(t *testing.T) {
	v := newConvo(t)
	v.send(true, lookupCompound(1))
	v.send(false, lookupNoent(1))
	v.send(true, cbRecallOK(77)) // its callback was sent before the capture... or not captured
	v.send(true, lookupCompound(2))
	v.send(false, lookupNoent(2))
	r := v.s.run(analyze.DefaultOptions())
	if r.Summary.Undecodable != 0 || r.Summary.OrphanReplies != 1 || r.Summary.Calls != 2 || r.Summary.Replies != 3 {
		t.Errorf("summary %+v, want 2 calls, 3 replies of which 1 orphan, nothing undecodable", r.Summary)
	}
}

// TestCallbackStartsMidstreamJoin: joined mid-stream (no handshake), the
// server's first record is a callback: the framer takes it as the record
// boundary (its program is Linux's callback program, which the RPC
// header check alone does not know), not as bytes to pass over.
func TestCallbackStartsMidstreamJoin(t *testing.T) {
	s := newScenario(t)
	c, sv := uint32(1000), uint32(5000)
	send := func(toServer bool, b []byte) {
		if toServer {
			s.seg(time.Millisecond, true, c, sv, ackF|pshF, 501, b)
			c += uint32(len(b))
			return
		}
		s.seg(time.Millisecond, false, sv, c, ackF|pshF, 501, b)
		sv += uint32(len(b))
	}
	send(true, lookupCompound(1))
	send(false, cbRecall(40))
	send(true, cbRecallOK(40))
	send(false, lookupNoent(1))
	r := s.run(analyze.DefaultOptions())
	if r.Summary.GarbageBytes != 0 || r.Summary.Calls != 2 || r.Summary.Replies != 2 || r.Summary.OrphanReplies != 0 {
		t.Errorf("summary %+v, want the callback and the call each paired, nothing passed over", r.Summary)
	}
}
