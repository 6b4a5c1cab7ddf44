// Package analyze pairs RPC calls with their replies, keeps per-procedure
// and per-connection statistics, and builds the report model.
//
// Where things are: calls.go pairs calls and replies; conn.go frames each
// connection's streams; findings.go turns what was gathered into findings;
// verdict.go is the one place that turns findings into a verdict per
// connection and ranks verdicts; assemble.go builds the report in named
// steps, summarize computing every end-of-capture total; format.go holds
// the words shared with package report (procedure labels, durations,
// plurals, frame numbers).
package analyze

import (
	"errors"
	"io"
	"net/netip"
	"runtime"

	"github.com/nfsstall/nfsstall/capture"
	"github.com/nfsstall/nfsstall/decode"
	"github.com/nfsstall/nfsstall/tcpflow"
)

// Options configure an analysis.
type Options struct {
	Ports []uint16 // server ports to follow; default 2049
	// StallAfter: an unanswered call at least this old (ns) at the end of
	// the capture is a stall.
	StallAfter int64
	// Slow: a reply later than this (ns) after the first call is slow.
	Slow int64
	// Progress, when set, is called now and then (every few thousand
	// packets) with how far reading has got. It is called from the
	// goroutine that reads the files.
	Progress func(Progress)
	// Limits bound reassembly memory.
	Limits tcpflow.Limits
	// MaxCalls and MaxCallsPerConn bound the calls waiting for a reply
	// that are tracked, in all and per connection. Calls beyond them are
	// counted but not paired (Report.Skipped says how many).
	MaxCalls, MaxCallsPerConn int
	// MaxConnsListed: connections listed in full in the report besides
	// those a finding, diagnosis or unanswered call names; the rest are
	// summed per client and server (see history.go). MaxPairs bounds the
	// client and server pairs summed apart.
	MaxConnsListed, MaxPairs int
	// MaxWatchedTotal bounds the calls watched for the server's TCP ACK
	// and MaxRecordsTotal the RPC records remembered to name never-ACKed
	// bytes, all connections together (besides their per-connection
	// bounds, maxInflight and maxRecords).
	MaxWatchedTotal, MaxRecordsTotal int
	// MaxClosedKept bounds the closed connections kept only because calls
	// still wait for a reply on them; past it the calls of the least
	// recently active half stop being tracked, and those connections fold.
	MaxClosedKept int
	// MaxProcs bounds the procedure rows (each keeps its latencies, up to
	// 64 KB); LatencySamples the latencies kept exactly, all procedures
	// together, past which a procedure's go to its histogram (16 KB).
	MaxProcs, LatencySamples int
	// MaxSessions bounds the NFSv4.1 sessions followed (session.go) and
	// MaxCallbacks the server's callbacks waiting for a reply (callback.go).
	MaxSessions, MaxCallbacks int
	// MaxPaths bounds the file handles whose names are learned (paths.go).
	MaxPaths int
	// MaxTimelines bounds the connections whose timelines (the HTML
	// report's time-sequence graphs) are kept at once (timeline.go).
	MaxTimelines int
	// NoPictures: gather no data for pictures (Report.Timelines and
	// LatencyOverTime stay empty). The text report draws none, and the
	// per-segment work they cost is the largest of the packet path's
	// optional hooks.
	NoPictures bool
	// Since and Until (ns since the epoch, 0 open) keep only the packets
	// between them; Clients and Servers only the connections of those
	// addresses (none: any). What they leave out is counted in skipped.
	Since, Until     int64
	Clients, Servers []netip.Addr
	// Sequential reads and analyses packets in one goroutine. By default,
	// with more than one CPU, reading and decoding the files runs in a
	// goroutine of its own; the report is the same either way.
	Sequential bool
	// Trace, when set, is called with every RPC message decoded (tests
	// compare them one by one with tshark's view).
	Trace func(*Message)
}

// Message is one RPC message as the analysis saw it.
type Message struct {
	Conn       int
	Call       bool
	XID        uint32
	Prog, Vers uint32
	Proc       uint32 // for a reply, its call's (0 when the call is unknown)
	Capture    int
	Frame      int64 // the frame carrying the message's last byte
	Time       int64 // its capture time, ns
	// FirstFrame and FirstTime: the frame carrying the message's first
	// byte. Missing: some of its bytes were not captured (snaplen).
	FirstFrame int64
	FirstTime  int64
	Missing    bool
	// For a reply whose call was seen: the frame of the call's first
	// transmission, and the time from it to the reply (ns).
	CallFrame int64
	Latency   int64
	// The call's last transmission (differs when it was re-sent), and the
	// time from it to the reply.
	LastCallFrame int64
	LatencyLast   int64
	// Retransmission: a call whose XID was already pending, or answered
	// (a replay: see replay.go).
	Retransmission bool
	// Callback: an NFSv4 callback from the server on the client's
	// connection (the backchannel), or the client's reply to one.
	Callback bool
}

// Progress says how far reading the input has got.
type Progress struct {
	Packets int64
	// Read is the bytes read from the files (compressed bytes for a gzip
	// file); Total the sum of their sizes, 0 when unknown (stdin, a pipe).
	Read, Total int64
}

// Default bounds on the calls tracked while they wait for a reply. A call
// costs about 300 bytes; 65,536 of them fit the 64 MB the whole analysis
// aims for, and a Linux client keeps far fewer in flight per connection.
const (
	DefaultMaxCalls        = 65536
	DefaultMaxCallsPerConn = 16384
)

// Default totals of per-connection evidence, all connections together.
const (
	DefaultMaxWatchedTotal = 65536
	DefaultMaxRecordsTotal = 65536
	DefaultMaxClosedKept   = 4096
	DefaultMaxProcs        = 128
	DefaultLatencySamples  = 1 << 18
)

// DefaultOptions are the command line's defaults: every bound at the
// default memory budget (see Budget).
func DefaultOptions() Options { return Budget(DefaultMemory) }

// callKey identifies one RPC: a client (by address: a reconnect may come
// from another port), a server endpoint and an XID.
type callKey struct {
	client [16]byte
	server tcpflow.Endpoint
	xid    uint32
}

// call is an RPC waiting for its reply.
type call struct {
	id         uint64     // unique while it waits for its reply; 0 after
	conn       *connState // where it was first sent
	prog, vers uint32
	proc       uint32
	// row is the procedure row the call counts in: proc, but for NFSv4
	// COMPOUNDs and callbacks (nfs4.go); v4 what an NFSv4 call keeps.
	row         uint32
	v4          call4
	first, last tcpflow.FrameRef
	sends       int
	hasOffset   bool
	offset      uint64
	count       uint32
	partialHave int64 // reply bytes seen at the end of the capture, when a reply began
	partialLen  int64
	hasFH       bool
	fhHash      uint32 // Wireshark's nfs.fh.hash of the (first) file handle
	nameLen     uint8  // bytes of name kept (a LOOKUP, CREATE, REMOVE... name)
	nameCut     bool   // the name was longer than nameBuf
	nameBuf     [48]byte
	lastConn    *connState       // where it was last sent
	ackedAt     tcpflow.FrameRef // when the server's TCP ACKed its last byte (zero: never seen)
	resends     []tcpflow.FrameRef
	// endInHole: the call's last byte fell where the capture has a hole,
	// so when it was sent is unknown and its latency is not measured.
	endInHole bool
	// wrapped: RPCSEC_GSS integrity or privacy, so the reply's results
	// begin with the wrapping, not the status (watch.go)
	wrapped bool
	// began: when the call's first byte was captured; with endInHole, the
	// earliest it can have been sent (first is when the hole was declared).
	began int64
}

// maxResends bounds the re-send frames kept per call.
const maxResends = 8

type procKey struct{ prog, vers, proc uint32 }

type procStats struct {
	calls, replies, errors, retrans, bytes int64
	unmeasured                             int64 // replies whose latency the capture cannot tell
	first, last                            latencies
	overTime                               *latSeries // latency over time (latencytime.go)
}

// Analyzer consumes the packets of one capture (one or several files).
type Analyzer struct {
	opts    Options
	flows   *tcpflow.Flows
	conns   []*connState
	pending map[callKey]*call
	procs   map[procKey]*procStats
	// the row proc returned last, with its own key (never otherProcs)
	lastProcKey procKey
	lastProc    *procStats
	sum         Summary
	// evidence gathered while reading, turned into findings at the end
	slow       []Finding
	slowCount  int64
	retrans    []Finding
	retransCnt int64
	// free calls for reuse: a busy capture creates and answers millions.
	freeCalls []*call
	// freeStreams: framers of closed connections, for reuse (conn.go)
	freeStreams []*connStreams
	// answered remembers the latest answered calls, to count a call
	// re-sent after its reply (a replay) as a retransmission.
	answered answeredLog
	// connections that carried nothing: listed, and dropped beyond
	// maxEmptyListed (their places in conns are nil until compacted)
	emptyKept    int
	emptyDropped int64
	connHoles    int
	// open counts the RPC records left open at the end, per direction.
	open [2]openRecords
	// superseded counts pending calls dropped because the same client
	// sent their XID again for another procedure before a reply came.
	superseded int64
	// calls not tracked for their reply (Options.MaxCalls and
	// MaxCallsPerConn), and of those, the ones the per-connection limit
	// stopped
	untracked, untrackedConn int64
	// unmeasured counts replies whose latency was not measured: their call
	// or themselves ended in a capture hole.
	unmeasured int64
	// lossUnanswered counts unanswered calls whose reply may be in bytes
	// the capture missed.
	lossUnanswered int64
	// toolDropped: packets the capture tool said it dropped (pcapng
	// interface statistics), all files
	toolDropped int64
	// unread: files whose reading stopped at a damaged record, not at
	// their end
	unread []unreadFile
	pairs  map[pairKey][]*connState // see byPair
	// history.go: closed connections folded away, and the ones kept to be
	// listed in full
	folded          foldedTotals
	pairSums        map[pairKey]*pairTotals
	otherPairs      *pairTotals
	otherPairsConns int64
	kept            keptConns
	evidenceKept    int
	connsNotListed  int64
	idIndex         map[int]*connState
	// evidence held by all connections, against Options.MaxWatchedTotal and
	// MaxRecordsTotal, and what those totals made forget
	watched, records               int
	watchedDropped, recordsDropped int64
	zeroWinsPerConn                int64 // episodes counted, not kept (tcpflow.MaxZeroWins, ZeroWinTotal)
	pinnedClosed                   int   // closed connections kept only for their calls (MaxClosedKept)
	closedDropped                  int64 // calls dropped to fold those connections
	evicting                       bool
	finishing                      bool  // Finish is closing every connection
	procsOther                     int64 // calls and replies counted in the row of other procedures
	samples                        int   // latencies kept exactly, all procedures (Options.LatencySamples)
	samplesFull                    int64 // procedures whose latencies went to a histogram early
	// orphansAfterSYN counts orphan replies on connections captured from
	// their SYN: their calls were sent during the capture but not decoded.
	orphansAfterSYN int64
	// unansweredByProc counts calls never answered by procedure row
	// (listUnanswered).
	unansweredByProc map[procKey]int64
	// multiFile: the input has several files, so frames are written
	// FILE:FRAME in summaries.
	multiFile     bool
	pendingSorted []callKey // set at the end: see pendingByAge
	callID        uint64    // the last call.id given
	// record head buffers, lent to the connections' framers
	heads decode.HeadPool
	// decode scratch, kept here so decoding does not allocate
	callMsg  decode.Call
	replyMsg decode.Reply
	// nfs4: NFSv4 operations, sessions and callbacks (nfs4.go), made at
	// the first NFSv4 message
	nfs4 *nfs4Stats
	nlm  *nlmState // nlmwait.go
	// paths: file handles named by what the capture shows (paths.go)
	paths pathTable
	// reconn: clients' SYNs to the server ports (reconnect.go)
	reconn reconnects
	// pic: the data of the HTML report's pictures (timeline.go)
	pic pictures
	// watch: grace periods, delay loops, denied credentials (watch.go)
	watch watchers
	// mtuFree: mtuDirs given back, for reuse (mtu.go)
	mtuFree []*mtuDir
}

// New returns an Analyzer.
func New(opts Options) *Analyzer {
	if len(opts.Ports) == 0 {
		opts.Ports = []uint16{2049}
	}
	if opts.Limits == (tcpflow.Limits{}) {
		opts.Limits = tcpflow.DefaultLimits
	}
	for _, d := range []struct {
		v   *int
		def int
	}{
		{&opts.MaxCalls, DefaultMaxCalls},
		{&opts.MaxCallsPerConn, DefaultMaxCallsPerConn},
		{&opts.MaxConnsListed, DefaultMaxConnsListed},
		{&opts.MaxPairs, DefaultMaxPairs},
		{&opts.MaxWatchedTotal, DefaultMaxWatchedTotal},
		{&opts.MaxRecordsTotal, DefaultMaxRecordsTotal},
		{&opts.MaxClosedKept, DefaultMaxClosedKept},
		{&opts.MaxProcs, DefaultMaxProcs},
		{&opts.LatencySamples, DefaultLatencySamples},
		{&opts.MaxSessions, DefaultMaxSessions},
		{&opts.MaxCallbacks, DefaultMaxCallbacks},
		{&opts.MaxPaths, DefaultMaxPaths},
		{&opts.MaxTimelines, DefaultMaxTimelines},
	} {
		if *d.v <= 0 {
			*d.v = d.def
		}
	}
	a := &Analyzer{opts: opts, pending: make(map[callKey]*call), procs: make(map[procKey]*procStats)}
	a.paths.max = opts.MaxPaths
	a.pic.max = opts.MaxTimelines
	a.flows = tcpflow.NewFlows(opts.Ports, opts.Limits, a.newConn)
	a.flows.SetWindow(opts.Since, opts.Until)
	a.flows.SetHosts(addrs16(opts.Clients), addrs16(opts.Servers))
	return a
}

// addrs16 returns addresses as tcpflow holds them (IPv4 mapped in IPv6).
func addrs16(as []netip.Addr) [][16]byte {
	out := make([][16]byte, len(as))
	for i, a := range as {
		out[i] = a.As16()
	}
	return out
}

// Run reads every packet of in and returns the report.
func Run(in *capture.Input, opts Options) (*Report, error) {
	a := New(opts)
	a.multiFile = len(in.Captures()) > 1
	var err error
	if opts.Sequential || runtime.GOMAXPROCS(0) < 2 {
		err = a.readAll(in)
	} else {
		err = a.readPipelined(in)
	}
	if err != nil {
		return nil, err
	}
	return a.Finish(in.Captures()), nil
}

// progressEvery is how many packets pass between calls of Options.Progress.
const progressEvery = 4096

func (a *Analyzer) progress(in *capture.Input, packets int64) {
	read, total := in.Position()
	a.opts.Progress(Progress{Packets: packets, Read: read, Total: total})
}

// readAll reads and analyses every packet in this goroutine.
func (a *Analyzer) readAll(in *capture.Input) error {
	var p capture.Packet
	for {
		err := in.Next(&p)
		if errors.Is(err, io.EOF) {
			return nil
		}
		if err != nil {
			return err
		}
		a.packet(&p)
		if a.opts.Progress != nil && a.flows.Stats.Packets%progressEvery == 0 {
			a.progress(in, a.flows.Stats.Packets)
		}
	}
}

// Packet analyses one packet. p.Data is not kept.
func (a *Analyzer) Packet(p *capture.Packet) { a.packet(p) }

// Finish ends the analysis (every connection is closed) and returns the
// report; caps describes the input files.
func (a *Analyzer) Finish(caps []*capture.CaptureInfo) *Report {
	a.finishing = true
	a.flows.Finish()
	return a.report(caps)
}

func (a *Analyzer) newConn(info *tcpflow.ConnInfo) tcpflow.ConnHandler {
	c := &connState{a: a, info: *info, live: info, idx: len(a.conns)}
	a.conns = append(a.conns, c)
	return c
}

func (a *Analyzer) proc(prog, vers, proc uint32) *procStats {
	k := procKey{prog, vers, proc}
	// Every call and reply comes here, and most are of the procedure
	// before: one comparison instead of hashing the key.
	if a.lastProc != nil && a.lastProcKey == k {
		return a.lastProc
	}
	if ps := a.procs[k]; ps != nil {
		a.lastProcKey, a.lastProc = k, ps
		return ps
	}
	k = a.procKeyOf(prog, vers, proc)
	ps := a.procs[k]
	if ps == nil {
		ps = &procStats{}
		a.procs[k] = ps
	}
	return ps
}

// otherProcs is the row of the procedures past Options.MaxProcs.
var otherProcs = procKey{^uint32(0), ^uint32(0), ^uint32(0)}

// procKeyOf returns the row a procedure counts in: its own, or, once
// Options.MaxProcs procedures have rows (hostile input can name 2^96),
// the row of all others.
func (a *Analyzer) procKeyOf(prog, vers, proc uint32) procKey {
	k := procKey{prog, vers, proc}
	if _, ok := a.procs[k]; ok || len(a.procs) < a.opts.MaxProcs {
		return k
	}
	if k != otherProcs {
		a.procsOther++
	}
	return otherProcs
}
