package load

import (
	"context"
	"testing"

	"github.com/cutover/cutover/internal/testkit"
	"github.com/cutover/cutover/mappings"
	"github.com/cutover/cutover/reconcile"
)

// TestRunWithoutSessions: `--no-sessions` discards every session, and the
// references to them become NULL (MAPPING.md, fine print 2); the target
// verifies. Turned on or off between runs over one source, the re-run
// writes what its dry run said and leaves the target a fresh run with the
// same option gives.
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
	res, err := reconcile.Verify(ctx, reconcile.Config{SourceURL: src, TargetURL: fresh, Workers: 2})
	if err != nil {
		t.Fatalf("verify: %v", err)
	}
	if !res.OK() {
		for _, f := range res.Findings {
			if f.Severity == reconcile.Failure {
				t.Errorf("verify after run --no-sessions: %s %s %s: %s", f.Check, f.Kind, f.Table, f.Message)
			}
		}
	}
	withoutSessions, err := testkit.Fingerprint(ctx, fresh)
	if err != nil {
		t.Fatal(err)
	}

	dst := finishedTarget(t)
	for _, step := range []struct {
		noSessions bool
		want       map[string]string
	}{{true, withoutSessions}, {false, reference(t, "S0")}} {
		diff, err := DryRun(ctx, config(dst, step.noSessions), 3)
		if err != nil {
			t.Fatalf("dry run, no sessions %v: %v", step.noSessions, err)
		}
		sum, err := Run(ctx, config(dst, step.noSessions))
		if err != nil {
			t.Fatalf("run, no sessions %v: %v", step.noSessions, err)
		}
		if sum.Changed() == 0 || sum.Changed() != diff.Changes() {
			t.Errorf("run, no sessions %v: changed %d rows, its dry run said %d", step.noSessions, sum.Changed(), diff.Changes())
		}
		testkit.SameAs(t, step.want, dst)
	}
}
