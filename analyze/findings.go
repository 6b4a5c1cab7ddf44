package analyze

import (
	"cmp"
	"fmt"
	"slices"
	"strings"

	"github.com/nfsstall/nfsstall/decode"
	"github.com/nfsstall/nfsstall/tcpflow"
)

// maxListed bounds the findings of one kind listed in full; the rest are
// counted in Report.Skipped, so a capture with a million slow replies still
// gives a readable report in bounded memory.
const maxListed = 1000

// Finding kinds (../shared/report-json.md).
const (
	KindUnanswered    = "unanswered_call"
	KindSlowReply     = "slow_reply"
	KindRPCRetrans    = "rpc_retransmission"
	KindUnackedRetran = "unacked_retransmission"
	KindZeroWindow    = "zero_window"
)

// label names a call for people, with what it was about:
// "READ xid 0xccbc20c7 (FH 0x633aa4f4, offset 1376075776, 1048576 bytes)".
func (p *call) label(xid uint32, paths *pathTable) string {
	s := fmt.Sprintf("%s xid %s", p.procLabel(), XID(xid))
	if d := p.detail(paths); d != "" {
		s += " (" + d + ")"
	}
	return s
}

// detail says what a call was about: its file handle (as Wireshark's
// "FH: 0x..." hash) and the handle's path when the capture showed it
// (paths.go), name, offset and count. A name from the wire is quoted with
// Go escapes, so control characters and terminal escape sequences are
// shown, never sent to the terminal.
func (p *call) detail(paths *pathTable) string {
	var parts []string
	if p.hasFH {
		fh := fmt.Sprintf("FH 0x%08x", p.fhHash)
		if path := paths.path(p.fhHash); path != "" {
			fh += fmt.Sprintf(" %q", path)
		}
		parts = append(parts, fh)
	}
	if p.nameLen > 0 || p.nameCut {
		name := fmt.Sprintf("name %q", p.nameBuf[:p.nameLen])
		if p.nameCut {
			name += "..."
		}
		parts = append(parts, name)
	}
	if p.hasOffset {
		parts = append(parts, fmt.Sprintf("offset %d, %d bytes", p.offset, p.count))
	}
	return strings.Join(parts, ", ")
}

func xidPtr(x uint32) *XID { v := XID(x); return &v }

// maxListedUnanswered bounds the calls listed in Report.Unanswered: the
// oldest are listed, all are counted.
const maxListedUnanswered = 10000

// pendingByAge returns the calls still waiting for a reply, oldest first
// (by first transmission, then XID). It is computed once.
func (a *Analyzer) pendingByAge() []callKey {
	if a.pendingSorted != nil {
		return a.pendingSorted
	}
	type entry struct {
		k    callKey
		time int64
	}
	all := make([]entry, 0, len(a.pending))
	for k, p := range a.pending {
		all = append(all, entry{k, p.first.Time})
	}
	slices.SortFunc(all, func(x, y entry) int {
		if x.time != y.time {
			return cmp.Compare(x.time, y.time)
		}
		return cmp.Compare(int64(x.k.xid), int64(y.k.xid))
	})
	keys := make([]callKey, len(all))
	for i, e := range all {
		keys[i] = e.k
	}
	a.pendingSorted = keys
	return keys
}

// sentAt says where the call was sent: at its frame, or, when its last
// bytes fell in a capture hole, by the frame that declared the hole.
func (p *call) sentAt(a *Analyzer) string {
	if p.endInHole {
		return "sent by frame " + a.frame(p.first) + " (its last bytes were not captured)"
	}
	return "sent at frame " + a.frame(p.first)
}

// ackNote says whether, and when, the server's TCP acknowledged the call.
func (p *call) ackNote(a *Analyzer) string {
	if p.ackedAt.Frame == 0 {
		if p.lastConn != nil && p.lastConn.info.Proto == tcpflow.ProtoUDP {
			return ""
		}
		return "; no TCP ACK of it from the server was captured"
	}
	sent := "it was sent"
	if p.sends > 1 {
		sent = "it was last sent"
	}
	return fmt.Sprintf("; the server's TCP ACKed it at frame %s, %s after %s", a.frame(p.ackedAt), FormatMS(ms(p.ackedAt.Time-p.last.Time)), sent)
}

// noteSlow records a reply that came later than the slow threshold.
func (a *Analyzer) noteSlow(p *call, k callKey, at tcpflow.FrameRef, c *connState) {
	a.slowCount++
	if len(a.slow) >= maxListed {
		return
	}
	c.named = true
	lat := at.Time - p.first.Time
	refs := []tcpflow.FrameRef{p.first}
	if p.ackedAt.Frame != 0 {
		refs = append(refs, p.ackedAt)
	}
	// Where the time went: before the server began its reply (the server
	// was busy or stuck), or between its first and last byte (the reply
	// was held up in TCP: losses, a closed window, a client not ACKing).
	began := c.msgFirst
	where := ""
	if began.Frame != 0 {
		refs = append(refs, began)
	}
	refs = append(refs, at)
	toStart, inFlight := began.Time-p.last.Time, at.Time-began.Time
	switch {
	case began.Frame == 0:
	case inFlight > toStart:
		where = fmt.Sprintf(": the server began the reply at frame %s, %s after the call, and it took %s more to arrive: it was held up in TCP, not in the server",
			a.frame(began), FormatMS(ms(toStart)), FormatMS(ms(inFlight)))
	case p.ackedAt.Frame != 0:
		where = fmt.Sprintf(": the call had reached the server, which began the reply only %s later (frame %s): the wait was in the server",
			FormatMS(ms(toStart)), a.frame(began))
	}
	f := Finding{
		Kind: KindSlowReply, Severity: SeverityWarning, Connection: c.info.ID,
		XID: xidPtr(k.xid), Procedure: p.name(), procLabel: p.procLabel(), Path: a.pathOf(p),
		Start: Time(p.first.Time), DurationMS: ms(lat),
		Summary: fmt.Sprintf("%s sent at frame %s was answered after %s at frame %s%s%s",
			p.label(k.xid, &a.paths), a.frame(p.first), FormatMS(ms(lat)), a.frame(at), p.ackNote(a), where),
	}
	f.setFrames(refs)
	a.slow = append(a.slow, f)
}

// noteRetransmitted records a call sent more than once.
func (a *Analyzer) noteRetransmitted(p *call, k callKey, reply tcpflow.FrameRef, c *connState) {
	a.retransCnt++
	if len(a.retrans) >= maxListed {
		return
	}
	p.conn.named = true
	sends := append([]tcpflow.FrameRef{p.first}, p.resends...)
	refs := sends
	outcome := "never answered"
	if reply.Frame != 0 {
		refs = append(slices.Clip(sends), reply)
		outcome = fmt.Sprintf("answered at frame %s on connection %d, %s after the first transmission",
			a.frame(reply), c.info.ID, FormatMS(ms(reply.Time-p.first.Time)))
	}
	where := "on the same connection"
	if p.lastConn != p.conn {
		where = fmt.Sprintf("after a reconnect (connection %d, then %d)", p.conn.info.ID, p.lastConn.info.ID)
	}
	f := Finding{
		Kind: KindRPCRetrans, Severity: SeverityWarning, Connection: p.conn.info.ID,
		XID: xidPtr(k.xid), Procedure: p.name(), procLabel: p.procLabel(), Path: a.pathOf(p),
		Start: Time(p.first.Time), DurationMS: ms(p.last.Time - p.first.Time),
		Summary: fmt.Sprintf("%s was sent %d times %s (frames %s); %s",
			p.label(k.xid, &a.paths), p.sends, where, a.frames(sends), outcome),
	}
	f.setFrames(refs)
	a.retrans = append(a.retrans, f)
}

// findings turns what was gathered into findings and verdicts. end is the
// time the capture ends (the last frame, or a later pcapng end time).
func (a *Analyzer) findings(r *Report, end int64) {
	omitted := map[string]int64{}
	all := a.unansweredFindings(end, omitted)
	all = append(all, a.slow...)
	omitted[KindSlowReply] += a.slowCount - int64(len(a.slow))
	all = append(all, a.retrans...)
	omitted[KindRPCRetrans] += a.retransCnt - int64(len(a.retrans))
	all, zeroWins := a.tcpFindings(all, end, omitted)
	all = a.reconnectFindings(all, end, omitted)
	all = a.watchFindings(all, end, omitted)
	all = a.mtuFindings(all, end, omitted)
	all = a.dackFindings(all, end, omitted)
	all = a.stateFindings(all, end, omitted)  // recovery.go
	all = a.slotFindings(all, end)            // slots.go
	all = a.recallFindings(all, end, omitted) // recall.go
	all = a.lockFindings(all, end, omitted)   // lockwait.go
	all = a.nlmFindings(all, end, omitted)    // nlmwait.go
	omitted[KindSessionSlots] += a.slotsOmitted()

	// Connections folded with their evidence (history.go).
	for kind, n := range a.folded.omitted {
		omitted[kind] += n
	}

	// Stalls first, then by time.
	sevRank := map[Severity]int{SeverityStall: 0, SeverityWarning: 1, SeverityInfo: 2}
	slices.SortStableFunc(all, func(x, y Finding) int {
		if x.Severity != y.Severity {
			return sevRank[x.Severity] - sevRank[y.Severity]
		}
		return cmp.Compare(int64(x.Start), int64(y.Start))
	})
	// Zero windows open at the end were all built: keep the first
	// maxListed, stalls first.
	if zeroWins > maxListed {
		n := 0
		all = slices.DeleteFunc(all, func(f Finding) bool {
			if f.Kind != KindZeroWindow {
				return false
			}
			n++
			if n > maxListed {
				omitted[KindZeroWindow]++
				return true
			}
			return false
		})
	}
	a.discount(all)
	r.Findings = all
	for _, kind := range []string{KindUnanswered, KindSlowReply, KindRPCRetrans, KindUnackedRetran, KindZeroWindow, KindReconnect, KindGrace, KindDelay, KindAuth, KindMTUBlackHole, KindDelayedACK, KindSessionSlots,
		KindStateRecovery, KindStateRevoked, KindRecallStuck, KindCallbackPathDown, KindLockWait} {
		if n := omitted[kind]; n > 0 {
			r.Skipped = append(r.Skipped, Skipped{Bound: true, What: kind + " findings", Count: n,
				Reason: fmt.Sprintf("beyond the first %d listed in full (all are counted in the summary and tables)", maxListed)})
		}
	}
	if s, ok := a.reconn.skipped(); ok {
		r.Skipped = append(r.Skipped, s)
	}
	r.Skipped = append(r.Skipped, a.watch.skipped()...)
	if a.nlm != nil {
		a.nlm.skipped(r)
	}
	a.diagnose(r)
}

// unansweredFindings lists the calls never answered that are old enough
// to be stalls, the first maxListed in full, and notes the retransmitted
// among all that wait.
func (a *Analyzer) unansweredFindings(end int64, omitted map[string]int64) []Finding {
	all := []Finding{}
	var unanswered int
	for _, k := range a.pendingByAge() {
		p := a.pending[k]
		if p.sends > 1 {
			a.noteRetransmitted(p, k, tcpflow.FrameRef{}, p.lastConn)
		}
		age := end - p.first.Time
		if age < a.opts.StallAfter {
			continue
		}
		unanswered++
		if unanswered > maxListed {
			omitted[KindUnanswered]++
			continue
		}
		all = append(all, a.unansweredFinding(p, k, age))
	}
	return all
}

// unansweredFinding describes a call never answered, age old at the end.
func (a *Analyzer) unansweredFinding(p *call, k callKey, age int64) Finding {
	refs := append([]tcpflow.FrameRef{p.first}, p.resends...)
	if p.ackedAt.Frame != 0 {
		refs = append(refs, p.ackedAt)
	}
	partial := ""
	if p.partialLen > 0 {
		partial = fmt.Sprintf("; its reply began but is incomplete: %d of %d bytes sent", p.partialHave, p.partialLen)
	}
	sev, silent := SeverityStall, ""
	if p.prog == decode.ProgPortmap && p.proc == pmapCallit {
		// RFC 1833: CALLIT (rpcbind's BCAST) answers only when the
		// called procedure succeeds, and broadcasts are answered by
		// whoever has it: silence is no stall.
		sev, silent = SeverityInfo, "; CALLIT is answered only when the called procedure succeeds (RFC 1833), so no reply is not a stall"
	} else if missed := a.replyMissed(p); missed != "" {
		// The reply may be in what the capture missed: unproven.
		sev, silent = SeverityWarning, missed
		a.lossUnanswered++
	}
	f := Finding{
		Kind: KindUnanswered, Severity: sev, Connection: p.lastConn.info.ID,
		XID: xidPtr(k.xid), Procedure: p.name(), procLabel: p.procLabel(), Path: a.pathOf(p),
		Start: Time(p.first.Time), DurationMS: ms(age),
		Summary: fmt.Sprintf("%s %s was never answered (outstanding %s at end of capture)%s%s%s",
			p.label(k.xid, &a.paths), p.sentAt(a), FormatMS(ms(age)), p.ackNote(a), partial, silent),
		side: tcpflow.ToServer, acked: p.ackedAt.Frame != 0, unproven: sev == SeverityWarning,
	}
	f.setFrames(refs)
	return f
}

// tcpFindings appends the TCP evidence of every connection held: at most
// maxListed of each kind are built (of zero windows, any still closed at
// the end besides: they may be stalls); the rest are counted in omitted.
// It returns how many zero-window findings it built.
func (a *Analyzer) tcpFindings(all []Finding, end int64, omitted map[string]int64) ([]Finding, int) {
	built := map[string]int{}
	for _, c := range a.conns {
		if c.tcp == nil {
			continue
		}
		for _, u := range c.tcp.Unacked {
			if built[KindUnackedRetran] >= maxListed {
				omitted[KindUnackedRetran]++
				continue
			}
			built[KindUnackedRetran]++
			all = append(all, c.unackedFinding(u, end, a.opts.StallAfter))
		}
		for _, zw := range c.tcp.ZeroWins {
			if zw.Closed && built[KindZeroWindow] >= maxListed {
				omitted[KindZeroWindow]++
				continue
			}
			built[KindZeroWindow]++
			all = append(all, c.zeroWindowFinding(zw, end, a.opts.StallAfter))
		}
	}
	return all, built[KindZeroWindow]
}

// pmapCallit is PMAPPROC_CALLIT (portmap v2) and RPCBPROC_BCAST (rpcbind
// v3 and v4), procedure 5 of program 100000.
const pmapCallit = 5

// unackedFinding describes bytes re-sent and never ACKed: a stall when
// they have waited at least stallAfter since their first transmission at
// the end of the capture, else a warning that says why it is not one.
func (c *connState) unackedFinding(u tcpflow.Unacked, end, stallAfter int64) Finding {
	sender, receiver := "client", "server"
	if u.Dir == tcpflow.ToClient {
		sender, receiver = "server", "client"
	}
	first, last := u.Frames[0], u.Frames[len(u.Frames)-1]
	f := Finding{
		Kind: KindUnackedRetran, Severity: SeverityStall, Connection: c.info.ID,
		Start: Time(first.Time), DurationMS: ms(end - first.Time), side: u.Dir,
	}
	f.setFrames(u.Frames)
	what := ""
	if u.Start >= 0 {
		if rec, ok := c.recent[u.Dir].find(u.Start); ok {
			f.XID = xidPtr(rec.xid)
			kind := "call"
			if !rec.call {
				kind = "reply"
				if rec.known {
					kind = "reply to"
				}
			}
			if rec.known {
				f.Procedure = decode.ProcName(rec.prog, rec.vers, rec.proc)
				f.procLabel = procLabel(rec.prog, rec.vers, rec.proc)
				what = fmt.Sprintf("; these are bytes of the %s %s xid %s", procLabel(rec.prog, rec.vers, rec.proc), kind, XID(rec.xid))
			} else {
				what = fmt.Sprintf("; these are bytes of the RPC %s xid %s", kind, XID(rec.xid))
			}
		}
	}
	if what == "" {
		what = c.headNote(&f, u)
	}
	more := ""
	if u.MoreSent > 0 {
		more = fmt.Sprintf(" (and %d more re-sends)", u.MoreSent)
	}
	f.Seq, f.SeqRaw = &u.RelSeq, &u.Seq
	f.Summary = fmt.Sprintf("the %s re-sent %d bytes at Seq=%d (raw %d) %d %s (frames %s%s, last at frame %s); the %s never ACKed them by the end of the capture%s",
		sender, u.Len, u.RelSeq, u.Seq, u.Resends, Plural(u.Resends, "time", "times"), c.a.frames(u.Frames), more, c.a.frame(last), receiver, what)
	if end-first.Time < stallAfter {
		f.Severity, f.TooYoung = SeverityWarning, true
		f.Summary += tooYoung("never ACKed", end-first.Time, stallAfter)
	}
	return f
}

// headNote names the message that never-ACKed bytes begin, from the bytes
// themselves, when the stream could not place them: the capture joined
// after their first transmission, as in a capture started once a client
// was already stuck. It asks for a record marker followed by an RPC
// header, the framer's own test for a record boundary.
func (c *connState) headNote(f *Finding, u tcpflow.Unacked) string {
	h, ok := decode.PeekRecordHead(u.Head)
	switch {
	case !ok:
	case u.Dir == tcpflow.ToClient && !h.Call:
		f.XID = xidPtr(h.XID)
		if p := c.a.pending[callKey{client: c.info.Client.Addr, server: c.info.Server, xid: h.XID}]; p != nil {
			f.Procedure, f.procLabel = p.name(), p.procLabel()
			return fmt.Sprintf("; these bytes begin the %s reply to xid %s (call at frame %s)",
				p.procLabel(), XID(h.XID), c.a.frame(p.first))
		}
		return fmt.Sprintf("; these bytes begin an RPC reply, xid %s, whose call is not in the capture", XID(h.XID))
	case u.Dir == tcpflow.ToServer && h.Call:
		f.XID, f.Procedure = xidPtr(h.XID), decode.ProcName(h.Prog, h.Vers, h.Proc)
		f.procLabel = procLabel(h.Prog, h.Vers, h.Proc)
		return fmt.Sprintf("; these bytes begin the %s call xid %s", procLabel(h.Prog, h.Vers, h.Proc), XID(h.XID))
	}
	return ""
}

// zeroWindowFinding describes one zero-window episode.
func (c *connState) zeroWindowFinding(zw tcpflow.ZeroWindow, end, stallAfter int64) Finding {
	who := "client"
	if zw.Dir == tcpflow.ToClient {
		who = "server"
	}
	f := Finding{Kind: KindZeroWindow, Connection: c.info.ID, Start: Time(zw.Start.Time), Probes: zw.Probes, side: zw.Dir}
	f.setFrames([]tcpflow.FrameRef{zw.Start})
	if zw.Closed {
		f.setFrames([]tcpflow.FrameRef{zw.Start, zw.End})
		f.DurationMS = ms(zw.End.Time - zw.Start.Time)
		f.Severity = SeverityInfo
		if zw.End.Time-zw.Start.Time >= stallAfter {
			f.Severity = SeverityWarning
		}
		f.Summary = fmt.Sprintf("the %s advertised a zero window at frame %s and reopened it at frame %s, %s later (%d window probes meanwhile)",
			who, c.a.frame(zw.Start), c.a.frame(zw.End), FormatMS(f.DurationMS), zw.Probes)
		return f
	}
	f.DurationMS = ms(end - zw.Start.Time)
	f.Severity = SeverityInfo
	if end-zw.Start.Time >= stallAfter {
		f.Severity = SeverityStall
	}
	f.Summary = fmt.Sprintf("the %s advertised a zero window at frame %s and had not reopened it %s later, at the end of the capture (%d window probes meanwhile): its application stopped reading the socket",
		who, c.a.frame(zw.Start), FormatMS(f.DurationMS), zw.Probes)
	if end-zw.Start.Time < stallAfter {
		f.TooYoung = true
		f.Summary += tooYoung("closed", end-zw.Start.Time, stallAfter)
	}
	return f
}

// tooYoung says why evidence that would be a stall is not one: it had
// lasted less than --stall-after when the capture ended.
func tooYoung(what string, age, stallAfter int64) string {
	return fmt.Sprintf("; not a stall: %s for %s when the capture ended, less than --stall-after (%s), too soon to judge",
		what, FormatMS(ms(age)), FormatMS(ms(stallAfter)))
}

// frame formats a frame as Wireshark numbers it; when the report spans
// several files, as FILE:FRAME, FILE being the index in captures.
func (a *Analyzer) frame(f tcpflow.FrameRef) string {
	return FrameLabel(f.File, f.Frame, a.multiFile)
}

// frames formats a list of frames, the middle of a long one elided.
func (a *Analyzer) frames(fs []tcpflow.FrameRef) string {
	var b strings.Builder
	for i, f := range fs {
		if i > 0 {
			b.WriteString(", ")
		}
		if i == 10 && len(fs) > 12 {
			fmt.Fprintf(&b, "... %d more", len(fs)-i)
			break
		}
		b.WriteString(a.frame(f))
	}
	return b.String()
}

// sortFrames orders frames by capture time (files are read merged in time
// order), then by file and frame number, without repeats.
func sortFrames(fs []tcpflow.FrameRef) []tcpflow.FrameRef {
	slices.SortStableFunc(fs, func(x, y tcpflow.FrameRef) int {
		if x.Time != y.Time {
			return cmp.Compare(x.Time, y.Time)
		}
		if x.File != y.File {
			return x.File - y.File
		}
		return cmp.Compare(x.Frame, y.Frame)
	})
	return slices.Compact(fs)
}

// setFrames sets a finding's evidence: Frames in time order, Capture the
// file of the first, and FrameCaptures only when they are not all in it.
func (f *Finding) setFrames(refs []tcpflow.FrameRef) {
	refs = sortFrames(slices.Clone(refs))
	f.refs = refs
	f.Frames = make([]int64, len(refs))
	f.FrameCaptures = nil
	for i, r := range refs {
		f.Frames[i] = r.Frame
		if r.File != refs[0].File {
			f.FrameCaptures = make([]int, len(refs))
		}
	}
	if len(refs) > 0 {
		f.Capture = refs[0].File
	}
	if f.FrameCaptures != nil {
		for i, r := range refs {
			f.FrameCaptures[i] = r.File
		}
	}
}
