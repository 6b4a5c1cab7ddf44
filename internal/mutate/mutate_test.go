package mutate

import (
	"bytes"
	"os"
	"path/filepath"
	"testing"
)

func TestFieldSetGet(t *testing.T) {
	b := []byte{0xff, 0xff, 0xff, 0xff}
	tests := []struct {
		f    Field
		v    uint64
		want []byte
	}{
		{Field{Off: 0, Size: 4, Bits: 32}, 1 << 31, []byte{0x80, 0, 0, 0}},
		{Field{Off: 0, Size: 4, Bits: 32, Little: true}, 1, []byte{1, 0, 0, 0}},
		{Field{Off: 0, Size: 1, Shift: 4, Bits: 4}, 5, []byte{0x5f, 0xff, 0xff, 0xff}},
		{Field{Off: 2, Size: 2, Bits: 13}, 0, []byte{0xff, 0xff, 0xe0, 0}},
		{Field{Off: 2, Size: 2, Shift: 13, Bits: 1}, 0, []byte{0xff, 0xff, 0xdf, 0xff}},
		{Field{Off: 0, Size: 4, Bits: 31}, 1<<32 - 1, []byte{0xff, 0xff, 0xff, 0xff}}, // truncated to 31 bits, bit 31 kept
	}
	for _, tt := range tests {
		c := bytes.Clone(b)
		tt.f.Set(c, tt.v)
		if !bytes.Equal(c, tt.want) {
			t.Errorf("%+v set %d: % x, want % x", tt.f, tt.v, c, tt.want)
		}
		if got := tt.f.Get(c); got != tt.v&tt.f.mask() {
			t.Errorf("%+v: get %d after set %d", tt.f, got, tt.v)
		}
	}
}

func TestValues(t *testing.T) {
	f := Field{Size: 4, Bits: 32, Avail: -1}
	got := f.Values(1000)
	want := []uint64{0, 1, 1<<31 - 1, 1 << 31, 1<<31 + 1, 1<<32 - 1, 1001, 999, 1000 + 1<<31}
	if len(got) != len(want) {
		t.Fatalf("values %v, want %v", got, want)
	}
	for i := range want {
		if got[i] != want[i] {
			t.Errorf("value %d: %d, want %d", i, got[i], want[i])
		}
	}
}

// TestParseCaptures: every test capture parses to its records, with the
// fields the corruption test needs to reach.
func TestParseCaptures(t *testing.T) {
	var paths []string
	for _, pat := range []string{"*.pcap", "*.pcap.gz", "*.pcapng.gz"} {
		m, _ := filepath.Glob(filepath.Join("../../testdata/pcaps", pat))
		paths = append(paths, m...)
	}
	seen := map[string]bool{}
	for _, p := range paths {
		b, err := os.ReadFile(p)
		if err != nil {
			t.Fatal(err)
		}
		c, err := Parse(b)
		if err != nil {
			t.Fatalf("%s: %v", p, err)
		}
		if len(c.Records) == 0 {
			t.Errorf("%s: no records", p)
		}
		for _, r := range c.Records {
			for _, f := range r.Fields {
				seen[f.Name] = true
			}
		}
		for _, f := range c.Header {
			seen[f.Name] = true
		}
		v1, m1 := c.Variant(7, 5, false)
		v2, m2 := c.Variant(7, 5, false)
		if !bytes.Equal(v1, v2) || len(m1) != len(m2) {
			t.Errorf("%s: variant not deterministic", p)
		}
		for _, m := range m1 {
			if m.Field.File {
				t.Errorf("%s: file header field %s mutated", p, m.Field.Name)
			}
			if got := m.Field.Get(v1); got != m.Value && !overlaps(m, m1) {
				t.Errorf("%s: %s is %d, set %d", p, m.Field.Name, got, m.Value)
			}
		}
	}
	for _, name := range []string{"pcap.caplen", "pcap.len", "pcapng.epb.length", "pcapng.idb.option_length", "ip.len", "ip.hdr_len",
		"ip.frag_offset", "ip.flags.mf", "ipv6.plen", "tcp.seq", "tcp.ack", "tcp.window", "tcp.hdr_len", "tcp.flags", "tcp.options.mss",
		"tcp.options.wscale", "tcp.options.sack_le", "udp.length", "rpc.fragment_header", "rpc.cred.length", "rpc.verf.length",
		"rpc.reply.verf.length"} {
		if !seen[name] {
			t.Errorf("no capture has a %s field", name)
		}
	}
}

// overlaps reports whether another mutation wrote over m's field.
func overlaps(m Mutation, ms []Mutation) bool {
	n := 0
	for _, o := range ms {
		if o.Field.Off < m.Field.Off+m.Field.Size && m.Field.Off < o.Field.Off+o.Field.Size {
			n++
		}
	}
	return n > 1
}

func TestRPCVariants(t *testing.T) {
	b, err := os.ReadFile("../../testdata/pcaps/mixed.pcap.gz")
	if err != nil {
		t.Fatal(err)
	}
	c, err := Parse(b)
	if err != nil {
		t.Fatal(err)
	}
	vs := c.RPCVariants(1, 8)
	if len(vs) != 8 {
		t.Fatalf("%d RPC variants, want 8", len(vs))
	}
	h := c.Head(30)
	if len(h.Records) != 30 {
		t.Errorf("head has %d records", len(h.Records))
	}
}
