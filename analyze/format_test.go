package analyze

import "testing"

// TestFormatMS: each unit and each boundary between two, by hand: the
// value is rounded to the unit's precision first, so what rounds up to the
// next unit is written in it.
func TestFormatMS(t *testing.T) {
	for _, tt := range []struct {
		ms   float64
		want string
	}{
		{0, "0 µs"},
		{0.0004, "0 µs"},
		{0.0006, "1 µs"},
		{0.540, "540 µs"},
		{0.9994, "999 µs"},
		{0.9996, "1.00 ms"}, // 999.6 µs rounds to 1000 µs: 1 ms
		{1, "1.00 ms"},
		{3.518, "3.52 ms"},
		{9.994, "9.99 ms"},
		{9.996, "10.0 ms"}, // rounds to 10.00 ms: the next precision
		{43.62, "43.6 ms"},
		{99.94, "99.9 ms"},
		{99.96, "100 ms"},
		{540.3, "540 ms"},
		{999.4, "999 ms"},
		{999.6, "1.00 s"}, // rounds to 1000 ms: 1 s
		{1000, "1.00 s"},
		{9633.016, "9.63 s"},
		{59994, "59.99 s"},
		{59996, "1 min 00 s"}, // rounds to 60.00 s
		{60000, "1 min 00 s"},
		{125400, "2 min 05 s"},
		{3599400, "59 min 59 s"},
		{3599600, "1 h 00 min"}, // rounds to 3600 s
		{5400000, "1 h 30 min"},
		{90000000, "25 h 00 min"},
		{-43.62, "-43.6 ms"}, {0.5, "500 µs"},
	} {
		if got := FormatMS(tt.ms); got != tt.want {
			t.Errorf("FormatMS(%v) = %q, want %q", tt.ms, got, tt.want)
		}
	}
}

// TestFormatBytes: binary units (1 KiB = 1024 B), each boundary by hand.
func TestFormatBytes(t *testing.T) {
	for _, tt := range []struct {
		n    float64
		want string
	}{
		{0, "0 B"},
		{1023, "1023 B"},
		{1023.6, "1.0 KiB"}, // rounds to 1024 B
		{1024, "1.0 KiB"},
		{1536, "1.5 KiB"},
		{1024*1024 - 52, "1023.9 KiB"}, // 1023.949 KiB
		{1024*1024 - 51, "1.0 MiB"},    // 1023.950 KiB rounds to 1024.0
		{64 << 20, "64.0 MiB"},
		{250e6, "238.4 MiB"}, // 250e6 / 1048576 = 238.42
		{1 << 30, "1.0 GiB"},
		{3 << 40, "3.0 TiB"},
		{5 << 50, "5120.0 TiB"}, // no larger unit
	} {
		if got := FormatBytes(tt.n); got != tt.want {
			t.Errorf("FormatBytes(%v) = %q, want %q", tt.n, got, tt.want)
		}
	}
	if got := FormatRate(1.5 * 1024 * 1024); got != "1.5 MiB/s" {
		t.Errorf("FormatRate(1.5 MiB) = %q", got)
	}
}
