package migrations

import (
	"context"
	_ "embed"
	"fmt"
	"strings"

	"github.com/jackc/pgx/v5"
)

// The target's schema is what the migrations make of it. A target whose
// schema changed since (a column dropped or narrowed, a unique index or a
// foreign key dropped) can hold less than the cutover loaded, or let in
// what the cutover's invariants rule out, while its rows still compare
// equal through the columns it has left: verify compares the target's
// catalog with the migrations' (Catalog, MigratedCatalog).

// catalogSQL describes the tables of the target's public schema, one line
// an object, "<kind> <table>.<name>: <definition>", in the terms every
// supported server version (13 to 18) prints alike: each column's type
// and nullness, and its default (verify compares a column a mapping
// leaves to its default with that default); each primary key, unique,
// foreign key, check and
// exclusion constraint by its kind and columns (and a foreign key's
// referenced columns and actions; NOT NULL constraints, which PostgreSQL
// 18 records as constraints too, are the columns' nullness); each index
// by its uniqueness, its columns or expressions and its predicate; each
// relation by its kind (a table replaced by a view shows) and its
// row-level security (policies would hide rows from the application's
// roles, though not from verify's); and the triggers, policies and rules,
// which the migrations make none of (each is information when extra).
// The text of check expressions is left out: it changes no row a
// cutover wrote.
const catalogSQL = `SELECT line FROM (
SELECT 'column ' || c.relname || '.' || a.attname || ': ' || format_type(a.atttypid, a.atttypmod) ||
	CASE WHEN a.attnotnull THEN ' NOT NULL' ELSE '' END || coalesce(' DEFAULT ' || pg_get_expr(d.adbin, d.adrelid), '')
FROM pg_attribute a JOIN pg_class c ON c.oid = a.attrelid LEFT JOIN pg_attrdef d ON d.adrelid = a.attrelid AND d.adnum = a.attnum
WHERE c.relnamespace = 'public'::regnamespace AND c.relkind IN ('r', 'p') AND a.attnum > 0 AND NOT a.attisdropped
UNION ALL
SELECT 'constraint ' || c.relname || '.' || k.conname || ': ' ||
	CASE k.contype WHEN 'p' THEN 'PRIMARY KEY' WHEN 'u' THEN 'UNIQUE' WHEN 'f' THEN 'FOREIGN KEY'
		WHEN 'c' THEN 'CHECK' ELSE 'EXCLUDE' END ||
	' (' || coalesce((SELECT string_agg(a.attname, ', ' ORDER BY n) FROM unnest(k.conkey) WITH ORDINALITY u(attnum, n)
		JOIN pg_attribute a ON a.attrelid = k.conrelid AND a.attnum = u.attnum), '') || ')' ||
	CASE WHEN k.contype = 'f' THEN ' REFERENCES ' || r.relname || ' (' ||
		(SELECT string_agg(a.attname, ', ' ORDER BY n) FROM unnest(k.confkey) WITH ORDINALITY u(attnum, n)
		JOIN pg_attribute a ON a.attrelid = k.confrelid AND a.attnum = u.attnum) || ')' ||
		' ON DELETE ' || CASE k.confdeltype WHEN 'a' THEN 'NO ACTION' WHEN 'r' THEN 'RESTRICT' WHEN 'c' THEN 'CASCADE'
			WHEN 'n' THEN 'SET NULL' ELSE 'SET DEFAULT' END ||
		' ON UPDATE ' || CASE k.confupdtype WHEN 'a' THEN 'NO ACTION' WHEN 'r' THEN 'RESTRICT' WHEN 'c' THEN 'CASCADE'
			WHEN 'n' THEN 'SET NULL' ELSE 'SET DEFAULT' END ||
		CASE WHEN k.condeferrable THEN ' DEFERRABLE' ELSE '' END
	ELSE '' END
FROM pg_constraint k JOIN pg_class c ON c.oid = k.conrelid LEFT JOIN pg_class r ON r.oid = k.confrelid
WHERE k.connamespace = 'public'::regnamespace AND k.contype IN ('p', 'u', 'f', 'c', 'x')
UNION ALL
SELECT 'index ' || t.relname || '.' || c.relname || ': ' || CASE WHEN i.indisunique THEN 'UNIQUE ' ELSE '' END ||
	'(' || (SELECT string_agg(pg_get_indexdef(i.indexrelid, n, true), ', ' ORDER BY n) FROM generate_series(1, i.indnkeyatts) n) || ')' ||
	coalesce(' WHERE ' || pg_get_expr(i.indpred, i.indrelid, true), '')
FROM pg_index i JOIN pg_class c ON c.oid = i.indexrelid JOIN pg_class t ON t.oid = i.indrelid
WHERE t.relnamespace = 'public'::regnamespace
UNION ALL
SELECT 'relation ' || c.relname || ': ' || CASE c.relkind WHEN 'r' THEN 'table' WHEN 'p' THEN 'partitioned table' WHEN 'v' THEN 'view'
		WHEN 'm' THEN 'materialized view' WHEN 'f' THEN 'foreign table' WHEN 'S' THEN 'sequence' ELSE 'relation' END ||
	CASE WHEN c.relrowsecurity THEN ' ROW LEVEL SECURITY' ELSE '' END || CASE WHEN c.relforcerowsecurity THEN ' FORCED' ELSE '' END
FROM pg_class c
WHERE c.relnamespace = 'public'::regnamespace AND c.relkind IN ('r', 'p', 'v', 'm', 'f', 'S')
UNION ALL
SELECT 'trigger ' || c.relname || '.' || t.tgname || ': ' || pg_get_triggerdef(t.oid) ||
	CASE t.tgenabled WHEN 'D' THEN ' (disabled)' ELSE '' END
FROM pg_trigger t JOIN pg_class c ON c.oid = t.tgrelid
WHERE c.relnamespace = 'public'::regnamespace AND NOT t.tgisinternal
UNION ALL
SELECT 'policy ' || c.relname || '.' || p.polname || ': ' || CASE p.polcmd WHEN 'r' THEN 'SELECT' WHEN 'a' THEN 'INSERT'
		WHEN 'w' THEN 'UPDATE' WHEN 'd' THEN 'DELETE' ELSE 'ALL' END ||
	coalesce(' USING ' || pg_get_expr(p.polqual, p.polrelid), '') || coalesce(' WITH CHECK ' || pg_get_expr(p.polwithcheck, p.polrelid), '')
FROM pg_policy p JOIN pg_class c ON c.oid = p.polrelid
WHERE c.relnamespace = 'public'::regnamespace
UNION ALL
SELECT 'rule ' || c.relname || '.' || r.rulename || ': ' || pg_get_ruledef(r.oid)
FROM pg_rewrite r JOIN pg_class c ON c.oid = r.ev_class
WHERE c.relnamespace = 'public'::regnamespace AND r.rulename <> '_RETURN'
) x(line) ORDER BY line COLLATE "C"`

// RowsQueryer is what the readers of a database's catalog and seeded
// rows need of a connection.
type RowsQueryer interface {
	Query(ctx context.Context, sql string, args ...any) (pgx.Rows, error)
}

// Catalog describes the public schema of the database q is connected to
// (catalogSQL), in the order of its lines.
func Catalog(ctx context.Context, q RowsQueryer) ([]string, error) {
	rows, err := q.Query(ctx, catalogSQL)
	if err != nil {
		return nil, fmt.Errorf("read the target's catalog: %w", err)
	}
	lines, err := pgx.CollectRows(rows, pgx.RowTo[string])
	if err != nil {
		return nil, fmt.Errorf("read the target's catalog: %w", err)
	}
	return lines, nil
}

// migratedCatalog is Catalog of a database the migrations just made
// (TestMigratedCatalog keeps it so; go test ./migrations -update rewrites
// it).
//
//go:embed catalog.golden
var migratedCatalog string

// MigratedCatalog is Catalog of a database the migrations just made.
func MigratedCatalog() []string {
	return strings.Split(strings.TrimSuffix(migratedCatalog, "\n"), "\n")
}
