package load

// Dry runs (issue 6): a dry run against an empty, a half-loaded and a
// finished target predicts, table by table, what the next run then really
// does. "Really does" is measured twice: by the run's own Summary.Changes,
// and independently, by comparing every target row before and after the
// run (inserted, updated, deleted keys).
//
// This file is in package load because a half-loaded target needs the
// fault hook (SetHook is visible to package load's tests only).

import (
	"context"
	"errors"
	"fmt"
	"slices"
	"sort"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"

	"github.com/cutover/cutover/internal/legacygen"
	"github.com/cutover/cutover/internal/pgtest"
	"github.com/cutover/cutover/internal/testkit"
	"github.com/cutover/cutover/mappings"
	"github.com/cutover/cutover/migrations"
)

// dryrunSource returns a fresh copy of the generated legacy database: v21
// with the drift tables and every anomaly, 60 users, seed 7.
func dryrunSource(t *testing.T) string {
	t.Helper()
	return testkit.GeneratedLegacy(t, legacygen.Options{Flavor: "v21", Drift: true, Anomalies: true, Users: 60, Seed: 7})
}

// dryrunRows reads every row of every target table as key → md5 of the
// row, per table.
func dryrunRows(t *testing.T, u string) map[string]map[string]string {
	t.Helper()
	ctx := context.Background()
	conn := pgtest.Connect(t, u)
	rows, err := conn.Query(ctx, `SELECT c.relname,
			(SELECT string_agg(format('t.%I::text', a.attname), ', ' ORDER BY array_position(i.indkey, a.attnum))
			 FROM pg_index i JOIN pg_attribute a ON a.attrelid = i.indrelid AND a.attnum = ANY (i.indkey)
			 WHERE i.indrelid = c.oid AND i.indisprimary)
		FROM pg_class c WHERE c.relnamespace = 'public'::regnamespace AND c.relkind = 'r' ORDER BY 1`)
	if err != nil {
		t.Fatal(err)
	}
	pks := map[string]string{}
	for rows.Next() {
		var table, pk string
		if err := rows.Scan(&table, &pk); err != nil {
			t.Fatal(err)
		}
		pks[table] = pk
	}
	if err := rows.Err(); err != nil {
		t.Fatal(err)
	}
	out := map[string]map[string]string{}
	for table, pk := range pks {
		rows, err := conn.Query(ctx, `SELECT concat_ws(',', `+pk+`), md5(t::text) FROM public.`+ident(table)+` t`)
		if err != nil {
			t.Fatal(err)
		}
		m := map[string]string{}
		for rows.Next() {
			var k, h string
			if err := rows.Scan(&k, &h); err != nil {
				t.Fatal(err)
			}
			m[k] = h
		}
		if err := rows.Err(); err != nil {
			t.Fatal(err)
		}
		out[table] = m
	}
	return out
}

// dryrunEffect is what a run did to one table.
type dryrunEffect struct{ Insert, Update, Delete int64 }

func dryrunEffects(before, after map[string]map[string]string) map[string]dryrunEffect {
	out := map[string]dryrunEffect{}
	for table, b := range before {
		a := after[table]
		var e dryrunEffect
		for k, h := range a {
			switch bh, ok := b[k]; {
			case !ok:
				e.Insert++
			case bh != h:
				e.Update++
			}
		}
		for k := range b {
			if _, ok := a[k]; !ok {
				e.Delete++
			}
		}
		out[table] = e
	}
	return out
}

// checkPrediction runs a dry run, then a run, on the target, and compares
// the dry run's figures with what the run did.
func checkPrediction(t *testing.T, src, dst string) (*Diff, *Summary) {
	t.Helper()
	ctx := context.Background()
	cfg := Config{SourceURL: src, TargetURL: dst, MaxRejects: -1, Workers: 2}
	var compared []Event
	var mu sync.Mutex
	cfg.Progress = func(e Event) {
		if e.Phase == "compare" {
			mu.Lock()
			compared = append(compared, e)
			mu.Unlock()
		}
	}
	dry, err := DryRun(ctx, cfg, 3)
	if err != nil {
		t.Fatalf("dry run: %v", err)
	}
	checkCompared(t, compared, dry)
	cfg.Progress = nil
	before := dryrunRows(t, dst)
	sum, err := Run(ctx, cfg)
	if err != nil {
		t.Fatalf("run after the dry run: %v", err)
	}
	after := dryrunRows(t, dst)
	effects := dryrunEffects(before, after)
	var wrong []string
	// The run finished: nothing refused its rows.
	for _, r := range dry.Refusals {
		wrong = append(wrong, "the dry run says a run would stop: "+r.String())
	}
	seen := map[string]bool{}
	for _, td := range dry.Targets {
		seen[td.Table] = true
		e := effects[td.Table]
		if td.Insert != e.Insert || td.Update != e.Update || td.Delete != e.Delete {
			wrong = append(wrong, fmt.Sprintf("%s: dry run predicts %d inserts, %d updates, %d deletes; the run inserted %d, updated %d, deleted %d rows",
				td.Table, td.Insert, td.Update, td.Delete, e.Insert, e.Update, e.Delete))
		}
		if got := sum.Changes[td.Table]; td.Changes() != got {
			wrong = append(wrong, fmt.Sprintf("%s: dry run predicts %d changed rows; the run's Summary.Changes says %d", td.Table, td.Changes(), got))
		}
	}
	// Each row the target held is counted once: updated, unchanged,
	// deleted, or only the target's; and only the target's are the rows
	// no decision claims (a seed a legacy row merged onto is decided).
	conn := pgtest.Connect(t, dst)
	claimed := map[string]bool{} // "table id"
	for _, r := range pgtest.Strings(t, conn, `SELECT target_table || ' ' || target_id FROM cutover.dispositions
		WHERE disposition IN ('loaded', 'merged', 'folded') AND target_id IS NOT NULL`) {
		claimed[r] = true
	}
	byID := map[string]bool{} // the tables whose primary key is id
	for _, r := range pgtest.Strings(t, conn, `SELECT conrelid::regclass::text FROM pg_constraint
		WHERE contype = 'p' AND connamespace = 'public'::regnamespace
		AND conkey = ARRAY[(SELECT attnum FROM pg_attribute WHERE attrelid = conrelid AND attname = 'id')]`) {
		byID[r] = true
	}
	for _, td := range dry.Targets {
		b, a := before[td.Table], after[td.Table]
		if n := td.Update + td.Unchanged + td.Delete + td.OnlyInTarget; n != int64(len(b)) {
			wrong = append(wrong, fmt.Sprintf("%s: dry run counts %d updated, %d unchanged, %d deleted and %d only-in-target rows (%d), the target held %d",
				td.Table, td.Update, td.Unchanged, td.Delete, td.OnlyInTarget, n, len(b)))
		}
		var only int64
		for k := range b {
			if _, kept := a[k]; kept && !claimed[td.Table+" "+k] {
				only++
			}
		}
		if byID[td.Table] && td.OnlyInTarget != only {
			wrong = append(wrong, fmt.Sprintf("%s: dry run counts %d rows only in the target; %d rows it held are claimed by no decision of the run",
				td.Table, td.OnlyInTarget, only))
		}
	}
	for table, n := range sum.Changes {
		if !seen[table] && n != 0 {
			wrong = append(wrong, fmt.Sprintf("%s: not in the dry run, but the run changed %d rows", table, n))
		}
	}
	sort.Strings(wrong)
	if len(wrong) > 0 {
		t.Errorf("the dry run does not predict the run:\n  %s", strings.Join(wrong, "\n  "))
	}
	// The dropped columns' values are the run's (cutover.column_loss).
	byColumn := func(a, b ColumnLoss) int { return strings.Compare(a.Mapping+"."+a.Column, b.Mapping+"."+b.Column) }
	if diff := cmp.Diff(slices.SortedFunc(slices.Values(sum.ColumnLoss), byColumn), slices.SortedFunc(slices.Values(dry.ColumnLoss), byColumn)); diff != "" {
		t.Errorf("the dropped columns' values (-run +dry run):\n%s", diff)
	}
	// The conservation preview is the run's.
	got := map[string]TableResult{}
	for _, r := range sum.Tables {
		got[r.Mapping] = r
	}
	for _, r := range dry.Tables {
		if g := got[r.Mapping]; g != r {
			t.Errorf("%s: dry run previews %+v, the run recorded %+v", r.Mapping, r, g)
		}
	}
	return dry, sum
}

// checkCompared checks the progress of a dry run's comparison, which
// compares the mappings side by side: one event per mapping of dry, in
// order, the last of them counting all mappings and all their rows.
func checkCompared(t *testing.T, events []Event, dry *Diff) {
	t.Helper()
	var rows int64
	for _, r := range dry.Tables {
		rows += r.Source
	}
	seen := map[string]bool{}
	for i, e := range events {
		if e.Done != int64(i+1) || e.Total != int64(len(dry.Tables)) || e.Rows > e.TotalRows || e.TotalRows != rows || seen[e.Table] {
			t.Errorf("compare event %d: %+v; want mapping %d of %d, at most %d rows, each mapping once", i, e, i+1, len(dry.Tables), rows)
		}
		seen[e.Table] = true
	}
	if len(events) != len(dry.Tables) || len(events) == 0 || events[len(events)-1].Rows != rows {
		t.Errorf("a dry run of %d mappings (%d rows) said %d compare events", len(dry.Tables), rows, len(events))
	}
}

// TestTableDiffAdd: the row diffs of a target table fed by several
// mappings, compared side by side, are those one mapping after another
// would take: the first mapping's first, then the next's, up to samples.
func TestTableDiffAdd(t *testing.T) {
	rows := func(keys ...string) []RowDiff {
		var out []RowDiff
		for _, k := range keys {
			out = append(out, RowDiff{Key: k})
		}
		return out
	}
	for _, c := range []struct {
		name    string
		samples int
		parts   [][]RowDiff
		want    []RowDiff
	}{
		{"one mapping", 3, [][]RowDiff{rows("a", "b")}, rows("a", "b")},
		{"the first fills them", 2, [][]RowDiff{rows("a", "b"), rows("c")}, rows("a", "b")},
		{"the second adds", 3, [][]RowDiff{rows("a"), rows("c", "d", "e")}, rows("a", "c", "d")},
		{"none asked", 0, [][]RowDiff{rows("a")}, nil},
		{"a mapping without updates", 2, [][]RowDiff{nil, rows("c")}, rows("c")},
	} {
		t.Run(c.name, func(t *testing.T) {
			var d TableDiff
			for i, p := range c.parts {
				d.add(TableDiff{Insert: 1, Update: int64(len(p)), Unchanged: 2, Delete: int64(i), Samples: p}, c.samples)
			}
			n := int64(len(c.parts))
			want := TableDiff{Insert: n, Unchanged: 2 * n, Delete: n * (n - 1) / 2, Samples: c.want}
			for _, p := range c.parts {
				want.Update += int64(len(p))
			}
			if diff := cmp.Diff(want, d, cmp.AllowUnexported(TableDiff{})); diff != "" {
				t.Errorf("added diffs (-want +got):\n%s", diff)
			}
		})
	}
}

func TestDryRunOnEmptyTarget(t *testing.T) {
	t.Parallel()
	dry, _ := checkPrediction(t, dryrunSource(t), testkit.MigratedTarget(t))
	// A freshly migrated target holds only the seeds: every change is an
	// insert, except the seeded catalog rows that legacy rows merge onto
	// by natural key (they take the legacy content).
	seedMerges := map[string]int64{}
	for _, r := range dry.Tables {
		if m, ok := lookupMapping(r.Mapping); ok && len(m.NaturalKey) > 0 {
			seedMerges[r.Target] += r.Merged
		}
	}
	var inserts int64
	for _, td := range dry.Targets {
		if td.Update != seedMerges[td.Table] || td.Delete != 0 || td.Unchanged != 0 {
			t.Errorf("%s: against an empty target a dry run predicts inserts and %d seed merges, got %+v", td.Table, seedMerges[td.Table], td)
		}
		inserts += td.Insert
	}
	if inserts == 0 {
		t.Error("the dry run predicts no insert at all")
	}
}

func TestDryRunOnHalfLoadedTarget(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	src, dst := dryrunSource(t), testkit.MigratedTarget(t)
	// Stop a run midway: the mappings applied before reading_sessions
	// commit, the rest does not.
	stop := errors.New("stopped midway by the test")
	cfg := Config{SourceURL: src, TargetURL: dst, MaxRejects: -1, Workers: 2}
	SetHook(&cfg, func(point string) error {
		if point == "apply.commit:reading_sessions" {
			return stop
		}
		return nil
	})
	if _, err := Run(ctx, cfg); !errors.Is(err, stop) {
		t.Fatalf("the stopped run returned %v", err)
	}
	dry, _ := checkPrediction(t, src, dst)
	var inserts, unchanged int64
	for _, td := range dry.Targets {
		inserts += td.Insert
		unchanged += td.Unchanged
	}
	if inserts == 0 || unchanged == 0 {
		t.Errorf("a half-loaded target: the dry run predicts %d inserts and %d unchanged rows; want both", inserts, unchanged)
	}
}

func TestDryRunOnFinishedTarget(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	src, dst := dryrunSource(t), testkit.MigratedTarget(t)
	if _, err := Run(ctx, Config{SourceURL: src, TargetURL: dst, MaxRejects: -1, Workers: 2}); err != nil {
		t.Fatal(err)
	}
	dry, sum := checkPrediction(t, src, dst)
	if n := dry.Changes(); n != 0 {
		t.Errorf("a dry run against a finished target predicts %d changes, want 0", n)
	}
	if n := sum.Changed(); n != 0 {
		t.Errorf("a run after a finished run changed %d rows: %v", n, sum.Changes)
	}
	// An inbox item older than all of a user's renumbers the others
	// (their sort_order): updated, and no longer unchanged.
	conn := pgtest.Connect(t, src)
	user := pgtest.Strings(t, conn, `SELECT user_id::text FROM inbox_items GROUP BY 1 HAVING count(*) > 2 ORDER BY 1 LIMIT 1`)
	if len(user) == 0 {
		t.Fatal("no user with three inbox items")
	}
	if _, err := conn.Exec(ctx, `INSERT INTO inbox_items (id, user_id, title, created_at, updated_at)
		VALUES ('7a4d1c2e-0000-4000-8000-0000000000aa', $1, 'the oldest', '1999-01-01', '1999-01-01')`, user[0]); err != nil {
		t.Fatal(err)
	}
	dry, _ = checkPrediction(t, src, dst)
	if i := slices.IndexFunc(dry.Targets, func(td TableDiff) bool { return td.Table == "inbox_items" }); i < 0 || dry.Targets[i].Insert != 1 || dry.Targets[i].Update < 2 {
		t.Errorf("an inbox item older than a user's others: %+v, want one insert and the user's other items renumbered", dry.Targets)
	}
}

// lookupMapping finds a mapping by name.
func lookupMapping(name string) (mappings.Mapping, bool) {
	for _, m := range mappings.All() {
		if m.Name() == name {
			return m, true
		}
	}
	return mappings.Mapping{}, false
}

// TestDryRunsTakeTurns: dry runs share one scratch schema in the target.
// A second dry run started while one works refuses, naming it, and
// touches nothing of it: the first finishes with the figures of a dry run
// alone. Status names the working dry run, and lists its session that
// waits for a lock on its stage. A run may start while a dry
// run works; that dry run then fails, naming the run, as what it compared
// changed under it.
func TestDryRunsTakeTurns(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	dst := testkit.MigratedTarget(t)
	cfg := Config{SourceURL: dryrunSource(t), TargetURL: dst, MaxRejects: -1, Workers: 2}
	alone, err := DryRun(ctx, cfg, 3)
	if err != nil {
		t.Fatalf("dry run alone: %v", err)
	}
	admin := pgtest.Connect(t, dst)

	// paused runs a dry run that waits at its first decision while
	// meanwhile runs, and returns its result.
	paused := func(meanwhile func(holder int)) (*Diff, error) {
		c := cfg
		reached, release := make(chan struct{}), make(chan struct{})
		// Released on every way out, a failing check's too: else the
		// dry run waits in its hook for good, holding its connections.
		var released sync.Once
		unpause := func() { released.Do(func() { close(release) }) }
		defer unpause()
		var once sync.Once
		SetHook(&c, func(p string) error {
			if strings.HasPrefix(p, "decide:") {
				once.Do(func() { close(reached); <-release })
			}
			return nil
		})
		type result struct {
			d   *Diff
			err error
		}
		done := make(chan result, 1)
		go func() {
			d, err := DryRun(ctx, c, 3)
			done <- result{d, err}
		}()
		select {
		case <-reached:
		case r := <-done:
			t.Fatalf("the dry run ended before its first decision: %v", r.err)
		}
		holder, err := migrations.DryRunHolder(ctx, admin)
		if err != nil || holder == nil {
			t.Errorf("the dry-run lock's holder while a dry run works: %v, %v; want its session", holder, err)
		}
		pid := 0
		if holder != nil {
			pid = holder.PID
		}
		meanwhile(pid)
		unpause()
		r := <-done
		return r.d, r.err
	}

	// waiting receives the dry run's busy sessions that status listed
	// once one waited for a lock (nil: none did within half a minute).
	waiting := make(chan []SessionActivity, 1)
	first, err := paused(func(holder int) {
		var dr *migrations.DryRunningError
		if _, err := DryRun(ctx, cfg, 3); !errors.As(err, &dr) || dr.PID != holder || !strings.Contains(err.Error(), "nothing was written") {
			t.Errorf("a second dry run while one works: %v; want a *migrations.DryRunningError naming pid %d", err, holder)
		}
		rep, err := Status(ctx, Config{TargetURL: dst})
		if err != nil || rep.DryRun == nil || rep.DryRun.PID != holder {
			t.Errorf("status while a dry run works: %+v, %v; want it named, pid %d", rep, err, holder)
		}
		// Its stage of users locked: deciding users waits, until status
		// has listed that, or half a minute has passed.
		tx, err := pgtest.Connect(t, dst).Begin(ctx)
		if err == nil {
			_, err = tx.Exec(ctx, `LOCK TABLE `+ident(DryRunStage, "users")+` IN ACCESS EXCLUSIVE MODE`)
		}
		if err != nil {
			t.Fatal(err)
		}
		go func() {
			defer tx.Rollback(ctx)
			for range 300 {
				rep, err := Status(ctx, Config{TargetURL: dst})
				if err == nil && slices.ContainsFunc(rep.DryRunWorking, func(a SessionActivity) bool { return a.Wait == "Lock:relation" }) {
					waiting <- rep.DryRunWorking
					return
				}
				time.Sleep(100 * time.Millisecond)
			}
			waiting <- nil
		}()
	})
	if err != nil {
		t.Fatalf("the dry run a second one tried to join: %v", err)
	}
	if busy := <-waiting; !slices.ContainsFunc(busy, func(a SessionActivity) bool {
		return a.Wait == "Lock:relation" && strings.Contains(a.Statement, DryRunStage) && a.State == "active"
	}) {
		t.Errorf("status's busy sessions of a dry run waiting for a lock on its stage: %+v; want the waiting one", busy)
	}
	if d := cmp.Diff(alone.Targets, first.Targets, cmp.AllowUnexported(TableDiff{})); d != "" {
		t.Errorf("the dry run a second one tried to join predicts otherwise than one alone (-alone +joined):\n%s", d)
	}
	if d := cmp.Diff(alone.Tables, first.Tables); d != "" {
		t.Errorf("the dry run a second one tried to join previews otherwise than one alone (-alone +joined):\n%s", d)
	}
	if rep, err := Status(ctx, Config{TargetURL: dst}); err != nil || rep.DryRun != nil {
		t.Errorf("status after the dry run: %+v, %v; want no dry run named", rep, err)
	}

	var sum *Summary
	_, err = paused(func(holder int) {
		c := cfg
		var said []string
		c.Progress = func(e Event) {
			if e.Phase == "start" {
				said = append(said, e.Message)
			}
		}
		var rerr error
		if sum, rerr = Run(ctx, c); rerr != nil {
			t.Fatalf("a run while a dry run works: %v", rerr)
		}
		want := fmt.Sprintf("a dry run (pid %d", holder)
		if !slices.ContainsFunc(said, func(m string) bool { return strings.HasPrefix(m, want) && strings.Contains(m, "will fail") }) {
			t.Errorf("the run, started while a dry run works, said %q; want %q…", said, want)
		}
	})
	var during *RunDuringDryRunError
	if !errors.As(err, &during) || during.RunID != sum.RunID || !strings.Contains(err.Error(), "run the dry run again") {
		t.Errorf("a dry run during which a run worked: %v; want a *RunDuringDryRunError naming run %d", err, sum.RunID)
	}
	if _, err := DryRun(ctx, cfg, 3); err != nil {
		t.Errorf("a dry run after the run: %v", err)
	}
}

// TestDryRunListsTheRowsARunWouldReject: the dry run lists the rows a run
// would reject, at most RejectSamples of each legacy table and reason,
// each with its key, reason and message: a run that --max-rejects stops
// points the operator at `cutover diff` for them, and wrote none to
// cutover.rejects. Each is a row the run then rejects, for that reason.
func TestDryRunListsTheRowsARunWouldReject(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	src, dst := rerunSource(t), testkit.MigratedTarget(t)
	d, err := DryRun(ctx, rerunConfig(src, dst), 0)
	if err != nil {
		t.Fatal(err)
	}
	rejected := map[string]int64{} // reason → rows
	for _, x := range d.Reasons {
		if x.Disposition == string(mappings.Rejected) {
			rejected[x.Reason] += x.Rows
		}
	}
	if len(d.Rejects) == 0 || len(rejected) == 0 {
		t.Fatalf("a dry run of a source with anomalies lists %d rows to reject (reasons %v)", len(d.Rejects), rejected)
	}
	per := map[[2]string]int{}
	for _, x := range d.Rejects {
		per[[2]string{x.Legacy, x.Reason}]++
		if x.Key == "" || x.Reason == "" || x.Message == "" {
			t.Errorf("a rejected row without its key, reason or message: %+v", x)
		}
	}
	for k, n := range per {
		if n > RejectSamples {
			t.Errorf("%s %s: %d rows listed, more than %d", k[0], k[1], n, RejectSamples)
		}
	}
	if _, err := Run(ctx, rerunConfig(src, dst)); err != nil {
		t.Fatal(err)
	}
	conn := pgtest.Connect(t, dst)
	for _, x := range d.Rejects {
		var reason string
		if err := conn.QueryRow(ctx, `SELECT reason FROM cutover.rejects WHERE legacy_table = $1 AND legacy_key = $2`, x.Legacy, x.Key).Scan(&reason); err != nil || reason != x.Reason {
			t.Errorf("%s %s: the dry run said rejected as %s; the run's cutover.rejects says %q (%v)", x.Legacy, x.Key, x.Reason, reason, err)
		}
	}
}
