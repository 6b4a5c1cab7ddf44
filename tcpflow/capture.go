// Package tcpflow reads capture files and turns their packets into
// per-connection, per-direction ordered byte streams, with the frame each
// byte came from and explicit gaps for bytes that were sent but not captured.
package tcpflow

import (
	"bufio"
	"compress/gzip"
	"encoding/binary"
	"errors"
	"fmt"
	"io"
	"os"

	"github.com/gopacket/gopacket"
	"github.com/gopacket/gopacket/layers"
	"github.com/gopacket/gopacket/pcapgo"
)

// ErrNotCapture is wrapped by Open when a file is neither pcap nor pcapng.
var ErrNotCapture = errors.New("not a pcap or pcapng file")

// readBufSize is large because pcapgo issues two small reads per packet; a
// big buffer turns them into memcpy (measured 3x over the 4 KiB default).
const readBufSize = 1 << 20

// CaptureInfo describes one input file as read so far.
type CaptureInfo struct {
	Path       string
	Format     string // "pcap" or "pcapng"
	Compressed bool   // gzip
	LinkTypes  []layers.LinkType
	Snaplen    uint32
	Packets    int64
	First      int64  // ns since the Unix epoch of the first packet (0 if none)
	Last       int64  // ns of the last packet
	End        int64  // pcapng interface statistics end time, when later than Last
	Dropped    uint64 // packets the capturing interface said it dropped (pcapng)
	// Truncated is set when the file ends inside a record (tcpdump killed,
	// file cut); TruncatedAt is the offset of that record in the
	// (uncompressed) capture stream.
	Truncated   bool
	TruncatedAt int64
	ReadErr     error // the error that ended reading, when not a clean EOF
	// Unsupported lists link types seen that nfsstall cannot decode.
	Unsupported []layers.LinkType
}

// packetReader is what pcapgo's two readers have in common.
type packetReader interface {
	ZeroCopyReadPacketData() ([]byte, gopacket.CaptureInfo, error)
}

// countingReader counts bytes handed to pcapgo, so a read error can name
// the offset of the record it happened in.
type countingReader struct {
	r *bufio.Reader
	n int64
}

func (c *countingReader) Read(p []byte) (int, error) {
	n, err := c.r.Read(p)
	c.n += int64(n)
	return n, err
}

// File is one open capture file.
type File struct {
	Info   CaptureInfo
	closer io.Closer
	cr     *countingReader
	pr     packetReader
	ng     *pcapgo.NgReader
	link   layers.LinkType // pcap: the file's link type
	recOff int64           // offset where the current record started
}

// Open opens a capture file ("-" reads stdin), detecting gzip and the
// capture format by their magic numbers, never by the file name.
func Open(path string, stdin io.Reader) (*File, error) {
	var rc io.ReadCloser
	if path == "-" {
		rc = io.NopCloser(stdin)
	} else {
		f, err := os.Open(path)
		if err != nil {
			return nil, err
		}
		rc = f
	}
	f, err := newFile(path, rc)
	if err != nil {
		rc.Close()
		return nil, err
	}
	return f, nil
}

func newFile(path string, rc io.ReadCloser) (*File, error) {
	br := bufio.NewReaderSize(rc, readBufSize)
	cf := &File{Info: CaptureInfo{Path: path}, closer: rc}
	if magic, _ := br.Peek(2); len(magic) == 2 && magic[0] == 0x1f && magic[1] == 0x8b {
		zr, err := gzip.NewReader(br)
		if err != nil {
			return nil, fmt.Errorf("%s: gzip: %w", path, err)
		}
		br = bufio.NewReaderSize(zr, readBufSize)
		cf.Info.Compressed = true
	}
	magic, err := br.Peek(8)
	if len(magic) < 4 {
		if err == nil || err == io.EOF {
			return nil, fmt.Errorf("%s: %w (file has only %d bytes)", path, ErrNotCapture, len(magic))
		}
		return nil, fmt.Errorf("%s: %w", path, err)
	}
	cf.cr = &countingReader{r: br}
	switch m := binary.BigEndian.Uint32(magic); m {
	case 0xa1b2c3d4, 0xd4c3b2a1, 0xa1b23c4d, 0x4d3cb2a1:
		r, err := pcapgo.NewReader(cf.cr)
		if err != nil {
			return nil, fmt.Errorf("%s: pcap header: %w", path, err)
		}
		cf.Info.Format = "pcap"
		cf.link = r.LinkType()
		cf.Info.LinkTypes = []layers.LinkType{cf.link}
		cf.Info.Snaplen = r.Snaplen()
		cf.pr = r
	case 0x0a0d0d0a:
		r, err := pcapgo.NewNgReader(cf.cr, pcapgo.NgReaderOptions{WantMixedLinkType: true})
		if err != nil {
			return nil, fmt.Errorf("%s: pcapng header: %w", path, err)
		}
		cf.Info.Format = "pcapng"
		cf.ng = r
		cf.pr = r
		cf.refreshInterfaces()
	default:
		if len(magic) == 8 && string(magic) == "snoop\x00\x00\x00" {
			return nil, fmt.Errorf("%s: Sun snoop capture: not read by nfsstall; convert it with `editcap -F pcap %s out.pcap`", path, path)
		}
		return nil, fmt.Errorf("%s: %w (starts with 0x%x)", path, ErrNotCapture, magic[:4])
	}
	return cf, nil
}

// refreshInterfaces copies the pcapng interface list (it can grow while
// reading: an interface description block may come after packets) and the
// latest end time and drop count their statistics blocks report.
func (f *File) refreshInterfaces() {
	n := f.ng.NInterfaces()
	var dropped uint64
	for i := 0; i < n; i++ {
		intf, err := f.ng.Interface(i)
		if err != nil {
			break
		}
		if i >= len(f.Info.LinkTypes) {
			f.Info.LinkTypes = append(f.Info.LinkTypes, intf.LinkType)
			if intf.SnapLength > f.Info.Snaplen {
				f.Info.Snaplen = intf.SnapLength
			}
		}
		st := intf.Statistics
		end := st.EndTime
		if end.IsZero() {
			end = st.LastUpdate
		}
		if !end.IsZero() && end.UnixNano() > f.Info.End {
			f.Info.End = end.UnixNano()
		}
		if st.PacketsDropped != pcapgo.NgNoValue64 {
			dropped += st.PacketsDropped
		}
	}
	f.Info.Dropped = dropped
}

// Close closes the underlying file.
func (f *File) Close() error { return f.closer.Close() }

// Next reads the next packet into p. p.Data is valid until the next call.
// It returns io.EOF at the end of the file; a file that ends inside a record
// also ends with io.EOF, with Info.Truncated set.
func (f *File) Next(p *Packet) error {
	f.recOff = f.cr.n
	data, ci, err := f.pr.ZeroCopyReadPacketData()
	if err != nil {
		if f.ng != nil {
			f.refreshInterfaces()
		}
		if err == io.EOF {
			return io.EOF
		}
		// pcapgo reports a record cut short as io.ErrUnexpectedEOF; any other
		// error (a corrupt record header) also ends the file here, but is
		// kept so the report can say what it was.
		f.Info.Truncated = true
		f.Info.TruncatedAt = f.recOff
		if !errors.Is(err, io.ErrUnexpectedEOF) {
			f.Info.ReadErr = err
		}
		return io.EOF
	}
	f.Info.Packets++
	ts := ci.Timestamp.UnixNano()
	if f.Info.Packets == 1 {
		f.Info.First = ts
	}
	if ts > f.Info.Last {
		f.Info.Last = ts
	}
	p.Frame = f.Info.Packets
	p.Time = ts
	p.Data = data
	p.Length = ci.Length
	if f.ng != nil {
		if ci.InterfaceIndex >= len(f.Info.LinkTypes) {
			f.refreshInterfaces()
		}
		if ci.InterfaceIndex < len(f.Info.LinkTypes) {
			p.LinkType = f.Info.LinkTypes[ci.InterfaceIndex]
		} else {
			p.LinkType = layers.LinkTypeNull
		}
	} else {
		p.LinkType = f.link
	}
	return nil
}
