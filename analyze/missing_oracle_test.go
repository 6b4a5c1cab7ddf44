package analyze_test

import (
	"path/filepath"
	"slices"
	"strconv"
	"testing"

	"github.com/nfsstall/nfsstall/analyze"
)

// span is a half-open byte range [lo, hi) of one direction's stream,
// relative to the first sequence number seen in that direction.
type span struct{ lo, hi int64 }

// measure is the number of bytes the union of spans covers.
func measure(spans []span) int64 {
	s := slices.Clone(spans)
	slices.SortFunc(s, func(a, b span) int { return int(a.lo - b.lo) })
	var n, end int64
	started := false
	for _, x := range s {
		if x.hi <= x.lo {
			continue
		}
		if !started || x.lo > end {
			n += x.hi - x.lo
			end, started = x.hi, true
		} else if x.hi > end {
			n += x.hi - end
			end = x.hi
		}
	}
	return n
}

// TestMissingBytesAgreeWithTshark checks missing_bytes (per connection and
// in the summary) and truncated_frames (summary) against tshark's view of
// every capture. The oracle, per TCP frame with payload: tshark's tcp.len
// (from the IP header: what was sent), and frame.len - frame.cap_len (what
// the snaplen cut; all payload here, every header fits in the snaplen), so
// the frame carried [seq, seq+tcp.len) and the capture holds
// [seq, seq+tcp.len-cut). Bytes sent but not captured are the union of
// what was sent less the union of what was captured, per direction (a
// re-sent byte counts once; a byte captured in any copy is not missing).
// A truncated frame is a TCP frame with payload and frame.cap_len <
// frame.len. None of these captures lost packets (tcpdump dropped none),
// so every missing byte is a snaplen cut.
func TestMissingBytesAgreeWithTshark(t *testing.T) {
	sawCut := false
	for _, name := range captures(t) {
		t.Run(name, func(t *testing.T) {
			rows := readTSV(t, filepath.Join(pcapDir, name+".tcp.tsv"))
			r, _ := run(t, captureFile(t, name))
			type dirKey struct{ stream, src string }
			type stream struct {
				client, server string
				first          int64
			}
			base := map[dirKey]uint32{}
			sent, captured := map[dirKey][]span{}, map[dirKey][]span{}
			streams := map[string]*stream{}
			var order []string
			var truncated int64
			for _, row := range rows {
				id := row["tcp.stream"]
				if streams[id] == nil {
					src := endpointOf(row["ip.src"], row["ipv6.src"], row["tcp.srcport"])
					dst := endpointOf(row["ip.dst"], row["ipv6.dst"], row["tcp.dstport"])
					if !labPort(row["tcp.dstport"]) {
						src, dst = dst, src
					}
					streams[id] = &stream{client: src, server: dst, first: int64(parseUint(t, row["frame.number"]))}
					order = append(order, id)
				}
				n := int64(parseUint(t, row["tcp.len"]))
				if n == 0 {
					continue
				}
				cut := int64(parseUint(t, row["frame.len"])) - int64(parseUint(t, row["frame.cap_len"]))
				if cut < 0 || cut > n {
					t.Fatalf("frame %s: %d bytes cut, tcp.len %d: the cut is not all payload", row["frame.number"], cut, n)
				}
				if cut > 0 {
					truncated++
					sawCut = true
				}
				k := dirKey{id, endpointOf(row["ip.src"], row["ipv6.src"], row["tcp.srcport"])}
				seq := uint32(parseUint(t, row["tcp.seq_raw"]))
				if _, ok := base[k]; !ok {
					base[k] = seq
				}
				lo := int64(int32(seq - base[k]))
				sent[k] = append(sent[k], span{lo, lo + n})
				captured[k] = append(captured[k], span{lo, lo + n - cut})
			}
			missing := map[string]int64{}
			var total int64
			for k := range sent {
				m := measure(sent[k]) - measure(captured[k])
				missing[k.stream] += m
				total += m
			}
			for _, id := range order {
				st := streams[id]
				var conn *analyze.Connection
				for i := range r.Connections {
					c := &r.Connections[i]
					if c.Client == st.client && c.Server == st.server && c.FirstFrame == st.first {
						conn = c
					}
				}
				if conn == nil {
					t.Errorf("tshark stream %s (%s -> %s, frame %d): no such connection in the report", id, st.client, st.server, st.first)
					continue
				}
				if conn.MissingBytes != missing[id] {
					t.Errorf("connection %d (tshark stream %s): missing_bytes %d, tshark's frames %d", conn.ID, id, conn.MissingBytes, missing[id])
				}
			}
			if total > 0 || truncated > 0 {
				t.Logf("tshark's frames: %d bytes not captured, %d truncated frames", total, truncated)
			}
			if r.Summary.MissingBytes != total {
				t.Errorf("summary missing_bytes %d, tshark's frames %d", r.Summary.MissingBytes, total)
			}
			if r.Summary.TruncatedFrames != truncated {
				t.Errorf("summary truncated_frames %d, tshark's frames %d", r.Summary.TruncatedFrames, truncated)
			}
		})
	}
	if !sawCut {
		t.Error("no capture has a snaplen-cut frame: the check is empty")
	}
}

func labPort(port string) bool {
	for _, p := range labPorts {
		if port == strconv.Itoa(int(p)) {
			return true
		}
	}
	return false
}
