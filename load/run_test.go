package load_test

import (
	"context"
	"errors"
	"os"
	"strings"
	"sync"
	"testing"

	"github.com/google/go-cmp/cmp"
	"github.com/jackc/pgx/v5"

	"github.com/cutover/cutover/internal/legacyschema"
	"github.com/cutover/cutover/internal/pgtest"
	"github.com/cutover/cutover/internal/testkit"
	"github.com/cutover/cutover/load"
	"github.com/cutover/cutover/mappings"
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
	// The no-op shows the counts the finished run took, as that run's; a
	// target table changed since (say, by the application after go-live)
	// shows its count as of that run, and the next run that writes counts
	// again.
	if sum.TargetsCountedBy != sum.RunID || again.TargetsCountedBy != sum.RunID {
		t.Errorf("target counts by run %d (run) and %d (no-op), want %d for both", sum.TargetsCountedBy, again.TargetsCountedBy, sum.RunID)
	}
	if d := cmp.Diff(sum.Targets, again.Targets); d != "" {
		t.Errorf("no-op target counts differ from the run's (-run +no-op):\n%s", d)
	}
	conn := pgtest.Connect(t, dst)
	if tag, err := conn.Exec(ctx, `DELETE FROM public.learn_drills WHERE ctid IN (SELECT ctid FROM public.learn_drills LIMIT 1)`); err != nil || tag.RowsAffected() != 1 {
		t.Fatalf("delete a drill: %v (%d rows)", err, tag.RowsAffected())
	}
	// A ledger made by a version that indexed every partition by target
	// row keeps only the indexes decide looks claims up with.
	if _, err := conn.Exec(ctx, `CREATE INDEX dispositions_target_id ON cutover.dispositions (target_id)`); err != nil {
		t.Fatal(err)
	}
	stale, err := load.Run(ctx, cfg)
	if err != nil {
		t.Fatal(err)
	}
	counts := map[string]int64{}
	for _, c := range stale.Targets {
		counts[c.Table] = c.Rows
	}
	var drills int64
	if err := conn.QueryRow(ctx, `SELECT count(*) FROM public.learn_drills`).Scan(&drills); err != nil {
		t.Fatal(err)
	}
	if stale.TargetsCountedBy != sum.RunID || counts["learn_drills"] != drills+1 {
		t.Errorf("no-op after a target change: learn_drills %d rows by run %d, want %d (the count of run %d)",
			counts["learn_drills"], stale.TargetsCountedBy, drills+1, sum.RunID)
	}
	checkLedgerIndexes(t, ctx, dst)
	checkLedgerStatistics(t, ctx, dst)
}

// errRollback ends a transaction a test only tries.
var errRollback = errors.New("rolled back on purpose")

// TestRunIntoUnpartitionedLedger: a target whose bookkeeping was made
// before the ledger was partitioned, and indexed by (target_table,
// target_id), and whose kept rows (rejects, archive, discards) had foreign
// keys to the runs, keeps working. Its first apply of each table writes the
// ledger with plain inserts, its index by target row is replaced, the
// foreign keys are dropped, and a re-run writes nothing. Its runs table,
// made before a run could be recorded as interrupted, gains that status.
func TestRunIntoUnpartitionedLedger(t *testing.T) {
	ctx := context.Background()
	src, dst := legacyDB(t, "v21", true), testkit.MigratedTarget(t)
	old := strings.Replace(load.BookkeepingDDL, ") PARTITION BY LIST (legacy_table);", ");", 1)
	const index = "DROP INDEX IF EXISTS cutover.dispositions_target;\n"
	old = strings.Replace(old, index, "CREATE INDEX dispositions_target ON cutover.dispositions (target_table, target_id);\n", 1)
	if before, rest, ok := strings.Cut(old, "DO $ledger$"); ok {
		_, after, _ := strings.Cut(rest, "END $ledger$;\n")
		old = before + after
	}
	if before, rest, ok := strings.Cut(old, "DO $kept$"); ok {
		_, after, _ := strings.Cut(rest, "END $kept$;\n")
		old = before + after
	}
	if before, rest, ok := strings.Cut(old, "DO $status$"); ok {
		_, after, _ := strings.Cut(rest, "END $status$;\n")
		old = before + after
	}
	old = strings.Replace(old, "CONSTRAINT runs_status_check\n\t\tCHECK (status IN ('running', 'done', 'failed', 'interrupted'))",
		"CHECK (status IN ('running', 'done', 'failed'))", 1)
	for _, kept := range []string{"rejects", "archive", "discards"} {
		old += "ALTER TABLE cutover." + kept + " ADD FOREIGN KEY (run_id) REFERENCES cutover.runs(id);\n"
	}
	if old == load.BookkeepingDDL || strings.Contains(old, "dispositions_target_id") || strings.Contains(old, "$kept$") ||
		strings.Contains(old, "'interrupted'") {
		t.Fatal("the bookkeeping DDL no longer partitions the ledger, indexes it by target_id, drops the kept rows' foreign keys or checks the runs' status: update this test")
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
	// A run of this build may record itself interrupted (rolled back).
	if err := pgx.BeginFunc(ctx, conn, func(tx pgx.Tx) error {
		_, err := tx.Exec(ctx, `UPDATE cutover.runs SET status = 'interrupted' WHERE id = $1`, sum.RunID)
		if err == nil {
			err = errRollback
		}
		return err
	}); err != errRollback {
		t.Errorf("record a run of the old bookkeeping as interrupted: %v", err)
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
	var indexes []string
	if err := conn.QueryRow(ctx, `SELECT array_agg(indexdef ORDER BY indexname) FROM pg_indexes
		WHERE schemaname = 'cutover' AND tablename = 'dispositions'`).Scan(&indexes); err != nil {
		t.Fatal(err)
	}
	wantIndexes := []string{
		"CREATE UNIQUE INDEX dispositions_pkey ON cutover.dispositions USING btree (legacy_key, legacy_table)",
		"CREATE INDEX dispositions_target_id ON cutover.dispositions USING btree (target_id)",
	}
	if d := cmp.Diff(wantIndexes, indexes); d != "" {
		t.Errorf("old ledger's indexes after the run (-want +got):\n%s", d)
	}
	var keys []string
	if err := conn.QueryRow(ctx, `SELECT coalesce(array_agg(conname ORDER BY conname), '{}') FROM pg_constraint
		WHERE contype = 'f' AND connamespace = 'cutover'::regnamespace
		AND conrelid IN ('cutover.rejects'::regclass, 'cutover.archive'::regclass, 'cutover.discards'::regclass)`).Scan(&keys); err != nil {
		t.Fatal(err)
	}
	if len(keys) != 0 {
		t.Errorf("kept rows' foreign keys after the run: %v, want none", keys)
	}
	again, err := load.Run(ctx, cfg)
	if err != nil {
		t.Fatal(err)
	}
	if n := again.Changed(); n != 0 {
		t.Errorf("re-run changed %d rows: %v", n, again.Changes)
	}
}

// TestProgressCountsRows checks the events an operator watches: the
// checksum is announced before it starts (on a re-run it reads every
// source row, which takes minutes on a large source) and counts rows up
// to the source's; on a first run it says that the extract takes the
// checksums, and counts nothing; the extract counts rows up to the
// source's. The counts of a phase never go down, though its batches are
// copied in parallel. Decide and apply count mappings, weighed by the rows
// of their legacy tables up to all of them.
func TestProgressCountsRows(t *testing.T) {
	ctx := context.Background()
	src, dst := legacyDB(t, "v21", true), testkit.MigratedTarget(t)
	var mu sync.Mutex
	var events []load.Event
	cfg := load.Config{SourceURL: src, TargetURL: dst, MaxRejects: -1, Progress: func(e load.Event) {
		mu.Lock()
		defer mu.Unlock()
		events = append(events, e)
	}}
	type phase struct {
		Announced bool  // a message came before the first count
		Counts    int   // events that count rows
		Last      int64 // the last Done
		LastTotal int64 // and its Total
		// The last Bytes and TotalBytes (checksum and extract), which
		// Left goes by.
		LastBytes, TotalBytes int64
	}
	phases := func() map[string]phase {
		out := map[string]phase{}
		for _, e := range events {
			if e.Phase != "checksum" && e.Phase != "extract" {
				if e.Table != "" && (e.Phase == "decide" || e.Phase == "apply") {
					p := out[e.Phase]
					if p.Counts++; e.Rows < p.Last || e.Rows > e.TotalRows {
						t.Errorf("%s: %d of %d rows done after %d", e.Phase, e.Rows, e.TotalRows, p.Last)
					}
					p.Last, p.LastTotal = e.Rows, e.TotalRows
					out[e.Phase] = p
				}
				continue
			}
			p := out[e.Phase]
			if e.Table == "" {
				p.Announced = p.Announced || p.Counts == 0
			} else {
				p.Counts++
				if e.Done < p.Last {
					t.Errorf("%s: %d rows done after %d", e.Phase, e.Done, p.Last)
				}
				if e.Bytes < p.LastBytes || e.Bytes > e.TotalBytes || p.TotalBytes != 0 && e.TotalBytes != p.TotalBytes {
					t.Errorf("%s: %d of %d bytes done after %d of %d", e.Phase, e.Bytes, e.TotalBytes, p.LastBytes, p.TotalBytes)
				}
				p.Last, p.LastTotal, p.LastBytes, p.TotalBytes = e.Done, e.Total, e.Bytes, e.TotalBytes
				if e.Done > e.Total {
					t.Errorf("%s: done %d > total %d", e.Phase, e.Done, e.Total)
				}
			}
			out[e.Phase] = p
		}
		return out
	}
	sum, err := load.Run(ctx, cfg)
	if err != nil {
		t.Fatal(err)
	}
	var rows, mapped int64 // source rows, and summed over the mappings reading them
	seen := map[string]bool{}
	for _, r := range sum.Tables {
		mapped += r.Source
		if !seen[r.Legacy] {
			seen[r.Legacy] = true
			rows += r.Source
		}
	}
	if rows == 0 {
		t.Fatal("the fixture has no rows")
	}
	got := phases()
	for _, name := range []string{"decide", "apply"} {
		if p := got[name]; p.Counts != len(sum.Tables) || p.Last != mapped || p.LastTotal != mapped {
			t.Errorf("first run, %s: %+v; want %d mappings counted, weighed up to %d of %[3]d rows", name, p, len(sum.Tables), mapped)
		}
	}
	if p := got["extract"]; p.Counts == 0 || p.Last != rows || p.LastTotal != rows || p.TotalBytes == 0 || p.LastBytes != p.TotalBytes {
		t.Errorf("first run, extract: %+v; want row counts up to %d of %[2]d, and bytes up to their total", p, rows)
	}
	if p := got["checksum"]; !p.Announced || p.Counts != 0 {
		t.Errorf("first run, checksum: %+v; want it announced (taken by the extract) and counting nothing", p)
	}
	events = nil
	if _, err := load.Run(ctx, cfg); err != nil {
		t.Fatal(err)
	}
	got = phases()
	if p := got["checksum"]; !p.Announced || p.Counts == 0 || p.Last != rows || p.LastTotal != rows || p.TotalBytes == 0 || p.LastBytes != p.TotalBytes {
		t.Errorf("no-op re-run, checksum: %+v; want it announced and counting up to %d of %[2]d rows, and bytes up to their total", p, rows)
	}
	if p, ok := got["extract"]; ok {
		t.Errorf("no-op re-run extracted: %+v", p)
	}
}

// TestNoopTrustsFingerprintsOnlyWhileTheyHold: a re-run of an unchanged
// source reads only the row versions' fingerprints; a source rewritten with
// the same content (new row versions) is hashed again, still found
// unchanged, and its new fingerprints recorded; a changed row is found.
func TestNoopTrustsFingerprintsOnlyWhileTheyHold(t *testing.T) {
	ctx := context.Background()
	src, dst := legacyDB(t, "v21", true), testkit.MigratedTarget(t)
	cfg := load.Config{SourceURL: src, TargetURL: dst, MaxRejects: -1}
	first, err := load.Run(ctx, cfg)
	if err != nil {
		t.Fatal(err)
	}
	target, source := pgtest.Connect(t, dst), pgtest.Connect(t, src)
	fingerprints := func() string {
		t.Helper()
		var missing int
		var drills string
		if err := target.QueryRow(ctx, `SELECT count(*) FILTER (WHERE fingerprint IS NULL),
			coalesce(string_agg(fingerprint, ' ') FILTER (WHERE legacy_table = 'roles'), '')
			FROM cutover.batches`).Scan(&missing, &drills); err != nil {
			t.Fatal(err)
		}
		if missing != 0 || drills == "" {
			t.Fatalf("batch ledger: %d batches without a fingerprint, roles' %q", missing, drills)
		}
		return drills
	}
	noop := func(what string) {
		t.Helper()
		sum, err := load.Run(ctx, cfg)
		if err != nil {
			t.Fatal(err)
		}
		if sum.Changed() != 0 || sum.TargetsCountedBy != first.RunID {
			t.Errorf("%s: %d rows changed, counts by run %d; want a run with nothing to do (counts of run %d)",
				what, sum.Changed(), sum.TargetsCountedBy, first.RunID)
		}
	}
	recorded := fingerprints()
	noop("unchanged source")
	if got := fingerprints(); got != recorded {
		t.Errorf("a run with nothing to do changed the fingerprints of an unchanged source: %q, was %q", got, recorded)
	}

	if _, err := source.Exec(ctx, `UPDATE roles SET description = description`); err != nil {
		t.Fatal(err)
	}
	noop("roles rewritten with the same content")
	var stageLeft bool
	if err := target.QueryRow(ctx, `SELECT to_regnamespace($1) IS NOT NULL`, mappings.StageSchema).Scan(&stageLeft); err != nil {
		t.Fatal(err)
	}
	if stageLeft {
		t.Errorf("the run with nothing to do left the stage schema %s (roles were copied into it to be checksummed)", mappings.StageSchema)
	}
	rewritten := fingerprints()
	if rewritten == recorded {
		t.Errorf("roles rewritten: its fingerprints were not refreshed (%q)", rewritten)
	}
	noop("the rewritten source again")

	if tag, err := source.Exec(ctx, `UPDATE roles SET description = coalesce(description, '') || ' (revised)' WHERE ctid = (SELECT min(ctid) FROM roles)`); err != nil || tag.RowsAffected() != 1 {
		t.Fatalf("revise a role: %v", err)
	}
	changed, err := load.Run(ctx, cfg)
	if err != nil {
		t.Fatal(err)
	}
	if changed.Changes["roles"] != 1 {
		t.Errorf("after revising one role the run changed %v, want roles: 1", changed.Changes)
	}
}
