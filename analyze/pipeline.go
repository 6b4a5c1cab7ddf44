package analyze

import (
	"errors"
	"io"

	"nfsstall/tcpflow"
)

// The pipelined path: one goroutine reads the files (system calls, gzip,
// the pcap and pcapng record formats) and hands packets in batches to the
// goroutine that analyses them. The batches and their buffers are recycled
// through a channel, so the steady state allocates nothing. Packets reach
// the analysis in the same order as on the sequential path, so the report
// is the same.

// Batch sizes: enough packets per hand-over that the channel costs little,
// few enough batches that the memory stays small (4 x 256 KiB).
const (
	batchPackets = 1024
	batchBytes   = 256 << 10
	batches      = 4
)

type batch struct {
	pkts []tcpflow.Packet // Data of each points into buf
	buf  []byte
}

// readPipelined reads in a goroutine of its own and analyses here.
func (a *Analyzer) readPipelined(in *tcpflow.Input) error {
	full := make(chan *batch, batches)
	free := make(chan *batch, batches)
	for range batches {
		free <- &batch{pkts: make([]tcpflow.Packet, 0, batchPackets), buf: make([]byte, 0, batchBytes)}
	}
	var readErr error
	go func() {
		defer close(full)
		b := <-free
		var p tcpflow.Packet
		var n int64
		for {
			err := in.Next(&p)
			if err != nil {
				if !errors.Is(err, io.EOF) {
					readErr = err
				}
				break
			}
			if len(b.pkts) == cap(b.pkts) || len(b.buf)+len(p.Data) > cap(b.buf) {
				full <- b
				b = <-free
				b.pkts, b.buf = b.pkts[:0], b.buf[:0]
			}
			// The decoder finds layer offsets from slice capacities: the
			// copy must end where its capacity does.
			off := len(b.buf)
			b.buf = append(b.buf, p.Data...)
			p.Data = b.buf[off:len(b.buf):len(b.buf)]
			b.pkts = append(b.pkts, p)
			n++
			if a.opts.Progress != nil && n%progressEvery == 0 {
				a.progress(in, n)
			}
		}
		if len(b.pkts) > 0 {
			full <- b
		}
	}()
	for b := range full {
		for i := range b.pkts {
			a.flows.Packet(&b.pkts[i])
		}
		free <- b
	}
	return readErr
}
