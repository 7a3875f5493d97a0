package migrations_test

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"
	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgconn"
	"github.com/jackc/pgx/v5/stdlib"
	"github.com/pressly/goose/v3"
	"golang.org/x/sync/errgroup"

	"github.com/cutover/cutover/internal/dburl"
	"github.com/cutover/cutover/internal/pgcluster"
	"github.com/cutover/cutover/internal/pgtest"
	"github.com/cutover/cutover/migrations"
)

var update = flag.Bool("update", false, "rewrite testdata/schema/fk_graph.golden from the catalog")

func TestMain(m *testing.M) { os.Exit(pgtest.Main(m)) }

// targetTables is TARGET.md, file by file: the tables each migration creates.
var targetTables = []struct {
	file   string
	tables []string
}{
	{"0001_auth.sql", []string{"users", "accounts", "sessions", "roles", "user_roles", "audit_log"}},
	{"0002_gamification.sql", []string{"user_progress", "user_wallet", "points_ledger", "user_streaks", "achievement_definitions", "user_achievements"}},
	{"0003_focus.sql", []string{"focus_sessions", "focus_pause_state", "focus_libraries", "focus_library_tracks"}},
	{"0004_habits_goals.sql", []string{"habits", "habit_completions", "goals", "goal_milestones"}},
	{"0005_quests.sql", []string{"universal_quests", "user_quests", "user_quest_progress"}},
	{"0006_planning.sql", []string{"calendar_events", "daily_plans"}},
	{"0007_market.sql", []string{"market_items", "user_purchases", "market_transactions"}},
	{"0008_books.sql", []string{"books", "reading_sessions"}},
	{"0009_fitness.sql", []string{"exercises", "workouts", "workout_exercises", "workout_sessions", "exercise_sets", "training_programs"}},
	{"0010_learn.sql", []string{"learn_topics", "learn_lessons", "learn_drills", "user_lesson_progress", "user_drill_stats"}},
	{"0011_reference.sql", []string{"reference_tracks", "track_analyses", "track_annotations", "track_regions", "analysis_frame_manifests",
		"analysis_frame_data", "analysis_events", "listening_prompt_templates", "listening_prompt_presets"}},
	{"0012_platform.sql", []string{"feedback", "ideas", "infobase_entries", "onboarding_flows", "onboarding_steps", "user_onboarding_state",
		"user_onboarding_responses", "user_settings", "inbox_items", "user_references", "behavior_outbox", "behavior_projection_state",
		"decision_telemetry"}},
	{"0013_seeds.sql", nil},
}

// seededTables are the catalogs 0013_seeds.sql fills (TARGET.md, 0013_seeds).
var seededTables = []string{
	"roles", "achievement_definitions", "universal_quests", "market_items", "learn_topics", "learn_lessons",
	"learn_drills", "onboarding_flows", "onboarding_steps", "listening_prompt_templates",
}

func allTargetTables() []string {
	var all []string
	for _, f := range targetTables {
		all = append(all, f.tables...)
	}
	slices.Sort(all)
	return all
}

func fileNames() []string {
	var names []string
	for _, f := range targetTables {
		names = append(names, f.file)
	}
	return names
}

// migrated returns a new database with all migrations applied, cloned from a
// template that migrations.Apply builds once.
func migrated(t *testing.T) string {
	t.Helper()
	return pgtest.NewDBFrom(t, "migrated", func(ctx context.Context, url string) error {
		_, err := migrations.Apply(ctx, url, nil)
		return err
	})
}

func connect(t *testing.T, url string) *pgx.Conn {
	t.Helper()
	ctx := context.Background()
	conn, err := pgx.Connect(ctx, url)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { conn.Close(ctx) })
	return conn
}

func strings_(t *testing.T, conn *pgx.Conn, sql string, args ...any) []string {
	t.Helper()
	rows, err := conn.Query(context.Background(), sql, args...)
	if err != nil {
		t.Fatalf("%s: %v", sql, err)
	}
	out, err := pgx.CollectRows(rows, pgx.RowTo[string])
	if err != nil {
		t.Fatalf("%s: %v", sql, err)
	}
	return out
}

func publicTables(t *testing.T, conn *pgx.Conn) []string {
	t.Helper()
	return strings_(t, conn, `SELECT tablename::text FROM pg_tables WHERE schemaname = 'public' ORDER BY tablename COLLATE "C"`)
}

func TestFiles(t *testing.T) {
	t.Parallel()
	files, err := migrations.Files()
	if err != nil {
		t.Fatal(err)
	}
	var names []string
	for i, f := range files {
		names = append(names, f.Name)
		if f.Version != int64(i+1) {
			t.Errorf("%s: version %d, want %d", f.Name, f.Version, i+1)
		}
		if len(f.SHA256) != 64 {
			t.Errorf("%s: SHA256 %q is not a hex sha256", f.Name, f.SHA256)
		}
	}
	if diff := cmp.Diff(fileNames(), names); diff != "" {
		t.Errorf("embedded migrations differ from TARGET.md (-want +got):\n%s", diff)
	}
}

// TestApplyCreatesTheTargetSchema applies everything to an empty database:
// public holds the 63 tables of TARGET.md and nothing else.
func TestApplyCreatesTheTargetSchema(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	db := pgtest.NewDB(t)
	applied, err := migrations.Apply(ctx, db, nil)
	if err != nil {
		t.Fatal(err)
	}
	if diff := cmp.Diff(fileNames(), applied); diff != "" {
		t.Errorf("Apply applied (-want +got):\n%s", diff)
	}
	conn := connect(t, db)

	got := publicTables(t, conn)
	if len(got) != 63 {
		t.Errorf("public has %d tables, want 63", len(got))
	}
	if diff := cmp.Diff(allTargetTables(), got); diff != "" {
		t.Errorf("tables in public (-want +got):\n%s", diff)
	}

	nothing := []struct{ what, sql string }{
		{"relations other than tables and indexes (views, sequences, types…)", `
			SELECT relname || ' (relkind ' || relkind::text || ')' FROM pg_class
			WHERE relnamespace = 'public'::regnamespace AND relkind NOT IN ('r', 'i')`},
		{"functions or procedures", `
			SELECT proname::text FROM pg_proc WHERE pronamespace = 'public'::regnamespace`},
		{"types other than the tables' row types", `
			SELECT t.typname::text FROM pg_type t
			WHERE t.typnamespace = 'public'::regnamespace
			  AND t.typrelid = 0
			  AND NOT EXISTS (SELECT 1 FROM pg_type e WHERE e.oid = t.typelem AND e.typrelid <> 0)`},
		{"triggers", `
			SELECT tgname::text FROM pg_trigger
			WHERE NOT tgisinternal AND tgrelid IN (SELECT oid FROM pg_class WHERE relnamespace = 'public'::regnamespace)`},
		{"rules", `SELECT rulename::text FROM pg_rules WHERE schemaname = 'public'`},
		{"policies", `SELECT policyname::text FROM pg_policies WHERE schemaname = 'public'`},
		{"extensions besides plpgsql", `SELECT extname::text FROM pg_extension WHERE extname <> 'plpgsql'`},
		{"schemas besides public and " + migrations.BookkeepingSchema, `
			SELECT nspname::text FROM pg_namespace
			WHERE nspname NOT IN ('public', 'cutover', 'information_schema') AND nspname NOT LIKE 'pg\_%'`},
	}
	for _, n := range nothing {
		if extra := strings_(t, conn, n.sql); len(extra) > 0 {
			t.Errorf("public has %s: %v", n.what, extra)
		}
	}
	bookkeeping := strings_(t, conn, `SELECT tablename::text FROM pg_tables WHERE schemaname = $1 ORDER BY 1`, migrations.BookkeepingSchema)
	if diff := cmp.Diff([]string{"schema_checksums", "schema_migrations"}, bookkeeping); diff != "" {
		t.Errorf("tables in schema %s (-want +got):\n%s", migrations.BookkeepingSchema, diff)
	}
}

// TestEachFileCreatesItsTables applies the files one by one (with goose
// directly) and checks which tables each one adds.
func TestEachFileCreatesItsTables(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	db := pgtest.NewDB(t)
	conn := connect(t, db)
	if _, err := conn.Exec(ctx, "CREATE SCHEMA goose_test"); err != nil {
		t.Fatal(err)
	}
	cfg, err := pgx.ParseConfig(db)
	if err != nil {
		t.Fatal(err)
	}
	sqlDB := stdlib.OpenDB(*cfg)
	defer sqlDB.Close()
	p, err := goose.NewProvider(goose.DialectPostgres, sqlDB, migrations.FS(),
		goose.WithTableName("goose_test.versions"), goose.WithDisableGlobalRegistry(true))
	if err != nil {
		t.Fatal(err)
	}
	before := publicTables(t, conn)
	for _, f := range targetTables {
		res, err := p.UpByOne(ctx)
		if err != nil {
			t.Fatalf("%s: %v", f.file, err)
		}
		if got := filepath.Base(res.Source.Path); got != f.file {
			t.Fatalf("applied %s, want %s", got, f.file)
		}
		after := publicTables(t, conn)
		var added []string
		for _, tbl := range after {
			if !slices.Contains(before, tbl) {
				added = append(added, tbl)
			}
		}
		for _, tbl := range before {
			if !slices.Contains(after, tbl) {
				t.Errorf("%s dropped table %s", f.file, tbl)
			}
		}
		want := slices.Clone(f.tables)
		slices.Sort(want)
		if diff := cmp.Diff(want, added); diff != "" {
			t.Errorf("%s created (-want +got):\n%s", f.file, diff)
		}
		before = after
	}
	if _, err := p.UpByOne(ctx); !errors.Is(err, goose.ErrNoNextVersion) {
		t.Errorf("after 13 files UpByOne = %v, want ErrNoNextVersion", err)
	}
}

// fkGraphQuery is the query of testdata/schema/REVIEW.md.
const fkGraphQuery = `
SELECT fk FROM (
    SELECT format('%s.%s -> %s.%s ON DELETE %s',
                  child.relname, ca.attname, parent.relname, pa.attname,
                  CASE c.confdeltype
                      WHEN 'a' THEN 'NO ACTION'
                      WHEN 'r' THEN 'RESTRICT'
                      WHEN 'c' THEN 'CASCADE'
                      WHEN 'n' THEN 'SET NULL'
                      WHEN 'd' THEN 'SET DEFAULT'
                  END) AS fk
    FROM pg_constraint c
    JOIN pg_class child  ON child.oid  = c.conrelid
    JOIN pg_class parent ON parent.oid = c.confrelid
    JOIN pg_attribute ca ON ca.attrelid = c.conrelid  AND ca.attnum = c.conkey[1]
    JOIN pg_attribute pa ON pa.attrelid = c.confrelid AND pa.attnum = c.confkey[1]
    WHERE c.contype = 'f'
      AND c.connamespace = 'public'::regnamespace
) AS g
ORDER BY fk COLLATE "C"`

func TestFKGraph(t *testing.T) {
	t.Parallel()
	conn := connect(t, migrated(t))
	var multi int
	if err := conn.QueryRow(context.Background(), `SELECT count(*) FROM pg_constraint
		WHERE contype = 'f' AND connamespace = 'public'::regnamespace AND cardinality(conkey) <> 1`).Scan(&multi); err != nil {
		t.Fatal(err)
	}
	if multi != 0 {
		t.Errorf("%d multi-column foreign keys: the golden shows only their first column", multi)
	}
	got := strings.Join(strings_(t, conn, fkGraphQuery), "\n") + "\n"
	golden := filepath.Join("..", "testdata", "schema", "fk_graph.golden")
	if *update {
		if err := os.WriteFile(golden, []byte(got), 0o644); err != nil {
			t.Fatal(err)
		}
		t.Logf("rewrote %s", golden)
		return
	}
	want, err := os.ReadFile(golden)
	if err != nil {
		t.Fatal(err)
	}
	if diff := cmp.Diff(strings.Split(string(want), "\n"), strings.Split(got, "\n")); diff != "" {
		t.Errorf("FK graph differs from %s (-golden +catalog; rerun with -update to accept):\n%s", golden, diff)
	}
}

// TestUserColumns: every user_id is NOT NULL REFERENCES users(id), except
// the nullable ones TARGET.md names; author columns are nullable and SET NULL.
func TestUserColumns(t *testing.T) {
	t.Parallel()
	nullableUserID := map[string]string{ // table → ON DELETE
		"audit_log":   "SET NULL",  // the trail outlives the user
		"exercises":   "NO ACTION", // NULL = built-in exercise
		"user_quests": "NO ACTION", // NULL = universal quest copy
	}
	authorColumns := []string{ // all nullable, ON DELETE SET NULL
		"listening_prompt_presets.created_by",
		"listening_prompt_templates.created_by",
		"market_items.created_by_user_id",
		"universal_quests.created_by",
		"user_roles.granted_by",
	}

	conn := connect(t, migrated(t))
	rows, err := conn.Query(context.Background(), `
		SELECT c.relname::text, a.attname::text, format_type(a.atttypid, a.atttypmod), NOT a.attnotnull,
		       coalesce((SELECT string_agg(p.relname || '.' || pa.attname || ' ' ||
		                    CASE f.confdeltype WHEN 'a' THEN 'NO ACTION' WHEN 'r' THEN 'RESTRICT' WHEN 'c' THEN 'CASCADE'
		                                       WHEN 'n' THEN 'SET NULL' WHEN 'd' THEN 'SET DEFAULT' END, ', ')
		                 FROM pg_constraint f
		                 JOIN pg_class p ON p.oid = f.confrelid
		                 JOIN pg_attribute pa ON pa.attrelid = f.confrelid AND pa.attnum = f.confkey[1]
		                 WHERE f.contype = 'f' AND f.conrelid = c.oid AND f.conkey = ARRAY[a.attnum]), '')
		FROM pg_attribute a
		JOIN pg_class c ON c.oid = a.attrelid
		WHERE c.relnamespace = 'public'::regnamespace AND c.relkind = 'r' AND a.attnum > 0 AND NOT a.attisdropped
		  AND (a.attname = 'user_id' OR a.attname IN ('created_by', 'granted_by', 'created_by_user_id', 'author_id', 'owner_id'))
		ORDER BY 1, 2`)
	if err != nil {
		t.Fatal(err)
	}
	type column struct {
		table, name, typ string
		nullable         bool
		fk               string // "users.id CASCADE"
	}
	cols, err := pgx.CollectRows(rows, func(r pgx.CollectableRow) (column, error) {
		var c column
		err := r.Scan(&c.table, &c.name, &c.typ, &c.nullable, &c.fk)
		return c, err
	})
	if err != nil {
		t.Fatal(err)
	}
	userIDTables, gotNullable, gotAuthors := 0, map[string]bool{}, []string{}
	for _, c := range cols {
		where := c.table + "." + c.name
		if c.typ != "uuid" {
			t.Errorf("%s is %s, want uuid", where, c.typ)
		}
		if !strings.HasPrefix(c.fk, "users.id ") || strings.Contains(c.fk, ",") {
			t.Errorf("%s references %q, want exactly users(id)", where, c.fk)
			continue
		}
		action := strings.TrimPrefix(c.fk, "users.id ")
		if c.name != "user_id" {
			gotAuthors = append(gotAuthors, where)
			if !c.nullable || action != "SET NULL" {
				t.Errorf("author column %s: nullable=%v, ON DELETE %s; want nullable, SET NULL", where, c.nullable, action)
			}
			continue
		}
		userIDTables++
		if want, ok := nullableUserID[c.table]; ok {
			gotNullable[c.table] = true
			if !c.nullable || action != want {
				t.Errorf("%s: nullable=%v, ON DELETE %s; want nullable, %s", where, c.nullable, action, want)
			}
		} else if c.nullable {
			t.Errorf("%s is nullable; want NOT NULL REFERENCES users(id)", where)
		}
	}
	for table := range nullableUserID {
		if !gotNullable[table] {
			t.Errorf("%s.user_id not found", table)
		}
	}
	if diff := cmp.Diff(authorColumns, gotAuthors); diff != "" {
		t.Errorf("author columns (-want +got):\n%s", diff)
	}
	if userIDTables < 40 {
		t.Errorf("only %d tables have a user_id column", userIDTables)
	}
	t.Logf("%d tables with user_id, %d author columns checked", userIDTables, len(gotAuthors))
}

// TestPrimaryKeys: every primary key is id uuid, except the two TARGET.md names.
func TestPrimaryKeys(t *testing.T) {
	t.Parallel()
	want := map[string]string{}
	for _, tbl := range allTargetTables() {
		want[tbl] = "id uuid"
	}
	want["user_roles"] = "user_id uuid, role_id uuid"
	want["behavior_projection_state"] = "projector text"

	conn := connect(t, migrated(t))
	rows, err := conn.Query(context.Background(), `
		SELECT c.relname::text, coalesce((
		    SELECT string_agg(a.attname || ' ' || format_type(a.atttypid, a.atttypmod), ', ' ORDER BY k.ord)
		    FROM pg_constraint p, unnest(p.conkey) WITH ORDINALITY AS k(attnum, ord)
		    JOIN pg_attribute a ON a.attnum = k.attnum
		    WHERE p.conrelid = c.oid AND p.contype = 'p' AND a.attrelid = c.oid), '(none)')
		FROM pg_class c WHERE c.relnamespace = 'public'::regnamespace AND c.relkind = 'r'`)
	if err != nil {
		t.Fatal(err)
	}
	got := map[string]string{}
	var tbl, pk string
	if _, err := pgx.ForEachRow(rows, []any{&tbl, &pk}, func() error { got[tbl] = pk; return nil }); err != nil {
		t.Fatal(err)
	}
	if diff := cmp.Diff(want, got); diff != "" {
		t.Errorf("primary keys (-want +got):\n%s", diff)
	}
}

// TestUniqueConstraints: each statement in allowed succeeds, refused fails
// with unique_violation (23505) on the named constraint.
func TestUniqueConstraints(t *testing.T) {
	t.Parallel()
	const (
		u1 = "00000000-0000-0000-0000-00000000aa01"
		u2 = "00000000-0000-0000-0000-00000000aa02"
	)
	common := []string{
		`INSERT INTO users (id, email) VALUES ('` + u1 + `', 'Ann@Example.com'), ('` + u2 + `', 'bob@example.com')`,
	}
	cases := []struct {
		name       string
		setup      []string
		allowed    []string
		refused    string
		constraint string
	}{
		{
			name:       "users: email differing only by case",
			allowed:    []string{`INSERT INTO users (email) VALUES ('ann@example.org')`},
			refused:    `INSERT INTO users (email) VALUES ('ann@EXAMPLE.com')`,
			constraint: "idx_users_email_lower",
		},
		{
			name:  "points_ledger: idempotency key twice for one user",
			setup: []string{`INSERT INTO points_ledger (user_id, event_type, coins, idempotency_key) VALUES ('` + u1 + `', 'focus', 5, 'k-1')`},
			allowed: []string{
				`INSERT INTO points_ledger (user_id, event_type, coins, idempotency_key) VALUES ('` + u2 + `', 'focus', 5, 'k-1')`,
				`INSERT INTO points_ledger (user_id, event_type, coins, idempotency_key) VALUES ('` + u1 + `', 'focus', 5, 'k-2')`,
			},
			refused:    `INSERT INTO points_ledger (user_id, event_type, coins, idempotency_key) VALUES ('` + u1 + `', 'habit', 7, 'k-1')`,
			constraint: "points_ledger_user_id_idempotency_key_key",
		},
		{
			name:  "daily_plans: second plan for one user and date",
			setup: []string{`INSERT INTO daily_plans (user_id, date) VALUES ('` + u1 + `', '2024-05-01')`},
			allowed: []string{
				`INSERT INTO daily_plans (user_id, date) VALUES ('` + u2 + `', '2024-05-01')`,
				`INSERT INTO daily_plans (user_id, date) VALUES ('` + u1 + `', '2024-05-02')`,
			},
			refused:    `INSERT INTO daily_plans (user_id, date, items) VALUES ('` + u1 + `', '2024-05-01', '["x"]')`,
			constraint: "daily_plans_user_id_date_key",
		},
		{
			name: "habit_completions: second completion of a habit on one date",
			setup: []string{
				`INSERT INTO habits (id, user_id, name) VALUES ('00000000-0000-0000-0000-0000000bb001', '` + u1 + `', 'read'),
				                                              ('00000000-0000-0000-0000-0000000bb002', '` + u1 + `', 'run')`,
				`INSERT INTO habit_completions (habit_id, user_id, completed_date) VALUES ('00000000-0000-0000-0000-0000000bb001', '` + u1 + `', '2024-05-01')`,
			},
			allowed: []string{
				`INSERT INTO habit_completions (habit_id, user_id, completed_date) VALUES ('00000000-0000-0000-0000-0000000bb001', '` + u1 + `', '2024-05-02')`,
				`INSERT INTO habit_completions (habit_id, user_id, completed_date) VALUES ('00000000-0000-0000-0000-0000000bb002', '` + u1 + `', '2024-05-01')`,
			},
			refused:    `INSERT INTO habit_completions (habit_id, user_id, completed_date, notes) VALUES ('00000000-0000-0000-0000-0000000bb001', '` + u1 + `', '2024-05-01', 'again')`,
			constraint: "habit_completions_habit_id_completed_date_key",
		},
		{
			name: "focus_pause_state: second row for one session",
			setup: []string{
				`INSERT INTO focus_sessions (id, user_id, duration_seconds) VALUES ('00000000-0000-0000-0000-0000000cc001', '` + u1 + `', 1500),
				                                                                ('00000000-0000-0000-0000-0000000cc002', '` + u1 + `', 1500)`,
				`INSERT INTO focus_pause_state (user_id, session_id, is_paused) VALUES ('` + u1 + `', '00000000-0000-0000-0000-0000000cc001', true)`,
			},
			allowed: []string{
				`INSERT INTO focus_pause_state (user_id, session_id) VALUES ('` + u1 + `', '00000000-0000-0000-0000-0000000cc002')`,
			},
			refused:    `INSERT INTO focus_pause_state (user_id, session_id, is_paused) VALUES ('` + u1 + `', '00000000-0000-0000-0000-0000000cc001', false)`,
			constraint: "focus_pause_state_session_id_key",
		},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			ctx := context.Background()
			conn := connect(t, migrated(t))
			for _, s := range append(append(slices.Clone(common), tc.setup...), tc.allowed...) {
				if _, err := conn.Exec(ctx, s); err != nil {
					t.Fatalf("%s: %v", s, err)
				}
			}
			_, err := conn.Exec(ctx, tc.refused)
			var pgErr *pgconn.PgError
			if !errors.As(err, &pgErr) {
				t.Fatalf("%s: got %v, want a unique violation", tc.refused, err)
			}
			if pgErr.Code != "23505" || pgErr.ConstraintName != tc.constraint {
				t.Errorf("SQLSTATE %s on constraint %q, want 23505 on %q", pgErr.Code, pgErr.ConstraintName, tc.constraint)
			}
		})
	}
}

func TestSeeds(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	conn := connect(t, migrated(t))
	for _, tbl := range allTargetTables() {
		var n int
		if err := conn.QueryRow(ctx, "SELECT count(*) FROM "+pgx.Identifier{tbl}.Sanitize()).Scan(&n); err != nil {
			t.Fatal(err)
		}
		seeded := slices.Contains(seededTables, tbl)
		switch {
		case seeded && n == 0:
			t.Errorf("seeded table %s is empty", tbl)
		case !seeded && n != 0:
			t.Errorf("%s has %d rows; only the catalogs are seeded", tbl, n)
		}
	}
	roles := strings_(t, conn, `SELECT name FROM roles ORDER BY name`)
	if diff := cmp.Diff([]string{"admin", "moderator", "user"}, roles); diff != "" {
		t.Errorf("roles (-want +got):\n%s", diff)
	}
	// Fixed ids: the same in every database.
	ids := strings_(t, conn, `SELECT id::text FROM roles ORDER BY name`)
	if diff := cmp.Diff([]string{
		"00000000-0000-4000-8000-000000000102",
		"00000000-0000-4000-8000-000000000103",
		"00000000-0000-4000-8000-000000000101",
	}, ids); diff != "" {
		t.Errorf("role ids (-want +got):\n%s", diff)
	}
}

// contents returns, for every table of public and of the bookkeeping schema,
// its row count and an md5 of its rows, and with xmin also the rows'
// transaction ids (which change when a row is rewritten, even to itself).
func contents(t *testing.T, conn *pgx.Conn, xmin bool) map[string]string {
	t.Helper()
	ctx := context.Background()
	tables := strings_(t, conn, `SELECT format('%I.%I', schemaname, tablename) FROM pg_tables
		WHERE schemaname IN ('public', $1) ORDER BY 1`, migrations.BookkeepingSchema)
	out := map[string]string{}
	for _, tbl := range tables {
		row := "t::text"
		if xmin {
			row = "t::text || ' xmin ' || t.xmin::text"
		}
		var n int
		var sum string
		err := conn.QueryRow(ctx, fmt.Sprintf(`SELECT count(*), coalesce(md5(string_agg(%s, E'\n' ORDER BY %[1]s)), '')
			FROM %s AS t`, row, tbl)).Scan(&n, &sum)
		if err != nil {
			t.Fatal(err)
		}
		out[tbl] = fmt.Sprintf("%d rows, md5 %s", n, sum)
	}
	return out
}

func TestApplyTwiceChangesNothing(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	db := pgtest.NewDB(t)
	if _, err := migrations.Apply(ctx, db, nil); err != nil {
		t.Fatal(err)
	}
	conn := connect(t, db)
	before := contents(t, conn, true)
	if len(before) != 63+2 {
		t.Fatalf("checksummed %d tables, want 63 + 2 bookkeeping", len(before))
	}
	applied, err := migrations.Apply(ctx, db, nil)
	if err != nil {
		t.Fatalf("second Apply: %v", err)
	}
	if len(applied) != 0 {
		t.Errorf("second Apply applied %v", applied)
	}
	if diff := cmp.Diff(before, contents(t, conn, true)); diff != "" {
		t.Errorf("second Apply changed table contents (-before +after):\n%s", diff)
	}
}

// TestSeedsRerunChangesNothing runs 0013_seeds.sql once more, by hand: the
// seeds are idempotent (ON CONFLICT DO NOTHING), not merely skipped by goose.
func TestSeedsRerunChangesNothing(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	conn := connect(t, migrated(t))
	seeds, err := fs.ReadFile(migrations.FS(), "0013_seeds.sql")
	if err != nil {
		t.Fatal(err)
	}
	before := contents(t, conn, true)
	if _, err := conn.Exec(ctx, string(seeds)); err != nil {
		t.Fatalf("re-running 0013_seeds.sql: %v", err)
	}
	if diff := cmp.Diff(before, contents(t, conn, true)); diff != "" {
		t.Errorf("re-running the seeds changed rows (-before +after):\n%s", diff)
	}
}

func TestStatuses(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	db := pgtest.NewDB(t)

	st, err := migrations.Statuses(ctx, db)
	if err != nil {
		t.Fatal(err)
	}
	if len(st) != 13 {
		t.Fatalf("%d statuses, want 13", len(st))
	}
	for i, s := range st {
		if s.File != targetTables[i].file || s.Version != int64(i+1) || s.Applied || !s.AppliedAt.IsZero() || s.Tampered {
			t.Errorf("empty database: status %+v, want %s pending", s, targetTables[i].file)
		}
	}
	conn := connect(t, db)
	if schemas := strings_(t, conn, `SELECT nspname::text FROM pg_namespace WHERE nspname = $1`, migrations.BookkeepingSchema); len(schemas) != 0 {
		t.Errorf("Statuses created schema %s", migrations.BookkeepingSchema)
	}

	// goose records a timestamp without time zone, in the session's
	// TimeZone: AppliedAt must still be the right instant when that is not
	// UTC.
	if _, err := conn.Exec(ctx, "DO $$BEGIN EXECUTE format('ALTER DATABASE %I SET timezone = %L', current_database(), 'Asia/Kathmandu'); END$$"); err != nil {
		t.Fatal(err)
	}
	var serverBefore time.Time
	if err := conn.QueryRow(ctx, "SELECT now()").Scan(&serverBefore); err != nil {
		t.Fatal(err)
	}
	if _, err := migrations.Apply(ctx, db, nil); err != nil {
		t.Fatal(err)
	}
	var serverAfter time.Time
	if err := conn.QueryRow(ctx, "SELECT now()").Scan(&serverAfter); err != nil {
		t.Fatal(err)
	}
	st, err = migrations.Statuses(ctx, db)
	if err != nil {
		t.Fatal(err)
	}
	applied := 0
	for i, s := range st {
		if s.File != targetTables[i].file || s.Version != int64(i+1) || !s.Applied || s.Tampered {
			t.Errorf("status %+v, want %s applied", s, targetTables[i].file)
		}
		if s.AppliedAt.Before(serverBefore.Add(-time.Second)) || s.AppliedAt.After(serverAfter.Add(time.Second)) {
			t.Errorf("%s: AppliedAt = %v, want between %v and %v", s.File, s.AppliedAt, serverBefore, serverAfter)
		}
		if s.Applied {
			applied++
		}
	}
	if applied != 13 {
		t.Errorf("%d of 13 applied", applied)
	}
}

const tamperedFile = "0004_habits_goals.sql"

// tamper makes the recorded checksum of 0004 differ from the embedded file,
// as if the file had been edited after it was applied.
func tamper(t *testing.T, conn *pgx.Conn) {
	t.Helper()
	tag, err := conn.Exec(context.Background(), `UPDATE `+migrations.BookkeepingSchema+`.schema_checksums
		SET sha256 = encode(sha256('an edited file'::bytea), 'hex') WHERE version = 4`)
	if err != nil {
		t.Fatal(err)
	}
	if tag.RowsAffected() != 1 {
		t.Fatalf("no checksum recorded for version 4")
	}
}

func TestTamperedMigration(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	db := migrated(t)
	conn := connect(t, db)
	tamper(t, conn)
	// Make 0013 pending again, to see that a refused Apply applies nothing.
	if _, err := conn.Exec(ctx, `DELETE FROM cutover.schema_migrations WHERE version_id = 13;
		DELETE FROM cutover.schema_checksums WHERE version = 13`); err != nil {
		t.Fatal(err)
	}

	applied, err := migrations.Apply(ctx, db, nil)
	if !errors.Is(err, migrations.ErrTampered) {
		t.Fatalf("Apply = %v, want ErrTampered", err)
	}
	var te *migrations.TamperedError
	if !errors.As(err, &te) || te.File != tamperedFile {
		t.Errorf("Apply error %#v does not name %s", err, tamperedFile)
	}
	if !strings.Contains(err.Error(), tamperedFile) {
		t.Errorf("message does not name %s: %v", tamperedFile, err)
	}
	if len(applied) != 0 {
		t.Errorf("refused Apply applied %v", applied)
	}
	var has13 bool
	if err := conn.QueryRow(ctx, `SELECT EXISTS (SELECT 1 FROM cutover.schema_migrations WHERE version_id = 13)`).Scan(&has13); err != nil {
		t.Fatal(err)
	}
	if has13 {
		t.Error("refused Apply ran the pending 0013 anyway")
	}

	st, err := migrations.Statuses(ctx, db)
	if err != nil {
		t.Fatalf("Statuses on a tampered database: %v", err)
	}
	for _, s := range st {
		if want := s.File == tamperedFile; s.Tampered != want {
			t.Errorf("%s: Tampered = %v, want %v", s.File, s.Tampered, want)
		}
		if want := s.Version != 13; s.Applied != want {
			t.Errorf("%s: Applied = %v, want %v", s.File, s.Applied, want)
		}
	}

	// Restoring the file (here: its checksum) lets Apply go on.
	files, err := migrations.Files()
	if err != nil {
		t.Fatal(err)
	}
	if _, err := conn.Exec(ctx, `UPDATE cutover.schema_checksums SET sha256 = $1 WHERE version = 4`, files[3].SHA256); err != nil {
		t.Fatal(err)
	}
	applied, err = migrations.Apply(ctx, db, nil)
	if err != nil {
		t.Fatalf("Apply after restoring: %v", err)
	}
	if diff := cmp.Diff([]string{"0013_seeds.sql"}, applied); diff != "" {
		t.Errorf("Apply after restoring applied (-want +got):\n%s", diff)
	}
}

func TestConcurrentApply(t *testing.T) {
	t.Parallel()
	for round := range 3 {
		t.Run(fmt.Sprint("round ", round), func(t *testing.T) {
			t.Parallel()
			ctx := context.Background()
			db := pgtest.NewDB(t)
			start := make(chan struct{})
			results := make([][]string, 2)
			var g errgroup.Group
			for i := range results {
				g.Go(func() error {
					<-start
					applied, err := migrations.Apply(ctx, db, nil)
					results[i] = applied
					if err != nil {
						return fmt.Errorf("Apply #%d: %w", i, err)
					}
					return nil
				})
			}
			close(start)
			if err := g.Wait(); err != nil {
				t.Fatal(err)
			}
			all := append(slices.Clone(results[0]), results[1]...)
			slices.Sort(all)
			if diff := cmp.Diff(fileNames(), all); diff != "" {
				t.Errorf("the two Applies together applied (-want +got; %v and %v):\n%s", results[0], results[1], diff)
			}
			conn := connect(t, db)
			versions := strings_(t, conn, `SELECT version_id || ' x' || count(*) FROM cutover.schema_migrations
				WHERE version_id > 0 GROUP BY version_id ORDER BY version_id`)
			var want []string
			for v := 1; v <= 13; v++ {
				want = append(want, fmt.Sprintf("%d x1", v))
			}
			if diff := cmp.Diff(want, versions); diff != "" {
				t.Errorf("recorded versions (-want +got):\n%s", diff)
			}
			checksums := strings_(t, conn, `SELECT file FROM cutover.schema_checksums ORDER BY version`)
			if diff := cmp.Diff(fileNames(), checksums); diff != "" {
				t.Errorf("recorded checksums (-want +got):\n%s", diff)
			}
			if n := len(publicTables(t, conn)); n != 63 {
				t.Errorf("%d tables in public, want 63", n)
			}
		})
	}
}

// TestBadTargetURL: a target that cannot work gives a one-line error that
// names the host and never shows the password.
func TestBadTargetURL(t *testing.T) {
	t.Parallel()
	cases := pgtest.BadURLs(t)
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	for _, tc := range cases {
		t.Run(tc.Name, func(t *testing.T) {
			_, applyErr := migrations.Apply(ctx, tc.URL, nil)
			_, statusErr := migrations.Statuses(ctx, tc.URL)
			for what, err := range map[string]error{"Apply": applyErr, "Statuses": statusErr} {
				if err == nil {
					t.Fatalf("%s succeeded", what)
				}
				var de *dburl.Error
				if !errors.As(err, &de) {
					t.Errorf("%s: %T is not a *dburl.Error", what, err)
				}
				msg := err.Error()
				if strings.Contains(msg, tc.Password) {
					t.Errorf("%s: error shows the password: %s", what, msg)
				}
				if strings.Contains(msg, "\n") {
					t.Errorf("%s: error is not one line: %q", what, msg)
				}
				if !strings.Contains(msg, tc.Host) {
					t.Errorf("%s: error does not name host %s: %s", what, tc.Host, msg)
				}
				t.Logf("%s: %s", what, msg)
			}
		})
	}
}

// TestSeedIDs: the ids SeedIDs reads from the seed migration are exactly
// the ids of the rows a freshly migrated target holds, and SeedRows gives
// each table exactly its own.
func TestSeedIDs(t *testing.T) {
	ctx := context.Background()
	u := pgtest.NewDB(t)
	if _, err := migrations.Apply(ctx, u, nil); err != nil {
		t.Fatal(err)
	}
	conn := pgtest.Connect(t, u)
	tables := pgtest.Strings(t, conn, `SELECT c.relname::text FROM pg_class c JOIN pg_attribute a ON a.attrelid = c.oid AND a.attname = 'id'
		WHERE c.relnamespace = 'public'::regnamespace AND c.relkind = 'r' AND a.atttypid = 'uuid'::regtype`)
	var held []string
	byTable := map[string][]string{}
	for _, table := range tables {
		ids := pgtest.Strings(t, conn, `SELECT id::text FROM public.`+pgx.Identifier{table}.Sanitize()+` ORDER BY 1`)
		if len(ids) > 0 {
			byTable[table] = ids
		}
		held = append(held, ids...)
	}
	slices.Sort(held)
	rows, err := migrations.SeedRows()
	if err != nil {
		t.Fatal(err)
	}
	if diff := cmp.Diff(byTable, rows); diff != "" || len(rows) < 10 {
		t.Errorf("SeedRows against the migrated target's rows by table (-held +SeedRows):\n%s", diff)
	}
	got, err := migrations.SeedIDs()
	if err != nil {
		t.Fatal(err)
	}
	if len(got) == 0 {
		t.Fatal("no seed ids")
	}
	if diff := cmp.Diff(held, got); diff != "" {
		t.Errorf("SeedIDs against the migrated target's ids (-held +SeedIDs):\n%s", diff)
	}
}

// TestCreatedTables: the tables CreatedTables reads from the migrations
// are exactly the tables of public a migrated target holds.
func TestCreatedTables(t *testing.T) {
	conn := pgtest.Connect(t, migrated(t))
	held := pgtest.Strings(t, conn, `SELECT relname::text FROM pg_class WHERE relnamespace = 'public'::regnamespace AND relkind IN ('r', 'p') ORDER BY 1`)
	got, err := migrations.CreatedTables()
	if err != nil {
		t.Fatal(err)
	}
	if diff := cmp.Diff(held, got); diff != "" {
		t.Errorf("CreatedTables against the migrated target's tables (-held +CreatedTables):\n%s", diff)
	}
}

// TestApplyRefusesADatabaseThatIsNotNew: a database that holds a table
// the schema creates and records no applied migration (the legacy
// database given as the target; also one where an older build's failed
// apply left an empty version table) is refused with the tables named,
// and nothing is created there, the schema's records included.
func TestApplyRefusesADatabaseThatIsNotNew(t *testing.T) {
	ctx := context.Background()
	for name, setup := range map[string]string{
		"legacy tables": `CREATE TABLE users (id uuid PRIMARY KEY); CREATE TABLE habits (id uuid)`,
		"legacy tables and empty records": `CREATE TABLE users (id uuid PRIMARY KEY); CREATE TABLE habits (id uuid); CREATE SCHEMA cutover;
			CREATE TABLE cutover.schema_migrations (id serial, version_id bigint, is_applied boolean, tstamp timestamp DEFAULT now());
			INSERT INTO cutover.schema_migrations (version_id, is_applied) VALUES (0, true)`,
	} {
		t.Run(name, func(t *testing.T) {
			u := pgtest.NewDB(t)
			conn := pgtest.Connect(t, u)
			if _, err := conn.Exec(ctx, setup); err != nil {
				t.Fatal(err)
			}
			before := pgtest.Strings(t, conn, `SELECT n.nspname || '.' || c.relname FROM pg_class c JOIN pg_namespace n ON n.oid = c.relnamespace WHERE n.nspname IN ('public', 'cutover') ORDER BY 1`)
			applied, err := migrations.Apply(ctx, u, nil)
			var notNew *migrations.NotNewDatabaseError
			if !errors.As(err, &notNew) || !slices.Equal(notNew.Tables, []string{"habits", "users"}) || len(applied) != 0 {
				t.Fatalf("apply to a database with legacy tables: %v (applied %q), want the tables habits and users named", err, applied)
			}
			after := pgtest.Strings(t, conn, `SELECT n.nspname || '.' || c.relname FROM pg_class c JOIN pg_namespace n ON n.oid = c.relnamespace WHERE n.nspname IN ('public', 'cutover') ORDER BY 1`)
			if diff := cmp.Diff(before, after); diff != "" {
				t.Errorf("the refused apply changed the database's relations (-before +after):\n%s", diff)
			}
		})
	}
}

// TestMigratedCatalog: the catalog verify compares a target's with
// (MigratedCatalog) is the catalog of a database the migrations just
// made; rerun with -update after changing a migration.
func TestMigratedCatalog(t *testing.T) {
	t.Parallel()
	got, err := migrations.Catalog(context.Background(), connect(t, migrated(t)))
	if err != nil {
		t.Fatal(err)
	}
	if *update {
		if err := os.WriteFile("catalog.golden", []byte(strings.Join(got, "\n")+"\n"), 0o644); err != nil {
			t.Fatal(err)
		}
		t.Log("rewrote catalog.golden")
		return
	}
	if d := cmp.Diff(migrations.MigratedCatalog(), got); d != "" {
		t.Errorf("the catalog of a migrated database differs from catalog.golden (-golden +catalog; rerun with -update to accept):\n%s", d)
	}
	for _, want := range []string{"column users.email: text NOT NULL", "index users.idx_users_email_lower: UNIQUE (lower(email))",
		"constraint habits.habits_user_id_fkey: FOREIGN KEY (user_id) REFERENCES users (id) ON DELETE NO ACTION ON UPDATE NO ACTION"} {
		if !slices.Contains(got, want) {
			t.Errorf("the catalog has no line %q", want)
		}
	}
}

// TestMigratedSeedContent: the seeded rows' content verify compares a
// target's with (MigratedSeedContent) is that of a database the
// migrations just made, every seeded row in it; rerun with -update after
// changing 0013_seeds.sql.
func TestMigratedSeedContent(t *testing.T) {
	t.Parallel()
	got, err := migrations.SeedContent(context.Background(), connect(t, migrated(t)))
	if err != nil {
		t.Fatal(err)
	}
	if *update {
		if err := os.WriteFile("seeds.golden", []byte(strings.Join(got, "\n")+"\n"), 0o644); err != nil {
			t.Fatal(err)
		}
		t.Log("rewrote seeds.golden")
		return
	}
	want := migrations.MigratedSeedContent()
	if d := cmp.Diff(want, migrations.SeedContentByRow(got)); d != "" {
		t.Errorf("the seeded rows of a migrated database differ from seeds.golden (-golden +database; rerun with -update to accept):\n%s", d)
	}
	ids, err := migrations.SeedIDs()
	if err != nil {
		t.Fatal(err)
	}
	if len(want) != len(ids) {
		t.Errorf("seeds.golden has %d rows, 0013_seeds.sql inserts %d", len(want), len(ids))
	}
}

// TestMigratedCatalogOnOtherVersions: the migrations make the catalog and
// the seeded rows of the goldens on the oldest and the newest server
// version the cutover supports too, as verify compares them there: each
// server prints types, defaults and index expressions alike.
func TestMigratedCatalogOnOtherVersions(t *testing.T) {
	t.Parallel()
	wantSeeds := migrations.MigratedSeedContent()
	for _, r := range []pgcluster.Release{pgcluster.PostgreSQL13, pgcluster.PostgreSQL18} {
		t.Run(r.Version, func(t *testing.T) {
			t.Parallel()
			ctx := context.Background()
			server := pgtest.ReleaseServer(t, r, nil)
			if _, err := pgtest.Connect(t, server.URL("postgres")).Exec(ctx, `CREATE DATABASE target`); err != nil {
				t.Fatal(err)
			}
			if _, err := migrations.Apply(ctx, server.URL("target"), nil); err != nil {
				t.Fatal(err)
			}
			conn := pgtest.Connect(t, server.URL("target"))
			got, err := migrations.Catalog(ctx, conn)
			if err != nil {
				t.Fatal(err)
			}
			if d := cmp.Diff(migrations.MigratedCatalog(), got); d != "" {
				t.Errorf("the catalog on %s differs from catalog.golden (-golden +%[1]s):\n%s", r.Version, d)
			}
			seeds, err := migrations.SeedContent(ctx, conn)
			if err != nil {
				t.Fatal(err)
			}
			if d := cmp.Diff(wantSeeds, migrations.SeedContentByRow(seeds)); d != "" {
				t.Errorf("the seeded rows on %s differ from seeds.golden (-golden +%[1]s):\n%s", r.Version, d)
			}
		})
	}
}
