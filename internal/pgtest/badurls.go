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
	missing, pw := WithPassword(t, URLFor(t, "no_such_database"), secret)
	cfg, err := pgconn.ParseConfig(missing)
	if err != nil {
		t.Fatal(err)
	}
	return []BadURL{
		{"unparseable", "postgres://u:" + secret + "@127.0.0.1:notaport/db", "127.0.0.1", secret},
		{"port out of range", "postgres://u:" + secret + "@127.0.0.1:99999/db", "127.0.0.1", secret},
		{"closed port", "postgres://u:" + secret + "@127.0.0.1:1/db", "127.0.0.1:1", secret},
		{"missing database", missing, cfg.Host, pw},
	}
}

// WithPassword returns connURL with password pw in it, and the password
// the returned URL carries: connURL's own when it has one (a
// CUTOVER_TEST_DATABASE_URL's, which its server checks), else pw, which
// the throwaway servers, trusting local connections, never check. Tests
// use it to show that a password stays out of what they read.
func WithPassword(t testing.TB, connURL, pw string) (string, string) {
	t.Helper()
	u, err := url.Parse(connURL)
	if err != nil {
		t.Fatal(err)
	}
	if own, has := u.User.Password(); has {
		return connURL, own
	}
	name := "postgres"
	if u.User != nil {
		name = u.User.Username()
	}
	u.User = url.UserPassword(name, pw)
	return u.String(), pw
}
