package load

// A run that failed keeps its stage, and its re-run copies only the
// batches whose rows the source no longer holds as they were.

import (
	"context"
	"errors"
	"fmt"
	"maps"
	"regexp"
	"slices"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"
	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgconn"

	"github.com/cutover/cutover/extract"
	"github.com/cutover/cutover/internal/dburl"
	"github.com/cutover/cutover/internal/pgtest"
	"github.com/cutover/cutover/internal/testkit"
	"github.com/cutover/cutover/mappings"
	"github.com/cutover/cutover/migrations"
)

// fixRejects fixes rows of S0 that a run rejects: the users whose email
// an older user holds (case-insensitively) get emails of their own, and
// the habit logs of no habit go.
const fixRejects = `
UPDATE users d SET email = 'fixed-' || d.id || '@example.org'
	WHERE EXISTS (SELECT 1 FROM users o WHERE lower(o.email) = lower(d.email) AND (o.created_at, o.id) < (d.created_at, d.id));
DELETE FROM habit_logs l WHERE NOT EXISTS (SELECT 1 FROM habits h WHERE h.id = l.habit_id);
`

// stagedVersions returns, for every batch the stage of target dst
// records, the row versions of its pages in source src (their count and a
// digest of their ctids and xmins), by "table/batch/batches".
func stagedVersions(t *testing.T, ctx context.Context, src, dst string) map[string]string {
	t.Helper()
	type rec struct {
		table, pages string
		batch, of    int
	}
	var recs []rec
	if err := withConn(ctx, dst, func(c *pgx.Conn) error {
		rows, _ := c.Query(ctx, `SELECT legacy_table, pages, batch, batches FROM cutover_stage._staged_batches`)
		var r rec
		_, err := pgx.ForEachRow(rows, []any{&r.table, &r.pages, &r.batch, &r.of}, func() error { recs = append(recs, r); return nil })
		return err
	}); err != nil {
		t.Fatal(err)
	}
	out := map[string]string{}
	for _, r := range recs {
		out[fmt.Sprintf("%s/%d/%d", r.table, r.batch, r.of)] = scalarOf[string](t, ctx, src, `SELECT count(*) || ' rows, ' ||
			coalesce(md5(string_agg(ctid::text || ':' || xmin::text, ',' ORDER BY ctid)), '') FROM public.`+ident(r.table)+` WHERE `+r.pages)
	}
	return out
}

// TestRerunAfterAFailedRunKeepsItsStage: a run that failed, for too many
// rejects, a lost connection or a statement timeout, keeps its stage. Its
// re-run copies exactly the batches the stage does not hold as the
// source now has them: after too many rejects, only those whose rows the
// fix of the rejected rows changed, none after the timeout (in deciding,
// every batch copied), and those the lost connection kept the run from
// copying. The target then equals a fresh run's on that source. The
// failed run says it kept its stage when the session that holds its run
// lock outlived the failure.
func TestRerunAfterAFailedRunKeepsItsStage(t *testing.T) {
	keptLine := regexp.MustCompile(`^finish: kept the failed run's stage \(schema cutover_stage, \d+ [kMG]?B\): the next run keeps the batches whose rows the source still holds, and copies the rest \(` + "`" + `DROP SCHEMA "cutover_stage" CASCADE` + "`" + ` gives its room back\)$`)
	lockHolder := fmt.Sprintf(`(SELECT pid FROM pg_locks WHERE locktype = 'advisory' AND granted
		AND database = (SELECT oid FROM pg_database WHERE datname = current_database())
		AND classid = %d AND objid = %d AND objsubid = 1)`, migrations.RunLockID>>32, migrations.RunLockID&0xffffffff)
	isLost := func(err error) bool { return err != nil && strings.HasSuffix(err.Error(), dburl.LostHint) }
	for _, c := range []struct {
		name string
		// setUp makes the run of cfg fail (on target dst), and returns
		// what ends what it set up once the run returned.
		setUp func(t *testing.T, ctx context.Context, cfg *Config, dst string) (done func())
		// failed tells the failed run's error.
		failed func(error) bool
		fix    string // the source's edit before the re-run
		says   bool   // the failed run says it kept its stage
	}{
		{
			name:   "too many rejects, the rejected rows fixed",
			setUp:  func(*testing.T, context.Context, *Config, string) func() { return func() {} },
			failed: func(err error) bool { return errors.Is(err, ErrTooManyRejects) },
			fix:    fixRejects,
			says:   true,
		},
		{
			// The URL's statement_timeout (the server's own the cutover
			// turns off) ends the decide of habits, which waits for a
			// lock the test holds on its stage table until the first
			// statement waiting for it stops waiting.
			name: "a statement timeout",
			setUp: func(t *testing.T, ctx context.Context, cfg *Config, dst string) func() {
				cfg.TargetURL = pgtest.WithParam(t, cfg.TargetURL, "statement_timeout", "10s")
				released := make(chan error, 1)
				var claimed atomic.Bool
				SetHook(cfg, func(point string) error {
					if point != "decide:habits" || !claimed.CompareAndSwap(false, true) {
						return nil
					}
					locker, err := pgx.Connect(ctx, dst)
					if err != nil {
						return err
					}
					stage := extract.StageTable(mappings.StageSchema, "habits").Sanitize()
					if _, err = locker.Exec(ctx, `BEGIN; LOCK TABLE `+stage+` IN ACCESS EXCLUSIVE MODE`); err != nil {
						locker.Close(ctx)
						return err
					}
					go func() {
						defer locker.Close(ctx)
						waiters := `SELECT coalesce(array_agg(pid), '{}') FROM pg_locks WHERE relation = '` + stage + `'::regclass AND NOT granted`
						var first int32
						for deadline := time.Now().Add(time.Minute); time.Now().Before(deadline); time.Sleep(50 * time.Millisecond) {
							var pids []int32
							if err := locker.QueryRow(ctx, waiters).Scan(&pids); err != nil {
								released <- err
								return
							}
							switch {
							case first == 0 && len(pids) > 0:
								first = pids[0]
							case first != 0 && !slices.Contains(pids, first):
								released <- nil // it stopped waiting: the lock goes
								return
							}
						}
						released <- fmt.Errorf("no statement of the run waited for the lock on %s, or stopped waiting", stage)
					}()
					return nil
				})
				return func() {
					if !claimed.Load() {
						t.Fatal("the run did not decide habits")
					}
					if err := <-released; err != nil {
						t.Fatal(err)
					}
				}
			},
			failed: func(err error) bool {
				var pgErr *pgconn.PgError
				return errors.As(err, &pgErr) && pgErr.Code == dburl.QueryCanceled && strings.Contains(pgErr.Message, "statement timeout")
			},
			says: true,
		},
		{
			name:   "a lost connection",
			setUp:  killAt(`pid <> pg_backend_pid() AND pid NOT IN ` + lockHolder),
			failed: isLost,
			says:   true,
		},
		{
			name:   "every connection lost, the run lock's too",
			setUp:  killAt(`pid <> pg_backend_pid()`),
			failed: func(err error) bool { return isLost(err) || errors.Is(err, errLockLost) },
			says:   false,
		},
	} {
		t.Run(c.name, func(t *testing.T) {
			t.Parallel()
			ctx := context.Background()
			src, dst := rerunSource(t), testkit.MigratedTarget(t)
			cfg := rerunConfig(src, dst)
			cfg.MaxRejects = 1 // a run fails, with too many rejects, unless something else stops it first
			if c.fix == "" {
				cfg.MaxRejects = -1
			}
			h := heard{phased: true}
			cfg.Progress = h.progress
			done := c.setUp(t, ctx, &cfg, dst)
			_, err := Run(ctx, cfg)
			done()
			if !c.failed(err) {
				t.Fatalf("the run returned %v, want it to fail for %s", err, c.name)
			}
			t.Logf("the failed run: %v", err)
			// Recorded as it failed, its session lost or not: status
			// says why and where.
			if got := scalarOf[string](t, ctx, dst, `SELECT status || ': ' || coalesce(error, '') FROM cutover.runs WHERE id = 1`); got != "failed: "+err.Error() {
				t.Errorf("the failed run is recorded %q, want it failed with its error %q", got, err.Error())
			}
			said := h.messages()
			if got := slices.ContainsFunc(said, keptLine.MatchString); got != c.says {
				t.Errorf("the failed run said it kept its stage: %v, want %v; it said:\n%s", got, c.says, strings.Join(said, "\n"))
			}
			before := stagedVersions(t, ctx, src, dst)
			if len(before) == 0 {
				t.Fatal("the failed run left no batch in its stage")
			}
			want := reference(t, "S0")
			if c.fix != "" {
				if err := withConn(ctx, src, func(conn *pgx.Conn) error { _, err := conn.Exec(ctx, c.fix); return err }); err != nil {
					t.Fatal(err)
				}
				want = freshRun(t, src)
			}
			after := stagedVersions(t, ctx, src, dst)

			cfg = rerunConfig(src, dst)
			var kept string
			cfg.Progress = func(e Event) {
				if e.Phase == "extract" && strings.HasPrefix(e.Message, "keeping ") {
					kept = e.Message
				}
			}
			var mu sync.Mutex
			copied := map[string]int{}
			SetHook(&cfg, func(point string) error {
				if table, ok := strings.CutPrefix(point, "extract.before:"); ok {
					mu.Lock()
					copied[table]++
					mu.Unlock()
				}
				return nil
			})
			if _, err := Run(ctx, cfg); err != nil {
				t.Fatalf("re-run: %v", err)
			}
			// The batches the re-run should copy: each one it planned that
			// the stage does not hold with the same row versions.
			wantCopied, planned, keep := map[string]int{}, 0, 0
			if err := withConn(ctx, dst, func(conn *pgx.Conn) error {
				rows, _ := conn.Query(ctx, `SELECT legacy_table, batch, batches FROM cutover.batches`)
				var table string
				var batch, of int
				_, err := pgx.ForEachRow(rows, []any{&table, &batch, &of}, func() error {
					planned++
					if v, ok := before[fmt.Sprintf("%s/%d/%d", table, batch, of)]; ok && v == after[fmt.Sprintf("%s/%d/%d", table, batch, of)] {
						keep++
					} else {
						wantCopied[table]++
					}
					return nil
				})
				return err
			}); err != nil {
				t.Fatal(err)
			}
			t.Logf("the re-run kept %d of %d batches, and copied %v", keep, planned, copied)
			if d := cmp.Diff(wantCopied, copied); d != "" {
				t.Errorf("batches the re-run copied, by table (-want +got):\n%s", d)
			}
			n := -1
			if m := regexp.MustCompile(`^keeping (\d+) batch`).FindStringSubmatch(kept); m != nil {
				n, _ = strconv.Atoi(m[1])
			}
			if n != keep || keep == 0 {
				t.Errorf("the re-run said %q, want it to keep %d batches", kept, keep)
			}
			if c.fix != "" {
				// The fix changed some batches, of the tables it edited.
				if d := cmp.Diff([]string{"habit_logs", "users"}, slices.Sorted(maps.Keys(wantCopied))); d != "" || keep == planned {
					t.Errorf("the fix changed batches of (-want +got):\n%s", d)
				}
			}
			testkit.SameAs(t, want, dst)
			allDone(t, status(t, ctx, Config{TargetURL: dst}))
		})
	}
}

// killAt returns a setUp that, as a run copies habit_completions, has the
// target's server end its sessions that which (an SQL condition on
// pg_stat_activity) selects.
func killAt(which string) func(t *testing.T, ctx context.Context, cfg *Config, dst string) func() {
	return func(t *testing.T, ctx context.Context, cfg *Config, dst string) func() {
		var once sync.Once
		hookDone := make(chan struct{})
		var claimed atomic.Bool
		var killed int64
		var killErr error
		SetHook(cfg, func(point string) error {
			if point != "extract.copy:habit_completions" {
				return nil
			}
			once.Do(func() {
				claimed.Store(true)
				defer close(hookDone)
				killErr = withConn(ctx, dst, func(conn *pgx.Conn) error {
					var pids []int32
					if err := conn.QueryRow(ctx, `SELECT coalesce(array_agg(pid) FILTER (WHERE pg_terminate_backend(pid)), '{}') FROM pg_stat_activity
						WHERE datname = current_database() AND backend_type = 'client backend' AND `+which).Scan(&pids); err != nil {
						return err
					}
					killed = int64(len(pids))
					// Until they have ended, a session the server is
					// still ending answers its client (the run's main
					// session might measure the stage it keeps).
					for deadline := time.Now().Add(time.Minute); ; time.Sleep(20 * time.Millisecond) {
						var left int
						if err := conn.QueryRow(ctx, `SELECT count(*) FROM pg_stat_activity WHERE pid = ANY($1)`, pids).Scan(&left); err != nil || left == 0 {
							return err
						}
						if time.Now().After(deadline) {
							return fmt.Errorf("%d terminated sessions still there after a minute", left)
						}
					}
				})
			})
			return nil
		})
		return func() {
			if claimed.Load() {
				<-hookDone // a COPY's reader (the mid-COPY hook) may outlive its failed COPY
			}
			if killed == 0 || killErr != nil {
				t.Fatalf("the hook terminated %d sessions (%v)", killed, killErr)
			}
		}
	}
}
