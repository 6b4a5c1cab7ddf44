package analyze_test

import (
	"fmt"
	"path/filepath"
	"strconv"
	"strings"
	"testing"

	"github.com/nfsstall/nfsstall/analyze"
)

// TestHeldAgreesWithTshark holds what the server_not_replying verdict of
// the lab's two hung-server captures says the server holds to tshark's
// views: from the rpc view, the calls to 2049 of the stream that no reply
// has answered yet, counted frame by frame (the most at once and its first
// frame, the count at the end and the frame since which it has stood);
// from the tcp view, the window (tcp.window_size, scaled by tshark) of the
// server's segments after its last reply: the first, the lowest, the last.
func TestHeldAgreesWithTshark(t *testing.T) {
	for _, name := range []string{"stall-server-hung.pcap", "nfs4-server-hung.pcap"} {
		t.Run(name, func(t *testing.T) {
			rpc := readTSV(t, filepath.Join(pcapDir, name+".rpc.tsv"))
			tcp := readTSV(t, filepath.Join(pcapDir, name+".tcp.tsv"))
			waiting := map[string]bool{}
			n, most, mostAt, since, lastReply := 0, 0, "", "", ""
			stream := ""
			for _, r := range rpc {
				if r["rpc.xid"] == "" || (r["tcp.dstport"] != "2049" && r["tcp.srcport"] != "2049") {
					continue
				}
				xids, types := strings.Split(r["rpc.xid"], ","), strings.Split(r["rpc.msgtyp"], ",")
				for i, x := range xids {
					switch {
					case types[i] == "0" && !waiting[x]:
						waiting[x] = true
						n++
						since = r["frame.number"]
						stream = r["tcp.stream"]
						if n > most {
							most, mostAt = n, r["frame.number"]
						}
					case types[i] == "1" && waiting[x]:
						delete(waiting, x)
						n--
						since, lastReply = r["frame.number"], r["frame.number"]
					}
				}
			}
			var first, low, last, firstAt, lowAt string
			after := false
			for _, r := range tcp {
				if r["tcp.stream"] != stream || r["tcp.srcport"] != "2049" {
					continue
				}
				if r["frame.number"] == lastReply {
					after = true
					continue
				}
				if !after {
					continue
				}
				w := r["tcp.window_size"]
				if first == "" {
					first, firstAt, low, lowAt = w, r["frame.number"], w, r["frame.number"]
				}
				if a, _ := strconv.Atoi(w); a < atoi(low) {
					low, lowAt = w, r["frame.number"]
				}
				last = w
			}
			if n != 1 || first == "" {
				t.Fatalf("the views show %d calls waiting at the end, window after the last reply %q: not the capture described", n, first)
			}
			r, _ := run(t, captureFile(t, name))
			if len(r.Diagnoses) != 1 || r.Diagnoses[0].Verdict != analyze.VerdictServerNotReplying {
				t.Fatalf("diagnoses %+v", r.Diagnoses)
			}
			s := r.Diagnoses[0].Summary
			want := []string{
				fmt.Sprintf("The server holds %d of this connection's calls at the end (at most %d at once, first at frame %s)", n, most, mostAt),
				fmt.Sprintf("the count has stood at %d since frame %s", n, since),
				fmt.Sprintf("Since its last reply (frame %s)", lastReply),
			}
			if first == last && low == last {
				want = append(want, fmt.Sprintf("stayed at %s bytes (from frame %s)", first, firstAt), "it did not shrink")
			} else {
				want = append(want, fmt.Sprintf("went from %s bytes (frame %s) to %s at the end", first, firstAt, last))
				if atoi(low) < atoi(last) {
					want = append(want, fmt.Sprintf("lowest %s at frame %s", low, lowAt))
				}
			}
			for _, w := range want {
				if !strings.Contains(s, w) {
					t.Errorf("verdict lacks %q: %s", w, s)
				}
			}
			if strings.Contains(s, "threads being busy") {
				t.Errorf("one call held is no plateau of threads: %s", s)
			}
		})
	}
}

func atoi(s string) int { n, _ := strconv.Atoi(s); return n }
