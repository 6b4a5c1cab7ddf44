package analyze

import "testing"

// TestMutkillIntervalsBound: ten intervals of 1, 2, ... 10 s; the first
// maxWatchGaps (8) are kept and listed, the range covers all ten, and they
// grow (the 8th listed is at least twice the first): by hand,
// "1.00 s to 10.00 s, the first 1.00 s, ..., 8.00 s (backing off)".
func TestMutkillIntervalsBound(t *testing.T) {
	var iv intervals
	for i := range int64(10) {
		iv.add((i + 1) * 1e9)
	}
	want := "1.00 s to 10.00 s, the first 1.00 s, 2.00 s, 3.00 s, 4.00 s, 5.00 s, 6.00 s, 7.00 s, 8.00 s (backing off)"
	if got := iv.String(); got != want || len(iv.gaps) != 8 {
		t.Errorf("intervals %q (%d kept), want %q (8 kept)", got, len(iv.gaps), want)
	}
}
