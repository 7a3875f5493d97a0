package load

// Re-runs (issue 5): a run that fails at any named point, or whose target
// connections are killed, is finished by running it again, and the target
// then equals a reference run's, table by table; a re-run after a finished
// run writes nothing; a re-run after source changes equals a fresh run on
// the changed source; a second run refuses while one is working.
//
// Every target descends from one migrated template (the target seeds carry
// now() timestamps), and the sources from one generated legacy database.

import (
	"context"
	"errors"
	"fmt"
	"maps"
	"net/url"
	"os"
	"regexp"
	"slices"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"
	"github.com/google/go-cmp/cmp/cmpopts"
	"github.com/jackc/pgx/v5"

	"github.com/cutover/cutover/internal/legacygen"
	"github.com/cutover/cutover/internal/pgtest"
	"github.com/cutover/cutover/internal/testkit"
	"github.com/cutover/cutover/migrations"
	"github.com/cutover/cutover/reconcile"
)

// errInjected is the failure the fault hooks inject.
var errInjected = errors.New("injected fault")

// rerunConfig is the configuration of every run here: small batches, so
// that the larger tables are cut into several page ranges.
func rerunConfig(src, dst string) Config {
	return Config{SourceURL: src, TargetURL: dst, MaxRejects: -1, Workers: 2, BatchBytes: 256 << 10}
}

// rerunSource returns a fresh copy of the generated legacy database S0.
func rerunSource(t *testing.T) string {
	t.Helper()
	return testkit.GeneratedLegacy(t, legacygen.Options{Flavor: "v21", Drift: true, Anomalies: true, Users: 40, Seed: 3})
}

// changedSource returns a fresh copy of S1: S0 with the edits of
// changeSource applied.
func changedSource(t *testing.T) string {
	t.Helper()
	return pgtest.NewDBFrom(t, "rerun_source_changed", func(ctx context.Context, u string) error {
		if err := replaceDatabase(ctx, t, u, rerunSource(t)); err != nil {
			return err
		}
		return withConn(ctx, u, func(c *pgx.Conn) error {
			_, err := c.Exec(ctx, changeSource)
			return err
		})
	})
}

var (
	refMu sync.Mutex
	refs  = map[string]map[string]string{} // reference fingerprints, by source
)

// finishedTarget returns a fresh copy of a target on which a whole run from
// S0 finished; its fingerprint is the reference of S0.
func finishedTarget(t *testing.T) string {
	t.Helper()
	return pgtest.NewDBFrom(t, "rerun_finished", func(ctx context.Context, u string) error {
		if err := replaceDatabase(ctx, t, u, testkit.MigratedTarget(t)); err != nil {
			return err
		}
		if _, err := Run(ctx, rerunConfig(rerunSource(t), u)); err != nil {
			return err
		}
		fp, err := testkit.Fingerprint(ctx, u)
		refMu.Lock()
		refs["S0"] = fp
		refMu.Unlock()
		return err
	})
}

// reference returns the fingerprint of a fresh run's target on a copy of
// source S0 or S1.
func reference(t *testing.T, name string) map[string]string {
	t.Helper()
	if name == "S0" {
		finishedTarget(t)
	} else {
		pgtest.NewDBFrom(t, "rerun_finished_changed", func(ctx context.Context, u string) error {
			if err := replaceDatabase(ctx, t, u, testkit.MigratedTarget(t)); err != nil {
				return err
			}
			if _, err := Run(ctx, rerunConfig(changedSource(t), u)); err != nil {
				return err
			}
			fp, err := testkit.Fingerprint(ctx, u)
			refMu.Lock()
			refs[name] = fp
			refMu.Unlock()
			return err
		})
	}
	refMu.Lock()
	defer refMu.Unlock()
	if refs[name] == nil {
		t.Fatalf("no reference for %s", name)
	}
	return refs[name]
}

// replaceDatabase makes the (empty) database at u a copy of database from:
// a template built from another one, so that every target shares the seed
// rows' timestamps of one migration.
func replaceDatabase(ctx context.Context, t *testing.T, u, from string) error {
	name, fromName := dbName(u), dbName(from)
	return withConn(ctx, pgtest.AdminURL(t), func(c *pgx.Conn) error {
		if _, err := c.Exec(ctx, "DROP DATABASE "+ident(name)+" WITH (FORCE)"); err != nil {
			return err
		}
		var err error
		for attempt := 0; attempt < 50; attempt++ {
			// 55006 while the last sessions on the template end.
			if _, err = c.Exec(ctx, "CREATE DATABASE "+ident(name)+" TEMPLATE "+ident(fromName)); err == nil {
				return nil
			}
			time.Sleep(100 * time.Millisecond)
		}
		return err
	})
}

func dbName(u string) string {
	p, err := url.Parse(u)
	if err != nil {
		panic(err)
	}
	return strings.TrimPrefix(p.Path, "/")
}

func withConn(ctx context.Context, u string, f func(*pgx.Conn) error) error {
	c, err := pgx.Connect(ctx, u)
	if err != nil {
		return err
	}
	defer c.Close(context.WithoutCancel(ctx))
	return f(c)
}

// changeSource edits S0 into S1: it fixes a rejected user (a duplicate
// email), edits another that stays rejected, edits loaded rows, deletes
// loaded rows (one without an id), and makes a loaded user and a loaded
// drift row bad. The rows it picks are
// found by their data, so the edits stay right when the generator changes.
const changeSource = `
CREATE TEMP TABLE picked (what text PRIMARY KEY, key text NOT NULL);
-- The newest user of a case-insensitive email group is rejected: fix it.
INSERT INTO picked SELECT 'fixed_user', d.id::text FROM users d
	WHERE EXISTS (SELECT 1 FROM users o WHERE lower(o.email) = lower(d.email) AND (o.created_at, o.id) < (d.created_at, d.id))
	ORDER BY d.id LIMIT 1;
UPDATE users SET email = 'fixed-' || id || '@example.org' WHERE id::text = (SELECT key FROM picked WHERE what = 'fixed_user');
-- Another rejected user stays rejected with other content: the re-run
-- rewrites its reject's row.
INSERT INTO picked SELECT 'edited_reject', d.id::text FROM users d
	WHERE EXISTS (SELECT 1 FROM users o WHERE lower(o.email) = lower(d.email) AND (o.created_at, o.id) < (d.created_at, d.id))
	AND d.id::text <> (SELECT key FROM picked WHERE what = 'fixed_user')
	ORDER BY d.id LIMIT 1;
UPDATE users SET name = name || ' (edited)' WHERE id::text = (SELECT key FROM picked WHERE what = 'edited_reject');
-- Loaded users (the oldest of each email group). One with habits becomes a
-- duplicate of an older user: it and all its rows are rejected, and leave
-- the target. The other edits touch the other loaded users.
CREATE TEMP TABLE good AS SELECT u.id FROM users u
	WHERE NOT EXISTS (SELECT 1 FROM users o WHERE lower(o.email) = lower(u.email) AND (o.created_at, o.id) < (u.created_at, u.id));
INSERT INTO picked SELECT 'bad_user', u.id::text FROM users u WHERE u.id IN (SELECT id FROM good)
	AND EXISTS (SELECT 1 FROM habits h WHERE h.user_id = u.id) ORDER BY u.created_at DESC, u.id DESC LIMIT 1;
UPDATE users SET email = upper((SELECT o.email FROM users o ORDER BY o.created_at, o.id LIMIT 1))
	WHERE id::text = (SELECT key FROM picked WHERE what = 'bad_user');
DELETE FROM good WHERE id::text = (SELECT key FROM picked WHERE what = 'bad_user');
INSERT INTO picked SELECT 'edited_habit', h.id::text FROM habits h WHERE h.user_id IN (SELECT id FROM good) ORDER BY h.id LIMIT 1;
UPDATE habits SET name = name || ' (renamed)' WHERE id::text = (SELECT key FROM picked WHERE what = 'edited_habit');
-- A user_role of a role that merged onto a seeded role (a re-pointed key).
INSERT INTO picked SELECT 'deleted_user_role', concat_ws(',', r.user_id, r.role_id) FROM user_roles r JOIN roles o ON o.id = r.role_id
	WHERE r.user_id IN (SELECT id FROM good) AND o.name IN ('user', 'admin', 'moderator') ORDER BY r.user_id, r.role_id LIMIT 1;
DELETE FROM user_roles WHERE concat_ws(',', user_id, role_id) = (SELECT key FROM picked WHERE what = 'deleted_user_role');
INSERT INTO picked SELECT 'deleted_reading_session', s.id::text FROM reading_sessions s JOIN books b ON b.id = s.book_id
	WHERE s.user_id IN (SELECT id FROM good) AND b.user_id = s.user_id ORDER BY s.id LIMIT 1;
DELETE FROM reading_sessions WHERE id::text = (SELECT key FROM picked WHERE what = 'deleted_reading_session');
-- A loaded drift row loses its habit.
INSERT INTO picked SELECT 'orphaned_habit_log', l.id::text FROM habit_logs l JOIN habits h ON h.id = l.habit_id
	WHERE h.user_id IN (SELECT id FROM good) AND l.user_id = h.user_id
	AND NOT EXISTS (SELECT 1 FROM habit_completions c WHERE c.habit_id = l.habit_id AND c.completed_date = l.completed_date)
	AND NOT EXISTS (SELECT 1 FROM habit_logs o WHERE o.habit_id = l.habit_id AND o.completed_date = l.completed_date AND o.id <> l.id)
	ORDER BY l.id LIMIT 1;
UPDATE habit_logs SET habit_id = '00000000-0000-4000-8000-00000000dead' WHERE id::text = (SELECT key FROM picked WHERE what = 'orphaned_habit_log');
CREATE SCHEMA test_edits;
CREATE TABLE test_edits.picked AS SELECT * FROM picked;
`

// failAt returns a hook that fails the run the nth time it reaches point.
func failAt(point string, nth int) func(string) error {
	var hits atomic.Int32
	return func(p string) error {
		if p == point && hits.Add(1) == int32(nth) {
			return errInjected
		}
		return nil
	}
}

func scalarOf[T any](t *testing.T, ctx context.Context, u, sql string, args ...any) T {
	t.Helper()
	var v T
	if err := withConn(ctx, u, func(c *pgx.Conn) error { return c.QueryRow(ctx, sql, args...).Scan(&v) }); err != nil {
		t.Fatalf("%s: %v", sql, err)
	}
	return v
}

// TestRerunAfterFault fails a run at each named point of the engine, on a
// target where a run from S0 finished and with the source changed to S1 in
// between, so the failing run has inserts, updates and removals to make.
// Re-running the same configuration finishes the job: the target equals a
// fresh run's on S1.
func TestRerunAfterFault(t *testing.T) {
	extractErr := `^extract habit_completions batch \d+/\d+ \(pages \d+ to (\d+|the end)\): .*failpoint`
	for _, c := range []struct {
		name, point string
		nth         int
		wantErr     string // the failure names where it happened
		wantTable   string // the table the run records it failed in
		wantNext    string // what status then says a re-run does
	}{
		{"mid-COPY", "extract.copy:habit_completions", 2, extractErr, "habit_completions", "finish"},
		{"after COPY before commit", "extract.commit:habit_completions", 2, extractErr, "habit_completions", "finish"},
		{"between batches", "extract.before:habit_completions", 3, extractErr, "habit_completions", "finish"},
		{"after rows before bookkeeping", "apply.rows:habits", 1, `^apply habits: failpoint`, "habits", "finish"},
		{"while writing rejects", "apply.rejects:habit_logs", 1, `^apply habit_logs: failpoint`, "habit_logs", "finish"},
		{"before commit", "apply.commit:users", 1, `^apply users: failpoint`, "users", "finish"},
		{"while assigning sort_order", "sort_order:user_quests", 1, `^failpoint sort_order:user_quests`, "", "finish"},
		{"during the final summary", "summary", 1, `^failpoint summary`, "", "nothing"},
	} {
		t.Run(c.name, func(t *testing.T) {
			t.Parallel()
			ctx := context.Background()
			want := reference(t, "S1")
			src, dst := changedSource(t), finishedTarget(t)
			cfg := rerunConfig(src, dst)
			SetHook(&cfg, failAt(c.point, c.nth))
			_, err := Run(ctx, cfg)
			if !errors.Is(err, errInjected) {
				t.Fatalf("run with a fault at %s: got %v, want the injected fault", c.point, err)
			}
			if !regexp.MustCompile(c.wantErr).MatchString(err.Error()) {
				t.Errorf("error %q does not match %q", err, c.wantErr)
			}
			st := status(t, ctx, rerunConfig(src, dst))
			if st.Next.Action != c.wantNext {
				t.Errorf("status after the fault: next run %q (%s), want %q", st.Next.Action, st.Next.Message, c.wantNext)
			}
			if c.wantTable != "" {
				if got := st.Runs[0].FailedTable; got != c.wantTable || st.Runs[0].Status != "failed" {
					t.Errorf("status: last run %s in table %q, want failed in %q", st.Runs[0].Status, got, c.wantTable)
				}
				if !strings.Contains(st.Next.Message, "failed in "+c.wantTable) {
					t.Errorf("status does not say where the run failed: %s", st.Next.Message)
				}
				if ts := tableStatus(st, c.wantTable); ts.Failed == 0 {
					t.Errorf("status: table %s has no failed batch: %+v", c.wantTable, ts)
				}
			}
			rerun := rerunConfig(src, dst)
			var fpMu sync.Mutex
			fingerprinted := map[string]int{} // by batch
			SetHook(&rerun, func(p string) error {
				if key, ok := strings.CutPrefix(p, "extract.fingerprint:"); ok {
					fpMu.Lock()
					fingerprinted[key]++
					fpMu.Unlock()
				}
				return nil
			})
			sum, err := Run(ctx, rerun)
			if err != nil {
				t.Fatalf("re-run: %v", err)
			}
			if !sum.OK() {
				t.Errorf("conservation law fails after the re-run: %+v", sum.Tables)
			}
			testkit.SameAs(t, want, dst)
			allDone(t, status(t, ctx, Config{TargetURL: dst}))
			// Each batch's row versions are read once: the checksum pass's
			// fingerprint of a changed batch also tells whether the failed
			// run's stage still holds its rows.
			if len(fingerprinted) == 0 {
				t.Error("the re-run read no fingerprint")
			}
			for key, n := range fingerprinted {
				if n > 1 {
					t.Errorf("the re-run read the fingerprint of %s %d times", key, n)
				}
			}
		})
	}
}

// TestStatusAfterAFirstRunFailed: after a first run that failed
// deciding users, status names the table and says that every table is
// still to do; after one that failed assigning sort_order, past its last
// mapping, it says that every table's batches are done (not "0 of 81
// tables are not done ()"). The re-run it advises finishes.
func TestStatusAfterAFirstRunFailed(t *testing.T) {
	for _, c := range []struct {
		name, point, want string
	}{
		{"deciding", "decide:users", "run 1 failed in users; 81 of 81 tables are not done (accounts, achievement_definitions, "},
		{"after every mapping", "sort_order:user_quests", "run 1 failed; every table's batches are done; a re-run finishes what came after them. Re-running the same command is safe"},
	} {
		t.Run(c.name, func(t *testing.T) {
			t.Parallel()
			ctx := context.Background()
			src, dst := rerunSource(t), testkit.MigratedTarget(t)
			cfg := rerunConfig(src, dst)
			SetHook(&cfg, failAt(c.point, 1))
			if _, err := Run(ctx, cfg); !errors.Is(err, errInjected) {
				t.Fatalf("run: %v, want the injected fault", err)
			}
			st, err := Status(ctx, rerunConfig(src, dst))
			if err != nil {
				t.Fatal(err)
			}
			if st.Next.Action != "finish" || !strings.Contains(st.Next.Message, c.want) {
				t.Errorf("status after the failed run: %q: %s\nwant %q", st.Next.Action, st.Next.Message, c.want)
			}
			sum, err := Run(ctx, rerunConfig(src, dst))
			if err != nil || !sum.OK() {
				t.Fatalf("re-run: %v", err)
			}
			st = status(t, ctx, Config{TargetURL: dst})
			allDone(t, st)
			// Without the source, status cannot tell whether it changed.
			want := NextRun{Action: "unknown", Message: "run 2 finished; if the source has not changed since, a re-run writes nothing (give --source to check)"}
			if d := cmp.Diff(want, st.Next); d != "" {
				t.Errorf("status without the source (-want +got):\n%s", d)
			}
			// The rejects by reason are the summary's rejected rows.
			var rejects []ReasonCount
			for _, r := range sum.Reasons {
				if r.Disposition == "rejected" {
					rejects = append(rejects, r)
				}
			}
			sortReasons := cmpopts.SortSlices(func(a, b ReasonCount) bool { return a.Reason < b.Reason })
			if d := cmp.Diff(rejects, st.Rejects, sortReasons); d != "" || len(rejects) < 3 {
				t.Errorf("status's rejects by reason (-summary +status):\n%s", d)
			}
		})
	}
}

// status reads the status of cfg's target (and source, when set).
func status(t *testing.T, ctx context.Context, cfg Config) *StatusReport {
	t.Helper()
	st, err := Status(ctx, cfg)
	if err != nil {
		t.Fatalf("status: %v", err)
	}
	if len(st.Runs) == 0 || len(st.Tables) < 60 {
		t.Fatalf("status shows %d runs and %d tables", len(st.Runs), len(st.Tables))
	}
	return st
}

func tableStatus(st *StatusReport, table string) TableStatus {
	for _, ts := range st.Tables {
		if ts.Legacy == table {
			return ts
		}
	}
	return TableStatus{Legacy: table}
}

// allDone checks a status after a finished run: every batch of every
// table done, every table with its conservation line.
func allDone(t *testing.T, st *StatusReport) {
	t.Helper()
	if st.Runs[0].Status != "done" {
		t.Errorf("status: last run %s", st.Runs[0].Status)
	}
	for _, ts := range st.Tables {
		if ts.Batches == 0 || ts.Done != ts.Batches || ts.Result == nil || !ts.Result.Holds() {
			t.Errorf("status after a finished run: %+v", ts)
		}
	}
}

// TestRerunAfterSourceChange: fixing a rejected row, editing and deleting
// loaded rows and making loaded rows bad between two runs gives the target a
// fresh run on the changed source gives.
func TestRerunAfterSourceChange(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	want := reference(t, "S1")
	src, dst := changedSource(t), finishedTarget(t)
	picked := map[string]string{}
	if err := withConn(ctx, src, func(c *pgx.Conn) error {
		rows, _ := c.Query(ctx, `SELECT what, key FROM test_edits.picked`)
		var what, key string
		_, err := pgx.ForEachRow(rows, []any{&what, &key}, func() error { picked[what] = key; return nil })
		return err
	}); err != nil {
		t.Fatal(err)
	}
	for _, w := range []string{"fixed_user", "edited_reject", "edited_habit", "deleted_user_role", "deleted_reading_session", "bad_user", "orphaned_habit_log"} {
		if picked[w] == "" {
			t.Fatalf("the source edit found no row for %s", w)
		}
	}
	// The dispositions of the edited rows, and the rows in the target.
	dispositions := func() map[string]string {
		out := map[string]string{}
		for what, table := range map[string]string{"fixed_user": "users", "bad_user": "users", "deleted_user_role": "user_roles", "orphaned_habit_log": "habit_logs"} {
			out[what] = scalarOf[string](t, ctx, dst, `SELECT coalesce((SELECT disposition || coalesce(':' || reason, '') FROM cutover.dispositions
				WHERE legacy_table = $1 AND legacy_key = $2), 'none')`, table, picked[what])
		}
		return out
	}
	const userRejects = `SELECT count(*) FROM cutover.rejects WHERE legacy_key = $1 OR message LIKE '%' || $1 || '%'`
	inTarget := func() map[string]int64 {
		out := map[string]int64{}
		for what, q := range map[string]string{
			"fixed_user":              `SELECT count(*) FROM public.users WHERE id::text = $1`,
			"fixed_user rejects":      userRejects,
			"edited_reject":           `SELECT count(*) FROM cutover.rejects WHERE legacy_table = 'users' AND legacy_key = $1 AND row->>'name' LIKE '% (edited)'`,
			"edited_habit":            `SELECT count(*) FROM public.habits WHERE id::text = $1 AND name LIKE '% (renamed)'`,
			"bad_user":                `SELECT count(*) FROM public.users WHERE id::text = $1`,
			"bad_user habits":         `SELECT count(*) FROM public.habits WHERE user_id::text = $1`,
			"deleted_reading_session": `SELECT count(*) FROM public.reading_sessions WHERE id::text = $1`,
			"orphaned_habit_log":      `SELECT count(*) FROM public.habit_completions WHERE id::text = $1`,
			"deleted_user_role": `SELECT count(*) FROM public.user_roles WHERE user_id::text = split_part($1, ',', 1)
				AND role_id = coalesce((SELECT target_id FROM cutover.dispositions WHERE legacy_table = 'roles'
					AND legacy_key = split_part($1, ',', 2)), split_part($1, ',', 2)::uuid)`,
		} {
			out[what] = scalarOf[int64](t, ctx, dst, q, picked[strings.Fields(what)[0]])
		}
		return out
	}
	before, beforeRows := dispositions(), inTarget()
	st := status(t, ctx, rerunConfig(src, dst))
	var changed []string
	for _, ts := range st.Tables {
		if ts.Changed > 0 {
			changed = append(changed, ts.Legacy)
		}
	}
	if d := cmp.Diff([]string{"habit_logs", "habits", "reading_sessions", "user_roles", "users"}, changed); st.Next.Action != "update" || d != "" {
		t.Errorf("status before the re-run: next run %q (%s); changed tables (-want +got):\n%s", st.Next.Action, st.Next.Message, d)
	}
	since := scalarOf[int64](t, ctx, dst, `SELECT txid_current() % 4294967296`)
	lockedBefore := lockedRows(t, ctx, dst, since)
	sum, err := Run(ctx, rerunConfig(src, dst))
	if err != nil {
		t.Fatal(err)
	}
	for _, c := range []struct {
		when      string
		want, got map[string]string
	}{
		{"before", map[string]string{"fixed_user": "rejected:duplicate_email", "bad_user": "loaded", "deleted_user_role": "loaded", "orphaned_habit_log": "loaded"}, before},
		{"after", map[string]string{"fixed_user": "loaded", "bad_user": "rejected:duplicate_email", "deleted_user_role": "none", "orphaned_habit_log": "rejected:orphan"}, dispositions()},
	} {
		if d := cmp.Diff(c.want, c.got); d != "" {
			t.Errorf("dispositions %s the re-run (-want +got):\n%s", c.when, d)
		}
	}
	if beforeRows["fixed_user rejects"] == 0 {
		t.Errorf("the duplicate-email user had no rejects before it was fixed")
	}
	delete(beforeRows, "fixed_user rejects")
	wantBefore := map[string]int64{"fixed_user": 0, "edited_reject": 0, "edited_habit": 0, "bad_user": 1, "bad_user habits": beforeRows["bad_user habits"],
		"deleted_reading_session": 1, "orphaned_habit_log": 1, "deleted_user_role": 1}
	wantAfter := map[string]int64{"fixed_user": 1, "fixed_user rejects": 0, "edited_reject": 1, "edited_habit": 1, "bad_user": 0, "bad_user habits": 0,
		"deleted_reading_session": 0, "orphaned_habit_log": 0, "deleted_user_role": 0}
	if d := cmp.Diff(wantBefore, beforeRows); d != "" || beforeRows["bad_user habits"] == 0 {
		t.Errorf("rows in the target before the re-run (-want +got):\n%s", d)
	}
	if d := cmp.Diff(wantAfter, inTarget()); d != "" {
		t.Errorf("rows in the target after the re-run (-want +got):\n%s", d)
	}
	if sum.Changed() == 0 {
		t.Error("the re-run after source changes reports no change")
	}
	testkit.SameAs(t, want, dst)
	// Rows already as decided were not even locked: ON CONFLICT … DO
	// UPDATE locks (sets xmax on) every row it meets, updated or not.
	// (The parents of the rows it wrote it holds, as a key's trigger
	// would; so did the first run's second feeders.)
	locked := map[string]int64{}
	for table, rows := range lockedRows(t, ctx, dst, since) {
		for row := range rows {
			if !lockedBefore[table][row] {
				locked[table]++
			}
		}
	}
	if len(locked) > 0 {
		t.Errorf("rows the re-run locked without changing them, by table: %v", locked)
	}
}

// TestRerunKeepsRowsItDidNotWrite: a re-run that must remove a row (a
// user the source now rejects) which rows the cutover did not write
// reference (the application's, or a hand's, written after the first
// run) stops before it removes that row, whatever those rows' foreign key
// would do: delete them (CASCADE), clear their reference (SET NULL, in a
// table without an id) or refuse. The dry run says so first, with the
// same words. Rows referencing a user the run keeps are not named. Once
// the operator removes the rows named, the same command finishes the job
// as a fresh run would.
func TestRerunKeepsRowsItDidNotWrite(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	want := reference(t, "S1")
	src, dst := changedSource(t), finishedTarget(t)
	bad := scalarOf[string](t, ctx, src, `SELECT key FROM test_edits.picked WHERE what = 'bad_user'`)
	kept := scalarOf[string](t, ctx, dst, `SELECT id::text FROM public.users WHERE id::text <> $1 ORDER BY id LIMIT 1`, bad)
	// A copy of one of table's rows with a new id, of user u.
	copyOf := func(table, u string) string { return scalarOf[string](t, ctx, dst, appCopy(table, u)) }
	session, habit, keptSession := copyOf("reading_sessions", bad), copyOf("habits", bad), copyOf("reading_sessions", kept)
	grant := scalarOf[string](t, ctx, dst, `INSERT INTO public.user_roles (user_id, role_id, granted_by)
		SELECT $1::uuid, r.id, $2::uuid FROM public.roles r
		WHERE NOT EXISTS (SELECT 1 FROM public.user_roles o WHERE o.user_id = $1::uuid AND o.role_id = r.id) ORDER BY r.id LIMIT 1
		RETURNING concat_ws(',', user_id, role_id)`, kept, bad)
	users := scalarOf[int64](t, ctx, dst, `SELECT count(*) FROM public.users`)

	wantRefusals := []Refusal{
		userRefusal("habits", "habits_user_id_fkey", "NO ACTION", habit),
		userRefusal("reading_sessions", "reading_sessions_user_id_fkey", "CASCADE", session),
		userRefusal("user_roles", "user_roles_granted_by_fkey", "SET NULL", grant),
	}
	_, err := referencesRefusedAsPredicted(t, ctx, src, dst, wantRefusals)
	for _, s := range []string{"remove users: ", session, habit, grant, "no users row was removed"} {
		if !strings.Contains(err.Error(), s) {
			t.Errorf("the error does not say %q: %v", s, err)
		}
	}
	present := `SELECT (SELECT count(*) FROM public.reading_sessions WHERE id::text IN ($1, $2))
		+ (SELECT count(*) FROM public.habits WHERE id::text = $3)
		+ (SELECT count(*) FROM public.user_roles WHERE concat_ws(',', user_id, role_id) = $4 AND granted_by::text = $5)`
	if n := scalarOf[int64](t, ctx, dst, present, session, keptSession, habit, grant, bad); n != 4 {
		t.Errorf("%d of the 4 rows the cutover did not write are left as they were", n)
	}
	if n := scalarOf[int64](t, ctx, dst, `SELECT count(*) FROM public.users`); n != users {
		t.Errorf("%d users after the refused re-run, %d before", n, users)
	}

	// The operator removes the rows named; the row of the kept user stays.
	conn := pgtest.Connect(t, dst)
	for _, del := range []struct{ sql, key string }{
		{`DELETE FROM public.reading_sessions WHERE id::text = $1`, session},
		{`DELETE FROM public.habits WHERE id::text = $1`, habit},
		{`DELETE FROM public.user_roles WHERE concat_ws(',', user_id, role_id) = $1`, grant},
	} {
		if tag, err := conn.Exec(ctx, del.sql, del.key); err != nil || tag.RowsAffected() != 1 {
			t.Fatalf("%s (%s): %v, %d rows", del.sql, del.key, err, tag.RowsAffected())
		}
	}
	if _, err := Run(ctx, rerunConfig(src, dst)); err != nil {
		t.Fatalf("re-run after the rows named were removed: %v", err)
	}
	if n := scalarOf[int64](t, ctx, dst, `SELECT count(*) FROM public.reading_sessions WHERE id::text = $1`, keptSession); n != 1 {
		t.Errorf("the re-run removed the reading session of a kept user that the cutover did not write")
	}
	if _, err := conn.Exec(ctx, `DELETE FROM public.reading_sessions WHERE id::text = $1`, keptSession); err != nil {
		t.Fatal(err)
	}
	testkit.SameAs(t, want, dst)
}

// rerunBeside runs cfg's re-run beside the application's transaction on
// app: begun, given to before, and left open while the run starts; once
// the run waits for a lock it holds (what names it), given to waiting (if
// any), and committed. It returns the run's error.
func rerunBeside(t *testing.T, ctx context.Context, cfg Config, app *pgx.Conn, before, waiting func(pgx.Tx), what string) error {
	t.Helper()
	tx, err := app.Begin(ctx)
	if err != nil {
		t.Fatal(err)
	}
	defer tx.Rollback(ctx)
	before(tx)
	runCtx, cancel := context.WithTimeout(ctx, 5*time.Minute)
	defer cancel()
	ran := make(chan error, 1)
	go func() {
		_, err := Run(runCtx, cfg)
		ran <- err
	}()
	watch := pgtest.Connect(t, cfg.TargetURL)
	for blocked := false; !blocked; {
		select {
		case err := <-ran:
			t.Fatalf("the re-run ended (%v) without waiting for %s", err, what)
		case <-time.After(50 * time.Millisecond):
		}
		if err := watch.QueryRow(ctx, `SELECT EXISTS (SELECT 1 FROM pg_stat_activity
			WHERE $1::int = ANY (pg_blocking_pids(pid)))`, app.PgConn().PID()).Scan(&blocked); err != nil {
			t.Fatal(err)
		}
	}
	if waiting != nil {
		waiting(tx)
	}
	if err := tx.Commit(ctx); err != nil {
		t.Fatal(err)
	}
	return <-ran
}

// appCopy is the statement that writes a copy of one of table's rows in
// the target, with a new id and of user u, and returns its id.
func appCopy(table, u string) string {
	return `INSERT INTO public.` + table + ` SELECT (jsonb_populate_record(NULL::public.` + table + `,
		to_jsonb(r) || jsonb_build_object('id', gen_random_uuid(), 'user_id', ` + lit(u) + `::uuid))).* FROM public.` + table + ` r
		ORDER BY r.id LIMIT 1 RETURNING id::text`
}

// movedAway is a case of TestRerunBesideTheApplication: the application
// writes a row of table (what) for the user the re-run removes, then
// moves it to another user in a transaction still open when the removal
// comes; the removal waits for it and leaves the row alone.
func movedAway(table, what string) func(t *testing.T, ctx context.Context, conn *pgx.Conn, bad, kept string) (before, waiting func(pgx.Tx), _ string, want func() ([]Refusal, string, string)) {
	return func(t *testing.T, ctx context.Context, conn *pgx.Conn, bad, kept string) (before, waiting func(pgx.Tx), _ string, want func() ([]Refusal, string, string)) {
		row := scalarOf[string](t, ctx, conn.Config().ConnString(), appCopy(table, bad))
		return func(tx pgx.Tx) {
				if _, err := tx.Exec(ctx, `UPDATE public.`+table+` SET user_id = $1::uuid WHERE id::text = $2`, kept, row); err != nil {
					t.Fatal(err)
				}
			}, nil, "the transaction moving " + what + " away from the user it deletes",
			func() ([]Refusal, string, string) { return nil, row, kept }
	}
}

// userRefusal is the refusal of users' removal for one row of table that
// references the user through fk (ON DELETE action).
func userRefusal(table, fk, action, key string) Refusal {
	return Refusal{Mapping: "users", Legacy: "users", Table: table, Constraint: "foreign key " + fk, Definition: "ON DELETE " + action,
		References: true, Parent: "users", Count: 1, Keys: []string{key}}
}

// TestRerunBesideTheApplication: a re-run that removes a user (rejected
// now) beside the application's transaction on the target, still open
// when the removal comes to that user's rows:
//   - writing a reading session of the user (ON DELETE CASCADE): the
//     removal waits for it, then names the row, instead of deleting it
//     with the user once it commits;
//   - holding the user's reading session (written earlier) and then
//     writing a habit of the user, which waits for the removal's lock on
//     the user: a deadlock, which the server ends by ending the removal
//     (the application's deadlock_timeout made the longer here); the
//     removal starts again, says so, waits, and names both rows;
//   - moving the user's reading session to another user: the removal
//     waits for it, then leaves the row alone, and finishes;
//   - the same with a habit (ON DELETE NO ACTION): the look for rows
//     referencing the user waits for it (an earlier build named the
//     habit from the row's old version and refused).
func TestRerunBesideTheApplication(t *testing.T) {
	t.Parallel()
	for _, c := range []struct {
		name string
		// app's transaction: before the run, and once the run waits for it;
		// what names what the run waits for. it returns the refusals the
		// run must end with (none: the run finishes) and the row that must
		// be left with the user it names ("" for no user).
		app func(t *testing.T, ctx context.Context, conn *pgx.Conn, bad, kept string) (before, waiting func(pgx.Tx), what string, want func() ([]Refusal, string, string))
		// said is a line the run must have said of the removal.
		said string
	}{
		{name: "a row written", app: func(t *testing.T, ctx context.Context, conn *pgx.Conn, bad, kept string) (before, waiting func(pgx.Tx), what string, want func() ([]Refusal, string, string)) {
			var session string
			return func(tx pgx.Tx) {
					if err := tx.QueryRow(ctx, appCopy("reading_sessions", bad)).Scan(&session); err != nil {
						t.Fatal(err)
					}
				}, nil, "the transaction writing a row of the user it deletes",
				func() ([]Refusal, string, string) {
					return []Refusal{userRefusal("reading_sessions", "reading_sessions_user_id_fkey", "CASCADE", session)}, session, bad
				}
		}},
		{name: "a deadlock", said: "users: the server ended a deadlock between the removal and another session by ending the removal, which left nothing; trying again (2 of 3)",
			app: func(t *testing.T, ctx context.Context, conn *pgx.Conn, bad, kept string) (before, waiting func(pgx.Tx), what string, want func() ([]Refusal, string, string)) {
				session := scalarOf[string](t, ctx, conn.Config().ConnString(), appCopy("reading_sessions", bad))
				for _, q := range []string{`SET deadlock_timeout = '1h'`,
					`DO $$ BEGIN EXECUTE format('ALTER DATABASE %I SET deadlock_timeout = ''3s''', current_database()); END $$`} {
					if _, err := conn.Exec(ctx, q); err != nil {
						t.Fatal(err)
					}
				}
				var habit string
				return func(tx pgx.Tx) {
						if _, err := tx.Exec(ctx, `SELECT FROM public.reading_sessions WHERE id::text = $1 FOR UPDATE`, session); err != nil {
							t.Fatal(err)
						}
					}, func(tx pgx.Tx) {
						if err := tx.QueryRow(ctx, appCopy("habits", bad)).Scan(&habit); err != nil {
							t.Fatalf("the application's habit: %v", err)
						}
					}, "the transaction holding a reading session of the user it deletes",
					func() ([]Refusal, string, string) {
						return []Refusal{
							userRefusal("habits", "habits_user_id_fkey", "NO ACTION", habit),
							userRefusal("reading_sessions", "reading_sessions_user_id_fkey", "CASCADE", session),
						}, session, bad
					}
			}},
		{name: "a row moved away", app: movedAway("reading_sessions", "a reading session")},
		{name: "a row moved away from a key that is not a cascade", app: movedAway("habits", "a habit (ON DELETE NO ACTION)")},
	} {
		t.Run(c.name, func(t *testing.T) {
			t.Parallel()
			ctx := context.Background()
			src, dst := changedSource(t), finishedTarget(t)
			bad := scalarOf[string](t, ctx, src, `SELECT key FROM test_edits.picked WHERE what = 'bad_user'`)
			kept := scalarOf[string](t, ctx, dst, `SELECT id::text FROM public.users WHERE id::text <> $1 ORDER BY id LIMIT 1`, bad)
			conn := pgtest.Connect(t, dst)
			before, waiting, what, want := c.app(t, ctx, conn, bad, kept)
			said := &heard{phase: "remove"}
			cfg := rerunConfig(src, dst)
			cfg.Progress = said.progress
			err := rerunBeside(t, ctx, cfg, conn, before, waiting, what)
			refusals, row, owner := want()
			var refused *ForeignReferencesError
			switch {
			case refusals == nil && err != nil:
				t.Fatalf("re-run: %v", err)
			case refusals != nil && !errors.As(err, &refused):
				t.Fatalf("re-run: %v, want a ForeignReferencesError", err)
			case refusals != nil:
				if d := cmp.Diff(refusals, refused.Refusals); d != "" {
					t.Errorf("the run's refusals (-want +got):\n%s", d)
				}
			}
			if got := scalarOf[string](t, ctx, dst, `SELECT coalesce((SELECT user_id::text FROM public.reading_sessions WHERE id::text = $1),
				(SELECT user_id::text FROM public.habits WHERE id::text = $1), 'none')`, row); got != owner {
				t.Errorf("the application's row %s belongs to %s after the re-run, want %s", row, got, owner)
			}
			if users := scalarOf[int64](t, ctx, dst, `SELECT count(*) FROM public.users WHERE id::text = $1`, bad); (users == 0) != (refusals == nil) {
				t.Errorf("%d rows of the user the re-run rejects are left (refusals: %d)", users, len(refusals))
			}
			if c.said != "" && !slices.Contains(said.messages(), c.said) {
				t.Errorf("the run did not say %q; it said %q", c.said, said.messages())
			}
		})
	}
}

// TestRerunRefusesToTakeOverARowItDidNotWrite: a re-run loads a grant the
// source gained (user_roles, whose primary key is the legacy key), and
// the application has written the same grant into the target. The
// upsert, which goes by the primary key, updated the application's row
// and the ledger then gave it to the cutover, whose later runs would
// remove it with the legacy grant. The run now stops before writing the
// mapping and names the row, as the dry run does; once the row is gone the
// same command finishes, equal to a fresh run.
func TestRerunRefusesToTakeOverARowItDidNotWrite(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	dst := finishedTarget(t)
	// A loaded user and a role loaded under its own id that no grant,
	// legacy or target, joins yet.
	pair := scalarOf[[]string](t, ctx, dst, `SELECT ARRAY[u.id::text, r.id::text] FROM public.users u, public.roles r
		WHERE EXISTS (SELECT 1 FROM cutover.dispositions d WHERE d.legacy_table = 'roles' AND d.disposition = 'loaded'
				AND d.target_id = r.id AND d.legacy_key = r.id::text)
			AND NOT EXISTS (SELECT 1 FROM public.user_roles g WHERE g.user_id = u.id AND g.role_id = r.id)
			AND NOT EXISTS (SELECT 1 FROM cutover.dispositions d WHERE d.legacy_table = 'user_roles' AND d.legacy_key = u.id || ',' || r.id)
		ORDER BY u.id, r.id LIMIT 1`)
	user, role := pair[0], pair[1]
	src := editedSource(t, "new_grant", `INSERT INTO user_roles (user_id, role_id, granted_at) VALUES ('`+user+`', '`+role+`', '2020-01-01')`)
	want := freshRun(t, src)
	if _, err := pgtest.Connect(t, dst).Exec(ctx, `INSERT INTO public.user_roles (user_id, role_id, granted_at) VALUES ($1, $2, '2026-11-30')`, user, role); err != nil {
		t.Fatal(err)
	}

	key := user + "," + role
	err := refusedAsPredicted(t, ctx, src, dst, Refusal{Mapping: "user_roles", Legacy: "user_roles", Table: "user_roles",
		Constraint: "primary key", Definition: "(user_id, role_id)", Held: true, Count: 1,
		Keys: []string{key + " (held by the row " + key + ", which no ledger row gives the mapping)"}})
	if !strings.HasSuffix(err.Error(), "then run again; nothing of this mapping was written") {
		t.Errorf("the error does not say that nothing was written: %v", err)
	}
	if at := scalarOf[string](t, ctx, dst, `SELECT granted_at::date::text FROM public.user_roles WHERE user_id = $1 AND role_id = $2`, user, role); at != "2026-11-30" {
		t.Errorf("the application's grant was changed: granted %s", at)
	}
	if n := scalarOf[int64](t, ctx, dst, `SELECT count(*) FROM cutover.dispositions WHERE legacy_table = 'user_roles' AND legacy_key = $1`, key); n != 0 {
		t.Errorf("the ledger gives the application's grant to the cutover")
	}

	// The operator removes the application's grant; the same command
	// then loads the legacy one.
	if _, err := pgtest.Connect(t, dst).Exec(ctx, `DELETE FROM public.user_roles WHERE user_id = $1 AND role_id = $2`, user, role); err != nil {
		t.Fatal(err)
	}
	if _, err := Run(ctx, rerunConfig(src, dst)); err != nil {
		t.Fatalf("re-run after the grant was removed: %v", err)
	}
	testkit.SameAs(t, want, dst)
}

// TestRerunAfterARoleMergesElsewhere: user_roles has no id; its rows are
// keyed by the grant's user and target role. A legacy role that merged
// onto a seeded role by name stops doing so (renamed in the source), or a
// role that did not starts to. Its grants then go to another target role:
// the rows the earlier run wrote under the old one are the cutover's (the
// ledger records the key it wrote), so the re-run removes them and the
// target equals a fresh run's. Before the ledger kept the written key,
// ownership was re-derived through the roles' ledger as the re-run left
// it: the grants under the seeded role were nobody's and stayed (the
// first case), or their removal with the role was refused as the
// application's (the second).
func TestRerunAfterARoleMergesElsewhere(t *testing.T) {
	t.Parallel()
	for _, tc := range []struct {
		name, edit string
		moved      string // the legacy role whose grants move, by its name in the source
	}{
		{"stops merging onto a seed", `UPDATE roles SET name = 'member' WHERE name = 'user'`, "member"},
		{"starts merging onto a seed", `UPDATE roles SET name = 'moderator_before' WHERE name = 'moderator';
			UPDATE roles SET name = 'moderator' WHERE name = 'beta_tester'`, "moderator"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			ctx := context.Background()
			src := editedSource(t, strings.ReplaceAll(tc.name, " ", "_"), tc.edit)
			want := freshRun(t, src)
			dst := finishedTarget(t)
			role := scalarOf[string](t, ctx, src, `SELECT id::text FROM roles WHERE name = $1`, tc.moved)
			// The role's grants the earlier run loaded, and the target role
			// they went to.
			grants := scalarOf[int64](t, ctx, dst, `SELECT count(*) FROM cutover.dispositions
				WHERE legacy_table = 'user_roles' AND disposition = 'loaded' AND split_part(legacy_key, ',', 2) = $1`, role)
			was := scalarOf[string](t, ctx, dst, `SELECT target_id::text FROM cutover.dispositions WHERE legacy_table = 'roles' AND legacy_key = $1`, role)
			if grants == 0 {
				t.Fatalf("the role %s has no grants: the edit makes no case", tc.moved)
			}

			diff, err := DryRun(ctx, rerunConfig(src, dst), 0)
			if err != nil {
				t.Fatalf("dry run: %v", err)
			}
			if len(diff.Refusals) > 0 {
				t.Errorf("the dry run refuses: %v", diff.Refusals)
			}
			before := dryrunRows(t, dst)
			if _, err := Run(ctx, rerunConfig(src, dst)); err != nil {
				t.Fatalf("re-run: %v", err)
			}
			e := dryrunEffects(before, dryrunRows(t, dst))["user_roles"]
			if e.Delete < grants || e.Insert < grants {
				t.Errorf("the re-run deleted %d and inserted %d grants; the %d grants of role %s (written under %s) moved", e.Delete, e.Insert, grants, tc.moved, was)
			}
			for _, td := range diff.Targets {
				if td.Table == "user_roles" && td.Changes() != e.Insert+e.Update+e.Delete {
					t.Errorf("the dry run counts %d changes of user_roles; the re-run changed %d rows", td.Changes(), e.Insert+e.Update+e.Delete)
				}
			}
			testkit.SameAs(t, want, dst)
		})
	}
}

// TestBookkeepingKeepsSecretsWhereTheSpecSays: the rejects keep the
// legacy rows verbatim, secrets included (a rejected session its token, a
// rejected account its OAuth tokens: the only copy once the legacy
// database is gone), and neither the discards nor the ledger hold the
// secret of a discarded row (an expired session's token, a one-time
// verification token).
func TestBookkeepingKeepsSecretsWhereTheSpecSays(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	src, dst := rerunSource(t), finishedTarget(t)
	// Every secret of the source, by table and key, as the ledger keys them
	// (an account's OAuth tokens, each NULL or not, joined).
	oauth := func(column func(string) string) string {
		var cols []string
		for _, c := range []string{"access_token", "refresh_token", "id_token"} {
			cols = append(cols, "coalesce("+column(c)+", '-')")
		}
		return "concat_ws(' ', " + strings.Join(cols, ", ") + ")"
	}
	secrets := map[string]string{} // "table key" -> secret
	for table, q := range map[string]string{
		"sessions":            `SELECT id::text, token FROM sessions`,
		"accounts":            `SELECT id::text, ` + oauth(func(c string) string { return c }) + ` FROM accounts`,
		"verification_tokens": `SELECT identifier || ',' || token, token FROM verification_tokens`,
	} {
		for _, kv := range pgtest.Strings(t, pgtest.Connect(t, src), `SELECT k || ' ' || v FROM (`+q+`) s(k, v)`) {
			k, v, _ := strings.Cut(kv, " ")
			secrets[table+" "+k] = v
		}
	}
	// Rejected: the row as the source has it.
	kept := pgtest.Strings(t, pgtest.Connect(t, dst), `SELECT legacy_table || ' ' || legacy_key || ' ' ||
		CASE legacy_table WHEN 'sessions' THEN row->>'token' ELSE `+oauth(func(c string) string { return "row->>" + lit(c) })+` END
		FROM cutover.rejects WHERE legacy_table IN ('sessions', 'accounts')`)
	rejected := map[string]int{}
	withToken := 0
	for _, r := range kept {
		f := strings.SplitN(r, " ", 3)
		rejected[f[0]]++
		if want := secrets[f[0]+" "+f[1]]; f[2] != want || want == "" {
			t.Errorf("the reject of %s %s keeps %q, the source has %q", f[0], f[1], f[2], want)
		}
		if f[0] == "sessions" || f[2] != "- - -" {
			withToken++
		}
	}
	if rejected["sessions"] == 0 || rejected["accounts"] == 0 || withToken == 0 {
		t.Fatalf("rejects by table: %v, %d of them with a token; want sessions and accounts", rejected, withToken)
	}
	// Discarded: no secret anywhere in their discards or ledger rows.
	var discarded int
	for _, r := range pgtest.Strings(t, pgtest.Connect(t, dst), `SELECT d.legacy_table || ' ' || to_jsonb(d)::text || ' ' || to_jsonb(l)::text
		FROM cutover.discards d JOIN cutover.dispositions l USING (legacy_table, legacy_key)`) {
		table, row, _ := strings.Cut(r, " ")
		discarded++
		for k, secret := range secrets {
			if strings.HasPrefix(k, table+" ") && strings.Contains(row, secret) {
				t.Errorf("a discard of %s holds the secret of %s: %s", table, k, row)
			}
		}
	}
	if n := scalarOf[int64](t, ctx, dst, `SELECT count(*) FROM cutover.dispositions WHERE disposition = 'discarded'
		AND legacy_table IN ('sessions', 'verification_tokens')`); n == 0 || int(n) > discarded {
		t.Errorf("%d discarded sessions and verification tokens in the ledger, %d discards read", n, discarded)
	}
}

// lockedRows lists (ctid/xmax), per application table and ledger
// partition of target u, the live rows a transaction locked without
// writing them: xmax set to another transaction than the one that wrote
// the row (a row updated under its own lock carries the lock in its new
// version, with xmax = xmin), but for the parents of rows written since
// transaction since, which a foreign key holds.
// Rejects, archive and discards are left out: their rows still go through
// ON CONFLICT alone (see bookkeeping in plan.go).
func lockedRows(t *testing.T, ctx context.Context, u string, since int64) map[string]map[string]bool {
	t.Helper()
	tables := pgtest.Strings(t, pgtest.Connect(t, u), `SELECT format('%I.%I', n.nspname, c.relname) FROM pg_class c JOIN pg_namespace n ON n.oid = c.relnamespace
		WHERE c.relkind = 'r' AND (n.nspname = 'public' OR n.nspname = 'cutover' AND c.relname LIKE 'dispositions\_%')
		ORDER BY 1`)
	if len(tables) < 60 {
		t.Fatalf("only %d tables to look for locked rows in", len(tables))
	}
	out := map[string]map[string]bool{}
	conn := pgtest.Connect(t, u)
	for _, table := range tables {
		// A row that a row written since references through a foreign key
		// is held for it, as the key's trigger holds it (two holds make
		// xmax a multixact: the hold itself is not told apart).
		held := pgtest.Strings(t, conn, `SELECT format(' OR EXISTS (SELECT 1 FROM %s c WHERE c.%I = p.%I AND age(c.xmin) <= age($1::bigint::text::xid))',
				k.conrelid::regclass, a.attname, pa.attname)
			FROM pg_constraint k
			JOIN pg_attribute a ON a.attrelid = k.conrelid AND a.attnum = k.conkey[1]
			JOIN pg_attribute pa ON pa.attrelid = k.confrelid AND pa.attnum = k.confkey[1]
			WHERE k.contype = 'f' AND k.confrelid = $1::regclass AND cardinality(k.conkey) = 1`, table)
		for _, row := range pgtest.Strings(t, conn, `SELECT ctid::text || '/' || xmax::text FROM `+table+` p WHERE xmax::text NOT IN ('0', xmin::text)
			AND NOT ($1::bigint IS NULL`+strings.Join(held, "")+`)`, since) {
			if out[table] == nil {
				out[table] = map[string]bool{}
			}
			out[table][row] = true
		}
	}
	return out
}

// TestRerunAfterFinishedRunIsNoop: a re-run on an unchanged source writes no
// application row and reports no change.
func TestRerunAfterFinishedRunIsNoop(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	want := reference(t, "S0")
	src, dst := rerunSource(t), finishedTarget(t)
	if st := status(t, ctx, rerunConfig(src, dst)); st.Next.Action != "nothing" {
		t.Errorf("status before the re-run: next run %q (%s), want nothing", st.Next.Action, st.Next.Message)
	}
	xid := scalarOf[int64](t, ctx, dst, `SELECT txid_current()`)
	sum, err := Run(ctx, rerunConfig(src, dst))
	if err != nil {
		t.Fatal(err)
	}
	if n := sum.Changed(); n != 0 || len(sum.Changes) != 0 {
		t.Errorf("re-run after a finished run reports %d changes: %v", n, sum.Changes)
	}
	written := scalarOf[[]string](t, ctx, dst, `SELECT coalesce(array_agg(c.relname::text ORDER BY c.relname), '{}')
		FROM pg_class c WHERE c.relnamespace = 'public'::regnamespace AND c.relkind = 'r'
		AND (xpath('/row/n/text()', query_to_xml(format('SELECT count(*) AS n FROM public.%I WHERE xmin::text::bigint > %s', c.relname, $1::bigint), false, true, '')))[1]::text::bigint > 0`, xid)
	if len(written) > 0 {
		t.Errorf("re-run after a finished run wrote rows of %v", written)
	}
	testkit.SameAs(t, want, dst)
}

// TestRerunAfterRowMovedToAnotherUser: the source gives a habit to another
// user and deletes its old owner. The habit stays decided under its id,
// but the target's copy references the old owner, whose removal (before
// any upsert) its foreign key would block (habits.user_id is ON DELETE NO
// ACTION). The re-run removes the habit first and writes it again under
// its new owner: the target equals a fresh run's, and the habits the run
// counts as written are the ones the dry run predicted.
func TestRerunAfterRowMovedToAnotherUser(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	src := editedSource(t, "reparented", reparent)
	want := freshRun(t, src)
	dst := finishedTarget(t)
	picked := scalarOf[[]string](t, ctx, src, `SELECT ARRAY[old_user::text, new_user::text, habit::text] FROM test_edits.picked`)
	const owner = `SELECT coalesce((SELECT user_id::text FROM public.habits WHERE id = $1::uuid), 'none')`
	if got := scalarOf[string](t, ctx, dst, owner, picked[2]); got != picked[0] || picked[0] == picked[1] {
		t.Fatalf("before the re-run the habit's owner is %s; picked old owner %s, new owner %s", got, picked[0], picked[1])
	}
	// The dry run's count of habits written is the run's: the habits of
	// the deleted owner are counted as removals, the moved one as the
	// update it is (the run deletes it and writes it again).
	diff, err := DryRun(ctx, rerunConfig(src, dst), 0)
	if err != nil {
		t.Fatal(err)
	}
	var dryHabits TableDiff
	for _, td := range diff.Targets {
		if td.Table == "habits" {
			dryHabits = td
		}
	}
	sum, err := Run(ctx, rerunConfig(src, dst))
	if err != nil {
		t.Fatalf("re-run after a habit changed owners: %v", err)
	}
	if dryHabits.Delete == 0 || dryHabits.Update == 0 || sum.Changes["habits"] != dryHabits.Changes() {
		t.Errorf("habits written: the run counts %d, the dry run %+v", sum.Changes["habits"], dryHabits)
	}
	if got := scalarOf[string](t, ctx, dst, owner, picked[2]); got != picked[1] {
		t.Errorf("after the re-run the habit's owner is %s, want %s", got, picked[1])
	}
	testkit.SameAs(t, want, dst)
}

// reparent edits S0: a habit moves to another user, and its old owner is
// deleted (test_edits.picked: old_user, new_user, habit).
var reparent = moveToAnotherUser("habits", "habit")

// moveToAnotherUser edits S0: a row of table (one with a user_id) moves
// to another user, and its old owner is deleted (test_edits.picked:
// old_user, new_user and, as column, the row's id).
func moveToAnotherUser(table, column string) string {
	return `CREATE SCHEMA test_edits;
	CREATE TABLE test_edits.picked AS
	WITH good AS (SELECT u.id FROM users u WHERE EXISTS (SELECT 1 FROM ` + table + ` r WHERE r.user_id = u.id)
		AND NOT EXISTS (SELECT 1 FROM users o WHERE lower(o.email) = lower(u.email) AND o.id <> u.id))
	SELECT (SELECT id FROM good ORDER BY id LIMIT 1) AS old_user, (SELECT id FROM good ORDER BY id DESC LIMIT 1) AS new_user;
	ALTER TABLE test_edits.picked ADD COLUMN ` + column + ` uuid;
	UPDATE test_edits.picked SET ` + column + ` = (SELECT r.id FROM ` + table + ` r WHERE r.user_id = old_user ORDER BY r.id LIMIT 1);
	UPDATE ` + table + ` SET user_id = (SELECT new_user FROM test_edits.picked) WHERE id = (SELECT ` + column + ` FROM test_edits.picked);
	DELETE FROM users WHERE id = (SELECT old_user FROM test_edits.picked);`
}

// TestRerunKeepsRowsItDidNotWriteFurtherDown: rows the cutover did not
// write are kept from a re-run's deletions also where they do not
// reference a row the run removes: they reference a row it deletes and
// writes again (as in TestRerunAfterRowMovedToAnotherUser, a habit moved
// to another user whose old owner goes: ON DELETE CASCADE would take a
// completion written by hand with the habit), a row the cutover wrote
// that would go with a removed one (a workout session moved the same way:
// deleting the owner cascades through the session to its sets), or one
// through a foreign key to a column other than id
// (user_achievements.achievement_key, of a definition the source no
// longer has). Each refusal is named by the dry run first and by the run,
// which deletes none of those rows; once the row is gone, the same
// command finishes as a fresh run.
func TestRerunKeepsRowsItDidNotWriteFurtherDown(t *testing.T) {
	t.Parallel()
	for _, c := range []struct {
		name, source, edit string
		// app writes the row the cutover did not write into target dst,
		// and returns its key.
		app  func(t *testing.T, ctx context.Context, src, dst string) string
		want func(key string) Refusal
	}{
		{"referencing a row written again", "reparented", reparent,
			func(t *testing.T, ctx context.Context, src, dst string) string {
				picked := scalarOf[[]string](t, ctx, src, `SELECT ARRAY[new_user::text, habit::text] FROM test_edits.picked`)
				return scalarOf[string](t, ctx, dst, `INSERT INTO public.habit_completions (id, habit_id, user_id, completed_date)
					VALUES (gen_random_uuid(), $1::uuid, $2::uuid, DATE '1999-01-01') RETURNING id::text`, picked[1], picked[0])
			},
			func(key string) Refusal {
				return Refusal{Mapping: "habits", Legacy: "habits", Table: "habit_completions", Constraint: "foreign key habit_completions_habit_id_fkey",
					Definition: "ON DELETE CASCADE", References: true, Parent: "habits", Rewritten: true, Count: 1, Keys: []string{key}}
			}},
		{"below a row that goes with it", "reowned_session", moveToAnotherUser("workout_sessions", "session"),
			func(t *testing.T, ctx context.Context, src, dst string) string {
				session := scalarOf[string](t, ctx, src, `SELECT session::text FROM test_edits.picked`)
				return scalarOf[string](t, ctx, dst, `INSERT INTO public.exercise_sets (id, session_id, exercise_id, set_number)
					SELECT gen_random_uuid(), $1::uuid, exercise_id, 99 FROM public.exercise_sets ORDER BY id LIMIT 1 RETURNING id::text`, session)
			},
			func(key string) Refusal {
				return Refusal{Mapping: "users", Legacy: "users", Table: "exercise_sets", Constraint: "foreign key exercise_sets_session_id_fkey",
					Definition: "ON DELETE CASCADE", References: true, Parent: "workout_sessions", Via: "users", Count: 1, Keys: []string{key}}
			}},
		{"through a key that is not the id", "dropped_definition", `DELETE FROM achievement_definitions WHERE key = 'big_spender';`,
			func(t *testing.T, ctx context.Context, src, dst string) string {
				if d := scalarOf[string](t, ctx, dst, `SELECT coalesce((SELECT d.disposition FROM cutover.dispositions d JOIN public.achievement_definitions a ON a.id = d.target_id
					WHERE d.legacy_table = 'achievement_definitions' AND a.key = 'big_spender'), 'none')`); d != "loaded" {
					t.Fatalf("the definition big_spender is %s in the target, want loaded", d)
				}
				return scalarOf[string](t, ctx, dst, `INSERT INTO public.user_achievements (user_id, achievement_key)
					SELECT u.id, 'big_spender' FROM public.users u
					WHERE NOT EXISTS (SELECT 1 FROM public.user_achievements a WHERE a.user_id = u.id AND a.achievement_key = 'big_spender')
					ORDER BY u.id LIMIT 1 RETURNING id::text`)
			},
			func(key string) Refusal {
				return Refusal{Mapping: "achievement_definitions", Legacy: "achievement_definitions", Table: "user_achievements",
					Constraint: "foreign key user_achievements_achievement_key_fkey", Definition: "ON DELETE CASCADE", References: true,
					Parent: "achievement_definitions", Count: 1, Keys: []string{key}}
			}},
	} {
		t.Run(c.name, func(t *testing.T) {
			t.Parallel()
			ctx := context.Background()
			src := editedSource(t, c.source, c.edit)
			want := freshRun(t, src)
			dst := finishedTarget(t)
			key := c.app(t, ctx, src, dst)
			wantRefusals := []Refusal{c.want(key)}
			refused, err := referencesRefusedAsPredicted(t, ctx, src, dst, wantRefusals)
			if refused.Rewritten != wantRefusals[0].Rewritten || !strings.HasSuffix(err.Error(), map[bool]string{
				false: "no " + refused.Table + " row was removed", true: "none of those " + refused.Table + " rows was deleted"}[refused.Rewritten]) {
				t.Errorf("the error does not say what it kept: %v", err)
			}
			table := wantRefusals[0].Table
			if n := scalarOf[int64](t, ctx, dst, `SELECT count(*) FROM public.`+ident(table)+` WHERE id = $1::uuid`, key); n != 1 {
				t.Fatalf("the refused re-run removed the %s row the cutover did not write", table)
			}
			if _, err := pgtest.Connect(t, dst).Exec(ctx, `DELETE FROM public.`+ident(table)+` WHERE id = $1::uuid`, key); err != nil {
				t.Fatal(err)
			}
			if _, err := Run(ctx, rerunConfig(src, dst)); err != nil {
				t.Fatalf("re-run once the row is gone: %v", err)
			}
			testkit.SameAs(t, want, dst)
		})
	}
}

// TestRerunAfterTablesVanish: the drift tables are dropped from the source
// after a run loaded them. No mapping of the re-run reads them, yet their
// rows are in the target (habit_completions, inbox_items, user_quests) and
// in its bookkeeping. The dry run counts them as deletions and status says
// the re-run removes them; the re-run does, and equals a fresh run on the
// source without them, also after a run that failed half-way through the
// removals; the run after it has nothing to do.
func TestRerunAfterTablesVanish(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	drift := []string{"habit_logs", "quests", "user_inbox"}
	src := editedSource(t, "vanished", `DROP TABLE `+strings.Join(drift, ", ")+` CASCADE`)
	want := freshRun(t, src)
	dst := finishedTarget(t)
	const owned = `SELECT count(*) FROM cutover.dispositions WHERE legacy_table = ANY($1) AND disposition IN ('loaded', 'folded')`
	loaded := scalarOf[int64](t, ctx, dst, owned, drift)
	if loaded == 0 {
		t.Fatal("the finished target holds no row of the drift tables: the case tests nothing")
	}
	st := status(t, ctx, rerunConfig(src, dst))
	if d := cmp.Diff(drift, st.Vanished); d != "" || st.Next.Action != "update" || !strings.Contains(st.Next.Message, "no longer in the source") {
		t.Errorf("status before the re-run: next run %q (%s); vanished tables (-want +got):\n%s", st.Next.Action, st.Next.Message, d)
	}
	diff, err := DryRun(ctx, rerunConfig(src, dst), 0)
	if err != nil {
		t.Fatal(err)
	}
	var deletes int64
	for _, td := range diff.Targets {
		deletes += td.Delete
	}
	if deletes < loaded {
		t.Errorf("the dry run counts %d deletions, want at least the %d rows the drift tables loaded", deletes, loaded)
	}
	// A run that fails while it removes the second table's rows: the
	// first is gone with its bookkeeping, the second is still whole.
	failing := rerunConfig(src, dst)
	SetHook(&failing, failAt("vanished.commit:quests", 1))
	if _, err := Run(ctx, failing); !errors.Is(err, errInjected) || !strings.Contains(err.Error(), "remove quests, no longer in the source") {
		t.Fatalf("run failing in the removal of quests: %v", err)
	}
	if d := cmp.Diff(drift[1:], status(t, ctx, rerunConfig(src, dst)).Vanished); d != "" {
		t.Errorf("tables left to remove after the failed run (-want +got):\n%s", d)
	}
	remaining := scalarOf[int64](t, ctx, dst, owned, drift[1:])
	var said []string
	cfg := rerunConfig(src, dst)
	cfg.Progress = func(e Event) {
		if strings.Contains(e.Message, "is no longer in the source") {
			said = append(said, strings.Fields(e.Message)[0])
		}
	}
	sum, err := Run(ctx, cfg)
	if err != nil {
		t.Fatalf("re-run without the drift tables: %v", err)
	}
	if d := cmp.Diff(drift[1:], said); d != "" {
		t.Errorf("tables the re-run said it removed (-want +got):\n%s", d)
	}
	if sum.Changed() < remaining || remaining == 0 {
		t.Errorf("the re-run reports %d rows changed, want at least the %d it removed", sum.Changed(), remaining)
	}
	if left := scalarOf[int64](t, ctx, dst, owned, drift); left != 0 {
		t.Errorf("the re-run left %d ledger rows of the drift tables", left)
	}
	testkit.SameAs(t, want, dst)
	after := status(t, ctx, rerunConfig(src, dst))
	if after.Next.Action != "nothing" || len(after.Vanished) != 0 {
		t.Errorf("status after the re-run: next run %q (%s), vanished %v", after.Next.Action, after.Next.Message, after.Vanished)
	}
}

const (
	// twoUsers picks the first two users with an email no other user
	// has (ignoring case): lo and hi of the table roles.
	twoUsers = `CREATE TEMP TABLE two AS SELECT id, email FROM users u
			WHERE NOT EXISTS (SELECT 1 FROM users o WHERE lower(o.email) = lower(u.email) AND o.id <> u.id) ORDER BY id LIMIT 2;
		CREATE TEMP TABLE roles AS SELECT (SELECT id FROM two ORDER BY id LIMIT 1) AS lo, (SELECT id FROM two ORDER BY id DESC LIMIT 1) AS hi;`
	// emailSwap has those two users swap emails.
	emailSwap = twoUsers + `
		UPDATE users SET email = 'swapping@example.com' WHERE id = (SELECT lo FROM roles);
		UPDATE users SET email = (SELECT email FROM two WHERE id = (SELECT lo FROM roles)) WHERE id = (SELECT hi FROM roles);
		UPDATE users SET email = (SELECT email FROM two WHERE id = (SELECT hi FROM roles)) WHERE id = (SELECT lo FROM roles);`
)

// TestRerunRefusesASwapItCannotPark: two users swap emails, and the
// target has an index more that holds at most one parked email (a
// partial index of a constant). Parking them breaks it: the parking is
// undone, and the re-run refuses the swap as before it could park,
// leaving the users as they were.
func TestRerunRefusesASwapItCannotPark(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	src, dst := editedSource(t, "email_swap", emailSwap), finishedTarget(t)
	if _, err := pgtest.Connect(t, dst).Exec(ctx, `CREATE UNIQUE INDEX users_one_parked ON users ((true)) WHERE email LIKE 'cutover-parked-%'`); err != nil {
		t.Fatal(err)
	}
	const users = `SELECT md5(string_agg(id::text || email, ',' ORDER BY id)) FROM public.users`
	before := scalarOf[string](t, ctx, dst, users)
	_, err := Run(ctx, rerunConfig(src, dst))
	var swapped *swapError
	if !errors.As(err, &swapped) || swapped.Table != "users" || swapped.Index != "idx_users_email_lower" {
		t.Fatalf("re-run after two users swapped emails, with nowhere to park them: %v, want the swap refused", err)
	}
	if after := scalarOf[string](t, ctx, dst, users); after != before {
		t.Error("the refused re-run changed the users")
	}
}

// TestRerunAfterUniqueValuesMove: between two runs one user gives up an
// email and another takes it (in either order of their ids). One upsert
// checks each row against the others' old values, so taking the email can
// fail on the row that gives it up; the re-run moves the rows in order and
// equals a fresh run. Two users that swap emails cannot be written in any
// order; the re-run parks one on a value of its own first, and equals a
// fresh run too. Two completions that swap dates have no column to park:
// the re-run refuses, saying so, and leaves them as they were; the dry
// run foresees that refusal (and none for a chain or a parked swap).
func TestRerunAfterUniqueValuesMove(t *testing.T) {
	const pick = twoUsers
	chain := func(giver, taker string) string {
		return pick + `
		UPDATE users SET email = 'given.up@example.com' WHERE id = (SELECT ` + giver + ` FROM roles);
		UPDATE users SET email = (SELECT email FROM two WHERE id = (SELECT ` + giver + ` FROM roles)) WHERE id = (SELECT ` + taker + ` FROM roles);
		-- The giver's row last in the heap, so that the stage and the
		-- decisions hold the taker first (an upsert in that order fails).
		UPDATE users SET email = email WHERE id = (SELECT ` + giver + ` FROM roles);`
	}
	// Two completions of one habit, both loaded, whose dates no other
	// completion of it (in either feeder) has.
	const completions = `CREATE TEMP TABLE two AS SELECT c.id, c.completed_date FROM habit_completions c JOIN habits h ON h.id = c.habit_id
			WHERE c.user_id = h.user_id AND c.habit_id = (SELECT c.habit_id FROM habit_completions c JOIN habits h ON h.id = c.habit_id
				WHERE c.user_id = h.user_id GROUP BY 1 HAVING count(*) >= 2 ORDER BY 1 LIMIT 1)
			AND NOT EXISTS (SELECT 1 FROM habit_completions o WHERE o.habit_id = c.habit_id AND o.completed_date = c.completed_date AND o.id <> c.id)
			AND NOT EXISTS (SELECT 1 FROM habit_logs l WHERE l.habit_id = c.habit_id AND l.completed_date = c.completed_date)
			ORDER BY c.id LIMIT 2;`
	for _, c := range []struct {
		name, edit string
		refused    string // the unique index whose swap the run refuses
	}{
		{"the lower id gives its email to the higher", chain("lo", "hi"), ""},
		{"the higher id gives its email to the lower", chain("hi", "lo"), ""},
		// Written through a parking value (Plan.Park).
		{"two users swap emails", emailSwap, ""},
		// An index of a foreign key and a date has no column to park.
		{"two completions swap dates", completions + `
		UPDATE habit_completions SET completed_date = '1900-01-01' WHERE id = (SELECT id FROM two ORDER BY id LIMIT 1);
		UPDATE habit_completions SET completed_date = (SELECT completed_date FROM two ORDER BY id LIMIT 1) WHERE id = (SELECT id FROM two ORDER BY id DESC LIMIT 1);
		UPDATE habit_completions SET completed_date = (SELECT completed_date FROM two ORDER BY id DESC LIMIT 1) WHERE id = (SELECT id FROM two ORDER BY id LIMIT 1);`,
			"habit_completions_habit_id_completed_date_key"},
	} {
		t.Run(c.name, func(t *testing.T) {
			t.Parallel()
			ctx := context.Background()
			src := editedSource(t, "unique_"+strings.ReplaceAll(c.name, " ", "_"), c.edit)
			dst := finishedTarget(t)
			// The dry run foresees a swap the run refuses, and only that.
			swapped := dryRunRefusals(t, ctx, src, dst)
			var foreseen []string
			if c.refused != "" {
				foreseen = []string{"habit_completions unique index " + c.refused + " swapped true: 2 rows"}
			}
			if d := cmp.Diff(foreseen, swapped); d != "" {
				t.Errorf("the dry run's refusals (-want +got):\n%s", d)
			}
			if c.refused != "" {
				const held = `SELECT md5(string_agg(id::text || completed_date, ',' ORDER BY id)) FROM public.habit_completions`
				before := scalarOf[string](t, ctx, dst, held)
				_, err := Run(ctx, rerunConfig(src, dst))
				if err == nil || !strings.Contains(err.Error(), "take each other's values of unique index "+c.refused) {
					t.Fatalf("re-run after a swap: %v", err)
				}
				if after := scalarOf[string](t, ctx, dst, held); after != before {
					t.Error("the refused re-run changed the completions")
				}
				return
			}
			want := freshRun(t, src)
			if _, err := Run(ctx, rerunConfig(src, dst)); err != nil {
				t.Fatalf("re-run after an email changed hands: %v", err)
			}
			testkit.SameAs(t, want, dst)
		})
	}
}

// replacedSeed returns the value seed (a query of one column of one seeded
// row) reads on a freshly migrated target, and stops the test when the
// finished target dst holds the same: no legacy row merged onto that
// seed, and the case tests nothing.
func replacedSeed(t *testing.T, dst, seed string) string {
	t.Helper()
	ctx := context.Background()
	seeded := scalarOf[string](t, ctx, testkit.MigratedTarget(t), seed)
	if got := scalarOf[string](t, ctx, dst, seed); got == seeded {
		t.Fatalf("%s: the finished target holds the seed's value (%q): no legacy row merged onto it, the case tests nothing", seed, got)
	}
	return seeded
}

// dryRunRefusals runs a dry run of src into dst and returns its refusals,
// each as "table constraint swapped <Swapped>: <Count> rows".
func dryRunRefusals(t *testing.T, ctx context.Context, src, dst string) []string {
	t.Helper()
	diff, err := DryRun(ctx, rerunConfig(src, dst), 0)
	if err != nil {
		t.Fatalf("dry run: %v", err)
	}
	var out []string
	for _, r := range diff.Refusals {
		out = append(out, fmt.Sprintf("%s %s swapped %v: %d rows", r.Table, r.Constraint, r.Swapped, r.Count))
	}
	return out
}

// TestRerunAfterSlugsReorder: two v21 items whose names slug alike
// ('CAFE--CRÈME!' and 'cafe creme') get cafe-creme and cafe-creme-2 by
// created_at (fine print 5); reordering them in the source swaps their
// keys, which the re-run writes through a parking value (as two users
// swapping emails), ending as a fresh run; the dry run refuses nothing.
func TestRerunAfterSlugsReorder(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	src := editedSource(t, "slugs_reordered", `
		UPDATE market_items SET created_at = created_at + interval '1 hour' WHERE name = 'CAFE--CRÈME!';
		UPDATE market_items SET created_at = created_at - interval '1 hour' WHERE name = 'cafe creme'`)
	dst := finishedTarget(t)
	if got := dryRunRefusals(t, ctx, src, dst); len(got) != 0 {
		t.Errorf("the dry run refuses %q", got)
	}
	const keys = `SELECT string_agg(key, ',' ORDER BY name) FROM public.market_items WHERE name IN ('CAFE--CRÈME!', 'cafe creme')`
	before := scalarOf[string](t, ctx, dst, keys)
	want := freshRun(t, src)
	var parked []string
	cfg := rerunConfig(src, dst)
	cfg.Progress = func(e Event) {
		if strings.Contains(e.Message, "take each other's unique values") {
			parked = append(parked, e.Message)
		}
	}
	if _, err := Run(ctx, cfg); err != nil {
		t.Fatalf("re-run after the slugs reordered: %v", err)
	}
	testkit.SameAs(t, want, dst)
	if d := cmp.Diff([]string{"market_items: 2 rows take each other's unique values (a swap): written through values of their own"}, parked); d != "" {
		t.Errorf("the run's word on the swap (-want +got):\n%s", d)
	}
	if after := scalarOf[string](t, ctx, dst, keys); after == before {
		t.Errorf("the two items kept their keys (%s): nothing swapped", after)
	}
}

// TestRerunRestoresReplacedSeeds: a legacy achievement merged onto the
// seeded one with its key (a catalog collision: the seed takes the legacy
// content) is deleted from the source. A fresh run leaves the seed as the
// seeds migration wrote it; so does the re-run, from the content it kept
// before the first merge overwrote it.
func TestRerunRestoresReplacedSeeds(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	src := editedSource(t, "seed_freed", `DELETE FROM achievement_definitions WHERE key = 'first_focus'`)
	want := freshRun(t, src)
	dst := finishedTarget(t)
	const seed = `SELECT name FROM public.achievement_definitions WHERE key = 'first_focus'`
	seeded := replacedSeed(t, dst, seed)
	if _, err := Run(ctx, rerunConfig(src, dst)); err != nil {
		t.Fatal(err)
	}
	if got := scalarOf[string](t, ctx, dst, seed); got != seeded {
		t.Errorf("after the re-run first_focus is named %q, want the seed's %q", got, seeded)
	}
	testkit.SameAs(t, want, dst)
}

// TestRerunKeepsSeedsWhoseParentGoes: a legacy learn drill merged onto a
// seeded one (a catalog collision), and the seed took its content, topic
// included: a topic the cutover loaded. The source then loses that topic
// (its drills go with it). The re-run removes the topic, whose removal
// would delete the seed with it (ON DELETE CASCADE) before the seed got
// its own content back; the seed stays, as in a fresh run on the source,
// also when a run stopped between the seed's restore and the topic's
// removal.
func TestRerunKeepsSeedsWhoseParentGoes(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	const topicOfDrill = `(SELECT topic_id FROM learn_drills WHERE key = 'mixing_level_match')`
	src := editedSource(t, "seed_parent_gone", `DELETE FROM learn_topics WHERE id = `+topicOfDrill)
	want := freshRun(t, src)
	const seed = `SELECT title FROM public.learn_drills WHERE id = '00000000-0000-4000-8000-000000000703'`
	// "after a failed run": a run that stops once the seed got its content
	// back, before the topic's removal; the next run finishes the job.
	for _, failed := range []bool{false, true} {
		t.Run(map[bool]string{false: "re-run", true: "after a failed run"}[failed], func(t *testing.T) {
			t.Parallel()
			dst := finishedTarget(t)
			seeded := replacedSeed(t, dst, seed)
			if !scalarOf[bool](t, ctx, dst, `SELECT EXISTS (SELECT FROM cutover.dispositions WHERE legacy_table = 'learn_topics'
				AND disposition = 'loaded' AND target_id = `+topicOfDrill+`)`) {
				t.Fatal("the merged seed's topic is not one the cutover loaded: its removal cannot reach the seed, the case tests nothing")
			}
			if failed {
				cfg := rerunConfig(src, dst)
				SetHook(&cfg, failAt("remove.referencing:learn_drills", 1))
				if _, err := Run(ctx, cfg); !errors.Is(err, errInjected) {
					t.Fatalf("run failing after the drills' removal: %v", err)
				}
				if got := scalarOf[string](t, ctx, dst, `SELECT coalesce((`+seed+`), 'no such row')`); got != seeded {
					t.Fatalf("after the failed run the seeded drill has title %q, want the seed's %q: the run did not stop where the case needs", got, seeded)
				}
			}
			diff, err := DryRun(ctx, rerunConfig(src, dst), 0)
			if err != nil {
				t.Fatal(err)
			}
			predicted := changedRows(diff)
			sum, err := Run(ctx, rerunConfig(src, dst))
			if err != nil {
				t.Fatal(err)
			}
			// The seed restored before its topic's removal counts once, as
			// the dry run counts it (and not again after a failed run).
			if d := cmp.Diff(predicted, sum.Changes); d != "" {
				t.Errorf("rows changed per target table, as the dry run predicted them (-dry run +run):\n%s", d)
			}
			if got := scalarOf[string](t, ctx, dst, `SELECT coalesce((`+seed+`), 'no such row')`); got != seeded {
				t.Errorf("after the re-run the seeded drill mixing_level_match has title %q, want the seed's %q", got, seeded)
			}
			testkit.SameAs(t, want, dst)
		})
	}
}

// TestRerunAfterAWeekOfProduction: the source changes the way a week of
// production changes it, all at once: in every table some rows deleted
// and some text edited, and one of each of the cases the tests above take
// alone (an email handed on, a habit given to another user whose old
// owner is deleted, a merged catalog row deleted, a drift table dropped).
// The re-run equals a fresh run on the changed source, and the run after
// it has nothing to do.
func TestRerunAfterAWeekOfProduction(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	src := editedSource(t, "week", weekOfProduction)
	want := freshRun(t, src)
	dst := finishedTarget(t)
	diff, err := DryRun(ctx, rerunConfig(src, dst), 0)
	if err != nil {
		t.Fatal(err)
	}
	predicted := changedRows(diff)
	sum, err := Run(ctx, rerunConfig(src, dst))
	if err != nil {
		t.Fatalf("re-run after a week of production: %v", err)
	}
	if sum.Changed() < 100 {
		t.Errorf("the re-run wrote %d rows: the week changed too little to test anything", sum.Changed())
	}
	// The rows the run counts as written, table by table, are the ones
	// the dry run predicted.
	if d := cmp.Diff(predicted, sum.Changes); d != "" {
		t.Errorf("rows written per table (-dry run +run):\n%s", d)
	}
	testkit.SameAs(t, want, dst)
	again, err := Run(ctx, rerunConfig(src, dst))
	if err != nil || again.Changed() != 0 {
		t.Errorf("the run after the re-run: %d rows written, %v", again.Changed(), err)
	}
}

// weekOfProduction edits a copy of S0 (TestRerunAfterAWeekOfProduction):
// the named cases first, then a deterministic share of every table.
const weekOfProduction = `CREATE TEMP TABLE two AS SELECT id, email FROM users u WHERE NOT EXISTS (SELECT 1 FROM users o WHERE lower(o.email) = lower(u.email) AND o.id <> u.id) AND EXISTS (SELECT 1 FROM habits h WHERE h.user_id = u.id) ORDER BY id LIMIT 3;
-- chain: user 2 gives up its email, user 3 takes it (user 2's row touched
-- again last, so that the taker comes first in the heap)
UPDATE users SET email = 'gave.up@example.com' WHERE id = (SELECT id FROM two ORDER BY id OFFSET 1 LIMIT 1);
UPDATE users SET email = (SELECT email FROM two ORDER BY id OFFSET 1 LIMIT 1) WHERE id = (SELECT id FROM two ORDER BY id OFFSET 2 LIMIT 1);
UPDATE users SET email = email WHERE id = (SELECT id FROM two ORDER BY id OFFSET 1 LIMIT 1);
-- reparent: user 1's first habit goes to user 3, user 1 is deleted
UPDATE habits SET user_id = (SELECT id FROM two ORDER BY id OFFSET 2 LIMIT 1) WHERE id = (SELECT h.id FROM habits h WHERE h.user_id = (SELECT id FROM two ORDER BY id LIMIT 1) ORDER BY h.id LIMIT 1);
DELETE FROM users WHERE id = (SELECT id FROM two ORDER BY id LIMIT 1);
-- a merged catalog row goes; a drift table goes
DELETE FROM achievement_definitions WHERE key = 'first_focus';
DROP TABLE user_inbox;
-- A week of production, generically: in every table, delete ~1% of rows and
-- touch a text column of ~3% (a suffix); deterministic by md5 of the id.
DO $$
DECLARE r record; col text;
BEGIN
  FOR r IN SELECT c.relname FROM pg_class c WHERE c.relnamespace = 'public'::regnamespace AND c.relkind = 'r'
           AND EXISTS (SELECT 1 FROM pg_attribute a WHERE a.attrelid = c.oid AND a.attname = 'id') ORDER BY 1 LOOP
    BEGIN
      EXECUTE format('DELETE FROM %I WHERE substr(md5(id::text), 1, 2) = ''00''', r.relname);
    EXCEPTION WHEN foreign_key_violation THEN NULL;
    END;
    SELECT a.attname INTO col FROM pg_attribute a JOIN pg_class c ON c.oid = a.attrelid
      WHERE c.relname = r.relname AND c.relnamespace = 'public'::regnamespace AND a.attnum > 0 AND NOT a.attisdropped
        AND a.atttypid = 'text'::regtype AND a.attname NOT IN ('id', 'email', 'key', 'token', 'status', 'type', 'kind', 'category', 'mode', 'role', 'provider', 'difficulty', 'event_type', 'action', 'streak_type', 'analysis_type', 'frequency', 'priority', 'rarity', 'source', 'state')
        AND NOT EXISTS (SELECT 1 FROM pg_constraint k WHERE k.conrelid = c.oid AND k.contype IN ('c','u','f') AND a.attnum = ANY (k.conkey))
      ORDER BY a.attnum LIMIT 1;
    IF col IS NOT NULL THEN
      EXECUTE format('UPDATE %I SET %I = %I || '' (edited)'' WHERE substr(md5(id::text), 1, 2) IN (''01'', ''02'', ''03'', ''04'', ''05'', ''06'', ''07'')', r.relname, col, col);
    END IF;
  END LOOP;
END $$;
`

// TestStatusAfterRowsMoved: a table whose rows the source rewrote onto other
// pages (here by CLUSTER, in the order of its primary key) has other batch
// checksums but the same rows. Status counts its batches as done and moved,
// not changed, and says the re-run writes no application row; the re-run
// then writes none, and the run after it has nothing to do.
func TestStatusAfterRowsMoved(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	src := editedSource(t, "moved", `CLUSTER points_ledger USING points_ledger_pkey`)
	want := freshRun(t, src)
	dst := finishedTarget(t)
	st := status(t, ctx, rerunConfig(src, dst))
	ts := tableStatus(st, "points_ledger")
	if ts.Batches < 2 || ts.Moved == 0 || ts.Done != ts.Batches || ts.Changed != 0 || ts.RunID != st.Runs[0].ID {
		t.Errorf("status of the moved table: %+v (want several batches, all done, some moved, none changed, by run %d)", ts, st.Runs[0].ID)
	}
	for _, other := range st.Tables {
		if other.Legacy != "points_ledger" && (other.Changed != 0 || other.Moved != 0 || other.Done != other.Batches) {
			t.Errorf("status of a table the source left alone: %+v", other)
		}
	}
	if st.Next.Action != "update" || len(st.Next.Redo) != 0 || !strings.Contains(st.Next.Message, "the rows of 1 table are on other pages") ||
		!strings.Contains(st.Next.Message, "(points_ledger;") || !strings.Contains(st.Next.Message, "writes no application row") {
		t.Errorf("status before the re-run: next run %q redoing %v (%s)", st.Next.Action, st.Next.Redo, st.Next.Message)
	}
	xid := scalarOf[int64](t, ctx, dst, `SELECT txid_current()`)
	sum, err := Run(ctx, rerunConfig(src, dst))
	if err != nil {
		t.Fatal(err)
	}
	written := scalarOf[[]string](t, ctx, dst, `SELECT coalesce(array_agg(c.relname::text ORDER BY c.relname), '{}')
		FROM pg_class c WHERE c.relnamespace = 'public'::regnamespace AND c.relkind = 'r'
		AND (xpath('/row/n/text()', query_to_xml(format('SELECT count(*) AS n FROM public.%I WHERE xmin::text::bigint > %s', c.relname, $1::bigint), false, true, '')))[1]::text::bigint > 0`, xid)
	if sum.Changed() != 0 || len(written) > 0 {
		t.Errorf("the re-run after the rows moved changed %d rows, wrote rows of %v", sum.Changed(), written)
	}
	testkit.SameAs(t, want, dst)
	after := status(t, ctx, rerunConfig(src, dst))
	allDone(t, after)
	if after.Next.Action != "nothing" || tableStatus(after, "points_ledger").Moved != 0 {
		t.Errorf("status after the re-run: next run %q (%s), points_ledger %+v", after.Next.Action, after.Next.Message, tableStatus(after, "points_ledger"))
	}
}

// TestRerunAfterKilledConnections terminates the run's target sessions in
// the middle of a first load (all of them, or only the one holding the run
// lock) and re-runs.
func TestRerunAfterKilledConnections(t *testing.T) {
	for _, c := range []struct {
		name, point string
		onlyLock    bool
	}{
		{"all during extract", "extract.copy:habit_completions", false},
		{"all during apply", "apply.rows:habits", false},
		{"the lock holder during apply", "apply.rows:habits", true},
	} {
		t.Run(c.name, func(t *testing.T) {
			t.Parallel()
			ctx := context.Background()
			want := reference(t, "S0")
			src, dst := rerunSource(t), testkit.MigratedTarget(t)
			cfg := rerunConfig(src, dst)
			var claimed atomic.Bool
			var killed int64
			var killErr error
			hookDone := make(chan struct{})
			SetHook(&cfg, func(p string) error {
				if p != c.point || !claimed.CompareAndSwap(false, true) {
					return nil
				}
				defer close(hookDone)
				which := `datname = current_database() AND pid <> pg_backend_pid()`
				if c.onlyLock {
					which = fmt.Sprintf(`pid IN (SELECT pid FROM pg_locks WHERE locktype = 'advisory' AND granted
						AND database = (SELECT oid FROM pg_database WHERE datname = current_database())
						AND classid = %d AND objid = %d AND objsubid = 1)`, migrations.RunLockID>>32, migrations.RunLockID&0xffffffff)
				}
				killErr = withConn(ctx, dst, func(conn *pgx.Conn) error {
					return conn.QueryRow(ctx, `SELECT count(pg_terminate_backend(pid)) FROM pg_stat_activity WHERE `+which).Scan(&killed)
				})
				return nil
			})
			_, err := Run(ctx, cfg)
			if claimed.Load() {
				<-hookDone // a COPY's reader (the mid-COPY hook) may outlive its failed COPY
			}
			if killed == 0 || killErr != nil {
				t.Fatalf("the hook at %s terminated %d sessions (%v); the run returned %v", c.point, killed, killErr, err)
			}
			if err == nil {
				t.Fatalf("a run whose target sessions were terminated succeeded")
			}
			t.Logf("terminated %d sessions; the run failed with: %v", killed, err)
			sum, err := Run(ctx, rerunConfig(src, dst))
			if err != nil {
				t.Fatalf("re-run: %v", err)
			}
			if !sum.OK() {
				t.Errorf("conservation law fails after the re-run")
			}
			testkit.SameAs(t, want, dst)
			// The tables the killed run had finished are unchanged by the
			// re-run, and still get their statistics.
			testkit.CheckAnalyzed(t, dst)
		})
	}
}

// TestSecondRunRefuses starts a second run while the first is applying: it
// refuses, naming the first, and writes nothing; the first finishes.
func TestSecondRunRefuses(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	want := reference(t, "S0")
	src, dst := rerunSource(t), testkit.MigratedTarget(t)
	cfg := rerunConfig(src, dst)
	var second error
	var runs int64
	SetHook(&cfg, func(p string) error {
		if p == "apply.rows:habits" {
			_, second = Run(ctx, rerunConfig(src, dst))
			runs = scalarOf[int64](t, ctx, dst, `SELECT count(*) FROM cutover.runs`)
		}
		return nil
	})
	if _, err := Run(ctx, cfg); err != nil {
		t.Fatal(err)
	}
	var re *migrations.RunningError
	if !errors.As(second, &re) {
		t.Fatalf("second run: got %v, want a RunningError", second)
	}
	first := scalarOf[int64](t, ctx, dst, `SELECT max(id) FROM cutover.runs`)
	host, _ := os.Hostname()
	if re.RunID != first || re.PID != os.Getpid() || re.Host != host {
		t.Errorf("second run names run %d, pid %d on %s; want run %d, pid %d on %s", re.RunID, re.PID, re.Host, first, os.Getpid(), host)
	}
	if !strings.Contains(second.Error(), fmt.Sprintf("run %d, pid %d", first, os.Getpid())) {
		t.Errorf("message does not name the first run: %v", second)
	}
	if runs != 1 {
		t.Errorf("%d runs recorded while the first was working, want 1 (the refused run records nothing)", runs)
	}
	testkit.SameAs(t, want, dst)
}

// TestRerunAfterCatalogKeysMove: natural keys move between a run and the
// next: a loaded learn drill takes a seeded drill's key (it merges onto
// the seed now), the drill merged onto another seed gives its key up (the
// seed gets its own content back, the drill loads under its id), and a
// loaded topic takes a seeded topic's key (its drills follow it onto the
// seed). The re-run equals a fresh run on the changed source. The run
// removes the loaded topic, and ON DELETE CASCADE takes its lessons and
// drills with it, and their users' progress and stats. The run writes all
// those rows again and counts each; the dry run counts only the rows that
// change. So, table by table, the dry run counts exactly the rows that
// differ between the target before and after the run, and the run counts
// those plus the rows the cascade took that came back the same, of which
// there are some.
func TestRerunAfterCatalogKeysMove(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	src := editedSource(t, "catalog_keys_moved", `
		UPDATE learn_drills SET key = 'moved_' || key WHERE key = 'mixing_level_match';
		UPDATE learn_drills SET key = 'mixing_level_match' WHERE id = (SELECT id FROM learn_drills
			WHERE key NOT LIKE 'moved_%' AND key NOT IN ('mixing_eq_cut_or_boost', 'ear_training_band_id', 'ear_training_interval_id') ORDER BY id LIMIT 1);
		UPDATE learn_topics SET key = 'mixing_basics' WHERE id = (SELECT topic_id FROM learn_drills WHERE key = 'moved_mixing_level_match')
			AND NOT EXISTS (SELECT FROM learn_topics WHERE key = 'mixing_basics')`)
	want := freshRun(t, src)
	dst := finishedTarget(t)
	// The case as it says: the drill that gave its key up had merged onto
	// the seed, and its topic, renamed, was one the cutover loaded.
	drill := scalarOf[string](t, ctx, src, `SELECT id::text FROM learn_drills WHERE key = 'moved_mixing_level_match'`)
	topic := scalarOf[string](t, ctx, src, `SELECT topic_id::text FROM learn_drills WHERE key = 'moved_mixing_level_match'`)
	const ledger = `SELECT EXISTS (SELECT FROM cutover.dispositions WHERE legacy_table = $1 AND disposition = $2 AND legacy_key = $3)`
	merged := scalarOf[bool](t, ctx, dst, ledger, "learn_drills", "merged", drill)
	renamed := scalarOf[string](t, ctx, src, `SELECT key FROM learn_topics WHERE id::text = $1`, topic) == "mixing_basics"
	loaded := scalarOf[bool](t, ctx, dst, ledger, "learn_topics", "loaded", topic)
	if !merged || !renamed || !loaded {
		t.Fatalf("the edit did not make the case (drill merged %v, topic renamed %v, topic loaded %v)", merged, renamed, loaded)
	}
	// The rows of the target that the removal of the loaded topic takes
	// with it, by table (their keys).
	gone := map[string][]string{}
	for table, q := range map[string]string{
		"learn_topics":         `SELECT id::text FROM public.learn_topics WHERE id = $1`,
		"learn_lessons":        `SELECT id::text FROM public.learn_lessons WHERE topic_id = $1`,
		"learn_drills":         `SELECT id::text FROM public.learn_drills WHERE topic_id = $1`,
		"user_lesson_progress": `SELECT p.id::text FROM public.user_lesson_progress p JOIN public.learn_lessons l ON l.id = p.lesson_id WHERE l.topic_id = $1`,
		"user_drill_stats":     `SELECT s.id::text FROM public.user_drill_stats s JOIN public.learn_drills d ON d.id = s.drill_id WHERE d.topic_id = $1`,
	} {
		gone[table] = scalarOf[[]string](t, ctx, dst, `SELECT coalesce(array_agg(k), '{}') FROM (`+q+`) x(k)`,
			scalarOf[string](t, ctx, dst, `SELECT target_id::text FROM cutover.dispositions WHERE legacy_table = 'learn_topics' AND legacy_key = $1`, topic))
	}
	diff, err := DryRun(ctx, rerunConfig(src, dst), 0)
	if err != nil {
		t.Fatal(err)
	}
	before := dryrunRows(t, dst)
	sum, err := Run(ctx, rerunConfig(src, dst))
	if err != nil {
		t.Fatal(err)
	}
	after := dryrunRows(t, dst)
	effects := dryrunEffects(before, after)
	// sameAgain: the rows the cascade took that the run wrote back as
	// they were.
	sameAgain := map[string]int64{}
	for table, keys := range gone {
		for _, k := range keys {
			if h, ok := after[table][k]; ok && h == before[table][k] {
				sameAgain[table]++
			}
		}
	}
	type count struct{ Dry, Differ, Run int64 }
	got, wantCounts := map[string]count{}, map[string]count{}
	for _, td := range diff.Targets {
		e := effects[td.Table]
		differ := e.Insert + e.Update + e.Delete
		if td.Changes() == 0 && differ == 0 && sum.Changes[td.Table] == 0 {
			continue
		}
		got[td.Table] = count{td.Changes(), differ, sum.Changes[td.Table]}
		wantCounts[td.Table] = count{differ, differ, differ + sameAgain[td.Table]}
	}
	if d := cmp.Diff(wantCounts, got); d != "" {
		t.Errorf("rows counted by the dry run and the run, and rows that differ after the run, by table (-want +got):\n%s", d)
	}
	// The case the README names: the run writes back, unchanged, rows of
	// the topic's lessons' progress and drills' stats, which the dry run
	// does not count.
	for _, table := range []string{"user_lesson_progress", "user_drill_stats"} {
		if sameAgain[table] == 0 || sum.Changes[table] <= got[table].Dry {
			t.Errorf("%s: the cascade took %d rows, %d came back the same; the run wrote %d, the dry run counted %d: want the run to count more",
				table, len(gone[table]), sameAgain[table], sum.Changes[table], got[table].Dry)
		}
	}
	for _, table := range []string{"learn_drills", "learn_topics"} {
		if sum.Changes[table] == 0 {
			t.Errorf("the run wrote no row of %s", table)
		}
	}
	t.Logf("dry run, rows that differ, run, by table: %+v; rows the cascade took that came back the same: %v", got, sameAgain)
	testkit.SameAs(t, want, dst)
}

// TestRerunFromAnotherDatabase: a target a run loaded from one legacy
// database (a rehearsal's staging copy, say) is loaded again from another
// of the same flavor, with other rows and other ids throughout (catalog
// rows among them, merged onto the same seeds). The re-run equals a fresh
// run on that database.
func TestRerunFromAnotherDatabase(t *testing.T) {
	t.Parallel()
	src := testkit.GeneratedLegacy(t, legacygen.Options{Flavor: "v21", Drift: true, Anomalies: true, Users: 40, Seed: 4})
	want := freshRun(t, src)
	dst := finishedTarget(t)
	if _, err := Run(context.Background(), rerunConfig(src, dst)); err != nil {
		t.Fatal(err)
	}
	testkit.SameAs(t, want, dst)
}

// TestRerunFromAnotherFlavorRefuses: a target loaded from a v21 source is
// given a v16 or a v15 one, whose market_items, user_wallet (and, in v15,
// focus_pause_state) have other shapes. A run, a dry run and status all
// say that a run refuses, naming those tables, the flavor that loaded the
// target and what to do; the target is left as it was, and no run is
// recorded.
func TestRerunFromAnotherFlavorRefuses(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	for _, c := range []struct {
		flavor string
		tables []string
	}{
		{"v16", []string{"market_items", "user_wallet"}},
		{"v15", []string{"focus_pause_state", "market_items", "user_wallet"}},
	} {
		t.Run(c.flavor, func(t *testing.T) {
			t.Parallel()
			src := testkit.GeneratedLegacy(t, legacygen.Options{Flavor: c.flavor, Drift: true, Anomalies: true, Users: 40, Seed: 3})
			dst := finishedTarget(t)
			const runs = `SELECT count(*) FROM cutover.runs`
			before := scalarOf[int64](t, ctx, dst, runs)
			check := func(what string, err error) {
				t.Helper()
				var refused *OtherFlavorError
				if !errors.As(err, &refused) || !Refused(err) {
					t.Fatalf("%s from a %s source: %v, want an OtherFlavorError", what, c.flavor, err)
				}
				if d := cmp.Diff(c.tables, refused.Tables); d != "" || refused.Loaded != "v21" || refused.Flavor != c.flavor {
					t.Errorf("%s: refused %s loaded by %s (-want +got tables):\n%s", what, refused.Flavor, refused.Loaded, d)
				}
				for _, phrase := range []string{"loaded from a legacy v21 database", "this source is legacy " + c.flavor, strings.Join(c.tables, ", "), "new target database", "nothing was written"} {
					if !strings.Contains(err.Error(), phrase) {
						t.Errorf("%s: the refusal does not say %q: %v", what, phrase, err)
					}
				}
			}
			_, err := Run(ctx, rerunConfig(src, dst))
			check("run", err)
			_, err = DryRun(ctx, rerunConfig(src, dst), 0)
			check("dry run", err)
			st := status(t, ctx, rerunConfig(src, dst))
			if st.Next.Action != "refused" || !strings.Contains(st.Next.Message, "this source is legacy "+c.flavor) {
				t.Errorf("status: next run %q (%s), want refused", st.Next.Action, st.Next.Message)
			}
			if after := scalarOf[int64](t, ctx, dst, runs); after != before {
				t.Errorf("the refused commands recorded %d runs", after-before)
			}
			testkit.SameAs(t, reference(t, "S0"), dst)
		})
	}
}

// TestRerunOnRevertedSource: a run on a changed source fails after it has
// changed the target (after every table, or after some), then the source
// is changed back. The re-run must not take the target for up to date.
func TestRerunOnRevertedSource(t *testing.T) {
	for _, point := range []string{"sort_order:user_quests", "apply.commit:users"} {
		t.Run(point, func(t *testing.T) {
			t.Parallel()
			ctx := context.Background()
			want := reference(t, "S0")
			dst := finishedTarget(t)
			cfg := rerunConfig(changedSource(t), dst)
			SetHook(&cfg, failAt(point, 1))
			if _, err := Run(ctx, cfg); !errors.Is(err, errInjected) {
				t.Fatalf("run with a fault at %s: got %v, want the injected fault", point, err)
			}
			sum, err := Run(ctx, rerunConfig(rerunSource(t), dst))
			if err != nil {
				t.Fatal(err)
			}
			if sum.Changed() == 0 {
				t.Errorf("the run on the reverted source changed nothing")
			}
			testkit.SameAs(t, want, dst)
		})
	}
}

// editedSource returns a fresh copy of S0 with edit applied (template name).
func editedSource(t *testing.T, name, edit string) string {
	t.Helper()
	return pgtest.NewDBFrom(t, "rerun_source_"+name, func(ctx context.Context, u string) error {
		if err := replaceDatabase(ctx, t, u, rerunSource(t)); err != nil {
			return err
		}
		return withConn(ctx, u, func(c *pgx.Conn) error {
			_, err := c.Exec(ctx, edit)
			return err
		})
	})
}

// freshRun returns the fingerprint of a fresh run's target on source src.
func freshRun(t *testing.T, src string) map[string]string {
	t.Helper()
	ctx := context.Background()
	dst := testkit.MigratedTarget(t)
	if _, err := Run(ctx, rerunConfig(src, dst)); err != nil {
		t.Fatalf("fresh run: %v", err)
	}
	fp, err := testkit.Fingerprint(ctx, dst)
	if err != nil {
		t.Fatal(err)
	}
	return fp
}

// leafEdits change one legacy table of S0 each, and name the tables a
// re-run must extract (the edited one and what its mappings read) and
// some it must leave alone.
var leafEdits = []struct {
	name, edit    string
	extract, skip []string
}{
	{"a leaf", `DELETE FROM reading_sessions WHERE id = (SELECT id FROM reading_sessions ORDER BY id LIMIT 1);
		UPDATE reading_sessions SET pages_read = pages_read + 1 WHERE id = (SELECT id FROM reading_sessions ORDER BY id DESC LIMIT 1)`,
		[]string{"reading_sessions", "books", "users"}, []string{"habit_completions", "audit_log", "focus_sessions", "points_ledger"}},
	{"one of two feeders of a target", `DELETE FROM habit_logs WHERE id = (SELECT l.id FROM habit_logs l JOIN habits h ON h.id = l.habit_id
		WHERE l.user_id = h.user_id
		AND NOT EXISTS (SELECT 1 FROM habit_completions c WHERE c.habit_id = l.habit_id AND c.completed_date = l.completed_date)
		AND NOT EXISTS (SELECT 1 FROM habit_logs o WHERE o.habit_id = l.habit_id AND o.completed_date = l.completed_date AND o.id <> l.id)
		ORDER BY l.id LIMIT 1);
		UPDATE habit_logs SET created_at = created_at + interval '1 minute' WHERE created_at IS NOT NULL`,
		[]string{"habit_logs", "habit_completions", "habits", "users"}, []string{"reading_sessions", "audit_log", "points_ledger"}},
	{"a leaf, beside a table rewritten with the same content", `DELETE FROM reading_sessions WHERE id = (SELECT id FROM reading_sessions ORDER BY id LIMIT 1);
		UPDATE audit_log SET action = action WHERE id IN (SELECT id FROM audit_log ORDER BY id LIMIT 5)`,
		[]string{"reading_sessions", "books", "users"}, []string{"habit_completions", "audit_log", "focus_sessions", "points_ledger"}},
	{"rewards folded into the points ledger", `UPDATE user_rewards SET claimed = NOT claimed WHERE id = (SELECT id FROM user_rewards ORDER BY id LIMIT 1)`,
		[]string{"user_rewards", "points_ledger", "users"}, []string{"habit_completions", "reading_sessions", "audit_log"}},
}

// TestRerunRedoesOnlyWhatChanged: after a change to one legacy table, a
// re-run extracts only the tables whose mappings the change reaches (and
// what those read), writes no other application table, and leaves the
// target a fresh run on the changed source gives; the run after it has
// nothing to do.
func TestRerunRedoesOnlyWhatChanged(t *testing.T) {
	for _, c := range leafEdits {
		t.Run(c.name, func(t *testing.T) {
			t.Parallel()
			ctx := context.Background()
			src := editedSource(t, c.name, c.edit)
			want := freshRun(t, src)
			dst := finishedTarget(t)
			xid := scalarOf[int64](t, ctx, dst, `SELECT txid_current()`)
			var mu sync.Mutex
			extracted := map[string]bool{}
			var narrowed, recopied string
			var kept, resumed int64 // of the extract's rows (Event.Kept, Event.Resumed)
			// What status says the re-run will redo and extract, and the
			// digests recorded before it.
			st := status(t, ctx, rerunConfig(src, dst))
			if st.Next.Action != "update" || len(st.Next.Redo) == 0 || !strings.Contains(st.Next.Message, fmt.Sprintf("it redoes %d (", len(st.Next.Redo))) {
				t.Errorf("status before the re-run: next run %q with %d mappings to redo (%s)", st.Next.Action, len(st.Next.Redo), st.Next.Message)
			}
			const digests = `SELECT jsonb_object_agg(mapping, inputs) FROM cutover.results`
			before := scalarOf[map[string]string](t, ctx, dst, digests)
			cfg := rerunConfig(src, dst)
			cfg.Progress = func(e Event) {
				mu.Lock()
				defer mu.Unlock()
				if e.Phase == "extract" && e.Table != "" {
					extracted[e.Table] = true
					kept, resumed = max(kept, e.Kept), max(resumed, e.Resumed)
				}
				if strings.Contains(e.Message, "mappings hold what their unchanged inputs decide") {
					narrowed = e.Message
				}
				if regexp.MustCompile(`^\d+ (batch has|batches have) new row versions: copying (it|them) into the stage`).MatchString(e.Message) {
					recopied = e.Message
				}
			}
			sum, err := Run(ctx, cfg)
			if err != nil {
				t.Fatal(err)
			}
			if narrowed == "" {
				t.Error("the re-run did not report what it skips")
			}
			// Batches with new row versions are copied to be checksummed
			// (the edited ones, and the ones rewritten with the same
			// content, which the re-run then does not extract).
			if recopied == "" {
				t.Error("the re-run did not report copying the batches with new row versions")
			}
			// The extract counts the edited table's batches as copied
			// already, by this run (no earlier run's stage is there).
			if kept == 0 || resumed != 0 {
				t.Errorf("the extract counted %d rows copied before it, %d of them by an earlier run; want some, none by an earlier run", kept, resumed)
			}
			for _, table := range c.extract {
				if !extracted[table] {
					t.Errorf("the re-run did not extract %s (extracted %v)", table, extracted)
				}
			}
			for _, table := range c.skip {
				if extracted[table] {
					t.Errorf("the re-run extracted %s, which the change does not reach", table)
				}
			}
			if sum.Changed() == 0 {
				t.Error("the re-run reports no change")
			}
			// The mappings redone are those whose digest the run changed;
			// status named them, and the tables extracted, beforehand.
			var redone []string
			for m, d := range scalarOf[map[string]string](t, ctx, dst, digests) {
				if before[m] != d {
					redone = append(redone, m)
				}
			}
			slices.Sort(redone)
			if d := cmp.Diff(redone, st.Next.Redo); d != "" {
				t.Errorf("status named other mappings to redo than the re-run redid (-redone +status):\n%s", d)
			}
			if d := cmp.Diff(slices.Sorted(maps.Keys(extracted)), st.Next.Extract); d != "" {
				t.Errorf("status named other tables to extract than the re-run extracted (-extracted +status):\n%s", d)
			}
			testkit.SameAs(t, want, dst)
			// Only the targets of the redone mappings were written.
			written := scalarOf[[]string](t, ctx, dst, `SELECT coalesce(array_agg(c.relname::text ORDER BY c.relname), '{}')
				FROM pg_class c WHERE c.relnamespace = 'public'::regnamespace AND c.relkind = 'r'
				AND (xpath('/row/n/text()', query_to_xml(format('SELECT count(*) AS n FROM public.%I WHERE xmin::text::bigint > %s', c.relname, $1::bigint), false, true, '')))[1]::text::bigint > 0`, xid)
			for _, table := range written {
				if slices.Contains(c.skip, table) {
					t.Errorf("the re-run wrote rows of %s", table)
				}
			}
			allDone(t, status(t, ctx, Config{TargetURL: dst}))
			again, err := Run(ctx, rerunConfig(src, dst))
			if err != nil {
				t.Fatal(err)
			}
			if again.Changed() != 0 || again.TargetsCountedBy == again.RunID {
				t.Errorf("the run after the re-run was not a no-op: changed %d rows, counted the targets itself", again.Changed())
			}
		})
	}
}

// TestRerunAfterFailedPartialRun: a re-run that redoes one mapping fails
// after it removed that mapping's deleted rows, and the source is then
// changed back. The mapping's recorded inputs are those of the reverted
// source again, but its rows are not: the next run must redo it.
func TestRerunAfterFailedPartialRun(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	want := reference(t, "S0")
	dst := finishedTarget(t)
	cfg := rerunConfig(editedSource(t, leafEdits[0].name, leafEdits[0].edit), dst)
	SetHook(&cfg, failAt("apply.rows:reading_sessions", 1))
	if _, err := Run(ctx, cfg); !errors.Is(err, errInjected) {
		t.Fatalf("run with a fault: got %v, want the injected fault", err)
	}
	if n := scalarOf[int64](t, ctx, dst, `SELECT count(*) FROM public.reading_sessions`); n == int64(scalarOf[int64](t, ctx, rerunSource(t), `SELECT count(*) FROM reading_sessions`)) {
		t.Fatalf("the failed run removed no reading session: the case tests nothing")
	}
	if _, err := Run(ctx, rerunConfig(rerunSource(t), dst)); err != nil {
		t.Fatal(err)
	}
	testkit.SameAs(t, want, dst)
}

// runSaying runs cfg and reports whether a progress message contained
// phrase; a failed run fails the test.
func runSaying(t *testing.T, cfg Config, phrase string) (*Summary, bool) {
	t.Helper()
	var said atomic.Bool
	cfg.Progress = func(e Event) {
		if strings.Contains(e.Message, phrase) {
			said.Store(true)
		}
	}
	sum, err := Run(context.Background(), cfg)
	if err != nil {
		t.Fatal(err)
	}
	return sum, said.Load()
}

// handEdits change a finished target behind the cutover's back: two
// loaded rows edited (a reading session and a habit completion, which has
// two feeders) and one deleted.
const handEdits = `
UPDATE public.reading_sessions SET pages_read = pages_read + 100 WHERE id = (SELECT min(id::text)::uuid FROM public.reading_sessions);
DELETE FROM public.reading_sessions WHERE id = (SELECT max(id::text)::uuid FROM public.reading_sessions);
UPDATE public.habit_completions SET notes = 'edited by hand' WHERE id = (SELECT min(id::text)::uuid FROM public.habit_completions)`

// TestFullRerunRepairsHandEdits: a plain re-run on an unchanged source
// trusts the bookkeeping and leaves a target edited by hand as it is (the
// documented limit); a --full re-run writes back exactly what the edits
// changed, and leaves the target a fresh run gives, bookkeeping included.
func TestFullRerunRepairsHandEdits(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	want := reference(t, "S0")
	dst := finishedTarget(t)
	if err := withConn(ctx, dst, func(c *pgx.Conn) error { _, err := c.Exec(ctx, handEdits); return err }); err != nil {
		t.Fatal(err)
	}
	edited, err := testkit.Fingerprint(ctx, dst)
	if err != nil {
		t.Fatal(err)
	}
	if cmp.Equal(want, edited) {
		t.Fatal("the hand edits changed nothing the fingerprint sees: the case tests nothing")
	}

	plain, err := Run(ctx, rerunConfig(rerunSource(t), dst))
	if err != nil {
		t.Fatal(err)
	}
	if plain.Changed() != 0 {
		t.Errorf("a plain re-run on the unchanged source wrote %d rows", plain.Changed())
	}
	testkit.SameAs(t, edited, dst)

	cfg := rerunConfig(rerunSource(t), dst)
	cfg.Full = true
	sum, full := runSaying(t, cfg, "--full: redoing every mapping")
	if !full {
		t.Error("the full re-run did not say so")
	}
	// Two rows written back, one inserted again: 3 rows.
	if got := sum.Changed(); got != 3 {
		t.Errorf("the full re-run wrote %d rows, want the 3 the hand edits changed", got)
	}
	testkit.SameAs(t, want, dst)
}

// TestRerunByAnotherBuild: on a source unchanged since the last finished
// run, a run by another build of cutover is not a no-op: every mapping's
// inputs digest names the build, so it redoes every mapping (writing no
// row, as the decisions are the same) and records the new digests; status
// says so beforehand. The earlier build's ledger lacks a column this one
// adds (target_key): the dry run reads it as it is, and the run adds and
// fills it. Not parallel: it swaps the package's build identity.
func TestRerunByAnotherBuild(t *testing.T) {
	ctx := context.Background()
	want := reference(t, "S0")
	dst := finishedTarget(t)
	const digests = `SELECT jsonb_object_agg(mapping, inputs) FROM cutover.results`
	before := scalarOf[map[string]string](t, ctx, dst, digests)
	// The earlier build's ledger had no target_key, which this one adds.
	if _, err := pgtest.Connect(t, dst).Exec(ctx, `ALTER TABLE cutover.dispositions DROP COLUMN target_key`); err != nil {
		t.Fatal(err)
	}

	build := inputsVersion
	inputsVersion = func() string { return build() + " rebuilt" }
	defer func() { inputsVersion = build }()
	st := status(t, ctx, rerunConfig(rerunSource(t), dst))
	if st.Next.Action != "update" || !strings.Contains(st.Next.Message, "another build of cutover") {
		t.Errorf("status before the other build's run: next run %q (%s)", st.Next.Action, st.Next.Message)
	}
	if diff, err := DryRun(ctx, rerunConfig(rerunSource(t), dst), 0); err != nil || diff.Changes() != 0 || len(diff.Refusals) > 0 {
		t.Errorf("dry run of the other build on the earlier build's ledger: %v", err)
		if err == nil {
			t.Errorf("it counts %d changes and %d refusals, want none", diff.Changes(), len(diff.Refusals))
		}
	}
	sum, said := runSaying(t, rerunConfig(rerunSource(t), dst), "the build of cutover differs")
	if !said || sum.Changed() != 0 {
		t.Errorf("the other build's run: said it redoes everything %v, changed %d rows (want 0)", said, sum.Changed())
	}
	after := scalarOf[map[string]string](t, ctx, dst, digests)
	for m, d := range after {
		if d == before[m] {
			t.Errorf("the other build's run kept the digest of %s", m)
		}
	}
	if keys := scalarOf[[]int64](t, ctx, dst, `SELECT ARRAY[count(*), count(target_key)] FROM cutover.dispositions
		WHERE legacy_table = 'user_roles' AND disposition = 'loaded'`); keys[0] == 0 || keys[1] != keys[0] {
		t.Errorf("after the other build's run, %d of the %d grants loaded have their target key in the ledger", keys[1], keys[0])
	}
	// Everything but the digests is the fresh run's (the ledger's columns
	// compared by name: the new one is last here).
	got, err := testkit.Fingerprint(ctx, dst)
	if err != nil {
		t.Fatal(err)
	}
	if d := cmp.Diff(want, got, cmpopts.IgnoreMapEntries(func(k, _ string) bool { return k == "cutover.results" })); d != "" {
		t.Errorf("the other build's run left another target (-reference +target):\n%s", d)
	}
	// Its next run is a no-op.
	again, err := Run(ctx, rerunConfig(rerunSource(t), dst))
	if err != nil {
		t.Fatal(err)
	}
	if again.Changed() != 0 || again.TargetsCountedBy == again.RunID {
		t.Errorf("the run after the other build's was not a no-op: changed %d rows, counted the targets itself", again.Changed())
	}
}

// TestDryRunNamesWhatAPlainRunLeaves: on a target with recorded inputs, a
// dry run names the target tables a plain run would not redo, with the
// rows of their changes it would leave. Rows changed there by hand show as
// such, and the plain run then leaves them; a source change shows in a
// table the run redoes. A feed table's sort_order is renumbered by every
// run that writes anything, so a hand-edited feed order is left only by a
// no-op.
func TestDryRunNamesWhatAPlainRunLeaves(t *testing.T) {
	const feedOrder = `UPDATE public.inbox_items SET sort_order = sort_order + 1000 WHERE id = (SELECT min(id::text)::uuid FROM public.inbox_items)`
	sourceChange := func(t *testing.T) string { return editedSource(t, leafEdits[0].name, leafEdits[0].edit) }
	for _, c := range []struct {
		name, handEdits string
		source          func(t *testing.T) string
		changed         map[string]int64 // target table: rows the dry run shows changing
		left            map[string]int64 // of those, the rows a plain run leaves, by table
	}{
		{"hand edits", handEdits, rerunSource, map[string]int64{"reading_sessions": 2, "habit_completions": 1},
			map[string]int64{"reading_sessions": 2, "habit_completions": 1}},
		{"a source change", "", sourceChange, map[string]int64{"reading_sessions": 2}, map[string]int64{}},
		{"a hand-edited feed order", feedOrder, rerunSource, map[string]int64{"inbox_items": 1}, map[string]int64{"inbox_items": 1}},
		{"a hand-edited feed order and a source change", feedOrder, sourceChange,
			map[string]int64{"inbox_items": 1, "reading_sessions": 2}, map[string]int64{}},
	} {
		t.Run(c.name, func(t *testing.T) {
			t.Parallel()
			ctx := context.Background()
			src, dst := c.source(t), finishedTarget(t)
			if c.handEdits != "" {
				if err := withConn(ctx, dst, func(conn *pgx.Conn) error { _, err := conn.Exec(ctx, c.handEdits); return err }); err != nil {
					t.Fatal(err)
				}
			}
			dry, err := DryRun(ctx, rerunConfig(src, dst), 3)
			if err != nil {
				t.Fatal(err)
			}
			changed, left := changedRows(dry), map[string]int64{}
			for _, td := range dry.Targets {
				if n := dry.LeftAlone[td.Table]; n > 0 {
					left[td.Table] = n
				}
			}
			if d := cmp.Diff(c.changed, changed); d != "" {
				t.Errorf("the dry run's changes (-want +got):\n%s", d)
			}
			if d := cmp.Diff(c.left, left); d != "" {
				t.Errorf("rows the dry run says a plain run leaves (-want +got):\n%s", d)
			}
			if _, ok := dry.LeftAlone["audit_log"]; !ok {
				t.Errorf("the dry run does not name audit_log, which nothing changed, among the tables a plain run leaves: %v", dry.LeftAlone)
			}
			// The plain run writes what the dry run shows, but for those.
			sum, err := Run(ctx, rerunConfig(src, dst))
			if err != nil {
				t.Fatal(err)
			}
			for table, n := range changed {
				if got, want := sum.Changes[table], n-left[table]; got != want {
					t.Errorf("%s: the plain run changed %d rows, want %d", table, got, want)
				}
			}
		})
	}
}

// TestRerunAfterAMoveBetweenFeedersStopped: a run that moves an inbox item
// from inbox_items to user_inbox (the first lost it) and stops before
// user_inbox's apply, in two states of the target:
//   - finished: the row is kept for user_inbox, so the ledger gives it to
//     user_inbox from inbox_items' apply on; a later run on a source that
//     dropped the item from user_inbox too removes it, as a fresh run has
//     none, where a row that no ledger row owned stayed as the
//     application's;
//   - user_inbox never applied (its first run stopped at it): the row is
//     not kept for it, since its first apply inserts, and would stop on
//     the row (a duplicate key);
//   - the reverse move, an item user_inbox held alone entering
//     inbox_items: inbox_items' apply takes the row, and drops
//     user_inbox's claim on it in the ledger; a later run on a source
//     without the item removes it once, as its dry run counts, where
//     both claims counted a removal each.
//
// Each re-run writes what its dry run counts.
func TestRerunAfterAMoveBetweenFeedersStopped(t *testing.T) {
	const moved = `(SELECT i.id FROM inbox_items i JOIN user_inbox u USING (id) JOIN users s ON s.id = i.user_id ORDER BY i.id LIMIT 1)`
	const alone = `(SELECT u.id FROM user_inbox u WHERE EXISTS (SELECT 1 FROM users s WHERE s.id = u.user_id)
		AND NOT EXISTS (SELECT 1 FROM inbox_items i WHERE i.id = u.id OR (i.user_id, i.title, i.created_at) = (u.user_id, u.title, u.created_at))
		ORDER BY u.id LIMIT 1)`
	for _, c := range []struct {
		name   string
		before func(t *testing.T) string // the target before the runs
		edits  []string                  // one source per run, each after the last; all runs but the last stop at user_inbox's commit
	}{
		{"after a finished run", finishedTarget, []string{
			`DELETE FROM inbox_items WHERE id = ` + moved,
			`CREATE TEMP TABLE x AS SELECT ` + moved + ` AS id; DELETE FROM inbox_items WHERE id = (SELECT id FROM x); DELETE FROM user_inbox WHERE id = (SELECT id FROM x)`,
		}},
		{"before user_inbox was ever applied", func(t *testing.T) string { return testkit.MigratedTarget(t) }, []string{
			``,
			`DELETE FROM inbox_items WHERE id = ` + moved,
		}},
		{"the reverse move", finishedTarget, []string{
			`INSERT INTO inbox_items (id, user_id, title, description, tags, created_at, updated_at)
			SELECT id, user_id, title, description, tags, created_at, updated_at FROM user_inbox WHERE id = ` + alone,
			`DELETE FROM user_inbox WHERE id = ` + alone,
		}},
	} {
		t.Run(c.name, func(t *testing.T) {
			t.Parallel()
			ctx := context.Background()
			dst := c.before(t)
			var src string
			for i, edit := range c.edits {
				src = editedSource(t, fmt.Sprintf("stopped_move_%s_%d", strings.ReplaceAll(c.name, " ", "_"), i), edit)
				if i == len(c.edits)-1 {
					break
				}
				cfg := rerunConfig(src, dst)
				SetHook(&cfg, failAt("apply.commit:user_inbox", 1))
				if _, err := Run(ctx, cfg); err == nil {
					t.Fatalf("run %d did not stop at user_inbox's commit", i+1)
				}
			}
			want := freshRun(t, src)
			diff, err := DryRun(ctx, rerunConfig(src, dst), 0)
			if err != nil {
				t.Fatalf("dry run: %v", err)
			}
			sum, err := Run(ctx, rerunConfig(src, dst))
			if err != nil {
				t.Fatalf("re-run: %v", err)
			}
			testkit.SameAs(t, want, dst)
			for _, td := range diff.Targets {
				if td.Table == "inbox_items" && td.Changes() != sum.Changes["inbox_items"] {
					t.Errorf("the re-run wrote %d rows of inbox_items, its dry run counted %+v", sum.Changes["inbox_items"], td)
				}
			}
		})
	}
}

// TestRerunAfterARowMovesBetweenFeeders: inbox_items and user_inbox both
// feed inbox_items, quests and user_quests both feed user_quests, and a
// row of one merges onto the other's row with its id. When the source
// moves such a row from one feeder to the other, the target row stays: the
// re-run updates it (or leaves it, when its values are the same), where it
// used to delete it for the feeder that lost it and insert it again for
// the one that gained it. The dry run counts no delete and no insert, and
// the run writes what the dry run counted.
func TestRerunAfterARowMovesBetweenFeeders(t *testing.T) {
	for _, c := range []struct {
		name, table, edit string
	}{
		{"an inbox item user_inbox duplicates leaves inbox_items", "inbox_items", `
			DELETE FROM inbox_items WHERE id = (SELECT i.id FROM inbox_items i JOIN user_inbox u USING (id)
				JOIN users s ON s.id = i.user_id ORDER BY i.id LIMIT 1)`},
		{"an item only user_inbox held enters inbox_items", "inbox_items", `
			INSERT INTO inbox_items (id, user_id, title, description, tags, created_at, updated_at)
			SELECT id, user_id, title, description, tags, created_at, updated_at FROM user_inbox u
			WHERE EXISTS (SELECT 1 FROM users s WHERE s.id = u.user_id)
			AND NOT EXISTS (SELECT 1 FROM inbox_items i WHERE i.id = u.id
				OR (i.user_id, i.title, i.created_at) = (u.user_id, u.title, u.created_at))
			ORDER BY id LIMIT 1`},
		{"a quest the drift table duplicates leaves user_quests", "user_quests", `
			DELETE FROM user_quests WHERE id::text = (SELECT q.id FROM quests q JOIN user_quests u ON u.id::text = q.id
				WHERE q.status IN ('accepted', 'completed') AND EXISTS (SELECT 1 FROM users s WHERE s.id::text = q.user_id)
				ORDER BY q.id LIMIT 1)`},
	} {
		t.Run(c.name, func(t *testing.T) {
			t.Parallel()
			ctx := context.Background()
			src := editedSource(t, "moved_"+strings.ReplaceAll(c.name, " ", "_"), c.edit)
			dst := finishedTarget(t)
			want := freshRun(t, src)
			diff, err := DryRun(ctx, rerunConfig(src, dst), 0)
			if err != nil {
				t.Fatalf("dry run: %v", err)
			}
			var dry TableDiff
			for _, td := range diff.Targets {
				if td.Table == c.table {
					dry = td
				}
			}
			if dry.Delete != 0 || dry.Insert != 0 {
				t.Errorf("the dry run counts %+v for %s, want no delete and no insert", dry, c.table)
			}
			sum, err := Run(ctx, rerunConfig(src, dst))
			if err != nil {
				t.Fatalf("re-run: %v", err)
			}
			if got := sum.Changes[c.table]; got != dry.Changes() {
				t.Errorf("the re-run wrote %d rows of %s, the dry run counted %d", got, c.table, dry.Changes())
			}
			testkit.SameAs(t, want, dst)
		})
	}
}

// TestFullDryRunJudgesTheLedgerAgain: verify takes each legacy row's fate
// as the ledger records it. A loaded idea deleted from the target, with
// its ledger entry made a discard and the rest of the bookkeeping made to
// agree (its cutover.discards row, the results and reasons), passes it
// (a reviewer's tamper). A dry run with --full decides every row again
// from the source: it predicts the idea back, and the full run writes it.
func TestFullDryRunJudgesTheLedgerAgain(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	want := reference(t, "S0")
	src, dst := rerunSource(t), finishedTarget(t)
	var idea string
	if err := withConn(ctx, dst, func(c *pgx.Conn) error {
		if err := c.QueryRow(ctx, `SELECT legacy_key FROM cutover.dispositions WHERE legacy_table = 'ideas' AND disposition = 'loaded'
			ORDER BY legacy_key LIMIT 1`).Scan(&idea); err != nil {
			return err
		}
		for _, q := range []string{
			`DELETE FROM ideas WHERE id = $1::uuid`,
			`UPDATE cutover.dispositions SET disposition = 'discarded', reason = 'expired_session', target_table = NULL, target_id = NULL
				WHERE legacy_table = 'ideas' AND legacy_key = $1::text`,
			`INSERT INTO cutover.discards (legacy_table, legacy_key, reason, run_id) VALUES ('ideas', $1::text, 'expired_session', 1)`,
		} {
			if _, err := c.Exec(ctx, q, idea); err != nil {
				return err
			}
		}
		_, err := c.Exec(ctx, `UPDATE cutover.results SET loaded = loaded - 1, discarded = discarded + 1 WHERE mapping = 'ideas';
			INSERT INTO cutover.reasons (mapping, disposition, reason, rows) VALUES ('ideas', 'discarded', 'expired_session', 1)`)
		return err
	}); err != nil {
		t.Fatal(err)
	}
	res, err := reconcile.Verify(ctx, reconcile.Config{SourceURL: src, TargetURL: dst, Workers: 2})
	if err != nil {
		t.Fatal(err)
	}
	if !res.OK() {
		t.Fatalf("verify of a target edited with its bookkeeping found it (a limit the README states, gone?): %+v", res.Findings)
	}
	cfg := rerunConfig(src, dst)
	cfg.Full = true
	dry, err := DryRun(ctx, cfg, 3)
	if err != nil {
		t.Fatal(err)
	}
	got := changedRows(dry)
	if d := cmp.Diff(map[string]int64{"ideas": 1}, got); d != "" {
		t.Errorf("a full dry run of the edited target: rows written by table (-want +got):\n%s", d)
	}
	if _, err := Run(ctx, cfg); err != nil {
		t.Fatal(err)
	}
	testkit.SameAs(t, want, dst)
}

// changedRows is the rows a dry run predicts a run changes, by target
// table, of the tables it changes any of.
func changedRows(d *Diff) map[string]int64 {
	out := map[string]int64{}
	for _, td := range d.Targets {
		if n := td.Changes(); n > 0 {
			out[td.Table] = n
		}
	}
	return out
}
