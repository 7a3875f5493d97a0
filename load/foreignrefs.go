package load

// This file keeps a re-run from removing, or changing, rows the cutover
// did not write through a foreign key to a row it deletes.

import (
	"cmp"
	"context"
	"errors"
	"fmt"
	"maps"
	"slices"
	"strings"

	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgconn"

	"github.com/cutover/cutover/mappings"
	"github.com/cutover/cutover/migrations"
)

// ForeignReferencesError stops a re-run before it deletes rows of Table
// (those it no longer decides, which the source no longer loads, or, with
// Rewritten, rows it still decides and writes again because they
// reference rows it removes), when rows the cutover did not write (neither
// in its ledger nor among the schema's seeds) reference them, directly or
// below rows that would go with them (ON DELETE CASCADE): their foreign
// keys would delete them, clear or reset their reference, or refuse the
// deletion. Such rows come from the application or from a hand, after an
// earlier run. Each Refusal (References) names one referencing table and
// foreign key. Nothing of those rows of Table was deleted.
type ForeignReferencesError struct {
	Table     string
	Rewritten bool
	Refusals  []Refusal
}

func (e *ForeignReferencesError) Error() string {
	parts := make([]string, len(e.Refusals))
	for i, r := range e.Refusals {
		parts[i] = r.String()
	}
	kept := "no " + e.Table + " row was removed"
	if e.Rewritten {
		kept = "none of those " + e.Table + " rows was deleted"
	}
	return fmt.Sprintf("%s; %s", strings.Join(parts, "; "), kept)
}

// referenceEffects says what deleting a referenced row does to the rows
// referencing it, by the foreign key's ON DELETE action (Refusal.Definition).
var referenceEffects = map[string]string{
	"ON DELETE CASCADE":     "delete",
	"ON DELETE SET NULL":    "change (clearing that reference)",
	"ON DELETE SET DEFAULT": "change (setting that reference to its default)",
	"ON DELETE NO ACTION":   "fail on",
	"ON DELETE RESTRICT":    "fail on",
}

// refEdge is a foreign key of table child to a column of another target
// table (or of its own).
type refEdge struct {
	child string
	fk    FK
	key   string // a child row t's key as text: its id, or its primary key's columns joined by commas
	hasID bool
	// ownKey holds for a child row t that a mapping owns by the ledger
	// under its own key (a probe of the ledger's primary key); otherKey
	// for one it owns under another (a derived id, a fold: a hash of the
	// feeding mappings' ledger rows, asked only of the rows ownKey left).
	// For a table without an id, ownKey says it all and otherKey is
	// "false".
	ownKey, otherKey string
}

// refGraph lists, per target table, the foreign keys referencing it.
type refGraph map[string][]refEdge

// buildRefGraph reads the foreign keys of targets into a refGraph, with
// what tells a referencing row the cutover wrote: a ledger row (in ledger)
// of a mapping of ms writing the table that owns it (plans' ownsRow for a
// table without an id).
func buildRefGraph(plans map[string]*Plan, ms []mappings.Mapping, targets map[string]TargetTable, ledger string) refGraph {
	feeders := map[string][]mappings.Mapping{} // target table -> the mappings writing it
	for _, m := range ms {
		if m.Target != "" {
			feeders[m.Target] = append(feeders[m.Target], m)
		}
	}
	g := refGraph{}
	for _, child := range slices.Sorted(maps.Keys(targets)) {
		ct := targets[child]
		e := refEdge{child: child, hasID: ct.has("id"), key: "t.id::text", ownKey: "false", otherKey: "false"}
		if !e.hasID {
			e.key = "concat_ws(','"
			for _, c := range ct.PK {
				e.key += ", t." + ident(c) + "::text"
			}
			e.key += ")"
		}
		var legacy, owns []string
		for _, f := range feeders[child] {
			legacy = append(legacy, lit(f.Legacy))
			owns = append(owns, plans[f.Name()].ownsRow)
		}
		switch {
		case len(legacy) == 0:
		case !e.hasID:
			e.ownKey = "(" + strings.Join(owns, " OR ") + ")"
		default:
			in := `o.legacy_table IN (` + strings.Join(legacy, ", ") + `) AND o.disposition IN ` + owning
			e.ownKey = `EXISTS (SELECT 1 FROM ` + ledger + ` o WHERE ` + in + ` AND o.legacy_key = t.id::text AND o.target_id = t.id)`
			e.otherKey = `EXISTS (SELECT 1 FROM ` + ledger + ` o WHERE ` + in + ` AND o.target_id = t.id)`
		}
		for _, fk := range ct.FKs {
			e.fk = fk
			g[fk.Parent] = append(g[fk.Parent], e)
		}
	}
	return g
}

// referenced reports whether rows that plan p's mapping deletes may have
// rows referencing them: its table has an id, and foreign keys reference
// it.
func (s *session) referenced(p *Plan) bool { return p.RemoveIDs != "" && len(s.refs[p.M.Target]) > 0 }

// deletion deletes the rows of plan p's table whose ids query ids selects
// (the rows its mapping no longer decides, RemoveIDs; or, with rewritten,
// those RemoveReferencing deletes and the upsert writes again), for a
// table that foreign keys reference (referenced), in one transaction: the
// ids kept in a table of the stage (a temporary table would need the TEMP
// right, which a hardened database grants no one but its owner), the rows
// locked (lockRows), then the rows the cutover did not write that would go
// with them or lose their reference looked for (referencing, which locks
// the rows that would go with them too): where there are some, it deletes
// nothing and returns a ForeignReferencesError, else it deletes the rows.
// With look, it locks nothing, deletes nothing and returns what it found
// as refusals (a dry run). It returns the delete's tag and its
// transaction's id.
//
// The locks it takes may meet, in the other order, another
// session's: the application's, or another mapping's removal cascading
// into the same rows. The server then ends one of them (deadlock_detected);
// when it ends the deletion's transaction, nothing of it stays, and it
// starts again, up to deletionAttempts times.
func (s *session) deletion(ctx context.Context, p *Plan, ids string, rewritten, look bool) (tag pgconn.CommandTag, xid int64, refusals []Refusal, err error) {
	for attempt := 1; ; attempt++ {
		tag, xid, refusals, err = s.deleteOnce(ctx, p, ids, rewritten, look)
		var pgErr *pgconn.PgError
		if attempt == deletionAttempts || !errors.As(err, &pgErr) || pgErr.Code != deadlockDetected {
			return tag, xid, refusals, err
		}
		s.cfg.Progress(Event{Phase: "remove", Message: fmt.Sprintf(
			"%s: the server ended a deadlock between the removal and another session by ending the removal, which left nothing; trying again (%d of %d)",
			p.M.Name(), attempt+1, deletionAttempts)})
	}
}

// deletionAttempts is how often deletion tries before it returns the
// deadlock; deadlockDetected is its SQLSTATE.
const (
	deletionAttempts = 3
	deadlockDetected = "40P01"
)

// deleteOnce is one attempt of deletion.
func (s *session) deleteOnce(ctx context.Context, p *Plan, ids string, rewritten, look bool) (tag pgconn.CommandTag, xid int64, refusals []Refusal, err error) {
	seeds, err := migrations.SeedIDs()
	if err != nil {
		return tag, 0, nil, err
	}
	tx, err := s.pool.Begin(ctx)
	if err != nil {
		return tag, 0, nil, err
	}
	defer tx.Rollback(context.WithoutCancel(ctx))
	// A parallel hash join builds its table before it knows whether the
	// other side has rows; a serial one looks first (referencing).
	if _, err := tx.Exec(ctx, `SET LOCAL max_parallel_workers_per_gather = 0`); err != nil {
		return tag, 0, nil, err
	}
	if !look {
		if xid, err = currentXID(ctx, tx); err != nil {
			return tag, 0, nil, err
		}
	}
	root := ident(s.stage, "gone_"+p.M.Legacy)
	selected, err := tx.Exec(ctx, `CREATE UNLOGGED TABLE `+root+` AS `+ids)
	if err != nil {
		return tag, 0, nil, fmt.Errorf("select the rows to delete: %w", err)
	}
	if selected.RowsAffected() > 0 { // else the usual re-run: tag is the zero one, of no row
		// Its size for the planner, which takes a table never analyzed
		// for ten pages and hashes every referencing table whole.
		if _, err := tx.Exec(ctx, `ANALYZE `+root); err != nil {
			return tag, 0, nil, fmt.Errorf("select the rows to delete: %w", err)
		}
		if !look {
			if err := lockRows(ctx, tx, p.M.Target, root); err != nil {
				return tag, 0, nil, err
			}
		}
		if refusals, err = s.referencing(ctx, tx, p, root, rewritten, !look, seeds); err != nil || look {
			return tag, 0, refusals, err
		}
		if len(refusals) > 0 {
			return tag, 0, nil, &ForeignReferencesError{Table: p.M.Target, Rewritten: rewritten, Refusals: refusals}
		}
		if tag, err = tx.Exec(ctx, `DELETE FROM public.`+ident(p.M.Target)+` t WHERE t.id IN (SELECT id FROM `+root+`)`); err != nil {
			return tag, 0, nil, fmt.Errorf("delete the rows: %w", err)
		}
	}
	if look {
		return tag, 0, nil, nil
	}
	if _, err := tx.Exec(ctx, `DROP TABLE `+root); err != nil {
		return tag, 0, nil, err
	}
	return tag, xid, nil, tx.Commit(ctx)
}

// referencing returns, as refusals of plan p's mapping, the rows the
// cutover did not write (seeds left out) that reference the rows of p's
// table whose ids the stage table root holds (which the caller is about
// to delete in tx), or that reference, or are, rows that would go with
// them (ON DELETE CASCADE), down every such chain. The tables it makes
// for the chains are gone when it returns without an error (with one,
// the caller's rollback takes them).
//
// With lock, it locks the rows that would go with them as it selects
// them (as lockRows does), so that no row referencing those is written
// while it looks.
func (s *session) referencing(ctx context.Context, tx pgx.Tx, p *Plan, root string, rewritten, lock bool, seedIDs []string) (refusals []Refusal, err error) {
	type deleted struct{ table, rel, via string }
	sets := map[string][]string{p.M.Target: {root}} // per table, the relations of its ids deleted
	queue := []deleted{{table: p.M.Target, rel: root}}
	var made []string
	defer func() {
		if err != nil {
			return // the caller rolls the transaction back, and them with it
		}
		for _, rel := range made {
			if _, err = tx.Exec(ctx, `DROP TABLE `+rel); err != nil {
				return
			}
		}
	}()
	for len(queue) > 0 {
		d := queue[0]
		queue = queue[1:]
		for _, e := range s.refs[d.table] {
			match := `t.` + ident(e.fk.Column) + ` IN (SELECT id FROM ` + d.rel + `)`
			if e.fk.ParentColumn != "id" {
				match = `t.` + ident(e.fk.Column) + ` IN (SELECT p.` + ident(e.fk.ParentColumn) + ` FROM public.` + ident(d.table) + ` p
					WHERE p.id IN (SELECT id FROM ` + d.rel + `))`
			}
			conds := []string{match}
			if e.hasID {
				for _, r := range sets[e.child] { // deleted already, with their own references
					conds = append(conds, `NOT EXISTS (SELECT 1 FROM `+r+` g WHERE g.id = t.id)`)
				}
			}
			rows := `public.` + ident(e.child) + ` t WHERE ` + strings.Join(conds, " AND ")
			if e.fk.OnDelete == "CASCADE" && e.hasID {
				// The rows that go with them, whoever wrote them: those the
				// cutover did not are refused below, and the references to
				// all are looked at in turn.
				next := ident(s.stage, fmt.Sprintf("gone_%s_%d", p.M.Legacy, len(made)+1))
				// With lock, they are locked as they are selected (lockRows):
				// a row another session moved to another parent meanwhile
				// is checked again once that session ends, and left out.
				forUpdate := ""
				if lock {
					forUpdate = ` FOR UPDATE OF t`
				}
				tag, err := tx.Exec(ctx, `CREATE UNLOGGED TABLE `+next+` AS SELECT t.id FROM `+rows+forUpdate)
				if err != nil {
					return nil, fmt.Errorf("select the %s rows that go with the %s rows it deletes (%s): %w", e.child, d.table, e.fk.Name, err)
				}
				made = append(made, next)
				if tag.RowsAffected() == 0 {
					continue
				}
				if _, err := tx.Exec(ctx, `ANALYZE `+next); err != nil {
					return nil, err
				}
				sets[e.child] = append(sets[e.child], next)
				queue = append(queue, deleted{table: e.child, rel: next, via: cmp.Or(d.via, p.M.Target)})
				rows = `public.` + ident(e.child) + ` t WHERE t.id IN (SELECT id FROM ` + next + `)`
			}
			// Of those, the ones the cutover did not write: first the rows
			// not owned under their own key (a probe each), and of those
			// the rows not owned under another (a hash of the ledger's
			// rows, built only when some are left: the fence keeps the
			// order, and a usual re-run leaves none).
			var args []any
			seeds := ""
			if e.hasID {
				seeds, args = ` AND t.id::text <> ALL ($1::text[])`, []any{seedIDs}
			}
			// With lock, those rows are locked FOR SHARE as they are
			// found, which waits for a transaction updating one: a row
			// it moves to another parent is then checked again once it
			// commits, and left out (a cascade's rows are locked above;
			// this does it for NO ACTION and SET NULL). The rows locked
			// are those the ledger does not give the cutover under their
			// own key (the probe inside the fence): rows it wrote under
			// a derived id too, but a re-run usually finds none. A
			// transaction that only edits another column of such a row
			// is waited for as well, where an earlier build named the
			// row at once.
			share := ""
			if lock {
				share = ` FOR SHARE OF t`
			}
			f := Refusal{Mapping: p.M.Name(), Legacy: p.M.Legacy, Table: e.child, Constraint: "foreign key " + e.fk.Name,
				Definition: "ON DELETE " + e.fk.OnDelete, References: true, Parent: d.table, Rewritten: rewritten, Via: d.via}
			if err := tx.QueryRow(ctx, `SELECT count(*), coalesce((array_agg(k ORDER BY k))[1:5], '{}')
				FROM (SELECT `+e.key+` AS k FROM (SELECT t.* FROM `+rows+` AND NOT `+e.ownKey+seeds+` OFFSET 0`+share+`) t
					WHERE NOT `+e.otherKey+`) x`, args...).Scan(&f.Count, &f.Keys); err != nil {
				return nil, fmt.Errorf("look for rows the cutover did not write that reference %s rows it deletes (%s): %w", d.table, e.fk.Name, err)
			}
			if f.Count > 0 {
				refusals = append(refusals, f)
			}
		}
	}
	return refusals, nil
}

// lockRows locks, for the rest of transaction tx, the rows of target table
// table whose ids the stage table rel holds, as the delete that follows
// would (FOR UPDATE). A transaction that writes a row referencing one of
// them holds a lock that conflicts (FOR KEY SHARE, the foreign key's
// check): one still open is waited for, so the look that follows sees its
// row once it commits, and one that starts later waits for the deletion
// to end, then fails on its foreign key. Without it, such a row would go
// unseen and the delete would take it along (ON DELETE CASCADE) or
// fail on it (NO ACTION).
func lockRows(ctx context.Context, tx pgx.Tx, table, rel string) error {
	if _, err := tx.Exec(ctx, `SELECT count(*) FROM (SELECT FROM public.`+ident(table)+` t
		WHERE t.id IN (SELECT id FROM `+rel+`) FOR UPDATE OF t) l`); err != nil {
		return fmt.Errorf("lock the %s rows it deletes: %w", table, err)
	}
	return nil
}
