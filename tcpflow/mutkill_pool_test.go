package tcpflow

import "testing"

// The out-of-order buffer pool (stream.go): a queued segment holds a buffer
// of the smallest class that fits it, a buffer given back is reused, and
// each class keeps at most poolBufs free buffers.
func TestBufferPoolClasses(t *testing.T) {
	f := NewFlows([]uint16{serverPort}, DefaultLimits, func(*ConnInfo) ConnHandler { return quietHandler{} })
	for _, tc := range []struct{ n, cap int }{
		{1, 256}, {255, 256}, {256, 256}, {257, 2048}, {2048, 2048}, {2049, 9216}, {9216, 9216}, {9217, 9217},
	} {
		b := f.getBuf(tc.n)
		if len(b) != tc.n || cap(b) != tc.cap {
			t.Errorf("getBuf(%d): len %d cap %d, want cap %d", tc.n, len(b), cap(b), tc.cap)
		}
	}
	// Given back and taken again, a buffer of every class is reused: no
	// allocation once the pool holds one.
	for _, n := range []int{100, 256, 1500, 2048, 9000} {
		f.putBuf(f.getBuf(n))
		if allocs := testing.AllocsPerRun(100, func() { f.putBuf(f.getBuf(n)) }); allocs != 0 {
			t.Errorf("getBuf(%d) after putBuf: %v allocations", n, allocs)
		}
	}
	// The pool keeps at most poolBufs of a class.
	bufs := make([][]byte, 2*poolBufs)
	for i := range bufs {
		bufs[i] = f.getBuf(100)
	}
	for _, b := range bufs {
		f.putBuf(b)
	}
	if got := len(f.freeBufs[0]); got != poolBufs {
		t.Errorf("%d buffers kept, want %d", got, poolBufs)
	}
}
