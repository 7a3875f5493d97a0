package load

import (
	"context"
	"slices"
	"testing"

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
	ctx := context.Background()
	src := pgtest.NewDBFrom(t, "legacy_"+flavor+"_drift", func(ctx context.Context, url string) error {
		return legacyschema.Create(ctx, url, flavor, true)
	})
	cfg := Config{SourceURL: src, TargetURL: testkit.MigratedTarget(t)}
	cfg.defaults()
	s, err := open(ctx, cfg, mappings.StageSchema)
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
					table := rel
					if from, ok := preparedFrom[rel]; ok {
						table = from
					} else if s.src.Table(rel) == nil {
						table = rel[len("d_"):]
					}
					if s.src.Table(table) == nil {
						t.Errorf("mapping %s names stage relation %s, of no legacy table", m.Name(), rel)
					}
				}
			}
			edges := reads(s.stage, s.ms, plans)
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
