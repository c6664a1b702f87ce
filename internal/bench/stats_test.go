package bench

import (
	"fmt"
	"slices"
	"time"
)

// stats are the timings of one figure. This file has no build tag, so
// that `go test ./...` runs the tests of the figures' arithmetic.
type stats []time.Duration

// median is the middle timing, or the mean of the two middle ones when
// there is an even number of them.
func (s stats) median() time.Duration {
	sorted := slices.Clone(s)
	slices.Sort(sorted)
	mid := len(sorted) / 2
	if len(sorted)%2 == 0 {
		return (sorted[mid-1] + sorted[mid]) / 2
	}
	return sorted[mid]
}

func (s stats) String() string {
	return fmt.Sprintf("%.2f s (%.2f–%.2f, n=%d)", s.median().Seconds(), slices.Min(s).Seconds(), slices.Max(s).Seconds(), len(s))
}

func ratio(a, b stats) string {
	return fmt.Sprintf("%.2f×", a.median().Seconds()/b.median().Seconds())
}
