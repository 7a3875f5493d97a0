package main

import (
	"context"
	"errors"
	"fmt"
	"os"
	"regexp"
	"strings"
	"testing"

	"github.com/google/go-cmp/cmp"
	"github.com/jackc/pgx/v5"
	"github.com/urfave/cli/v2"

	"github.com/cutover/cutover/internal/dburl"
	"github.com/cutover/cutover/internal/legacygen"
	"github.com/cutover/cutover/internal/pgtest"
	"github.com/cutover/cutover/load"
	"github.com/cutover/cutover/migrations"
)

// lawLine matches a conservation line of the run summary.
var lawLine = regexp.MustCompile(`^\s*(\S+)\s+(\d+)\s+(\d+)\s+(\d+)\s+(\d+)\s+(\d+)\s+(\d+)\s+(\d+)\s+(ok|FAIL)\s*$`)

// TestDemo runs `cutover demo` as a newcomer would (small), on throwaway
// servers it starts itself, and reads the summary it prints.
func TestDemo(t *testing.T) {
	stdout, stderr, err := cutover(t, "demo", "--users", "40", "--workers", "2")
	if err != nil {
		t.Fatalf("demo: %v\n%s", err, stderr)
	}
	if !strings.Contains(stderr, "started a throwaway PostgreSQL server") {
		t.Errorf("demo did not start its own servers:\n%s", stderr)
	}
	lines := 0
	for _, l := range strings.Split(stdout, "\n") {
		if m := lawLine.FindStringSubmatch(l); m != nil {
			lines++
			if m[9] != "ok" {
				t.Errorf("law fails: %s", l)
			}
		}
	}
	if lines != 81 { // v21 (78 tables) + 3 drift tables
		t.Errorf("summary has %d conservation lines, want 81:\n%s", lines, stdout)
	}
	if !strings.Contains(stdout, "conservation law holds for all 81 legacy tables") {
		t.Errorf("no closing line:\n%s", stdout)
	}
	// No secret leaks into the output (sessions.token values look like tok_…).
	if strings.Contains(stdout+stderr, "password") {
		t.Errorf("output mentions a password")
	}
}

// TestRunRefusesAnEmptySource: an empty database given as the source (the
// wrong URL, say) is refused, without the re-run hint that the other
// failures carry: the same command would be refused again.
func TestRunRefusesAnEmptySource(t *testing.T) {
	src, dst := pgtest.NewDB(t), pgtest.NewDB(t)
	if _, err := migrations.Apply(context.Background(), dst, nil); err != nil {
		t.Fatal(err)
	}
	stdout, stderr, code := runMain(t, []string{"CUTOVER_SOURCE_URL=" + src, "CUTOVER_TARGET_URL=" + dst}, "run")
	if code == 0 || !strings.Contains(stderr, "none of the legacy tables") || strings.Contains(stderr, "re-running") {
		t.Errorf("run from an empty source: exit %d\n%s\n%s", code, stdout, stderr)
	}
}

// TestRunRefusesOneDatabaseAsBoth: the same URL given as the source and
// the target (a migrated target, or a legacy database) is refused as such,
// by run, diff, status and verify, instead of as a source with unknown
// tables or a target without its schema, before anything is written: the
// database has the same schemas, tables and row counts afterwards (no
// bookkeeping schema created, no run recorded, no row written).
func TestRunRefusesOneDatabaseAsBoth(t *testing.T) {
	t.Parallel()
	dst := pgtest.NewDB(t)
	if _, err := migrations.Apply(context.Background(), dst, nil); err != nil {
		t.Fatal(err)
	}
	for _, u := range []string{dst, reportLegacy(t)} {
		before := databaseContents(t, u)
		if len(before) < 60 {
			t.Fatalf("the database lists only %d schemas and tables:\n%s", len(before), strings.Join(before, "\n"))
		}
		for _, cmd := range []string{"run", "diff", "status", "verify"} {
			stdout, stderr, code := runMain(t, []string{"CUTOVER_SOURCE_URL=" + u, "CUTOVER_TARGET_URL=" + u}, cmd)
			if code == 0 || !strings.Contains(stderr, "the source and the target are the same database (") || strings.Contains(stderr, "re-running") {
				t.Errorf("%s with one database as both: exit %d\n%s\n%s", cmd, code, stdout, stderr)
			}
		}
		if d := cmp.Diff(before, databaseContents(t, u)); d != "" {
			t.Errorf("the refused commands wrote to the database (-before +after):\n%s", d)
		}
	}
}

// databaseContents lists the schemas of the database at u ("schema
// cutover") and the row count of each of its tables ("cutover.runs: 0
// rows"), sorted.
func databaseContents(t *testing.T, u string) []string {
	t.Helper()
	ctx := context.Background()
	conn, err := pgx.Connect(ctx, u)
	if err != nil {
		t.Fatal(err)
	}
	defer conn.Close(ctx)
	return pgtest.Strings(t, conn, `
		SELECT 'schema ' || nspname FROM pg_namespace
		WHERE nspname NOT LIKE 'pg\_%' AND nspname <> 'information_schema'
		UNION ALL
		SELECT format('%I.%I: %s rows', n.nspname, c.relname,
			(xpath('/row/n/text()', query_to_xml(format('SELECT count(*) AS n FROM ONLY %I.%I', n.nspname, c.relname), false, true, '')))[1]::text)
		FROM pg_class c JOIN pg_namespace n ON n.oid = c.relnamespace
		WHERE c.relkind = 'r' AND n.nspname NOT LIKE 'pg\_%' AND n.nspname <> 'information_schema'
		ORDER BY 1`)
}

// TestRunCommand runs `cutover run` twice through the real main: the second
// run writes nothing; a bad --max-rejects stops before writing, saying to
// fix the rows or raise the limit (the same command would stop again).
func TestRunCommand(t *testing.T) {
	ctx := context.Background()
	src := pgtest.NewDB(t)
	if _, err := legacygen.Generate(ctx, src, legacygen.Options{Flavor: "v16", Drift: true, Anomalies: true, Users: 30, Seed: 5}); err != nil {
		t.Fatal(err)
	}
	dst := pgtest.NewDB(t)
	if _, err := migrations.Apply(ctx, dst, nil); err != nil {
		t.Fatal(err)
	}
	env := []string{"CUTOVER_SOURCE_URL=" + src, "CUTOVER_TARGET_URL=" + dst}

	_, stderr, code := runMain(t, env, "run", "--max-rejects", "1")
	if code == 0 || !strings.Contains(stderr, "more than --max-rejects 1") || !strings.Contains(stderr, "fix those rows in the source, or raise --max-rejects, then run again") ||
		strings.Contains(stderr, "re-running the same command") {
		t.Fatalf("--max-rejects 1: exit %d\n%s", code, stderr)
	}
	// Its dry run says so, and fails as the run would, as run --dry-run
	// and as diff (which did not take the flag: an operator review).
	var stdout string
	for _, dry := range [][]string{{"run", "--dry-run"}, {"diff"}} {
		stdout, stderr, code = runMain(t, env, append(dry, "--max-rejects", "1")...)
		if code != exitFindings || !regexp.MustCompile(`(?m)^dry run: a run would stop before it writes to the application tables: [0-9,]+ rows would be rejected, more than --max-rejects 1; without the limit, a run would write`).MatchString(stdout) ||
			!regexp.MustCompile(`(?m)^FAIL --max-rejects: [0-9,]+ rows would be rejected, more than --max-rejects 1: a run stops before it writes to the application tables`).MatchString(stdout) ||
			!strings.Contains(stderr, "more rows would be rejected than --max-rejects allows") {
			t.Fatalf("%s --max-rejects 1: exit %d\n%s\n%s", strings.Join(dry, " "), code, stdout, stderr)
		}
	}
	// Below -1 is no count: refused before anything starts.
	if _, stderr, code := runMain(t, env, "run", "--max-rejects", "-5"); code != 1 || !strings.Contains(stderr, "--max-rejects -5: give a count of rows, or -1 for no limit") {
		t.Fatalf("run --max-rejects -5: exit %d\n%s", code, stderr)
	}
	stdout, stderr, code = runMain(t, env, "run", "--dry-run")
	if code != 0 {
		t.Fatalf("run --dry-run: exit %d\n%s\n%s", code, stdout, stderr)
	}
	if !regexp.MustCompile(`(?m)^room on the target: the dry run took at least [0-9.]+ [KMG]iB on the target at its peak`).MatchString(stdout) {
		t.Errorf("the dry run does not say what room it took:\n%s", stdout)
	}
	conn, err := pgx.Connect(ctx, dst)
	if err != nil {
		t.Fatal(err)
	}
	var users, ledger int
	if err := conn.QueryRow(ctx, `SELECT (SELECT count(*) FROM users), (SELECT count(*) FROM cutover.dispositions)`).Scan(&users, &ledger); err != nil {
		t.Fatal(err)
	}
	conn.Close(ctx)
	if users != 0 || ledger != 0 {
		t.Fatalf("run --dry-run wrote to the target: %d users, %d ledger rows", users, ledger)
	}
	stdout, stderr, code = runMain(t, env, "run")
	if code != 0 {
		t.Fatalf("run: exit %d\n%s\n%s", code, stdout, stderr)
	}
	if !strings.Contains(stdout, "conservation law holds for all 78 legacy tables") {
		t.Errorf("run summary:\n%s", stdout)
	}
	room := regexp.MustCompile(`(?m)^cutover run (\d+) .*\ntarget database: [0-9.]+ [KMG]iB before, [0-9.]+ [KMG]iB at the sampled peak, [0-9.]+ [KMG]iB after: the run took at least ([0-9.]+ [KMG]iB) of room`).FindStringSubmatch(stdout)
	if room == nil {
		t.Errorf("the run does not say what room it took:\n%s", stdout)
	} else if st, _, _ := runMain(t, env, "status"); !regexp.MustCompile(`(?m)^  ` + room[1] + `\s+done\s.*\s` + regexp.QuoteMeta(room[2]) + `\s`).MatchString(st) {
		t.Errorf("status does not show the room run %s took (%s):\n%s", room[1], room[2], st)
	}
	if !strings.Contains(stderr, "source is legacy v16 with drift tables") {
		t.Errorf("the flavor is not printed:\n%s", stderr)
	}
	// --report-dir without --dry-run writes nothing, and says so.
	reports := t.TempDir()
	stdout, stderr, code = runMain(t, env, "run", "--report-dir", reports)
	if code != 0 || !strings.Contains(stdout, "; 0 application rows written") || !strings.Contains(stderr, "nothing to do") {
		t.Errorf("second run: exit %d\n%s\n%s", code, stdout, stderr)
	}
	if written, _ := os.ReadDir(reports); len(written) != 0 || !strings.Contains(stderr, "writes no report") {
		t.Errorf("a run with --report-dir wrote %d files; stderr:\n%s", len(written), stderr)
	}
	// A row changed by hand: a plain run trusts the bookkeeping, --full
	// writes it back.
	conn, err = pgx.Connect(ctx, dst)
	if err != nil {
		t.Fatal(err)
	}
	defer conn.Close(ctx)
	if _, err := conn.Exec(ctx, `UPDATE reading_sessions SET pages_read = pages_read + 100 WHERE id = (SELECT min(id::text)::uuid FROM reading_sessions)`); err != nil {
		t.Fatal(err)
	}
	stdout, stderr, code = runMain(t, env, "run", "--full")
	if code != 0 || !strings.Contains(stdout, "; 1 application rows written") || !strings.Contains(stderr, "--full: redoing every mapping") {
		t.Errorf("run --full after a hand edit: exit %d\n%s\n%s", code, stdout, stderr)
	}
}

// TestWorkersMustBePositive: --workers (or CUTOVER_WORKERS) below 1 is
// refused before anything connects, with the default, instead of being
// taken silently for the default.
func TestWorkersMustBePositive(t *testing.T) {
	t.Parallel()
	env := []string{"CUTOVER_SOURCE_URL=postgres://u@127.0.0.1:1/src", "CUTOVER_TARGET_URL=postgres://u@127.0.0.1:1/dst"}
	refusedByAll(t, env, "--workers 0: give at least 1 (the default is ", []string{"run", "--workers", "0"}, []string{"diff", "--workers", "0"},
		[]string{"status", "--workers", "0"}, []string{"verify", "--workers", "0"})
	refusedByAll(t, append(env, "CUTOVER_WORKERS=-3"), "--workers -3: give at least 1", []string{"run"})
	// --samples 0 was taken for the default, silently.
	refusedByAll(t, env, "--samples 0: give at least 1 (the default is 3)", []string{"diff", "--samples", "0"}, []string{"run", "--dry-run", "--samples", "0"})
	// The demo and the generator, which need no URL to refuse.
	refusedByAll(t, nil, "--workers 0: give at least 1 (the default is ", []string{"demo", "--workers", "0"})
	refusedByAll(t, nil, "--users 0: give at least 1 (the default is 2000)", []string{"demo", "--users", "0"},
		[]string{"legacy", "generate", "--url", "postgres://u@127.0.0.1:1/src", "--users", "0"})
}

// TestRunSummaryFailsWhenTheLawFails: the run prints a conservation line
// for every legacy table and exits non-zero (2) when the law fails for any
// of them: a row unaccounted for, or a mapping that never finished (which
// a real run reaches only through a bug, so the summaries are made up).
func TestRunSummaryFailsWhenTheLawFails(t *testing.T) {
	users := load.TableResult{Legacy: "users", Mapping: "users", Target: "users", Source: 10, Loaded: 7, Merged: 1, Rejected: 2, Finished: true}
	sessions := load.TableResult{Legacy: "sessions", Mapping: "sessions", Target: "sessions", Source: 5, Loaded: 3, Discarded: 2, Finished: true}
	lost := sessions
	lost.Discarded = 1 // one session in no disposition
	unfinished := sessions
	unfinished.Finished = false
	for _, c := range []struct {
		name    string
		tables  []load.TableResult
		laws    map[string]string // per legacy table, the LAW column
		code    int               // 0: no error
		closing string
	}{
		{"every row accounted for", []load.TableResult{users, sessions},
			map[string]string{"users": "ok", "sessions": "ok"}, 0, "conservation law holds for all 2 legacy tables"},
		{"a row unaccounted for", []load.TableResult{users, lost},
			map[string]string{"users": "ok", "sessions": "FAIL"}, 2, "conservation law FAILS for 1 legacy table(s)"},
		{"a mapping that did not finish", []load.TableResult{users, unfinished},
			map[string]string{"users": "ok", "sessions": "FAIL"}, 2, "conservation law FAILS for 1 legacy table(s)"},
	} {
		t.Run(c.name, func(t *testing.T) {
			var out strings.Builder
			err := reportSummary(&out, &load.Summary{RunID: 1, Flavor: "v21", Tables: c.tables})
			code := 0
			if err != nil {
				var ec cli.ExitCoder
				if !errors.As(err, &ec) {
					t.Fatalf("error without an exit status: %v", err)
				}
				code = ec.ExitCode()
			}
			if code != c.code {
				t.Errorf("exit status %d (%v), want %d", code, err, c.code)
			}
			laws := map[string]string{}
			for _, l := range strings.Split(out.String(), "\n") {
				if m := lawLine.FindStringSubmatch(l); m != nil {
					laws[m[1]] = m[9]
				}
			}
			if d := cmp.Diff(c.laws, laws); d != "" {
				t.Errorf("conservation lines (-want +got):\n%s\n%s", d, out.String())
			}
			if !strings.Contains(out.String(), "\n"+c.closing+"\n") {
				t.Errorf("no line %q:\n%s", c.closing, out.String())
			}
		})
	}
}

// TestRunErrorSaysWhatComesNext: a failed run's error ends with what the
// operator does next: nothing more for a refusal (it names what to give
// instead), a fix of the rows named where the same command would stop at
// them again, and else a plain re-run.
func TestRunErrorSaysWhatComesNext(t *testing.T) {
	rerun := "re-running the same command is safe: finished work is kept and the rest is redone"
	fix := "the same command stops here again until the rows named change (`cutover diff` lists such rows of every mapping, not only this one's); then running it again is safe: finished work is kept and the rest is redone"
	refusal := load.Refusal{Mapping: "users", Legacy: "users", Table: "habits", Constraint: "foreign key habits_user_id_fkey",
		Definition: "ON DELETE NO ACTION", References: true, Parent: "users", Count: 1, Keys: []string{"h1"}}
	for _, c := range []struct {
		name string
		err  error
		next string // the last line; "" when there is none
	}{
		{"an error", errors.New("extract habits batch 1/1: disk full"), rerun},
		{"a lost connection, which says it", &dburl.LostError{Role: "target", Err: errors.New("decide habits: connection reset")}, ""},
		{"too many rejects", fmt.Errorf("apply users: %w", load.ErrTooManyRejects),
			"fix those rows in the source, or raise --max-rejects, then run again; repeating a run is safe"},
		{"rows the target refuses", &load.StepError{Table: "books", Err: fmt.Errorf("apply books: %w", &load.RefusedRowsError{Refusal: refusal, Err: errors.New("violation")})}, fix},
		{"rows the cutover did not write meet a key", fmt.Errorf("apply users: %w", &load.ForeignRowsError{Table: "users", Count: 1, IDs: []string{"u1"}, Err: errors.New("violation")}), fix},
		{"rows the cutover did not write reference removed rows", &load.StepError{Table: "users", Err: fmt.Errorf("remove users: %w",
			&load.ForeignReferencesError{Table: "users", Refusals: []load.Refusal{refusal}})}, fix},
		{"a refused target", &load.SealedError{}, ""},
		// Refused for another run at work: run again at once, and the same
		// command is refused again (it said a re-run was safe).
		{"another run at work", &migrations.RunningError{RunID: 9, PID: 7, Host: "vm"}, ""},
	} {
		t.Run(c.name, func(t *testing.T) {
			got := runError(c.err).Error()
			if !strings.HasPrefix(got, c.err.Error()) {
				t.Errorf("the error is not kept first: %q", got)
			}
			lines := strings.Split(got, "\n")
			last := ""
			if len(lines) > 1 {
				last = lines[len(lines)-1]
			}
			if last != c.next {
				t.Errorf("what comes next: %q, want %q", last, c.next)
			}
			if n := strings.Count(got, "re-running the same command is safe"); n > 1 {
				t.Errorf("the error says a re-run is safe %d times: %q", n, got)
			}
		})
	}
}
