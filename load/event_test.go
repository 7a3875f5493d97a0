package load_test

import (
	"testing"
	"time"

	"github.com/cutover/cutover/load"
)

// TestEventLeft: the time a phase has left is its remaining work at the
// rate of the work done, counted in rows: the rows of the row phases
// (without those found done, which came at no rate), the rows of the
// mappings' phases' mappings; with nothing to go by, or under a twentieth
// of the work to go by, there is no estimate.
func TestEventLeft(t *testing.T) {
	for _, tt := range []struct {
		name    string
		e       load.Event
		elapsed time.Duration
		want    time.Duration
		ok      bool
	}{
		{"extract, a quarter copied", load.Event{Phase: "extract", Done: 250, Total: 1000}, 10 * time.Second, 30 * time.Second, true},
		{"extract, by bytes when counted", load.Event{Phase: "extract", Done: 250, Total: 1000, Bytes: 500, TotalBytes: 1000}, 10 * time.Second, 10 * time.Second, true},
		{"extract, bytes kept left out", load.Event{Phase: "extract", Done: 600, Total: 1000, Kept: 500, Bytes: 700, TotalBytes: 1000, KeptBytes: 400}, 3 * time.Second, 3 * time.Second, true},
		{"checksum, by bytes", load.Event{Phase: "checksum", Done: 100, Total: 1000, Bytes: 900, TotalBytes: 1000}, 9 * time.Second, time.Second, true},
		{"apply, by rows even with bytes", load.Event{Phase: "apply", Done: 80, Total: 81, Rows: 100, TotalRows: 1000, Bytes: 1, TotalBytes: 2}, 5 * time.Second, 45 * time.Second, true},
		{"extract, half of it kept", load.Event{Phase: "extract", Done: 600, Total: 1000, Kept: 500}, 2 * time.Second, 8 * time.Second, true},
		{"checksum", load.Event{Phase: "checksum", Done: 900, Total: 1000}, 9 * time.Second, time.Second, true},
		{"apply, by rows not mappings", load.Event{Phase: "apply", Done: 80, Total: 81, Rows: 100, TotalRows: 1000}, 5 * time.Second, 45 * time.Second, true},
		{"apply, the mappings under way half done", load.Event{Phase: "apply", Done: 40, Total: 81, Rows: 200, Running: 200, TotalRows: 1000}, 3 * time.Second, 7 * time.Second, true},
		{"decide, no rows counted", load.Event{Phase: "decide", Done: 10, Total: 81}, 5 * time.Second, 0, false},
		{"extract, under a twentieth copied", load.Event{Phase: "extract", Done: 49, Total: 1000}, 5 * time.Second, 0, false},
		{"extract, a twentieth copied", load.Event{Phase: "extract", Done: 50, Total: 1000}, 5 * time.Second, 95 * time.Second, true},
		{"extract, nothing copied yet", load.Event{Phase: "extract", Done: 0, Total: 1000}, 5 * time.Second, 0, false},
		{"extract, all kept", load.Event{Phase: "extract", Done: 500, Total: 1000, Kept: 500}, 5 * time.Second, 0, false},
		{"extract, done", load.Event{Phase: "extract", Done: 1000, Total: 1000}, 5 * time.Second, 0, false},
		{"apply, done", load.Event{Phase: "apply", Done: 81, Total: 81, Rows: 1000, TotalRows: 1000}, 5 * time.Second, 0, false},
		{"no time elapsed", load.Event{Phase: "extract", Done: 100, Total: 1000}, 0, 0, false},
	} {
		t.Run(tt.name, func(t *testing.T) {
			got, ok := tt.e.Left(tt.elapsed)
			if got != tt.want || ok != tt.ok {
				t.Errorf("Left(%s) of %+v = %s, %v; want %s, %v", tt.elapsed, tt.e, got, ok, tt.want, tt.ok)
			}
		})
	}
}
