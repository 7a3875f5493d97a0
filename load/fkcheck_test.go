package load

import (
	"context"
	"testing"

	"github.com/cutover/cutover/internal/pgtest"
	"github.com/cutover/cutover/mappings"
)

// TestFKCheckCatchesBrokenRows: the set-based foreign-key check that
// replaces the per-row triggers for superuser runs counts the rows a
// mapping wrote whose reference has no parent, and only those.
func TestFKCheckCatchesBrokenRows(t *testing.T) {
	ctx := context.Background()
	conn := pgtest.Connect(t, pgtest.NewDB(t))
	exec := func(sql string) {
		t.Helper()
		if _, err := conn.Exec(ctx, sql); err != nil {
			t.Fatal(err)
		}
	}
	// No constraint in the database: the check alone must find the break.
	exec(`CREATE SCHEMA stage;
		CREATE TABLE stage.d_child (_k text, _disp text, _tid uuid);
		CREATE TABLE public.parent (id uuid PRIMARY KEY);
		CREATE TABLE public.child (id uuid PRIMARY KEY, parent_id uuid);
		INSERT INTO public.parent VALUES ('00000000-0000-4000-8000-000000000001');
		-- written by the mapping: one row with a parent, one without, one without a reference
		INSERT INTO public.child VALUES
			('00000000-0000-4000-8000-00000000000a', '00000000-0000-4000-8000-000000000001'),
			('00000000-0000-4000-8000-00000000000b', '00000000-0000-4000-8000-000000000002'),
			('00000000-0000-4000-8000-00000000000c', NULL);
		INSERT INTO stage.d_child SELECT id::text, 'loaded', id FROM public.child;
		-- not written by the mapping (a seed, say): not its to answer for
		INSERT INTO public.child VALUES ('00000000-0000-4000-8000-00000000000d', '00000000-0000-4000-8000-000000000003');`)
	m := mappings.Mapping{Legacy: "child", Target: "child"}
	targets := map[string]TargetTable{
		"child": {Columns: []string{"id", "parent_id"}, PK: []string{"id"},
			FKs: []FK{{Name: "child_parent_id_fkey", Column: "parent_id", Parent: "parent", ParentColumn: "id"}}},
		"parent": {Columns: []string{"id"}, PK: []string{"id"}},
	}
	p, err := BuildPlan(m, []string{"id", "parent_id"}, targets, map[string]mappings.Mapping{}, Params{Stage: "stage"})
	if err != nil {
		t.Fatal(err)
	}
	if len(p.FKChecks) != 1 {
		t.Fatalf("%d foreign-key checks, want 1", len(p.FKChecks))
	}
	count := func() int64 {
		t.Helper()
		var n int64
		if err := conn.QueryRow(ctx, p.FKChecks[0].SQL).Scan(&n); err != nil {
			t.Fatal(err)
		}
		return n
	}
	if n := count(); n != 1 {
		t.Errorf("check counts %d broken rows, want 1 (the written row whose parent is missing)", n)
	}
	exec(`INSERT INTO public.parent VALUES ('00000000-0000-4000-8000-000000000002')`)
	if n := count(); n != 0 {
		t.Errorf("with every parent present the check counts %d broken rows, want 0", n)
	}
}
