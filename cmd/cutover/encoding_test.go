package main

import (
	"context"
	"regexp"
	"slices"
	"strings"
	"testing"

	"github.com/google/go-cmp/cmp"

	"github.com/cutover/cutover/internal/legacygen"
	"github.com/cutover/cutover/internal/pgtest"
	"github.com/cutover/cutover/internal/testkit"
)

// legacyIn returns a new legacy database (v21, small) created in encoding
// enc, with the C locale.
func legacyIn(t *testing.T, enc string) string {
	t.Helper()
	u := pgtest.NewDBWith(t, "ENCODING '"+enc+"' LC_COLLATE 'C' LC_CTYPE 'C'")
	if _, err := legacygen.Generate(context.Background(), u, legacygen.Options{Flavor: "v21", Users: 12, Seed: 3}); err != nil {
		t.Fatal(err)
	}
	return u
}

// TestEncodingsTheCutoverCannotCopyAreRefused: binary COPY carries text in
// the bytes the server stores, converting nothing. A LATIN1 source would
// send its accented letters as bytes that are not UTF-8, and a LATIN1
// target would store the source's UTF-8 bytes as characters of its own
// (which no checksum could tell, both sides hashing the same bytes). Each
// is refused before anything is written, with what to do instead and no
// advice to re-run; `schema apply` refuses the target too, and a run or a
// dry run says why before it says the schema is missing.
func TestEncodingsTheCutoverCannotCopyAreRefused(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	latin1Source := legacyIn(t, "LATIN1")
	latin1Target := pgtest.NewDBWith(t, "ENCODING 'LATIN1' LC_COLLATE 'C' LC_CTYPE 'C'")
	for _, c := range []struct {
		name, src, dst string
		commands       [][]string
		want           string
	}{
		{"LATIN1 source", latin1Source, testkit.MigratedTarget(t), [][]string{{"run"}, {"diff"}, {"verify"}, {"status"}},
			"the source database's encoding is LATIN1, and cutover copies text in the bytes the server stores"},
		{"LATIN1 target", reportLegacy(t), latin1Target, [][]string{{"schema", "apply"}, {"schema", "status"}, {"run"}, {"diff"}},
			"is a database in encoding LATIN1, and the cutover writes the application's text as UTF-8: create the target database with ENCODING 'UTF8'"},
	} {
		t.Run(c.name, func(t *testing.T) {
			env := []string{"CUTOVER_SOURCE_URL=" + c.src, "CUTOVER_TARGET_URL=" + c.dst}
			conn := pgtest.Connect(t, c.dst)
			relations := `SELECT n.nspname || '.' || c.relname FROM pg_class c JOIN pg_namespace n ON n.oid = c.relnamespace WHERE n.nspname NOT LIKE 'pg\_%' AND n.nspname <> 'information_schema' ORDER BY 1`
			before := pgtest.Strings(t, conn, relations)
			refusedByAll(t, env, c.want, c.commands...)
			if diff := cmp.Diff(before, pgtest.Strings(t, conn, relations)); diff != "" {
				t.Errorf("the refused commands changed the target's relations (-before +after):\n%s", diff)
			}
			if slices.Contains(before, "public.users") {
				var users int
				if err := conn.QueryRow(ctx, `SELECT count(*) FROM users`).Scan(&users); err != nil || users != 0 {
					t.Errorf("the refused commands wrote %d users (%v)", users, err)
				}
			}
		})
	}
}

// TestSQLASCIISourceValuesThatAreNotUTF8: a SQL_ASCII source keeps
// whatever bytes its clients wrote. Its UTF-8 text (the generator's names
// with accents, and one planted) copies as it is; a value in LATIN1 stops
// the run, whose error names every such value of every table at once
// (table, column, row, bytes) and, for each table, the statement that
// converts its first. Running the statements it gives, one failed run
// after another, lets the run finish, and verify proves it.
func TestSQLASCIISourceValuesThatAreNotUTF8(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	src, dst := legacyIn(t, "SQL_ASCII"), testkit.MigratedTarget(t)
	conn := pgtest.Connect(t, src)
	// Two users' names and a habit's in LATIN1 bytes (é, ü), and one name
	// in UTF-8 (ë).
	if _, err := conn.Exec(ctx, `
		UPDATE users SET name = CASE n WHEN 1 THEN E'Caf\xe9 Ren\xe9' WHEN 2 THEN E'M\xfcller' ELSE E'Zo\xc3\xab' END
		FROM (SELECT id, row_number() OVER (ORDER BY id) AS n FROM users) o WHERE o.id = users.id AND n <= 3;
		UPDATE habits SET name = E'Fr\xfchsport' WHERE id = (SELECT id FROM habits ORDER BY id LIMIT 1)`); err != nil {
		t.Fatal(err)
	}
	env := []string{"CUTOVER_SOURCE_URL=" + src, "CUTOVER_TARGET_URL=" + dst}
	update := regexp.MustCompile(`UPDATE public\."(users|habits)" SET "name" = convert_from\(convert\(textsend\("name"\), 'LATIN1', 'UTF8'\), 'SQL_ASCII'\) WHERE id = '[0-9a-f-]+'`)
	for _, want := range [][]string{
		{`2 values of the source are not UTF-8, which the target stores: users.name of row id "`, `1 value of the source is not UTF-8, which the target stores: habits.name of row id "`},
		{`1 value of the source is not UTF-8, which the target stores: users.name of row id "`},
	} {
		stdout, stderr, code := runMain(t, env, "run", "--max-rejects", "-1")
		if code == 0 || !strings.Contains(stderr, "(SQLSTATE 22021)") ||
			!strings.Contains(stderr, "The source's encoding is SQL_ASCII, which stores whatever bytes a client wrote") {
			t.Fatalf("run: exit %d, want the values that are not UTF-8 named\n%s\n%s", code, stdout, stderr)
		}
		for _, w := range want {
			if !strings.Contains(stderr, w) {
				t.Errorf("run: %q not said\n%s", w, stderr)
			}
		}
		fixes := update.FindAllString(stderr, -1)
		if len(fixes) != len(want) {
			t.Fatalf("run: %d statements to convert values, want %d\n%s", len(fixes), len(want), stderr)
		}
		for _, fix := range fixes {
			if tag, err := conn.Exec(ctx, fix); err != nil || tag.RowsAffected() != 1 {
				t.Fatalf("%s: %v (%d rows)", fix, err, tag.RowsAffected())
			}
		}
	}
	if stdout, stderr, code := runMain(t, env, "run", "--max-rejects", "-1"); code != 0 {
		t.Fatalf("run once the values are UTF-8: exit %d\n%s\n%s", code, stdout, stderr)
	}
	target := pgtest.Connect(t, dst)
	got := pgtest.Strings(t, target, `SELECT name FROM users WHERE name IN ('Café René', 'Müller', 'Zoë') ORDER BY name`)
	got = append(got, pgtest.Strings(t, target, `SELECT name FROM habits WHERE name = 'Frühsport'`)...)
	if want := []string{"Café René", "Müller", "Zoë", "Frühsport"}; strings.Join(got, "|") != strings.Join(want, "|") {
		t.Errorf("the converted names in the target: %q, want %q", got, want)
	}
	if stdout, stderr, code := runMain(t, env, "verify"); code != 0 || !strings.Contains(stdout+stderr, "verify: OK") {
		t.Errorf("verify: exit %d\n%s\n%s", code, stdout, stderr)
	}
}
