package analyze

import (
	"fmt"
	"time"

	"github.com/nfsstall/nfsstall/decode"
	"github.com/nfsstall/nfsstall/tcpflow"
)

// boundsHit adds to the report's skipped list every bound on the
// analysis' state that the capture reached, with its value: a capture
// (hostile or just huge) never costs more than the bounds allow, and the
// report says what that left out. The bounds on reassembly queues (stream
// holes), calls tracked, and findings and unanswered calls listed are
// reported where they are counted, with their values.
func (a *Analyzer) boundsHit(r *Report) {
	l := a.opts.Limits
	st := &a.flows.Stats
	r.skip(true, "connections", st.Evicted-st.EvictedQuiet,
		fmt.Sprintf("released early to make room (they had ended, or been idle %s): %d connections were open at once, the most tracked; a later packet of one starts a new connection", time.Duration(l.CloseIdle), l.MaxConnections))
	r.skip(true, "connections", st.EvictedQuiet,
		fmt.Sprintf("released early to make room though still active, the least recently active first: they had carried no RPC message, and %d connections were open at once, the most tracked (connections that carried RPC are kept); a later packet of one starts a new connection", l.MaxConnections))
	r.skip(true, "connections", a.emptyDropped,
		fmt.Sprintf("not listed: they carried nothing (no payload byte either way, no TCP evidence: SYNs or ACKs only) and %d such connections were already listed", maxEmptyListed))
	tooLong, unwatched, forgotten, untracked := a.folded.tooLong, a.folded.unwatched, a.folded.forgot, a.folded.untrackd
	for _, c := range a.conns {
		tooLong += int64(c.framed.tooLong)
		unwatched += c.ackUnwatched
		if c.tcp != nil {
			forgotten += c.tcp.SentForgotten
			untracked += c.tcp.RetransUntracked
		}
	}
	r.skip(true, "RPC record markers", tooLong,
		fmt.Sprintf("declared a fragment or record longer than %d bytes, the largest accepted: taken as lost sync, never buffered", decode.DefaultMaxFragment))
	r.skip(true, "calls watched for their TCP ACK", unwatched,
		fmt.Sprintf("forgotten before the server's ACK: %d were waiting on one connection (the most watched); their findings cannot say whether the server's TCP got them", maxInflight))
	r.skip(true, "TCP transmissions", forgotten,
		fmt.Sprintf("forgotten while waiting for the peer's ACK: more than %d were waiting in one direction (the most remembered); a re-send of their bytes cannot name the original frame", tcpflow.MaxSentLog))
	// Totals across connections (as well as the per-connection bounds).
	r.skip(true, "TCP transmissions", st.SentTotalForgotten,
		fmt.Sprintf("forgotten while waiting for the peer's ACK: all connections together remembered %d, the most at once; a re-send of their bytes cannot name the original frame (counted in the entry above too)", l.SentTotal))
	r.skip(true, "TCP re-sends", st.RetransTotalSkipped,
		fmt.Sprintf("not followed: all connections together followed %d re-sent runs, the most at once; they cannot become unacked_retransmission findings", l.RetransTotal))
	untracked -= st.RetransTotalSkipped // said above, not again below
	r.skip(true, "zero-window episodes", a.zeroWinsPerConn,
		fmt.Sprintf("counted, not kept: %d are kept per connection and %d for all connections together at once; they are counted in zero_window_episodes but cannot become findings (a window still closed at the end always can)", tcpflow.MaxZeroWins, l.ZeroWinTotal))
	r.skip(true, "calls watched for their TCP ACK", a.watchedDropped,
		fmt.Sprintf("forgotten or not watched before the server's ACK: all connections together watched %d calls, the most at once; their findings cannot say whether the server's TCP got them", a.opts.MaxWatchedTotal))
	r.skip(true, "RPC records remembered", a.recordsDropped,
		fmt.Sprintf("forgotten or not remembered: all connections together remembered %d records not yet ACKed (the most at once); never-ACKed bytes among them are named from their first bytes, or not at all", a.opts.MaxRecordsTotal))
	r.skip(true, "TCP re-sends", untracked,
		fmt.Sprintf("not followed: %d re-sent runs were already followed in one direction (the most at once); they cannot become unacked_retransmission findings", tcpflow.MaxRetransRuns))
}

// skipBound is the bound behind a packet skip reason, said with its value,
// or "" for reasons that are not bounds.
func (a *Analyzer) skipBound(r tcpflow.SkipReason) string {
	switch {
	case r == tcpflow.SkipConnLimit:
		return fmt.Sprintf(" (%d connections tracked at once)", a.opts.Limits.MaxConnections)
	case r.IsFragmentReason():
		return fragBound(r, &a.flows.Stats, a.flows.Limits())
	}
	return ""
}

// fragBound says, for the fragments skipped for r, the bound reached and
// how many datagrams were dropped.
func fragBound(r tcpflow.SkipReason, st *tcpflow.Stats, l tcpflow.Limits) string {
	n := st.FragDroppedCount(r)
	dg := fmt.Sprintf("%d datagrams", n)
	if n == 1 {
		dg = "1 datagram"
	}
	switch r {
	case tcpflow.SkipFragDuplicate:
		return ""
	case tcpflow.SkipFragTooLong:
		return fmt.Sprintf(" (65535 bytes with the IPv4 header, or 65535 bytes of IPv6 payload; %s)", dg)
	case tcpflow.SkipFragTimeout:
		return fmt.Sprintf(" (%s of capture time after its first fragment, as Linux; %s)", time.Duration(l.FragTimeout), dg)
	case tcpflow.SkipFragTableFull:
		return fmt.Sprintf(" (%d datagrams in reassembly at once; %s dropped, the oldest first)", l.FragDatagrams, dg)
	case tcpflow.SkipFragBytesFull:
		return fmt.Sprintf(" (%d bytes of reassembly buffers at once; %s dropped, the oldest first)", l.FragBytes, dg)
	}
	return fmt.Sprintf(" (%s)", dg)
}
