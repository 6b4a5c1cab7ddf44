package tcpflow

import (
	"io"
	"slices"
)

// Input reads several capture files as one capture, in timestamp order
// (tcpdump -C/-W rotation), keeping frame numbers per file.
type Input struct {
	files   []*File
	heads   []Packet
	live    []bool
	pending int // file whose head was handed out and must be advanced
}

// OpenInputs opens every path ("-" reads stdin); an error names the file
// that failed.
func OpenInputs(paths []string, stdin io.Reader) (*Input, error) {
	in := &Input{pending: -1}
	for i, p := range paths {
		f, err := Open(p, stdin)
		if err != nil {
			in.Close()
			return nil, err
		}
		in.files = append(in.files, f)
		in.heads = append(in.heads, Packet{File: i})
		in.live = append(in.live, true)
	}
	for i := range in.files {
		in.advance(i)
	}
	return in, nil
}

func (in *Input) advance(i int) {
	if in.files[i].Next(&in.heads[i]) != nil {
		in.live[i] = false
		return
	}
	in.heads[i].File = i
	if lt := in.heads[i].LinkType; !LinkTypeSupported(lt) {
		info := &in.files[i].Info
		if !slices.Contains(info.Unsupported, lt) {
			info.Unsupported = append(info.Unsupported, lt)
		}
	}
}

// Next fills p with the earliest unread packet of all files. p.Data is valid
// until the next call. It returns io.EOF when every file is done.
func (in *Input) Next(p *Packet) error {
	if in.pending >= 0 {
		in.advance(in.pending)
		in.pending = -1
	}
	best := -1
	for i := range in.files {
		// Ties go to the earlier file, so rotated files with equal
		// timestamps at their seam keep their order.
		if in.live[i] && (best < 0 || in.heads[i].Time < in.heads[best].Time) {
			best = i
		}
	}
	if best < 0 {
		return io.EOF
	}
	*p = in.heads[best]
	in.pending = best
	return nil
}

// Captures returns what is known about each file so far.
func (in *Input) Captures() []*CaptureInfo {
	out := make([]*CaptureInfo, len(in.files))
	for i, f := range in.files {
		out[i] = &f.Info
	}
	return out
}

// Position returns the bytes read from all files so far and the sum of
// their sizes (0 when some size is unknown: stdin, a pipe).
func (in *Input) Position() (read, total int64) {
	for _, f := range in.files {
		r, size := f.Position()
		read += r
		if size == 0 {
			total = -1 << 62
		}
		total += size
	}
	return read, max(total, 0)
}

// Close closes every file.
func (in *Input) Close() {
	for _, f := range in.files {
		f.Close()
	}
}
