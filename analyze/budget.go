package analyze

import "github.com/nfsstall/nfsstall/tcpflow"

// One memory budget. Every table that grows with the input has a total
// bound; Budget derives them all from one number, the peak resident
// memory the analysis aims for, split as below (README, "Hostile input and
// bounds", lists the values for the default). The shares were measured on
// the adversarial captures of internal/advconn with the command's soft heap
// limit (three quarters of the budget): what each entry costs is noted.
//
//	share  table                                        at 64 MB
//	 45%   connections open at once (~3 KB each)        10,000
//	  9%   calls waiting for a reply (~350 B each)      16,384
//	  5%   closed connections kept for their calls      2,048
//	  6%   out-of-order data held for reassembly        4 MiB, 4,096 segments
//	  3%   bytes of IP fragments in reassembly          2 MiB, 256 datagrams
//	  8%   stall evidence: transmissions, re-sent runs, 65,536, 2,048,
//	       zero-window episodes, calls watched for     4,096, 32,768,
//	       their ACK, records remembered                32,768
//	  2%   client and server pairs summed apart         4,096
//	  2%   procedure rows, latencies kept exactly       128, 262,144
//	  2%   connection timelines (~104 KiB each)         12
//	 18%   the Go runtime, buffers, report, decoding    -
//
// Connections listed in full (1,000) do not scale: they size the report.

// DefaultMemory is the default budget: 64 MB of peak resident memory.
const DefaultMemory = 64 << 20

// Budget returns the default options with every bound scaled to a peak
// resident memory of memory bytes (DefaultOptions is Budget(DefaultMemory)).
func Budget(memory int64) Options {
	o := Options{Ports: []uint16{2049}, StallAfter: 1e9, Slow: 1e9, Limits: tcpflow.DefaultLimits,
		MaxConnsListed: DefaultMaxConnsListed}
	scale := func(at64 int, floor int) int {
		return max(floor, int(int64(at64)*memory/DefaultMemory))
	}
	l := &o.Limits
	l.MaxConnections = scale(10000, 16)
	l.QueueTotal = scale(4<<20, 256<<10)
	l.QueuePerDirection = min(4<<20, l.QueueTotal)
	l.QueueSegmentsTotal = scale(4096, 256)
	l.QueueSegments = min(2048, l.QueueSegmentsTotal)
	l.FragBytes = scale(2<<20, 256<<10)
	l.FragDatagrams = scale(256, 32)
	l.SentTotal = scale(65536, 8192)
	l.RetransTotal = scale(2048, 256)
	l.ZeroWinTotal = scale(4096, 1024)
	o.MaxCalls = scale(16384, 256)
	o.MaxCallsPerConn = o.MaxCalls
	o.MaxClosedKept = scale(2048, 64)
	o.MaxWatchedTotal = scale(32768, 4096)
	o.MaxRecordsTotal = scale(32768, 4096)
	o.MaxPairs = scale(4096, 256)
	o.MaxProcs = scale(128, 32)
	o.LatencySamples = scale(1<<18, 1<<15)
	o.MaxSessions = scale(DefaultMaxSessions, 64)
	o.MaxCallbacks = scale(DefaultMaxCallbacks, 256)
	o.MaxPaths = scale(DefaultMaxPaths, 1024)
	o.MaxTimelines = scale(DefaultMaxTimelines, 4)
	return o
}
