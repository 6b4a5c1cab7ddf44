package analyze

import (
	"fmt"
	"maps"
	"slices"
	"strconv"
	"strings"

	"github.com/nfsstall/nfsstall/tcpflow"
)

// Verdicts, most severe first.
const (
	VerdictClientNotAcking    = "client_not_acking"
	VerdictServerNotAcking    = "server_not_acking"
	VerdictClientWindowClosed = "client_window_closed"
	VerdictServerWindowClosed = "server_window_closed"
	VerdictServerNotReplying  = "server_not_replying"
	VerdictPacketLoss         = "packet_loss"
)

// verdictRank orders diagnoses across connections, the most severe first:
// a side that stopped ACKing explains everything behind it, a closed
// window explains calls that cannot be sent or answered, silence from the
// server only the calls it holds, and loss that TCP recovered least of all.
var verdictRank = map[string]int{
	VerdictClientNotAcking: 0, VerdictServerNotAcking: 1, VerdictClientWindowClosed: 2,
	VerdictServerWindowClosed: 3, VerdictReconnectFailing: 4, VerdictServerNotReplying: 5, VerdictPacketLoss: 6,
	// the status detectors (watch.go): beside server_not_replying, as
	// what a server answers explains calls as much as what it does not
	VerdictGrace: 5, VerdictDelay: 5, VerdictAuth: 5,
	VerdictMTUBlackHole:      0,                                                // the path, not a side: explains everything behind it
	VerdictStateRecoveryLoop: 5, VerdictSessionSlots: 5, VerdictRecallStuck: 5, // recovery.go, slots.go, recall.go: ranked with server_not_replying
}

// This file is the one place that turns findings into verdicts: what a
// stalled connection's evidence proves (verdict), how verdicts rank when
// several connections stall (verdictRank), and what the user is handed to
// check it: the capture-point note and Wireshark filters.

// diagnose gives each connection with a stall one verdict.
func (a *Analyzer) diagnose(r *Report) {
	byConn := map[int][]int{}
	for i, f := range r.Findings {
		byConn[f.Connection] = append(byConn[f.Connection], i)
	}
	for _, c := range a.conns {
		idx := byConn[c.info.ID]
		stall := false
		for _, i := range idx {
			if r.Findings[i].Severity == SeverityStall {
				stall = true
			}
		}
		if !stall {
			continue
		}
		d := c.verdict(r, idx)
		d.WiresharkFilters = wiresharkFilters(r, d.Findings)
		r.Diagnoses = append(r.Diagnoses, d)
		delete(byConn, c.info.ID)
	}
	// A failing reconnect whose connection is no longer listed (a SYN-only
	// connection dropped or folded) still gets its verdict.
	for _, id := range slices.Sorted(maps.Keys(byConn)) {
		var rec []int
		for _, i := range byConn[id] {
			if f := &r.Findings[i]; f.Kind == KindReconnect && f.Severity == SeverityStall {
				rec = append(rec, i)
			}
		}
		d := Diagnosis{Connection: id}
		switch {
		case len(rec) > 0:
			a.reconnectVerdict(r, &d, rec, nil, "")
		case !a.statusVerdict(r, &d, byConn[id]):
			continue
		}
		d.WiresharkFilters = wiresharkFilters(r, d.Findings)
		r.Diagnoses = append(r.Diagnoses, d)
	}
	slices.SortStableFunc(r.Diagnoses, func(x, y Diagnosis) int {
		if x.Verdict != y.Verdict {
			return verdictRank[x.Verdict] - verdictRank[y.Verdict]
		}
		return x.Connection - y.Connection
	})
}

// stallEvidence is a connection's stall findings (indices into
// Report.Findings) sorted by what they can prove.
type stallEvidence struct {
	unacked     [2][]int // never-ACKed re-sends, by direction of the data
	resends     [2]int   // their re-sends, by direction
	zeroWin     [2][]int // zero windows still closed, by direction (ToServer: the client's)
	unanswered  []int    // calls never answered
	reconnect   []int    // reconnects failing while calls wait
	mtu         []int    // MTU black holes (mtu.go)
	recovery    []int    // NFSv4 state recovery loops (recovery.go)
	slots       []int    // NFSv4.1 slots refused to the end (slots.go)
	recall      []int    // recalls stuck while another client waits (recall.go)
	answerAcked []int    // of those, the ones the server's TCP ACKed
}

func gatherStalls(r *Report, idx []int) stallEvidence {
	var e stallEvidence
	for _, i := range idx {
		f := &r.Findings[i]
		if f.Severity != SeverityStall {
			continue
		}
		switch f.Kind {
		case KindUnackedRetran:
			e.unacked[f.side] = append(e.unacked[f.side], i)
			e.resends[f.side] += len(f.Frames) - 1
		case KindZeroWindow:
			e.zeroWin[f.side] = append(e.zeroWin[f.side], i)
		case KindReconnect:
			e.reconnect = append(e.reconnect, i)
		case KindMTUBlackHole:
			e.mtu = append(e.mtu, i)
		case KindStateRecovery:
			e.recovery = append(e.recovery, i)
		case KindSessionSlots:
			e.slots = append(e.slots, i)
		case KindRecallStuck:
			e.recall = append(e.recall, i)
		case KindUnanswered:
			e.unanswered = append(e.unanswered, i)
			if f.acked {
				e.answerAcked = append(e.answerAcked, i)
			}
		}
	}
	return e
}

// verdict ranks what a stalled connection's findings prove, the strongest
// first: bytes a side never ACKed (the client's before the server's: a
// stuck client explains the server's silence), then a closed window, then
// calls with no reply, and packet loss when nothing else does. The ranking
// across connections is verdictRank.
func (c *connState) verdict(r *Report, idx []int) Diagnosis {
	e := gatherStalls(r, idx)
	d := Diagnosis{Connection: c.info.ID}
	stuck := ""
	if len(e.unanswered) > 0 {
		f := r.Findings[e.unanswered[0]]
		stuck = fmt.Sprintf(" %s xid %s (frame %s) has waited %s for its reply.", f.ProcLabel(), *f.XID, c.a.frame(f.refs[0]), FormatMS(f.DurationMS))
	}
	switch {
	case len(e.mtu) > 0:
		c.mtuVerdict(r, &d, e.mtu, e, stuck)
	case len(e.unacked[tcpflow.ToClient]) > 0:
		c.notAcking(r, &d, tcpflow.ToClient, e, stuck)
	case len(e.unacked[tcpflow.ToServer]) > 0:
		c.notAcking(r, &d, tcpflow.ToServer, e, stuck)
	case len(e.zeroWin[tcpflow.ToServer]) > 0:
		d.Verdict = VerdictClientWindowClosed
		d.Findings = append(e.zeroWin[tcpflow.ToServer], e.unanswered...)
		d.Summary = "the client's TCP receive window is closed (zero window): the client application stopped reading its socket, so the server cannot send replies." + stuck
	case len(e.zeroWin[tcpflow.ToClient]) > 0:
		d.Verdict = VerdictServerWindowClosed
		d.Findings = append(e.zeroWin[tcpflow.ToClient], e.unanswered...)
		d.Summary = "the server's TCP receive window is closed (zero window): the server stopped reading its socket, so the client cannot send calls." + stuck
	case len(e.reconnect) > 0:
		c.a.reconnectVerdict(r, &d, e.reconnect, e.unanswered, stuck)
	case len(e.recall) > 0:
		c.a.recallVerdict(r, &d, e.recall, e.unanswered, stuck)
	case len(e.unanswered) > 0 && c.a.recallOnCallbackConn(r, c.info.ID) >= 0:
		c.a.recallVerdict(r, &d, []int{c.a.recallOnCallbackConn(r, c.info.ID)}, e.unanswered, stuck)
	case c.a.statusVerdict(r, &d, idx):
		d.Findings = append(d.Findings, e.unanswered...)
		d.Summary += stuck
	case len(e.recovery) > 0:
		c.a.recoveryVerdict(r, &d, e.recovery, e.unanswered, stuck)
	case len(e.slots) > 0:
		c.a.slotsVerdict(r, &d, e.slots, e.unanswered, stuck)
	case len(e.answerAcked) > 0 || (len(e.unanswered) > 0 && c.tcpRecovered() == 0):
		d.Verdict = VerdictServerNotReplying
		d.Findings = e.unanswered
		d.Summary = c.notReplying(len(e.unanswered), len(e.answerAcked)) + stuck + c.heldNote(r, e.unanswered)
	default:
		d.Verdict = VerdictPacketLoss
		d.Findings = idx
		n := int(c.tcpRecovered())
		d.Summary = fmt.Sprintf("segments were lost and retransmitted (%d %s eventually ACKed) and calls stalled meanwhile.%s",
			n, Plural(n, "re-sent run was", "re-sent runs were"), stuck)
	}
	return d
}

// notAckingSides words the not-ACKing verdicts, by direction of the data
// never ACKed.
var notAckingSides = [2]struct {
	verdict, sender, receiver, data, lost, notOther string
}{
	tcpflow.ToServer: {VerdictServerNotAcking, "client", "server", "data", "the data or the server's ACKs", ""},
	tcpflow.ToClient: {VerdictClientNotAcking, "server", "client", "reply data", "the client's ACKs", ", not the server"},
}

// notAcking is the verdict for data one side re-sent and the other never
// ACKed; dir is the direction of the data.
func (c *connState) notAcking(r *Report, d *Diagnosis, dir tcpflow.Dir, e stallEvidence, stuck string) {
	s := notAckingSides[dir]
	d.Verdict = s.verdict
	d.Findings = append(e.unacked[dir], e.unanswered...)
	where := c.capturePointNote(s.receiver, s.sender, s.lost)
	d.Summary = fmt.Sprintf("the %s sent %s and re-sent it %d times (frames %s, the original first); the %s never ACKed it: the %s's receive path is stuck%s (%s).%s",
		s.sender, s.data, e.resends[dir], c.a.findingFrames(r, e.unacked[dir]), s.receiver, s.receiver, s.notOther, where, stuck)
}

// notReplying says why n calls got no reply, acked of them ACKed by the
// server's TCP.
func (c *connState) notReplying(n, acked int) string {
	calls := Plural(n, "call", "calls")
	switch {
	case c.info.Proto == tcpflow.ProtoUDP:
		return fmt.Sprintf("%d %s over UDP got no reply: UDP has no acknowledgment, so the capture cannot show whether %s reached the server; if %s did, the server process is not answering.",
			n, calls, Plural(n, "it", "they"), Plural(n, "it", "they"))
	case acked == n:
		return fmt.Sprintf("%d %s reached the server and its TCP ACKed %s, but no RPC reply came: the server process is stuck, not the network.",
			n, calls, Plural(n, "it", "them"))
	case acked > 0:
		return fmt.Sprintf("%d %s got no RPC reply; the server's TCP ACKed %d of them (the capture shows no ACK of the others): the server process is stuck, not the network.",
			n, calls, acked)
	}
	return fmt.Sprintf("%d %s got no RPC reply, and the capture shows no TCP ACK of %s from the server: either %s did not reach it, or its ACKs were not captured.",
		n, calls, Plural(n, "it", "them"), Plural(n, "it", "they"))
}

// capturePointNote says what the capture point proves about bytes the
// receiver never ACKed: taken on the receiver's side, that the data
// arrived and no ACK left; on the sender's, that lost (the data, or the
// ACKs) may also be lost on the way. The TTLs tell the side when they can.
func (c *connState) capturePointNote(receiver, sender, lost string) string {
	switch side, why := c.capturedAt(); side {
	case receiver:
		return fmt.Sprintf("%s: the data reached the %s's side and no ACK left it", why, receiver)
	case sender:
		return fmt.Sprintf("%s: %s may be lost on the way; a capture at the %s tells", why, lost, receiver)
	}
	return fmt.Sprintf("captured at the %s, the data arrived and no ACK left; captured at the %s, %s could also be lost on the way", receiver, sender, lost)
}

func (c *connState) tcpRecovered() int64 {
	if c.tcp == nil {
		return 0
	}
	return c.tcp.Recovered[0] + c.tcp.Recovered[1]
}

// wiresharkFilters gives, per capture file, a Wireshark display filter
// that shows exactly the evidence frames of some findings: what a user
// would otherwise assemble by hand from tcp.seq and tcp.ack filters.
func wiresharkFilters(r *Report, idx []int) []WiresharkFilter {
	byFile := map[int][]int64{}
	for _, i := range idx {
		for _, f := range r.Findings[i].refs {
			byFile[f.File] = append(byFile[f.File], f.Frame)
		}
	}
	out := []WiresharkFilter{}
	for _, file := range slices.Sorted(maps.Keys(byFile)) {
		fs := byFile[file]
		slices.Sort(fs)
		fs = slices.Compact(fs)
		// "frame.number in {...}" wants commas in Wireshark 4 and spaces
		// before it; a chain of == reads the same in every version.
		var b strings.Builder
		for i, f := range fs {
			if i > 0 {
				b.WriteString(" || ")
			}
			b.WriteString("frame.number == ")
			b.WriteString(strconv.FormatInt(f, 10))
		}
		out = append(out, WiresharkFilter{Capture: file, Filter: b.String(), FilterSet: FrameSet(fs), Frames: fs})
	}
	return out
}

// FrameSet writes frames (sorted, distinct) as a Wireshark 4 display filter
// set, runs of consecutive frames as ranges: "frame.number in
// {25,33,81..90}".
func FrameSet(frames []int64) string {
	var b strings.Builder
	b.WriteString("frame.number in {")
	for i := 0; i < len(frames); {
		j := i
		for j+1 < len(frames) && frames[j+1] == frames[j]+1 {
			j++
		}
		if i > 0 {
			b.WriteByte(',')
		}
		b.WriteString(strconv.FormatInt(frames[i], 10))
		if j > i {
			b.WriteString("..")
			b.WriteString(strconv.FormatInt(frames[j], 10))
		}
		i = j + 1
	}
	b.WriteByte('}')
	return b.String()
}

// findingFrames lists the evidence frames of some findings, in time order.
func (a *Analyzer) findingFrames(r *Report, idx []int) string {
	var refs []tcpflow.FrameRef
	for _, i := range idx {
		refs = append(refs, r.Findings[i].refs...)
	}
	return a.frames(sortFrames(refs))
}
