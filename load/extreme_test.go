package load

import (
	"context"
	"errors"
	"fmt"
	"slices"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"
	"github.com/jackc/pgx/v5"

	"github.com/cutover/cutover/internal/pgtest"
	"github.com/cutover/cutover/internal/testkit"
	"github.com/cutover/cutover/reconcile"
	"github.com/cutover/cutover/transform"
)

// TestRunTakesInfiniteCreationTimesOfItems: a v21 market item's
// created_at may be infinity or -infinity (a legal timestamptz). Its key
// is de-collided by (created_at, id) as PostgreSQL orders them: -infinity
// first, infinity last. The run used to fail on every attempt reading
// such an item into a Go time, and verify with it.
func TestRunTakesInfiniteCreationTimesOfItems(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	src := editedSource(t, "infinite_items", `
		UPDATE market_items SET created_at = 'infinity' WHERE name = 'cafe creme';
		UPDATE market_items SET created_at = '-infinity' WHERE name = 'CAFE--CRÈME!'`)
	dst := testkit.MigratedTarget(t)
	if _, err := Run(ctx, rerunConfig(src, dst)); err != nil {
		t.Fatalf("run with items created at ±infinity: %v", err)
	}
	// The suffix of the key each legacy item of the slug reached (1 for
	// the bare slug), by name.
	suffix := map[string]int{}
	for _, name := range strings.Split(scalarOf[string](t, ctx, src, `SELECT string_agg(name || '=' || id, '|') FROM market_items`), "|") {
		name, id, _ := strings.Cut(name, "=")
		key := scalarOf[string](t, ctx, dst, `SELECT coalesce((SELECT t.key FROM cutover.dispositions d JOIN public.market_items t ON t.id = d.target_id
			WHERE d.legacy_table = 'market_items' AND d.legacy_key = $1), '')`, id)
		rest, ok := strings.CutPrefix(key, "cafe-creme")
		if !ok {
			continue
		}
		n := 1
		if rest != "" {
			var err error
			if n, err = strconv.Atoi(strings.TrimPrefix(rest, "-")); err != nil {
				continue // another slug ("cafe-creme-latte")
			}
		}
		suffix[name] = n
	}
	first, last := suffix["CAFE--CRÈME!"], suffix["cafe creme"]
	for name, n := range suffix {
		if n < first || n > last {
			t.Errorf("item %q has key suffix %d, outside the -infinity item's %d and the infinity item's %d (all: %v)", name, n, first, last, suffix)
		}
	}
	if len(suffix) < 2 || first == last {
		t.Fatalf("the items of slug cafe-creme: %v, want the two edited among them with keys of their own", suffix)
	}
	checkVerifies(t, ctx, src, dst)
}

// TestRunTakesQuestIDsAndLogDatesAtTheirEdges: quests whose ids are one
// UUID in other letter cases or with spaces around it are one quest
// (fine print 8: ids compared as UUIDs): the first by created_at, then
// the id's bytes, loads, the others merge onto it. (They failed the
// mapping on the target's primary key.) A habit log without created_at whose date is
// past the last timestamp's has no completed_at: it is rejected, naming
// the date (it failed the mapping on the cast); one dated infinity loads
// as infinity. The run verifies.
func TestRunTakesQuestIDsAndLogDatesAtTheirEdges(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	const id = "abcdef01-2345-4678-9abc-def012345678"
	// The habit of a completion that loads: its owner loads too.
	const habit = `(SELECT c.habit_id FROM habit_completions c JOIN habits h ON h.id = c.habit_id
		WHERE c.user_id = h.user_id ORDER BY c.id LIMIT 1)`
	src := editedSource(t, "edge_ids_dates", `
		INSERT INTO quests (id, user_id, title, category, created_at) VALUES
			('ABCDEF01-2345-4678-9ABC-DEF012345678', '', 'Upper', 'focus', '2025-03-04T10:15:00Z'),
			('`+id+`', '', 'Lower', 'focus', '2025-03-04T10:15:00Z'),
			(' `+id+` ', '', 'Spaced', 'focus', '2025-03-04T10:16:00Z');
		INSERT INTO habit_logs (id, habit_id, user_id, completed_date, created_at)
			SELECT 'e0000000-0000-4000-8000-000000000001'::uuid, h.id, h.user_id, '5874897-12-31'::date, NULL::timestamptz FROM habits h WHERE h.id = `+habit+`
			UNION ALL
			SELECT 'e0000000-0000-4000-8000-000000000002'::uuid, h.id, h.user_id, 'infinity'::date, NULL FROM habits h WHERE h.id = `+habit)
	dst := testkit.MigratedTarget(t)
	if _, err := Run(ctx, rerunConfig(src, dst)); err != nil {
		t.Fatalf("run: %v", err)
	}
	got := scalarOf[string](t, ctx, dst, `SELECT string_agg(format('%s %s %s', legacy_key, disposition, target_id), ' | ' ORDER BY legacy_key COLLATE "C")
		FROM cutover.dispositions WHERE legacy_table = 'quests' AND lower(trim(legacy_key)) = $1`, id)
	want := " " + id + "  merged " + id + " | ABCDEF01-2345-4678-9ABC-DEF012345678 loaded " + id + " | " + id + " merged " + id
	if got != want {
		t.Errorf("the quests of one id:\n got %s\nwant %s", got, want)
	}
	if title := scalarOf[string](t, ctx, dst, `SELECT title FROM user_quests WHERE id = $1`, id); title != "Upper" {
		t.Errorf("the quest of the id is %q, want the first by created_at and the id's bytes (Upper)", title)
	}
	msg := scalarOf[string](t, ctx, dst, `SELECT d.disposition || ' ' || d.reason || ': ' || coalesce(r.message, '') FROM cutover.dispositions d
		LEFT JOIN cutover.rejects r USING (legacy_table, legacy_key) WHERE legacy_table = 'habit_logs' AND legacy_key = 'e0000000-0000-4000-8000-000000000001'`)
	if want := "rejected invalid_value: column completed_date: 5874897-12-31 is past the last date"; !strings.HasPrefix(msg, want) {
		t.Errorf("the log dated 5874897-12-31: %q, want %q…", msg, want)
	}
	if at := scalarOf[string](t, ctx, dst, `SELECT completed_at::text FROM habit_completions WHERE id = 'e0000000-0000-4000-8000-000000000002'`); at != "infinity" {
		t.Errorf("the log dated infinity completed at %q, want infinity", at)
	}
	checkVerifies(t, ctx, src, dst)
}

// TestRunKeepsActivityMetadata: an activity's details are its metadata
// plus xp_earned and coins_earned (MAPPING.md). Metadata that is not an
// object, or that holds either key with another value than its column,
// would lose one of the two (it became a JSON array, or the column's
// value overwrote the metadata's): such a row is rejected, naming what.
// JSON null is no metadata, as SQL NULL is.
func TestRunKeepsActivityMetadata(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	// Events of users without a duplicate email: they load.
	const event = `(SELECT e.id FROM activity_events e WHERE NOT EXISTS (SELECT 1 FROM users o, users u
		WHERE u.id = e.user_id AND lower(o.email) = lower(u.email) AND o.id <> u.id) ORDER BY e.id OFFSET %d LIMIT 1)`
	edits := []struct {
		metadata string
		xp       int
		want     string // disposition and reason, or the details loaded
	}{
		{`[1, 2]`, 5, "rejected invalid_value: column metadata: a JSON array, not an object"},
		{`"text"`, 5, "rejected invalid_value: column metadata: a JSON string, not an object"},
		{`{"xp_earned": 999, "k": 1}`, 5, "rejected invalid_value: column metadata: holds xp_earned 999 and coins_earned (none), the columns 5 and"},
		{`{"xp_earned": 5, "k": 1}`, 5, `{"k": 1, "xp_earned": 5, "coins_earned": 2}`},
		{`null`, 5, `{"xp_earned": 5, "coins_earned": 2}`},
	}
	var sql []string
	for i, e := range edits {
		sql = append(sql, fmt.Sprintf(`UPDATE activity_events SET metadata = %s, xp_earned = %d, coins_earned = 2 WHERE id = `+event,
			lit(e.metadata), e.xp, i))
	}
	src := editedSource(t, "activity_metadata", strings.Join(sql, ";\n"))
	dst := testkit.MigratedTarget(t)
	if _, err := Run(ctx, rerunConfig(src, dst)); err != nil {
		t.Fatalf("run: %v", err)
	}
	for i, e := range edits {
		id := scalarOf[string](t, ctx, src, fmt.Sprintf(`SELECT `+event+`::text`, i))
		got := scalarOf[string](t, ctx, dst, `SELECT CASE d.disposition WHEN 'rejected' THEN d.disposition || ' ' || d.reason || ': ' || r.message
			ELSE (SELECT details::text FROM audit_log WHERE id = d.target_id) END
			FROM cutover.dispositions d LEFT JOIN cutover.rejects r USING (legacy_table, legacy_key)
			WHERE d.legacy_table = 'activity_events' AND d.legacy_key = $1`, id)
		if !strings.HasPrefix(got, e.want) {
			t.Errorf("metadata %s, xp_earned %d: %q, want %q…", e.metadata, e.xp, got, e.want)
		}
	}
	checkVerifies(t, ctx, src, dst)
}

// TestRerunJudgesSessionsAsTheTargetHoldsThem: a session loaded by a run
// has expired by the next run, which leaves the sessions mapping alone
// (time passing is not a change of its inputs) but redoes audit_log,
// which references sessions, for a change of its own. audit_log must see
// the session as the target holds it, loaded: it used to judge it expired
// at the new run's start and set the references of its rows NULL while
// the session stayed, which verify then failed on every later run.
func TestRerunJudgesSessionsAsTheTargetHoldsThem(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	expires := time.Date(2030, 1, 1, 0, 0, 0, 0, time.UTC)
	// A session audit rows point at, expiring at a known time.
	const session = `(SELECT a.session_id FROM audit_log a JOIN sessions s ON s.id = a.session_id JOIN users u ON u.id = s.user_id
		WHERE NOT EXISTS (SELECT 1 FROM users o WHERE lower(o.email) = lower(u.email) AND o.id <> u.id) ORDER BY a.id LIMIT 1)`
	expiring := `UPDATE sessions SET expires_at = '2030-01-01T00:00:00Z' WHERE id = ` + session
	src := editedSource(t, "expiring_session", expiring)
	id := scalarOf[string](t, ctx, src, `SELECT `+session+`::text`)
	refs := scalarOf[int64](t, ctx, src, `SELECT count(*) FROM audit_log WHERE session_id = $1`, id)

	dst := testkit.MigratedTarget(t)
	cfg := rerunConfig(src, dst)
	cfg.clock = func() time.Time { return expires.Add(-time.Hour) }
	if _, err := Run(ctx, cfg); err != nil {
		t.Fatal(err)
	}
	// An hour after the session expired, audit_log changed in the source.
	changed := editedSource(t, "expiring_session_audit_changed", expiring+`;
		UPDATE audit_log SET details = '{"edited": true}' WHERE id = (SELECT id FROM audit_log WHERE session_id IS NULL ORDER BY id LIMIT 1)`)
	cfg = rerunConfig(changed, dst)
	cfg.clock = func() time.Time { return expires.Add(time.Hour) }
	if _, err := Run(ctx, cfg); err != nil {
		t.Fatal(err)
	}
	if n := scalarOf[int64](t, ctx, dst, `SELECT count(*) FROM sessions WHERE id = $1`, id); n != 1 {
		t.Fatalf("the session is not in the target (%d): the re-run redid sessions", n)
	}
	if n := scalarOf[int64](t, ctx, dst, `SELECT count(*) FROM audit_log WHERE session_id = $1`, id); n != refs || n == 0 {
		t.Errorf("%d audit rows reference the session in the target, the source has %d", n, refs)
	}
	checkVerifies(t, ctx, changed, dst)
}

// TestRunMergesOnlyOntoSeeds: a legacy catalog row whose natural key a
// row of the target holds merges onto it only when that row is a seed
// (fine print 5). A row the application wrote with the key is not the
// cutover's to overwrite: the dry run names it, and the run stops on it,
// naming it as a row it did not write (it used to merge onto it, taking
// over the application's row, and its error before that spoke of rows
// swapping values). Once the row is gone, the same command finishes, as
// a fresh run does.
func TestRunMergesOnlyOntoSeeds(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	const app, legacy = "f0000000-0000-4000-8000-000000000001", "f0000000-0000-4000-8000-000000000002"
	dst := finishedTarget(t)
	if _, err := pgtest.Connect(t, dst).Exec(ctx, `INSERT INTO public.market_items (id, key, name, category, cost_coins)
		VALUES ($1, 'new-thing', 'New thing (the application''s)', 'general', 7)`, app); err != nil {
		t.Fatal(err)
	}
	src := editedSource(t, "new_item", `INSERT INTO market_items (id, name, cost_coins, category) VALUES ('`+legacy+`', 'New Thing', 5, 'general')`)
	want := freshRun(t, src)

	diff, err := DryRun(ctx, rerunConfig(src, dst), 3)
	if err != nil {
		t.Fatal(err)
	}
	wantRefusal := []Refusal{{Mapping: "market_items@v21", Legacy: "market_items", Table: "market_items", Constraint: "unique index market_items_key_key",
		Definition: "(key)", Held: true, Count: 1, Keys: []string{legacy + " (held by the row the cutover did not write " + app + ")"}}}
	if d := cmp.Diff(wantRefusal, diff.Refusals); d != "" {
		t.Errorf("the dry run's refusals (-want +got):\n%s", d)
	}
	_, err = Run(ctx, rerunConfig(src, dst))
	var foreign *ForeignRowsError
	if !errors.As(err, &foreign) || !slices.Equal(foreign.IDs, []string{app}) || strings.Contains(err.Error(), "take each other's values") {
		t.Fatalf("run into a target whose row %s, the application's, holds a legacy item's key: %v; want a ForeignRowsError naming it alone", app, err)
	}
	if name := scalarOf[string](t, ctx, dst, `SELECT name FROM market_items WHERE id = $1`, app); name != "New thing (the application's)" {
		t.Errorf("the application's item was overwritten: %q", name)
	}
	if n := scalarOf[int64](t, ctx, dst, `SELECT count(*) FROM cutover.seeds_replaced WHERE target_id = $1`, app); n != 0 {
		t.Error("the application's item is kept as a replaced seed")
	}
	if _, err := pgtest.Connect(t, dst).Exec(ctx, `DELETE FROM public.market_items WHERE id = $1`, app); err != nil {
		t.Fatal(err)
	}
	if _, err := Run(ctx, rerunConfig(src, dst)); err != nil {
		t.Fatalf("run once the application's item is gone: %v", err)
	}
	testkit.SameAs(t, want, dst)
}

// TestReadTargetsSaysWhenAnIndexGoes: reading the target's catalog while
// a run drops an index to rebuild it (status, a dry run) found the index
// in its snapshot but no definition of it, and failed with a scan error
// ("cannot scan NULL into *string"). It now says which index went, and
// that a run is working.
func TestReadTargetsSaysWhenAnIndexGoes(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	dst := testkit.MigratedTarget(t)
	reader := pgtest.Connect(t, dst)
	tx, err := reader.BeginTx(ctx, pgx.TxOptions{IsoLevel: pgx.RepeatableRead})
	if err != nil {
		t.Fatal(err)
	}
	defer tx.Rollback(ctx)
	if _, err := tx.Exec(ctx, `SELECT FROM pg_index LIMIT 1`); err != nil { // the snapshot
		t.Fatal(err)
	}
	if _, err := pgtest.Connect(t, dst).Exec(ctx, `ALTER TABLE public.market_items DROP CONSTRAINT market_items_key_key`); err != nil {
		t.Fatal(err)
	}
	_, err = readTargets(ctx, tx)
	if !errors.Is(err, errIndexGone) || !strings.Contains(err.Error(), "index market_items_key_key of market_items") {
		t.Fatalf("read the catalog while an index went: %v, want errIndexGone naming it", err)
	}
}

// TestRerunHoldsTheParentsOfWhatItWrites: a re-run that writes a row
// referencing a parent in the target (a new reading session of a book the
// target holds) checks the key set-based, as a superuser, with the key's
// triggers off. The application deleting that book before the run commits
// used to go through at once: the run committed a session whose book was
// gone, under a key still marked valid. The run now holds the book, as
// the key's trigger would: the delete waits for the run's commit and then
// cascades, and no row of the target breaks the key.
func TestRerunHoldsTheParentsOfWhatItWrites(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	// A book of a user without a duplicate email: the user and the book load.
	const book = `(SELECT b.id FROM books b JOIN users u ON u.id = b.user_id WHERE NOT EXISTS (SELECT 1 FROM users o
		WHERE lower(o.email) = lower(u.email) AND o.id <> u.id) ORDER BY b.id LIMIT 1)`
	src := editedSource(t, "new_reading_session", `INSERT INTO reading_sessions (id, book_id, user_id, pages_read, started_at)
		SELECT 'e1000000-0000-4000-8000-000000000001', b.id, b.user_id, 12, '2025-03-04T10:00:00Z' FROM books b WHERE b.id = `+book)
	id := scalarOf[string](t, ctx, src, `SELECT `+book+`::text`)
	dst := finishedTarget(t)
	app := pgtest.Connect(t, dst)
	cfg := rerunConfig(src, dst)
	deleted := make(chan error, 1)
	var waited bool
	SetHook(&cfg, func(point string) error {
		if point != "apply.commit:reading_sessions" {
			return nil
		}
		go func() {
			_, err := app.Exec(ctx, `DELETE FROM public.books WHERE id = $1`, id)
			deleted <- err
		}()
		select {
		case err := <-deleted:
			deleted <- err
		case <-time.After(time.Second):
			waited = true // the delete waits for the run's commit
		}
		return nil
	})
	if _, err := Run(ctx, cfg); err != nil {
		t.Fatalf("re-run: %v", err)
	}
	if err := <-deleted; err != nil {
		t.Fatalf("the application's delete of the book: %v", err)
	}
	if !waited {
		t.Error("the application deleted the book while the run had rows referencing it uncommitted")
	}
	if n := scalarOf[int64](t, ctx, dst, `SELECT count(*) FROM reading_sessions r WHERE NOT EXISTS (SELECT 1 FROM books b WHERE b.id = r.book_id)`); n != 0 {
		t.Errorf("%d reading sessions of the target reference no book", n)
	}
}

// userLoads holds for a legacy user u that the run loads: no other user's
// email equals its email ignoring case (the generator's only rejected
// users).
const userLoads = `NOT EXISTS (SELECT 1 FROM users o WHERE lower(o.email) = lower(u.email) AND o.id <> u.id)`

// TestRunDoesNotMergeAnotherUsersDriftRow: a user_inbox row, or a text
// quest, whose id is an inbox item (a user quest) of another user is not
// the same fact, so it is not merged onto it (user B's note would be lost
// into user A's, with only A's left in the target): it is rejected as a
// tenant mismatch, kept in the rejects with a message naming both users,
// and A's row is left as A's. The run verifies.
func TestRunDoesNotMergeAnotherUsersDriftRow(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	src := editedSource(t, "other_users_ids", `
		CREATE TEMP TABLE ok_users AS SELECT u.id FROM users u WHERE `+userLoads+`;
		CREATE TEMP TABLE a_item AS SELECT i.id, i.user_id FROM inbox_items i WHERE i.user_id IN (SELECT id FROM ok_users)
			AND NOT EXISTS (SELECT 1 FROM user_inbox x WHERE x.id = i.id) ORDER BY i.id LIMIT 1;
		CREATE TEMP TABLE a_quest AS SELECT q.id, q.user_id FROM user_quests q WHERE q.user_id IN (SELECT id FROM ok_users)
			AND NOT EXISTS (SELECT 1 FROM quests x WHERE lower(trim(x.id)) = q.id::text) ORDER BY q.id LIMIT 1;
		INSERT INTO user_inbox (id, user_id, title, description, created_at, updated_at)
			SELECT a.id, (SELECT min(u.id::text)::uuid FROM ok_users u WHERE u.id <> a.user_id), 'B private note', 'only B wrote this',
				'2025-03-04T10:15:00Z', '2025-03-04T10:15:00Z' FROM a_item a;
		INSERT INTO quests (id, user_id, title, category, created_at)
			SELECT a.id::text, (SELECT min(u.id::text) FROM ok_users u WHERE u.id <> a.user_id), 'B quest', 'focus', '2025-03-04T10:15:00Z'
			FROM a_quest a;
		CREATE TEMP TABLE universal_copy AS SELECT q.id FROM user_quests q WHERE q.user_id IS NULL
			AND NOT EXISTS (SELECT 1 FROM quests x WHERE lower(trim(x.id)) = q.id::text) ORDER BY q.id LIMIT 1;
		INSERT INTO quests (id, user_id, title, category, created_at)
			SELECT id::text, 'not-a-uuid', 'Whose quest?', 'focus', '2025-03-04T10:15:00Z' FROM universal_copy;
		CREATE SCHEMA attic;
		CREATE TABLE attic.edited AS SELECT 'user_inbox' AS t, id::text AS k, user_id::text AS a FROM a_item
			UNION ALL SELECT 'quests', id::text, user_id::text FROM a_quest
			UNION ALL SELECT 'unknown user', id::text, NULL FROM universal_copy`)
	dst := testkit.MigratedTarget(t)
	if _, err := Run(ctx, rerunConfig(src, dst)); err != nil {
		t.Fatalf("run: %v", err)
	}
	for _, c := range []struct{ legacy, target string }{{"user_inbox", "inbox_items"}, {"quests", "user_quests"}} {
		key := scalarOf[string](t, ctx, src, `SELECT k FROM attic.edited WHERE t = $1`, c.legacy)
		owner := scalarOf[string](t, ctx, src, `SELECT a FROM attic.edited WHERE t = $1`, c.legacy)
		got := scalarOf[string](t, ctx, dst, `SELECT d.disposition || ' ' || d.reason || ': ' || coalesce(r.message, '(no reject row)')
			FROM cutover.dispositions d LEFT JOIN cutover.rejects r USING (legacy_table, legacy_key)
			WHERE d.legacy_table = $1 AND d.legacy_key = $2`, c.legacy, key)
		if !strings.HasPrefix(got, "rejected tenant_mismatch: id "+key+" is ") || !strings.Contains(got, "user "+owner) || !strings.Contains(got, "not merged") {
			t.Errorf("%s %s, of another user than %s's row of its id: %s\nwant rejected tenant_mismatch, naming user %s", c.legacy, key, c.target, got, owner)
		}
		if got := scalarOf[string](t, ctx, dst, `SELECT user_id::text || ' ' || title FROM public.`+c.target+` WHERE id = $1::uuid`, key); strings.HasPrefix(got, owner+" B ") || !strings.HasPrefix(got, owner+" ") {
			t.Errorf("%s %s is %q, want user %s's own row", c.target, key, got, owner)
		}
	}
	// A quest whose user_id is no uuid has no known user: neither merged
	// onto a universal quest's copy (no user either) nor a tenant
	// mismatch, but rejected by the checks.
	key := scalarOf[string](t, ctx, src, `SELECT k FROM attic.edited WHERE t = 'unknown user'`)
	if got := scalarOf[string](t, ctx, dst, `SELECT disposition || ' ' || reason FROM cutover.dispositions WHERE legacy_table = 'quests' AND legacy_key = $1`, key); got != "rejected invalid_value" {
		t.Errorf("quest %s of user_id 'not-a-uuid', with a universal copy's id: %s, want rejected invalid_value", key, got)
	}
	checkVerifies(t, ctx, src, dst)
}

// TestRunKeepsEachUsersQuestOfOneID: a review found three ways a drift
// row was judged against rows that do not reach the target as it does:
//   - two text quests whose ids are one UUID in other letter cases, of two
//     users: the second merged into the first (duplicate_in_table), so
//     user B's quest was lost into user A's, and verify passed. It is
//     rejected (tenant_mismatch), naming the quest that keeps the id and
//     both users; verify compares the user of a row merged onto the first
//     of its id (a ledger edited to merge it fails);
//   - a text quest whose derived id a legacy user_quests row holds
//     stopped the run on the target's primary key: rejected (id_taken);
//   - a habit log with the id of a completion that is itself rejected was
//     rejected as id_taken, though no row keeps the id: it loads.
func TestRunKeepsEachUsersQuestOfOneID(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	src := editedSource(t, "quests_of_one_id", `
		CREATE SCHEMA attic;
		CREATE TABLE attic.u AS SELECT u.id, row_number() OVER (ORDER BY u.id) AS n FROM users u WHERE `+userLoads+` ORDER BY u.id LIMIT 2;
		CREATE TABLE attic.habit AS SELECT h.id, h.user_id FROM habits h WHERE h.user_id = (SELECT id FROM attic.u WHERE n = 1) ORDER BY h.id LIMIT 1;
		INSERT INTO quests (id, user_id, title, category, created_at) VALUES
			('CCCCCCCC-0000-4000-8000-000000000001', (SELECT id::text FROM attic.u WHERE n = 1), 'Q1 of A', 'focus', '2021-01-01T00:00:00Z'),
			('cccccccc-0000-4000-8000-000000000001', (SELECT id::text FROM attic.u WHERE n = 2), 'Q2 of B', 'focus', '2021-01-02T00:00:00Z'),
			('q_collide', (SELECT id::text FROM attic.u WHERE n = 1), 'Derived', 'focus', '2021-01-03T00:00:00Z');
		INSERT INTO user_quests (id, user_id, title, category)
			VALUES (`+transform.DerivedIDSQL("quests", "'q_collide'")+`, (SELECT id FROM attic.u WHERE n = 2), 'B holds the id', 'focus');
		INSERT INTO habit_completions (id, habit_id, user_id, completed_date, completed_at)
			SELECT 'aaaaaaaa-0000-4000-8000-000000000001', h.id, (SELECT id FROM attic.u WHERE n = 2), '2001-01-01', '2001-01-01T12:00:00Z' FROM attic.habit h;
		INSERT INTO habit_logs (id, habit_id, user_id, completed_date, created_at)
			SELECT 'aaaaaaaa-0000-4000-8000-000000000001', h.id, h.user_id, '2001-01-02', '2001-01-02T08:00:00Z' FROM attic.habit h`)
	dst := testkit.MigratedTarget(t)
	if _, err := Run(ctx, rerunConfig(src, dst)); err != nil {
		t.Fatalf("run: %v", err)
	}
	users := scalarOf[[]string](t, ctx, src, `SELECT array_agg(id::text ORDER BY n) FROM attic.u`)
	derived := transform.DerivedID("quests", "q_collide").String()
	const fate = `SELECT d.disposition || ' ' || coalesce(d.reason, '') || ' ' || coalesce(d.target_id::text, '-') || ': ' || coalesce(r.message, '')
		FROM cutover.dispositions d LEFT JOIN cutover.rejects r USING (legacy_table, legacy_key) WHERE d.legacy_table = $1 AND d.legacy_key = $2`
	for _, c := range []struct{ legacy, key, want string }{
		{"quests", "CCCCCCCC-0000-4000-8000-000000000001", "loaded  cccccccc-0000-4000-8000-000000000001: "},
		{"quests", "cccccccc-0000-4000-8000-000000000001", "rejected tenant_mismatch -: quests row CCCCCCCC-0000-4000-8000-000000000001, the first with the same id, is of user " +
			users[0] + ", and this row is of user " + users[1] + ": not the same fact, so not merged"},
		{"quests", "q_collide", "rejected id_taken -: id " + derived + ", derived from this quest's id, is the id of a legacy user_quests row, which keeps it"},
		{"user_quests", derived, "loaded  " + derived + ": "},
		{"habit_completions", "aaaaaaaa-0000-4000-8000-000000000001", "rejected tenant_mismatch -: "},
		{"habit_logs", "aaaaaaaa-0000-4000-8000-000000000001", "loaded  aaaaaaaa-0000-4000-8000-000000000001: "},
	} {
		if got := scalarOf[string](t, ctx, dst, fate, c.legacy, c.key); !strings.HasPrefix(got, c.want) {
			t.Errorf("%s %s: %q\nwant %q…", c.legacy, c.key, got, c.want)
		}
	}
	if got := scalarOf[string](t, ctx, dst, `SELECT user_id::text || ' ' || title FROM user_quests WHERE id = 'cccccccc-0000-4000-8000-000000000001'`); got != users[0]+" Q1 of A" {
		t.Errorf("the user quest of the id: %q, want user A's own", got)
	}
	checkVerifies(t, ctx, src, dst)

	// B's quest recorded as merged onto A's: verify names it.
	if err := withConn(ctx, dst, func(c *pgx.Conn) error {
		_, err := c.Exec(ctx, `DELETE FROM cutover.rejects WHERE legacy_table = 'quests' AND legacy_key = 'cccccccc-0000-4000-8000-000000000001';
			UPDATE cutover.dispositions SET disposition = 'merged', reason = 'duplicate_in_table', target_table = 'user_quests',
				target_id = 'cccccccc-0000-4000-8000-000000000001'
			WHERE legacy_table = 'quests' AND legacy_key = 'cccccccc-0000-4000-8000-000000000001'`)
		return err
	}); err != nil {
		t.Fatal(err)
	}
	var found []string
	for _, f := range verifyFailures(t, ctx, src, dst) {
		found = append(found, f.Kind+" "+f.Table+" "+f.Key+": "+f.Message)
	}
	if !slices.ContainsFunc(found, func(f string) bool {
		return strings.HasPrefix(f, "merged_elsewhere quests cccccccc-0000-4000-8000-000000000001: ") && strings.Contains(f, "user_id: legacy "+users[1]+", target "+users[0])
	}) {
		t.Errorf("verify of B's quest merged onto A's: %q, want merged_elsewhere naming the users", found)
	}
}

// TestRunRejectsARowJoiningATableUnderATakenID: activity_events fold into
// audit_log with their own ids, and habit logs load into habit_completions
// with theirs. An activity with a legacy audit entry's id, or a log with
// the id of a completion of another day, stopped the whole cutover on the
// target's primary key, and every re-run again. Each is rejected
// (id_taken), naming the id, and the row holding it loads; the run
// verifies.
func TestRunRejectsARowJoiningATableUnderATakenID(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	src := editedSource(t, "taken_ids", `
		CREATE SCHEMA attic;
		CREATE TABLE attic.taken AS
			SELECT 'activity_events' AS t, (SELECT a.id FROM audit_log a JOIN users u ON u.id = a.user_id WHERE `+userLoads+` ORDER BY a.id LIMIT 1) AS id
			UNION ALL
			SELECT 'habit_logs', (SELECT c.id FROM habit_completions c JOIN habits h ON h.id = c.habit_id AND h.user_id = c.user_id
				JOIN users u ON u.id = c.user_id WHERE `+userLoads+` ORDER BY c.id LIMIT 1);
		UPDATE activity_events SET id = (SELECT id FROM attic.taken WHERE t = 'activity_events')
			WHERE id = (SELECT e.id FROM activity_events e JOIN users u ON u.id = e.user_id WHERE `+userLoads+`
				AND jsonb_typeof(e.metadata) = 'object' AND NOT e.metadata ? 'xp_earned' AND NOT e.metadata ? 'coins_earned' ORDER BY e.id LIMIT 1);
		INSERT INTO habit_logs (id, habit_id, user_id, completed_date, created_at)
			SELECT c.id, c.habit_id, c.user_id, c.completed_date + 5000, '2025-03-04T10:15:00Z' FROM habit_completions c
			WHERE c.id = (SELECT id FROM attic.taken WHERE t = 'habit_logs')`)
	dst := testkit.MigratedTarget(t)
	if _, err := Run(ctx, rerunConfig(src, dst)); err != nil {
		t.Fatalf("run with rows under ids their target table's own legacy table holds: %v", err)
	}
	for _, c := range []struct{ legacy, owner string }{{"activity_events", "audit_log"}, {"habit_logs", "habit_completions"}} {
		id := scalarOf[string](t, ctx, src, `SELECT id::text FROM attic.taken WHERE t = $1`, c.legacy)
		got := scalarOf[string](t, ctx, dst, `SELECT d.disposition || ' ' || d.reason || ': ' || coalesce(r.message, '(no reject row)')
			FROM cutover.dispositions d LEFT JOIN cutover.rejects r USING (legacy_table, legacy_key)
			WHERE d.legacy_table = $1 AND d.legacy_key = $2`, c.legacy, id)
		if want := "rejected id_taken: id " + id + " is the id of a legacy " + c.owner + " row"; !strings.HasPrefix(got, want) {
			t.Errorf("%s %s: %s\nwant %s…", c.legacy, id, got, want)
		}
		if got := scalarOf[string](t, ctx, dst, `SELECT disposition FROM cutover.dispositions WHERE legacy_table = $1 AND legacy_key = $2`, c.owner, id); got != "loaded" {
			t.Errorf("the %s row of id %s: %s, want loaded", c.owner, id, got)
		}
	}
	checkVerifies(t, ctx, src, dst)
	// The ids freed in the source (the audit entry and the completion
	// deleted), a re-run loads the rejected rows under them, as a fresh
	// run does.
	if err := withConn(ctx, src, func(c *pgx.Conn) error {
		_, err := c.Exec(ctx, `DELETE FROM audit_log WHERE id = (SELECT id FROM attic.taken WHERE t = 'activity_events');
			DELETE FROM habit_completions WHERE id = (SELECT id FROM attic.taken WHERE t = 'habit_logs')`)
		return err
	}); err != nil {
		t.Fatal(err)
	}
	if _, err := Run(ctx, rerunConfig(src, dst)); err != nil {
		t.Fatalf("re-run after the ids were freed: %v", err)
	}
	for c, want := range map[string]string{"activity_events": "folded", "habit_logs": "loaded"} {
		id := scalarOf[string](t, ctx, src, `SELECT id::text FROM attic.taken WHERE t = $1`, c)
		if got := scalarOf[string](t, ctx, dst, `SELECT disposition || ' ' || target_id FROM cutover.dispositions WHERE legacy_table = $1 AND legacy_key = $2`, c, id); got != want+" "+id {
			t.Errorf("%s %s after its id was freed: %s, want %s under its id", c, id, got, want)
		}
	}
	checkVerifies(t, ctx, src, dst)
	testkit.SameAs(t, freshRun(t, src), dst)
}

// TestRunFoldsARewardTheLedgerHolds: a claimed reward folds into
// points_ledger under a derived id and the idempotency key
// 'legacy-reward:' || its id. A legacy ledger row of the reward's user
// under that key records the same reward: the reward merges onto it (it
// stopped the run on the target's unique key). A legacy ledger row under
// the reward's derived id is another fact with its id: the reward is
// rejected (id_taken), where a fresh run stopped on the primary key and a
// re-run wrote the reward over the ledger row. The run verifies.
func TestRunFoldsARewardTheLedgerHolds(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	src := editedSource(t, "rewards_in_ledger", `
		CREATE SCHEMA attic;
		CREATE TABLE attic.rewards AS SELECT r.id, r.user_id, row_number() OVER (ORDER BY r.id) AS n
			FROM user_rewards r JOIN users u ON u.id = r.user_id WHERE r.claimed AND `+userLoads+` ORDER BY r.id LIMIT 2;
		INSERT INTO points_ledger (id, user_id, event_type, coins, xp, reason, idempotency_key, created_at)
			SELECT 'ab000000-0000-4000-8000-000000000001', user_id, 'reward', 3, 0, 'recorded by the application', 'legacy-reward:' || id, '2025-03-04T10:15:00Z'
			FROM attic.rewards WHERE n = 1;
		INSERT INTO points_ledger (id, user_id, event_type, coins, xp, reason, idempotency_key, created_at)
			SELECT `+transform.DerivedIDSQL("user_rewards", "id::text")+`, user_id, 'manual', 7, 0, 'another fact', 'manual-7', '2025-03-04T10:15:00Z'
			FROM attic.rewards WHERE n = 2`)
	dst := testkit.MigratedTarget(t)
	if _, err := Run(ctx, rerunConfig(src, dst)); err != nil {
		t.Fatalf("run: %v", err)
	}
	keys := scalarOf[[]string](t, ctx, src, `SELECT array_agg(id::text ORDER BY n) FROM attic.rewards`)
	const fate = `SELECT d.disposition || ' ' || d.reason || ' ' || coalesce(d.target_id::text, '-') || ': ' || coalesce(r.message, '')
		FROM cutover.dispositions d LEFT JOIN cutover.rejects r USING (legacy_table, legacy_key) WHERE d.legacy_table = 'user_rewards' AND d.legacy_key = $1`
	if got := scalarOf[string](t, ctx, dst, fate, keys[0]); got != "merged duplicate_ledger_entry ab000000-0000-4000-8000-000000000001: " {
		t.Errorf("the reward the ledger records under its key: %q, want merged onto that ledger row", got)
	}
	derived := transform.DerivedID("user_rewards", keys[1]).String()
	if got := scalarOf[string](t, ctx, dst, fate, keys[1]); !strings.HasPrefix(got, "rejected id_taken -: id "+derived+", derived from this reward's id, is the id of a legacy points_ledger row") {
		t.Errorf("the reward whose derived id a ledger row has: %q, want rejected id_taken", got)
	}
	if got := scalarOf[string](t, ctx, dst, `SELECT reason || ' ' || coins FROM points_ledger WHERE id = $1`, derived); got != "another fact 7" {
		t.Errorf("the ledger row under the reward's derived id: %q, want the ledger row's own", got)
	}
	checkVerifies(t, ctx, src, dst)
	// The ledger row gone from the source, a re-run folds the reward under
	// its id; back, a re-run gives the id to the ledger row again, as a
	// fresh run does (a re-run wrote the reward over it).
	for _, edit := range []string{
		`CREATE TABLE attic.ledger AS SELECT * FROM points_ledger WHERE id = '` + derived + `'; DELETE FROM points_ledger WHERE id = '` + derived + `'`,
		`INSERT INTO points_ledger SELECT * FROM attic.ledger`,
	} {
		if err := withConn(ctx, src, func(c *pgx.Conn) error { _, err := c.Exec(ctx, edit); return err }); err != nil {
			t.Fatal(err)
		}
		if _, err := Run(ctx, rerunConfig(src, dst)); err != nil {
			t.Fatalf("re-run after %s: %v", edit, err)
		}
		testkit.SameAs(t, freshRun(t, src), dst)
	}
	checkVerifies(t, ctx, src, dst)
}

// TestRerunWritesEqualValuesThatPrintOtherwise: a source value changed
// into one its type holds equal but prints otherwise (a real -0 into 0, a
// jsonb number 1.50 into 1.5, 74 into 74.0) is a change: the re-run writes
// it into a loaded row, an archived row and a seed a catalog row merged
// onto, where the runs' checks (IS DISTINCT FROM) took the two for the
// same, left the old one in place for good, and verify, which compares
// text, failed on it.
func TestRerunWritesEqualValuesThatPrintOtherwise(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	src := editedSource(t, "equal_values", `SELECT 1`)
	dst := testkit.MigratedTarget(t)
	if _, err := Run(ctx, rerunConfig(src, dst)); err != nil {
		t.Fatalf("run: %v", err)
	}
	event := scalarOf[string](t, ctx, dst, `SELECT id::text FROM analysis_events ORDER BY id LIMIT 1`)
	plan := scalarOf[string](t, ctx, dst, `SELECT id::text FROM daily_plans ORDER BY id LIMIT 1`)
	template := scalarOf[string](t, ctx, dst, `SELECT legacy_key FROM cutover.archive WHERE legacy_table = 'plan_templates' ORDER BY legacy_key LIMIT 1`)
	if merged := scalarOf[string](t, ctx, dst, `SELECT disposition || ' ' || reason FROM cutover.dispositions d JOIN achievement_definitions a ON a.id = d.target_id
		WHERE d.legacy_table = 'achievement_definitions' AND a.key = 'first_focus'`); merged != "merged natural_key" {
		t.Fatalf("legacy first_focus: %s, want merged onto the seed", merged)
	}
	for i, edit := range []string{
		`UPDATE analysis_events SET confidence = '-0' WHERE id = '` + event + `';
		UPDATE daily_plans SET items = items || '[1.50]' WHERE id = '` + plan + `';
		UPDATE plan_templates SET items = items || '[1.50]' WHERE id = '` + template + `'`,
		`UPDATE analysis_events SET confidence = '0' WHERE id = '` + event + `';
		UPDATE daily_plans SET items = (items - (jsonb_array_length(items) - 1)) || '[1.5]' WHERE id = '` + plan + `';
		UPDATE plan_templates SET items = (items - (jsonb_array_length(items) - 1)) || '[1.5]' WHERE id = '` + template + `';
		UPDATE achievement_definitions SET trigger_config = jsonb_set(trigger_config, '{count}', to_jsonb((trigger_config->>'count')::numeric + 0.0))
			WHERE key = 'first_focus'`,
	} {
		if err := withConn(ctx, src, func(c *pgx.Conn) error { _, err := c.Exec(ctx, edit); return err }); err != nil {
			t.Fatal(err)
		}
		if i == 1 { // the dry run sees these changes too
			dry, err := DryRun(ctx, rerunConfig(src, dst), 0)
			if err != nil {
				t.Fatalf("dry run: %v", err)
			}
			updates := map[string]int64{}
			for _, td := range dry.Targets {
				updates[td.Table] = td.Update
			}
			if d := cmp.Diff(map[string]int64{"analysis_events": 1, "daily_plans": 1, "achievement_definitions": 1},
				map[string]int64{"analysis_events": updates["analysis_events"], "daily_plans": updates["daily_plans"], "achievement_definitions": updates["achievement_definitions"]}); d != "" {
				t.Errorf("the dry run's updates (-want +got):\n%s", d)
			}
		}
		if _, err := Run(ctx, rerunConfig(src, dst)); err != nil {
			t.Fatalf("re-run %d: %v", i+1, err)
		}
	}
	for _, c := range []struct{ what, src, dst string }{
		{"analysis_events.confidence", `SELECT confidence::text FROM analysis_events WHERE id = '` + event + `'`, `SELECT confidence::text FROM analysis_events WHERE id = '` + event + `'`},
		{"daily_plans.items", `SELECT items::text FROM daily_plans WHERE id = '` + plan + `'`, `SELECT items::text FROM daily_plans WHERE id = '` + plan + `'`},
		{"archived plan_templates.items", `SELECT items::text FROM plan_templates WHERE id = '` + template + `'`,
			`SELECT (row->'items')::text FROM cutover.archive WHERE legacy_table = 'plan_templates' AND legacy_key = '` + template + `'`},
		{"first_focus.trigger_config", `SELECT trigger_config::text FROM achievement_definitions WHERE key = 'first_focus'`,
			`SELECT trigger_config::text FROM achievement_definitions WHERE key = 'first_focus'`},
	} {
		want, got := scalarOf[string](t, ctx, src, c.src), scalarOf[string](t, ctx, dst, c.dst)
		if got != want || strings.Contains(want, "1.50") || want == "-0" {
			t.Errorf("%s: the target holds %s, the source %s", c.what, got, want)
		}
	}
	testkit.SameAs(t, freshRun(t, src), dst)
	checkVerifies(t, ctx, src, dst)
}

// TestKeptRowsKeepNegativeZeroAndArrayBounds: an archived row's real -0
// and a rejected row's array bounds are kept (as their text: jsonb has no
// negative zero, a JSON array no bounds), where to_jsonb kept 0 and a
// plain array, and verify, which built the same JSON from the source, saw
// nothing; it now sees the archive's value changed back to 0.
func TestKeptRowsKeepNegativeZeroAndArrayBounds(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	src := editedSource(t, "kept_fidelity", `UPDATE personal_records SET value = '-0' WHERE id = (SELECT min(id::text)::uuid FROM personal_records)`)
	dst := testkit.MigratedTarget(t)
	if _, err := Run(ctx, rerunConfig(src, dst)); err != nil {
		t.Fatalf("run: %v", err)
	}
	record := scalarOf[string](t, ctx, src, `SELECT min(id::text) FROM personal_records`)
	if got := scalarOf[string](t, ctx, dst, `SELECT (row->'value')::text FROM cutover.archive WHERE legacy_table = 'personal_records' AND legacy_key = $1`, record); got != `"-0"` {
		t.Errorf("archived personal_records value: %s, want \"-0\"", got)
	}
	item := scalarOf[string](t, ctx, dst, `SELECT min(legacy_key) FROM cutover.rejects WHERE legacy_table = 'inbox_items'`)
	if err := withConn(ctx, src, func(c *pgx.Conn) error {
		_, err := c.Exec(ctx, `UPDATE inbox_items SET tags = '[2:3]={a,b}' WHERE id = $1`, item)
		return err
	}); err != nil {
		t.Fatal(err)
	}
	if _, err := Run(ctx, rerunConfig(src, dst)); err != nil {
		t.Fatalf("re-run: %v", err)
	}
	if got := scalarOf[string](t, ctx, dst, `SELECT (row->'tags')::text FROM cutover.rejects WHERE legacy_table = 'inbox_items' AND legacy_key = $1`, item); got != `"[2:3]={a,b}"` {
		t.Errorf("rejected inbox item's tags: %s, want \"[2:3]={a,b}\"", got)
	}
	testkit.SameAs(t, freshRun(t, src), dst)
	checkVerifies(t, ctx, src, dst)
	if err := withConn(ctx, dst, func(c *pgx.Conn) error {
		_, err := c.Exec(ctx, `UPDATE cutover.archive SET row = jsonb_set(row, '{value}', '0') WHERE legacy_table = 'personal_records' AND legacy_key = $1`, record)
		return err
	}); err != nil {
		t.Fatal(err)
	}
	var found []string
	for _, f := range verifyFailures(t, ctx, src, dst) {
		found = append(found, f.Check+" "+f.Table+" "+f.Key)
	}
	if d := cmp.Diff([]string{reconcile.CheckKeptRows + " personal_records " + record}, found); d != "" {
		t.Errorf("verify's failures after the archive's -0 became 0 (-want +got):\n%s", d)
	}
}
