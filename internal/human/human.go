// Package human formats measurements for people to read, the same way in
// the probe's reports and in its assertion messages.
package human

import (
	"fmt"
	"time"
)

// Duration formats d with a unit and three or four significant digits:
// 850 ns, 48.3 µs, 2.05 ms, 1.00 s.
func Duration(d time.Duration) string {
	v, unit := float64(d), "ns"
	switch {
	case d < time.Microsecond:
		return fmt.Sprintf("%d ns", d)
	case d < time.Millisecond:
		v, unit = v/1e3, "µs"
	case d < time.Second:
		v, unit = v/1e6, "ms"
	default:
		v, unit = v/1e9, "s"
	}
	if v < 10 {
		return fmt.Sprintf("%.2f %s", v, unit)
	}
	return fmt.Sprintf("%.1f %s", v, unit)
}
