package tcpflow

import "testing"

func TestLimitsZeroTakesDefault(t *testing.T) {
	if got := (Limits{}).withDefaults(); got != DefaultLimits {
		t.Errorf("Limits{} is %+v, want DefaultLimits %+v", got, DefaultLimits)
	}
	got := (Limits{MaxConnections: 4, QueueSegments: -1}).withDefaults()
	want := DefaultLimits
	want.MaxConnections = 4
	if got != want {
		t.Errorf("got %+v, want %+v", got, want)
	}
}
