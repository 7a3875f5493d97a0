package main

import (
	"context"
	"net/url"
	"strings"
	"testing"

	"github.com/cutover/cutover/internal/pgtest"
	"github.com/cutover/cutover/internal/testkit"
)

// refusedByAll runs each of commands with env, and checks that every one
// fails saying want, without advice to re-run.
func refusedByAll(t *testing.T, env []string, want string, commands ...[]string) {
	t.Helper()
	for _, args := range commands {
		stdout, stderr, code := runMain(t, env, args...)
		if code == 0 || !strings.Contains(stderr, want) || strings.Contains(stderr, "re-running") {
			t.Errorf("%s: exit %d, want %q and no advice to re-run\n%s\n%s", strings.Join(args, " "), code, want, stdout, stderr)
		}
	}
}

// TestRowLevelSecurityOnTheSourceIsRefused: a source table with
// row-level security whose policy applies to the role the cutover reads
// as would hide rows from every read, the conservation law's counts
// included (a run lost a user and said every row was accounted for).
// Every command refuses such a source, naming the table and the role,
// before it writes anything; once the role bypasses row-level security
// the run accounts for every row.
func TestRowLevelSecurityOnTheSourceIsRefused(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	src, dst := reportLegacy(t), testkit.MigratedTarget(t)
	admin := pgtest.Connect(t, pgtest.AdminURL(t))
	conn := pgtest.Connect(t, src)
	role := pgtest.NewRole(t, admin, conn, "cutover_rls", "IN ROLE pg_read_all_data")
	var all, visible int
	if err := conn.QueryRow(ctx, `SELECT count(*), count(*) FILTER (WHERE role = 'user') FROM users`).Scan(&all, &visible); err != nil {
		t.Fatal(err)
	}
	if visible == all {
		t.Fatalf("the legacy users are all of role 'user': the policy would hide none")
	}
	if _, err := conn.Exec(ctx, `ALTER TABLE users ENABLE ROW LEVEL SECURITY; CREATE POLICY only_users ON users USING (role = 'user')`); err != nil {
		t.Fatal(err)
	}
	env := []string{"CUTOVER_SOURCE_URL=" + pgtest.AsRole(t, src, role), "CUTOVER_TARGET_URL=" + dst}
	want := "row-level security on the source's table users applies to role " + role + " and would hide rows from the cutover's reads and counts"
	refusedByAll(t, env, want, []string{"run", "--max-rejects", "-1"}, []string{"diff"}, []string{"verify"}, []string{"status"})
	target := pgtest.Connect(t, dst)
	count := func() (n int) {
		t.Helper()
		if err := target.QueryRow(ctx, `SELECT count(*) FROM users`).Scan(&n); err != nil {
			t.Fatal(err)
		}
		return n
	}
	if n := count(); n != 0 {
		t.Fatalf("the refused commands wrote %d users", n)
	}
	if _, err := admin.Exec(ctx, `ALTER ROLE `+role+` BYPASSRLS`); err != nil {
		t.Fatal(err)
	}
	if stdout, stderr, code := runMain(t, env, "run", "--max-rejects", "-1"); code != 0 {
		t.Fatalf("run as a role that bypasses row-level security: exit %d\n%s\n%s", code, stdout, stderr)
	}
	var accounted int
	if err := target.QueryRow(ctx, `SELECT count(*) FROM cutover.dispositions WHERE legacy_table = 'users'`).Scan(&accounted); err != nil {
		t.Fatal(err)
	}
	if accounted != all {
		t.Errorf("the ledger accounts for %d legacy users, want all %d (%d visible under the policy)", accounted, all, visible)
	}
}

// TestUnreadableSourceTablesAreNamed: a role that may not read a table
// of the source (here one column of sessions) would stop the extract at
// that table, minutes in. Every command names all such tables at
// detection instead, with the grants that fix it, before it writes
// anything; after the grant the run finishes.
func TestUnreadableSourceTablesAreNamed(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	src, dst := reportLegacy(t), testkit.MigratedTarget(t)
	admin := pgtest.Connect(t, pgtest.AdminURL(t))
	conn := pgtest.Connect(t, src)
	role := pgtest.NewRole(t, admin, conn, "cutover_grants", "")
	if _, err := conn.Exec(ctx, `GRANT SELECT ON ALL TABLES IN SCHEMA public TO `+role+`; REVOKE SELECT ON sessions FROM `+role+`; GRANT SELECT (id, user_id) ON sessions TO `+role); err != nil {
		t.Fatal(err)
	}
	env := []string{"CUTOVER_SOURCE_URL=" + pgtest.AsRole(t, src, role), "CUTOVER_TARGET_URL=" + dst}
	want := "role " + role + " may not read the source's table sessions: grant it the right to read them all"
	refusedByAll(t, env, want, []string{"run", "--max-rejects", "-1"}, []string{"diff"}, []string{"verify"}, []string{"status"})
	var users int
	if err := pgtest.Connect(t, dst).QueryRow(ctx, `SELECT count(*) FROM users`).Scan(&users); err != nil || users != 0 {
		t.Fatalf("the refused commands wrote %d users (%v)", users, err)
	}
	if _, err := conn.Exec(ctx, `GRANT SELECT ON sessions TO `+role); err != nil {
		t.Fatal(err)
	}
	if stdout, stderr, code := runMain(t, env, "run", "--max-rejects", "-1"); code != 0 {
		t.Fatalf("run once the role may read every table: exit %d\n%s\n%s", code, stdout, stderr)
	}
}

// TestRunRefusesARoleThatDoesNotOwnTheTarget: a run as a role with rights
// to the target's rows but not its schema (an application's role, on a
// target whose schema another role applied) used to stop at its first
// write with a permission error and advice to re-run. It is refused before
// anything is written, naming the schema's owner; as a member of that
// owner, the same role runs the cutover.
func TestRunRefusesARoleThatDoesNotOwnTheTarget(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	src, dst := reportLegacy(t), testkit.MigratedTarget(t)
	admin := pgtest.Connect(t, pgtest.AdminURL(t))
	conn := pgtest.Connect(t, dst)
	role := pgtest.NewRole(t, admin, conn, "cutover_app", "")
	var owner string
	if err := conn.QueryRow(ctx, `SELECT pg_get_userbyid(relowner) FROM pg_class WHERE oid = 'public.users'::regclass`).Scan(&owner); err != nil {
		t.Fatal(err)
	}
	u, err := url.Parse(dst)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := conn.Exec(ctx, `GRANT CREATE ON DATABASE `+strings.TrimPrefix(u.Path, "/")+` TO `+role+`;
		GRANT SELECT, INSERT, UPDATE, DELETE ON ALL TABLES IN SCHEMA public TO `+role+`;
		GRANT USAGE ON SCHEMA cutover TO `+role); err != nil {
		t.Fatal(err)
	}
	u.User = url.User(role)
	env := []string{"CUTOVER_SOURCE_URL=" + src, "CUTOVER_TARGET_URL=" + u.String()}
	want := "role " + role + " does not own the schema of the target"
	stdout, stderr, code := runMain(t, env, "run", "--max-rejects", "-1")
	if code == 0 || !strings.Contains(stderr, want) || !strings.Contains(stderr, "belong to "+owner+". A run creates") || strings.Contains(stderr, "re-running") {
		t.Fatalf("run: exit %d, want %q naming %s and no advice to re-run\n%s\n%s", code, want, owner, stdout, stderr)
	}
	var users int
	if err := conn.QueryRow(ctx, `SELECT count(*) FROM users`).Scan(&users); err != nil || users != 0 {
		t.Fatalf("the refused run wrote %d users (%v)", users, err)
	}
	if _, err := admin.Exec(ctx, `GRANT `+owner+` TO `+role); err != nil {
		t.Fatal(err)
	}
	if stdout, stderr, code := runMain(t, env, "run", "--max-rejects", "-1"); code != 0 {
		t.Fatalf("run as a member of the schema's owner: exit %d\n%s\n%s", code, stdout, stderr)
	}
}
