package tcpflow

import (
	"os"
	"testing"

	"github.com/nfsstall/nfsstall/internal/mutate"
)

// boundaryFrames returns Ethernet frames of a real capture with header
// fields (IP lengths and fragment fields, TCP sequence numbers, data
// offset, flags, options, UDP length) set to boundary values by
// internal/mutate: seeds random mutation rarely reaches.
func boundaryFrames(f *testing.F, n int) [][]byte {
	f.Helper()
	b, err := os.ReadFile("../testdata/pcaps/mixed.pcap.gz")
	if err != nil {
		f.Skip(err)
	}
	c, err := mutate.Parse(b)
	if err != nil {
		f.Fatal(err)
	}
	var out [][]byte
	for seed := uint64(0); len(out) < n && seed < uint64(4*n); seed++ {
		v, ms := c.Variant(seed, 1, false)
		if len(ms) == 0 || ms[0].Record < 0 {
			continue
		}
		r := c.Records[ms[0].Record]
		out = append(out, v[r.Data:r.End])
	}
	return out
}
