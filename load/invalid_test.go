package load

import (
	"context"
	"errors"
	"slices"
	"strings"
	"testing"

	"github.com/google/go-cmp/cmp"

	"github.com/cutover/cutover/internal/pgtest"
	"github.com/cutover/cutover/internal/testkit"
	"github.com/cutover/cutover/mappings"
	"github.com/cutover/cutover/migrations"
	"github.com/cutover/cutover/reconcile"
)

// TestRunRejectsANegativeItemCost: v21's market_items lost the CHECK
// (cost_coins >= 0) that the target keeps. An item of a negative cost is
// rejected with its value, its purchases with it, and the run finishes
// and verifies; a re-run after the source is fixed loads them, and the
// target equals a fresh run's on the fixed source.
func TestRunRejectsANegativeItemCost(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	// The item of the first purchase.
	const item = `(SELECT item_id FROM user_market_purchases ORDER BY id LIMIT 1)`
	src := editedSource(t, "negative_cost", `UPDATE market_items SET cost_coins = -5 WHERE id = `+item)
	id := scalarOf[string](t, ctx, src, `SELECT `+item+`::text`)
	purchases := scalarOf[int64](t, ctx, src, `SELECT count(*) FROM user_market_purchases WHERE item_id = $1`, id)

	dst := finishedTarget(t)
	if _, err := Run(ctx, rerunConfig(src, dst)); err != nil {
		t.Fatalf("run with an item of a negative cost: %v", err)
	}
	msg := scalarOf[string](t, ctx, dst, `SELECT reason || ': ' || message || ' ' || (row->>'cost_coins') FROM cutover.rejects
		WHERE legacy_table = 'market_items' AND legacy_key = $1`, id)
	if want := mappings.ReasonInvalidValue + ": column cost_coins: -5 is negative"; !strings.HasPrefix(msg, want) || !strings.HasSuffix(msg, " -5") {
		t.Errorf("the item's reject says %q, want %q… and the row's cost -5", msg, want)
	}
	if n := scalarOf[int64](t, ctx, dst, `SELECT count(*) FROM cutover.dispositions WHERE legacy_table = 'user_market_purchases'
		AND disposition = 'rejected' AND reason = $1 AND legacy_key = ANY($2)`, mappings.ReasonParentRejected, purchaseKeys(t, ctx, src, id)); n != purchases || n == 0 {
		t.Errorf("%d of the item's %d purchases rejected as %s", n, purchases, mappings.ReasonParentRejected)
	}
	if n := scalarOf[int64](t, ctx, dst, `SELECT count(*) FROM market_items WHERE id::text = $1`, id); n != 0 {
		t.Error("the item of a negative cost is in the target")
	}
	checkVerifies(t, ctx, src, dst)

	// The source fixed: S0 again.
	if _, err := Run(ctx, rerunConfig(rerunSource(t), dst)); err != nil {
		t.Fatalf("re-run on the fixed source: %v", err)
	}
	testkit.SameAs(t, reference(t, "S0"), dst)
}

// checkVerifies checks that cutover verify of target dst against source
// src finds no failure, and names each it finds.
func checkVerifies(t *testing.T, ctx context.Context, src, dst string) {
	t.Helper()
	for _, f := range verifyFailures(t, ctx, src, dst) {
		t.Errorf("verify: %s %s %s: %s", f.Check, f.Kind, f.Table, f.Message)
	}
}

// verifyFailures returns the failures verify finds of the run from src
// into dst.
func verifyFailures(t *testing.T, ctx context.Context, src, dst string) []reconcile.Finding {
	t.Helper()
	res, err := reconcile.Verify(ctx, reconcile.Config{SourceURL: src, TargetURL: dst, Workers: 2})
	if err != nil {
		t.Fatalf("verify: %v", err)
	}
	var out []reconcile.Finding
	for _, f := range res.Findings {
		if f.Severity == reconcile.Failure {
			out = append(out, f)
		}
	}
	return out
}

// purchaseKeys returns the legacy keys of item's purchases in src.
func purchaseKeys(t *testing.T, ctx context.Context, src, item string) []string {
	t.Helper()
	keys := scalarOf[string](t, ctx, src, `SELECT coalesce(string_agg(id::text, ' '), '') FROM user_market_purchases WHERE item_id = $1`, item)
	return strings.Fields(keys)
}

// TestRunNamesRowsTheTargetRefuses: a target whose schema refuses values
// the legacy schema allows (here a check, a NOT NULL and a varchar(9)
// for the author, added to books) is reported by the dry run (Diff.Refusals), and stops the mapping's
// apply with a RefusedRowsError that names the constraint and the legacy
// rows that break it, writing nothing of the mapping; once the target
// allows them, the same run finishes. (That a dry run finds no refusal
// where a run finishes, checkPrediction checks.)
func TestRunNamesRowsTheTargetRefuses(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	loaded := finishedTarget(t) // S0's books as a run loads them
	two := strings.Fields(scalarOf[string](t, ctx, loaded, `SELECT string_agg(id::text, ' ' ORDER BY id) FROM (SELECT id FROM books ORDER BY id LIMIT 2) b`))
	edit := `UPDATE books SET total_pages = 9999, author = NULL WHERE id IN ('` + strings.Join(two, "', '") + `')`
	for _, c := range []struct {
		name, constrain, allow string
		constraint, definition string
		broken                 string // the loaded books that break it, over S0's target
	}{
		{"check", `ALTER TABLE books ADD CONSTRAINT books_short CHECK (total_pages < 5000)`, `ALTER TABLE books DROP CONSTRAINT books_short`,
			"check books_short", "CHECK (total_pages < 5000)", `total_pages >= 5000 OR id = ANY($1::uuid[])`},
		{"not null", `ALTER TABLE books ALTER COLUMN author SET NOT NULL`, `ALTER TABLE books ALTER COLUMN author DROP NOT NULL`,
			"column author", "NOT NULL", `author IS NULL OR id = ANY($1::uuid[])`},
		// A value longer than a varchar(n) allows stops the apply with a
		// data exception (22001), which names no column; trailing spaces
		// beyond n the server drops.
		{"length", `ALTER TABLE books ALTER COLUMN author TYPE varchar(9)`, `ALTER TABLE books ALTER COLUMN author TYPE text`,
			"column author", "character varying(9)", `length(rtrim(author, ' ')) > 9 AND id <> ALL($1::uuid[])`},
	} {
		t.Run(c.name, func(t *testing.T) {
			t.Parallel()
			src := editedSource(t, "refused_"+strings.ReplaceAll(c.name, " ", "_"), edit)
			want := strings.Fields(scalarOf[string](t, ctx, loaded, `SELECT coalesce(string_agg(id::text, ' ' ORDER BY id::text), '') FROM books WHERE `+c.broken, two))
			dst := testkit.MigratedTarget(t)
			exec := func(sql string) {
				t.Helper()
				if _, err := pgtest.Connect(t, dst).Exec(ctx, sql); err != nil {
					t.Fatal(err)
				}
			}
			first := want[:min(5, len(want))] // the keys an error names
			exec(c.constrain)
			// The dry run says so first.
			diff, err := DryRun(ctx, rerunConfig(src, dst), 3)
			if err != nil {
				t.Fatalf("dry run: %v", err)
			}
			if len(diff.Refusals) != 1 || diff.Refusals[0].Constraint != c.constraint || diff.Refusals[0].Count != int64(len(want)) ||
				!slices.Equal(diff.Refusals[0].Keys, first) {
				t.Errorf("the dry run's refusals: %+v, want %s refusing %d books", diff.Refusals, c.constraint, len(want))
			}
			_, err = Run(ctx, rerunConfig(src, dst))
			var refused *RefusedRowsError
			if !errors.As(err, &refused) {
				t.Fatalf("run into a target that refuses %d books: %v, want a RefusedRowsError", len(want), err)
			}
			if refused.Table != "books" || refused.Legacy != "books" || refused.Constraint != c.constraint || refused.Definition != c.definition ||
				refused.Count != int64(len(want)) || !slices.Equal(refused.Keys, first) {
				t.Errorf("refused: %+v, want %s (%s) refusing %d books, first %v", refused, c.constraint, c.definition, len(want), first)
			}
			checkBooksRefused(t, ctx, dst, err, append([]string{c.definition}, first...)...)
			exec(c.allow)
			if _, err := Run(ctx, rerunConfig(src, dst)); err != nil {
				t.Fatalf("run once the target allows the rows: %v", err)
			}
		})
	}
}

// TestDryRunNamesEveryMappingsRefusals: a target that refuses rows of two
// mappings (checks added to books and goals) stops a run at one of them;
// the dry run names both, so the operator fixes them in one go (the
// run's error says to ask it).
func TestDryRunNamesEveryMappingsRefusals(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	src, dst := rerunSource(t), testkit.MigratedTarget(t)
	if _, err := pgtest.Connect(t, dst).Exec(ctx, `ALTER TABLE books ADD CONSTRAINT books_short CHECK (total_pages < 200);
		ALTER TABLE goals ADD CONSTRAINT goals_terse CHECK (length(title) < 12)`); err != nil {
		t.Fatal(err)
	}
	diff, err := DryRun(ctx, rerunConfig(src, dst), 0)
	if err != nil {
		t.Fatalf("dry run: %v", err)
	}
	var named []string
	for _, r := range diff.Refusals {
		if r.Count == 0 {
			t.Errorf("a refusal of no rows: %+v", r)
		}
		named = append(named, r.Mapping+" "+r.Constraint)
	}
	want := []string{"books check books_short", "goals check goals_terse"}
	if d := cmp.Diff(want, named); d != "" {
		t.Errorf("the dry run's refusals (-want +got):\n%s", d)
	}
	_, err = Run(ctx, rerunConfig(src, dst))
	var refused *RefusedRowsError
	if !errors.As(err, &refused) || !NeedsAFix(err) {
		t.Fatalf("run into a target that refuses books and goals: %v, want a RefusedRowsError", err)
	}
	if got := refused.Mapping + " " + refused.Constraint; !slices.Contains(want, got) {
		t.Errorf("the run stopped at %s, which the dry run did not name", got)
	}
}

// TestRunNamesRowsThatShareAKey: a target unique index that rows the
// mapping decides to load share a key of (here one added to books, over
// the user and the title, and two books of one user given one title) is
// reported by the dry run, and stops the apply with a RefusedRowsError
// naming the index and the legacy rows by key, writing nothing of the
// mapping.
func TestRunNamesRowsThatShareAKey(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	loaded := finishedTarget(t) // S0's books as a run loads them
	pair := strings.Fields(scalarOf[string](t, ctx, loaded, `SELECT string_agg(id::text, ' ' ORDER BY id::text) FROM (SELECT id FROM books
		WHERE user_id = (SELECT user_id FROM books GROUP BY user_id HAVING count(*) >= 2 ORDER BY user_id LIMIT 1) ORDER BY id LIMIT 2) b`))
	if len(pair) != 2 {
		t.Fatalf("no user with two books: %v", pair)
	}
	src := editedSource(t, "shared_title", `UPDATE books SET title = 'One Title' WHERE id IN ('`+strings.Join(pair, "', '")+`')`)
	// The loaded books that share a key once the two share a title.
	var groups int64
	var first []string
	if err := pgtest.Connect(t, loaded).QueryRow(ctx, `SELECT count(*), coalesce((array_agg(rows ORDER BY rows))[1:5], '{}')
		FROM (SELECT string_agg(id::text, ' and ' ORDER BY id::text) AS rows
			FROM (SELECT id, user_id, CASE WHEN id = ANY($1::uuid[]) THEN 'One Title' ELSE title END AS title FROM books) b
			GROUP BY user_id, lower(title) HAVING count(*) > 1) g`, pair).Scan(&groups, &first); err != nil {
		t.Fatal(err)
	}
	edited := pair[0] + " and " + pair[1]
	if !slices.Contains(first, edited) {
		t.Fatalf("the two books are not among the first keys held twice: %v", first)
	}
	dst := testkit.MigratedTarget(t)
	if _, err := pgtest.Connect(t, dst).Exec(ctx, `CREATE UNIQUE INDEX books_title_once ON books (user_id, lower(title))`); err != nil {
		t.Fatal(err)
	}
	err := refusedAsPredicted(t, ctx, src, dst, Refusal{Mapping: "books", Legacy: "books", Table: "books", Constraint: "unique index books_title_once",
		Definition: "(user_id, lower(title))", Shared: true, Count: groups, Keys: first})
	checkBooksRefused(t, ctx, dst, err, "unique index books_title_once (user_id, lower(title))", edited)
}

// TestRunNamesRowsThatShareANullKey: under a target unique index that
// holds NULL keys equal (NULLS NOT DISTINCT, here over books' user and
// author), two books of one user without an author share a key, where
// the default index would hold neither. The dry run names them, and the
// run stops on them with a RefusedRowsError that names them, not "a case
// the mapping does not handle"; every other book has an author of its
// own.
func TestRunNamesRowsThatShareANullKey(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	loaded := finishedTarget(t)
	pair := strings.Fields(scalarOf[string](t, ctx, loaded, `SELECT string_agg(id::text, ' ' ORDER BY id::text) FROM (SELECT id FROM books
		WHERE user_id = (SELECT user_id FROM books GROUP BY user_id HAVING count(*) >= 2 ORDER BY user_id LIMIT 1) ORDER BY id LIMIT 2) b`))
	if len(pair) != 2 {
		t.Fatalf("no user with two books: %v", pair)
	}
	src := editedSource(t, "null_authors", `UPDATE books SET author = id::text;
		UPDATE books SET author = NULL WHERE id IN ('`+strings.Join(pair, "', '")+`')`)
	dst := testkit.MigratedTarget(t)
	if _, err := pgtest.Connect(t, dst).Exec(ctx, `CREATE UNIQUE INDEX books_author_once ON books (user_id, author) NULLS NOT DISTINCT`); err != nil {
		t.Fatal(err)
	}
	edited := pair[0] + " and " + pair[1]
	err := refusedAsPredicted(t, ctx, src, dst, Refusal{Mapping: "books", Legacy: "books", Table: "books", Constraint: "unique index books_author_once",
		Definition: "(user_id, author) NULLS NOT DISTINCT", Shared: true, Count: 1, Keys: []string{edited}})
	checkBooksRefused(t, ctx, dst, err, "unique index books_author_once (user_id, author) NULLS NOT DISTINCT", edited)
}

// TestRunNamesRowsHeldByAnotherMapping: a target unique index whose key
// rows of two mappings of one table share (here one added to inbox_items
// over the user, for one title, given to an item loaded from inbox_items
// and to one of that user loaded from the drift table user_inbox) is
// reported by the dry run, and stops the second mapping's apply with a
// RefusedRowsError that names its row and the legacy row of the first
// that holds the key, instead of "a case the mapping does not handle" or
// a swap; once the target allows them, the same run finishes.
func TestRunNamesRowsHeldByAnotherMapping(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	dst := finishedTarget(t)
	item, drift := itemsOfOneUser(t, dst)
	src := editedSource(t, "held_title", `UPDATE inbox_items SET title = 'One Title' WHERE id = '`+item+`';
		UPDATE user_inbox SET title = 'One Title' WHERE id = '`+drift+`'`)
	exec := func(sql string) {
		t.Helper()
		if _, err := pgtest.Connect(t, dst).Exec(ctx, sql); err != nil {
			t.Fatal(err)
		}
	}
	exec(`CREATE UNIQUE INDEX inbox_title_once ON inbox_items (user_id) WHERE title = 'One Title'`)
	err := refusedAsPredicted(t, ctx, src, dst, Refusal{Mapping: "user_inbox", Legacy: "user_inbox", Table: "inbox_items", Constraint: "unique index inbox_title_once",
		Definition: "(user_id) WHERE title = 'One Title'::text", Held: true, Count: 1, Keys: []string{drift + " (held by legacy inbox_items " + item + ")"}})
	for _, says := range []string{"apply user_inbox: ", "already held by another row of the target", "Fix them in the source"} {
		if !strings.Contains(err.Error(), says) {
			t.Errorf("the error does not say %q: %v", says, err)
		}
	}
	if strings.Contains(err.Error(), "a case the mapping does not handle") || strings.Contains(err.Error(), "take each other's values") {
		t.Errorf("the error blames the mapping, or rows that swap values: %v", err)
	}
	exec(`DROP INDEX inbox_title_once`)
	if _, err := Run(ctx, rerunConfig(src, dst)); err != nil {
		t.Fatalf("run once the target allows the rows: %v", err)
	}
}

// TestRunNamesRowsHeldByAnotherMappingUnderANullKey: as
// TestRunNamesRowsHeldByAnotherMapping, where the key the two mappings'
// rows share has a NULL (an index over the user and the description,
// NULLS NOT DISTINCT, and an item of each feeder without a description):
// the dry run's and the run's joins of the rows on the key take the NULL
// as a value.
func TestRunNamesRowsHeldByAnotherMappingUnderANullKey(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	item, drift := itemsOfOneUser(t, finishedTarget(t))
	dst := testkit.MigratedTarget(t) // the index would refuse the finished target's own descriptions
	src := editedSource(t, "held_null_description", `UPDATE inbox_items SET description = id::text;
		UPDATE user_inbox SET description = id::text;
		UPDATE inbox_items SET description = NULL WHERE id = '`+item+`';
		UPDATE user_inbox SET description = NULL WHERE id = '`+drift+`'`)
	if _, err := pgtest.Connect(t, dst).Exec(ctx, `CREATE UNIQUE INDEX inbox_description_once ON inbox_items (user_id, description) NULLS NOT DISTINCT`); err != nil {
		t.Fatal(err)
	}
	err := refusedAsPredicted(t, ctx, src, dst, Refusal{Mapping: "user_inbox", Legacy: "user_inbox", Table: "inbox_items", Constraint: "unique index inbox_description_once",
		Definition: "(user_id, description) NULLS NOT DISTINCT", Held: true, Count: 1, Keys: []string{drift + " (held by legacy inbox_items " + item + ")"}})
	if !strings.Contains(err.Error(), "apply user_inbox: ") || strings.Contains(err.Error(), "a case the mapping does not handle") {
		t.Errorf("the error does not name the mapping, or blames it: %v", err)
	}
}

// TestRunNamesASeedThatHoldsAKey: a legacy row that meets a seeded row on
// a unique key other than the natural key its mapping merges on (here a
// legacy achievement of a key of its own, named as a seeded achievement
// no legacy row merges onto, under a unique index over the name) is
// named with the seed that holds its key, by the dry run and where the
// run stops: "held by the seeded row …", not by a row the cutover did
// not write, and not as the mapping's fault.
func TestRunNamesASeedThatHoldsAKey(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	// A seed that no legacy row merges onto, in a run of the unedited source.
	seeds, err := migrations.SeedIDs()
	if err != nil {
		t.Fatal(err)
	}
	var seed, name string
	if err := pgtest.Connect(t, finishedTarget(t)).QueryRow(ctx, `SELECT a.id::text, a.name FROM achievement_definitions a
		WHERE a.id::text = ANY($1) AND NOT EXISTS (SELECT FROM cutover.dispositions d WHERE d.target_id = a.id)
		ORDER BY a.id LIMIT 1`, seeds).Scan(&seed, &name); err != nil {
		t.Fatalf("a seeded achievement no legacy row merges onto: %v", err)
	}
	const twin = "7a1f0c3e-5b2d-4e8f-9a6b-0c1d2e3f4a5b"
	src := editedSource(t, "seed_twin", `INSERT INTO achievement_definitions
		SELECT (jsonb_populate_record(NULL::achievement_definitions, to_jsonb(a) ||
			jsonb_build_object('id', '`+twin+`', 'key', 'seed_twin', 'name', `+lit(name)+`))).*
		FROM achievement_definitions a ORDER BY a.id LIMIT 1`)
	dst := testkit.MigratedTarget(t)
	if _, err := pgtest.Connect(t, dst).Exec(ctx, `CREATE UNIQUE INDEX achievement_name_once ON achievement_definitions (name)`); err != nil {
		t.Fatal(err)
	}
	err = refusedAsPredicted(t, ctx, src, dst, Refusal{Mapping: "achievement_definitions", Legacy: "achievement_definitions", Table: "achievement_definitions",
		Constraint: "unique index achievement_name_once", Definition: "(name)", Held: true, Count: 1,
		Keys: []string{twin + " (held by the seeded row " + seed + ")"}})
	if !strings.Contains(err.Error(), "apply achievement_definitions: ") || strings.Contains(err.Error(), "a case the mapping does not handle") {
		t.Errorf("the error does not name the mapping, or blames it: %v", err)
	}
}

// TestDryRunSeesKeysTheTargetKeeps: a dry run names the decided rows
// whose unique key a row the run leaves in the target holds (a row the
// cutover did not write, in a target no run has written to, or one
// another mapping of the table wrote and does not rewrite before), as
// the run would stop on them; and not a key that a row the run removes
// first, or rewrites before, holds.
func TestDryRunSeesKeysTheTargetKeeps(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	exec := func(t *testing.T, dst, sql string) {
		t.Helper()
		if _, err := pgtest.Connect(t, dst).Exec(ctx, sql); err != nil {
			t.Fatal(err)
		}
	}
	dryRun := func(t *testing.T, src, dst string) []Refusal {
		t.Helper()
		diff, err := DryRun(ctx, rerunConfig(src, dst), 3)
		if err != nil {
			t.Fatalf("dry run: %v", err)
		}
		return diff.Refusals
	}
	t.Run("a row the cutover did not write", func(t *testing.T) {
		t.Parallel()
		// The week before: a target no run has written to, where the
		// application (or a hand) added a user.
		dst := testkit.MigratedTarget(t)
		src := editedSource(t, "held_email", `UPDATE users SET email = 'held@example.test' WHERE id = (SELECT u.id FROM users u
			WHERE NOT EXISTS (SELECT FROM users o WHERE lower(o.email) = lower(u.email) AND o.id <> u.id) ORDER BY u.id LIMIT 1)`)
		user := scalarOf[string](t, ctx, src, `SELECT id::text FROM users WHERE email = 'held@example.test'`)
		foreign := scalarOf[string](t, ctx, dst, `INSERT INTO users (email) VALUES ('Held@Example.test') RETURNING id::text`)
		want := []Refusal{{Mapping: "users", Legacy: "users", Table: "users", Constraint: "unique index idx_users_email_lower",
			Definition: "(lower(email))", Held: true, Count: 1, Keys: []string{user + " (held by the row the cutover did not write " + foreign + ")"}}}
		if d := cmp.Diff(want, dryRun(t, src, dst)); d != "" {
			t.Errorf("the dry run's refusals (-want +got):\n%s", d)
		}
		_, err := Run(ctx, rerunConfig(src, dst))
		var held *ForeignRowsError
		if !errors.As(err, &held) || !slices.Contains(held.IDs, foreign) {
			t.Fatalf("run into a target whose row %s holds a legacy user's email: %v, want a ForeignRowsError naming it", foreign, err)
		}
	})
	t.Run("rows the run removes first", func(t *testing.T) {
		t.Parallel()
		dst := finishedTarget(t)
		// A user's two streaks: the first goes, the second takes its type.
		var gone, kept string
		if err := pgtest.Connect(t, dst).QueryRow(ctx, `SELECT a.id::text, b.id::text FROM user_streaks a
			JOIN user_streaks b ON b.user_id = a.user_id AND b.id > a.id ORDER BY a.id, b.id LIMIT 1`).Scan(&gone, &kept); err != nil {
			t.Fatalf("a user with two streaks: %v", err)
		}
		typ := scalarOf[string](t, ctx, dst, `SELECT streak_type FROM user_streaks WHERE id = $1`, gone)
		src := editedSource(t, "streak_moves", `DELETE FROM user_streaks WHERE id = '`+gone+`';
			UPDATE user_streaks SET streak_type = '`+typ+`' WHERE id = '`+kept+`'`)
		if got := dryRun(t, src, dst); len(got) > 0 {
			t.Errorf("the dry run refuses rows a run writes: %v", got)
		}
		if _, err := Run(ctx, rerunConfig(src, dst)); err != nil {
			t.Fatalf("run after a streak took the type of one the source lost: %v", err)
		}
		if n := scalarOf[int64](t, ctx, dst, `SELECT count(*) FROM user_streaks WHERE id = $1`, gone); n != 0 {
			t.Errorf("the target still holds the streak the source lost")
		}
		if got := scalarOf[string](t, ctx, dst, `SELECT streak_type FROM user_streaks WHERE id = $1`, kept); got != typ {
			t.Errorf("the other streak's type is %q, want the lost one's %q", got, typ)
		}
	})
	t.Run("a row a later mapping of the table does not rewrite", func(t *testing.T) {
		t.Parallel()
		dst := finishedTarget(t)
		item, drift := itemsOfOneUser(t, dst)
		// The item has the title first, then hands it to the drift item:
		// the earlier mapping gives it up before the later one takes it.
		itemTitle := `UPDATE inbox_items SET title = 'One Title' WHERE id = '` + item + `'`
		if _, err := Run(ctx, rerunConfig(editedSource(t, "item_title", itemTitle), dst)); err != nil {
			t.Fatalf("run with the item's title: %v", err)
		}
		exec(t, dst, `CREATE UNIQUE INDEX inbox_title_once ON inbox_items (user_id) WHERE title = 'One Title'`)
		driftTitle := `UPDATE user_inbox SET title = 'One Title' WHERE id = '` + drift + `'`
		handed := editedSource(t, "title_handed", driftTitle+`; UPDATE inbox_items SET title = 'Another Title' WHERE id = '`+item+`'`)
		if got := dryRun(t, handed, dst); len(got) > 0 {
			t.Errorf("the dry run refuses a title the earlier mapping gives up: %v", got)
		}
		if _, err := Run(ctx, rerunConfig(handed, dst)); err != nil {
			t.Fatalf("run once the item handed the title to the drift item: %v", err)
		}
		// The next run gives it back to the item too, which the index then
		// refuses: the drift item holds it when the earlier mapping runs.
		src := editedSource(t, "both_titles", driftTitle+`; UPDATE inbox_items SET title = 'One Title' WHERE id = '`+item+`'`)
		index := Refusal{Table: "inbox_items", Constraint: "unique index inbox_title_once", Definition: "(user_id) WHERE title = 'One Title'::text", Held: true, Count: 1}
		earlier, later := index, index
		earlier.Mapping, earlier.Legacy, earlier.Keys = "inbox_items", "inbox_items", []string{item + " (held by legacy user_inbox " + drift + ")"}
		later.Mapping, later.Legacy, later.Keys = "user_inbox", "user_inbox", []string{drift + " (held by legacy inbox_items " + item + ")"}
		if d := cmp.Diff([]Refusal{earlier, later}, dryRun(t, src, dst)); d != "" {
			t.Errorf("the dry run's refusals (-want +got):\n%s", d)
		}
		_, err := Run(ctx, rerunConfig(src, dst))
		var refused *RefusedRowsError
		if !errors.As(err, &refused) {
			t.Fatalf("run into a target whose unique index refuses an item: %v, want a RefusedRowsError", err)
		}
		if d := cmp.Diff(earlier, refused.Refusal); d != "" {
			t.Errorf("the run's refusal (-want +got):\n%s", d)
		}
	})
}

// itemsOfOneUser returns the legacy keys of an inbox item and a drift
// inbox item (user_inbox) of one user, both loaded into finished target
// dst.
func itemsOfOneUser(t *testing.T, dst string) (item, drift string) {
	t.Helper()
	if err := pgtest.Connect(t, dst).QueryRow(context.Background(), `SELECT a.legacy_key, b.legacy_key
		FROM cutover.dispositions a JOIN inbox_items i ON i.id = a.target_id
			JOIN inbox_items j ON j.user_id = i.user_id AND j.id <> i.id
			JOIN cutover.dispositions b ON b.target_table = 'inbox_items' AND b.target_id = j.id AND b.legacy_table = 'user_inbox' AND b.disposition = 'loaded'
		WHERE a.legacy_table = 'inbox_items' AND a.disposition = 'loaded'
		ORDER BY 1, 2 LIMIT 1`).Scan(&item, &drift); err != nil {
		t.Fatalf("an inbox item and a drift item of one user: %v", err)
	}
	return item, drift
}

// refusedAsPredicted runs a dry run of src into dst, which must report
// want alone, then a run, which must stop with a RefusedRowsError of
// want; it returns the run's error.
func refusedAsPredicted(t *testing.T, ctx context.Context, src, dst string, want Refusal) error {
	t.Helper()
	diff, err := DryRun(ctx, rerunConfig(src, dst), 3)
	if err != nil {
		t.Fatalf("dry run: %v", err)
	}
	if d := cmp.Diff([]Refusal{want}, diff.Refusals); d != "" {
		t.Errorf("the dry run's refusals (-want +got):\n%s", d)
	}
	_, err = Run(ctx, rerunConfig(src, dst))
	var refused *RefusedRowsError
	if !errors.As(err, &refused) {
		t.Fatalf("run into a target whose %s %s refuses rows: %v, want a RefusedRowsError", want.Table, want.Constraint, err)
	}
	if d := cmp.Diff(want, refused.Refusal); d != "" {
		t.Errorf("the run's refusal (-want +got):\n%s", d)
	}
	return err
}

// referencesRefusedAsPredicted runs a dry run and then a run of src into
// dst, and checks that both name exactly the rows the cutover did not
// write of want (Refusal.References); it returns the run's error.
func referencesRefusedAsPredicted(t *testing.T, ctx context.Context, src, dst string, want []Refusal) (*ForeignReferencesError, error) {
	t.Helper()
	diff, err := DryRun(ctx, rerunConfig(src, dst), 0)
	if err != nil {
		t.Fatalf("dry run: %v", err)
	}
	if d := cmp.Diff(want, diff.Refusals); d != "" {
		t.Errorf("the dry run's refusals (-want +got):\n%s", d)
	}
	_, err = Run(ctx, rerunConfig(src, dst))
	var refused *ForeignReferencesError
	if !errors.As(err, &refused) {
		t.Fatalf("re-run: %v, want a ForeignReferencesError", err)
	}
	if d := cmp.Diff(want, refused.Refusals); d != "" {
		t.Errorf("the run's refusals (-want +got):\n%s", d)
	}
	return refused, err
}

// checkBooksRefused checks err, a run's stopped by a refusal of books,
// for what it must say (the mapping, says, the advice) and must not (that
// the mapping is to blame), and that dst holds no book.
func checkBooksRefused(t *testing.T, ctx context.Context, dst string, err error, says ...string) {
	t.Helper()
	for _, s := range append([]string{"apply books: ", "Fix them in the source"}, says...) {
		if !strings.Contains(err.Error(), s) {
			t.Errorf("the error does not say %q: %v", s, err)
		}
	}
	if strings.Contains(err.Error(), "a case the mapping does not handle") {
		t.Errorf("the error blames the mapping: %v", err)
	}
	if n := scalarOf[int64](t, ctx, dst, `SELECT count(*) FROM books`); n != 0 {
		t.Errorf("%d books written", n)
	}
}

// TestRefusalString: what an operator reads of each kind of refusal, one
// row and more than the five named.
func TestRefusalString(t *testing.T) {
	// held is a refusal of user_inbox rows whose key rows of inbox_items hold.
	held := func(n int64, keys ...string) Refusal {
		return Refusal{Mapping: "user_inbox", Legacy: "user_inbox", Table: "inbox_items", Constraint: "unique index inbox_title_once",
			Definition: "(user_id)", Held: true, Count: n, Keys: keys}
	}
	for _, c := range []struct {
		r    Refusal
		want string
	}{
		{Refusal{Mapping: "market_items@v21", Legacy: "market_items", Table: "market_items", Constraint: "check market_items_cost_coins_check",
			Definition: "CHECK (cost_coins >= 0)", Count: 1, Keys: []string{"k1"}},
			"the target's market_items check market_items_cost_coins_check (CHECK (cost_coins >= 0)) refuses 1 legacy market_items row " +
				"that the mapping market_items@v21 decides to load (key k1): values the legacy schema allows and no mapping rule rejects. Fix them in the source, then run again"},
		{Refusal{Mapping: "books", Legacy: "books", Table: "books", Constraint: "column author", Definition: "NOT NULL",
			Count: 7, Keys: []string{"a", "b", "c", "d", "e"}},
			"the target's books column author (NOT NULL) refuses 7 legacy books rows that the mapping books decides to load (keys a, b, c, d, e and 2 more): " +
				"values the legacy schema allows and no mapping rule rejects. Fix them in the source, then run again"},
		{Refusal{Mapping: "books", Legacy: "books", Table: "books", Constraint: "unique index books_title_once", Definition: "(user_id, lower(title))",
			Shared: true, Count: 6, Keys: []string{"a and b", "c and d", "e and f", "g and h", "i and j and k"}},
			"the target's books unique index books_title_once (user_id, lower(title)) refuses legacy books rows that the mapping books decides to load with one key: " +
				"6 keys held by more than one row (legacy keys a and b; c and d; e and f; g and h; i and j and k; and 1 more): " +
				"duplicates the legacy schema allows and no mapping rule merges or rejects. Fix them in the source, then run again"},
		{Refusal{Mapping: "users", Legacy: "users", Table: "users", Constraint: "unique index idx_users_email_lower", Definition: "(lower(email))",
			Swapped: true, Count: 2, Keys: []string{"u1", "u2"}},
			"the target's users unique index idx_users_email_lower (lower(email)) refuses 2 legacy users rows that the mapping users decides to load: " +
				"they take each other's values of it since the last run (a swap, or a cycle of them; legacy keys u1, u2), " +
				"which no order of updates writes without a duplicate in between. Change one of them in the source and run again, or load into a fresh target"},
		{held(1, "a (held by legacy inbox_items b)"),
			"the target's inbox_items unique index inbox_title_once (user_id) refuses 1 legacy user_inbox row that the mapping user_inbox decides to load: " +
				"its key is already held by another row of the target " +
				"(legacy keys a (held by legacy inbox_items b)): keys that no mapping rule merges or rejects. Fix them in the source (or remove from the target a row that holds one and that the cutover did not write), then run again"},
		{held(6, "a (held by legacy inbox_items b)", "c (held by the target row x)", "e", "g", "i"),
			"the target's inbox_items unique index inbox_title_once (user_id) refuses 6 legacy user_inbox rows that the mapping user_inbox decides to load: " +
				"their keys are already held by other rows of the target " +
				"(legacy keys a (held by legacy inbox_items b); c (held by the target row x); e; g; i; and 1 more): keys that no mapping rule merges or rejects. Fix them in the source (or remove from the target a row that holds one and that the cutover did not write), then run again"},
		{Refusal{Mapping: "users", Legacy: "users", Table: "reading_sessions", Constraint: "foreign key reading_sessions_user_id_fkey",
			Definition: "ON DELETE CASCADE", References: true, Parent: "users", Count: 1, Keys: []string{"r1"}},
			"the target's reading_sessions holds 1 row the cutover did not write, in neither its ledger nor the schema's seeds (key r1), " +
				"that references, through foreign key reading_sessions_user_id_fkey (ON DELETE CASCADE), users rows that the mapping users no longer decides and a run removes: " +
				"rows written by the application or by hand, which the removal would delete. Remove them or point them at other rows, then run again"},
		{Refusal{Mapping: "users", Legacy: "users", Table: "user_roles", Constraint: "foreign key user_roles_granted_by_fkey",
			Definition: "ON DELETE SET NULL", References: true, Parent: "users", Count: 7, Keys: []string{"u1,r1", "u2,r1", "u3,r1", "u4,r1", "u5,r1"}},
			"the target's user_roles holds 7 rows the cutover did not write, in neither its ledger nor the schema's seeds (keys u1,r1, u2,r1, u3,r1, u4,r1, u5,r1 and 2 more), " +
				"that reference, through foreign key user_roles_granted_by_fkey (ON DELETE SET NULL), users rows that the mapping users no longer decides and a run removes: " +
				"rows written by the application or by hand, which the removal would change (clearing that reference). Remove them or point them at other rows, then run again"},
		{Refusal{Mapping: "habits", Legacy: "habits", Table: "habit_completions", Constraint: "foreign key habit_completions_habit_id_fkey",
			Definition: "ON DELETE CASCADE", References: true, Parent: "habits", Rewritten: true, Count: 2, Keys: []string{"c1", "c2"}},
			"the target's habit_completions holds 2 rows the cutover did not write, in neither its ledger nor the schema's seeds (keys c1, c2), " +
				"that reference, through foreign key habit_completions_habit_id_fkey (ON DELETE CASCADE), habits rows that the mapping habits still decides " +
				"but a run deletes and writes again, as they reference rows it removes: " +
				"rows written by the application or by hand, which the removal would delete. Remove them or point them at other rows, then run again"},
		{Refusal{Mapping: "users", Legacy: "users", Table: "exercise_sets", Constraint: "foreign key exercise_sets_session_id_fkey",
			Definition: "ON DELETE CASCADE", References: true, Parent: "workout_sessions", Via: "users", Count: 1, Keys: []string{"e1"}},
			"the target's exercise_sets holds 1 row the cutover did not write, in neither its ledger nor the schema's seeds (key e1), " +
				"that references, through foreign key exercise_sets_session_id_fkey (ON DELETE CASCADE), workout_sessions rows that the cutover wrote " +
				"and that go (ON DELETE CASCADE) with the users rows the mapping users no longer decides: " +
				"rows written by the application or by hand, which the removal would delete. Remove them or point them at other rows, then run again"},
		{Refusal{Mapping: "users", Legacy: "users", Table: "habits", Constraint: "foreign key habits_user_id_fkey",
			Definition: "ON DELETE NO ACTION", References: true, Parent: "users", Count: 1, Keys: []string{"h1"}},
			"the target's habits holds 1 row the cutover did not write, in neither its ledger nor the schema's seeds (key h1), " +
				"that references, through foreign key habits_user_id_fkey (ON DELETE NO ACTION), users rows that the mapping users no longer decides and a run removes: " +
				"rows written by the application or by hand, which the removal would fail on. Remove them or point them at other rows, then run again"},
	} {
		if got := c.r.String(); got != c.want {
			t.Errorf("%s:\n got %s\nwant %s", c.r.Constraint, got, c.want)
		}
	}
}
