package bench

import (
	"testing"
	"time"
)

// TestSecondsRoundTrip: a report read back from its JSON holds the same
// durations to the nanosecond, so that `cutover bench show --json`
// prints the report it read.
func TestSecondsRoundTrip(t *testing.T) {
	for _, d := range []time.Duration{0, 1, 8101137061, 8150479647, 64*time.Second + 600*time.Millisecond + 7, 26 * time.Hour} {
		b, err := Seconds(d).MarshalJSON()
		if err != nil {
			t.Fatal(err)
		}
		var back Seconds
		if err := back.UnmarshalJSON(b); err != nil {
			t.Fatal(err)
		}
		if back.D() != d {
			t.Errorf("%d ns wrote %s and read back %d ns", int64(d), b, int64(back))
		}
	}
}
