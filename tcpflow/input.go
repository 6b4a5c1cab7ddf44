package tcpflow

import (
	"fmt"
	"hash/maphash"
	"io"
	"os"
	"slices"
)

// Input reads several capture files as one capture, in timestamp order
// (tcpdump -C/-W rotation), keeping frame numbers per file.
type Input struct {
	files   []*File
	heads   []Packet
	live    []bool
	pending int // file whose head was handed out and must be advanced
	// The packets handed out at timestamp seen, while another file had a
	// packet at that timestamp too (see dup).
	seen   []seenPacket
	seenAt int64
	seed   maphash.Seed
}

// seenPacket is a packet handed out: its file and a hash of its bytes.
type seenPacket struct {
	file   int
	length int
	hash   uint64
}

// maxSeen bounds the packets remembered at one timestamp. Beyond it, later
// copies at that timestamp are not found: a bound on memory and time for a
// file whose clock barely moves (second resolution).
const maxSeen = 1024

// OpenInputs opens every path ("-" reads stdin); an error names the file
// that failed. A file given twice (the same path, or the same file through
// another name: a link, ./a.pcap) is an error naming it: its packets would
// all count twice, every segment a retransmission.
func OpenInputs(paths []string, stdin io.Reader) (*Input, error) {
	stats := make([]os.FileInfo, len(paths))
	for i, p := range paths {
		if p == "-" {
			continue
		}
		st, err := os.Stat(p)
		if err != nil {
			continue // Open says why
		}
		for j, q := range paths[:i] {
			if q == p {
				return nil, fmt.Errorf("%s: given twice: each capture file may be given once", p)
			}
			if stats[j] != nil && os.SameFile(stats[j], st) {
				return nil, fmt.Errorf("%s: the same file as %s: each capture file may be given once", p, q)
			}
		}
		stats[i] = st
	}
	in := &Input{pending: -1, seed: maphash.MakeSeed()}
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
// until the next call. It returns io.EOF when every file is done. A packet
// that is a copy of another file's is passed over (see dup).
func (in *Input) Next(p *Packet) error {
	for {
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
		in.pending = best
		if len(in.files) > 1 && in.dup(best) {
			in.files[best].Info.Duplicates++
			continue
		}
		*p = in.heads[best]
		return nil
	}
}

// dup reports whether the head of file i, about to be handed out, is a
// copy of a packet another file handed out: the same timestamp and the
// same bytes (a merged capture given with its parts). A file's own
// repeats are kept: a real capture can hold the same frame twice. Files
// are merged in time order, so copies meet at the same timestamp: only
// the packets of the current timestamp are remembered, and only while
// another file has a packet at that timestamp too, so a run of files that
// do not overlap hashes nothing.
func (in *Input) dup(i int) bool {
	h := &in.heads[i]
	if h.Time != in.seenAt {
		in.seen, in.seenAt = in.seen[:0], h.Time
	}
	var sum uint64
	hashed := false
	for _, s := range in.seen {
		if s.file != i && s.length == len(h.Data) {
			if !hashed {
				sum, hashed = maphash.Bytes(in.seed, h.Data), true
			}
			if s.hash == sum && s.length == len(h.Data) {
				return true
			}
		}
	}
	if len(in.seen) >= maxSeen {
		return false
	}
	for j := range in.files {
		if j != i && in.live[j] && in.heads[j].Time == h.Time {
			if !hashed {
				sum = maphash.Bytes(in.seed, h.Data)
			}
			in.seen = append(in.seen, seenPacket{file: i, length: len(h.Data), hash: sum})
			break
		}
	}
	return false
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
