package capture

import (
	"io"
	"slices"
	"testing"
	"time"
	"unsafe"
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
	// Batches that come long after any poll has ended (200 polls' time:
	// a poller descheduled past the batch's coming would find it).
	for i := 1; i <= spinGiveUp; i++ {
		go func() { time.Sleep(200 * spinFor); ch <- &batch{} }()
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

// sizedSource hands out n packets of size bytes each.
type sizedSource struct {
	n, i, size int
	buf        []byte
}

func (s *sizedSource) Next(p *Packet) error {
	if s.i == s.n {
		return io.EOF
	}
	s.i++
	if len(s.buf) < s.size {
		s.buf = make([]byte, s.size)
	}
	*p = Packet{Frame: int64(s.i), Data: s.buf[:s.size:s.size]}
	return nil
}

// TestPrefetchBatches checks where batches end, from where each packet
// and its bytes lie: within a batch, both follow the packet before them in
// its arrays; a packet where either does not is the first of a new batch
// (two batches' arrays may lie end to end, but a batch that filled its
// bytes used few of its packets, and one that filled its packets few of
// its bytes). Small packets fill a batch by count
// (batchPackets), large ones by bytes (batchBytes, a batch holding as
// many as fit exactly); the progress callback comes every `every` packets
// read, with the count.
func TestPrefetchBatches(t *testing.T) {
	for _, tc := range []struct {
		name       string
		n, size    int
		wantBreaks int
	}{
		{"by count", 5*batchPackets + 7, 64, 5},
		{"by bytes, exactly full", 4*(batchBytes/(64<<10)) + 1, 64 << 10, 4},
		{"by bytes, one more would not fit", 10, batchBytes/3 + 1, 4},
	} {
		t.Run(tc.name, func(t *testing.T) {
			src := &sizedSource{n: tc.n, size: tc.size}
			var breaks, got int
			var end, next uintptr
			var ticks []int64
			err := Prefetch(src, func(p *Packet) {
				start := uintptr(unsafe.Pointer(unsafe.SliceData(p.Data)))
				at := uintptr(unsafe.Pointer(p))
				if got > 0 && (start != end || at != next) {
					breaks++
				}
				end, next = start+uintptr(len(p.Data)), at+unsafe.Sizeof(*p)
				got++
			}, 3, func(n int64) { ticks = append(ticks, n) })
			if err != nil || got != tc.n {
				t.Fatalf("Prefetch = %v after %d packets, want nil after %d", err, got, tc.n)
			}
			if breaks != tc.wantBreaks {
				t.Errorf("%d packets of %d bytes came in %d batches, want %d", tc.n, tc.size, breaks+1, tc.wantBreaks+1)
			}
			if len(ticks) != tc.n/3 || len(ticks) > 0 && (ticks[0] != 3 || ticks[len(ticks)-1] != int64(tc.n/3*3)) {
				t.Errorf("progress ticks %v, want every 3 packets up to %d", ticks, tc.n/3*3)
			}
		})
	}
}
