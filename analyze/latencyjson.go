package analyze

import "encoding/json"

// A procedure with no timed reply (none came, or each ended in a capture
// hole) has no latency: JSON writes its latency_ms and latency_last_ms as
// null, not as zeros that read as replies in 0 ms. (The contract's example
// shows numbers; null is a change of type, noted in README.)

// MarshalJSON writes p, its latencies null when it has no timed reply.
func (p Procedure) MarshalJSON() ([]byte, error) {
	type plain Procedure // without this method
	if p.Replies <= p.Untimed {
		p.Latency.none, p.LatencyLast.none = true, true
	}
	return json.Marshal(plain(p))
}

// MarshalJSON writes l, or null when it summarises no reply.
func (l Latency) MarshalJSON() ([]byte, error) {
	if l.none {
		return []byte("null"), nil
	}
	type plain Latency // without this method
	return json.Marshal(plain(l))
}

// Timed reports whether p has a latency: a reply whose time the capture
// shows.
func (p *Procedure) Timed() bool { return p.Replies > p.Untimed }
