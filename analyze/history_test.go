package analyze_test

import (
	"bytes"
	"encoding/json"
	"errors"
	"io"
	"runtime"
	"strings"
	"testing"
	"time"

	"github.com/nfsstall/nfsstall/analyze"
	"github.com/nfsstall/nfsstall/capture"
	"github.com/nfsstall/nfsstall/internal/advconn"
)

// runPeak analyses a generated capture and returns the report and the
// largest live heap (after a GC) seen every `every` packets and at the end.
func runPeak(t *testing.T, opts analyze.Options, capBytes []byte, every int64) (*analyze.Report, uint64) {
	t.Helper()
	in, err := capture.OpenInputs([]string{"-"}, bytes.NewReader(capBytes))
	if err != nil {
		t.Fatal(err)
	}
	defer in.Close()
	base := liveHeap()
	var peak uint64
	a := analyze.New(opts)
	var p capture.Packet
	for n := int64(1); ; n++ {
		err := in.Next(&p)
		if errors.Is(err, io.EOF) {
			break
		}
		if err != nil {
			t.Fatal(err)
		}
		a.Packet(&p)
		if n%every == 0 {
			peak = max(peak, liveHeap())
		}
	}
	r := a.Finish(in.Captures())
	peak = max(peak, liveHeap())
	runtime.KeepAlive(a)
	return r, max(peak, base) - base
}

func liveHeap() uint64 {
	var ms runtime.MemStats
	runtime.GC()
	runtime.ReadMemStats(&ms)
	return ms.HeapAlloc
}

func generate(t *testing.T, write func(io.Writer, int) error, n int) []byte {
	t.Helper()
	var b bytes.Buffer
	if err := write(&b, n); err != nil {
		t.Fatal(err)
	}
	return b.Bytes()
}

// TestShortConnectionsFold: closed connections with nothing to report fold
// into totals as they close: five times the connections cost the same live
// heap and give a report of the same size, with every call, reply and
// connection still counted. (Both sizes fill the other bounded tables: the
// answered calls remembered, the client and server pairs summed apart.)
func TestShortConnectionsFold(t *testing.T) {
	var sizes [2]int
	var peaks [2]uint64
	for i, n := range []int{20000, 100000} {
		// A table of 1,000 connections open at once: what it holds is
		// bounded apart (MaxConnections); what is measured is what the
		// closed ones leave behind.
		opts := analyze.DefaultOptions()
		opts.Limits.MaxConnections = 1000
		r, peak := runPeak(t, opts, generate(t, advconn.Short, n), 5000)
		if r.Summary.Connections != n || r.Summary.Calls != int64(n) || r.Summary.Replies != int64(n) {
			t.Errorf("n=%d: %d connections, %d calls, %d replies", n, r.Summary.Connections, r.Summary.Calls, r.Summary.Replies)
		}
		if len(r.Connections) != analyze.DefaultMaxConnsListed {
			t.Errorf("n=%d: %d connections listed, want %d", n, len(r.Connections), analyze.DefaultMaxConnsListed)
		}
		total := int64(len(r.Connections))
		for _, g := range r.ConnectionGroups {
			total += g.Connections
		}
		if total != int64(n) {
			t.Errorf("n=%d: listed and grouped connections add up to %d", n, total)
		}
		sk := skipped(t, r, "connections listed")
		if sk.Count != int64(n-analyze.DefaultMaxConnsListed) {
			t.Errorf("n=%d: skipped %+v", n, sk)
		}
		b, err := json.Marshal(r)
		if err != nil {
			t.Fatal(err)
		}
		sizes[i], peaks[i] = len(b), peak
	}
	t.Logf("report %d and %d bytes, live heap peak %d and %d bytes", sizes[0], sizes[1], peaks[0], peaks[1])
	if sizes[1] > sizes[0]*102/100 {
		t.Errorf("report of 100,000 connections %d bytes, of 20,000 %d", sizes[1], sizes[0])
	}
	if peaks[1] > 16<<20 || peaks[1] > peaks[0]+1<<20 {
		t.Errorf("live heap peak %d bytes for 100,000 connections, %d for 20,000", peaks[1], peaks[0])
	}
}

// TestFoldingKeepsTheDiagnosis: folding closed connections away as they
// close (here all but one) changes no finding, verdict, unanswered call or
// count of any capture in testdata/pcaps: what capture-loss reasoning
// needs of a folded connection is kept per client and server.
func TestFoldingKeepsTheDiagnosis(t *testing.T) {
	for _, path := range realTCPCaptures(t) {
		l := loadCapture(t, path)
		all := func(int) bool { return true }
		full := l.analyse(analyze.DefaultOptions(), all)
		opts := analyze.DefaultOptions()
		opts.MaxConnsListed = 1
		folded := l.analyse(opts, all)
		for _, part := range []struct {
			name string
			a, b any
		}{
			{"summary", full.Summary, folded.Summary},
			{"findings", full.Findings, folded.Findings},
			{"diagnoses", full.Diagnoses, folded.Diagnoses},
			{"unanswered", full.Unanswered, folded.Unanswered},
			{"procedures", full.Procedures, folded.Procedures},
			{"completeness", full.Completeness, folded.Completeness},
		} {
			x, _ := json.Marshal(part.a)
			y, _ := json.Marshal(part.b)
			if !bytes.Equal(x, y) {
				t.Errorf("%s: %s differ when connections fold:\n%s\n%s", path, part.name, x, y)
			}
		}
		named := map[int]bool{}
		for _, c := range folded.Connections {
			named[c.ID] = true
		}
		for _, f := range folded.Findings {
			if !named[f.Connection] {
				t.Errorf("%s: finding names connection %d, not listed", path, f.Connection)
			}
		}
		for _, d := range folded.Diagnoses {
			if !named[d.Connection] {
				t.Errorf("%s: diagnosis names connection %d, not listed", path, d.Connection)
			}
		}
	}
}

// TestEvidenceTotals: per-connection evidence has totals across
// connections: 200 connections each with 4,096 unACKed segments each way
// hold no more transmissions than tcpflow.Limits.SentTotal at once, the
// live heap stays bounded, and the report says what the total dropped,
// with its value.
func TestEvidenceTotals(t *testing.T) {
	capture := generate(t, advconn.Unacked, 200)
	opts := analyze.DefaultOptions()
	opts.Limits.SentTotal = 1 << 15
	r, peak := runPeak(t, opts, capture, 200000)
	t.Logf("live heap peak %d bytes", peak)
	if peak > 16<<20 {
		t.Errorf("live heap peak %d bytes for 200 connections of unACKed segments", peak)
	}
	sk, ok := skippedWith(r, "TCP transmissions", "all connections together remembered 32768")
	if !ok || sk.Count == 0 {
		t.Errorf("no skipped entry for the total of transmissions remembered: %+v", r.Skipped)
	}
	// Compare: 8 connections stay under the total and skip nothing for it.
	r, _ = runPeak(t, opts, generate(t, advconn.Unacked, 4), 1<<40)
	if sk, ok := skippedWith(r, "TCP transmissions", "all connections together"); ok {
		t.Errorf("skipped %+v below the total", sk)
	}
}

// TestWatchedTotal: the calls watched for the server's ACK are bounded in
// all, and what the bound forgets is reported with its value.
func TestWatchedTotal(t *testing.T) {
	opts := analyze.DefaultOptions()
	opts.MaxWatchedTotal = 1000
	r, _ := runPeak(t, opts, generate(t, advconn.Combined, 100), 1<<40)
	sk, ok := skippedWith(r, "calls watched for their TCP ACK", "all connections together watched 1000 calls")
	if !ok || sk.Count == 0 {
		t.Errorf("no skipped entry for the total of calls watched: %+v", r.Skipped)
	}
}

// TestClosedKeptForCalls: connections that close with a call still
// waiting are kept for it up to Options.MaxClosedKept; past it the least
// recently active half give their calls up (reported with the bound), so
// never-answered calls on ever new connections cost bounded memory.
func TestClosedKeptForCalls(t *testing.T) {
	opts := analyze.DefaultOptions()
	opts.Limits.MaxConnections = 100
	opts.Limits.CloseIdle = 100e6 // released idle after 100 ms, to make room
	opts.MaxClosedKept = 64
	opts.MaxPairs = 256 // bounded apart: every connection here is a pair of its own
	var peaks [2]uint64
	for i, n := range []int{2000, 10000} {
		r, peak := runPeak(t, opts, generate(t, advconn.NeverClosed, n), 10000)
		peaks[i] = peak
		if r.Summary.Connections != n || r.Summary.Calls != int64(n) {
			t.Errorf("n=%d: %d connections, %d calls", n, r.Summary.Connections, r.Summary.Calls)
		}
		sk, ok := skippedWith(r, "RPC calls", "64 closed connections were kept")
		if !ok || sk.Count+r.Summary.Unanswered != int64(n) {
			t.Errorf("n=%d: %d unanswered, skipped %+v: want them to add up to %d", n, r.Summary.Unanswered, sk, n)
		}
		if r.Summary.Unanswered > 100+64 {
			t.Errorf("n=%d: %d calls still tracked at the end, want at most the open and the kept connections'", n, r.Summary.Unanswered)
		}
	}
	t.Logf("live heap peak %d and %d bytes", peaks[0], peaks[1])
	if peaks[1] > peaks[0]+1<<20 {
		t.Errorf("live heap peak %d bytes for 10,000 connections, %d for 2,000", peaks[1], peaks[0])
	}
}

// TestBudget: the bounds scale with the memory budget, and at the default
// the adversarial combination of every table full (10,000 connections
// with calls, full reassembly queues, 8 MiB of fragments) stays within
// the heap the budget allows (three quarters of it, the command's soft
// limit).
func TestBudget(t *testing.T) {
	d, b := analyze.Budget(analyze.DefaultMemory), analyze.Budget(4*analyze.DefaultMemory)
	if d.Limits != analyze.DefaultOptions().Limits || d.MaxCalls != analyze.DefaultOptions().MaxCalls {
		t.Errorf("Budget(DefaultMemory) is not DefaultOptions")
	}
	for _, c := range []struct {
		name   string
		at, x4 int
	}{
		{"connections", d.Limits.MaxConnections, b.Limits.MaxConnections},
		{"calls", d.MaxCalls, b.MaxCalls},
		{"closed kept", d.MaxClosedKept, b.MaxClosedKept},
		{"queue bytes", d.Limits.QueueTotal, b.Limits.QueueTotal},
		{"queue segments", d.Limits.QueueSegmentsTotal, b.Limits.QueueSegmentsTotal},
		{"fragment bytes", d.Limits.FragBytes, b.Limits.FragBytes},
		{"sent log", d.Limits.SentTotal, b.Limits.SentTotal},
		{"re-sent runs", d.Limits.RetransTotal, b.Limits.RetransTotal},
		{"zero windows", d.Limits.ZeroWinTotal, b.Limits.ZeroWinTotal},
		{"watched", d.MaxWatchedTotal, b.MaxWatchedTotal},
		{"records", d.MaxRecordsTotal, b.MaxRecordsTotal},
		{"pairs", d.MaxPairs, b.MaxPairs},
		{"procedures", d.MaxProcs, b.MaxProcs},
		{"latencies", d.LatencySamples, b.LatencySamples},
	} {
		if c.x4 != 4*c.at {
			t.Errorf("%s: %d at the default budget, %d at four times it", c.name, c.at, c.x4)
		}
	}
	r, peak := runPeak(t, d, generate(t, advconn.Combined, 10000), 50000)
	t.Logf("combined: live heap peak %d bytes", peak)
	if peak > analyze.DefaultMemory*3/4 {
		t.Errorf("combined: live heap peak %d bytes, over three quarters of the %d-byte budget", peak, analyze.DefaultMemory)
	}
	if r.Summary.Connections < 10000 {
		t.Errorf("combined: %d connections", r.Summary.Connections)
	}
}

// TestProcedureRowsBounded: calls of ever new procedures (hostile input
// can name 2^96) get rows up to Options.MaxProcs; the rest are counted in
// one row, and the latencies kept exactly are bounded in all.
func TestProcedureRowsBounded(t *testing.T) {
	s := newScenario(t)
	c, sv := uint32(100), uint32(900)
	s.handshake(c, sv)
	const n = 300
	for i := range uint32(n) {
		msg := words(i+1, 0, 2, 100003+i, 1, 0, 0, 0, 0, 0)
		call := append(words(0x80000000|uint32(len(msg))), msg...)
		reply := words(0x80000000|24, i+1, 1, 0, 0, 0, 0)
		s.exchange(&c, &sv, call, reply)
	}
	opts := analyze.DefaultOptions()
	opts.MaxProcs = 100
	opts.LatencySamples = 50
	r := s.run(opts)
	if r.Summary.Calls != n || r.Summary.Replies != n {
		t.Errorf("%d calls, %d replies", r.Summary.Calls, r.Summary.Replies)
	}
	if len(r.Procedures) != 101 {
		t.Errorf("%d procedure rows, want 100 and the row of the others", len(r.Procedures))
	}
	var calls int64
	for _, p := range r.Procedures {
		calls += p.Calls
	}
	if calls != n {
		t.Errorf("procedure rows count %d calls", calls)
	}
	if sk, ok := skippedWith(r, "procedure rows", "100 procedures already had rows"); !ok || sk.Count != 2*(n-100) {
		t.Errorf("skipped %+v", r.Skipped)
	}
	if _, ok := skippedWith(r, "exact latencies", "held 50 latencies exactly"); !ok {
		t.Errorf("no skipped entry for the latencies held exactly: %+v", r.Skipped)
	}
}

// TestFoldedCaptureLossStillCounts: bytes from the server that the capture
// missed, on a connection that closed and folded away, may still hold the
// reply to a call waiting on another connection between the same client
// and server: the call's finding is the same warning, naming the folded
// connection, whether it folded or not.
func TestFoldedCaptureLossStillCounts(t *testing.T) {
	s := newScenario(t)
	// Connection 1: a call never answered; the connection stays open.
	s.cport = 700
	c, sv := uint32(100), uint32(900)
	s.handshake(c, sv)
	s.exchange(&c, &sv, readCall(1, 0, 512), nil)
	s.seg(time.Millisecond, false, sv, c, ackF, 501, nil)
	// Connection 2, same client and server: a call and its reply, then the
	// client ACKs 100 bytes from the server the capture never saw, and
	// resets the connection.
	s.cport = 701
	c, sv = 100, 900
	s.handshake(c, sv)
	s.exchange(&c, &sv, readCall(2, 0, 512), readReply(2, 512))
	s.seg(time.Millisecond, true, c, sv+100, ackF, 501, nil)
	s.seg(time.Millisecond, true, c, 0, 0x04, 0, nil)
	// Connections 3 to 6, other clients' ports, more bytes: kept before
	// connection 2 when one closed connection is listed.
	for i := range 4 {
		s.cport = uint16(800 + i)
		c, sv = 100, 900
		s.handshake(c, sv)
		s.exchange(&c, &sv, readCall(uint32(10+i), 0, 4096), readReply(uint32(10+i), 4096))
		s.seg(time.Millisecond, true, c, 0, 0x04, 0, nil)
	}
	s.seg(2*time.Second, false, 900, 100, ackF, 501, nil) // time passes on connection 6
	unanswered := func(r *analyze.Report) analyze.Finding {
		t.Helper()
		for _, f := range r.Findings {
			if f.Kind == analyze.KindUnanswered {
				return f
			}
		}
		t.Fatalf("no unanswered_call finding: %+v", r.Findings)
		return analyze.Finding{}
	}
	full := unanswered(s.run(analyze.DefaultOptions()))
	opts := analyze.DefaultOptions()
	opts.MaxConnsListed = 1
	r := s.run(opts)
	folded := unanswered(r)
	if full.Severity != analyze.SeverityWarning || !strings.Contains(full.Summary, "on connection 2") {
		t.Errorf("without folding: %s %s", full.Severity, full.Summary)
	}
	if folded.Severity != full.Severity || folded.Summary != full.Summary {
		t.Errorf("folded: %s %s\nwant: %s %s", folded.Severity, folded.Summary, full.Severity, full.Summary)
	}
	for _, row := range r.Connections {
		if row.ID == 2 {
			t.Errorf("connection 2 listed: it should have folded")
		}
	}
}
