package testkit

import (
	"context"
	"fmt"
	"testing"

	"github.com/google/go-cmp/cmp"
	"github.com/jackc/pgx/v5"
)

// Fingerprint returns, per table, the row count and an md5 of the ordered
// rows: every application table, and the bookkeeping of what happened to
// each legacy row (dispositions, rejects, archive, discards, results, column
// losses, batches) without the run that wrote it or when (nor the time a
// mapping was judged at, the run's start). A partitioned
// table (the ledger) is read whole through its parent.
func Fingerprint(ctx context.Context, u string) (map[string]string, error) {
	c, err := pgx.Connect(ctx, u)
	if err != nil {
		return nil, err
	}
	defer c.Close(context.WithoutCancel(ctx))
	rows, err := c.Query(ctx, `
		SELECT format('%I.%I', n.nspname, c.relname),
			CASE WHEN n.nspname = 'public' THEN 'x' ELSE
				'ROW(' || string_agg(format('%I', a.attname), ', ' ORDER BY a.attname)
					FILTER (WHERE a.attname NOT IN ('run_id', 'finished_at', 'judged_at')) || ')' END
		FROM pg_class c JOIN pg_namespace n ON n.oid = c.relnamespace
		JOIN pg_attribute a ON a.attrelid = c.oid AND a.attnum > 0 AND NOT a.attisdropped
		WHERE c.relkind IN ('r', 'p') AND NOT c.relispartition AND (n.nspname = 'public'
			OR n.nspname = 'cutover' AND c.relname IN ('dispositions', 'rejects', 'archive', 'discards', 'results', 'column_loss', 'batches', 'seeds_replaced'))
		GROUP BY 1, n.nspname ORDER BY 1`)
	if err != nil {
		return nil, err
	}
	type table struct{ name, row string }
	tables, err := pgx.CollectRows(rows, func(r pgx.CollectableRow) (table, error) {
		var t table
		return t, r.Scan(&t.name, &t.row)
	})
	if err != nil {
		return nil, err
	}
	out := map[string]string{}
	for _, t := range tables {
		var n int64
		var sum string
		if err := c.QueryRow(ctx, `SELECT count(*), md5(coalesce(string_agg(r, E'\n' ORDER BY r COLLATE "C"), ''))
			FROM (SELECT `+t.row+`::text AS r FROM `+t.name+` x) y`).Scan(&n, &sum); err != nil {
			return nil, fmt.Errorf("%s: %w", t.name, err)
		}
		out[t.name] = fmt.Sprintf("%d rows, md5 %s", n, sum)
	}
	return out, nil
}

// SameAs fails the test when the target at u differs from the reference
// fingerprint want, or when the fingerprint misses the application tables
// or the ledger.
func SameAs(t testing.TB, want map[string]string, u string) {
	t.Helper()
	got, err := Fingerprint(context.Background(), u)
	if err != nil {
		t.Fatal(err)
	}
	if _, ok := got[`cutover.dispositions`]; len(got) < 60 || !ok {
		t.Fatalf("fingerprint covers only %d tables (ledger included: %v)", len(got), ok)
	}
	if d := cmp.Diff(want, got); d != "" {
		t.Errorf("target differs from the reference run's (-reference +target):\n%s", d)
	}
}
