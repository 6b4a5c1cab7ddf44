package analyze_test

import (
	"fmt"
	"path/filepath"
	"strings"
	"testing"

	"github.com/nfsstall/nfsstall/analyze"
	"github.com/nfsstall/nfsstall/internal/tsharkview"
)

// TestOtherPortsAgreeWithTshark: analysing port 2049 alone, the RPC calls
// nfsstall counts to other ports (for the --port hint) are tshark's calls
// to those ports, port by port, on every real capture.
func TestOtherPortsAgreeWithTshark(t *testing.T) {
	seen := 0
	for _, path := range realTCPCaptures(t) {
		name := strings.TrimSuffix(filepath.Base(path), ".gz")
		rows, err := tsharkview.Read(filepath.Join(pcapDir, name+".rpc.tsv"))
		if err != nil {
			t.Fatal(err)
		}
		want := map[string]int64{}
		for _, r := range rows {
			port, proto := r["tcp.dstport"], "tcp"
			if port == "" {
				port, proto = r["udp.dstport"], "udp"
			}
			if port == "2049" {
				continue
			}
			for _, m := range strings.Split(r["rpc.msgtyp"], ",") {
				if m == "0" {
					want[port+"/"+proto]++
				}
			}
		}
		rep := analyzeCapture(t, path, analyze.DefaultOptions())
		got := map[string]int64{}
		for _, o := range rep.OtherPorts {
			got[fmt.Sprintf("%d/%s", o.Port, o.Transport)] = o.Calls
		}
		if fmt.Sprint(got) != fmt.Sprint(want) {
			t.Errorf("%s: RPC calls to other ports %v, tshark's view %v", name, got, want)
		}
		seen += len(want)
	}
	if seen == 0 {
		t.Error("no capture has RPC on another port")
	}
}
