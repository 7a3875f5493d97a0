package load_test

import (
	"context"
	"os"
	"strings"
	"testing"

	"github.com/jackc/pgx/v5"

	"github.com/cutover/cutover/internal/legacyschema"
	"github.com/cutover/cutover/internal/pgtest"
	"github.com/cutover/cutover/internal/testkit"
	"github.com/cutover/cutover/load"
)

func TestMain(m *testing.M) { os.Exit(pgtest.Main(m)) }

func legacyDB(t *testing.T, flavor string, drift bool) string {
	t.Helper()
	name := "legacy_" + flavor
	if drift {
		name += "_drift"
	}
	return pgtest.NewDBFrom(t, name, func(ctx context.Context, url string) error {
		return legacyschema.Create(ctx, url, flavor, drift)
	})
}

func TestRunSeedOnlyLegacy(t *testing.T) {
	for _, flavor := range []string{"v21", "v16", "v15"} {
		t.Run(flavor, func(t *testing.T) {
			t.Parallel()
			ctx := context.Background()
			src, dst := legacyDB(t, flavor, true), testkit.MigratedTarget(t)
			sum, err := load.Run(ctx, load.Config{SourceURL: src, TargetURL: dst, MaxRejects: -1})
			if err != nil {
				t.Fatal(err)
			}
			if !sum.OK() {
				t.Fatalf("conservation law fails: %+v", sum.Tables)
			}
			for _, r := range sum.Tables {
				if r.Legacy == "roles" && r.Merged != 3 {
					t.Errorf("roles: want the 3 legacy roles merged onto the seeds, got %+v", r)
				}
			}
		})
	}
}

func TestDryRunThenRunThenNoop(t *testing.T) {
	ctx := context.Background()
	src, dst := legacyDB(t, "v21", true), testkit.MigratedTarget(t)
	cfg := load.Config{SourceURL: src, TargetURL: dst, MaxRejects: -1}
	before, err := load.DryRun(ctx, cfg, 3)
	if err != nil {
		t.Fatal(err)
	}
	var inserts int64
	for _, td := range before.Targets {
		if td.Delete != 0 || td.Unchanged != 0 {
			t.Errorf("dry run on an empty target: %s would delete %d, leave %d", td.Table, td.Delete, td.Unchanged)
		}
		inserts += td.Insert + td.Update // updates: seeded rows that legacy catalog rows merge onto
	}
	sum, err := load.Run(ctx, cfg)
	if err != nil {
		t.Fatal(err)
	}
	if got := sum.Changed(); got != inserts {
		t.Errorf("run changed %d rows, the dry run predicted %d", got, inserts)
	}
	after, err := load.DryRun(ctx, cfg, 3)
	if err != nil {
		t.Fatal(err)
	}
	if n := after.Changes(); n != 0 {
		t.Errorf("dry run after a finished run: %d changes, want 0: %+v", n, after.Targets)
	}
	again, err := load.Run(ctx, cfg)
	if err != nil {
		t.Fatal(err)
	}
	if n := again.Changed(); n != 0 {
		t.Errorf("re-run after a finished run changed %d rows: %v", n, again.Changes)
	}
}

// TestRunIntoUnpartitionedLedger: a target whose bookkeeping was made
// before the ledger was partitioned keeps working. Its first apply of each
// table writes the ledger with plain inserts, and a re-run writes nothing.
func TestRunIntoUnpartitionedLedger(t *testing.T) {
	ctx := context.Background()
	src, dst := legacyDB(t, "v21", true), testkit.MigratedTarget(t)
	old := strings.Replace(load.BookkeepingDDL, ") PARTITION BY LIST (legacy_table);", ");", 1)
	if old == load.BookkeepingDDL {
		t.Fatal("the bookkeeping DDL no longer partitions the ledger: update this test")
	}
	conn, err := pgx.Connect(ctx, dst)
	if err != nil {
		t.Fatal(err)
	}
	defer conn.Close(ctx)
	if _, err := conn.Exec(ctx, old); err != nil {
		t.Fatal(err)
	}
	cfg := load.Config{SourceURL: src, TargetURL: dst, MaxRejects: -1}
	sum, err := load.Run(ctx, cfg)
	if err != nil {
		t.Fatal(err)
	}
	if !sum.OK() || sum.Changed() == 0 {
		t.Fatalf("run into the old ledger: conservation %v, %d rows changed", sum.OK(), sum.Changed())
	}
	var kind string
	var rows, tables int64
	if err := conn.QueryRow(ctx, `SELECT (SELECT relkind::text FROM pg_class WHERE oid = 'cutover.dispositions'::regclass),
		count(*), count(DISTINCT legacy_table) FROM cutover.dispositions`).Scan(&kind, &rows, &tables); err != nil {
		t.Fatal(err)
	}
	var want int64
	for _, r := range sum.Tables {
		want += r.Source
	}
	if kind != "r" || rows != want || tables == 0 {
		t.Errorf("old ledger after the run: relkind %q, %d rows of %d tables; want a plain table with one row per legacy row (%d)", kind, rows, tables, want)
	}
	again, err := load.Run(ctx, cfg)
	if err != nil {
		t.Fatal(err)
	}
	if n := again.Changed(); n != 0 {
		t.Errorf("re-run changed %d rows: %v", n, again.Changes)
	}
}
