package reconcile

import (
	"context"
	"testing"

	"github.com/jackc/pgx/v5"

	"github.com/cutover/cutover/internal/pgtest"
)

// TestHashGroupedScopesTheSetting: a bucket query runs with sorts
// penalized, and the connection has them back for the next query.
func TestHashGroupedScopesTheSetting(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	conn, err := pgx.Connect(ctx, pgtest.NewDB(t))
	if err != nil {
		t.Fatal(err)
	}
	defer conn.Close(ctx)
	var during []string
	err = hashGrouped(ctx, conn, `SELECT current_setting('enable_sort') FROM generate_series(1, $1)`, []any{2}, func(rows pgx.Rows) error {
		var s string
		if err := rows.Scan(&s); err != nil {
			return err
		}
		during = append(during, s)
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	var after string
	if err := conn.QueryRow(ctx, `SELECT current_setting('enable_sort')`).Scan(&after); err != nil {
		t.Fatal(err)
	}
	if len(during) != 2 || during[0] != "off" || after != "on" {
		t.Errorf("enable_sort %v during the query, %q after; want off twice, then on", during, after)
	}
}
