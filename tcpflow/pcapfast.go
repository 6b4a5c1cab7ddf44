package tcpflow

import (
	"bufio"
	"bytes"
	"encoding/binary"
	"fmt"
	"io"
	"time"

	"github.com/gopacket/gopacket"
	"github.com/gopacket/gopacket/pcapgo"
)

// pcapFast reads the records of a pcap file (version 2.4) straight out of
// the capture's read buffer: a packet's bytes are not copied, where
// pcapgo's ZeroCopyReadPacketData copies each into a buffer of its own
// (a third of the time spent reading a capture from the page cache). It
// returns what pcapgo returns, errors included, and consumes the same bytes,
// so offsets stay those of the file.
type pcapFast struct {
	br      *bufio.Reader
	order   binary.ByteOrder
	factor  uint32 // ns per timestamp fraction unit: 1000 for µs files, 1 for ns
	snaplen uint32
	big     bytes.Buffer // a record larger than br's buffer
}

// eagerReadMax is pcapgo's: a record may be longer than the snaplen up to
// this length.
const eagerReadMax = 262144

// newPcapFast takes over from r, which has read the file header from br
// (pcapgo reads a *bufio.Reader directly, with no buffer of its own);
// magic is the file's first 4 bytes, big-endian.
func newPcapFast(br *bufio.Reader, r *pcapgo.Reader, magic uint32) *pcapFast {
	f := &pcapFast{br: br, order: binary.LittleEndian, factor: 1, snaplen: r.Snaplen()}
	if magic == 0xa1b2c3d4 || magic == 0xa1b23c4d {
		f.order = binary.BigEndian
	}
	if r.Resolution() == gopacket.TimestampResolutionMicrosecond {
		f.factor = 1000
	}
	return f
}

// ZeroCopyReadPacketData returns the next record. data is valid until the
// next call.
func (r *pcapFast) ZeroCopyReadPacketData() (data []byte, ci gopacket.CaptureInfo, err error) {
	h, err := r.br.Peek(16)
	if len(h) < 16 {
		return nil, ci, r.short(len(h), err)
	}
	sec, frac := r.order.Uint32(h[0:4]), r.order.Uint32(h[4:8])*r.factor // wraps as in pcapgo
	caplen, length := int(r.order.Uint32(h[8:12])), int(r.order.Uint32(h[12:16]))
	r.br.Discard(16)
	ci.Timestamp = time.Unix(int64(sec), int64(frac)).UTC()
	ci.CaptureLength, ci.Length = caplen, length
	if caplen > max(int(r.snaplen), eagerReadMax) {
		return nil, ci, fmt.Errorf("capture length exceeds snap length: %d > %d", caplen, r.snaplen)
	}
	if caplen > length {
		return nil, ci, fmt.Errorf("capture length exceeds original packet length: %d > %d", caplen, length)
	}
	if caplen > r.br.Size() {
		// Grows with the bytes read, as pcapgo does: a short file cannot
		// make it allocate what its record header claims.
		r.big.Reset()
		n, err := io.CopyN(&r.big, r.br, int64(caplen))
		if err == io.EOF && n > 0 {
			err = io.ErrUnexpectedEOF
		}
		return r.big.Bytes(), ci, err
	}
	d, err := r.br.Peek(caplen)
	if len(d) < caplen {
		return nil, ci, r.short(len(d), err)
	}
	r.br.Discard(caplen)
	return d[:caplen:caplen], ci, nil
}

// short consumes the n bytes there are of a read that wanted more, and
// returns io.ReadFull's error for it.
func (r *pcapFast) short(n int, err error) error {
	r.br.Discard(n)
	if n > 0 && err == io.EOF {
		return io.ErrUnexpectedEOF
	}
	return err
}
