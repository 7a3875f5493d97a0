package reconcile_test

import (
	"context"
	"errors"
	"fmt"
	"os"
	"slices"
	"strings"
	"sync"
	"testing"

	"github.com/google/go-cmp/cmp"
	"github.com/google/go-cmp/cmp/cmpopts"
	"github.com/jackc/pgx/v5"

	"github.com/cutover/cutover/internal/dburl"
	"github.com/cutover/cutover/internal/legacygen"
	"github.com/cutover/cutover/internal/pgtest"
	"github.com/cutover/cutover/internal/testkit"
	"github.com/cutover/cutover/load"
	"github.com/cutover/cutover/migrations"
	"github.com/cutover/cutover/reconcile"
	"github.com/cutover/cutover/reconcile/report"
)

func TestMain(m *testing.M) { os.Exit(pgtest.Main(m)) }

// The fixed data set of these tests: legacy v21 with the drift tables and
// every planted anomaly, 60 users, seed 7.
var genOptions = legacygen.Options{Flavor: "v21", Drift: true, Anomalies: true, Users: 60, Seed: 7}

var (
	manifestMu sync.Mutex
	manifests  = map[string]*legacygen.Manifest{}
)

// legacyDB returns a fresh copy of the generated legacy database.
func legacyDB(t *testing.T, o legacygen.Options) string {
	t.Helper()
	name := testkit.TemplateName("legacy", o)
	return pgtest.NewDBFrom(t, name, func(ctx context.Context, url string) error {
		m, err := legacygen.Generate(ctx, url, o)
		manifestMu.Lock()
		manifests[name] = m
		manifestMu.Unlock()
		return err
	})
}

func manifest(o legacygen.Options) *legacygen.Manifest {
	manifestMu.Lock()
	defer manifestMu.Unlock()
	return manifests[testkit.TemplateName("legacy", o)]
}

// finishedDB returns a fresh copy of a target into which one cutover of
// the legacy database ran to the end, and a copy of that legacy database.
func finishedDB(t *testing.T, o legacygen.Options) (src, dst string) {
	t.Helper()
	src = legacyDB(t, o)
	name := testkit.TemplateName("finished", o)
	dst = pgtest.NewDBFrom(t, name, func(ctx context.Context, url string) error {
		if _, err := migrations.Apply(ctx, url, nil); err != nil {
			return err
		}
		sum, err := load.Run(ctx, load.Config{SourceURL: src, TargetURL: url, MaxRejects: -1, Workers: 2})
		if err != nil {
			return err
		}
		if !sum.OK() {
			return fmt.Errorf("the run's conservation law fails: %+v", sum.Tables)
		}
		return nil
	})
	return src, dst
}

func verify(t *testing.T, src, dst string) *reconcile.Result {
	t.Helper()
	res, err := reconcile.Verify(context.Background(), reconcile.Config{SourceURL: src, TargetURL: dst, Workers: 2})
	if err != nil {
		t.Fatalf("verify: %v", err)
	}
	return res
}

func exec(t *testing.T, url string, sql ...string) {
	t.Helper()
	ctx := context.Background()
	conn, err := pgx.Connect(ctx, url)
	if err != nil {
		t.Fatal(err)
	}
	defer conn.Close(ctx)
	for _, q := range sql {
		if _, err := conn.Exec(ctx, q); err != nil {
			t.Fatalf("%s: %v", q, err)
		}
	}
}

func queryString(t *testing.T, url, sql string) string {
	t.Helper()
	ctx := context.Background()
	conn, err := pgx.Connect(ctx, url)
	if err != nil {
		t.Fatal(err)
	}
	defer conn.Close(ctx)
	var s string
	if err := conn.QueryRow(ctx, sql).Scan(&s); err != nil {
		t.Fatalf("%s: %v", sql, err)
	}
	return s
}

func failures(res *reconcile.Result) []string {
	var out []string
	for _, f := range res.Findings {
		if f.Severity == reconcile.Failure {
			out = append(out, fmt.Sprintf("%s/%s %s %s: %s", f.Check, f.Kind, f.Table, f.Key, f.Message))
		}
	}
	return out
}

// TestVerifyFinishedCutover: on the target a run left, everything holds,
// and the wallets the generator planted as disagreeing with their ledger
// are reported as information, not failures.
func TestVerifyFinishedCutover(t *testing.T) {
	t.Parallel()
	src, dst := finishedDB(t, genOptions)
	res := verify(t, src, dst)
	if !res.OK() {
		t.Fatalf("verify of an untouched cutover fails:\n%s", strings.Join(failures(res), "\n"))
	}
	man := manifest(genOptions)
	var source int64
	for _, tc := range res.Tables {
		if !tc.Holds {
			t.Errorf("%s does not hold: %+v", tc.Legacy, tc)
		}
		if want := man.Tables[tc.Legacy]; tc.Source != want {
			t.Errorf("%s: verify counts %d source rows, the generator wrote %d", tc.Legacy, tc.Source, want)
		}
		source += tc.Source
	}
	if len(res.Tables) != len(man.Tables) || source != man.Rows() {
		t.Errorf("verify saw %d tables, %d rows; the generator wrote %d tables, %d rows", len(res.Tables), source, len(man.Tables), man.Rows())
	}
	if len(res.Targets) != 63 {
		t.Errorf("%d target tables checked, want 63", len(res.Targets))
	}
	var oneToOne int
	var quests reconcile.ContentCheck
	for _, c := range res.Contents {
		if c.Skipped != "" {
			continue
		}
		if !c.Equal {
			t.Errorf("content of %s differs: %+v", c.Mapping, c)
		}
		if c.OneToOne {
			oneToOne++
		}
		if len(c.Columns) == 0 {
			t.Errorf("content of %s compares no column", c.Mapping)
		}
		if c.Legacy == "market_items" && (!slices.Contains(c.Columns, "key") || slices.Contains(c.NotCompared, "key")) {
			t.Errorf("content of %s leaves out the derived key: %+v", c.Mapping, c)
		}
		if c.Legacy == "quests" {
			quests = c
		}
	}
	if oneToOne < 50 {
		t.Errorf("only %d one-to-one tables compared", oneToOne)
	}
	// The text quests, typed in Go by the run, are typed again and
	// compared: every quest loaded, by the columns it fills.
	loadedQuests := queryString(t, dst, `SELECT count(*)::text FROM cutover.dispositions WHERE legacy_table = 'quests' AND disposition = 'loaded'`)
	if fmt.Sprint(quests.SourceRows) != loadedQuests || quests.SourceRows == 0 || !quests.Equal || quests.Skipped != "" ||
		!slices.Contains(quests.Columns, "title") || !slices.Contains(quests.Columns, "created_at") {
		t.Errorf("quests: %+v, want its %s loaded rows compared", quests, loadedQuests)
	}
	// The disagreeing wallets are exactly the planted ones.
	var want, got []string
	for _, a := range man.Anomalies {
		if a.Kind == "wallet_ledger_mismatch" {
			want = append(want, a.Key)
		}
	}
	for _, f := range res.Findings {
		if f.Check == reconcile.CheckWallet {
			if f.Severity != reconcile.Info {
				t.Errorf("a wallet finding must not fail: %+v", f)
			}
			got = append(got, f.Key)
		}
	}
	slices.Sort(want)
	slices.Sort(got)
	if len(want) == 0 || !slices.Equal(want, got) {
		t.Errorf("wallet findings %v, want the planted mismatches %v", got, want)
	}
	// Every rejected anomaly the generator planted is accounted for as
	// rejected by the data (cutover.rejects), not only by the ledger.
	var rejected int64
	for _, tc := range res.Tables {
		rejected += tc.Rejected
	}
	if n := queryString(t, dst, `SELECT count(*)::text FROM cutover.rejects`); n != fmt.Sprint(rejected) {
		t.Errorf("verify counts %d rejected rows, cutover.rejects holds %s", rejected, n)
	}
	// Every archived and rejected row was compared with its legacy row,
	// a table archived whole and tables keeping some rows among them.
	var kept, whole, some int
	for _, tc := range res.Tables {
		if n := tc.Archived + tc.Rejected; n == 0 {
			if tc.Kept != nil {
				t.Errorf("%s keeps no row, and its kept rows were compared: %+v", tc.Legacy, *tc.Kept)
			}
			continue
		}
		switch {
		case tc.Kept == nil:
			t.Errorf("%s: the %d archived and %d rejected rows were not compared with the source", tc.Legacy, tc.Archived, tc.Rejected)
			continue
		case tc.Kept.Rows != tc.Archived+tc.Rejected || !tc.Kept.Equal || tc.Kept.Changed != 0:
			t.Errorf("%s: kept rows %+v, want %d equal", tc.Legacy, *tc.Kept, tc.Archived+tc.Rejected)
		}
		kept++
		if tc.Target == "" {
			whole++
		} else {
			some++
		}
	}
	if whole == 0 || some == 0 {
		t.Errorf("kept rows compared for %d tables (%d archived whole, %d keeping some)", kept, whole, some)
	}
	// Every merged row of the drift tables was checked against the row it
	// points at.
	for _, tc := range res.Tables {
		if tc.Legacy != "habit_logs" && tc.Legacy != "user_inbox" {
			continue
		}
		if tc.Merged == 0 || tc.MergedCompared != tc.Merged || tc.MergedElsewhere != 0 {
			t.Errorf("%s: %d merged rows, %d compared with their target rows, %d elsewhere; want all compared, none elsewhere",
				tc.Legacy, tc.Merged, tc.MergedCompared, tc.MergedElsewhere)
		}
	}
	// Each target table's counts, against the grouped join of its rows
	// with their claims (verify takes them from sums when it can).
	var seeds, folded int64
	for _, c := range res.Targets {
		if queryString(t, dst, `SELECT count(*)::text FROM information_schema.columns
			WHERE table_schema = 'public' AND table_name = '`+c.Table+`' AND column_name = 'id'`) == "0" {
			continue
		}
		want := queryString(t, dst, `SELECT concat_ws(' ', count(*), count(*) FILTER (WHERE c.l), count(*) FILTER (WHERE NOT c.l), count(*) FILTER (WHERE c.l IS NULL))
			FROM public.`+c.Table+` t LEFT JOIN (SELECT target_id, bool_or(disposition = 'loaded') AS l FROM cutover.dispositions
				WHERE target_table = '`+c.Table+`' AND disposition IN ('loaded', 'folded') GROUP BY 1) c ON c.target_id = t.id`)
		if got := fmt.Sprintf("%d %d %d %d", c.Rows, c.Loaded, c.Folded, c.Seeds); got != want || !c.Holds {
			t.Errorf("%s: rows, loaded, folded, seeds %s, want %s (%+v)", c.Table, got, want, c)
		}
		seeds, folded = seeds+c.Seeds, folded+c.Folded
	}
	if seeds == 0 || folded == 0 {
		t.Errorf("%d seed rows and %d folded rows in the target: the counts of both are not checked", seeds, folded)
	}
	// The rows by disposition and reason, against the bookkeeping counted
	// here.
	wantReasons := queryString(t, dst, `SELECT string_agg(d || ' ' || r || ' ' || n, '; ' ORDER BY n DESC, d, r) FROM (
		SELECT 'rejected' AS d, reason AS r, count(*) AS n FROM cutover.rejects GROUP BY reason
		UNION ALL SELECT 'archived', reason, count(*) FROM cutover.archive GROUP BY reason
		UNION ALL SELECT 'discarded', reason, count(*) FROM cutover.discards GROUP BY reason
		UNION ALL SELECT 'merged', coalesce(reason, ''), count(*) FROM cutover.dispositions WHERE disposition = 'merged' GROUP BY 2) x`)
	var gotReasons []string
	for _, r := range res.Reasons {
		gotReasons = append(gotReasons, fmt.Sprintf("%s %s %d", r.Disposition, r.Reason, r.Rows))
	}
	if got := strings.Join(gotReasons, "; "); got != wantReasons || len(gotReasons) < 4 {
		t.Errorf("reasons:\n%s\nwant\n%s", got, wantReasons)
	}
	// One connection per server (the checks, and the probes before them,
	// take turns) finds the same.
	one, err := reconcile.Verify(context.Background(), reconcile.Config{SourceURL: src, TargetURL: dst, Workers: 1})
	if err != nil {
		t.Fatalf("verify with one connection per server: %v", err)
	}
	if diff := cmp.Diff(res, one, cmpopts.IgnoreFields(reconcile.Result{}, "Elapsed")); diff != "" {
		t.Errorf("verify with one connection per server differs (-two +one):\n%s", diff)
	}
}

type wantFinding struct {
	check, kind, table, key string
	columns                 []string
}

// TestVerifyFindsTampering: after a cutover, each kind of damage to the
// target is found, with its table and key, and fails the verification.
func TestVerifyFindsTampering(t *testing.T) {
	t.Parallel()
	first := func(t *testing.T, url, sql string) string { return queryString(t, url, sql) }
	cases := []struct {
		name   string
		tamper func(t *testing.T, dst string) []wantFinding
	}{
		{"delete a row", func(t *testing.T, dst string) []wantFinding {
			id := first(t, dst, `SELECT id::text FROM analysis_events ORDER BY id LIMIT 1`)
			exec(t, dst, `DELETE FROM analysis_events WHERE id = '`+id+`'`)
			return []wantFinding{
				{check: reconcile.CheckConservation, kind: reconcile.KindUnaccounted, table: "analysis_events", key: id},
				{check: reconcile.CheckContent, kind: reconcile.KindMissingRow, table: "analysis_events", key: id},
			}
		}},
		{"change one value", func(t *testing.T, dst string) []wantFinding {
			id := first(t, dst, `SELECT id::text FROM books ORDER BY id LIMIT 1`)
			exec(t, dst, `UPDATE books SET total_pages = coalesce(total_pages, 0) + 1 WHERE id = '`+id+`'`)
			return []wantFinding{{check: reconcile.CheckContent, kind: reconcile.KindChangedRow, table: "books", key: id, columns: []string{"total_pages"}}}
		}},
		{"a number written otherwise in a json document", func(t *testing.T, dst string) []wantFinding {
			// 2.0 for 2: equal as jsonb, and hashed alike by jsonb's own
			// hash, but not the same text.
			id := first(t, dst, `SELECT t.id::text FROM audit_log t JOIN cutover.dispositions d ON d.target_id = t.id AND d.legacy_table = 'activity_events'
				WHERE jsonb_typeof(t.details->'v') = 'number' ORDER BY t.id LIMIT 1`)
			exec(t, dst, `UPDATE audit_log SET details = jsonb_set(details, '{v}', ((details->>'v') || '.0')::jsonb) WHERE id = '`+id+`'`)
			return []wantFinding{{check: reconcile.CheckContent, kind: reconcile.KindChangedRow, table: "audit_log", key: id, columns: []string{"details"}}}
		}},
		{"move a row to another user", func(t *testing.T, dst string) []wantFinding {
			id := first(t, dst, `SELECT id::text FROM reading_sessions ORDER BY id LIMIT 1`)
			exec(t, dst, `UPDATE reading_sessions r SET user_id = (SELECT u.id FROM users u WHERE u.id <> r.user_id ORDER BY u.id LIMIT 1) WHERE id = '`+id+`'`)
			return []wantFinding{
				{check: reconcile.CheckTenancy, kind: reconcile.KindTenantMismatch, table: "reading_sessions", key: id},
				{check: reconcile.CheckContent, kind: reconcile.KindChangedRow, table: "reading_sessions", key: id, columns: []string{"user_id"}},
			}
		}},
		// Two rows whose keys the bisector puts in one bucket, each given
		// the other's value: the bucket holds the same values.
		{"swap two rows' users, in one bucket", func(t *testing.T, dst string) []wantFinding { return swapInOneBucket(t, dst, "user_id") }},
		{"swap two rows' titles, in one bucket", func(t *testing.T, dst string) []wantFinding { return swapInOneBucket(t, dst, "title") }},
		{"point a workout line at another user's exercise", func(t *testing.T, dst string) []wantFinding {
			id := first(t, dst, `SELECT l.id::text FROM workout_exercises l JOIN workouts w ON w.id = l.workout_id
				WHERE EXISTS (SELECT 1 FROM exercises x WHERE x.user_id <> w.user_id) ORDER BY l.id LIMIT 1`)
			exec(t, dst, `UPDATE workout_exercises l SET exercise_id = (SELECT x.id FROM exercises x JOIN workouts w ON w.id = l.workout_id
				WHERE x.user_id <> w.user_id ORDER BY x.id LIMIT 1) WHERE id = '`+id+`'`)
			return []wantFinding{
				{check: reconcile.CheckTenancy, kind: reconcile.KindTenantMismatch, table: "workout_exercises", key: id},
				{check: reconcile.CheckContent, kind: reconcile.KindChangedRow, table: "workout_exercises", key: id, columns: []string{"exercise_id"}},
			}
		}},
		{"make an event the child of another user's event", func(t *testing.T, dst string) []wantFinding {
			id := first(t, dst, `SELECT id::text FROM calendar_events WHERE parent_event_id IS NULL ORDER BY id LIMIT 1`)
			exec(t, dst, `UPDATE calendar_events c SET parent_event_id = (SELECT e.id FROM calendar_events e
				WHERE e.user_id <> c.user_id AND e.parent_event_id IS NULL ORDER BY e.id LIMIT 1) WHERE id = '`+id+`'`)
			return []wantFinding{
				{check: reconcile.CheckTenancy, kind: reconcile.KindTenantMismatch, table: "calendar_events", key: id},
				{check: reconcile.CheckContent, kind: reconcile.KindChangedRow, table: "calendar_events", key: id, columns: []string{"parent_event_id"}},
			}
		}},
		{"change a column the run leaves to its default", func(t *testing.T, dst string) []wantFinding {
			// A reward folded into the points ledger: xp is not one of
			// the columns the mapping writes.
			key := first(t, dst, `SELECT legacy_key FROM cutover.dispositions WHERE legacy_table = 'user_rewards' AND disposition = 'folded' ORDER BY legacy_key LIMIT 1`)
			exec(t, dst, `UPDATE points_ledger SET xp = coalesce(xp, 0) + 100000 WHERE id = (SELECT target_id FROM cutover.dispositions
				WHERE legacy_table = 'user_rewards' AND legacy_key = '`+key+`')`)
			return []wantFinding{{check: reconcile.CheckContent, kind: reconcile.KindChangedRow, table: "points_ledger", key: key, columns: []string{"xp"}}}
		}},
		{"make a market item private", func(t *testing.T, dst string) []wantFinding {
			// v21 has no is_global: every item the run loaded is global.
			key := first(t, dst, `SELECT d.legacy_key FROM cutover.dispositions d WHERE d.legacy_table = 'market_items' AND d.disposition = 'loaded'
				AND NOT EXISTS (SELECT 1 FROM user_purchases p WHERE p.item_id = d.target_id) ORDER BY d.legacy_key LIMIT 1`)
			exec(t, dst, `UPDATE market_items SET is_global = false WHERE id = '`+key+`'`)
			return []wantFinding{{check: reconcile.CheckContent, kind: reconcile.KindChangedRow, table: "market_items", key: key, columns: []string{"is_global"}}}
		}},
		{"change a v21 item's derived key", func(t *testing.T, dst string) []wantFinding {
			// The key is the slug of the name, derived in Go: no checksum
			// over the legacy row computes it.
			key := first(t, dst, `SELECT d.legacy_key FROM cutover.dispositions d WHERE d.legacy_table = 'market_items' AND d.disposition = 'loaded'
				ORDER BY d.legacy_key LIMIT 1`)
			exec(t, dst, `UPDATE market_items SET key = key || '-edited' WHERE id = '`+key+`'`)
			return []wantFinding{{check: reconcile.CheckContent, kind: reconcile.KindChangedRow, table: "market_items", key: key, columns: []string{"key"}}}
		}},
		{"change a text quest's value", func(t *testing.T, dst string) []wantFinding {
			// The run types the text quests in Go: verify types them again.
			key := first(t, dst, `SELECT legacy_key FROM cutover.dispositions WHERE legacy_table = 'quests' AND disposition = 'loaded' ORDER BY legacy_key LIMIT 1`)
			exec(t, dst, `UPDATE user_quests SET xp_reward = xp_reward + 1 WHERE id = (SELECT target_id FROM cutover.dispositions
				WHERE legacy_table = 'quests' AND legacy_key = '`+key+`')`)
			return []wantFinding{{check: reconcile.CheckContent, kind: reconcile.KindChangedRow, table: "user_quests", key: key, columns: []string{"xp_reward"}}}
		}},
		{"give a loaded row another id, and its ledger entry too", func(t *testing.T, dst string) []wantFinding {
			// Matched by the ledger's key, every other column equal: only
			// the id says the row is not the legacy row's.
			id := first(t, dst, `SELECT id::text FROM ideas ORDER BY id LIMIT 1`)
			exec(t, dst, `UPDATE ideas SET id = '7a4d1c2e-0000-4000-8000-00000000abcf' WHERE id = '`+id+`'`,
				`UPDATE cutover.dispositions SET target_id = '7a4d1c2e-0000-4000-8000-00000000abcf' WHERE legacy_table = 'ideas' AND legacy_key = '`+id+`'`)
			return []wantFinding{{check: reconcile.CheckContent, kind: reconcile.KindChangedRow, table: "ideas", key: id, columns: []string{"id"}}}
		}},
		{"add a row", func(t *testing.T, dst string) []wantFinding {
			id := "7a4d1c2e-0000-4000-8000-00000000abcd"
			exec(t, dst, `INSERT INTO ideas (id, user_id, title, content) SELECT '`+id+`', id, 'an idea nobody migrated', 'x' FROM users ORDER BY id LIMIT 1`)
			return []wantFinding{
				{check: reconcile.CheckTargetRows, kind: reconcile.KindUnexplainedRow, table: "ideas", key: id},
				{check: reconcile.CheckContent, kind: reconcile.KindExtraRow, table: "ideas", key: id},
			}
		}},
		{"keep a reject under another reason, the summary made to agree", func(t *testing.T, dst string) []wantFinding {
			// The ledger still says parent_rejected: the kept row says
			// what the operator reads at 3 a.m.
			table := first(t, dst, `SELECT legacy_table FROM cutover.rejects WHERE reason = 'parent_rejected' ORDER BY legacy_table, legacy_key LIMIT 1`)
			key := first(t, dst, `SELECT legacy_key FROM cutover.rejects WHERE reason = 'parent_rejected' AND legacy_table = '`+table+`' ORDER BY legacy_key LIMIT 1`)
			mapping := `(SELECT mapping FROM cutover.results WHERE legacy_table = '` + table + `' ORDER BY mapping LIMIT 1)`
			exec(t, dst, `UPDATE cutover.rejects SET reason = 'orphan' WHERE legacy_table = '`+table+`' AND legacy_key = '`+key+`'`,
				`UPDATE cutover.reasons SET rows = rows - 1 WHERE mapping = `+mapping+` AND disposition = 'rejected' AND reason = 'parent_rejected'`,
				`INSERT INTO cutover.reasons (mapping, disposition, reason, rows) VALUES (`+mapping+`, 'rejected', 'orphan', 1)
					ON CONFLICT (mapping, disposition, reason) DO UPDATE SET rows = reasons.rows + 1`)
			return []wantFinding{{check: reconcile.CheckConservation, kind: reconcile.KindLedgerMismatch, table: table}}
		}},
		{"drop a reject", func(t *testing.T, dst string) []wantFinding {
			table := first(t, dst, `SELECT legacy_table FROM cutover.rejects ORDER BY legacy_table, legacy_key LIMIT 1`)
			key := first(t, dst, `SELECT legacy_key FROM cutover.rejects ORDER BY legacy_table, legacy_key LIMIT 1`)
			exec(t, dst, `DELETE FROM cutover.rejects WHERE legacy_table = '`+table+`' AND legacy_key = '`+key+`'`)
			return []wantFinding{
				{check: reconcile.CheckConservation, kind: reconcile.KindUnaccounted, table: table, key: key},
				{check: reconcile.CheckSummary, kind: reconcile.KindSummaryMismatch, table: table},
			}
		}},
		{"delete a seeded row nothing merged onto", func(t *testing.T, dst string) []wantFinding {
			// Its count and every claim still agree: only the seeds say
			// it is gone.
			id := first(t, dst, `SELECT q.id::text FROM universal_quests q WHERE q.id::text LIKE '00000000-0000-4000-8000-%'
				AND NOT EXISTS (SELECT 1 FROM cutover.dispositions d WHERE d.target_id = q.id) ORDER BY q.id LIMIT 1`)
			exec(t, dst, `SET session_replication_role = replica; DELETE FROM universal_quests WHERE id = '`+id+`'`)
			return []wantFinding{{check: reconcile.CheckTargetRows, kind: reconcile.KindMissingSeed, table: "universal_quests", key: id}}
		}},
		{"a reason recorded otherwise", func(t *testing.T, dst string) []wantFinding {
			// The summary's reasons move a reject to another reason; the
			// rejects themselves, and every count of results, are intact.
			table := first(t, dst, `SELECT r.legacy_table FROM cutover.rejects r GROUP BY 1 ORDER BY count(*) DESC, 1 LIMIT 1`)
			exec(t, dst, `WITH one AS (SELECT mapping, reason FROM cutover.reasons
					WHERE disposition = 'rejected' AND mapping = (SELECT mapping FROM cutover.results WHERE legacy_table = '`+table+`')
					ORDER BY reason LIMIT 1)
				UPDATE cutover.reasons r SET reason = 'made_up' FROM one WHERE (r.mapping, r.disposition, r.reason) = (one.mapping, 'rejected', one.reason)`)
			return []wantFinding{{check: reconcile.CheckSummary, kind: reconcile.KindSummaryMismatch, table: table}}
		}},
		{"an orphan behind the foreign keys' back", func(t *testing.T, dst string) []wantFinding {
			book := first(t, dst, `SELECT book_id::text FROM reading_sessions ORDER BY id LIMIT 1`)
			child := first(t, dst, `SELECT id::text FROM reading_sessions WHERE book_id = '`+book+`' ORDER BY id LIMIT 1`)
			exec(t, dst, `SET session_replication_role = replica; DELETE FROM books WHERE id = '`+book+`'`)
			return []wantFinding{
				{check: reconcile.CheckForeignKey, kind: reconcile.KindOrphan, table: "reading_sessions", key: child},
				{check: reconcile.CheckContent, kind: reconcile.KindMissingRow, table: "books", key: book},
			}
		}},
		{"a row claimed twice, another by none", func(t *testing.T, dst string) []wantFinding {
			// The ledger entry of the second habit is made to claim the
			// first: the first is claimed twice, the second by nothing.
			ids := strings.Fields(first(t, dst, `SELECT string_agg(id::text, ' ' ORDER BY id) FROM (SELECT id FROM habits ORDER BY id LIMIT 2) h`))
			exec(t, dst, `UPDATE cutover.dispositions SET target_id = '`+ids[0]+`' WHERE legacy_table = 'habits' AND legacy_key = '`+ids[1]+`'`)
			return []wantFinding{{check: reconcile.CheckTargetRows, kind: reconcile.KindUnexplainedRow, table: "habits", key: ids[1]}}
		}},
		{"a ledger entry of a reject that is not there", func(t *testing.T, dst string) []wantFinding {
			exec(t, dst, `INSERT INTO cutover.dispositions (legacy_table, legacy_key, mapping, disposition, reason, run_id)
				SELECT 'habits', '7a4d1c2e-0000-4000-8000-00000000abce', 'habits', 'rejected', 'orphan', max(id) FROM cutover.runs`)
			return []wantFinding{{check: reconcile.CheckConservation, kind: reconcile.KindLedgerMismatch, table: "habits"}}
		}},
		{"a ledger entry swapped for one the data never had", func(t *testing.T, dst string) []wantFinding {
			// A table archived whole has no content check, and its ledger
			// keeps as many archived keys as before: only the keys differ.
			table := first(t, dst, `SELECT legacy_table FROM cutover.results WHERE target_table IS NULL AND archived > 1 ORDER BY legacy_table LIMIT 1`)
			exec(t, dst, `UPDATE cutover.dispositions SET legacy_key = legacy_key || '-made-up'
				WHERE (legacy_table, legacy_key) = (SELECT legacy_table, min(legacy_key) FROM cutover.dispositions WHERE legacy_table = '`+table+`' GROUP BY 1)`)
			return []wantFinding{{check: reconcile.CheckConservation, kind: reconcile.KindLedgerMismatch, table: table}}
		}},
		{"a ledger key that is no uuid", func(t *testing.T, dst string) []wantFinding {
			// The content check of habits leaves out the keys the ledger
			// rejects, matched as uuids: this one cannot be one, which is
			// no error; the conservation finds a reject of no legacy row.
			exec(t, dst, `INSERT INTO cutover.dispositions (legacy_table, legacy_key, mapping, disposition, reason, run_id)
				SELECT 'habits', 'not-a-uuid', 'habits', 'rejected', 'orphan', max(id) FROM cutover.runs`,
				`INSERT INTO cutover.rejects (legacy_table, legacy_key, reason, message, row, run_id)
				SELECT 'habits', 'not-a-uuid', 'orphan', 'made up', '{}', max(id) FROM cutover.runs`)
			return []wantFinding{{check: reconcile.CheckConservation, kind: reconcile.KindNotInSource, table: "habits", key: "not-a-uuid"}}
		}},
		{"a merged habit log re-pointed at another completion", func(t *testing.T, dst string) []wantFinding {
			// The completion it now points at exists, which is all the
			// conservation law asks of a merged key.
			key := first(t, dst, `SELECT legacy_key FROM cutover.dispositions WHERE legacy_table = 'habit_logs' AND disposition = 'merged'
				AND reason = 'duplicate_completion' ORDER BY legacy_key LIMIT 1`)
			exec(t, dst, `UPDATE cutover.dispositions d SET target_id = (SELECT c.id FROM habit_completions c, habit_completions o
					WHERE o.id = d.target_id AND c.completed_date <> o.completed_date ORDER BY c.id LIMIT 1)
				WHERE legacy_table = 'habit_logs' AND legacy_key = '`+key+`'`)
			return []wantFinding{{check: reconcile.CheckConservation, kind: reconcile.KindMergedElsewhere, table: "habit_logs", key: key,
				columns: []string{"habit_id", "completed_date"}}}
		}},
		{"a quest merged by id re-pointed at another quest", func(t *testing.T, dst string) []wantFinding {
			key := first(t, dst, `SELECT legacy_key FROM cutover.dispositions WHERE legacy_table = 'quests' AND disposition = 'merged' ORDER BY legacy_key LIMIT 1`)
			exec(t, dst, `UPDATE cutover.dispositions d SET target_id = (SELECT q.id FROM user_quests q WHERE q.id <> d.target_id ORDER BY q.id LIMIT 1)
				WHERE legacy_table = 'quests' AND legacy_key = '`+key+`'`)
			return []wantFinding{{check: reconcile.CheckConservation, kind: reconcile.KindMergedElsewhere, table: "quests", key: key, columns: []string{"id", "user_id"}}}
		}},
		{"drift rows merged by id onto another user's rows", func(t *testing.T, dst string) []wantFinding {
			// As if merged onto a row of the same id of another user: not
			// the same fact, whose owner lost it into the other's.
			var want []wantFinding
			for _, c := range []struct{ legacy, reason, target string }{{"user_inbox", "duplicate_inbox_id", "inbox_items"}, {"quests", "duplicate_quest", "user_quests"}} {
				key := first(t, dst, `SELECT d.legacy_key FROM cutover.dispositions d JOIN `+c.target+` t ON t.id = d.target_id
					WHERE d.legacy_table = '`+c.legacy+`' AND d.reason = '`+c.reason+`' AND t.user_id IS NOT NULL ORDER BY d.legacy_key LIMIT 1`)
				exec(t, dst, `UPDATE `+c.target+` t SET user_id = (SELECT u.id FROM users u WHERE u.id <> t.user_id ORDER BY u.id LIMIT 1)
					WHERE id = (SELECT target_id FROM cutover.dispositions WHERE legacy_table = '`+c.legacy+`' AND legacy_key = '`+key+`')`)
				want = append(want, wantFinding{check: reconcile.CheckConservation, kind: reconcile.KindMergedElsewhere, table: c.legacy, key: key,
					columns: []string{"id", "user_id"}})
			}
			return want
		}},
		{"a key counted twice", func(t *testing.T, dst string) []wantFinding {
			id := first(t, dst, `SELECT id::text FROM habits ORDER BY id LIMIT 1`)
			exec(t, dst, `INSERT INTO cutover.archive (legacy_table, legacy_key, reason, row, run_id)
				SELECT 'habits', '`+id+`', 'not_in_target', '{}', max(id) FROM cutover.runs`)
			return []wantFinding{{check: reconcile.CheckConservation, kind: reconcile.KindCountedTwice, table: "habits", key: id}}
		}},
		{"a seeded row merged with a legacy row loses its legacy content", func(t *testing.T, dst string) []wantFinding {
			key := first(t, dst, `SELECT legacy_key FROM cutover.dispositions WHERE legacy_table = 'roles' AND disposition = 'merged' ORDER BY legacy_key LIMIT 1`)
			exec(t, dst, `UPDATE roles SET description = 'seed text again' WHERE id = (SELECT target_id FROM cutover.dispositions WHERE legacy_table = 'roles' AND legacy_key = '`+key+`')`)
			return []wantFinding{{check: reconcile.CheckContent, kind: reconcile.KindChangedRow, table: "roles", key: key, columns: []string{"description"}}}
		}},
		{"a natural key shared behind a dropped index", func(t *testing.T, dst string) []wantFinding {
			// Without its unique index, two users share an email but for
			// case: the index's key is checked by scanning.
			ids := strings.Fields(first(t, dst, `SELECT string_agg(id::text, ' ' ORDER BY id) FROM (SELECT id FROM users ORDER BY id LIMIT 2) u`))
			email := first(t, dst, `SELECT lower(email) FROM users WHERE id = '`+ids[0]+`'`)
			exec(t, dst, `DROP INDEX idx_users_email_lower`, `UPDATE users SET email = upper('`+email+`') WHERE id = '`+ids[1]+`'`)
			return []wantFinding{
				{check: reconcile.CheckNaturalKey, kind: reconcile.KindDuplicateKey, table: "users", key: email},
				{check: reconcile.CheckContent, kind: reconcile.KindChangedRow, table: "users", key: ids[1], columns: []string{"email"}},
				{check: reconcile.CheckSchema, kind: reconcile.KindSchemaMissing, table: "users", key: "index idx_users_email_lower"},
			}
		}},
		// Schema changes that lose what the run loaded, while the rows
		// still compare equal through the columns left (the legacy values
		// cast to the narrowed type lose the same), or that drop what
		// the invariants stand on.
		// Seeded rows: one no legacy row merged onto made free, and the
		// content a run kept of one it merged onto (written back by a
		// re-run once nothing merges onto it) edited.
		{"a seeded item no legacy row merged onto made free", func(t *testing.T, dst string) []wantFinding {
			id := first(t, dst, `SELECT m.id::text FROM market_items m WHERE m.id::text LIKE '00000000-0000-4000-8000-%'
				AND NOT EXISTS (SELECT FROM cutover.dispositions d WHERE d.target_id = m.id AND d.disposition = 'merged') ORDER BY m.id LIMIT 1`)
			exec(t, dst, `UPDATE market_items SET cost_coins = 0 WHERE id = '`+id+`'`)
			return []wantFinding{{check: reconcile.CheckSeeds, kind: reconcile.KindSeedChanged, table: "market_items", key: id}}
		}},
		{"the kept content of a seed merged onto edited", func(t *testing.T, dst string) []wantFinding {
			table := first(t, dst, `SELECT target_table FROM cutover.seeds_replaced ORDER BY target_table, target_id LIMIT 1`)
			id := first(t, dst, `SELECT target_id::text FROM cutover.seeds_replaced WHERE target_table = '`+table+`' ORDER BY target_id LIMIT 1`)
			exec(t, dst, `UPDATE cutover.seeds_replaced SET row = jsonb_set(row, '{name}', '"renamed by hand"') WHERE target_id = '`+id+`'`)
			return []wantFinding{{check: reconcile.CheckSeeds, kind: reconcile.KindSeedChanged, table: table, key: id}}
		}},
		// The id map view redefined to map a re-pointed purchase back to
		// its legacy item: verify reads the ledger, not the view.
		{"a reference re-pointed behind a redefined id map", func(t *testing.T, dst string) []wantFinding {
			id := first(t, dst, `SELECT p.id::text FROM user_purchases p JOIN cutover.dispositions d ON d.target_id = p.item_id
				AND d.legacy_table = 'market_items' AND d.disposition = 'loaded' ORDER BY p.id LIMIT 1`)
			item := first(t, dst, `SELECT item_id::text FROM user_purchases WHERE id = '`+id+`'`)
			seed := first(t, dst, `SELECT m.id::text FROM market_items m WHERE m.id::text LIKE '00000000-0000-4000-8000-%'
				AND NOT EXISTS (SELECT FROM cutover.dispositions d WHERE d.target_id = m.id) ORDER BY m.id LIMIT 1`)
			exec(t, dst, `UPDATE user_purchases SET item_id = '`+seed+`' WHERE id = '`+id+`'`,
				`CREATE OR REPLACE VIEW cutover.id_map AS SELECT legacy_table, legacy_key, target_table, target_id, disposition, reason
					FROM cutover.dispositions WHERE target_id IS NOT NULL AND (disposition IN ('merged', 'folded') OR target_id::text <> legacy_key)
				UNION ALL SELECT 'market_items' COLLATE "C", '`+item+`' COLLATE "C", 'market_items' COLLATE "C", '`+seed+`'::uuid, 'merged', NULL::text`)
			return []wantFinding{{check: reconcile.CheckContent, kind: reconcile.KindChangedRow, table: "user_purchases", columns: []string{"item_id"}}}
		}},
		// A merged entry's key made no uuid: found as keys that differ,
		// not an error of a cast that stops verify.
		{"a merged ledger key that is no uuid", func(t *testing.T, dst string) []wantFinding {
			key := first(t, dst, `SELECT legacy_key FROM cutover.dispositions WHERE legacy_table = 'achievement_definitions' AND disposition = 'merged' ORDER BY legacy_key LIMIT 1`)
			exec(t, dst, `UPDATE cutover.dispositions SET legacy_key = 'not-a-uuid' WHERE legacy_table = 'achievement_definitions' AND legacy_key = '`+key+`'`)
			return []wantFinding{{check: reconcile.CheckConservation, kind: reconcile.KindUnaccounted, table: "achievement_definitions", key: key}}
		}},
		{"a column dropped", func(t *testing.T, dst string) []wantFinding {
			exec(t, dst, `ALTER TABLE feedback DROP COLUMN metadata`)
			return []wantFinding{{check: reconcile.CheckSchema, kind: reconcile.KindSchemaMissing, table: "feedback", key: "column metadata"}}
		}},
		// A column a mapping leaves to its default (a folded reward's xp)
		// is compared with the target's default: changed with its rows,
		// the rows compare equal, and the schema check finds it.
		{"a left-to-default column changed with its default", func(t *testing.T, dst string) []wantFinding {
			exec(t, dst, `ALTER TABLE points_ledger ALTER COLUMN xp SET DEFAULT 1000`,
				`UPDATE points_ledger p SET xp = 1000 FROM cutover.dispositions d WHERE d.legacy_table = 'user_rewards' AND d.target_id = p.id`)
			return []wantFinding{{check: reconcile.CheckSchema, kind: reconcile.KindSchemaChanged, table: "points_ledger", key: "column xp"}}
		}},
		// Row-level security forced on with a policy that hides every row
		// from the application's roles (verify's own role sees them).
		{"row-level security hiding every row", func(t *testing.T, dst string) []wantFinding {
			exec(t, dst, `ALTER TABLE ideas ENABLE ROW LEVEL SECURITY`, `ALTER TABLE ideas FORCE ROW LEVEL SECURITY`,
				`CREATE POLICY nobody ON ideas USING (false)`)
			return []wantFinding{{check: reconcile.CheckSchema, kind: reconcile.KindSchemaChanged, table: "ideas", key: "relation"}}
		}},
		{"a column narrowed", func(t *testing.T, dst string) []wantFinding {
			exec(t, dst, `ALTER TABLE ideas ALTER COLUMN title TYPE varchar(3) USING left(title, 3)`)
			return []wantFinding{{check: reconcile.CheckSchema, kind: reconcile.KindSchemaChanged, table: "ideas", key: "column title"}}
		}},
		{"a foreign key and a unique constraint dropped", func(t *testing.T, dst string) []wantFinding {
			exec(t, dst, `ALTER TABLE habits DROP CONSTRAINT habits_user_id_fkey`)
			uc := first(t, dst, `SELECT conname FROM pg_constraint WHERE conrelid = 'user_settings'::regclass AND contype = 'u' ORDER BY 1 LIMIT 1`)
			exec(t, dst, `ALTER TABLE user_settings DROP CONSTRAINT `+uc)
			return []wantFinding{
				{check: reconcile.CheckSchema, kind: reconcile.KindSchemaMissing, table: "habits", key: "constraint habits_user_id_fkey"},
				{check: reconcile.CheckSchema, kind: reconcile.KindSchemaMissing, table: "user_settings", key: "constraint " + uc},
			}
		}},
		{"feed order", func(t *testing.T, dst string) []wantFinding {
			id := first(t, dst, `SELECT id::text FROM inbox_items WHERE sort_order = 0 ORDER BY id LIMIT 1`)
			exec(t, dst, `UPDATE inbox_items SET sort_order = 999 WHERE id = '`+id+`'`)
			return []wantFinding{{check: reconcile.CheckFeedOrder, kind: reconcile.KindFeedOrder, table: "inbox_items", key: id}}
		}},
		{"the last run did not finish", func(t *testing.T, dst string) []wantFinding {
			exec(t, dst, `UPDATE cutover.runs SET status = 'failed', error = 'killed' WHERE id = (SELECT max(id) FROM cutover.runs)`)
			return []wantFinding{{check: reconcile.CheckRun, kind: reconcile.KindRunNotDone}}
		}},
		{"the last run stopped at --max-rejects", func(t *testing.T, dst string) []wantFinding {
			exec(t, dst, `UPDATE cutover.runs SET status = 'failed', error = 'too many rejects', failure = 'too_many_rejects' WHERE id = (SELECT max(id) FROM cutover.runs)`)
			return []wantFinding{{check: reconcile.CheckRun, kind: reconcile.KindRunNotDone}}
		}},
		{"the last run was interrupted", func(t *testing.T, dst string) []wantFinding {
			exec(t, dst, `UPDATE cutover.runs SET status = 'running', finished_at = NULL WHERE id = (SELECT max(id) FROM cutover.runs)`)
			return []wantFinding{{check: reconcile.CheckRun, kind: reconcile.KindRunNotDone}}
		}},
		{"the last run was cancelled", func(t *testing.T, dst string) []wantFinding {
			exec(t, dst, `UPDATE cutover.runs SET status = 'interrupted', error = '`+migrations.CancelledRun+`' WHERE id = (SELECT max(id) FROM cutover.runs)`)
			return []wantFinding{{check: reconcile.CheckRun, kind: reconcile.KindRunNotDone}}
		}},
		{"the last run was cancelled, recorded by an earlier build", func(t *testing.T, dst string) []wantFinding {
			exec(t, dst, `UPDATE cutover.runs SET status = 'failed', error = '`+migrations.CancelledRun+`' WHERE id = (SELECT max(id) FROM cutover.runs)`)
			return []wantFinding{{check: reconcile.CheckRun, kind: reconcile.KindRunNotDone}}
		}},
		{"a changed secret is named but not shown", func(t *testing.T, dst string) []wantFinding {
			id := first(t, dst, `SELECT id::text FROM sessions ORDER BY id LIMIT 1`)
			exec(t, dst, `UPDATE sessions SET token = 'tampered-token-value' WHERE id = '`+id+`'`)
			return []wantFinding{{check: reconcile.CheckContent, kind: reconcile.KindChangedRow, table: "sessions", key: id, columns: []string{"token"}}}
		}},
	}
	cancelled := func(t *testing.T, res *reconcile.Result) {
		if f := failures(res); res.LastRun.Status != "interrupted" || len(f) != 1 || !strings.Contains(f[0], ") was interrupted (Ctrl-C, SIGTERM or a closed terminal) and did not finish") {
			t.Errorf("last run %q, failures %q", res.LastRun.Status, f)
		}
	}
	// Further checks of the result, by case.
	also := map[string]func(t *testing.T, res *reconcile.Result){
		"the last run did not finish": func(t *testing.T, res *reconcile.Result) {
			if f := failures(res); res.LastRun.Status != "failed" || len(f) != 1 || !strings.Contains(f[0], ") failed and did not finish: `cutover status` says what stopped it and what to do, then run again") {
				t.Errorf("last run %q, failures %q", res.LastRun.Status, f)
			}
		},
		// The same run stops at the same place again: verify says what
		// to do instead (an operator review found it said to run again).
		"the last run stopped at --max-rejects": func(t *testing.T, res *reconcile.Result) {
			if f := failures(res); res.LastRun.Status != "failed" || len(f) != 1 || !strings.Contains(f[0], ") stopped at its --max-rejects and did not finish: fix in the source the rows it would reject") {
				t.Errorf("last run %q, failures %q", res.LastRun.Status, f)
			}
		},
		"the last run was interrupted": func(t *testing.T, res *reconcile.Result) {
			// Recorded as running, and no run holds the run lock.
			if f := failures(res); res.LastRun.Status != "interrupted" || len(f) != 1 || !strings.Contains(f[0], ") was interrupted (its process or connection ended) and did not finish") {
				t.Errorf("last run %q, failures %q", res.LastRun.Status, f)
			}
		},
		// Ctrl-C: recorded as interrupted (as failed by earlier builds),
		// with the cancellation's error.
		"the last run was cancelled":                               cancelled,
		"the last run was cancelled, recorded by an earlier build": cancelled,
		"keep a reject under another reason, the summary made to agree": func(t *testing.T, res *reconcile.Result) {
			if f := failures(res); len(f) != 1 || !strings.Contains(f[0], "holds the same keys, but not all under the ledger's reasons") {
				t.Errorf("failures %q, want the one ledger mismatch of reasons", f)
			}
		},
		"a ledger entry swapped for one the data never had": func(t *testing.T, res *reconcile.Result) {
			// Nothing else sees it: the counts agree.
			if f := failures(res); len(f) != 1 || !strings.Contains(f[0], "as many, but not the same keys") {
				t.Errorf("failures %q, want the one ledger mismatch of equal counts", f)
			}
		},
		"a row claimed twice, another by none": func(t *testing.T, res *reconcile.Result) {
			// Each row counted once: the row claimed twice is one loaded row.
			i := slices.IndexFunc(res.Targets, func(c reconcile.TargetCheck) bool { return c.Table == "habits" })
			if i < 0 {
				t.Fatal("no target check of habits")
			}
			c := res.Targets[i]
			if c.Unexplained != 1 || c.Missing != 0 || c.Folded != 0 || c.Loaded+c.Seeds+1 != c.Rows || c.Holds {
				t.Errorf("habits: %+v, want one unexplained row and every other row loaded or a seed", c)
			}
		},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			src, dst := finishedDB(t, genOptions)
			want := tc.tamper(t, dst)
			res := verify(t, src, dst)
			if res.OK() {
				t.Fatal("verify holds after the target was tampered with")
			}
			for _, w := range want {
				found := slices.ContainsFunc(res.Findings, func(f reconcile.Finding) bool {
					return f.Severity == reconcile.Failure && f.Check == w.check && f.Kind == w.kind && f.Table == w.table &&
						(w.key == "" || f.Key == w.key) && (w.columns == nil || slices.Equal(f.Columns, w.columns))
				})
				if !found {
					t.Errorf("no %s/%s finding for %s %s %v; failures:\n%s", w.check, w.kind, w.table, w.key, w.columns, strings.Join(failures(res), "\n"))
				}
			}
			if f := also[tc.name]; f != nil {
				f(t, res)
			}
			for _, f := range res.Findings {
				if strings.Contains(f.Message, "tampered-token-value") || strings.Contains(f.Key, "tampered-token-value") {
					t.Errorf("a finding shows a secret: %+v", f)
				}
			}
		})
	}
}

// swapInOneBucket swaps the values of column col (user_id, title) of two
// loaded ideas whose keys the bisector's first level puts in one bucket
// (the first 4 bits of the key's hash), and returns the findings that
// must name both.
func swapInOneBucket(t *testing.T, dst, col string) []wantFinding {
	t.Helper()
	c := pgx.Identifier{col}.Sanitize()
	pair := queryString(t, dst, `SELECT a.id::text || ' ' || b.id::text FROM ideas a JOIN ideas b ON a.id < b.id AND a.`+c+` <> b.`+c+`
		AND (pg_catalog.hashtextextended(a.id::text, 0) >> 60) = (pg_catalog.hashtextextended(b.id::text, 0) >> 60)
		ORDER BY a.id, b.id LIMIT 1`)
	a, b, ok := strings.Cut(pair, " ")
	if !ok {
		t.Fatalf("no two ideas in one bucket: %q", pair)
	}
	exec(t, dst, `UPDATE ideas i SET `+c+` = o.`+c+` FROM ideas o
		WHERE (i.id, o.id) IN (('`+a+`'::uuid, '`+b+`'::uuid), ('`+b+`'::uuid, '`+a+`'::uuid))`)
	return []wantFinding{
		{check: reconcile.CheckContent, kind: reconcile.KindChangedRow, table: "ideas", key: a, columns: []string{col}},
		{check: reconcile.CheckContent, kind: reconcile.KindChangedRow, table: "ideas", key: b, columns: []string{col}},
	}
}

// TestVerifyOtherFlavors: the older flavors (other shapes of market_items,
// user_wallet and focus_pause_state) verify too, and so does a source
// without the drift tables (whose mappings read other mappings' decisions:
// without them the run builds no index for those reads).
func TestVerifyOtherFlavors(t *testing.T) {
	t.Parallel()
	for _, c := range []struct {
		name, flavor string
		drift        bool
	}{{"v16", "v16", true}, {"v15", "v15", true}, {"v21 without drift tables", "v21", false},
		{"v16 without drift tables", "v16", false}, {"v15 without drift tables", "v15", false}} {
		t.Run(c.name, func(t *testing.T) {
			t.Parallel()
			o := legacygen.Options{Flavor: c.flavor, Drift: c.drift, Anomalies: true, Users: 24, Seed: 3}
			src, dst := finishedDB(t, o)
			res := verify(t, src, dst)
			if !res.OK() {
				t.Fatalf("verify of an untouched %s cutover fails:\n%s", c.name, strings.Join(failures(res), "\n"))
			}
			if res.Flavor != c.flavor {
				t.Errorf("flavor %q, want %q", res.Flavor, c.flavor)
			}
			drifted := slices.ContainsFunc(res.Tables, func(tc reconcile.TableCheck) bool { return tc.Legacy == "habit_logs" })
			if drifted != c.drift {
				t.Errorf("habit_logs verified: %v, want %v", drifted, c.drift)
			}
		})
	}
}

// TestVerifyAgainstAnotherFlavor: a target loaded from a v21 source,
// verified against a v16 one (the wrong URL), fails first on that: the
// finding names both flavors and the database the run read.
func TestVerifyAgainstAnotherFlavor(t *testing.T) {
	t.Parallel()
	_, dst := finishedDB(t, genOptions)
	other := legacyDB(t, legacygen.Options{Flavor: "v16", Drift: true, Anomalies: true, Users: 24, Seed: 3})
	res := verify(t, other, dst)
	var found []string
	for _, f := range res.Findings {
		if f.Kind == reconcile.KindOtherSource {
			found = append(found, f.Message)
		}
	}
	if len(found) != 1 || res.OK() || !strings.Contains(found[0], "loaded a legacy v21 database") || !strings.Contains(found[0], "this source is legacy v16") {
		t.Errorf("verify against another flavor: OK %v, other-source findings %q", res.OK(), found)
	}
	src, _ := finishedDB(t, genOptions)
	for _, f := range verify(t, src, dst).Findings {
		if f.Kind == reconcile.KindOtherSource {
			t.Errorf("verify against the source's flavor: %s", f.Message)
		}
	}
}

// TestVerifySaysWhenTheSourceIsAnotherDatabase: verify against the very
// database a run read notes nothing of its source. Against a copy of it (a
// database created anew, with the same rows) it verifies all the same,
// and notes for information that the source is not the database that run
// read, naming it.
func TestVerifySaysWhenTheSourceIsAnotherDatabase(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	src, copied := legacyDB(t, genOptions), legacyDB(t, genOptions)
	dst := testkit.MigratedTarget(t)
	if _, err := load.Run(ctx, load.Config{SourceURL: src, TargetURL: dst, MaxRejects: -1, Workers: 2}); err != nil {
		t.Fatal(err)
	}
	notes := func(res *reconcile.Result) []string {
		var out []string
		for _, f := range res.Findings {
			if f.Kind == reconcile.KindOtherDatabase {
				out = append(out, fmt.Sprintf("%s %s: %s", f.Severity, f.Check, f.Message))
			}
		}
		return out
	}
	if res := verify(t, src, dst); !res.OK() || len(notes(res)) != 0 {
		t.Errorf("verify against the database the run read: OK %v, notes %q", res.OK(), notes(res))
	}
	res := verify(t, copied, dst)
	want := fmt.Sprintf("info source: the source %s is not the database run 1 read (%s; the run started ", dburl.Describe(copied), dburl.Describe(src))
	if got := notes(res); !res.OK() || len(got) != 1 || !strings.HasPrefix(got[0], want) || !strings.HasSuffix(got[0], "a restore of the rows that run read verifies, and other rows show as differences") {
		t.Errorf("verify against a copy of the database the run read: OK %v, notes %q; want one starting %q\nfailures:\n%s", res.OK(), got, want, strings.Join(failures(res), "\n"))
	}
}

// TestVerifyWithoutRun: a target no run wrote to cannot be verified,
// whether it has the schema or not; the error says what comes first.
func TestVerifyWithoutRun(t *testing.T) {
	t.Parallel()
	src, bare, migrated := legacyDB(t, genOptions), pgtest.NewDB(t), pgtest.NewDB(t)
	if _, err := migrations.Apply(context.Background(), migrated, nil); err != nil {
		t.Fatal(err)
	}
	for _, dst := range []string{migrated, bare} {
		res, err := reconcile.Verify(context.Background(), reconcile.Config{SourceURL: src, TargetURL: dst})
		if !errors.Is(err, reconcile.ErrNoBookkeeping) || !strings.Contains(err.Error(), "`cutover schema apply`") {
			t.Fatalf("verify of a target no run wrote to: %v, %v; want ErrNoBookkeeping, naming schema apply", res, err)
		}
	}
}

// TestVerifyCallsOnlyTheServersFunctions: functions, aggregates and
// operators in public named like those verify calls, of argument types
// that match its calls more closely than the server's own do (a bare 0
// is an integer where the server's hashes take a bigint seed;
// to_jsonb(users) over to_jsonb(anyelement); text || uuid over
// anynonarray || text), would be chosen over the server's: whoever may
// create them in either database could make verify pass a tampered
// target (two reviews did). Each here raises; verify calls none of them,
// and finds the cutover sound.
func TestVerifyCallsOnlyTheServersFunctions(t *testing.T) {
	t.Parallel()
	src, dst := finishedDB(t, genOptions)
	raise := func(name string) string {
		return `LANGUAGE plpgsql AS $$BEGIN RAISE EXCEPTION 'verify called public.` + name + `'; END$$`
	}
	for _, u := range []string{src, dst} {
		exec(t, u, `CREATE FUNCTION public.hashtextextended(t text, seed integer) RETURNS bigint `+raise("hashtextextended"),
			`CREATE FUNCTION public.hash_record_extended(r record, seed integer) RETURNS bigint `+raise("hash_record_extended"),
			`CREATE FUNCTION public.uuid_hash_extended(u uuid, seed integer) RETURNS bigint `+raise("uuid_hash_extended"),
			`CREATE FUNCTION public.to_jsonb(r public.users) RETURNS jsonb `+raise("to_jsonb"),
			`CREATE FUNCTION public.zz_agg(s text[], v text) RETURNS text[] `+raise("array_agg"),
			`CREATE AGGREGATE public.array_agg(text) (sfunc = public.zz_agg, stype = text[])`,
			`CREATE FUNCTION public.zz_cat(a text, b uuid) RETURNS text `+raise("||"),
			`CREATE OPERATOR public.|| (leftarg = text, rightarg = uuid, function = public.zz_cat)`)
	}
	if res := verify(t, src, dst); !res.OK() {
		t.Errorf("verify beside look-alike functions: %v", failures(res))
	}
}

// TestVerifyKeysOfANondeterministicCollation: a legacy key column of a
// case-insensitive (nondeterministic) collation hashed, on the source, as
// its collation does, so that every key seemed another in the ledger's
// "C" text and was "accounted for more than once" (a review). Verify
// reads legacy keys in the "C" collation.
func TestVerifyKeysOfANondeterministicCollation(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	src := legacyDB(t, genOptions)
	exec(t, src, `CREATE COLLATION public.case_insensitive (provider = icu, locale = 'und-u-ks-level2', deterministic = false)`,
		`ALTER TABLE verification_tokens ALTER COLUMN identifier TYPE text COLLATE public.case_insensitive`)
	if n := queryString(t, src, `SELECT count(*)::text FROM verification_tokens`); n == "0" {
		t.Fatal("no verification tokens: the test would compare nothing")
	}
	dst := pgtest.NewDB(t)
	if _, err := migrations.Apply(ctx, dst, nil); err != nil {
		t.Fatal(err)
	}
	if sum, err := load.Run(ctx, load.Config{SourceURL: src, TargetURL: dst, MaxRejects: -1, Workers: 2}); err != nil || !sum.OK() {
		t.Fatalf("run: %v", err)
	}
	if res := verify(t, src, dst); !res.OK() {
		t.Errorf("verify of keys of a nondeterministic collation:\n%s", strings.Join(failures(res), "\n"))
	}
}

// TestVerifyNamesADroppedTargetTable: a target table dropped after the run
// stops verify with an error that names it and says which side lacks it
// (it said "table user_references or user_references is missing").
func TestVerifyNamesADroppedTargetTable(t *testing.T) {
	t.Parallel()
	src, dst := finishedDB(t, genOptions)
	exec(t, dst, `DROP TABLE user_references CASCADE`)
	_, err := reconcile.Verify(context.Background(), reconcile.Config{SourceURL: src, TargetURL: dst, Workers: 2})
	if want := "the target has no table user_references, which the migrations make: it was dropped or renamed since"; err == nil || !strings.Contains(err.Error(), want) {
		t.Errorf("verify of a target without user_references: %v, want it to say %q", err, want)
	}
}

// TestVerifySaysWhatNoRecordNames: the batch records of a legacy table
// deleted after the run left verify nothing to compare the source with,
// and it passed, a changed source included (a review). Batches of the
// source that no record names fail it, as status tells a re-run.
func TestVerifySaysWhatNoRecordNames(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	src, dst := finishedDB(t, genOptions)
	cfg := load.Config{SourceURL: src, TargetURL: dst, Workers: 2}
	check := func(ctx context.Context) (string, error) { return load.SourceChanges(ctx, cfg) }
	exec(t, src, `UPDATE user_rewards SET claimed = NOT claimed WHERE id = (SELECT id FROM user_rewards ORDER BY id LIMIT 1)`)
	exec(t, dst, `DELETE FROM cutover.batches WHERE legacy_table = 'user_rewards'`)
	res, err := reconcile.Verify(ctx, reconcile.Config{SourceURL: src, TargetURL: dst, Workers: 2, SourceChanged: check})
	if err != nil {
		t.Fatal(err)
	}
	want := "1 batch of 1 legacy table has no record of being read (user_rewards: a table that grew or appeared since, or whose records were deleted)"
	i := slices.IndexFunc(res.Findings, func(f reconcile.Finding) bool { return f.Kind == reconcile.KindSourceChanged })
	if res.OK() || i < 0 || res.Findings[i].Severity != reconcile.Failure || !strings.Contains(res.Findings[i].Message, want) {
		t.Errorf("verify without user_rewards' batch records: %v, want a failure saying %q", failures(res), want)
	}
	st, err := load.Status(ctx, cfg)
	if err != nil {
		t.Fatal(err)
	}
	if want := "1 batch of 1 table in the source has no record of run 1 (user_rewards: "; st.Next.Action != "update" || !strings.Contains(st.Next.Message, want) {
		t.Errorf("status: next %q %q, want an update saying %q", st.Next.Action, st.Next.Message, want)
	}
	// A changed batch beside them: status names both.
	exec(t, src, `UPDATE books SET title = title || ' (2nd ed.)' WHERE id = (SELECT id FROM books ORDER BY id LIMIT 1)`)
	if st, err = load.Status(ctx, cfg); err != nil {
		t.Fatal(err)
	}
	if want := "1 batch of 1 table changed in the source since run 1 (books), and 1 batch of 1 table has no record of that run (user_rewards: a table that grew or appeared since, or whose records were deleted): "; !strings.Contains(st.Next.Message, want) {
		t.Errorf("status: next %q, want it to say %q", st.Next.Message, want)
	}
}

// TestVerifySaysTheSourceChanged: a source changed after the run where no
// compared column shows it (a folded reward's claimed flag, which decides
// whether it is folded) left every check of the target equal, and verify
// passed a target a re-run would change (a review). With SourceChanged
// (as the command sets it), verify fails, naming the table; an unchanged
// source passes.
func TestVerifySaysTheSourceChanged(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	src, dst := finishedDB(t, genOptions)
	check := func(ctx context.Context) (string, error) {
		return load.SourceChanges(ctx, load.Config{SourceURL: src, TargetURL: dst, Workers: 2})
	}
	res, err := reconcile.Verify(ctx, reconcile.Config{SourceURL: src, TargetURL: dst, Workers: 2, SourceChanged: check})
	if err != nil || !res.OK() {
		t.Fatalf("verify of an unchanged source: %v %v", err, failures(res))
	}
	exec(t, src, `UPDATE user_rewards SET claimed = NOT claimed WHERE id = (SELECT id FROM user_rewards ORDER BY id LIMIT 1)`)
	res, err = reconcile.Verify(ctx, reconcile.Config{SourceURL: src, TargetURL: dst, Workers: 2, SourceChanged: check})
	if err != nil {
		t.Fatal(err)
	}
	i := slices.IndexFunc(res.Findings, func(f reconcile.Finding) bool { return f.Kind == reconcile.KindSourceChanged })
	if res.OK() || i < 0 || res.Findings[i].Severity != reconcile.Failure ||
		!strings.Contains(res.Findings[i].Message, "1 batch of 1 legacy table changed (user_rewards)") ||
		strings.Contains(res.Findings[i].Message, "no record") || // a changed batch is no unrecorded one
		!strings.Contains(res.Findings[i].Message, "a re-run (`cutover run`) writes the difference") {
		t.Errorf("verify after a change of the source: %v", failures(res))
	}
	// Sealed, the target refuses runs: the advice says so.
	if _, err := load.SealTarget(ctx, dst); err != nil {
		t.Fatal(err)
	}
	res, err = reconcile.Verify(ctx, reconcile.Config{SourceURL: src, TargetURL: dst, Workers: 2, SourceChanged: check})
	if err != nil {
		t.Fatal(err)
	}
	if i := slices.IndexFunc(res.Findings, func(f reconcile.Finding) bool { return f.Kind == reconcile.KindSourceChanged }); i < 0 ||
		!strings.Contains(res.Findings[i].Message, "the target is sealed (it went live), so a run refuses it: `cutover seal --undo` first") {
		t.Errorf("verify of a sealed target after a change of the source: %v", failures(res))
	}
}

// TestVerifyRowWithoutALedgerEntry: a target row whose ledger entry is
// gone is unexplained, and no content difference of its id is made up
// (a review found "id: legacy …, target NULL" for it).
func TestVerifyRowWithoutALedgerEntry(t *testing.T) {
	t.Parallel()
	src, dst := finishedDB(t, genOptions)
	id := queryString(t, dst, `SELECT target_id::text FROM cutover.dispositions WHERE legacy_table = 'books' AND disposition = 'loaded' ORDER BY legacy_key LIMIT 1`)
	exec(t, dst, `DELETE FROM cutover.dispositions WHERE legacy_table = 'books' AND target_id = '`+id+`'`)
	res := verify(t, src, dst)
	if res.OK() {
		t.Fatal("verify holds without a ledger entry")
	}
	for _, f := range res.Findings {
		if f.Kind == reconcile.KindChangedRow && slices.Contains(f.Columns, "id") {
			t.Errorf("a made-up difference of the id: %+v", f)
		}
	}
}

// TestVerifyCountsWhatItDoesNotList: 30 rows changed by hand, listed 5
// (Samples): the verification counts all 30 failures, and its summary
// says 30 must be resolved, 5 listed (it said 5: an operator fixed them
// and found the rest at the next verification).
func TestVerifyCountsWhatItDoesNotList(t *testing.T) {
	t.Parallel()
	src, dst := finishedDB(t, genOptions)
	exec(t, dst, `UPDATE habits SET name = name || '!' WHERE id IN (SELECT id FROM habits ORDER BY id LIMIT 30)`)
	res, err := reconcile.Verify(context.Background(), reconcile.Config{SourceURL: src, TargetURL: dst, Workers: 2, Samples: 5})
	if err != nil {
		t.Fatal(err)
	}
	listed := 0
	for _, f := range res.Findings {
		if f.Kind == reconcile.KindChangedRow && f.Table == "habits" {
			listed++
		}
	}
	if listed != 5 || res.Failures() != 30 || res.Unlisted[reconcile.Failure] != 25 {
		t.Errorf("%d changed habits listed, %d failures, %d unlisted; want 5, 30 and 25", listed, res.Failures(), res.Unlisted[reconcile.Failure])
	}
	var text strings.Builder
	if err := report.WriteText(&text, report.FromVerify(res, report.Options{}), 25); err != nil {
		t.Fatal(err)
	}
	for _, want := range []string{"FINDINGS (30 (5 listed) failing", "verify: FAILED, 30 (5 listed) finding(s) must be resolved"} {
		if !strings.Contains(text.String(), want) {
			t.Errorf("the summary lacks %q:\n%s", want, text.String())
		}
	}
}

// TestVerifyCountsRowsItDoesNotFetch: checks that fetch only Samples of
// what they find (rows no ledger entry explains, orphans, …) count the
// rest too: 30 rows added by hand are 30 unexplained rows, 5 listed, and
// 30 extra rows of the content check.
func TestVerifyCountsRowsItDoesNotFetch(t *testing.T) {
	t.Parallel()
	src, dst := finishedDB(t, genOptions)
	exec(t, dst, `INSERT INTO habits SELECT (jsonb_populate_record(h, jsonb_build_object('id', gen_random_uuid()))).* FROM habits h ORDER BY id LIMIT 30`)
	res, err := reconcile.Verify(context.Background(), reconcile.Config{SourceURL: src, TargetURL: dst, Workers: 2, Samples: 5})
	if err != nil {
		t.Fatal(err)
	}
	var unexplained *reconcile.TargetCheck
	for i, c := range res.Targets {
		if c.Table == "habits" {
			unexplained = &res.Targets[i]
		}
	}
	if unexplained == nil || unexplained.Unexplained != 30 {
		t.Fatalf("habits' target check: %+v, want 30 unexplained rows", unexplained)
	}
	if got := res.Failures(); got != 60 {
		t.Errorf("%d failures (%d unlisted): %v; want the 30 unexplained and the 30 extra rows", got, res.Unlisted[reconcile.Failure], failures(res))
	}
}
