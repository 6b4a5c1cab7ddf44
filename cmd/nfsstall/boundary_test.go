package main

import (
	"bytes"
	"encoding/json"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/nfsstall/nfsstall/internal/mutate"
)

// Boundary variants per capture in the corruption test: each sets 1 to 4
// header fields (TCP sequence and ACK numbers, lengths, options, record
// markers, XDR lengths: see internal/mutate) to boundary values. Random
// byte errors almost never produce a sequence number exactly 2^31 away or
// a length one past the end; these are where arithmetic breaks.
const (
	boundaryVariants     = 40
	boundaryFileVariants = 6 // of which the file header may be damaged too
)

// boundaries runs the boundary variants of one capture through run(), as
// the command runs. Damage below the file header is reported, not fatal:
// exit 0 or 1, and every record is still read unless a record's own
// length was changed. Damage to the file header itself may make the file
// unreadable: exit 2 then, and only then, with a message about the
// header.
func boundaries(t *testing.T, orig []byte, seed uint64) {
	c, err := mutate.Parse(orig)
	if err != nil {
		t.Fatal(err)
	}
	for v := 0; v < boundaryVariants; v++ {
		file := v >= boundaryVariants-boundaryFileVariants
		data, ms := c.Variant(seed<<16|uint64(v), 1+v%4, file)
		label := fmt.Sprintf("variant %d %s", v, describe(ms))
		code, out, stderr := runBytes(t, data)
		if code == exitError {
			if !file || !headerMutated(ms) || !headerError(stderr) {
				t.Errorf("%s: exit 2: %s", label, stderr)
			}
			continue
		}
		if code != exitOK && code != exitStall {
			t.Errorf("%s: exit %d: %s", label, code, stderr)
			continue
		}
		var r jsonReport
		if err := json.Unmarshal(out, &r); err != nil {
			t.Errorf("%s: %v", label, err)
			continue
		}
		if !framingMutated(ms) && int(r.Captures[0].Packets) != len(c.Records) {
			t.Errorf("%s: read %d packets, the file has %d records", label, r.Captures[0].Packets, len(c.Records))
		}
	}
}

// runBytes runs the command on data as standard input, with the JSON
// report, through run() itself.
func runBytes(t *testing.T, data []byte) (int, []byte, string) {
	t.Helper()
	var out, errb bytes.Buffer
	code := run([]string{"--progress", "never", "--port", fuzzPorts, "--format", "json", "-"}, bytes.NewReader(data), &out, &errb)
	return code, out.Bytes(), errb.String()
}

func describe(ms []mutate.Mutation) string {
	var b strings.Builder
	for _, m := range ms {
		fmt.Fprintf(&b, "[record %d %s %#x->%#x]", m.Record, m.Field.Name, m.Old, m.Value)
	}
	return b.String()
}

func headerMutated(ms []mutate.Mutation) bool {
	for _, m := range ms {
		if m.Field.File {
			return true
		}
	}
	return false
}

// framingMutated reports whether a mutation changed how the file is cut
// into records (a record or block length, or a pcapng block the packets
// depend on): then fewer records may be read, or more.
func framingMutated(ms []mutate.Mutation) bool {
	for _, m := range ms {
		n := m.Field.Name
		if m.Field.File || n == "pcap.caplen" || (strings.HasPrefix(n, "pcapng.") && n != "pcapng.epb.origlen") {
			return true
		}
	}
	return false
}

// addBoundarySeeds seeds FuzzCapture with boundary variants (see
// internal/mutate) of the first packets of every capture in
// testdata/pcaps: a handful of header fields per file set to the values
// where sequence-space and length arithmetic break, which random
// mutation of the other seeds rarely reaches.
func addBoundarySeeds(f *testing.F) {
	var paths []string
	for _, pat := range []string{"*.pcap", "*.pcapng", "*.gz"} {
		m, _ := filepath.Glob(filepath.Join(pcapDir, pat))
		paths = append(paths, m...)
	}
	for i, path := range paths {
		if strings.Contains(path, ".tsv") || strings.Contains(path, ".txt") {
			continue
		}
		b, err := os.ReadFile(path)
		if err != nil {
			f.Fatal(err)
		}
		c, err := mutate.Parse(b)
		if err != nil {
			f.Fatal(err)
		}
		head := c.Head(24)
		for v := uint64(0); v < 3; v++ {
			data, _ := head.Variant(uint64(i)<<8|v, 2+int(v), v == 2)
			f.Add(data)
		}
	}
}
