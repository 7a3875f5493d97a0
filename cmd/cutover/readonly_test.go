package main

import (
	"context"
	"strings"
	"testing"

	"github.com/cutover/cutover/internal/pgcluster"
	"github.com/cutover/cutover/internal/pgtest"
	"github.com/cutover/cutover/migrations"
)

// TestWritingCommandsRefuseAReadOnlyTarget: a target whose sessions are
// read-only by default, and a target that is a hot standby (a reader
// endpoint given by mistake), are refused by run, diff and seal before
// they write anything, with what to give instead and no advice to re-run;
// status and verify, which only read the target, still work.
func TestWritingCommandsRefuseAReadOnlyTarget(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	src, dst := reportFinished(t)
	pgtest.AlterDatabase(t, dst, "SET default_transaction_read_only = on")
	env := []string{"CUTOVER_SOURCE_URL=" + src, "CUTOVER_TARGET_URL=" + dst}
	for _, args := range [][]string{{"run"}, {"run", "--dry-run"}, {"diff"}, {"seal"}} {
		stdout, stderr, code := runMain(t, env, args...)
		if code == 0 || !strings.Contains(stderr, "opens read-only sessions (default_transaction_read_only is on for this role or database)") || strings.Contains(stderr, "re-running") {
			t.Errorf("%s on a read-only target: exit %d\n%s\n%s", strings.Join(args, " "), code, stdout, stderr)
		}
	}
	for _, cmd := range []string{"status", "verify"} {
		if stdout, stderr, code := runMain(t, env, cmd); code != 0 {
			t.Errorf("%s on a read-only target: exit %d\n%s\n%s", cmd, code, stdout, stderr)
		}
	}

	primary, err := pgcluster.Start(ctx, pgcluster.Options{})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { primary.Stop() })
	if _, err := migrations.Apply(ctx, primary.URL("postgres"), nil); err != nil {
		t.Fatal(err)
	}
	standby, err := pgcluster.Start(ctx, pgcluster.Options{StandbyOf: primary})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { standby.Stop() })
	env = []string{"CUTOVER_SOURCE_URL=" + src, "CUTOVER_TARGET_URL=" + standby.URL("postgres")}
	for _, args := range [][]string{{"run"}, {"diff"}, {"seal"}} {
		stdout, stderr, code := runMain(t, env, args...)
		if code == 0 || !strings.Contains(stderr, "is a hot standby (in recovery), which cannot be written: give the primary's URL") || strings.Contains(stderr, "re-running") {
			t.Errorf("%s on a standby target: exit %d\n%s\n%s", strings.Join(args, " "), code, stdout, stderr)
		}
	}
}
