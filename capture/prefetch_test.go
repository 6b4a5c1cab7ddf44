package capture

import (
	"io"
	"slices"
	"testing"
	"time"
)

// seqSource hands out n packets whose Data and Frame say their place, and
// sleeps before every every-th one when slow is set (a slow pipe).
type seqSource struct {
	n, i  int
	every int
	slow  time.Duration
	buf   [64]byte
}

func (s *seqSource) Next(p *Packet) error {
	if s.i == s.n {
		return io.EOF
	}
	if s.slow > 0 && s.i%s.every == 0 {
		time.Sleep(s.slow)
	}
	s.i++
	size := 1 + s.i%len(s.buf)
	for j := range size {
		s.buf[j] = byte(s.i + j)
	}
	*p = Packet{Frame: int64(s.i), Data: s.buf[:size]}
	return nil
}

// TestPrefetchHandsOverEveryPacketInOrder checks the batches through the
// spinning and the parking hand-over alike: every packet once, in order,
// with its own bytes and a capacity that ends with them.
func TestPrefetchHandsOverEveryPacketInOrder(t *testing.T) {
	for _, tc := range []struct {
		name string
		src  seqSource
	}{
		{"fast", seqSource{n: 5 * batchPackets}},
		{"slow reader", seqSource{n: 3 * batchPackets, every: batchPackets / 2, slow: 2 * spinFor}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			src := tc.src
			var got int64
			err := Prefetch(&src, func(p *Packet) {
				got++
				if p.Frame != got {
					t.Fatalf("packet %d handed over as %d", got, p.Frame)
				}
				size := 1 + int(got)%len(src.buf)
				if len(p.Data) != size || cap(p.Data) != size {
					t.Fatalf("packet %d: len %d cap %d, want %d", got, len(p.Data), cap(p.Data), size)
				}
				for j, c := range p.Data {
					if c != byte(int(got)+j) {
						t.Fatalf("packet %d byte %d is %d, want %d", got, j, c, byte(int(got)+j))
					}
				}
			}, 1000, nil)
			if err != nil || got != int64(src.n) {
				t.Fatalf("Prefetch = %v after %d packets, want nil after %d", err, got, src.n)
			}
		})
	}
}

// TestHandoffStopsPollingAnEmptyChannel: a receiver whose polls keep
// finding nothing parks at once after spinGiveUp of them, polling again
// only every spinRetry waits.
func TestHandoffStopsPollingAnEmptyChannel(t *testing.T) {
	ch := make(chan *batch, 1)
	var h handoff
	// Batches that come long after any poll has ended.
	for i := 1; i <= spinGiveUp; i++ {
		go func() { time.Sleep(3 * spinFor); ch <- &batch{} }()
		if h.recv(ch) == nil {
			t.Fatal("recv returned nil on an open channel")
		}
		if h.misses != i {
			t.Fatalf("after %d vain polls misses = %d", i, h.misses)
		}
	}
	var polled []int
	for w := h.waits + 1; w <= 3*spinRetry; w++ {
		if h.polls() {
			polled = append(polled, w)
		}
	}
	if want := []int{spinRetry, 2 * spinRetry, 3 * spinRetry}; !slices.Equal(polled, want) {
		t.Fatalf("a receiver that gave up polled at waits %v, want %v", polled, want)
	}
	// A batch already there is taken without counting a wait.
	h = handoff{misses: spinGiveUp - 1}
	ch <- &batch{}
	h.recv(ch)
	if h.misses != spinGiveUp-1 || h.waits != 0 {
		t.Fatalf("a ready batch counted as a wait: misses %d waits %d", h.misses, h.waits)
	}
	close(ch)
	if b := h.recv(ch); b != nil {
		t.Fatal("recv on a closed channel returned a batch")
	}
}
