package load

import (
	"context"
	"errors"
	"fmt"
	"slices"
	"strings"

	"github.com/jackc/pgx/v5/pgconn"

	"github.com/cutover/cutover/internal/prose"
	"github.com/cutover/cutover/migrations"
)

// ForeignRowsError is a mapping's apply stopped by a constraint (a unique
// key, say) in a target table that holds rows the cutover did not write:
// neither in its ledger nor among the schema's seeds. Such rows come from
// the application or from a hand, before the cutover or between its
// runs, and a legacy row met one of them. Without this the error blamed
// the mapping. Nothing of the mapping was written.
type ForeignRowsError struct {
	Table string   // the target table
	Count int64    // its rows the cutover did not write
	IDs   []string // the first of their ids
	Err   error    // the violation
}

func (e *ForeignRowsError) Unwrap() error { return e.Err }

func (e *ForeignRowsError) Error() string {
	ids := strings.Join(e.IDs, ", ")
	if e.Count > int64(len(e.IDs)) { // the query returns the first few only
		ids += fmt.Sprintf(" and %d more", e.Count-int64(len(e.IDs)))
	}
	constraint := "its constraints"
	var pgErr *pgconn.PgError
	if errors.As(e.Err, &pgErr) && pgErr.ConstraintName != "" {
		constraint = "constraint " + pgErr.ConstraintName
	}
	return fmt.Sprintf("%v (the target's %s holds %d %s the cutover did not write, in neither its ledger nor the schema's seeds (id %s), and a legacy row meets one on %s: "+
		"rows written by the application or by hand. Remove them, or give a fresh target, then run again; nothing of this mapping was written)",
		e.Err, e.Table, e.Count, prose.Plural(e.Count, "row", "rows"), ids, constraint)
}

// explainViolation returns err, the apply of plan p's mapping stopped by
// a constraint of its target table, as a RefusedRowsError when a check or
// a NOT NULL refused rows the mapping decided to load, or as a
// ForeignRowsError when another constraint met a table that holds rows
// the cutover did not write; otherwise err as it is. It reads outside the
// failed transaction.
func (s *session) explainViolation(ctx context.Context, p *Plan, err error) error {
	target := p.M.Target
	var pgErr *pgconn.PgError
	if !errors.As(err, &pgErr) || !strings.HasPrefix(pgErr.Code, "23") || pgErr.TableName != "" && pgErr.TableName != target {
		return err // not a violation, or one of another table (the ledger's, say)
	}
	switch pgErr.Code {
	case checkViolation, notNullViolation:
		// A row's own values break these: the mapping's rows, whatever
		// else the table holds.
		return s.refusedRows(ctx, p, pgErr, err)
	}
	return s.foreignRows(ctx, target, err)
}

// foreignRows returns err, a violation of a constraint of target table
// target, as a ForeignRowsError when that table holds rows the cutover
// did not write; otherwise err as it is.
func (s *session) foreignRows(ctx context.Context, target string, err error) error {
	seeds, serr := migrations.SeedIDs()
	if serr != nil {
		return err
	}
	var hasID bool
	if qerr := s.pool.QueryRow(ctx, `SELECT EXISTS (SELECT FROM pg_attribute WHERE attrelid = $1::regclass AND attname = 'id' AND NOT attisdropped)`,
		"public."+ident(target)).Scan(&hasID); qerr != nil || !hasID {
		return err
	}
	e := &ForeignRowsError{Table: target, Err: err}
	if qerr := s.pool.QueryRow(ctx, `SELECT count(*), coalesce((array_agg(t.id::text ORDER BY t.id))[1:5], '{}')
		FROM public.`+ident(target)+` t
		WHERE t.id::text <> ALL($1::text[])
			AND NOT EXISTS (SELECT FROM `+bk+`.dispositions d WHERE d.target_table = $2 AND d.target_id = t.id)`,
		seeds, target).Scan(&e.Count, &e.IDs); qerr != nil {
		s.cfg.Logger.Debug("could not look for rows the cutover did not write", "table", target, "err", qerr)
		return err
	}
	if e.Count == 0 {
		return err
	}
	return e
}

// SQLSTATEs of the constraints a row of its own breaks.
const (
	checkViolation   = "23514"
	notNullViolation = "23502"
)

// RefusedRowsError is a mapping's apply stopped by a check constraint or a
// NOT NULL of its target table that rows the mapping decided to load
// break: values the legacy schema allowed and that no rule of the mapping
// rejects. It names the legacy rows, so that the operator can fix them in
// the source and run again. Nothing of the mapping was written.
type RefusedRowsError struct {
	Mapping    string   // the mapping's name
	Legacy     string   // its legacy table
	Table      string   // the target table
	Constraint string   // the constraint's name, or the column of a NOT NULL
	Definition string   // the check's expression, or "NOT NULL"
	Count      int64    // the rows decided to load that break it
	Keys       []string // the first of their legacy keys
	Err        error    // the violation
}

func (e *RefusedRowsError) Unwrap() error { return e.Err }

func (e *RefusedRowsError) Error() string {
	keys := strings.Join(e.Keys, ", ")
	if e.Count > int64(len(e.Keys)) { // the query returns the first few only
		keys += fmt.Sprintf(" and %d more", e.Count-int64(len(e.Keys)))
	}
	return fmt.Sprintf("%v (the target's %s %s (%s) refuses %d legacy %s %s that the mapping %s decides to load (%s %s): "+
		"values the legacy schema allows and no mapping rule rejects. Fix them in the source, then run again; nothing of this mapping was written)",
		e.Err, e.Table, e.Constraint, e.Definition, e.Count, e.Legacy, prose.Plural(e.Count, "row", "rows"), e.Mapping,
		prose.Plural(e.Count, "key", "keys"), keys)
}

// refusedRows returns err, a check or NOT NULL violation (pgErr) in the
// apply of plan p's mapping, as a RefusedRowsError naming the decided rows
// that break the constraint; otherwise, or when none is found (another
// mapping's rows, say), err as it is. A row breaks a check whose
// expression is false over its columns (NULL passes, as in the server).
func (s *session) refusedRows(ctx context.Context, p *Plan, pgErr *pgconn.PgError, err error) error {
	if p.keyedRows == "" {
		return err
	}
	e := &RefusedRowsError{Mapping: p.M.Name(), Legacy: p.M.Legacy, Table: p.M.Target, Err: err}
	var broken string
	switch {
	case pgErr.Code == checkViolation && pgErr.ConstraintName != "":
		var expr string
		if qerr := s.pool.QueryRow(ctx, `SELECT pg_get_expr(conbin, conrelid) FROM pg_constraint
			WHERE conrelid = $1::regclass AND conname = $2 AND contype = 'c'`,
			"public."+ident(p.M.Target), pgErr.ConstraintName).Scan(&expr); qerr != nil {
			s.cfg.Logger.Debug("could not read the check constraint", "table", p.M.Target, "constraint", pgErr.ConstraintName, "err", qerr)
			return err
		}
		e.Constraint, e.Definition, broken = "check "+pgErr.ConstraintName, "CHECK "+expr, "("+expr+") IS FALSE"
	case pgErr.Code == notNullViolation && pgErr.ColumnName != "" && slices.Contains(p.TargetCols, pgErr.ColumnName):
		e.Constraint, e.Definition, broken = "column "+pgErr.ColumnName, "NOT NULL", "r."+ident(pgErr.ColumnName)+" IS NULL"
	default:
		return err
	}
	// The check's expression names the target's columns, which keyedRows
	// gives under their names.
	if qerr := s.pool.QueryRow(ctx, `SELECT count(*), coalesce((array_agg(r._k ORDER BY r._k))[1:5], '{}')
		FROM (`+p.keyedRows+`) r WHERE `+broken).Scan(&e.Count, &e.Keys); qerr != nil {
		s.cfg.Logger.Debug("could not look for the rows a constraint refuses", "table", p.M.Target, "err", qerr)
		return err
	}
	if e.Count == 0 {
		return err
	}
	return e
}
