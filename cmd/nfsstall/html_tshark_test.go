package main

import (
	"net/netip"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/nfsstall/nfsstall/analyze"
	"github.com/nfsstall/nfsstall/internal/tsharkview"
)

// tsharkTimeline builds the timeline of connection c from tshark's views
// of the capture, not from nfsstall's analysis: its data segments (tcp.seq
// relative, tcp.len, the retransmission flags), the ACKs and windows each
// side advertised (tcp.ack_raw made relative with the other side's
// tcp.seq_raw - tcp.seq, tcp.window_size scaled), and the calls waiting
// for a reply (rpc.msgtyp: a call raises the count unless its xid already
// waits, its reply lowers it). Times are ms since origin.
func tsharkTimeline(t *testing.T, v *view, c analyze.Connection, origin time.Time) analyze.Timeline {
	t.Helper()
	cli, err := netip.ParseAddrPort(c.Client)
	if err != nil {
		t.Fatal(err)
	}
	srv, err := netip.ParseAddrPort(c.Server)
	if err != nil {
		t.Fatal(err)
	}
	end := func(r tsharkview.Row, dir string) netip.AddrPort {
		a := r["ip."+dir]
		if a == "" {
			a = r["ipv6."+dir]
		}
		addr, err := netip.ParseAddr(a)
		if err != nil {
			return netip.AddrPort{}
		}
		port := r["tcp."+dir+"port"]
		n, _ := strconv.ParseUint(port, 10, 16)
		return netip.AddrPortFrom(addr, uint16(n))
	}
	ms := func(r tsharkview.Row) float64 { return float64(v.time(r).Sub(origin)) / 1e6 }
	tl := analyze.Timeline{Connection: c.ID}
	var base [2]uint32 // seq_raw - seq per sender: [0] client, [1] server
	var known [2]bool
	var last [2]analyze.AckPoint
	var have [2]bool
	stream := ""
	for _, r := range v.tcp {
		src, dst := end(r, "src"), end(r, "dst")
		var fromServer bool
		switch {
		case src == cli && dst == srv:
		case src == srv && dst == cli:
			fromServer = true
		default:
			continue
		}
		stream = r["tcp.stream"]
		side := 0
		if fromServer {
			side = 1
		}
		seqRaw, seq := uint32(v.int(r["tcp.seq_raw"])), uint32(v.int(r["tcp.seq"]))
		if !known[side] {
			base[side], known[side] = seqRaw-seq, true
		}
		frame := v.int(r["frame.number"])
		if n := v.int(r["tcp.len"]); n > 0 {
			retx := false
			for _, k := range []string{"tcp.analysis.retransmission", "tcp.analysis.fast_retransmission", "tcp.analysis.spurious_retransmission"} {
				retx = retx || (r[k] != "" && r[k] != "0")
			}
			tl.Segments = append(tl.Segments, analyze.SegmentPoint{TimeMS: ms(r), Frame: frame, FromServer: fromServer,
				Seq: seq, Len: uint32(n), Retransmission: retx})
		}
		flags := v.int(r["tcp.flags"])
		if flags&0x10 == 0 || !known[1-side] {
			continue
		}
		a := analyze.AckPoint{TimeMS: ms(r), Frame: frame, FromServer: fromServer,
			Ack: uint32(v.int(r["tcp.ack_raw"])) - base[1-side], Window: uint32(v.int(r["tcp.window_size"]))}
		if have[side] && last[side].Ack == a.Ack && last[side].Window == a.Window {
			continue
		}
		last[side], have[side] = a, true
		tl.Acks = append(tl.Acks, a)
	}
	frameStream := map[string]string{}
	for _, r := range v.tcp {
		frameStream[r["frame.number"]] = r["tcp.stream"]
	}
	waiting := map[string]bool{}
	for _, r := range v.rpc {
		if frameStream[r["frame.number"]] != stream || r["rpc.xid"] == "" {
			continue
		}
		xids, types := strings.Split(r["rpc.xid"], ","), strings.Split(r["rpc.msgtyp"], ",")
		for i, x := range xids {
			if i >= len(types) {
				break
			}
			before := len(waiting)
			if types[i] == "0" {
				waiting[x] = true
			} else if waiting[x] {
				delete(waiting, x)
			}
			if len(waiting) != before {
				tl.Outstanding = append(tl.Outstanding, analyze.CountPoint{TimeMS: ms(r), N: len(waiting)})
			}
		}
	}
	return tl
}
