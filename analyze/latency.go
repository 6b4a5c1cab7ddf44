package analyze

import (
	"math"
	"math/bits"
	"slices"
)

// exactSamples is how many latencies are kept exactly: small captures get
// exact percentiles, large ones a bounded histogram.
const exactSamples = 4096

// subBits sets the histogram resolution: 2^subBits buckets per power of
// two, so a bucket is at most 1/64 (1.6%) of its value wide.
const subBits = 6

// latencies accumulates response times (ns) in constant memory.
type latencies struct {
	n        int64
	sum      float64
	min, max int64
	exact    []int64
	hist     []uint32 // allocated when exact overflows
}

// addLatency adds ns to l, keeping the latencies held exactly, all
// procedures together, within Options.LatencySamples: past it, l goes to
// its histogram now rather than when it holds exactSamples.
func (a *Analyzer) addLatency(l *latencies, ns int64) {
	if l.hist == nil {
		if a.samples >= a.opts.LatencySamples {
			a.samples -= len(l.exact)
			a.samplesFull++
			l.toHist()
		} else if len(l.exact) < exactSamples {
			a.samples++
		} else {
			a.samples -= len(l.exact)
		}
	}
	l.add(ns)
}

// toHist moves the exact samples to the histogram.
func (l *latencies) toHist() {
	l.hist = make([]uint32, 64<<subBits)
	for _, v := range l.exact {
		l.hist[bucket(v)]++
	}
	l.exact = nil
}

func (l *latencies) add(ns int64) {
	if ns < 0 {
		ns = 0
	}
	if l.n == 0 || ns < l.min {
		l.min = ns
	}
	if ns > l.max {
		l.max = ns
	}
	l.n++
	l.sum += float64(ns)
	if l.hist == nil {
		if len(l.exact) < exactSamples {
			l.exact = append(l.exact, ns)
			return
		}
		l.toHist()
	}
	l.hist[bucket(ns)]++
}

// bucket maps v to a log-linear bucket: the power of two, then the next
// subBits bits below the leading one.
func bucket(v int64) int {
	u := uint64(v)
	if u < 1<<subBits {
		return int(u)
	}
	e := bits.Len64(u) - subBits - 1 // shift that leaves subBits+1 bits
	return (e+1)<<subBits | int(u>>uint(e))&(1<<subBits-1)
}

// bucketMid returns a representative value of bucket b (its midpoint).
func bucketMid(b int) int64 {
	if b < 1<<subBits {
		return int64(b)
	}
	e := b>>subBits - 1
	lo := int64(1<<subBits|b&(1<<subBits-1)) << uint(e)
	return lo + (int64(1)<<uint(e))/2
}

// quantile returns the nearest-rank q-quantile (0 < q <= 1) in ns.
func (l *latencies) quantile(q float64) int64 {
	if l.n == 0 {
		return 0
	}
	rank := int64(q*float64(l.n) + 0.999999999) // ceil, tolerant of float error
	rank = max(1, min(rank, l.n))
	if l.hist == nil {
		s := slices.Clone(l.exact)
		slices.Sort(s)
		return s[rank-1]
	}
	var seen int64
	for b, c := range l.hist {
		seen += int64(c)
		if seen >= rank {
			return min(max(bucketMid(b), l.min), l.max)
		}
	}
	return l.max
}

func (l *latencies) summary() Latency {
	if l.n == 0 {
		return Latency{}
	}
	return Latency{
		Min: ms(l.min),
		// The mean to the ns, as the other figures are: not 17 digits of
		// float division.
		Mean: math.Round(l.sum/float64(l.n)) / 1e6,
		P50:  ms(l.quantile(0.50)),
		P90:  ms(l.quantile(0.90)),
		P99:  ms(l.quantile(0.99)),
		Max:  ms(l.max),
	}
}
