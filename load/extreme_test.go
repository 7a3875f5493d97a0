package load

import (
	"context"
	"strconv"
	"strings"
	"testing"

	"github.com/cutover/cutover/internal/testkit"
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
