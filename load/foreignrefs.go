package load

// This file keeps a re-run from removing, or changing, rows the cutover
// did not write through a foreign key to a row it removes.

import (
	"cmp"
	"context"
	"fmt"
	"maps"
	"slices"
	"strings"

	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgconn"

	"github.com/cutover/cutover/extract"
	"github.com/cutover/cutover/mappings"
)

// ForeignReferencesError stops a re-run before it removes the rows of
// Table that it no longer decides (the source no longer loads them), when
// rows the cutover did not write (neither in its ledger nor among the
// schema's seeds) reference them: their foreign keys would delete them
// (ON DELETE CASCADE), clear their reference (SET NULL) or refuse the
// removal. Such rows come from the application or from a hand, after an
// earlier run. Each Refusal (References) names one referencing table and
// foreign key. Nothing of Table was removed.
type ForeignReferencesError struct {
	Table    string
	Refusals []Refusal
}

func (e *ForeignReferencesError) Error() string {
	parts := make([]string, len(e.Refusals))
	for i, r := range e.Refusals {
		parts[i] = r.String()
	}
	return fmt.Sprintf("%s; no %s row was removed", strings.Join(parts, "; "), e.Table)
}

// referenceEffects says what removing a referenced row does to the rows
// referencing it, by the foreign key's ON DELETE action (Refusal.Definition).
var referenceEffects = map[string]string{
	"ON DELETE CASCADE":   "delete",
	"ON DELETE SET NULL":  "change (clearing that reference)",
	"ON DELETE NO ACTION": "fail on",
}

// planForeignReferences sets the ForeignRefs of every plan of plans (all the
// run's mappings ms) whose target table has an id and that some foreign
// key of targets references. The statement lists, per referencing table
// and constraint, the rows that reference a row the mapping's removal
// deletes (RemoveIDs), leaving out seeds ($1), rows the ledger says a
// mapping owns (their mappings remove or rewrite them) and, in the
// mapping's own table, the rows removed with them. It runs after the
// removals of the referencing mappings (children first), so what it finds
// is, on a target only the cutover wrote, nothing.
func planForeignReferences(plans map[string]*Plan, ms []mappings.Mapping, targets map[string]TargetTable, ledger string) {
	feeders := map[string][]mappings.Mapping{} // target table -> the mappings writing it
	for _, m := range ms {
		if m.Target != "" {
			feeders[m.Target] = append(feeders[m.Target], m)
		}
	}
	owned := func(child string) string {
		var legacy, conds []string
		for _, f := range feeders[child] {
			legacy = append(legacy, lit(f.Legacy))
			conds = append(conds, plans[f.Name()].ownsRow)
		}
		switch {
		case len(legacy) == 0:
			return "false"
		case !targets[child].has("id"):
			return "(" + strings.Join(conds, " OR ") + ")"
		}
		// By id: the ledger's primary key finds a row loaded under its own
		// key; the rows re-keyed (a derived id, a fold) are few, and
		// hashed once.
		in := strings.Join(legacy, ", ")
		return `(EXISTS (SELECT 1 FROM ` + ledger + ` o WHERE o.legacy_table IN (` + in + `) AND o.legacy_key = t.id::text
				AND o.target_id = t.id AND o.disposition IN ` + owning + `)
			OR t.id IN (SELECT o.target_id FROM ` + ledger + ` o WHERE o.legacy_table IN (` + in + `)
				AND o.disposition IN ` + owning + ` AND o.target_id::text <> o.legacy_key))`
	}
	children := slices.Sorted(maps.Keys(targets))
	for _, m := range ms {
		p := plans[m.Name()]
		if p == nil || p.RemoveIDs == "" {
			continue
		}
		var arms []string
		for _, child := range children {
			ct := targets[child]
			for _, fk := range ct.FKs {
				if fk.Parent != m.Target || fk.ParentColumn != "id" {
					continue
				}
				key := "t.id::text"
				filter := " AND t.id::text <> ALL ($1::text[])"
				if !ct.has("id") {
					key = "concat_ws(','"
					for _, c := range ct.PK {
						key += ", t." + ident(c) + "::text"
					}
					key += ")"
					filter = ""
				}
				if child == m.Target {
					filter += " AND t.id NOT IN (SELECT id FROM " + goneSlot + ")"
				}
				onDelete := "CASCADE"
				switch {
				case fk.Blocks:
					onDelete = "NO ACTION"
				case fk.SetsNull:
					onDelete = "SET NULL"
				}
				arms = append(arms, `SELECT `+lit(child)+` AS tbl, `+lit(fk.Name)+` AS con, `+lit(onDelete)+` AS action, `+key+` AS k
		FROM public.`+ident(child)+` t
		WHERE t.`+ident(fk.Column)+` IN (SELECT id FROM `+goneSlot+`)`+filter+`
			AND NOT `+owned(child))
			}
		}
		if len(arms) == 0 {
			continue
		}
		p.ForeignRefs = `SELECT tbl, con, action, count(*), (array_agg(k ORDER BY k))[1:5]
	FROM (` + strings.Join(arms, "\n\tUNION ALL ") + `) r
	GROUP BY tbl, con, action ORDER BY tbl, con`
		p.removeGone = `DELETE FROM public.` + ident(m.Target) + ` t WHERE t.id IN (SELECT id FROM ` + goneSlot + `)`
	}
}

// goneSlot stands, in Plan.ForeignRefs and removeGone, for the relation
// of the ids a mapping's removal deletes: a table of the stage that the
// run's removal transaction makes and drops (removeReferenced; a
// temporary table would need the TEMP right, which a hardened database
// grants no one but its owner), a CTE in a dry run (foreignReferences).
const goneSlot = "{{gone}}"

// foreignReferences runs plan p's ForeignRefs on q: the rows the cutover
// did not write that reference rows of p's table that the run deletes
// (those p's mapping no longer decides, or those RemoveReferencing
// deletes), as Refusals (References), one per referencing table and
// foreign key; none when there are none. gone is the table holding the
// ids deleted (removeReferenced); "" selects them in the statement itself
// with the query ids (a dry run).
func (s *session) foreignReferences(ctx context.Context, q extract.Querier, p *Plan, seeds []string, gone, ids string) ([]Refusal, error) {
	if p.ForeignRefs == "" {
		return nil, nil
	}
	var sql string
	if gone == "" {
		sql = `WITH gone AS MATERIALIZED (` + ids + `) ` + strings.ReplaceAll(p.ForeignRefs, goneSlot, "gone")
	} else {
		sql = strings.ReplaceAll(p.ForeignRefs, goneSlot, gone)
	}
	rows, err := q.Query(ctx, sql, seeds)
	if err != nil {
		return nil, fmt.Errorf("look for rows the cutover did not write that reference %s rows it removes: %w", p.M.Target, err)
	}
	refusals, err := pgx.CollectRows(rows, func(r pgx.CollectableRow) (Refusal, error) {
		f := Refusal{Mapping: p.M.Name(), Legacy: p.M.Legacy, References: true, Parent: p.M.Target}
		var name, action string
		err := r.Scan(&f.Table, &name, &action, &f.Count, &f.Keys)
		f.Constraint, f.Definition = "foreign key "+name, "ON DELETE "+action
		return f, err
	})
	if err != nil {
		return nil, fmt.Errorf("look for rows the cutover did not write that reference %s rows it removes: %w", p.M.Target, err)
	}
	return refusals, nil
}

// removeReferenced deletes the rows of plan p's table, which foreign
// keys reference (p.ForeignRefs is set), whose ids query ids selects (its
// rows no longer decided, RemoveIDs, or those RemoveReferencing deletes),
// in one transaction: the ids kept in a table of the stage, the rows the
// cutover did not write that reference them looked for
// (ForeignReferencesError, and nothing deleted; rewritten says the rows
// are ones RemoveReferencing deletes), then the rows deleted and the
// table dropped. It returns the delete's tag and the transaction's id.
func (s *session) removeReferenced(ctx context.Context, p *Plan, ids string, rewritten bool, seeds []string) (tag pgconn.CommandTag, xid int64, err error) {
	gone := ident(s.stage, "gone_"+p.M.Legacy)
	err = pgx.BeginFunc(ctx, s.pool, func(tx pgx.Tx) error {
		if xid, err = currentXID(ctx, tx); err != nil {
			return err
		}
		selected, err := tx.Exec(ctx, `CREATE UNLOGGED TABLE `+gone+` AS `+ids)
		if err != nil {
			return fmt.Errorf("select the rows no longer decided: %w", err)
		}
		if selected.RowsAffected() > 0 { // else the usual re-run: tag is the zero one, of no row
			// Its size for the planner, which takes a table never
			// analyzed for ten pages and hashes every referencing table
			// whole.
			if _, err := tx.Exec(ctx, `ANALYZE `+gone); err != nil {
				return fmt.Errorf("select the rows no longer decided: %w", err)
			}
			refs, err := s.foreignReferences(ctx, tx, p, seeds, gone, "")
			for i := range refs {
				refs[i].Rewritten = rewritten
			}
			if err != nil || len(refs) > 0 {
				return cmp.Or(err, error(&ForeignReferencesError{Table: p.M.Target, Refusals: refs}))
			}
			if tag, err = tx.Exec(ctx, strings.ReplaceAll(p.removeGone, goneSlot, gone)); err != nil {
				return fmt.Errorf("remove rows no longer decided: %w", err)
			}
		}
		_, err = tx.Exec(ctx, `DROP TABLE `+gone)
		return err
	})
	return tag, xid, err
}
