package analyze_test

import (
	"testing"
	"time"

	"github.com/nfsstall/nfsstall/analyze"
)

// TestMutkillNLMGrantedUnansweredAge: the LOCK blocks, the server's GRANTED
// goes out 2 s later and is never answered; the capture ends 3 s after the
// GRANTED. By hand the callback has been unanswered 3 s: with a stall
// threshold of 3 s that is a warning, with 10 s it is not yet one (info).
func TestMutkillNLMGrantedUnansweredAge(t *testing.T) {
	for _, c := range []struct {
		stallAfter time.Duration
		want       analyze.Severity
	}{{3 * time.Second, analyze.SeverityWarning}, {10 * time.Second, analyze.SeverityInfo}} {
		s := newScenario(t)
		lk := s.tconnect(cliA, 800, srvIP, 4045)
		lk.send(time.Millisecond, true, nlmLockCall(1))
		lk.send(time.Millisecond, false, nlmRes(1, 3))
		cb := s.tconnect(srvIP, 900, cliA, 4045)
		cb.send(2*time.Second, true, nlmGrantedCall(0x51))
		s.tcpSeg(3*time.Second, cliA, srvIP, 800, 4045, lk.aseq, lk.bseq, ackF, nil)
		opts := analyze.DefaultOptions()
		opts.Ports = []uint16{2049, 4045}
		opts.StallAfter = int64(c.stallAfter)
		fs := findingsOf(s.run(opts), analyze.KindLockWait)
		if len(fs) != 1 || fs[0].Severity != c.want {
			t.Errorf("stall after %v: findings %+v, want one %s", c.stallAfter, fs, c.want)
		}
	}
}
