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

// NLM lock waits (issue 13, item 9; lockwait.go has NFSv4's). A blocking
// NLM LOCK the server cannot grant is answered NLM4_BLOCKED; when the lock
// is free, the server's lock manager calls the client's with GRANTED (or
// the one-way GRANTED_MSG, answered by a GRANTED_RES call): XNFS chapter
// 10. The client's lock manager listens on a port of its own, and a
// firewall in front of it leaves the application blocked although the
// server granted the lock: the one case that is a fault, not a wait. The
// callback's connection (the server's lockd to the client's) is followed
// only when its port is in --port, like NLM itself (lockd's port comes
// from rpcbind).
//
// Waits are followed by client address, file handle hash and offset (at
// most maxLockWaits); only NLM calls and replies come here.

// nlmState is what the analysis keeps of NLM; made at the first NLM call.
type nlmState struct {
	args    decode.NLMArgs
	res     decode.NLMRes
	waits   map[nlmKey]*nlmWait
	dropped int64
}

type nlmKey struct {
	client [16]byte
	fh     uint32
	offset uint64
}

// nlmWait is one client's blocked LOCK and its grant.
type nlmWait struct {
	key         nlmKey
	server      tcpflow.Endpoint
	conn        int
	call        tcpflow.FrameRef // the first LOCK answered BLOCKED
	blocked     tcpflow.FrameRef // its BLOCKED answer
	lastBlocked tcpflow.FrameRef
	blocks      int
	polled      tcpflow.FrameRef // a later LOCK answered GRANTED
	grant       tcpflow.FrameRef // the server's GRANTED (GRANTED_MSG) call
	grantSends  int
	grantMsg    bool
	grantConn   int
	grantReply  tcpflow.FrameRef // its reply (GRANTED_RES call)
	grantStat   uint32
	cancelled   tcpflow.FrameRef
}

func (a *Analyzer) nlmOf() *nlmState {
	if a.nlm == nil {
		a.nlm = &nlmState{}
	}
	return a.nlm
}

// wait returns the wait k, made when absent; nil past the bound.
func (s *nlmState) wait(k nlmKey) *nlmWait {
	if w := s.waits[k]; w != nil {
		return w
	}
	if len(s.waits) >= maxLockWaits {
		s.dropped++
		return nil
	}
	if s.waits == nil {
		s.waits = map[nlmKey]*nlmWait{}
	}
	w := &nlmWait{key: k}
	s.waits[k] = w
	return w
}

// nlmCall reads the arguments of p, a tracked NLM call m on c at frame at:
// the lock's file and offset name the call, a GRANTED from the server's
// lock manager (GRANTED_MSG, and GRANTED_RES from the client's) is a
// wait's grant, CANCEL its end.
func (a *Analyzer) nlmCall(p *call, m *decode.Call, c *connState, at tcpflow.FrameRef) {
	s := a.nlmOf()
	args := &s.args
	decode.ParseNLMArgs(m.Vers, m.Proc, m.Args, args) // keep what decoded, even if cut short
	if args.Has&decode.NLMHasLock != 0 {
		p.hasFH, p.fhHash = true, decode.FHHash(args.Lock.FH)
		p.hasOffset, p.offset, p.count = true, args.Lock.Offset, uint32(min(args.Lock.Length, 1<<32-1))
	}
	switch m.Proc {
	case decode.NLMProcGranted, decode.NLMProcGrantedMsg:
		if args.Has&decode.NLMHasLock == 0 {
			return
		}
		// The server's lock manager calls the client's: the client of the
		// wait is this connection's server side.
		w := s.wait(nlmKey{client: c.info.Server.Addr, fh: p.fhHash, offset: p.offset})
		if w == nil {
			return
		}
		if w.grant.Frame == 0 {
			w.grant, w.grantConn, w.grantMsg = at, c.info.ID, m.Proc == decode.NLMProcGrantedMsg
		}
		w.grantSends++
	case decode.NLMProcGrantedRes:
		// The client's lock manager answers a GRANTED_MSG: the oldest
		// unanswered one sent to this client.
		var best *nlmWait
		for _, w := range s.waits {
			if w.key.client == c.info.Client.Addr && w.grantMsg && w.grantReply.Frame == 0 && (best == nil || w.grant.Time < best.grant.Time) {
				best = w
			}
		}
		if best != nil {
			best.grantReply, best.grantStat = at, args.Res.Stat
		}
	case decode.NLMProcCancel:
		if w := s.waits[nlmKey{client: c.info.Client.Addr, fh: p.fhHash, offset: p.offset}]; w != nil && args.Has&decode.NLMHasLock != 0 && w.cancelled.Frame == 0 {
			w.cancelled = at
		}
	}
}

// nlmReply reads the reply, on c at frame at, to p, an NLM call.
func (a *Analyzer) nlmReply(p *call, results []byte, c *connState, at tcpflow.FrameRef) {
	s := a.nlmOf()
	r := &s.res
	decode.ParseNLMResult(p.vers, p.proc, results, r) // keep what decoded, even if cut short
	if r.Has&decode.NLMHasStat == 0 || !p.hasFH {
		return
	}
	switch p.proc {
	case decode.NLMProcLock:
		k := nlmKey{client: c.info.Client.Addr, fh: p.fhHash, offset: p.offset}
		switch r.Stat {
		case decode.NLMBlocked:
			w := s.wait(k)
			if w == nil {
				return
			}
			if w.blocked.Frame == 0 {
				w.call, w.blocked, w.server, w.conn = p.first, at, c.info.Server, c.info.ID
			}
			w.blocks++
			w.lastBlocked = at
		case decode.NLMGranted:
			if w := s.waits[k]; w != nil && w.blocked.Frame != 0 && w.polled.Frame == 0 {
				w.polled = at
			}
		}
	case decode.NLMProcGranted:
		k := nlmKey{client: c.info.Server.Addr, fh: p.fhHash, offset: p.offset}
		if w := s.waits[k]; w != nil && w.grantReply.Frame == 0 {
			w.grantReply, w.grantStat = at, r.Stat
		}
	}
}

// nlmFindings turns the NLM waits into lock_wait findings.
func (a *Analyzer) nlmFindings(all []Finding, end int64, omitted map[string]int64) []Finding {
	if a.nlm == nil {
		return all
	}
	waits := slices.Collect(maps.Values(a.nlm.waits))
	first := func(w *nlmWait) int64 {
		if w.call.Frame != 0 {
			return w.call.Time
		}
		return w.grant.Time
	}
	slices.SortFunc(waits, func(x, y *nlmWait) int {
		if c := cmp.Compare(first(x), first(y)); c != 0 {
			return c
		}
		return bytes.Compare(x.key.client[:], y.key.client[:])
	})
	// NFSv4 lock waits (lockwait.go) came first: one bound for the kind.
	room := maxListed
	for i := range all {
		if all[i].Kind == KindLockWait {
			room--
		}
	}
	for i, w := range waits {
		if i >= room {
			omitted[KindLockWait] += int64(len(waits) - i)
			break
		}
		all = append(all, a.nlmWaitFinding(w, first(w), end))
	}
	return all
}

func (a *Analyzer) nlmWaitFinding(w *nlmWait, start, end int64) Finding {
	client := tcpflow.Endpoint{Addr: w.key.client}.IP()
	file := fmt.Sprintf("FH 0x%08x", w.key.fh)
	path := a.paths.path(w.key.fh)
	if path != "" {
		file += fmt.Sprintf(" %q", path)
	}
	f := Finding{Kind: KindLockWait, Procedure: "LOCK", Path: path, Start: Time(start), Connection: w.conn}
	if w.conn == 0 {
		f.Connection = w.grantConn
	}
	var refs []tcpflow.FrameRef
	var b strings.Builder
	if w.blocked.Frame != 0 {
		refs = append(refs, w.call, w.blocked)
		fmt.Fprintf(&b, "%s's NLM LOCK on %s (offset %d) at frame %s was answered NLM4_BLOCKED at frame %s", client, file, w.key.offset, a.frame(w.call), a.frame(w.blocked))
		if w.blocks > 1 {
			refs = append(refs, w.lastBlocked)
			fmt.Fprintf(&b, ", and again %d more %s (last at frame %s)", w.blocks-1, Plural(w.blocks-1, "time", "times"), a.frame(w.lastBlocked))
		}
		b.WriteString(": another application holds the lock, the server queued the request")
	} else {
		fmt.Fprintf(&b, "the server's lock manager granted %s a lock on %s (offset %d) whose blocked LOCK is not in the capture", client, file, w.key.offset)
	}
	f.Severity = SeverityInfo
	switch {
	case w.grant.Frame != 0:
		refs = append(refs, w.grant)
		how := "GRANTED callback"
		if w.grantMsg {
			how = "GRANTED_MSG callback"
		}
		fmt.Fprintf(&b, "; the server sent the %s at frame %s (connection %d)", how, a.frame(w.grant), w.grantConn)
		if w.grantSends > 1 {
			fmt.Fprintf(&b, ", %d times", w.grantSends)
		}
		switch {
		case w.grantReply.Frame != 0:
			refs = append(refs, w.grantReply)
			fmt.Fprintf(&b, "; the client's lock manager answered %s at frame %s", decode.NLMStatName(w.grantStat), a.frame(w.grantReply))
			if w.blocked.Frame != 0 {
				f.DurationMS = ms(w.grantReply.Time - start)
				fmt.Fprintf(&b, ": the lock came %s after the LOCK (a wait, not a fault)", FormatMS(f.DurationMS))
			}
		default:
			f.DurationMS = ms(end - start)
			fmt.Fprintf(&b, " and the client's lock manager never answered it (%s by the end of the capture): the lock is free but the client's application may never learn it; a firewall in front of the client's lockd port, or a client lockd that does not answer, is to blame", FormatMS(ms(end-w.grant.Time)))
			if end-w.grant.Time >= a.opts.StallAfter {
				f.Severity = SeverityWarning
			}
		}
	case w.polled.Frame != 0:
		refs = append(refs, w.polled)
		f.DurationMS = ms(w.polled.Time - start)
		fmt.Fprintf(&b, "; a later LOCK was granted at frame %s, %s after the first (the client polled; no GRANTED callback was seen)", a.frame(w.polled), FormatMS(f.DurationMS))
	case w.cancelled.Frame != 0:
		refs = append(refs, w.cancelled)
		f.DurationMS = ms(w.cancelled.Time - start)
		fmt.Fprintf(&b, "; the client cancelled it at frame %s, %s later", a.frame(w.cancelled), FormatMS(f.DurationMS))
	default:
		f.DurationMS = ms(end - start)
		fmt.Fprintf(&b, "; no GRANTED callback by the end of the capture, %s later: the lock is still held by another, or the callback cannot reach the client's lock manager (a firewall in front of its lockd port; the callback's port is followed only with --port)", FormatMS(f.DurationMS))
		if end-start >= a.opts.StallAfter {
			f.Severity = SeverityWarning
		}
	}
	f.setFrames(refs)
	f.Summary = b.String()
	return f
}

// skipped says what the NLM table left out.
func (s *nlmState) skipped(r *Report) {
	r.skip(true, "NLM lock waits", s.dropped,
		fmt.Sprintf("not followed for %s: %d waits are followed, the most kept", KindLockWait, maxLockWaits))
}
