package analyze

import (
	"math"
	"math/rand"
	"slices"
	"testing"
)

// Latency figures against hand computation: min, max, mean, and the
// nearest-rank quantile (the value at rank ceil(q*n) of the sorted
// latencies), exactly while at most exactSamples are kept, within a
// histogram bucket (1/64 of the value) beyond.

const msNS = int64(1e6)

// nearestRank is the q-quantile of vs by the nearest-rank method.
func nearestRank(vs []int64, q float64) int64 {
	s := slices.Clone(vs)
	slices.Sort(s)
	rank := 1
	for float64(rank) < q*float64(len(s)) {
		rank++
	}
	return s[rank-1]
}

func TestLatencyExact(t *testing.T) {
	for _, tt := range []struct {
		name          string
		vs            []int64 // ms
		p50, p90, p99 float64
		mean          float64
	}{
		// 1..100 ms: rank 50, 90, 99.
		{"1 to 100 ms", seqMS(1, 100, 1), 50, 90, 99, 50.5},
		// 10..100 ms by 10: rank ceil(5)=5, ceil(9)=9, ceil(9.9)=10.
		{"10 to 100 ms by 10", seqMS(10, 100, 10), 50, 90, 100, 55},
		{"one call", []int64{7}, 7, 7, 7, 7},
		// Two: rank ceil(1)=1 for p50, ceil(1.8)=2 for p90.
		{"two calls", []int64{3, 1}, 1, 3, 3, 2},
	} {
		var l latencies
		vs := slices.Clone(tt.vs)
		rand.New(rand.NewSource(1)).Shuffle(len(vs), func(i, j int) { vs[i], vs[j] = vs[j], vs[i] })
		for _, v := range vs {
			l.add(v * msNS)
		}
		got := l.summary()
		want := Latency{Min: float64(slices.Min(tt.vs)), Mean: tt.mean, P50: tt.p50, P90: tt.p90, P99: tt.p99, Max: float64(slices.Max(tt.vs))}
		if got != want {
			t.Errorf("%s:\n got %+v\nwant %+v", tt.name, got, want)
		}
		for _, q := range []float64{0.5, 0.9, 0.99} {
			ns := make([]int64, len(tt.vs))
			for i, v := range tt.vs {
				ns[i] = v * msNS
			}
			if l.quantile(q) != nearestRank(ns, q) {
				t.Errorf("%s: q%.2f %d, nearest rank %d", tt.name, q, l.quantile(q), nearestRank(ns, q))
			}
		}
	}
}

func seqMS(from, to, step int64) []int64 {
	var out []int64
	for v := from; v <= to; v += step {
		out = append(out, v)
	}
	return out
}

// TestLatencyEmptyAndNegative: no calls give zeros; a negative latency (a
// reply stamped before its call) counts as 0.
func TestLatencyEmptyAndNegative(t *testing.T) {
	var l latencies
	if l.quantile(0.5) != 0 || l.summary() != (Latency{}) {
		t.Errorf("empty: %d %+v", l.quantile(0.5), l.summary())
	}
	l.add(-5)
	l.add(4 * msNS)
	if got, want := l.summary(), (Latency{Min: 0, Mean: 2, P50: 0, P90: 4, P99: 4, Max: 4}); got != want {
		t.Errorf("got %+v, want %+v", got, want)
	}
}

// TestBucket: below 64 ns a bucket per value; above, 64 buckets per power
// of two. By hand: 1000 = 0b1111101000 has 10 bits, so the shift is
// 10-6-1 = 3, the bucket (3+1)<<6 | (1000>>3)&63 = 256 | 61 = 317, holding
// 1000 to 1007, midpoint 1004 (its low end plus half its width: 128
// and 129 share bucket 128, midpoint 129).
func TestBucket(t *testing.T) {
	for v := int64(0); v < 64; v++ {
		if bucket(v) != int(v) || bucketMid(int(v)) != v {
			t.Errorf("bucket(%d) = %d, mid %d", v, bucket(v), bucketMid(bucket(v)))
		}
	}
	for _, tt := range []struct {
		v   int64
		b   int
		mid int64
	}{{64, 64, 64}, {127, 127, 127}, {128, 128, 129}, {129, 128, 129}, {1000, 317, 1004}, {1007, 317, 1004}, {1008, 318, 1012}} {
		if b := bucket(tt.v); b != tt.b || bucketMid(b) != tt.mid {
			t.Errorf("bucket(%d) = %d (mid %d), want %d (mid %d)", tt.v, b, bucketMid(b), tt.b, tt.mid)
		}
	}
	// Every value is within 1/64 of its bucket's midpoint, and buckets
	// grow with the value.
	rng := rand.New(rand.NewSource(2))
	prev := 0
	for v := int64(1); v < 1<<40; v += 1 + rng.Int63n(v) {
		b := bucket(v)
		if b < prev {
			t.Fatalf("bucket(%d) = %d, below the previous value's %d", v, b, prev)
		}
		prev = b
		if d := bucketMid(b) - v; d*64 > v || -d*64 > v {
			t.Fatalf("bucket(%d) midpoint %d: more than 1/64 away", v, bucketMid(b))
		}
	}
}

// TestLatencyHistogram: beyond exactSamples latencies the quantiles come
// from the histogram, within 1/64 of the nearest-rank value; a rank that
// ends exactly at a bucket's last sample is that bucket's.
func TestLatencyHistogram(t *testing.T) {
	var l latencies
	var vs []int64
	for i := range exactSamples {
		v := int64(i%1000+1) * msNS / 10 // 0.1 to 100 ms
		l.add(v)
		vs = append(vs, v)
	}
	if l.hist != nil || len(l.exact) != exactSamples {
		t.Fatalf("after %d latencies: histogram %v, %d kept exactly; want all %d exactly", exactSamples, l.hist != nil, len(l.exact), exactSamples)
	}
	for i := range 3000 {
		v := int64(i%700+1) * msNS / 7
		l.add(v)
		vs = append(vs, v)
		if l.hist == nil || l.exact != nil {
			t.Fatalf("at latency %d, past the %d kept exactly, the histogram is not in use", exactSamples+i+1, exactSamples)
		}
	}
	for _, q := range []float64{0.5, 0.9, 0.99} {
		want := nearestRank(vs, q)
		if got := l.quantile(q); (got-want)*64 > want || (want-got)*64 > want {
			t.Errorf("q%.2f = %d ns, nearest rank %d: more than 1/64 away", q, got, want)
		}
	}
	var sum float64
	for _, v := range vs {
		sum += float64(v)
	}
	if got := l.summary(); got.Min != 0.1 || got.Max != 100 || math.Abs(got.Mean-sum/float64(len(vs))/1e6) > 0.5e-6 {
		t.Errorf("summary %+v; want min 0.1, max 100, mean %v to the ns", got, sum/float64(len(vs))/1e6)
	}

	// Half at 10 ms, half at 20 ms: p50's rank is the last 10 ms sample.
	var h latencies
	for i := range 5000 {
		h.add(int64(10+10*(i%2)) * msNS)
	}
	near := func(got, want int64) bool { return (got-want)*64 <= want && (want-got)*64 <= want }
	if p50, p90 := h.quantile(0.5), h.quantile(0.9); !near(p50, 10*msNS) || !near(p90, 20*msNS) {
		t.Errorf("p50 %d ns, p90 %d ns; want 10 ms and 20 ms within 1/64", p50, p90)
	}
}
