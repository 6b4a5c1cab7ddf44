package analyze

import (
	"cmp"
	"slices"
)

// Latency over time (picture.go's LatencySeries): per procedure row, the
// latency of each reply in buckets of equal length by when the reply came.
// Buckets start at latencyBucket0 and count from the first packet; when a
// reply falls past maxLatencyBuckets, every series' buckets are merged two
// by two and the length doubles, so a row costs the same whatever the
// capture's length. A row's buckets are made at its first timed reply.

const (
	latencyBucket0       = 10e6 // ns: the first bucket length, 10 ms
	maxLatencyBuckets    = 120
	maxLatencySeriesList = 40 // rows listed: the ones with most calls
)

type latBucket struct {
	n, min, max, sum int64 // ns
}

func (b *latBucket) add(o latBucket) {
	if o.n == 0 {
		return
	}
	if b.n == 0 {
		*b = o
		return
	}
	b.n += o.n
	b.sum += o.sum
	b.min = min(b.min, o.min)
	b.max = max(b.max, o.max)
}

// latSeries is one row's buckets: about 4 KB.
type latSeries struct {
	b [maxLatencyBuckets]latBucket
}

// latencyTimes is every row's series and the bucket length they share.
type latencyTimes struct {
	width  int64 // ns
	series []*latSeries
}

// latencyAt adds a reply's latency (ns) at time t to row ps.
func (a *Analyzer) latencyAt(ps *procStats, t, lat int64) {
	l := &a.pic.lat
	if l.width == 0 {
		l.width = latencyBucket0
	}
	if ps.overTime == nil {
		ps.overTime = &latSeries{}
		l.series = append(l.series, ps.overTime)
	}
	off := max(0, t-a.pic.origin)
	for off/l.width >= maxLatencyBuckets {
		l.merge()
	}
	ps.overTime.b[off/l.width].add(latBucket{n: 1, min: lat, max: lat, sum: lat})
}

// merge merges every series' buckets two by two, doubling their length.
func (l *latencyTimes) merge() {
	for _, s := range l.series {
		for i := range maxLatencyBuckets / 2 {
			b := s.b[2*i]
			b.add(s.b[2*i+1])
			s.b[i] = b
		}
		clear(s.b[maxLatencyBuckets/2:])
	}
	l.width *= 2
}

// listLatencyOverTime fills Report.LatencyOverTime: the rows with a timed
// reply, the maxLatencySeriesList with most calls (most first), their
// non-empty buckets with start times in ms since first.
func (a *Analyzer) listLatencyOverTime(r *Report, first int64) {
	type row struct {
		k  procKey
		ps *procStats
	}
	var rows []row
	for k, ps := range a.procs {
		if ps.overTime != nil {
			rows = append(rows, row{k, ps})
		}
	}
	names := make(map[procKey][2]string, len(rows))
	for _, x := range rows {
		n, p := a.rowName(x.k)
		names[x.k] = [2]string{n, p}
	}
	slices.SortFunc(rows, func(x, y row) int {
		if x.ps.calls != y.ps.calls {
			return cmp.Compare(y.ps.calls, x.ps.calls)
		}
		if c := cmp.Compare(x.k.prog, y.k.prog); c != 0 {
			return c
		}
		if c := cmp.Compare(x.k.vers, y.k.vers); c != 0 {
			return c
		}
		return cmp.Compare(names[x.k][0], names[y.k][0])
	})
	rows = rows[:min(len(rows), maxLatencySeriesList)]
	w := a.pic.lat.width
	for _, x := range rows {
		s := LatencySeries{Procedure: names[x.k][0], Program: names[x.k][1], ProgramNumber: x.k.prog, Version: x.k.vers,
			BucketMS: float64(w) / 1e6, Buckets: []LatencyPoint{}}
		for i, b := range x.ps.overTime.b {
			if b.n == 0 {
				continue
			}
			s.Buckets = append(s.Buckets, LatencyPoint{TimeMS: float64(a.pic.origin+int64(i)*w-first) / 1e6, Count: int(b.n),
				MinMS: float64(b.min) / 1e6, MeanMS: float64(b.sum) / float64(b.n) / 1e6, MaxMS: float64(b.max) / 1e6})
		}
		r.LatencyOverTime = append(r.LatencyOverTime, s)
	}
}
