package analyze

import (
	"cmp"
	"container/heap"
	"slices"

	"github.com/nfsstall/nfsstall/tcpflow"
)

// History summarised, not kept. A connection that closed (FIN or RST, or
// released idle) and that nothing in the report must name (no finding, no
// call waiting for a reply) leaves Analyzer.conns: its counts fold into
// the analysis' totals and into a summary per client address and server
// (pairTotals), which keeps what capture-loss reasoning asks of the pair
// (replyMissed, answeredLater: the latest missing bytes from the server,
// the latest reply). The closed connections with the most bytes, up to
// Options.MaxConnsListed, are kept until the end to be listed in full; a
// million short connections cost what a thousand do, in memory and in the
// report.

// DefaultMaxConnsListed is how many connections the report lists in full
// besides those a finding, a diagnosis or an unanswered call names.
const DefaultMaxConnsListed = 1000

// DefaultMaxPairs bounds the client and server pairs summarised apart;
// past it, connections fold into one row for all other pairs.
const DefaultMaxPairs = 4096

// maxEvidenceKept bounds the closed connections kept for their TCP
// evidence (bytes never ACKed, zero windows) beyond those findings list:
// findings list at most maxListed of each kind.
const maxEvidenceKept = 2 * maxListed

// pairTotals sums the folded connections of one client and server.
type pairTotals struct {
	client         [16]byte
	server         tcpflow.Endpoint
	conns          int64
	calls, replies int64
	bytes          [2]int64
	missing, loss  int64
	first, last    tcpflow.FrameRef
	// The latest bytes from the server the capture missed (ACKed, or a
	// hole), on which folded connection; and the latest reply.
	lastLoss      lossEvent
	lastLossAcked bool
	lastLossConn  int
	lastReply     tcpflow.FrameRef
	lastReplyConn int
}

// foldedTotals sums every folded connection, for the summary and the
// bounds reported.
type foldedTotals struct {
	conns                                int64
	undecodable, missing, truncated      int64
	garbage                              int64
	tcp                                  map[string]int64
	tcpRetrans                           int64
	tooLong, unwatched, forgot, untrackd int64
	lossBytes                            [2]int64
	lossFirst                            [2]tcpflow.FrameRef
	lossConns                            int
	missingDir                           [2][]int // connection IDs (the first few)
	missingDirN                          [2]int
	// evidence of connections folded past maxEvidenceKept: their findings
	// are counted, not listed
	omitted                  map[string]int64
	unackedResends, zeroWins int64 // zeroWins also has those of closed connections that kept none (retire)
	evidenceFolded           int64
}

// pinned reports whether a call waiting for its reply names c.
func (c *connState) pinned() bool { return c.tracked > 0 || c.lastPins > 0 }

func (c *connState) hasEvidence() bool {
	return c.tcp != nil && (len(c.tcp.Unacked)+len(c.tcp.ZeroWins) > 0 || c.dackEvidence() > 0)
}

// unpin is called when a call that named c (first or last sent there)
// stops waiting: a closed connection nothing names any longer can fold.
func (a *Analyzer) unpin(c *connState) {
	if c.closed && !c.pinned() && c.idx >= 0 && !c.inKept {
		a.retire(c)
	}
}

// retire decides, for c just closed (or just unpinned), whether it stays
// in conns or folds.
func (a *Analyzer) retire(c *connState) {
	if c.empty() {
		a.dropIfEmpty(c)
		return
	}
	// What a closed connection no longer needs.
	a.watched -= len(c.inflight) - c.inflightHead
	c.inflight, c.inflightHead = nil, 0
	if t := c.tcp; t != nil && t.ZeroWinsMore > 0 && len(t.ZeroWins) == 0 {
		// Episodes counted, none kept (ZeroWinTotal): nothing to list;
		// summed with the folded connections' for the summary.
		a.folded.zeroWins += t.ZeroWinsMore
		a.zeroWinsPerConn += t.ZeroWinsMore
		t.ZeroWinsMore = 0
	}
	if c.pinKept {
		c.pinKept = false
		a.pinnedClosed--
	}
	if c.named {
		return
	}
	if c.pinned() {
		// (At the end of the capture every connection closes: those
		// open until then are kept whatever the bound.)
		if !c.hasEvidence() && !c.evict && !a.finishing {
			c.pinKept = true
			a.pinnedClosed++
			if a.pinnedClosed > a.opts.MaxClosedKept && !a.evicting {
				a.evicting = true
				a.evictPinned()
				a.evicting = false
			}
		}
		return
	}
	if c.hasEvidence() {
		if a.evidenceKept < maxEvidenceKept {
			a.evidenceKept++
			return
		}
		a.foldEvidence(c)
		a.fold(c)
		return
	}
	a.forgetRecords(c)
	// Keep the ones with the most bytes, to list them in full.
	if a.opts.MaxConnsListed > 0 {
		heap.Push(&a.kept, c)
		if a.kept.Len() <= a.opts.MaxConnsListed {
			return
		}
		c = heap.Pop(&a.kept).(*connState)
	}
	a.fold(c)
}

// evictPinned makes room among the closed connections kept only for the
// calls that wait for a reply on them (Options.MaxClosedKept): the calls
// of the least recently active half stop being tracked (counted in
// Report.Skipped), and those connections fold. It scans the connections
// and the pending calls once per half of the bound, so each connection
// folded costs a constant.
func (a *Analyzer) evictPinned() {
	var kept []*connState
	for _, c := range a.conns {
		if c != nil && c.pinKept {
			kept = append(kept, c)
		}
	}
	slices.SortFunc(kept, func(x, y *connState) int {
		if x.last.Time != y.last.Time {
			return cmp.Compare(x.last.Time, y.last.Time)
		}
		return x.info.ID - y.info.ID
	})
	n := len(kept) - a.opts.MaxClosedKept/2
	if n <= 0 {
		return
	}
	for _, c := range kept[:n] {
		c.evict = true
	}
	for k, p := range a.pending {
		if p.conn.evict || p.lastConn.evict {
			a.closedDropped++
			a.dropPending(k, p) // the last one unpins its connection, which folds
		}
	}
	a.pendingSorted = nil
}

// forgetRecords drops the records c remembers (to name never-ACKed bytes:
// a closed connection without any needs none).
func (a *Analyzer) forgetRecords(c *connState) {
	for d := range c.recent {
		a.records -= len(c.recent[d].recs) - c.recent[d].head
	}
	c.recent = [2]recordLog{}
}

// foldEvidence counts the TCP evidence of c, folded past maxEvidenceKept.
func (a *Analyzer) foldEvidence(c *connState) {
	t := &a.folded
	if t.omitted == nil {
		t.omitted = map[string]int64{}
	}
	for _, u := range c.tcp.Unacked {
		t.unackedResends += int64(u.Resends)
	}
	t.omitted[KindUnackedRetran] += int64(len(c.tcp.Unacked))
	t.omitted[KindZeroWindow] += int64(len(c.tcp.ZeroWins))
	t.omitted[KindMTUBlackHole] += int64(c.mtuEvidence())
	t.omitted[KindDelayedACK] += int64(c.dackEvidence())
	t.zeroWins += int64(len(c.tcp.ZeroWins)) + c.tcp.ZeroWinsMore
	a.zeroWinsPerConn += c.tcp.ZeroWinsMore
	t.evidenceFolded++
}

func (c *connState) empty() bool {
	if c.bytes != [2]int64{} || c.calls+c.replies+c.undecodable != 0 {
		return false
	}
	t := c.tcp
	return t == nil || (t.Count == (tcpflow.TCPSummary{}).Count && len(t.Unacked)+len(t.ZeroWins) == 0)
}

// analysisFlags is every flag tcpflow sets, made once.
var analysisFlags = tcpflow.AnalysisFlags()

// fold adds c to the totals and to its pair's, and forgets it.
func (a *Analyzer) fold(c *connState) {
	t := &a.folded
	t.conns++
	t.undecodable += c.undecodable
	t.missing += c.missing
	t.truncated += c.truncatedFrames
	t.garbage += c.framed.garbage
	t.tooLong += int64(c.framed.tooLong)
	t.unwatched += c.ackUnwatched
	if c.tcp != nil {
		if t.tcp == nil {
			t.tcp = map[string]int64{}
		}
		// Not c.tcpCounts(): that builds a map, and every closed
		// connection of a million passes here.
		for _, flag := range analysisFlags {
			if n := c.tcp.Counted(tcpflow.ToServer, flag) + c.tcp.Counted(tcpflow.ToClient, flag); n > 0 {
				t.tcp[flag.Name()] += n
			}
		}
		t.forgot += c.tcp.SentForgotten
		t.untrackd += c.tcp.RetransUntracked
		for d := range 2 {
			t.tcpRetrans += c.tcp.Counted(tcpflow.Dir(d), tcpflow.ARetransmission)
		}
	}
	if c.ll().loss[0].bytes+c.ll().loss[1].bytes > 0 {
		t.lossConns++
		for d := range 2 {
			t.lossBytes[d] += c.ll().loss[d].bytes
			if e := c.ll().loss[d].events; len(e) > 0 && (t.lossFirst[d].Frame == 0 || e[0].at.Time < t.lossFirst[d].Time) {
				t.lossFirst[d] = e[0].at
			}
		}
		if d, ok := c.missingDirection(); ok {
			t.missingDirN[d]++
			if len(t.missingDir[d]) < 4 {
				t.missingDir[d] = append(t.missingDir[d], c.info.ID)
			}
		}
	}
	p := a.pairOf(c)
	p.conns++
	p.calls += c.calls
	p.replies += c.replies
	p.bytes[0] += c.bytes[0]
	p.bytes[1] += c.bytes[1]
	p.missing += c.missing
	p.loss += c.ll().loss[0].bytes + c.ll().loss[1].bytes
	if p.first.Frame == 0 || c.info.First.Time < p.first.Time {
		p.first = c.info.First
	}
	if c.last.Time >= p.last.Time {
		p.last = c.last
	}
	for i, l := range []*lossLog{&c.ll().loss[tcpflow.ToClient], &c.ll().holes[tcpflow.ToClient]} {
		if l.count > 0 && l.last.at.Time >= p.lastLoss.at.Time {
			p.lastLoss, p.lastLossAcked, p.lastLossConn = l.last, i == 0, c.info.ID
		}
	}
	if c.lastReply.Frame != 0 && c.lastReply.Time >= p.lastReply.Time {
		p.lastReply, p.lastReplyConn = c.lastReply, c.info.ID
	}
	a.forgetRecords(c)
	a.removeConn(c)
}

// pairOf returns the totals of c's client and server; past
// Options.MaxPairs pairs, those of all other pairs.
func (a *Analyzer) pairOf(c *connState) *pairTotals {
	k := pairKey{c.info.Client.Addr, c.info.Server}
	if p := a.pairSums[k]; p != nil {
		return p
	}
	if a.pairSums == nil {
		a.pairSums = map[pairKey]*pairTotals{}
	}
	if len(a.pairSums) >= a.opts.MaxPairs {
		if a.otherPairs == nil {
			a.otherPairs = &pairTotals{}
		}
		a.otherPairsConns++
		return a.otherPairs
	}
	p := &pairTotals{client: k.client, server: k.server}
	a.pairSums[k] = p
	return p
}

// foldedPair returns the folded totals that apply to a client and server:
// its own, or, for a pair not summarised apart, those of all other pairs
// (an over-estimate, which only ever turns a stall into a warning).
func (a *Analyzer) foldedPair(k pairKey) *pairTotals {
	if p := a.pairSums[k]; p != nil {
		return p
	}
	return a.otherPairs
}

// keptConns is a min-heap of closed connections by bytes carried: the
// ones kept to be listed in full. Each entry carries what it is ordered
// by, so that the heap's comparisons read no connection (at the end of a
// capture of 10,000 open connections, each pushed and most popped again,
// they missed the cache on every one).
type keptConns []keptConn

type keptConn struct {
	bytes int64 // both directions' bytes: fixed once the connection closed
	id    int
	c     *connState
}

func (h keptConns) Len() int { return len(h) }
func (h keptConns) Less(i, j int) bool {
	if h[i].bytes != h[j].bytes {
		return h[i].bytes < h[j].bytes
	}
	return h[i].id > h[j].id
}
func (h keptConns) Swap(i, j int) { h[i], h[j] = h[j], h[i] }
func (h *keptConns) Push(x any) {
	c := x.(*connState)
	c.inKept = true
	*h = append(*h, keptConn{c.bytes[0] + c.bytes[1], c.info.ID, c})
}
func (h *keptConns) Pop() any {
	old := *h
	c := old[len(old)-1].c
	old[len(old)-1] = keptConn{}
	*h = old[:len(old)-1]
	c.inKept = false
	return c
}

// addrString formats an endpoint's address without its port.
func addrString(e tcpflow.Endpoint) string { return e.IP() }

// byID returns the connection listed with id, or nil.
func (a *Analyzer) byID(id int) *connState {
	if a.idIndex == nil {
		a.idIndex = make(map[int]*connState, len(a.conns))
		for _, c := range a.conns {
			a.idIndex[c.info.ID] = c
		}
	}
	return a.idIndex[id]
}
