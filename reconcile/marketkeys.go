package reconcile

import (
	"context"
	"fmt"
	"slices"
	"strings"

	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgtype"

	"github.com/cutover/cutover/mappings"
	"github.com/cutover/cutover/transform"
)

// derivesMarketKeys reports whether m is the v21 market items' mapping,
// whose key column the run derives in Go from every item's name
// (transform.MarketKeys: a slug, de-collided by (created_at, id)), as load
// prepares it: no SQL over the legacy row alone computes it, so the content
// check's checksum leaves it out and marketKeyDiffs compares it.
func derivesMarketKeys(m mappings.Mapping) bool {
	return m.Prepare == mappings.DeriveMarketKeys
}

// derivedDiff is a row whose derived column differs: the legacy key, the
// value the legacy rows give, and the target's.
type derivedDiff struct {
	Key, Want, Got string
}

// marketKeyDiffs derives every v21 item's key from the source, as the run
// does, and compares it with the key of the target row each loaded or
// merged item reached (a merged item's row is the seeded row holding its
// key). It holds the items' names in memory: a catalog, as the run does.
func (v *verifier) marketKeyDiffs(ctx context.Context, sc, tc *pgx.Conn, m mappings.Mapping) ([]derivedDiff, error) {
	rows, err := sc.Query(ctx, `SELECT id::text, name, created_at FROM public.`+ident(m.Legacy))
	if err != nil {
		return nil, fmt.Errorf("read the legacy items: %w", err)
	}
	items, err := pgx.CollectRows(rows, func(r pgx.CollectableRow) (transform.MarketItem, error) {
		var it transform.MarketItem
		var at pgtype.Timestamptz
		err := r.Scan(&it.ID, &it.Name, &at)
		it.CreatedAt, it.Infinite = at.Time, int(at.InfinityModifier)
		return it, err
	})
	if err != nil {
		return nil, fmt.Errorf("read the legacy items: %w", err)
	}
	want := transform.MarketKeys(items)
	rows, err = tc.Query(ctx, `SELECT d.legacy_key, t.key FROM `+bk+`.dispositions d JOIN public.`+ident(m.Target)+` t ON t.id = d.target_id
		WHERE d.legacy_table = `+lit(m.Legacy)+` AND d.target_table = `+lit(m.Target)+` AND d.disposition IN ('loaded', 'merged')`)
	if err != nil {
		return nil, fmt.Errorf("read the target's item keys: %w", err)
	}
	var out []derivedDiff
	var key, got string
	_, err = pgx.ForEachRow(rows, []any{&key, &got}, func() error {
		// A key the source lacks is the conservation check's finding.
		if w, ok := want[key]; ok && w != got {
			out = append(out, derivedDiff{Key: key, Want: w, Got: got})
		}
		return nil
	})
	if err != nil {
		return nil, fmt.Errorf("read the target's item keys: %w", err)
	}
	slices.SortFunc(out, func(a, b derivedDiff) int { return strings.Compare(a.Key, b.Key) })
	return out, nil
}
