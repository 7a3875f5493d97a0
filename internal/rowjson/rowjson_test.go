package rowjson

import (
	"context"
	"fmt"
	"os"
	"strings"
	"testing"

	"github.com/google/go-cmp/cmp"

	"github.com/cutover/cutover/internal/pgtest"
)

func TestMain(m *testing.M) { os.Exit(pgtest.Main(m)) }

// TestSQLKeepsWhatToJSONBLoses: the kept JSON of a row holds a float's -0
// and an array's lower bounds (as their text), and is to_jsonb's own for
// every other value, NULLs, NaN and empty arrays included.
func TestSQLKeepsWhatToJSONBLoses(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	conn := pgtest.Connect(t, pgtest.NewDB(t))
	if _, err := conn.Exec(ctx, `CREATE TABLE "t'x" (n int, r real, d double precision, a text[], m int[], "it's" real);
		INSERT INTO "t'x" VALUES
			(1, '-0', '-0', '[2:3]={a,b}', '[1:2][0:1]={{1,2},{3,4}}', '-0'),
			(2, '0', 'NaN', '{a,b}', '{{1,2},{3,4}}', 1.5),
			(3, NULL, '-Infinity', '{}', NULL, NULL),
			(4, 1.25, '-0.5', '[0:0]={NULL}', '{7}', '0')`); err != nil {
		t.Fatal(err)
	}
	cols := []Column{{"n", "integer"}, {"r", "real"}, {"d", "double precision"}, {"a", "text[]"}, {"m", "integer[]"}, {"it's", "real"}}
	got := pgtest.Strings(t, conn, `SELECT (`+SQL("s", cols)+`)::text FROM "t'x" s ORDER BY n`)
	want := []string{
		`{"a": "[2:3]={a,b}", "d": "-0", "m": "[1:2][0:1]={{1,2},{3,4}}", "n": 1, "r": "-0", "it's": "-0"}`,
		`{"a": ["a", "b"], "d": "NaN", "m": [[1, 2], [3, 4]], "n": 2, "r": 0, "it's": 1.5}`,
		`{"a": [], "d": "-Infinity", "m": null, "n": 3, "r": null, "it's": null}`,
		`{"a": "[0:0]={NULL}", "d": -0.5, "m": [7], "n": 4, "r": 1.25, "it's": 0}`,
	}
	if d := cmp.Diff(want, got); d != "" {
		t.Errorf("kept JSON (-want +got):\n%s", d)
	}
	// Rows without such values are to_jsonb's, byte for byte.
	same := pgtest.Strings(t, conn, `SELECT ((`+SQL("s", cols)+`) = to_jsonb(s) AND (`+SQL("s", cols)+`)::text = to_jsonb(s)::text)::text FROM "t'x" s WHERE n IN (2, 3) ORDER BY n`)
	if d := cmp.Diff([]string{"true", "true"}, same); d != "" {
		t.Errorf("rows to_jsonb keeps whole (-want +got):\n%s", d)
	}
	if got := SQL("s", []Column{{"id", "uuid"}, {"note", "text"}}); got != "to_jsonb(s.*)" {
		t.Errorf("a table without floats or arrays: %s, want to_jsonb(s.*)", got)
	}
	// A column named as the row's alias, a float array holding -0, and
	// more such columns than jsonb_build_object takes arguments.
	wide := []string{"s int", "f real[]"}
	wideCols := []Column{{"s", "integer"}, {"f", "real[]"}}
	for i := range 60 {
		wide = append(wide, fmt.Sprintf("r%d real", i))
		wideCols = append(wideCols, Column{fmt.Sprintf("r%d", i), "real"})
	}
	if _, err := conn.Exec(ctx, `CREATE TABLE wide (`+strings.Join(wide, ", ")+`);
		INSERT INTO wide (s, f, r0, r59) VALUES (5, '{1,-0}', '-0', 2), (6, '{1,0}', 0, '-0')`); err != nil {
		t.Fatal(err)
	}
	got = pgtest.Strings(t, conn, `SELECT (`+SQL("s", wideCols)+`)->>'s' || ' ' || ((`+SQL("s", wideCols)+`) - 's' - 'f' - 'r0' - 'r59' = to_jsonb(s.*) - 's' - 'f' - 'r0' - 'r59')::text || ' ' ||
		concat_ws(' ', (`+SQL("s", wideCols)+`)->'f', (`+SQL("s", wideCols)+`)->'r0', (`+SQL("s", wideCols)+`)->'r59') FROM wide s ORDER BY s`)
	if d := cmp.Diff([]string{`5 true "{1,-0}" "-0" 2`, `6 true [1, 0] 0 "-0"`}, got); d != "" {
		t.Errorf("kept JSON of the wide table (-want +got):\n%s", d)
	}
}
