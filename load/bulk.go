package load

import (
	"context"
	"fmt"

	"github.com/jackc/pgx/v5"
)

// A first load of a mapping into an empty target table writes it the way
// pg_restore and pgcopydb do: the table's indexes are dropped in the apply
// transaction, the rows go into the bare heap, and the indexes are built
// again from the data (one sort each instead of a random B-tree insert per
// row). Everything happens in the mapping's transaction, so a failure or a
// crash leaves the table with its indexes, as it was.

// rebuild is one index of a target table dropped for a bulk load.
type rebuild struct {
	name         string
	primary      bool // the primary key
	drop, create string
}

// bulkTarget locks an empty target table for a bulk load and reports
// whether the load may drop its indexes: the table must be empty (no seed,
// no row of another mapping) and owned by the current role. The lock
// (ACCESS EXCLUSIVE, held to commit) keeps any other mapping writing the
// same table out until this one commits; it is taken only when the table
// looked empty, and emptiness is checked again under it.
func bulkTarget(ctx context.Context, tx pgx.Tx, table string) (bool, error) {
	q := `SELECT NOT EXISTS (SELECT 1 FROM ` + table + `)
		AND (SELECT pg_has_role(current_user, relowner, 'USAGE') FROM pg_class WHERE oid = '` + table + `'::regclass)`
	var ok bool
	if err := tx.QueryRow(ctx, q).Scan(&ok); err != nil || !ok {
		return false, err
	}
	if _, err := tx.Exec(ctx, `LOCK TABLE `+table+` IN ACCESS EXCLUSIVE MODE`); err != nil {
		return false, err
	}
	err := tx.QueryRow(ctx, q).Scan(&ok)
	return ok, err
}

// dropIndexes drops the indexes of table that can be rebuilt from its data
// alone (plain indexes, primary keys and unique constraints that no foreign
// key depends on) and returns how to build each again, in name order.
// Indexes a foreign key depends on, and exclusion constraints, stay.
func dropIndexes(ctx context.Context, tx pgx.Tx, table string) ([]rebuild, error) {
	rows, err := tx.Query(ctx, `SELECT quote_ident(n.nspname) || '.' || quote_ident(ic.relname), c.conname,
			pg_get_indexdef(i.indexrelid), pg_get_constraintdef(c.oid), coalesce(c.contype = 'p', false)
		FROM pg_index i
		JOIN pg_class ic ON ic.oid = i.indexrelid
		JOIN pg_namespace n ON n.oid = ic.relnamespace
		LEFT JOIN pg_constraint c ON c.conindid = i.indexrelid AND c.conrelid = i.indrelid AND c.contype IN ('p', 'u')
		WHERE i.indrelid = $1::regclass
			AND NOT EXISTS (SELECT 1 FROM pg_constraint x WHERE x.conindid = i.indexrelid AND x.contype NOT IN ('p', 'u'))
		ORDER BY ic.relname`, table)
	if err != nil {
		return nil, fmt.Errorf("read the indexes of %s: %w", table, err)
	}
	type index struct {
		name                  string
		constraint, def, cdef *string
		primary               bool
	}
	found, err := pgx.CollectRows(rows, func(r pgx.CollectableRow) (index, error) {
		var ix index
		err := r.Scan(&ix.name, &ix.constraint, &ix.def, &ix.cdef, &ix.primary)
		return ix, err
	})
	if err != nil {
		return nil, fmt.Errorf("read the indexes of %s: %w", table, err)
	}
	var out []rebuild
	for _, ix := range found {
		r := rebuild{name: ix.name, primary: ix.primary, drop: "DROP INDEX " + ix.name, create: *ix.def}
		if ix.constraint != nil {
			c := ident(*ix.constraint)
			r.drop = "ALTER TABLE " + table + " DROP CONSTRAINT " + c
			r.create = "ALTER TABLE " + table + " ADD CONSTRAINT " + c + " " + *ix.cdef
		}
		out = append(out, r)
	}
	for _, r := range out {
		if _, err := tx.Exec(ctx, r.drop); err != nil {
			return nil, fmt.Errorf("drop index %s of %s for the bulk load: %w", r.name, table, err)
		}
	}
	return out, nil
}

// buildIndexes builds the dropped indexes again.
func buildIndexes(ctx context.Context, tx pgx.Tx, table string, dropped []rebuild) error {
	for _, r := range dropped {
		if _, err := tx.Exec(ctx, r.create); err != nil {
			return fmt.Errorf("build index %s of %s after the bulk load: %w", r.name, table, err)
		}
	}
	return nil
}
