package analyze_test

import (
	"bytes"
	"fmt"
	"net"
	"strings"
	"testing"
	"time"

	"github.com/nfsstall/nfsstall/analyze"
	"github.com/nfsstall/nfsstall/report"
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
	for _, n := range []int{100, 3000} { // calls and replies shorter and longer than the search window
		s := newScenario(t)
		c, sv := uint32(7000), uint32(90000)
		tail := bytes.Repeat([]byte{0x5a, 0, 0, 1}, 30) // the end of earlier messages
		// The tails come first, then two exchanges.
		s.seg(0, true, c, sv, ackF|pshF, 501, tail)
		c += uint32(len(tail))
		s.seg(time.Millisecond, false, sv, c, ackF|pshF, 501, tail)
		sv += uint32(len(tail))
		for i, xid := range []uint32{0x5001, 0x5002} {
			call := gssCallMsg(xid, uint32(10+i), n)
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

// exchange writes a call and its reply (either may be nil) on the
// scenario's connection, whose next sequence numbers are *c and *sv, and
// returns their frames.
func (s *scenario) exchange(c, sv *uint32, call, reply []byte) (callFrame, replyFrame int64) {
	if call != nil {
		callFrame = s.seg(time.Millisecond, true, *c, *sv, ackF|pshF, 501, call)
		*c += uint32(len(call))
	}
	if reply != nil {
		replyFrame = s.seg(time.Millisecond, false, *sv, *c, ackF|pshF, 501, reply)
		*sv += uint32(len(reply))
	}
	return callFrame, replyFrame
}

// handshake opens a connection from the scenario's client port.
func (s *scenario) handshake(c, sv uint32) {
	s.seg(time.Millisecond, true, c-1, 0, 0x02, 501, nil)
	s.seg(time.Millisecond, false, sv-1, c, 0x12, 501, nil)
	s.seg(time.Millisecond, true, c, sv, ackF, 501, nil)
}

func skippedWith(r *analyze.Report, what, reason string) (analyze.Skipped, bool) {
	for _, s := range r.Skipped {
		if s.What == what && strings.Contains(s.Reason, reason) {
			return s, true
		}
	}
	return analyze.Skipped{}, false
}

func procRetrans(r *analyze.Report, name string) int64 {
	for _, p := range r.Procedures {
		if p.Name == name {
			return p.Retransmits
		}
	}
	return -1
}

// A call re-sent with its XID after its reply (a replay: the client did
// not get the reply) is an RPC retransmission, on the same connection or
// after a reconnect, and then waits for a reply of its own. The same XID
// from another client, or for another procedure, is a new call.
func TestReplayAfterReply(t *testing.T) {
	const xid = 0x7701
	t.Run("same connection", func(t *testing.T) {
		s := newScenario(t)
		c, sv := uint32(100), uint32(900)
		s.handshake(c, sv)
		call1, reply1 := s.exchange(&c, &sv, readCall(xid, 0, 512), readReply(xid, 512))
		call2, _ := s.exchange(&c, &sv, readCall(xid, 0, 512), readReply(xid, 512))
		r := s.run(analyze.DefaultOptions())
		if r.Summary.RPCRetransmissions != 1 || procRetrans(r, "READ") != 1 || r.Summary.Calls != 2 || r.Summary.Replies != 2 ||
			r.Summary.Unanswered != 0 || r.Summary.OrphanReplies != 0 {
			t.Errorf("summary %+v, READ retransmissions %d; want 1 retransmission, 2 calls paired", r.Summary, procRetrans(r, "READ"))
		}
		k := findKinds(r)["rpc_retransmission"]
		if len(k) != 1 || !sameFrames(k[0].Frames, frameList(call1, reply1, call2)) || k[0].XID == nil || *k[0].XID != xid ||
			!strings.Contains(k[0].Summary, fmt.Sprintf("was re-sent on the same connection at frame %d, 1.00 ms after its reply at frame %d", call2, reply1)) {
			t.Errorf("rpc_retransmission findings %+v", k)
		}
	})
	t.Run("after a reconnect", func(t *testing.T) {
		s := newScenario(t)
		c, sv := uint32(100), uint32(900)
		s.handshake(c, sv)
		call1, reply1 := s.exchange(&c, &sv, readCall(xid, 0, 512), readReply(xid, 512))
		s.seg(time.Millisecond, true, c, 0, 0x04, 0, nil) // RST before the client read the reply
		s.cport++
		c, sv = 5000, 70000
		s.handshake(c, sv)
		call2, _ := s.exchange(&c, &sv, readCall(xid, 0, 512), nil)
		s.seg(time.Millisecond, false, sv, c, ackF, 501, nil) // the server's TCP ACKs it, no reply comes
		s.seg(5*time.Second, true, c, sv, ackF, 501, nil)
		r := s.run(analyze.DefaultOptions())
		if r.Summary.RPCRetransmissions != 1 || r.Summary.Unanswered != 1 || len(r.Unanswered) != 1 || r.Unanswered[0].Frame != call2 {
			t.Errorf("summary %+v, unanswered %+v; want 1 retransmission, the replay unanswered", r.Summary, r.Unanswered)
		}
		k := findKinds(r)["rpc_retransmission"]
		if len(k) != 1 || k[0].Connection != 2 || !sameFrames(k[0].Frames, frameList(call1, reply1, call2)) ||
			!strings.Contains(k[0].Summary, fmt.Sprintf("re-sent after a reconnect (connection 1, then 2) at frame %d", call2)) ||
			!strings.Contains(k[0].Summary, fmt.Sprintf("after its reply at frame %d", reply1)) {
			t.Errorf("rpc_retransmission findings %+v", k)
		}
		if len(r.Diagnoses) != 1 || r.Diagnoses[0].Connection != 2 || r.Diagnoses[0].Verdict != analyze.VerdictServerNotReplying {
			t.Errorf("diagnoses %+v", r.Diagnoses)
		}
	})
	t.Run("two clients, one XID", func(t *testing.T) {
		s := newScenario(t)
		c, sv := uint32(100), uint32(900)
		s.handshake(c, sv)
		s.exchange(&c, &sv, readCall(xid, 0, 512), readReply(xid, 512))
		s.cli = net.IP{198, 18, 0, 9} // another client, same port and XID
		c, sv = 100, 900
		s.handshake(c, sv)
		s.exchange(&c, &sv, readCall(xid, 0, 512), readReply(xid, 512))
		r := s.run(analyze.DefaultOptions())
		if r.Summary.Connections != 2 || r.Summary.RPCRetransmissions != 0 || r.Summary.Replies != 2 || r.Summary.Unanswered != 0 ||
			len(findKinds(r)["rpc_retransmission"]) != 0 {
			t.Errorf("summary %+v, findings %+v; want 2 connections, no retransmission", r.Summary, r.Findings)
		}
	})
	t.Run("two clients, one XID, both waiting", func(t *testing.T) {
		s := newScenario(t)
		c1, sv1 := uint32(100), uint32(900)
		s.handshake(c1, sv1)
		s.exchange(&c1, &sv1, readCall(xid, 0, 512), nil)
		s.cli = net.IP{198, 18, 0, 9}
		c2, sv2 := uint32(100), uint32(900)
		s.handshake(c2, sv2)
		s.exchange(&c2, &sv2, readCall(xid, 0, 512), readReply(xid, 512))
		s.cli = nil
		s.seg(time.Millisecond, false, sv1, c1, ackF|pshF, 501, readReply(xid, 512))
		r := s.run(analyze.DefaultOptions())
		if r.Summary.RPCRetransmissions != 0 || r.Summary.Replies != 2 || r.Summary.Unanswered != 0 || r.Summary.OrphanReplies != 0 {
			t.Errorf("summary %+v; want each client's call paired with its own reply", r.Summary)
		}
	})
	t.Run("XID reused for another procedure", func(t *testing.T) {
		s := newScenario(t)
		c, sv := uint32(100), uint32(900)
		s.handshake(c, sv)
		s.exchange(&c, &sv, readCall(xid, 0, 512), readReply(xid, 512))
		s.exchange(&c, &sv, lookupCall(xid, "a"), readReply(xid, 0)) // answered READ, then LOOKUP: a new call
		s.exchange(&c, &sv, readCall(xid+1, 0, 512), nil)
		s.exchange(&c, &sv, lookupCall(xid+1, "b"), readReply(xid+1, 0)) // waiting READ, then LOOKUP
		r := s.run(analyze.DefaultOptions())
		if r.Summary.RPCRetransmissions != 0 || procRetrans(r, "READ") != 0 || procRetrans(r, "LOOKUP") != 0 ||
			r.Summary.Calls != 4 || r.Summary.Replies != 3 || r.Summary.Unanswered != 0 || len(findKinds(r)["rpc_retransmission"]) != 0 {
			t.Errorf("summary %+v, findings %+v; want no retransmission", r.Summary, r.Findings)
		}
		if sk, ok := skippedWith(r, "RPC calls", "for another procedure"); !ok || sk.Count != 1 {
			t.Errorf("skipped %+v: want the waiting READ counted as superseded", r.Skipped)
		}
		var lookups int64
		for _, p := range r.Procedures {
			if p.Name == "LOOKUP" {
				lookups = p.Replies
			}
		}
		if lookups != 2 {
			t.Errorf("%d LOOKUP replies, want 2", lookups)
		}
	})
}

// An RPC record still open at the end of the capture (its declared length
// runs past the last byte captured) is counted in skipped, per direction,
// with what its header says; a reply begun to a call still waiting is told
// on that call instead.
func TestOpenRecordAtEnd(t *testing.T) {
	s := newScenario(t)
	c, sv := uint32(100), uint32(900)
	s.handshake(c, sv)
	s.exchange(&c, &sv, readCall(0xa2, 0, 4000), nil)
	s.seg(time.Millisecond, false, sv, c, ackF|pshF, 501, append(readReplyHead(0xa2, 4000), make([]byte, 100)...))
	writeFrame, _ := s.exchange(&c, &sv, writeCall(0xa1, 4000)[:600], nil)
	s.cport++
	c, sv = 100, 900
	s.handshake(c, sv)
	replyFrame := s.seg(time.Millisecond, false, sv, c, ackF|pshF, 501, append(readReplyHead(0xb1, 4000), make([]byte, 100)...))
	r := s.run(analyze.DefaultOptions())

	if len(r.Unanswered) != 1 || r.Unanswered[0].XID != 0xa2 || !strings.Contains(r.Unanswered[0].ReplyPartial, "reply incomplete") {
		t.Errorf("unanswered %+v: want READ 0xa2 with its incomplete reply", r.Unanswered)
	}
	for _, tt := range []struct {
		what string
		want []string
	}{
		{"RPC records client->server", []string{fmt.Sprintf("connection 1 at frame %d: NFSv3 WRITE call xid 0x000000a1, 596 of ", writeFrame)}},
		{"RPC records server->client", []string{fmt.Sprintf("connection 2 at frame %d: reply xid 0x000000b1, 144 of 4044 bytes", replyFrame)}},
	} {
		sk, ok := skippedWith(r, tt.what, "still open when their connection or the capture ended")
		if !ok || sk.Count != 1 {
			t.Errorf("%s: skipped %+v", tt.what, r.Skipped)
			continue
		}
		for _, w := range tt.want {
			if !strings.Contains(sk.Reason, w) {
				t.Errorf("%s: %q lacks %q", tt.what, sk.Reason, w)
			}
		}
		if strings.Contains(sk.Reason, "0x000000a2") {
			t.Errorf("%s: the incomplete reply to a waiting call is counted: %q", tt.what, sk.Reason)
		}
	}
}

// answerLine is the text report's one-line answer, in its header.
func answerLine(t *testing.T, r *analyze.Report) string {
	t.Helper()
	var b bytes.Buffer
	if err := report.Text(&b, r); err != nil {
		t.Fatal(err)
	}
	head, _, _ := strings.Cut(b.String(), "\n\n")
	for _, l := range strings.Split(head, "\n") {
		if l = strings.TrimSpace(l); strings.HasPrefix(l, "no stall found") || strings.HasPrefix(l, "STALL:") {
			return l
		}
	}
	t.Fatalf("no answer in the header:\n%s", head)
	return ""
}

// When tracking had to stop at a bound (connections refused because the
// table was full of connections carrying RPC, calls not tracked for a
// reply), no stall found is said of what was tracked, with what was not:
// never a bare "no stall found".
func TestAnswerSaysWhatWasNotTracked(t *testing.T) {
	// Six connections that stay open, each a call and its reply, with room
	// for four: the last two are refused.
	s := newScenario(t)
	for i := range 6 {
		s.cport = uint16(700 + i)
		c, sv := uint32(100), uint32(900)
		s.exchange(&c, &sv, readCall(uint32(i+1), 0, 512), readReply(uint32(i+1), 512))
	}
	opts := analyze.DefaultOptions()
	opts.Limits.MaxConnections = 4
	r := s.run(opts)
	want := "no stall found among the tracked connections and calls; not analysed: 4 packets of new connections refused while the connection table was full (4 connections at once, the most tracked)"
	if got := answerLine(t, r); got != want {
		t.Errorf("answer\n%s\nwant\n%s", got, want)
	}
	if u := r.Untracked; u == nil || u.RefusedPackets != 4 || u.MaxConnections != 4 || u.Calls != 0 {
		t.Errorf("untracked %+v", u)
	}

	// Three calls waiting at once, two tracked; all answered.
	s = newScenario(t)
	c, sv := uint32(100), uint32(900)
	for i := range 3 {
		s.exchange(&c, &sv, readCall(uint32(i+1), 0, 512), nil)
	}
	for i := range 3 {
		s.exchange(&c, &sv, nil, readReply(uint32(i+1), 512))
	}
	opts = analyze.DefaultOptions()
	opts.MaxCalls = 2
	r = s.run(opts)
	want = "no stall found among the tracked connections and calls; not analysed: 1 RPC call not tracked for a reply (2 waiting at once in all, 16384 per connection)"
	if got := answerLine(t, r); got != want {
		t.Errorf("answer\n%s\nwant\n%s", got, want)
	}

	// Nothing left out: the bare answer.
	s = newScenario(t)
	c, sv = 100, 900
	s.exchange(&c, &sv, readCall(1, 0, 512), readReply(1, 512))
	if r := s.run(analyze.DefaultOptions()); answerLine(t, r) != "no stall found" || r.Untracked != nil {
		t.Errorf("answer %q, untracked %+v", answerLine(t, r), r.Untracked)
	}
}
