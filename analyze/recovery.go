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

// NFSv4 state recovery (issue 13, item 5). A server that loses a client's
// state answers its calls with NFS4ERR_BADSESSION, DEADSESSION,
// STALE_CLIENTID or EXPIRED; the client then re-establishes it: a new
// session (CREATE_SESSION), or a new client ID first (EXCHANGE_ID in 4.1,
// SETCLIENTID in 4.0), DESTROY_SESSION of the old one on the way. Once
// after a server restart is recovery; again and again is a loop, and its
// commonest cause is two clients that name themselves alike (cloned VMs,
// containers sharing a hostname): each EXCHANGE_ID (SETCLIENTID) of one,
// with its own boot verifier, replaces the other's client ID on the
// server, whose next call then finds its state gone. RFC 8881 section
// 2.4 (client identifiers, co_ownerid and co_verifier), 18.35.4
// (EXCHANGE_ID replacing a client record whose verifier changed); RFC
// 7530 section 16.33.5 (SETCLIENTID).
//
// Followed by client address and server endpoint: a cycle is a state
// error answered to the client, then the client's next EXCHANGE_ID,
// SETCLIENTID or CREATE_SESSION call. The owners of EXCHANGE_ID and
// SETCLIENTID are followed by a hash of their bytes, with the addresses
// and verifiers that sent them. Only those operations and those errors
// reach the tables, so a healthy capture pays a flag test per COMPOUND
// and a map that stays empty.

// Finding kinds and verdict of state recovery.
const (
	KindStateRecovery         = "state_recovery_loop"
	KindStateRevoked          = "state_revoked"
	VerdictStateRecoveryLoop  = "state_recovery_loop"
	minLoopCycles             = 2    // cycles that make a loop (a warning)
	stallLoopCycles           = 3    // cycles that make it a stall
	maxStateClients           = 1024 // about 600 B each
	maxOwners                 = 1024 // about 350 B each
	maxOwnerAddrs             = 4
	maxOwnerName              = 48
	seqStatusRevokedMask      = 0x8 | 0x10 | 0x20 | 0x40
	seqStatusCBPathDown       = 0x1
	seqStatusCBPathDownSess   = 0x200
	seqStatusBackchannelFault = 0x400
)

// stateTable is what the analysis keeps of NFSv4 client state.
type stateTable struct {
	clients map[pairKey]*clientState
	owners  map[uint64]*ownerRec
	// dropped: events of clients or owners past the bounds
	dropped int64
	// blame: by connection of a loop finding, the collision that causes it
	blame map[int]string
}

// clientState is one client's state trouble with one server.
type clientState struct {
	key pairKey
	// armed: a state error came and the client has not yet begun
	// recovering; errAt is the first error of the cycle.
	armed    bool
	errAt    tcpflow.FrameRef
	cycles   int
	errors   int64
	errCount [4]int64 // BADSESSION, DEADSESSION, STALE_CLIENTID, EXPIRED
	destroys int
	first    tcpflow.FrameRef // the first state error
	last     tcpflow.FrameRef // the latest event
	lastConn int
	evidence evidence
	// recovered: the operations that began a recovery (bits: 1
	// EXCHANGE_ID, 2 SETCLIENTID, 4 CREATE_SESSION)
	recovered uint8
	// SEQUENCE status flags: every bit seen, the replies carrying a
	// revoked bit and the first of them
	flags        uint32
	revoked      int64
	revokedAt    tcpflow.FrameRef
	revokedLast  tcpflow.FrameRef
	revokedFlags uint32
	revokedConn  int
	// the callback path reported down (recall.go): replies saying so, of
	// them RENEW's NFS4ERR_CB_PATH_DOWN, the SEQUENCE flags seen
	cbDown      int64
	cbDownRenew int64
	cbDownFlags uint32
	cbDownKeep  evidence
	cbDownConn  int
	// SETCLIENTID refused NFS4ERR_CLID_INUSE (4.0): how often, the first
	// and latest, the holder's callback address the server named
	inUse        int
	inUseFirst   tcpflow.FrameRef
	inUseLast    tcpflow.FrameRef
	inUseConn    int
	inUseAddrLen uint8
	inUseAddr    [48]byte
}

// ownerRec is one client owner (co_ownerid, SETCLIENTID's id) and who
// sent it.
type ownerRec struct {
	name    [maxOwnerName]byte
	nameLen uint8
	cut     bool
	v40     bool
	senders []ownerSender
	more    int // senders past maxOwnerAddrs
	// switches: consecutive EXCHANGE_IDs (SETCLIENTIDs) of the owner from
	// different addresses; lastAddr the latest sender
	switches int
	lastAddr [16]byte
	sends    int
}

type ownerSender struct {
	addr   [16]byte
	server tcpflow.Endpoint
	verf   [8]byte
	first  tcpflow.FrameRef
	conn   int
}

// client returns the state of c's client, made on first use; nil past the
// bound.
func (t *stateTable) client(c *connState) *clientState {
	k := pairKey{c.info.Client.Addr, c.info.Server}
	if s := t.clients[k]; s != nil {
		return s
	}
	if len(t.clients) >= maxStateClients {
		t.dropped++
		return nil
	}
	if t.clients == nil {
		t.clients = map[pairKey]*clientState{}
	}
	s := &clientState{key: k}
	t.clients[k] = s
	return s
}

// ownerHash is FNV-1a of an owner's bytes, never 0.
func ownerHash(b []byte, v40 bool) uint64 {
	h := uint64(14695981039346656037)
	if v40 {
		h ^= 0x40
	}
	for _, c := range b {
		h ^= uint64(c)
		h *= 1099511628211
	}
	return max(h, 1)
}

// stateCall looks at a tracked COMPOUND call's arguments, sent on c at
// frame at: a new client ID or session begins recovery, DESTROY_SESSION
// is part of it.
func (a *Analyzer) stateCall(args *decode.Compound4Args, c *connState, at tcpflow.FrameRef) {
	const has = decode.HasExchangeID | decode.HasSetClientID | decode.HasCreateSession
	destroy := false
	if args.Has&has == 0 {
		for i := range min(args.N, decode.MaxOps) {
			if args.Ops[i].Op == decode.OpDestroySession {
				destroy = true
			}
		}
		if !destroy {
			return
		}
	}
	t := &a.nfs4.state
	switch {
	case args.Has&decode.HasExchangeID != 0:
		t.owner(args.ExchangeID.Owner, args.ExchangeID.Verifier, false, c, at)
	case args.Has&decode.HasSetClientID != 0:
		t.owner(args.SetClientID.ID, args.SetClientID.Verifier, true, c, at)
	}
	s := t.clients[pairKey{c.info.Client.Addr, c.info.Server}]
	if s == nil {
		return
	}
	switch {
	case destroy:
		s.destroys++
		if s.armed {
			s.evidence.add(at)
		}
	case s.armed:
		s.armed = false
		s.cycles++
		s.evidence.add(at)
		s.last, s.lastConn = at, c.info.ID
		switch {
		case args.Has&decode.HasExchangeID != 0:
			s.recovered |= 1
		case args.Has&decode.HasSetClientID != 0:
			s.recovered |= 2
		default:
			s.recovered |= 4
		}
	}
}

// owner notes that c's client sent owner id with verifier verf at frame at.
func (t *stateTable) owner(id []byte, verf [8]byte, v40 bool, c *connState, at tcpflow.FrameRef) {
	if len(id) == 0 {
		return
	}
	h := ownerHash(id, v40)
	addr := c.info.Client.Addr
	o := t.owners[h]
	if o == nil {
		if len(t.owners) >= maxOwners {
			t.dropped++
			return
		}
		if t.owners == nil {
			t.owners = map[uint64]*ownerRec{}
		}
		o = &ownerRec{v40: v40, nameLen: uint8(min(len(id), maxOwnerName)), cut: len(id) > maxOwnerName, lastAddr: addr}
		copy(o.name[:], id)
		t.owners[h] = o
	}
	o.sends++
	if o.lastAddr != addr {
		o.switches++
		o.lastAddr = addr
	}
	for i := range o.senders {
		if o.senders[i].addr == addr && o.senders[i].verf == verf {
			return
		}
	}
	if len(o.senders) >= maxOwnerAddrs {
		o.more++
		return
	}
	o.senders = append(o.senders, ownerSender{addr: addr, server: c.info.Server, verf: verf, first: at, conn: c.info.ID})
}

// stateErr is the index in clientState.errCount of a status that says the
// server lost the client's state; -1 for any other.
func stateErr(st uint32) int {
	switch st {
	case decode.NFS4ErrBadSession:
		return 0
	case decode.NFS4ErrDeadSession:
		return 1
	case decode.NFS4ErrStaleClientID:
		return 2
	case decode.NFS4ErrExpired:
		return 3
	}
	return -1
}

var stateErrNames = [4]string{"NFS4ERR_BADSESSION", "NFS4ERR_DEADSESSION", "NFS4ERR_STALE_CLIENTID", "NFS4ERR_EXPIRED"}

// stateReply looks at a COMPOUND reply's results, on c at frame at: a
// state error arms a cycle, SEQUENCE's status flags are noted.
func (a *Analyzer) stateReply(res *decode.Compound4Res, c *connState, at tcpflow.FrameRef) {
	flags := uint32(0)
	if res.Has&decode.HasSequence != 0 {
		flags = res.Sequence.StatusFlags
	}
	e := stateErr(res.Status)
	cbDown := res.Status == decode.NFS4ErrCBPathDown
	inUse := res.Has&decode.HasClidInUse != 0
	if e < 0 && flags == 0 && !cbDown && !inUse {
		return
	}
	s := a.nfs4.state.client(c)
	if s == nil {
		return
	}
	if inUse {
		if s.inUse == 0 {
			s.inUseFirst = at
			s.inUseAddrLen = uint8(copy(s.inUseAddr[:], res.SetClientID.InUseAddr))
		}
		s.inUse++
		s.inUseLast, s.inUseConn = at, c.info.ID
	}
	if cbDown || flags&cbPathDownFlags != 0 {
		s.cbDown++
		if cbDown {
			s.cbDownRenew++
		}
		s.cbDownFlags |= flags & cbPathDownFlags
		s.cbDownKeep.add(at)
		s.cbDownConn = c.info.ID
	}
	if flags != 0 {
		s.flags |= flags
		if flags&seqStatusRevokedMask != 0 {
			if s.revoked == 0 {
				s.revokedAt = at
			}
			s.revoked++
			s.revokedLast, s.revokedConn = at, c.info.ID
			s.revokedFlags |= flags & seqStatusRevokedMask
		}
	}
	if e < 0 {
		return
	}
	s.errors++
	s.errCount[e]++
	if s.first.Frame == 0 {
		s.first = at
	}
	s.last, s.lastConn = at, c.info.ID
	if !s.armed {
		s.armed, s.errAt = true, at
		s.evidence.add(at)
	}
}

// seqFlagNames names the SEQ4_STATUS bits (RFC 8881 section 18.46.3).
var seqFlagNames = []struct {
	bit  uint32
	name string
}{
	{0x1, "CB_PATH_DOWN"}, {0x2, "CB_GSS_CONTEXTS_EXPIRING"}, {0x4, "CB_GSS_CONTEXTS_EXPIRED"},
	{0x8, "EXPIRED_ALL_STATE_REVOKED"}, {0x10, "EXPIRED_SOME_STATE_REVOKED"}, {0x20, "ADMIN_STATE_REVOKED"},
	{0x40, "RECALLABLE_STATE_REVOKED"}, {0x80, "LEASE_MOVED"}, {0x100, "RESTART_RECLAIM_NEEDED"},
	{0x200, "CB_PATH_DOWN_SESSION"}, {0x400, "BACKCHANNEL_FAULT"}, {0x800, "DEVID_CHANGED"}, {0x1000, "DEVID_DELETED"},
}

// SeqStatusNames names the SEQ4_STATUS bits of flags, "SEQ4_STATUS_"
// left out, joined by "|".
func SeqStatusNames(flags uint32) string {
	var parts []string
	for _, f := range seqFlagNames {
		if flags&f.bit != 0 {
			parts = append(parts, f.name)
			flags &^= f.bit
		}
	}
	if flags != 0 {
		parts = append(parts, fmt.Sprintf("0x%x", flags))
	}
	return strings.Join(parts, "|")
}

// collision is an owner sent by two client addresses or more with
// different verifiers: two client instances claiming one identity.
func (o *ownerRec) collision() bool {
	for i := range o.senders {
		for j := i + 1; j < len(o.senders); j++ {
			if o.senders[i].addr != o.senders[j].addr && o.senders[i].verf != o.senders[j].verf {
				return true
			}
		}
	}
	return false
}

// addrs lists the distinct addresses that sent the owner, in order.
func (o *ownerRec) addrs() []string {
	var out []string
	for _, s := range o.senders {
		ip := tcpflow.Endpoint{Addr: s.addr}.IP()
		if !slices.Contains(out, ip) {
			out = append(out, ip)
		}
	}
	return out
}

func (o *ownerRec) quoted() string {
	s := fmt.Sprintf("%q", o.name[:o.nameLen])
	if o.cut {
		s += "..."
	}
	return s
}

// collidingOwner returns a colliding owner (and its hash) that client
// addr sent, the one sent most; nil when none.
func (t *stateTable) collidingOwner(addr [16]byte) (uint64, *ownerRec) {
	var best uint64
	var bo *ownerRec
	for _, h := range slices.Sorted(maps.Keys(t.owners)) {
		o := t.owners[h]
		if !o.collision() || !slices.ContainsFunc(o.senders, func(s ownerSender) bool { return s.addr == addr }) {
			continue
		}
		if bo == nil || o.sends > bo.sends {
			best, bo = h, o
		}
	}
	return best, bo
}

// collisionText describes an owner's collision: who sent it, when.
func (a *Analyzer) collisionText(o *ownerRec) string {
	op := "EXCHANGE_ID"
	if o.v40 {
		op = "SETCLIENTID"
	}
	var parts []string
	for _, s := range o.senders {
		parts = append(parts, fmt.Sprintf("%s (first at frame %s, verifier %x)", tcpflow.Endpoint{Addr: s.addr}.IP(), a.frame(s.first), s.verf))
	}
	more := ""
	if o.more > 0 {
		more = fmt.Sprintf(" and %d more", o.more)
	}
	return fmt.Sprintf("client-ID collision: %d %s calls named the same client owner %s from %s%s, with different boot verifiers, so they are different client instances claiming one identity (cloned VMs, containers sharing a hostname); each one's %s replaces the other's client ID and state on the server (RFC 8881 section 18.35.4), and the sender changed %d %s",
		o.sends, op, o.quoted(), strings.Join(parts, ", "), more, op, o.switches, Plural(o.switches, "time", "times"))
}

// stateFindings turns the state table into findings: recovery loops,
// client-ID collisions without a loop, revoked state.
func (a *Analyzer) stateFindings(all []Finding, end int64, omitted map[string]int64) []Finding {
	if a.nfs4 == nil {
		return all
	}
	t := &a.nfs4.state
	clients := slices.Collect(maps.Values(t.clients))
	slices.SortFunc(clients, func(x, y *clientState) int {
		if c := bytes.Compare(x.key.client[:], y.key.client[:]); c != 0 {
			return c
		}
		if c := bytes.Compare(x.key.server.Addr[:], y.key.server.Addr[:]); c != 0 {
			return c
		}
		return cmp.Compare(x.key.server.Port, y.key.server.Port)
	})
	named := map[uint64]bool{} // owners whose collision a loop names
	listed := map[string]int{}
	keep := func(f Finding) { all = listUpTo(all, f, listed, omitted) }
	for _, s := range clients {
		if s.cycles >= minLoopCycles {
			f, owner := a.loopFinding(s, end)
			if owner != 0 {
				named[owner] = true
			}
			keep(f)
		}
		if s.inUse > 0 && s.cycles < minLoopCycles {
			keep(a.inUseFinding(s))
		}
		if s.revoked > 0 {
			keep(a.revokedFinding(s))
		}
	}
	hashes := slices.Sorted(maps.Keys(t.owners))
	for _, h := range hashes {
		o := t.owners[h]
		if named[h] || !o.collision() {
			continue
		}
		if listed[KindStateRecovery] >= maxListed {
			omitted[KindStateRecovery]++
			continue
		}
		s := o.senders[len(o.senders)-1]
		f := Finding{Kind: KindStateRecovery, Severity: SeverityWarning, Connection: s.conn, Start: Time(o.senders[0].first.Time)}
		var refs []tcpflow.FrameRef
		for _, x := range o.senders {
			refs = append(refs, x.first)
		}
		f.setFrames(refs)
		f.Summary = "no recovery loop is seen, but a " + a.collisionText(o) + "; expect NFS4ERR_STALE_CLIENTID, BADSESSION or EXPIRED answers to whichever client registered first"
		if o.switches <= 1 {
			f.Summary += " (with the sender changing only once, this may also be one client that restarted under a new address)"
		}
		keep(f)
	}
	return all
}

// listUpTo appends f to all while its kind has fewer than maxListed
// findings listed (counted in listed), else counts it in omitted: the
// detectors that build their findings at the end list each kind to the
// same bound, and say how many more there were.
func listUpTo(all []Finding, f Finding, listed map[string]int, omitted map[string]int64) []Finding {
	if listed[f.Kind] >= maxListed {
		omitted[f.Kind]++
		return all
	}
	listed[f.Kind]++
	return append(all, f)
}

// loopFinding describes a client's recovery cycles; it returns the hash of
// its owner when that owner collides.
func (a *Analyzer) loopFinding(s *clientState, end int64) (Finding, uint64) {
	client := tcpflow.Endpoint{Addr: s.key.client}.IP()
	f := Finding{Kind: KindStateRecovery, Connection: s.lastConn, Start: Time(s.first.Time), DurationMS: ms(s.last.Time - s.first.Time)}
	refs := s.evidence.refs()
	f.setFrames(refs)
	var errs []string
	for i, n := range s.errCount {
		if n > 0 {
			errs = append(errs, fmt.Sprintf("%d %s", n, stateErrNames[i]))
		}
	}
	var b strings.Builder
	var ops []string
	for i, op := range []string{"EXCHANGE_ID", "SETCLIENTID", "CREATE_SESSION"} {
		if s.recovered&(1<<i) != 0 {
			ops = append(ops, op)
		}
	}
	fmt.Fprintf(&b, "%s lost its NFSv4 state on %s and re-established it %d times in %s: the server answered %s, each time followed by the client's %s",
		client, s.key.server, s.cycles, FormatMS(f.DurationMS), strings.Join(errs, ", "),
		strings.Join(ops, " or "))
	if s.destroys > 0 {
		fmt.Fprintf(&b, " (and %d DESTROY_SESSION)", s.destroys)
	}
	fmt.Fprintf(&b, " (frames %s", a.frames(refs))
	if s.evidence.n > len(refs) {
		fmt.Fprintf(&b, "; %d errors and recoveries in all", s.evidence.n)
	}
	b.WriteString(")")
	if s.armed {
		fmt.Fprintf(&b, "; the last error (frame %s) was not followed by a recovery by the end of the capture", a.frame(s.errAt))
	}
	owner, o := a.nfs4.state.collidingOwner(s.key.client)
	if s.inUse > 0 && o == nil {
		fmt.Fprintf(&b, "; cause: client-ID collision: the server refused the client's SETCLIENTID with NFS4ERR_CLID_INUSE (frame %s): another client, %s, holds its client ID string", a.frame(s.inUseFirst), uaddrText(s.inUseAddr[:s.inUseAddrLen]))
		if a.nfs4.state.blame == nil {
			a.nfs4.state.blame = map[int]string{}
		}
		a.nfs4.state.blame[s.lastConn] = fmt.Sprintf("the server says the client ID string of %s is held by %s", client, uaddrText(s.inUseAddr[:s.inUseAddrLen]))
	} else if o != nil {
		b.WriteString("; cause: ")
		b.WriteString(a.collisionText(o))
		if a.nfs4.state.blame == nil {
			a.nfs4.state.blame = map[int]string{}
		}
		a.nfs4.state.blame[s.lastConn] = fmt.Sprintf("client owner %s is sent by %s with different boot verifiers", o.quoted(), strings.Join(o.addrs(), " and "))
	} else {
		b.WriteString("; no other client sent its owner, so the server itself is discarding the client's state: it restarted or failed over (see NFS4ERR_GRACE), or the client's lease expired (not renewed within the lease time), or the server reclaims state under pressure")
	}
	f.Summary = b.String()
	f.Severity = SeverityWarning
	if s.cycles >= stallLoopCycles {
		f.Severity = SeverityStall
	}
	return f, owner
}

// inUseFinding describes SETCLIENTIDs refused NFS4ERR_CLID_INUSE.
func (a *Analyzer) inUseFinding(s *clientState) Finding {
	client := tcpflow.Endpoint{Addr: s.key.client}.IP()
	f := Finding{Kind: KindStateRecovery, Severity: SeverityWarning, Connection: s.inUseConn, Start: Time(s.inUseFirst.Time),
		DurationMS: ms(s.inUseLast.Time - s.inUseFirst.Time)}
	refs := []tcpflow.FrameRef{s.inUseFirst}
	if s.inUseLast != s.inUseFirst {
		refs = append(refs, s.inUseLast)
	}
	f.setFrames(refs)
	f.Summary = fmt.Sprintf("client-ID collision: the server %s refused %s's SETCLIENTID %d %s with NFS4ERR_CLID_INUSE (frames %s): another client, %s, holds the same client ID string under another principal (RFC 7530 section 16.33.5); the client cannot register until one of them is given a unique identity",
		s.key.server, client, s.inUse, Plural(s.inUse, "time", "times"), a.frames(refs), uaddrText(s.inUseAddr[:s.inUseAddrLen]))
	return f
}

// uaddrText words a universal address (RFC 5665: h1.h2.h3.h4.p1.p2 for
// IPv4; an IPv6 address then .p1.p2) as "ADDR port N"; anything else is
// quoted.
func uaddrText(b []byte) string {
	s := string(b)
	i := strings.LastIndexByte(s, '.')
	j := -1
	if i > 0 {
		j = strings.LastIndexByte(s[:i], '.')
	}
	if j <= 0 {
		return fmt.Sprintf("callback address %q", s)
	}
	var p1, p2 int
	if _, err := fmt.Sscanf(s[j+1:], "%d.%d", &p1, &p2); err != nil || p1 > 255 || p2 > 255 || p1 < 0 || p2 < 0 {
		return fmt.Sprintf("callback address %q", s)
	}
	return fmt.Sprintf("the client at %s (callback port %d)", s[:j], p1*256+p2)
}

// revokedFinding describes SEQUENCE replies that said the server revoked
// some of the client's state.
func (a *Analyzer) revokedFinding(s *clientState) Finding {
	client := tcpflow.Endpoint{Addr: s.key.client}.IP()
	f := Finding{Kind: KindStateRevoked, Severity: SeverityWarning, Connection: s.revokedConn, Start: Time(s.revokedAt.Time),
		DurationMS: ms(s.revokedLast.Time - s.revokedAt.Time)}
	refs := []tcpflow.FrameRef{s.revokedAt}
	if s.revokedLast != s.revokedAt {
		refs = append(refs, s.revokedLast)
	}
	f.setFrames(refs)
	why := ""
	switch {
	case s.revokedFlags&0x40 != 0:
		why = ": RECALLABLE_STATE_REVOKED is a delegation or layout the client did not return when recalled (a callback it never got or answered)"
	case s.revokedFlags&0x20 != 0:
		why = ": ADMIN_STATE_REVOKED is an administrator's doing on the server"
	case s.revokedFlags&0x18 != 0:
		why = ": the client's lease expired (it did not renew in time) and the server revoked its locks, opens or delegations"
	}
	f.Summary = fmt.Sprintf("the server told %s that it revoked some of its state: %d SEQUENCE %s from %s carried SEQ4_STATUS_%s (first at frame %s, last at frame %s)%s; the applications holding that state get errors (EIO) on it, and the client must FREE_STATEID it",
		client, s.revoked, Plural(int(s.revoked), "reply", "replies"), s.key.server, SeqStatusNames(s.revokedFlags), a.frame(s.revokedAt), a.frame(s.revokedLast), why)
	return f
}

// recoveryVerdict is the verdict for a client caught in a state recovery
// loop: the loop findings at loops, the unanswered calls at unanswered.
func (a *Analyzer) recoveryVerdict(r *Report, d *Diagnosis, loops, unanswered []int, stuck string) {
	f := r.Findings[loops[0]]
	d.Verdict = VerdictStateRecoveryLoop
	d.Findings = append(slices.Clone(loops), unanswered...)
	blame := "the server keeps discarding the client's state (a restart or failover, an expiring lease, state reclaimed): the server side is to blame, unless the client fails to renew its lease in time"
	if who, ok := a.nfs4.state.blame[f.Connection]; ok {
		blame = "two clients claim one identity (" + who + "), so each one's registration wipes out the other's state on the server: the clients' configuration is to blame; give each a unique identity (Linux: the nfs.nfs4_unique_id module parameter, or /sys/fs/nfs/net/nfs_client/identifier in each network namespace; a distinct hostname in each container)"
	}
	d.Summary = fmt.Sprintf("the client keeps losing its NFSv4 state and recovering it (frames %s); its calls fail and are re-sent after every recovery, so it makes little progress: %s.%s",
		a.findingFrames(r, loops), blame, stuck)
}

// skippedState says what the state tables left out.
func (t *stateTable) skipped(r *Report) {
	r.skip(true, "NFSv4 state events", t.dropped,
		fmt.Sprintf("not followed for %s: %d clients and %d client owners are followed, the most kept", KindStateRecovery, maxStateClients, maxOwners))
}
