package load

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"net"
	"regexp"
	"slices"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"syscall"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"
	"github.com/jackc/pgx/v5"

	"github.com/cutover/cutover/extract"
	"github.com/cutover/cutover/internal/dburl"
	"github.com/cutover/cutover/internal/pgtest"
	"github.com/cutover/cutover/internal/prose"
	"github.com/cutover/cutover/internal/testkit"
	"github.com/cutover/cutover/mappings"
	"github.com/cutover/cutover/migrations"
)

// TestRerunKeepsTheStageOfAnInterruptedRun: a run interrupted while it
// copies (Ctrl-C, a closed terminal, kill -9) leaves its stage behind. The
// re-run keeps the stage tables whose rows the source still holds, copies
// only the rest, and leaves the target a fresh run gives. When the source
// changed in between (changeSource: users, habits and more), the tables
// it changed are copied again, and the target is the changed source's.
func TestRerunKeepsTheStageOfAnInterruptedRun(t *testing.T) {
	for _, c := range []struct {
		name   string
		change bool
		want   string // the reference the re-run's target must equal
	}{
		{"unchanged source", false, "S0"},
		{"changed source", true, "S1"},
	} {
		t.Run(c.name, func(t *testing.T) {
			t.Parallel()
			ctx := context.Background()
			want := reference(t, c.want)
			src, dst := rerunSource(t), testkit.MigratedTarget(t)

			// Interrupted as it starts the last table's batch (workouts),
			// once users is in the stage (on a loaded machine the other
			// worker may still be copying it): the operator's Ctrl-C
			// cancels the run's context.
			cfg := rerunConfig(src, dst)
			runCtx, cancel := context.WithCancel(ctx)
			defer cancel()
			SetHook(&cfg, func(point string) error {
				if point == "extract.before:workouts" {
					for deadline := time.Now().Add(time.Minute); time.Now().Before(deadline); time.Sleep(50 * time.Millisecond) {
						var users int
						if err := withConn(ctx, dst, func(c *pgx.Conn) error {
							return c.QueryRow(ctx, `SELECT count(*) FROM cutover_stage._staged_batches WHERE legacy_table = 'users'`).Scan(&users)
						}); err != nil || users > 0 {
							break
						}
					}
					cancel()
					return runCtx.Err()
				}
				return nil
			})
			if _, err := Run(runCtx, cfg); !errors.Is(err, context.Canceled) {
				t.Fatalf("interrupted run: %v, want it cancelled", err)
			}
			staged := scalarOf[int64](t, ctx, dst, `SELECT count(*) FROM cutover_stage._staged_batches`)
			// users is among what changeSource changes: it must be in the
			// stage for the changed case to show that a changed table is
			// not kept.
			users := scalarOf[int64](t, ctx, dst, `SELECT count(*) FROM cutover_stage._staged_batches WHERE legacy_table = 'users'`)
			if staged == 0 || users == 0 {
				t.Fatalf("the interrupted run left %d batches in the stage (%d of users), want some of users", staged, users)
			}
			// Status says what the re-run will keep.
			st, err := Status(ctx, Config{TargetURL: dst})
			if err != nil {
				t.Fatal(err)
			}
			if want := fmt.Sprintf("; the stage holds %d batches (", staged); st.Next.Action != "finish" || !strings.Contains(st.Next.Message, want) ||
				strings.Contains(st.Next.Message, "does it all again") {
				t.Errorf("status after the interrupted run: %s: %s, want it to say %q", st.Next.Action, st.Next.Message, want)
			}
			// Cancelled, not failed in the table it was copying, and
			// recorded so.
			if got := scalarOf[string](t, ctx, dst, `SELECT status || ': ' || error FROM cutover.runs WHERE id = 1`); got != "interrupted: "+migrations.CancelledRun {
				t.Errorf("the interrupted run is recorded %q, want status interrupted and migrations.CancelledRun", got)
			}
			if want := "run 1 was interrupted (Ctrl-C, SIGTERM or a closed terminal); "; len(st.Runs) != 1 || st.Runs[0].Status != "interrupted" ||
				st.Runs[0].FailedTable != "" || !strings.HasPrefix(st.Next.Message, want) {
				t.Errorf("status after the interrupted run: runs %+v, next %q, want one interrupted run and %q", st.Runs, st.Next.Message, want)
			}
			if c.change {
				// S1 is S0 changed (changeSource), copied as the reference's
				// source was: the same row versions, whose fingerprints the
				// ledger records, as an edit here would not have.
				src = changedSource(t)
			}
			cfg = rerunConfig(src, dst)
			var mu sync.Mutex
			var kept string
			var last Event // the extract's last count
			cfg.Progress = func(e Event) {
				mu.Lock()
				defer mu.Unlock()
				if e.Phase == "extract" && strings.HasPrefix(e.Message, "keeping ") {
					kept = e.Message
				}
				if e.Phase == "extract" && e.Table != "" {
					if e.Done < last.Done {
						t.Errorf("the extract counted %d rows done after %d", e.Done, last.Done)
					}
					last = e
				}
			}
			copied := countCopies(&cfg)
			if _, err := Run(ctx, cfg); err != nil {
				t.Fatalf("re-run: %v", err)
			}
			m := regexp.MustCompile(`^keeping (\d+) batch(?:es)? \((\d+) rows? of (\d+) tables?\) that an earlier run copied into the stage: the source holds the same rows$`).FindStringSubmatch(kept)
			if m == nil {
				t.Fatalf("the re-run did not say what it kept of the stage: %q", kept)
			}
			n, _ := strconv.Atoi(m[1])
			// The rows kept are counted as an earlier run's: no batch is
			// recorded, so the checksum pass copied none.
			if r, _ := strconv.ParseInt(m[2], 10, 64); last.Resumed != r || last.Kept != r || last.Done != last.Total {
				t.Errorf("the extract's last count: %d of %d rows, %d kept, %d of them by an earlier run; want %d kept by it", last.Done, last.Total, last.Kept, last.Resumed, r)
			}
			if n == 0 || int64(n) > staged {
				t.Errorf("the re-run kept %d batches of the %d in the stage", n, staged)
			}
			if all := scalarOf[int64](t, ctx, dst, `SELECT count(*) FROM cutover.batches`); copied.Load()+int64(n) != all {
				t.Errorf("the re-run kept %d batches and copied %d, want %d in all", n, copied.Load(), all)
			}
			testkit.SameAs(t, want, dst)
			allDone(t, status(t, ctx, Config{TargetURL: dst}))
		})
	}
}

// TestRerunAfterTooManyRejectsKeepsTheStage: a run stopped by
// --max-rejects (after deciding, with every table copied) keeps its stage
// and says so; the operator's re-run, here with the limit raised, copies
// nothing again and leaves the target a fresh run gives.
func TestRerunAfterTooManyRejectsKeepsTheStage(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	want := reference(t, "S0")
	src, dst := rerunSource(t), testkit.MigratedTarget(t)
	cfg := rerunConfig(src, dst)
	h := heard{phased: true}
	cfg.Progress = h.progress
	stopAtRejects(t, ctx, cfg)
	keptLine := regexp.MustCompile(`^finish: kept the failed run's stage \(schema cutover_stage, \d+ [kMG]?B\): the next run keeps the batches whose rows the source still holds, and copies the rest \(` + "`" + `DROP SCHEMA "cutover_stage" CASCADE` + "`" + ` gives its room back\)$`)
	said := h.messages()
	if !slices.ContainsFunc(said, keptLine.MatchString) {
		t.Errorf("the failed run did not say it kept its stage:\n%s", strings.Join(said, "\n"))
	}
	staged := scalarOf[int64](t, ctx, dst, `SELECT count(*) FROM cutover_stage._staged_batches`)

	cfg = rerunConfig(src, dst)
	copied := countCopies(&cfg)
	if _, err := Run(ctx, cfg); err != nil {
		t.Fatalf("re-run: %v", err)
	}
	if all := scalarOf[int64](t, ctx, dst, `SELECT count(*) FROM cutover.batches`); copied.Load() != 0 || staged != all {
		t.Errorf("the re-run copied %d batches; the failed run's stage held %d of %d", copied.Load(), staged, all)
	}
	testkit.SameAs(t, want, dst)
	allDone(t, status(t, ctx, Config{TargetURL: dst}))
}

// TestRerunCopiesAgainWhatTheStageLost: the stage a failed run kept was
// emptied or edited by hand (an operator short of room): a batch whose
// rows its stage table no longer holds, all of them, is copied again, and
// rows no batch copied leave, where the re-run kept the batches on their
// record and lost rows while its conservation line held (a review).
func TestRerunCopiesAgainWhatTheStageLost(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	want := reference(t, "S0")
	src, dst := rerunSource(t), testkit.MigratedTarget(t)
	stopAtRejects(t, ctx, rerunConfig(src, dst))
	// Every batch of habit_completions, and the one of books that held
	// the row deleted.
	edited := scalarOf[int64](t, ctx, dst, `SELECT count(*) + 1 FROM cutover_stage._staged_batches WHERE legacy_table = 'habit_completions'`)
	conn := pgtest.Connect(t, dst)
	if _, err := conn.Exec(ctx, `TRUNCATE cutover_stage.habit_completions;
		DELETE FROM cutover_stage.books WHERE id = (SELECT min(id::text)::uuid FROM cutover_stage.books);
		INSERT INTO cutover_stage.ideas SELECT (jsonb_populate_record(NULL::cutover_stage.ideas,
			to_jsonb(i) || jsonb_build_object('id', '7a4d1c2e-0000-4000-8000-0000000000bb'))).* FROM cutover_stage.ideas i LIMIT 1`); err != nil {
		t.Fatal(err)
	}
	cfg := rerunConfig(src, dst)
	copied := countCopies(&cfg)
	if _, err := Run(ctx, cfg); err != nil {
		t.Fatalf("re-run: %v", err)
	}
	if copied.Load() != edited {
		t.Errorf("the re-run copied %d batches, want the %d of the tables whose stage rows went", copied.Load(), edited)
	}
	testkit.SameAs(t, want, dst)
}

// stopAtRejects runs cfg with --max-rejects 1, which S0's rejects exceed:
// the run stops after deciding, every table copied into its stage.
func stopAtRejects(t *testing.T, ctx context.Context, cfg Config) {
	t.Helper()
	cfg.MaxRejects = 1
	if _, err := Run(ctx, cfg); !errors.Is(err, ErrTooManyRejects) {
		t.Fatalf("run with --max-rejects 1: %v, want too many rejects", err)
	}
}

// countCopies counts the batches a run with cfg copies (its hook).
func countCopies(cfg *Config) *atomic.Int64 {
	var copied atomic.Int64
	SetHook(cfg, func(point string) error {
		if strings.HasPrefix(point, "extract.before:") {
			copied.Add(1)
		}
		return nil
	})
	return &copied
}

// TestRerunKeepsTheBatchesTheSourceStillHolds: an interrupted run copied
// habit_completions (3 batches here), and then the row on the table's
// first page changed in the source. The re-run deletes that batch's rows
// from the stage table and copies it again, keeps the table's batches the
// source still holds, and leaves the target an uninterrupted run of the
// changed source gives.
//
// The stage table is frozen in between (a night's `vacuumdb --freeze`, or
// an anti-wraparound vacuum): the rows of a batch are told by their xmin,
// which freezing must not take from them.
func TestRerunKeepsTheBatchesTheSourceStillHolds(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	dst, cfg, runCtx, cancel := interruptible(t)
	src := cfg.SourceURL
	SetHook(&cfg, func(point string) error {
		if point != "extract.before:habit_logs" { // the table after it
			return nil
		}
		// Every batch of habit_completions in the stage first: one may
		// still be copying beside this one.
		for deadline := time.Now().Add(time.Minute); time.Now().Before(deadline); time.Sleep(20 * time.Millisecond) {
			var all bool
			if err := withConn(ctx, dst, func(c *pgx.Conn) error {
				return c.QueryRow(ctx, `SELECT coalesce(count(*) = max(batches), false) FROM cutover_stage._staged_batches
					WHERE legacy_table = 'habit_completions'`).Scan(&all)
			}); err != nil || all {
				break
			}
		}
		cancel()
		return runCtx.Err()
	})
	if _, err := Run(runCtx, cfg); !errors.Is(err, context.Canceled) {
		t.Fatalf("interrupted run: %v, want it cancelled", err)
	}
	planned := scalarOf[int64](t, ctx, dst, `SELECT coalesce(max(batches), 0) FROM cutover_stage._staged_batches WHERE legacy_table = 'habit_completions'`)
	staged := scalarOf[int64](t, ctx, dst, `SELECT count(*) FROM cutover_stage._staged_batches WHERE legacy_table = 'habit_completions'`)
	if planned < 2 || staged != planned {
		t.Fatalf("the interrupted run left %d of %d batches of habit_completions in the stage, want all of 2 or more", staged, planned)
	}
	if err := withConn(ctx, src, func(conn *pgx.Conn) error {
		_, err := conn.Exec(ctx, `UPDATE habit_completions SET notes = coalesce(notes, '') || ' (edited)' WHERE ctid = (SELECT min(ctid) FROM habit_completions)`)
		return err
	}); err != nil {
		t.Fatal(err)
	}
	want := freshRun(t, src) // what an uninterrupted run of the changed source leaves
	if err := withConn(ctx, dst, func(conn *pgx.Conn) error {
		_, err := conn.Exec(ctx, `VACUUM (FREEZE) cutover_stage.habit_completions`)
		return err
	}); err != nil {
		t.Fatal(err)
	}
	// Every staged row is frozen: the table's horizon is past the
	// transactions that copied it.
	if frozen := scalarOf[bool](t, ctx, dst, `SELECT (SELECT relfrozenxid::text::bigint FROM pg_class WHERE oid = 'cutover_stage.habit_completions'::regclass) >
		(SELECT max(xid) FROM cutover_stage._staged_batches WHERE legacy_table = 'habit_completions')`); !frozen {
		t.Fatal("VACUUM (FREEZE) left rows of the stage table unfrozen")
	}

	cfg = rerunConfig(src, dst)
	var copied atomic.Int64 // habit_completions' batches the re-run copies
	SetHook(&cfg, func(point string) error {
		if point == "extract.before:habit_completions" {
			copied.Add(1)
		}
		return nil
	})
	if _, err := Run(ctx, cfg); err != nil {
		t.Fatalf("re-run: %v", err)
	}
	// The first batch, and the one the row's new version went to, if not
	// the first.
	if n := copied.Load(); n < 1 || n > 2 || n >= planned {
		t.Errorf("the re-run copied %d of habit_completions' %d batches, want the changed first one (and the one the row moved to), not all", n, planned)
	}
	testkit.SameAs(t, want, dst)
}

// TestRerunAfterTheTargetServerCrashed: the target's server crashes while
// a run copies into the stage (a backend killed with SIGKILL: the server
// ends every session and recovers). Recovery empties every unlogged
// table: the stage tables and the stage's record of its batches alike,
// so no batch is recorded whose rows are gone. The run fails before it
// writes an application row or copies another batch (its session, which
// held the run lock, is gone); the re-run copies everything again, and
// leaves the target an uninterrupted run gives.
func TestRerunAfterTheTargetServerCrashed(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	// Commits wait for their WAL, as on a production server: with the
	// throwaway servers' synchronous_commit off, a crash may also take the
	// last commits before it (the stage's own tables among them), and the
	// checks below would read a stage the crash half undid. (A run meets
	// that too, and says the connection was lost: explainLost asks its
	// session.)
	server := syncServer(t)
	cases := []struct {
		name, point string // where the run is when its server crashes
	}{
		{"while copying into the stage", "extract.before:workouts"}, // the last table: most are in the stage
		{"while deciding", "decide:users"},                          // every batch in the stage
	}
	// Targets with the same seeds: one for an uninterrupted run, the
	// reference, and one for each crash. The cases run one after the
	// other: a crash ends every session of the server.
	if _, err := migrations.Apply(ctx, server.URL("postgres"), nil); err != nil {
		t.Fatal(err)
	}
	if err := withConn(ctx, server.URL("template1"), func(c *pgx.Conn) error {
		for i := range len(cases) + 1 {
			if _, err := c.Exec(ctx, fmt.Sprintf(`CREATE DATABASE target%d TEMPLATE postgres`, i)); err != nil {
				return err
			}
		}
		return nil
	}); err != nil {
		t.Fatal(err)
	}
	src := rerunSource(t)
	if _, err := Run(ctx, rerunConfig(src, server.URL("target0"))); err != nil {
		t.Fatalf("uninterrupted run: %v", err)
	}
	want, err := testkit.Fingerprint(ctx, server.URL("target0"))
	if err != nil {
		t.Fatal(err)
	}
	for i, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			dst := server.URL(fmt.Sprintf("target%d", i+1))
			cfg := rerunConfig(src, dst)
			var staged int64 // batches recorded in the stage before the crash
			var once sync.Once
			var crashed atomic.Bool
			var mu sync.Mutex
			var decided []string // the mappings decided after the crash
			SetHook(&cfg, func(point string) (err error) {
				if strings.HasPrefix(point, "decide:") && crashed.Load() {
					mu.Lock()
					decided = append(decided, point)
					mu.Unlock()
				}
				if point == c.point {
					once.Do(func() { staged, err = crash(ctx, dst); crashed.Store(true) })
				}
				return err
			})
			if _, err := Run(ctx, cfg); err == nil {
				t.Fatal("the run finished after its target's server crashed under it, with its stage emptied")
			} else if !strings.HasSuffix(err.Error(), dburl.LostHint) && !errors.Is(err, errLockLost) {
				t.Errorf("the run's error: %v\nwant it to say the connection or the run lock was lost, and that a re-run is safe", err)
			}
			// A crash while copying stops the run before it decides.
			if strings.HasPrefix(c.point, "extract.") && len(decided) > 0 {
				t.Errorf("the run decided %d mappings over the emptied stage after the crash (%s…)", len(decided), decided[0])
			}
			if staged == 0 {
				t.Fatal("the crash came before any batch was in the stage")
			}
			// Nothing reached the application tables after the crash.
			if n := scalarOf[int64](t, ctx, dst, `SELECT count(*) FROM public.users`); n != 0 {
				t.Errorf("the run wrote %d users after its server crashed", n)
			}
			// Recovery emptied the stage and its record together, and the
			// run copied nothing into it after: it stops at its next batch,
			// whose transaction finds the run lock gone, or at its next
			// statement.
			var held int64
			for _, table := range scalarOf[[]string](t, ctx, dst, `SELECT coalesce(array_agg(tablename::text), '{}') FROM pg_tables
				WHERE schemaname = 'cutover_stage' AND tablename <> '_staged_batches'`) {
				held += scalarOf[int64](t, ctx, dst, `SELECT count(*) FROM cutover_stage.`+pgx.Identifier{table}.Sanitize())
			}
			if rec := scalarOf[int64](t, ctx, dst, `SELECT count(*) FROM cutover_stage._staged_batches`); rec != 0 || held != 0 {
				t.Errorf("after the crash the stage records %d batches and holds %d rows, want none (%d batches were recorded before it)", rec, held, staged)
			}
			// The re-run has nothing to keep.
			cfg = rerunConfig(src, dst)
			var resumed int64
			cfg.Progress = func(e Event) {
				mu.Lock()
				defer mu.Unlock()
				if e.Phase == "extract" {
					resumed = max(resumed, e.Resumed)
				}
			}
			if _, err := Run(ctx, cfg); err != nil {
				t.Fatalf("re-run after the crash: %v", err)
			}
			if resumed != 0 {
				t.Errorf("the re-run kept %d rows of the stage, which held none after the crash", resumed)
			}
			testkit.SameAs(t, want, dst)
			allDone(t, status(t, ctx, Config{TargetURL: dst}))
		})
	}
}

// crash counts the batches recorded in the stage of target u, then
// crashes u's server: it kills one of its backends with SIGKILL, and the
// server ends every other session and recovers, as after a power loss.
// It returns once the server accepts connections again, restarted.
func crash(ctx context.Context, u string) (staged int64, err error) {
	// The connection stays open until the kill: the backend of a closed
	// one exits by itself, and a SIGKILL that reaches it then (not yet
	// reaped, under load) crashes nothing.
	conn, err := pgx.Connect(ctx, u)
	if err != nil {
		return 0, err
	}
	defer conn.Close(context.Background()) // its server is gone: the error says nothing
	var pid int
	if err := conn.QueryRow(ctx, `SELECT (SELECT count(*) FROM cutover_stage._staged_batches), pg_backend_pid()`).Scan(&staged, &pid); err != nil {
		return 0, err
	}
	killed := time.Now()
	if err := syscall.Kill(pid, syscall.SIGKILL); err != nil {
		return 0, fmt.Errorf("kill backend %d: %w", pid, err)
	}
	// The restart starts a new checkpointer; connections are accepted
	// once recovery is over.
	var last error
	for deadline := time.Now().Add(time.Minute); time.Now().Before(deadline); time.Sleep(100 * time.Millisecond) {
		var restarted bool
		last = withConn(ctx, u, func(c *pgx.Conn) error {
			return c.QueryRow(ctx, `SELECT coalesce(bool_and(backend_start > $1), false) FROM pg_stat_activity WHERE backend_type = 'checkpointer'`, killed).Scan(&restarted)
		})
		if last == nil && restarted {
			return staged, nil
		}
	}
	return 0, fmt.Errorf("the server did not recover from the crash: %v", last)
}

// TestReadStagedWithoutAStage: a target without a stage (every finished
// cutover's) counts no staged batches, and the server meets no error for
// it: the transaction read in is still usable after.
func TestReadStagedWithoutAStage(t *testing.T) {
	ctx := context.Background()
	conn := pgtest.Connect(t, testkit.MigratedTarget(t))
	tx, err := conn.Begin(ctx)
	if err != nil {
		t.Fatal(err)
	}
	defer tx.Rollback(ctx)
	batches, rows, err := readStaged(ctx, tx, mappings.StageSchema)
	if err != nil || batches != 0 || rows != 0 {
		t.Fatalf("readStaged without a stage: %d batches, %d rows, %v; want none", batches, rows, err)
	}
	var one int
	if err := tx.QueryRow(ctx, `SELECT 1`).Scan(&one); err != nil {
		t.Errorf("the transaction after readStaged: %v, want it untouched by any error", err)
	}
}

// TestRunReplacesASourceConnectionTheServerClosed: an administrator (or a
// recovery conflict on a hot standby) ends the run's source connections
// that are idle between batches, during the extract of a first run and
// during the checksum pass of a re-run. Each batch imports the run's
// snapshot anew, which its session still holds, so the run reads the
// batch again on a new connection and finishes as an uninterrupted run
// does, where it failed with a FATAL at the next batch of each.
func TestRunReplacesASourceConnectionTheServerClosed(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	want := reference(t, "S0")
	src, dst := rerunSource(t), testkit.MigratedTarget(t)
	for _, c := range []struct {
		name, point string
	}{
		{"first run, extract", "extract.before:habit_logs"}, // after the first tables
		{"re-run, checksum", "extract.fingerprint:habit_logs/1"},
	} {
		cfg := rerunConfig(src, dst)
		cfg.Workers = 1 // its one reader is idle at every batch's hook
		var ended int64
		var endErr error
		var once sync.Once
		SetHook(&cfg, func(p string) error {
			if p == c.point {
				once.Do(func() {
					endErr = withConn(ctx, src, func(c *pgx.Conn) error {
						return c.QueryRow(ctx, `SELECT count(pg_terminate_backend(pid)) FROM pg_stat_activity
							WHERE datname = current_database() AND application_name = 'cutover run' AND state = 'idle'`).Scan(&ended)
					})
				})
			}
			return nil
		})
		sum, err := Run(ctx, cfg)
		if endErr != nil || ended == 0 {
			t.Fatalf("%s: ended %d idle source connections of the run (%v); want some", c.name, ended, endErr)
		}
		if err != nil {
			t.Fatalf("%s after %d of its idle source connections were ended: %v", c.name, ended, err)
		}
		if !sum.OK() {
			t.Errorf("%s: conservation law fails: %+v", c.name, sum.Tables)
		}
		testkit.SameAs(t, want, dst)
	}
}

// TestReadWait: a batch whose source connection the server ended is read
// at most three times in all, a quarter second before the second attempt
// and half a second before the third (README, "a quarter second before
// the second, half a second before the third").
func TestReadWait(t *testing.T) {
	if readAttempts != 3 {
		t.Errorf("readAttempts = %d, want 3", readAttempts)
	}
	for _, c := range []struct {
		attempt int
		want    time.Duration
	}{
		{2, 250 * time.Millisecond},
		{3, 500 * time.Millisecond},
	} {
		if got := readWait(c.attempt); got != c.want {
			t.Errorf("readWait(%d) = %v, want %v", c.attempt, got, c.want)
		}
	}
}

// TestRunReadsAgainACopyItsSourceConnectionLostHalfway: a batch whose
// source connection the server ends in the middle of its copy is read
// again on a new connection, its stage rows written in a new
// transaction, up to readAttempts times, each new attempt said as a
// warning: the run finishes, and its target is the one an uninterrupted
// run of the same source leaves (no row staged twice). A batch whose
// every attempt loses its connection fails the run, saying so, and the
// re-run finishes the job.
func TestRunReadsAgainACopyItsSourceConnectionLostHalfway(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	src := rerunSource(t)
	// Rows of a mebibyte each on the wire (a few kilobytes stored): the
	// batch is still being sent when its first rows arrive.
	var rows int64
	if err := withConn(ctx, src, func(c *pgx.Conn) error {
		return c.QueryRow(ctx, `WITH u AS (UPDATE plan_templates SET description = repeat('x', 1 << 20) RETURNING 1)
			SELECT count(*) FROM u`).Scan(&rows)
	}); err != nil || rows < 4 {
		t.Fatalf("pad plan_templates: %d rows, %v; want at least 4", rows, err)
	}
	want := freshRun(t, src) // an uninterrupted run's target

	// lose returns a config for dst whose run has the server end the
	// source connections of the first `ended` copies of plan_templates,
	// counting the copies begun (attempts) and logging warnings to log.
	lose := func(dst string, ended int64, attempts *int64, log *strings.Builder) Config {
		cfg := rerunConfig(src, dst)
		cfg.Logger = slog.New(slog.NewTextHandler(log, &slog.HandlerOptions{Level: slog.LevelWarn}))
		SetHook(&cfg, func(p string) error {
			if p != "extract.copy:plan_templates" || atomic.AddInt64(attempts, 1) > ended {
				return nil
			}
			var n int64
			if err := withConn(ctx, src, func(c *pgx.Conn) error {
				return c.QueryRow(ctx, `SELECT count(pg_terminate_backend(pid)) FROM pg_stat_activity
					WHERE datname = current_database() AND application_name = 'cutover run' AND state = 'active'
						AND query LIKE 'COPY (SELECT %plan_templates%'`).Scan(&n)
			}); err != nil || n != 1 {
				return fmt.Errorf("ended %d source connections copying plan_templates (%v); want 1", n, err)
			}
			return nil
		})
		return cfg
	}

	dst := testkit.MigratedTarget(t)
	var attempts int64
	var log strings.Builder
	sum, err := Run(ctx, lose(dst, readAttempts-1, &attempts, &log))
	if err != nil {
		t.Fatalf("run whose source connection was ended halfway through a copy, %d times: %v", readAttempts-1, err)
	}
	if attempts != readAttempts {
		t.Errorf("plan_templates' copy began %d times; want %d (the lost ones and one more)", attempts, readAttempts)
	}
	// Each new attempt said with the wait before it (readWait).
	for a, after := range map[int]string{2: "250ms", 3: "500ms"} {
		if w := fmt.Sprintf("attempt=%d of=%d after=%s", a, readAttempts, after); !strings.Contains(log.String(), w) {
			t.Errorf("the run's warnings do not say %q:\n%s", w, log.String())
		}
	}
	if !sum.OK() {
		t.Errorf("conservation law fails: %+v", sum.Tables)
	}
	testkit.SameAs(t, want, dst)

	// Every attempt lost: the run fails on that batch, and the re-run
	// leaves what an uninterrupted run does.
	lost := testkit.MigratedTarget(t)
	attempts = 0
	log.Reset()
	_, err = Run(ctx, lose(lost, readAttempts, &attempts, &log))
	var step *StepError
	if !errors.As(err, &step) || step.Table != "plan_templates" ||
		!strings.Contains(err.Error(), fmt.Sprintf("ended the connection of each of %d attempts", readAttempts)) {
		t.Errorf("run whose every copy of a batch lost its connection: %v; want a StepError of plan_templates saying %d attempts", err, readAttempts)
	}
	if attempts != readAttempts {
		t.Errorf("plan_templates' copy began %d times; want %d", attempts, readAttempts)
	}
	if _, err := Run(ctx, rerunConfig(src, lost)); err != nil {
		t.Fatalf("re-run after the lost batch: %v", err)
	}
	testkit.SameAs(t, want, lost)

	// Cancelled (Ctrl-C) while it waits to read a lost batch again: the
	// run is recorded as interrupted, not as failed in that batch.
	cancelled := testkit.MigratedTarget(t)
	cctx, cancel := context.WithCancel(ctx)
	defer cancel()
	attempts = 0
	cfg := lose(cancelled, 1, &attempts, &log)
	cfg.Logger = slog.New(cancelOnWarn{cancel})
	cfg.Workers = 1 // no other batch's cancelled copy to stand for the run's error
	if _, err := Run(cctx, cfg); !errors.Is(err, context.Canceled) || attempts != 1 {
		t.Errorf("run cancelled while it waited to read a batch again: %v after %d copies begun; want context.Canceled after 1", err, attempts)
	}
	if rep, err := Status(ctx, Config{TargetURL: cancelled}); err != nil || len(rep.Runs) == 0 || rep.Runs[0].Status != "interrupted" {
		t.Errorf("the cancelled run's record: %+v, %v; want it interrupted", rep, err)
	}

	// A copy that failed on the target's side (here, once, as a stage
	// write can) is not read again: ending its read ended its source
	// connection too, but the cause is the target's.
	failed := testkit.MigratedTarget(t)
	cfg = rerunConfig(src, failed)
	attempts = 0
	writeFailed := errors.New("stage write failed")
	SetHook(&cfg, func(p string) error {
		if p == "extract.copy:plan_templates" && atomic.AddInt64(&attempts, 1) == 1 {
			return writeFailed
		}
		return nil
	})
	if _, err := Run(ctx, cfg); !errors.Is(err, writeFailed) || attempts != 1 {
		t.Errorf("run whose stage write failed once: %v after %d attempts; want %v after 1", err, attempts, writeFailed)
	}
}

// cancelOnWarn is a log handler that cancels a run at its warning that it
// reads a batch again (and records nothing).
type cancelOnWarn struct{ cancel context.CancelFunc }

func (h cancelOnWarn) Enabled(_ context.Context, l slog.Level) bool { return l >= slog.LevelWarn }
func (h cancelOnWarn) Handle(_ context.Context, r slog.Record) error {
	if strings.HasSuffix(r.Message, "; reading it again") {
		h.cancel()
	}
	return nil
}
func (h cancelOnWarn) WithAttrs([]slog.Attr) slog.Handler { return h }
func (h cancelOnWarn) WithGroup(string) slog.Handler      { return h }

// TestReaderKeepsAnOpenConnection: a reader the server has not closed is
// used as it is; one it closed is replaced by a new connection.
func TestReaderKeepsAnOpenConnection(t *testing.T) {
	ctx := context.Background()
	url := pgtest.NewDB(t)
	s := &session{cfg: Config{SourceURL: url, Logger: slog.New(slog.DiscardHandler)}, app: "cutover test"}
	readers := make(chan *pgx.Conn, 1)
	open := pgtest.Connect(t, url)
	readers <- open
	if r, err := s.reader(ctx, readers); r != open || err != nil {
		t.Errorf("reader of an open connection: %p, %v; want the same connection %p", r, err, open)
	}
	closed := pgtest.Connect(t, url)
	closed.Close(ctx)
	readers <- closed
	r, err := s.reader(ctx, readers)
	if err != nil || r == closed || r.IsClosed() {
		t.Fatalf("reader of a closed connection: %v, %v; want a new open one", r, err)
	}
	defer r.Close(ctx)
	var app string
	if err := r.QueryRow(ctx, `SELECT current_setting('application_name')`).Scan(&app); err != nil || app != "cutover test" {
		t.Errorf("the new reader's application_name: %q, %v; want the run's", app, err)
	}
}

// TestChecksumsOfAnEarlierBuild: builds before the stream checksums hashed
// each batch on the server ("r:" and the sum of hash_record_extended over
// its rows, commit 4400031's ChecksumBatch), which never equals a
// checksum taken from a COPY stream ("b:"). Such a recorded batch is
// trusted while its row versions are the recorded ones (its fingerprint):
// no run or status counts it as changed, and its old checksum stays. Once
// its row versions change, even to the same content, it counts as changed
// once (status counts it, and the run redoes the mappings reading its
// table, where after the same rewrite of stream checksums nothing counts
// as changed and no mapping is redone) and is recorded with a stream
// checksum; the run after that has nothing to do. Only the batches whose
// row versions changed lose their old checksum.
func TestChecksumsOfAnEarlierBuild(t *testing.T) {
	const table = "points_ledger" // 4 batches in S0, with rerunConfig
	// A same-content rewrite of the rows of the table's first page: new
	// row versions in the first batch (and, for those that do not fit
	// there, at the end of the table), none in the batches between.
	const rewrite = `UPDATE points_ledger SET id = id WHERE ctid < '(1,0)'::tid`
	type record struct{ checksum, fingerprint string }
	for _, c := range []struct {
		name    string
		earlier bool // the finished run's checksums of table replaced by an earlier build's
	}{
		{"recorded from the stream", false},
		{"recorded by an earlier build, hashed on the server", true},
	} {
		t.Run(c.name, func(t *testing.T) {
			t.Parallel()
			ctx := context.Background()
			src, dst := rerunSource(t), finishedTarget(t)
			ledger := func() map[int]record {
				t.Helper()
				out := map[int]record{}
				err := withConn(ctx, dst, func(conn *pgx.Conn) error {
					rows, err := conn.Query(ctx, `SELECT batch, checksum, fingerprint FROM cutover.batches WHERE legacy_table = $1`, table)
					if err != nil {
						return err
					}
					var no int
					var r record
					_, err = pgx.ForEachRow(rows, []any{&no, &r.checksum, &r.fingerprint}, func() error {
						out[no] = r
						return nil
					})
					return err
				})
				if err != nil {
					t.Fatal(err)
				}
				return out
			}
			// run runs the re-run configuration and reports whether it had
			// nothing to do and whether it copied batches with new row
			// versions to checksum them; it writes no application row.
			run := func(what string) (nothing, copied bool) {
				t.Helper()
				var mu sync.Mutex
				cfg := rerunConfig(src, dst)
				cfg.Progress = func(e Event) {
					mu.Lock()
					defer mu.Unlock()
					nothing = nothing || strings.Contains(e.Message, "the source is unchanged since the last finished run: nothing to do")
					copied = copied || strings.Contains(e.Message, "new row versions: copying")
				}
				sum, err := Run(ctx, cfg)
				if err != nil {
					t.Fatalf("%s: %v", what, err)
				}
				if sum.Changed() != 0 {
					t.Errorf("%s: changed %d application rows; the source's content is the finished run's", what, sum.Changed())
				}
				return nothing, copied
			}

			if c.earlier {
				// Each batch's checksum as an earlier build took it, over
				// the same page ranges.
				var batches []extract.Batch
				if err := withConn(ctx, src, func(conn *pgx.Conn) error {
					s, err := extract.Detect(ctx, conn)
					if err != nil {
						return err
					}
					for _, b := range extract.PlanBatches(s, rerunConfig(src, dst).BatchBytes, 256) {
						if b.Table == table {
							batches = append(batches, b)
						}
					}
					return nil
				}); err != nil {
					t.Fatal(err)
				}
				recorded := ledger()
				if len(batches) < 3 || len(recorded) != len(batches) {
					t.Fatalf("%s: %d batches planned, %d recorded; want the same number, at least 3", table, len(batches), len(recorded))
				}
				old := map[int]string{}
				for _, b := range batches {
					var rows, recordedRows int64
					var sum string
					if err := withConn(ctx, src, func(conn *pgx.Conn) error {
						return conn.QueryRow(ctx, `SELECT count(*), 'r:' || coalesce(sum(hash_record_extended(t, 0)), 0)::text
							FROM public.`+table+` t WHERE `+b.Where()).Scan(&rows, &sum)
					}); err != nil {
						t.Fatal(err)
					}
					if err := withConn(ctx, dst, func(conn *pgx.Conn) error {
						return conn.QueryRow(ctx, `UPDATE cutover.batches SET checksum = $3 WHERE legacy_table = $1 AND batch = $2 RETURNING rows`,
							table, b.No, sum).Scan(&recordedRows)
					}); err != nil {
						t.Fatalf("record %s with an earlier build's checksum: %v", b, err)
					}
					if rows != recordedRows {
						t.Fatalf("%s: %d rows, recorded with %d", b, rows, recordedRows)
					}
					old[b.No] = sum
				}

				// Row versions unchanged: the old checksums hold.
				st := status(t, ctx, rerunConfig(src, dst))
				if ts := tableStatus(st, table); ts.Changed != 0 || ts.Moved != 0 {
					t.Errorf("status with the earlier build's checksums, row versions unchanged: %s has %d changed and %d moved batches, want none",
						table, ts.Changed, ts.Moved)
				}
				if _, copied := run("first run after the earlier build"); copied {
					t.Errorf("first run after the earlier build copied batches to checksum them; their row versions had not changed")
				}
				for no, r := range ledger() {
					if r.checksum != old[no] {
						t.Errorf("after a run on unchanged row versions, %s batch %d is recorded with checksum %q, want the earlier build's %q",
							table, no, r.checksum, old[no])
					}
				}
				if nothing, _ := run("second run after the earlier build"); !nothing {
					t.Errorf("the second run on unchanged row versions had something to do")
				}
			}

			before := ledger()
			if err := withConn(ctx, src, func(conn *pgx.Conn) error {
				_, err := conn.Exec(ctx, rewrite)
				return err
			}); err != nil {
				t.Fatal(err)
			}
			st := status(t, ctx, rerunConfig(src, dst))
			const digests = `SELECT jsonb_object_agg(mapping, inputs) FROM cutover.results`
			digestsBefore := scalarOf[map[string]string](t, ctx, dst, digests)
			nothing, copied := run("run after the rewrite")
			var redone []string // the mappings whose inputs digest the run changed
			for m, d := range scalarOf[map[string]string](t, ctx, dst, digests) {
				if digestsBefore[m] != d {
					redone = append(redone, m)
				}
			}
			slices.Sort(redone)
			after := ledger()
			var rewritten int
			for no, r := range after {
				b, ok := before[no]
				switch {
				case !ok:
					t.Errorf("%s batch %d: recorded after the rewrite only", table, no)
				case r.fingerprint != b.fingerprint:
					rewritten++
					if !strings.HasPrefix(r.checksum, "b:") {
						t.Errorf("%s batch %d, with new row versions: recorded with checksum %q, want a stream checksum (b:…)", table, no, r.checksum)
					}
				case r.checksum != b.checksum:
					t.Errorf("%s batch %d, row versions unchanged: recorded with checksum %q, was %q", table, no, r.checksum, b.checksum)
				}
			}
			if rewritten == 0 || rewritten == len(after) || len(after) != len(before) {
				t.Fatalf("%s: %d of %d batches have new row versions (%d before); want some, not all", table, rewritten, len(after), len(before))
			}
			if !copied {
				t.Errorf("the run after the rewrite did not copy the batches with new row versions to checksum them")
			}
			ts := tableStatus(st, table)
			if c.earlier {
				// Changed once: status counts the batches with new row
				// versions as changed, and the run redoes the mappings
				// reading the table, as status said.
				want := fmt.Sprintf("%s of 1 table changed in the source", prose.Count(rewritten, "batch", "batches"))
				if ts.Changed != rewritten || !strings.Contains(st.Next.Message, want) {
					t.Errorf("status after the rewrite: %s has %d changed batches, next run %q; want %d, and it to say %q",
						table, ts.Changed, st.Next.Message, rewritten, want)
				}
				if nothing || len(redone) == 0 {
					t.Errorf("the run after the rewrite had nothing to do (%v) or redid no mapping (%v); the earlier build's checksums cannot say the content is the same",
						nothing, redone)
				}
				if d := cmp.Diff(st.Next.Redo, redone); d != "" {
					t.Errorf("status named other mappings to redo than the run redid (-status +redone):\n%s", d)
				}
			} else {
				// The same content, on other pages: nothing changed, and
				// no mapping is redone.
				if ts.Changed != 0 || len(st.Next.Redo) != 0 || strings.Contains(st.Next.Message, "changed in the source") {
					t.Errorf("status after the rewrite: %s has %d changed batches, next run %q redoing %v; want none changed or redone",
						table, ts.Changed, st.Next.Message, st.Next.Redo)
				}
				if len(redone) != 0 {
					t.Errorf("the run after the rewrite redid %v; the stream checksums say the content is the same", redone)
				}
			}
			if nothing, _ := run("run after that"); !nothing {
				t.Errorf("the run after the one that recorded the rewritten batches had something to do")
			}
		})
	}
}

// TestRunCancelledMidCopyIsInterrupted: a signal cancels the run's
// context, and a copy whose connection the cancel closed under it fails
// with the network's error, not the context's. The run was recorded as
// failed with that error ("use of closed network connection"), which
// status showed the operator as a table's failure; it is interrupted.
func TestRunCancelledMidCopyIsInterrupted(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	dst, cfg, runCtx, cancel := interruptible(t)
	closed := fmt.Errorf("write workouts (all rows) to stage: read unix @->/tmp/.s.PGSQL.5432: %w", net.ErrClosed)
	SetHook(&cfg, func(point string) error {
		if point == "extract.before:workouts" {
			cancel()
			return closed
		}
		return nil
	})
	if _, err := Run(runCtx, cfg); !errors.Is(err, net.ErrClosed) {
		t.Fatalf("run cancelled mid-copy: %v, want the copy's error", err)
	}
	if got := scalarOf[string](t, ctx, dst, `SELECT status || ': ' || error FROM cutover.runs WHERE id = 1`); got != "interrupted: "+migrations.CancelledRun {
		t.Errorf("the run cancelled mid-copy is recorded %q, want status interrupted and migrations.CancelledRun", got)
	}
}

// interruptible returns a migrated target, the config of a run into it
// from the rerun source (cfg.SourceURL), and a context for that run with
// its cancel, which the test's end calls too.
func interruptible(t *testing.T) (dst string, cfg Config, runCtx context.Context, cancel context.CancelFunc) {
	t.Helper()
	dst = testkit.MigratedTarget(t)
	cfg = rerunConfig(rerunSource(t), dst)
	runCtx, cancel = context.WithCancel(context.Background())
	t.Cleanup(cancel)
	return dst, cfg, runCtx, cancel
}
