package load

import (
	"context"
	"testing"

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
