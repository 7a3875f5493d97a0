package mappings_test

import (
	"fmt"
	"io/fs"
	"regexp"
	"slices"
	"sort"
	"testing"

	"github.com/google/go-cmp/cmp"

	"github.com/cutover/cutover/extract"
	"github.com/cutover/cutover/mappings"
	"github.com/cutover/cutover/migrations"
)

// shapesOf returns the shape of every table of a flavor, drift tables
// included.
func shapesOf(flavor string) map[string]mappings.Shape {
	out := map[string]mappings.Shape{}
	for table, shapes := range extract.KnownShapes {
		for _, s := range shapes {
			if s.Drift {
				out[table] = s.Shape
			}
			for _, f := range s.Flavors {
				if f == flavor {
					out[table] = s.Shape
				}
			}
		}
	}
	return out
}

// TestEveryLegacyTableHasOneDisposition: each table of each flavor, drift
// tables included, is handled by exactly one mapping.
func TestEveryLegacyTableHasOneDisposition(t *testing.T) {
	for _, flavor := range []string{"v21", "v16", "v15"} {
		shapes := shapesOf(flavor)
		if len(shapes) < 78 {
			t.Fatalf("%s: only %d tables known", flavor, len(shapes))
		}
		ms, err := mappings.For(shapes)
		if err != nil {
			t.Fatalf("%s: %v", flavor, err)
		}
		count := map[string]int{}
		for _, m := range ms {
			count[m.Legacy]++
			if m.Target == "" && !m.ArchiveAll && m.DiscardAll == "" {
				t.Errorf("%s: mapping %s neither loads, archives nor discards", flavor, m.Name())
			}
		}
		for table := range shapes {
			if count[table] != 1 {
				t.Errorf("%s: table %s has %d mappings, want exactly 1", flavor, table, count[table])
			}
		}
	}
}

var createTable = regexp.MustCompile(`(?i)CREATE TABLE (?:IF NOT EXISTS )?(?:public\.)?([a-z_0-9]+)`)

// TestEveryTargetTableIsFed: every target table except the three behavior
// tables receives rows from some mapping, in every flavor.
func TestEveryTargetTableIsFed(t *testing.T) {
	var tables []string
	err := fs.WalkDir(migrations.FS(), ".", func(path string, d fs.DirEntry, err error) error {
		if err != nil || d.IsDir() {
			return err
		}
		b, err := fs.ReadFile(migrations.FS(), path)
		for _, m := range createTable.FindAllStringSubmatch(string(b), -1) {
			tables = append(tables, m[1])
		}
		return err
	})
	if err != nil {
		t.Fatal(err)
	}
	if len(tables) != 63 {
		t.Fatalf("migrations create %d tables, want 63", len(tables))
	}
	behavior := map[string]bool{"behavior_outbox": true, "behavior_projection_state": true, "decision_telemetry": true}
	// market_transactions came with legacy migration 0017: older flavors
	// have nothing to feed it.
	noSource := map[string][]string{"v16": {"market_transactions"}, "v15": {"market_transactions"}}
	for _, flavor := range []string{"v21", "v16", "v15"} {
		ms, err := mappings.For(shapesOf(flavor))
		if err != nil {
			t.Fatal(err)
		}
		fed := map[string]bool{}
		for _, m := range ms {
			fed[m.Target] = true
		}
		var unfed []string
		for _, table := range tables {
			if !fed[table] && !behavior[table] {
				unfed = append(unfed, table)
			}
			if fed[table] && behavior[table] {
				t.Errorf("%s: behavior table %s is fed", flavor, table)
			}
		}
		sort.Strings(unfed)
		if d := cmp.Diff(noSource[flavor], unfed); d != "" {
			t.Errorf("%s: target tables no mapping feeds:\n%s", flavor, d)
		}
	}
}

// TestOrderPutsParentsFirst: every mapping comes after the mappings that
// feed the tables it references.
func TestOrderPutsParentsFirst(t *testing.T) {
	ms, err := mappings.For(shapesOf("v21"))
	if err != nil {
		t.Fatal(err)
	}
	pos := map[string]int{}
	for i, m := range ms {
		pos[m.Name()] = i
	}
	for name, deps := range mappings.Dependencies(ms) {
		for _, d := range deps {
			if pos[d] > pos[name] {
				t.Errorf("%s comes before its dependency %s", name, d)
			}
		}
	}
	if pos["users"] != 0 && pos["habit_logs"] < pos["habit_completions"] {
		t.Errorf("bad order: %v", pos)
	}
}

// TestFeedersAndClaimLookups pins which legacy tables feed a target table
// and which ledger partitions decide looks claims up in by target row (the
// only ones indexed by target_id).
func TestFeedersAndClaimLookups(t *testing.T) {
	all := mappings.All()
	for _, c := range []struct {
		target string
		want   []string
	}{
		{"audit_log", []string{"activity_events", "audit_log"}},
		{"habit_completions", []string{"habit_completions", "habit_logs"}},
		{"roles", []string{"roles"}},
		{"no_such_table", nil},
	} {
		if d := cmp.Diff(c.want, mappings.Feeders(all, c.target)); d != "" {
			t.Errorf("Feeders(%s) (-want +got):\n%s", c.target, d)
		}
	}
	want := []string{"achievement_definitions", "learn_drills", "learn_lessons", "learn_topics", "market_items", "onboarding_flows", "onboarding_steps", "roles"}
	if d := cmp.Diff(want, mappings.ClaimLookups(all)); d != "" {
		t.Errorf("ClaimLookups (-want +got):\n%s", d)
	}
}

// TestDecisionReadersComeAfter: a mapping that reads another mapping's
// decisions ({{d:table}}) names that mapping in After, which orders it and
// tells the run to index the decisions it reads (load.Params.Read).
func TestDecisionReadersComeAfter(t *testing.T) {
	reads := regexp.MustCompile(`\{\{d:(\w+)\}\}`)
	var readers int
	for _, m := range mappings.All() {
		for _, r := range reads.FindAllStringSubmatch(fmt.Sprintf("%+v", m), -1) {
			readers++
			if !slices.Contains(m.After, r[1]) {
				t.Errorf("%s reads the decisions of %s but does not come After it (%v)", m.Name(), r[1], m.After)
			}
		}
	}
	if readers == 0 {
		t.Error("no mapping reads another's decisions: the check checks nothing")
	}
}

// TestTenantRefs: the references whose tenancy a mapping checks are its
// Tenant references and a Tenant SelfRef, and no other.
func TestTenantRefs(t *testing.T) {
	want := map[string][]string{
		"calendar_events":   {"workout_id", "habit_id", "goal_id", "parent_event_id"},
		"sessions":          {"rotated_from"},
		"workout_exercises": {"exercise_id"},
		"exercise_sets":     {"exercise_id"},
		"books":             nil,
	}
	for _, m := range mappings.All() {
		w, ok := want[m.Name()]
		if !ok {
			continue
		}
		var got []string
		for _, r := range m.TenantRefs() {
			got = append(got, r.Column)
		}
		if d := cmp.Diff(w, got); d != "" {
			t.Errorf("%s: tenant references (-want +got):\n%s", m.Name(), d)
		}
	}
}

// TestAllIsInDependencyOrder: All lists every mapping after the mappings
// it depends on, as its doc says.
func TestAllIsInDependencyOrder(t *testing.T) {
	all := mappings.All()
	at := map[string]int{}
	for i, m := range all {
		at[m.Name()] = i
	}
	deps := mappings.Dependencies(all)
	for i, m := range all {
		for _, d := range deps[m.Name()] {
			if at[d] > i {
				t.Errorf("%s comes before %s, which it depends on", m.Name(), d)
			}
		}
	}
}

// TestMergeRulesSayWhatTheyShare: every rule that merges a row onto
// another names the target columns the two share (Rule.Same), each a
// column of the target table, which verify checks of every merged row.
func TestMergeRulesSayWhatTheyShare(t *testing.T) {
	// The text of each CREATE TABLE of the migrations, by table.
	ddl := map[string]string{}
	err := fs.WalkDir(migrations.FS(), ".", func(path string, d fs.DirEntry, err error) error {
		if err != nil || d.IsDir() {
			return err
		}
		b, err := fs.ReadFile(migrations.FS(), path)
		for _, m := range regexp.MustCompile(`(?s)CREATE TABLE (?:IF NOT EXISTS )?(\w+) \((.*?)\n\);`).FindAllStringSubmatch(string(b), -1) {
			ddl[m[1]] = m[2]
		}
		return err
	})
	if err != nil {
		t.Fatal(err)
	}
	var rules int
	for _, m := range mappings.All() {
		for _, r := range append(append([]mappings.Rule{}, m.ByDesign...), m.Checks...) {
			if r.Disposition != mappings.Merged {
				continue
			}
			rules++
			if len(r.Same) == 0 {
				t.Errorf("%s: merge rule %s names nothing the rows share", m.Name(), r.Reason)
			}
			for _, c := range r.Same {
				if !regexp.MustCompile(`(?m)^\s*` + c + `\s`).MatchString(ddl[m.Target]) {
					t.Errorf("%s: merge rule %s shares %s, which %s does not have", m.Name(), r.Reason, c, m.Target)
				}
			}
		}
	}
	if rules < 4 {
		t.Errorf("%d merge rules, want the drift tables' four", rules)
	}
}
