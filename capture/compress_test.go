package capture

import (
	"bytes"
	"crypto/sha256"
	"os"
	"strings"
	"testing"
)

// digestFile returns a digest of every packet a file gives (frame number,
// time, length, bytes) and its Info.
func digestFile(t *testing.T, path string, stdin []byte) ([32]byte, CaptureInfo) {
	t.Helper()
	f, err := Open(path, bytes.NewReader(stdin))
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	h := sha256.New()
	var p Packet
	for f.Next(&p) == nil {
		h.Write([]byte{byte(p.Frame), byte(p.Time), byte(p.Length)})
		h.Write(p.Data)
	}
	var sum [32]byte
	copy(sum[:], h.Sum(nil))
	return sum, f.Info
}

// TestCompressedFormats: xz, bzip2 and zstd files (made by the real tools,
// testdata/make-compressed.sh) read as the gzip file they were made from,
// packet for packet, told by content (read from stdin, with no name).
func TestCompressedFormats(t *testing.T) {
	want, wantInfo := digestFile(t, "../testdata/pcaps/mixed.pcapng.gz", nil)
	if wantInfo.Packets < 100 || wantInfo.Compression != "gzip" {
		t.Fatalf("the gzip file: %d packets, compression %q", wantInfo.Packets, wantInfo.Compression)
	}
	for _, kind := range []string{"xz", "bz2", "zst"} {
		b, err := os.ReadFile("testdata/mixed.pcapng." + kind)
		if err != nil {
			t.Fatal(err)
		}
		name := map[string]string{"xz": "xz", "bz2": "bzip2", "zst": "zstd"}[kind]
		got, info := digestFile(t, "-", b)
		if got != want || info.Packets != wantInfo.Packets || !info.Compressed || info.Compression != name || info.Truncated {
			t.Errorf("%s: %d packets (want %d), compression %q, truncated %v (%v), same packets %v",
				kind, info.Packets, wantInfo.Packets, info.Compression, info.Truncated, info.ReadErr, got == want)
		}
		// Cut in the middle (a download that stopped): the packets before
		// the cut, and the file reported truncated, not an error.
		cut, err := Open("-", bytes.NewReader(b[:len(b)/2]))
		if kind != "zst" && err != nil && strings.Contains(err.Error(), "unexpected EOF") {
			// xz decodes by LZMA2 chunk (up to 2 MiB of capture), bzip2 by
			// block (900 KB): a file this small is one, and cut it gives
			// no byte, which the error says.
			continue
		}
		if err != nil {
			t.Fatalf("%s cut: %v", kind, err)
		}
		var p Packet
		for cut.Next(&p) == nil {
		}
		if !cut.Info.Truncated || cut.Info.Packets == 0 || cut.Info.Packets >= wantInfo.Packets {
			t.Errorf("%s cut in half: truncated %v (%v), %d packets of %d", kind, cut.Info.Truncated, cut.Info.ReadErr, cut.Info.Packets, wantInfo.Packets)
		}
		cut.Close()
	}
}

func TestCompressionMagic(t *testing.T) {
	for _, tt := range []struct {
		head, want string
	}{
		{"\x1f\x8b\x08\x00\x00\x00", "gzip"},
		{"\xfd7zXZ\x00", "xz"},
		{"\xfd7zXZ\x01", ""},
		{"BZh91A", "bzip2"},
		{"BZh0", ""},
		{"BZ", ""},
		{"\x28\xb5\x2f\xfd\x04\x00", "zstd"},
		{"\xd4\xc3\xb2\xa1\x02\x00", ""}, // a pcap
		{"", ""},
	} {
		if got := compression([]byte(tt.head)); got != tt.want {
			t.Errorf("compression(%q) = %q, want %q", tt.head, got, tt.want)
		}
	}
}
