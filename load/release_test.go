package load

import (
	"context"
	"testing"

	"github.com/google/go-cmp/cmp"
	"github.com/google/go-cmp/cmp/cmpopts"
	"github.com/jackc/pgx/v5"

	"github.com/cutover/cutover/internal/testkit"
	"github.com/cutover/cutover/mappings"
)

func TestStageRelations(t *testing.T) {
	for _, tc := range []struct {
		name, sql string
		want      []string
	}{
		{"quoted and repeated", `SELECT * FROM "st"."d_users" d JOIN "st"."users" s ON s.id = d._k JOIN "st"."d_users" x ON true`,
			[]string{`"st"."d_users"`, `"st"."users"`}},
		{"unquoted, as mapping SQL writes {{stage}}.name", `JOIN "st".market_item_keys k ON k.id = s.id`,
			[]string{`"st"."market_item_keys"`}},
		{"quote inside a name", `FROM "st"."a""b" s`, []string{`"st"."a""b"`}},
		{"other schemas are not the stage's", `INSERT INTO public."users" SELECT * FROM "cutover"."dispositions", "stx"."users"`, nil},
	} {
		t.Run(tc.name, func(t *testing.T) {
			if diff := cmp.Diff(tc.want, stageRelations("st", tc.sql)); diff != "" {
				t.Errorf("stageRelations (-want +got):\n%s", diff)
			}
		})
	}
}

// TestStageRelease: a relation is released when the last mapping whose
// apply reads it has committed, not before.
func TestStageRelease(t *testing.T) {
	plans := map[string]*Plan{
		"users": {Upsert: []string{`INSERT INTO public.users SELECT * FROM "st"."d_users" d JOIN "st"."users" s ON true`}},
		"sessions": {FirstUpsert: []string{`INSERT INTO public.sessions SELECT * FROM "st"."d_sessions" d JOIN "st"."sessions" s ON true`},
			FKChecks: []FKCheck{{SQL: `SELECT count(*) FROM "st"."d_users"`}}},
		"archived": {LedgerRows: `SELECT 1 FROM "st"."d_archived"`},
	}
	r := newStageRelease("st", plans, nil)
	steps := []struct {
		mapping string
		want    []string
	}{
		{"users", []string{`"st"."users"`}}, // d_users is still read by sessions' check
		{"archived", []string{`"st"."d_archived"`}},
		{"sessions", []string{`"st"."d_sessions"`, `"st"."sessions"`, `"st"."d_users"`}},
		{"sessions", nil}, // a mapping released twice frees nothing more
	}
	for _, s := range steps {
		got := r.applied(s.mapping)
		if diff := cmp.Diff(s.want, got, cmpopts.SortSlices(func(a, b string) bool { return a < b }), cmpopts.EquateEmpty()); diff != "" {
			t.Errorf("after %s (-want +got):\n%s", s.mapping, diff)
		}
	}
}

// TestKeepStage: with KeepStage the early drops keep every stage relation
// (decision tables included), and each was created without autovacuum.
func TestKeepStage(t *testing.T) {
	ctx := context.Background()
	src, dst := dryrunSource(t), testkit.MigratedTarget(t)
	if _, err := Run(ctx, Config{SourceURL: src, TargetURL: dst, MaxRejects: -1, KeepStage: true}); err != nil {
		t.Fatal(err)
	}
	conn, err := pgx.Connect(ctx, dst)
	if err != nil {
		t.Fatal(err)
	}
	defer conn.Close(ctx)
	var tables, decisions int
	var vacuumed []string
	if err := conn.QueryRow(ctx, `SELECT count(*), count(*) FILTER (WHERE c.relname LIKE 'd\_%'),
			coalesce(array_agg(c.relname ORDER BY c.relname) FILTER (WHERE NOT coalesce(c.reloptions @> '{autovacuum_enabled=false}', false)), '{}')
		FROM pg_class c WHERE c.relnamespace = $1::regnamespace AND c.relkind = 'r'`, mappings.StageSchema).
		Scan(&tables, &decisions, &vacuumed); err != nil {
		t.Fatal(err)
	}
	if tables < 100 || decisions < 50 {
		t.Errorf("the kept stage holds %d tables, %d of them decision tables; want every legacy table and its decisions", tables, decisions)
	}
	if len(vacuumed) > 0 {
		t.Errorf("stage tables autovacuum may vacuum: %v", vacuumed)
	}
}
