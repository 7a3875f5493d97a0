package main

import (
	"context"
	"strings"
	"testing"

	"github.com/cutover/cutover/internal/pgtest"
	"github.com/cutover/cutover/internal/testkit"
)

// TestSwappedSourceAndTargetAreNamed: the legacy database and the target
// given the wrong way round used to be refused as a source with unknown
// tables, or told to apply the target schema to the legacy database. Each
// command now says that the source is a cutover target, or that the
// target is a legacy database, and asks whether the two were swapped,
// before it reads or writes any row and without advice to re-run.
func TestSwappedSourceAndTargetAreNamed(t *testing.T) {
	t.Parallel()
	legacy, target := reportLegacy(t), testkit.MigratedTarget(t)
	for _, c := range []struct {
		name, src, dst string
		commands       [][]string
		want           string
	}{
		{"swapped", target, legacy, [][]string{{"run"}, {"diff"}, {"verify"}, {"status"}},
			"the source holds the target schema's records (cutover.schema_migrations, which `cutover schema apply` writes): it is a cutover target, not the legacy database; were --source and --target swapped?"},
		// seal, too (it said "no run has loaded this target").
		{"the legacy database as both", legacy, reportLegacy(t), [][]string{{"run"}, {"diff"}, {"seal"}},
			"is a legacy database (v21), not one the target schema was applied to: were --source and --target swapped?"},
		// schema status, too, after its table (it showed every migration
		// pending, and exit 0, inviting an apply).
		{"the legacy database migrated", legacy, legacy, [][]string{{"schema", "apply"}, {"schema", "status"}},
			"schema apply: the database already holds tables the target schema creates (accounts, achievement_definitions,"},
	} {
		t.Run(c.name, func(t *testing.T) {
			env := []string{"CUTOVER_SOURCE_URL=" + c.src, "CUTOVER_TARGET_URL=" + c.dst}
			refusedByAll(t, env, c.want, c.commands...)
		})
	}
}

// TestLegacyWithEmptySchemaRecordsIsASource: an older build's failed
// `schema apply` against the legacy database left the schema's records
// there, empty. The legacy database is still a source: only applied
// migrations make a cutover target.
func TestLegacyWithEmptySchemaRecordsIsASource(t *testing.T) {
	t.Parallel()
	src, dst := reportLegacy(t), testkit.MigratedTarget(t)
	if _, err := pgtest.Connect(t, src).Exec(context.Background(), `CREATE SCHEMA cutover;
		CREATE TABLE cutover.schema_migrations (id serial, version_id bigint, is_applied boolean, tstamp timestamp DEFAULT now());
		INSERT INTO cutover.schema_migrations (version_id, is_applied) VALUES (0, true)`); err != nil {
		t.Fatal(err)
	}
	env := []string{"CUTOVER_SOURCE_URL=" + src, "CUTOVER_TARGET_URL=" + dst}
	if stdout, stderr, code := runMain(t, env, "diff"); code != 0 || !strings.Contains(stdout+stderr, "TARGET TABLE") {
		t.Errorf("diff from the legacy database with empty schema records: exit %d\n%s\n%s", code, stdout, stderr)
	}
}

// TestRunRefusesATargetWithoutTheSchema: a target no one migrated, and
// one whose applied migration was changed since, are refused by run and
// diff before anything is written, with what to do and no advice to
// re-run, which could not help.
func TestRunRefusesATargetWithoutTheSchema(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	src := reportLegacy(t)
	empty, changed := pgtest.NewDB(t), testkit.MigratedTarget(t)
	if _, err := pgtest.Connect(t, changed).Exec(ctx, `UPDATE cutover.schema_checksums SET sha256 = md5(sha256) WHERE version = 4`); err != nil {
		t.Fatal(err)
	}
	for _, c := range []struct{ dst, want string }{
		{empty, "the target schema is not applied (0001_auth.sql is pending): run `cutover schema apply --target …` first (nothing was written)"},
		{changed, "the target schema's migration 0004_habits_goals.sql changed since it was applied"},
	} {
		env := []string{"CUTOVER_SOURCE_URL=" + src, "CUTOVER_TARGET_URL=" + c.dst}
		refusedByAll(t, env, c.want, []string{"run", "--max-rejects", "-1"}, []string{"diff"})
		// Status says what the run would refuse, where it used to say
		// that a run loads everything.
		for _, args := range [][]string{{"status"}, {"status", "--source", src}} {
			want := "NEXT RUN\n  a run would refuse this target: " + strings.TrimSuffix(c.want, " (nothing was written)")
			if stdout, stderr, code := runMain(t, env, args...); code != 0 || !strings.Contains(stdout, want) || strings.Contains(stdout, "nothing was written") {
				t.Errorf("%v: exit %d, want 0 and %q:\n%s\n%s", args, code, want, stdout, stderr)
			}
		}
		var written bool
		if err := pgtest.Connect(t, c.dst).QueryRow(ctx, `SELECT to_regclass('cutover.runs') IS NOT NULL`).Scan(&written); err != nil || written {
			t.Errorf("the refused commands wrote the run bookkeeping (%v)", err)
		}
	}
}
