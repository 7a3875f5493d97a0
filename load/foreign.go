package load

import (
	"context"
	"errors"
	"fmt"
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
// a constraint of its target table, as a RefusedRowsError when a check, a
// NOT NULL or a varchar(n) column's length refused rows the mapping
// decided to load, as a ForeignRowsError when another constraint met a
// table that holds rows the cutover did not write, or else, for a unique
// index, as a RefusedRowsError when rows the mapping decided share a key,
// or meet a key another row of the table already holds (another
// mapping's); otherwise err as it is. It reads outside the failed
// transaction.
func (s *session) explainViolation(ctx context.Context, p *Plan, err error) error {
	target := p.M.Target
	var pgErr *pgconn.PgError
	if !errors.As(err, &pgErr) || !strings.HasPrefix(pgErr.Code, "23") && pgErr.Code != stringTooLong ||
		pgErr.TableName != "" && pgErr.TableName != target {
		return err // not a violation, or one of another table (the ledger's, say)
	}
	switch pgErr.Code {
	case checkViolation, notNullViolation, stringTooLong:
		// A row's own values break these: the mapping's rows, whatever
		// else the table holds.
		return s.refusedRows(ctx, p, pgErr, err)
	}
	// Rows the cutover did not write are the cause, not rows that take
	// each other's values (a swapError says that for want of another).
	cause := err
	if swap := (*swapError)(nil); errors.As(err, &swap) {
		cause = swap.Err
	}
	if foreign := s.foreignRows(ctx, target, cause); foreign != nil {
		return foreign
	}
	if pgErr.Code == uniqueViolation {
		return s.refusedRows(ctx, p, pgErr, err)
	}
	return err
}

// foreignRows returns err, a violation of a constraint of target table
// target, as a ForeignRowsError when that table holds rows the cutover
// did not write; nil otherwise (or when that cannot be read).
func (s *session) foreignRows(ctx context.Context, target string, err error) *ForeignRowsError {
	seeds, serr := migrations.SeedIDs()
	if serr != nil {
		return nil
	}
	var hasID bool
	if qerr := s.pool.QueryRow(ctx, `SELECT EXISTS (SELECT FROM pg_attribute WHERE attrelid = $1::regclass AND attname = 'id' AND NOT attisdropped)`,
		"public."+ident(target)).Scan(&hasID); qerr != nil || !hasID {
		return nil
	}
	e := &ForeignRowsError{Table: target, Err: err}
	if qerr := s.pool.QueryRow(ctx, `SELECT count(*), coalesce((array_agg(t.id::text ORDER BY t.id))[1:5], '{}')
		FROM public.`+ident(target)+` t
		WHERE t.id::text <> ALL($1::text[])
			AND NOT EXISTS (SELECT FROM `+bk+`.dispositions d WHERE d.target_table = $2 AND d.target_id = t.id)`,
		seeds, target).Scan(&e.Count, &e.IDs); qerr != nil {
		s.cfg.Logger.Debug("could not look for rows the cutover did not write", "table", target, "err", qerr)
		return nil
	}
	if e.Count == 0 {
		return nil
	}
	return e
}
