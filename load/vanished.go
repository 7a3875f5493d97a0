package load

import (
	"context"
	"fmt"
	"strings"

	"github.com/jackc/pgx/v5"

	"github.com/cutover/cutover/extract"
	"github.com/cutover/cutover/migrations"
)

// Vanished legacy tables: a table an earlier run loaded that the source no
// longer has (the drift tables, dropped from production after a dry run;
// the tables of another flavor). No mapping of this run reads it, so no
// removal would take the rows it loaded, yet a fresh run on this source
// would not write them. The run removes them and the table's bookkeeping
// before its other removals (see removeVanished).

// vanishedTables returns the legacy tables the bookkeeping records a
// result for and that are not among present, sorted. A mapping's rows and
// its result commit together, so every table with rows in the target has
// a result.
func vanishedTables(ctx context.Context, q resultsReader, present []string) ([]string, error) {
	if recorded, err := relationExists(ctx, q, bk+".results"); err != nil || !recorded {
		return nil, err // no bookkeeping yet
	}
	rows, err := q.Query(ctx, `SELECT DISTINCT legacy_table FROM `+bk+`.results WHERE legacy_table <> ALL($1) ORDER BY 1`, present)
	if err != nil {
		return nil, fmt.Errorf("read the legacy tables of the results: %w", err)
	}
	return pgx.CollectRows(rows, pgx.RowTo[string])
}

// resultsReader is what the readers of the recorded results need of the
// target: a connection or the pool, which first ask whether the results
// table exists (relationExists).
type resultsReader interface {
	extract.Querier
	migrations.Queryer
}

// vanishedIDs selects the ids of the rows of target table target that the
// mappings of the legacy tables gone loaded.
func vanishedIDs(gone []string, target string) string {
	return `SELECT o.target_id AS id FROM ` + bk + `.dispositions o WHERE o.legacy_table = ANY (` + lit("{"+strings.Join(gone, ",")+"}") + `::text[])
		AND o.disposition IN ` + owning + ` AND o.target_table = ` + lit(target)
}

// vanishedOwned counts, per target table, the rows the ledger says the
// mappings of legacy table legacy loaded (or folded), and of those the
// ones without a target id, which cannot be told apart in the target.
const vanishedOwned = `SELECT target_table, count(*), count(*) FILTER (WHERE target_id IS NULL)
	FROM ` + bk + `.dispositions WHERE legacy_table = $1 AND disposition IN ` + owning + ` AND target_table IS NOT NULL
	GROUP BY 1 ORDER BY 1`

// vanishedRows deletes the rows of a target table ($2) that the ledger
// says legacy table $1 loaded.
func vanishedRows(target string) string {
	return `DELETE FROM public.` + ident(target) + ` t WHERE t.id IN (SELECT o.target_id FROM ` + bk + `.dispositions o
		WHERE o.legacy_table = $1 AND o.disposition IN ` + owning + ` AND o.target_table = $2)`
}

// vanishedBooks forget legacy table $1 in the bookkeeping, but for its
// ledger rows (forgetLedger): the column losses and results of its
// mappings (the reasons go with the results) and its kept rows.
var vanishedBooks = []string{
	`DELETE FROM ` + bk + `.column_loss WHERE mapping IN (SELECT mapping FROM ` + bk + `.results WHERE legacy_table = $1)`,
	`DELETE FROM ` + bk + `.results WHERE legacy_table = $1`,
	`DELETE FROM ` + bk + `.rejects WHERE legacy_table = $1`,
	`DELETE FROM ` + bk + `.archive WHERE legacy_table = $1`,
	`DELETE FROM ` + bk + `.discards WHERE legacy_table = $1`,
	`DELETE FROM ` + bk + `.batches WHERE legacy_table = $1`,
}

// removeVanished removes, for every legacy table the bookkeeping records
// and the source no longer has, the target rows its mappings loaded and
// its bookkeeping, each table in one transaction, counts the rows removed
// per target table with count, and reports each target table it removed
// rows from, with the transaction, to removedIn (see countCleared). Its rows go before any other
// removal: they reference users and other parents that a removal may
// take, through keys that would block it, and no row of this run's
// mappings is owned by them.
func (s *session) removeVanished(ctx context.Context, count func(table string, n int64), removedIn func(table string, xid int64)) error {
	gone, err := vanishedTables(ctx, s.target, s.src.TableNames())
	if err != nil {
		return err
	}
	for _, legacy := range gone {
		err := pgx.BeginFunc(ctx, s.pool, func(tx pgx.Tx) error {
			type owned struct {
				target     string
				rows, nils int64
			}
			rows, err := tx.Query(ctx, vanishedOwned, legacy)
			if err != nil {
				return fmt.Errorf("read its ledger: %w", err)
			}
			var targets []owned
			var o owned
			if _, err := pgx.ForEachRow(rows, []any{&o.target, &o.rows, &o.nils}, func() error {
				targets = append(targets, o)
				return nil
			}); err != nil {
				return fmt.Errorf("read its ledger: %w", err)
			}
			var removed int64
			xid, err := currentXID(ctx, tx)
			if err != nil {
				return err
			}
			for _, o := range targets {
				if o.nils > 0 {
					return fmt.Errorf("the ledger does not say which %d of its rows of %s are which: remove them by hand", o.nils, o.target)
				}
				tag, err := tx.Exec(ctx, vanishedRows(o.target), legacy, o.target)
				if err != nil {
					return fmt.Errorf("remove the rows it loaded into %s: %w", o.target, err)
				}
				count(o.target, tag.RowsAffected())
				if tag.RowsAffected() > 0 {
					removedIn(o.target, xid)
				}
				removed += tag.RowsAffected()
			}
			for _, q := range vanishedBooks {
				if _, err := tx.Exec(ctx, q, legacy); err != nil {
					return fmt.Errorf("forget its bookkeeping: %w", err)
				}
			}
			if err := forgetLedger(ctx, tx, legacy); err != nil {
				return fmt.Errorf("forget its ledger: %w", err)
			}
			if err := s.holdsLock(ctx, tx); err != nil {
				return err
			}
			if err := s.cfg.at("vanished.commit:" + legacy); err != nil {
				return err
			}
			s.cfg.Progress(Event{Phase: "remove", Message: fmt.Sprintf(
				"%s is no longer in the source: removed the %d application rows its mappings loaded, and its bookkeeping", legacy, removed)})
			return nil
		})
		if err != nil {
			return &StepError{Table: legacy, Err: fmt.Errorf("remove %s, no longer in the source: %w%s", legacy, err, sqlstateHint(err))}
		}
	}
	return nil
}

// forgetLedger removes legacy table legacy's ledger rows: its partition
// when the ledger has one (a later run that finds the table again then
// fills a new partition in bulk), else its rows.
func forgetLedger(ctx context.Context, tx pgx.Tx, legacy string) error {
	partition, err := relationExists(ctx, tx, ledgerPartition(legacy))
	if err != nil {
		return err
	}
	if partition {
		_, err := tx.Exec(ctx, `DROP TABLE `+ledgerPartition(legacy))
		return err
	}
	_, err = tx.Exec(ctx, `DELETE FROM `+bk+`.dispositions WHERE legacy_table = $1`, legacy)
	return err
}
