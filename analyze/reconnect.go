package analyze

import (
	"bytes"
	"cmp"
	"fmt"
	"maps"
	"slices"
	"strings"

	"github.com/nfsstall/nfsstall/tcpflow"
)

// Reconnects that fail (issue 13, item 1): a client's SYNs to the NFS port
// that get no SYN-ACK, or are answered by RST, again and again, while its
// calls wait. Linux reconnects from the same source port (for the server's
// duplicate reply cache), so its SYNs share a 4-tuple; libnfs may take a
// new port each time. Both are followed by client address and server
// endpoint: a run is the SYNs from one client to one server endpoint since
// the last SYN-ACK between them.
//
// Only SYNs, SYN-ACKs and RSTs come here (connState.Segment), so the cost
// on the per-packet path is one flag test. What a run keeps is bounded:
// its first maxWatchFrames evidence frames and the last watchTail (the
// evidence type of every detector), its first
// maxRunGaps SYN-to-SYN intervals, and counts; at most maxOpenRuns runs
// are followed at once (a SYN flood of distinct sources), the runs of a
// single SYN given up first.

// KindReconnect is the finding of a failing (or failed, then recovered)
// reconnect.
const KindReconnect = "reconnect_failing"

// VerdictReconnectFailing: the client cannot reconnect while its calls wait.
const VerdictReconnectFailing = "reconnect_failing"

const (
	maxRunGaps  = 8
	maxOpenRuns = 4096
)

// synRun is one client's SYNs to one server endpoint since the last
// SYN-ACK between them.
type synRun struct {
	key         pairKey
	first, last tcpflow.FrameRef // first and last SYN
	syns, rsts  int
	// ev: the SYNs and RSTs, the first maxWatchFrames and the latest
	// watchTail kept (ev.n: all of them)
	ev          evidence
	gaps        []int64 // the first maxRunGaps SYN-to-SYN intervals
	minGap      int64
	maxGap      int64
	firstPort   uint16
	lastPort    uint16
	portChanges int
	lastSynConn int // the connection of the latest SYN
	synAck      tcpflow.FrameRef
	synAckConn  int
	// ackOnly: synAck is the client's ACK completing the handshake, its
	// SYN-ACK not captured
	ackOnly bool
}

// reconnects follows the runs of SYNs of every client.
type reconnects struct {
	open map[pairKey]*synRun
	// done: runs of two SYNs or more that ended in a SYN-ACK (at most
	// maxListed; doneMore counts the others)
	done     []*synRun
	doneMore int64
	// refused: SYNs not followed because maxOpenRuns runs were open;
	// credit: new runs to refuse before the open ones are scanned again
	refused int64
	credit  int
}

// segment takes a SYN, SYN-ACK or RST of connection c.
func (r *reconnects) segment(c *connState, dir tcpflow.Dir, flags uint8, at tcpflow.FrameRef) {
	if c.info.Proto != tcpflow.ProtoTCP {
		return
	}
	k := pairKey{c.info.Client.Addr, c.info.Server}
	run := r.open[k]
	switch {
	case dir == tcpflow.ToServer && flags&(tcpflow.FlagSYN|tcpflow.FlagACK|tcpflow.FlagRST) == tcpflow.FlagSYN:
		resent := c.synWait // a SYN of this connection before, and nothing of the client's since
		c.synWait = true
		if run == nil {
			if r.open == nil {
				r.open = map[pairKey]*synRun{}
			}
			if len(r.open) >= maxOpenRuns && !r.makeRoom() {
				r.refused++
				return
			}
			run = &synRun{key: k, first: at, firstPort: c.info.Client.Port, lastPort: c.info.Client.Port}
			r.open[k] = run
			if resent && c.info.SawSYN && c.info.First.Time <= at.Time {
				// A re-sent SYN whose run was given up (makeRoom) or
				// refused: the connection's first frame is its first
				// SYN, so the run starts there again.
				run.first, run.last = c.info.First, c.info.First
				run.syns, run.lastSynConn = 1, c.info.ID
				run.add(c.info.First)
			}
		}
		if run.syns > 0 {
			gap := at.Time - run.last.Time
			if len(run.gaps) < maxRunGaps {
				run.gaps = append(run.gaps, gap)
			}
			if run.syns == 1 || gap < run.minGap {
				run.minGap = gap
			}
			run.maxGap = max(run.maxGap, gap)
			if c.info.Client.Port != run.lastPort {
				run.portChanges++
				run.lastPort = c.info.Client.Port
			}
		}
		run.syns++
		run.last = at
		run.lastSynConn = c.info.ID
		run.add(at)
	case dir == tcpflow.ToServer:
		// The client's first segment after its SYN (synWait): the
		// handshake completed, whether or not the capture has the
		// SYN-ACK (a one-way capture, an asymmetric route).
		if c.synWait && flags&tcpflow.FlagSYN == 0 {
			c.synWait = false
			if run != nil && flags&tcpflow.FlagRST == 0 && c.info.ID == run.lastSynConn {
				run.ackOnly = true
				r.answered(k, run, c, at)
			}
		}
		return
	case run == nil:
	case flags&(tcpflow.FlagSYN|tcpflow.FlagACK) == tcpflow.FlagSYN|tcpflow.FlagACK:
		r.answered(k, run, c, at)
	case flags&tcpflow.FlagRST != 0 && c.info.ID == run.lastSynConn:
		// A RST on the connection of the latest SYN, before any SYN-ACK:
		// the SYN was refused.
		run.rsts++
		run.add(at)
	}
	if dir == tcpflow.ToClient && flags&(tcpflow.FlagSYN|tcpflow.FlagRST) != 0 {
		c.synWait = false
	}
}

// answered ends a run: the handshake got its answer at frame at. A single
// SYN answered is a connection as usual.
func (r *reconnects) answered(k pairKey, run *synRun, c *connState, at tcpflow.FrameRef) {
	delete(r.open, k)
	if run.syns < 2 {
		return
	}
	run.synAck, run.synAckConn = at, c.info.ID
	if len(r.done) >= maxListed {
		r.doneMore++
		return
	}
	r.done = append(r.done, run)
}

// add keeps an evidence frame.
func (run *synRun) add(at tcpflow.FrameRef) { run.ev.add(at) }

// evidence returns the frames kept, in time order.
func (run *synRun) evidence() []tcpflow.FrameRef { return run.ev.refs() }

// makeRoom gives up the open runs of a single SYN (a connection still
// being set up, or one packet of a flood) and reports whether there is
// room for a new run. A run given up whose SYN is then re-sent on the same
// connection (Linux's retries) starts again from that connection's first
// SYN; flood sources rarely re-send. After a scan that frees less than a sixteenth of
// the table, the next maxOpenRuns/16 new runs are refused unscanned.
func (r *reconnects) makeRoom() bool {
	if r.credit > 0 {
		r.credit--
		return false
	}
	for k, run := range r.open {
		if run.syns < 2 && run.rsts == 0 {
			delete(r.open, k)
		}
	}
	if len(r.open) > maxOpenRuns-maxOpenRuns/16 {
		r.credit = maxOpenRuns / 16
	}
	return len(r.open) < maxOpenRuns
}

// reconnectFindings turns the runs of two SYNs or more into findings: the
// runs still open at the end (no SYN-ACK), and those that ended in one.
func (a *Analyzer) reconnectFindings(all []Finding, end int64, omitted map[string]int64) []Finding {
	r := &a.reconn
	runs := slices.Collect(maps.Values(r.open))
	runs = slices.DeleteFunc(runs, func(run *synRun) bool { return run.syns < 2 })
	slices.SortFunc(runs, func(x, y *synRun) int {
		if c := cmp.Compare(x.first.Time, y.first.Time); c != 0 {
			return c
		}
		if c := bytes.Compare(x.key.client[:], y.key.client[:]); c != 0 {
			return c
		}
		if c := bytes.Compare(x.key.server.Addr[:], y.key.server.Addr[:]); c != 0 {
			return c
		}
		return cmp.Compare(x.key.server.Port, y.key.server.Port)
	})
	runs = append(runs, r.done...)
	omitted[KindReconnect] += r.doneMore
	if len(runs) == 0 {
		return all
	}
	waiting := a.waitingByPair()
	n := 0
	for _, run := range runs {
		if n >= maxListed {
			omitted[KindReconnect]++
			continue
		}
		n++
		all = append(all, a.reconnectFinding(run, end, waiting[run.key]))
	}
	return all
}

// pairWait is what waits between a client and a server: the calls with no
// reply, the oldest first sent.
type pairWait struct {
	calls  int
	oldest *call
	key    callKey
}

// waitingByPair gathers the calls still waiting, by client and server.
func (a *Analyzer) waitingByPair() map[pairKey]*pairWait {
	out := map[pairKey]*pairWait{}
	for k, p := range a.pending {
		pk := pairKey{k.client, k.server}
		w := out[pk]
		if w == nil {
			w = &pairWait{}
			out[pk] = w
		}
		w.calls++
		if w.oldest == nil || p.first.Time < w.oldest.first.Time || p.first.Time == w.oldest.first.Time && k.xid < w.key.xid {
			w.oldest, w.key = p, k
		}
	}
	return out
}

// reconnectFinding describes one run; w is what waits between its client
// and server (nil: nothing).
func (a *Analyzer) reconnectFinding(run *synRun, end int64, w *pairWait) Finding {
	recovered := run.synAck.Frame != 0
	client := tcpflow.Endpoint{Addr: run.key.client}.IP()
	server := run.key.server.String()
	refs := run.evidence()
	if recovered {
		refs = append(refs, run.synAck)
	}
	f := Finding{Kind: KindReconnect, Start: Time(run.first.Time)}
	f.setFrames(refs)

	// Who the calls wait on, and whether the client is an NFS client at
	// all: a flood of SYNs from addresses that never made a call is no
	// reconnect.
	conns := a.byPair()[run.key]
	calls, replied := int64(0), false
	var rpcConn *connState
	for _, c := range conns {
		if c.calls > 0 {
			calls += c.calls
			if rpcConn == nil || c.info.ID > rpcConn.info.ID {
				rpcConn = c
			}
		}
		if c.lastReply.Time > run.first.Time {
			replied = true
		}
	}
	if p := a.pairSums[run.key]; p != nil {
		calls += p.calls
		replied = replied || p.lastReply.Time > run.first.Time
	}
	var waitConn *connState
	if w != nil && w.oldest.lastConn != nil && w.oldest.lastConn.idx >= 0 {
		waitConn = w.oldest.lastConn
	}
	switch {
	case waitConn != nil:
		f.Connection = waitConn.info.ID
	case rpcConn != nil:
		f.Connection = rpcConn.info.ID
	default:
		f.Connection = run.lastSynConn
	}

	var b strings.Builder
	fmt.Fprintf(&b, "%s sent %d %s to %s", client, run.syns, Plural(run.syns, "SYN", "SYNs"), server)
	switch {
	case run.portChanges == 0:
		fmt.Fprintf(&b, " from source port %d (one 4-tuple)", run.firstPort)
	default:
		fmt.Fprintf(&b, ", changing source port %d %s (first %d, last %d)", run.portChanges, Plural(run.portChanges, "time", "times"), run.firstPort, run.lastPort)
	}
	fmt.Fprintf(&b, " over %s (frames %s", FormatMS(ms(run.last.Time-run.first.Time)), a.frames(refs))
	if run.ev.n > len(refs)-btoi(recovered) {
		fmt.Fprintf(&b, "; %d SYNs and RSTs in all", run.ev.n)
	}
	b.WriteString(")")
	failed, last := run.syns, ""
	if recovered {
		failed, last = run.syns-1, " before the last"
	}
	switch silent := failed - run.rsts; {
	case run.rsts == 0:
		fmt.Fprintf(&b, "; nobody answered the %d%s", failed, last)
	case silent <= 0:
		fmt.Fprintf(&b, "; each of the %d%s was answered by RST from the server's address", failed, last)
	default:
		fmt.Fprintf(&b, "; of the %d%s, %d were answered by RST from the server's address, %d by nobody", failed, last, run.rsts, silent)
	}
	b.WriteString("; ")
	b.WriteString(backoff(run))

	stallAfter := a.opts.StallAfter
	switch {
	case recovered:
		f.Severity = SeverityWarning
		f.DurationMS = ms(run.synAck.Time - run.first.Time)
		answer := "the server answered with a SYN-ACK"
		if run.ackOnly {
			answer = "the client's ACK completing the handshake (its SYN-ACK not captured) came"
		}
		fmt.Fprintf(&b, "; %s at frame %s (connection %d), %s after the first SYN",
			answer, a.frame(run.synAck), run.synAckConn, FormatMS(f.DurationMS))
	default:
		f.DurationMS = ms(end - run.first.Time)
		fmt.Fprintf(&b, "; no SYN-ACK by the end of the capture, %s after the first SYN", FormatMS(f.DurationMS))
		waits := w != nil && w.calls > 0
		switch {
		case waits:
			p := w.oldest
			fmt.Fprintf(&b, "; %d %s from this client to this server %s for a reply%s %s (%s, outstanding %s at the end)",
				w.calls, Plural(w.calls, "call", "calls"), Plural(w.calls, "waits", "wait"), Plural(w.calls, ":", ", the oldest"),
				p.label(w.key.xid, &a.paths), p.sentAt(a), FormatMS(ms(end-p.first.Time)))
		case calls > 0 && !replied:
			fmt.Fprintf(&b, "; the client made %d %s to this server earlier in the capture and no reply came from the server since the first SYN",
				calls, Plural(int(calls), "call", "calls"))
		case calls > 0:
			b.WriteString("; replies from the server reached the client on another connection since the first SYN")
		default:
			b.WriteString("; the capture shows no RPC call from this client to this server, so nothing is known to wait on it")
		}
		switch {
		case end-run.first.Time >= stallAfter && (waits || calls > 0 && !replied):
			f.Severity = SeverityStall
		case calls > 0:
			f.Severity = SeverityWarning
		default:
			f.Severity = SeverityInfo
		}
	}
	f.Summary = b.String()
	return f
}

func btoi(b bool) int {
	if b {
		return 1
	}
	return 0
}

// backoff says how the SYNs were spaced: the intervals when few, else the
// first ones and the range.
func backoff(run *synRun) string {
	n := run.syns - 1
	var parts []string
	for _, g := range run.gaps {
		parts = append(parts, FormatMS(ms(g)))
	}
	s := "SYN intervals " + strings.Join(parts, ", ")
	if n > len(run.gaps) {
		s = fmt.Sprintf("%d SYN intervals from %s to %s, the first %s", n, FormatMS(ms(run.minGap)), FormatMS(ms(run.maxGap)), strings.Join(parts, ", "))
	}
	switch {
	case run.maxGap < 100e6 && n >= 4:
		s += " (no backoff)"
	case n >= 2 && run.gaps[len(run.gaps)-1] >= 2*run.gaps[0] && run.gaps[0] > 0:
		s += " (backing off)"
	}
	return s
}

// reconnectVerdict is the verdict for a connection whose client cannot
// reconnect while its calls wait: the reconnect findings at rec, the
// unanswered calls at unanswered (indices into Report.Findings).
func (a *Analyzer) reconnectVerdict(r *Report, d *Diagnosis, rec, unanswered []int, stuck string) {
	f := r.Findings[rec[0]]
	d.Verdict = VerdictReconnectFailing
	d.Findings = append(slices.Clone(rec), unanswered...)
	who := "nobody answered its SYNs for %s (frames %s): a firewall or the path drops them, or the server host is down; a server whose NFS process is merely hung still completes handshakes (its kernel answers them)"
	if strings.Contains(f.Summary, "answered by RST") {
		who = "its SYNs were refused with RST from the server's address for %s (frames %s): nothing listens on the port there (the NFS server is not running) or a firewall rejects them in the server's name"
	}
	d.Summary = fmt.Sprintf("the client has no connection to the server and cannot make one: "+who+". Its calls wait until a connection is made.%s",
		FormatMS(f.DurationMS), a.findingFrames(r, rec), stuck)
}

// skipped says how many SYNs were not followed because maxOpenRuns runs
// were open at once.
func (r *reconnects) skipped() (Skipped, bool) {
	if r.refused == 0 {
		return Skipped{}, false
	}
	return Skipped{Bound: true, What: "SYNs not followed for " + KindReconnect, Count: r.refused,
		Reason: fmt.Sprintf("%d clients' runs of SYNs to a server are followed at once (a SYN flood from many sources), runs of a single SYN given up first", maxOpenRuns)}, true
}
