package load

import (
	"context"
	"fmt"
	"strings"

	"github.com/jackc/pgx/v5/pgconn"

	"github.com/cutover/cutover/internal/prose"
)

// SQLSTATEs of the constraints a row's own values break.
const (
	checkViolation   = "23514"
	notNullViolation = "23502"
)

// Refusal is a check constraint or a NOT NULL of a mapping's target table
// that rows the mapping decides to load break: values the legacy schema
// allows and no rule of the mapping rejects. The run's apply of the
// mapping stops on it (RefusedRowsError); a dry run reports it
// (Diff.Refusals).
type Refusal struct {
	Mapping    string   // the mapping's name
	Legacy     string   // its legacy table
	Table      string   // the target table
	Constraint string   // "check <name>", or "column <name>" for a NOT NULL
	Definition string   // the check's expression, or "NOT NULL"
	Count      int64    // the decided rows that break it
	Keys       []string // the first five of their legacy keys
}

// String says what refuses which rows, for an operator.
func (r Refusal) String() string {
	keys := strings.Join(r.Keys, ", ")
	if r.Count > int64(len(r.Keys)) { // the first few only
		keys += fmt.Sprintf(" and %d more", r.Count-int64(len(r.Keys)))
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
	return fmt.Sprintf("%v (%s; nothing of this mapping was written)", e.Err, e.Refusal)
}

// guard is a constraint of a target table over the columns a mapping
// writes, and the predicate over a decided row r that breaks it.
type guard struct {
	name       string // the constraint's, or the NOT NULL column's
	notNull    bool
	constraint string // as Refusal.Constraint
	definition string
	broken     string
}

// guards reads the checks and NOT NULLs of plan p's target table that
// only the columns p writes decide (a column p leaves takes its default).
// A row breaks a check whose expression is false over its columns (NULL
// passes, as in the server).
func (s *session) guards(ctx context.Context, p *Plan) ([]guard, error) {
	rows, err := s.pool.Query(ctx, `SELECT c.conname::text, false, 'check ' || c.conname, 'CHECK ' || pg_get_expr(c.conbin, c.conrelid),
			'(' || pg_get_expr(c.conbin, c.conrelid) || ') IS FALSE'
		FROM pg_constraint c
		WHERE c.conrelid = $1::regclass AND c.contype = 'c'
			AND NOT EXISTS (SELECT FROM pg_attribute a WHERE a.attrelid = c.conrelid AND a.attnum = ANY(c.conkey) AND a.attname <> ALL($2))
		UNION ALL
		SELECT a.attname::text, true, 'column ' || a.attname, 'NOT NULL', 'r.' || quote_ident(a.attname) || ' IS NULL'
		FROM pg_attribute a
		WHERE a.attrelid = $1::regclass AND a.attnum > 0 AND NOT a.attisdropped AND a.attnotnull AND a.attname = ANY($2)
		ORDER BY 3`, "public."+ident(p.M.Target), p.TargetCols)
	if err != nil {
		return nil, fmt.Errorf("read the constraints of %s: %w", p.M.Target, err)
	}
	var out []guard
	for rows.Next() {
		var g guard
		if err := rows.Scan(&g.name, &g.notNull, &g.constraint, &g.definition, &g.broken); err != nil {
			rows.Close()
			return nil, fmt.Errorf("read the constraints of %s: %w", p.M.Target, err)
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
// decided rows for all of them.
func (s *session) refusals(ctx context.Context, p *Plan, gs []guard) ([]Refusal, error) {
	if p.keyedRows == "" || len(gs) == 0 {
		return nil, nil
	}
	cols := make([]string, 0, 2*len(gs))
	for _, g := range gs {
		cols = append(cols, "count(*) FILTER (WHERE "+g.broken+")",
			"coalesce((array_agg(r._k::text ORDER BY r._k::text) FILTER (WHERE "+g.broken+"))[1:5], '{}')")
	}
	out := make([]Refusal, len(gs))
	dest := make([]any, 0, 2*len(gs))
	for i, g := range gs {
		out[i] = Refusal{Mapping: p.M.Name(), Legacy: p.M.Legacy, Table: p.M.Target, Constraint: g.constraint, Definition: g.definition}
		dest = append(dest, &out[i].Count, &out[i].Keys)
	}
	// The checks' expressions name the target's columns, which keyedRows
	// gives under their names; _k is typed (a uuid, say): keys as text.
	if err := s.pool.QueryRow(ctx, "SELECT "+strings.Join(cols, ", ")+"\nFROM ("+p.keyedRows+") r").Scan(dest...); err != nil {
		return nil, fmt.Errorf("check the decided rows of %s against the constraints of %s: %w", p.M.Name(), p.M.Target, err)
	}
	broken := out[:0]
	for _, r := range out {
		if r.Count > 0 {
			broken = append(broken, r)
		}
	}
	return broken, nil
}

// refusedRows returns err, a check or NOT NULL violation (pgErr) in the
// apply of plan p's mapping, as a RefusedRowsError naming the decided rows
// that break the constraint; otherwise, or when none is found, err as it
// is.
func (s *session) refusedRows(ctx context.Context, p *Plan, pgErr *pgconn.PgError, err error) error {
	gs, gerr := s.guards(ctx, p)
	if gerr != nil {
		s.cfg.Logger.Debug("could not read the target's constraints", "table", p.M.Target, "err", gerr)
		return err
	}
	notNull := pgErr.Code == notNullViolation
	name := pgErr.ConstraintName
	if notNull {
		name = pgErr.ColumnName
	}
	var violated []guard
	for _, g := range gs {
		if g.name == name && g.notNull == notNull {
			violated = append(violated, g)
		}
	}
	rs, rerr := s.refusals(ctx, p, violated)
	if rerr != nil {
		s.cfg.Logger.Debug("could not look for the rows a constraint refuses", "table", p.M.Target, "err", rerr)
		return err
	}
	if len(rs) == 0 {
		return err
	}
	return &RefusedRowsError{Refusal: rs[0], Err: err}
}

// DuplicateRowsError is a mapping's apply stopped by a unique index of its
// target table that rows the mapping decides to load share a key of:
// duplicates the legacy schema allows and no rule of the mapping merges or
// rejects. It names them, so that the operator can fix them in the source
// and run again. Nothing of the mapping was written.
type DuplicateRowsError struct {
	Mapping, Legacy, Table string
	Index                  string   // the unique index
	Definition             string   // its key, and its predicate when partial
	Count                  int64    // the keys that more than one row holds
	Rows                   []string // the first five such keys' legacy rows, by key
	Err                    error    // the violation
}

func (e *DuplicateRowsError) Unwrap() error { return e.Err }

func (e *DuplicateRowsError) Error() string {
	rows := strings.Join(e.Rows, "; ")
	if e.Count > int64(len(e.Rows)) { // the first few only
		rows += fmt.Sprintf("; and %d more", e.Count-int64(len(e.Rows)))
	}
	return fmt.Sprintf("%v (the target's %s unique index %s %s refuses legacy %s rows that the mapping %s decides to load with one key: "+
		"%d %s held by more than one row (legacy keys %s): duplicates the legacy schema allows and no mapping rule merges or rejects. "+
		"Fix them in the source, then run again; nothing of this mapping was written)",
		e.Err, e.Table, e.Index, e.Definition, e.Legacy, e.Mapping, e.Count, prose.Plural(e.Count, "key", "keys"), rows)
}

// duplicateRows returns err, a unique violation (pgErr) in the apply of
// plan p's mapping, as a DuplicateRowsError naming the decided rows that
// share a key of the violated index (NULL keys are distinct, as in the
// index); otherwise, or when none do (the key is another mapping's, or
// an earlier run's), err as it is.
func (s *session) duplicateRows(ctx context.Context, p *Plan, pgErr *pgconn.PgError, err error) error {
	if p.keyedRows == "" || pgErr.ConstraintName == "" {
		return err
	}
	var keys []string
	var predicate string
	if qerr := s.pool.QueryRow(ctx, `SELECT array(SELECT pg_get_indexdef(i.indexrelid, k, true) FROM generate_series(1, i.indnkeyatts) k ORDER BY k),
			coalesce(pg_get_expr(i.indpred, i.indrelid, true), '')
		FROM pg_index i WHERE i.indexrelid = $1::regclass AND i.indisunique`, "public."+ident(pgErr.ConstraintName)).Scan(&keys, &predicate); qerr != nil {
		s.cfg.Logger.Debug("could not read the unique index", "index", pgErr.ConstraintName, "err", qerr)
		return err
	}
	e := &DuplicateRowsError{Mapping: p.M.Name(), Legacy: p.M.Legacy, Table: p.M.Target, Index: pgErr.ConstraintName,
		Definition: "(" + strings.Join(keys, ", ") + ")", Err: err}
	where := make([]string, 0, len(keys)+1)
	for _, k := range keys {
		where = append(where, "("+k+") IS NOT NULL")
	}
	if predicate != "" {
		e.Definition += " WHERE " + predicate
		where = append(where, "("+predicate+")")
	}
	// The index's keys name the target's columns, which keyedRows gives
	// under their names.
	if qerr := s.pool.QueryRow(ctx, `SELECT count(*), coalesce((array_agg(g.rows ORDER BY g.rows))[1:5], '{}')
		FROM (SELECT string_agg(r._k::text, ' and ' ORDER BY r._k::text) AS rows FROM (`+p.keyedRows+`) r
			WHERE `+strings.Join(where, " AND ")+`
			GROUP BY `+strings.Join(keys, ", ")+` HAVING count(*) > 1) g`).Scan(&e.Count, &e.Rows); qerr != nil {
		s.cfg.Logger.Debug("could not look for the rows that share a key", "index", pgErr.ConstraintName, "err", qerr)
		return err
	}
	if e.Count == 0 {
		return err
	}
	return e
}
