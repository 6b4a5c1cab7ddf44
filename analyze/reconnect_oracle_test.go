package analyze_test

import (
	"fmt"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"testing"

	"github.com/nfsstall/nfsstall/analyze"
	"github.com/nfsstall/nfsstall/capture"
	"github.com/nfsstall/nfsstall/internal/tsharkview"
)

// TestReconnectAgreesWithTshark holds the reconnect findings of the lab's
// two failing-reconnect captures to tshark's view of their TCP headers:
// the SYNs to 2049 (tcp.flags SYN without ACK) and the RSTs from it since
// the last SYN-ACK from 2049 before them are the evidence, the first 10
// and the last 2 listed, all counted; the SYN-ACK that ends the run, when
// there is one, is listed too.
//   - reconnect-drop: the server's firewall drops the SYNs while a READ
//     waits: a stall, verdict reconnect_failing on the READ's connection.
//   - reconnect-rst: the SYNs are refused with RST for ~30 ms (libnfs
//     reconnects at once from a new port), then one is answered: a warning.
func TestReconnectAgreesWithTshark(t *testing.T) {
	for _, tc := range []struct {
		file      string
		severity  analyze.Severity
		verdict   string
		recovered bool
	}{
		{"reconnect-drop.pcap.gz", analyze.SeverityStall, analyze.VerdictReconnectFailing, false},
		{"reconnect-rst.pcap.gz", analyze.SeverityWarning, "", true},
	} {
		t.Run(tc.file, func(t *testing.T) {
			path := filepath.Join(pcapDir, tc.file)
			rows, err := tsharkview.Read(filepath.Join(pcapDir, strings.TrimSuffix(tc.file, ".gz")+".tcp.tsv"))
			if err != nil {
				t.Fatal(err)
			}
			// The run: SYNs and RSTs of the server port since the last
			// SYN-ACK before them; a SYN-ACK after SYNs ends it.
			var run, last []int64
			var synAck int64
			syns := 0
			for _, r := range rows {
				flags, err := strconv.ParseUint(strings.TrimPrefix(r["tcp.flags"], "0x"), 16, 16)
				if err != nil {
					t.Fatalf("frame %s: tcp.flags %q", r["frame.number"], r["tcp.flags"])
				}
				frame, _ := strconv.ParseInt(r["frame.number"], 10, 64)
				toServer, fromServer := r["tcp.dstport"] == "2049", r["tcp.srcport"] == "2049"
				switch {
				case toServer && flags&0x12 == 0x02:
					run = append(run, frame)
					syns++
				case fromServer && flags&0x12 == 0x12:
					if syns >= 2 {
						last, synAck = run, frame
					}
					run, syns = nil, 0
				case fromServer && flags&0x04 != 0 && syns > 0:
					run = append(run, frame)
				}
			}
			if !tc.recovered {
				last = run
			}
			if len(last) < 4 || tc.recovered && synAck == 0 {
				t.Fatalf("tshark's view shows no failing reconnect: run %v, SYN-ACK %d", last, synAck)
			}
			want := last
			if len(last) > 12 {
				want = append(slices.Clone(last[:10]), last[len(last)-2:]...)
			}
			if synAck != 0 {
				want = append(slices.Clone(want), synAck)
			}

			in, err := capture.OpenInputs([]string{path}, nil)
			if err != nil {
				t.Fatal(err)
			}
			defer in.Close()
			r, err := analyze.Run(in, analyze.DefaultOptions())
			if err != nil {
				t.Fatal(err)
			}
			rec := reconnectFindings(r)
			if len(rec) != 1 {
				t.Fatalf("%d reconnect findings: %+v", len(rec), rec)
			}
			f := rec[0]
			if !slices.Equal(f.Frames, want) {
				t.Errorf("frames %v, tshark's view shows %v", f.Frames, want)
			}
			if f.Severity != tc.severity {
				t.Errorf("severity %s, want %s: %s", f.Severity, tc.severity, f.Summary)
			}
			if len(last) > 12 && !strings.Contains(f.Summary, fmt.Sprintf("%d SYNs and RSTs in all", len(last))) {
				t.Errorf("summary does not count the %d SYNs and RSTs: %s", len(last), f.Summary)
			}
			var verdicts []string
			for _, d := range r.Diagnoses {
				verdicts = append(verdicts, d.Verdict)
			}
			if tc.verdict == "" && len(verdicts) != 0 || tc.verdict != "" && !slices.Equal(verdicts, []string{tc.verdict}) {
				t.Errorf("verdicts %v, want %q", verdicts, tc.verdict)
			}
			t.Logf("%s: %s", f.Severity, f.Summary)
		})
	}
}
