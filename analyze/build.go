package analyze

import (
	"fmt"
	"slices"
	"strings"

	"nfsstall/capture"
	"nfsstall/decode"
	"nfsstall/tcpflow"
)

// report assembles the report model once every packet has been read.
func (a *Analyzer) report(caps []*capture.CaptureInfo) *Report {
	r := &Report{
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
	}
	var first, last, end int64
	for i, ci := range caps {
		c := Capture{
			File: ci.Path, Format: ci.Format, Compressed: ci.Compressed,
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
			if first == 0 || ci.First < first {
				first = ci.First
			}
			last = max(last, ci.Last)
		}
		end = max(end, ci.End)
		_ = i
		r.Captures = append(r.Captures, c)
	}
	end = max(end, last) // a call's age is measured to the last frame (or a later pcapng end time)
	a.compactConns()
	a.sum.Connections = len(a.conns) + int(a.folded.conns)
	if last > first {
		a.sum.DurationMS = ms(last - first)
	}

	a.sum.TCPAnalysis = map[string]int64{}
	for k, n := range a.folded.tcp {
		a.sum.TCPAnalysis[k] += n
	}
	a.sum.Undecodable += a.folded.undecodable
	a.sum.MissingBytes += a.folded.missing
	a.sum.TruncatedFrames += a.folded.truncated
	a.sum.GarbageBytes += a.folded.garbage
	a.sum.CaptureLossBytes += a.folded.lossBytes[0] + a.folded.lossBytes[1]
	for _, c := range a.conns {
		a.sum.Undecodable += c.undecodable
		a.sum.MissingBytes += c.missing
		a.sum.TruncatedFrames += c.truncatedFrames
		garbage, resyncs := c.framed.garbage, c.framed.resyncs
		a.sum.GarbageBytes += garbage
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
			MissingBytes: c.missing, Undecodable: c.undecodable, GarbageBytes: garbage, Resyncs: resyncs,
			TCPAnalysis: c.tcpCounts(a.sum.TCPAnalysis), CaptureLoss: c.captureLoss(),
		})
		a.sum.CaptureLossBytes += c.loss[0].bytes + c.loss[1].bytes
	}

	// Calls still pending are unanswered; the oldest maxListedUnanswered
	// are listed.
	keys := a.pendingByAge()
	unansweredByProc := map[procKey]int64{}
	for i, k := range keys {
		p := a.pending[k]
		a.proc(p.prog, p.vers, p.proc)
		unansweredByProc[a.procKeyOf(p.prog, p.vers, p.proc)]++
		a.sum.Unanswered++
		r.Connections[p.conn.row].Unanswered++
		if i >= maxListedUnanswered {
			continue
		}
		u := Unanswered{
			Connection: p.conn.info.ID, XID: XID(k.xid), Program: p.prog, Version: p.vers,
			Procedure: decode.ProcName(p.prog, p.vers, p.proc), ProgramName: decode.ProgramName(p.prog), Capture: p.first.File,
			Frame: p.first.Frame, LastFrame: p.last.Frame, Sent: Time(p.first.Time),
			AgeMS: ms(end - p.first.Time), Sends: p.sends,
		}
		u.Detail = p.detail()
		if p.partialLen > 0 {
			u.ReplyPartial = fmt.Sprintf("reply incomplete: %d of %d bytes sent", p.partialHave, p.partialLen)
		}
		r.Unanswered = append(r.Unanswered, u)
	}

	a.findings(r, end)
	a.listConnections(r)
	if note := a.lossNote(r); note != "" {
		r.Completeness = append(r.Completeness, note)
	}
	if a.unmeasured > 0 {
		r.Completeness = append(r.Completeness, fmt.Sprintf("%d %s not timed: the call or the reply ended where the capture has a hole, so when it was on the wire is unknown (latencies cover only what the capture shows)",
			a.unmeasured, plural(int(a.unmeasured), "reply was", "replies were")))
	}

	for k, ps := range a.procs {
		name, progName := decode.ProcName(k.prog, k.vers, k.proc), decode.ProgramName(k.prog)
		if k == otherProcs {
			name, progName = "(other procedures)", "*"
		}
		r.Procedures = append(r.Procedures, Procedure{
			Program: k.prog, Version: k.vers, Name: name,
			ProgramName: progName,
			Calls:       ps.calls, Replies: ps.replies, Errors: ps.errors, Retransmits: ps.retrans,
			Bytes: ps.bytes, Latency: ps.first.summary(), LatencyLast: ps.last.summary(),
			Unanswered: unansweredByProc[k], Untimed: ps.unmeasured,
		})
	}
	slices.SortFunc(r.Procedures, func(x, y Procedure) int {
		if x.Program != y.Program {
			return cmpInt(int64(procOrder(x.Program)), int64(procOrder(y.Program)))
		}
		if x.Version != y.Version {
			return cmpInt(int64(x.Version), int64(y.Version))
		}
		return strings.Compare(x.Name, y.Name)
	})
	r.Summary = a.sum

	st := &a.flows.Stats
	for _, reason := range st.SkipReasons() {
		r.Skipped = append(r.Skipped, Skipped{Bound: a.skipBound(reason) != "", What: "packets", Count: st.SkipCount(reason), Reason: reason.String() + a.skipBound(reason)})
	}
	r.Skipped = append(r.Skipped, captureSkips(caps)...)
	if st.ForcedGaps > 0 {
		l := a.opts.Limits
		r.Skipped = append(r.Skipped, Skipped{Bound: true, What: "stream holes", Count: st.ForcedGaps,
			Reason: fmt.Sprintf("out-of-order data beyond the reassembly limit; %d bytes declared lost (out-of-order data held: %d bytes or %d segments per direction, %d bytes or %d segments in all)",
				st.ForcedGapByte, l.QueuePerDirection, l.QueueSegments, l.QueueTotal, l.QueueSegmentsTotal)})
	}
	if a.sum.Undecodable > 0 {
		r.Skipped = append(r.Skipped, Skipped{What: "RPC records", Count: a.sum.Undecodable, Reason: "did not decode as an RPC call or reply"})
	}
	if a.sum.GarbageBytes > 0 {
		r.Skipped = append(r.Skipped, Skipped{What: "stream bytes", Count: a.sum.GarbageBytes,
			Reason: "passed over while finding the first RPC record boundary (capture joined mid-stream, or sync lost after a gap)"})
	}
	if n := int64(len(keys)) - int64(len(r.Unanswered)); n > 0 {
		r.Skipped = append(r.Skipped, Skipped{Bound: true, What: "unanswered calls listed", Count: n,
			Reason: fmt.Sprintf("beyond the oldest %d listed in unanswered_calls (all are counted in the summary and tables)", maxListedUnanswered)})
	}
	if a.untracked > 0 {
		r.Skipped = append(r.Skipped, Skipped{Bound: true, What: "RPC calls", Count: a.untracked,
			Reason: fmt.Sprintf("not tracked for a reply: as many calls were already waiting as tracked at once (%d in all, %d per connection; %d of these calls met the per-connection limit); a reply to one counts as an orphan reply",
				a.opts.MaxCalls, a.opts.MaxCallsPerConn, a.untrackedConn)})
	}
	if a.closedDropped > 0 {
		r.Skipped = append(r.Skipped, Skipped{Bound: true, What: "RPC calls", Count: a.closedDropped,
			Reason: fmt.Sprintf("no longer tracked for a reply: their connection had closed, and %d closed connections were kept for the calls waiting on them, the most at once (the least recently active half gave up theirs); a reply to one counts as an orphan reply", a.opts.MaxClosedKept)})
	}
	if a.superseded > 0 {
		r.Skipped = append(r.Skipped, Skipped{What: "RPC calls", Count: a.superseded,
			Reason: "no longer tracked for a reply: the same client sent their XID again, for another procedure, before a reply came (a new call, which is tracked)"})
	}
	if n := a.sum.OrphanReplies - a.orphansAfterSYN; n > 0 {
		r.Skipped = append(r.Skipped, Skipped{What: "RPC replies", Count: n,
			Reason: "their call is not in the capture (sent before it started, not captured, or in IP fragments never completed)"})
	}
	if a.orphansAfterSYN > 0 {
		r.Skipped = append(r.Skipped, Skipped{What: "RPC replies", Count: a.orphansAfterSYN,
			Reason: "their call was sent on a connection captured from its start but could not be decoded (cut by the snaplen, or not captured)"})
	}
	if refused := st.SkipCount(tcpflow.SkipConnLimit); refused > 0 || a.untracked > 0 {
		r.Untracked = &Untracked{RefusedPackets: refused, MaxConnections: a.opts.Limits.MaxConnections,
			Calls: a.untracked, MaxCalls: a.opts.MaxCalls, MaxCallsPerConn: a.opts.MaxCallsPerConn}
	}
	if a.procsOther > 0 {
		r.Skipped = append(r.Skipped, Skipped{Bound: true, What: "procedure rows", Count: a.procsOther,
			Reason: fmt.Sprintf("calls and replies counted in the row \"(other procedures)\": %d procedures already had rows of their own, the most kept", a.opts.MaxProcs)})
	}
	if a.samplesFull > 0 {
		r.Skipped = append(r.Skipped, Skipped{Bound: true, What: "exact latencies", Count: a.samplesFull,
			Reason: fmt.Sprintf("procedures whose latencies went to their histogram (percentiles within 1.6%%) early: all procedures together held %d latencies exactly, the most at once", a.opts.LatencySamples)})
	}
	a.openSkipped(r)
	a.boundsHit(r)
	return r
}

// procOrder puts NFS first, then the other programs by number.
func procOrder(prog uint32) uint32 {
	if prog == decode.ProgNFS {
		return 0
	}
	return prog
}

func cmpInt(a, b int64) int {
	switch {
	case a < b:
		return -1
	case a > b:
		return 1
	}
	return 0
}

func uncompressedNote(ci *capture.CaptureInfo) string {
	if ci.Compressed {
		return " of the uncompressed data"
	}
	return ""
}

// tcpCounts returns the connection's tcp.analysis counts by flag name,
// adding them to total.
func (c *connState) tcpCounts(total map[string]int64) map[string]int64 {
	out := map[string]int64{}
	if c.tcp == nil {
		return out
	}
	for _, flag := range tcpflow.AnalysisFlags() {
		n := c.tcp.Counted(tcpflow.ToServer, flag) + c.tcp.Counted(tcpflow.ToClient, flag)
		if n > 0 {
			out[flag.Name()] = n
			total[flag.Name()] += n
		}
	}
	return out
}
