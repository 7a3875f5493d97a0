package migrations_test

import (
	"context"
	"errors"
	"testing"
	"time"

	"github.com/cutover/cutover/internal/pgtest"
	"github.com/cutover/cutover/migrations"
)

// TestShownStatus: status and verify show a run as interrupted when it was
// cancelled or its process ended, whichever build recorded it (failed by
// earlier ones), and when it is recorded running while nobody holds the
// run lock; every other record as it is.
func TestShownStatus(t *testing.T) {
	for _, c := range []struct {
		status, err string
		lockHeld    bool
		want        string
	}{
		{"interrupted", migrations.CancelledRun, false, "interrupted"},
		{"interrupted", migrations.EndedRun, false, "interrupted"},
		{"failed", migrations.CancelledRun, false, "interrupted"},
		{"failed", migrations.EndedRun, false, "interrupted"},
		{"failed", "apply habits: disk full", false, "failed"},
		{"running", "", false, "interrupted"},
		{"running", "", true, "running"},
		{"done", "", false, "done"},
	} {
		if got := migrations.ShownStatus(c.status, c.err, c.lockHeld); got != c.want {
			t.Errorf("ShownStatus(%q, %q, lock held %v) = %q, want %q", c.status, c.err, c.lockHeld, got, c.want)
		}
	}
	// How each says it ended.
	for err, want := range map[string]string{
		migrations.CancelledRun: "was interrupted (Ctrl-C, SIGTERM or a closed terminal)",
		migrations.EndedRun:     "was interrupted (its process or connection ended)",
		"":                      "was interrupted (its process or connection ended)",
	} {
		if got := migrations.Interrupted(err); got != want {
			t.Errorf("Interrupted(%q) = %q, want %q", err, got, want)
		}
	}
}

// TestTryLockWaitsForASessionBeingEnded: the run lock held by a session
// that is ended a moment later (its command killed, or
// pg_terminate_backend) is taken within the grace, as are the readers'
// checks; a holder that stays is still refused after the grace, and a
// cancelled wait ends with the context's error.
func TestTryLockWaitsForASessionBeingEnded(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	url := pgtest.NewDB(t)
	holder := func() (pid int) {
		c := pgtest.Connect(t, url)
		if err := c.QueryRow(ctx, "SELECT pg_advisory_lock($1), pg_backend_pid()", int64(migrations.RunLockID)).Scan(nil, &pid); err != nil {
			t.Fatal(err)
		}
		return pid
	}
	endLater := func(pid int) {
		admin := pgtest.Connect(t, url)
		go func() {
			time.Sleep(300 * time.Millisecond)
			_, _ = admin.Exec(ctx, "SELECT pg_terminate_backend($1)", pid)
		}()
	}
	for _, c := range []struct {
		name   string
		ends   bool
		grace  time.Duration
		cancel bool
		want   bool
	}{
		{"ended within the grace", true, 10 * time.Second, false, true},
		{"held beyond the grace", false, 500 * time.Millisecond, false, false},
		{"cancelled while waiting", false, 10 * time.Second, true, false},
	} {
		t.Run(c.name, func(t *testing.T) {
			pid := holder()
			if c.ends {
				endLater(pid)
			}
			cctx := ctx
			if c.cancel {
				var cancel context.CancelFunc
				cctx, cancel = context.WithTimeout(ctx, 300*time.Millisecond)
				defer cancel()
			}
			taker := pgtest.Connect(t, url)
			got, err := migrations.TryLock(cctx, taker, migrations.RunLockID, c.grace)
			switch {
			case c.cancel && !errors.Is(err, context.DeadlineExceeded):
				t.Errorf("TryLock cancelled while waiting: %v, want the context's error", err)
			case !c.cancel && err != nil:
				t.Fatal(err)
			case got != c.want:
				t.Errorf("TryLock = %v, want %v", got, c.want)
			}
			if got { // give it back for the next case
				if _, err := taker.Exec(ctx, "SELECT pg_advisory_unlock($1)", int64(migrations.RunLockID)); err != nil {
					t.Fatal(err)
				}
			} else {
				if _, err := taker.Exec(ctx, "SELECT pg_terminate_backend($1)", pid); err != nil {
					t.Fatal(err)
				}
				waitUnheld(t, taker)
			}
		})
	}
	t.Run("a reader", func(t *testing.T) {
		reader := pgtest.Connect(t, url)
		endLater(holder())
		if err := migrations.WorkingRun(ctx, reader); err != nil {
			t.Errorf("WorkingRun while the holder is being ended: %v, want nil", err)
		}
		holder()
		var re *migrations.RunningError
		if err := migrations.WorkingRun(ctx, reader); !errors.As(err, &re) {
			t.Errorf("WorkingRun while a holder stays: %v, want a *RunningError", err)
		}
	})
}

// waitUnheld waits until no session holds the run lock.
func waitUnheld(t *testing.T, q migrations.Queryer) {
	t.Helper()
	for deadline := time.Now().Add(time.Minute); ; time.Sleep(50 * time.Millisecond) {
		held, err := migrations.RunLockHeld(context.Background(), q)
		if err != nil {
			t.Fatal(err)
		}
		if !held {
			return
		}
		if time.Now().After(deadline) {
			t.Fatal("the run lock is still held a minute after its holder was ended")
		}
	}
}

// TestHoldOffRuns: a reader holding the run lock shared keeps a run from
// taking it, and is not taken for a run by the lock's readers; it waits
// for a run that ends within the grace, and names one that does not; once
// it lets runs start, a run takes the lock.
func TestHoldOffRuns(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	url := pgtest.NewDB(t)
	reader, run, other := pgtest.Connect(t, url), pgtest.Connect(t, url), pgtest.Connect(t, url)

	if err := migrations.HoldOffRuns(ctx, reader); err != nil {
		t.Fatal(err)
	}
	if got, err := migrations.TryLock(ctx, run, migrations.RunLockID, 200*time.Millisecond); err != nil || got {
		t.Errorf("a run took the run lock while a reader held it shared: %v, %v", got, err)
	}
	if held, err := migrations.RunLockHeld(ctx, other); err != nil || held {
		t.Errorf("RunLockHeld while only a reader holds the lock shared: %v, %v; want false", held, err)
	}
	if err := migrations.WorkingRun(ctx, other); err != nil {
		t.Errorf("WorkingRun while only a reader holds the lock shared: %v, want nil", err)
	}
	if err := migrations.LetRunsStart(ctx, reader); err != nil {
		t.Fatal(err)
	}
	if err := migrations.LetRunsStart(ctx, reader); err == nil {
		t.Error("LetRunsStart twice: no error, want one (the session no longer holds it)")
	}
	if got, err := migrations.TryLock(ctx, run, migrations.RunLockID, 0); err != nil || !got {
		t.Fatalf("a run could not take the run lock after the reader let runs start: %v, %v", got, err)
	}

	// A run ending within the grace is waited for.
	go func() {
		time.Sleep(300 * time.Millisecond)
		_, _ = run.Exec(context.Background(), "SELECT pg_advisory_unlock($1)", int64(migrations.RunLockID))
	}()
	start := time.Now()
	if err := migrations.HoldOffRuns(ctx, reader); err != nil {
		t.Fatalf("HoldOffRuns while a run ends within the grace: %v, want nil", err)
	}
	if waited := time.Since(start); waited < 200*time.Millisecond {
		t.Errorf("HoldOffRuns took the lock after %v, before the run released it", waited)
	}
	if err := migrations.LetRunsStart(ctx, reader); err != nil {
		t.Fatal(err)
	}

	// A run that stays is named after the grace.
	if got, err := migrations.TryLock(ctx, run, migrations.RunLockID, 0); err != nil || !got {
		t.Fatalf("take the run lock again: %v, %v", got, err)
	}
	var re *migrations.RunningError
	if err := migrations.HoldOffRuns(ctx, reader); !errors.As(err, &re) {
		t.Errorf("HoldOffRuns while a run works: %v, want a *RunningError", err)
	}
}
