package load

import (
	"context"
	"fmt"
	"regexp"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/jackc/pgx/v5"

	"github.com/cutover/cutover/internal/pgcluster"
	"github.com/cutover/cutover/internal/pgtest"
	"github.com/cutover/cutover/internal/testkit"
	"github.com/cutover/cutover/migrations"
)

// TestRunNamesWhoBlocksIt: a session of someone else (here, a psql left
// idle in a transaction that locked habits) holds a lock that a run, or a
// dry run, needs. Its progress says which session blocks it, on which
// relation and what to do, while it waits; once that session ends, it
// finishes on its own.
func TestRunNamesWhoBlocksIt(t *testing.T) {
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
		t.Run(c.name, func(t *testing.T) {
			t.Parallel()
			ctx := context.Background()
			src, dst := rerunSource(t), testkit.MigratedTarget(t)
			cfg, err := pgx.ParseConfig(dst)
			if err != nil {
				t.Fatal(err)
			}
			cfg.RuntimeParams["application_name"] = "psql"
			blocker, err := pgx.ConnectConfig(ctx, cfg)
			if err != nil {
				t.Fatal(err)
			}
			if _, err := blocker.Exec(ctx, "BEGIN; LOCK TABLE public.habits IN ACCESS EXCLUSIVE MODE"); err != nil {
				t.Fatal(err)
			}
			var once sync.Once
			release := func() { once.Do(func() { blocker.Close(context.Background()) }) }
			defer release()
			timeout := time.AfterFunc(2*time.Minute, release) // it does not wait forever if the test fails
			defer timeout.Stop()

			want := regexp.MustCompile(fmt.Sprintf(`^target: the run has waited [0-9hms.]+ for a lock on public\.habits, blocked by pid %d \(user \S+, application psql, idle in transaction, its transaction open for [^)]+\); end that session \(SELECT pg_terminate_backend\(%[1]d\)\) or let it finish`, blocker.PgConn().PID()))
			h := heard{phase: "waiting", on: func(m string) {
				if want.MatchString(m) {
					go release()
				}
			}}
			run := rerunConfig(src, dst)
			run.LockWaitReported = 300 * time.Millisecond
			run.Progress = h.progress
			if err := c.run(ctx, run); err != nil {
				t.Fatalf("%s after the blocking session ended: %v", c.name, err)
			}
			if said := h.messages(); !timeout.Stop() || !slices.ContainsFunc(said, want.MatchString) {
				t.Errorf("while it waited the %s said:\n%s\nwant a line matching %s", c.name, strings.Join(said, "\n"), want)
			}
		})
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
// on its own.
func TestRunNamesAStandbyThatHoldsItsCommits(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	server := syncServer(t)
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
