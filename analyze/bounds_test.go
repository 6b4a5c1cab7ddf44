package analyze_test

import (
	"fmt"
	"strings"
	"testing"
	"time"

	"nfsstall/analyze"
)

// Every bound on the analysis' state, when a capture reaches it, is
// reported in Report.Skipped with its value. The tests build captures that
// just pass each bound.

// skipped returns the report's skipped entry whose What is what.
func skipped(t *testing.T, r *analyze.Report, what string) analyze.Skipped {
	t.Helper()
	for _, s := range r.Skipped {
		if s.What == what {
			return s
		}
	}
	t.Fatalf("no skipped entry %q in %+v", what, r.Skipped)
	return analyze.Skipped{}
}

func noSkipped(t *testing.T, r *analyze.Report, what string) {
	t.Helper()
	for _, s := range r.Skipped {
		if s.What == what {
			t.Errorf("skipped %+v before the bound was reached", s)
		}
	}
}

// TestBoundRecordLength: a record marker declaring a fragment above the
// largest accepted (16 MiB) is lost sync, not a 2 GiB buffer; the framer
// finds the next call and the report counts the rejected marker.
func TestBoundRecordLength(t *testing.T) {
	s := newScenario(t)
	c, sv := uint32(100), uint32(900)
	s.seg(0, true, c-1, 0, 0x02, 501, nil) // SYN: the stream starts at a record
	s.seg(time.Millisecond, false, sv-1, c, 0x12, 501, nil)
	bad := words(0x7fffffff, 1, 0, 2) // marker: a 2 GiB last fragment
	s.seg(time.Millisecond, true, c, sv, ackF|pshF, 501, bad)
	c += uint32(len(bad))
	call := readCall(7, 0, 4096)
	s.seg(time.Millisecond, true, c, sv, ackF|pshF, 501, call)
	c += uint32(len(call))
	s.seg(time.Millisecond, false, sv, c, ackF|pshF, 501, readReply(7, 4096))
	r := s.run(analyze.DefaultOptions())
	if r.Summary.Calls != 1 || r.Summary.Replies != 1 {
		t.Errorf("calls %d replies %d, want the call after the bad marker and its reply", r.Summary.Calls, r.Summary.Replies)
	}
	sk := skipped(t, r, "RPC record markers")
	if sk.Count != 1 || !strings.Contains(sk.Reason, "longer than 16777216 bytes") {
		t.Errorf("skipped %+v", sk)
	}
}

// TestBoundConnections: with room for 4 connections, the fifth open one
// is not analysed (its packets are counted), and connections that ended
// make room at once.
func TestBoundConnections(t *testing.T) {
	opts := analyze.DefaultOptions()
	opts.Limits.MaxConnections = 4
	s := newScenario(t)
	// Six connections that stay open, each a call and its reply.
	for i := range 6 {
		s.cport = uint16(700 + i)
		call := readCall(uint32(i+1), 0, 512)
		s.seg(time.Millisecond, true, 100, 900, ackF|pshF, 501, call)
		s.seg(time.Millisecond, false, 900, 100+uint32(len(call)), ackF|pshF, 501, readReply(uint32(i+1), 512))
	}
	r := s.run(opts)
	if r.Summary.Connections != 4 || r.Summary.Calls != 4 {
		t.Errorf("%d connections, %d calls; want 4 and 4", r.Summary.Connections, r.Summary.Calls)
	}
	sk := skipped(t, r, "packets")
	if sk.Count != 4 || !strings.Contains(sk.Reason, "connection table was full (4 connections tracked at once)") {
		t.Errorf("skipped %+v, want the 4 packets of the last 2 connections", sk)
	}
	noSkipped(t, r, "connections")

	// The same, but each connection ends with a RST: ended connections are
	// released early to make room, and every call is analysed.
	s = newScenario(t)
	for i := range 6 {
		s.cport = uint16(700 + i)
		call := readCall(uint32(i+1), 0, 512)
		s.seg(time.Millisecond, true, 100, 900, ackF|pshF, 501, call)
		s.seg(time.Millisecond, false, 900, 100+uint32(len(call)), ackF|pshF, 501, readReply(uint32(i+1), 512))
		s.seg(time.Millisecond, true, 100+uint32(len(call)), 0, 0x04, 0, nil)
	}
	r = s.run(opts)
	if r.Summary.Connections != 6 || r.Summary.Calls != 6 || r.Summary.Replies != 6 {
		t.Errorf("%d connections, %d calls, %d replies; want 6 of each", r.Summary.Connections, r.Summary.Calls, r.Summary.Replies)
	}
	if sk := skipped(t, r, "connections"); sk.Count != 4 || !strings.Contains(sk.Reason, "4 connections were open at once") {
		t.Errorf("skipped %+v, want the 4 connections released to make room", sk)
	}
}

// TestBoundReassembly: out-of-order segments held behind a hole are
// bounded in segments as well as bytes; past the bound the hole is
// declared lost, and the report says so with the limits.
func TestBoundReassembly(t *testing.T) {
	opts := analyze.DefaultOptions()
	opts.Limits.QueueSegments = 8
	s := newScenario(t)
	c, sv := uint32(100), uint32(900)
	s.seg(0, true, c-1, 0, 0x02, 501, nil)
	// A hole of 4 bytes, then 10 one-byte segments behind it.
	for i := range 10 {
		s.seg(time.Millisecond, true, c+4+uint32(i), sv, ackF, 501, []byte{byte(i)})
	}
	r := s.run(opts)
	sk := skipped(t, r, "stream holes")
	if sk.Count != 1 || !strings.Contains(sk.Reason, "8 segments per direction") {
		t.Errorf("skipped %+v", sk)
	}
}

// TestBoundFindingsListed: findings of one kind past the first 1000 are
// counted, not listed; the summary counts them all.
func TestBoundFindingsListed(t *testing.T) {
	s := newScenario(t)
	c, sv := uint32(100), uint32(900)
	const episodes = 1005
	for range episodes {
		s.seg(time.Millisecond, true, c, sv, ackF, 0, nil) // the client's window closes
		s.seg(time.Millisecond, true, c, sv, ackF, 501, nil)
	}
	r := s.run(analyze.DefaultOptions())
	if r.Summary.ZeroWindowEpisodes != episodes {
		t.Errorf("%d zero-window episodes counted, want %d", r.Summary.ZeroWindowEpisodes, episodes)
	}
	n := 0
	for _, f := range r.Findings {
		if f.Kind == analyze.KindZeroWindow {
			n++
		}
	}
	if n != 1000 {
		t.Errorf("%d zero_window findings listed, want 1000", n)
	}
	if sk := skipped(t, r, "zero_window findings"); sk.Count != episodes-1000 {
		t.Errorf("skipped %+v", sk)
	}
}

// TestBoundCallsWatchedForACK: a connection whose server ACKs nothing
// watches at most 4096 calls for their ACK.
func TestBoundCallsWatchedForACK(t *testing.T) {
	s := newScenario(t)
	c, sv := uint32(100), uint32(900)
	const calls = 4100
	for i := range calls {
		call := readCall(uint32(i+1), uint64(i)*4096, 4096)
		s.seg(time.Microsecond, true, c, sv, ackF|pshF, 501, call)
		c += uint32(len(call))
	}
	r := s.run(analyze.DefaultOptions())
	if r.Summary.Calls != calls {
		t.Fatalf("%d calls", r.Summary.Calls)
	}
	if sk := skipped(t, r, "calls watched for their TCP ACK"); sk.Count != calls-4096 || !strings.Contains(sk.Reason, "4096") {
		t.Errorf("skipped %+v", sk)
	}
}

// TestBoundTCPEvidence: a sender whose peer ACKs nothing is remembered for
// its last 4096 transmissions, and at most 256 re-sent runs are followed.
func TestBoundTCPEvidence(t *testing.T) {
	s := newScenario(t)
	c, sv := uint32(100), uint32(900)
	const sent, resent = 4200, 300
	seg := []byte(strings.Repeat("x", 10))
	for i := range sent {
		s.seg(time.Microsecond, false, sv+uint32(i*len(seg)), c, ackF, 501, seg)
	}
	// Re-send the first 300 segments, each its own run, late enough not
	// to count as out-of-order.
	for i := range resent {
		s.seg(10*time.Millisecond, false, sv+uint32(i*len(seg)), c, ackF, 501, seg)
	}
	r := s.run(analyze.DefaultOptions())
	sk := skipped(t, r, "TCP transmissions")
	if sk.Count < sent-4096 || !strings.Contains(sk.Reason, "more than 4096") {
		t.Errorf("skipped %+v, want at least %d", sk, sent-4096)
	}
	if sk := skipped(t, r, "TCP re-sends"); sk.Count != resent-256 || !strings.Contains(sk.Reason, "256 re-sent runs") {
		t.Errorf("skipped %+v, want %d", sk, resent-256)
	}
	n := 0
	for _, f := range r.Findings {
		if f.Kind == analyze.KindUnackedRetran {
			n++
		}
	}
	if n != 256 {
		t.Errorf("%d unacked_retransmission findings, want 256", n)
	}
}

// TestBoundCallsTracked: the calls waiting for a reply are bounded
// (Options.MaxCalls); past it, calls are counted and reported untracked.
func TestBoundCallsTracked(t *testing.T) {
	opts := analyze.DefaultOptions()
	opts.MaxCalls = 10
	s := newScenario(t)
	c, sv := uint32(100), uint32(900)
	for i := range 15 {
		call := readCall(uint32(i+1), 0, 512)
		s.seg(time.Microsecond, true, c, sv, ackF|pshF, 501, call)
		c += uint32(len(call))
	}
	r := s.run(opts)
	if r.Summary.Calls != 15 || r.Summary.Unanswered != 10 {
		t.Errorf("calls %d unanswered %d, want 15 and 10", r.Summary.Calls, r.Summary.Unanswered)
	}
	if sk := skipped(t, r, "RPC calls"); sk.Count != 5 || !strings.Contains(sk.Reason, fmt.Sprint(10)) {
		t.Errorf("skipped %+v", sk)
	}
}
