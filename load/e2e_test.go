package load_test

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"net/url"
	"regexp"
	"slices"
	"sort"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"
	"github.com/jackc/pgx/v5"

	"github.com/cutover/cutover/extract"
	"github.com/cutover/cutover/internal/dburl"
	"github.com/cutover/cutover/internal/legacygen"
	"github.com/cutover/cutover/internal/pgtest"
	"github.com/cutover/cutover/internal/testkit"
	"github.com/cutover/cutover/load"
	"github.com/cutover/cutover/mappings"
	"github.com/cutover/cutover/migrations"
	"github.com/cutover/cutover/reconcile"
)

var (
	manifestsMu sync.Mutex
	manifests   = map[string]*legacygen.Manifest{}
)

// generated returns a fresh legacy database of flavor, with drift tables
// and every anomaly, and its manifest.
func generated(t *testing.T, flavor string) (string, *legacygen.Manifest) {
	t.Helper()
	name := "gen_" + flavor
	u := pgtest.NewDBFrom(t, name, func(ctx context.Context, url string) error {
		m, err := legacygen.Generate(ctx, url, legacygen.Options{Flavor: flavor, Drift: true, Anomalies: true, Users: 60, Seed: 11})
		manifestsMu.Lock()
		manifests[name] = m
		manifestsMu.Unlock()
		return err
	})
	manifestsMu.Lock()
	defer manifestsMu.Unlock()
	return u, manifests[name]
}

var (
	connsMu sync.Mutex
	conns   = map[string]*pgx.Conn{}
)

// query runs sql on a connection kept per test and URL; the caller must
// consume the rows before the next query.
func query(t *testing.T, ctx context.Context, connURL, sql string, args ...any) pgx.Rows {
	t.Helper()
	k := t.Name() + "|" + connURL
	connsMu.Lock()
	conn := conns[k]
	connsMu.Unlock()
	if conn == nil {
		var err error
		if conn, err = pgx.Connect(ctx, connURL); err != nil {
			t.Fatal(err)
		}
		connsMu.Lock()
		conns[k] = conn
		connsMu.Unlock()
		t.Cleanup(func() {
			connsMu.Lock()
			delete(conns, k)
			connsMu.Unlock()
			conn.Close(context.Background())
		})
	}
	rows, err := conn.Query(ctx, sql, args...)
	if err != nil {
		t.Fatalf("%s: %v", sql, err)
	}
	return rows
}

func scalar[T any](t *testing.T, ctx context.Context, connURL, sql string, args ...any) T {
	t.Helper()
	rows := query(t, ctx, connURL, sql, args...)
	v, err := pgx.CollectExactlyOneRow(rows, pgx.RowTo[T])
	if err != nil {
		t.Fatalf("%s: %v", sql, err)
	}
	return v
}

// tableChecksums renders every public table of a database as one md5 each.
func tableChecksums(t *testing.T, ctx context.Context, connURL string) map[string]string {
	t.Helper()
	return tableDigests(t, ctx, connURL, "x::text")
}

// tableDigests renders every public table of a database as one md5 of
// its rows x, each rendered by SQL expression row (which may read args).
func tableDigests(t *testing.T, ctx context.Context, connURL, row string, args ...any) map[string]string {
	t.Helper()
	names, err := pgx.CollectRows(query(t, ctx, connURL, `SELECT relname FROM pg_class
		WHERE relnamespace = 'public'::regnamespace AND relkind = 'r' ORDER BY 1`), pgx.RowTo[string])
	if err != nil {
		t.Fatal(err)
	}
	out := map[string]string{}
	for _, n := range names {
		out[n] = scalar[string](t, ctx, connURL, fmt.Sprintf(
			`SELECT coalesce(md5(string_agg(r, ',' ORDER BY r)), '') FROM (SELECT %s AS r FROM public.%s x) rows`, row, pgx.Identifier{n}.Sanitize()), args...)
	}
	return out
}

// TestCutoverEveryFlavor is issue 4's proof on generated data with drift
// tables and every anomaly, for each flavor.
func TestCutoverEveryFlavor(t *testing.T) {
	for _, flavor := range []string{"v21", "v16", "v15"} {
		t.Run(flavor, func(t *testing.T) {
			t.Parallel()
			ctx := context.Background()
			src, man := generated(t, flavor)
			dst := testkit.MigratedTarget(t)
			before := tableChecksums(t, ctx, src)
			indexesBefore := indexOIDs(t, ctx, dst)
			sum, err := load.Run(ctx, load.Config{SourceURL: testkit.ReadOnlyURL(t, ctx, src), TargetURL: dst, MaxRejects: -1, Workers: 2})
			if err != nil {
				t.Fatal(err)
			}
			if d := cmp.Diff(before, tableChecksums(t, ctx, src)); d != "" {
				t.Errorf("the run changed the source (-before +after):\n%s", d)
			}
			t.Run("conservation", func(t *testing.T) { checkConservation(t, ctx, src, dst, sum) })
			t.Run("anomalies", func(t *testing.T) { checkAnomalies(t, ctx, dst, man) })
			t.Run("one_to_one", func(t *testing.T) { checkOneToOne(t, ctx, src, dst) })
			t.Run("folded_and_merged", func(t *testing.T) { checkFoldedMerged(t, ctx, src, dst, flavor) })
			t.Run("feed_order", func(t *testing.T) { checkFeedOrder(t, ctx, dst) })
			t.Run("tenancy", func(t *testing.T) { checkTenancy(t, ctx, dst) })
			t.Run("schema", func(t *testing.T) { checkSchemaKept(t, ctx, dst, indexesBefore) })
			t.Run("statistics", func(t *testing.T) { testkit.CheckAnalyzed(t, dst) })
			t.Run("kept_statistics", func(t *testing.T) { checkKeptStatistics(t, ctx, dst) })
			t.Run("column_loss", func(t *testing.T) { checkColumnLoss(t, ctx, src, dst, sum) })
		})
	}
}

// checkColumnLoss checks the run's count of each dropped column's values
// (MAPPING.md fine print 10): the source rows holding a value that the
// ledger says loaded, and no count of another column.
func checkColumnLoss(t *testing.T, ctx context.Context, src, dst string, sum *load.Summary) {
	t.Helper()
	byName := map[string]mappings.Mapping{}
	for _, m := range mappings.All() {
		byName[m.Name()] = m
	}
	var want []load.ColumnLoss
	for _, r := range sum.Tables {
		m := byName[r.Mapping]
		for _, c := range m.DroppedColumns {
			holding := scalarList(t, ctx, src, `SELECT id::text FROM `+m.Legacy+` WHERE `+c+` IS NOT NULL`)
			n := scalar[int64](t, ctx, dst, `SELECT count(*) FROM cutover.dispositions WHERE legacy_table = $1 AND disposition = $2 AND legacy_key = ANY($3)`,
				m.Legacy, string(m.Disposition()), holding)
			want = append(want, load.ColumnLoss{Mapping: m.Name(), Column: c, NonNull: n})
		}
	}
	if !slices.ContainsFunc(want, func(c load.ColumnLoss) bool { return c.NonNull > 0 }) {
		t.Fatalf("no dropped column holds a value in a loaded row (%+v): this check checks nothing", want)
	}
	sortLoss := func(a, b load.ColumnLoss) int { return strings.Compare(a.Mapping+"."+a.Column, b.Mapping+"."+b.Column) }
	got := slices.Clone(sum.ColumnLoss)
	slices.SortFunc(got, sortLoss)
	slices.SortFunc(want, sortLoss)
	if d := cmp.Diff(want, got); d != "" {
		t.Errorf("column loss (-want +got):\n%s", d)
	}
}

// checkKeptStatistics checks that each table of kept rows (rejects,
// archive, discards) that holds rows was analyzed by the run (last_analyze
// is a manual ANALYZE's, never autovacuum's), with statistics of the key
// its re-run joins read: a re-run soon after a first load would otherwise
// plan them as a few rows.
func checkKeptStatistics(t *testing.T, ctx context.Context, dst string) {
	t.Helper()
	var withRows int
	for _, table := range []string{"rejects", "archive", "discards"} {
		if !scalar[bool](t, ctx, dst, `SELECT EXISTS (SELECT 1 FROM cutover.`+table+`)`) {
			continue
		}
		withRows++
		if !scalar[bool](t, ctx, dst, `SELECT last_analyze IS NOT NULL FROM pg_stat_user_tables WHERE schemaname = 'cutover' AND relname = $1`, table) {
			t.Errorf("cutover.%s holds rows and the run did not analyze it", table)
		}
		if !scalar[bool](t, ctx, dst, `SELECT EXISTS (SELECT 1 FROM pg_stats WHERE schemaname = 'cutover' AND tablename = $1 AND attname = 'legacy_key')`, table) {
			t.Errorf("cutover.%s holds rows and has no statistics of legacy_key", table)
		}
	}
	if withRows == 0 {
		t.Fatal("no table of kept rows holds rows: this check checks nothing")
	}
}

// checkLedgerIndexes checks that exactly the ledger partitions decide looks
// claims up in by target row (mappings.ClaimLookups) have an index on
// target_id.
func checkLedgerIndexes(t *testing.T, ctx context.Context, dst string) {
	t.Helper()
	var lookups []string
	for _, l := range mappings.ClaimLookups(mappings.All()) {
		if scalar[bool](t, ctx, dst, `SELECT to_regclass('cutover.' || quote_ident('dispositions_' || $1)) IS NOT NULL`, l) {
			lookups = append(lookups, "dispositions_"+l)
		}
	}
	byTarget := scalarList(t, ctx, dst, `SELECT c.relname::text FROM pg_inherits i JOIN pg_class c ON c.oid = i.inhrelid
		WHERE i.inhparent = 'cutover.dispositions'::regclass
		AND EXISTS (SELECT 1 FROM pg_indexes x WHERE x.schemaname = 'cutover' AND x.tablename = c.relname AND x.indexdef LIKE '%(target_id)')
		ORDER BY 1`)
	if len(lookups) == 0 {
		t.Fatal("no legacy table of the claim lookups has a ledger partition: this check checks nothing")
	}
	if d := cmp.Diff(lookups, byTarget); d != "" {
		t.Errorf("ledger partitions indexed by target row (-want +got):\n%s", d)
	}
}

// checkLedgerStatistics checks that every ledger partition holding rows has
// planner statistics of its own: a re-run's removals join each partition
// with the decisions, and without statistics the planner takes it for one
// row and loops over both tables.
func checkLedgerStatistics(t *testing.T, ctx context.Context, dst string) {
	t.Helper()
	parts := scalarList(t, ctx, dst, `SELECT c.relname::text FROM pg_inherits i JOIN pg_class c ON c.oid = i.inhrelid
		WHERE i.inhparent = 'cutover.dispositions'::regclass ORDER BY 1`)
	var withRows int
	for _, p := range parts {
		if !scalar[bool](t, ctx, dst, `SELECT EXISTS (SELECT 1 FROM cutover.`+pgx.Identifier{p}.Sanitize()+`)`) {
			continue
		}
		withRows++
		if !scalar[bool](t, ctx, dst, `SELECT EXISTS (SELECT 1 FROM pg_stats WHERE schemaname = 'cutover' AND tablename = $1 AND attname = 'disposition')`, p) {
			t.Errorf("ledger partition %s holds rows but has no statistics", p)
		}
	}
	if withRows == 0 {
		t.Fatal("no ledger partition holds rows: this check checks nothing")
	}
}

// catalogSQL lists the public schema's indexes and constraints by name and
// definition.
const catalogSQL = `SELECT 'index ' || c.relname || ': ' || pg_get_indexdef(i.indexrelid)
	FROM pg_index i JOIN pg_class c ON c.oid = i.indexrelid WHERE c.relnamespace = 'public'::regnamespace
	UNION ALL
	SELECT 'constraint ' || conrelid::regclass::text || '.' || conname || ': ' || pg_get_constraintdef(oid) ||
		CASE WHEN convalidated THEN '' ELSE ' NOT VALID' END
	FROM pg_constraint WHERE connamespace = 'public'::regnamespace
	ORDER BY 1`

func indexOIDs(t *testing.T, ctx context.Context, dst string) map[string]uint32 {
	t.Helper()
	rows := query(t, ctx, dst, `SELECT c.relname, c.oid FROM pg_index i JOIN pg_class c ON c.oid = i.indexrelid
		WHERE c.relnamespace = 'public'::regnamespace`)
	out := map[string]uint32{}
	for rows.Next() {
		var name string
		var oid uint32
		if err := rows.Scan(&name, &oid); err != nil {
			t.Fatal(err)
		}
		out[name] = oid
	}
	if err := rows.Err(); err != nil {
		t.Fatal(err)
	}
	return out
}

// checkSchemaKept checks that the bulk load, which drops the indexes of
// empty target tables and builds them after the rows, leaves every index
// and constraint as the migrations made them, and that it did rebuild the
// indexes it may (a table no foreign key points at) and only those.
func checkSchemaKept(t *testing.T, ctx context.Context, dst string, before map[string]uint32) {
	fresh := testkit.MigratedTarget(t)
	if d := cmp.Diff(scalarList(t, ctx, fresh, catalogSQL), scalarList(t, ctx, dst, catalogSQL)); d != "" {
		t.Errorf("indexes and constraints after the run differ from the migrations' (-migrations +after run):\n%s", d)
	}
	after := indexOIDs(t, ctx, dst)
	for _, c := range []struct {
		index   string
		rebuilt bool
	}{
		{"idx_habit_completions_user_id", true}, // a plain index
		{"habit_completions_pkey", true},        // a primary key nothing references
		{"idx_exercise_sets_session_id", true},
		{"users_pkey", false}, // referenced by foreign keys
		{"habits_pkey", false},
	} {
		if got := after[c.index] != before[c.index]; got != c.rebuilt {
			t.Errorf("index %s rebuilt by the run = %v, want %v", c.index, got, c.rebuilt)
		}
	}
	// The ledger: one attached partition per legacy table, each with the
	// ledger's primary key (built when it was attached), and an index by
	// target row on exactly the partitions decide looks claims up in.
	tables := scalar[int64](t, ctx, dst, `SELECT count(DISTINCT legacy_table) FROM cutover.dispositions`)
	parts := scalar[int64](t, ctx, dst, `SELECT count(*) FROM pg_inherits WHERE inhparent = 'cutover.dispositions'::regclass`)
	keys := scalar[int64](t, ctx, dst, `SELECT count(*) FROM pg_inherits i JOIN pg_index x ON x.indrelid = i.inhrelid
		WHERE i.inhparent = 'cutover.dispositions'::regclass AND x.indisprimary`)
	if tables == 0 || parts != tables || keys != parts {
		t.Errorf("ledger: %d legacy tables, %d partitions, %d with a primary key; want one partition per table, each with one", tables, parts, keys)
	}
	checkLedgerIndexes(t, ctx, dst)
	checkLedgerStatistics(t, ctx, dst)
}

func checkConservation(t *testing.T, ctx context.Context, src, dst string, sum *load.Summary) {
	if !sum.OK() {
		t.Errorf("conservation law fails: %+v", sum.Tables)
	}
	for _, r := range sum.Tables {
		n := scalar[int64](t, ctx, src, "SELECT count(*) FROM public."+pgx.Identifier{r.Legacy}.Sanitize())
		if r.Source != n {
			t.Errorf("%s: summary counts %d source rows, the source holds %d", r.Legacy, r.Source, n)
		}
		led := scalar[int64](t, ctx, dst, "SELECT count(*) FROM cutover.dispositions WHERE legacy_table = $1", r.Legacy)
		if led != n {
			t.Errorf("%s: %d legacy rows, %d in the disposition ledger", r.Legacy, n, led)
		}
	}
}

func checkAnomalies(t *testing.T, ctx context.Context, dst string, man *legacygen.Manifest) {
	if len(man.Anomalies) == 0 {
		t.Fatal("the manifest lists no anomaly")
	}
	type got struct{ disp, reason string }
	ledger := map[[2]string]got{}
	rows := query(t, ctx, dst, `SELECT legacy_table, legacy_key, disposition, coalesce(reason, '') FROM cutover.dispositions`)
	for rows.Next() {
		var tb, k string
		var g got
		if err := rows.Scan(&tb, &k, &g.disp, &g.reason); err != nil {
			t.Fatal(err)
		}
		ledger[[2]string{tb, k}] = g
	}
	if err := rows.Err(); err != nil {
		t.Fatal(err)
	}
	var wrong []string
	kinds := map[string]int{}
	for _, a := range man.Anomalies {
		kinds[a.Kind]++
		g, ok := ledger[[2]string{a.Table, a.Key}]
		switch {
		case !ok:
			wrong = append(wrong, fmt.Sprintf("%s %s (%s): not in the ledger", a.Table, a.Key, a.Kind))
		case g.disp != a.Disposition || (a.Reason != "" && g.reason != a.Reason):
			wrong = append(wrong, fmt.Sprintf("%s %s (%s): want %s/%s, got %s/%s", a.Table, a.Key, a.Kind, a.Disposition, a.Reason, g.disp, g.reason))
		}
	}
	sort.Strings(wrong)
	if len(wrong) > 0 {
		t.Errorf("%d of %d anomalies ended in another disposition:\n  %s", len(wrong), len(man.Anomalies), strings.Join(wrong, "\n  "))
	}
	t.Logf("%d anomalies of %d kinds checked", len(man.Anomalies), len(kinds))
}

// jsonRows reads rows as key → column → value (JSON-decoded).
func jsonRows(t *testing.T, ctx context.Context, connURL, sql string) map[string]map[string]any {
	t.Helper()
	out := map[string]map[string]any{}
	rows := query(t, ctx, connURL, sql)
	for rows.Next() {
		var k string
		var b []byte
		if err := rows.Scan(&k, &b); err != nil {
			t.Fatal(err)
		}
		var m map[string]any
		if err := json.Unmarshal(b, &m); err != nil {
			t.Fatal(err)
		}
		out[k] = m
	}
	if err := rows.Err(); err != nil {
		t.Fatal(err)
	}
	return out
}

// checkOneToOne compares every 1:1 table's loaded rows with the source
// rows, column by column, after re-pointing references.
func checkOneToOne(t *testing.T, ctx context.Context, src, dst string) {
	conn, err := pgx.Connect(ctx, src)
	if err != nil {
		t.Fatal(err)
	}
	source, err := extract.Detect(ctx, conn)
	conn.Close(ctx)
	if err != nil {
		t.Fatal(err)
	}
	ms, err := mappings.For(source.Shapes())
	if err != nil {
		t.Fatal(err)
	}
	// legacy table, legacy key -> disposition and target id
	type fate struct {
		disp string
		tid  *string
	}
	fates := map[string]map[string]fate{}
	rows := query(t, ctx, dst, `SELECT legacy_table, legacy_key, disposition, target_id::text FROM cutover.dispositions`)
	for rows.Next() {
		var tb, k string
		var f fate
		if err := rows.Scan(&tb, &k, &f.disp, &f.tid); err != nil {
			t.Fatal(err)
		}
		if fates[tb] == nil {
			fates[tb] = map[string]fate{}
		}
		fates[tb][k] = f
	}
	if err := rows.Err(); err != nil {
		t.Fatal(err)
	}
	repoint := func(parent string, v any) any {
		s, ok := v.(string)
		if !ok {
			return v
		}
		f, ok := fates[parent][s]
		if !ok || f.tid == nil || (f.disp != "loaded" && f.disp != "merged" && f.disp != "folded") {
			return nil
		}
		return *f.tid
	}
	checked := 0
	for _, m := range ms {
		if m.Target != m.Legacy || m.Disposition() != mappings.Loaded || len(m.Columns) > 0 || m.From != "" {
			continue
		}
		tgtCols := map[string]bool{}
		for _, c := range scalarList(t, ctx, dst, `SELECT attname FROM pg_attribute WHERE attrelid = $1::regclass AND attnum > 0 AND NOT attisdropped`, "public."+m.Target) {
			tgtCols[c] = true
		}
		var shared []string
		for _, c := range source.Table(m.Legacy).Columns {
			if tgtCols[c.Name] {
				shared = append(shared, c.Name)
			}
		}
		obj := func(alias string) string {
			parts := make([]string, len(shared))
			for i, c := range shared {
				parts[i] = fmt.Sprintf("'%s', %s.%s", c, alias, pgx.Identifier{c}.Sanitize())
			}
			return "jsonb_build_object(" + strings.Join(parts, ", ") + ")"
		}
		key := "x.id::text"
		if m.Legacy == "user_roles" {
			key = "x.user_id::text || ',' || x.role_id::text"
		}
		want := jsonRows(t, ctx, src, fmt.Sprintf("SELECT %s, %s FROM public.%s x", key, obj("x"), pgx.Identifier{m.Legacy}.Sanitize()))
		for k, row := range want {
			if fates[m.Legacy][k].disp != "loaded" {
				delete(want, k)
				continue
			}
			for _, r := range m.Refs {
				if r.ParentKey() == "id" {
					row[r.Column] = repoint(r.Parent, row[r.Column])
				}
			}
			if m.SelfRef != nil {
				row[m.SelfRef.Column] = repoint(m.Legacy, row[m.SelfRef.Column])
			}
		}
		got := jsonRows(t, ctx, dst, fmt.Sprintf("SELECT %s, %s FROM public.%s x", key, obj("x"), pgx.Identifier{m.Target}.Sanitize()))
		if m.Legacy == "user_roles" {
			// keys are re-pointed in the target: compare by the row's values
			got = rekey(got, []string{"user_id", "role_id"})
			want = rekey(want, []string{"user_id", "role_id"})
		}
		for k := range got {
			if _, ok := want[k]; !ok {
				delete(got, k) // seeds and rows of other mappings feeding the table
			}
		}
		if d := cmp.Diff(want, got); d != "" {
			t.Errorf("%s: loaded rows differ from the source (-source +target):\n%s", m.Legacy, d)
		}
		checked++
	}
	if checked < 40 {
		t.Errorf("only %d 1:1 tables compared", checked)
	}
}

func rekey(rows map[string]map[string]any, cols []string) map[string]map[string]any {
	out := map[string]map[string]any{}
	for _, r := range rows {
		parts := make([]string, len(cols))
		for i, c := range cols {
			parts[i] = fmt.Sprint(r[c])
		}
		out[strings.Join(parts, ",")] = r
	}
	return out
}

func scalarList(t *testing.T, ctx context.Context, connURL, sql string, args ...any) []string {
	t.Helper()
	out, err := pgx.CollectRows(query(t, ctx, connURL, sql, args...), pgx.RowTo[string])
	if err != nil {
		t.Fatal(err)
	}
	return out
}

func checkFoldedMerged(t *testing.T, ctx context.Context, src, dst, flavor string) {
	// activity_events → audit_log, same id (MAPPING.md).
	want := jsonRows(t, ctx, src, `SELECT id::text, jsonb_build_object('event_type', event_type, 'action', 'activity',
		'resource_type', category, 'status', 'success', 'created_at', created_at, 'user_id', user_id,
		'details', coalesce(metadata, '{}'::jsonb) || jsonb_build_object('xp_earned', xp_earned, 'coins_earned', coins_earned))
		FROM public.activity_events`)
	got := jsonRows(t, ctx, dst, `SELECT a.id::text, jsonb_build_object('event_type', event_type, 'action', action,
		'resource_type', resource_type, 'status', status, 'created_at', created_at, 'user_id', user_id, 'details', details)
		FROM public.audit_log a JOIN cutover.dispositions d ON d.legacy_table = 'activity_events' AND d.legacy_key = a.id::text
		WHERE d.disposition = 'folded'`)
	for k := range want {
		if _, ok := got[k]; !ok {
			delete(want, k) // rejected with its user
		}
	}
	if len(got) == 0 {
		t.Error("no activity event was folded")
	}
	if d := cmp.Diff(want, got); d != "" {
		t.Errorf("activity_events folded into audit_log (-want +got):\n%s", d)
	}
	// Catalog rows merged onto seeds: the seeded row keeps its id and takes
	// the legacy content.
	if n := scalar[int64](t, ctx, dst, `SELECT count(*) FROM cutover.dispositions d JOIN public.roles r ON r.id = d.target_id
		WHERE d.legacy_table = 'roles' AND d.disposition = 'merged'`); n != 3 {
		t.Errorf("%d legacy roles merged onto seeded roles, want 3", n)
	}
	legacyRoles := jsonRows(t, ctx, src, `SELECT name, jsonb_build_object('description', description) FROM public.roles`)
	targetRoles := jsonRows(t, ctx, dst, `SELECT name, jsonb_build_object('description', description) FROM public.roles`)
	if d := cmp.Diff(legacyRoles, targetRoles); d != "" {
		t.Errorf("merged roles do not carry the legacy content:\n%s", d)
	}
	if flavor != "v21" {
		return
	}
	// Claimed rewards → points_ledger (derived id), unclaimed → archive.
	want = jsonRows(t, ctx, src, `SELECT id::text, jsonb_build_object('user_id', user_id, 'event_type', 'reward',
		'reason', reward_type, 'coins', coins_earned, 'created_at', coalesce(claimed_at, created_at),
		'idempotency_key', 'legacy-reward:' || id) FROM public.user_rewards WHERE claimed`)
	got = jsonRows(t, ctx, dst, `SELECT d.legacy_key, jsonb_build_object('user_id', p.user_id, 'event_type', p.event_type,
		'reason', p.reason, 'coins', p.coins, 'created_at', p.created_at, 'idempotency_key', p.idempotency_key)
		FROM cutover.dispositions d JOIN public.points_ledger p ON p.id = d.target_id
		WHERE d.legacy_table = 'user_rewards' AND d.disposition = 'folded'`)
	for k := range want {
		if _, ok := got[k]; !ok {
			delete(want, k)
		}
	}
	if len(got) == 0 {
		t.Error("no reward was folded")
	}
	if d := cmp.Diff(want, got); d != "" {
		t.Errorf("claimed rewards folded into points_ledger (-want +got):\n%s", d)
	}
	if n := scalar[int64](t, ctx, dst, `SELECT count(*) FROM cutover.archive WHERE legacy_table = 'user_rewards'`); n != scalar[int64](t, ctx, src, `SELECT count(*) FROM public.user_rewards WHERE NOT claimed`) {
		t.Errorf("%d rewards archived, want every unclaimed one", n)
	}
	// v21 wallet renames.
	want = jsonRows(t, ctx, src, `SELECT id::text, jsonb_build_object('coins', total_coins, 'total_earned', earned_coins, 'total_spent', spent_coins) FROM public.user_wallet`)
	got = jsonRows(t, ctx, dst, `SELECT id::text, jsonb_build_object('coins', coins, 'total_earned', total_earned, 'total_spent', total_spent) FROM public.user_wallet`)
	for k := range want {
		if _, ok := got[k]; !ok {
			delete(want, k)
		}
	}
	if d := cmp.Diff(want, got); d != "" {
		t.Errorf("v21 wallets (-want +got):\n%s", d)
	}
	// v21 market keys are unique slugs; user_market_purchases land in user_purchases.
	if n := scalar[int64](t, ctx, dst, `SELECT count(*) FROM public.market_items WHERE key !~ '^[a-z0-9]+(-[a-z0-9]+)*$'`); n != 0 {
		t.Errorf("%d market item keys are not slugs", n)
	}
}

func checkFeedOrder(t *testing.T, ctx context.Context, dst string) {
	for _, table := range []string{"inbox_items", "user_quests"} {
		bad := scalar[int64](t, ctx, dst, fmt.Sprintf(`SELECT count(*) FROM (
			SELECT sort_order, row_number() OVER (PARTITION BY user_id ORDER BY created_at, id) - 1 AS want FROM public.%s) x
			WHERE sort_order <> want`, table))
		if bad != 0 {
			t.Errorf("%s: %d rows out of (created_at, id) order", table, bad)
		}
		if n := scalar[int64](t, ctx, dst, "SELECT count(*) FROM public."+table); n == 0 {
			t.Errorf("%s is empty", table)
		}
	}
}

func checkTenancy(t *testing.T, ctx context.Context, dst string) {
	checks := map[string]string{
		"habit_completions vs habits":  `SELECT count(*) FROM habit_completions c JOIN habits p ON p.id = c.habit_id WHERE c.user_id <> p.user_id`,
		"reading_sessions vs books":    `SELECT count(*) FROM reading_sessions c JOIN books p ON p.id = c.book_id WHERE c.user_id <> p.user_id`,
		"track_annotations vs tracks":  `SELECT count(*) FROM track_annotations c JOIN reference_tracks p ON p.id = c.track_id WHERE c.user_id <> p.user_id`,
		"track_regions vs tracks":      `SELECT count(*) FROM track_regions c JOIN reference_tracks p ON p.id = c.track_id WHERE c.user_id <> p.user_id`,
		"exercise_sets via sessions":   `SELECT count(*) FROM exercise_sets c JOIN workout_sessions w ON w.id = c.session_id JOIN exercises e ON e.id = c.exercise_id WHERE e.user_id IS NOT NULL AND e.user_id <> w.user_id`,
		"focus pause vs session owner": `SELECT count(*) FROM focus_pause_state c JOIN focus_sessions p ON p.id = c.session_id WHERE c.user_id <> p.user_id`,
		"rejected users left no rows":  `SELECT count(*) FROM cutover.rejects r JOIN audit_log a ON a.user_id::text = r.legacy_key WHERE r.legacy_table = 'users'`,
	}
	for name, q := range checks {
		if n := scalar[int64](t, ctx, dst, q); n != 0 {
			t.Errorf("%s: %d violations", name, n)
		}
	}
	if n := scalar[int64](t, ctx, dst, `SELECT count(*) FROM cutover.rejects WHERE reason = 'tenant_mismatch'`); n == 0 {
		t.Error("no tenant mismatch was rejected: the generator planted some")
	}
}

// TestRefusesUnknownSource: an unknown table, an altered shape, or known
// tables that are not one flavor's complete set (INVENTORY.md: "require a
// complete, consistent set of probes and refuse anything else") stop the
// run before anything is written, naming the tables and the columns.
func TestRefusesUnknownSource(t *testing.T) {
	// focus_pause_state as v15 has it, in a v21 database: migration 0017
	// applied without 0016.
	var v15Pause string
	for _, k := range extract.KnownShapes["focus_pause_state"] {
		if slices.Contains(k.Flavors, "v15") {
			v15Pause = `DROP TABLE public.focus_pause_state; CREATE TABLE public.focus_pause_state (` + strings.Join(k.Columns, ", ") + `)`
		}
	}
	tests := []struct {
		name, ddl string
		want      []string
	}{
		{"unknown table", `CREATE TABLE public.mystery (id int PRIMARY KEY, note text)`, []string{`"mystery"`, `ALTER TABLE public."mystery" SET SCHEMA attic`}},
		{"altered shape", `ALTER TABLE public.habits ADD COLUMN colour2 text`, []string{`"habits"`, "colour2"}},
		{"retyped column", `ALTER TABLE public.books ALTER COLUMN rating TYPE bigint`, []string{`"books"`, "rating"}},
		{"empty database", `DROP SCHEMA public CASCADE; CREATE SCHEMA public`, []string{"none of the legacy tables in schema public: is it the legacy database?"}},
		{"restored into another schema", `ALTER SCHEMA public RENAME TO legacy; CREATE SCHEMA public; CREATE SCHEMA other; CREATE TABLE other.users (id int)`,
			[]string{"none of the legacy tables in schema public, but schema legacy holds 7", "schema other holds 1 of them", `ALTER SCHEMA "legacy" RENAME TO public`}},
		{"missing table", `DROP TABLE public.books CASCADE`, []string{"matches no legacy flavor", "closest is v21", "lacks 1 of its", "(books)"}},
		{"altered shape and missing tables, at once", `ALTER TABLE public.habits ADD COLUMN colour2 text; DROP TABLE public.feedback, public.ideas`,
			[]string{"(2 problem(s))", `"habits"`, "colour2", "it lacks 2 tables of the legacy v21 (feedback, ideas)"}},
		{"two flavors' migrations", v15Pause, []string{"matches no legacy flavor", "closest is v21", "focus_pause_state in its v15 shape"}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			ctx := context.Background()
			src, dst := alteredLegacy(t, tt.ddl), testkit.MigratedTarget(t)
			before := tableChecksums(t, ctx, dst)
			_, err := load.Run(ctx, load.Config{SourceURL: src, TargetURL: dst, MaxRejects: -1})
			var de *extract.DetectError
			if !errors.As(err, &de) {
				t.Fatalf("want a DetectError, got %v", err)
			}
			for _, w := range tt.want {
				if !strings.Contains(err.Error(), w) {
					t.Errorf("error %q does not name %s", err, w)
				}
			}
			if d := cmp.Diff(before, tableChecksums(t, ctx, dst)); d != "" {
				t.Errorf("the target changed:\n%s", d)
			}
			if n := scalar[bool](t, ctx, dst, `SELECT to_regclass('cutover.runs') IS NOT NULL`); n {
				t.Error("the refused run created bookkeeping in the target")
			}
		})
	}
}

// alteredLegacy returns a new v21 legacy database (without the drift
// tables) on which ddl has run.
func alteredLegacy(t *testing.T, ddl string) string {
	t.Helper()
	ctx := context.Background()
	src := legacyDB(t, "v21", false)
	conn, err := pgx.Connect(ctx, src)
	if err != nil {
		t.Fatal(err)
	}
	defer conn.Close(ctx)
	if _, err := conn.Exec(ctx, ddl); err != nil {
		t.Fatal(err)
	}
	return src
}

// TestTablesOutsidePublicAreNotRead: what the refusal of an unknown table
// advises holds: a table moved out of schema public (a backup the
// operator keeps) is neither read nor refused, and the run accounts for
// every legacy row of public.
func TestTablesOutsidePublicAreNotRead(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	src := alteredLegacy(t, `CREATE TABLE public.users_backup AS SELECT * FROM public.users;
		CREATE SCHEMA attic; ALTER TABLE public.users_backup SET SCHEMA attic`)
	dst := testkit.MigratedTarget(t)
	sum, err := load.Run(ctx, load.Config{SourceURL: src, TargetURL: dst, MaxRejects: -1})
	if err != nil {
		t.Fatalf("run beside a table in another schema: %v", err)
	}
	if !sum.OK() {
		t.Errorf("conservation law fails: %+v", sum.Tables)
	}
	for _, r := range sum.Tables {
		if strings.Contains(r.Mapping, "users_backup") {
			t.Errorf("the run read attic.users_backup: %+v", r)
		}
	}
	if n := scalar[int64](t, ctx, dst, `SELECT count(*) FROM cutover.dispositions WHERE legacy_table LIKE '%backup%'`); n != 0 {
		t.Errorf("%d ledger rows of attic.users_backup", n)
	}
}

// ownedTarget returns a new target database, migrated by its owner
// cutover_owner, which is not a superuser: a superuser's URL of it, and
// the owner's.
func ownedTarget(t *testing.T, ctx context.Context) (dst, owner string) {
	t.Helper()
	return ownedTargetBy(t, ctx, "cutover_owner")
}

// ownedTargetBy is ownedTarget with an owner of the given name.
func ownedTargetBy(t *testing.T, ctx context.Context, role string) (dst, owner string) {
	t.Helper()
	dst = pgtest.NewDB(t)
	u, err := url.Parse(dst)
	if err != nil {
		t.Fatal(err)
	}
	conn := pgtest.Connect(t, dst)
	testkit.EnsureRole(t, ctx, conn, role, "")
	if _, err := conn.Exec(ctx, `ALTER DATABASE `+pgx.Identifier{strings.TrimPrefix(u.Path, "/")}.Sanitize()+` OWNER TO `+pgx.Identifier{role}.Sanitize()); err != nil {
		t.Fatal(err)
	}
	conn.Close(ctx) // not to count against the database's connection limit
	u.User = url.User(role)
	owner = u.String()
	if _, err := migrations.Apply(ctx, owner, nil); err != nil {
		t.Fatal(err)
	}
	return dst, owner
}

// TestRunAsTableOwner runs a cutover as a role that owns the target
// database but is not a superuser (a managed server's usual role): the
// foreign keys are then checked by their triggers, and the bulk loads and
// the ledger partitions must work with the owner's rights alone.
func TestRunAsTableOwner(t *testing.T) {
	ctx := context.Background()
	src, man := generated(t, "v21")
	dst, owner := ownedTarget(t, ctx)
	before := indexOIDs(t, ctx, dst)
	cfg := load.Config{SourceURL: src, TargetURL: owner, MaxRejects: -1, Workers: 2}
	sum, err := load.Run(ctx, cfg)
	if err != nil {
		t.Fatal(err)
	}
	checkConservation(t, ctx, src, dst, sum)
	checkAnomalies(t, ctx, dst, man)
	checkSchemaKept(t, ctx, dst, before)
	testkit.CheckAnalyzed(t, dst)
	if super := scalar[bool](t, ctx, owner, `SELECT rolsuper FROM pg_roles WHERE rolname = current_user`); super {
		t.Fatal("the owner role is a superuser: the test proves nothing")
	}
	again, err := load.Run(ctx, cfg)
	if err != nil {
		t.Fatal(err)
	}
	if n := again.Changed(); n != 0 {
		t.Errorf("re-run as the owner changed %d rows: %v", n, again.Changes)
	}
}

// TestRunChecksForeignKeysWhenTriggersAreOff: on a target whose sessions
// start with session_replication_role = replica, set for the database, for
// the role (ALTER ROLE … SET, in every database or in the target's only),
// no foreign-key trigger fires, for the owner as for a superuser, so the
// run must check each mapping's rows itself. Only a superuser may set the
// parameter (PostgreSQL 15 and later: or a role granted SET on it), but
// a setting a superuser stored for the database or the role applies to
// the sessions of a role that may not set it, and that role may not set
// it back either. A user deleted from the target between its apply and
// its habits' (which the trigger-less delete allows) leaves habits (and
// the user's rows applied beside them) that reference nothing: the run
// names them and writes none of them.
func TestRunChecksForeignKeysWhenTriggersAreOff(t *testing.T) {
	for _, c := range []struct {
		name  string
		owner string // the target's owner
		// off turns the triggers off on target dst (a superuser's URL)
		// whose owner's URL is owner, and returns the URL the run uses.
		off   func(t *testing.T, ctx context.Context, dst, owner string) string
		super bool // the run's role is a superuser
	}{
		{"set for the database, the owner runs", "cutover_owner", func(t *testing.T, ctx context.Context, dst, owner string) string {
			pgtest.AlterDatabase(t, dst, "SET session_replication_role = replica")
			return owner
		}, false},
		{"set for the role, the owner runs", "cutover_replica_owner", func(t *testing.T, ctx context.Context, dst, owner string) string {
			// A role of this test's own: the setting holds in every
			// database.
			conn := pgtest.Connect(t, dst)
			defer conn.Close(ctx)
			if _, err := conn.Exec(ctx, `ALTER ROLE cutover_replica_owner SET session_replication_role = replica`); err != nil {
				t.Fatal(err)
			}
			return owner
		}, false},
		{"set for the role in the database, the owner runs", "cutover_owner", func(t *testing.T, ctx context.Context, dst, owner string) string {
			conn := pgtest.Connect(t, dst)
			defer conn.Close(ctx)
			if _, err := conn.Exec(ctx, `ALTER ROLE cutover_owner IN DATABASE `+pgx.Identifier{dbName(t, dst)}.Sanitize()+` SET session_replication_role = replica`); err != nil {
				t.Fatal(err)
			}
			return owner
		}, false},
		{"set for the database, a superuser runs", "cutover_owner", func(t *testing.T, ctx context.Context, dst, _ string) string {
			pgtest.AlterDatabase(t, dst, "SET session_replication_role = replica")
			return dst
		}, true},
	} {
		t.Run(c.name, func(t *testing.T) {
			t.Parallel()
			ctx := context.Background()
			src, _ := generated(t, "v21")
			dst, owner := ownedTargetBy(t, ctx, c.owner)
			target := c.off(t, ctx, dst, owner)
			checkTriggersOff(t, ctx, target, c.super)
			victim := scalar[string](t, ctx, src, `SELECT user_id::text FROM habits ORDER BY id LIMIT 1`)
			cfg := load.Config{SourceURL: src, TargetURL: target, MaxRejects: -1, Workers: 2}
			var mu sync.Mutex
			var said []string
			cfg.Progress = func(e load.Event) { mu.Lock(); said = append(said, e.Message); mu.Unlock() }
			load.SetHook(&cfg, func(point string) error {
				if point == "apply.rows:habits" {
					conn := pgtest.Connect(t, target)
					defer conn.Close(ctx)
					if _, err := conn.Exec(ctx, `DELETE FROM users WHERE id = $1`, victim); err != nil {
						return err
					}
				}
				return nil
			})
			_, err := load.Run(ctx, cfg)
			// Habits, or another mapping applied beside them whose rows the user
			// owns, finds the rows without their user.
			if err == nil || !regexp.MustCompile(`\d+ rows? of \w+ would reference users rows that are not in the target \(foreign key \w+, user_id → users\.id\): rows the run decided from were removed from the target while it worked`).MatchString(err.Error()) {
				t.Fatalf("run whose user went missing under its habits: %v\nwant the broken foreign key named", err)
			}
			if !slices.ContainsFunc(said, func(m string) bool { return strings.Contains(m, "session_replication_role = replica") }) {
				t.Errorf("the run did not say that the triggers are off: %q", said)
			}
			if n := scalar[int](t, ctx, target, `SELECT count(*) FROM habits`); n != 0 {
				t.Errorf("%d habits written", n)
			}
		})
	}
}

// checkTriggersOff fails the test unless the sessions of URL u start with
// session_replication_role = replica as a role that is a superuser or not
// (super), and, not one, may not set it.
func checkTriggersOff(t *testing.T, ctx context.Context, u string, super bool) {
	t.Helper()
	conn := pgtest.Connect(t, u)
	defer conn.Close(ctx)
	var role string
	var isSuper bool
	if err := conn.QueryRow(ctx, `SELECT current_setting('session_replication_role'), rolsuper FROM pg_roles WHERE rolname = current_user`).Scan(&role, &isSuper); err != nil {
		t.Fatal(err)
	}
	if role != "replica" || isSuper != super {
		t.Fatalf("the run's sessions start with session_replication_role = %s as a role with superuser %v; want replica, superuser %v", role, isSuper, super)
	}
	if super {
		return
	}
	_, err := conn.Exec(ctx, `SET session_replication_role = origin`)
	if code := pgErrCode(err); code != "42501" {
		t.Errorf("the role set session_replication_role = origin: %v (SQLSTATE %q), want it refused (42501)", err, code)
	}
}

// pgErrCode returns the SQLSTATE of err, "" without one.
func pgErrCode(err error) string {
	var e interface{ SQLState() string }
	if errors.As(err, &e) {
		return e.SQLState()
	}
	return ""
}

// TestRunNamesRowsItDidNotWrite: a target whose users table holds rows
// the cutover did not write (an early tester, one with a legacy user's
// email) stops the users mapping on the email's unique index. The error
// says so, counting and naming those rows, instead of blaming the
// mapping; once they are removed the same run finishes.
func TestRunNamesRowsItDidNotWrite(t *testing.T) {
	ctx := context.Background()
	src, _ := generated(t, "v21")
	dst := testkit.MigratedTarget(t)
	email := scalar[string](t, ctx, src, `SELECT email FROM users ORDER BY id LIMIT 1`)
	ids := scalarList(t, ctx, dst, `INSERT INTO users (email, name) VALUES (upper($1), 'early tester'), ('someone@example.com', 'another')
		RETURNING id::text`, email)
	slices.Sort(ids)
	cfg := load.Config{SourceURL: src, TargetURL: dst, MaxRejects: -1, Workers: 2}
	_, err := load.Run(ctx, cfg)
	var foreign *load.ForeignRowsError
	if !errors.As(err, &foreign) || foreign.Table != "users" || foreign.Count != 2 || !slices.Equal(foreign.IDs, ids) ||
		!strings.Contains(err.Error(), "a legacy row meets one on constraint idx_users_email_lower") || strings.Contains(err.Error(), "a case the mapping does not handle") {
		t.Fatalf("run into a target with two users of its own: %v\nwant a ForeignRowsError naming %q", err, ids)
	}
	if _, err := pgtest.Connect(t, dst).Exec(ctx, `DELETE FROM users WHERE id = ANY($1::uuid[])`, ids); err != nil {
		t.Fatal(err)
	}
	if sum, err := load.Run(ctx, cfg); err != nil || !sum.OK() {
		t.Fatalf("run once they are removed: %v", err)
	}
}

// TestRunOutOfConnections: a target database that admits one connection of
// its owner at a time refuses the run's second; the run says so and what
// to change, writes nothing of the cutover, and finishes once the limit
// allows it.
func TestRunOutOfConnections(t *testing.T) {
	ctx := context.Background()
	src, _ := generated(t, "v21")
	dst, owner := ownedTarget(t, ctx)
	pgtest.AlterDatabase(t, dst, "CONNECTION LIMIT 1") // the owner's limit; superusers are exempt
	cfg := load.Config{SourceURL: src, TargetURL: owner, MaxRejects: -1, Workers: 2}
	_, err := load.Run(ctx, cfg)
	if !dburl.TooManyConnections(err) || !strings.Contains(err.Error(), "lower --workers (each worker holds a connection to each server") ||
		!strings.Contains(err.Error(), "a run with --workers 2 holds up to 4 connections to the source and 7 to the target") {
		t.Fatalf("run with one connection allowed: %v\nwant the refusal (SQLSTATE 53300) explained, with the run's connections", err)
	}
	if n := scalar[int](t, ctx, dst, `SELECT count(*) FROM users`); n != 0 {
		t.Errorf("the refused run wrote %d users", n)
	}
	pgtest.AlterDatabase(t, dst, "CONNECTION LIMIT -1")
	if _, err := load.Run(ctx, cfg); err != nil {
		t.Fatalf("run once the limit allows it: %v", err)
	}
}

// TestCommandsWithinTheirConnections: a dry run, a run, a re-run and a
// verification with two workers finish on servers whose databases allow
// exactly the connections load.Connections and reconcile.Connections
// state (to non-superusers; superusers are exempt), so the figures an
// operator is told when a server refuses a connection are enough. Each
// command starts once the one before has left both databases (a closed
// session's server process exits a moment after its client). A
// verification allowed one connection fewer is refused, and says why.
func TestCommandsWithinTheirConnections(t *testing.T) {
	ctx := context.Background()
	src, _ := generated(t, "v21")
	reader := testkit.ReadOnlyURL(t, ctx, src)
	dst, owner := ownedTarget(t, ctx)
	admin := pgtest.Connect(t, pgtest.AdminURL(t))
	limit := func(c dburl.Connections) {
		t.Helper()
		pgtest.AlterDatabase(t, src, fmt.Sprintf("CONNECTION LIMIT %d", c.Source))
		pgtest.AlterDatabase(t, dst, fmt.Sprintf("CONNECTION LIMIT %d", c.Target))
		for wait := time.Now().Add(10 * time.Second); ; time.Sleep(20 * time.Millisecond) {
			var n int
			if err := admin.QueryRow(ctx, `SELECT count(*) FROM pg_stat_activity WHERE datname IN ($1, $2)`,
				dbName(t, src), dbName(t, dst)).Scan(&n); err != nil {
				t.Fatal(err)
			}
			if n == 0 {
				return
			}
			if time.Now().After(wait) {
				t.Fatalf("%d sessions still in the databases", n)
			}
		}
	}
	const workers = 2
	cfg := load.Config{SourceURL: reader, TargetURL: owner, MaxRejects: -1, Workers: workers}
	limit(load.Connections(workers))
	if _, err := load.DryRun(ctx, cfg, 5); err != nil {
		t.Fatalf("dry run within %s: %v", load.Connections(workers), err)
	}
	for _, what := range []string{"run", "re-run"} {
		limit(load.Connections(workers))
		if _, err := load.Run(ctx, cfg); err != nil {
			t.Fatalf("%s within %s: %v", what, load.Connections(workers), err)
		}
	}
	limit(reconcile.Connections(workers))
	res, err := reconcile.Verify(ctx, reconcile.Config{SourceURL: reader, TargetURL: owner, Workers: workers})
	if err != nil {
		t.Fatalf("verify within %s: %v", reconcile.Connections(workers), err)
	}
	if !res.OK() {
		t.Errorf("verify within its connections: %d findings", len(res.Findings))
	}
	// One fewer on the target: its snapshot's connections are all held at
	// once, so verify is refused, and says what it holds.
	short := reconcile.Connections(workers)
	short.Target--
	limit(short)
	_, err = reconcile.Verify(ctx, reconcile.Config{SourceURL: reader, TargetURL: owner, Workers: workers})
	if !dburl.TooManyConnections(err) || !strings.Contains(err.Error(), reconcile.Connections(workers).String()) {
		t.Fatalf("verify with a connection short: %v\nwant the refusal explained with %q", err, reconcile.Connections(workers))
	}
}

// dbName is the database of connURL.
func dbName(t *testing.T, connURL string) string {
	t.Helper()
	u, err := url.Parse(connURL)
	if err != nil {
		t.Fatal(err)
	}
	return strings.TrimPrefix(u.Path, "/")
}
