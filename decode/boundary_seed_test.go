package decode

import (
	"encoding/binary"
	"os"
	"testing"

	"github.com/nfsstall/nfsstall/internal/mutate"
)

// boundarySeeds are RPC messages of a real capture with one record marker
// or XDR length (credential, verifier, first argument) set to a boundary
// value by internal/mutate: 0, 1, 2^31 and around, 2^32-1, the length
// just past the end. Random mutation from the other seeds rarely reaches
// them.
type boundarySeeds struct {
	calls, replies [][]byte // without the record marker
	nfs3Args       [][]byte // procedure byte, then the arguments (see nfs3Proc)
	stream         []byte   // marked messages one after another
}

func loadBoundarySeeds(f testing.TB) boundarySeeds {
	f.Helper()
	var s boundarySeeds
	b, err := os.ReadFile("../testdata/pcaps/mixed.pcap.gz")
	if err != nil {
		f.Skip(err) // the captures are not part of every checkout of this package
	}
	c, err := mutate.Parse(b)
	if err != nil {
		f.Fatal(err)
	}
	for _, m := range c.RPCVariants(8, 48) {
		msg := m
		if len(s.stream) < 4096 {
			s.stream = append(s.stream, m...)
		}
		// The variants over TCP start with their marker; a message's
		// second word says call (0) or reply (1).
		if len(msg) >= 12 && binary.BigEndian.Uint32(msg[8:]) <= 1 && binary.BigEndian.Uint32(msg[4:]) > 1 {
			msg = msg[4:]
		}
		if len(msg) < 8 {
			continue
		}
		if binary.BigEndian.Uint32(msg[4:]) == 0 {
			s.calls = append(s.calls, msg)
			var c Call
			if ParseCall(msg, &c) == nil && c.Prog == 100003 && c.Vers == 3 {
				s.nfs3Args = append(s.nfs3Args, append([]byte{byte(c.Proc)}, c.Args...))
			}
		} else {
			s.replies = append(s.replies, msg)
		}
	}
	return s
}

// TestBoundarySeeds: the boundary seeds reach every decoder they are for.
func TestBoundarySeeds(t *testing.T) {
	s := loadBoundarySeeds(t)
	if len(s.calls) == 0 || len(s.replies) == 0 || len(s.nfs3Args) == 0 || len(s.stream) == 0 {
		t.Errorf("%d calls, %d replies, %d NFSv3 arguments, %d stream bytes", len(s.calls), len(s.replies), len(s.nfs3Args), len(s.stream))
	}
}
