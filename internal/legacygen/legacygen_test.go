package legacygen

import (
	"context"
	"flag"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"

	"github.com/google/go-cmp/cmp"
	"github.com/jackc/pgx/v5"

	cutover "github.com/cutover/cutover"
	"github.com/cutover/cutover/internal/pgtest"
	"github.com/cutover/cutover/mappings"
)

var update = flag.Bool("update", false, "rewrite testdata/legacy/<flavor>.catalog.golden")

func TestMain(m *testing.M) { os.Exit(pgtest.Main(m)) }

// TestSchemaCatalog builds each flavor with the drift tables and compares
// the rendered catalog with its golden file.
func TestSchemaCatalog(t *testing.T) {
	for _, flavor := range Flavors {
		t.Run(flavor, func(t *testing.T) {
			t.Parallel()
			url := pgtest.NewDB(t)
			if err := CreateSchema(context.Background(), url, flavor, true); err != nil {
				t.Fatal(err)
			}
			got := renderCatalog(t, pgtest.Connect(t, url))
			golden := filepath.Join("..", "..", "testdata", "legacy", flavor+".catalog.golden")
			if *update {
				if err := os.WriteFile(golden, []byte(strings.Join(got, "\n")+"\n"), 0o644); err != nil {
					t.Fatal(err)
				}
				return
			}
			compareGolden(t, flavor, got)
		})
	}
}

// renderCatalog runs testdata/legacy/catalog.sql.
func renderCatalog(t *testing.T, conn *pgx.Conn) []string {
	t.Helper()
	query, err := fs.ReadFile(cutover.LegacyFS, "testdata/legacy/catalog.sql")
	if err != nil {
		t.Fatal(err)
	}
	return pgtest.Strings(t, conn, string(query))
}

func compareGolden(t *testing.T, flavor string, got []string) {
	t.Helper()
	golden := filepath.Join("..", "..", "testdata", "legacy", flavor+".catalog.golden")
	b, err := os.ReadFile(golden)
	if err != nil {
		t.Fatal(err)
	}
	want := strings.Split(strings.TrimSuffix(string(b), "\n"), "\n")
	if diff := cmp.Diff(want, got); diff != "" {
		t.Errorf("catalog of %s differs from %s (-want +got):\n%s", flavor, golden, diff)
	}
}

func testOptions(flavor string, seed int64) Options {
	return Options{Flavor: flavor, Users: 40, Seed: seed, Anomalies: true, Drift: true, DuplicateEmails: 3}
}

// TestGenerate checks, per flavor, that every table has rows, the manifest
// counts and keys match the database, each planted anomaly is what the
// manifest says, and the same seed gives the same data.
func TestGenerate(t *testing.T) {
	for _, flavor := range Flavors {
		t.Run(flavor, func(t *testing.T) {
			t.Parallel()
			ctx := context.Background()
			url := pgtest.NewDB(t)
			m, err := Generate(ctx, url, testOptions(flavor, 7))
			if err != nil {
				t.Fatal(err)
			}
			conn := pgtest.Connect(t, url)
			// Generate drops the keys while it copies: they are all back.
			if !*update {
				compareGolden(t, flavor, renderCatalog(t, conn))
			}

			tables := pgtest.PublicTables(t, conn)
			if len(tables) != len(m.Tables) {
				t.Errorf("database has %d tables, manifest %d", len(tables), len(m.Tables))
			}
			for _, tb := range tables {
				var n int64
				if err := conn.QueryRow(ctx, "SELECT count(*) FROM "+pgx.Identifier{tb}.Sanitize()).Scan(&n); err != nil {
					t.Fatal(err)
				}
				if n == 0 {
					t.Errorf("table %s has no rows", tb)
				}
				if m.Tables[tb] != n {
					t.Errorf("table %s: manifest says %d rows, count(*) is %d", tb, m.Tables[tb], n)
				}
			}
			checkAnomalies(t, conn, m)

			// Same seed, fresh database: identical content.
			url2 := pgtest.NewDB(t)
			m2, err := Generate(ctx, url2, testOptions(flavor, 7))
			if err != nil {
				t.Fatal(err)
			}
			if diff := cmp.Diff(m, m2); diff != "" {
				t.Errorf("manifests of two runs differ:\n%s", diff)
			}
			a, b := checksums(t, conn, tables), checksums(t, pgtest.Connect(t, url2), tables)
			if diff := cmp.Diff(a, b); diff != "" {
				t.Errorf("two runs with the same seed differ (table → md5):\n%s", diff)
			}
		})
	}
}

func checksums(t *testing.T, conn *pgx.Conn, tables []string) map[string]string {
	t.Helper()
	out := map[string]string{}
	for _, tb := range tables {
		var sum string
		q := fmt.Sprintf(`SELECT md5(coalesce(string_agg(x::text, E'\n' ORDER BY x::text COLLATE "C"), '')) FROM %s x`, pgx.Identifier{tb}.Sanitize())
		if err := conn.QueryRow(context.Background(), q).Scan(&sum); err != nil {
			t.Fatal(err)
		}
		out[tb] = sum
	}
	return out
}

// pkExpr is the text of a table's primary key, composite keys joined with ",".
func pkExpr(t *testing.T, conn *pgx.Conn, table string) string {
	t.Helper()
	rows, err := conn.Query(context.Background(), `SELECT a.attname::text
		FROM pg_index i JOIN unnest(i.indkey) WITH ORDINALITY k(attnum, ord) ON true
		JOIN pg_attribute a ON a.attrelid = i.indrelid AND a.attnum = k.attnum
		WHERE i.indrelid = $1::regclass AND i.indisprimary ORDER BY k.ord`, table)
	if err != nil {
		t.Fatal(err)
	}
	cols, err := pgx.CollectRows(rows, pgx.RowTo[string])
	if err != nil || len(cols) == 0 {
		t.Fatalf("primary key of %s: %v", table, err)
	}
	for i, c := range cols {
		cols[i] = pgx.Identifier{c}.Sanitize() + "::text"
	}
	return "concat_ws(','," + strings.Join(cols, ",") + ")"
}

// checkAnomalies checks that every manifest key exists, that the kinds the
// issue asks for are all there, and that each planted fact holds in the data.
func checkAnomalies(t *testing.T, conn *pgx.Conn, m *Manifest) {
	t.Helper()
	ctx := context.Background()
	kinds := map[string]int{}
	byKind := map[string][]Anomaly{}
	seen := map[string]bool{}
	pks := map[string]string{}
	for _, a := range m.Anomalies {
		if pks[a.Table] == "" {
			pks[a.Table] = pkExpr(t, conn, a.Table)
		}
		k := a.Table + "/" + a.Kind
		kinds[k]++
		byKind[k] = append(byKind[k], a)
		if seen[a.Table+"/"+a.Key] {
			t.Errorf("%s %s is listed twice", a.Table, a.Key)
		}
		seen[a.Table+"/"+a.Key] = true
		if !slices.Contains(mappings.Dispositions, mappings.Disposition(a.Disposition)) {
			t.Errorf("%+v: unknown disposition", a)
		}
		var n int
		q := fmt.Sprintf("SELECT count(*) FROM %s WHERE %s = $1", pgx.Identifier{a.Table}.Sanitize(), pks[a.Table])
		if err := conn.QueryRow(ctx, q, a.Key).Scan(&n); err != nil {
			t.Fatal(err)
		}
		if n != 1 {
			t.Errorf("%s key %s (%s): %d rows", a.Table, a.Key, a.Kind, n)
		}
	}
	want := []string{
		"users/duplicate_email", "habits/duplicate_email_child", "books/duplicate_email_child",
		"sessions/expired_session", "user_wallet/wallet_ledger_mismatch", "roles/seeded_natural_key",
		"achievement_definitions/seeded_natural_key", "learn_topics/seeded_natural_key", "learn_lessons/seeded_natural_key",
		"learn_drills/seeded_natural_key", "market_items/seeded_natural_key", "onboarding_flows/seeded_natural_key",
		"onboarding_steps/seeded_natural_key",
		"habit_completions/tenant_mismatch", "reading_sessions/tenant_mismatch", "track_annotations/tenant_mismatch",
		"track_regions/tenant_mismatch", "exercise_sets/tenant_mismatch", "calendar_events/tenant_mismatch",
		"workout_sessions/tenant_mismatch", "audit_log/tenant_mismatch", "sessions/tenant_mismatch",
		"habit_logs/habit_log_new", "habit_logs/habit_log_duplicates_completion", "habit_logs/orphan",
		"habit_logs/tenant_mismatch", "habit_logs/habit_log_same_key", "habit_logs/habit_log_parent_rejected",
		"user_inbox/inbox_new", "user_inbox/inbox_duplicate_id", "user_inbox/inbox_duplicate_key", "user_inbox/orphan",
		"quests/quest_new", "quests/quest_valid_form", "quests/quest_invalid_value", "quests/orphan", "quests/quest_existing_id",
	}
	switch m.Flavor {
	case "v21":
		want = append(want, "market_items/slug_collision", "market_items/negative_cost", "user_market_purchases/negative_cost_child", "user_rewards/claimed_reward", "user_rewards/unclaimed_reward")
	case "v15":
		want = append(want, "focus_pause_state/pause_without_session")
	}
	for _, k := range want {
		if kinds[k] == 0 {
			t.Errorf("no anomaly %s in the manifest", k)
		}
	}
	if kinds["habit_logs/habit_log_same_key"] != 6 {
		t.Errorf("want 3 pairs of habit_logs with one key, got %d rows", kinds["habit_logs/habit_log_same_key"])
	}

	// Each planted fact holds in the data.
	facts := map[string]string{
		"users/duplicate_email": `SELECT count(*) FROM users u WHERE id::text = $1 AND EXISTS (
			SELECT 1 FROM users o WHERE lower(o.email) = lower(u.email) AND o.id <> u.id AND (o.created_at, o.id) < (u.created_at, u.id))
			AND EXISTS (SELECT 1 FROM habits h WHERE h.user_id = u.id)`,
		"sessions/expired_session":          `SELECT count(*) FROM sessions WHERE id::text = $1 AND expires_at < '2025-06-01'`,
		"habit_completions/tenant_mismatch": `SELECT count(*) FROM habit_completions c JOIN habits h ON h.id = c.habit_id WHERE c.id::text = $1 AND c.user_id <> h.user_id`,
		"reading_sessions/tenant_mismatch":  `SELECT count(*) FROM reading_sessions c JOIN books h ON h.id = c.book_id WHERE c.id::text = $1 AND c.user_id <> h.user_id`,
		"track_annotations/tenant_mismatch": `SELECT count(*) FROM track_annotations c JOIN reference_tracks h ON h.id = c.track_id WHERE c.id::text = $1 AND c.user_id <> h.user_id`,
		"track_regions/tenant_mismatch":     `SELECT count(*) FROM track_regions c JOIN reference_tracks h ON h.id = c.track_id WHERE c.id::text = $1 AND c.user_id <> h.user_id`,
		"exercise_sets/tenant_mismatch":     `SELECT count(*) FROM exercise_sets x JOIN workout_sessions w ON w.id = x.session_id JOIN exercises e ON e.id = x.exercise_id WHERE x.id::text = $1 AND e.user_id IS NOT NULL AND e.user_id <> w.user_id`,
		"calendar_events/tenant_mismatch": `SELECT count(*) FROM calendar_events e WHERE e.id::text = $1 AND (
			EXISTS (SELECT 1 FROM habits h WHERE h.id = e.habit_id AND h.user_id <> e.user_id)
			OR EXISTS (SELECT 1 FROM workouts w WHERE w.id = e.workout_id AND w.user_id <> e.user_id)
			OR EXISTS (SELECT 1 FROM goals g WHERE g.id = e.goal_id AND g.user_id <> e.user_id))`,
		"audit_log/tenant_mismatch": `SELECT count(*) FROM audit_log a JOIN sessions s ON s.id = a.session_id
			WHERE a.id::text = $1 AND s.user_id <> a.user_id AND s.expires_at > now()`,
		"sessions/tenant_mismatch": `SELECT count(*) FROM sessions s JOIN sessions f ON f.id = s.rotated_from
			WHERE s.id::text = $1 AND f.user_id <> s.user_id AND f.expires_at > now()`,
		"workout_sessions/tenant_mismatch":           `SELECT count(*) FROM workout_sessions s JOIN workouts w ON w.id = s.workout_id WHERE s.id::text = $1 AND s.user_id <> w.user_id`,
		"habit_logs/habit_log_duplicates_completion": `SELECT count(*) FROM habit_logs l JOIN habit_completions c USING (habit_id, completed_date) WHERE l.id::text = $1 AND l.user_id = c.user_id`,
		"habit_logs/habit_log_new":                   `SELECT count(*) FROM habit_logs l JOIN habits h ON h.id = l.habit_id AND h.user_id = l.user_id WHERE l.id::text = $1 AND NOT EXISTS (SELECT 1 FROM habit_completions c WHERE c.habit_id = l.habit_id AND c.completed_date = l.completed_date)`,
		"habit_logs/orphan":                          `SELECT count(*) FROM habit_logs l WHERE l.id::text = $1 AND NOT EXISTS (SELECT 1 FROM habits h WHERE h.id = l.habit_id)`,
		"habit_logs/tenant_mismatch":                 `SELECT count(*) FROM habit_logs l JOIN habits h ON h.id = l.habit_id WHERE l.id::text = $1 AND h.user_id <> l.user_id`,
		"user_inbox/inbox_duplicate_id":              `SELECT count(*) FROM user_inbox x JOIN inbox_items i USING (id) WHERE x.id::text = $1`,
		"user_inbox/inbox_duplicate_key":             `SELECT count(*) FROM user_inbox x JOIN inbox_items i USING (user_id, title, created_at) WHERE x.id::text = $1 AND x.id <> i.id`,
		"user_inbox/inbox_new":                       `SELECT count(*) FROM user_inbox x JOIN users u ON u.id = x.user_id WHERE x.id::text = $1 AND NOT EXISTS (SELECT 1 FROM inbox_items i WHERE i.id = x.id OR (i.user_id, i.title, i.created_at) = (x.user_id, x.title, x.created_at))`,
		"user_inbox/orphan":                          `SELECT count(*) FROM user_inbox x WHERE x.id::text = $1 AND NOT EXISTS (SELECT 1 FROM users u WHERE u.id = x.user_id)`,
		"quests/quest_existing_id":                   `SELECT count(*) FROM quests q JOIN user_quests u ON u.id::text = lower(q.id) WHERE q.id = $1`,
		"roles/seeded_natural_key":                   `SELECT count(*) FROM roles WHERE id::text = $1 AND name IN ('user', 'admin', 'moderator')`,
		"market_items/negative_cost":                 `SELECT count(*) FROM market_items WHERE id::text = $1 AND cost_coins < 0`,
		"user_market_purchases/negative_cost_child":  `SELECT count(*) FROM user_market_purchases p JOIN market_items i ON i.id = p.item_id WHERE p.id::text = $1 AND i.cost_coins < 0`,
		"focus_pause_state/pause_without_session":    `SELECT count(*) FROM focus_pause_state WHERE id::text = $1 AND session_id IS NULL`,
	}
	for k, q := range facts {
		for _, a := range byKind[k] {
			var n int
			if err := conn.QueryRow(ctx, q, a.Key).Scan(&n); err != nil {
				t.Fatalf("%s: %v", k, err)
			}
			if n != 1 {
				t.Errorf("%s %s: the planted fact does not hold (%d rows)", k, a.Key, n)
			}
		}
	}
	// Wallet findings disagree with the ledger; every other wallet agrees.
	ledger := `SELECT w.id::text, w.%s <> coalesce((SELECT sum(coins) FROM points_ledger l WHERE l.user_id = w.user_id), 0)%s
		FROM user_wallet w`
	col, extra := "coins", ""
	if m.Flavor == "v21" {
		col, extra = "total_coins", " + coalesce((SELECT sum(coins_earned) FROM user_rewards r WHERE r.user_id = w.user_id AND r.claimed), 0)"
	}
	rows, err := conn.Query(ctx, fmt.Sprintf(ledger, col, extra))
	if err != nil {
		t.Fatal(err)
	}
	mismatch := map[string]bool{}
	for _, a := range byKind["user_wallet/wallet_ledger_mismatch"] {
		mismatch[a.Key] = true
	}
	var id string
	var differs bool
	if _, err := pgx.ForEachRow(rows, []any{&id, &differs}, func() error {
		if differs != mismatch[id] {
			t.Errorf("wallet %s: differs from ledger = %v, listed as mismatch = %v", id, differs, mismatch[id])
		}
		return nil
	}); err != nil {
		t.Fatal(err)
	}
}

// TestCleanGenerate checks that without anomalies nothing is planted: the
// manifest lists only by-design outcomes and drift rows that load.
func TestCleanGenerate(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	url := pgtest.NewDB(t)
	m, err := Generate(ctx, url, Options{Flavor: "v21", Users: 25, Seed: 3, Drift: true})
	if err != nil {
		t.Fatal(err)
	}
	for _, a := range m.Anomalies {
		switch {
		case a.Kind == "seeded_natural_key" && (a.Table == "roles" || strings.HasPrefix(a.Table, "onboarding_")):
		case a.Kind == "claimed_reward" || a.Kind == "unclaimed_reward":
		case a.Disposition == string(mappings.Loaded):
		default:
			t.Errorf("clean data lists %+v", a)
		}
	}
	conn := pgtest.Connect(t, url)
	for q, want := range map[string]int{
		`SELECT count(*) - count(DISTINCT lower(email)) FROM users`:                                                                              0,
		`SELECT count(*) FROM sessions WHERE expires_at < '2025-06-01'`:                                                                          0,
		`SELECT count(*) FROM habit_completions c JOIN habits h ON h.id = c.habit_id WHERE c.user_id <> h.user_id`:                               0,
		`SELECT count(*) FROM achievement_definitions WHERE key IN ('first_focus', 'focus_10', 'habit_streak_7', 'first_book', 'first_workout')`: 0,
		`SELECT count(*) FROM habit_logs`: 20, // DriftRows: at least 20
	} {
		var n int
		if err := conn.QueryRow(ctx, q).Scan(&n); err != nil {
			t.Fatal(err)
		}
		if n != want {
			t.Errorf("%s: %d, want %d", q, n, want)
		}
	}
	if _, err := Generate(ctx, url, Options{Users: 5}); err == nil || !strings.Contains(err.Error(), "not empty") {
		t.Errorf("Generate on a filled database: %v, want a 'not empty' error", err)
	}
}

// TestTinyGenerate: anomalies and drift on a handful of users still give a
// consistent database (counts are capped by the users available).
func TestTinyGenerate(t *testing.T) {
	for _, n := range []int{1, 2} {
		t.Run(fmt.Sprint(n), func(t *testing.T) {
			t.Parallel()
			if _, err := Generate(context.Background(), pgtest.NewDB(t), Options{Flavor: "v15", Users: n, Seed: 1, Anomalies: true, Drift: true}); err != nil {
				t.Fatal(err)
			}
		})
	}
}
