package load

import (
	"context"
	"testing"

	"github.com/cutover/cutover/internal/pgtest"
	"github.com/cutover/cutover/internal/testkit"
)

// TestLastRun reads the last run of a target without bookkeeping, with an
// empty runs table and with runs, each inside one transaction that must
// stay usable after it: a statement that failed on the server would abort
// it (and log an ERROR on the target for every `cutover seal` of a target
// no run has written to).
func TestLastRun(t *testing.T) {
	ctx := context.Background()
	conn := pgtest.Connect(t, testkit.MigratedTarget(t))
	for _, tc := range []struct {
		name   string
		setup  string
		id     int64
		status string
	}{
		{"no bookkeeping", ``, 0, ""},
		{"no runs", `CREATE SCHEMA IF NOT EXISTS ` + bk + `; CREATE TABLE ` + bk + `.runs (id bigint, status text)`, 0, ""},
		{"runs", `CREATE SCHEMA IF NOT EXISTS ` + bk + `; CREATE TABLE ` + bk + `.runs (id bigint, status text);
			INSERT INTO ` + bk + `.runs VALUES (1, 'done'), (2, 'failed')`, 2, "failed"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			tx, err := conn.Begin(ctx)
			if err != nil {
				t.Fatal(err)
			}
			defer tx.Rollback(ctx)
			if tc.setup != "" {
				if _, err := tx.Exec(ctx, tc.setup); err != nil {
					t.Fatal(err)
				}
			}
			id, status, err := lastRun(ctx, tx)
			if err != nil || id != tc.id || status != tc.status {
				t.Fatalf("lastRun: %d, %q, %v; want %d, %q", id, status, err, tc.id, tc.status)
			}
			var one int
			if err := tx.QueryRow(ctx, `SELECT 1`).Scan(&one); err != nil {
				t.Errorf("the transaction after lastRun: %v, want it untouched by any error", err)
			}
		})
	}
}
