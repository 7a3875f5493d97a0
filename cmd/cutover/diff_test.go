package main

import (
	"context"
	"errors"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/cutover/cutover/reconcile/report"

	"github.com/cutover/cutover/internal/testkit"
)

// TestDiffCommand: `cutover diff` against an empty target predicts only
// inserts, against a finished target nothing; both write the reports, and
// the target is left as it was.
func TestDiffCommand(t *testing.T) {
	t.Parallel()
	t.Run("empty target", func(t *testing.T) {
		t.Parallel()
		src, dst := reportLegacy(t), testkit.MigratedTarget(t)
		dir := t.TempDir()
		stdout, stderr, code := runMain(t, nil, "diff", "--source", src, "--target", dst, "--report-dir", dir, "--workers", "2")
		if code != 0 {
			t.Fatalf("diff: exit %d\n%s\n%s", code, stdout, stderr)
		}
		for _, want := range []string{"nothing was written", "INSERT", "a run would write", "REJECTS AND OTHER DISPOSITIONS BY REASON", "parent_rejected",
			"\nDROPPED COLUMNS (the target has no column for them: non-NULL values in rows a run would bring to the target)\n  workout_exercises.section_id  "} {
			if !strings.Contains(stdout, want) {
				t.Errorf("the summary lacks %q:\n%s", want, stdout)
			}
		}
		r, _ := readReport(t, dir)
		c := r.Totals.Changes
		// Updates: only the seeded catalog rows that legacy rows merge onto
		// by natural key (they take the legacy content).
		var seedMerges int64
		for _, lt := range r.LegacyTables {
			if lt.Merged > 0 && isCatalog(lt.Table) {
				seedMerges += lt.Merged
			}
		}
		if r.Kind != report.KindDryRun || !r.OK || c == nil || c.Insert == 0 || c.Update != seedMerges || c.Delete != 0 {
			t.Fatalf("report.json of a dry run against an empty target: kind %s, ok %v, changes %+v", r.Kind, r.OK, c)
		}
		var inserts int64
		for _, tt := range r.TargetTables {
			if tt.Changes == nil {
				t.Fatalf("%s has no changes object", tt.Table)
			}
			inserts += tt.Changes.Insert
		}
		if inserts != c.Insert || r.Totals.LegacyTablesHolding != 81 {
			t.Errorf("inserts %d per table, %d in all; %d/%d legacy tables hold", inserts, c.Insert, r.Totals.LegacyTablesHolding, r.Totals.LegacyTables)
		}
		if n := reportScalar(t, dst, `SELECT (count(*) FILTER (WHERE nspname IN ('cutover_dryrun', 'cutover_stage')))::text FROM pg_namespace`); n != "0" {
			t.Errorf("the dry run left its scratch schema behind")
		}
		if n := reportScalar(t, dst, `SELECT count(*)::text FROM users`); n != "0" {
			t.Errorf("the dry run wrote %s users", n)
		}
	})
	t.Run("finished target", func(t *testing.T) {
		t.Parallel()
		src, dst := reportFinished(t)
		dir := t.TempDir()
		stdout, stderr, code := runMain(t, nil, "diff", "--source", src, "--target", dst, "--report-dir", dir, "--workers", "2")
		if code != 0 || !strings.Contains(stdout, "a run would change nothing") {
			t.Fatalf("diff: exit %d\n%s\n%s", code, stdout, stderr)
		}
		r, _ := readReport(t, dir)
		if c := r.Totals.Changes; c == nil || c.Total() != 0 || c.Unchanged == 0 {
			t.Errorf("report.json against a finished target: %+v", c)
		}
	})
	// A source row the target keeps only in cutover.archive changed: no
	// application row changes, but a run rewrites the kept row, and the
	// dry run does not say the target equals the source (a review).
	t.Run("a change of an archived row", func(t *testing.T) {
		t.Parallel()
		src, dst := reportFinished(t)
		reportExec(t, src, `UPDATE user_skills SET current_stars = current_stars + 100 WHERE id = (SELECT min(id::text)::uuid FROM user_skills)`)
		stdout, stderr, code := runMain(t, nil, "diff", "--source", src, "--target", dst, "--workers", "2")
		want := "dry run: a run would change no application row, but it redoes 1 mapping whose inputs changed (user_skills): " +
			"what cutover.archive and cutover.rejects keep of their rows, and their ledger, may change\n"
		if code != 0 || !strings.HasSuffix(stdout, want) {
			t.Errorf("diff after a change of an archived row: exit %d, want it to end %q\n%s\n%s", code, want, stdout, stderr)
		}
		// --full redoes every mapping: no more does it equal the source.
		stdout, stderr, code = runMain(t, nil, "diff", "--full", "--source", src, "--target", dst, "--workers", "2")
		want = "dry run: a run would change no application row, but it redoes every mapping: " +
			"what cutover.archive and cutover.rejects keep of their rows, and their ledger, may change\n"
		if code != 0 || !strings.HasSuffix(stdout, want) {
			t.Errorf("diff --full after a change of an archived row: exit %d, want it to end %q\n%s\n%s", code, want, stdout, stderr)
		}
	})
	// A row changed by hand: a plain run leaves it, and the plain diff says
	// so; diff --full previews run --full, which writes it back.
	t.Run("hand edit, with and without --full", func(t *testing.T) {
		t.Parallel()
		src, dst := reportFinished(t)
		reportExec(t, dst, `UPDATE reading_sessions SET pages_read = pages_read + 100 WHERE id = (SELECT min(id::text)::uuid FROM reading_sessions)`)
		const leftAlone = "CHANGED IN THE TARGET AFTER THE CUTOVER WROTE IT"
		stdout, stderr, code := runMain(t, nil, "diff", "--source", src, "--target", dst, "--workers", "2")
		if code != 0 || !strings.Contains(stdout, leftAlone) || !strings.Contains(stdout, "reading_sessions") {
			t.Errorf("diff after a hand edit: exit %d, want the edit named as left alone\n%s\n%s", code, stdout, stderr)
		}
		stdout, stderr, code = runMain(t, nil, "diff", "--full", "--source", src, "--target", dst, "--workers", "2")
		if code != 0 || strings.Contains(stdout, leftAlone) || !strings.Contains(stdout, "a run would write 1 row (0 inserts, 1 update, 0 deletes)") {
			t.Errorf("diff --full after a hand edit: exit %d, want 1 update and nothing left alone\n%s\n%s", code, stdout, stderr)
		}
	})
	// A target that refuses rows a run would load: the dry run fails
	// (exit 2) and names the constraint and the mapping.
	t.Run("a constraint the rows break", func(t *testing.T) {
		t.Parallel()
		src, dst := reportLegacy(t), testkit.MigratedTarget(t)
		reportExec(t, dst, `ALTER TABLE books ADD CONSTRAINT books_short CHECK (total_pages < 0)`)
		stdout, stderr, code := runMain(t, nil, "diff", "--source", src, "--target", dst, "--workers", "2")
		if code != exitFindings || !strings.Contains(stdout, "THE TARGET REFUSES ROWS A RUN WOULD LOAD") ||
			!strings.Contains(stdout, "a run would stop at the mapping books: the target's books check books_short (CHECK (total_pages < 0))") ||
			!strings.Contains(stderr, "the target refuses rows a run would load, and the run would stop there (see FAIL above)") {
			t.Errorf("diff into a target that refuses books: exit %d, want %d and the refusal named\n%s\n%s", code, exitFindings, stdout, stderr)
		}
	})
}

// isCatalog reports whether a legacy table's rows merge onto seeded rows by
// natural key.
func isCatalog(table string) bool {
	switch table {
	case "roles", "achievement_definitions", "learn_topics", "learn_lessons", "learn_drills",
		"onboarding_flows", "onboarding_steps", "market_items":
		return true
	}
	return false
}

// TestReportDirIsCheckedFirst: a --report-dir that cannot be created stops
// verify, diff and run --dry-run before they connect to anything, instead
// of after all their work; a plain run, which writes no report, ignores it.
func TestReportDirIsCheckedFirst(t *testing.T) {
	t.Parallel()
	file := filepath.Join(t.TempDir(), "a-file")
	if err := os.WriteFile(file, []byte("x"), 0o644); err != nil {
		t.Fatal(err)
	}
	env := []string{"CUTOVER_SOURCE_URL=postgres://u@127.0.0.1:1/src", "CUTOVER_TARGET_URL=postgres://u@127.0.0.1:1/dst", "CUTOVER_REPORT_DIR=" + filepath.Join(file, "reports")}
	for _, args := range [][]string{{"verify"}, {"diff"}, {"run", "--dry-run"}, {"run"}} {
		_, stderr, code := runMain(t, env, args...)
		refused := strings.Contains(stderr, "report directory "+filepath.Join(file, "reports")+" cannot be created")
		connected := strings.Contains(stderr, "connect to source database")
		if code == 0 || refused == (args[0] == "run" && len(args) == 1) || refused == connected {
			t.Errorf("%s: exit %d, refused for the report directory: %t, tried to connect: %t\n%s", strings.Join(args, " "), code, refused, connected, stderr)
		}
	}
}

// TestReportsOutliveAClosedStdout: an operator who pipes the summary into
// `head` or a pager closes stdout early. The command still runs to its end
// and keeps its reports (written before the summary in any case), and it
// exits 141, as a process that SIGPIPE ended, saying on stderr that its
// output was cut short: for a dry run and for a verification alike.
func TestReportsOutliveAClosedStdout(t *testing.T) {
	t.Parallel()
	for _, c := range []struct {
		command string
		dbs     func(t *testing.T) (src, dst string)
	}{
		{"diff", func(t *testing.T) (string, string) { return reportLegacy(t), testkit.MigratedTarget(t) }},
		{"verify", reportFinished},
	} {
		t.Run(c.command, func(t *testing.T) {
			t.Parallel()
			src, dst := c.dbs(t)
			dir := t.TempDir()
			code, stderr := runMainOutputClosed(t, false, c.command, "--source", src, "--target", dst, "--report-dir", dir, "--workers", "2")
			if code != 141 || !strings.Contains(stderr, outputCut) {
				t.Errorf("%s with its stdout closed: exit %d, want 141 and %q on stderr:\n%s", c.command, code, outputCut, stderr)
			}
			for _, f := range []string{"report.json", "report.md", "report.html"} {
				if _, err := os.Stat(filepath.Join(dir, f)); err != nil {
					t.Errorf("%s with its stdout closed (exit %d) kept no %s: %v\n%s", c.command, code, f, err, stderr)
				}
			}
			if t.Failed() {
				return
			}
			if r, _ := readReport(t, dir); !r.OK {
				t.Errorf("%s: the kept report.json says the %s failed", c.command, r.Kind)
			}
		})
	}
}

// outputCut is what main says on stderr when a command's output was cut.
const outputCut = "the command finished, but its output was cut short"

// TestARunOutlivesItsClosedOutput: `cutover run 2>&1 | head` closes both
// of the run's outputs at its first progress lines. The run still goes on
// to its end, and exits 141 to say its output was cut; SIGPIPE used to end
// it at its next progress line, in the middle of its work.
func TestARunOutlivesItsClosedOutput(t *testing.T) {
	t.Parallel()
	src, dst := reportLegacy(t), testkit.MigratedTarget(t)
	code, _ := runMainOutputClosed(t, true, "run", "--source", src, "--target", dst, "--workers", "2")
	if code != 141 {
		t.Errorf("a run with its stdout and stderr closed: exit %d, want 141", code)
	}
	if got := reportScalar(t, dst, `SELECT coalesce(string_agg(status, ', ' ORDER BY id), 'none') FROM cutover.runs`); got != "done" {
		t.Errorf("a run with its stdout and stderr closed: runs recorded %q, want one done", got)
	}
	// The re-run finds nothing left to do: the first one finished it.
	stdout, stderr, code := runMain(t, nil, "run", "--source", src, "--target", dst, "--workers", "2")
	if code != 0 || !strings.Contains(stdout, "; 0 application rows written") {
		t.Errorf("the run after it: exit %d, want 0 and nothing written:\n%s\n%s", code, stdout, stderr)
	}
}

// runMainOutputClosed runs the cutover command with args, its stdout (and
// its stderr too, with stderrToo) a pipe whose reading end is closed
// before it starts; it returns the exit code (-1 when a signal ended it)
// and stderr.
func runMainOutputClosed(t *testing.T, stderrToo bool, args ...string) (code int, stderr string) {
	t.Helper()
	r, w, err := os.Pipe()
	if err != nil {
		t.Fatal(err)
	}
	r.Close()
	defer w.Close()
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
	defer cancel()
	cmd := exec.CommandContext(ctx, os.Args[0], args...)
	cmd.Env = append(os.Environ(), envRunMain+"=1")
	var errOut strings.Builder
	cmd.Stdout, cmd.Stderr = w, &errOut
	if stderrToo {
		cmd.Stderr = w
	}
	err = cmd.Run()
	var ee *exec.ExitError
	if err != nil && !errors.As(err, &ee) {
		t.Fatalf("run %v: %v", args, err)
	}
	return cmd.ProcessState.ExitCode(), errOut.String()
}
