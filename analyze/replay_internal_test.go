package analyze

import (
	"math/rand/v2"
	"testing"

	"github.com/nfsstall/nfsstall/tcpflow"
)

// The answered-calls index against a plain model: the ring's newest entry
// per key, of the last maxAnswered answered, with take forgetting it. Few
// distinct keys force the same key to recur, collisions and wrap-around of
// the probe sequence; many force the ring to overwrite.
func TestAnsweredLogMatchesModel(t *testing.T) {
	for _, keys := range []int{50, 3000, 100000} {
		rng := rand.New(rand.NewPCG(uint64(keys), 7))
		var l answeredLog
		type entry struct {
			k   callKey
			seq int
		}
		var ring []entry // the model's ring: the last maxAnswered adds
		taken := map[int]bool{}
		newest := func(k callKey) (int, bool) {
			for i := len(ring) - 1; i >= 0 && i >= len(ring)-maxAnswered; i-- {
				if ring[i].k == k {
					return ring[i].seq, !taken[ring[i].seq]
				}
			}
			return 0, false
		}
		key := func() callKey {
			n := rng.IntN(keys)
			k := callKey{xid: uint32(n * 2654435761)}
			k.client[15] = byte(n % 7)
			k.server.Port = 2049
			return k
		}
		// Fingerprints of few bits, homed in the table's last slots: every
		// probe collides, and most wrap around to the first slots.
		fp := func(k callKey) uint64 { return answeredSlots - 1 - fingerprint(k)%61 }
		for op := 0; op < 40000; op++ {
			k := key()
			if rng.IntN(3) > 0 {
				seq := len(ring)
				ring = append(ring, entry{k, seq})
				l.addFP(answeredCall{k: k, prog: 100003, vers: 3, proc: 6, first: tcpflow.FrameRef{Frame: int64(seq)}}, fp(k))
				continue
			}
			wantSeq, want := newest(k)
			got, ok := l.takeFP(k, fp(k), 100003, 3, 6)
			if ok != want || (ok && got.first.Frame != int64(wantSeq)) {
				t.Fatalf("%d keys, op %d: take(%v) = %v %v, model %d %v", keys, op, k.xid, got.first.Frame, ok, wantSeq, want)
			}
			if ok {
				taken[wantSeq] = true
			}
		}
	}
}
