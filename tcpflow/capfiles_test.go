package tcpflow

// Reading the hand-built capture files (internal/capfile) of the tests of
// capread_test.go.

import (
	"bytes"
	"io"
	"testing"

	"github.com/nfsstall/nfsstall/capture"
)

func readAll(t *testing.T, name string, file []byte) (*capture.File, []capture.Packet) {
	t.Helper()
	f, err := capture.Open("-", bytes.NewReader(file))
	if err != nil {
		t.Fatalf("%s: %v", name, err)
	}
	var out []capture.Packet
	for {
		var p capture.Packet
		if err := f.Next(&p); err == io.EOF {
			break
		} else if err != nil {
			t.Fatalf("%s: %v", name, err)
		}
		p.Data = bytes.Clone(p.Data)
		out = append(out, p)
	}
	return f, out
}
