package reconcile_test

import (
	"context"
	"errors"
	"fmt"
	"regexp"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/cutover/cutover/internal/pgtest"
	"github.com/cutover/cutover/migrations"
	"github.com/cutover/cutover/reconcile"
)

// TestVerifyBesideARunFinishing: a verification started while a run is
// working, which ends within the run lock's grace, reads the target the
// run left, not the one it was writing: its snapshot is taken after the
// run let go of the lock. (Taken before, it showed the run's own record
// as an interrupted run, and the run half done.) A run that goes on
// working is named instead.
func TestVerifyBesideARunFinishing(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	src, dst := finishedDB(t, genOptions)

	// A run at work: it holds the run lock and has recorded itself as
	// running (its last statements, which mark it done, still to come).
	run := pgtest.Connect(t, dst)
	var id int64
	if err := run.QueryRow(ctx, `SELECT pg_advisory_lock($1), (SELECT max(id) FROM cutover.runs)`, int64(migrations.RunLockID)).Scan(nil, &id); err != nil {
		t.Fatal(err)
	}
	var finished time.Time
	if err := run.QueryRow(ctx, `UPDATE cutover.runs r SET status = 'running', finished_at = NULL
		FROM cutover.runs o WHERE o.id = r.id AND r.id = $1 RETURNING o.finished_at`, id).Scan(&finished); err != nil {
		t.Fatal(err)
	}
	const working = 700 * time.Millisecond
	go func() {
		time.Sleep(working)
		_, _ = run.Exec(context.Background(), `UPDATE cutover.runs SET status = 'done', finished_at = $2 WHERE id = $1`, id, finished)
		_, _ = run.Exec(context.Background(), `SELECT pg_advisory_unlock($1)`, int64(migrations.RunLockID))
	}()
	start := time.Now()
	res := verify(t, src, dst)
	if f := failures(res); !res.OK() || len(f) > 0 {
		t.Errorf("verify started while a run finished: OK %v, failures:\n%v", res.OK(), f)
	}
	if res.LastRun.ID != id || res.LastRun.Status != "done" {
		t.Errorf("verify read the last run as %d %s, want %d done", res.LastRun.ID, res.LastRun.Status, id)
	}
	if waited := time.Since(start); waited < working/2 {
		t.Errorf("verify finished %v after it started, before the run let go of the lock", waited)
	}

	// A run that goes on working past the grace is named.
	if _, err := run.Exec(ctx, `SELECT pg_advisory_lock($1)`, int64(migrations.RunLockID)); err != nil {
		t.Fatal(err)
	}
	var re *migrations.RunningError
	if _, err := reconcile.Verify(ctx, reconcile.Config{SourceURL: src, TargetURL: dst, Workers: 2}); !errors.As(err, &re) {
		t.Errorf("verify while a run works: %v, want a *RunningError", err)
	}
}

// TestVerifyNamesWhoBlocksIt: a psql session left in a transaction that
// locked one of the target's tables holds a check of verify's. Verify's
// progress says which session blocks it, on which table and what to do,
// while it waits; once that session ends, verify finishes and finds the
// cutover sound.
func TestVerifyNamesWhoBlocksIt(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	src, dst := finishedDB(t, genOptions)
	pid, release, timedOut := pgtest.Block(t, dst, "LOCK TABLE public.habits IN ACCESS EXCLUSIVE MODE")
	want := regexp.MustCompile(fmt.Sprintf(`^target: verify has waited [0-9hms.]+ for a lock on public\.habits, blocked by pid %d \(user \S+, application psql, idle in transaction, its transaction open for [^)]+\); end that session \(SELECT pg_terminate_backend\(%[1]d\)\) or let it finish: verify goes on by itself once the lock is free$`, pid))
	var mu sync.Mutex
	var said []string
	res, err := reconcile.Verify(ctx, reconcile.Config{SourceURL: src, TargetURL: dst, Workers: 2,
		LockWaitReported: 300 * time.Millisecond,
		Progress: func(e reconcile.Event) {
			if e.Message == "" {
				return
			}
			mu.Lock()
			said = append(said, e.Message)
			mu.Unlock()
			if want.MatchString(e.Message) {
				go release()
			}
		}})
	if err != nil {
		t.Fatalf("verify after the blocking session ended: %v", err)
	}
	if timedOut() {
		t.Errorf("while it waited verify said:\n%s\nwant a line matching %s", strings.Join(said, "\n"), want)
	}
	if !res.OK() {
		t.Errorf("verify after the wait: %v", failures(res))
	}
}
