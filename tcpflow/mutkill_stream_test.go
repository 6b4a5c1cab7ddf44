package tcpflow

import (
	"strings"
	"testing"
)

// Reassembly contract tests (stream.go), each with the expected deliveries
// computed by hand from the contract stated in it.

// TestAckOnlyThenBehind: a direction synced by the peer's ACK alone (no
// byte of it captured), whose stream the peer then ACKed further (a gap
// the peer's ACK proves), takes a segment that starts before that ACK as a
// re-send: only its bytes beyond the ACK are new. A segment behind by
// exactly seqFar (2^30) is still a re-send of old bytes, and dropped
// whole, not a new start of the stream.
func TestAckOnlyThenBehind(t *testing.T) {
	data := "0123456789" + strings.Repeat("x", 90) // 100 bytes at 1050..1150
	r := newMrun(t, DefaultLimits)
	r.feedAll(seqAt(
		pkt{seq: 5000, ack: 1000, flags: ack}, // the client's stream is at 1000
		pkt{seq: 5000, ack: 1100, flags: ack}, // 100 bytes ACKed, never captured
		pkt{toServer: true, seq: 1050, ack: 5000, flags: ack, data: data},
	)...)
	r.f.Finish()
	checkLog(t, "behind the ACK", r.log.String(), `c1 open @1
c1 > gap 100 acked @2
c1 > acked 100 @2
c1 > data "`+data[50:]+`" @3
c1 close
`)

	base, far := uint32(1100), uint32(seqFar)
	old := base - far
	r = newMrun(t, DefaultLimits)
	r.feedAll(seqAt(
		pkt{seq: 5000, ack: 1000, flags: ack},
		pkt{seq: 5000, ack: 1100, flags: ack},
		pkt{toServer: true, seq: old, ack: 5000, flags: ack, data: "old"},
		pkt{toServer: true, seq: 1100, ack: 5000, flags: ack, data: "new"},
	)...)
	r.f.Finish()
	checkLog(t, "seqFar behind the ACK", r.log.String(), `c1 open @1
c1 > gap 100 acked @2
c1 > acked 100 @2
c1 > data "new" @4
c1 close
`)
}

// TestQueueLimitsAreInclusive: a queue limit is the most a queue may hold
// (bytes per direction, bytes in all, segments per direction, segments in
// all): a queue at its limit keeps waiting for its hole, one past it
// declares the hole lost.
func TestQueueLimitsAreInclusive(t *testing.T) {
	big := DefaultLimits
	for _, tc := range []struct {
		name   string
		limits Limits
	}{
		{"bytes per direction", Limits{QueuePerDirection: 10}},
		{"bytes in all", Limits{QueuePerDirection: big.QueuePerDirection, QueueTotal: 10}},
		{"segments per direction", Limits{QueueSegments: 2}},
		{"segments in all", Limits{QueueSegments: big.QueueSegments, QueueSegmentsTotal: 2}},
	} {
		// A hole of 8 bytes at 102..110, then 10 bytes in 2 segments behind it.
		hole := []pkt{
			{toServer: true, seq: 100, ack: 1, flags: ack, data: "ab"},
			{toServer: true, seq: 110, ack: 1, flags: ack, data: "01234"},
			{toServer: true, seq: 115, ack: 1, flags: ack, data: "56789"},
		}
		r := newMrun(t, tc.limits)
		r.feedAll(seqAt(append(hole, pkt{toServer: true, seq: 102, ack: 1, flags: ack, data: "cdefghij"})...)...)
		r.f.Finish()
		checkLog(t, tc.name+": at the limit", r.log.String(), `c1 open @1
c1 > data "ab" @1
c1 > data "cdefghij" @4
c1 > data "01234" @4
c1 > data "56789" @4
c1 close
`)
		if r.f.Stats.ForcedGaps != 0 {
			t.Errorf("%s: %d forced gaps at the limit", tc.name, r.f.Stats.ForcedGaps)
		}
		// One byte (and segment) more: the hole is declared lost.
		r = newMrun(t, tc.limits)
		r.feedAll(seqAt(append(hole, pkt{toServer: true, seq: 120, ack: 1, flags: ack, data: "!"})...)...)
		r.f.Finish()
		checkLog(t, tc.name+": past the limit", r.log.String(), `c1 open @1
c1 > data "ab" @1
c1 > gap 8 lost @2
c1 > data "01234" @2
c1 > data "56789" @3
c1 > data "!" @4
c1 close
`)
	}
}

// TestQueueTotalAcrossConnections: the total bound counts the queues of
// every connection: a connection whose bytes take the total past it has its
// own hole declared lost, though its own queue is under the per-direction
// bound.
func TestQueueTotalAcrossConnections(t *testing.T) {
	r := newMrun(t, Limits{QueueTotal: 10})
	r.feedAll(seqAt(
		pkt{toServer: true, srcPort: 801, seq: 100, ack: 1, flags: ack, data: "ab"},
		pkt{toServer: true, srcPort: 801, seq: 110, ack: 1, flags: ack, data: "012345"}, // 6 queued
		pkt{toServer: true, srcPort: 802, seq: 100, ack: 1, flags: ack, data: "AB"},
		pkt{toServer: true, srcPort: 802, seq: 110, ack: 1, flags: ack, data: "6789!"}, // 11 in all
	)...)
	r.f.Finish()
	checkLog(t, "total", r.log.String(), `c1 open @1
c1 > data "ab" @1
c2 open @3
c2 > data "AB" @3
c2 > gap 8 lost @4
c2 > data "6789!" @4
c1 > gap 8 lost @2
c1 > data "012345" @2
c1 close
c2 close
`)
}

// TestNoEmptyData: a re-sent segment whose captured bytes are all already
// delivered, but whose snaplen-cut tail is not, delivers only that tail,
// as a gap: the handler is never handed an empty Data.
func TestNoEmptyData(t *testing.T) {
	r := newMrun(t, DefaultLimits)
	r.feedAll(seqAt(
		pkt{toServer: true, seq: 100, ack: 1, flags: ack, data: "abcdefghij", capLen: 4}, // 100..110, 4 captured
		pkt{toServer: true, seq: 104, ack: 1, flags: ack, data: "efghijklmn", capLen: 6}, // 104..114, 6 captured: 104..110 old
	)...)
	r.f.Finish()
	checkLog(t, "snaplen re-send", r.log.String(), `c1 open @1
c1 > data "abcd" @1
c1 > gap 6 snaplen @1
c1 > gap 4 snaplen @2
c1 close
`)
}

// TestOverlapOffsets: bytes re-sent with new ones count once in the stream
// offsets: after "abcd" at 1000 and "cdef" at 1002, an ACK of 1006
// acknowledges 6 bytes.
func TestOverlapOffsets(t *testing.T) {
	r := newMrun(t, DefaultLimits)
	r.feedAll(seqAt(
		pkt{toServer: true, seq: 1000, ack: 1, flags: ack, data: "abcd"},
		pkt{toServer: true, seq: 1002, ack: 1, flags: ack, data: "cdef"},
		pkt{seq: 1, ack: 1006, flags: ack},
	)...)
	r.f.Finish()
	checkLog(t, "overlap", r.log.String(), `c1 open @1
c1 > data "abcd" @1
c1 > data "ef" @2
c1 > acked 6 @3
c1 close
`)
}

// TestQueuedFirstCopyWins: as for bytes in order (a re-send delivers only
// bytes not yet delivered), the first captured copy of a queued byte is the
// one delivered, whatever order the copies are queued in: a second copy at
// the same sequence number as one queued, at the end of the queue or in
// its middle, delivers only its bytes beyond the first.
func TestQueuedFirstCopyWins(t *testing.T) {
	r := newMrun(t, DefaultLimits)
	r.feedAll(seqAt(
		pkt{toServer: true, seq: 100, ack: 1, flags: ack, data: "ab"},
		pkt{toServer: true, seq: 110, ack: 1, flags: ack, data: "AAAA"},     // 110..114
		pkt{toServer: true, seq: 110, ack: 1, flags: ack, data: "BBBBBB"},   // 110..116, the same start, at the end
		pkt{toServer: true, seq: 130, ack: 1, flags: ack, data: "CC"},       // 130..132
		pkt{toServer: true, seq: 120, ack: 1, flags: ack, data: "DDDD"},     // 120..124
		pkt{toServer: true, seq: 120, ack: 1, flags: ack, data: "EEEEEE"},   // 120..126, the same start, in the middle
		pkt{toServer: true, seq: 102, ack: 1, flags: ack, data: "cdefghij"}, // fills 102..110
	)...)
	r.f.Finish()
	checkLog(t, "copies", r.log.String(), `c1 open @1
c1 > data "ab" @1
c1 > data "cdefghij" @7
c1 > data "AAAA" @7
c1 > data "BB" @7
c1 > gap 4 lost @5
c1 > data "DDDD" @5
c1 > data "EE" @6
c1 > gap 4 lost @4
c1 > data "CC" @4
c1 close
`)
}

// TestLaterFrame: queued bytes count from the frame that filled their
// hole when it is the later one (by time, then by frame in the same file):
// with equal timestamps (a capture's clock resolution), the later frame.
// Queued bytes behind a hole declared lost keep their own frame, even at
// time 0.
func TestLaterFrame(t *testing.T) {
	for _, ns := range []int64{0, 5e6} {
		r := newMrun(t, DefaultLimits)
		r.feedAll(
			at(ns, pkt{toServer: true, seq: 100, ack: 1, flags: ack, data: "ab"}),
			at(ns, pkt{toServer: true, seq: 104, ack: 1, flags: ack, data: "ef"}),
			at(ns, pkt{toServer: true, seq: 102, ack: 1, flags: ack, data: "cd"}),
			at(ns, pkt{toServer: true, seq: 110, ack: 1, flags: ack, data: "XY"}),
		)
		r.f.Finish()
		checkLog(t, "equal times", r.log.String(), `c1 open @1
c1 > data "ab" @1
c1 > data "cd" @3
c1 > data "ef" @3
c1 > gap 4 lost @4
c1 > data "XY" @4
c1 close
`)
	}
	a := FrameRef{File: 1, Frame: 7, Time: 5}
	for _, tc := range []struct {
		b    FrameRef
		want FrameRef
	}{
		{FrameRef{File: 1, Frame: 8, Time: 5}, FrameRef{File: 1, Frame: 8, Time: 5}},
		{FrameRef{File: 1, Frame: 6, Time: 5}, a},
		{FrameRef{File: 2, Frame: 8, Time: 5}, a}, // another file, the same time: neither is later
		{FrameRef{File: 0, Frame: 1, Time: 6}, FrameRef{File: 0, Frame: 1, Time: 6}},
		{FrameRef{File: 3, Frame: 99, Time: 4}, a},
		{FrameRef{}, a},
	} {
		if got := later(a, tc.b); got != tc.want {
			t.Errorf("later(%+v, %+v) = %+v, want %+v", a, tc.b, got, tc.want)
		}
	}
}

// TestReachWithWindowScale: with the handshake's window scale known, a
// sequence or ACK number is believed up to the receiver's largest window
// plus the queue bound plus 64 KiB ahead (reach): bytes in order are
// delivered, an ACK beyond reach is believed only when the next ACK
// confirms it within reach of it, and one twice as far is not.
func TestReachWithWindowScale(t *testing.T) {
	limits := Limits{QueuePerDirection: 1000}
	reach := uint32(512 + 1000 + 1<<16) // largest window 512, scale 0
	syn := []tp{
		{pkt: pkt{toServer: true, seq: 100, flags: FlagSYN}, ns: 1e6, wscale: 0},
		{pkt: pkt{seq: 5000, ack: 101, flags: FlagSYN | ack}, ns: 2e6, wscale: 0},
		at(3e6, pkt{toServer: true, seq: 101, ack: 5001, flags: ack, data: "abc"}),
	}
	r := newMrun(t, limits)
	r.feedAll(syn...)
	r.feedAll(
		at(4e6, pkt{seq: 5001, ack: 104 + reach + 10, flags: ack}),    // beyond reach: not believed
		at(5e6, pkt{seq: 5001, ack: 104 + 3*reach, flags: ack}),       // beyond reach of that one too
		at(6e6, pkt{seq: 5001, ack: 104 + 3*reach + 100, flags: ack}), // within reach of the last: believed
	)
	r.f.Finish()
	checkLog(t, "far ACKs", r.log.String(), `c1 open @1
c1 > data "abc" @3
c1 > gap 201244 acked @6
c1 > acked 201247 @6
c1 close
`)
	// A segment as far ahead as the window plus the queue is believed
	// (queued behind its hole), not dropped.
	r = newMrun(t, limits)
	r.feedAll(syn...)
	r.feedAll(at(4e6, pkt{toServer: true, seq: 104 + 512 + 1000, ack: 5001, flags: ack, data: "far"}))
	r.f.Finish()
	checkLog(t, "far segment", r.log.String(), `c1 open @1
c1 > data "abc" @3
c1 > gap 1512 lost @4
c1 > data "far" @4
c1 close
`)
	if r.f.Stats.Implausible != 0 {
		t.Errorf("%d segments dropped as implausible", r.f.Stats.Implausible)
	}
}

// TestUnackedStart: a re-sent run still unACKed at the end starts at its
// stream offset, 0 for the stream's first byte, also when the stream has
// since moved seqFar (2^30) bytes on.
func TestUnackedStart(t *testing.T) {
	for _, far := range []bool{false, true} {
		r := newMrun(t, DefaultLimits)
		r.feedAll(seqAt(
			pkt{toServer: true, seq: 1000, ack: 1, flags: ack, data: "abc"},
			pkt{toServer: true, seq: 1000, ack: 1, flags: ack, data: "abc"},
		)...)
		if far {
			// Queued, then delivered behind a hole at the end: the stream's
			// next byte is then 1000+seqFar.
			r.feed(at(3e6, pkt{toServer: true, seq: uint32(1000 + seqFar - 1), ack: 1, flags: ack, data: "d"}))
		}
		r.f.Finish()
		sum := r.sums[1]
		if sum == nil || len(sum.Unacked) != 1 || sum.Unacked[0].Seq != 1000 || sum.Unacked[0].Start != 0 {
			t.Errorf("far=%v: unacked %+v\n%s", far, sum, r.log.String())
		}
	}
}
