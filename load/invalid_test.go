package load

import (
	"context"
	"strings"
	"testing"

	"github.com/cutover/cutover/internal/testkit"
	"github.com/cutover/cutover/mappings"
	"github.com/cutover/cutover/reconcile"
)

// TestRunRejectsANegativeItemCost: v21's market_items lost the CHECK
// (cost_coins >= 0) that the target keeps. An item of a negative cost is
// rejected with its value, its purchases with it, and the run finishes
// and verifies; a re-run after the source is fixed loads them, and the
// target equals a fresh run's on the fixed source.
func TestRunRejectsANegativeItemCost(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	// The item of the first purchase.
	const item = `(SELECT item_id FROM user_market_purchases ORDER BY id LIMIT 1)`
	src := editedSource(t, "negative_cost", `UPDATE market_items SET cost_coins = -5 WHERE id = `+item)
	id := scalarOf[string](t, ctx, src, `SELECT `+item+`::text`)
	purchases := scalarOf[int64](t, ctx, src, `SELECT count(*) FROM user_market_purchases WHERE item_id = $1`, id)

	dst := finishedTarget(t)
	if _, err := Run(ctx, rerunConfig(src, dst)); err != nil {
		t.Fatalf("run with an item of a negative cost: %v", err)
	}
	msg := scalarOf[string](t, ctx, dst, `SELECT reason || ': ' || message || ' ' || (row->>'cost_coins') FROM cutover.rejects
		WHERE legacy_table = 'market_items' AND legacy_key = $1`, id)
	if want := mappings.ReasonInvalidValue + ": column cost_coins: -5 is negative"; !strings.HasPrefix(msg, want) || !strings.HasSuffix(msg, " -5") {
		t.Errorf("the item's reject says %q, want %q… and the row's cost -5", msg, want)
	}
	if n := scalarOf[int64](t, ctx, dst, `SELECT count(*) FROM cutover.dispositions WHERE legacy_table = 'user_market_purchases'
		AND disposition = 'rejected' AND reason = $1 AND legacy_key = ANY($2)`, mappings.ReasonParentRejected, purchaseKeys(t, ctx, src, id)); n != purchases || n == 0 {
		t.Errorf("%d of the item's %d purchases rejected as %s", n, purchases, mappings.ReasonParentRejected)
	}
	if n := scalarOf[int64](t, ctx, dst, `SELECT count(*) FROM market_items WHERE id::text = $1`, id); n != 0 {
		t.Error("the item of a negative cost is in the target")
	}
	res, err := reconcile.Verify(ctx, reconcile.Config{SourceURL: src, TargetURL: dst, Workers: 2})
	if err != nil {
		t.Fatalf("verify: %v", err)
	}
	for _, f := range res.Findings {
		if f.Severity == reconcile.Failure {
			t.Errorf("verify: %s %s %s: %s", f.Check, f.Kind, f.Table, f.Message)
		}
	}

	// The source fixed: S0 again.
	if _, err := Run(ctx, rerunConfig(rerunSource(t), dst)); err != nil {
		t.Fatalf("re-run on the fixed source: %v", err)
	}
	testkit.SameAs(t, reference(t, "S0"), dst)
}

// purchaseKeys returns the legacy keys of item's purchases in src.
func purchaseKeys(t *testing.T, ctx context.Context, src, item string) []string {
	t.Helper()
	keys := scalarOf[string](t, ctx, src, `SELECT coalesce(string_agg(id::text, ' '), '') FROM user_market_purchases WHERE item_id = $1`, item)
	return strings.Fields(keys)
}
