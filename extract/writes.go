package extract

import (
	"context"
	"fmt"
	"slices"
	"strings"
)

// WriteCounts reads, for each table of the public schema, the rows
// inserted, updated and deleted in it since the server's statistics were
// reset (pg_stat_user_tables). They are statistics, not a ledger: they
// count rolled-back writes too, a session's writes reach them when it goes
// idle after committing (at most a second later while it stays busy, or
// when it ends), and a hot standby counts its own writes, not its
// primary's. Two readings tell whether anything wrote to a table between
// them.
func WriteCounts(ctx context.Context, q Querier) (map[string]int64, error) {
	rows, err := q.Query(ctx, `SELECT relname::text, n_tup_ins + n_tup_upd + n_tup_del
		FROM pg_stat_user_tables WHERE schemaname = 'public'`)
	if err != nil {
		return nil, fmt.Errorf("read the source's write statistics: %w", err)
	}
	defer rows.Close()
	counts := map[string]int64{}
	for rows.Next() {
		var table string
		var n int64
		if err := rows.Scan(&table, &n); err != nil {
			return nil, fmt.Errorf("read the source's write statistics: %w", err)
		}
		counts[table] = n
	}
	if err := rows.Err(); err != nil {
		return nil, fmt.Errorf("read the source's write statistics: %w", err)
	}
	return counts, nil
}

// TableWrites is the rows written to a table between two WriteCounts.
type TableWrites struct {
	Table string
	Rows  int64
}

// Written returns the tables among tables whose write count grew from
// before to after, by table name. A table missing from before (created
// since) counts from zero; one missing from after (dropped since) is left
// out.
func Written(before, after map[string]int64, tables []string) []TableWrites {
	var out []TableWrites
	for _, t := range tables {
		n, ok := after[t]
		if ok && n > before[t] {
			out = append(out, TableWrites{t, n - before[t]})
		}
	}
	slices.SortFunc(out, func(a, b TableWrites) int { return strings.Compare(a.Table, b.Table) })
	return out
}
