package bench

import (
	"context"
	"os"
	"testing"
	"time"

	"github.com/cutover/cutover/internal/pgtest"
)

// TestMain gives the package's tests that need a server of their own one
// (pgtest); the bench's own runs start theirs.
func TestMain(m *testing.M) { os.Exit(pgtest.Main(m)) }

// TestSettleCheckpointsEveryServer: before a measurement, settle asks each
// server it is given for a checkpoint (the source's too, whose dirty pages
// would otherwise be written during the measurement). Two databases of
// one server stand for the two servers here: the server counts two
// requested checkpoints.
func TestSettleCheckpointsEveryServer(t *testing.T) {
	ctx := context.Background()
	source, target := pgtest.NewDB(t), pgtest.NewDB(t)
	conn := pgtest.Connect(t, source)
	requested := func() int64 {
		var version int
		if err := conn.QueryRow(ctx, `SELECT current_setting('server_version_num')::int`).Scan(&version); err != nil {
			t.Fatal(err)
		}
		q := `SELECT checkpoints_req FROM pg_stat_bgwriter`
		if version >= 170000 {
			q = `SELECT num_requested FROM pg_stat_checkpointer`
		}
		var n int64
		if err := conn.QueryRow(ctx, q).Scan(&n); err != nil {
			t.Fatal(err)
		}
		return n
	}
	before := requested()
	if load := settle(ctx, source, target); load < 0 {
		t.Errorf("load average %v; want none below 0", load)
	}
	// The checkpointer counts a checkpoint once it reports, which may come
	// a moment after the CHECKPOINT that waited for it returned.
	var after int64
	for deadline := time.Now().Add(10 * time.Second); ; time.Sleep(50 * time.Millisecond) {
		if after = requested(); after-before >= 2 || time.Now().After(deadline) {
			break
		}
	}
	if after-before < 2 {
		t.Errorf("the server counted %d requested checkpoints during settle of two databases; want 2", after-before)
	}
}
