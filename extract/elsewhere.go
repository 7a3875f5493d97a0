package extract

import (
	"context"
	"fmt"
	"maps"
	"slices"
	"strings"

	"github.com/jackc/pgx/v5"
)

// SchemaTables is a schema other than public that holds tables named as
// legacy tables, and how many of them.
type SchemaTables struct {
	Schema string
	Tables int
}

// schemasHolding returns the schemas other than public (and the server's
// own) that hold tables with the names of legacy tables, most first: where
// a legacy database restored under another schema name keeps its tables.
// Detect reads only public.
func schemasHolding(ctx context.Context, conn Querier) ([]SchemaTables, error) {
	rows, err := conn.Query(ctx, `
		SELECT n.nspname, count(*)::int
		FROM pg_class c JOIN pg_namespace n ON n.oid = c.relnamespace
		WHERE c.relkind IN ('r', 'p') AND c.relname = ANY($1)
			AND n.nspname NOT IN ('public', 'information_schema') AND n.nspname NOT LIKE 'pg\_%'
		GROUP BY n.nspname
		ORDER BY 2 DESC, 1`, slices.Sorted(maps.Keys(KnownShapes)))
	if err != nil {
		return nil, fmt.Errorf("read which schemas hold legacy tables: %w", err)
	}
	held, err := pgx.CollectRows(rows, pgx.RowToStructByPos[SchemaTables])
	if err != nil {
		return nil, fmt.Errorf("read which schemas hold legacy tables: %w", err)
	}
	return held, nil
}

// elsewhereAdvice is what a FlavorError says of the legacy tables found
// in other schemas than public (held, most first; not empty).
func elsewhereAdvice(held []SchemaTables) string {
	var where []string
	for _, h := range held {
		where = append(where, fmt.Sprintf("schema %s holds %d of them", h.Schema, h.Tables))
	}
	return strings.Join(where, ", ") + fmt.Sprintf(
		"; cutover reads the legacy tables from schema public only: in a copy of that database, move them there "+
			"(ALTER SCHEMA public RENAME TO public_unused; ALTER SCHEMA %s RENAME TO public) and give the copy as the source",
		pgx.Identifier{held[0].Schema}.Sanitize())
}
