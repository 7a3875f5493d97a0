package load

import (
	"context"
	"fmt"
	"slices"
	"strings"
	"testing"

	"github.com/google/go-cmp/cmp"
	"github.com/jackc/pgx/v5"

	"github.com/cutover/cutover/internal/legacygen"
	"github.com/cutover/cutover/internal/pgtest"
	"github.com/cutover/cutover/internal/testkit"
	"github.com/cutover/cutover/mappings"
	"github.com/cutover/cutover/reconcile"
)

// TestRunRejectsCrossUserReferences: one legacy row of each reference
// between two users' rows that an earlier build loaded as it was (a review
// planted each and saw it load, and verify pass; an event's workout, habit
// and goal, which no foreign key guards, among them) points at another
// user's row; each is rejected as tenant_mismatch, and the cutover's target
// passes verify's tenancy checks (reconcile's tests tamper with a target
// for them). The rows are picked among those a run of the unedited source
// loads, so that nothing but their tenancy rejects them.
func TestRunRejectsCrossUserReferences(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	loaded := finishedTarget(t)
	// Per case: the legacy table, the column repointed, and a query over
	// the loaded target giving the row's id and another user's row for
	// the column.
	cases := []struct{ table, column, pick string }{
		{"workout_exercises", "exercise_id", `SELECT l.id::text, x.id::text FROM workout_exercises l JOIN workouts w ON w.id = l.workout_id
			JOIN exercises x ON x.user_id IS NOT NULL AND x.user_id <> w.user_id ORDER BY l.id, x.id LIMIT 1`},
		{"workout_sessions", "workout_id", `SELECT l.id::text, w.id::text FROM workout_sessions l JOIN workouts w ON w.user_id <> l.user_id
			ORDER BY l.id, w.id LIMIT 1`},
		{"audit_log", "session_id", `SELECT l.id::text, s.id::text FROM audit_log l JOIN sessions s ON s.user_id <> l.user_id
			WHERE l.user_id IS NOT NULL AND EXISTS (SELECT 1 FROM cutover.dispositions d
				WHERE d.legacy_table = 'audit_log' AND d.legacy_key = l.id::text) -- not a folded activity event
			ORDER BY l.id, s.id LIMIT 1`},
		// (the last session: the first is the audit row's)
		{"sessions", "rotated_from", `SELECT l.id::text, s.id::text FROM sessions l JOIN sessions s ON s.user_id <> l.user_id
			ORDER BY l.id DESC, s.id LIMIT 1`},
		{"calendar_events", "parent_event_id", `SELECT l.id::text, e.id::text FROM calendar_events l JOIN calendar_events e ON e.user_id <> l.user_id
			WHERE l.parent_event_id IS NULL AND e.parent_event_id IS NULL ORDER BY l.id, e.id LIMIT 1`},
	}
	// An event's workout, habit and goal have no foreign key (soft
	// references): from the last events without a parent, one each.
	for i, soft := range []struct{ column, parent string }{{"workout_id", "workouts"}, {"habit_id", "habits"}, {"goal_id", "goals"}} {
		cases = append(cases, struct{ table, column, pick string }{"calendar_events", soft.column,
			`SELECT l.id::text, (SELECT min(p.id::text) FROM ` + soft.parent + ` p WHERE p.user_id <> l.user_id) FROM calendar_events l
				WHERE l.parent_event_id IS NULL AND NOT EXISTS (SELECT FROM calendar_events c WHERE c.parent_event_id = l.id)
				ORDER BY l.id DESC LIMIT 1 OFFSET ` + fmt.Sprint(i)})
	}
	var edits []string
	picked := map[string]string{} // table.column -> the id of its row repointed
	for _, c := range cases {
		pair := scalarOf[[]string](t, ctx, loaded, `SELECT ARRAY[a, b] FROM (`+c.pick+`) p(a, b)`)
		picked[c.table+"."+c.column] = pair[0]
		edits = append(edits, fmt.Sprintf(`UPDATE %s SET %s = '%s' WHERE id = '%s';`, c.table, c.column, pair[1], pair[0]))
	}
	// A soft reference to no row at all is carried as it is.
	const orphan = "00000000-0000-4000-8000-00000000dead"
	orphaned := scalarOf[string](t, ctx, loaded, `SELECT l.id::text FROM calendar_events l
		WHERE l.parent_event_id IS NULL AND NOT EXISTS (SELECT FROM calendar_events c WHERE c.parent_event_id = l.id)
		ORDER BY l.id DESC LIMIT 1 OFFSET 3`)
	edits = append(edits, `UPDATE calendar_events SET habit_id = '`+orphan+`' WHERE id = '`+orphaned+`';`)
	src := editedSource(t, "cross_user", strings.Join(edits, "\n"))
	dst := testkit.MigratedTarget(t)
	if _, err := Run(ctx, rerunConfig(src, dst)); err != nil {
		t.Fatalf("run: %v", err)
	}
	for _, c := range cases {
		id := picked[c.table+"."+c.column]
		got := scalarOf[[]string](t, ctx, dst, `SELECT ARRAY[reason, message] FROM cutover.rejects WHERE legacy_table = $1 AND legacy_key = $2
			UNION ALL SELECT ARRAY['not rejected', ''] ORDER BY 1 DESC LIMIT 1`, c.table, id)
		if got[0] != "tenant_mismatch" || !strings.HasPrefix(got[1], c.column+" ") {
			t.Errorf("%s %s, its %s pointed at another user's row: %s (%s), want tenant_mismatch", c.table, id, c.column, got[0], got[1])
		}
	}
	if got := scalarOf[*string](t, ctx, dst, `SELECT habit_id::text FROM public.calendar_events WHERE id::text = $1`, orphaned); got == nil || *got != orphan {
		t.Errorf("calendar event %s, whose habit_id names no row: loaded with habit_id %v, want %s", orphaned, got, orphan)
	}
	res := verifies(t, ctx, src, dst)
	// verify checks each of these references' tenancy in the target.
	var checked []string
	for _, ic := range res.Invariants {
		if ic.Check == reconcile.CheckTenancy {
			checked = append(checked, strings.Fields(ic.Name)[0])
		}
	}
	for _, c := range cases {
		if !slices.Contains(checked, c.table+"."+c.column) {
			t.Errorf("verify does not check the tenancy of %s.%s; it checks %q", c.table, c.column, checked)
		}
	}
}

// TestRunClearsCrossUserReferencesToRowsThatDoNotReach: a reference that
// is cleared when what it points at does not reach the target (ON DELETE
// SET NULL, fine print 2) points at another user's row that does not: an
// expired session (discarded), or a workout of a rejected user. The row
// is loaded with the reference NULL, as a delete of that row would have
// left it, not rejected: nothing of the other user reaches the target
// through it. A reference to such a row that does reach it is rejected
// (TestRunRejectsCrossUserReferences).
func TestRunClearsCrossUserReferencesToRowsThatDoNotReach(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	base, loaded := rerunSource(t), finishedTarget(t)
	ledger := `SELECT coalesce(array_agg(legacy_key ORDER BY legacy_key), '{}') FROM cutover.dispositions WHERE legacy_table = $1 AND disposition = ANY($2)`
	rejectedUsers := scalarOf[[]string](t, ctx, loaded, ledger, "users", []string{"rejected"})
	if len(rejectedUsers) == 0 {
		t.Fatal("the source has no rejected user")
	}
	// Per case: the table and column, the parent table, and whether the
	// edit gives the parent row to a rejected user (the source has no
	// such workout).
	cases := []struct {
		table, column, parent string
		reject                bool
	}{
		{"audit_log", "session_id", "sessions", false},
		{"sessions", "rotated_from", "sessions", false},
		{"workout_sessions", "workout_id", "workouts", true},
	}
	var edits []string
	picked := map[string]string{} // table -> the id of its row repointed
	for _, c := range cases {
		parents := scalarOf[[]string](t, ctx, loaded, ledger, c.parent, []string{"discarded", "rejected"})
		if c.reject {
			parents = scalarOf[[]string](t, ctx, loaded, ledger, c.parent, []string{"loaded"})
		}
		kept := scalarOf[[]string](t, ctx, loaded, ledger, c.table, []string{"loaded"})
		pair := scalarOf[[]string](t, ctx, base, `SELECT coalesce((SELECT ARRAY[l.id::text, p.id::text]
			FROM `+c.table+` l JOIN `+c.parent+` p ON p.user_id <> l.user_id
			WHERE p.id::text = ANY($1) AND l.id::text = ANY($2) AND l.user_id::text <> $3 ORDER BY l.id, p.id LIMIT 1), '{}')`,
			parents, kept, rejectedUsers[0])
		if len(pair) == 0 {
			t.Fatalf("%s: no loaded row and no other user's %s row to point it at", c.table, c.parent)
		}
		picked[c.table] = pair[0]
		edits = append(edits, fmt.Sprintf(`UPDATE %s SET %s = '%s' WHERE id = '%s';`, c.table, c.column, pair[1], pair[0]))
		if c.reject {
			edits = append(edits, fmt.Sprintf(`UPDATE %s SET user_id = '%s' WHERE id = '%s';`, c.parent, rejectedUsers[0], pair[1]))
		}
	}
	src := editedSource(t, "cross_user_gone", strings.Join(edits, "\n"))
	dst := testkit.MigratedTarget(t)
	if _, err := Run(ctx, rerunConfig(src, dst)); err != nil {
		t.Fatalf("run: %v", err)
	}
	for _, c := range cases {
		disp := scalarOf[string](t, ctx, dst, `SELECT disposition || coalesce(' ' || reason, '') FROM cutover.dispositions
			WHERE legacy_table = $1 AND legacy_key = $2`, c.table, picked[c.table])
		if disp != "loaded" {
			t.Errorf("%s %s, its %s pointed at another user's row that does not reach the target: %s, want loaded", c.table, picked[c.table], c.column, disp)
			continue
		}
		if v := scalarOf[*string](t, ctx, dst, `SELECT `+c.column+`::text FROM public.`+c.table+` WHERE id::text = $1`, picked[c.table]); v != nil {
			t.Errorf("%s %s loaded with %s %s, want NULL", c.table, picked[c.table], c.column, *v)
		}
	}
	verifies(t, ctx, src, dst)
}

// TestRunJudgesARotationChainTopDown: sessions a, b, c and d, each
// rotated from the one before, of users u1, u2, u1 and u2. b points at
// another user's session that reaches the target, and is rejected; c
// points at another user's session too, but b does not reach the target,
// so c's reference is cleared and c loads, as it would were b expired; d
// then points at c, which reaches it, and is rejected. A review found c
// rejected as well, judged against b before b's own judgement. Two
// sessions of two users rotated from each other (a cycle) are rejected.
func TestRunJudgesARotationChainTopDown(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	loaded := finishedTarget(t)
	// Two users with three loaded sessions each.
	chain := scalarOf[[]string](t, ctx, loaded, `WITH s AS (SELECT id, user_id, row_number() OVER (PARTITION BY user_id ORDER BY id) AS n
			FROM public.sessions),
		u AS (SELECT user_id FROM s WHERE n = 3 ORDER BY user_id LIMIT 2)
		SELECT array_agg(s.id::text ORDER BY s.n, s.user_id) FROM s JOIN u USING (user_id) WHERE s.n <= 3`)
	if len(chain) != 6 {
		t.Fatalf("no two users with three sessions each: %v", chain)
	}
	a, b, c, d := chain[0], chain[1], chain[2], chain[3] // users u1, u2, u1, u2
	// And e and f (u1, u2), each rotated from the other: a cycle, whose
	// sessions are both rejected.
	e, f := chain[4], chain[5]
	var edits []string
	for _, id := range chain {
		edits = append(edits, `UPDATE sessions SET rotated_from = NULL WHERE rotated_from = '`+id+`' OR id = '`+id+`';`)
	}
	edits = append(edits, `UPDATE sessions SET rotated_from = '`+a+`' WHERE id = '`+b+`';`,
		`UPDATE sessions SET rotated_from = '`+b+`' WHERE id = '`+c+`';`,
		`UPDATE sessions SET rotated_from = '`+c+`' WHERE id = '`+d+`';`,
		`UPDATE sessions SET rotated_from = '`+f+`' WHERE id = '`+e+`';`,
		`UPDATE sessions SET rotated_from = '`+e+`' WHERE id = '`+f+`';`)
	src := editedSource(t, "rotation_chain", strings.Join(edits, "\n"))
	dst := testkit.MigratedTarget(t)
	if _, err := Run(ctx, rerunConfig(src, dst)); err != nil {
		t.Fatalf("run: %v", err)
	}
	got := map[string]string{}
	for name, id := range map[string]string{"a": a, "b": b, "c": c, "d": d, "e": e, "f": f} {
		got[name] = scalarOf[string](t, ctx, dst, `SELECT d.disposition || coalesce(' ' || d.reason, '') || coalesce(' rotated_from ' ||
				CASE WHEN s.id IS NULL THEN NULL WHEN s.rotated_from IS NULL THEN 'NULL' ELSE s.rotated_from::text END, '')
			FROM cutover.dispositions d LEFT JOIN public.sessions s ON s.id = d.target_id
			WHERE d.legacy_table = 'sessions' AND d.legacy_key = $1`, id)
	}
	want := map[string]string{"a": "loaded rotated_from NULL", "b": "rejected tenant_mismatch",
		"c": "loaded rotated_from NULL", "d": "rejected tenant_mismatch", "e": "rejected tenant_mismatch", "f": "rejected tenant_mismatch"}
	if diff := cmp.Diff(want, got); diff != "" {
		t.Errorf("the chain's dispositions (-want +got):\n%s", diff)
	}
	verifies(t, ctx, src, dst)
}

// TestRunRejectsAPurchaseOfAnotherUsersPrivateItem: MAPPING.md's
// "user_purchases vs the buyer". In v16 an item can be private (is_global
// false) to the user who created it; a purchase of it by another user,
// which an earlier build loaded, is rejected as tenant_mismatch, and verify
// checks the rule in the target.
func TestRunRejectsAPurchaseOfAnotherUsersPrivateItem(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	// A purchase and another user's private item, both of users whose
	// emails no other user's equals ignoring case (the others are
	// rejected, and their rows with them).
	plant := `CREATE TEMP TABLE sole AS SELECT u.id FROM users u WHERE (SELECT count(*) FROM users v WHERE lower(v.email) = lower(u.email)) = 1;
		CREATE SCHEMA test_edits;
		CREATE TABLE test_edits.picked AS SELECT p.id AS purchase, i.id AS item FROM user_purchases p, market_items i
			WHERE p.user_id IN (SELECT id FROM sole) AND i.created_by_user_id IN (SELECT id FROM sole)
				AND NOT i.is_global AND i.created_by_user_id <> p.user_id AND i.cost_coins >= 0
			ORDER BY p.id, i.id LIMIT 1;
		UPDATE user_purchases p SET item_id = k.item FROM test_edits.picked k WHERE p.id = k.purchase;`
	src := pgtest.NewDBFrom(t, "v16_private_item", func(ctx context.Context, u string) error {
		base := testkit.GeneratedLegacy(t, legacygen.Options{Flavor: "v16", Drift: true, Anomalies: true, Users: 40, Seed: 3})
		if err := replaceDatabase(ctx, t, u, base); err != nil {
			return err
		}
		return withConn(ctx, u, func(c *pgx.Conn) error {
			_, err := c.Exec(ctx, plant)
			return err
		})
	})
	purchase := scalarOf[string](t, ctx, src, `SELECT purchase::text FROM test_edits.picked`)
	dst := testkit.MigratedTarget(t)
	if _, err := Run(ctx, rerunConfig(src, dst)); err != nil {
		t.Fatalf("run: %v", err)
	}
	got := scalarOf[[]string](t, ctx, dst, `SELECT ARRAY[reason, message] FROM cutover.rejects WHERE legacy_table = 'user_purchases' AND legacy_key = $1
		UNION ALL SELECT ARRAY['not rejected', ''] ORDER BY 1 DESC LIMIT 1`, purchase)
	if got[0] != "tenant_mismatch" || !strings.HasPrefix(got[1], "item_id ") {
		t.Errorf("purchase %s of another user's private item: %s (%s), want tenant_mismatch", purchase, got[0], got[1])
	}
	res := verifies(t, ctx, src, dst)
	if !slices.ContainsFunc(res.Invariants, func(ic reconcile.InvariantCheck) bool {
		return ic.Check == reconcile.CheckTenancy && strings.HasPrefix(ic.Name, "user_purchases.item_id ")
	}) {
		t.Errorf("verify does not check that a private item's purchases are its owner's")
	}
}

// verifies runs verify of target dst against source src, and fails t
// unless it passes; it returns the result.
func verifies(t *testing.T, ctx context.Context, src, dst string) *reconcile.Result {
	t.Helper()
	res, err := reconcile.Verify(ctx, reconcile.Config{SourceURL: src, TargetURL: dst, Workers: 2})
	if err != nil {
		t.Fatalf("verify: %v", err)
	}
	if !res.OK() {
		t.Errorf("verify: %d failures: %v", res.Failures(), res.Findings)
	}
	return res
}

// TestRunRejectsAPrivateItemWhoseKeyIsSeeded: a v16 market item private
// to the user who created it (is_global false) whose key a seed holds is
// rejected (private_seeded_key) instead of merged: merged, the seeded item
// every user sees would take its is_global false and its creator. The
// seed keeps its own content, the item's purchases go with it
// (parent_rejected), and verify passes.
func TestRunRejectsAPrivateItemWhoseKeyIsSeeded(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	dst := testkit.MigratedTarget(t)
	seeded := scalarOf[[]string](t, ctx, dst, `SELECT array_agg(key ORDER BY key) FROM market_items`)
	// An item with a seeded key and purchases, made private to a user
	// whose email no other user's equals ignoring case.
	pick := `CREATE TABLE test_edits.picked AS SELECT i.id AS item, i.key,
			(SELECT u.id FROM users u WHERE (SELECT count(*) FROM users v WHERE lower(v.email) = lower(u.email)) = 1 ORDER BY u.id LIMIT 1) AS owner
		FROM market_items i WHERE i.key = ANY($1) AND EXISTS (SELECT 1 FROM user_purchases p WHERE p.item_id = i.id)
		ORDER BY i.key LIMIT 1`
	src := pgtest.NewDBFrom(t, "v16_private_seeded_item", func(ctx context.Context, u string) error {
		base := testkit.GeneratedLegacy(t, legacygen.Options{Flavor: "v16", Drift: true, Anomalies: true, Users: 40, Seed: 3})
		if err := replaceDatabase(ctx, t, u, base); err != nil {
			return err
		}
		return withConn(ctx, u, func(c *pgx.Conn) error {
			if _, err := c.Exec(ctx, `CREATE SCHEMA test_edits`); err != nil {
				return err
			}
			if _, err := c.Exec(ctx, pick, seeded); err != nil {
				return err
			}
			_, err := c.Exec(ctx, `UPDATE market_items i SET is_global = false, created_by_user_id = k.owner FROM test_edits.picked k WHERE i.id = k.item`)
			return err
		})
	})
	item := scalarOf[string](t, ctx, src, `SELECT item::text FROM test_edits.picked`)
	key := scalarOf[string](t, ctx, src, `SELECT key FROM test_edits.picked`)
	seed := scalarOf[string](t, ctx, dst, `SELECT to_jsonb(i)::text FROM market_items i WHERE key = $1`, key)
	if _, err := Run(ctx, rerunConfig(src, dst)); err != nil {
		t.Fatalf("run: %v", err)
	}
	got := scalarOf[[]string](t, ctx, dst, `SELECT ARRAY[d.disposition, coalesce(d.reason, ''), coalesce(r.message, '')] FROM cutover.dispositions d
		LEFT JOIN cutover.rejects r USING (legacy_table, legacy_key) WHERE d.legacy_table = 'market_items' AND d.legacy_key = $1`, item)
	if got[0] != "rejected" || got[1] != mappings.ReasonPrivateSeededKey || !strings.HasPrefix(got[2], "key "+key+" is seeded in the target") {
		t.Errorf("private item %s with seeded key %s: %q, want rejected %s naming the key", item, key, got, mappings.ReasonPrivateSeededKey)
	}
	if after := scalarOf[string](t, ctx, dst, `SELECT to_jsonb(i)::text FROM market_items i WHERE key = $1`, key); after != seed {
		t.Errorf("the seeded item changed:\n before %s\n after  %s", seed, after)
	}
	purchases := scalarOf[[]string](t, ctx, src, `SELECT array_agg(id::text ORDER BY id) FROM user_purchases WHERE item_id::text = $1`, item)
	reasons := scalarOf[[]string](t, ctx, dst, `SELECT array_agg(DISTINCT coalesce(reason, disposition)) FROM cutover.dispositions
		WHERE legacy_table = 'user_purchases' AND legacy_key = ANY($1)`, purchases)
	if !slices.Equal(reasons, []string{mappings.ReasonParentRejected}) {
		t.Errorf("the item's %d purchases: %v, want all %s", len(purchases), reasons, mappings.ReasonParentRejected)
	}
	verifies(t, ctx, src, dst)
}

// TestRunRejectsACatalogRowWithASeedsID: a legacy row of a catalog without
// a natural key (universal_quests), whose rows are loaded by id next to the
// seeds and never merged with them, that carries a seed's id is rejected
// (seeded_id), not left to fail the mapping on the primary key; the seed
// keeps its content, and the cutover verifies.
func TestRunRejectsACatalogRowWithASeedsID(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	dst := testkit.MigratedTarget(t)
	const seedID = "00000000-0000-4000-8000-000000000301"
	seed := scalarOf[string](t, ctx, dst, `SELECT to_jsonb(q)::text FROM universal_quests q WHERE id = $1`, seedID)
	src := pgtest.NewDBFrom(t, "v21_seed_id_quest", func(ctx context.Context, u string) error {
		base := testkit.GeneratedLegacy(t, legacygen.Options{Flavor: "v21", Drift: true, Anomalies: true, Users: 40, Seed: 3})
		if err := replaceDatabase(ctx, t, u, base); err != nil {
			return err
		}
		return withConn(ctx, u, func(c *pgx.Conn) error {
			_, err := c.Exec(ctx, `INSERT INTO universal_quests
				SELECT (jsonb_populate_record(q, jsonb_build_object('id', $1::text, 'title', 'A legacy quest under a seed''s id'))).*
				FROM universal_quests q ORDER BY q.id LIMIT 1`, seedID)
			return err
		})
	})
	if _, err := Run(ctx, rerunConfig(src, dst)); err != nil {
		t.Fatalf("run: %v", err)
	}
	got := scalarOf[[]string](t, ctx, dst, `SELECT ARRAY[d.disposition, coalesce(d.reason, ''), coalesce(r.message, '')] FROM cutover.dispositions d
		LEFT JOIN cutover.rejects r USING (legacy_table, legacy_key) WHERE d.legacy_table = 'universal_quests' AND d.legacy_key = $1`, seedID)
	if got[0] != "rejected" || got[1] != mappings.ReasonSeededID || !strings.HasPrefix(got[2], "id "+seedID+" is the id of a row 0013_seeds.sql seeds in universal_quests") {
		t.Errorf("the legacy quest under a seed's id: %q, want rejected %s naming the id", got, mappings.ReasonSeededID)
	}
	if after := scalarOf[string](t, ctx, dst, `SELECT to_jsonb(q)::text FROM universal_quests q WHERE id = $1`, seedID); after != seed {
		t.Errorf("the seeded quest changed:\n before %s\n after  %s", seed, after)
	}
	verifies(t, ctx, src, dst)
}

// TestRunRejectsAKeyedCatalogRowWithAnotherSeedsID: a legacy achievement
// that carries a seeded achievement's id under a key of its own merges
// onto no seed (a row merges onto a seed by its key alone), and cannot
// load under the seed's id: it is rejected as seeded_id, naming the id.
// A first run failed on the primary key; a re-run's upsert overwrote the
// seed with it. Both now end as a fresh run does, the seed with its key.
func TestRunRejectsAKeyedCatalogRowWithAnotherSeedsID(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	const seedID = "00000000-0000-4000-8000-000000000201"
	empty := testkit.MigratedTarget(t)
	seedKey := scalarOf[string](t, ctx, empty, `SELECT key FROM achievement_definitions WHERE id = $1`, seedID)
	// A legacy achievement whose key no seed has (a migrated target holds
	// only the seeds).
	seeded := scalarOf[string](t, ctx, empty, `SELECT string_agg(quote_literal(key), ', ') FROM achievement_definitions`)
	src := editedSource(t, "seed_id_achievement", `UPDATE achievement_definitions SET id = '`+seedID+`' WHERE key = (
		SELECT key FROM achievement_definitions WHERE key NOT IN (`+seeded+`) ORDER BY key LIMIT 1)`)
	key := scalarOf[string](t, ctx, src, `SELECT key FROM achievement_definitions WHERE id = $1`, seedID)
	want := freshRun(t, src)
	for name, dst := range map[string]string{"a first run": empty, "a re-run": finishedTarget(t)} {
		if _, err := Run(ctx, rerunConfig(src, dst)); err != nil {
			t.Fatalf("%s: %v", name, err)
		}
		got := scalarOf[[]string](t, ctx, dst, `SELECT ARRAY[d.disposition, coalesce(d.reason, ''), coalesce(r.message, '')] FROM cutover.dispositions d
			LEFT JOIN cutover.rejects r USING (legacy_table, legacy_key) WHERE d.legacy_table = 'achievement_definitions' AND d.legacy_key = $1`, seedID)
		if wantMsg := "id " + seedID + " is the id of a row 0013_seeds.sql seeds in achievement_definitions, whose key is not this row's"; got[0] != "rejected" ||
			got[1] != mappings.ReasonSeededID || !strings.HasPrefix(got[2], wantMsg) {
			t.Errorf("%s: the legacy achievement %s under a seed's id: %q, want rejected %s: %s…", name, key, got, mappings.ReasonSeededID, wantMsg)
		}
		// The seed keeps its key (a legacy row of that key may give it
		// its content, as in a fresh run).
		if after := scalarOf[string](t, ctx, dst, `SELECT key FROM achievement_definitions WHERE id = $1`, seedID); after != seedKey {
			t.Errorf("%s: the seeded achievement %s holds the key %q, want its own, %q", name, seedID, after, seedKey)
		}
		testkit.SameAs(t, want, dst)
	}
	verifies(t, ctx, src, empty)
}
