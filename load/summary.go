package load

import (
	"context"
	"fmt"
	"sort"
	"time"

	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgxpool"
	"golang.org/x/sync/errgroup"

	"github.com/cutover/cutover/extract"
	"github.com/cutover/cutover/mappings"
)

// TableResult is the conservation line of one legacy table:
// Source = Loaded + Merged + Folded + Archived + Discarded + Rejected.
type TableResult struct {
	Legacy, Mapping, Target string
	Source, Loaded, Merged  int64
	Folded, Archived        int64
	Discarded, Rejected     int64
	Finished                bool // the mapping has run
}

// Holds reports whether the conservation law holds for the table.
func (r TableResult) Holds() bool {
	return r.Finished && r.Source == r.Loaded+r.Merged+r.Folded+r.Archived+r.Discarded+r.Rejected
}

// TargetCount is the rows a target table holds.
type TargetCount struct {
	Table string
	Rows  int64
}

// ReasonCount counts rows by disposition and reason.
type ReasonCount struct {
	Disposition, Reason string
	Rows                int64
}

// ColumnLoss counts non-NULL values of a dropped column in rows that reached
// the target.
type ColumnLoss struct {
	Mapping, Column string
	NonNull         int64
}

// Summary is what a run leaves in the target.
type Summary struct {
	RunID    int64
	Flavor   string
	Duration time.Duration
	Tables   []TableResult
	Targets  []TargetCount
	// TargetsCountedBy is the run at whose end Targets were counted: this
	// run's, or, when it had nothing to do, the last run's that wrote
	// (0: counted by this call, for no run).
	TargetsCountedBy int64
	Reasons          []ReasonCount
	ColumnLoss       []ColumnLoss
	// Changes counts the application rows this run inserted, updated or
	// deleted, per target table (empty: the run changed nothing).
	Changes map[string]int64
	// Space is the target database's size around the run (nil: it could
	// not be read).
	Space *Space
	// SourceWrites are the legacy tables written to while the run read
	// the source, by the server's statistics (empty: none seen).
	SourceWrites []extract.TableWrites
}

// Changed returns the application rows the run changed in all.
func (s *Summary) Changed() int64 {
	var n int64
	for _, c := range s.Changes {
		n += c
	}
	return n
}

// OK reports whether every legacy table's conservation line holds.
func (s *Summary) OK() bool {
	for _, t := range s.Tables {
		if !t.Holds() {
			return false
		}
	}
	return true
}

// Counts says how Summarize gets the target tables' row counts.
type Counts struct {
	// Run is the run being summarized (0: none); with it, the counts taken
	// are recorded in the bookkeeping as that run's.
	Run int64
	// Recorded takes the counts the last recording run took instead of
	// counting again, for a run that wrote nothing; a table with no
	// recorded count is counted.
	Recorded bool
}

// Summarize reads the bookkeeping of the target for the mappings ms. Its
// scans (every target table's count, the kept rows by reason, the merged
// ledger rows) run in parallel on pool, at most workers at once.
func Summarize(ctx context.Context, pool *pgxpool.Pool, workers int, flavor string, ms []mappings.Mapping, counts Counts) (*Summary, error) {
	s := &Summary{Flavor: flavor}
	got := map[string]TableResult{}
	rows, err := pool.Query(ctx, `SELECT mapping, source_rows, loaded, merged, folded, archived, discarded, rejected FROM `+bk+`.results`)
	if err != nil {
		return nil, fmt.Errorf("summarize: %w", err)
	}
	for rows.Next() {
		var r TableResult
		if err := rows.Scan(&r.Mapping, &r.Source, &r.Loaded, &r.Merged, &r.Folded, &r.Archived, &r.Discarded, &r.Rejected); err != nil {
			rows.Close()
			return nil, fmt.Errorf("summarize: %w", err)
		}
		r.Finished = true
		got[r.Mapping] = r
	}
	if err := rows.Err(); err != nil {
		return nil, fmt.Errorf("summarize: %w", err)
	}
	for _, m := range ms {
		r := got[m.Name()]
		r.Legacy, r.Mapping, r.Target = m.Legacy, m.Name(), m.Target
		s.Tables = append(s.Tables, r)
	}
	sort.Slice(s.Tables, func(i, j int) bool { return s.Tables[i].Mapping < s.Tables[j].Mapping })
	trows, err := pool.Query(ctx, `SELECT c.relname FROM pg_class c
		WHERE c.relnamespace = 'public'::regnamespace AND c.relkind = 'r' ORDER BY 1`)
	if err != nil {
		return nil, fmt.Errorf("summarize: %w", err)
	}
	names, err := pgx.CollectRows(trows, pgx.RowTo[string])
	if err != nil {
		return nil, fmt.Errorf("summarize: %w", err)
	}
	s.Targets = make([]TargetCount, len(names))
	recordedRows := map[string]TargetCount{}
	if counts.Recorded {
		if recordedRows, s.TargetsCountedBy, err = recordedCounts(ctx, pool); err != nil {
			return nil, err
		}
	}
	// The breakdown by reason comes from the reasons each mapping recorded;
	// a disposition whose recorded rows do not add up to the results (a
	// target a version without them wrote) is counted from its rows.
	recorded, err := recordedReasons(ctx, pool)
	if err != nil {
		return nil, err
	}
	breakdowns := []struct {
		disp  string
		total func(TableResult) int64 // the disposition's rows in the results
		scan  string                  // its reasons counted from its rows
	}{
		{"merged", func(r TableResult) int64 { return r.Merged },
			`SELECT disposition, coalesce(reason, ''), count(*) FROM ` + bk + `.dispositions WHERE disposition = 'merged' GROUP BY 1, 2`},
		{"archived", func(r TableResult) int64 { return r.Archived }, `SELECT 'archived', reason, count(*) FROM ` + bk + `.archive GROUP BY reason`},
		{"rejected", func(r TableResult) int64 { return r.Rejected }, `SELECT 'rejected', reason, count(*) FROM ` + bk + `.rejects GROUP BY reason`},
		{"discarded", func(r TableResult) int64 { return r.Discarded }, `SELECT 'discarded', reason, count(*) FROM ` + bk + `.discards GROUP BY reason`},
	}
	reasons := make([][]ReasonCount, len(breakdowns))
	g, gctx := errgroup.WithContext(ctx)
	g.SetLimit(max(workers, 1))
	for i, b := range breakdowns {
		var total, sum int64
		for _, r := range got {
			total += b.total(r)
		}
		for _, r := range recorded[b.disp] {
			sum += r.Rows
		}
		if sum == total {
			reasons[i] = recorded[b.disp]
			continue
		}
		g.Go(func() error {
			rows, err := pool.Query(gctx, b.scan)
			if err != nil {
				return fmt.Errorf("summarize: %w", err)
			}
			rs, err := pgx.CollectRows(rows, scanReason)
			if err != nil {
				return fmt.Errorf("summarize: %w", err)
			}
			reasons[i] = rs
			return nil
		})
	}
	var counted []TargetCount // by this call
	for i, n := range names {
		if c, ok := recordedRows[n]; ok {
			s.Targets[i] = c
			continue
		}
		g.Go(func() error {
			var c int64
			if err := pool.QueryRow(gctx, "SELECT count(*) FROM public."+pgx.Identifier{n}.Sanitize()).Scan(&c); err != nil {
				return fmt.Errorf("summarize: count %s: %w", n, err)
			}
			s.Targets[i] = TargetCount{Table: n, Rows: c}
			return nil
		})
	}
	if err := g.Wait(); err != nil {
		return nil, err
	}
	for _, t := range s.Targets {
		if _, ok := recordedRows[t.Table]; !ok {
			counted = append(counted, t)
		}
	}
	if len(counted) == len(names) {
		s.TargetsCountedBy = counts.Run
	}
	if counts.Run > 0 && !counts.Recorded {
		if err := recordCounts(ctx, pool, counts.Run, counted); err != nil {
			return nil, err
		}
	}
	for _, rs := range reasons {
		s.Reasons = append(s.Reasons, rs...)
	}
	sort.Slice(s.Reasons, func(i, j int) bool {
		a, b := s.Reasons[i], s.Reasons[j]
		if a.Rows != b.Rows {
			return a.Rows > b.Rows
		}
		if a.Disposition != b.Disposition {
			return a.Disposition < b.Disposition
		}
		return a.Reason < b.Reason
	})
	crows, err := pool.Query(ctx, `SELECT mapping, col, non_null FROM `+bk+`.column_loss ORDER BY 1, 2`)
	if err != nil {
		return nil, fmt.Errorf("summarize: %w", err)
	}
	s.ColumnLoss, err = pgx.CollectRows(crows, func(r pgx.CollectableRow) (ColumnLoss, error) {
		var c ColumnLoss
		err := r.Scan(&c.Mapping, &c.Column, &c.NonNull)
		return c, err
	})
	if err != nil {
		return nil, fmt.Errorf("summarize: %w", err)
	}
	return s, nil
}

func scanReason(r pgx.CollectableRow) (ReasonCount, error) {
	var c ReasonCount
	err := r.Scan(&c.Disposition, &c.Reason, &c.Rows)
	return c, err
}

// recordedReasons reads the reasons the mappings recorded, summed over
// mappings, by disposition.
func recordedReasons(ctx context.Context, pool *pgxpool.Pool) (map[string][]ReasonCount, error) {
	rows, err := pool.Query(ctx, `SELECT disposition, reason, sum(rows)::bigint FROM `+bk+`.reasons GROUP BY 1, 2`)
	if err != nil {
		return nil, fmt.Errorf("summarize: %w", err)
	}
	rs, err := pgx.CollectRows(rows, scanReason)
	if err != nil {
		return nil, fmt.Errorf("summarize: %w", err)
	}
	out := map[string][]ReasonCount{}
	for _, r := range rs {
		out[r.Disposition] = append(out[r.Disposition], r)
	}
	return out, nil
}

// recordedCounts reads the target row counts the last recording run took,
// and that run.
func recordedCounts(ctx context.Context, pool *pgxpool.Pool) (map[string]TargetCount, int64, error) {
	rows, err := pool.Query(ctx, `SELECT target_table, rows, run_id FROM `+bk+`.target_rows`)
	if err != nil {
		return nil, 0, fmt.Errorf("summarize: read the recorded target counts: %w", err)
	}
	out := map[string]TargetCount{}
	var run int64
	for rows.Next() {
		var c TargetCount
		var r int64
		if err := rows.Scan(&c.Table, &c.Rows, &r); err != nil {
			rows.Close()
			return nil, 0, fmt.Errorf("summarize: read the recorded target counts: %w", err)
		}
		out[c.Table], run = c, max(run, r)
	}
	if err := rows.Err(); err != nil {
		return nil, 0, fmt.Errorf("summarize: read the recorded target counts: %w", err)
	}
	return out, run, nil
}

// recordCounts replaces the recorded target row counts with those run took.
func recordCounts(ctx context.Context, pool *pgxpool.Pool, run int64, counts []TargetCount) error {
	tables := make([]string, len(counts))
	rows := make([]int64, len(counts))
	for i, c := range counts {
		tables[i], rows[i] = c.Table, c.Rows
	}
	err := pgx.BeginFunc(ctx, pool, func(tx pgx.Tx) error {
		if _, err := tx.Exec(ctx, `DELETE FROM `+bk+`.target_rows`); err != nil {
			return err
		}
		_, err := tx.Exec(ctx, `INSERT INTO `+bk+`.target_rows (target_table, rows, run_id)
			SELECT t, r, $3 FROM unnest($1::text[], $2::bigint[]) AS c(t, r)`, tables, rows, run)
		return err
	})
	if err != nil {
		return fmt.Errorf("summarize: record the target counts: %w", err)
	}
	return nil
}
