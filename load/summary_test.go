package load

import (
	"context"
	"testing"

	"github.com/google/go-cmp/cmp"
	"github.com/jackc/pgx/v5/pgxpool"

	"github.com/cutover/cutover/internal/testkit"
)

// TestSummaryReasons checks that the kept rows are their keys' legacy rows,
// and the run's breakdown by reason, which comes from
// the reasons the mappings recorded, against the kept rows and the ledger
// themselves, and that a summary counts from those rows wherever the
// recorded reasons do not add up (a target written before they existed).
func TestSummaryReasons(t *testing.T) {
	ctx := context.Background()
	src, dst := dryrunSource(t), testkit.MigratedTarget(t)
	sum, err := Run(ctx, Config{SourceURL: src, TargetURL: dst, MaxRejects: -1})
	if err != nil {
		t.Fatal(err)
	}
	pool, err := pgxpool.New(ctx, dst)
	if err != nil {
		t.Fatal(err)
	}
	defer pool.Close()
	var want []ReasonCount
	rows, err := pool.Query(ctx, `SELECT disposition, reason, rows FROM (
			SELECT disposition, coalesce(reason, '') AS reason, count(*) AS rows FROM cutover.dispositions WHERE disposition = 'merged' GROUP BY 1, 2
			UNION ALL SELECT 'archived', reason, count(*) FROM cutover.archive GROUP BY 2
			UNION ALL SELECT 'rejected', reason, count(*) FROM cutover.rejects GROUP BY 2
			UNION ALL SELECT 'discarded', reason, count(*) FROM cutover.discards GROUP BY 2) r
		ORDER BY rows DESC, disposition, reason`)
	if err != nil {
		t.Fatal(err)
	}
	for rows.Next() {
		var r ReasonCount
		if err := rows.Scan(&r.Disposition, &r.Reason, &r.Rows); err != nil {
			t.Fatal(err)
		}
		want = append(want, r)
	}
	if err := rows.Err(); err != nil {
		t.Fatal(err)
	}
	// The kept rows are the legacy rows of their keys (apply copies them
	// from the stage by the rows' addresses the decisions recorded).
	for _, table := range []string{"rejects", "archive"} {
		var keyed, wrong int64
		if err := pool.QueryRow(ctx, `SELECT count(*), count(*) FILTER (WHERE row->>'id' IS DISTINCT FROM legacy_key)
			FROM cutover.`+table+` WHERE row ? 'id' AND legacy_key NOT LIKE '%,%'`).Scan(&keyed, &wrong); err != nil {
			t.Fatal(err)
		}
		if keyed == 0 || wrong != 0 {
			t.Errorf("cutover.%s: %d rows keyed by id, %d of them holding another row than their key's", table, keyed, wrong)
		}
	}
	kinds := map[string]bool{}
	for _, r := range want {
		kinds[r.Disposition] = true
	}
	if len(kinds) != 4 {
		t.Fatalf("the fixture should have rows of all four kept dispositions, has %v", kinds)
	}
	if diff := cmp.Diff(want, sum.Reasons); diff != "" {
		t.Errorf("run summary reasons differ from the rows (-rows +summary):\n%s", diff)
	}
	// Forget part of the recorded reasons: the summary counts those
	// dispositions from the rows and still agrees.
	tag, err := pool.Exec(ctx, `DELETE FROM cutover.reasons WHERE disposition IN ('merged', 'rejected')`)
	if err != nil || tag.RowsAffected() == 0 {
		t.Fatalf("delete recorded reasons: %v (%d rows)", err, tag.RowsAffected())
	}
	again, err := Summarize(ctx, pool, 2, sum.Flavor, nil, Counts{})
	if err != nil {
		t.Fatal(err)
	}
	if diff := cmp.Diff(want, again.Reasons); diff != "" {
		t.Errorf("summary without recorded reasons differs from the rows (-rows +summary):\n%s", diff)
	}
}

// TestFirstResultsNeedsStatements: a first apply skips keeping the rows of
// dispositions its results pass did not return, so a plan without that
// pass must fail instead of keeping none.
func TestFirstResultsNeedsStatements(t *testing.T) {
	if present, err := firstResults(context.Background(), nil, nil, 1); err == nil {
		t.Fatalf("no statements: got %v and no error", present)
	}
}
