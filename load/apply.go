package load

// This file is the run's apply phase: each mapping's decisions written
// into the target, the ledger and the kept rows, and the target tables
// analyzed after.

import (
	"context"
	"errors"
	"fmt"
	"maps"
	"slices"
	"strings"
	"sync"

	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgconn"
	"golang.org/x/sync/errgroup"

	"github.com/cutover/cutover/internal/prose"
	"github.com/cutover/cutover/mappings"
)

// keptTables are the bookkeeping tables that keep the legacy rows of a
// disposition, by disposition.
var keptTables = map[string]string{"rejected": "rejects", "archived": "archive", "discarded": "discards"}

// keptRowsKind names the disposition whose rows statement q keeps with
// their legacy row (rejects, archive, discards), or "".
func keptRowsKind(q string) string {
	for disp, table := range keptTables {
		if strings.HasPrefix(q, "INSERT INTO "+bk+"."+table+" ") {
			return disp
		}
	}
	return ""
}

// keptTableChanged names the table of kept rows (see keptTables) that
// statement q inserts into or deletes from, or "".
func keptTableChanged(q string) string {
	for _, table := range keptTables {
		if strings.HasPrefix(q, "INSERT INTO "+bk+"."+table+" ") || strings.HasPrefix(q, "DELETE FROM "+bk+"."+table+" ") {
			return table
		}
	}
	return ""
}

// runArgs are the arguments of an apply statement q: the run id when q
// takes it ($1), else none (and q goes as a simple query).
func runArgs(q string, runID int64) []any {
	if strings.Contains(q, "$1") {
		return []any{runID}
	}
	return nil
}

// firstResults runs a first apply's results statements (Plan.FirstResults)
// and returns the dispositions with reasons the decisions hold: a first
// apply skips the statements that keep the rows of absent ones (each joins
// the whole stage table to find none).
func firstResults(ctx context.Context, tx pgx.Tx, stmts []string, runID int64) (map[string]bool, error) {
	if len(stmts) == 0 {
		// Without them no kept rows would be written: a plan bug.
		return nil, errors.New("the plan has no results statements")
	}
	present := map[string]bool{}
	for i, q := range stmts {
		args := runArgs(q, runID)
		if i < len(stmts)-1 {
			if _, err := tx.Exec(ctx, q, args...); err != nil {
				return nil, err
			}
			continue
		}
		rows, err := tx.Query(ctx, q, args...)
		if err != nil {
			return nil, err
		}
		got, err := pgx.CollectRows(rows, pgx.RowTo[string])
		if err != nil {
			return nil, err
		}
		for _, d := range got {
			present[d] = true
		}
	}
	return present, nil
}

// apply makes the target equal the decisions: first it removes rows that
// are no longer decided (children first), then writes every mapping's rows
// and bookkeeping (parents first), each mapping in one transaction.
func (s *session) apply(ctx context.Context, plans map[string]*Plan) (map[string]int64, error) {
	var mu sync.Mutex
	changes := map[string]int64{}
	kept := map[string]bool{} // the tables of kept rows the run changed
	count := func(table string, n int64) {
		if table == "" || n == 0 {
			return
		}
		mu.Lock()
		changes[table] += n
		mu.Unlock()
	}
	// From here the target leaves the state the batch records and the
	// recorded inputs describe, for the mappings redone; each mapping's
	// come back with its rows.
	redo := subset(s.ms, s.only.redo)
	var redoTables []string
	for _, m := range redo {
		redoTables = append(redoTables, m.Legacy)
	}
	err := pgx.BeginFunc(ctx, s.target, func(tx pgx.Tx) error {
		if _, err := tx.Exec(ctx, `DELETE FROM `+bk+`.batches WHERE legacy_table = ANY($1)`, redoTables); err != nil {
			return err
		}
		_, err := tx.Exec(ctx, `UPDATE `+bk+`.results SET inputs = NULL WHERE mapping = ANY($1) AND inputs IS NOT NULL`, mappingNames(redo))
		return err
	})
	if err != nil {
		return nil, fmt.Errorf("reset the batch records: %w", err)
	}
	if err := s.holdsLock(ctx, s.pool); err != nil {
		return nil, err
	}
	// The tables that lost rows and the transactions that removed them:
	// rows whose reference their removal cleared (ON DELETE SET NULL) are
	// counted after the apply (countCleared).
	removedFrom := map[string]bool{}
	var removals []int64
	removedIn := func(table string, xid int64) {
		mu.Lock()
		defer mu.Unlock()
		removedFrom[table] = true
		removals = append(removals, xid)
	}
	if err := s.removeVanished(ctx, count, removedIn); err != nil {
		return nil, err
	}
	// The source tables with rows in the ledger. One probe per table (a
	// subquery with LIMIT stays a per-row probe, which the partitioned
	// ledger prunes to the table's partition); a DISTINCT over the whole
	// ledger read every row of it (0.4 s of a re-run at 1M).
	applied := map[string]bool{}
	prev, err := s.target.Query(ctx, `SELECT t FROM unnest($1::text[]) t
		WHERE (SELECT true FROM `+bk+`.dispositions d WHERE d.legacy_table = t LIMIT 1)`, s.src.TableNames())
	if err != nil {
		return nil, fmt.Errorf("apply: read the ledger: %w", err)
	}
	names, err := pgx.CollectRows(prev, pgx.RowTo[string])
	if err != nil {
		return nil, fmt.Errorf("apply: read the ledger: %w", err)
	}
	for _, n := range names {
		applied[n] = true
	}
	// Rows no longer decided go first, children before their parents; a
	// mapping whose table has no ledger rows owns no target row, and has
	// nothing to remove. The removals of mappings that do not depend on
	// each other run side by side: one after another they were 12 s of a
	// 10M re-run on one connection.
	var removing []mappings.Mapping
	for _, m := range redo {
		if applied[m.Legacy] && len(plans[m.Name()].Remove) > 0 {
			removing = append(removing, m)
		}
	}
	// The rows each target table loses, for the children whose foreign
	// keys would block that (RemoveReferencing).
	removed := map[string][]string{}
	for _, m := range removing {
		if ids := plans[m.Name()].RemoveIDs; ids != "" {
			removed[m.Target] = append(removed[m.Target], ids)
		}
	}
	err = s.ordered(ctx, "remove", removing, childrenFirst(s.ms), func(ctx context.Context, m mappings.Mapping) error {
		p := plans[m.Name()]
		remove := p.Remove
		if s.referenced(p) {
			// The mappings referencing this one have removed their rows:
			// what else references the rows this one removes, or the rows
			// that go with them, the cutover did not write.
			tag, xid, _, err := s.deletion(ctx, p, p.RemoveIDs, false, false)
			if err != nil {
				return fmt.Errorf("remove rows no longer decided: %w", err)
			}
			count(m.Target, tag.RowsAffected())
			if tag.RowsAffected() > 0 {
				removedIn(m.Target, xid)
			}
			remove = nil
		}
		for _, q := range remove {
			var xid int64
			var tag pgconn.CommandTag
			err := pgx.BeginFunc(ctx, s.pool, func(tx pgx.Tx) (err error) {
				if xid, err = currentXID(ctx, tx); err != nil {
					return err
				}
				tag, err = tx.Exec(ctx, q)
				return err
			})
			if err != nil {
				return fmt.Errorf("remove rows no longer decided: %w", err)
			}
			count(m.Target, tag.RowsAffected())
			if tag.RowsAffected() > 0 {
				removedIn(m.Target, xid)
			}
		}
		// Then the rows it still decides that reference a parent row the
		// run removes: the ones given to another parent (removed first,
		// its rows no longer decided are counted as removals).
		for _, c := range p.FKChecks {
			fk := c.FK
			if fk.ParentColumn != "id" {
				continue
			}
			if q := p.RemoveReferencing(fk, removed[fk.Parent]); q != "" {
				// Not counted: the upsert writes each row again, and counts it then.
				var err error
				if s.referenced(p) {
					// Rows the cutover did not write may reference them.
					_, _, _, err = s.deletion(ctx, p, p.ReferencingIDs(fk, removed[fk.Parent]), true, false)
				} else {
					_, err = s.pool.Exec(ctx, q)
				}
				if err != nil {
					return fmt.Errorf("remove the rows that still reference removed %s rows (%s): %w", fk.Parent, fk.Name, err)
				}
			}
			if q := p.RestoreReferencing(fk, removed[fk.Parent]); q != "" {
				var freed int64
				if err := s.pool.QueryRow(ctx, q).Scan(&freed); err != nil {
					return fmt.Errorf("restore the seeded rows that reference removed %s rows (%s): %w", fk.Parent, fk.Name, err)
				}
				count(m.Target, freed)
			}
		}
		return s.cfg.at("remove.referencing:" + m.Legacy)
	})
	if err != nil {
		return nil, err
	}
	// A superuser skips the per-row foreign-key triggers (each takes a row
	// lock on the parent) and checks each mapping's rows set-based instead,
	// in the same transaction, before it commits. So does any role whose
	// sessions start with the triggers off (session_replication_role =
	// replica, set for the database or the role, as a bulk load or a
	// replication set-up may have left it), where no trigger would check.
	var super bool
	var replicationRole string
	if err := s.target.QueryRow(ctx, `SELECT rolsuper, current_setting('session_replication_role') FROM pg_roles WHERE rolname = current_user`).Scan(&super, &replicationRole); err != nil {
		return nil, fmt.Errorf("apply: read the target role: %w", err)
	}
	triggersOff := replicationRole == "replica"
	setBased := super || triggersOff
	if triggersOff {
		s.cfg.Progress(Event{Phase: "apply", Message: "the target's sessions start with session_replication_role = replica, so no foreign-key trigger fires: the run checks each mapping's rows against the foreign keys itself"})
	}
	var xids []int64 // the apply transactions, to tell this run's rows from older ones
	var release *stageRelease
	if !s.cfg.KeepStage {
		release = newStageRelease(s.stage, plans, s.only.redo)
	}
	err = s.inOrder(ctx, "apply", redo, true, func(ctx context.Context, m mappings.Mapping) (err error) {
		// After the transaction's rollback: a constraint may have met rows
		// the cutover did not write, or refused rows the mapping decided.
		p := plans[m.Name()]
		defer func() { err = s.explainViolation(ctx, p, err) }()
		tx, err := s.pool.Begin(ctx)
		if err != nil {
			return err
		}
		defer tx.Rollback(context.WithoutCancel(ctx))
		if super && !triggersOff {
			if _, err := tx.Exec(ctx, "SET LOCAL session_replication_role = replica"); err != nil {
				return err
			}
		}
		xid, err := currentXID(ctx, tx)
		if err != nil {
			return err
		}
		mu.Lock()
		xids = append(xids, xid)
		mu.Unlock()
		upsert := p.Upsert
		var bulk bool
		var dropped []rebuild
		var partition string
		var attach []string
		var present map[string]bool // on a first apply: the dispositions decided
		first := !applied[m.Legacy] && len(p.FirstUpsert) > 0
		if first {
			// Never applied: none of its rows can be in the target yet.
			upsert = p.FirstUpsert
			if partition, attach, err = ledgerBulk(ctx, tx, m.Legacy); err != nil {
				return fmt.Errorf("prepare the ledger partition of %s: %w", m.Legacy, err)
			}
			if present, err = firstResults(ctx, tx, p.FirstResults, s.runID); err != nil {
				return fmt.Errorf("record the results: %w", err)
			}
			tgt := "public." + ident(m.Target)
			if p.FirstInsert != "" {
				if bulk, err = bulkTarget(ctx, tx, tgt); err != nil {
					return fmt.Errorf("prepare the bulk load of %s: %w", m.Target, err)
				}
			}
			if bulk {
				if dropped, err = dropIndexes(ctx, tx, tgt); err != nil {
					return err
				}
			}
		}
		// A row the cutover did not write that holds a key it loads (a
		// table without an id, whose primary key the upsert goes by).
		if held, err := takenOver(ctx, tx, p); err != nil {
			return err
		} else if held.Count > 0 {
			return &RefusedRowsError{Refusal: held}
		}
		for i, q := range upsert {
			if i == 0 && bulk && !slices.ContainsFunc(dropped, func(r rebuild) bool { return r.primary }) {
				q += "\nORDER BY " + strings.Join(quoteAll(p.PK), ", ") // into the primary key in its order
			}
			if i == 1 {
				if err := s.cfg.at("apply.rows:" + m.Legacy); err != nil {
					return err
				}
			}
			if strings.HasPrefix(q, "INSERT INTO "+bk+".rejects") {
				if err := s.cfg.at("apply.rejects:" + m.Legacy); err != nil {
					return err
				}
			}
			if kind := keptRowsKind(q); kind != "" && present != nil && !present[kind] {
				continue // no such rows: skip the join with the stage table
			}
			// An update of an application table counts, even when it
			// reads the bookkeeping (a seed's content restored).
			bookkeeping := strings.Contains(q, bk+".") && !strings.HasPrefix(q, "UPDATE public.")
			if partition != "" && strings.HasPrefix(q, "INSERT INTO "+bk+".dispositions ") {
				q = "INSERT INTO " + partition + " (" + ledgerColumns + ")\n" + p.LedgerRows
			}
			var tag pgconn.CommandTag
			if i == 0 && p.Vacate != "" && !first {
				tag, err = s.upsertVacating(ctx, tx, p, q, count)
			} else {
				tag, err = tx.Exec(ctx, q, runArgs(q, s.runID)...)
			}
			if err != nil {
				return err
			}
			if !bookkeeping {
				count(m.Target, tag.RowsAffected())
			}
			if t := keptTableChanged(q); t != "" && tag.RowsAffected() > 0 {
				mu.Lock()
				kept[t] = true
				mu.Unlock()
			}
			if i == 0 && bulk {
				if err := buildIndexes(ctx, tx, "public."+ident(m.Target), dropped); err != nil {
					return err
				}
			}
		}
		if setBased {
			for _, c := range p.FKChecks {
				if !bulk {
					// Rows joining a table that holds others (a re-run's,
					// or a second feeder's) may join a target the
					// application uses: their parents are held to commit,
					// as the key's trigger holds them. (A first load fills
					// a table no application uses yet.)
					if _, err := tx.Exec(ctx, c.Lock); err != nil {
						return fmt.Errorf("lock the rows foreign key %s references: %w", c.FK.Name, err)
					}
				}
				var bad int64
				if err := tx.QueryRow(ctx, c.SQL).Scan(&bad); err != nil {
					return fmt.Errorf("check foreign key %s: %w", c.FK.Name, err)
				}
				if bad > 0 {
					return fmt.Errorf("%s of %s would reference %s rows that are not in the target (foreign key %s, %s → %s.%s): "+
						"rows the run decided from were removed from the target while it worked (by the application or by hand), or else a mapping bug; "+
						"nothing of this mapping was written",
						prose.Count(bad, "row", "rows"), m.Target, c.FK.Parent, c.FK.Name, c.FK.Column, c.FK.Parent, c.FK.ParentColumn)
				}
			}
		}
		for _, q := range attach {
			if _, err := tx.Exec(ctx, q); err != nil {
				return fmt.Errorf("attach the ledger partition of %s: %w", m.Legacy, err)
			}
		}
		if err := s.recordBatches(ctx, tx, m.Legacy); err != nil {
			return err
		}
		if tag, err := tx.Exec(ctx, `UPDATE `+bk+`.results SET inputs = $2, judged_at = $3 WHERE mapping = $1`, m.Name(), s.only.digests[m.Name()], s.runStarted()); err != nil {
			return fmt.Errorf("record the inputs: %w", err)
		} else if tag.RowsAffected() != 1 {
			return errors.New("record the inputs: the plan wrote no results row") // a plan bug
		}
		if err := s.holdsLock(ctx, tx); err != nil {
			return err
		}
		if err := s.cfg.at("apply.commit:" + m.Legacy); err != nil {
			return err
		}
		if err := tx.Commit(ctx); err != nil {
			return err
		}
		if release == nil {
			return nil
		}
		for _, rel := range release.applied(m.Name()) {
			if _, err := s.pool.Exec(ctx, `DROP TABLE IF EXISTS `+rel); err != nil {
				if ctx.Err() != nil {
					return ctx.Err()
				}
				// Not the run's failure: the stage's drop at the end takes it.
				s.cfg.Logger.Debug("could not drop a stage relation early", "relation", rel, "err", err)
			}
		}
		return nil
	})
	if err != nil {
		return nil, err
	}
	if err := s.countCleared(ctx, plans, removedFrom, removals, count); err != nil {
		return nil, err
	}
	s.cfg.Progress(Event{Phase: "finish", Message: "assigning feed order (sort_order)"})
	for _, table := range feedTables {
		if err := s.cfg.at("sort_order:" + table); err != nil {
			return nil, err
		}
		// Rows this run wrote are counted already; count the older rows
		// that only move.
		var moved int64
		err := s.target.QueryRow(ctx, `WITH u AS (UPDATE public.`+table+` t SET sort_order = o.rn - 1
			FROM (SELECT id, xmin::text::bigint AS old_xmin,
				row_number() OVER (PARTITION BY user_id ORDER BY created_at, id) AS rn FROM public.`+table+`) o
			WHERE t.id = o.id AND t.sort_order IS DISTINCT FROM o.rn - 1 RETURNING o.old_xmin)
			SELECT count(*) FILTER (WHERE NOT (old_xmin = ANY ($1))) FROM u`, xids).Scan(&moved)
		if err != nil {
			return nil, fmt.Errorf("assign %s.sort_order: %w", table, err)
		}
		count(table, moved)
	}
	if err := s.analyzeTargets(ctx, changes, slices.Sorted(maps.Keys(kept))); err != nil {
		return nil, err
	}
	return changes, nil
}

// countCleared counts, with count, the rows whose reference to a removed
// row its removal cleared (ON DELETE SET NULL, in the removal's
// transaction, one of removals) and that no apply wrote after: the
// database changed them, and no statement of the run counted them (an
// upsert that finds such a row as decided leaves it). Only the tables with
// such a key to a table in removedFrom are read.
func (s *session) countCleared(ctx context.Context, plans map[string]*Plan, removedFrom map[string]bool, removals []int64, count func(string, int64)) error {
	if len(removals) == 0 {
		return nil
	}
	children := map[string]bool{}
	for _, p := range plans {
		for _, c := range p.FKChecks {
			if c.FK.SetsNull && removedFrom[c.FK.Parent] {
				children[p.M.Target] = true
			}
		}
	}
	for _, table := range slices.Sorted(maps.Keys(children)) {
		var n int64
		if err := s.pool.QueryRow(ctx, `SELECT count(*) FROM public.`+ident(table)+` WHERE xmin::text::bigint = ANY ($1)`, removals).Scan(&n); err != nil {
			return fmt.Errorf("count the rows of %s whose references the removals cleared: %w", table, err)
		}
		count(table, n)
	}
	return nil
}

// currentXID returns the id of tx's transaction as a row's xmin shows it
// (without the epoch), to tell the rows it wrote from older ones.
func currentXID(ctx context.Context, tx pgx.Tx) (int64, error) {
	var xid int64
	err := tx.QueryRow(ctx, "SELECT txid_current() % 4294967296").Scan(&xid)
	return xid, err
}

// upsertVacating runs upsert q, mapping p's target rows, in tx; when it
// fails on a unique index it undoes it, moves the rows whose new values
// others hold now in chains (Plan.Vacate, until it updates nothing, each
// pass counted with count). Rows left then take each other's values (a
// swap between runs), which no order of updates can write: it parks them
// on values of their own (Plan.Park) and moves them again. Then it runs
// the upsert again; rows that still collide (a swap of an index with
// nothing to park in, or a value a row that stays holds) fail it, and
// the error says so.
func (s *session) upsertVacating(ctx context.Context, tx pgx.Tx, p *Plan, q string, count func(string, int64)) (_ pgconn.CommandTag, err error) {
	if _, err := tx.Exec(ctx, "SAVEPOINT upsert"); err != nil {
		return pgconn.CommandTag{}, err
	}
	tag, err := tx.Exec(ctx, q, runArgs(q, s.runID)...)
	var pgErr *pgconn.PgError
	if !errors.As(err, &pgErr) || pgErr.Code != uniqueViolation {
		if err == nil {
			_, err = tx.Exec(ctx, "RELEASE SAVEPOINT upsert")
		}
		return tag, err
	}
	if _, err := tx.Exec(ctx, "ROLLBACK TO SAVEPOINT upsert"); err != nil {
		return pgconn.CommandTag{}, err
	}
	vacate := func() error {
		for pass := 1; ; pass++ {
			moved, err := tx.Exec(ctx, p.Vacate)
			if err != nil {
				return fmt.Errorf("update the rows whose unique values others hold, pass %d: %w", pass, err)
			}
			count(p.M.Target, moved.RowsAffected())
			if moved.RowsAffected() == 0 {
				return nil
			}
		}
	}
	if err := vacate(); err != nil {
		return pgconn.CommandTag{}, err
	}
	if p.Park != "" {
		// What is left wants values others of it hold: a swap. Parked
		// on values of their own, the rows let each other's go; a row
		// whose value a row that stays holds is parked in vain, and
		// the upsert below names that. Parking that breaks a constraint
		// is undone, and the swap refused as before.
		if _, err := tx.Exec(ctx, "SAVEPOINT park"); err != nil {
			return pgconn.CommandTag{}, err
		}
		parked, err := tx.Exec(ctx, p.Park)
		switch {
		case errors.As(err, &pgErr) && strings.HasPrefix(pgErr.Code, "23"):
			if _, err := tx.Exec(ctx, "ROLLBACK TO SAVEPOINT park"); err != nil {
				return pgconn.CommandTag{}, err
			}
		case err != nil:
			return pgconn.CommandTag{}, fmt.Errorf("park the rows of %s that take each other's unique values: %w", p.M.Target, err)
		case parked.RowsAffected() > 0:
			if err := vacate(); err != nil {
				return pgconn.CommandTag{}, err
			}
			defer func() {
				if err == nil { // said once the rows are written
					s.cfg.Progress(Event{Phase: "apply", Message: fmt.Sprintf(
						"%s: %d rows take each other's unique values (a swap): written through values of their own", p.M.Target, parked.RowsAffected())})
				}
			}()
		}
	}
	tag, err = tx.Exec(ctx, q, runArgs(q, s.runID)...)
	if errors.As(err, &pgErr) && pgErr.Code == uniqueViolation {
		return tag, &swapError{Table: p.M.Target, Index: pgErr.ConstraintName, Err: err}
	}
	return tag, err
}

// swapError is an upsert that still breaks a unique index after the rows
// whose new values others held were moved, and parked where the index
// has a column to park in: what is left is rows that take each other's
// values. explainViolation replaces it when it finds another cause (a
// key held by another mapping's row, say).
type swapError struct {
	Table, Index string
	Err          error // the violation
}

func (e *swapError) Unwrap() error { return e.Err }

func (e *swapError) Error() string {
	return fmt.Sprintf("rows of %s take each other's values of unique index %s since the last run (a swap, or a cycle of them): "+
		"no order of updates writes them without a duplicate in between; change one of them in the source and re-run, or load into a fresh target: %v",
		e.Table, e.Index, e.Err)
}

// analyzeTargets gathers planner statistics of the target tables the run
// wrote, and of those written since their last statistics or that never
// had any (tables a failed run wrote and this one left as they were,
// seeded tables), in parallel: the application's first queries after
// go-live would otherwise be planned without statistics until autovacuum
// gets to them. The largest tables go first, so that the last ones to
// finish are small: this is the run's tail, and two workers that got the
// two largest tables last would leave one idle for a second or more.
//
// The tables of kept rows the run changed (kept, names in the bookkeeping
// schema) get a sampled analysis of the columns their joins read: a re-run
// soon after, or verify, would otherwise plan them from no statistics (as
// a few rows) until autovacuum gets to them.
func (s *session) analyzeTargets(ctx context.Context, changes map[string]int64, kept []string) error {
	var written []string
	for t, n := range changes {
		if n > 0 {
			written = append(written, t)
		}
	}
	rows, err := s.pool.Query(ctx, `SELECT schemaname::text, relname::text FROM pg_stat_user_tables
		WHERE schemaname = 'public' AND (n_mod_since_analyze > 0 OR last_analyze IS NULL AND last_autoanalyze IS NULL OR relname = ANY($1))
			OR schemaname = $2 AND relname = ANY($3)
		ORDER BY pg_relation_size(relid) DESC, schemaname, relname`, written, bk, kept)
	if err != nil {
		return fmt.Errorf("read which target tables have statistics: %w", err)
	}
	type table struct{ schema, name string }
	tables, err := pgx.CollectRows(rows, func(r pgx.CollectableRow) (t table, err error) {
		err = r.Scan(&t.schema, &t.name)
		return t, err
	})
	if err != nil {
		return fmt.Errorf("read which target tables have statistics: %w", err)
	}
	var public int
	for _, t := range tables {
		if t.schema == "public" {
			public++
		}
	}
	s.cfg.Progress(Event{Phase: "finish", Message: analyzeMessage(public, len(tables)-public)})
	g, gctx := errgroup.WithContext(ctx)
	g.SetLimit(s.cfg.Workers)
	for _, t := range tables {
		g.Go(func() error {
			defer s.steps.begin("analyze " + t.name)()
			q := "ANALYZE public." + ident(t.name)
			if t.schema != "public" {
				q = sampledAnalyze(bk+"."+ident(t.name), []string{"legacy_table", "legacy_key"})
			}
			if _, err := s.pool.Exec(gctx, q); err != nil {
				return fmt.Errorf("analyze %s.%s: %w%s", t.schema, t.name, err, sqlstateHint(err))
			}
			return nil
		})
	}
	return g.Wait()
}

// analyzeMessage is the progress line of the final analysis of public
// target tables and kept tables.
func analyzeMessage(public, kept int) string {
	switch {
	case public == 0 && kept == 0:
		return "no table changed: no statistics to gather"
	case public == 0:
		return "gathering statistics of the kept rows' tables (ANALYZE)"
	}
	return fmt.Sprintf("gathering statistics of %d target %s (ANALYZE)", public, prose.Plural(public, "table", "tables"))
}
