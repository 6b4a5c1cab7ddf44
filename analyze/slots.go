package analyze

import (
	"fmt"
	"maps"
	"slices"
	"strings"

	"github.com/nfsstall/nfsstall/decode"
	"github.com/nfsstall/nfsstall/tcpflow"
)

// NFSv4.1 session slots going wrong (issue 13, item 6). A session's slot
// holds one request at a time; each new request on a slot carries the
// slot's sequence id plus one, a retry the same one (RFC 8881 section
// 2.10.6.1). The server refuses what breaks this: NFS4ERR_SEQ_MISORDERED
// (a sequence id neither the last nor the next), NFS4ERR_BADSLOT (a slot
// past the table), NFS4ERR_RETRY_UNCACHED_REP (a retry whose reply was not
// cached), NFS4ERR_SEQ_FALSE_RETRY (a retry that is not the same request),
// NFS4ERR_BAD_HIGH_SLOT. The capture shows the client's side too: a slot
// given a new request while the previous one on it has no reply yet, and
// every slot held by calls the server has not answered (the client can
// send nothing more on the session: its calls queue in the client, off
// the wire).
//
// Per session (sessionTable's index), the first maxSlotsFollowed slots are
// followed; a slot is 40 bytes, a session's table made when its first
// call comes. The cost per SEQUENCE call and reply is a map lookup and an
// array index.

// KindSessionSlots is the finding of slots misused or exhausted;
// VerdictSessionSlots its verdict when the session's calls keep being
// refused to the end.
const (
	KindSessionSlots    = "session_slots"
	VerdictSessionSlots = "session_slots"
	maxSlotsFollowed    = 64
	// slotErrLoop: slot errors with no successful SEQUENCE after the
	// first of them, to the end, that make a stall
	slotErrLoop = 3
)

// slotTable follows the slots of every session.
type slotTable struct {
	sess map[int32]*slotSess
	// unfollowed counts SEQUENCE calls on slots past maxSlotsFollowed
	unfollowed int64
	// omitted counts the findings past the first maxListed, not listed
	omitted int64
}

// slotSess is one session's slots and what went wrong with them.
type slotSess struct {
	slots [maxSlotsFollowed]slotState
	conn  int // the connection of the latest event
	// slot errors, by kind (slotErrNames), the first and latest, and
	// whether a SEQUENCE succeeded after the latest
	errCount  [5]int64
	errs      evidence
	errFirst  tcpflow.FrameRef
	errLast   tcpflow.FrameRef
	okSince   bool
	misorder  string // the first SEQ_MISORDERED's slot and sequence ids, as the capture shows them
	reuse     int
	reuseKeep evidence
	reuseNote string // the first reuse, in words
	// every slot held: since when (full), the longest episode
	full          bool
	fullSince     tcpflow.FrameRef
	fullCalls     int32
	longest       int64
	longestAt     tcpflow.FrameRef
	longestEnd    tcpflow.FrameRef
	longestCalls  int32
	fullEpisodes  int
	target, limit uint32 // the latest target_highest_slotid, the slot count when known
	targetDrop    string // the first time the server lowered its target below the slots in use
}

type slotState struct {
	seq    uint32
	prev   uint32 // the sequence id of the request before (when prevOK)
	prevOK bool
	seen   bool
	busy   bool
	callAt tcpflow.FrameRef
}

var slotErrNames = [5]string{"NFS4ERR_SEQ_MISORDERED", "NFS4ERR_BADSLOT", "NFS4ERR_RETRY_UNCACHED_REP", "NFS4ERR_SEQ_FALSE_RETRY", "NFS4ERR_BAD_HIGH_SLOT"}

func slotErr(st uint32) int {
	switch st {
	case decode.NFS4ErrSeqMisordered:
		return 0
	case decode.NFS4ErrBadSlot:
		return 1
	case decode.NFS4ErrRetryUncached:
		return 2
	case decode.NFS4ErrSeqFalseRetry:
		return 3
	case decode.NFS4ErrBadHighSlot:
		return 4
	}
	return -1
}

// of returns session i's slots, made on first use; nil when max sessions
// are followed already.
func (t *slotTable) of(i int32, max int) *slotSess {
	if s := t.sess[i]; s != nil {
		return s
	}
	if len(t.sess) >= max {
		return nil
	}
	if t.sess == nil {
		t.sess = map[int32]*slotSess{}
	}
	s := &slotSess{}
	t.sess[i] = s
	return s
}

// slotCall follows a tracked call p of session p.v4.sess with SEQUENCE
// arguments q, sent on c at frame at.
func (a *Analyzer) slotCall(p *call, q *decode.SequenceArgs4, c *connState) {
	n := a.nfs4
	if p.v4.sess == noSession {
		return
	}
	s := n.slots.of(p.v4.sess, a.maxSlotSessions())
	if s == nil {
		n.slots.unfollowed++
		return
	}
	s.conn = c.info.ID
	at := p.first
	st := &n.sessions.list[p.v4.sess-1]
	if s.limit == 0 && st.slots > 0 {
		s.limit = st.slots
	}
	if q.SlotID >= maxSlotsFollowed {
		n.slots.unfollowed++
	} else {
		p.v4.slot = uint16(q.SlotID) + 1
		sl := &s.slots[q.SlotID]
		if sl.busy && q.SequenceID != sl.seq {
			// A new request on a slot whose request has no reply: the
			// client broke the slot's one-at-a-time rule (or the reply is
			// in what the capture missed).
			s.reuse++
			s.reuseKeep.add(sl.callAt)
			s.reuseKeep.add(at)
			if s.reuseNote == "" {
				s.reuseNote = fmt.Sprintf("slot %d: sequence id %d at frame %s while the call of sequence id %d (frame %s) had no reply",
					q.SlotID, q.SequenceID, a.frame(at), sl.seq, a.frame(sl.callAt))
			}
		}
		if !(sl.busy && q.SequenceID == sl.seq) { // a retry keeps its first frame
			sl.callAt = at
			sl.prev, sl.prevOK = sl.seq, sl.seen
		}
		sl.seq, sl.seen, sl.busy = q.SequenceID, true, true
	}
	if lim := s.slotLimit(st); lim > 0 && !s.full && uint32(st.inUse) >= lim {
		s.full, s.fullSince, s.fullCalls = true, at, st.inUse
	}
}

// maxSlotSessions bounds the sessions followed slot by slot (about 2.5 KB
// each): a quarter of those followed at all.
func (a *Analyzer) maxSlotSessions() int { return max(16, a.opts.MaxSessions/4) }

// slotLimit is the slots the session may use: CREATE_SESSION's count, else
// the server's highest slot id plus one, 0 when unknown.
func (s *slotSess) slotLimit(st *sessionStats) uint32 {
	switch {
	case s.limit > 0:
		return s.limit
	case st.results > 0:
		return st.srvHighest + 1
	}
	return 0
}

// slotReply follows the reply, at frame at on c, to a call p of a session.
func (a *Analyzer) slotReply(p *call, res *decode.Compound4Res, c *connState, at tcpflow.FrameRef) {
	n := a.nfs4
	if p.v4.sess == noSession {
		return
	}
	s := n.slots.sess[p.v4.sess]
	if s == nil {
		return
	}
	st := &n.sessions.list[p.v4.sess-1]
	if s.full && uint32(st.inUse)-1 < s.slotLimit(st) {
		s.endFull(at)
	}
	if res.Has&decode.HasSequence != 0 {
		s.okSince = true
		r := &res.Sequence
		if s.target > r.TargetHighestSlotID && r.TargetHighestSlotID < st.maxSlot && s.targetDrop == "" {
			s.targetDrop = fmt.Sprintf("the server lowered target_highest_slotid from %d to %d at frame %s (the client had used slot ids up to %d)",
				s.target, r.TargetHighestSlotID, a.frame(at), st.maxSlot)
		}
		s.target = r.TargetHighestSlotID
		return
	}
	if res.N == 0 || res.Ops[0].Op != decode.OpSequence {
		return
	}
	e := slotErr(res.Ops[0].Status)
	if e < 0 {
		return
	}
	s.conn = c.info.ID
	s.errCount[e]++
	if s.errFirst.Frame == 0 {
		s.errFirst = at
	}
	s.errLast, s.okSince = at, false
	s.errs.add(p.first)
	s.errs.add(at)
	if e == 0 && s.misorder == "" && p.v4.slot > 0 {
		sl := &s.slots[p.v4.slot-1]
		s.misorder = fmt.Sprintf("the first refused call (frame %s) used sequence id %d on slot %d", a.frame(p.first), sl.seq, p.v4.slot-1)
		if sl.prevOK {
			s.misorder += fmt.Sprintf(", whose previous request had %d: the next must be %d (or %d again for a retry)", sl.prev, sl.prev+1, sl.prev)
		}
	}
}

// freeSlot notes that p, a call of a session, no longer waits: its slot
// is free.
func (t *slotTable) freeSlot(p *call) {
	if p.v4.slot == 0 {
		return
	}
	if s := t.sess[p.v4.sess]; s != nil {
		s.slots[p.v4.slot-1].busy = false
	}
	p.v4.slot = 0
}

// endFull ends an episode of every slot held, at frame at.
func (s *slotSess) endFull(at tcpflow.FrameRef) {
	s.full = false
	s.fullEpisodes++
	if d := at.Time - s.fullSince.Time; d > s.longest || s.longestAt.Frame == 0 {
		s.longest, s.longestAt, s.longestEnd, s.longestCalls = d, s.fullSince, at, s.fullCalls
	}
}

// slotFindings turns the slot tables into findings, the first maxListed;
// the others are counted in omitted (slotsOmitted).
func (a *Analyzer) slotFindings(all []Finding, end int64) []Finding {
	if a.nfs4 == nil {
		return all
	}
	t := &a.nfs4.slots
	n := 0
	for _, i := range slices.Sorted(maps.Keys(t.sess)) {
		s := t.sess[i]
		st := &a.nfs4.sessions.list[i-1]
		atEnd := false
		if s.full {
			atEnd = true
			s.endFull(tcpflow.FrameRef{Time: end})
		}
		errs := int64(0)
		for _, e := range s.errCount {
			errs += e
		}
		longFull := s.longest >= a.opts.Slow && s.longestAt.Frame != 0
		if errs == 0 && s.reuse == 0 && !longFull {
			continue
		}
		if n >= maxListed {
			t.omitted++
			continue
		}
		n++
		all = append(all, a.slotFinding(s, st, errs, longFull, atEnd, end))
	}
	return all
}

// slotsOmitted is how many session_slots findings slotFindings did not list.
func (a *Analyzer) slotsOmitted() int64 {
	if a.nfs4 == nil {
		return 0
	}
	return a.nfs4.slots.omitted
}

func (a *Analyzer) slotFinding(s *slotSess, st *sessionStats, errs int64, longFull, atEnd bool, end int64) Finding {
	f := Finding{Kind: KindSessionSlots, Severity: SeverityWarning, Connection: s.conn}
	var refs []tcpflow.FrameRef
	var parts []string
	start := int64(0)
	if errs > 0 {
		refs = append(refs, s.errs.refs()...)
		start = s.errFirst.Time
		var names []string
		for i, c := range s.errCount {
			if c > 0 {
				names = append(names, fmt.Sprintf("%d %s", c, slotErrNames[i]))
			}
		}
		w := fmt.Sprintf("the server refused %d %s for slot misuse: %s (calls and replies at frames %s)",
			errs, Plural(int(errs), "call", "calls"), strings.Join(names, ", "), a.frames(s.errs.refs()))
		if s.misorder != "" {
			w += "; " + s.misorder
		}
		if s.okSince {
			w += "; SEQUENCE succeeded again after the last of them"
		} else {
			w += fmt.Sprintf("; no SEQUENCE succeeded on the session after the last (frame %s)", a.frame(s.errLast))
		}
		parts = append(parts, w)
		if !s.okSince && errs >= slotErrLoop {
			f.Severity = SeverityStall
		}
	}
	if s.reuse > 0 {
		refs = append(refs, s.reuseKeep.refs()...)
		if start == 0 || s.reuseKeep.frames[0].Time < start {
			start = s.reuseKeep.frames[0].Time
		}
		parts = append(parts, fmt.Sprintf("the client sent a new request on a slot still holding an unanswered one %d %s (RFC 8881 section 2.10.6.1 forbids it; or the reply is in what the capture missed), first %s",
			s.reuse, Plural(s.reuse, "time", "times"), s.reuseNote))
	}
	if longFull {
		refs = append(refs, s.longestAt)
		if s.longestEnd.Frame != 0 {
			refs = append(refs, s.longestEnd)
		}
		if start == 0 || s.longestAt.Time < start {
			start = s.longestAt.Time
		}
		w := fmt.Sprintf("every slot the session may use (%d) was held by a call the server had not answered for %s from frame %s",
			s.slotLimit(st), FormatMS(ms(s.longest)), a.frame(s.longestAt))
		switch {
		case atEnd && s.longestEnd.Frame == 0:
			w += " to the end of the capture: the client could send nothing more on the session, its further calls queue in the client, off the wire; the server is holding them"
		default:
			w += fmt.Sprintf(" to frame %s: meanwhile the client's further calls queued in the client, off the wire", a.frame(s.longestEnd))
		}
		if s.fullEpisodes > 1 {
			w += fmt.Sprintf(" (%d such episodes)", s.fullEpisodes)
		}
		parts = append(parts, w)
	}
	if s.targetDrop != "" {
		parts = append(parts, s.targetDrop)
	}
	f.Start = Time(start)
	f.DurationMS = ms(end - start)
	f.setFrames(refs)
	f.Summary = fmt.Sprintf("session %x of %s to %s: %s", st.id[:], st.client, st.server, strings.Join(parts, "; "))
	return f
}

// slotsVerdict is the verdict for a session whose calls keep being
// refused for slot misuse to the end of the capture.
func (a *Analyzer) slotsVerdict(r *Report, d *Diagnosis, slots, unanswered []int, stuck string) {
	d.Verdict = VerdictSessionSlots
	d.Findings = append(slices.Clone(slots), unanswered...)
	d.Summary = fmt.Sprintf("the server keeps refusing the client's calls for misusing its session's slots (frames %s) and no call succeeded since: the client's slot table and the server's disagree (a client bug, or a server that lost its reply cache, e.g. after a restart without persistent sessions); the client must reset the session (DESTROY_SESSION, CREATE_SESSION) to get out.%s",
		a.findingFrames(r, slots), stuck)
}

// skipped says what the slot tables left out.
func (t *slotTable) skipped(r *Report, a *Analyzer) {
	r.skip(true, "NFSv4.1 calls with SEQUENCE", t.unfollowed,
		fmt.Sprintf("not followed slot by slot for %s: their slot id is past the first %d, the most followed per session, or their session came when %d sessions were followed, the most", KindSessionSlots, maxSlotsFollowed, a.maxSlotSessions()))
}
