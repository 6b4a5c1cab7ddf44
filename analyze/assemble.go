package analyze

import (
	"cmp"
	"fmt"
	"maps"
	"slices"
	"strings"

	"github.com/nfsstall/nfsstall/capture"
	"github.com/nfsstall/nfsstall/decode"
	"github.com/nfsstall/nfsstall/tcpflow"
)

// report assembles the report model once every packet has been read, in
// named steps. Counters kept while reading (calls, replies, RPC
// retransmissions, orphan replies) are in a.sum; every total known only at
// the end is computed by summarize, once the findings are built.
func (a *Analyzer) report(caps []*capture.CaptureInfo) *Report {
	r := emptyReport()
	span := a.listCaptures(r, caps)
	a.compactConns()
	a.listConnectionRows(r)
	a.listUnanswered(r, span.end)
	a.findings(r, span.end)
	a.listConnections(r)
	a.completenessNotes(r)
	a.listProcedures(r)
	a.listNFS4(r)
	a.listPictures(r, span.first)
	r.Summary = a.summarize(r, span)
	a.skippedNotes(r, caps)
	a.openSkipped(r)
	a.boundsHit(r)
	return r
}

// emptyReport has every list present, so JSON shows [] rather than null.
func emptyReport() *Report {
	return &Report{
		SchemaVersion: SchemaVersion,
		Captures:      []Capture{},
		Procedures:    []Procedure{},
		Connections:   []Connection{},
		Findings:      []Finding{},
		Diagnoses:     []Diagnosis{},
		Unanswered:    []Unanswered{},
		Skipped:       []Skipped{},
		Warnings:      []string{},
		Completeness:  []string{},
		Operations:    []Operation{},
		NFS4Sessions:  []NFS4Session{},
	}
}

// timeSpan is when the captures begin and end: first and last are their
// first and last frames, end the time a call's age is measured to (the
// last frame, or a later pcapng end time).
type timeSpan struct{ first, last, end int64 }

// listCaptures lists the capture files, with the warnings and completeness
// notes each calls for, and returns the time they span.
func (a *Analyzer) listCaptures(r *Report, caps []*capture.CaptureInfo) timeSpan {
	var span timeSpan
	for _, ci := range caps {
		c := Capture{
			File: ci.Path, Format: ci.Format, Compressed: ci.Compressed, Compression: ci.Compression,
			Packets: ci.Packets, FirstTime: Time(ci.First), LastTime: Time(ci.Last),
			Snaplen: ci.Snaplen, Truncated: ci.Truncated, Dropped: ci.Dropped,
		}
		if ci.HasIfDrop {
			c.IfDrop = &ci.IfDrop
		}
		if ci.HasOsDrop {
			c.OsDrop = &ci.OsDrop
		}
		if ci.Truncated {
			c.TruncatedAt = ci.TruncatedAt
			a.truncatedCapture(r, ci)
		}
		for j, lt := range ci.LinkTypes {
			name := LinkTypeName(lt)
			if j == 0 {
				c.LinkType = name
			}
			if len(ci.LinkTypes) > 1 && !slices.Contains(c.LinkTypes, name) {
				c.LinkTypes = append(c.LinkTypes, name)
			}
		}
		for _, lt := range ci.Unsupported {
			r.Warnings = append(r.Warnings, fmt.Sprintf("%s: link type %s is not decoded (supported: %s); its packets were skipped",
				ci.Path, LinkTypeName(lt), capture.SupportedLinkTypes))
		}
		if n := c.ToolDropped(); n > 0 {
			a.toolDropped += int64(n)
			r.Completeness = append(r.Completeness, fmt.Sprintf("%s: the capture tool dropped %d packets (pcapng interface statistics): over TCP the peers' ACKs show what it missed; over UDP nothing does, so no unanswered UDP call is a stall", ci.Path, n))
		}
		if ci.Packets > 0 {
			if span.first == 0 || ci.First < span.first {
				span.first = ci.First
			}
			span.last = max(span.last, ci.Last)
		}
		span.end = max(span.end, ci.End)
		r.Captures = append(r.Captures, c)
	}
	span.end = max(span.end, span.last) // a call's age is measured to the last frame (or a later pcapng end time)
	return span
}

// truncatedCapture warns of a capture file whose reading stopped early.
func (a *Analyzer) truncatedCapture(r *Report, ci *capture.CaptureInfo) {
	msg := fmt.Sprintf("%s: file ends inside the packet record that starts at byte offset %d%s; analysed the %d packets before it",
		ci.Path, ci.TruncatedAt, uncompressedNote(ci), ci.Packets)
	if ci.ReadErr != nil {
		msg = fmt.Sprintf("%s: unreadable packet record at byte offset %d%s (%v); analysed the %d packets before it",
			ci.Path, ci.TruncatedAt, uncompressedNote(ci), ci.ReadErr, ci.Packets)
		a.unread = append(a.unread, unreadFile{path: ci.Path, offset: ci.TruncatedAt, last: ci.Last})
		r.Completeness = append(r.Completeness, fmt.Sprintf("%s: reading stopped at a damaged record (byte offset %d%s), not at the end of the file: what follows it is unknown, so no call sent before it is a stall",
			ci.Path, ci.TruncatedAt, uncompressedNote(ci)))
	}
	r.Warnings = append(r.Warnings, msg)
}

// listConnectionRows gives every connection still held its row.
func (a *Analyzer) listConnectionRows(r *Report) {
	for _, c := range a.conns {
		transport := "tcp"
		if c.info.Proto == tcpflow.ProtoUDP {
			transport = "udp"
		}
		c.row = len(r.Connections)
		r.Connections = append(r.Connections, Connection{
			ID: c.info.ID, Client: c.info.Client.String(), Server: c.info.Server.String(),
			Calls: c.calls, Replies: c.replies,
			Transport: transport, Capture: c.info.First.File, FirstFrame: c.info.First.Frame,
			FirstTime: Time(c.info.First.Time), LastTime: Time(c.last.Time), Handshake: c.info.SawSYN,
			BytesToSrv: c.bytes[tcpflow.ToServer], BytesToCli: c.bytes[tcpflow.ToClient],
			MissingBytes: c.missing, Undecodable: c.undecodable, GarbageBytes: c.framed.garbage, Resyncs: c.framed.resyncs,
			TCPAnalysis: c.tcpCounts(), CaptureLoss: c.captureLoss(), ICMPErrors: c.icmpErrors,
		})
	}
}

// listUnanswered counts the calls still pending, which are unanswered, per
// connection and procedure, and lists the oldest maxListedUnanswered.
func (a *Analyzer) listUnanswered(r *Report, end int64) {
	a.unansweredByProc = map[procKey]int64{}
	for i, k := range a.pendingByAge() {
		p := a.pending[k]
		a.proc(p.prog, p.vers, p.row)
		a.unansweredByProc[a.procKeyOf(p.prog, p.vers, p.row)]++
		r.Connections[p.conn.row].Unanswered++
		if i >= maxListedUnanswered {
			continue
		}
		name, progName := a.rowName(procKey{p.prog, p.vers, p.row})
		u := Unanswered{
			Connection: p.conn.info.ID, XID: XID(k.xid), Program: p.prog, Version: p.vers,
			Procedure: name, ProgramName: progName, Capture: p.first.File,
			Frame: p.first.Frame, LastFrame: p.last.Frame, Sent: Time(p.first.Time),
			AgeMS: ms(end - p.first.Time), Sends: p.sends,
		}
		u.Detail = p.detail(&a.paths)
		u.Path = a.pathOf(p)
		if p.partialLen > 0 {
			u.ReplyPartial = fmt.Sprintf("reply incomplete: %d of %d bytes sent", p.partialHave, p.partialLen)
		}
		r.Unanswered = append(r.Unanswered, u)
	}
	a.unansweredCallbacks()
}

// completenessNotes says what the capture could not show.
func (a *Analyzer) completenessNotes(r *Report) {
	if note := a.lossNote(); note != "" {
		r.Completeness = append(r.Completeness, note)
	}
	if a.unmeasured > 0 {
		r.Completeness = append(r.Completeness, fmt.Sprintf("%d %s not timed: the call or the reply ended where the capture has a hole, so when it was on the wire is unknown (latencies cover only what the capture shows)",
			a.unmeasured, Plural(int(a.unmeasured), "reply was", "replies were")))
	}
}

// listProcedures gives each procedure its row, NFS first.
func (a *Analyzer) listProcedures(r *Report) {
	for k, ps := range a.procs {
		name, progName := a.rowName(k)
		r.Procedures = append(r.Procedures, Procedure{
			Program: k.prog, Version: k.vers, Name: name,
			ProgramName: progName,
			Calls:       ps.calls, Replies: ps.replies, Errors: ps.errors, Retransmits: ps.retrans,
			Bytes: ps.bytes, Latency: ps.first.summary(), LatencyLast: ps.last.summary(),
			Unanswered: a.unansweredByProc[k], Untimed: ps.unmeasured,
		})
	}
	slices.SortFunc(r.Procedures, func(x, y Procedure) int {
		if x.Program != y.Program {
			return cmp.Compare(int64(procOrder(x.Program)), int64(procOrder(y.Program)))
		}
		if x.Version != y.Version {
			return cmp.Compare(int64(x.Version), int64(y.Version))
		}
		return strings.Compare(x.Name, y.Name)
	})
}

// summarize is the one place the summary's end-of-capture totals are
// computed: over the connections held, those folded as they closed
// (history.go) and the findings built. It also totals the zero-window
// episodes counted but not kept per connection, for boundsHit.
func (a *Analyzer) summarize(r *Report, span timeSpan) Summary {
	s := a.sum
	f := &a.folded
	s.Connections = len(a.conns) + int(f.conns)
	if span.last > span.first {
		s.DurationMS = ms(span.last - span.first)
	}
	s.Unanswered = int64(len(a.pending))
	s.TCPAnalysis = maps.Clone(f.tcp)
	if s.TCPAnalysis == nil {
		s.TCPAnalysis = map[string]int64{}
	}
	s.Undecodable += f.undecodable
	s.MissingBytes += f.missing
	s.TruncatedFrames += f.truncated
	s.GarbageBytes += f.garbage
	s.CaptureLossBytes += f.lossBytes[0] + f.lossBytes[1]
	s.UnackedRetransmissions += f.unackedResends
	s.ZeroWindowEpisodes += f.zeroWins
	s.TCPRetransmissions += f.tcpRetrans
	for _, c := range a.conns {
		s.Undecodable += c.undecodable
		s.MissingBytes += c.missing
		s.TruncatedFrames += c.truncatedFrames
		s.GarbageBytes += c.framed.garbage
		s.CaptureLossBytes += c.ll().loss[0].bytes + c.ll().loss[1].bytes
		for flag, n := range c.tcpCounts() {
			s.TCPAnalysis[flag] += n
		}
		if c.tcp == nil {
			continue
		}
		for _, u := range c.tcp.Unacked {
			s.UnackedRetransmissions += int64(u.Resends)
		}
		s.ZeroWindowEpisodes += int64(len(c.tcp.ZeroWins)) + c.tcp.ZeroWinsMore
		a.zeroWinsPerConn += c.tcp.ZeroWinsMore
		for d := 0; d < 2; d++ {
			s.TCPRetransmissions += c.tcp.Counted(tcpflow.Dir(d), tcpflow.ARetransmission)
		}
	}
	for _, f := range r.Findings {
		if f.unproven {
			s.Unproven++
		}
	}
	return s
}

// skippedNotes says what was not analysed, and why.
func (a *Analyzer) skippedNotes(r *Report, caps []*capture.CaptureInfo) {
	st := &a.flows.Stats
	r.OtherPorts, r.Ports = a.otherPorts(), slices.Clone(a.opts.Ports)
	r.StallAfterMS = ms(a.opts.StallAfter)
	for _, reason := range st.SkipReasons() {
		why := reason.String() + a.skipBound(reason)
		if hint := OtherPortsHint(r.OtherPorts, a.opts.Ports); reason == tcpflow.SkipOtherPort && hint != "" {
			why += " (" + hint + ")"
		}
		r.Skipped = append(r.Skipped, Skipped{Bound: a.skipBound(reason) != "", What: "packets", Count: st.SkipCount(reason), Reason: why})
	}
	r.Skipped = append(r.Skipped, captureSkips(caps)...)
	if st.ForcedGaps > 0 {
		l := a.opts.Limits
		r.Skipped = append(r.Skipped, Skipped{Bound: true, What: "stream holes", Count: st.ForcedGaps,
			Reason: fmt.Sprintf("out-of-order data beyond the reassembly limit; %d bytes declared lost (out-of-order data held: %d bytes or %d segments per direction, %d bytes or %d segments in all)",
				st.ForcedGapByte, l.QueuePerDirection, l.QueueSegments, l.QueueTotal, l.QueueSegmentsTotal)})
	}
	r.skip(false, "RPC records", r.Summary.Undecodable,
		"did not decode as an RPC call or reply")
	r.skip(false, "stream bytes", r.Summary.GarbageBytes,
		"passed over while finding the first RPC record boundary (capture joined mid-stream, or sync lost after a gap)")
	r.skip(true, "unanswered calls listed", r.Summary.Unanswered-int64(len(r.Unanswered)),
		fmt.Sprintf("beyond the oldest %d listed in unanswered_calls (all are counted in the summary and tables)", maxListedUnanswered))
	a.callsNotTracked(r)
	r.skip(false, "RPC replies", r.Summary.OrphanReplies-a.orphansAfterSYN,
		"their call is not in the capture (sent before it started, not captured, or in IP fragments never completed)")
	r.skip(false, "RPC replies", a.orphansAfterSYN,
		"their call was sent on a connection captured from its start but could not be decoded (cut by the snaplen, or not captured)")
	if refused := st.SkipCount(tcpflow.SkipConnLimit); refused > 0 || a.untracked > 0 {
		r.Untracked = &Untracked{RefusedPackets: refused, MaxConnections: a.opts.Limits.MaxConnections,
			Calls: a.untracked, MaxCalls: a.opts.MaxCalls, MaxCallsPerConn: a.opts.MaxCallsPerConn}
	}
	r.skip(true, "procedure rows", a.procsOther,
		fmt.Sprintf("calls and replies counted in the row \"(other procedures)\": %d procedures already had rows of their own, the most kept", a.opts.MaxProcs))
	r.skip(true, "exact latencies", a.samplesFull,
		fmt.Sprintf("procedures whose latencies went to their histogram (percentiles within 1.6%%) early: all procedures together held %d latencies exactly, the most at once", a.opts.LatencySamples))
}

// callsNotTracked says which calls were given up for a reply, and why.
func (a *Analyzer) callsNotTracked(r *Report) {
	if a.untracked > 0 {
		r.Skipped = append(r.Skipped, Skipped{Bound: true, What: "RPC calls", Count: a.untracked,
			Reason: fmt.Sprintf("not tracked for a reply: as many calls were already waiting as tracked at once (%d in all, %d per connection; %d of these calls met the per-connection limit); a reply to one counts as an orphan reply",
				a.opts.MaxCalls, a.opts.MaxCallsPerConn, a.untrackedConn)})
	}
	r.skip(true, "RPC calls", a.closedDropped,
		fmt.Sprintf("no longer tracked for a reply: their connection had closed, and %d closed connections were kept for the calls waiting on them, the most at once (the least recently active half gave up theirs); a reply to one counts as an orphan reply", a.opts.MaxClosedKept))
	r.skip(false, "RPC calls", a.superseded,
		"no longer tracked for a reply: the same client sent their XID again, for another procedure, before a reply came (a new call, which is tracked)")
}

// procOrder puts NFS first, then the other programs by number.
func procOrder(prog uint32) uint32 {
	if prog == decode.ProgNFS {
		return 0
	}
	return prog
}

func uncompressedNote(ci *capture.CaptureInfo) string {
	if ci.Compressed {
		return " of the uncompressed data"
	}
	return ""
}

// tcpCounts returns the connection's tcp.analysis counts by flag name.
func (c *connState) tcpCounts() map[string]int64 {
	out := map[string]int64{}
	if c.tcp == nil {
		return out
	}
	for _, flag := range tcpflow.AnalysisFlags() {
		n := c.tcp.Counted(tcpflow.ToServer, flag) + c.tcp.Counted(tcpflow.ToClient, flag)
		if n > 0 {
			out[flag.Name()] = n
		}
	}
	return out
}
