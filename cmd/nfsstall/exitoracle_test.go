package main

// An oracle for the exit status that does not read nfsstall's output: from
// tshark's views of a capture alone, does it hold a stall as README defines
// one (a finding of severity stall), at the default --stall-after of 1 s?

import (
	"fmt"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/nfsstall/nfsstall/internal/tsharkview"
)

// stallAfter is the command's default --stall-after.
const stallAfter = time.Second

// tsharkStalls returns, for the capture whose views are NAME.*.tsv in
// pcapDir, the stalls tshark's views show when the command analyses ports
// (each a sentence naming its frames); none means exit 0 is right, any
// means exit 1. A stall is one of:
//   - a call to an analysed port that no reply with its XID ever reached
//     its client (the same XID from the same client address, re-sent on
//     another connection, counts as the same call; so pairing does not
//     rest on tshark's per-connection rpc.repframe), first sent at least
//     stallAfter before the capture's last packet (capinfos), and not a
//     portmap CALLIT (program 100000 procedure 5), which RFC 1833 answers
//     only on success;
//   - a TCP segment with data that tshark flags a retransmission and that
//     no later segment from the peer ACKs (tcp.ack_raw at or past its end,
//     in sequence space);
//   - a side whose every segment from some frame to the end of the capture
//     advertises a zero window (tcp.window_size 0, no RST), that frame
//     at least stallAfter before the capture's last packet;
//   - a grace period that refused a client's calls for at least
//     stallAfter (tsharkGraceStalls).
//
// The captures have no capture loss (their ACKs show none), so none of
// these is excused by a hole.
func tsharkStalls(t *testing.T, name string, ports []string) []string {
	t.Helper()
	v := loadView(t, name)
	end := captureEnd(t, v)
	analysed := func(r tsharkview.Row, dir string) bool {
		for _, k := range []string{"tcp." + dir + "port", "udp." + dir + "port"} {
			if slices.Contains(ports, r[k]) {
				return true
			}
		}
		return false
	}
	var out []string

	// Unanswered calls.
	type callKey struct{ client, xid string }
	first := map[callKey]tsharkview.Row{}
	var order []callKey
	answered := map[callKey]bool{}
	for _, r := range v.rpc {
		xids, types := strings.Split(r["rpc.xid"], ","), strings.Split(r["rpc.msgtyp"], ",")
		if r["rpc.xid"] == "" || len(xids) != len(types) {
			continue // continuation data, no message starts here
		}
		progs, procs := strings.Split(r["rpc.program"], ","), strings.Split(r["rpc.procedure"], ",")
		for i, xid := range xids {
			switch types[i] {
			case "0":
				if !analysed(r, "dst") {
					continue
				}
				if i < len(progs) && i < len(procs) && progs[i] == "100000" && procs[i] == "5" {
					continue // CALLIT
				}
				k := callKey{r["ip.src"] + r["ipv6.src"], xid}
				if _, ok := first[k]; !ok {
					first[k] = r
					order = append(order, k)
				}
			case "1":
				if analysed(r, "src") {
					answered[callKey{r["ip.dst"] + r["ipv6.dst"], xid}] = true
				}
			}
		}
	}
	for _, k := range order {
		r := first[k]
		if age := end.Sub(v.time(r)); !answered[k] && age >= stallAfter {
			out = append(out, fmt.Sprintf("call xid %s from %s (frame %s) never answered, %v before the end", k.xid, k.client, r["frame.number"], age))
		}
	}

	// Retransmitted data never ACKed, and zero windows open at the end.
	type side struct{ stream, src, sport string }
	zeroSince := map[side]tsharkview.Row{} // the first segment of the side's current zero-window run
	var sides []side
	for i, r := range v.tcp {
		if !analysed(r, "src") && !analysed(r, "dst") {
			continue
		}
		s := side{r["tcp.stream"], r["ip.src"] + r["ipv6.src"], r["tcp.srcport"]}
		if !slices.Contains(sides, s) {
			sides = append(sides, s)
		}
		flags := v.int(r["tcp.flags"])
		if flags&0x04 != 0 || r["tcp.window_size"] != "0" { // RST, or an open window
			delete(zeroSince, s)
		} else if _, ok := zeroSince[s]; !ok {
			zeroSince[s] = r
		}
		n := v.int(r["tcp.len"])
		if n == 0 || (r["tcp.analysis.retransmission"] != "1" && r["tcp.analysis.fast_retransmission"] != "1") {
			continue
		}
		segEnd := uint32(v.int(r["tcp.seq_raw"]) + n)
		acked := false
		for _, a := range v.tcp[i+1:] {
			if a["tcp.stream"] == r["tcp.stream"] && a["tcp.srcport"] == r["tcp.dstport"] && a["ip.src"]+a["ipv6.src"] == r["ip.dst"]+r["ipv6.dst"] &&
				v.int(a["tcp.flags"])&0x10 != 0 && int32(uint32(v.int(a["tcp.ack_raw"]))-segEnd) >= 0 {
				acked = true
				break
			}
		}
		if !acked {
			out = append(out, fmt.Sprintf("frame %s re-sends %d bytes at seq %s that the peer never ACKs", r["frame.number"], n, r["tcp.seq_raw"]))
		}
	}
	for _, s := range sides {
		if r, ok := zeroSince[s]; ok && end.Sub(v.time(r)) >= stallAfter {
			out = append(out, fmt.Sprintf("%s:%s advertises a zero window from frame %s to the end, %v", s.src, s.sport, r["frame.number"], end.Sub(v.time(r))))
		}
	}
	return append(out, tsharkGraceStalls(t, name, v)...)
}

// captureEnd is the time of the capture's last packet, as capinfos gives
// it (in UTC: the views' machine ran in UTC), or the last frame of the
// views when capinfos could not say.
func captureEnd(t *testing.T, v *view) time.Time {
	t.Helper()
	if s := v.capinfo["Last packet time"]; s != "" {
		end, err := time.Parse("2006-01-02 15:04:05.999999999", s)
		if err != nil {
			t.Fatalf("capinfos last packet time %q: %v", s, err)
		}
		return end
	}
	var end time.Time
	for _, rows := range [][]tsharkview.Row{v.tcp, v.rpc} {
		for _, r := range rows {
			if tm := v.time(r); tm.After(end) {
				end = tm
			}
		}
	}
	return end
}
