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
