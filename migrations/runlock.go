package migrations

import (
	"context"
	"errors"
	"fmt"
	"time"

	"github.com/jackc/pgx/v5"
)

// RunLockID is the advisory lock a run holds on the target for its whole
// duration, in the session that records it, so that two runs never work
// on one target at once.
const RunLockID = 7_401_100_002

// CancelledRun is the error a run records, with status interrupted, when
// its context was cancelled: the operator's Ctrl-C, SIGTERM or a closed
// terminal, not a failure of any table. Earlier builds recorded it with
// status failed; `cutover status` and verify show those as interrupted
// too, and say how.
const CancelledRun = "interrupted: the run was cancelled (Ctrl-C, SIGTERM or a closed terminal)"

// EndedRun is the error the next run records, with status interrupted,
// for a run still recorded as running when it takes the run lock: its
// process (kill -9, a lost machine) or its connection ended before it
// could say so. Earlier builds recorded it with status failed.
const EndedRun = "the process ended before the run finished"

// ShownStatus is how status and verify show a run recorded with status
// and recordedError: "interrupted" for one recorded as running while no
// session holds the run lock (lockHeld false: its process or connection
// ended before it could say so), or recorded as cancelled or ended
// (CancelledRun or EndedRun, with status interrupted, or failed by
// earlier builds); else status as recorded.
func ShownStatus(status, recordedError string, lockHeld bool) string {
	if status == "running" && !lockHeld || status == "failed" && (recordedError == CancelledRun || recordedError == EndedRun) {
		return "interrupted"
	}
	return status
}

// Interrupted says how a run that status or verify shows as interrupted
// ended: cancelled (its recorded error is CancelledRun), or recorded as
// running while no run holds the run lock (its process or connection
// ended before it could say so).
func Interrupted(recordedError string) string {
	if recordedError == CancelledRun {
		return "was interrupted (Ctrl-C, SIGTERM or a closed terminal)"
	}
	return "was interrupted (its process or connection ended)"
}

// RunningError reports that a run holds the target: a second run, a seal,
// a dry run or a verification refuses to start while it works.
type RunningError struct {
	RunID     int64 // 0 when the working run's record cannot be read
	Host      string
	PID       int
	StartedAt time.Time
}

func (e *RunningError) Error() string {
	if e.RunID == 0 {
		return "another cutover run is working on this target (it holds the run lock); wait for it to finish"
	}
	return fmt.Sprintf("another cutover run (run %d, pid %d on %s, started %s) is working on this target; wait for it to finish",
		e.RunID, e.PID, e.Host, e.StartedAt.UTC().Format(time.RFC3339))
}

// Queryer is what the run lock's readers need of a connection.
type Queryer interface {
	QueryRow(ctx context.Context, sql string, args ...any) pgx.Row
}

// LockGrace is how long a command waits for the run or dry-run lock held
// by another session before it refuses. A session whose client has gone
// (a process killed, a command interrupted, pg_terminate_backend) keeps
// its locks until the server has ended it, a moment later: an operator
// who runs the command again at once should not be told that a run is
// at work. A run that is at work is still named, after the grace.
const LockGrace = 3 * time.Second

// lockPoll is how often TryLock and WorkingRun look again within the
// grace.
const lockPoll = 100 * time.Millisecond

// TryLock takes the advisory lock id (a bigint key) for q's session,
// trying again every lockPoll while another session holds it, for up to
// grace. It reports whether the session holds it; false only after grace,
// or with the context's error when ctx ends first.
func TryLock(ctx context.Context, q Queryer, id int64, grace time.Duration) (bool, error) {
	return within(ctx, grace, func() (got bool, err error) {
		err = q.QueryRow(ctx, "SELECT pg_try_advisory_lock($1)", id).Scan(&got)
		return got, err
	})
}

// within calls try every lockPoll until it reports true, for up to
// grace (at least once; the last call comes once grace has run out); it
// returns try's last answer, or the first error, try's or the context's.
func within(ctx context.Context, grace time.Duration, try func() (bool, error)) (bool, error) {
	deadline := time.Now().Add(grace)
	for {
		ok, err := try()
		if err != nil || ok || !time.Now().Before(deadline) {
			return ok, err
		}
		if err := sleep(ctx, lockPoll); err != nil {
			return false, err
		}
	}
}

// sleep waits d or until ctx ends, whichever comes first.
func sleep(ctx context.Context, d time.Duration) error {
	t := time.NewTimer(d)
	defer t.Stop()
	select {
	case <-ctx.Done():
		return ctx.Err()
	case <-t.C:
		return nil
	}
}

// RunLockHolder returns the server process id of the session that holds
// the run lock on q's database, or 0 when none does.
func RunLockHolder(ctx context.Context, q Queryer) (int, error) {
	pid, err := lockHolder(ctx, q, RunLockID)
	if err != nil {
		return 0, fmt.Errorf("read the run lock: %w", err)
	}
	return pid, nil
}

// lockHolder returns the server process id of the session that holds the
// advisory lock id (taken with a bigint key) on q's database, or 0. Only
// an exclusive hold counts: a reader holding the run lock shared for a
// moment (HoldOffRuns) is not a run.
func lockHolder(ctx context.Context, q Queryer, id int64) (int, error) {
	var pid int
	err := q.QueryRow(ctx, `SELECT coalesce((SELECT pid FROM pg_locks WHERE locktype = 'advisory' AND granted
		AND database = (SELECT oid FROM pg_database WHERE datname = current_database())
		AND classid::bigint = $1 AND objid::bigint = $2 AND objsubid = 1 AND mode = 'ExclusiveLock'), 0)`,
		id>>32, id&0xffffffff).Scan(&pid)
	return pid, err
}

// DryRunLockID is the advisory lock a dry run holds on the target for its
// whole duration, in its first session: dry runs share one scratch schema
// (load.DryRunStage), so two at once would fill, and drop, each other's
// tables. Runs do not take it: a run may start while a dry run works, and
// the dry run then fails (load.RunDuringDryRunError).
const DryRunLockID = 7_401_100_003

// DryRunningError reports that a dry run holds the target's dry-run lock:
// a second dry run refuses to start.
type DryRunningError struct {
	PID int
	// Client is the address its session connected from ("" for a unix
	// socket, or when the reading role may not see it).
	Client string
	// Since is when its session connected (zero when not visible).
	Since time.Time
}

func (e *DryRunningError) Error() string {
	return fmt.Sprintf("another cutover dry run (%s) is working on this target, in the scratch schema dry runs share: "+
		"wait for it to finish, or end it (SELECT pg_terminate_backend(%d)); nothing was written", e.Who(time.RFC3339), e.PID)
}

// Who names the dry run's session as much as the reading role may see:
// "pid 81234 from 10.0.0.8, connected …", its time in UTC by layout.
func (e *DryRunningError) Who(layout string) string {
	who := fmt.Sprintf("pid %d", e.PID)
	if e.Client != "" {
		who += " from " + e.Client
	}
	if !e.Since.IsZero() {
		who += ", connected " + e.Since.UTC().Format(layout)
	}
	return who
}

// DryRunHolder returns a *DryRunningError naming the session that holds
// the dry-run lock on q's database, or nil when none does.
func DryRunHolder(ctx context.Context, q Queryer) (*DryRunningError, error) {
	pid, err := lockHolder(ctx, q, DryRunLockID)
	if err != nil {
		return nil, fmt.Errorf("read the dry-run lock: %w", err)
	}
	if pid == 0 {
		return nil, nil
	}
	e := &DryRunningError{PID: pid}
	var since *time.Time
	if err := q.QueryRow(ctx, `SELECT coalesce(host(client_addr), ''), backend_start FROM pg_stat_activity WHERE pid = $1`, pid).
		Scan(&e.Client, &since); err != nil && !errors.Is(err, pgx.ErrNoRows) {
		return nil, fmt.Errorf("read the dry run's session: %w", err)
	}
	if since != nil {
		e.Since = *since
	}
	return e, nil
}

// RunLockHeld reports whether a session holds the run lock on q's
// database.
func RunLockHeld(ctx context.Context, q Queryer) (bool, error) {
	pid, err := RunLockHolder(ctx, q)
	return pid != 0, err
}

// WorkingRun returns a *RunningError naming the run whose session holds
// the run lock on q's database, or nil when none does. A reader (a dry
// run, a verification) calls it before it starts: what it would read of
// a target that a run is rewriting says nothing. A run may still start
// after it; only the run lock itself excludes runs from each other.
//
// A lock held by a session the server is ending is waited for, up to
// LockGrace, as TryLock does.
func WorkingRun(ctx context.Context, q Queryer) error {
	free, err := within(ctx, LockGrace, func() (bool, error) {
		held, err := RunLockHeld(ctx, q)
		return !held, err
	})
	if err != nil || free {
		return err
	}
	return RunningRecord(ctx, q)
}

// RunningRecord returns a *RunningError naming the newest run recorded
// as running on q's database, for a caller that found the run lock held.
// When no such record can be read, RunID is 0: the lock said enough.
func RunningRecord(ctx context.Context, q Queryer) *RunningError {
	re := &RunningError{}
	if err := q.QueryRow(ctx, `SELECT id, host, pid, started_at FROM `+pgx.Identifier{BookkeepingSchema}.Sanitize()+`.runs WHERE status = 'running' ORDER BY id DESC LIMIT 1`).
		Scan(&re.RunID, &re.Host, &re.PID, &re.StartedAt); err != nil {
		return &RunningError{}
	}
	return re
}

// HoldOffRuns takes the run lock shared for q's session, waiting up to
// LockGrace for a working run to release it, and returns a *RunningError
// naming that run when it does not. While the session holds it no run can
// start (a run takes the lock exclusively, and waits LockGrace for it):
// a reader takes its snapshot of the target under it, so that the
// snapshot never shows a run half done, and reads what its snapshot
// cannot (the live catalog) before LetRunsStart releases it.
func HoldOffRuns(ctx context.Context, q Queryer) error {
	got, err := within(ctx, LockGrace, func() (got bool, err error) {
		err = q.QueryRow(ctx, "SELECT pg_try_advisory_lock_shared($1)", RunLockID).Scan(&got)
		return got, err
	})
	if err != nil {
		return fmt.Errorf("take the run lock shared: %w", err)
	}
	if !got {
		return RunningRecord(ctx, q)
	}
	return nil
}

// LetRunsStart releases the shared hold of HoldOffRuns.
func LetRunsStart(ctx context.Context, q Queryer) error {
	var released bool
	if err := q.QueryRow(ctx, "SELECT pg_advisory_unlock_shared($1)", RunLockID).Scan(&released); err != nil {
		return fmt.Errorf("release the run lock: %w", err)
	}
	if !released {
		return errors.New("release the run lock: this session did not hold it shared")
	}
	return nil
}
