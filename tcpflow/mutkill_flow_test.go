package tcpflow

import "testing"

// Handshake and segment dispatch (flow.go): expected deliveries computed by
// hand from the rules stated in Flows.tcp.

// TestSynAckCorrectsISN: when the SYN-ACK acknowledges another ISN than the
// SYN seen (a damaged SYN), the ISN it acknowledges is the client's: the
// client's SYN re-sent with it is the same connection, not a new one.
func TestSynAckCorrectsISN(t *testing.T) {
	r := newMrun(t, DefaultLimits)
	r.feedAll(seqAt(
		pkt{toServer: true, seq: 100, flags: FlagSYN}, // damaged: the ISN is 500
		pkt{seq: 5000, ack: 501, flags: FlagSYN | ack},
		pkt{toServer: true, seq: 500, flags: FlagSYN}, // re-sent
		pkt{toServer: true, seq: 501, ack: 5001, flags: ack, data: "abc"},
	)...)
	r.f.Finish()
	checkLog(t, "re-sent SYN", r.log.String(), `c1 open @1
c1 > data "abc" @4
c1 close
`)
}

// TestSecondSynAck: a SYN with another ISN, before any byte of its
// direction, sets that direction's sequence space anew (a server answering
// a re-sent SYN with a new ISN).
func TestSecondSynAck(t *testing.T) {
	r := newMrun(t, DefaultLimits)
	r.feedAll(seqAt(
		pkt{toServer: true, seq: 100, flags: FlagSYN},
		pkt{seq: 5000, ack: 101, flags: FlagSYN | ack},
		pkt{seq: 7000, ack: 101, flags: FlagSYN | ack},
		pkt{seq: 7001, ack: 101, flags: ack, data: "xyz"},
	)...)
	r.f.Finish()
	checkLog(t, "second SYN-ACK", r.log.String(), `c1 open @1
c1 < data "xyz" @4
c1 close
`)
}

// TestPureAckNotImplausible: a segment without payload carries no byte of
// its stream: a damaged sequence number on a pure ACK drops nothing, so it
// is not counted as an implausible segment, and the stream goes on.
func TestPureAckNotImplausible(t *testing.T) {
	r := newMrun(t, DefaultLimits)
	r.feedAll(seqAt(
		pkt{toServer: true, seq: 1000, ack: 1, flags: ack, data: "abc"},
		pkt{toServer: true, seq: 1003 + 1<<31, ack: 1, flags: ack},
		pkt{toServer: true, seq: 1003, ack: 1, flags: ack, data: "def"},
	)...)
	r.f.Finish()
	checkLog(t, "pure ACK", r.log.String(), `c1 open @1
c1 > data "abc" @1
c1 > data "def" @3
c1 close
`)
	if r.f.Stats.Implausible != 0 {
		t.Errorf("%d implausible segments, want 0", r.f.Stats.Implausible)
	}
}
