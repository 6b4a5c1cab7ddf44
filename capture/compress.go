package capture

import (
	"compress/bzip2"
	"errors"
	"fmt"
	"io"

	"github.com/klauspost/compress/zstd"
	"github.com/ulikunitz/xz"
)

// Captures are shared compressed: gzip by tcpdump users and Wireshark,
// xz, bzip2 and zstd on mailing lists and in bug trackers. Each is told by
// its magic number, never by the file name, and read as a stream: nothing
// is decompressed to disk or held whole.

// Each decompressor's memory is bounded whatever the file's header
// claims, within the 64 MB budget: xz decodes with an 8 MiB dictionary (xz
// -6, the default preset, and below; a file compressed with a larger one,
// xz -7 to -9, fails where it refers further back, with an error saying
// so), zstd with windows of at most 16 MiB (every level without --long),
// bzip2 needs 900 KB blocks at most.
const (
	xzDict     = 8 << 20
	zstdWindow = 16 << 20
)

// compression returns the compression format whose magic number head
// starts with, or "".
func compression(head []byte) string {
	switch {
	case len(head) >= 2 && head[0] == 0x1f && head[1] == 0x8b:
		return "gzip"
	case len(head) >= 6 && string(head[:6]) == "\xfd7zXZ\x00":
		return "xz"
	case len(head) >= 4 && string(head[:3]) == "BZh" && head[3] >= '1' && head[3] <= '9':
		return "bzip2"
	case len(head) >= 4 && string(head[:4]) == "\x28\xb5\x2f\xfd":
		return "zstd"
	}
	return ""
}

// decompressor returns a reader of r's decompressed bytes, for the formats
// other than gzip (which open.go pools).
func decompressor(kind string, r io.Reader) (io.ReadCloser, error) {
	switch kind {
	case "xz":
		zr, err := xz.ReaderConfig{DictCap: xzDict}.NewReader(r)
		if err != nil {
			return nil, err
		}
		return io.NopCloser(&decodeNote{zr, fmt.Sprintf("nfsstall decodes xz with a dictionary of %d MiB, what xz -6 and below use; recompress with xz -6", xzDict>>20)}), nil
	case "bzip2":
		return io.NopCloser(bzip2.NewReader(r)), nil
	case "zstd":
		d, err := zstd.NewReader(r, zstd.WithDecoderConcurrency(1), zstd.WithDecoderLowmem(true),
			zstd.WithDecoderMaxWindow(zstdWindow))
		if err != nil {
			return nil, err
		}
		return struct {
			io.Reader
			io.Closer
		}{&decodeNote{d, fmt.Sprintf("nfsstall decodes zstd with windows of at most %d MiB, what every level without --long uses; recompress without --long", zstdWindow>>20)}, d.IOReadCloser()}, nil
	}
	return nil, fmt.Errorf("unknown compression %q", kind)
}

// decodeNote adds to a decoding error (not to a file cut short) what
// nfsstall's bound on the decompressor's memory means for it.
type decodeNote struct {
	r    io.Reader
	note string
}

func (d *decodeNote) Read(p []byte) (int, error) {
	n, err := d.r.Read(p)
	if err != nil && err != io.EOF && !errors.Is(err, io.ErrUnexpectedEOF) {
		err = fmt.Errorf("%w (%s)", err, d.note)
	}
	return n, err
}
