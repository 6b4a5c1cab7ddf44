package analyze

import (
	"bytes"
	"cmp"
	"fmt"
	"maps"
	"slices"
	"strings"

	"github.com/nfsstall/nfsstall/decode"
	"github.com/nfsstall/nfsstall/tcpflow"
)

// The grace period after a server restart or failover (issue 13, item 4):
// an NFSv4 server that lost its state refuses new OPENs and LOCKs with
// NFS4ERR_GRACE until its clients have reclaimed theirs (OPEN with
// CLAIM_PREVIOUS) or the grace time runs out; NFSv4.1 clients end their
// reclaims with RECLAIM_COMPLETE, and a server may end the grace early
// once all have. Followed per server: the GRACE answers (first, last,
// how many, to which clients), the reclaims and RECLAIM_COMPLETEs, and the
// first OPEN or LOCK answered NFS4_OK after the last GRACE answer (the
// grace is over). NLM's DENIED_GRACE_PERIOD is not seen: NLM results are
// not decoded.
//
// The capture shows a grace period only through its answers: how long it
// lasted "as seen" is from the first GRACE answer to the last, which is
// shorter than the server's own grace time when clients called less.

// KindGrace is the finding of a server in its grace period.
const KindGrace = "grace_period"

// VerdictGrace: calls waited on a server's grace period.
const VerdictGrace = "grace_period"

const (
	maxGraceServers = 256
	maxGraceClients = 64
	maxGraceOps     = 4
	maxReclaimCalls = 4096
)

// graceTable follows the servers that answered GRACE or were sent
// reclaims.
type graceTable struct {
	servers map[tcpflow.Endpoint]*graceServer
	// reclaims: reclaim OPEN calls waiting for their reply (an OPEN
	// answered NFS4_OK that is not one ends the grace)
	reclaims map[callKey]struct{}
	dropped  int64 // events of servers past maxGraceServers
}

// graceServer is one server's grace period as the capture shows it.
type graceServer struct {
	server      tcpflow.Endpoint
	first, last tcpflow.FrameRef // the first and last GRACE answers
	refused     int
	ev          evidence // the calls refused and their GRACE answers
	marks       evidence // reclaims and RECLAIM_COMPLETEs
	// conn: the connection of the first GRACE answer (else of the first
	// reclaim), named (kept from folding) for the finding
	conn int
	// over: the first OPEN or LOCK answered NFS4_OK after the last GRACE
	// answer (Frame 0: none)
	over     tcpflow.FrameRef
	overConn int
	clients  []*graceClient
	more     int // clients past maxGraceClients
}

// graceClient is what one client address did in a server's grace period.
type graceClient struct {
	addr        [16]byte
	refused     int
	since       int64            // when the first call refused was sent
	first, last tcpflow.FrameRef // its first and last GRACE answers
	ops         [maxGraceOps]uint32
	nOps        int
	conns       map[int]struct{}
	minor       uint32 // the highest NFSv4 minor version it used
	reclaims    int
	reclaimAt   tcpflow.FrameRef
	rc          tcpflow.FrameRef // its RECLAIM_COMPLETE call (Frame 0: none)
	rcStatus    uint32
	rcAnswered  bool
}

func (g *graceTable) server(c *connState) *graceServer {
	s := g.servers[c.info.Server]
	if s == nil {
		if len(g.servers) >= maxGraceServers {
			g.dropped++
			return nil
		}
		if g.servers == nil {
			g.servers = map[tcpflow.Endpoint]*graceServer{}
		}
		s = &graceServer{server: c.info.Server}
		g.servers[c.info.Server] = s
	}
	return s
}

func (s *graceServer) client(addr [16]byte) *graceClient {
	for _, cl := range s.clients {
		if cl.addr == addr {
			return cl
		}
	}
	if len(s.clients) >= maxGraceClients {
		s.more++
		return nil
	}
	cl := &graceClient{addr: addr, conns: map[int]struct{}{}}
	s.clients = append(s.clients, cl)
	return cl
}

// call sees a COMPOUND call: its reclaim OPENs and RECLAIM_COMPLETE.
func (g *graceTable) call(c *connState, args *decode.Compound4Args, xid uint32, at tcpflow.FrameRef) {
	reclaims, rc := 0, false
	for i := range min(args.N, decode.MaxOps) {
		o := &args.Ops[i]
		switch {
		case o.Op == decode.OpOpen && o.Has&decode.HasClaim != 0 &&
			(o.Claim == decode.ClaimPrevious || o.Claim == decode.ClaimDelegatePrev || o.Claim == decode.ClaimDelegPrevFH):
			reclaims++
		case o.Op == decode.OpReclaimComplete:
			rc = true
		}
	}
	if reclaims == 0 && !rc {
		if s := g.servers[c.info.Server]; s != nil {
			if cl := s.client(c.info.Client.Addr); cl != nil {
				cl.minor = max(cl.minor, args.MinorVersion)
			}
		}
		return
	}
	s := g.server(c)
	if s == nil {
		return
	}
	cl := s.client(c.info.Client.Addr)
	if cl == nil {
		return
	}
	cl.minor = max(cl.minor, args.MinorVersion)
	s.marks.add(at)
	if s.conn == 0 {
		s.conn, c.named = c.info.ID, true
	}
	if reclaims > 0 {
		if cl.reclaims == 0 {
			cl.reclaimAt = at
		}
		cl.reclaims += reclaims
		if len(g.reclaims) < maxReclaimCalls {
			if g.reclaims == nil {
				g.reclaims = map[callKey]struct{}{}
			}
			g.reclaims[callKey{c.info.Client.Addr, c.info.Server, xid}] = struct{}{}
		}
	}
	if rc && cl.rc.Frame == 0 {
		cl.rc = at
	}
}

// reply sees the status st of the reply to p, an NFSv4 COMPOUND.
func (g *graceTable) reply(c *connState, p *call, xid, st uint32, at tcpflow.FrameRef) {
	k := callKey{c.info.Client.Addr, c.info.Server, xid}
	_, reclaim := g.reclaims[k]
	if reclaim {
		delete(g.reclaims, k)
	}
	op := uint32(0)
	if p.row > opRow && p.row < cbOpRow {
		op = p.row - opRow
	}
	if st != decode.NFS4ErrGrace {
		s := g.servers[c.info.Server]
		if s == nil {
			return
		}
		if op == decode.OpReclaimComplete {
			if cl := s.client(c.info.Client.Addr); cl != nil && !cl.rcAnswered {
				cl.rcAnswered, cl.rcStatus = true, st
			}
		}
		if st == decode.NFS4OK && !reclaim && s.refused > 0 && s.over.Frame == 0 &&
			(op == decode.OpOpen || op == decode.OpLock) {
			s.over, s.overConn = at, c.info.ID
		}
		return
	}
	s := g.server(c)
	if s == nil {
		return
	}
	if s.refused == 0 {
		s.first = at
		s.conn, c.named = c.info.ID, true
	}
	s.refused++
	s.last = at
	s.over = tcpflow.FrameRef{}
	s.ev.add(p.first)
	s.ev.add(at)
	cl := s.client(c.info.Client.Addr)
	if cl == nil {
		return
	}
	if cl.refused == 0 {
		cl.first, cl.since = at, p.first.Time
	}
	cl.refused++
	cl.last = at
	if len(cl.conns) < maxGraceOps*4 {
		cl.conns[c.info.ID] = struct{}{}
	}
	if !slices.Contains(cl.ops[:cl.nOps], op) && cl.nOps < maxGraceOps {
		cl.ops[cl.nOps] = op
		cl.nOps++
	}
}

// waited is how long the client's calls were refused, as seen: from the
// first refused call to its last GRACE answer.
func (cl *graceClient) waited() int64 {
	if cl.refused == 0 {
		return 0
	}
	return cl.last.Time - cl.since
}

// unfinished reports whether the client reclaimed over NFSv4.1 or later
// and never sent RECLAIM_COMPLETE.
func (cl *graceClient) unfinished() bool { return cl.minor >= 1 && cl.reclaims > 0 && cl.rc.Frame == 0 }

// graceFindings makes one finding per server.
func (a *Analyzer) graceFindings(all []Finding, omitted map[string]int64) []Finding {
	g := &a.watch.grace
	servers := slices.SortedFunc(maps.Values(g.servers), func(x, y *graceServer) int {
		if c := bytes.Compare(x.server.Addr[:], y.server.Addr[:]); c != 0 {
			return c
		}
		return cmp.Compare(x.server.Port, y.server.Port)
	})
	for _, s := range servers {
		// A RECLAIM_COMPLETE alone is no sign of a restart: NFSv4.1
		// clients send one after every new client ID (at mount).
		if s.refused == 0 && !slices.ContainsFunc(s.clients, func(cl *graceClient) bool { return cl.reclaims > 0 }) {
			continue
		}
		all = append(all, a.graceFinding(s))
	}
	return all
}

func (a *Analyzer) graceFinding(s *graceServer) Finding {
	f := Finding{Kind: KindGrace, Severity: SeverityInfo, Connection: s.conn}
	refs := append(s.ev.refs(), s.marks.refs()...)
	if s.over.Frame != 0 {
		refs = append(refs, s.over)
	}
	f.setFrames(refs)
	f.Start = Time(f.refs[0].Time)
	var b strings.Builder
	var waited int64
	for _, cl := range s.clients {
		waited = max(waited, cl.waited())
	}
	if s.refused > 0 {
		f.DurationMS = ms(s.last.Time - s.first.Time)
		fmt.Fprintf(&b, "server %s answered %d %s NFS4ERR_GRACE (a server in its grace period after a restart or failover refuses new OPENs and LOCKs until its clients have reclaimed their state): the first at frame %s, the last at frame %s (%s as seen)",
			s.server, s.refused, Plural(s.refused, "call", "calls"), a.frame(s.first), a.frame(s.last), FormatMS(f.DurationMS))
		if f.over = s.over.Frame != 0; f.over {
			fmt.Fprintf(&b, "; it was over by frame %s (connection %d), where an OPEN or LOCK was answered NFS4_OK", a.frame(s.over), s.overConn)
		} else {
			b.WriteString("; no OPEN or LOCK was answered NFS4_OK after the last, so the capture does not show it end")
		}
	} else {
		fmt.Fprintf(&b, "server %s was sent reclaim OPENs (its clients are recovering their state after a restart or failover); no call was answered NFS4ERR_GRACE", s.server)
	}
	unfinished := 0
	var parts []string
	for _, cl := range s.clients {
		if cl.refused == 0 && cl.reclaims == 0 && cl.rc.Frame == 0 {
			continue
		}
		var p []string
		if cl.refused > 0 {
			ops := make([]string, cl.nOps)
			for i, op := range cl.ops[:cl.nOps] {
				ops[i] = decode.OpName(op)
			}
			p = append(p, fmt.Sprintf("%d %s refused (%s) over %s, on %d %s", cl.refused, Plural(cl.refused, "call", "calls"),
				strings.Join(ops, ", "), FormatMS(ms(cl.waited())), len(cl.conns), Plural(len(cl.conns), "connection", "connections")))
		}
		if cl.reclaims > 0 {
			p = append(p, fmt.Sprintf("%d reclaim %s from frame %s", cl.reclaims, Plural(cl.reclaims, "OPEN", "OPENs"), a.frame(cl.reclaimAt)))
		}
		switch {
		case cl.rc.Frame != 0 && cl.rcAnswered:
			p = append(p, fmt.Sprintf("RECLAIM_COMPLETE at frame %s (%s)", a.frame(cl.rc), decode.NFS4StatName(cl.rcStatus)))
		case cl.rc.Frame != 0:
			p = append(p, fmt.Sprintf("RECLAIM_COMPLETE at frame %s", a.frame(cl.rc)))
		case cl.unfinished():
			unfinished++
			p = append(p, fmt.Sprintf("NFSv4.%d, never sent RECLAIM_COMPLETE", cl.minor))
		}
		parts = append(parts, fmt.Sprintf("%s: %s", tcpflow.Endpoint{Addr: cl.addr}.IP(), strings.Join(p, ", ")))
	}
	if len(parts) > 0 {
		fmt.Fprintf(&b, "; clients: %s", strings.Join(parts, "; "))
	}
	if s.more > 0 {
		fmt.Fprintf(&b, "; %d more clients not listed", s.more)
	}
	if unfinished > 0 {
		fmt.Fprintf(&b, "; %d %s reclaimed and never sent RECLAIM_COMPLETE: until it does the server may refuse its new OPENs, and may keep the grace period going for everyone to its full length",
			unfinished, Plural(unfinished, "client", "clients"))
	}
	switch {
	case s.refused > 0 && waited >= a.opts.StallAfter:
		f.Severity = SeverityStall
		fmt.Fprintf(&b, "; a client's calls waited on it %s", FormatMS(ms(waited)))
	case s.refused > 0 || unfinished > 0:
		f.Severity = SeverityWarning
	}
	f.Summary = b.String()
	return f
}

// graceVerdict is the verdict for calls that waited on a grace period:
// the grace findings at idx.
func (a *Analyzer) graceVerdict(r *Report, d *Diagnosis, idx []int) {
	f := r.Findings[idx[0]]
	d.Verdict = VerdictGrace
	d.Findings = idx
	is := "is in its NFSv4 grace period after a restart or failover and refused calls with NFS4ERR_GRACE for %s as seen (frames %s): clients wait until it ends."
	if f.over {
		is = "was in its NFSv4 grace period after a restart or failover and refused calls with NFS4ERR_GRACE for %s as seen (frames %s): clients waited until it ended."
	}
	d.Summary = fmt.Sprintf("the server "+is+" The restart is the cause; the grace itself is the server working as designed, unless it lasts far longer than the server's configured grace time (1 min 30 s by default in Linux knfsd, Grace_Period in nfs-ganesha) or a client never sends RECLAIM_COMPLETE.",
		FormatMS(f.DurationMS), a.findingFrames(r, idx))
}
