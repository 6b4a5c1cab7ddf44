package decode

import (
	"encoding/hex"
	"fmt"
	"testing"
)

// TestFHHash checks FHHash against the nfs.fh.hash values that Wireshark
// (tshark 4.0.17) shows for real handles in public captures, of the sizes
// servers use: 8 (NFSv4 root), 20, 28, 32 and 36 bytes. The capture each
// pair comes from is named in the test case.
func TestFHHash(t *testing.T) {
	tests := []struct {
		name string
		fh   string // hex, as tshark's nfs.fhandle shows it
		want uint32
	}{
		{"zeek nfs_base 20 bytes", "01000600ea2cbb4a9ef74995a5365628ceda60a2", 0x56d448b4},
		{"zeek nfs_base 32 bytes", "01000681ea2cbb4a9ef74995a5365628ceda60a2f7dfa340000000001a356e66", 0xcb8554ec},
		{"zeek nfs_base 32 bytes other file", "01000681ea2cbb4a9ef74995a5365628ceda60a2f9dfa3400000000013356e66", 0x5fbcc878},
		{"nfstrace udp nfsv3 32 bytes", "00101085000003e7000a00000000a3e700000010000a00000000b25a00000029", 0xe87927b5},
		{"nfstrace udp nfsv3 32 bytes other file", "00101085000003e7000a00000000a3ec0000000e000a00000000b25a00000029", 0x131299c5},
		{"sample-captures getsetacl 20 bytes", "010006003643452cf67348ea92152c6c30641399", 0x3c3cd733},
		{"sample-captures getsetacl 28 bytes", "010006013643452cf67348ea92152c6c3064139901c05b00d5e7641a", 0x95cc0b15},
		{"nfstrace nfsv41 8 bytes", "0100010000000000", 0x62d40c52},
		{"nfstrace nfsv41 28 bytes", "0100070093000006000000000000fd00000000000000000000000000", 0x1b11fb97},
		{"zeek nfs_write 28 bytes", "01000700020012000000000087dd7e9f58014b49b856e1c32bdf79a4", 0x8fee73d3},
		{"zeek nfs_write 36 bytes", "01000701020012000000000087dd7e9f58014b49b856e1c32bdf79a403001200021f10a7", 0x66a805cd},
		// The CRC-32/IEEE catalogue check value and the empty input, so a
		// change of CRC variant shows even without capture knowledge.
		{"CRC-32 check value", hex.EncodeToString([]byte("123456789")), 0xcbf43926},
		{"empty", "", 0},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			fh, err := hex.DecodeString(tt.fh)
			if err != nil {
				t.Fatal(err)
			}
			if got := FHHash(fh); got != tt.want {
				t.Errorf("FHHash = %#08x, want %#08x", got, tt.want)
			}
		})
	}
}

func ExampleFHHash() {
	fh, _ := hex.DecodeString("01000600ea2cbb4a9ef74995a5365628ceda60a2")
	fmt.Printf("FH: 0x%08x\n", FHHash(fh))
	// Output: FH: 0x56d448b4
}

func TestFHHashZeroAllocs(t *testing.T) {
	if n := testing.AllocsPerRun(100, func() { _ = FHHash(readFH) }); n != 0 {
		t.Errorf("%v allocations per run, want 0", n)
	}
}

func BenchmarkFHHash(b *testing.B) {
	b.ReportAllocs()
	for b.Loop() {
		_ = FHHash(readFH)
	}
}
