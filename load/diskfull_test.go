package load

import (
	"context"
	"errors"
	"fmt"
	"io"
	"regexp"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgconn"

	"github.com/cutover/cutover/extract"
	"github.com/cutover/cutover/internal/dburl"
	"github.com/cutover/cutover/internal/legacygen"
	"github.com/cutover/cutover/internal/pgtest"
	"github.com/cutover/cutover/internal/testkit"
)

// fullDiskDDL makes the target's server answer a write as a full disk does
// (SQLSTATE 53100, disk_full), from objects of schema test_fault; dropping
// that schema makes room again. A real full disk gives the same error
// through the same statements (a target database in a tablespace on a
// small tmpfs, by hand: see the closing notes); a test cannot mount one.
const fullDiskDDL = `CREATE SCHEMA IF NOT EXISTS test_fault;
CREATE OR REPLACE FUNCTION test_fault.no_room() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
	RAISE EXCEPTION 'could not extend file "base/1/2": No space left on device' USING ERRCODE = 'disk_full';
END$$;
CREATE OR REPLACE FUNCTION test_fault.no_room_at_ddl() RETURNS event_trigger LANGUAGE plpgsql AS $$
BEGIN
	IF EXISTS (SELECT 1 FROM pg_event_trigger_ddl_commands() c, test_fault.relations r WHERE c.object_identity = r.name) THEN
		RAISE EXCEPTION 'could not extend file "base/1/3": No space left on device' USING ERRCODE = 'disk_full';
	END IF;
END$$;
CREATE TABLE IF NOT EXISTS test_fault.relations (name text);`

// TestRerunAfterDiskFull: the target's disk fills while a run copies a
// table into the stage, while it decides a mapping, and while it writes a
// mapping's rows. Each time the run stops with the server's error, names
// the step and the table, says that the target's disk is full and what to
// do, and drops the stage it made (giving its room back), unless it keeps
// its stage. Once there is room again, re-running the same command
// finishes the job: the target is a fresh run's.
func TestRerunAfterDiskFull(t *testing.T) {
	for _, c := range []struct {
		name    string
		before  string // SQL on the target before the run
		point   string // the failpoint at which fill runs, if any
		fill    string // SQL on the target at point
		wantErr string
		table   string // the legacy table the run records it failed in
		keep    bool   // KeepStage: the stage stays, for inspection
	}{
		{
			name:    "copying into the stage",
			point:   "extract.before:habit_completions",
			fill:    `CREATE TRIGGER no_room BEFORE INSERT ON cutover_stage.habit_completions FOR EACH ROW EXECUTE FUNCTION test_fault.no_room()`,
			wantErr: `^extract habit_completions batch \d+/\d+ \(pages [^)]*\): write .* to stage: .*No space left on device \(SQLSTATE 53100\) \(the target's disk is full: make room, then re-run`,
			table:   "habit_completions",
		},
		{
			name: "deciding",
			before: `INSERT INTO test_fault.relations VALUES ('cutover_stage.d_habits');
				CREATE EVENT TRIGGER test_no_room ON ddl_command_end WHEN TAG IN ('CREATE TABLE AS') EXECUTE FUNCTION test_fault.no_room_at_ddl()`,
			wantErr: `^decide habits: .*No space left on device \(SQLSTATE 53100\) \(the target's disk is full: make room, then re-run`,
			table:   "habits",
		},
		{
			name: "deciding, keeping the stage",
			before: `INSERT INTO test_fault.relations VALUES ('cutover_stage.d_users');
				CREATE EVENT TRIGGER test_no_room ON ddl_command_end WHEN TAG IN ('CREATE TABLE AS') EXECUTE FUNCTION test_fault.no_room_at_ddl()`,
			wantErr: `^decide users: .*No space left on device \(SQLSTATE 53100\) \(the target's disk is full: make room, then re-run`,
			table:   "users",
			keep:    true,
		},
		{
			name: "writing the target's rows",
			before: `CREATE TRIGGER no_room BEFORE INSERT ON public.habit_completions FOR EACH ROW EXECUTE FUNCTION test_fault.no_room();
				ALTER TABLE public.habit_completions ENABLE ALWAYS TRIGGER no_room`,
			wantErr: `^apply habit_completions: .*No space left on device \(SQLSTATE 53100\) \(the target's disk is full: make room, then re-run`,
			table:   "habit_completions",
		},
	} {
		t.Run(c.name, func(t *testing.T) {
			t.Parallel()
			ctx := context.Background()
			want := reference(t, "S1")
			src, dst := changedSource(t), finishedTarget(t)
			exec := func(sql string) error {
				return withConn(ctx, dst, func(conn *pgx.Conn) error { _, err := conn.Exec(ctx, sql); return err })
			}
			if err := exec(fullDiskDDL + c.before); err != nil {
				t.Fatal(err)
			}
			cfg := rerunConfig(src, dst)
			cfg.KeepStage = c.keep
			var h heard
			cfg.Progress = h.progress
			var once sync.Once
			SetHook(&cfg, func(point string) (err error) {
				if point == c.point {
					once.Do(func() { err = exec(c.fill) })
				}
				return err
			})
			_, err := Run(ctx, cfg)
			var pgErr *pgconn.PgError
			if !errors.As(err, &pgErr) || pgErr.Code != diskFull {
				t.Fatalf("run on a full disk: got %v, want the server's disk_full", err)
			}
			if !regexp.MustCompile(c.wantErr).MatchString(err.Error()) {
				t.Errorf("error %q does not match %q", err, c.wantErr)
			}
			stageLeft := scalarOf[bool](t, ctx, dst, `SELECT to_regnamespace('cutover_stage') IS NOT NULL`)
			messages := h.messages()
			dropped := slices.ContainsFunc(messages, func(m string) bool {
				return regexp.MustCompile(`^dropped the failed run's stage \(schema cutover_stage, \d+ [kMG]?B\)`).MatchString(m)
			})
			switch {
			case c.keep && (!stageLeft || dropped):
				t.Errorf("a run keeping its stage: stage left %v, said it dropped it %v", stageLeft, dropped)
			case !c.keep && stageLeft:
				t.Error("the failed run left its stage schema cutover_stage, which holds the room the target lacks")
			case !c.keep && !dropped:
				t.Errorf("the run does not say that it dropped its stage; its messages:\n%s", strings.Join(messages, "\n"))
			}
			st := status(t, ctx, rerunConfig(src, dst))
			if got := st.Runs[0].FailedTable; got != c.table || st.Runs[0].Status != "failed" {
				t.Errorf("status: last run %s in table %q, want failed in %q", st.Runs[0].Status, got, c.table)
			}
			if err := exec(`DROP SCHEMA test_fault CASCADE`); err != nil { // room again
				t.Fatal(err)
			}
			sum, err := Run(ctx, rerunConfig(src, dst))
			if err != nil {
				t.Fatalf("re-run with room again: %v", err)
			}
			if !sum.OK() {
				t.Errorf("conservation law fails after the re-run: %+v", sum.Tables)
			}
			testkit.SameAs(t, want, dst)
			allDone(t, status(t, ctx, Config{TargetURL: dst}))
		})
	}
}

// TestSQLStateHint: the advice added to an error, by its SQLSTATE, names
// the server whose disk is full.
func TestSQLStateHint(t *testing.T) {
	full := &pgconn.PgError{Code: diskFull, Message: "could not extend file"}
	for _, c := range []struct {
		name string
		err  error
		want string // a part of the hint; "" for none
	}{
		{"target disk full", fmt.Errorf("apply habits: %w", full), "the target's disk is full"},
		{"source disk full", fmt.Errorf("extract habits: %w", &extract.ReadError{Err: full}), "the source's disk is full"},
		{"duplicate key", &pgconn.PgError{Code: "23505", ConstraintName: "users_email_key"}, "constraint users_email_key"},
		{"terminated: explainLost's", &pgconn.PgError{Code: "57P01"}, ""},
		{"cancelled", &pgconn.PgError{Code: "57014"}, "a statement was cancelled"},
		{"other server error", &pgconn.PgError{Code: "42P01"}, ""},
		{"no server error", errors.New("copied 3 rows but the snapshot holds 4"), ""},
	} {
		t.Run(c.name, func(t *testing.T) {
			got := sqlstateHint(c.err)
			if c.want == "" && got != "" || !strings.Contains(got, c.want) {
				t.Errorf("hint %q, want one with %q", got, c.want)
			}
		})
	}
}

// TestExplainLost: a run's error says that a connection was lost, once,
// when dburl.Lost says so (TestLost has its cases), or when the run's own
// session no longer answers, whatever the error; not for the run lock
// lost, which says so itself, nor for a cancelled run.
func TestExplainLost(t *testing.T) {
	cancelled, cancel := context.WithCancel(context.Background())
	cancel()
	// The command's own session: one that answers, and one whose
	// connection is gone.
	db := pgtest.NewDB(t)
	alive, gone := pgtest.Connect(t, db), pgtest.Connect(t, db)
	gone.Close(context.Background())
	for _, c := range []struct {
		name    string
		ctx     context.Context
		err     error
		session *pgx.Conn
		lost    bool
	}{
		{"terminated", context.Background(), fmt.Errorf("apply habits: %w", &pgconn.PgError{Code: "57P01"}), alive, true},
		{"server crashed, no session", context.Background(), &StepError{Table: "habits", Err: &pgconn.PgError{Code: "57P02"}}, nil, true},
		{"the session gone, under another error", context.Background(), fmt.Errorf("decide users: %w", &pgconn.PgError{Code: "42P01"}), gone, true},
		{"the run lock lost, which says so", context.Background(), fmt.Errorf("apply: %w", errLockLost), gone, false},
		{"another error, the session alive", context.Background(), errors.New("copied 3 rows but the snapshot holds 4"), alive, false},
		{"a cancelled run", cancelled, fmt.Errorf("extract workouts: %w", io.ErrUnexpectedEOF), gone, false},
		{"no error", context.Background(), nil, gone, false},
	} {
		t.Run(c.name, func(t *testing.T) {
			got := explainLost(c.ctx, c.err, c.session)
			if !errors.Is(got, c.err) {
				t.Errorf("explainLost(%v) = %v, which does not wrap it", c.err, got)
			}
			if said := got != nil && strings.Count(got.Error(), dburl.LostHint) == 1 && strings.HasSuffix(got.Error(), dburl.LostHint); said != c.lost {
				t.Errorf("explainLost(%v) = %v: says the connection was lost %v, want %v", c.err, got, said, c.lost)
			}
		})
	}
}

// TestSourceHint: a source read's error is explained by what the run knows
// of the source: a standby that may cancel reads, or a snapshot whose
// exporting connection ended; otherwise by its SQLSTATE alone.
func TestSourceHint(t *testing.T) {
	cancels := &extract.Standby{StreamingDelay: 30 * time.Second, ArchiveDelay: 30 * time.Second}
	waits := &extract.Standby{Feedback: true, StreamingDelay: -1, ArchiveDelay: -1}
	conflict := &pgconn.PgError{Code: "40001"}
	ended := fmt.Errorf("import snapshot: %w: %w", extract.ErrSnapshotEnded, &pgconn.PgError{Code: "22023"})
	for _, c := range []struct {
		name    string
		standby *extract.Standby
		err     error
		want    string // a part of the hint; "" for none
	}{
		{"standby conflict", cancels, conflict, "the source is a hot standby (hot_standby_feedback off, max_standby_streaming_delay 30s, max_standby_archive_delay 30s), and replaying"},
		{"standby ended the snapshot", cancels, ended, "a conflict with recovery: on the standby set max_standby_streaming_delay"},
		{"snapshot ended on a primary", nil, ended, "the source connection holding the run's snapshot was ended"},
		{"snapshot ended on a standby that waits", waits, ended, "the source connection holding the run's snapshot was ended"},
		{"standby, another error", cancels, &extract.ReadError{Err: &pgconn.PgError{Code: diskFull}}, "the source's disk is full"},
		{"primary, serialization failure", nil, conflict, ""},
		{"no error", cancels, nil, ""},
	} {
		t.Run(c.name, func(t *testing.T) {
			got := (&session{standby: c.standby}).sourceHint(c.err)
			if c.want == "" && got != "" || !strings.Contains(got, c.want) {
				t.Errorf("hint %q, want one with %q", got, c.want)
			}
		})
	}
}

// TestRunStoppedByTempFileLimit: the target database limits a statement's
// temporary files to 64 kB (temp_file_limit, a guard some servers set),
// which a sort of the run outgrows. The run stops saying which limit and
// what to do; with the limit lifted, the re-run finishes.
func TestRunStoppedByTempFileLimit(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	src := testkit.GeneratedLegacy(t, legacygen.Options{Flavor: "v21", Drift: true, Anomalies: true, Users: 300, Seed: 7})
	dst := testkit.MigratedTarget(t)
	pgtest.AlterDatabase(t, dst, "SET work_mem = '64kB'", "SET temp_file_limit = '64kB'")
	cfg := rerunConfig(src, dst)
	_, err := Run(ctx, cfg)
	var pgErr *pgconn.PgError
	if !errors.As(err, &pgErr) || pgErr.Code != "53400" || !strings.Contains(err.Error(), "lift it for the cutover's role (ALTER ROLE … SET temp_file_limit = -1, as a superuser), then re-run the same command") {
		t.Fatalf("run under a 64 kB temp_file_limit: %v\nwant the limit (SQLSTATE 53400) explained", err)
	}
	pgtest.AlterDatabase(t, dst, "RESET temp_file_limit")
	sum, err := Run(ctx, cfg)
	if err != nil {
		t.Fatalf("re-run with the limit lifted: %v", err)
	}
	if !sum.OK() {
		t.Errorf("conservation law fails after the re-run: %+v", sum.Tables)
	}
}
