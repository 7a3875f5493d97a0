package load

import (
	"testing"

	"github.com/google/go-cmp/cmp"

	"github.com/cutover/cutover/mappings"
)

// TestChildrenFirst checks the removal order's dependencies: a mapping
// waits for every mapping below it, also through a mapping in between, so
// that leaving that one out of a removal (it removes nothing) keeps the
// order of the others.
func TestChildrenFirst(t *testing.T) {
	ref := func(parent string) []mappings.Ref {
		return []mappings.Ref{{Column: parent + "_id", Parent: parent, Kind: mappings.Parent}}
	}
	ms := []mappings.Mapping{
		{Legacy: "users", Target: "users"},
		{Legacy: "habits", Target: "habits", Refs: ref("users")},
		{Legacy: "habit_completions", Target: "habit_completions", Refs: ref("habits")},
		{Legacy: "goals", Target: "goals", Refs: ref("users")},
	}
	got := childrenFirst(ms)
	want := map[string][]string{
		"users":  {"goals", "habit_completions", "habits"},
		"habits": {"habit_completions"},
	}
	if diff := cmp.Diff(want, got); diff != "" {
		t.Errorf("childrenFirst (-want +got):\n%s", diff)
	}
}
