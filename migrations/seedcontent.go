package migrations

import (
	"context"
	_ "embed"
	"fmt"
	"maps"
	"slices"
	"strings"

	"github.com/jackc/pgx/v5"
)

// A seeded row no legacy row merged onto stays as 0013_seeds.sql wrote it:
// verify compares each with the content the migration gives it
// (SeedContent, MigratedSeedContent), and the content a run kept of a
// seed it merged a legacy row onto (the bookkeeping's seeds_replaced) too.

// SeedContentSQL is the hash of the content of the row alias t of the
// public table whose name is the SQL text expression table, as
// SeedContent hashes a seeded row: the text of its JSON without the
// columns of a time type (a seed's created_at is when the migration ran).
func SeedContentSQL(t, table string) string {
	return `md5((` + t + ` - (SELECT coalesce(array_agg(a.attname::text), '{}') FROM pg_attribute a
		WHERE a.attrelid = ('public.' || quote_ident(` + table + `))::regclass AND a.attnum > 0 AND NOT a.attisdropped
			AND a.atttypid IN ('timestamptz'::regtype, 'timestamp'::regtype, 'date'::regtype)))::text)`
}

// SeedContent returns a line "<table> <id> <hash>" (SeedContentSQL) for
// each row 0013_seeds.sql inserts that the database q reads holds,
// sorted.
func SeedContent(ctx context.Context, q RowsQueryer) ([]string, error) {
	byTable, err := SeedRows()
	if err != nil {
		return nil, err
	}
	var out []string
	for _, table := range slices.Sorted(maps.Keys(byTable)) {
		rows, err := q.Query(ctx, `SELECT $1 || ' ' || t.id::text || ' ' || `+SeedContentSQL("to_jsonb(t)", "$1::text")+`
			FROM public.`+pgx.Identifier{table}.Sanitize()+` t WHERE t.id = ANY($2::uuid[])`, table, byTable[table])
		if err != nil {
			return nil, fmt.Errorf("read the seeded rows of %s: %w", table, err)
		}
		lines, err := pgx.CollectRows(rows, pgx.RowTo[string])
		if err != nil {
			return nil, fmt.Errorf("read the seeded rows of %s: %w", table, err)
		}
		out = append(out, lines...)
	}
	slices.Sort(out)
	return out, nil
}

// migratedSeedContent is SeedContent of a database the migrations just
// made (TestMigratedSeedContent keeps it so; go test ./migrations -update
// rewrites it).
//
//go:embed seeds.golden
var migratedSeedContent string

// MigratedSeedContent maps "<table> <id>" of every seeded row to the hash
// of the content 0013_seeds.sql gives it (SeedContent).
func MigratedSeedContent() map[string]string {
	return SeedContentByRow(strings.Split(strings.TrimSuffix(migratedSeedContent, "\n"), "\n"))
}

// SeedContentByRow maps SeedContent's lines by "<table> <id>" to their
// hashes.
func SeedContentByRow(lines []string) map[string]string {
	out := make(map[string]string, len(lines))
	for _, l := range lines {
		if i := strings.LastIndexByte(l, ' '); i > 0 {
			out[l[:i]] = l[i+1:]
		}
	}
	return out
}
