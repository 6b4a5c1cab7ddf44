package analyze_test

import (
	"strings"
	"testing"
	"time"

	"github.com/nfsstall/nfsstall/analyze"
)

// TestWildTimestampIsNotAStall: one frame whose timestamp is decades
// ahead does not make the open call a 351,880,326-second stall, nor the
// capture that long; the report names the frame and the time it claimed.
func TestWildTimestampIsNotAStall(t *testing.T) {
	s := newScenario(t)
	c, sv := uint32(100), uint32(900)
	call := readCall(1, 0, 4096)
	s.seg(0, true, c, sv, ackF|pshF, 501, call)
	c += uint32(len(call))
	s.seg(50*time.Microsecond, false, sv, c, ackF, 501, nil) // the server's TCP ACKs it
	s.seg(100*time.Millisecond, true, c, sv, ackF, 501, nil)
	wild := s.seg(351_880_326*time.Second, false, sv, c, ackF, 501, nil)
	s.now = s.now.Add(-351_880_326 * time.Second)
	s.seg(100*time.Millisecond, true, c, sv, ackF, 501, nil)
	r := s.run(analyze.DefaultOptions())
	if r.HasStall() || r.Summary.DurationMS > 1000 {
		t.Errorf("stall %v, duration %.0f ms; findings %+v", r.HasStall(), r.Summary.DurationMS, r.Findings)
	}
	if last := time.Unix(0, int64(r.Captures[0].LastTime)); last.Sub(time.Unix(1_700_000_000, 0)) > time.Second {
		t.Errorf("capture's last time %v", last)
	}
	var found bool
	for _, sk := range r.Skipped {
		if sk.What == "frame timestamps" {
			found = sk.Count == 1 && strings.Contains(sk.Reason, "frame 4 claimed 2035-") && wild == 4
		}
	}
	if !found {
		t.Errorf("skipped %+v", r.Skipped)
	}
}
