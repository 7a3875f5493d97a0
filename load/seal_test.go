package load

import (
	"context"
	"testing"

	"github.com/cutover/cutover/internal/dburl"
	"github.com/cutover/cutover/internal/pgtest"
	"github.com/cutover/cutover/internal/testkit"
	"github.com/cutover/cutover/migrations"
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

// TestCloseReleasesTheRunLock: a command's session that held the run lock
// has released it by the time closeReleasing returns, not only once its
// backend has exited: a seal right after a run once found the lock held
// by the run's ending session in CI. Twenty rounds of take, close, look.
func TestCloseReleasesTheRunLock(t *testing.T) {
	ctx := context.Background()
	dst := testkit.MigratedTarget(t)
	watcher := pgtest.Connect(t, dst)
	for round := range 20 {
		conn, err := dburl.Connect(ctx, "target", dst)
		if err != nil {
			t.Fatal(err)
		}
		if err := takeRunLock(ctx, conn); err != nil {
			t.Fatalf("round %d: %v", round, err)
		}
		if pid, err := migrations.RunLockHolder(ctx, watcher); err != nil || pid == 0 {
			t.Fatalf("round %d: the lock taken is not seen held: pid %d, %v", round, pid, err)
		}
		closeReleasing(conn)
		if pid, err := migrations.RunLockHolder(ctx, watcher); err != nil || pid != 0 {
			t.Fatalf("round %d: the run lock is still held by pid %d after its session closed (%v)", round, pid, err)
		}
	}
}
