package capture

import (
	"bytes"
	"compress/gzip"
	"encoding/binary"
	"fmt"
	"io"
	"math"
	"math/rand/v2"
	"os"
	"path/filepath"
	"runtime"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/gopacket/gopacket/layers"

	"github.com/nfsstall/nfsstall/internal/advcap"

	"github.com/nfsstall/nfsstall/internal/capfile"
	"github.com/nfsstall/nfsstall/internal/gencap"
)

// streamed returns a reader of what write writes, produced as it is read:
// a capture of any size that is never held in memory.
func streamed(write func(w io.Writer) error) io.Reader {
	pr, pw := io.Pipe()
	go func() { pw.CloseWithError(write(pw)) }()
	return pr
}

// allocated returns the bytes f allocated (all of them, freed or not)
// and the heap in use after it, less before it, once garbage is collected.
func allocated(f func()) (total uint64, held int64) {
	var before, after runtime.MemStats
	runtime.GC()
	runtime.ReadMemStats(&before)
	f()
	runtime.ReadMemStats(&after)
	total = after.TotalAlloc - before.TotalAlloc
	runtime.GC()
	runtime.ReadMemStats(&after)
	return total, int64(after.HeapInuse) - int64(before.HeapInuse)
}

// TestRecordsReadInBoundedPieces reads records far longer than any frame,
// which the file's snaplen allows (0xffffffff; pcapng 0, no limit): each
// is cut to MaxRecordData as a snaplen would cut it, keeps its original
// length, is counted, and costs no memory beyond the fixed buffers,
// whether it fits the read buffer or not; the record after it is read as
// it should be.
func TestRecordsReadInBoundedPieces(t *testing.T) {
	const huge = 100 << 20         // far beyond the read buffer
	const past = MaxRecordData + 1 // the least that is cut
	pcap := func(minor uint16, size int64) func(io.Writer) error {
		return func(w io.Writer) error {
			var h bytes.Buffer
			advcap.PcapHeader(&h, 0xffffffff)
			binary.LittleEndian.PutUint16(h.Bytes()[6:], minor)
			w.Write(h.Bytes())
			if err := advcap.PcapRecord(w, 1e15, size); err != nil {
				return err
			}
			return advcap.PcapRecord(w, 1e15+1, 100)
		}
	}
	pcapng := func(size int64) func(io.Writer) error {
		return func(w io.Writer) error {
			n := &advcap.NgWriter{W: w}
			n.Section()
			n.Interface(0)
			n.Packet(0, 1e15, size)
			n.Packet(0, 1e15+1, 100)
			return n.Err
		}
	}
	block := func(size int64) func(io.Writer) error {
		return func(w io.Writer) error {
			n := &advcap.NgWriter{W: w}
			n.Section()
			n.Interface(0)
			n.Packet(0, 1e15, size)
			n.Block(0x40000BAD, huge) // passed over, whatever its length
			n.Packet(0, 1e15+1, 100)
			return n.Err
		}
	}
	gzipped := func(write func(io.Writer) error) func(io.Writer) error {
		return func(w io.Writer) error {
			zw := gzip.NewWriter(w)
			if err := write(zw); err != nil {
				return err
			}
			return zw.Close()
		}
	}
	tests := []struct {
		name  string
		size  int
		write func(io.Writer) error
	}{
		{"pcap huge", huge, pcap(4, huge)},
		{"pcap one byte past MaxRecordData", past, pcap(4, past)},
		{"pcap 2.3 huge", huge, pcap(3, huge)},
		{"pcap huge gzipped", huge, gzipped(pcap(4, huge))},
		{"pcapng huge", huge, pcapng(huge)},
		{"pcapng one byte past MaxRecordData", past, pcapng(past)},
		{"pcapng huge gzipped", huge, gzipped(pcapng(huge))},
		{"pcapng huge, then a huge custom block", huge, block(huge)},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			var f *File
			var got []Packet
			var lens []int
			alloc, held := allocated(func() {
				var err error
				f, err = Open("-", streamed(tt.write))
				if err != nil {
					t.Fatal(err)
				}
				var p Packet
				for f.Next(&p) == nil {
					got = append(got, p)
					lens = append(lens, len(p.Data))
				}
			})
			if f.Info.Truncated || f.Info.ReadErr != nil {
				t.Fatalf("truncated at %d: %v", f.Info.TruncatedAt, f.Info.ReadErr)
			}
			if len(got) != 2 || lens[0] != MaxRecordData || got[0].Length != tt.size || lens[1] != 100 || got[1].Length != 100 {
				t.Fatalf("read %d packets, lengths %v captured, first %d on the wire; want 2, [%d 100], %d", len(got), lens, got[0].Length, MaxRecordData, tt.size)
			}
			if f.Info.CutRecords != 1 {
				t.Errorf("CutRecords = %d, want 1", f.Info.CutRecords)
			}
			// The read buffers (256 KiB each, two for gzip), gzip's
			// window and MaxRecordData bytes for the cut record.
			if alloc > 4<<20 {
				t.Errorf("reading a %d-byte record allocated %d bytes", tt.size, alloc)
			}
			// What the open file keeps once read: its buffers, none the
			// record's size (a buffer grown to a record used to stay).
			if held > 3<<20 {
				t.Errorf("after a %d-byte record, the file holds %d bytes", tt.size, held)
			}
			runtime.KeepAlive(f)
		})
	}
}

// readTimed reads a whole capture and returns the File and the shortest
// of three readings' time.
func readTimed(t *testing.T, file []byte) (*File, time.Duration) {
	t.Helper()
	var f *File
	best := time.Duration(math.MaxInt64)
	for range 3 {
		start := time.Now()
		var err error
		f, err = Open("-", bytes.NewReader(file))
		if err != nil {
			t.Fatal(err)
		}
		var p Packet
		for f.Next(&p) == nil {
		}
		best = min(best, time.Since(start))
	}
	return f, best
}

// TestPcapngLinear reads pcapng files whose every block refers to the
// interfaces before it: interface and packet blocks interleaved, a
// statistics block for each of 65,536 interfaces, 65,536 link types. Each
// block costs the same however many interfaces came before (reading 16
// times the blocks takes about 16 times as long, where it took 256 times
// when each block walked the interfaces), the interfaces held are what
// they weigh, and the lists of link types stay short.
func TestPcapngLinear(t *testing.T) {
	const small, large = 1 << 12, 1 << 16
	shapes := []struct {
		name  string
		write func(io.Writer, int) error
		check func(t *testing.T, f *File, n int)
	}{
		{"interleaved", advcap.Interleaved, func(t *testing.T, f *File, n int) {
			if f.Info.Packets != int64(n) {
				t.Errorf("%d packets, want %d", f.Info.Packets, n)
			}
		}},
		{"statistics", advcap.Stats, func(t *testing.T, f *File, n int) {
			if !f.Info.HasIfDrop || f.Info.IfDrop != uint64(n) {
				t.Errorf("ifdrop %d (%v), want %d", f.Info.IfDrop, f.Info.HasIfDrop, n)
			}
		}},
		{"link types", advcap.LinkTypes, func(t *testing.T, f *File, n int) {
			if len(f.Info.LinkTypes) != MaxLinkTypesListed || f.Info.Packets != int64(n) {
				t.Errorf("%d link types listed, %d packets; want %d, %d", len(f.Info.LinkTypes), f.Info.Packets, MaxLinkTypesListed, n)
			}
		}},
	}
	for _, sh := range shapes {
		t.Run(sh.name, func(t *testing.T) {
			var took [2]time.Duration
			for k, n := range []int{small, large} {
				var buf bytes.Buffer
				if err := sh.write(&buf, n); err != nil {
					t.Fatal(err)
				}
				var f *File
				f, took[k] = readTimed(t, buf.Bytes())
				if f.Info.Truncated {
					t.Fatalf("%d: truncated: %v", n, f.Info.ReadErr)
				}
				sh.check(t, f, n)
			}
			// The floor keeps a fast small reading from making noise a
			// ratio: a quadratic reading of the large file takes seconds.
			r := float64(took[1]) / float64(max(took[0], 2*time.Millisecond))
			t.Logf("%d blocks: %v, %d: %v (%.1f times)", small, took[0], large, took[1], r)
			if r > 64 {
				t.Errorf("%d blocks took %v, %d took %v: %.0f times as long", large, took[1], small, took[0], r)
			}
		})
	}
}

// TestPcapngInterfaceCap: the interfaces of a section are capped at
// MaxInterfaces, held in what they weigh (the file's own read buffer
// aside); those beyond the cap are counted, and their packets skipped
// with their frame numbers kept: the rest of the file still reads.
func TestPcapngInterfaceCap(t *testing.T) {
	for _, n := range []int{MaxInterfaces, MaxInterfaces + 1} {
		var buf bytes.Buffer
		if err := advcap.Interfaces(&buf, n); err != nil {
			t.Fatal(err)
		}
		var before, after runtime.MemStats
		runtime.GC()
		runtime.ReadMemStats(&before)
		f, _ := readTimed(t, buf.Bytes())
		runtime.GC()
		runtime.ReadMemStats(&after)
		if held := int64(after.HeapInuse) - int64(before.HeapInuse); held > 8<<20 {
			t.Errorf("%d interfaces: %d bytes held", n, held)
		}
		runtime.KeepAlive(f)
		// The one packet is on interface 0, within the cap either way.
		if f.Info.Truncated || f.Info.Packets != 1 || f.Info.InterfacesOver != int64(n-MaxInterfaces) || f.Info.InterfacesOverPackets != 0 {
			t.Errorf("%d interfaces: truncated %v (%v), %d packets, %d interfaces over, %d of their packets",
				n, f.Info.Truncated, f.Info.ReadErr, f.Info.Packets, f.Info.InterfacesOver, f.Info.InterfacesOverPackets)
		}
	}
	// Each packet on the interface described just before it: the last
	// three interfaces are past the cap.
	const over = 3
	var buf bytes.Buffer
	if err := advcap.Interleaved(&buf, MaxInterfaces+over); err != nil {
		t.Fatal(err)
	}
	f, err := Open("-", bytes.NewReader(buf.Bytes()))
	if err != nil {
		t.Fatal(err)
	}
	var p Packet
	var delivered, lastFrame int64
	for f.Next(&p) == nil {
		delivered++
		lastFrame = p.Frame
	}
	if f.Info.Truncated || f.Info.ReadErr != nil {
		t.Fatalf("truncated %v (%v)", f.Info.Truncated, f.Info.ReadErr)
	}
	if delivered != MaxInterfaces || lastFrame != MaxInterfaces || f.Info.Packets != MaxInterfaces+over ||
		f.Info.InterfacesOver != over || f.Info.InterfacesOverPackets != over {
		t.Errorf("%d packets delivered (last frame %d) of %d frames; %d interfaces over the cap, %d of their packets; want %d of %d, %d and %d",
			delivered, lastFrame, f.Info.Packets, f.Info.InterfacesOver, f.Info.InterfacesOverPackets, MaxInterfaces, MaxInterfaces+over, over, over)
	}
}

// TestManyFilesBounded reads 400 files as one capture: rotated (each
// after the one before it), only the file being read is open, with the
// read buffers of the files that ended reused; overlapping in time (all
// open at once), the files beyond the first few read with small buffers.
// Either way every packet comes once, in time order, and the heap in use
// stays far below a read buffer per file (400 MiB before, 800 MiB
// gzipped).
func TestManyFilesBounded(t *testing.T) {
	const files, packets = 400, 4
	for _, tt := range []struct {
		name        string
		overlap, gz bool
		maxOpen     int
		maxBytes    uint64
	}{
		{"rotated", false, false, 2, 8 << 20},
		{"overlapping", true, false, files, 24 << 20},
		// A gzip reader is some 42 KB (its window and tables) besides.
		{"rotated gzip", false, true, 2, 8 << 20},
		{"overlapping gzip", true, true, files, 40 << 20},
	} {
		t.Run(tt.name, func(t *testing.T) {
			paths, err := advcap.Rotated(t.TempDir(), files, packets, tt.overlap, tt.gz)
			if err != nil {
				t.Fatal(err)
			}
			var ms runtime.MemStats
			runtime.GC()
			runtime.ReadMemStats(&ms)
			base, peak := ms.HeapInuse, ms.HeapInuse
			in, err := OpenInputs(paths, nil)
			if err != nil {
				t.Fatal(err)
			}
			defer in.Close()
			var p Packet
			n, maxOpen, last := 0, 0, int64(0)
			for in.Next(&p) == nil {
				if p.Time < last {
					t.Fatalf("packet %d of file %d at %d, after %d", p.Frame, p.File, p.Time, last)
				}
				last = p.Time
				n++
				maxOpen = max(maxOpen, len(in.open))
				runtime.ReadMemStats(&ms)
				peak = max(peak, ms.HeapInuse)
			}
			if n != files*packets {
				t.Errorf("%d packets, want %d", n, files*packets)
			}
			for _, ci := range in.Captures() {
				if ci.Packets != packets || ci.Truncated {
					t.Fatalf("%s: %d packets, truncated %v (%v)", ci.Path, ci.Packets, ci.Truncated, ci.ReadErr)
				}
			}
			if len(in.pool.free) > maxPooled {
				t.Errorf("%d read buffers kept for reuse, want at most %d", len(in.pool.free), maxPooled)
			}
			if maxOpen > tt.maxOpen {
				t.Errorf("%d files open at once, want at most %d", maxOpen, tt.maxOpen)
			}
			if peak-base > tt.maxBytes {
				t.Errorf("heap in use grew by %d bytes, want at most %d", peak-base, tt.maxBytes)
			}
			t.Logf("%d files open at most, heap in use grew by %.1f MB", maxOpen, float64(peak-base)/1e6)
		})
	}
}

// TestMergeOrder holds the merge of files (a heap of the open files, each
// opened when the merge reaches its first packet) to the plain rule:
// always the earliest head, ties to the earlier file, on files that
// overlap, tie and go backwards in time, some empty.
func TestMergeOrder(t *testing.T) {
	rng := rand.New(rand.NewPCG(1, 2))
	for round := range 20 {
		dir := t.TempDir()
		nfiles := 1 + rng.IntN(9)
		var paths []string
		times := make([][]int64, nfiles)
		for i := range nfiles {
			start := int64(1e18) + rng.Int64N(50)*1e6
			for range rng.IntN(30) {
				times[i] = append(times[i], start+rng.Int64N(100)*1e6)
				if rng.IntN(4) > 0 {
					start += rng.Int64N(10) * 1e6 // mostly forwards, with ties
				}
			}
			var file []byte
			for k, ts := range times[i] {
				// Each frame its own bytes, so none is a copy of another's.
				frame := append(advcap.Frame(), byte(i), byte(k))
				rec := capfile.PcapAt(frame, []int64{ts})
				if k > 0 {
					rec = rec[24:]
				}
				file = append(file, rec...)
			}
			if len(file) == 0 {
				file = capfile.PcapAt(nil, nil)
			}
			p := filepath.Join(dir, fmt.Sprintf("f%d.pcap", i))
			if err := os.WriteFile(p, file, 0o644); err != nil {
				t.Fatal(err)
			}
			paths = append(paths, p)
		}
		var want []string
		next := make([]int, nfiles)
		for {
			best := -1
			for i := range nfiles {
				if next[i] < len(times[i]) && (best < 0 || times[i][next[i]] < times[best][next[best]]) {
					best = i
				}
			}
			if best < 0 {
				break
			}
			next[best]++
			want = append(want, fmt.Sprintf("%d:%d@%d", best, next[best], times[best][next[best]-1]))
		}
		in, err := OpenInputs(paths, nil)
		if err != nil {
			t.Fatal(err)
		}
		var got []string
		var p Packet
		for in.Next(&p) == nil {
			got = append(got, fmt.Sprintf("%d:%d@%d", p.File, p.Frame, p.Time))
		}
		in.Close()
		if !slices.Equal(got, want) {
			t.Fatalf("round %d, %d files:\ngot  %v\nwant %v", round, nfiles, got, want)
		}
	}
}

// FuzzBufferSize reads a capture through the usual read buffer and through
// one of 64 bytes, where every record longer than that takes the path of
// records longer than the buffer (kept bytes copied, the rest passed
// over, the pcapng block trailer read apart): both must read the same
// packets, the same lengths and the same end.
func FuzzBufferSize(f *testing.F) {
	eth := build(f, pkt{toServer: true, seq: 1, flags: ack, data: "hello, this is longer than sixty-four bytes, all of it"})
	var w capfile.NgWriter
	w.Section(binary.LittleEndian)
	w.Iface(uint16(layers.LinkTypeEthernet), capfile.Opt{Code: optTSResol, V: []byte{0}})
	w.Packet(0, 1, eth)
	w.Stats(0, capfile.Opt{Code: optISBIfDrop, V: w.U64(1)}, capfile.Opt{Code: optISBOsDrop, V: w.U64(2)})
	w.Section(binary.BigEndian)
	w.Iface(uint16(layers.LinkTypeRaw), capfile.Opt{Code: optTSOffset, V: w.U64(5)})
	w.Packet(0, 2e6, eth[14:])
	w.Packet(0, 3e6, eth[14:])
	f.Add(w.B.Bytes())
	f.Add(capfile.PcapAt(eth, []int64{1e18, 1e18 + 1e9, 1e18 + 2e9}))
	f.Add(oldPcapFile(3, binary.LittleEndian, false, [][]byte{eth, eth[:20]}, []int{len(eth), 20}))
	read := func(b []byte, size int) string {
		file, err := openSized("-", bytes.NewReader(b), size, nil)
		if err != nil {
			return "open: " + err.Error()
		}
		var out strings.Builder
		var p Packet
		for file.Next(&p) == nil {
			fmt.Fprintf(&out, "%d %d %d %d %x\n", p.Frame, p.Time, p.Length, p.LinkType, p.Data)
		}
		i := file.Info
		fmt.Fprintf(&out, "%d packets, truncated %v at %d, %v, cut %d, drops %d %d, end %d\n",
			i.Packets, i.Truncated, i.TruncatedAt, i.ReadErr, i.CutRecords, i.IfDrop, i.OsDrop, i.End)
		return out.String()
	}
	f.Fuzz(func(t *testing.T, b []byte) {
		if len(b) >= 4 {
			if m := binary.BigEndian.Uint32(b); m == magicModified || m == magicModifiedSwapped {
				return // its variant is guessed from the records the buffer holds
			}
		}
		want, got := read(b, readBufSize), read(b, 64)
		if got != want {
			t.Fatalf("with a 64-byte buffer:\n%s\nwith %d bytes:\n%s", got, readBufSize, want)
		}
	})
}

// TestMaxOpen: files that overlap in time past Input.MaxOpen end the
// merge with an error that says so and how to get past it; rotated files,
// one open at a time, never reach it.
func TestMaxOpen(t *testing.T) {
	for _, overlap := range []bool{false, true} {
		paths, err := advcap.Rotated(t.TempDir(), 20, 4, overlap, true)
		if err != nil {
			t.Fatal(err)
		}
		in, err := OpenInputs(paths, nil)
		if err != nil {
			t.Fatal(err)
		}
		in.MaxOpen = 8
		var p Packet
		n := 0
		for err = in.Next(&p); err == nil; err = in.Next(&p) {
			n++
		}
		in.Close()
		if !overlap && (err != io.EOF || n != 80) {
			t.Errorf("rotated: %d packets, %v", n, err)
		}
		if overlap && (err == io.EOF || !strings.Contains(fmt.Sprint(err), "more than 8 capture files overlap in time") || !strings.Contains(fmt.Sprint(err), "mergecap")) {
			t.Errorf("overlapping: %d packets, %v", n, err)
		}
	}
}

// TestRecordAtTheBounds reads pcap records at the edges of what is kept
// and of what a file may claim: one of exactly MaxRecordData bytes is
// whole (not counted as cut); one of exactly the largest length a record
// may have beyond its snaplen (eagerReadMax) is read, one byte more ends
// the file with an error naming it; an ordinary capture has no cut record.
func TestRecordAtTheBounds(t *testing.T) {
	read := func(t *testing.T, snaplen uint32, sizes ...int64) (*File, []Packet) {
		t.Helper()
		var b bytes.Buffer
		advcap.PcapHeader(&b, snaplen)
		for i, n := range sizes {
			advcap.PcapRecord(&b, 1e15+int64(i), n)
		}
		f, err := Open("-", &b)
		if err != nil {
			t.Fatal(err)
		}
		var got []Packet
		var p Packet
		for f.Next(&p) == nil {
			q := p
			q.Data = nil
			got = append(got, q)
		}
		return f, got
	}
	t.Run("exactly MaxRecordData", func(t *testing.T) {
		f, got := read(t, 0xffffffff, MaxRecordData, 100)
		if len(got) != 2 || got[0].Length != MaxRecordData || f.Info.CutRecords != 0 || f.Info.Truncated {
			t.Fatalf("%d packets, first %d long, %d cut, truncated %v; want 2, %d, 0, false", len(got), got[0].Length, f.Info.CutRecords, f.Info.Truncated, MaxRecordData)
		}
	})
	t.Run("eagerReadMax past a small snaplen", func(t *testing.T) {
		f, got := read(t, 1500, eagerReadMax, 100)
		if len(got) != 2 || f.Info.Truncated || f.Info.ReadErr != nil {
			t.Fatalf("%d packets, truncated %v (%v); want 2, whole", len(got), f.Info.Truncated, f.Info.ReadErr)
		}
		f, got = read(t, 1500, 100, eagerReadMax+1, 100)
		if len(got) != 1 || !f.Info.Truncated || f.Info.ReadErr == nil || f.Info.TruncatedAt != 24+16+100 {
			t.Fatalf("%d packets, truncated %v at %d (%v); want 1, truncated at %d with an error", len(got), f.Info.Truncated, f.Info.TruncatedAt, f.Info.ReadErr, 24+16+100)
		}
	})
	t.Run("ordinary capture", func(t *testing.T) {
		var b bytes.Buffer
		if _, err := gencap.Write(&b, gencap.Config{Seed: 3, Size: 4 << 20, Conns: 4, BigRate: 0.5}); err != nil {
			t.Fatal(err)
		}
		f, err := Open("-", &b)
		if err != nil {
			t.Fatal(err)
		}
		var p Packet
		for f.Next(&p) == nil {
		}
		if f.Info.Packets == 0 || f.Info.CutRecords != 0 || f.Info.Truncated {
			t.Fatalf("%d packets, %d cut, truncated %v; want some, 0, false", f.Info.Packets, f.Info.CutRecords, f.Info.Truncated)
		}
	})
}

// TestRecordCutShortByTheEnd: a file that ends inside a record's data
// reads as truncated at that record, with no error kept (pcapgo's
// io.ErrUnexpectedEOF), whether the record fits the read buffer or is
// copied past it (and then cut within its kept bytes or beyond); one that ends right after a record header is truncated
// there too, the same way for both sizes.
func TestRecordCutShortByTheEnd(t *testing.T) {
	type outcome struct {
		packets   int64
		truncated bool
		at        int64
		err       string
	}
	read := func(size int64, keep int) outcome {
		var b bytes.Buffer
		advcap.PcapHeader(&b, 0xffffffff)
		advcap.PcapRecord(&b, 1e15, 100)
		advcap.PcapRecord(&b, 1e15+1, size)
		file := b.Bytes()[:24+16+100+16+keep]
		f, err := Open("-", bytes.NewReader(file))
		if err != nil {
			t.Fatal(err)
		}
		var p Packet
		for f.Next(&p) == nil {
		}
		o := outcome{f.Info.Packets, f.Info.Truncated, f.Info.TruncatedAt, ""}
		if f.Info.ReadErr != nil {
			o.err = f.Info.ReadErr.Error()
		}
		return o
	}
	for _, c := range []struct {
		size int64
		keep int
	}{{1000, 1}, {1000, 500}, {3 * readBufSize, 1}, {3 * readBufSize, 500}, {3 * readBufSize, MaxRecordData + 500}} {
		if o := read(c.size, c.keep); o != (outcome{1, true, 24 + 16 + 100, ""}) {
			t.Errorf("a %d-byte record cut after %d bytes: %+v, want 1 packet, truncated at %d, no error", c.size, c.keep, o, 24+16+100)
		}
	}
	small, large := read(1000, 0), read(3*readBufSize, 0)
	if small != large || !small.truncated || small.packets != 1 {
		t.Errorf("a record header and no data: %+v for a small record, %+v for a large one; want the same, truncated after 1 packet", small, large)
	}
}
