package main

import (
	"bytes"
	"context"
	"errors"
	"os"
	"os/exec"
	"regexp"
	"strings"
	"testing"
	"time"

	"github.com/jackc/pgx/v5"
	"github.com/urfave/cli/v2"

	"github.com/cutover/cutover/internal/pgtest"
	"github.com/cutover/cutover/migrations"
)

var migrationFiles = []string{
	"0001_auth.sql", "0002_gamification.sql", "0003_focus.sql", "0004_habits_goals.sql",
	"0005_quests.sql", "0006_planning.sql", "0007_market.sql", "0008_books.sql",
	"0009_fitness.sql", "0010_learn.sql", "0011_reference.sql", "0012_platform.sql",
	"0013_seeds.sql",
}

// cutover runs the app in-process, as `cutover args…`.
func cutover(t *testing.T, args ...string) (stdout, stderr string, err error) {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
	defer cancel()
	var out, errOut bytes.Buffer
	err = newApp(&out, &errOut).RunContext(ctx, append([]string{"cutover"}, args...))
	return out.String(), errOut.String(), err
}

// runMain runs the test binary as the real command (main, with its exit
// code), with the given extra environment.
func runMain(t *testing.T, env []string, args ...string) (stdout, stderr string, code int) {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
	defer cancel()
	cmd := exec.CommandContext(ctx, os.Args[0], args...)
	cmd.Env = append(append(os.Environ(), envRunMain+"=1"), env...)
	var out, errOut bytes.Buffer
	cmd.Stdout, cmd.Stderr = &out, &errOut
	err := cmd.Run()
	var ee *exec.ExitError
	switch {
	case err == nil:
	case errors.As(err, &ee):
		code = ee.ExitCode()
	default:
		t.Fatalf("run %v: %v", args, err)
	}
	return out.String(), errOut.String(), code
}

var statusLine = regexp.MustCompile(`^(\S+)\s+(applied|pending)(\s+\(CHANGED SINCE APPLIED\))?\s*(\d{4}-\d\d-\d\d \d\d:\d\d:\d\dZ)?$`)

// parseStatus checks the table printed by `schema status` and returns each
// file's state ("applied", "pending", "applied (CHANGED SINCE APPLIED)").
func parseStatus(t *testing.T, out string) (files []string, states map[string]string, summary string) {
	t.Helper()
	lines := strings.Split(strings.TrimRight(out, "\n"), "\n")
	if len(lines) != 15 {
		t.Fatalf("status printed %d lines, want header + 13 + summary:\n%s", len(lines), out)
	}
	if !strings.HasPrefix(lines[0], "MIGRATION") {
		t.Errorf("no header: %q", lines[0])
	}
	states = map[string]string{}
	for _, l := range lines[1:14] {
		m := statusLine.FindStringSubmatch(l)
		if m == nil {
			t.Errorf("bad status line %q", l)
			continue
		}
		files = append(files, m[1])
		states[m[1]] = m[2] + m[3]
		if (m[2] == "applied") != (m[4] != "") {
			t.Errorf("applied iff it has a time: %q", l)
		}
	}
	return files, states, lines[14]
}

func TestSchemaApplyAndStatus(t *testing.T) {
	t.Parallel()
	db := pgtest.NewDB(t)

	out, _, err := cutover(t, "schema", "status", "--target", db)
	if err != nil {
		t.Fatalf("status of an empty database: %v", err)
	}
	files, states, summary := parseStatus(t, out)
	if strings.Join(files, " ") != strings.Join(migrationFiles, " ") {
		t.Errorf("status lists %v", files)
	}
	for f, s := range states {
		if s != "pending" {
			t.Errorf("empty database: %s is %s", f, s)
		}
	}
	if summary != "0 of 13 applied" {
		t.Errorf("summary %q, want 0 of 13 applied", summary)
	}

	out, _, err = cutover(t, "schema", "apply", "--target", db)
	if err != nil {
		t.Fatalf("apply: %v", err)
	}
	var want strings.Builder
	for _, f := range migrationFiles {
		want.WriteString("applied " + f + "\n")
	}
	if out != want.String() {
		t.Errorf("apply printed:\n%s\nwant:\n%s", out, want.String())
	}

	out, _, err = cutover(t, "schema", "apply", "--target", db)
	if err != nil {
		t.Fatalf("second apply: %v", err)
	}
	if out != "schema is up to date: nothing to apply\n" {
		t.Errorf("second apply printed %q", out)
	}

	out, _, err = cutover(t, "schema", "status", "--target", db)
	if err != nil {
		t.Fatalf("status: %v", err)
	}
	_, states, summary = parseStatus(t, out)
	for f, s := range states {
		if s != "applied" {
			t.Errorf("%s is %s, want applied", f, s)
		}
	}
	if summary != "13 of 13 applied" {
		t.Errorf("summary %q, want 13 of 13 applied", summary)
	}
	t.Logf("cutover schema status:\n%s", out)
}

func TestSchemaTampered(t *testing.T) {
	t.Parallel()
	db := pgtest.NewDB(t)
	if _, _, err := cutover(t, "schema", "apply", "--target", db); err != nil {
		t.Fatal(err)
	}
	ctx := context.Background()
	conn, err := pgx.Connect(ctx, db)
	if err != nil {
		t.Fatal(err)
	}
	_, err = conn.Exec(ctx, `UPDATE cutover.schema_checksums SET sha256 = encode(sha256('edited'::bytea), 'hex') WHERE version = 4`)
	conn.Close(ctx)
	if err != nil {
		t.Fatal(err)
	}

	// In process: status prints the table, then fails with exit code 1
	// (README: "`status` marks the file and exits with status 1").
	out, _, err := cutover(t, "schema", "status", "--target", db)
	var ec cli.ExitCoder
	if !errors.As(err, &ec) || ec.ExitCode() != 1 {
		t.Fatalf("status of a tampered database: %v, want exit code 1", err)
	}
	_, states, summary := parseStatus(t, out)
	for f, s := range states {
		want := "applied"
		if f == "0004_habits_goals.sql" {
			want = "applied (CHANGED SINCE APPLIED)"
		}
		if s != want {
			t.Errorf("%s: %q, want %q", f, s, want)
		}
	}
	if summary != "13 of 13 applied" {
		t.Errorf("summary %q", summary)
	}

	// As a process: the exit status is 1, and apply's is non-zero.
	out, stderr, code := runMain(t, nil, "schema", "status", "--target", db)
	if code != 1 {
		t.Errorf("cutover schema status exited %d on a tampered database, want 1:\n%s%s", code, out, stderr)
	}
	if !strings.Contains(out, "CHANGED SINCE APPLIED") || !strings.Contains(stderr, "changed since they were applied") {
		t.Errorf("status output:\n%s\nstderr:\n%s", out, stderr)
	}
	_, stderr, code = runMain(t, nil, "schema", "apply", "--target", db)
	if code == 0 || !strings.Contains(stderr, "0004_habits_goals.sql") {
		t.Errorf("cutover schema apply: exit %d, stderr %q; want non-zero and the file named", code, stderr)
	}
	_, _, err = cutover(t, "schema", "apply", "--target", db)
	if !errors.Is(err, migrations.ErrTampered) {
		t.Errorf("apply: %v, want ErrTampered", err)
	}
}

func TestSchemaBadTarget(t *testing.T) {
	t.Parallel()
	for _, tc := range pgtest.BadURLs(t) {
		for _, sub := range []string{"apply", "status"} {
			t.Run(tc.Name+"/"+sub, func(t *testing.T) {
				stdout, stderr, err := cutover(t, "schema", sub, "--target", tc.URL)
				if err == nil {
					t.Fatal("succeeded")
				}
				msg := err.Error()
				for what, s := range map[string]string{"error": msg, "stdout": stdout, "stderr": stderr} {
					if strings.Contains(s, tc.Password) {
						t.Errorf("%s shows the password: %s", what, s)
					}
				}
				if strings.Contains(msg, "\n") || !strings.Contains(msg, tc.Host) {
					t.Errorf("error is not one line naming %s: %q", tc.Host, msg)
				}

				// The real command prints it as one line on stderr, and
				// exits 1.
				stdout, stderr, code := runMain(t, nil, "schema", sub, "--target", tc.URL)
				if code != 1 {
					t.Errorf("exit code %d, want 1", code)
				}
				if stderr != "cutover: "+msg+"\n" {
					t.Errorf("stderr %q, want the one-line error", stderr)
				}
				if strings.Contains(stdout+stderr, tc.Password) {
					t.Errorf("output shows the password:\n%s%s", stdout, stderr)
				}
			})
		}
	}
}

func TestSchemaTargetFromEnv(t *testing.T) {
	db := pgtest.NewDB(t)
	t.Setenv("CUTOVER_TARGET_URL", db)
	out, _, err := cutover(t, "schema", "apply")
	if err != nil {
		t.Fatalf("apply with CUTOVER_TARGET_URL: %v", err)
	}
	if !strings.Contains(out, "applied 0013_seeds.sql") {
		t.Errorf("apply printed %q", out)
	}
	out, _, err = cutover(t, "schema", "status")
	if err != nil {
		t.Fatal(err)
	}
	if !strings.HasSuffix(out, "13 of 13 applied\n") {
		t.Errorf("status printed:\n%s", out)
	}

	// --target wins over the environment.
	other := pgtest.NewDB(t)
	out, _, err = cutover(t, "schema", "status", "--target", other)
	if err != nil {
		t.Fatal(err)
	}
	if !strings.HasSuffix(out, "0 of 13 applied\n") {
		t.Errorf("status --target <empty database> printed:\n%s", out)
	}

	// Neither: the flag is required.
	t.Setenv("CUTOVER_TARGET_URL", "")
	os.Unsetenv("CUTOVER_TARGET_URL")
	_, _, err = cutover(t, "schema", "status")
	if err == nil || !strings.Contains(err.Error(), "target") {
		t.Errorf("status without a target: %v, want a required-flag error", err)
	}
}
