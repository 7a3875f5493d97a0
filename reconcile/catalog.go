package reconcile

import (
	"context"
	"fmt"
	"slices"
	"strings"

	"github.com/jackc/pgx/v5"

	"github.com/cutover/cutover/internal/coldefault"
)

// table is what the checks need of a table's catalog entry.
type table struct {
	Name    string
	Columns []string          // in order
	Types   map[string]string // format_type
	PK      []string
	// Fixed maps the columns whose value is the same in every row an
	// insert leaves them out of to that value (coldefault).
	Fixed map[string]string
}

func (t *table) has(c string) bool { _, ok := t.Types[c]; return ok }

// foreignKey is one foreign key constraint of the target.
type foreignKey struct {
	Name          string
	Child, Parent string
	ChildCols     []string
	ParentCols    []string
}

// uniqueIndex is one unique index of the target (PKs aside).
type uniqueIndex struct {
	Name, Table string
	Exprs       []string // key columns or expressions, as SQL
	Predicate   string   // partial index predicate, or ""
	Valid       bool
}

type catalog struct {
	Tables  map[string]*table
	FKs     []foreignKey
	Uniques []uniqueIndex
}

// readCatalog reads the tables of schema public (and, for the target, its
// foreign keys and unique indexes).
func readCatalog(ctx context.Context, conn *pgx.Conn, constraints bool) (*catalog, error) {
	cat := &catalog{Tables: map[string]*table{}}
	rows, err := conn.Query(ctx, `SELECT c.relname, a.attname, format_type(a.atttypid, a.atttypmod),
			coalesce(a.attnum = ANY (i.indkey), false), `+coldefault.FixedSQL+`
		FROM pg_class c
		JOIN pg_attribute a ON a.attrelid = c.oid AND a.attnum > 0 AND NOT a.attisdropped
		LEFT JOIN pg_index i ON i.indrelid = c.oid AND i.indisprimary
		LEFT JOIN pg_attrdef d ON d.adrelid = c.oid AND d.adnum = a.attnum
		WHERE c.relnamespace = 'public'::regnamespace AND c.relkind IN ('r', 'p')
		ORDER BY c.relname, a.attnum`)
	if err != nil {
		return nil, fmt.Errorf("read catalog: %w", err)
	}
	for rows.Next() {
		var t, c, typ string
		var pk bool
		var fixed *string
		if err := rows.Scan(&t, &c, &typ, &pk, &fixed); err != nil {
			return nil, fmt.Errorf("read catalog: %w", err)
		}
		tb := cat.Tables[t]
		if tb == nil {
			tb = &table{Name: t, Types: map[string]string{}, Fixed: map[string]string{}}
			cat.Tables[t] = tb
		}
		tb.Columns = append(tb.Columns, c)
		tb.Types[c] = typ
		if fixed != nil {
			tb.Fixed[c] = coldefault.Cast(*fixed, typ)
		}
		if pk {
			tb.PK = append(tb.PK, c)
		}
	}
	if err := rows.Err(); err != nil {
		return nil, fmt.Errorf("read catalog: %w", err)
	}
	if !constraints {
		return cat, nil
	}
	frows, err := conn.Query(ctx, `SELECT k.conname, c.relname, p.relname,
			(SELECT array_agg(a.attname ORDER BY x.n) FROM unnest(k.conkey) WITH ORDINALITY x(attnum, n)
				JOIN pg_attribute a ON a.attrelid = k.conrelid AND a.attnum = x.attnum),
			(SELECT array_agg(a.attname ORDER BY x.n) FROM unnest(k.confkey) WITH ORDINALITY x(attnum, n)
				JOIN pg_attribute a ON a.attrelid = k.confrelid AND a.attnum = x.attnum)
		FROM pg_constraint k
		JOIN pg_class c ON c.oid = k.conrelid
		JOIN pg_class p ON p.oid = k.confrelid
		WHERE k.contype = 'f' AND c.relnamespace = 'public'::regnamespace
		ORDER BY c.relname, k.conname`)
	if err != nil {
		return nil, fmt.Errorf("read foreign keys: %w", err)
	}
	for frows.Next() {
		var f foreignKey
		if err := frows.Scan(&f.Name, &f.Child, &f.Parent, &f.ChildCols, &f.ParentCols); err != nil {
			return nil, fmt.Errorf("read foreign keys: %w", err)
		}
		cat.FKs = append(cat.FKs, f)
	}
	if err := frows.Err(); err != nil {
		return nil, fmt.Errorf("read foreign keys: %w", err)
	}
	urows, err := conn.Query(ctx, `SELECT ic.relname, c.relname, i.indisvalid,
			(SELECT array_agg(pg_get_indexdef(i.indexrelid, n, true) ORDER BY n) FROM generate_series(1, i.indnkeyatts) n),
			coalesce(pg_get_expr(i.indpred, i.indrelid, true), '')
		FROM pg_index i
		JOIN pg_class c ON c.oid = i.indrelid
		JOIN pg_class ic ON ic.oid = i.indexrelid
		WHERE c.relnamespace = 'public'::regnamespace AND i.indisunique AND NOT i.indisprimary
		ORDER BY c.relname, ic.relname`)
	if err != nil {
		return nil, fmt.Errorf("read unique indexes: %w", err)
	}
	for urows.Next() {
		var u uniqueIndex
		if err := urows.Scan(&u.Name, &u.Table, &u.Valid, &u.Exprs, &u.Predicate); err != nil {
			return nil, fmt.Errorf("read unique indexes: %w", err)
		}
		cat.Uniques = append(cat.Uniques, u)
	}
	return cat, urows.Err()
}

func lit(s string) string { return "'" + strings.ReplaceAll(s, "'", "''") + "'" }

func ident(parts ...string) string { return pgx.Identifier(parts).Sanitize() }

// uuidArray renders ids as a uuid[] literal.
func uuidArray(ids []string) string {
	return "'{" + strings.Join(ids, ",") + "}'::uuid[]"
}

// fedBy renders the condition that ledger row alias a (empty: no alias)
// belongs to a legacy table whose mappings write target table target. A
// reader of a whole target table's claims adds it: the ledger is
// partitioned by legacy table, so this reads the feeding tables' partitions
// only (its index by target row cannot range over a table). A claim from
// any other legacy table could only be a bug; its target row then shows as
// unexplained, so the check still fails.
func (v *verifier) fedBy(target, a string) string {
	var feeders []string
	for _, m := range v.ms {
		if m.Target == target {
			feeders = append(feeders, lit(m.Legacy))
		}
	}
	if a != "" {
		a += "."
	}
	if len(feeders) == 0 {
		return "false"
	}
	slices.Sort(feeders)
	return a + "legacy_table IN (" + strings.Join(slices.Compact(feeders), ", ") + ")"
}
