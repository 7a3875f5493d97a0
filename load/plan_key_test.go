package load

import (
	"context"
	"fmt"
	"slices"
	"strings"
	"testing"

	"github.com/google/go-cmp/cmp"
	"github.com/jackc/pgx/v5"

	"github.com/cutover/cutover/internal/pgtest"
	"github.com/cutover/cutover/internal/testkit"
	"github.com/cutover/cutover/mappings"
)

// TestDecisionKeyTypes: a mapping keyed by one uuid column keeps its
// decision key as a uuid, and references resolve against it whatever the
// type of the referring column; everything else keys by text. Each case
// decides a parent and a child with one row whose parent exists and one
// orphan, and the ledger rows carry the key's text either way.
func TestDecisionKeyTypes(t *testing.T) {
	ctx := context.Background()
	conn := pgtest.Connect(t, pgtest.NewDB(t))
	targets := map[string]TargetTable{
		"parent": {Columns: []string{"id"}, PK: []string{"id"}},
		"child":  {Columns: []string{"id", "parent_id"}, PK: []string{"id"}},
	}
	parent := mappings.Mapping{Legacy: "parent", Target: "parent"}
	child := mappings.Mapping{Legacy: "child", Target: "child",
		Refs: []mappings.Ref{{Column: "parent_id", Parent: "parent", Kind: mappings.Parent}}}
	parents := map[string]mappings.Mapping{"parent": parent, "child": child}
	for _, tc := range []struct {
		name                  string
		parentID, childParent string // column types in the stage
		uuid                  map[string]bool
		parentKey, childKey   string // pg_typeof(_k)
	}{
		{"uuid keys, uuid reference", "uuid", "uuid",
			map[string]bool{"parent.id": true, "child.id": true, "child.parent_id": true}, "uuid", "uuid"},
		{"uuid parent key, text reference", "uuid", "text",
			map[string]bool{"parent.id": true, "child.id": true}, "uuid", "uuid"},
		{"text keys (no types known)", "uuid", "uuid", nil, "text", "text"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			schema := fmt.Sprintf("stage_%s_%s_%d", tc.parentID, tc.childParent, len(tc.uuid))
			stage := ident(schema)
			exec := func(sql string, args ...any) {
				t.Helper()
				if _, err := conn.Exec(ctx, sql, args...); err != nil {
					t.Fatalf("%v\n%s", err, sql)
				}
			}
			exec(`CREATE SCHEMA ` + stage + `;
				CREATE TABLE ` + stage + `.parent (id ` + tc.parentID + `);
				CREATE TABLE ` + stage + `.child (id uuid, parent_id ` + tc.childParent + `);
				INSERT INTO ` + stage + `.parent VALUES ('00000000-0000-4000-8000-000000000001');
				INSERT INTO ` + stage + `.child VALUES
					('00000000-0000-4000-8000-00000000000a', '00000000-0000-4000-8000-000000000001'),
					('00000000-0000-4000-8000-00000000000b', '00000000-0000-4000-8000-000000000002');`)
			params := Params{Stage: schema, UUID: tc.uuid}
			for _, m := range []mappings.Mapping{parent, child} {
				p, err := BuildPlan(m, []string{"id", "parent_id"}[:len(m.Refs)+1], targets, parents, params)
				if err != nil {
					t.Fatal(err)
				}
				for _, q := range append(p.Decide, p.DecideEnd...) {
					exec(q)
				}
				var typ string
				if err := conn.QueryRow(ctx, `SELECT pg_typeof(_k)::text FROM `+DecisionTable(params.Stage, m.Legacy)+` LIMIT 1`).Scan(&typ); err != nil {
					t.Fatal(err)
				}
				if want := map[string]string{"parent": tc.parentKey, "child": tc.childKey}[m.Legacy]; typ != want {
					t.Errorf("%s: _k is %s, want %s", m.Legacy, typ, want)
				}
				if m.Legacy == "child" {
					rows, err := conn.Query(ctx, `SELECT k, disposition, coalesce(reason, '') FROM (`+
						strings.Replace(p.LedgerRows, "$1", "0", 1)+`) l(t, k, m, disposition, reason, tt, tid, tkey, run) ORDER BY k`)
					if err != nil {
						t.Fatal(err)
					}
					got, err := pgx.CollectRows(rows, func(r pgx.CollectableRow) (string, error) {
						var k, d, why string
						err := r.Scan(&k, &d, &why)
						return k + " " + d + " " + why, err
					})
					if err != nil {
						t.Fatal(err)
					}
					want := []string{"00000000-0000-4000-8000-00000000000a loaded ", "00000000-0000-4000-8000-00000000000b rejected " + mappings.ReasonOrphan}
					if fmt.Sprint(got) != fmt.Sprint(want) {
						t.Errorf("child ledger rows = %q, want %q", got, want)
					}
				}
			}
		})
	}
}

// TestExposedIndexOnlyWhenRead: a mapping's decisions are indexed by its
// Exposes columns when another mapping of the run reads them, or when the
// run does not say (Params.Read nil); a source without the reader skips
// the index. Read by another mapping, and asked for (IndexTargetID), they
// are indexed by target id too (its checks ask whether an id is one of
// them).
func TestExposedIndexOnlyWhenRead(t *testing.T) {
	targets := map[string]TargetTable{"items": {Columns: []string{"id", "user_id", "title"}, PK: []string{"id"}}}
	m := mappings.Mapping{Legacy: "items", Target: "items", Exposes: []string{"user_id", "title"}, IndexTargetID: true}
	for _, c := range []struct {
		name       string
		read       map[string]bool
		index, tid bool
	}{
		{"not said", nil, true, false},
		{"read by another mapping", map[string]bool{"items": true}, true, true},
		{"read by none", map[string]bool{"other": true}, false, false},
	} {
		t.Run(c.name, func(t *testing.T) {
			p, err := BuildPlan(m, []string{"id", "user_id", "title"}, targets, map[string]mappings.Mapping{"items": m},
				Params{Stage: "stage", Read: c.read})
			if err != nil {
				t.Fatal(err)
			}
			want := `CREATE INDEX ON "stage"."d_items" ("_x_user_id", "_x_title")`
			if got := slices.Contains(p.DecideEnd, want); got != c.index {
				t.Errorf("index built: %v, want %v (DecideEnd %q)", got, c.index, p.DecideEnd)
			}
			if got := slices.Contains(p.DecideEnd, `CREATE INDEX ON "stage"."d_items" (_tid)`); got != c.tid {
				t.Errorf("index on _tid built: %v, want %v (DecideEnd %q)", got, c.tid, p.DecideEnd)
			}
		})
	}
}

// TestRemoveReferencing: a mapping deletes its own rows that reference
// removed parent rows only through a foreign key that would block the
// parent's removal, and only in a table keyed by id.
func TestRemoveReferencing(t *testing.T) {
	child := mappings.Mapping{Legacy: "child", Target: "child",
		Refs: []mappings.Ref{{Column: "parent_id", Parent: "parent", Kind: mappings.Parent}}}
	parents := map[string]mappings.Mapping{"parent": {Legacy: "parent", Target: "parent"}, "child": child}
	removed := []string{"SELECT 1", "SELECT 2"}
	for _, tc := range []struct {
		name    string
		columns []string
		fk      FK
		parents []string
		want    []string // "": no statement
	}{
		{"blocking key", []string{"id", "parent_id"}, FK{Column: "parent_id", Parent: "parent", ParentColumn: "id", Blocks: true}, removed,
			[]string{`DELETE FROM public."child" t WHERE t."parent_id" IN (SELECT 1 UNION ALL SELECT 2)`, `o.legacy_table = 'child'`}},
		{"cascading key", []string{"id", "parent_id"}, FK{Column: "parent_id", Parent: "parent", ParentColumn: "id"}, removed, nil},
		{"nothing removed", []string{"id", "parent_id"}, FK{Column: "parent_id", Parent: "parent", ParentColumn: "id", Blocks: true}, nil, nil},
		{"no id", []string{"parent_id", "n"}, FK{Column: "parent_id", Parent: "parent", ParentColumn: "id", Blocks: true}, removed, nil},
	} {
		t.Run(tc.name, func(t *testing.T) {
			targets := map[string]TargetTable{"child": {Columns: tc.columns, PK: tc.columns[:1], FKs: []FK{tc.fk}}}
			p, err := BuildPlan(child, []string{"id", "parent_id", "n"}, targets, parents, Params{Stage: "s"})
			if err != nil {
				t.Fatal(err)
			}
			got := p.RemoveReferencing(tc.fk, tc.parents)
			if (got == "") != (tc.want == nil) {
				t.Fatalf("statement %q, want one: %v", got, tc.want != nil)
			}
			for _, w := range tc.want {
				if !strings.Contains(got, w) {
					t.Errorf("statement does not contain %q:\n%s", w, got)
				}
			}
		})
	}
}

// TestBlockingKeysAreOneLevel: RemoveReferencing deletes the rows of a
// table whose key to a removed parent blocks; that delete would fail in
// turn if a blocking key referenced those rows. In the target schema no
// table is both: the child of a blocking key and the parent of one.
func TestBlockingKeysAreOneLevel(t *testing.T) {
	ctx := context.Background()
	targets, err := readTargets(ctx, pgtest.Connect(t, testkit.MigratedTarget(t)))
	if err != nil {
		t.Fatal(err)
	}
	children, parents := map[string]bool{}, map[string]bool{}
	for name, tt := range targets {
		for _, fk := range tt.FKs {
			if fk.Blocks {
				children[name], parents[fk.Parent] = true, true
			}
		}
	}
	if len(children) < 10 {
		t.Fatalf("only %d tables with a blocking foreign key: %v", len(children), children)
	}
	for name := range children {
		if parents[name] {
			t.Errorf("%s is the child of a blocking foreign key and the parent of another", name)
		}
	}
}

// TestVacate runs Plan.Vacate's statement on a table with a partial
// expression index and a two-column one: rows hand values on in a chain,
// one pass at a time, a row whose new value nobody holds moves at once, a
// row outside the partial index's predicate is not in the way, and a swap
// moves nothing.
func TestVacate(t *testing.T) {
	ctx := context.Background()
	conn := pgtest.Connect(t, pgtest.NewDB(t))
	if _, err := conn.Exec(ctx, `CREATE TABLE public.things (id int PRIMARY KEY, k text, live bool, a int, b int);
		CREATE UNIQUE INDEX things_k ON public.things (lower(k)) WHERE live;
		CREATE UNIQUE INDEX things_ab ON public.things (a, b);
		INSERT INTO public.things VALUES
			(1, 'x', true, 1, 1), (2, 'y', true, 1, 2), (3, 'z', true, 1, 3), -- 3 gives up z, 2 takes it, 1 takes y
			(4, 'p', true, 2, 1),                                              -- moves to a free value
			(5, 'Q', false, 3, 1), (6, 'r', true, 3, 2),                       -- 6 takes q, held only outside the predicate
			(7, 's', true, 4, 1), (8, 't', true, 4, 2);                        -- 7 and 8 swap (a, b)
		CREATE TABLE decided (id int, k text, live bool, a int, b int);
		INSERT INTO decided VALUES (1, 'y', true, 1, 1), (2, 'z', true, 1, 2), (3, 'w', true, 1, 3),
			(4, 'o', true, 2, 1), (5, 'Q', false, 3, 1), (6, 'q', true, 3, 2), (7, 's', true, 4, 2), (8, 't', true, 4, 1);`); err != nil {
		t.Fatal(err)
	}
	targets, err := readTargets(ctx, conn)
	if err != nil {
		t.Fatal(err)
	}
	things := targets["things"]
	if len(things.Uniques) != 2 {
		t.Fatalf("unique indexes read: %+v", things.Uniques)
	}
	q := vacate("public.things", things.PK, things.Columns, things, "SELECT * FROM decided", things.Uniques)
	var passes []int64
	for {
		tag, err := conn.Exec(ctx, q)
		if err != nil {
			t.Fatalf("%v\n%s", err, q)
		}
		passes = append(passes, tag.RowsAffected())
		if tag.RowsAffected() == 0 || len(passes) > 5 {
			break
		}
	}
	// Pass 1: 3 (w free), 4 (o free), 6 (q held by 5 only outside the
	// predicate); pass 2: 2 (z given up); pass 3: 1 (y given up).
	if d := cmp.Diff([]int64{3, 1, 1, 0}, passes); d != "" {
		t.Errorf("rows moved per pass (-want +got):\n%s", d)
	}
	got := pgtest.Strings(t, conn, `SELECT t.id || ':' || t.k || ',' || t.a || ',' || t.b FROM public.things t ORDER BY t.id`)
	want := []string{"1:y,1,1", "2:z,1,2", "3:w,1,3", "4:o,2,1", "5:Q,3,1", "6:q,3,2", "7:s,4,1", "8:t,4,2"}
	if d := cmp.Diff(want, got); d != "" {
		t.Errorf("rows after the passes (-want +got):\n%s", d)
	}
}

// TestVacateNullsNotDistinct: under a unique index that holds NULL keys
// equal (NULLS NOT DISTINCT), a row does not move to a key with a NULL that
// another row holds (the update would stop on the index), and does move to
// one no row holds; under the default index, NULL keys are never held.
func TestVacateNullsNotDistinct(t *testing.T) {
	ctx := context.Background()
	conn := pgtest.Connect(t, pgtest.NewDB(t))
	if _, err := conn.Exec(ctx, `CREATE TABLE public.things (id int PRIMARY KEY, a int, c text);
		CREATE UNIQUE INDEX things_ac ON public.things (a, c) NULLS NOT DISTINCT;
		CREATE TABLE public.loose (id int PRIMARY KEY, a int, c text);
		CREATE UNIQUE INDEX loose_ac ON public.loose (a, c);
		INSERT INTO public.things VALUES (1, 1, NULL), (2, 1, 'x'), (3, 2, 'y');
		INSERT INTO public.loose SELECT * FROM public.things;
		-- 2 takes (1, NULL), which 1 keeps; 3 takes (2, NULL), which no row holds
		CREATE TABLE decided (id int, a int, c text);
		INSERT INTO decided VALUES (1, 1, NULL), (2, 1, NULL), (3, 2, NULL);`); err != nil {
		t.Fatal(err)
	}
	targets, err := readTargets(ctx, conn)
	if err != nil {
		t.Fatal(err)
	}
	for _, c := range []struct {
		table string
		nnd   bool
		want  []string // id:a,c after the passes
	}{
		{"things", true, []string{"1:1,", "2:1,x", "3:2,"}},
		{"loose", false, []string{"1:1,", "2:1,", "3:2,"}},
	} {
		tt := targets[c.table]
		if len(tt.Uniques) != 1 || tt.Uniques[0].NullsNotDistinct != c.nnd {
			t.Fatalf("%s: unique indexes read: %+v, want one with NullsNotDistinct %v", c.table, tt.Uniques, c.nnd)
		}
		q := vacate("public."+c.table, tt.PK, tt.Columns, tt, "SELECT * FROM decided", tt.Uniques)
		for range 3 {
			if _, err := conn.Exec(ctx, q); err != nil {
				t.Fatalf("%s: %v\n%s", c.table, err, q)
			}
		}
		got := pgtest.Strings(t, conn, `SELECT t.id || ':' || t.a || ',' || coalesce(t.c, '') FROM public.`+c.table+` t ORDER BY t.id`)
		if d := cmp.Diff(c.want, got); d != "" {
			t.Errorf("%s after the passes (-want +got):\n%s", c.table, d)
		}
	}
}

// TestPark: the catalog gives each unique index the text columns a row
// can be parked in (none read by a primary key, foreign key or check),
// and Park, between Vacate's passes, lets rows that swap values of such
// an index reach them; a swap of an index with no such column (two
// integers) is left as it was, for the upsert to refuse.
func TestPark(t *testing.T) {
	ctx := context.Background()
	conn := pgtest.Connect(t, pgtest.NewDB(t))
	if _, err := conn.Exec(ctx, `CREATE TABLE public.kinds (name text PRIMARY KEY);
		INSERT INTO public.kinds VALUES ('p'), ('q');
		CREATE TABLE public.things (id int PRIMARY KEY, k text, live bool, a int, b int,
			kind text REFERENCES public.kinds (name), code text CHECK (code <> ''), note text);
		CREATE UNIQUE INDEX things_k ON public.things (lower(k)) WHERE live;
		CREATE UNIQUE INDEX things_ab ON public.things (a, b);
		CREATE UNIQUE INDEX things_kind_code ON public.things (kind, code);
		CREATE UNIQUE INDEX things_a_note ON public.things (a, note);
		CREATE UNIQUE INDEX things_b_including_k ON public.things (b, a) INCLUDE (k);
		INSERT INTO public.things VALUES
			(1, 'x', true, 1, 1, 'p', 'c1', 'n1'), (2, 'y', true, 1, 2, 'p', 'c2', 'n2'), -- 1 and 2 swap k
			(3, 'z', true, 2, 1, 'q', 'c3', 'n3'), (4, 'w', true, 2, 2, 'q', 'c4', 'n4'); -- 3 and 4 swap (a, b)
		CREATE TABLE decided (LIKE public.things);
		INSERT INTO decided VALUES (1, 'y', true, 1, 1, 'p', 'c1', 'n1'), (2, 'X', true, 1, 2, 'p', 'c2', 'n2'),
			(3, 'z', true, 2, 2, 'q', 'c3', 'n3'), (4, 'w', true, 2, 1, 'q', 'c4', 'n4');`); err != nil {
		t.Fatal(err)
	}
	targets, err := readTargets(ctx, conn)
	if err != nil {
		t.Fatal(err)
	}
	things := targets["things"]
	parking := map[string][]string{}
	for _, u := range things.Uniques {
		parking[u.Name] = u.Park
	}
	// An INCLUDE column holds no key: nothing to park in.
	if d := cmp.Diff(map[string][]string{"things_k": {"k"}, "things_ab": {}, "things_kind_code": {}, "things_a_note": {"note"},
		"things_b_including_k": {}}, parking); d != "" {
		t.Errorf("the indexes' parking columns (-want +got):\n%s", d)
	}
	q, parks := park("public.things", things.PK, things.Columns, things, "SELECT * FROM decided", things.Uniques)
	if d := cmp.Diff(map[string]bool{"things_k": true, "things_a_note": true}, parks); d != "" {
		t.Errorf("the indexes parking frees (-want +got):\n%s", d)
	}
	moves := vacate("public.things", things.PK, things.Columns, things, "SELECT * FROM decided", things.Uniques)
	passes := func() (n int64) {
		for range 5 {
			tag, err := conn.Exec(ctx, moves)
			if err != nil {
				t.Fatalf("%v\n%s", err, moves)
			}
			if tag.RowsAffected() == 0 {
				break
			}
			n += tag.RowsAffected()
		}
		return n
	}
	if n := passes(); n != 0 {
		t.Fatalf("vacate moved %d rows of two swaps", n)
	}
	tag, err := conn.Exec(ctx, q)
	if err != nil {
		t.Fatalf("%v\n%s", err, q)
	}
	if tag.RowsAffected() != 4 {
		t.Errorf("parked %d rows, want the 4 of the two swaps", tag.RowsAffected())
	}
	if n := passes(); n != 2 {
		t.Errorf("vacate moved %d parked rows, want the 2 that swap k", n)
	}
	got := pgtest.Strings(t, conn, `SELECT t.id || ':' || t.k || ',' || t.a || ',' || t.b || ',' || t.note FROM public.things t ORDER BY t.id`)
	// 3 and 4 stay parked: the upsert, undone, refuses their swap.
	want := []string{"1:y,1,1,n1", "2:X,1,2,n2", "3:cutover-parked-3,2,1,cutover-parked-3", "4:cutover-parked-4,2,2,cutover-parked-4"}
	if d := cmp.Diff(want, got); d != "" {
		t.Errorf("rows after parking (-want +got):\n%s", d)
	}
}

// TestFixedValues: the catalog gives a column a fixed value (the value an
// insert that does not name it writes, the same every time) only where
// there is one: NULL without a default, an immutable default cast to the
// column's type with its modifier; not now(), CURRENT_DATE, 'now'::date
// (an input function at each insert), a sequence, gen_random_uuid(), an
// identity or a generated column.
func TestFixedValues(t *testing.T) {
	ctx := context.Background()
	conn := pgtest.Connect(t, pgtest.NewDB(t))
	if _, err := conn.Exec(ctx, `CREATE TABLE public.things (id int PRIMARY KEY GENERATED ALWAYS AS IDENTITY,
		plain text, zero int DEFAULT 0, big numeric DEFAULT 0, code character(3) DEFAULT 'abc', tags text[] DEFAULT ARRAY[]::text[],
		kind varchar(9) DEFAULT 'custom', doc jsonb DEFAULT '{}',
		stamp timestamptz DEFAULT now(), today date DEFAULT CURRENT_DATE, told date DEFAULT 'now'::text::date,
		serial_no serial, uid uuid DEFAULT gen_random_uuid(), twice int GENERATED ALWAYS AS (zero * 2) STORED)`); err != nil {
		t.Fatal(err)
	}
	targets, err := readTargets(ctx, conn)
	if err != nil {
		t.Fatal(err)
	}
	want := map[string]string{
		"plain": "(NULL)::text", "zero": "(0)::integer", "big": "(0)::numeric", "code": "('abc'::bpchar)::character(3)",
		"tags": "(ARRAY[]::text[])::text[]", "kind": "('custom'::character varying)::character varying(9)", "doc": "('{}'::jsonb)::jsonb",
	}
	if d := cmp.Diff(want, targets["things"].Fixed); d != "" {
		t.Errorf("fixed values (-want +got):\n%s", d)
	}
	// Each is what an insert that does not name the column writes.
	if _, err := conn.Exec(ctx, `INSERT INTO public.things DEFAULT VALUES`); err != nil {
		t.Fatal(err)
	}
	for c, v := range targets["things"].Fixed {
		var same bool
		if err := conn.QueryRow(ctx, `SELECT `+v+` IS NOT DISTINCT FROM t.`+ident(c)+` FROM public.things t`).Scan(&same); err != nil {
			t.Fatalf("%s: %v", c, err)
		}
		if !same {
			t.Errorf("%s: the fixed value %s is not what an insert writes", c, v)
		}
	}
}

// TestComparedTellsChangesTheTypeHides: the run's change checks (differ)
// compare a float, numeric or jsonb column as the column's text, each side
// cast to the column's type first: a decided double that is the column's real, or
// an unconstrained 1.5 into numeric(10,2), is no change (else a pass of
// Vacate would never settle), while -0 into 0 and a jsonb 1.50 into 1.5
// are.
func TestComparedTellsChangesTheTypeHides(t *testing.T) {
	ctx := context.Background()
	conn := pgtest.Connect(t, pgtest.NewDB(t))
	if _, err := conn.Exec(ctx, `CREATE TABLE public.measures (id int PRIMARY KEY, r real, n numeric(10,2), j jsonb, note text);
		INSERT INTO public.measures VALUES (1, 0.1, 1.50, '[1.5]', 'a'), (2, '-0', 2, '[1.50]', 'b'), (3, 1, 3, '[3]', 'c');
		CREATE TABLE decided (id int, r double precision, n numeric, j jsonb, note text);
		INSERT INTO decided VALUES (1, 0.1::real, 1.5, '[1.5]', 'a'), (2, 0, 2, '[1.5]', 'b'), (3, 1, 3, '[3]', 'changed');`); err != nil {
		t.Fatal(err)
	}
	targets, err := readTargets(ctx, conn)
	if err != nil {
		t.Fatal(err)
	}
	m := targets["measures"]
	changed := pgtest.Strings(t, conn, `SELECT t.id::text FROM public.measures t JOIN decided v USING (id)
		WHERE `+differ(m, []string{"r", "n", "j", "note"}, "t", "v")+` ORDER BY t.id`)
	if d := cmp.Diff([]string{"2", "3"}, changed); d != "" {
		t.Errorf("rows the checks call changed (-want +got):\n%s", d)
	}
	if got := compared(m, "t", "note"); got != `t."note"` {
		t.Errorf("a text column is compared as %s, want as it is", got)
	}
}
