package analyze

import (
	"fmt"
	"strings"

	"github.com/nfsstall/nfsstall/tcpflow"
)

// What a server that accepts calls and never answers them holds (issue
// 13, item 2), for the server_not_replying verdict: how many of the
// connection's calls wait at once over time (the most, when the count
// last changed: a count that stands still while nothing is answered is a
// plateau), and the receive window the server advertised since its last
// reply (a window shrinking toward zero: the server is not even reading
// its socket; one that stays open: its kernel takes the calls, its NFS
// threads do not answer them). O(1) per segment, no allocation.

// heldCalls is one connection's count of waiting calls and the server's
// window since its last reply.
type heldCalls struct {
	n     int              // calls first sent here waiting for a reply (connState.tracked)
	max   int              // the most at once
	maxAt tcpflow.FrameRef // when it was first reached
	since tcpflow.FrameRef // when n took its value
	// Window scale shifts from the handshake (-1: not seen or none).
	cliShift, srvShift int8
	synSeen            [2]bool
	// The server's advertised window since its last reply: the first,
	// lowest and latest, scaled when the handshake showed the scale.
	win                  bool // a segment since the reply
	winFirst, winMin     uint32
	winLast              uint32
	winFirstAt, winMinAt tcpflow.FrameRef
	// (The last reply is the connection's, connState.lastReply.)
}

// note records the count of calls waiting after a change at at.
func (h *heldCalls) note(n int, at tcpflow.FrameRef) {
	if n == h.n {
		return
	}
	h.n, h.since = n, at
	if n > h.max {
		h.max, h.maxAt = n, at
	}
}

// segment sees a segment's window.
func (h *heldCalls) segment(dir tcpflow.Dir, s *tcpflow.Segment, at tcpflow.FrameRef) {
	if s.Flags&tcpflow.FlagSYN != 0 {
		shift := s.WScale
		if !h.synSeen[dir] {
			h.synSeen[dir] = true
			if dir == tcpflow.ToServer {
				h.cliShift = shift
			} else {
				h.srvShift = shift
			}
		}
		return
	}
	if dir != tcpflow.ToClient || s.Flags&tcpflow.FlagRST != 0 {
		return
	}
	w := uint32(s.Window)
	if sh, ok := h.shift(); ok {
		w <<= uint(sh)
	}
	if !h.win {
		h.win = true
		h.winFirst, h.winFirstAt, h.winMin, h.winMinAt = w, at, w, at
	} else if w < h.winMin {
		h.winMin, h.winMinAt = w, at
	}
	h.winLast = w
}

// shift is the server's window scale: 0 when the handshake showed none
// negotiated, false when it was not captured.
func (h *heldCalls) shift() (int8, bool) {
	if !h.synSeen[tcpflow.ToServer] || !h.synSeen[tcpflow.ToClient] {
		return 0, false
	}
	if h.cliShift < 0 || h.srvShift < 0 {
		return 0, true
	}
	return h.srvShift, true
}

// replied restarts the window watch at a reply.
func (h *heldCalls) replied() {
	h.win = false
}

// heldNote words, for the server_not_replying verdict of c, what the
// server holds: unanswered are its unanswered-call findings.
func (c *connState) heldNote(r *Report, unanswered []int) string {
	end := c.a.watch.end
	h := &c.held
	if c.info.Proto != tcpflow.ProtoTCP || len(unanswered) == 0 {
		return ""
	}
	start := int64(r.Findings[unanswered[0]].Start)
	for _, i := range unanswered {
		start = min(start, int64(r.Findings[i].Start))
	}
	stall := end - start
	var b strings.Builder
	fmt.Fprintf(&b, " The server holds %d of this connection's calls at the end (at most %d at once, first at frame %s)",
		h.n, h.max, c.a.frame(h.maxAt))
	plateau := end - h.since.Time
	if h.n > 0 && stall > 0 {
		fmt.Fprintf(&b, "; the count has stood at %d since frame %s, %s: %d%% of the stall", h.n, c.a.frame(h.since), FormatMS(ms(plateau)), min(100, 100*plateau/stall))
	}
	answered := c.lastReply.Time > start
	if answered {
		fmt.Fprintf(&b, "; it answered other calls meanwhile (the last at frame %s)", c.a.frame(c.lastReply))
	}
	b.WriteString(".")
	if h.n >= 2 && !answered && stall > 0 && 2*plateau >= stall {
		fmt.Fprintf(&b, " A count that stands still while nothing is answered fits all the server's NFS threads being busy or blocked (%d of them, if each holds one call), or the client's own limit on calls in flight; the capture cannot tell which.", h.n)
	}
	if h.win {
		_, known := h.shift()
		scaled := ""
		if !known {
			scaled = " (unscaled: the handshake was not captured)"
		}
		if h.winFirst == h.winLast && h.winMin == h.winLast {
			fmt.Fprintf(&b, " Since %s the server's advertised receive window%s stayed at %d bytes (from frame %s)",
				sinceWhat(c, h), scaled, h.winFirst, c.a.frame(h.winFirstAt))
		} else {
			fmt.Fprintf(&b, " Since %s the server's advertised receive window%s went from %d bytes (frame %s) to %d at the end",
				sinceWhat(c, h), scaled, h.winFirst, c.a.frame(h.winFirstAt), h.winLast)
		}
		if h.winMin < h.winLast {
			fmt.Fprintf(&b, ", lowest %d at frame %s", h.winMin, c.a.frame(h.winMinAt))
		}
		switch {
		case h.winMin == 0:
			b.WriteString(": it closed, so the server is not reading its socket at all.")
		case uint64(h.winLast)*4 < uint64(h.winFirst):
			b.WriteString(": shrinking toward zero, so the server is reading its socket slower than calls come, or not at all.")
		default:
			b.WriteString(": it did not shrink, so the server's kernel takes the calls in and the server's NFS threads do not answer them.")
		}
	}
	return b.String()
}

func sinceWhat(c *connState, h *heldCalls) string {
	if c.lastReply.Frame == 0 {
		return "the start of the connection"
	}
	return "its last reply (frame " + c.a.frame(c.lastReply) + ")"
}
