package capture

import (
	"bytes"
	"encoding/binary"
	"slices"
	"strings"
	"testing"

	"github.com/gopacket/gopacket/layers"
)

// ngWriter hand-builds pcapng blocks in a chosen byte order per section.
type ngWriter struct {
	b     bytes.Buffer
	order binary.ByteOrder
}

// opt is one option: code and value (padded when written).
type opt struct {
	code uint16
	v    []byte
}

func (w *ngWriter) block(typ uint32, body []byte, opts ...opt) {
	for _, o := range opts {
		h := make([]byte, 4)
		w.order.PutUint16(h, o.code)
		w.order.PutUint16(h[2:], uint16(len(o.v)))
		body = append(append(body, h...), o.v...)
		for len(body)%4 != 0 {
			body = append(body, 0)
		}
	}
	if len(opts) > 0 {
		body = append(body, 0, 0, 0, 0) // opt_endofopt
	}
	for len(body)%4 != 0 {
		body = append(body, 0)
	}
	n := uint32(12 + len(body))
	h := make([]byte, 8)
	w.order.PutUint32(h, typ)
	w.order.PutUint32(h[4:], n)
	w.b.Write(h)
	w.b.Write(body)
	t := make([]byte, 4)
	w.order.PutUint32(t, n)
	w.b.Write(t)
}

func (w *ngWriter) section(order binary.ByteOrder) {
	w.order = order
	body := make([]byte, 16)
	order.PutUint32(body, 0x1a2b3c4d)
	order.PutUint16(body[4:], 1)
	order.PutUint64(body[8:], 1<<64-1) // section length unknown
	w.block(ngSHB, body)
}

func (w *ngWriter) iface(link layers.LinkType, opts ...opt) {
	body := make([]byte, 8)
	w.order.PutUint16(body, uint16(link))
	w.order.PutUint32(body[4:], 262144)
	w.block(ngIDB, body, opts...)
}

func (w *ngWriter) packet(id uint32, ts uint64, data []byte) {
	body := make([]byte, 20)
	w.order.PutUint32(body, id)
	w.order.PutUint32(body[4:], uint32(ts>>32))
	w.order.PutUint32(body[8:], uint32(ts))
	w.order.PutUint32(body[12:], uint32(len(data)))
	w.order.PutUint32(body[16:], uint32(len(data)))
	w.block(ngEPB, append(body, data...))
}

func (w *ngWriter) stats(id uint32, opts ...opt) {
	body := make([]byte, 12)
	w.order.PutUint32(body, id)
	w.block(ngISB, body, opts...)
}

func (w *ngWriter) u64(v uint64) []byte {
	b := make([]byte, 8)
	w.order.PutUint64(b, v)
	return b
}

// TestPcapngTimestampOptions: if_tsresol (a power of 10, or of 2 with the
// high bit set; 0 is seconds) and if_tsoffset (seconds added) are
// honoured per interface.
func TestPcapngTimestampOptions(t *testing.T) {
	eth := build(t, pkt{toServer: true, seq: 1, flags: ack, data: "x"})
	for _, order := range []binary.ByteOrder{binary.LittleEndian, binary.BigEndian} {
		var w ngWriter
		w.section(order)
		w.iface(layers.LinkTypeEthernet)                                                           // µs by default
		w.iface(layers.LinkTypeEthernet, opt{optTSResol, []byte{0}})                               // seconds
		w.iface(layers.LinkTypeEthernet, opt{optTSResol, []byte{9}})                               // ns
		w.iface(layers.LinkTypeEthernet, opt{optTSResol, []byte{0x80 | 10}})                       // 2^-10 s
		w.iface(layers.LinkTypeEthernet, opt{optTSResol, []byte{0}}, opt{optTSOffset, w.u64(1e9)}) // seconds, +1e9 s
		w.iface(layers.LinkTypeEthernet, opt{optTSOffset, w.u64(uint64(1<<64 - 100))})             // µs, -100 s
		w.iface(layers.LinkTypeEthernet, opt{optTSResol, []byte{19}})                              // 10^-19 s
		w.packet(0, 1_500_000, eth)
		w.packet(1, 7, eth)
		w.packet(2, 1_000_000_001, eth)
		w.packet(3, 3*1024+512, eth)
		w.packet(4, 12, eth)
		w.packet(5, 1000_000_250, eth)
		w.packet(6, 1<<64-1, eth)
		want := []int64{1_500_000_000, 7e9, 1_000_000_001, 3_500_000_000, (1e9 + 12) * 1e9, 900_000_250_000, 1_844_674_407}
		// Read the records as the file has them: these times are decades
		// apart, which File.Next would take as wild.
		f, err := Open("-", bytes.NewReader(w.b.Bytes()))
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
	var w ngWriter
	w.section(binary.LittleEndian)
	w.iface(layers.LinkTypeEthernet, opt{optTSResol, []byte{20}})
	w.packet(0, 1, eth)
	f, got := readAll(t, "10^-20", w.b.Bytes())
	if len(got) != 0 || f.Info.ReadErr == nil || !strings.Contains(f.Info.ReadErr.Error(), "if_tsresol 10^-20") {
		t.Errorf("10^-20: %d packets, %v", len(got), f.Info.ReadErr)
	}
}

// TestPcapngDropCounters: the interface statistics blocks' isb_ifdrop and
// isb_osdrop are kept per capture: the latest block of each interface,
// summed over interfaces and sections; absent when no block has them.
func TestPcapngDropCounters(t *testing.T) {
	eth := build(t, pkt{toServer: true, seq: 1, flags: ack, data: "x"})
	var w ngWriter
	w.section(binary.LittleEndian)
	w.iface(layers.LinkTypeEthernet)
	w.iface(layers.LinkTypeEthernet)
	w.packet(0, 1e6, eth)
	f, _ := readAll(t, "none", w.b.Bytes())
	if f.Info.HasIfDrop || f.Info.HasOsDrop {
		t.Errorf("no statistics block: %+v", f.Info)
	}
	w.stats(0, opt{optISBIfDrop, w.u64(3)}, opt{optISBOsDrop, w.u64(4)})
	w.stats(0, opt{optISBIfDrop, w.u64(5)}, opt{optISBOsDrop, w.u64(6)}) // cumulative: replaces the first
	w.stats(1, opt{optISBIfDrop, w.u64(1)})
	w.section(binary.BigEndian)
	w.iface(layers.LinkTypeEthernet)
	w.packet(0, 2e6, eth)
	w.stats(0, opt{optISBOsDrop, w.u64(10)}, opt{optISBEnd, w.u64(3e6)}) // high word 0: 3e6 µs
	f, got := readAll(t, "drops", w.b.Bytes())
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
	var w ngWriter
	w.section(binary.BigEndian)
	w.iface(layers.LinkTypeEthernet)
	hdrEnd := w.b.Len()
	var ends []int
	for i := range 3 {
		w.packet(0, uint64(i)*1e6, eth)
		ends = append(ends, w.b.Len())
	}
	file := w.b.Bytes()
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
	var w ngWriter
	w.section(binary.LittleEndian)
	w.iface(layers.LinkTypeEthernet)
	for i := range 500 {
		w.packet(0, uint64(i), eth)
	}
	f, err := Open("-", bytes.NewReader(w.b.Bytes()))
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
