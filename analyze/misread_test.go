package analyze_test

import (
	"bytes"
	"testing"
	"time"

	"nfsstall/analyze"
)

// gssCallMsg is a record-marked NFSv3 GETATTR call with an RPCSEC_GSS
// krb5i credential (version 1, DATA, sequence seq, integrity, a 32-byte
// context handle) and a 28-byte MIC verifier, then pad argument bytes.
func gssCallMsg(xid, seq uint32, pad int) []byte {
	cred := append(words(1, 0, seq, 2, 32), bytes.Repeat([]byte{0xc7}, 32)...)
	msg := words(xid, 0, 2, 100003, 3, 1, 6, uint32(len(cred)))
	msg = append(msg, cred...)
	msg = append(msg, words(6, 28)...)
	msg = append(msg, bytes.Repeat([]byte{0xee}, 28)...)
	msg = append(msg, make([]byte, pad)...)
	return append(words(0x80000000|uint32(len(msg))), msg...)
}

// gssReplyMsg is a record-marked accepted reply whose verifier is a
// 28-byte RPCSEC_GSS MIC (a 52-byte header), then n result bytes.
func gssReplyMsg(xid uint32, n int) []byte {
	msg := append(words(xid, 1, 0, 6, 28), bytes.Repeat([]byte{0xee}, 28)...)
	msg = append(msg, words(0)...)
	msg = append(msg, make([]byte, n)...)
	return append(words(0x80000000|uint32(len(msg))), msg...)
}

// A connection joined mid-stream (no SYN) whose first call and reply carry
// RPCSEC_GSS credentials and verifiers: both directions are resynced past
// the tail of earlier messages, and the calls are paired with their
// replies, none left unanswered.
func TestMidStreamRPCSECGSS(t *testing.T) {
	for _, n := range []int{100, 3000} { // replies shorter and longer than the search window
		s := newScenario(t)
		c, sv := uint32(7000), uint32(90000)
		tail := bytes.Repeat([]byte{0x5a, 0, 0, 1}, 30) // the end of earlier messages
		// The tails come first, then two exchanges.
		s.seg(0, true, c, sv, ackF|pshF, 501, tail)
		c += uint32(len(tail))
		s.seg(time.Millisecond, false, sv, c, ackF|pshF, 501, tail)
		sv += uint32(len(tail))
		for i, xid := range []uint32{0x5001, 0x5002} {
			call := gssCallMsg(xid, uint32(10+i), 8)
			s.seg(time.Millisecond, true, c, sv, ackF|pshF, 501, call)
			c += uint32(len(call))
			reply := gssReplyMsg(xid, n)
			for off := 0; off < len(reply); off += 1448 {
				seg := reply[off:min(off+1448, len(reply))]
				s.seg(100*time.Microsecond, false, sv, c, ackF|pshF, 501, seg)
				sv += uint32(len(seg))
			}
		}
		s.seg(time.Millisecond, true, c, sv, ackF, 501, nil)
		r := s.run(analyze.DefaultOptions())
		if r.Summary.Calls != 2 || r.Summary.Replies != 2 || r.Summary.Unanswered != 0 || r.Summary.OrphanReplies != 0 {
			t.Errorf("replies of %d bytes: %d calls, %d replies, %d unanswered, %d orphans; want 2, 2, 0, 0",
				n, r.Summary.Calls, r.Summary.Replies, r.Summary.Unanswered, r.Summary.OrphanReplies)
		}
		if r.Summary.GarbageBytes != 2*int64(len(tail)) || r.Summary.Undecodable != 0 {
			t.Errorf("replies of %d bytes: %d garbage bytes, %d undecodable; want %d and 0", n, r.Summary.GarbageBytes, r.Summary.Undecodable, 2*len(tail))
		}
	}
}
