package capture

import (
	"errors"
	"io"
	"time"
)

// Prefetch is the pipelined way to read: one goroutine reads the files
// (system calls, gzip, the pcap and pcapng record formats) and hands
// packets in batches to the goroutine that uses them. The batches and
// their buffers are recycled through a channel, so the steady state
// allocates nothing. Packets are handed over in the order src gives them.

// Batch sizes: enough packets per hand-over that the channel costs little,
// few enough batches that the memory stays small (4 x 256 KiB).
const (
	batchPackets = 1024
	batchBytes   = 256 << 10
	batches      = 4
)

type batch struct {
	pkts []Packet // Data of each points into buf
	buf  []byte
}

// Source is what Prefetch reads from: Input and File are sources.
type Source interface {
	// Next reads the next packet into p, io.EOF at the end.
	Next(p *Packet) error
}

// Prefetch reads src to its end on a goroutine of its own, copying each
// packet into a batch, and calls use with each packet, in order, on the
// calling goroutine. A packet, and its Data, are valid only during the
// call of use; Data's capacity ends with its bytes, as Packet requires.
// When tick is not nil, the reading goroutine calls it after every
// `every` packets read, with the count read so far. Prefetch returns the
// error that ended reading, nil at io.EOF.
func Prefetch(src Source, use func(*Packet), every int64, tick func(read int64)) error {
	full := make(chan *batch, batches)
	free := make(chan *batch, batches)
	for range batches {
		free <- &batch{pkts: make([]Packet, 0, batchPackets), buf: make([]byte, 0, batchBytes)}
	}
	var readErr error
	go func() {
		defer close(full)
		var wait handoff
		b := wait.recv(free)
		var p Packet
		var n int64
		for {
			err := src.Next(&p)
			if err != nil {
				if !errors.Is(err, io.EOF) {
					readErr = err
				}
				break
			}
			if len(b.pkts) == cap(b.pkts) || len(b.buf)+len(p.Data) > cap(b.buf) {
				full <- b
				b = wait.recv(free)
				b.pkts, b.buf = b.pkts[:0], b.buf[:0]
			}
			// The decoder finds layer offsets from slice capacities: the
			// copy must end where its capacity does (see Packet).
			off := len(b.buf)
			b.buf = append(b.buf, p.Data...)
			p.Data = b.buf[off:len(b.buf):len(b.buf)]
			b.pkts = append(b.pkts, p)
			n++
			if tick != nil && n%every == 0 {
				tick(n)
			}
		}
		if len(b.pkts) > 0 {
			full <- b
		}
	}()
	var wait handoff
	for {
		b := wait.recv(full)
		if b == nil {
			break // full is closed
		}
		for i := range b.pkts {
			use(&b.pkts[i])
		}
		free <- b
	}
	return readErr
}

// A goroutine that waits for a batch by parking on the channel is woken
// by the other one with a system call, and on a virtual machine an
// interrupt between processors: measured at about 10% of the time of a
// capture of 1 MiB READs (bench/run.sh big) on two KVM cores. A batch is
// ready in some tens of microseconds, so a receiver first polls the
// channel for up to spinFor; one that polls in vain spinGiveUp times in a
// row (a slow pipe, gzip) parks at once from then on, trying a poll again
// only every spinRetry waits, so a reader held up by its input costs no
// CPU polling.
const (
	spinFor    = 100 * time.Microsecond
	spinGiveUp = 4
	spinRetry  = 64
)

// handoff is one goroutine's way of waiting for batches.
type handoff struct {
	misses int // polls in vain in a row
	waits  int
}

// polls says whether a wait polls before it parks, and counts it.
func (h *handoff) polls() bool {
	h.waits++
	return h.misses < spinGiveUp || h.waits%spinRetry == 0
}

// recv returns the next batch of ch, nil when ch is closed.
func (h *handoff) recv(ch chan *batch) *batch {
	select {
	case b := <-ch:
		return b
	default:
	}
	if h.polls() {
		var start time.Time
		for i := 1; ; i++ {
			select {
			case b := <-ch:
				h.misses = 0
				return b
			default:
			}
			if i%64 != 0 {
				continue
			}
			if start.IsZero() {
				start = time.Now()
			} else if time.Since(start) > spinFor {
				break
			}
		}
		h.misses++
	}
	return <-ch
}
