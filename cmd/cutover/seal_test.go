package main

import (
	"context"
	"regexp"
	"strings"
	"testing"

	"github.com/cutover/cutover/internal/pgtest"
	"github.com/cutover/cutover/migrations"
)

// TestSealCommand: a target is sealed only once its last run finished;
// sealed, every run refuses without writing (and without the re-run hint),
// status says why, diff and verify still work (verify proves the finished
// cutover: exit 0); the seal is idempotent, and lifted, runs work again.
func TestSealCommand(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	src, dst := reportLegacy(t), pgtest.NewDB(t)
	if _, err := migrations.Apply(ctx, dst, nil); err != nil {
		t.Fatal(err)
	}
	env := []string{"CUTOVER_SOURCE_URL=" + src, "CUTOVER_TARGET_URL=" + dst}
	must := func(want int, args ...string) (string, string) {
		t.Helper()
		stdout, stderr, code := runMain(t, env, args...)
		if (code == 0) != (want == 0) {
			t.Fatalf("cutover %s: exit %d\n%s\n%s", strings.Join(args, " "), code, stdout, stderr)
		}
		return stdout, stderr
	}
	if _, stderr := must(1, "seal"); !strings.Contains(stderr, "the cutover is not finished: no run has loaded this target") {
		t.Errorf("seal before any run:\n%s", stderr)
	}
	must(1, "run", "--max-rejects", "1")
	if _, stderr := must(1, "seal"); !regexp.MustCompile(`the cutover is not finished: its last run \(1\) is failed`).MatchString(stderr) {
		t.Errorf("seal after a failed run:\n%s", stderr)
	}
	// The finished run keeps its stage, and a dry run killed after it
	// left its scratch schema: status names it, sealing drops both.
	must(0, "run", "--keep-stage")
	stoppedDryRun := func() {
		t.Helper()
		if _, err := pgtest.Connect(t, dst).Exec(ctx, `CREATE SCHEMA cutover_dryrun; CREATE UNLOGGED TABLE cutover_dryrun.users AS SELECT 'a copy of a legacy row' AS token`); err != nil {
			t.Fatal(err)
		}
	}
	stoppedDryRun()
	if stdout, _ := must(0, "status"); !strings.Contains(stdout, "a dry run that did not end (killed, or its server lost) left its scratch schema cutover_dryrun (") {
		t.Errorf("status of a target with a stopped dry run's scratch schema:\n%s", stdout)
	}
	sealed := regexp.MustCompile(`^the target is sealed since (\S+) \(after run 2\)`)
	stdout, _ := must(0, "seal")
	first := sealed.FindStringSubmatch(stdout)
	if first == nil || strings.Contains(stdout, "already") {
		t.Fatalf("seal after a finished run:\n%s", stdout)
	}
	if !regexp.MustCompile(`\ndropped the stage schema a run kept \(\d+ [kMG]?B\): it held copies of legacy rows\n`).MatchString(stdout) ||
		reportScalar(t, dst, `SELECT (to_regnamespace('cutover_stage') IS NULL)::text`) != "true" {
		t.Errorf("seal after a run that kept its stage did not drop it:\n%s", stdout)
	}
	if !regexp.MustCompile(`\ndropped the scratch schema a stopped dry run left \(\d+ [kMG]?B\): it held copies of legacy rows\n`).MatchString(stdout) ||
		reportScalar(t, dst, `SELECT (to_regnamespace('cutover_dryrun') IS NULL)::text`) != "true" {
		t.Errorf("seal after a dry run was stopped did not drop its scratch schema:\n%s", stdout)
	}
	// Sealed, a run refuses: a stopped dry run's scratch schema is then
	// dropped by a dry run or a seal, and a second seal drops it.
	stoppedDryRun()
	if stdout, _ := must(0, "status"); !strings.Contains(stdout, "the next `cutover diff` or `seal` drops it") {
		t.Errorf("status of a sealed target with a stopped dry run's scratch schema:\n%s", stdout)
	}
	stdout, _ = must(0, "seal")
	if !strings.Contains(stdout, "\ndropped the scratch schema a stopped dry run left (") ||
		reportScalar(t, dst, `SELECT (to_regnamespace('cutover_dryrun') IS NULL)::text`) != "true" {
		t.Errorf("sealing a sealed target did not drop a stopped dry run's scratch schema:\n%s", stdout)
	}
	if !strings.HasPrefix(stdout, first[0]+" (it was already):") {
		t.Errorf("sealing again changed the seal, or did not say it was sealed:\n%s\nwant %s (it was already):", stdout, first[0])
	}
	runs := reportScalar(t, dst, `SELECT count(*)::text FROM cutover.runs`)
	_, stderr := must(1, "run")
	if !strings.Contains(stderr, "the target went live: it was sealed at "+first[1]) || strings.Contains(stderr, "re-running") {
		t.Errorf("run on a sealed target:\n%s", stderr)
	}
	if got := reportScalar(t, dst, `SELECT count(*)::text FROM cutover.runs`); got != runs {
		t.Errorf("a refused run recorded itself: %s runs, want %s", got, runs)
	}
	if stdout, _ := must(0, "status"); !strings.Contains(stdout, "the target went live") || !strings.Contains(stdout, "A run refuses; unsealed: the source is unchanged") {
		t.Errorf("status of a sealed target:\n%s", stdout)
	}
	// The dry run still compares, and says that a run refuses.
	if stdout, _ := must(0, "diff"); !strings.Contains(stdout, "\ndry run: the target is sealed (it went live), and a run refuses it; unsealed, a run would change nothing") {
		t.Errorf("diff of a sealed target:\n%s", stdout)
	}
	if stdout, _ := must(0, "verify"); !strings.Contains(stdout, "verify: OK") {
		t.Errorf("verify of a sealed target:\n%s", stdout)
	}
	if stdout, _ := must(0, "seal", "--undo"); !strings.Contains(stdout, "lifted the seal of "+first[1]) {
		t.Errorf("seal --undo:\n%s", stdout)
	}
	stoppedDryRun()
	if _, stderr := must(0, "run"); !strings.Contains(stderr, "nothing to do") || !strings.Contains(stderr, "dropped the scratch schema cutover_dryrun (") ||
		reportScalar(t, dst, `SELECT (to_regnamespace('cutover_dryrun') IS NULL)::text`) != "true" {
		t.Errorf("run after the seal was lifted, with a stopped dry run's scratch schema:\n%s", stderr)
	}
}
