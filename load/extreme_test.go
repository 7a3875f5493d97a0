package load

import (
	"context"
	"strconv"
	"strings"
	"testing"

	"github.com/cutover/cutover/internal/testkit"
)

// TestRunTakesInfiniteCreationTimesOfItems: a v21 market item's
// created_at may be infinity or -infinity (a legal timestamptz). Its key
// is de-collided by (created_at, id) as PostgreSQL orders them: -infinity
// first, infinity last. The run used to fail on every attempt reading
// such an item into a Go time, and verify with it.
func TestRunTakesInfiniteCreationTimesOfItems(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	src := editedSource(t, "infinite_items", `
		UPDATE market_items SET created_at = 'infinity' WHERE name = 'cafe creme';
		UPDATE market_items SET created_at = '-infinity' WHERE name = 'CAFE--CRÈME!'`)
	dst := testkit.MigratedTarget(t)
	if _, err := Run(ctx, rerunConfig(src, dst)); err != nil {
		t.Fatalf("run with items created at ±infinity: %v", err)
	}
	// The suffix of the key each legacy item of the slug reached (1 for
	// the bare slug), by name.
	suffix := map[string]int{}
	for _, name := range strings.Split(scalarOf[string](t, ctx, src, `SELECT string_agg(name || '=' || id, '|') FROM market_items`), "|") {
		name, id, _ := strings.Cut(name, "=")
		key := scalarOf[string](t, ctx, dst, `SELECT coalesce((SELECT t.key FROM cutover.dispositions d JOIN public.market_items t ON t.id = d.target_id
			WHERE d.legacy_table = 'market_items' AND d.legacy_key = $1), '')`, id)
		rest, ok := strings.CutPrefix(key, "cafe-creme")
		if !ok {
			continue
		}
		n := 1
		if rest != "" {
			var err error
			if n, err = strconv.Atoi(strings.TrimPrefix(rest, "-")); err != nil {
				continue // another slug ("cafe-creme-latte")
			}
		}
		suffix[name] = n
	}
	first, last := suffix["CAFE--CRÈME!"], suffix["cafe creme"]
	for name, n := range suffix {
		if n < first || n > last {
			t.Errorf("item %q has key suffix %d, outside the -infinity item's %d and the infinity item's %d (all: %v)", name, n, first, last, suffix)
		}
	}
	if len(suffix) < 2 || first == last {
		t.Fatalf("the items of slug cafe-creme: %v, want the two edited among them with keys of their own", suffix)
	}
	checkVerifies(t, ctx, src, dst)
}
