package analyze

import (
	"encoding/hex"
	"slices"

	"github.com/nfsstall/nfsstall/decode"
)

// NFSv4.1 sessions and their slots. Every 4.1 request begins with
// SEQUENCE, naming its session and the slot it uses; a slot holds one
// request at a time, so the calls of a session waiting for their reply are
// the slots in use. The server's SEQUENCE result says how many slots it
// lets the client use (target_highest_slotid): a server that lowers it
// throttles the client, which a stall diagnosis will want to know.

// DefaultMaxSessions bounds the sessions followed (about 120 bytes each).
const DefaultMaxSessions = 1024

// sessionTable holds the sessions seen, at most max; calls of sessions
// beyond are counted in dropped.
type sessionTable struct {
	index   map[[16]byte]int32 // session id -> index+1 in list
	list    []sessionStats
	max     int
	dropped int64
}

// sessionStats is what SEQUENCE (and CREATE_SESSION) showed of a session.
type sessionStats struct {
	id     [16]byte
	client string // of the connection of its first call
	server string
	calls  int64 // calls with SEQUENCE, every transmission tracked
	// inUse is the session's calls waiting for their reply now; maxInUse
	// the most at once.
	inUse, maxInUse int32
	maxSlot         uint32 // the largest sa_slotid
	maxHighest      uint32 // the largest sa_highest_slotid
	srvHighest      uint32 // the largest sr_highest_slotid
	targetMin       uint32 // sr_target_highest_slotid, smallest and largest
	targetMax       uint32
	results         int64  // SEQUENCE results seen
	statusFlags     uint32 // every sr_status_flags bit seen
	slots           uint32 // fore channel ca_maxrequests CREATE_SESSION granted, 0 if not seen
}

// lookup returns the index+1 of session id, adding it when there is room;
// noSession when the table is full.
func (t *sessionTable) lookup(id *[16]byte, c *connState) int32 {
	if i, ok := t.index[*id]; ok {
		return i
	}
	if len(t.list) >= t.max {
		t.dropped++
		return noSession
	}
	if t.index == nil {
		t.index = map[[16]byte]int32{}
	}
	t.list = append(t.list, sessionStats{id: *id, client: c.info.Client.String(), server: c.info.Server.String()})
	i := int32(len(t.list))
	t.index[*id] = i
	return i
}

// call counts a tracked call with SEQUENCE args s, sent on c, and returns
// its session (index+1), noSession past the table's bound.
func (t *sessionTable) call(s *decode.SequenceArgs4, c *connState) int32 {
	i := t.lookup(&s.SessionID, c)
	if i == noSession {
		return noSession
	}
	st := &t.list[i-1]
	st.calls++
	st.inUse++
	st.maxInUse = max(st.maxInUse, st.inUse)
	st.maxSlot = max(st.maxSlot, s.SlotID)
	st.maxHighest = max(st.maxHighest, s.HighestSlotID)
	return i
}

// done frees the slot of a call of session i that is no longer waiting.
func (t *sessionTable) done(i int32) {
	if st := &t.list[i-1]; st.inUse > 0 {
		st.inUse--
	}
}

// result notes a SEQUENCE result r, of the session of call i (or, when the
// call had none, of the session r names, if it is known).
func (t *sessionTable) result(i int32, r *decode.SequenceRes4) {
	if i == noSession {
		i = t.index[r.SessionID]
		if i == noSession {
			return
		}
	}
	st := &t.list[i-1]
	if st.results == 0 || r.TargetHighestSlotID < st.targetMin {
		st.targetMin = r.TargetHighestSlotID
	}
	st.targetMax = max(st.targetMax, r.TargetHighestSlotID)
	st.srvHighest = max(st.srvHighest, r.HighestSlotID)
	st.statusFlags |= r.StatusFlags
	st.results++
}

// created notes the session a CREATE_SESSION result r made, on c.
func (t *sessionTable) created(r *decode.CreateSessionRes4, c *connState) {
	if i := t.lookup(&r.SessionID, c); i != noSession {
		t.list[i-1].slots = r.Fore.MaxRequests
	}
}

// NFS4Session is one NFSv4.1 session as its SEQUENCE operations showed it.
type NFS4Session struct {
	SessionID string `json:"session_id"` // 32 hex digits
	Client    string `json:"client"`     // of the first connection it was seen on
	Server    string `json:"server"`
	Calls     int64  `json:"calls"` // calls with SEQUENCE tracked for a reply
	// MaxSlotsInUse is the most calls of the session waiting for their
	// reply at once: the slots it used at once.
	MaxSlotsInUse int    `json:"max_slots_in_use"`
	MaxSlotID     uint32 `json:"max_slotid"`     // the largest slot id a call used
	HighestSlotID uint32 `json:"highest_slotid"` // the largest sa_highest_slotid the client sent
	// The server's SEQUENCE results (Results of them): the largest
	// sr_highest_slotid, the smallest and largest sr_target_highest_slotid
	// (a target below the highest asks the client to use fewer slots),
	// every sr_status_flags bit seen.
	Results                int64  `json:"results"`
	ServerHighestSlotID    uint32 `json:"server_highest_slotid"`
	TargetHighestSlotIDMin uint32 `json:"target_highest_slotid_min"`
	TargetHighestSlotIDMax uint32 `json:"target_highest_slotid_max"`
	StatusFlags            uint32 `json:"status_flags"`
	// Slots is the fore channel's slot count CREATE_SESSION granted
	// (ca_maxrequests), when the capture holds it; else 0.
	Slots uint32 `json:"slots,omitempty"`
}

// listSessions lists the sessions, most calls first.
func (t *sessionTable) listSessions() []NFS4Session {
	out := make([]NFS4Session, 0, len(t.list))
	for i := range t.list {
		st := &t.list[i]
		out = append(out, NFS4Session{
			SessionID: hex.EncodeToString(st.id[:]), Client: st.client, Server: st.server,
			Calls: st.calls, MaxSlotsInUse: int(st.maxInUse), MaxSlotID: st.maxSlot, HighestSlotID: st.maxHighest,
			Results: st.results, ServerHighestSlotID: st.srvHighest,
			TargetHighestSlotIDMin: st.targetMin, TargetHighestSlotIDMax: st.targetMax,
			StatusFlags: st.statusFlags, Slots: st.slots,
		})
	}
	slices.SortStableFunc(out, func(x, y NFS4Session) int {
		switch {
		case x.Calls > y.Calls:
			return -1
		case x.Calls < y.Calls:
			return 1
		}
		return 0
	})
	return out
}
