package config

import "testing"

func TestUnits(t *testing.T) {
	for _, c := range []struct {
		in   string
		want float64
		ok   bool
	}{
		{"1MB/s", 1e6, true}, {"64KiB/s", 65536, true}, {"10Mbit/s", 1.25e6, true},
		{"1Gbit/s", 1.25e8, true}, {"0", 0, true}, {"1MB", 0, false}, {"fast", 0, false},
		{"-1MB/s", 0, false}, {"0Mbit/s", 0, false},
	} {
		var r Bandwidth
		err := r.UnmarshalText([]byte(c.in))
		if (err == nil) != c.ok || c.ok && float64(r) != c.want {
			t.Errorf("Bandwidth %q = %v, %v; want %v, ok %v", c.in, float64(r), err, c.want, c.ok)
		}
	}
	for _, c := range []struct {
		in   string
		want int64
		ok   bool
	}{
		{"1000", 1000, true}, {"64KiB", 65536, true}, {"1MB", 1e6, true}, {"1.5KiB", 1536, true},
		{"0.5B", 0, false}, {"-3", 0, false}, {"lots", 0, false},
	} {
		var n Bytes
		err := n.UnmarshalText([]byte(c.in))
		if (err == nil) != c.ok || c.ok && int64(n) != c.want {
			t.Errorf("Bytes %q = %d, %v; want %d, ok %v", c.in, n, err, c.want, c.ok)
		}
	}
	for _, c := range []struct {
		in   string
		want float64
		ok   bool
	}{
		{"0.3", 0.3, true}, {"30%", 0.3, true}, {"1", 1, true}, {"0", 0, true},
		{"1.1", 0, false}, {"-0.1", 0, false}, {"120%", 0, false}, {"NaN", 0, false},
	} {
		var s Share
		err := s.UnmarshalText([]byte(c.in))
		if (err == nil) != c.ok || c.ok && float64(s) != c.want {
			t.Errorf("Share %q = %v, %v; want %v, ok %v", c.in, float64(s), err, c.want, c.ok)
		}
	}
}
