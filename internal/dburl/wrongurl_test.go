package dburl_test

import (
	"context"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/jackc/pgx/v5/pgconn"

	"github.com/cutover/cutover/internal/dburl"
	"github.com/cutover/cutover/internal/pgcluster"
	"github.com/cutover/cutover/internal/pgtest"
)

// TestWrongURLsSayWhatToCheck: a connection refused for what its URL says
// (a database the server does not have, a role it does not know, a wrong
// password, on a server that asks for passwords) names what to check of
// the URL, never the password, and is one that running the same command
// again cannot help (WrongURL); a server that does not answer is not.
func TestWrongURLsSayWhatToCheck(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	dir, err := os.MkdirTemp("", "cutover-hba-") // not t.TempDir: its parent is private to this user
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { os.RemoveAll(dir) })
	if err := os.Chmod(dir, 0o755); err != nil { // the server, run as postgres, reads the file
		t.Fatal(err)
	}
	hba := filepath.Join(dir, "pg_hba.conf")
	if err := os.WriteFile(hba, []byte("local all all trust\nhost all all 127.0.0.1/32 scram-sha-256\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	server, err := pgcluster.Start(ctx, pgcluster.Options{Settings: map[string]string{"hba_file": hba}})
	if err != nil {
		t.Fatal(err)
	}
	defer server.Stop()
	admin := pgtest.Connect(t, server.URL("postgres"))
	if _, err := admin.Exec(ctx, `CREATE ROLE cutover_pw LOGIN PASSWORD 'right-one'`); err != nil {
		t.Fatal(err)
	}
	tcp := func(user, db string) string {
		return fmt.Sprintf("postgres://%s@127.0.0.1:%d/%s?sslmode=disable", user, server.Port(), db)
	}
	for _, c := range []struct {
		name, url string
		wrong     bool
		want      string
	}{
		{"no such database", server.URL("nosuchdb"), true, "(the server has no database of that name: check the URL's database"},
		{"no such role", server.URL("postgres") + "&user=nosuchrole", true, "(the server has no such role, or its pg_hba.conf refuses this role, database or client address"},
		{"a wrong password", tcp("cutover_pw:wrong-one", "postgres"), true, "(the server refused the password for that role: check the URL's password"},
		{"the right password", tcp("cutover_pw:right-one", "postgres"), false, ""},
		{"no server", "postgres://u:wrong-one@127.0.0.1:1/app?sslmode=disable&connect_timeout=5", false, "connection refused"},
		{"no URL", "postgres://u:wrong-one@127.0.0.1:notaport/app", true, "the URL cannot be parsed"},
	} {
		conn, err := dburl.Connect(ctx, "target", c.url)
		if conn != nil {
			conn.Close(ctx)
		}
		switch {
		case c.want == "" && err != nil:
			t.Errorf("%s: %v", c.name, err)
		case c.want != "" && (err == nil || !strings.Contains(err.Error(), c.want)):
			t.Errorf("%s: %v\nwant it to say %q", c.name, err, c.want)
		case err != nil && strings.Contains(err.Error(), "wrong-one"):
			t.Errorf("%s: the error shows the password: %v", c.name, err)
		case dburl.WrongURL(err) != c.wrong:
			t.Errorf("%s: WrongURL = %t, want %t: %v", c.name, !c.wrong, c.wrong, err)
		}
	}
}

// TestWrongURLAdviceFitsTheRole: a database the server does not have is
// advised by the role of the URL: only a target is a database created for
// the cutover and given the schema by `cutover schema apply`; a source is
// the legacy database, and a role of neither gets the plain advice. Every
// role's is one that running the same command again cannot help
// (WrongURL). The advice for a wrong password or role names no side.
func TestWrongURLAdviceFitsTheRole(t *testing.T) {
	ctx := context.Background()
	missing := pgtest.URLFor(t, "no_such_database")
	const plain = "(the server has no database of that name: check the URL's database name"
	for _, c := range []struct {
		role      string
		want, not []string
	}{
		{"source", []string{plain + "; the source is the legacy database itself"}, []string{"schema apply", "a target is", "empty database"}},
		{"target", []string{plain + "; a target is an empty database created for the cutover, then given the schema by `cutover schema apply`)"}, []string{"legacy"}},
		{"legacy", []string{plain + ")"}, []string{"schema apply", "a target is", "the source is"}},
	} {
		t.Run(c.role, func(t *testing.T) {
			conn, err := dburl.Connect(ctx, c.role, missing)
			if conn != nil {
				conn.Close(ctx)
			}
			if err == nil {
				t.Fatalf("Connect(%q) succeeded", missing)
			}
			for _, w := range c.want {
				if !strings.Contains(err.Error(), w) {
					t.Errorf("%v\nwant it to say %q", err, w)
				}
			}
			for _, n := range c.not {
				if strings.Contains(err.Error(), n) {
					t.Errorf("%v\nsays %q, which is not for the %s", err, n, c.role)
				}
			}
			if !dburl.WrongURL(err) {
				t.Errorf("WrongURL = false, want true: %v", err)
			}
			for _, code := range []string{"28P01", "28000"} {
				msg := (&dburl.Error{Role: c.role, Server: "u@h:5432/db", Err: &pgconn.PgError{Code: code}}).Error()
				for _, n := range []string{"source", "target", "legacy", "schema apply"} {
					if strings.Contains(strings.TrimPrefix(msg, "connect to "+c.role), n) {
						t.Errorf("%s: %s\nsays %q, which is not for every role", code, msg, n)
					}
				}
			}
		})
	}
}
