package capture

import (
	"cmp"
	"fmt"
	"hash/maphash"
	"io"
	"os"
	"slices"
)

// Input reads several capture files as one capture, in timestamp order
// (tcpdump -C/-W rotation), keeping frame numbers per file.
//
// A file is open only while it has packets in the merge: each is opened
// once to check its header and read its first packet's time, and closed;
// it is opened again when the packets read reach that time, and closed
// (its buffers let go) at its end. Rotated files, which follow one
// another, hold one or two read buffers between them however many there
// are; files that overlap in time are all open at once, those beyond the
// first few with small buffers (see bufSizeFor).
type Input struct {
	paths []string
	stdin io.Reader
	files []*File
	heads []Packet
	open  []int // the files with a head to hand out, a heap (see before)
	// parked lists the files closed after their first packet, by the
	// time of that packet (then by index): parked[0] is opened next.
	parked  []int
	first   []int64 // a parked file's first packet's time
	pending bool    // the first open file's head was handed out: advance it
	// MaxOpen bounds the files open at once (0: no bound): files that
	// overlap in time must all be open to be merged, each with its read
	// buffer (and a gzip stream its 32 KiB window and tables); past the
	// bound Next fails with an error that says so, rather than use more
	// memory than the budget allows.
	MaxOpen int
	// lastLink is each file's last packet's link type, checked already
	// (noLink before the first).
	lastLink []LinkType
	err      error // what ended the merge (MaxOpen)
	// The packets handed out at timestamp seen, while another file had a
	// packet at that timestamp too (see dup).
	seen   []seenPacket
	seenAt int64
	seed   maphash.Seed
	pool   bufPool // read buffers of the files that ended, for the next
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

// Read buffer sizes of the files of an Input: the first few open at once
// get readBufSize, further ones (files that overlap in time) smaller ones,
// so that many files cost little each (a packet longer than its buffer is
// copied once).
const (
	bigBuffers   = 4
	smallBuffers = 64
	smallBufSize = 64 << 10
	tinyBufSize  = 16 << 10
)

// bufSizeFor returns the read buffer size of a file opened while open
// files are.
func bufSizeFor(open int) int {
	switch {
	case open < bigBuffers:
		return readBufSize
	case open < smallBuffers:
		return smallBufSize
	}
	return tinyBufSize
}

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
	in := &Input{paths: paths, stdin: stdin, seed: maphash.MakeSeed(),
		heads: make([]Packet, len(paths)), first: make([]int64, len(paths)), lastLink: make([]LinkType, len(paths))}
	for i := range in.lastLink {
		in.lastLink[i] = noLink
	}
	for i, p := range paths {
		size := readBufSize
		if len(paths) > 1 {
			size = smallBufSize // only the first packet is read now
		}
		f, err := openSized(p, stdin, size, &in.pool)
		if err != nil {
			in.Close()
			return nil, err
		}
		in.files = append(in.files, f)
		if !in.advance(i) {
			continue
		}
		if len(paths) == 1 || p == "-" {
			in.push(i) // stdin cannot be read again
			continue
		}
		in.first[i] = in.heads[i].Time
		in.parked = append(in.parked, i)
		f.release()
		in.heads[i] = Packet{}
	}
	slices.SortStableFunc(in.parked, func(i, j int) int { return cmp.Compare(in.first[i], in.first[j]) })
	return in, nil
}

// noLink is no link type: LINKTYPE 65535 is not assigned.
const noLink = LinkType(0xffff)

// advance reads the next packet of file i into its head and reports
// whether there was one; at the end it closes the file.
func (in *Input) advance(i int) bool {
	if in.files[i].Next(&in.heads[i]) != nil {
		in.files[i].release()
		in.heads[i] = Packet{} // its bytes were in the buffers let go
		return false
	}
	in.heads[i].File = i
	// Most packets are of the link type the one before was: checked once.
	if lt := in.heads[i].LinkType; lt != in.lastLink[i] && !LinkTypeSupported(lt) {
		info := &in.files[i].Info
		if len(info.Unsupported) < MaxLinkTypesListed && !slices.Contains(info.Unsupported, lt) {
			info.Unsupported = append(info.Unsupported, lt)
		}
	}
	in.lastLink[i] = in.heads[i].LinkType
	return true
}

// The open files are a heap by head (see before): in.open[0] comes
// first. Each packet then costs a log of the files open at once.

// before reports whether the head of file i comes before file j's: ties
// go to the earlier file, so rotated files with equal timestamps at their
// seam keep their order.
func (in *Input) before(i, j int) bool {
	ti, tj := in.heads[i].Time, in.heads[j].Time
	return ti < tj || ti == tj && i < j
}

func (in *Input) up(k int) {
	h := in.open
	for k > 0 {
		parent := (k - 1) / 2
		if !in.before(h[k], h[parent]) {
			return
		}
		h[k], h[parent] = h[parent], h[k]
		k = parent
	}
}

func (in *Input) down(k int) {
	h := in.open
	for {
		c := 2*k + 1
		if c >= len(h) {
			return
		}
		if c+1 < len(h) && in.before(h[c+1], h[c]) {
			c++
		}
		if !in.before(h[c], h[k]) {
			return
		}
		h[k], h[c] = h[c], h[k]
		k = c
	}
}

// push adds file i, whose head was just read, to the open files.
func (in *Input) push(i int) {
	in.open = append(in.open, i)
	in.up(len(in.open) - 1)
}

// advanceFirst reads the next packet of the file that comes first and
// puts it back in its place, or out of the heap at its end.
func (in *Input) advanceFirst() {
	if in.advance(in.open[0]) {
		in.down(0) // a later head, or an earlier one, which stays first
		return
	}
	last := len(in.open) - 1
	in.open[0] = in.open[last]
	in.open = in.open[:last]
	in.down(0)
}

// unpark opens the parked files whose first packet comes no later than
// every open file's head: at the same time too, so that dup sees them.
func (in *Input) unpark() {
	for len(in.parked) > 0 {
		j := in.parked[0]
		if len(in.open) > 0 && in.first[j] > in.heads[in.open[0]].Time {
			return
		}
		if in.MaxOpen > 0 && len(in.open) >= in.MaxOpen {
			in.err = fmt.Errorf("more than %d capture files overlap in time, and files are merged by time with every overlapping one open: %d are open at once at most (--memory raises it); merge them first, e.g. mergecap -w merged.pcap FILES",
				in.MaxOpen, in.MaxOpen)
			return
		}
		in.parked = in.parked[1:]
		f, err := openSized(in.paths[j], in.stdin, bufSizeFor(len(in.open)), &in.pool)
		if err != nil {
			// Read once already: it changed since. What was read of it
			// is reported, with the error.
			info := &in.files[j].Info
			info.Truncated, info.ReadErr = true, fmt.Errorf("opening it again: %w", err)
			continue
		}
		in.files[j] = f
		if in.advance(j) {
			in.push(j)
		}
	}
}

// Next fills p with the earliest unread packet of all files. p.Data is valid
// until the next call. It returns io.EOF when every file is done. A packet
// that is a copy of another file's is passed over (see dup).
func (in *Input) Next(p *Packet) error {
	for {
		if in.pending {
			in.advanceFirst()
			in.pending = false
		}
		if len(in.parked) > 0 {
			in.unpark()
		}
		if in.err != nil {
			return in.err
		}
		if len(in.open) == 0 {
			return io.EOF
		}
		best := in.open[0]
		in.pending = true
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
	// i is first in the heap: another file's head at the same time would
	// have one on its path to the top, so is one of i's children if any.
	for _, c := range in.open[1:min(3, len(in.open))] {
		if in.heads[c].Time == h.Time {
			if !hashed {
				sum = maphash.Bytes(in.seed, h.Data)
			}
			in.seen = append(in.seen, seenPacket{file: i, length: len(h.Data), hash: sum})
			break
		}
	}
	return false
}

// Captures returns what is known about each file so far. A file opened
// again (see Input) gets a new CaptureInfo: call it again for the latest.
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
