package analyze

// The data behind the HTML report's pictures (report/html.go draws them;
// analyze only measures). Every list here is bounded whatever the
// capture's size: a picture of a million points helps nobody, and the
// report must stay small. What a bound leaves out is counted beside it.

// Timeline is what one connection did over time: its TCP data segments,
// the ACKs and windows each side advertised, and how many calls waited
// for a reply. Report.Timelines has one for each of the first 10
// diagnoses (a stall), or, with none, for the 3 connections with the most
// calls; timeline.go says how they are kept (Options.MaxTimelines).
type Timeline struct {
	Connection int `json:"connection"`
	// Segments are the data segments of both directions, in capture
	// order (the last 4,096); Acks the ACK and window each side
	// advertised, one point where either changed (the last 2,048).
	Segments []SegmentPoint `json:"segments"`
	Acks     []AckPoint     `json:"acks"`
	// Outstanding is how many calls waited for a reply on the
	// connection (calls first sent there: one re-sent on another after a
	// reconnect counts on the first), one point where the number changed:
	// a call tracked, answered, or dropped at a bound (the last 1,024).
	Outstanding []CountPoint `json:"outstanding"`
	// Dropped counts the points not kept (the oldest go first: a stall
	// is at the end of what a connection did).
	DroppedSegments    int64 `json:"dropped_segments"`
	DroppedAcks        int64 `json:"dropped_acks"`
	DroppedOutstanding int64 `json:"dropped_outstanding"`
}

// SegmentPoint is one TCP segment that carried data.
type SegmentPoint struct {
	// TimeMS is milliseconds since the first packet of the first capture.
	TimeMS  float64 `json:"t_ms"`
	Capture int     `json:"capture"`
	Frame   int64   `json:"frame"`
	// FromServer says who sent it.
	FromServer bool `json:"from_server"`
	// Seq is the relative sequence number, as Wireshark shows it
	// (Finding.Seq), Len the payload length on the wire.
	Seq uint32 `json:"seq"`
	Len uint32 `json:"len"`
	// Retransmission: sequence space sent before (tcp.analysis.retransmission
	// and its kinds).
	Retransmission bool `json:"retransmission,omitempty"`
}

// AckPoint is an ACK (and window) advertised by one side.
type AckPoint struct {
	TimeMS     float64 `json:"t_ms"`
	Capture    int     `json:"capture"`
	Frame      int64   `json:"frame"`
	FromServer bool    `json:"from_server"` // who sent the ACK
	// Ack is relative to the other side's sequence numbers, as Seq;
	// Window the receive window in bytes, scaled.
	Ack    uint32 `json:"ack"`
	Window uint32 `json:"window"`
}

// CountPoint is a count that holds from TimeMS until the next point.
type CountPoint struct {
	TimeMS float64 `json:"t_ms"`
	N      int     `json:"n"`
}

// LatencySeries is one procedure's response time over the capture, in
// buckets of equal length (merged two by two as the capture grows, so
// their number stays bounded).
type LatencySeries struct {
	Procedure string `json:"procedure"` // as Procedure.Name
	Program   string `json:"program"`   // as Procedure.ProgramName
	// ProgramNumber and Version are the row's Procedure.Program and
	// Procedure.Version: names alone repeat across versions.
	ProgramNumber uint32  `json:"program_number"`
	Version       uint32  `json:"version"`
	BucketMS      float64 `json:"bucket_ms"`
	// Buckets are the buckets with replies, in time order (an empty one
	// is left out: a bucket starts at TimeMS and lasts BucketMS).
	Buckets []LatencyPoint `json:"buckets"`
}

// LatencyPoint summarises the replies answered in one bucket.
type LatencyPoint struct {
	TimeMS float64 `json:"t_ms"` // the bucket's start
	Count  int     `json:"count"`
	MinMS  float64 `json:"min_ms"`
	MeanMS float64 `json:"mean_ms"`
	MaxMS  float64 `json:"max_ms"`
}
