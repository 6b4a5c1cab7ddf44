package tcpflow

import (
	"bytes"
	"testing"

	"github.com/gopacket/gopacket/layers"
)

// IP fragment reassembly (defrag.go): duplicates and overlaps by the
// receiving host's rules (RFC 5722, Linux), and the bounds on its state.

// TestDefragDuplicateIsExact: a fragment is a duplicate only when a held
// fragment has its offset and its length. One that starts where a held one
// starts but ends inside it overlaps it (the datagram is dropped); an
// exact copy of a held fragment followed by an adjacent one is a
// duplicate (ignored; the datagram completes).
func TestDefragDuplicateIsExact(t *testing.T) {
	dg := udpPayload(serverPort, 88, 1) // 96 bytes: fragments of 32
	for _, v := range ipVersions {
		r := newFragRun(t, DefaultLimits)
		r.feed(1, v.frag(layers.IPProtocolUDP, 1, dg, piece{0, 64, true}))
		r.feed(2, v.frag(layers.IPProtocolUDP, 1, dg, piece{0, 32, true}))
		if got, want := r.skipped(), "2 "+SkipFragOverlap.String()+"; "; got != want {
			t.Errorf("%s: prefix of a held fragment: skipped %q, want %q", v.name, got, want)
		}
		r.finish(0)

		r = newFragRun(t, DefaultLimits)
		r.feed(1, v.frag(layers.IPProtocolUDP, 1, dg, piece{0, 32, true}))
		r.feed(2, v.frag(layers.IPProtocolUDP, 1, dg, piece{32, 32, true}))
		r.feed(3, v.frag(layers.IPProtocolUDP, 1, dg, piece{0, 32, true}))
		r.feed(4, v.frag(layers.IPProtocolUDP, 1, dg, piece{64, 32, false}))
		if got, want := r.skipped(), "1 "+SkipFragDuplicate.String()+"; "; got != want || len(r.out) != 1 || !bytes.Equal(r.out[0].payload, dg[8:]) {
			t.Errorf("%s: copy before an adjacent fragment: skipped %q, want %q; handed on %d", v.name, got, want, len(r.out))
		}
		r.finish(3)
	}
}

// TestDefragWordsCounted: the bitmap work counter counts every word
// visited: three fragments within the first 512 bytes set a word each, and
// the two after the first count the held blocks of one word each.
func TestDefragWordsCounted(t *testing.T) {
	dg := udpPayload(serverPort, 88, 1)
	r := newFragRun(t, DefaultLimits)
	for i, pc := range split(len(dg), 32) {
		r.feed(int64(i), frag4(layers.IPProtocolUDP, 1, dg, pc))
	}
	if r.f.frags.words != 5 || len(r.out) != 1 {
		t.Errorf("%d words, %d datagrams; want 5, 1", r.f.frags.words, len(r.out))
	}
	r.finish(3)
}

// TestDefragTooLongAlone: a fragment reaching beyond the largest datagram,
// of a datagram nothing else is held of, drops that datagram: one dropped.
func TestDefragTooLongAlone(t *testing.T) {
	big := make([]byte, 65536)
	r := newFragRun(t, DefaultLimits)
	r.feed(1, frag4(layers.IPProtocolUDP, 1, big, piece{65512, 8, true})) // ends at 65520 > 65515
	if got := r.f.Stats.FragDroppedCount(SkipFragTooLong); got != 1 || r.f.Stats.Skipped[SkipFragTooLong] != 1 {
		t.Errorf("%d dropped, %d skipped; want 1, 1", got, r.f.Stats.Skipped[SkipFragTooLong])
	}
	r.finish(0)
}

// TestDefragFirstFourBytes: a first fragment of which the snaplen kept only
// the 4 bytes of the UDP ports shows where the datagram goes: to a port not
// analysed, its fragments count as such.
func TestDefragFirstFourBytes(t *testing.T) {
	dg := udpPayload(9999, 2952, 1) // 2960 bytes: 2 fragments
	r := newFragRun(t, DefaultLimits)
	pcs := split(len(dg), 1480)
	first := frag4(layers.IPProtocolUDP, 1, dg, pcs[0])
	r.feed(1, first[:len(first)-pcs[0].n+4])
	r.feed(2, frag4(layers.IPProtocolUDP, 1, dg, pcs[1]))
	if got, want := r.skipped(), "2 "+SkipOtherPort.String()+"; "; got != want {
		t.Errorf("skipped %q, want %q", got, want)
	}
	r.finish(0)
}

// TestDefragBytesBound: FragBytes bounds the buffers held, inclusive:
// buffers are 2 KiB doubling, the smallest that holds the bytes up to the
// end of the fragment; a fragment with no captured byte holds none.
func TestDefragBytesBound(t *testing.T) {
	limits := Limits{FragBytes: 4096}
	dgA, dgB := udpPayload(serverPort, 4088, 1), udpPayload(serverPort, 4088, 2) // 4096 bytes each
	half := piece{0, 2048, true}
	r := newFragRun(t, limits)
	r.feed(1, frag4(layers.IPProtocolUDP, 1, dgA, half))
	r.feed(2, frag4(layers.IPProtocolUDP, 2, dgB, half))
	if r.skipped() != "" || r.f.frags.held != 4096 {
		t.Errorf("two 2 KiB buffers in 4 KiB: skipped %q, %d held", r.skipped(), r.f.frags.held)
	}
	r.finish(0)

	// One datagram growing from 2 KiB to 4 KiB fits.
	dg := udpPayload(serverPort, 2952, 1)
	r = newFragRun(t, limits)
	for i, pc := range split(len(dg), 1480) {
		r.feed(int64(i), frag4(layers.IPProtocolUDP, 1, dg, pc))
	}
	if r.skipped() != "" || len(r.out) != 1 {
		t.Errorf("a datagram of 2960 bytes in 4 KiB: skipped %q, %d handed on", r.skipped(), len(r.out))
	}
	r.finish(2)

	// A fragment whose bytes the snaplen cut away entirely, far into its
	// datagram, holds no buffer: the other datagram is kept.
	r = newFragRun(t, limits)
	pcs := split(len(dgA), 1480)
	r.feed(1, frag4(layers.IPProtocolUDP, 1, dgA, pcs[0]))
	far := frag4(layers.IPProtocolUDP, 2, dgB, pcs[2])
	r.feed(2, far[:len(far)-pcs[2].n])
	r.feed(3, frag4(layers.IPProtocolUDP, 1, dgA, pcs[1]))
	r.feed(4, frag4(layers.IPProtocolUDP, 1, dgA, pcs[2]))
	if len(r.out) != 1 || !bytes.Equal(r.out[0].payload, dgA[8:]) || r.f.Stats.Skipped[SkipFragBytesFull] != 0 {
		t.Errorf("skipped %q, %d handed on", r.skipped(), len(r.out))
	}
	r.finish(3)
}

// TestDefragFreeListsBounded: the records and buffers of dropped datagrams
// are kept for reuse, at most fragFreeKept records and fragBufsKept
// buffers of a size.
func TestDefragFreeListsBounded(t *testing.T) {
	dg := udpPayload(serverPort, 2952, 1)
	r := newFragRun(t, Limits{FragDatagrams: 200})
	for i := range 100 {
		r.feed(1, frag4(layers.IPProtocolUDP, uint16(i), dg, piece{0, 1480, true}))
	}
	r.finish(0)
	if d := r.f.frags; len(d.free) != fragFreeKept || len(d.bufs[0]) != fragBufsKept {
		t.Errorf("%d records, %d buffers kept; want %d, %d", len(d.free), len(d.bufs[0]), fragFreeKept, fragBufsKept)
	}
}

// TestDefragBufferKeptWhenItFits: a fragment whose bytes fit in the buffer
// its datagram holds is copied into it, not into a new one: a datagram of
// 2 KiB in two fragments, then a last one past 2 KiB, needs one 2 KiB
// buffer and one 4 KiB buffer, which the pool then keeps.
func TestDefragBufferKeptWhenItFits(t *testing.T) {
	dg := udpPayload(serverPort, 2048, 1) // 2056 bytes
	r := newFragRun(t, DefaultLimits)
	for i, pc := range []piece{{0, 1024, true}, {1024, 1024, true}, {2048, 8, false}} {
		r.feed(int64(i), frag4(layers.IPProtocolUDP, 1, dg, pc))
	}
	if d := r.f.frags; len(r.out) != 1 || len(d.bufs[0]) != 1 || len(d.bufs[1]) != 1 {
		t.Errorf("%d handed on; pool: %d of 2 KiB, %d of 4 KiB; want 1, 1, 1", len(r.out), len(d.bufs[0]), len(d.bufs[1]))
	}
	r.finish(3)
}
