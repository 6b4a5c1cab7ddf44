package analyze_test

import (
	"compress/gzip"
	"io"
	"os"
	"path/filepath"
	"testing"

	"github.com/nfsstall/nfsstall/analyze"
)

// TestNFS4PacketPathNoAllocs holds the NFSv4 message path (COMPOUND and
// callback decoding, operation counts, sessions) to no heap allocation per
// packet once warm, as TestPacketPathNoAllocs does NFSv3's: on the NFSv4.0
// public capture, whose second half adds no procedure row or session the
// first did not (a new row or session is one allocation, bounded by the
// tables' caps).
func TestNFS4PacketPathNoAllocs(t *testing.T) {
	f, err := os.Open(filepath.Join(publicPcaps, "nfstrace--eth-ipv4-tcp-nfsv4.pcap.gz"))
	if err != nil {
		t.Skip(err)
	}
	defer f.Close()
	zr, err := gzip.NewReader(f)
	if err != nil {
		t.Fatal(err)
	}
	b, err := io.ReadAll(zr)
	if err != nil {
		t.Fatal(err)
	}
	a := analyze.New(analyze.DefaultOptions())
	if allocs := steadyAllocs(a, memPackets(t, b), 50); allocs != 0 {
		t.Errorf("%.2f allocations per 50 packets at steady state, want 0", allocs)
	}
}
