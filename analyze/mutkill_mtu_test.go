package analyze_test

import (
	"fmt"
	"slices"
	"strings"
	"testing"

	"github.com/nfsstall/nfsstall/internal/handcap"
)

// TestMutkillMTUFirstICMP: the hole of TestMTUBlackHoleICMPSeen with three
// ICMP errors quoting the server's segment after its last re-send, in order: a
// "fragmentation needed" (MTU 1400), a host unreachable (RFC 792 type 3
// code 1), another "fragmentation needed". By construction the first of
// them is the first frame added: the finding names it, lists it, counts
// the two "fragmentation needed", and does not move "the first" to a later
// error.
func TestMutkillMTUFirstICMP(t *testing.T) {
	m := mtuScenario(3*mss+204-48, true, false)
	first := m.h.add(handcap.Seg{MS: 6212, IP: icmpFragNeeded(1400, m.replyStart)})
	unreach := icmpFragNeeded(0, m.replyStart)
	unreach[21] = 1 // ICMP code: host unreachable
	m.h.add(handcap.Seg{MS: 6213, IP: unreach})
	last := m.h.add(handcap.Seg{MS: 6214, IP: icmpFragNeeded(1400, m.replyStart)})
	r := m.h.run(t)
	fs := mtuFindings(r)
	if len(fs) != 1 {
		t.Fatalf("%d mtu_black_hole findings, want 1", len(fs))
	}
	f := fs[0]
	if !slices.Contains(f.Frames, first) || slices.Contains(f.Frames, last) {
		t.Errorf("frames %v: want the first ICMP error's frame %d, not the last's %d", f.Frames, first, last)
	}
	if want := fmt.Sprintf("2 ICMP errors \"fragmentation needed\" / \"packet too big\" quoting the server's segments are in the capture (the first at frame %d, MTU 1400)", first); !strings.Contains(f.Summary, want) {
		t.Errorf("summary lacks %q: %s", want, f.Summary)
	}
	if len(r.Connections) != 1 || r.Connections[0].ICMPErrors != 3 {
		t.Errorf("connections %+v: want one, with icmp_errors 3", r.Connections)
	}
}
