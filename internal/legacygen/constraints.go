package legacygen

import (
	"cmp"
	"context"
	"fmt"
	"slices"

	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgxpool"
	"golang.org/x/sync/errgroup"
)

// keys are the primary keys, unique constraints, foreign keys and indexes of
// the legacy schema. Generate drops them before it copies and re-creates
// them, with the same names and definitions, afterwards (as pg_restore
// does): checking a foreign key per row costs the server several times more
// than validating it once over the whole table. CHECK and NOT NULL
// constraints stay and are checked row by row. Re-creating validates every
// key, so the data satisfies the legacy schema exactly as if each row had
// been checked on the way in; the catalog is the same as before.
type keys struct {
	indexes []ddl // indexes that back no constraint
	uniques []ddl // PRIMARY KEY and UNIQUE constraints
	fks     []ddl
}

type ddl struct{ table, name, def string }

func (d ddl) tbl() string { return pgx.Identifier{d.table}.Sanitize() }

// dropKeys removes the keys of schema public and returns what re-creates them.
func dropKeys(ctx context.Context, conn *pgx.Conn) (*keys, error) {
	k := &keys{}
	rows, err := conn.Query(ctx, `SELECT t.relname::text, c.conname::text, c.contype::text, pg_get_constraintdef(c.oid)
		FROM pg_constraint c JOIN pg_class t ON t.oid = c.conrelid
		WHERE t.relnamespace = 'public'::regnamespace AND c.contype IN ('p', 'u', 'f')
		ORDER BY 1, 2`)
	if err != nil {
		return nil, fmt.Errorf("legacygen: read keys: %w", err)
	}
	var d ddl
	var typ string
	if _, err := pgx.ForEachRow(rows, []any{&d.table, &d.name, &typ, &d.def}, func() error {
		if typ == "f" {
			k.fks = append(k.fks, d)
		} else {
			k.uniques = append(k.uniques, d)
		}
		return nil
	}); err != nil {
		return nil, fmt.Errorf("legacygen: read keys: %w", err)
	}
	rows, err = conn.Query(ctx, `SELECT t.relname::text, i.relname::text, pg_get_indexdef(x.indexrelid)
		FROM pg_index x JOIN pg_class i ON i.oid = x.indexrelid JOIN pg_class t ON t.oid = x.indrelid
		WHERE t.relnamespace = 'public'::regnamespace
		  AND NOT EXISTS (SELECT 1 FROM pg_constraint c
		                  WHERE c.conindid = x.indexrelid AND c.conrelid = x.indrelid AND c.contype IN ('p', 'u', 'x'))
		ORDER BY 1, 2`)
	if err != nil {
		return nil, fmt.Errorf("legacygen: read indexes: %w", err)
	}
	if _, err := pgx.ForEachRow(rows, []any{&d.table, &d.name, &d.def}, func() error {
		k.indexes = append(k.indexes, d)
		return nil
	}); err != nil {
		return nil, fmt.Errorf("legacygen: read indexes: %w", err)
	}
	err = pgx.BeginFunc(ctx, conn, func(tx pgx.Tx) error {
		var stmts []string
		for _, f := range k.fks {
			stmts = append(stmts, fmt.Sprintf("ALTER TABLE %s DROP CONSTRAINT %s", f.tbl(), pgx.Identifier{f.name}.Sanitize()))
		}
		for _, u := range k.uniques {
			stmts = append(stmts, fmt.Sprintf("ALTER TABLE %s DROP CONSTRAINT %s", u.tbl(), pgx.Identifier{u.name}.Sanitize()))
		}
		for _, i := range k.indexes {
			stmts = append(stmts, "DROP INDEX "+pgx.Identifier{i.name}.Sanitize())
		}
		for _, s := range stmts {
			if _, err := tx.Exec(ctx, s); err != nil {
				return fmt.Errorf("legacygen: %s: %w", s, err)
			}
		}
		return nil
	})
	if err != nil {
		return nil, err
	}
	return k, nil
}

// restore re-creates the keys: per table its indexes and unique keys, then
// every foreign key NOT VALID, then each validated, tables in parallel.
func (k *keys) restore(ctx context.Context, pool *pgxpool.Pool, parallel int, rows map[string]int64) error {
	perTable := func(ds []ddl) [][]ddl {
		var out [][]ddl
		for _, d := range ds {
			if n := len(out); n > 0 && out[n-1][0].table == d.table {
				out[n-1] = append(out[n-1], d)
			} else {
				out = append(out, []ddl{d})
			}
		}
		// the biggest tables first
		slices.SortStableFunc(out, func(a, b []ddl) int { return cmp.Compare(rows[b[0].table], rows[a[0].table]) })
		return out
	}
	each := func(groups [][]ddl, stmt func(d ddl) string) error {
		eg, ctx := errgroup.WithContext(ctx)
		eg.SetLimit(parallel)
		for _, grp := range groups {
			eg.Go(func() error {
				for _, d := range grp {
					if _, err := pool.Exec(ctx, stmt(d)); err != nil {
						return fmt.Errorf("legacygen: re-create %s on %s: %w", d.name, d.table, err)
					}
				}
				return nil
			})
		}
		return eg.Wait()
	}
	both := append(slices.Clone(k.indexes), k.uniques...)
	slices.SortStableFunc(both, func(a, b ddl) int { return cmp.Compare(a.table, b.table) })
	if err := each(perTable(both), func(d ddl) string {
		if slices.Contains(k.indexes, d) {
			return d.def
		}
		return fmt.Sprintf("ALTER TABLE %s ADD CONSTRAINT %s %s", d.tbl(), pgx.Identifier{d.name}.Sanitize(), d.def)
	}); err != nil {
		return err
	}
	err := pgx.BeginTxFunc(ctx, pool, pgx.TxOptions{}, func(tx pgx.Tx) error {
		for _, f := range k.fks {
			s := fmt.Sprintf("ALTER TABLE %s ADD CONSTRAINT %s %s NOT VALID", f.tbl(), pgx.Identifier{f.name}.Sanitize(), f.def)
			if _, err := tx.Exec(ctx, s); err != nil {
				return fmt.Errorf("legacygen: re-create %s on %s: %w", f.name, f.table, err)
			}
		}
		return nil
	})
	if err != nil {
		return err
	}
	return each(perTable(k.fks), func(d ddl) string {
		return fmt.Sprintf("ALTER TABLE %s VALIDATE CONSTRAINT %s", d.tbl(), pgx.Identifier{d.name}.Sanitize())
	})
}
