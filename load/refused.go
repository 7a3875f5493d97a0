package load

import (
	"cmp"
	"context"
	"errors"
	"fmt"
	"slices"
	"strings"

	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgconn"

	"github.com/cutover/cutover/internal/prose"
	"github.com/cutover/cutover/migrations"
)

// SQLSTATEs of the constraints a row's own values break.
const (
	checkViolation   = "23514"
	notNullViolation = "23502"
	// stringTooLong is a value longer than its varchar(n) or char(n)
	// column allows (string_data_right_truncation).
	stringTooLong = "22001"
)

// Refusal is a constraint of a mapping's target table that rows the
// mapping decides to load break: a check, a NOT NULL, a varchar(n)
// column's length, or a unique index whose key more than one of them
// holds (Shared) or another row of the table holds (Held). They are
// values the legacy schema allows and no rule of the mapping rejects or
// merges. The run's apply of the mapping stops on it (RefusedRowsError);
// a dry run reports it (Diff.Refusals).
type Refusal struct {
	Mapping    string // the mapping's name
	Legacy     string // its legacy table
	Table      string // the target table
	Constraint string // "check <name>", "column <name>" (a NOT NULL, or a length) or "unique index <name>"
	Definition string // the check's expression, "NOT NULL", the column's type (character varying(50)), or the index's key (and predicate)
	// Shared is true for a unique index: Count is then the keys more than
	// one decided row holds, and Keys the first five such keys' legacy
	// keys, "a and b".
	Shared bool
	// Held is true for a unique index whose keys rows already in the
	// target hold under other primary keys (rows another mapping of the
	// table wrote, say): Count is then the decided rows that meet one,
	// and Keys the first five, each with the row that holds its key,
	// "a (held by legacy inbox_items b)". A dry run finds those of rows
	// another mapping of the table would load (heldAcross) and those of
	// rows the target holds and keeps until then (heldRows); a run's apply
	// finds the ones that stop it (heldRows).
	Held bool
	// References is true for a foreign key of Table (Constraint, with
	// its ON DELETE action as Definition) through which rows the cutover
	// did not write reference rows of Parent that a run deletes: rows of
	// the mapping's target table it no longer decides (or, Rewritten,
	// writes again), or, with Via, rows that go with those: Count is then
	// the referencing rows and Keys their first five keys in Table (ids,
	// or the primary key's columns joined by commas).
	References bool
	Parent     string
	// Rewritten is set with References when the rows a run deletes are
	// ones the mapping still decides, which it deletes and writes again
	// because they reference rows it removes (RemoveReferencing). Via,
	// when set, is the mapping's table whose rows the run deletes, and
	// the rows of Parent go with them (ON DELETE CASCADE).
	Rewritten bool
	Via       string
	// Swapped is true for a unique index whose values decided rows take
	// from each other since the last run (a swap, or a cycle of them):
	// Count is then those rows and Keys their first five legacy keys
	// (swappedRows).
	Swapped bool
	Count   int64    // the decided rows that break it (keys, when Shared)
	Keys    []string // the first five of their legacy keys
}

// String says what refuses which rows, for an operator.
func (r Refusal) String() string {
	sep, more := ", ", " and %d more"
	if r.Shared || r.Held { // each key names two rows
		sep, more = "; ", "; and %d more"
	}
	keys := strings.Join(r.Keys, sep)
	if r.Count > int64(len(r.Keys)) { // the first few only
		keys += fmt.Sprintf(more, r.Count-int64(len(r.Keys)))
	}
	if r.Shared {
		return fmt.Sprintf("the target's %s %s %s refuses legacy %s rows that the mapping %s decides to load with one key: "+
			"%d %s held by more than one row (legacy keys %s): duplicates the legacy schema allows and no mapping rule merges or rejects. "+
			"Fix them in the source, then run again",
			r.Table, r.Constraint, r.Definition, r.Legacy, r.Mapping, r.Count, prose.Plural(r.Count, "key", "keys"), keys)
	}
	if r.References {
		which := "that the mapping " + r.Mapping + " no longer decides and a run removes"
		if r.Rewritten {
			which = "that the mapping " + r.Mapping + " still decides but a run deletes and writes again, as they reference rows it removes"
		}
		switch {
		case r.Via != "" && r.Rewritten:
			which = "that the cutover wrote and that go (ON DELETE CASCADE) with the " + r.Via + " rows the mapping " + r.Mapping + " deletes and writes again"
		case r.Via != "":
			which = "that the cutover wrote and that go (ON DELETE CASCADE) with the " + r.Via + " rows the mapping " + r.Mapping + " no longer decides"
		}
		return fmt.Sprintf("the target's %s holds %d %s the cutover did not write, in neither its ledger nor the schema's seeds (%s %s), that %s, through %s (%s), "+
			"%s rows %s: rows written by the application or by hand, which the removal would %s. "+
			"Remove them or point them at other rows, then run again",
			r.Table, r.Count, prose.Plural(r.Count, "row", "rows"), prose.Plural(r.Count, "key", "keys"), keys,
			prose.Plural(r.Count, "references", "reference"), r.Constraint, r.Definition,
			r.Parent, which, cmp.Or(referenceEffects[r.Definition], "meet"))
	}
	if r.Swapped {
		return fmt.Sprintf("the target's %s %s %s refuses %d legacy %s %s that the mapping %s decides to load: "+
			"they take each other's values of it since the last run (a swap, or a cycle of them; legacy keys %s), "+
			"which no order of updates writes without a duplicate in between. Change one of them in the source and run again, or load into a fresh target",
			r.Table, r.Constraint, r.Definition, r.Count, r.Legacy, prose.Plural(r.Count, "row", "rows"), r.Mapping, keys)
	}
	if r.Held {
		return fmt.Sprintf("the target's %s %s %s refuses %d legacy %s %s that the mapping %s decides to load: "+
			"%s already held by %s of the target (legacy keys %s): "+
			"keys that no mapping rule merges or rejects. Fix them in the source (or remove from the target a row that holds one and that the cutover did not write), then run again",
			r.Table, r.Constraint, r.Definition, r.Count, r.Legacy, prose.Plural(r.Count, "row", "rows"), r.Mapping,
			prose.Plural(r.Count, "its key is", "their keys are"), prose.Plural(r.Count, "another row", "other rows"), keys)
	}
	return fmt.Sprintf("the target's %s %s (%s) refuses %d legacy %s %s that the mapping %s decides to load (%s %s): "+
		"values the legacy schema allows and no mapping rule rejects. Fix them in the source, then run again",
		r.Table, r.Constraint, r.Definition, r.Count, r.Legacy, prose.Plural(r.Count, "row", "rows"), r.Mapping,
		prose.Plural(r.Count, "key", "keys"), keys)
}

// RefusedRowsError is a mapping's apply stopped by a Refusal. It names the
// legacy rows, so that the operator can fix them in the source and run
// again. Nothing of the mapping was written.
type RefusedRowsError struct {
	Refusal
	Err error // the violation
}

func (e *RefusedRowsError) Unwrap() error { return e.Err }

func (e *RefusedRowsError) Error() string {
	if e.Err == nil { // found before the write (takenOver)
		return fmt.Sprintf("%s; nothing of this mapping was written", e.Refusal)
	}
	return fmt.Sprintf("%v (%s; nothing of this mapping was written)", e.Err, e.Refusal)
}

// takenOver returns, for plan p of a target table without an id, whose
// primary key is the legacy key (user_roles), the decided rows whose key
// a row of the target holds that the cutover did not write (no ledger row
// of the mapping owns it) as a Held refusal of the primary key: the
// upsert, which goes by the primary key, would update such a row and the
// ledger then give it to the cutover, whose later runs could remove it.
// Count is 0 when there is none or p has no such table. q is the apply's
// transaction, or for a dry run the pool.
//
// Such a row is the application's or a hand's: the rows the cutover
// wrote are its ledger's by the key it recorded (target_key), and a
// re-run removes those no decision writes before this check. Only a
// ledger of an earlier build, whose ownership is re-derived through the
// roles' ledger as it is now, can leave one of the cutover's own rows
// unowned here (a grant of a role that no longer merges onto a seeded
// role), which a dry run, reading the roles' ledger as the last run left
// it, does not foresee.
func takenOver(ctx context.Context, q migrations.Queryer, p *Plan) (Refusal, error) {
	r := Refusal{Mapping: p.M.Name(), Legacy: p.M.Legacy, Table: p.M.Target, Constraint: "primary key",
		Definition: "(" + strings.Join(p.PK, ", ") + ")", Held: true}
	if p.takenOver == "" {
		return r, nil
	}
	if err := q.QueryRow(ctx, p.takenOver).Scan(&r.Count, &r.Keys); err != nil {
		return r, fmt.Errorf("look for the rows of %s the cutover did not write that hold keys it loads: %w", p.M.Target, err)
	}
	return r, nil
}

// Kinds of guard.
const (
	guardCheck   = "check"
	guardNotNull = "not null"
	guardLength  = "length" // a varchar(n) or char(n) column
	guardUnique  = "unique"
)

// refusalOf is guard g of plan p's target table as a Refusal of p's
// mapping, with no rows counted yet.
func refusalOf(p *Plan, g guard) Refusal {
	return Refusal{Mapping: p.M.Name(), Legacy: p.M.Legacy, Table: p.M.Target, Constraint: g.constraint, Definition: g.definition}
}

// guard is a constraint of a target table over the columns a mapping
// writes.
type guard struct {
	name       string // the constraint's or index's, or the NOT NULL column's
	kind       string // guardCheck, guardNotNull, guardLength or guardUnique
	constraint string // as Refusal.Constraint
	definition string
	broken     string   // check, NOT NULL, length: the predicate over a decided row r that breaks it
	keys       []string // unique: the index's key columns or expressions
	predicate  string   // unique: a partial index's predicate, "" for none
	// nullsNotDistinct is true for a unique index that holds NULL keys
	// equal (NULLS NOT DISTINCT): its rows with NULL keys are held too.
	nullsNotDistinct bool
}

// guards reads the checks, NOT NULLs and unique indexes (the primary key
// aside) of plan p's target table that only the columns p writes decide
// (a column p leaves takes its default). A row breaks a check whose
// expression is false over its columns (NULL passes, as in the server).
// The columns an index's expressions and predicate read are its
// dependencies in pg_depend.
func (s *session) guards(ctx context.Context, p *Plan) ([]guard, error) {
	rows, err := s.pool.Query(ctx, `SELECT c.conname::text, 'check', 'check ' || c.conname, pg_get_expr(c.conbin, c.conrelid),
			'(' || pg_get_expr(c.conbin, c.conrelid) || ') IS FALSE', '{}'::text[], '', false
		FROM pg_constraint c
		WHERE c.conrelid = $1::regclass AND c.contype = 'c'
			AND NOT EXISTS (SELECT FROM pg_attribute a WHERE a.attrelid = c.conrelid AND a.attnum = ANY(c.conkey) AND a.attname <> ALL($2))
		UNION ALL
		SELECT a.attname::text, 'not null', 'column ' || a.attname, 'NOT NULL', 'r.' || quote_ident(a.attname) || ' IS NULL', '{}', '', false
		FROM pg_attribute a
		WHERE a.attrelid = $1::regclass AND a.attnum > 0 AND NOT a.attisdropped AND a.attnotnull AND a.attname = ANY($2)
		UNION ALL
		SELECT a.attname::text, 'length', 'column ' || a.attname, format_type(a.atttypid, a.atttypmod),
			'length(rtrim(r.' || quote_ident(a.attname) || '::text, '' '')) > ' || (a.atttypmod - 4), '{}', '', false
		FROM pg_attribute a
		WHERE a.attrelid = $1::regclass AND a.attnum > 0 AND NOT a.attisdropped AND a.atttypmod > 4
			AND a.atttypid IN ('varchar'::regtype, 'bpchar'::regtype) AND a.attname = ANY($2)
		UNION ALL
		SELECT x.relname::text, 'unique', 'unique index ' || x.relname, '', '',
			array(SELECT pg_get_indexdef(i.indexrelid, k, true) FROM generate_series(1, i.indnkeyatts) k ORDER BY k),
			coalesce(pg_get_expr(i.indpred, i.indrelid, true), ''), `+nullsNotDistinct+`
		FROM pg_index i JOIN pg_class x ON x.oid = i.indexrelid
		WHERE i.indrelid = $1::regclass AND i.indisunique AND NOT i.indisprimary
			AND NOT EXISTS (SELECT FROM pg_depend d JOIN pg_attribute a ON a.attrelid = d.refobjid AND a.attnum = d.refobjsubid
				WHERE d.classid = 'pg_class'::regclass AND d.objid = i.indexrelid AND d.refobjid = i.indrelid AND a.attname <> ALL($2))
		ORDER BY 3`, "public."+ident(p.M.Target), p.TargetCols)
	if err != nil {
		return nil, fmt.Errorf("read the constraints of %s: %w", p.M.Target, err)
	}
	var out []guard
	for rows.Next() {
		var g guard
		if err := rows.Scan(&g.name, &g.kind, &g.constraint, &g.definition, &g.broken, &g.keys, &g.predicate, &g.nullsNotDistinct); err != nil {
			rows.Close()
			return nil, fmt.Errorf("read the constraints of %s: %w", p.M.Target, err)
		}
		switch g.kind {
		case guardCheck:
			g.definition = "CHECK " + g.definition
		case guardUnique:
			g.definition = "(" + strings.Join(g.keys, ", ") + ")"
			if g.nullsNotDistinct {
				g.definition += " NULLS NOT DISTINCT"
			}
			if g.predicate != "" {
				g.definition += " WHERE " + g.predicate
			}
		}
		out = append(out, g)
	}
	if err := rows.Err(); err != nil {
		return nil, fmt.Errorf("read the constraints of %s: %w", p.M.Target, err)
	}
	return out, nil
}

// refusals returns the guards of plan p's target table that rows p decides
// to load break, each with their count and first keys: one scan of the
// decided rows for all checks and NOT NULLs, and one grouping of them per
// unique index. Keys are compared as text (_k is typed: a uuid, say).
func (s *session) refusals(ctx context.Context, p *Plan, gs []guard) ([]Refusal, error) {
	if p.keyedRows == "" || len(gs) == 0 {
		return nil, nil
	}
	var out []Refusal
	var cols []string
	var dest []any
	for _, g := range gs {
		if g.kind == guardUnique {
			continue
		}
		out = append(out, refusalOf(p, g))
		cols = append(cols, "count(*) FILTER (WHERE "+g.broken+")",
			"coalesce((array_agg(r._k::text ORDER BY r._k::text) FILTER (WHERE "+g.broken+"))[1:5], '{}')")
	}
	for i := range out {
		dest = append(dest, &out[i].Count, &out[i].Keys)
	}
	// The checks' expressions and the indexes' keys name the target's
	// columns, which keyedRows gives under their names.
	if len(cols) > 0 {
		if err := s.pool.QueryRow(ctx, "SELECT "+strings.Join(cols, ", ")+"\nFROM ("+p.keyedRows+") r").Scan(dest...); err != nil {
			return nil, fmt.Errorf("check the decided rows of %s against the constraints of %s: %w", p.M.Name(), p.M.Target, err)
		}
	}
	for _, g := range gs {
		if g.kind != guardUnique {
			continue
		}
		r := refusalOf(p, g)
		r.Shared = true
		if err := s.pool.QueryRow(ctx, `SELECT count(*), coalesce((array_agg(g.rows ORDER BY g.rows))[1:5], '{}')
			FROM (SELECT string_agg(r._k::text, ' and ' ORDER BY r._k::text) AS rows FROM (`+p.keyedRows+`) r
				WHERE `+g.holds()+`
				GROUP BY `+strings.Join(g.keys, ", ")+` HAVING count(*) > 1) g`).Scan(&r.Count, &r.Keys); err != nil {
			return nil, fmt.Errorf("check the decided rows of %s against %s of %s: %w", p.M.Name(), r.Constraint, p.M.Target, err)
		}
		out = append(out, r)
	}
	broken := out[:0]
	for _, r := range out {
		if r.Count > 0 {
			broken = append(broken, r)
		}
	}
	return broken, nil
}

// refusedRows returns err, a violation (pgErr) of a check, a NOT NULL, a
// varchar(n) column's length or a unique index in the apply of plan p's
// mapping, as a RefusedRowsError naming the decided rows that break the
// constraint (for a unique index: that share a key, or else whose key a
// row already in the target holds, heldRows); otherwise, or when none is
// found, err as it is.
func (s *session) refusedRows(ctx context.Context, p *Plan, pgErr *pgconn.PgError, err error) error {
	gs, gerr := s.guards(ctx, p)
	if gerr != nil {
		s.cfg.Logger.Debug("could not read the target's constraints", "table", p.M.Target, "err", gerr)
		return err
	}
	kind, name := guardCheck, pgErr.ConstraintName
	switch pgErr.Code {
	case notNullViolation:
		kind, name = guardNotNull, pgErr.ColumnName
	case uniqueViolation:
		kind = guardUnique
	case stringTooLong:
		kind, name = guardLength, "" // the server names no column: any of them
	}
	var violated []guard
	for _, g := range gs {
		if g.kind == kind && (g.name == name || name == "" && kind == guardLength) {
			violated = append(violated, g)
		}
	}
	rs, rerr := s.refusals(ctx, p, violated)
	if rerr != nil {
		s.cfg.Logger.Debug("could not look for the rows a constraint refuses", "table", p.M.Target, "err", rerr)
		return err
	}
	if len(rs) == 0 && kind == guardUnique && len(violated) == 1 {
		held, herr := s.heldRows(ctx, p, violated[0], nil)
		if herr != nil {
			s.cfg.Logger.Debug("could not look for the rows that hold a key", "table", p.M.Target, "err", herr)
			return err
		}
		if held.Count > 0 {
			rs = append(rs, held)
		}
	}
	if len(rs) == 0 {
		return err
	}
	// The refusal is the cause: not rows that take each other's values.
	if swap := (*swapError)(nil); errors.As(err, &swap) {
		err = swap.Err
	}
	return &RefusedRowsError{Refusal: rs[0], Err: err}
}

// heldRows returns unique index g of plan p's target table as a Held
// refusal: the decided rows whose key a row of the target already holds
// under a primary key no decided row has (so that the apply does not
// overwrite it), each named with that row's legacy table and key from
// the ledger, or else as a seeded row or one the cutover did not write.
// Count is 0 when there is none. A run's apply reads the target as the
// failed apply found it, minus that apply's own writes: the rows earlier
// mappings and runs committed (gone is nil). A dry run reads it as it is
// before the run, and gone selects the ids of the rows that are not
// there, or not with these values, when p's apply runs (those the run
// removes first, those earlier mappings of the table rewrite); it is
// given for tables whose primary key is id only.
func (s *session) heldRows(ctx context.Context, p *Plan, g guard, gone []string) (Refusal, error) {
	r := refusalOf(p, g)
	r.Held = true
	pk := func(alias string) string { return "(" + qualified(alias, p.PK) + ")" }
	holder := `'the target row ' || concat_ws(',', ` + qualified("t", p.PK) + `)`
	ledger, args := "", []any{}
	if byID(p) {
		seeds, err := migrations.SeedIDs()
		if err != nil {
			return r, err
		}
		holder = `coalesce('legacy ' || l.legacy_table || ' ' || l.legacy_key,
			CASE WHEN t.id::text = ANY($2::text[]) THEN 'the seeded row ' ELSE 'the row the cutover did not write ' END || t.id)`
		ledger = `LEFT JOIN LATERAL (SELECT l.legacy_table, l.legacy_key FROM ` + ident(Params{Ledger: s.ledger}.ledger()) + `.dispositions l
				WHERE l.target_table = $1 AND l.target_id = t.id
				ORDER BY l.disposition <> 'loaded', l.legacy_table, l.legacy_key LIMIT 1) l ON true`
		args = append(args, p.M.Target, seeds)
	}
	// The pairs of a decided row and a row of the target that holds its
	// key under a primary key no decided row has. Against a target that
	// meets the index there are few or none, so the rows gone at the
	// apply are only looked up for them, and not at all when there is
	// none (each is a join of the target with the ledger).
	pairs := `WITH t AS MATERIALIZED (` + g.keyed("public."+ident(p.M.Target), qualified("x", p.PK)) + `
			AND NOT EXISTS (SELECT FROM (` + p.keyedRows + `) o WHERE ` + pk("o") + ` = ` + pk("x") + `)),
		c AS MATERIALIZED (SELECT r._k, ` + qualified("t", p.PK) + ` FROM (` + g.keyed("("+p.keyedRows+")", "x._k::text AS _k") + `) r
			JOIN t ON ` + g.sameKey("t", "r") + `)`
	var away strings.Builder
	for _, q := range gone {
		away.WriteString(" AND NOT EXISTS (SELECT FROM (" + q + ") e WHERE e.id = t.id)")
	}
	// The planner sorts both sides for a merge join on the text keys,
	// where hashing the smaller one (few target rows, or few decided
	// rows) is cheaper: for points_ledger at 1M, against a finished
	// target, the join took 0.25 s sorted and 0.09 s hashed.
	err := pgx.BeginFunc(ctx, s.pool, func(tx pgx.Tx) error {
		if _, err := tx.Exec(ctx, `SET LOCAL enable_mergejoin = off`); err != nil {
			return err
		}
		if len(gone) > 0 {
			var n int64
			if err := tx.QueryRow(ctx, pairs+` SELECT count(*) FROM c`).Scan(&n); err != nil || n == 0 {
				return err
			}
		}
		return tx.QueryRow(ctx, pairs+`
			SELECT count(*), coalesce((array_agg(h.pair ORDER BY h.pair))[1:5], '{}')
			FROM (SELECT DISTINCT ON (t._k) t._k || ' (held by ' || `+holder+` || ')' AS pair
				FROM c t `+ledger+`
				WHERE true`+away.String()+`
				ORDER BY t._k, 1) h`, args...).Scan(&r.Count, &r.Keys)
	})
	if err != nil {
		return r, fmt.Errorf("look for the rows of %s that hold keys of %s: %w", p.M.Target, g.constraint, err)
	}
	return r, nil
}

// swappedRows returns the rows of plan p (a table with an id) that unique
// index g refuses because they take each other's values of it since the
// last run (a swap, or a cycle of them) as a Swapped refusal: the run's
// apply moves rows whose new values others hold now in chains (Vacate),
// which ends at a value nobody holds, but a cycle has no such end and
// stops it (swapError). The decided rows form a graph: a row points at
// the decided row of the target that holds its new value (one at most,
// the index being unique), and the rows on a cycle of it are refused.
// Count is 0 when there is none; against an empty target, or one whose
// rows keep their values, the graph has no edge.
func (s *session) swappedRows(ctx context.Context, p *Plan, g guard) (Refusal, error) {
	r := refusalOf(p, g)
	r.Swapped = true
	err := s.pool.QueryRow(ctx, `WITH RECURSIVE
		n AS MATERIALIZED (`+g.keyed("("+p.keyedRows+")", "x._k::text AS _k", "x.id")+`),
		o AS MATERIALIZED (`+g.keyed("public."+ident(p.M.Target), "x.id")+`),
		e AS MATERIALIZED (SELECT n.id AS a, o.id AS b FROM n JOIN o ON `+g.sameKey("o", "n")+` AND o.id <> n.id
			WHERE EXISTS (SELECT FROM n h WHERE h.id = o.id)),
		w (start, cur, depth) AS (SELECT a, b, 1 FROM e
			UNION ALL
			SELECT w.start, e.b, w.depth + 1 FROM w JOIN e ON e.a = w.cur
			WHERE w.cur <> w.start AND w.depth <= (SELECT count(*) FROM e))
		SELECT count(*), coalesce((array_agg(k ORDER BY k))[1:5], '{}')
		FROM (SELECT DISTINCT n._k AS k FROM w JOIN n ON n.id = w.start WHERE w.cur = w.start) c`).Scan(&r.Count, &r.Keys)
	if err != nil {
		return r, fmt.Errorf("look for the rows of %s that take each other's keys of %s: %w", p.M.Target, g.constraint, err)
	}
	return r, nil
}

// heldAcross returns the unique indexes of a target table fed by several
// mappings (plans, in apply order, with the guards each found) whose
// keys rows that more than one of them decide to load hold under other
// primary keys. Each is a Held refusal of a later mapping, whose apply
// would stop on the key an earlier one wrote: its rows named with the
// earliest row that holds the key. Only indexes over columns that every
// one of them writes are checked. Each later mapping's rows are joined
// with the earlier mappings' on the index's key: a hash join that reads
// only the key and primary key columns of the decisions.
func (s *session) heldAcross(ctx context.Context, plans []*Plan, guards [][]guard) ([]Refusal, error) {
	var out []Refusal
	for _, g := range guards[0] {
		if g.kind != guardUnique || !everyHas(guards[1:], g.name) {
			continue
		}
		// indexed is the decided rows of plans[i] the index holds, with
		// their mapping, legacy key and primary key.
		indexed := func(i int) string {
			p := plans[i]
			return g.keyed("("+p.keyedRows+")", fmt.Sprintf("%d AS _m", i), lit(p.M.Legacy)+" AS _l", "x._k::text AS _k",
				"concat_ws(',', "+qualified("x", p.PK)+") AS _pk")
		}
		var earlier []string
		for i, p := range plans {
			if p.keyedRows == "" {
				continue
			}
			if len(earlier) > 0 {
				r := refusalOf(p, g)
				r.Held = true
				if err := s.pool.QueryRow(ctx, `SELECT count(*), coalesce((array_agg(pair ORDER BY pair))[1:5], '{}')
					FROM (SELECT DISTINCT ON (u._k) u._k || ' (held by legacy ' || o._l || ' ' || o._k || ')' AS pair
						FROM (`+indexed(i)+`) u JOIN (`+strings.Join(earlier, "\nUNION ALL\n")+`) o
							ON `+g.sameKey("o", "u")+` AND o._pk <> u._pk
						ORDER BY u._k, o._m, o._k) h`).Scan(&r.Count, &r.Keys); err != nil {
					return nil, fmt.Errorf("check the rows of %s against %s of %s: %w", p.M.Name(), g.constraint, p.M.Target, err)
				}
				if r.Count > 0 {
					out = append(out, r)
				}
			}
			earlier = append(earlier, indexed(i))
		}
	}
	return out, nil
}

// holds is the predicate of the rows that unique index g holds: NULL
// keys are distinct unless g says NULLS NOT DISTINCT, and a partial index
// holds only its predicate's rows.
func (g guard) holds() string {
	where := make([]string, 0, len(g.keys)+1)
	for _, k := range g.keys {
		if !g.nullsNotDistinct {
			where = append(where, "("+k+") IS NOT NULL")
		}
	}
	if g.predicate != "" {
		where = append(where, "("+g.predicate+")")
	}
	if len(where) == 0 {
		return "true"
	}
	return strings.Join(where, " AND ")
}

// keyed selects cols, then the key of unique index g as text (_h0, _h1,
// …), from the rows of from (aliased x) that g holds. The index's
// expressions name the table's columns, which keyedRows gives under
// their names too. As text, a decided value and the table's of another
// type (text and uuid, say) still compare.
//
// Under NULLS NOT DISTINCT a NULL key part is a value: its _hN is then
// the empty string and its _nN says it was NULL, so that sameKey stays an
// equality a hash join can take.
func (g guard) keyed(from string, cols ...string) string {
	for i, k := range g.keys {
		if g.nullsNotDistinct {
			cols = append(cols, fmt.Sprintf("coalesce((%s)::text, '') AS _h%d, (%s) IS NULL AS _n%d", k, i, k, i))
			continue
		}
		cols = append(cols, fmt.Sprintf("(%s)::text AS _h%d", k, i))
	}
	return "SELECT " + strings.Join(cols, ", ") + " FROM " + from + " x WHERE " + g.holds()
}

// sameKey is the join condition of rows a and b (aliases) of keyed with
// one key.
func (g guard) sameKey(a, b string) string {
	same := make([]string, 0, 2*len(g.keys))
	for i := range g.keys {
		same = append(same, fmt.Sprintf("%s._h%d = %s._h%d", a, i, b, i))
		if g.nullsNotDistinct {
			same = append(same, fmt.Sprintf("%s._n%d = %s._n%d", a, i, b, i))
		}
	}
	return strings.Join(same, " AND ")
}

// everyHas reports whether every list of guards has one named name.
func everyHas(lists [][]guard, name string) bool {
	for _, gs := range lists {
		if !slices.ContainsFunc(gs, func(g guard) bool { return g.kind == guardUnique && g.name == name }) {
			return false
		}
	}
	return true
}

// qualified lists columns cols of alias, comma-separated.
func qualified(alias string, cols []string) string {
	out := make([]string, len(cols))
	for i, c := range cols {
		out[i] = alias + "." + ident(c)
	}
	return strings.Join(out, ", ")
}
