package capture

import (
	"bytes"
	"encoding/binary"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"

	"github.com/gopacket/gopacket/layers"

	"github.com/nfsstall/nfsstall/internal/capfile"
)

func readAll(t *testing.T, name string, file []byte) (*File, []Packet) {
	t.Helper()
	f, err := Open("-", bytes.NewReader(file))
	if err != nil {
		t.Fatalf("%s: %v", name, err)
	}
	var out []Packet
	for {
		var p Packet
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

// TestModifiedPcapMagic: the modified pcap format (magic 0xa1b2cd34,
// 8 more bytes per record header, or 12 in the ss990915 variant, told
// apart by their first records as Wireshark does) is read in both byte
// orders, as Wireshark reads it.
func TestModifiedPcapMagic(t *testing.T) {
	full := build(t, pkt{toServer: true, seq: 1, flags: ack, data: "0123456789"})
	cut := full[:len(full)-4]
	pkts, wire := [][]byte{full, cut, full, full}, []int{len(full), len(full), len(full), len(full)}
	for _, tt := range []struct {
		order binary.ByteOrder
		extra int
	}{{binary.BigEndian, 8}, {binary.LittleEndian, 8}, {binary.BigEndian, 12}, {binary.LittleEndian, 12}} {
		order := tt.order
		file := capfile.PcapRecords(0xa1b2cd34, order, tt.extra, pkts, wire)
		name := fmt.Sprintf("modified %v +%d", order, tt.extra)
		f, got := readAll(t, name, file)
		if len(got) != len(pkts) || f.Info.Truncated || f.Info.Format != "pcap" {
			t.Fatalf("%s: read %d of %d packets, truncated %v, format %q", name, len(got), len(pkts), f.Info.Truncated, f.Info.Format)
		}
		for i, p := range got {
			if !bytes.Equal(p.Data, pkts[i]) || p.Length != wire[i] || p.Time != int64(1000+i)*1e9+7000 || p.LinkType != layers.LinkTypeEthernet {
				t.Errorf("%s: packet %d: %d bytes, length %d, time %d, link %v", name, i+1, len(p.Data), p.Length, p.Time, p.LinkType)
			}
		}
		// Cut inside the last record's extra fields: truncated there (the
		// first three records, whole, still tell the variant).
		f, got = readAll(t, name+" cut", file[:len(file)-len(full)-3])
		if len(got) != 3 || !f.Info.Truncated || f.Info.TruncatedAt != int64(len(file)-len(full)-16-tt.extra) {
			t.Errorf("%s cut: %d packets, truncated %v at %d", name, len(got), f.Info.Truncated, f.Info.TruncatedAt)
		}
	}
}

// TestWildTimestamps: a frame more than an hour away from both its
// neighbours, which agree, is given the previous frame's time; a first or
// last frame more than an hour from its neighbour, that neighbour's time.
// Frames that agree with a neighbour are a real jump and kept.
func TestWildTimestamps(t *testing.T) {
	const T, s, far = int64(1_700_000_000e9), int64(1e9), int64(1_700_000_000e9 + 351_880_326e9)
	frame := build(t, pkt{toServer: true, seq: 1, flags: ack, data: "x"})
	for _, tt := range []struct {
		name  string
		times []int64
		want  []int64
		wild  []int64 // frames
	}{
		{"middle", []int64{T, T + s, far, T + 2*s, T + 3*s}, []int64{T, T + s, T + s, T + 2*s, T + 3*s}, []int64{3}},
		{"middle, in the past", []int64{T, T + s, 0, T + 2*s}, []int64{T, T + s, T + s, T + 2*s}, []int64{3}},
		{"first", []int64{far, T, T + s}, []int64{T, T, T + s}, []int64{1}},
		{"last", []int64{T, T + s, far}, []int64{T, T + s, T + s}, []int64{3}},
		{"two apart", []int64{T, far, T + s, far, T + 2*s}, []int64{T, T, T + s, T + s, T + 2*s}, []int64{2, 4}},
		{"one hour exactly", []int64{T, T + 3600*s, T + s}, []int64{T, T + 3600*s, T + s}, nil},
		{"real jump", []int64{T, T + s, T + 7200*s, T + 7201*s}, []int64{T, T + s, T + 7200*s, T + 7201*s}, nil},
		{"a clock step", []int64{T, T + s, far, far + s, far + 2*s}, []int64{T, T + s, far, far + s, far + 2*s}, nil},
		{"first, then a clock step", []int64{T, far, far + s}, []int64{far, far, far + s}, []int64{1}},
		{"two frames", []int64{T, far}, []int64{T, T}, []int64{2}},
		{"one frame", []int64{far}, []int64{far}, nil},
	} {
		f, got := readAll(t, tt.name, capfile.PcapAt(frame, tt.times))
		var times, wild []int64
		for _, p := range got {
			times = append(times, p.Time)
		}
		for _, w := range f.Info.WildTimes {
			wild = append(wild, w.Frame)
			if w.Claimed != tt.times[w.Frame-1] {
				t.Errorf("%s: frame %d claimed %d, file says %d", tt.name, w.Frame, w.Claimed, tt.times[w.Frame-1])
			}
		}
		if fmt.Sprint(times) != fmt.Sprint(tt.want) || fmt.Sprint(wild) != fmt.Sprint(tt.wild) || f.Info.WildCount != int64(len(tt.wild)) {
			t.Errorf("%s: times %v, want %v; wild frames %v, want %v", tt.name, times, tt.want, wild, tt.wild)
		}
		if f.Info.First != tt.want[0] || f.Info.Last != slices.Max(tt.want) {
			t.Errorf("%s: first %d last %d", tt.name, f.Info.First, f.Info.Last)
		}
		for i, p := range got {
			if p.Frame != int64(i+1) || !bytes.Equal(p.Data, frame) {
				t.Errorf("%s: packet %d is frame %d, %d bytes", tt.name, i+1, p.Frame, len(p.Data))
			}
		}
	}
}

// TestWildStatisticsEnd: a pcapng interface statistics end time more than
// an hour after the last frame does not become the capture's end.
func TestWildStatisticsEnd(t *testing.T) {
	eth := build(t, pkt{toServer: true, seq: 1, flags: ack, data: "x"})
	for _, tt := range []struct {
		end, want int64
	}{{5e6, 5e9}, {4000e6, 0}} {
		var w capfile.NgWriter
		w.Section(binary.LittleEndian)
		w.Iface(uint16(layers.LinkTypeEthernet))
		w.Packet(0, 1e6, eth)
		w.Stats(0, capfile.Opt{Code: optISBEnd, V: append(w.U64(uint64(tt.end))[4:], w.U64(uint64(tt.end))[:4]...)}) // high word first
		f, got := readAll(t, "isb end", w.B.Bytes())
		if len(got) != 1 || f.Info.End != tt.want || (tt.want == 0) != (f.Info.WildCount == 1) {
			t.Errorf("end %d µs: End %d, wild %+v", tt.end, f.Info.End, f.Info.WildTimes)
		}
	}
}

// TestSameFileTwice: a file given twice, by the same path or another name
// for it, is an error naming it.
func TestSameFileTwice(t *testing.T) {
	dir := t.TempDir()
	a := filepath.Join(dir, "a.pcap")
	frame := build(t, pkt{toServer: true, seq: 1, flags: ack, data: "x"})
	if err := os.WriteFile(a, capfile.PcapAt(frame, []int64{1e9}), 0o644); err != nil {
		t.Fatal(err)
	}
	link := filepath.Join(dir, "link.pcap")
	if err := os.Symlink(a, link); err != nil {
		t.Fatal(err)
	}
	b := filepath.Join(dir, "b.pcap")
	if err := os.WriteFile(b, capfile.PcapAt(frame, []int64{1e9}), 0o644); err != nil {
		t.Fatal(err)
	}
	for _, paths := range [][]string{{a, a}, {a, b, link}, {link, dir + "/./a.pcap"}} {
		in, err := OpenInputs(paths, nil)
		if err == nil {
			in.Close()
			t.Errorf("%v: no error", paths)
			continue
		}
		if last := paths[len(paths)-1]; !strings.HasPrefix(err.Error(), last+": ") {
			t.Errorf("%v: %v", paths, err)
		}
	}
	in, err := OpenInputs([]string{a, b}, nil) // the same bytes, not the same file
	if err != nil {
		t.Fatal(err)
	}
	in.Close()
}

// TestDuplicatesAcrossFiles: a merged file given with its parts counts
// each packet once; a file's own repeats are kept; packets of two files
// at the same time but with other bytes are all kept.
func TestDuplicatesAcrossFiles(t *testing.T) {
	dir := t.TempDir()
	var frames [][]byte
	for i := range 6 {
		frames = append(frames, build(t, pkt{toServer: true, seq: uint32(1 + i), flags: ack, data: "x"}))
	}
	write := func(name string, idx []int, times []int64) string {
		var b []byte
		for k, i := range idx {
			one := capfile.PcapAt(frames[i], times[k:k+1])
			if b == nil {
				b = one
			} else {
				b = append(b, one[24:]...)
			}
		}
		path := filepath.Join(dir, name)
		if err := os.WriteFile(path, b, 0o644); err != nil {
			t.Fatal(err)
		}
		return path
	}
	const T = int64(1_700_000_000e9)
	// The merged capture: frame 2 is there twice at the same time (a
	// capture's own duplicate), frames 4 and 5 share a timestamp.
	merged := write("merged", []int{0, 1, 1, 2, 3, 4, 5}, []int64{T, T + 1, T + 1, T + 2, T + 3, T + 3, T + 4})
	partA := write("a", []int{0, 1, 1, 3}, []int64{T, T + 1, T + 1, T + 3})
	partB := write("b", []int{2, 4, 5}, []int64{T + 2, T + 3, T + 4})
	other := write("other", []int{5, 4}, []int64{T + 3, T + 4}) // other bytes at those times

	for _, tt := range []struct {
		name  string
		paths []string
		want  int   // packets handed out
		dups  []int // per file
	}{
		{"merged with its parts", []string{merged, partA, partB}, 7, []int{0, 4, 3}},
		{"parts before the merged file", []string{partB, partA, merged}, 7, []int{0, 0, 7}},
		{"parts", []string{partA, partB}, 7, []int{0, 0}},
		{"other bytes at the same times", []string{partB, other}, 5, []int{0, 0}},
	} {
		in, err := OpenInputs(tt.paths, nil)
		if err != nil {
			t.Fatal(err)
		}
		var p Packet
		n := 0
		for in.Next(&p) == nil {
			n++
		}
		var dups []int
		for _, c := range in.Captures() {
			dups = append(dups, int(c.Duplicates))
		}
		in.Close()
		if n != tt.want || fmt.Sprint(dups) != fmt.Sprint(tt.dups) {
			t.Errorf("%s: %d packets, duplicates %v; want %d, %v", tt.name, n, dups, tt.want, tt.dups)
		}
	}
}
