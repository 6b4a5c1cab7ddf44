package analyze_test

import (
	"net"
	"strings"
	"testing"
	"time"

	"github.com/nfsstall/nfsstall/analyze"
)

// graceSkipped returns the skipped entries of the grace detector's bound on
// servers (not the findings beyond the listing limit).
func graceSkipped(r *analyze.Report) []analyze.Skipped {
	var out []analyze.Skipped
	for _, s := range r.Skipped {
		if strings.Contains(s.What, "not followed for "+analyze.KindGrace) {
			out = append(out, s)
		}
	}
	return out
}

// TestMutkillGraceServersBound: 257 servers each refuse one OPEN with
// NFS4ERR_GRACE; 256 servers are followed, so by hand exactly one GRACE
// answer (the 257th server's) is counted in skipped, as a bound. With one
// server nothing is skipped.
func TestMutkillGraceServersBound(t *testing.T) {
	run := func(servers int) *analyze.Report {
		s := newScenario(t)
		for i := range servers {
			srv := net.IP{198, 18, byte(1 + i/200), byte(1 + i%200)}
			c := s.tconnect(cliA, 800, srv, 2049)
			c.send(time.Millisecond, true, compound41(1, 1, putfh4(0xbbbb), open4(false, "new")))
			c.send(time.Millisecond, false, reply41(1, 1, 10013, 22, 18))
		}
		return s.run(analyze.DefaultOptions())
	}
	if sk := graceSkipped(run(1)); len(sk) != 0 {
		t.Errorf("one server: skipped %+v, want none", sk)
	}
	sk := graceSkipped(run(257))
	if len(sk) != 1 || sk[0].Count != 1 || !sk[0].Bound || !strings.Contains(sk[0].Reason, "256 servers") {
		t.Errorf("257 servers: skipped %+v, want one bound entry counting 1", sk)
	}
}
