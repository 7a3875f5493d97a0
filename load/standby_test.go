package load

import (
	"context"
	"errors"
	"regexp"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/jackc/pgx/v5/pgconn"

	"github.com/cutover/cutover/extract"
	"github.com/cutover/cutover/internal/legacygen"
	"github.com/cutover/cutover/internal/pgcluster"
	"github.com/cutover/cutover/internal/pgtest"
	"github.com/cutover/cutover/internal/testkit"
	"github.com/cutover/cutover/reconcile"
)

// TestRunFromAHotStandby reads the legacy database from a hot standby of
// its primary, while the primary changes under the run: in the middle of
// the extract the primary rewrites the users' rows and vacuums the old
// versions away.
//
// The run says how far the standby has replayed, which is all it reads.
// With max_standby_streaming_delay 0, replaying that vacuum cancels the
// run's snapshot: the run says up front that this may happen and fails
// saying that it did and which settings prevent it. With the settings it
// names, a re-run on the same target finishes while replay waits for it,
// every legacy table accounted for.
func TestRunFromAHotStandby(t *testing.T) {
	t.Parallel()
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Minute)
	defer cancel()
	primary, err := pgcluster.Start(ctx, pgcluster.Options{})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { primary.Stop() })
	p := pgtest.Connect(t, primary.URL("postgres"))
	if _, err := p.Exec(ctx, "CREATE DATABASE legacy"); err != nil {
		t.Fatal(err)
	}
	if _, err := legacygen.Generate(ctx, primary.URL("legacy"), legacygen.Options{Flavor: "v21", Drift: true, Anomalies: true, Users: 30, Seed: 4}); err != nil {
		t.Fatal(err)
	}
	standby, err := pgcluster.Start(ctx, pgcluster.Options{StandbyOf: primary})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { standby.Stop() })
	legacy, replica := pgtest.Connect(t, primary.URL("legacy")), pgtest.Connect(t, standby.URL("postgres"))
	// configure sets the standby's settings as an operator would: by
	// ALTER SYSTEM and a reload, which is signalled, not waited for.
	configure := func(settings ...string) {
		t.Helper()
		for _, set := range settings {
			if _, err := replica.Exec(ctx, "ALTER SYSTEM SET "+set); err != nil {
				t.Fatal(err)
			}
		}
		if _, err := replica.Exec(ctx, "SELECT pg_reload_conf()"); err != nil {
			t.Fatal(err)
		}
		want := settings[0][strings.LastIndex(settings[0], " ")+1:]
		for i := 0; ; i++ {
			c := pgtest.Connect(t, standby.URL("postgres"))
			var delay string
			if err := c.QueryRow(ctx, "SELECT setting FROM pg_settings WHERE name = 'max_standby_streaming_delay'").Scan(&delay); err != nil {
				t.Fatal(err)
			}
			c.Close(ctx)
			if delay == want {
				return
			}
			if i == 100 {
				t.Fatalf("the standby's max_standby_streaming_delay is still %s after a reload", delay)
			}
			time.Sleep(50 * time.Millisecond)
		}
	}
	configure("max_standby_streaming_delay = 0")
	var users int64
	if err := legacy.QueryRow(ctx, "SELECT count(*) FROM users").Scan(&users); err != nil {
		t.Fatal(err)
	}

	// churn rewrites every user on the primary and vacuums the old rows
	// away, then waits until the standby has received that (replayed it,
	// with replayed).
	churn := func(replayed bool) error {
		var lsn string
		if _, err := legacy.Exec(ctx, "UPDATE users SET email = email"); err != nil {
			return err
		}
		if _, err := legacy.Exec(ctx, "VACUUM users"); err != nil {
			return err
		}
		if err := legacy.QueryRow(ctx, "SELECT pg_current_wal_lsn()::text").Scan(&lsn); err != nil {
			return err
		}
		arrived := "SELECT pg_last_wal_receive_lsn() >= $1::pg_lsn"
		if replayed {
			arrived = "SELECT pg_last_wal_replay_lsn() >= $1::pg_lsn"
		}
		for range 600 {
			var ok bool
			if err := replica.QueryRow(ctx, arrived, lsn).Scan(&ok); err != nil || ok {
				return err
			}
			time.Sleep(50 * time.Millisecond)
		}
		return errors.New("the standby did not catch up in 30 s")
	}
	dst := testkit.MigratedTarget(t)
	cfg := rerunConfig(standby.URL("legacy"), dst)
	run := func(replayed bool) (*Summary, []string, error) {
		hookFirstExtract(&cfg, func() error { return churn(replayed) })
		h := heard{phase: "detect"}
		cfg.Progress = h.progress
		sum, err := Run(ctx, cfg)
		return sum, h.messages(), err
	}

	start := time.Now()
	_, said, err := run(true)
	t.Logf("the cancelled run took %v", time.Since(start))
	warned := "source is a hot standby whose replay may cancel the run's reads (hot_standby_feedback off, max_standby_streaming_delay 0s, max_standby_archive_delay 30s)"
	if !anyHasPrefix(said, warned) {
		t.Errorf("detect said:\n%s\nwant a line starting %q", strings.Join(said, "\n"), warned)
	}
	// The standby has replayed no commit since it started (the legacy
	// database was generated before its copy was taken).
	if position := "source is a hot standby, and the run reads only what it has replayed: no commit replayed since the standby started, and "; !anyHasPrefix(said, position) {
		t.Errorf("detect said:\n%s\nwant a line starting %q", strings.Join(said, "\n"), position)
	}
	var pgErr *pgconn.PgError
	cancelled := errors.Is(err, extract.ErrSnapshotEnded) || errors.As(err, &pgErr) && pgErr.Code == "40001"
	if !cancelled || !strings.Contains(err.Error(), "the source is a hot standby (hot_standby_feedback off, max_standby_streaming_delay 0s") ||
		!strings.Contains(err.Error(), "set max_standby_streaming_delay and max_standby_archive_delay to -1") {
		t.Fatalf("run on a standby whose replay cancels it: %v\nwant the snapshot ended by a conflict with recovery, explained", err)
	}

	configure("max_standby_streaming_delay = -1", "max_standby_archive_delay = -1", "hot_standby_feedback = on")
	start = time.Now()
	sum, said, err := run(false)
	if err != nil {
		t.Fatalf("re-run on a standby whose replay waits: %v", err)
	}
	t.Logf("the re-run took %v", time.Since(start))
	waits := "source is a hot standby whose replay waits for the run's reads (hot_standby_feedback on, max_standby_streaming_delay -1, max_standby_archive_delay -1)"
	if !anyHasPrefix(said, waits) {
		t.Errorf("detect said:\n%s\nwant a line starting %q", strings.Join(said, "\n"), waits)
	}
	position := regexp.MustCompile(`^source is a hot standby, and the run reads only what it has replayed: its last replayed commit is from [0-9T:Z-]+, [0-9.a-z]+ before the run began, and [0-9]+ bytes of WAL it received are not replayed yet\. At the cutover`)
	if !slices.ContainsFunc(said, position.MatchString) {
		t.Errorf("detect said:\n%s\nwant a line matching %s", strings.Join(said, "\n"), position)
	}
	for _, r := range sum.Tables {
		if !r.Holds() {
			t.Errorf("%s: conservation does not hold: %+v", r.Legacy, r)
		}
		if r.Legacy == "users" && r.Source != users {
			t.Errorf("the run read %d users from the standby, the primary holds %d", r.Source, users)
		}
	}
	if len(sum.Tables) == 0 {
		t.Error("the run accounted for no legacy table")
	}
	SetHook(&cfg, nil)
	d, err := DryRun(ctx, cfg, 0)
	if err != nil {
		t.Fatal(err)
	}
	if d.Standby == nil || !d.Standby.Waits() || d.Standby.LastReplayed.IsZero() {
		t.Errorf("a dry run on the standby tells of it as %+v, want its settings (waiting) and replay position", d.Standby)
	}
	// Verify reads the standby too, and says so: what it has not replayed
	// would show as differences.
	res, err := reconcile.Verify(ctx, reconcile.Config{SourceURL: standby.URL("legacy"), TargetURL: dst, Workers: 2})
	if err != nil {
		t.Fatal(err)
	}
	told := regexp.MustCompile(`^the source is a hot standby, and verify compares the target with what it has replayed: its last replayed commit is from [0-9T:Z-]+, [0-9.a-z]+ before verify began, and [0-9]+ bytes of WAL it received are not replayed yet\. A row its primary wrote`)
	if !res.OK() || !slices.ContainsFunc(res.Findings, func(f reconcile.Finding) bool {
		return f.Kind == reconcile.KindHotStandby && f.Severity == reconcile.Info && told.MatchString(f.Message)
	}) {
		t.Errorf("verify on the standby: ok %v, findings %+v; want it to hold, with a note matching %s", res.OK(), res.Findings, told)
	}
}

// anyHasPrefix reports whether a line of lines starts with prefix.
func anyHasPrefix(lines []string, prefix string) bool {
	for _, l := range lines {
		if strings.HasPrefix(l, prefix) {
			return true
		}
	}
	return false
}

// TestRunWhoseSnapshotWasEnded: an administrator ends the source session
// that holds the run's snapshot before the first batch is read. The run
// fails saying so (not only "invalid snapshot identifier"), and the re-run
// finishes.
func TestRunWhoseSnapshotWasEnded(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	src, dst := rerunSource(t), testkit.MigratedTarget(t)
	admin := pgtest.Connect(t, src)
	cfg := rerunConfig(src, dst)
	hookFirstExtract(&cfg, func() error {
		var ended bool
		err := admin.QueryRow(ctx, `SELECT bool_or(pg_terminate_backend(pid, 10000)) FROM pg_stat_activity
			WHERE datname = current_database() AND query = 'SELECT pg_export_snapshot()' AND state = 'idle in transaction'`).Scan(&ended)
		if err == nil && !ended {
			err = errors.New("no session holding the snapshot to end")
		}
		return err
	})
	_, err := Run(ctx, cfg)
	if !errors.Is(err, extract.ErrSnapshotEnded) || !strings.Contains(err.Error(), "(the source connection holding the run's snapshot was ended, by an administrator, say: re-running the same command is safe)") {
		t.Fatalf("run whose snapshot was ended: %v\nwant it said", err)
	}
	SetHook(&cfg, nil)
	sum, err := Run(ctx, cfg)
	if err != nil {
		t.Fatalf("re-run: %v", err)
	}
	for _, r := range sum.Tables {
		if !r.Holds() {
			t.Errorf("%s: conservation does not hold after the re-run: %+v", r.Legacy, r)
		}
	}
}
