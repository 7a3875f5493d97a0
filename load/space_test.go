package load

import (
	"context"
	"log/slog"
	"testing"
	"time"

	"github.com/cutover/cutover/internal/testkit"
)

// TestRunsMeasureTheRoomTheyTake: a dry run and then a run on a fresh
// target report the target database's size around them. The dry run's
// peak includes its stage (still there when it measures last); the run
// ends larger than it began, its peak at least its end; the run records
// the sizes, and status shows them.
func TestRunsMeasureTheRoomTheyTake(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	src, dst := rerunSource(t), testkit.MigratedTarget(t)
	cfg := rerunConfig(src, dst)
	d, err := DryRun(ctx, cfg, 0)
	if err != nil {
		t.Fatal(err)
	}
	if d.Space == nil || d.Space.Before <= 0 || d.Space.Peak <= d.Space.Before || d.Space.After > d.Space.Peak {
		t.Errorf("dry run's sizes: %+v, want a peak above the size before (its stage)", d.Space)
	}
	sum, err := Run(ctx, cfg)
	if err != nil {
		t.Fatal(err)
	}
	sp := sum.Space
	if sp == nil || sp.Before <= 0 || sp.After <= sp.Before || sp.Peak < sp.After || sp.Room() < sp.After-sp.Before {
		t.Fatalf("run's sizes: %+v, want before < after <= peak", sp)
	}
	st := status(t, ctx, Config{TargetURL: dst})
	if got := st.Runs[0].Space; got == nil || *got != *sp {
		t.Errorf("status shows the run's sizes as %+v, the run said %+v", got, sp)
	}
}

// TestSpaceWatchStopsBetweenSamples: stopping the watch while a sample is
// being read still gives the sizes. The watch samples continuously here, so
// most stops fall during a sample's query; a stop that cancelled that query
// would break the watch's connection and lose the last sample (and with it
// the dry run's "room on the target" line).
func TestSpaceWatchStopsBetweenSamples(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	s := &session{cfg: Config{TargetURL: testkit.MigratedTarget(t), Logger: slog.New(slog.DiscardHandler)}, app: "cutover test"}
	for i := range 20 {
		stop := s.watchSpace(ctx, func(time.Duration) time.Duration { return time.Microsecond })
		time.Sleep(time.Duration(i) * time.Millisecond)
		if sp := stop(); sp == nil || sp.Before <= 0 || sp.After <= 0 || sp.Peak < sp.After {
			t.Fatalf("stop %d: sizes %+v, want all three", i, sp)
		}
	}
}

// TestSpacePause: the watch samples every spaceEvery while a sample is
// cheap, and waits spaceShare times a slow sample's time after it.
func TestSpacePause(t *testing.T) {
	for _, c := range []struct {
		took, want time.Duration
	}{
		{0, spaceEvery},
		{2 * time.Millisecond, spaceEvery},
		{spaceEvery / spaceShare, spaceEvery},
		{37 * time.Millisecond, 37 * spaceShare * time.Millisecond},
		{time.Second, spaceShare * time.Second},
	} {
		if got := spacePause(c.took); got != c.want {
			t.Errorf("spacePause(%v) = %v, want %v", c.took, got, c.want)
		}
	}
}
