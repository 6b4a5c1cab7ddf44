package analyze

import (
	"strconv"
	"time"

	"github.com/nfsstall/nfsstall/tcpflow"
)

// SchemaVersion is the version of the JSON report contract
// (../shared/report-json.md). Keys are only added within a version.
const SchemaVersion = 1

// Time is a capture timestamp, ns since the Unix epoch. It marshals as an
// RFC 3339 string in UTC with nanoseconds.
type Time int64

// MarshalText formats t as 2006-01-02T15:04:05.000000000Z (a JSON string;
// a TextMarshaler is cheaper for encoding/json than a Marshaler, whose
// output it re-validates).
func (t Time) MarshalText() ([]byte, error) {
	return time.Unix(0, int64(t)).UTC().AppendFormat(make([]byte, 0, 30), "2006-01-02T15:04:05.000000000Z07:00"), nil
}

// String formats t for people, in UTC with microseconds.
func (t Time) String() string {
	return time.Unix(0, int64(t)).UTC().Format("2006-01-02 15:04:05.000000")
}

// XID is an RPC transaction id; it marshals as "0x" + 8 hex digits.
type XID uint32

// MarshalText formats x as 0x%08x (a JSON string).
func (x XID) MarshalText() ([]byte, error) { return []byte(x.String()), nil }

func (x XID) String() string {
	s := strconv.FormatUint(uint64(x), 16)
	return "0x" + "00000000"[len(s):] + s
}

// Report is everything nfsstall found in one set of capture files.
type Report struct {
	SchemaVersion int          `json:"schema_version"`
	Captures      []Capture    `json:"captures"`
	Summary       Summary      `json:"summary"`
	Procedures    []Procedure  `json:"procedures"`
	Connections   []Connection `json:"connections"`
	// ConnectionGroups sums, per client address and server, the
	// connections not listed in Connections (see Options.MaxConnsListed).
	// An extra beyond the contract.
	ConnectionGroups []ConnectionGroup `json:"connection_groups"`
	Findings         []Finding         `json:"findings"`
	Diagnoses        []Diagnosis       `json:"diagnoses"`
	// Unanswered lists every call with no reply by the end of the capture,
	// whatever its age (findings only hold those past the stall threshold).
	Unanswered []Unanswered `json:"unanswered_calls"`
	// Skipped says what was not analysed and why.
	Skipped []Skipped `json:"skipped"`
	// Warnings are problems with the input that did not stop the analysis.
	Warnings []string `json:"warnings"`
	// Completeness says what the capture missed and what that means for
	// the verdicts; empty when, as far as the ACKs show, it missed nothing.
	// An extra beyond the contract.
	Completeness []string `json:"completeness"`
	// Operations counts every NFSv4 operation inside every COMPOUND call,
	// and every callback operation inside every CB_COMPOUND (nfs4.go).
	Operations []Operation `json:"operations"`
	// NFS4Sessions lists the NFSv4.1 sessions and their slots (session.go);
	// an extra beyond the contract.
	NFS4Sessions []NFS4Session `json:"nfs4_sessions"`
	// Untracked says what the analysis stopped tracking at a bound on its
	// state (nil when nothing): a stall there cannot be seen, so the text
	// report's answer never says a bare "no stall found".
	Untracked *Untracked `json:"untracked,omitempty"`
	// OtherPorts lists the ports not analysed where RPC calls were seen
	// (otherports.go); an extra beyond the contract.
	OtherPorts []OtherPort `json:"rpc_other_ports"`
	// Ports are the server ports analysed; an extra beyond the contract.
	Ports []uint16 `json:"ports"`
	// StallAfterMS is --stall-after: a call unanswered for less at the
	// end of the capture is not a stall; an extra beyond the contract.
	StallAfterMS float64 `json:"stall_after_ms"`
	// Timelines and LatencyOverTime are the data of the HTML report's
	// pictures (picture.go); extras beyond the contract.
	Timelines       []Timeline      `json:"timelines,omitempty"`
	LatencyOverTime []LatencySeries `json:"latency_over_time,omitempty"`
}

// Untracked counts what the analysis left out at its bounds.
type Untracked struct {
	// RefusedPackets are the packets of new connections refused because
	// the connection table was full of connections that carried RPC
	// (MaxConnections of them at once).
	RefusedPackets int64 `json:"refused_packets"`
	MaxConnections int   `json:"max_connections"`
	// Calls were not tracked for a reply: as many were already waiting as
	// allowed, MaxCalls in all or MaxCallsPerConn on one connection.
	Calls           int64 `json:"calls"`
	MaxCalls        int   `json:"max_calls"`
	MaxCallsPerConn int   `json:"max_calls_per_connection"`
}

// Capture describes one input file.
type Capture struct {
	File        string   `json:"file"`
	Format      string   `json:"format"`
	Compressed  bool     `json:"compressed"`
	Compression string   `json:"compression,omitempty"` // gzip, xz, bzip2 or zstd
	LinkType    string   `json:"link_type"`             // the first interface's
	LinkTypes   []string `json:"link_types,omitempty"`  // all of them, pcapng with several interfaces
	Packets     int64    `json:"packets"`
	FirstTime   Time     `json:"first_time"`
	LastTime    Time     `json:"last_time"`
	Snaplen     uint32   `json:"snaplen"`
	Truncated   bool     `json:"truncated"`
	TruncatedAt int64    `json:"truncated_at_offset,omitempty"`
	Dropped     uint64   `json:"dropped_by_interface,omitempty"`
	// The pcapng interface statistics counters isb_ifdrop and isb_osdrop,
	// summed over interfaces, when the capture has them (see "Capture
	// loss" in the JSON contract).
	IfDrop *uint64 `json:"if_drop,omitempty"`
	OsDrop *uint64 `json:"os_drop,omitempty"`
}

// ToolDropped is the number of packets the capture tool said it dropped:
// the interface's and the OS's counts together.
func (c *Capture) ToolDropped() uint64 {
	var n uint64
	if c.IfDrop != nil {
		n += *c.IfDrop
	}
	if c.OsDrop != nil {
		n += *c.OsDrop
	}
	return max(n, c.Dropped)
}

// Summary holds the headline counts.
type Summary struct {
	Connections            int   `json:"connections"`
	Calls                  int64 `json:"calls"`
	Replies                int64 `json:"replies"`
	Unanswered             int64 `json:"unanswered"`
	RPCRetransmissions     int64 `json:"rpc_retransmissions"`
	TCPRetransmissions     int64 `json:"tcp_retransmissions"`
	UnackedRetransmissions int64 `json:"unacked_retransmissions"`
	ZeroWindowEpisodes     int64 `json:"zero_window_episodes"`
	// CaptureLossBytes: bytes the peers ACKed that the capture never saw,
	// all connections, both directions.
	CaptureLossBytes int64 `json:"capture_loss_bytes"`
	// Unproven counts findings that would be stalls but rest on what the
	// capture did not see (capture loss, a missing direction, drops the
	// capture tool reported, a damaged record); they are warnings.
	Unproven int64 `json:"unproven_stalls"`
	// Extras beyond the contract.
	OrphanReplies   int64   `json:"orphan_replies"`   // replies whose call is not in the capture
	Undecodable     int64   `json:"undecodable"`      // records that did not parse as RPC
	GarbageBytes    int64   `json:"garbage_bytes"`    // bytes passed over while looking for a record boundary
	MissingBytes    int64   `json:"missing_bytes"`    // stream bytes sent but not captured (snaplen, capture loss)
	DurationMS      float64 `json:"duration_ms"`      // first to last packet, all files
	TruncatedFrames int64   `json:"truncated_frames"` // analysed segments cut by the snaplen
	// TCPAnalysis counts segments by Wireshark's tcp.analysis flag name
	// (retransmission, zero_window, window_full, keep_alive, ...), both
	// directions of every connection; only non-zero counts are present.
	TCPAnalysis map[string]int64 `json:"tcp_analysis"`
}

// Latency summarises response times in milliseconds.
type Latency struct {
	Min  float64 `json:"min"`
	Mean float64 `json:"mean"`
	P50  float64 `json:"p50"`
	P90  float64 `json:"p90"`
	P99  float64 `json:"p99"`
	Max  float64 `json:"max"`
	// none: no reply was timed; JSON writes null (latencyjson.go)
	none bool
}

// Procedure is the row of one program/version/procedure.
type Procedure struct {
	Program    uint32 `json:"program"`
	Version    uint32 `json:"version"`
	Name       string `json:"name"`
	Calls      int64  `json:"calls"`
	Replies    int64  `json:"replies"`
	Unanswered int64  `json:"unanswered"`
	Errors     int64  `json:"errors"`
	// Latency is measured from the call's first transmission (Wireshark's
	// rpc.time); LatencyLast from its last one.
	Latency     Latency `json:"latency_ms"`
	LatencyLast Latency `json:"latency_last_ms"`
	// Untimed counts replies whose latency the capture cannot tell (the
	// call or the reply ended in a capture hole); they are not in Latency.
	Untimed     int64 `json:"untimed,omitempty"`
	Retransmits int64 `json:"retransmissions"`
	Bytes       int64 `json:"bytes"` // READ/WRITE data bytes (reply count for READ, call count for WRITE)
	// ProgramName is the program's name, e.g. "NFS".
	ProgramName string `json:"program_name"`
}

// Connection is one TCP connection (or UDP flow) carrying RPC.
type Connection struct {
	ID         int    `json:"id"`
	Client     string `json:"client"`
	Server     string `json:"server"`
	Calls      int64  `json:"calls"`
	Replies    int64  `json:"replies"`
	Unanswered int64  `json:"unanswered"`
	// Extras beyond the contract.
	Transport    string `json:"transport"` // "tcp" or "udp"
	Capture      int    `json:"capture"`
	FirstFrame   int64  `json:"first_frame"`
	FirstTime    Time   `json:"first_time"`
	LastTime     Time   `json:"last_time"`
	Handshake    bool   `json:"handshake"` // the capture has its SYN
	BytesToSrv   int64  `json:"bytes_to_server"`
	BytesToCli   int64  `json:"bytes_to_client"`
	MissingBytes int64  `json:"missing_bytes"`
	Undecodable  int64  `json:"undecodable"`
	GarbageBytes int64  `json:"garbage_bytes"`
	Resyncs      int    `json:"resyncs"`
	// TCPAnalysis: this connection's tcp.analysis flag counts (see Summary).
	TCPAnalysis map[string]int64 `json:"tcp_analysis"`
	// CaptureLoss: what the peers ACKed that the capture never saw.
	CaptureLoss *CaptureLoss `json:"capture_loss"`
	// ICMPErrors: the ICMP and ICMPv6 errors (destination unreachable,
	// fragmentation needed, packet too big) quoting a segment of this
	// connection (mtu.go).
	ICMPErrors int64 `json:"icmp_errors,omitempty"`
}

// CaptureLoss is, per direction of a connection, the bytes the receiver
// ACKed that the capture never saw.
type CaptureLoss struct {
	ClientToServer LossSide `json:"client_to_server"`
	ServerToClient LossSide `json:"server_to_client"`
	// MissingDirection names a direction of which the capture holds no
	// packet although the peer's ACKs show it carried bytes.
	MissingDirection *string `json:"missing_direction"`
}

// LossSide is the capture loss of one direction.
type LossSide struct {
	Bytes int64 `json:"bytes"`
	// Frames whose ACK first covered the missing bytes (the first 32 and
	// the last).
	Frames []int64 `json:"frames"`
}

// Severity ranks findings.
type Severity string

// Severities, most severe first.
const (
	SeverityStall   Severity = "stall"
	SeverityWarning Severity = "warning"
	SeverityInfo    Severity = "info"
)

// Finding is one piece of evidence of trouble.
type Finding struct {
	Kind       string   `json:"kind"`
	Severity   Severity `json:"severity"`
	Connection int      `json:"connection"`
	XID        *XID     `json:"xid,omitempty"`
	Procedure  string   `json:"procedure,omitempty"`
	// Path is the file the call's handle names, as the capture shows it
	// (paths.go): absolute when it shows the root, else relative to the
	// first directory it does not name; an extra beyond the contract.
	Path       string  `json:"path,omitempty"`
	Capture    int     `json:"capture"`
	Frames     []int64 `json:"frames"`
	Start      Time    `json:"start"`
	DurationMS float64 `json:"duration_ms"`
	Summary    string  `json:"summary"`
	// Seq is where never-ACKed bytes begin, as Wireshark shows it
	// (relative: Seq=1 is the first byte after the SYN, or the first
	// byte seen when the capture began later), SeqRaw the number on the
	// wire (tcp.seq_raw); unacked_retransmission only.
	Seq    *uint32 `json:"seq,omitempty"`
	SeqRaw *uint32 `json:"seq_raw,omitempty"`
	// FrameCaptures gives the file of each of Frames when they are not all
	// in Capture's (a stall that spans a file rotation); an extra beyond
	// the contract.
	FrameCaptures []int `json:"frame_captures,omitempty"`
	// Probes counts the window probes (and keep-alives) the peer sent
	// during a zero_window episode; an extra beyond the contract.
	Probes int `json:"probes,omitempty"`
	// TooYoung: it would be a stall had it lasted --stall-after by the end
	// of the capture (never-ACKed bytes, a zero window still closed); its
	// summary says so. An extra beyond the contract.
	TooYoung bool `json:"too_young,omitempty"`

	// Facts the diagnosis reads, not rendered: which side the evidence is
	// about (the sender of never-ACKed bytes, the advertiser of a zero
	// window), and whether an unanswered call was ACKed by the server.
	side  tcpflow.Dir
	acked bool
	// unproven: a stall the capture cannot back, made a warning
	// (Summary.Unproven)
	unproven bool
	refs     []tcpflow.FrameRef // Frames with their files and times
	// procLabel: the call's ProcLabel (Finding.ProcLabel)
	procLabel string
	// blame: whose fault the verdict says it is (auth_failing), and over:
	// the capture shows the trouble end (grace_period); facts the
	// verdicts read instead of the summary's words.
	blame string
	over  bool
}

// Diagnosis is the verdict on one connection with a stall.
type Diagnosis struct {
	Connection int    `json:"connection"`
	Verdict    string `json:"verdict"`
	Summary    string `json:"summary"`
	Findings   []int  `json:"findings"`
	// WiresharkFilters show the evidence frames in Wireshark, one display
	// filter per capture file (-Y or the filter bar); an extra beyond the
	// contract.
	WiresharkFilters []WiresharkFilter `json:"wireshark_filters"`
}

// WiresharkFilter is a display filter for the frames of one capture file.
type WiresharkFilter struct {
	Capture int    `json:"capture"`
	Filter  string `json:"filter"` // frame.number == A || ...: every Wireshark version
	// FilterSet is the same frames as a set with ranges,
	// "frame.number in {25,33,81..90}": Wireshark and tshark 4.0 and later
	// (3.x wants spaces between the elements).
	FilterSet string `json:"filter_set"`
	// Frames are the frames, in order; not in JSON (the filters hold them).
	Frames []int64 `json:"-"`
}

// Unanswered is a call with no reply by the end of the capture.
type Unanswered struct {
	Connection  int     `json:"connection"`
	XID         XID     `json:"xid"`
	Program     uint32  `json:"program"`
	Version     uint32  `json:"version"`
	Procedure   string  `json:"procedure"`
	ProgramName string  `json:"program_name"`
	Capture     int     `json:"capture"`
	Frame       int64   `json:"frame"`      // the call's first transmission
	LastFrame   int64   `json:"last_frame"` // its last transmission
	Sent        Time    `json:"sent"`
	AgeMS       float64 `json:"age_ms"` // from the first transmission to the end of the capture
	Sends       int     `json:"sends"`
	Detail      string  `json:"detail,omitempty"` // e.g. "offset 1376075776, 1048576 bytes"
	Path        string  `json:"path,omitempty"`   // the file of its handle, as in Finding.Path
	// ReplyPartial is set when the reply began but its last byte never came.
	ReplyPartial string `json:"reply_partial,omitempty"`
}

// Skipped counts packets or bytes not analysed, with the reason.
type Skipped struct {
	What   string `json:"what"`
	Count  int64  `json:"count"`
	Reason string `json:"reason"`
	// Bound: a cap on nfsstall's own memory or work was reached (its
	// value is in Reason), not something about the capture; the command
	// also says so on stderr. An extra beyond the contract.
	Bound bool `json:"bound,omitempty"`
}

// ms converts a duration in ns to float milliseconds.
func ms(ns int64) float64 { return float64(ns) / 1e6 }

// skip notes n items of what not analysed, and why, when there are any;
// bound says a bound on the analysis' state left them out.
func (r *Report) skip(bound bool, what string, n int64, reason string) {
	if n > 0 {
		r.Skipped = append(r.Skipped, Skipped{Bound: bound, What: what, Count: n, Reason: reason})
	}
}
