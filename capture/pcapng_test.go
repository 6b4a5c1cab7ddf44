package capture

import (
	"bytes"
	"encoding/binary"
	"github.com/nfsstall/nfsstall/internal/capfile"
	"slices"
	"strings"
	"testing"

	"github.com/gopacket/gopacket/layers"
)

// TestPcapngTimestampOptions: if_tsresol (a power of 10, or of 2 with the
// high bit set; 0 is seconds) and if_tsoffset (seconds added) are
// honoured per interface.
func TestPcapngTimestampOptions(t *testing.T) {
	eth := build(t, pkt{toServer: true, seq: 1, flags: ack, data: "x"})
	for _, order := range []binary.ByteOrder{binary.LittleEndian, binary.BigEndian} {
		var w capfile.NgWriter
		w.Section(order)
		w.Iface(uint16(layers.LinkTypeEthernet))                                                                                             // µs by default
		w.Iface(uint16(layers.LinkTypeEthernet), capfile.Opt{Code: optTSResol, V: []byte{0}})                                                // seconds
		w.Iface(uint16(layers.LinkTypeEthernet), capfile.Opt{Code: optTSResol, V: []byte{9}})                                                // ns
		w.Iface(uint16(layers.LinkTypeEthernet), capfile.Opt{Code: optTSResol, V: []byte{0x80 | 10}})                                        // 2^-10 s
		w.Iface(uint16(layers.LinkTypeEthernet), capfile.Opt{Code: optTSResol, V: []byte{0}}, capfile.Opt{Code: optTSOffset, V: w.U64(1e9)}) // seconds, +1e9 s
		w.Iface(uint16(layers.LinkTypeEthernet), capfile.Opt{Code: optTSOffset, V: w.U64(uint64(1<<64 - 100))})                              // µs, -100 s
		w.Iface(uint16(layers.LinkTypeEthernet), capfile.Opt{Code: optTSResol, V: []byte{19}})                                               // 10^-19 s
		w.Packet(0, 1_500_000, eth)
		w.Packet(1, 7, eth)
		w.Packet(2, 1_000_000_001, eth)
		w.Packet(3, 3*1024+512, eth)
		w.Packet(4, 12, eth)
		w.Packet(5, 1000_000_250, eth)
		w.Packet(6, 1<<64-1, eth)
		want := []int64{1_500_000_000, 7e9, 1_000_000_001, 3_500_000_000, (1e9 + 12) * 1e9, 900_000_250_000, 1_844_674_407}
		// Read the records as the file has them: these times are decades
		// apart, which File.Next would take as wild.
		f, err := Open("-", bytes.NewReader(w.B.Bytes()))
		if err != nil {
			t.Fatal(err)
		}
		for i := range want {
			_, ci, err := f.pr.ZeroCopyReadPacketData()
			if err != nil {
				t.Fatalf("%v: packet %d: %v", order, i+1, err)
			}
			if got := ci.Timestamp.UnixNano(); got != want[i] {
				t.Errorf("%v: interface %d: time %d, want %d", order, i, got, want[i])
			}
		}
	}
	// A resolution finer than 64 bits can count is an error naming it.
	var w capfile.NgWriter
	w.Section(binary.LittleEndian)
	w.Iface(uint16(layers.LinkTypeEthernet), capfile.Opt{Code: optTSResol, V: []byte{20}})
	w.Packet(0, 1, eth)
	f, got := readAll(t, "10^-20", w.B.Bytes())
	if len(got) != 0 || f.Info.ReadErr == nil || !strings.Contains(f.Info.ReadErr.Error(), "if_tsresol 10^-20") {
		t.Errorf("10^-20: %d packets, %v", len(got), f.Info.ReadErr)
	}
}

// TestPcapngDropCounters: the interface statistics blocks' isb_ifdrop and
// isb_osdrop are kept per capture: the latest block of each interface,
// summed over interfaces and sections; absent when no block has them.
func TestPcapngDropCounters(t *testing.T) {
	eth := build(t, pkt{toServer: true, seq: 1, flags: ack, data: "x"})
	var w capfile.NgWriter
	w.Section(binary.LittleEndian)
	w.Iface(uint16(layers.LinkTypeEthernet))
	w.Iface(uint16(layers.LinkTypeEthernet))
	w.Packet(0, 1e6, eth)
	f, _ := readAll(t, "none", w.B.Bytes())
	if f.Info.HasIfDrop || f.Info.HasOsDrop {
		t.Errorf("no statistics block: %+v", f.Info)
	}
	w.Stats(0, capfile.Opt{Code: optISBIfDrop, V: w.U64(3)}, capfile.Opt{Code: optISBOsDrop, V: w.U64(4)})
	w.Stats(0, capfile.Opt{Code: optISBIfDrop, V: w.U64(5)}, capfile.Opt{Code: optISBOsDrop, V: w.U64(6)}) // cumulative: replaces the first
	w.Stats(1, capfile.Opt{Code: optISBIfDrop, V: w.U64(1)})
	w.Section(binary.BigEndian)
	w.Iface(uint16(layers.LinkTypeEthernet))
	w.Packet(0, 2e6, eth)
	w.Stats(0, capfile.Opt{Code: optISBOsDrop, V: w.U64(10)}, capfile.Opt{Code: optISBEnd, V: w.U64(3e6)}) // high word 0: 3e6 µs
	f, got := readAll(t, "drops", w.B.Bytes())
	i := f.Info
	if len(got) != 2 || i.Truncated || !i.HasIfDrop || !i.HasOsDrop || i.IfDrop != 6 || i.OsDrop != 16 || i.Dropped != 6 || i.End != 3e9 {
		t.Errorf("drops: %d packets, if %v %d, os %v %d, dropped %d, end %d, %v", len(got), i.HasIfDrop, i.IfDrop, i.HasOsDrop, i.OsDrop, i.Dropped, i.End, i.ReadErr)
	}
}

// TestPcapngDamaged: a file cut anywhere reads the packets before the cut;
// a block whose trailing length differs, or whose length is not a
// multiple of 4, ends the file there with the block's offset.
func TestPcapngDamaged(t *testing.T) {
	eth := build(t, pkt{toServer: true, seq: 1, flags: ack, data: "x"})
	var w capfile.NgWriter
	w.Section(binary.BigEndian)
	w.Iface(uint16(layers.LinkTypeEthernet))
	hdrEnd := w.B.Len()
	var ends []int
	for i := range 3 {
		w.Packet(0, uint64(i)*1e6, eth)
		ends = append(ends, w.B.Len())
	}
	file := w.B.Bytes()
	for n := hdrEnd; n < len(file); n++ {
		want := 0
		for _, e := range ends {
			if e <= n {
				want++
			}
		}
		f, err := Open("-", bytes.NewReader(file[:n]))
		if err != nil {
			t.Fatalf("cut at %d: %v", n, err)
		}
		var p Packet
		got := 0
		for f.Next(&p) == nil {
			got++
		}
		atBoundary := n == hdrEnd || slices.Contains(ends, n)
		if got != want || f.Info.Truncated == atBoundary {
			t.Errorf("cut at %d: %d packets, want %d; truncated %v", n, got, want, f.Info.Truncated)
		}
	}
	for _, tt := range []struct {
		name string
		at   int // offset of the length field to rewrite
		v    uint32
		msg  string
	}{
		{"trailer", ends[1] - 4, 99, "lengths at its start and end differ"},
		{"odd length", ends[0] + 4, uint32(ends[1]-ends[0]) + 1, "not a multiple of 4"},
		{"too short", ends[0] + 4, 8, "not a multiple of 4"},
	} {
		mod := bytes.Clone(file)
		binary.BigEndian.PutUint32(mod[tt.at:], tt.v)
		f, got := readAll(t, tt.name, mod)
		if len(got) != 1 || !f.Info.Truncated || f.Info.TruncatedAt != int64(ends[0]) || f.Info.ReadErr == nil || !strings.Contains(f.Info.ReadErr.Error(), tt.msg) {
			t.Errorf("%s: %d packets, truncated %v at %d: %v", tt.name, len(got), f.Info.Truncated, f.Info.TruncatedAt, f.Info.ReadErr)
		}
	}
}

// TestPcapngNoAllocs: reading a pcapng packet allocates nothing.
func TestPcapngNoAllocs(t *testing.T) {
	eth := build(t, pkt{toServer: true, seq: 1, flags: ack, data: "hello"})
	var w capfile.NgWriter
	w.Section(binary.LittleEndian)
	w.Iface(uint16(layers.LinkTypeEthernet))
	for i := range 500 {
		w.Packet(0, uint64(i), eth)
	}
	f, err := Open("-", bytes.NewReader(w.B.Bytes()))
	if err != nil {
		t.Fatal(err)
	}
	var p Packet
	f.Next(&p) // the first frame reads ahead, once
	if n := testing.AllocsPerRun(400, func() {
		if err := f.Next(&p); err != nil {
			t.Fatal(err)
		}
	}); n != 0 {
		t.Errorf("%v allocations per packet", n)
	}
}
