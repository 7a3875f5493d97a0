package main

import (
	"context"
	"strings"
	"testing"

	"github.com/jackc/pgx/v5"

	"github.com/cutover/cutover/internal/pgtest"
)

// TestServerTimeoutsDoNotStopTheCutover: production servers often set
// timeouts for their database or role against runaway application
// queries. Here the target database (ALTER DATABASE) and the role the
// cutover reads the source as (ALTER ROLE, a read-only role of its own)
// end any statement after 1 ms, any lock wait after 1 ms, any transaction
// idle for 1 ms (the one holding the run's snapshot is idle while the
// readers copy) and, from PostgreSQL 14, any session idle for a second
// (the one holding the run lock is idle while the others work). By hand,
// the statement, idle transaction and idle session timeouts each stopped
// an earlier build's run, and would have stopped every re-run at the same
// place. Every command of a cutover works regardless: the cutover turns
// them off for its own sessions. One cutover covers both ways of setting
// them: a session starts with the role's setting where both set one.
func TestServerTimeoutsDoNotStopTheCutover(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	src, dst := reportLegacy(t), pgtest.NewDB(t)
	admin := pgtest.Connect(t, pgtest.AdminURL(t))
	var version int
	if err := admin.QueryRow(ctx, `SELECT current_setting('server_version_num')::int`).Scan(&version); err != nil {
		t.Fatal(err)
	}
	settings := []string{"statement_timeout = '1ms'", "lock_timeout = '1ms'", "idle_in_transaction_session_timeout = '1ms'"}
	if version >= 140000 {
		settings = append(settings, "idle_session_timeout = '1s'")
	}
	reader := pgtest.NewRole(t, admin, pgtest.Connect(t, src), "cutover_timeouts", "IN ROLE pg_read_all_data")
	for _, alter := range []string{"ALTER DATABASE " + pgx.Identifier{procDBName(dst)}.Sanitize(), "ALTER ROLE " + reader} {
		for _, s := range settings {
			if _, err := admin.Exec(ctx, alter+" SET "+s); err != nil {
				t.Fatal(err)
			}
		}
	}
	src = pgtest.AsRole(t, src, reader)
	conn, err := pgx.Connect(ctx, src)
	if err != nil {
		t.Fatal(err)
	}
	var timeout string
	err = conn.QueryRow(ctx, `SHOW statement_timeout`).Scan(&timeout)
	conn.Close(ctx)
	if err != nil || timeout != "1ms" {
		t.Fatalf("a session of the source's role: statement_timeout %q (%v), want 1ms", timeout, err)
	}
	everyCommandWorks(t, src, dst, "on servers that time out")
}

// TestDatabaseSettingsDoNotStopTheCutover: settings a database may have
// that the cutover's work cannot run under, each of which stopped an
// earlier build: an empty search_path (a hardening against
// CVE-2018-1058) left the migrations' tables nowhere to go ("no schema
// has been selected to create in"); transactions serializable by default
// made the mappings applied side by side fail each other (40001). Every
// command of a cutover works regardless: its sessions pin their own.
func TestDatabaseSettingsDoNotStopTheCutover(t *testing.T) {
	t.Parallel()
	for _, set := range []string{"search_path = ''", "default_transaction_isolation = 'serializable'"} {
		t.Run(set, func(t *testing.T) {
			t.Parallel()
			src, dst := reportLegacy(t), pgtest.NewDB(t)
			for _, u := range []string{src, dst} {
				pgtest.AlterDatabase(t, u, "SET "+set)
			}
			everyCommandWorks(t, src, dst, "on databases with "+set)
		})
	}
}

// everyCommandWorks runs every command of a cutover of src into dst (a
// new database): schema apply, run, a re-run, status, diff, verify, seal,
// schema status and seal --undo, each of which must succeed and say what
// it did.
func everyCommandWorks(t *testing.T, src, dst, where string) {
	t.Helper()
	for _, c := range []struct {
		args []string
		want string // on stdout or stderr
	}{
		{[]string{"schema", "apply", "--target", dst}, "applied 0013_seeds.sql"},
		{[]string{"run", "--source", src, "--target", dst, "--workers", "2", "--max-rejects", "-1"}, "conservation law holds for all 81 legacy tables"},
		{[]string{"run", "--source", src, "--target", dst, "--workers", "2", "--max-rejects", "-1"}, "nothing to do"},
		{[]string{"status", "--source", src, "--target", dst}, "NEXT RUN"},
		{[]string{"diff", "--source", src, "--target", dst, "--workers", "2"}, "TARGET TABLE"},
		{[]string{"verify", "--source", src, "--target", dst, "--workers", "2"}, "verify: OK"},
		{[]string{"seal", "--target", dst}, "the target is sealed since"},
		{[]string{"schema", "status", "--target", dst}, "13 of 13 applied"},
		{[]string{"seal", "--undo", "--target", dst}, "lifted the seal of"},
	} {
		stdout, stderr, err := cutover(t, c.args...)
		if err != nil || !strings.Contains(stdout+stderr, c.want) {
			t.Fatalf("cutover %s %s: %v, want %q in its output\n%s\n%s", c.args[0], where, err, c.want, stdout, stderr)
		}
	}
}
