package human

import (
	"testing"
	"time"
)

func TestDuration(t *testing.T) {
	t.Parallel()
	tests := []struct {
		d    time.Duration
		want string
	}{
		{0, "0 ns"}, {850, "850 ns"}, {999, "999 ns"}, {time.Microsecond, "1.00 µs"}, {48_312, "48.3 µs"},
		{2_050_000, "2.05 ms"}, {time.Second, "1.00 s"}, {61 * time.Second, "61.0 s"},
	}
	for _, tt := range tests {
		if got := Duration(tt.d); got != tt.want {
			t.Errorf("Duration(%d) = %q, want %q", tt.d, got, tt.want)
		}
	}
}
