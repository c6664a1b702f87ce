package bench

import (
	"slices"
	"testing"
	"time"
)

func TestMedian(t *testing.T) {
	s := time.Second
	tests := []struct {
		name string
		in   stats
		want time.Duration
	}{
		{"one", stats{3 * s}, 3 * s},
		{"two: the mean, not the larger", stats{4 * s, 2 * s}, 3 * s},
		{"three, unsorted", stats{9 * s, 1 * s, 2 * s}, 2 * s},
		{"four: the mean of the middle two", stats{10 * s, 1 * s, 3 * s, 2 * s}, 2500 * time.Millisecond},
		{"five with repeats", stats{2 * s, 7 * s, 2 * s, 1 * s, 9 * s}, 2 * s},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			in := append(stats(nil), tt.in...)
			if got := tt.in.median(); got != tt.want {
				t.Errorf("median(%v) = %v, want %v", []time.Duration(tt.in), got, tt.want)
			}
			if !slices.Equal(tt.in, in) {
				t.Errorf("median reordered its timings: %v, was %v", tt.in, in)
			}
		})
	}
}
