package capture

import (
	"bufio"
	"bytes"
	"compress/gzip"
	"encoding/binary"
	"fmt"
	"io"
	"os"
	"strings"
	"testing"

	"github.com/gopacket/gopacket/pcapgo"

	"github.com/nfsstall/nfsstall/internal/capfile"
	"github.com/nfsstall/nfsstall/internal/gencap"
	"github.com/nfsstall/nfsstall/internal/tsharkview"
)

// readAllRecords reads every record of a pcap file with pcapgo's reader,
// or with pcapFast over the same kind of buffer, and describes what each
// call returned and how many bytes it consumed.
func readAllRecords(t testing.TB, file []byte, fast bool) []string {
	cr := &countingReader{r: bytes.NewReader(file)}
	br := bufio.NewReaderSize(cr, 4096)
	r, err := pcapgo.NewReader(br)
	if err != nil {
		return []string{"header: " + err.Error()}
	}
	var pr packetReader = r
	if fast {
		pr = newPcapFast(br, r, binary.BigEndian.Uint32(file))
	}
	var out []string
	for {
		data, ci, err := pr.ZeroCopyReadPacketData()
		at := cr.n - int64(br.Buffered())
		if err != nil {
			out = append(out, fmt.Sprintf("err %v at offset %d", err, at))
			return out
		}
		out = append(out, fmt.Sprintf("%d %d %d %x, at offset %d", ci.Timestamp.UnixNano(), ci.CaptureLength, ci.Length, data, at))
	}
}

func samePcapReading(t *testing.T, name string, file []byte) {
	t.Helper()
	want, got := readAllRecords(t, file, false), readAllRecords(t, file, true)
	if len(want) != len(got) {
		t.Fatalf("%s: pcapgo read %d records, pcapFast %d; last %q vs %q", name, len(want), len(got), want[len(want)-1], got[len(got)-1])
	}
	for i := range want {
		if want[i] != got[i] {
			t.Fatalf("%s: record %d:\npcapgo   %.300s\npcapFast %.300s", name, i, want[i], got[i])
		}
	}
}

// TestPcapFastSameAsPcapgo reads real, generated and damaged pcap files
// with both readers: the same records, the same errors, the same bytes
// consumed.
func TestPcapFastSameAsPcapgo(t *testing.T) {
	files := map[string][]byte{}
	names, err := tsharkview.Captures(pcapDir)
	if err != nil {
		t.Fatal(err)
	}
	for _, name := range names {
		path, err := tsharkview.CaptureFile(pcapDir, name)
		if err != nil {
			t.Fatal(err)
		}
		data, err := os.ReadFile(path)
		if err != nil {
			t.Fatal(err)
		}
		if strings.HasSuffix(path, ".gz") {
			zr, err := gzip.NewReader(bytes.NewReader(data))
			if err != nil {
				t.Fatal(err)
			}
			if data, err = io.ReadAll(zr); err != nil {
				t.Fatal(err)
			}
		}
		if m := binary.BigEndian.Uint32(data); m == 0xd4c3b2a1 || m == 0x4d3cb2a1 || m == 0xa1b2c3d4 || m == 0xa1b23c4d {
			files[name] = data
		}
	}
	var buf bytes.Buffer
	if _, err := gencap.Write(&buf, gencap.Config{Size: 64 << 10, Conns: 2, Timestamps: true}); err != nil {
		t.Fatal(err)
	}
	gen := buf.Bytes()
	files["generated"] = gen
	files["generated big-endian ns"] = swapped(t, gen)
	if len(files) < 3 {
		t.Fatalf("only %d pcap files", len(files))
	}
	for name, file := range files {
		samePcapReading(t, name, file)
	}

	// Damaged: cut anywhere in the first records and at the end, and with
	// record lengths rewritten.
	for _, file := range [][]byte{gen, swapped(t, gen)} {
		for n := 0; n < 400; n++ {
			samePcapReading(t, fmt.Sprintf("cut at %d", n), file[:n])
		}
		for n := len(file) - 1600; n < len(file); n += 7 {
			samePcapReading(t, fmt.Sprintf("cut at %d", n), file[:n])
		}
		order := binary.ByteOrder(binary.LittleEndian)
		if binary.BigEndian.Uint32(file) == 0xa1b23c4d {
			order = binary.BigEndian
		}
		for _, lens := range [][2]uint32{{0, 0}, {0, 60}, {1 << 17, 1 << 17}, {1 << 19, 1 << 19}, {300000, 300001}, {1<<32 - 1, 1<<32 - 1}, {5, 5}} {
			mod := bytes.Clone(file)
			order.PutUint32(mod[24+8:], lens[0])
			order.PutUint32(mod[24+12:], lens[1])
			samePcapReading(t, fmt.Sprintf("lengths %v", lens), mod)
		}
	}
	// A record larger than the read buffer (and the snaplen).
	big := bytes.Clone(gen[:24])
	binary.LittleEndian.PutUint32(big[16:], 1<<21)
	rec := make([]byte, 16+5000)
	binary.LittleEndian.PutUint32(rec[8:], 5000)
	binary.LittleEndian.PutUint32(rec[12:], 5000)
	big = append(big, rec...)
	samePcapReading(t, "record larger than the buffer", big)
	samePcapReading(t, "record larger than the buffer, cut", big[:len(big)-10])
}

// swapped rewrites a little-endian microsecond pcap file as a big-endian
// nanosecond one.
func swapped(t *testing.T, file []byte) []byte {
	le, be := binary.LittleEndian, binary.BigEndian
	out := bytes.Clone(file)
	be.PutUint32(out[0:], 0xa1b23c4d)
	for _, o := range []int{4, 6} {
		be.PutUint16(out[o:], le.Uint16(file[o:]))
	}
	for _, o := range []int{8, 12, 16, 20} {
		be.PutUint32(out[o:], le.Uint32(file[o:]))
	}
	for off := 24; off+16 <= len(file); {
		for i := 0; i < 16; i += 4 {
			v := le.Uint32(file[off+i:])
			if i == 4 {
				v *= 1000
			}
			be.PutUint32(out[off+i:], v)
		}
		off += 16 + int(le.Uint32(file[off+8:]))
	}
	return out
}

// TestModifiedPcapDemerits holds the modified-pcap variant guess to
// Wireshark's libpcap_try_record, rule by rule and at each rule's edge:
// one record header (8 extra bytes) that breaks exactly one rule, or sits
// on its limit, followed by enough bytes for its data.
func TestModifiedPcapDemerits(t *testing.T) {
	const snaplen = 65535
	type hdr struct {
		usec, caplen, length, ifindex uint32
		proto                         uint16
		pktType                       byte
	}
	ok := hdr{usec: 999999, caplen: 60, length: 60, ifindex: 10000, proto: 0x0800, pktType: 4}
	record := func(h hdr) []byte {
		b := make([]byte, 24)
		binary.BigEndian.PutUint32(b[4:], h.usec)
		binary.BigEndian.PutUint32(b[8:], h.caplen)
		binary.BigEndian.PutUint32(b[12:], h.length)
		binary.BigEndian.PutUint32(b[16:], h.ifindex)
		binary.BigEndian.PutUint16(b[20:], h.proto)
		b[22] = h.pktType
		if h.caplen <= eagerReadMax {
			b = append(b, make([]byte, h.caplen)...)
		}
		return b
	}
	r := &pcapFast{order: binary.BigEndian, snaplen: snaplen}
	with := func(change func(*hdr)) []byte {
		h := ok
		change(&h)
		return record(h)
	}
	for _, tt := range []struct {
		name string
		b    []byte
		want int
	}{
		{"sensible", record(ok), 0},
		{"usec 1e6", with(func(h *hdr) { h.usec = 1e6 }), 1},
		{"caplen at snaplen", with(func(h *hdr) { h.caplen, h.length = snaplen, snaplen }), 0},
		{"caplen past snaplen", with(func(h *hdr) { h.caplen, h.length = snaplen+1, snaplen+1 }), 1},
		{"length at 128 MiB", with(func(h *hdr) { h.length = 128 << 20 }), 0},
		{"length past 128 MiB", with(func(h *hdr) { h.length = 128<<20 + 1 }), 1},
		{"caplen past length", with(func(h *hdr) { h.length = 59 }), 1},
		{"ifindex 10001", with(func(h *hdr) { h.ifindex = 10001 }), 1},
		{"proto 0x0600", with(func(h *hdr) { h.proto = 0x0600 }), 0},
		{"proto 0x05ff", with(func(h *hdr) { h.proto = 0x05ff }), 1},
		{"proto 0x0060", with(func(h *hdr) { h.proto = 0x0060 }), 0},
		{"proto 0x0061", with(func(h *hdr) { h.proto = 0x0061 }), 1},
		{"proto 0x0200", with(func(h *hdr) { h.proto = 0x0200 }), 0},
		{"proto 0x0400", with(func(h *hdr) { h.proto = 0x0400 }), 0},
		{"proto 0x0017", with(func(h *hdr) { h.proto = 0x0017 }), 0},
		{"proto 0x0018", with(func(h *hdr) { h.proto = 0x0018 }), 1},
		{"packet type 5", with(func(h *hdr) { h.pktType = 5 }), 1},
		// Three rules broken at once; and a record longer than any
		// (past the snaplen too) counts one more and ends the count: the
		// next record, whose usec is wrong, is not looked at.
		{"three at once", with(func(h *hdr) { h.usec, h.ifindex, h.pktType = 1e6, 10001, 5 }), 3},
		{"caplen past eagerReadMax", append(with(func(h *hdr) { h.caplen, h.length = eagerReadMax+1, eagerReadMax+1 }), record(hdr{usec: 1e6})...), 2},
		{"caplen at eagerReadMax", with(func(h *hdr) { h.caplen, h.length = eagerReadMax, eagerReadMax }), 1},
	} {
		// Alone, then followed by two sensible records: the same count
		// (three records are tried, a sensible one adds nothing).
		for _, b := range [][]byte{tt.b, append(append(append([]byte(nil), tt.b...), record(ok)...), record(ok)...)} {
			if got := r.demerits(b, 8, true); got != tt.want {
				t.Errorf("%s (%d bytes): %d demerits, want %d", tt.name, len(b), got, tt.want)
			}
		}
	}
	// Only three records are tried: a fourth that breaks a rule counts
	// nothing.
	b := append(append(append(record(ok), record(ok)...), record(ok)...), with(func(h *hdr) { h.usec = 1e6 })...)
	if got := r.demerits(b, 8, true); got != 0 {
		t.Errorf("a fourth record counted: %d demerits", got)
	}
	// A record cut by the end of what was read counts one only when the
	// file ends there; a header exactly whole is read.
	whole := record(ok)
	for _, tt := range []struct {
		name  string
		b     []byte
		ended bool
		want  int
	}{
		{"header cut, file ends", whole[:23], true, 1},
		{"header cut within its standard 16 bytes' fields", whole[:17], true, 1},
		{"header cut, more to read", whole[:23], false, 0},
		{"data cut, file ends", whole[:30], true, 1},
		{"data cut, more to read", whole[:30], false, 0},
		{"header whole, its usec wrong", with(func(h *hdr) { h.usec = 1e6 })[:24], false, 1},
		{"nothing", nil, true, 0},
	} {
		if got := r.demerits(tt.b, 8, tt.ended); got != tt.want {
			t.Errorf("%s: %d demerits, want %d", tt.name, got, tt.want)
		}
	}
}

// TestModifiedPcapVariantChoice: the variant whose first records make
// the more sense is read, the 8-byte one on a tie, and a record cut by the
// end of a file read whole counts against the variant that cuts it.
func TestModifiedPcapVariantChoice(t *testing.T) {
	frame := make([]byte, 60)
	count := func(file []byte) (int64, bool) {
		f, err := Open("-", bytes.NewReader(file))
		if err != nil {
			t.Fatal(err)
		}
		var p Packet
		for f.Next(&p) == nil {
		}
		return f.Info.Packets, f.Info.Truncated
	}
	// A record, then zeros: zero record headers make sense both ways (28
	// of 24 bytes, or 24 of 28), and only the 8-byte reading ends cleanly.
	tie := append(capfile.PcapRecords(magicModified, binary.BigEndian, 8, [][]byte{frame}, []int{60}), make([]byte, 24*28)...)
	if n, cut := count(tie); n != 1+28 || cut {
		t.Errorf("a tie: %d packets, truncated %v; want 29 read as ss991029 (8 bytes), whole", n, cut)
	}
	// One record of the 12-byte variant: read with 8, its last 4 bytes
	// would be a record header cut by the end of the file.
	one := capfile.PcapRecords(magicModified, binary.BigEndian, 12, [][]byte{frame}, []int{60})
	if n, cut := count(one); n != 1 || cut {
		t.Errorf("one ss990915 record: %d packets, truncated %v; want 1, whole", n, cut)
	}
}
