package load

import (
	"context"
	"testing"

	"github.com/cutover/cutover/internal/testkit"
	"github.com/cutover/cutover/mappings"
)

// TestRunWithoutSessions: `--no-sessions` discards every session, and the
// references to them become NULL (MAPPING.md, fine print 2); the target
// verifies. Turned on or off between runs over one source, the re-run
// leaves the target a fresh run with the same option gives (and writes
// what its dry run said, turned on).
func TestRunWithoutSessions(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	src := rerunSource(t)
	config := func(dst string, noSessions bool) Config {
		cfg := rerunConfig(src, dst)
		cfg.NoSessions = noSessions
		return cfg
	}

	fresh := testkit.MigratedTarget(t)
	if _, err := Run(ctx, config(fresh, true)); err != nil {
		t.Fatalf("run --no-sessions: %v", err)
	}
	legacySessions := scalarOf[int64](t, ctx, src, `SELECT count(*) FROM sessions`)
	legacyRefs := scalarOf[int64](t, ctx, src, `SELECT count(*) FROM audit_log WHERE session_id IS NOT NULL`)
	if legacySessions == 0 || legacyRefs == 0 {
		t.Fatalf("the source has %d sessions and %d audit rows of a session: nothing to discard", legacySessions, legacyRefs)
	}
	if n := scalarOf[int64](t, ctx, fresh, `SELECT count(*) FROM sessions`); n != 0 {
		t.Errorf("%d sessions in the target, want none", n)
	}
	discarded := scalarOf[int64](t, ctx, fresh, `SELECT count(*) FROM cutover.dispositions
		WHERE legacy_table = 'sessions' AND disposition = 'discarded' AND reason = $1`, mappings.ReasonAllSessions)
	if discarded != legacySessions {
		t.Errorf("%d sessions discarded as %s, want all %d", discarded, mappings.ReasonAllSessions, legacySessions)
	}
	if n := scalarOf[int64](t, ctx, fresh, `SELECT count(*) FROM audit_log WHERE session_id IS NOT NULL`); n != 0 {
		t.Errorf("%d audit rows keep a session, want none", n)
	}
	checkVerifies(t, ctx, src, fresh)
	withoutSessions, err := testkit.Fingerprint(ctx, fresh)
	if err != nil {
		t.Fatal(err)
	}

	// The option turned on over a target loaded without it: the dry run
	// says what the run writes.
	dst := finishedTarget(t)
	diff, err := DryRun(ctx, config(dst, true), 3)
	if err != nil {
		t.Fatalf("dry run --no-sessions: %v", err)
	}
	sum, err := Run(ctx, config(dst, true))
	if err != nil {
		t.Fatalf("run --no-sessions: %v", err)
	}
	if sum.Changed() == 0 || sum.Changed() != diff.Changes() {
		t.Errorf("run --no-sessions: changed %d rows, its dry run said %d", sum.Changed(), diff.Changes())
	}
	testkit.SameAs(t, withoutSessions, dst)
	// And off again.
	if sum, err = Run(ctx, config(dst, false)); err != nil {
		t.Fatalf("run without --no-sessions again: %v", err)
	}
	if sum.Changed() == 0 {
		t.Error("run without --no-sessions again changed nothing")
	}
	testkit.SameAs(t, reference(t, "S0"), dst)
}
