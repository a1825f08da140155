package peak

import (
	"testing"
	"time"
)

func TestTheBusiestWindowIsFoundWhereverItStarts(t *testing.T) {
	t0 := time.Unix(0, 0)
	at := func(ms ...int) []time.Time {
		var ts []time.Time
		for _, m := range ms {
			ts = append(ts, t0.Add(time.Duration(m)*time.Millisecond))
		}
		return ts
	}
	for _, tt := range []struct {
		name string
		ts   []time.Time
		want int
	}{
		{"none", nil, 0},
		{"one", at(5), 1},
		{"across a bucket edge", at(90, 95, 105, 110, 300), 4},
		{"a window is half-open", at(0, 100, 200), 1},
		{"unsorted", at(400, 10, 420, 20, 30), 3},
	} {
		t.Run(tt.name, func(t *testing.T) {
			in := append([]time.Time(nil), tt.ts...)
			if got := PerWindow(tt.ts, 100*time.Millisecond); got != tt.want {
				t.Fatalf("got %d, want %d", got, tt.want)
			}
			for i := range in {
				if !in[i].Equal(tt.ts[i]) {
					t.Fatal("the input was reordered")
				}
			}
		})
	}
}
