package analyze_test

import (
	"bytes"
	"strings"
	"testing"

	"github.com/nfsstall/nfsstall/analyze"
	"github.com/nfsstall/nfsstall/capture"
	"github.com/nfsstall/nfsstall/internal/gencap"
	"github.com/nfsstall/nfsstall/internal/handcap"
)

func runHand(t *testing.T, segs []handcap.Seg, opts analyze.Options) *analyze.Report {
	t.Helper()
	in, err := capture.OpenInputs([]string{"-"}, bytes.NewReader(handcap.Pcap(segs)))
	if err != nil {
		t.Fatal(err)
	}
	defer in.Close()
	opts.Sequential = true
	r, err := analyze.Run(in, opts)
	if err != nil {
		t.Fatal(err)
	}
	return r
}

// handConn builds the segments of one connection from client port port:
// a handshake at ms, then n READ calls each answered (but, when
// unanswered, the last) and ACKed by the client, one ms apart.
type handConn struct {
	port             uint16
	ms               int64
	cseq, sseq       uint32 // next sequence numbers
	segs             []handcap.Seg
	xid              uint32
	ciss, siss       uint32
	clientWin, srvWn uint16
}

func newHandConn(port uint16, ms int64) *handConn {
	h := &handConn{port: port, ms: ms, ciss: 1000 * uint32(port), siss: 7000 * uint32(port), clientWin: 500, srvWn: 600, xid: 1000 * uint32(port)}
	h.cseq, h.sseq = h.ciss+1, h.siss+1
	h.add(true, handcap.SYN, h.ciss, 0, nil)
	h.add(false, handcap.SYN|handcap.ACK, h.siss, h.cseq, nil)
	h.add(true, handcap.ACK, h.cseq, h.sseq, nil)
	return h
}

func (h *handConn) add(toServer bool, flags byte, seq, ack uint32, payload []byte) {
	win := h.srvWn
	if toServer {
		win = h.clientWin
	}
	h.segs = append(h.segs, handcap.Seg{MS: h.ms, Port: h.port, ToServer: toServer, Flags: flags, Seq: seq, Ack: ack, Win: win, Payload: payload})
	h.ms++
}

func (h *handConn) call() {
	h.xid++
	b := gencap.AppendReadCall(nil, h.xid, 1, make([]byte, 32), 0, 4096)
	h.add(true, handcap.ACK|handcap.PSH, h.cseq, h.sseq, b)
	h.cseq += uint32(len(b))
}

func (h *handConn) reply() {
	b := gencap.AppendReadReply(nil, h.xid, 0, false, 0, 0)
	h.add(false, handcap.ACK|handcap.PSH, h.sseq, h.cseq, b)
	h.sseq += uint32(len(b))
	h.add(true, handcap.ACK, h.cseq, h.sseq, nil)
}

// TestTimelineRingsKeepTheLast: a connection of 2,200 answered calls
// (4,400 data segments, 4,403 ACK points, 4,400 changes of the calls
// waiting) keeps the last 4,096, 2,048 and 1,024 of each, and counts the
// rest dropped; every point kept is the one the hand-built capture put
// there (frame, time, relative seq and ack, window).
func TestTimelineRingsKeepTheLast(t *testing.T) {
	h := newHandConn(800, 0)
	const n = 2200
	for range n {
		h.call()
		h.reply()
	}
	// What the capture holds, worked out from the segments built.
	type seg struct {
		frame      int64
		ms         int64
		fromServer bool
		seq, len   uint32
	}
	type ack struct {
		frame      int64
		fromServer bool
		ack        uint32
		win        uint32
	}
	var segs []seg
	var acks []ack
	var last [2]*ack
	var outs []int
	waiting := 0
	for i, s := range h.segs {
		fromServer := !s.ToServer
		iss, peerIss := h.ciss, h.siss
		d := 0
		if fromServer {
			iss, peerIss, d = h.siss, h.ciss, 1
		}
		if len(s.Payload) > 0 {
			segs = append(segs, seg{int64(i + 1), s.MS, fromServer, s.Seq - iss, uint32(len(s.Payload))})
			if fromServer {
				waiting--
			} else {
				waiting++
			}
			outs = append(outs, waiting)
		}
		if s.Flags&handcap.ACK != 0 {
			a := ack{int64(i + 1), fromServer, s.Ack - peerIss, uint32(s.Win)}
			if l := last[d]; l == nil || l.ack != a.ack || l.win != a.win {
				acks = append(acks, a)
				last[d] = &a
			}
		}
	}
	r := runHand(t, h.segs, analyze.DefaultOptions())
	if len(r.Timelines) != 1 {
		t.Fatalf("%d timelines, want 1 (the busiest connection)", len(r.Timelines))
	}
	tl := r.Timelines[0]
	if len(tl.Segments) != 2048 || tl.DroppedSegments != int64(len(segs)-2048) {
		t.Errorf("%d segments kept, %d dropped; want 2048 and %d", len(tl.Segments), tl.DroppedSegments, len(segs)-2048)
	}
	if len(tl.Acks) != 1024 || tl.DroppedAcks != int64(len(acks)-1024) {
		t.Errorf("%d ACK points kept, %d dropped; want 1024 and %d", len(tl.Acks), tl.DroppedAcks, len(acks)-1024)
	}
	if len(tl.Outstanding) != 512 || tl.DroppedOutstanding != int64(len(outs)-512) {
		t.Errorf("%d counts kept, %d dropped; want 512 and %d", len(tl.Outstanding), tl.DroppedOutstanding, len(outs)-512)
	}
	for i, g := range tl.Segments {
		w := segs[len(segs)-len(tl.Segments)+i]
		if g.Frame != w.frame || g.TimeMS != float64(w.ms) || g.FromServer != w.fromServer || g.Seq != w.seq || g.Len != w.len || g.Retransmission {
			t.Fatalf("segment %d: %+v, want %+v", i, g, w)
		}
	}
	for i, g := range tl.Acks {
		w := acks[len(acks)-len(tl.Acks)+i]
		if g.Frame != w.frame || g.FromServer != w.fromServer || g.Ack != w.ack || g.Window != w.win {
			t.Fatalf("ACK point %d: %+v, want %+v", i, g, w)
		}
	}
	for i, g := range tl.Outstanding {
		if w := outs[len(outs)-len(tl.Outstanding)+i]; g.N != w {
			t.Fatalf("count %d: %d, want %d", i, g.N, w)
		}
	}
}

// TestTimelineCapReusesAndCounts: with one timeline allowed, a connection
// whose calls were all answered gives its ring to the next one; that one
// keeps it while its call waits, so a third connection with a call
// waiting gets none, and, diagnosed, is counted in skipped.
func TestTimelineCapReusesAndCounts(t *testing.T) {
	c := newHandConn(800, 0)
	c.call()
	c.reply()
	a := newHandConn(801, 100)
	a.call() // never answered
	b := newHandConn(802, 200)
	b.call() // never answered
	segs := append(append(append([]handcap.Seg{}, c.segs...), a.segs...), b.segs...)
	a.ms = 3000
	a.add(true, handcap.ACK, a.cseq, a.sseq, nil) // the capture lasts past --stall-after
	segs = append(segs, a.segs[len(a.segs)-1])
	opts := analyze.DefaultOptions()
	opts.MaxTimelines = 1
	r := runHand(t, segs, opts)
	var ids []int
	for _, d := range r.Diagnoses {
		ids = append(ids, d.Connection)
	}
	if len(ids) != 2 {
		for _, f := range r.Findings {
			t.Logf("%d %s %s %s", f.Connection, f.Kind, f.Severity, f.Summary)
		}
		for _, d := range r.Diagnoses {
			t.Logf("%+v", d)
		}
		t.Fatalf("diagnoses of connections %v, want 2 (ports 801 and 802)", ids)
	}
	port801 := 0
	for _, c := range r.Connections {
		if strings.HasSuffix(c.Client, ":801") {
			port801 = c.ID
		}
	}
	if len(r.Timelines) != 1 || r.Timelines[0].Connection != port801 {
		t.Fatalf("timelines %+v, want port 801's (connection %d) alone", r.Timelines, port801)
	}
	tl := r.Timelines[0]
	// Port 801's: its call (frame 10) and the count it made.
	if len(tl.Segments) != 1 || tl.Segments[0].Frame != 10 || tl.DroppedSegments != 0 {
		t.Errorf("segments %+v (dropped %d), want the call of frame 10", tl.Segments, tl.DroppedSegments)
	}
	if len(tl.Outstanding) != 1 || tl.Outstanding[0].N != 1 {
		t.Errorf("counts %+v, want one call waiting", tl.Outstanding)
	}
	n := int64(0)
	for _, s := range r.Skipped {
		if s.What == "connection timelines" {
			n += s.Count
			if !s.Bound {
				t.Errorf("skipped %+v is not marked a bound", s)
			}
		}
	}
	if n != 1 {
		t.Errorf("%d connection timelines counted skipped, want 1: %+v", n, r.Skipped)
	}
}

// TestTimelineNoAllocs: recording a connection's points allocates nothing
// once its ring is made, the rings wrapping included: the second half of
// the 2,200-call connection of TestTimelineRingsKeepTheLast, packet by
// packet.
func TestTimelineNoAllocs(t *testing.T) {
	h := newHandConn(800, 0)
	for range 2200 {
		h.call()
		h.reply()
	}
	a := analyze.New(analyze.DefaultOptions())
	if allocs := steadyAllocs(a, memPackets(t, handcap.Pcap(h.segs)), 30); allocs != 0 {
		t.Errorf("%.2f allocations per 30 packets once the ring is made, want 0", allocs)
	}
	r := a.Finish(nil)
	if len(r.Timelines) != 1 || r.Timelines[0].DroppedSegments == 0 {
		t.Fatalf("the rings did not wrap: %+v", r.Timelines)
	}
}
