package reconcile_test

import (
	"context"
	"slices"
	"strings"
	"testing"

	"github.com/jackc/pgx/v5"

	"github.com/cutover/cutover/internal/pgtest"
	"github.com/cutover/cutover/load"
	"github.com/cutover/cutover/migrations"
	"github.com/cutover/cutover/reconcile"
)

// keptField is a text field of a row cutover.archive or cutover.rejects
// keeps, by legacy table and key.
type keptField struct{ table, key, field string }

// textFieldOfKept finds a field of a row kept in the named bookkeeping
// table whose legacy column is text and in no constraint (on src), in a
// table keyed by id.
func textFieldOfKept(t *testing.T, src, dst, kept string) keptField {
	t.Helper()
	ctx := context.Background()
	tc, sc := pgtest.Connect(t, dst), pgtest.Connect(t, src)
	defer tc.Close(ctx)
	defer sc.Close(ctx)
	rows, err := tc.Query(ctx, `SELECT legacy_table, legacy_key, e.k FROM cutover.`+kept+` r, jsonb_each(r.row) e(k, v)
		WHERE jsonb_typeof(e.v) = 'string' AND e.k <> 'id' AND r.row->>'id' = r.legacy_key ORDER BY 1, 2, 3 LIMIT 200`)
	if err != nil {
		t.Fatal(err)
	}
	candidates, err := pgx.CollectRows(rows, func(r pgx.CollectableRow) (keptField, error) {
		var f keptField
		return f, r.Scan(&f.table, &f.key, &f.field)
	})
	if err != nil {
		t.Fatal(err)
	}
	for _, f := range candidates {
		var text bool
		if err := sc.QueryRow(ctx, `SELECT a.atttypid = 'text'::regtype AND NOT EXISTS (SELECT 1 FROM pg_constraint c
				WHERE c.conrelid = a.attrelid AND a.attnum = ANY(c.conkey))
			FROM pg_attribute a WHERE a.attrelid = ('public.' || quote_ident($1))::regclass AND a.attname = $2`, f.table, f.field).Scan(&text); err != nil {
			t.Fatal(err)
		}
		if text {
			return f
		}
	}
	t.Fatalf("cutover.%s keeps no row with a text field", kept)
	return keptField{}
}

// TestVerifyComparesKeptRows: the rows archive and rejects keep are the
// legacy rows verbatim; one changed on either side after the run is found,
// by table, key and field, and fails the verification.
func TestVerifyComparesKeptRows(t *testing.T) {
	t.Parallel()
	cases := []struct {
		name   string
		kept   string
		tamper func(t *testing.T, src, dst string, f keptField)
	}{
		{"an archived row changed in the target", "archive", func(t *testing.T, src, dst string, f keptField) {
			exec(t, dst, `UPDATE cutover.archive SET row = jsonb_set(row, '{`+f.field+`}', to_jsonb('tampered'::text))
				WHERE legacy_table = '`+f.table+`' AND legacy_key = '`+f.key+`'`)
		}},
		{"a rejected row changed in the source", "rejects", func(t *testing.T, src, dst string, f keptField) {
			exec(t, src, `UPDATE public.`+pgx.Identifier{f.table}.Sanitize()+` SET `+pgx.Identifier{f.field}.Sanitize()+` = 'edited after the run'
				WHERE id::text = '`+f.key+`'`)
		}},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			src, dst := finishedDB(t, genOptions)
			f := textFieldOfKept(t, src, dst, tc.kept)
			tc.tamper(t, src, dst, f)
			res := verify(t, src, dst)
			if res.OK() {
				t.Fatal("verify holds with a kept row that is not its legacy row")
			}
			i := slices.IndexFunc(res.Findings, func(x reconcile.Finding) bool {
				return x.Severity == reconcile.Failure && x.Check == reconcile.CheckKeptRows && x.Kind == reconcile.KindChangedRow &&
					x.Table == f.table && x.Key == f.key
			})
			if i < 0 {
				t.Fatalf("no kept_rows finding for %s %s; failures:\n%s", f.table, f.key, strings.Join(failures(res), "\n"))
			}
			if x := res.Findings[i]; !slices.Equal(x.Columns, []string{f.field}) || !strings.Contains(x.Message, "cutover."+tc.kept+" keeps") {
				t.Errorf("finding %+v, want the field %s of the row cutover.%s keeps named", x, f.field, tc.kept)
			}
			// Only that: the keys are all accounted for.
			if got := failures(res); len(got) != 1 {
				t.Errorf("failures:\n%s\nwant the one kept row", strings.Join(got, "\n"))
			}
			j := slices.IndexFunc(res.Tables, func(c reconcile.TableCheck) bool { return c.Legacy == f.table })
			if j < 0 {
				t.Fatalf("no conservation line of %s", f.table)
			}
			if c := res.Tables[j]; c.Holds || c.Kept == nil || c.Kept.Changed != 1 || c.Kept.Equal {
				t.Errorf("%s: %+v, kept %+v; want one changed kept row, and the table not holding", f.table, c, c.Kept)
			}
			// What the finding says mends it: --full (a plain re-run
			// also takes up the source's change).
			if _, err := load.Run(context.Background(), load.Config{SourceURL: src, TargetURL: dst, MaxRejects: -1, Workers: 2, Full: tc.kept == "archive"}); err != nil {
				t.Fatal(err)
			}
			if res := verify(t, src, dst); !res.OK() {
				t.Errorf("after the re-run, verify fails:\n%s", strings.Join(failures(res), "\n"))
			}
		})
	}
}

// TestKeptRowsIgnoreTheTargetsTextFormat: a target database whose sessions
// write timestamps in another time zone, intervals, bytea and floats in
// other styles, still keeps the rows as verify reads them from the source:
// the run writes them in dburl.TextFormat.
func TestKeptRowsIgnoreTheTargetsTextFormat(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	src := legacyDB(t, genOptions)
	dst := pgtest.NewDB(t)
	pgtest.AlterDatabase(t, dst, "SET timezone = 'Asia/Kathmandu'", "SET intervalstyle = 'iso_8601'", "SET bytea_output = 'escape'",
		"SET extra_float_digits = 0", "SET datestyle = 'SQL, DMY'")
	if _, err := migrations.Apply(ctx, dst, nil); err != nil {
		t.Fatal(err)
	}
	sum, err := load.Run(ctx, load.Config{SourceURL: src, TargetURL: dst, MaxRejects: -1, Workers: 2})
	if err != nil {
		t.Fatal(err)
	}
	if !sum.OK() {
		t.Fatalf("the run's conservation law fails: %+v", sum.Tables)
	}
	res := verify(t, src, dst)
	if !res.OK() {
		t.Fatalf("verify fails:\n%s", strings.Join(failures(res), "\n"))
	}
	// Kathmandu is UTC+05:45: no kept timestamp is written there.
	if n := queryString(t, dst, `SELECT concat_ws(' ', count(*) FILTER (WHERE row::text LIKE '%+05:45%'), count(*) FILTER (WHERE row::text LIKE '%+00:00%'))
		FROM (SELECT row FROM cutover.archive UNION ALL SELECT row FROM cutover.rejects) k`); !strings.HasPrefix(n, "0 ") || n == "0 0" {
		t.Errorf("kept rows in +05:45 and in UTC: %s, want none in +05:45 and some in UTC", n)
	}
}
