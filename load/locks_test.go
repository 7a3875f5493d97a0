package load

import (
	"context"
	"fmt"
	"regexp"
	"slices"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/jackc/pgx/v5"

	"github.com/cutover/cutover/internal/lockwatch"
	"github.com/cutover/cutover/internal/pgcluster"
	"github.com/cutover/cutover/internal/pgtest"
	"github.com/cutover/cutover/internal/testkit"
	"github.com/cutover/cutover/migrations"
)

// TestRunNamesWhoBlocksIt: a session of someone else (here, a psql left
// idle in a transaction that locked habits) holds a lock that a run, or a
// dry run, needs. Its progress says which session blocks it, on which
// relation and what to do, while it waits, and again every
// LockWaitRepeated while the wait lasts; once that session ends, it
// finishes on its own. On a PostgreSQL 13 target, whose pg_locks does not
// say since when a session waits, it says how long the run has seen it
// wait ("at least").
func TestRunNamesWhoBlocksIt(t *testing.T) {
	t.Parallel()
	old := pgtest.ReleaseServer(t, pgcluster.PostgreSQL13, nil) // its pg_locks does not say since when a lock is awaited
	var created sync.Mutex
	targets := []struct {
		name    string
		migrate func(t *testing.T) string
		waited  string // how the message says how long
	}{
		{"", func(t *testing.T) string { return testkit.MigratedTarget(t) }, `[0-9hms.]+`},
		{" on PostgreSQL 13", func(t *testing.T) string {
			name := "t" + strings.ToLower(strings.NewReplacer("/", "_", " ", "_").Replace(t.Name()))
			created.Lock()
			_, err := pgtest.Connect(t, old.URL("postgres")).Exec(context.Background(), "CREATE DATABASE "+pgx.Identifier{name}.Sanitize())
			created.Unlock()
			if err != nil {
				t.Fatal(err)
			}
			if _, err := migrations.Apply(context.Background(), old.URL(name), nil); err != nil {
				t.Fatal(err)
			}
			return old.URL(name)
		}, `at least [0-9hms.]+`},
	}
	for _, c := range []struct {
		name string
		run  func(context.Context, Config) error
	}{
		{"run", func(ctx context.Context, cfg Config) error {
			sum, err := Run(ctx, cfg)
			if err == nil && !sum.OK() {
				err = fmt.Errorf("conservation law fails: %+v", sum.Tables)
			}
			return err
		}},
		{"dry run", func(ctx context.Context, cfg Config) error {
			_, err := DryRun(ctx, cfg, 0)
			return err
		}},
	} {
		for _, target := range targets {
			t.Run(c.name+target.name, func(t *testing.T) {
				t.Parallel()
				ctx := context.Background()
				src, dst := rerunSource(t), target.migrate(t)
				pid, release, timedOut := pgtest.Block(t, dst, "LOCK TABLE public.habits IN ACCESS EXCLUSIVE MODE")

				want := regexp.MustCompile(fmt.Sprintf(`^target: the run has waited `+target.waited+` for a lock on public\.habits, blocked by pid %d \(user \S+, application psql, idle in transaction, its transaction open for [^)]+\); end that session \(SELECT pg_terminate_backend\(%[1]d\)\) or let it finish`, pid))
				// What status says meanwhile, from another connection.
				var statusOnce sync.Once
				var during *StatusReport
				var statusErr error
				// Said again while the wait lasts: released once said at
				// two polls of the watch (lockwatch.Every apart; what one
				// poll says comes at once).
				var first time.Time
				var again atomic.Bool
				h := heard{phase: "waiting", on: func(m string) {
					if !want.MatchString(m) {
						return
					}
					statusOnce.Do(func() {
						first = time.Now()
						during, statusErr = Status(ctx, Config{TargetURL: dst})
					})
					if time.Since(first) > lockwatch.Every/2 && !again.Swap(true) {
						go release()
					}
				}}
				run := rerunConfig(src, dst)
				run.LockWaitReported, run.LockWaitRepeated = 300*time.Millisecond, 500*time.Millisecond
				run.Progress = h.progress
				if err := c.run(ctx, run); err != nil {
					t.Fatalf("%s after the blocking session ended: %v", c.name, err)
				}
				said := h.messages()
				if timedOut() || !again.Load() {
					t.Errorf("while it waited the %s said:\n%s\nwant lines matching %s at two polls", c.name, strings.Join(said, "\n"), want)
				}
				// Sessions waiting alike (a dry run's two) say one line a poll;
				// the next poll's says a longer wait.
				if distinct := slices.Compact(slices.Sorted(slices.Values(said))); len(distinct) != len(said) {
					t.Errorf("the %s said a line twice:\n%s", c.name, strings.Join(said, "\n"))
				}
				// A run holds the run lock, and status lists its sessions: one
				// waits for the lock on habits. A dry run holds none.
				waiting := func(a SessionActivity) bool {
					return strings.HasPrefix(a.Wait, "Lock:") && strings.Contains(a.Statement, "habits") && a.State == "active"
				}
				switch {
				case statusErr != nil:
					t.Errorf("status while the %s waited: %v", c.name, statusErr)
				case during == nil:
					t.Errorf("status was not read while the %s waited", c.name)
				case c.name == "run" && (!during.LockHeld || !slices.ContainsFunc(during.Working, waiting)):
					t.Errorf("status while the run waited: lock held %v, busy sessions %+v; want one waiting for the lock on habits", during.LockHeld, during.Working)
				case c.name == "dry run" && len(during.Working) > 0:
					t.Errorf("status while a dry run waited lists busy sessions of a run: %+v", during.Working)
				}
			})
		}
	}
}

// TestRunNamesTheTableOfARowItWaitsFor: a psql session holds one loaded
// habit FOR UPDATE while a re-run rewrites that habit (renamed in the
// source). PostgreSQL shows the run's session as waiting for the other
// transaction's id; the run's progress names the row's table instead.
func TestRunNamesTheTableOfARowItWaitsFor(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	src, dst := rerunSource(t), testkit.MigratedTarget(t)
	if _, err := Run(ctx, rerunConfig(src, dst)); err != nil {
		t.Fatal(err)
	}
	var habit string
	if err := pgtest.Connect(t, dst).QueryRow(ctx, `SELECT id::text FROM public.habits ORDER BY id LIMIT 1`).Scan(&habit); err != nil {
		t.Fatal(err)
	}
	if tag, err := pgtest.Connect(t, src).Exec(ctx, `UPDATE habits SET name = name || ' (renamed)' WHERE id::text = $1`, habit); err != nil || tag.RowsAffected() != 1 {
		t.Fatalf("rename habit %s in the source: %v (%d rows)", habit, err, tag.RowsAffected())
	}
	pid, release, timedOut := pgtest.Block(t, dst, `SELECT FROM public.habits WHERE id::text = '`+habit+`' FOR UPDATE`)
	want := regexp.MustCompile(fmt.Sprintf(`^target: the run has waited [0-9hms.]+ for a lock on a row of public\.habits, blocked by pid %d \(`, pid))
	h := heard{phase: "waiting", on: func(m string) {
		if want.MatchString(m) {
			go release()
		}
	}}
	run := rerunConfig(src, dst)
	run.LockWaitReported, run.LockWaitRepeated = 300*time.Millisecond, time.Minute
	run.Progress = h.progress
	if _, err := Run(ctx, run); err != nil {
		t.Fatalf("re-run after the blocking session ended: %v", err)
	}
	if timedOut() {
		t.Errorf("while it waited the run said:\n%s\nwant a line matching %s", strings.Join(h.messages(), "\n"), want)
	}
	var name string
	if err := pgtest.Connect(t, dst).QueryRow(ctx, `SELECT name FROM public.habits WHERE id::text = $1`, habit).Scan(&name); err != nil || !strings.HasSuffix(name, " (renamed)") {
		t.Errorf("habit %s after the re-run: name %q (%v), want the renamed one", habit, name, err)
	}
}

// syncServer starts a throwaway server whose commits wait for their WAL
// (synchronous_commit on, as on a production server; the shared test
// server has it off), stopped when t ends.
func syncServer(t *testing.T) *pgcluster.Cluster {
	t.Helper()
	server, err := pgcluster.Start(context.Background(), pgcluster.Options{Settings: map[string]string{"synchronous_commit": "on"}})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { server.Stop() })
	return server
}

// TestRunNamesAStandbyThatHoldsItsCommits: the target's server waits for
// a synchronous standby that does not exist (synchronous_standby_names
// names one that is down), so every commit of the run waits. Its progress
// says so and what to do; once the setting is emptied, the run finishes
// on its own. The same on PostgreSQL 13.
func TestRunNamesAStandbyThatHoldsItsCommits(t *testing.T) {
	t.Parallel()
	for _, c := range []struct {
		name   string
		server func(t *testing.T) *pgcluster.Cluster
	}{
		{"PostgreSQL 15", syncServer},
		{"PostgreSQL 13", func(t *testing.T) *pgcluster.Cluster {
			return pgtest.ReleaseServer(t, pgcluster.PostgreSQL13, map[string]string{"synchronous_commit": "on"})
		}},
	} {
		t.Run(c.name, func(t *testing.T) {
			t.Parallel()
			nameStandbyThatHoldsCommits(t, c.server(t))
		})
	}
}

// nameStandbyThatHoldsCommits is TestRunNamesAStandbyThatHoldsItsCommits
// with a target on server.
func nameStandbyThatHoldsCommits(t *testing.T, server *pgcluster.Cluster) {
	ctx := context.Background()
	dst := server.URL("postgres")
	if _, err := migrations.Apply(ctx, dst, nil); err != nil {
		t.Fatal(err)
	}
	admin := pgtest.Connect(t, dst)
	configure := func(set string) {
		t.Helper()
		if _, err := admin.Exec(ctx, "ALTER SYSTEM "+set); err != nil {
			t.Fatal(err)
		}
		if _, err := admin.Exec(ctx, "SELECT pg_reload_conf()"); err != nil {
			t.Fatal(err)
		}
	}
	configure("SET synchronous_standby_names = 'ghost'")
	var once sync.Once
	release := func() { once.Do(func() { configure("RESET synchronous_standby_names") }) }
	timeout := time.AfterFunc(2*time.Minute, release) // it does not wait forever if the test fails
	defer timeout.Stop()

	want := regexp.MustCompile(`^target: (a commit of the run has|[0-9]+ commits of the run have) waited at least [0-9hms.]+ for a synchronous standby to confirm it \(synchronous_standby_names is 'ghost'\): one is down or far behind; bring it back, or empty synchronous_standby_names on the target`)
	h := heard{phase: "waiting", on: func(m string) {
		if want.MatchString(m) {
			go release()
		}
	}}
	cfg := rerunConfig(rerunSource(t), dst)
	cfg.LockWaitReported = 300 * time.Millisecond
	cfg.Progress = h.progress
	sum, err := Run(ctx, cfg)
	if err != nil {
		t.Fatalf("run after the standby was no longer waited for: %v", err)
	}
	if !sum.OK() {
		t.Errorf("conservation law fails: %+v", sum.Tables)
	}
	if said := h.messages(); !timeout.Stop() || !slices.ContainsFunc(said, want.MatchString) {
		t.Errorf("while its commits waited the run said:\n%s\nwant a line matching %s", strings.Join(said, "\n"), want)
	}
}
