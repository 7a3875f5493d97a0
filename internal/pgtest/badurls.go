package pgtest

import (
	"net/url"
	"testing"

	"github.com/jackc/pgx/v5/pgconn"
)

// BadURL is a connection URL that cannot work, with the host its error
// must name and the password it must never show.
type BadURL struct{ Name, URL, Host, Password string }

// BadURLs returns URLs that cannot work, each carrying a password: one
// that cannot be parsed, one whose port is out of range, one whose port
// nothing listens on, and one naming a database the test server does not
// have (with the server's own password when its URL has one).
func BadURLs(t testing.TB) []BadURL {
	t.Helper()
	const secret = "s3cr3tpw"
	missing, err := url.Parse(URLFor(t, "no_such_database"))
	if err != nil {
		t.Fatal(err)
	}
	pw, hasPW := missing.User.Password()
	if !hasPW {
		pw = secret
		missing.User = url.UserPassword(missing.User.Username(), pw)
	}
	cfg, err := pgconn.ParseConfig(missing.String())
	if err != nil {
		t.Fatal(err)
	}
	return []BadURL{
		{"unparseable", "postgres://u:" + secret + "@127.0.0.1:notaport/db", "127.0.0.1", secret},
		{"port out of range", "postgres://u:" + secret + "@127.0.0.1:99999/db", "127.0.0.1", secret},
		{"closed port", "postgres://u:" + secret + "@127.0.0.1:1/db", "127.0.0.1:1", secret},
		{"missing database", missing.String(), cfg.Host, pw},
	}
}
