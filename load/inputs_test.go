package load

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"os"
	"slices"
	"strings"
	"testing"

	"github.com/cutover/cutover/extract"
	"github.com/cutover/cutover/internal/dburl"
	"github.com/cutover/cutover/internal/legacyschema"
	"github.com/cutover/cutover/internal/pgtest"
	"github.com/cutover/cutover/internal/testkit"
	"github.com/cutover/cutover/mappings"
)

// realPlans builds every mapping's plan for a legacy schema of flavor (with
// its drift tables) against a migrated target.
func realPlans(t *testing.T, flavor string) (*session, map[string]*Plan) {
	t.Helper()
	return plansOf(t, legacySchema(t, flavor), testkit.MigratedTarget(t))
}

// legacySchema is a new database holding the legacy schema of flavor
// with its drift tables, and only the rows its migrations seed.
func legacySchema(t *testing.T, flavor string) string {
	t.Helper()
	return pgtest.NewDBFrom(t, "legacy_"+flavor+"_drift", func(ctx context.Context, url string) error {
		return legacyschema.Create(ctx, url, flavor, true)
	})
}

// plansOf opens a session from the legacy database src to the target dst
// and builds every mapping's plan.
func plansOf(t *testing.T, src, dst string) (*session, map[string]*Plan) {
	t.Helper()
	ctx := context.Background()
	cfg := Config{SourceURL: src, TargetURL: dst}
	cfg.defaults()
	s, err := open(ctx, cfg, mappings.StageSchema, "cutover test")
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(s.close)
	if s.pool, err = dburl.Pool(ctx, "target", cfg.TargetURL, 2); err != nil {
		t.Fatal(err)
	}
	plans, err := s.plans(ctx)
	if err != nil {
		t.Fatal(err)
	}
	return s, plans
}

// TestReadsOfRealPlans: every stage relation a plan names is attributed to
// a mapping (an unattributed one would make a re-run redo everything), and
// the reads carry what a mapping's decisions depend on beyond its
// dependencies: the other feeders of its target. A leaf's change leaves the
// mappings it does not reach alone.
func TestReadsOfRealPlans(t *testing.T) {
	for _, flavor := range []string{"v21", "v16", "v15"} {
		t.Run(flavor, func(t *testing.T) {
			t.Parallel()
			s, plans := realPlans(t, flavor)
			byTable := map[string]string{}
			for _, m := range s.ms {
				byTable[m.Legacy] = m.Name()
				for _, rel := range stageRelationNames(s.stage, planSQL(plans[m.Name()])) {
					if _, ok := relationTable(rel, func(t string) bool { return s.src.Table(t) != nil }); !ok {
						t.Errorf("mapping %s names stage relation %s, of no legacy table", m.Name(), rel)
					}
				}
			}
			edges := reads(s.stage, s.ms, planSQLs(plans))
			if len(edges[byTable["users"]]) > 3 {
				t.Errorf("users reads %v: a change anywhere would redo it", edges[byTable["users"]])
			}
			for _, c := range []struct{ from, to string }{
				{"habit_completions", "habit_logs"}, // co-feeders of habit_completions
				{"habit_logs", "habit_completions"},
				{"habit_completions", "habits"}, // its parent
				{"habit_completions", "users"},  // through habits
			} {
				if byTable[c.from] == "" || byTable[c.to] == "" {
					continue // not in this flavor
				}
				if !slices.Contains(closure(edges, byTable[c.from]), byTable[c.to]) {
					t.Errorf("%s does not read %s: %v", c.from, c.to, edges[byTable[c.from]])
				}
			}
			if got := closure(edges, byTable["sessions"]); slices.Contains(got, byTable["habit_completions"]) || len(got) > 4 {
				t.Errorf("sessions reads %v", got)
			}
		})
	}
}

// TestTransitive: an order over a subset of the mappings waits for a
// dependency reached through a mapping outside the subset.
func TestTransitive(t *testing.T) {
	got := transitive(map[string][]string{"c": {"b"}, "b": {"a"}, "a": nil, "d": {"c", "a"}})
	want := map[string][]string{"a": {}, "b": {"a"}, "c": {"a", "b"}, "d": {"a", "b", "c"}}
	for k, w := range want {
		if !slices.Equal(got[k], w) {
			t.Errorf("transitive[%s] = %v, want %v", k, got[k], w)
		}
	}
}

// TestInputDigests: a mapping's digest changes with the source of any
// mapping it reads and with its plan, not with an unrelated table's
// source nor with the time sessions expire against.
func TestInputDigests(t *testing.T) {
	const started = "2026-12-04T10:00:00Z"
	ms := []mappings.Mapping{
		{Legacy: "users", Target: "users"},
		{Legacy: "habits", Target: "habits", Refs: []mappings.Ref{{Column: "user_id", Parent: "users", Kind: mappings.Parent}}},
		{Legacy: "notes", Target: "notes"},
	}
	plans := func(notesSQL string) map[string]*Plan {
		return map[string]*Plan{
			"users":  {Decide: []string{`CREATE TABLE "st"."d_users" AS SELECT * FROM "st"."users" WHERE expires > ` + runStartedSQL(started)}},
			"habits": {Decide: []string{`CREATE TABLE "st"."d_habits" AS SELECT * FROM "st"."habits" JOIN "st"."d_users" USING (id)`}},
			"notes":  {Decide: []string{notesSQL}},
		}
	}
	batches := []extract.Batch{{Table: "users", No: 1, Of: 1}, {Table: "habits", No: 1, Of: 1}, {Table: "notes", No: 1, Of: 1}}
	sums := func(users, notes string) map[string]extract.Checksum {
		return map[string]extract.Checksum{"users/1": {Rows: 1, Hash: users}, "habits/1": {Rows: 1, Hash: "h"}, "notes/1": {Rows: 1, Hash: notes}}
	}
	digests := func(runStarted, users, notes, notesSQL string) map[string]string {
		p := plans(notesSQL)
		for _, q := range p["users"].Decide {
			p["users"].Decide = []string{strings.ReplaceAll(q, runStartedSQL(started), runStartedSQL(runStarted))}
		}
		sqls := planSQLs(p)
		return inputDigests(reads("st", ms, sqls), ms, sqls, batches, sums(users, notes))
	}
	base := digests(started, "u1", "n1", `SELECT 1 FROM "st"."notes"`)
	for _, c := range []struct {
		name    string
		got     map[string]string
		changed []string
	}{
		{"nothing", digests(started, "u1", "n1", `SELECT 1 FROM "st"."notes"`), nil},
		{"later", digests("2026-12-05T10:00:00Z", "u1", "n1", `SELECT 1 FROM "st"."notes"`), nil},
		{"users' rows", digests(started, "u2", "n1", `SELECT 1 FROM "st"."notes"`), []string{"habits", "users"}},
		{"notes' rows", digests(started, "u1", "n2", `SELECT 1 FROM "st"."notes"`), []string{"notes"}},
		{"notes' plan", digests(started, "u1", "n1", `SELECT 2 FROM "st"."notes"`), []string{"notes"}},
		{"notes reads habits", digests(started, "u1", "n1", `SELECT 1 FROM "st"."notes" JOIN "st"."d_habits" USING (id)`), []string{"notes"}},
	} {
		var changed []string
		for _, m := range ms {
			if c.got[m.Name()] != base[m.Name()] {
				changed = append(changed, m.Name())
			}
		}
		slices.Sort(changed)
		if !slices.Equal(changed, c.changed) {
			t.Errorf("%s: digests changed for %v, want %v", c.name, changed, c.changed)
		}
	}
	// Another build of cutover redoes everything.
	build := inputsVersion
	inputsVersion = func() string { return build() + " rebuilt" }
	rebuilt := digests(started, "u1", "n1", `SELECT 1 FROM "st"."notes"`)
	inputsVersion = build
	for _, m := range ms {
		if rebuilt[m.Name()] == base[m.Name()] {
			t.Errorf("another build kept the digest of %s", m.Name())
		}
	}
	// The build includes the bytes of the running executable.
	exe, err := os.ReadFile(os.Args[0])
	if err != nil {
		t.Fatal(err)
	}
	if sum := sha256.Sum256(exe); !strings.HasSuffix(build(), " exe "+hex.EncodeToString(sum[:])) {
		t.Errorf("the build %q does not end with the executable's SHA-256", build())
	}
	// Once notes reads habits, a change of users reaches it.
	reading := `SELECT 1 FROM "st"."notes" JOIN "st"."d_habits" USING (id)`
	if digests(started, "u1", "n1", reading)["notes"] == digests(started, "u2", "n1", reading)["notes"] {
		t.Error("a mapping reading habits kept its digest when users changed")
	}
}
