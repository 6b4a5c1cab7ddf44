package analyze

import (
	"testing"
	"unsafe"
)

// TestTimelineBytes: TimelineBytes, which README's budget table and the
// skipped entry state, is what one connection's rings cost.
func TestTimelineBytes(t *testing.T) {
	got := timelineSegments*unsafe.Sizeof(segPoint{}) + timelineAcks*unsafe.Sizeof(ackPoint{}) +
		timelineOutstanding*unsafe.Sizeof(cntPoint{})
	if got != TimelineBytes {
		t.Errorf("rings of one connection cost %d bytes, TimelineBytes says %d", got, TimelineBytes)
	}
}
