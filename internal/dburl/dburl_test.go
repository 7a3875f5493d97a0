package dburl_test

import (
	"context"
	"errors"
	"fmt"
	"net"
	"net/url"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgconn"

	"github.com/cutover/cutover/internal/dburl"
	"github.com/cutover/cutover/internal/pgtest"
)

func TestMain(m *testing.M) { os.Exit(pgtest.Main(m)) }

const secret = "s3cr3tpw"

func TestRedact(t *testing.T) {
	cases := []struct {
		name, in string
		want     string // exact result; empty means only "no secret"
		keep     string // a part that must survive
	}{
		{name: "url password", in: "postgres://u:s3cr3tpw@db.example.com:5432/app",
			want: "postgres://u:xxxxx@db.example.com:5432/app"},
		{name: "url without password", in: "postgres://u@db.example.com/app?sslmode=disable",
			want: "postgres://u@db.example.com/app?sslmode=disable"},
		{name: "password query parameter", in: "postgres://db.example.com/app?password=s3cr3tpw&sslmode=disable",
			keep: "db.example.com"},
		{name: "keyword/value", in: "host=db.example.com user=u password=s3cr3tpw dbname=app",
			want: "host=db.example.com user=u password=xxxxx dbname=app"},
		{name: "keyword/value, upper case", in: "host=db.example.com PASSWORD=s3cr3tpw",
			want: "host=db.example.com PASSWORD=xxxxx"},
		{name: "keyword/value, quoted with a space", in: "host=db.example.com password='s3cr3tpw s3cr3tpw' dbname=app",
			want: "host=db.example.com password=xxxxx dbname=app"},
		{name: "keyword/value, spaces around =", in: "host=db.example.com password = s3cr3tpw",
			want: "host=db.example.com password = xxxxx"},
		{name: "unparseable url: bad port", in: "postgres://u:s3cr3tpw@db.example.com:notaport/app",
			want: "postgres://u:xxxxx@db.example.com:notaport/app"},
		{name: "unparseable url: bad escape in password", in: "postgres://u:s3cr3tpw%zz@db.example.com/app",
			want: "postgres://u:xxxxx@db.example.com/app"},
		{name: "password parameter with a bad escape", in: "postgres://db.example.com/app?sslmode=disable&password=s3cr3tpw%zz",
			want: "postgres://db.example.com/app?sslmode=disable&password=xxxxx"},
		{name: "unparseable url: password parameter", in: "postgres://db.example.com:x/app?sslmode=disable&password=s3cr3tpw",
			want: "postgres://db.example.com:x/app?sslmode=disable&password=xxxxx"},
		// From a review: forms the server's client reads a password from
		// that Redact showed.
		{name: "password parameter named with an escape", in: "postgres://u@db.example.com/app?pass%77ord=s3cr3tpw",
			want: "postgres://u@db.example.com/app?pass%77ord=xxxxx"},
		{name: "keyword/value, a backslash-escaped space", in: `host=db.example.com password=s3cr3tpw\ s3cr3tpw dbname=app`,
			want: "host=db.example.com password=xxxxx dbname=app"},
		{name: "one slash after the scheme", in: "postgres:/u:s3cr3tpw@db.example.com/app",
			want: "postgres:/u:xxxxx@db.example.com/app"},
		{name: "an unescaped @ in the password", in: "postgres://u:s3c@r3tpw@db.example.com:5432/app",
			want: "postgres://u:xxxxx@db.example.com:5432/app"},
		{name: "a ? in the password of an unparseable url", in: "postgres://u:s3cr3tpw?x@db.example.com:x/app?password=s3cr3tpw",
			want: "postgres://u:xxxxx@db.example.com:x/app?password=xxxxx"},
		// From a review of the above: a '?' or a '#' of a password before
		// an '@' of it, an '@' in a password parameter of a URL net/url
		// cannot parse, a '/' in the password, and a keyword/value string
		// holding "://".
		{name: "a ? and an @ in the password", in: "postgres://u:s3c?1@r3tpw@127.0.0.1:1/db",
			want: "postgres://u:xxxxx@127.0.0.1:1/db"},
		{name: "a # and an @ in the password", in: "postgres://u:12#s3c@r3tpw@127.0.0.1:1/db",
			want: "postgres://u:xxxxx@127.0.0.1:1/db"},
		{name: "an @ in a password parameter of an unparseable url", in: "postgres://u@h:x/db?password=s3c@r3tpw",
			want: "postgres://u@h:x/db?password=xxxxx"},
		{name: "a / in the password", in: "postgres://u:s3c/r3tpw@h/db",
			want: "postgres://u:xxxxx@h/db"},
		{name: "keyword/value holding ://", in: "host=h user=u password=s3cr3tpw application_name=http://x",
			want: "host=h user=u password=xxxxx application_name=http://x"},
		{name: "keyword/value, a password holding ://", in: "password=s3c://r3tpw host=h",
			want: "password=xxxxx host=h"},
		// From a review of the above: an '@' in a query value, with no
		// path; a password holding a '/' the client reads as a port and a
		// database; a client key's password.
		{name: "an @ in the query of a url without a path", in: "postgres://u@h?application_name=a@b&password=s3cr3tpw&port=x",
			want: "postgres://u@h?application_name=a@b&password=xxxxx&port=x"},
		{name: "an @ in the query and a password", in: "postgres://u:s3cr3tpw@h?application_name=a@b",
			want: "postgres://u:xxxxx@h?application_name=a@b"},
		{name: "a / in a password the client reads as a port", in: "postgres://u:123/s3cr3tpw@127.0.0.1/db",
			want: "postgres://u:xxxxx@127.0.0.1/db"},
		{name: "sslpassword", in: "postgres://u@h/db?sslpassword=s3cr3tpw&sslmode=require",
			want: "postgres://u@h/db?sslpassword=xxxxx&sslmode=require"},
		{name: "keyword/value sslpassword", in: "host=h port=x sslpassword=s3cr3tpw",
			want: "host=h port=x sslpassword=xxxxx"},
		{name: "a / of the query before a password parameter with an @", in: "postgres://h?host=/tmp&password=s3c@r3tpw",
			want: "postgres://h?host=/tmp&password=xxxxx"},
		{name: "a password holding a / then a ?", in: "postgres://u:ab/c?s3cr3tpw@h/db",
			want: "postgres://u:xxxxx@h/db"},
		{name: "upper-case scheme", in: "POSTGRESQL://u:s3cr3tpw@h/db",
			want: "POSTGRESQL://u:xxxxx@h/db"},
		// From a review: strings that are no postgres:// URL but hold
		// one, or user info; a password parameter or a keyword/value
		// password that runs on past an '&' or a space.
		{name: "a space before the scheme", in: " postgres://u:s3cr3tpw@h/db", want: " postgres://u:xxxxx@h/db"},
		{name: "a quoted url", in: `"postgres://u:s3cr3tpw@h/db"`, want: `"postgres://u:xxxxx@h/db"`},
		{name: "jdbc scheme", in: "jdbc:postgresql://u:s3cr3tpw@h/db?password=s3cr3tpw", want: "jdbc:postgresql://u:xxxxx@h/db?password=xxxxx"},
		{name: "sqlalchemy scheme", in: "postgresql+psycopg2://u:s3cr3tpw@h/db", want: "postgresql+psycopg2://u:xxxxx@h/db"},
		{name: "no scheme", in: "u:s3cr3tpw@h/db", want: "u:xxxxx@h/db"},
		{name: "no scheme, an @ in the password", in: "u:s3c@r3tpw@h/db", want: "u:xxxxx@h/db"},
		{name: "an & of the password parameter's", in: "postgres://u@h/db?password=Secret&s3cr3tpw", want: "postgres://u@h/db?password=xxxxx"},
		{name: "an & of the password parameter's, then a parameter", in: "postgres://u@h/db?password=Sec&s3cr3tpw&sslmode=disable",
			want: "postgres://u@h/db?password=xxxxx&sslmode=disable"},
		{name: "keyword/value, a double-quoted password", in: `host=h password="my s3cr3tpw" dbname=x`, want: "host=h password=xxxxx dbname=x"},
		{name: "keyword/value, a password with a space", in: "host=h password=first s3cr3tpw dbname=x", want: "host=h password=xxxxx dbname=x"},
		{name: "keyword/value, a password with a space, last", in: "host=h password=first s3cr3tpw", want: "host=h password=xxxxx"},
		{name: "a unix socket and several hosts", in: "postgres://u:s3cr3tpw@h1:5432,h2:5433/db?host=/tmp&sslmode=disable",
			want: "postgres://u:xxxxx@h1:5432,h2:5433/db?host=/tmp&sslmode=disable"},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			got := dburl.Redact(tc.in)
			if strings.Contains(got, secret) {
				t.Fatalf("Redact(%q) = %q: contains the password", tc.in, got)
			}
			if tc.want != "" && got != tc.want {
				t.Errorf("Redact(%q) = %q, want %q", tc.in, got, tc.want)
			}
			if !strings.Contains(got, tc.keep) {
				t.Errorf("Redact(%q) = %q, want it to keep %q", tc.in, got, tc.keep)
			}
		})
	}
}

func TestDescribe(t *testing.T) {
	cases := map[string]string{
		"postgres://app:s3cr3tpw@db.example.com:6543/legacy":              "app@db.example.com:6543/legacy",
		"postgres://app@db.example.com/legacy":                            "app@db.example.com:5432/legacy",
		"postgres://app@/legacy?host=/run/postgresql&port=5433":           "app@/run/postgresql (port 5433)/legacy",
		"host=10.0.0.7 port=5439 user=app password=s3cr3tpw dbname=other": "app@10.0.0.7:5439/other",
		// The server's client would take "r3tpw@db.example.com" for the host.
		"postgres://app:s3c@r3tpw@db.example.com:6543/legacy": "postgres://app:xxxxx@db.example.com:6543/legacy",
	}
	for in, want := range cases {
		if got := dburl.Describe(in); got != want {
			t.Errorf("Describe(%q) = %q, want %q", in, got, want)
		}
	}
}

// badURLs are target URLs that cannot work, each with the password secret,
// and the host the error must name. They need a real server for the case of
// a database that does not exist.
func badURLs(t *testing.T) []struct{ name, url, host string } {
	t.Helper()
	missing := withPassword(t, pgtest.URLFor(t, "no_such_database"))
	cfg, err := pgconn.ParseConfig(missing)
	if err != nil {
		t.Fatal(err)
	}
	return []struct{ name, url, host string }{
		{"unparseable port", "postgres://u:" + secret + "@127.0.0.1:notaport/db", "127.0.0.1"},
		{"unparseable escape", "postgres://u:" + secret + "%zz@127.0.0.1:5432/db", "127.0.0.1"},
		{"port out of range", "postgres://u:" + secret + "@127.0.0.1:99999/db", "127.0.0.1"},
		{"closed port", "postgres://u:" + secret + "@127.0.0.1:1/db?connect_timeout=5", "127.0.0.1:1"},
		{"missing database", missing, cfg.Host},
		// From a review: strings the client refuses that Redact did not
		// take for URLs (a space or a quote before the scheme, another
		// scheme, no scheme), quoted whole in the error; a password
		// parameter with an unescaped '&' of its own, whose rest the
		// client's error quoted; an '@' of a query with no database path,
		// which made the client dial the rest of the password as a host.
		{"a space before the scheme", " postgres://u:" + secret + "@127.0.0.1:1/db", "127.0.0.1"},
		{"quoted", `"postgres://u:` + secret + `@127.0.0.1:1/db"`, "127.0.0.1"},
		{"jdbc scheme", "jdbc:postgresql://u:" + secret + "@127.0.0.1:1/db", "127.0.0.1"},
		{"no scheme", "u:" + secret + "@127.0.0.1:1/db", "127.0.0.1"},
		{"an & in a password parameter", "postgres://u@127.0.0.1:1/db?password=Sec&" + secret, "127.0.0.1"},
		{"an @ in the query, no path", "postgres://127.0.0.1:1?password=Pass@" + secret, "127.0.0.1"},
		{"keyword/value, a double-quoted password", `host=127.0.0.1 port=1 password="my ` + secret + `" dbname=x`, "127.0.0.1"},
	}
}

// withPassword puts the password secret into connURL, unless it has one
// (pgtest.WithPassword): the test server trusts local connections, so the
// password only has to stay out of the messages.
func withPassword(t *testing.T, connURL string) string {
	t.Helper()
	u, _ := pgtest.WithPassword(t, connURL, secret)
	return u
}

func passwordOf(t *testing.T, connURL string) string {
	t.Helper()
	if u, err := url.Parse(connURL); err == nil {
		if p, ok := u.User.Password(); ok {
			return p
		}
	}
	return secret
}

func TestConnectErrorsAreSafe(t *testing.T) {
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	for _, tc := range badURLs(t) {
		t.Run(tc.name, func(t *testing.T) {
			pw := passwordOf(t, tc.url)
			check := func(what string, err error) {
				t.Helper()
				if err == nil {
					t.Fatalf("%s(%q) succeeded", what, tc.url)
				}
				var de *dburl.Error
				if !errors.As(err, &de) {
					t.Errorf("%s: error %T is not a *dburl.Error: %v", what, err, err)
				} else if de.Role != "target" {
					t.Errorf("%s: Role = %q, want target", what, de.Role)
				}
				msg := err.Error()
				if strings.Contains(msg, pw) || strings.Contains(msg, secret) {
					t.Errorf("%s: error contains the password: %s", what, msg)
				}
				if strings.Contains(msg, "\n") {
					t.Errorf("%s: error is not one line: %q", what, msg)
				}
				if !strings.Contains(msg, tc.host) {
					t.Errorf("%s: error does not name the host %q: %s", what, tc.host, msg)
				}
				if !strings.HasPrefix(msg, "connect to target database ") {
					t.Errorf("%s: error does not say what it tried: %s", what, msg)
				}
			}
			conn, err := dburl.Connect(ctx, "target", tc.url)
			if conn != nil {
				conn.Close(ctx)
			}
			check("Connect", err)
			pool, err := dburl.Pool(ctx, "target", tc.url, 2)
			if pool != nil {
				pool.Close()
			}
			check("Pool", err)
		})
	}
}

func TestConnectWorks(t *testing.T) {
	ctx := context.Background()
	db := pgtest.NewDB(t)
	conn, err := dburl.Connect(ctx, "target", db)
	if err != nil {
		t.Fatal(err)
	}
	defer conn.Close(ctx)
	var one int
	if err := conn.QueryRow(ctx, "SELECT 1").Scan(&one); err != nil || one != 1 {
		t.Fatalf("SELECT 1 = %d, %v", one, err)
	}
	pool, err := dburl.Pool(ctx, "source", db, 3)
	if err != nil {
		t.Fatal(err)
	}
	defer pool.Close()
	if got := pool.Config().MaxConns; got != 3 {
		t.Errorf("MaxConns = %d, want 3", got)
	}
}

func TestErrorIsOneLineWithoutRepeats(t *testing.T) {
	joined := &dburl.Error{Role: "target", Server: "u@db:5432/app", Err: errors.Join(
		errors.New("db:5432: dial error: connection refused"),
		errors.New("db:5432: dial error: connection refused"),
		errors.New("db:5432: server error: FATAL: too many connections"),
	)}
	want := "connect to target database u@db:5432/app: db:5432: dial error: connection refused; db:5432: server error: FATAL: too many connections"
	if got := joined.Error(); got != want {
		t.Errorf("Error() = %q\nwant %q", got, want)
	}
}

// TestSessionsWithoutServerTimeouts: on a database that sets every timeout
// to a millisecond (idle sessions: a second), a connection and a pool's connections start with them
// off; a timeout the URL sets is kept, as a parameter or in its options.
func TestSessionsWithoutServerTimeouts(t *testing.T) {
	ctx := context.Background()
	u := pgtest.NewDB(t)
	admin := pgtest.Connect(t, pgtest.AdminURL(t))
	var version int
	if err := admin.QueryRow(ctx, `SELECT current_setting('server_version_num')::int`).Scan(&version); err != nil {
		t.Fatal(err)
	}
	names := []string{"statement_timeout", "lock_timeout", "idle_in_transaction_session_timeout"}
	if version >= 140000 {
		names = append(names, "idle_session_timeout")
	}
	parsed, err := url.Parse(u)
	if err != nil {
		t.Fatal(err)
	}
	db := `"` + strings.TrimPrefix(parsed.Path, "/") + `"`
	for _, n := range names {
		// idle_session_timeout is turned off by the connection's first
		// statement: a server ending sessions idle for less than the
		// moment between start-up and that statement ends them anyway.
		value := "1ms"
		if n == "idle_session_timeout" {
			value = "1s"
		}
		if _, err := admin.Exec(ctx, "ALTER DATABASE "+db+" SET "+n+" = '"+value+"'"); err != nil {
			t.Fatal(err)
		}
	}
	withParam := func(name, value string) string {
		p := *parsed
		q := p.Query()
		q.Set(name, value)
		p.RawQuery = strings.ReplaceAll(q.Encode(), "+", "%20") // pgx reads a '+' as itself
		return p.String()
	}
	for _, c := range []struct {
		name, url string
		want      map[string]string // setting → value; the others 0
	}{
		{"server's timeouts", u, nil},
		{"the URL's statement_timeout", withParam("statement_timeout", "2h"), map[string]string{"statement_timeout": "2h"}},
		{"the URL's options", withParam("options", "-c statement_timeout=2h --lock-timeout=3s"), map[string]string{"statement_timeout": "2h", "lock_timeout": "3s"}},
	} {
		t.Run(c.name, func(t *testing.T) {
			show := func(q interface {
				QueryRow(context.Context, string, ...any) pgx.Row
			}) {
				t.Helper()
				for _, n := range names {
					want := "0"
					if v, ok := c.want[n]; ok {
						want = v
					}
					var got string
					if err := q.QueryRow(ctx, "SELECT current_setting($1)", n).Scan(&got); err != nil || got != want {
						t.Errorf("%s = %q (%v), want %q", n, got, err, want)
					}
				}
			}
			conn, err := dburl.Connect(ctx, "target", c.url)
			if err != nil {
				t.Fatal(err)
			}
			defer conn.Close(ctx)
			show(conn)
			pool, err := dburl.Pool(ctx, "target", c.url, 2)
			if err != nil {
				t.Fatal(err)
			}
			defer pool.Close()
			show(pool)
		})
	}
}

// TestPinnedSessionSettings: a database whose search_path leaves public
// out and whose transactions are serializable by default still gives the
// cutover's sessions public and read committed, unless the URL sets
// values of its own.
func TestPinnedSessionSettings(t *testing.T) {
	ctx := context.Background()
	u := pgtest.NewDB(t)
	pgtest.AlterDatabase(t, u, "SET search_path = ''", "SET default_transaction_isolation = 'serializable'", "SET row_security = on")
	parsed, err := url.Parse(u)
	if err != nil {
		t.Fatal(err)
	}
	own := parsed.Query()
	own.Set("search_path", "pg_temp")
	own.Set("default_transaction_isolation", "serializable")
	own.Set("row_security", "on")
	parsed.RawQuery = own.Encode()
	for _, c := range []struct {
		name, url string
		want      [3]string // search_path, default_transaction_isolation, row_security
	}{
		{"the database's settings", u, [3]string{"public", "read committed", "off"}},
		{"the URL's settings", parsed.String(), [3]string{"pg_temp", "serializable", "on"}},
	} {
		t.Run(c.name, func(t *testing.T) {
			conn, err := dburl.Connect(ctx, "target", c.url)
			if err != nil {
				t.Fatal(err)
			}
			defer conn.Close(ctx)
			pool, err := dburl.Pool(ctx, "target", c.url, 2)
			if err != nil {
				t.Fatal(err)
			}
			defer pool.Close()
			for name, q := range map[string]interface {
				QueryRow(context.Context, string, ...any) pgx.Row
			}{"Connect": conn, "Pool": pool} {
				var got [3]string
				if err := q.QueryRow(ctx, "SELECT current_setting('search_path'), current_setting('default_transaction_isolation'), current_setting('row_security')").Scan(&got[0], &got[1], &got[2]); err != nil || got != c.want {
					t.Errorf("%s: search_path, default_transaction_isolation, row_security = %q (%v), want %q", name, got, err, c.want)
				}
			}
		})
	}
}

// TestExplainLimits: a connection refused for want of a slot and a
// statement stopped by temp_file_limit are explained once, however often
// ExplainLimits sees them; a refused connection is told the command's
// connections when they are given; a refused Connect explains itself, and
// other errors are left as they are.
func TestExplainLimits(t *testing.T) {
	refused := &pgconn.PgError{Code: "53300", Message: `too many connections for database "t"`}
	tempFiles := &pgconn.PgError{Code: "53400", Message: "temporary file size exceeds temp_file_limit (64kB)"}
	const tempHint = "lift it for the cutover's role (ALTER ROLE … SET temp_file_limit = -1, as a superuser)"
	run := dburl.Connections{Command: "a run", Workers: 3, Source: 5, Target: 8}
	const runNeed = "a run with --workers 3 holds up to 5 connections to the source and 8 to the target"
	for _, c := range []struct {
		name  string
		err   error
		need  dburl.Connections
		hints []string // what the error must say once each; none for no explanation
	}{
		{"from a pool", fmt.Errorf("extract habits (all rows): %w", refused), dburl.Connections{}, []string{dburl.TooManyConnectionsHint}},
		{"from a pool, connections known", fmt.Errorf("extract habits (all rows): %w", refused), run, []string{dburl.TooManyConnectionsHint, runNeed}},
		{"from Connect", &dburl.Error{Role: "target", Server: "t", Err: refused}, dburl.Connections{}, []string{dburl.TooManyConnectionsHint}},
		{"from Connect, connections known", &dburl.Error{Role: "target", Server: "t", Err: refused}, run, []string{dburl.TooManyConnectionsHint, runNeed}},
		{"explained already", dburl.ExplainLimits(fmt.Errorf("decide habits: %w", refused), run), run, []string{dburl.TooManyConnectionsHint, runNeed}},
		{"temp_file_limit", fmt.Errorf("assign inbox_items.sort_order: %w", tempFiles), run, []string{tempHint}},
		{"another error", &pgconn.PgError{Code: "57P01"}, run, nil},
		{"no error", nil, run, nil},
	} {
		t.Run(c.name, func(t *testing.T) {
			got := dburl.ExplainLimits(dburl.ExplainLimits(c.err, c.need), c.need)
			if !errors.Is(got, c.err) {
				t.Fatalf("%v does not wrap %v", got, c.err)
			}
			if got == nil {
				return
			}
			if len(c.hints) == 0 && got != c.err {
				t.Errorf("%q: explained, want %q as it was", got, c.err)
			}
			for _, h := range c.hints {
				if n := strings.Count(got.Error(), h); n != 1 {
					t.Errorf("%q: says %q %d times, want once", got, h, n)
				}
			}
			for _, h := range []string{"holds up to", tempHint, "the server has no connection left"} {
				if strings.Contains(got.Error(), h) && !slices.ContainsFunc(c.hints, func(w string) bool { return strings.Contains(w, h) }) {
					t.Errorf("%q says %q, which does not apply", got, h)
				}
			}
		})
	}
}

// TestUnreachableServerHints: a URL whose address no server answers at (a
// TCP port nothing listens on, a socket directory without the port's
// socket, a host name that does not resolve) fails with what to check;
// a server that answers needs no such hint, nor do other errors.
func TestUnreachableServerHints(t *testing.T) {
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	closedPort := l.Addr().(*net.TCPAddr).Port
	l.Close()
	for _, c := range []struct {
		name, url, want string
	}{
		{"a TCP port nothing listens on", fmt.Sprintf("postgres://u:pw@127.0.0.1:%d/app?connect_timeout=5&sslmode=disable", closedPort),
			"(nothing accepts connections at that address: check the URL's host and port, and that the server runs (pg_isready -h HOST -p PORT))"},
		{"a socket directory without the port's socket", fmt.Sprintf("postgres://u:pw@/app?host=%s&port=%d", t.TempDir(), closedPort),
			"(no server listens on that socket: check the URL's host (the socket's directory) and port, and that the server runs (pg_isready -h DIR -p PORT))"},
	} {
		t.Run(c.name, func(t *testing.T) {
			conn, err := dburl.Connect(ctx, "source", c.url)
			if err == nil {
				conn.Close(ctx)
				t.Fatal("connected")
			}
			if !strings.HasSuffix(err.Error(), c.want) {
				t.Errorf("error %q\nwant it to end with %q", err, c.want)
			}
			if dburl.WrongURL(err) {
				t.Errorf("WrongURL(%v) = true; a server may come up there", err)
			}
		})
	}
	notFound := &dburl.Error{Role: "source", Server: "u@db.invalid:5432/app", Err: fmt.Errorf("dial error: %w", &net.OpError{Op: "dial", Net: "tcp",
		Err: &net.DNSError{Err: "no such host", Name: "db.invalid", IsNotFound: true}})}
	if got, want := notFound.Error(), "(no such host: check the URL's host name)"; !strings.HasSuffix(got, want) {
		t.Errorf("error %q\nwant it to end with %q", got, want)
	}
	for _, other := range []error{
		errors.New("server error: FATAL: the database system is starting up (SQLSTATE 57P03)"),
		fmt.Errorf("tls error: %w", &os.PathError{Op: "open", Path: "/root/.postgresql/postgresql.crt", Err: syscall.ENOENT}),
	} {
		e := &dburl.Error{Role: "source", Server: "u@db:5432/app", Err: other}
		if got := e.Error(); strings.Contains(got, "check the URL") {
			t.Errorf("a failure other than the dial's got an address hint: %q", got)
		}
	}
}

// TestSettingsWhateverTheURLsSpelling: a URL may spell a setting in any
// letter case (TimeZone=…). The settings a command sets itself
// (TextFormat) still win, and a pinned setting the URL sets stays the
// URL's, on every connection: two spellings of one setting would both go
// to the server, in a random order.
func TestSettingsWhateverTheURLsSpelling(t *testing.T) {
	ctx := context.Background()
	parsed, err := url.Parse(pgtest.NewDB(t))
	if err != nil {
		t.Fatal(err)
	}
	own := parsed.Query()
	own.Set("TimeZone", "Asia/Kathmandu")
	own.Set("IntervalStyle", "iso_8601")
	own.Set("DateStyle", "German")
	own.Set("Search_Path", "pg_temp")
	parsed.RawQuery = own.Encode()
	want := [4]string{"UTC", "postgres", "ISO, MDY", "pg_temp"}
	// Each connection's start-up parameters come in a new order: several
	// connections, so that a setting left to chance shows.
	for i := range 8 {
		conn, err := dburl.Connect(ctx, "target", parsed.String(), dburl.TextFormat...)
		if err != nil {
			t.Fatal(err)
		}
		pool, err := dburl.Pool(ctx, "target", parsed.String(), 1, dburl.TextFormat...)
		if err != nil {
			t.Fatal(err)
		}
		for name, q := range map[string]interface {
			QueryRow(context.Context, string, ...any) pgx.Row
		}{"Connect": conn, "Pool": pool} {
			var got [4]string
			if err := q.QueryRow(ctx, "SELECT current_setting('TimeZone'), current_setting('IntervalStyle'), current_setting('DateStyle'), current_setting('search_path')").
				Scan(&got[0], &got[1], &got[2], &got[3]); err != nil || got != want {
				t.Errorf("%s %d: TimeZone, IntervalStyle, DateStyle, search_path = %q (%v), want %q", name, i, got, err, want)
			}
		}
		conn.Close(ctx)
		pool.Close()
	}
}

// TestParseErrorsSayWhy: a URL that cannot be parsed fails with the
// reason (a bad port, a bad %-escape, an unknown parameter value) after
// "the URL cannot be parsed", on one line, as a URL that running the same
// command again cannot help (WrongURL), and never with its password,
// whether in the user info, in a password parameter, or quoted by the
// reason itself.
func TestParseErrorsSayWhy(t *testing.T) {
	ctx := context.Background()
	for _, c := range []struct {
		name, url, why string
	}{
		{"a port that is no number", "postgres://u:" + secret + "@127.0.0.1:abc/db", "invalid port"},
		{"a port out of range", "postgres://u:" + secret + "@127.0.0.1:99999/db", "invalid port"},
		{"a bad port, the password a parameter", "postgres://u@127.0.0.1:abc/db?password=" + secret, "invalid port"},
		{"a bad port parameter", "postgres://u:" + secret + "@127.0.0.1/db?port=abc", "invalid port"},
		{"a bad escape in the database", "postgres://u:" + secret + "@127.0.0.1/d%zzb", `failed to parse as URL (invalid percent-encoded token: "d%zzb")`},
		{"a bad escape in the password", "postgres://u:" + secret + "%zz@127.0.0.1/db", "failed to parse as URL (invalid percent-encoded token in password)"},
		{"a bad escape in the password parameter", "postgres://u@127.0.0.1/db?password=" + secret + "%zz", "failed to parse as URL (invalid percent-encoded token in password)"},
		{"an unknown target_session_attrs", "postgres://u:" + secret + "@127.0.0.1/db?target_session_attrs=bogus", "unknown target_session_attrs value: bogus"},
		{"a bad connect_timeout", "postgres://u:" + secret + "@127.0.0.1/db?connect_timeout=soon", `invalid connect_timeout (strconv.ParseInt: parsing "soon": invalid syntax)`},
		{"a keyword/value string with a bad port", "host=127.0.0.1 user=u password=" + secret + " port=abc", "invalid port"},
		{"a keyword/value string with an unterminated quote", "host=127.0.0.1 password='" + secret, "failed to parse as keyword/value (unterminated quoted string in connection info string)"},
		// What makes a pasted URL no URL is said.
		{"a space before the scheme", " postgres://u:" + secret + "@127.0.0.1/db", "failed to parse as keyword/value (invalid keyword/value) (it begins with a space or a quote: give the URL without them)"},
		{"quoted", "'postgres://u:" + secret + "@127.0.0.1/db'", "failed to parse as keyword/value (invalid keyword/value) (it begins with a space or a quote: give the URL without them)"},
		{"another scheme", "jdbc:postgresql://u:" + secret + "@127.0.0.1/db", "failed to parse as keyword/value (invalid keyword/value) (its scheme is not postgres:// or postgresql://)"},
	} {
		t.Run(c.name, func(t *testing.T) {
			conn, connErr := dburl.Connect(ctx, "source", c.url)
			if conn != nil {
				conn.Close(ctx)
			}
			pool, poolErr := dburl.Pool(ctx, "source", c.url, 1)
			if pool != nil {
				pool.Close()
			}
			for what, err := range map[string]error{"Connect": connErr, "Pool": poolErr} {
				if err == nil {
					t.Errorf("%s(%q) succeeded", what, c.url)
					continue
				}
				msg := err.Error()
				if want := "the URL cannot be parsed: " + c.why; !strings.Contains(msg, want) {
					t.Errorf("%s: %s\nwant it to say %q", what, msg, want)
				}
				if strings.Contains(msg, secret) {
					t.Errorf("%s: the error shows the password: %s", what, msg)
				}
				if strings.Contains(msg, "\n") {
					t.Errorf("%s: the error is not one line: %q", what, msg)
				}
				if !dburl.WrongURL(err) {
					t.Errorf("%s: WrongURL = false, want true: %s", what, msg)
				}
			}
		})
	}
	// A reason that quotes the password (none of pgconn's does today) has
	// it masked, in any of its spellings.
	for _, c := range []struct {
		name, conn, why string
	}{
		{"in the user info", "postgres://u:" + secret + "@h/db", `bad value ("xxxxx")`},
		{"escaped in the user info", "postgres://u:" + secret + "%21@h/db", `bad value ("xxxxx")`},
		{"in a parameter", "postgres://u@h/db?password=" + secret, `bad value ("xxxxx")`},
		{"in a keyword/value string", "host=h password='" + secret + "'", `bad value ("xxxxx")`},
	} {
		t.Run("a reason that quotes the password "+c.name, func(t *testing.T) {
			pw := secret
			if strings.Contains(c.conn, "%21") {
				pw += "!"
			}
			err := &dburl.Error{Role: "source", Server: dburl.Redact(c.conn),
				Err: pgconn.NewParseConfigError(c.conn, "bad value", fmt.Errorf("%q", pw))}
			msg := err.Error()
			if want := "the URL cannot be parsed: " + c.why; !strings.HasSuffix(msg, want) {
				t.Errorf("%s\nwant it to end with %q", msg, want)
			}
			if strings.Contains(msg, secret) {
				t.Errorf("the error shows the password: %s", msg)
			}
		})
	}
}

// TestURLWithAnAtInThePassword: a password's '@' left unescaped makes the
// server's client dial what follows it as a host, so its errors showed
// that part of the password. The URL is refused before any dialling,
// saying how to write it, and no part of the password shows.
func TestURLWithAnAtInThePassword(t *testing.T) {
	for _, u := range []string{"postgres://app:s3c@r3tpw@127.0.0.1:1/db?connect_timeout=5",
		// '?' and '#' are the password's to the server's client, before an '@'.
		"postgres://app:s3c?1@r3tpw@127.0.0.1:1/db?connect_timeout=5", "postgres://app:s3c#1@r3tpw@127.0.0.1:1/db?connect_timeout=5"} {
		testURLWithAnAt(t, u, "postgres://app:xxxxx@127.0.0.1:1/db?connect_timeout=5")
	}
	// A '/' of a password: the client reads host u, port 123 and the rest
	// as the database, which cannot be told from a database named with an
	// '@'. Not refused; its password shows nowhere.
	for _, u := range []string{"postgres://u:123/s3cr3tpw@127.0.0.1:1/db?connect_timeout=5", "postgres://u:ab/c?s3cr3tpw@127.0.0.1:1/db"} {
		_, err := dburl.Connect(context.Background(), "target", u)
		for _, shown := range []string{dburl.Describe(u), dburl.Redact(u), fmt.Sprint(err)} {
			if strings.Contains(shown, "s3cr3tpw") || strings.Contains(shown, "3tpw") {
				t.Errorf("%s shows the password: %s", dburl.Redact(u), shown)
			}
		}
	}
	// Both an '@' and a '/' of a password: the client reads part of it
	// as the host and the rest as a database named with an '@'. Refused,
	// and no part of the password shows.
	for _, u := range []string{"postgres://u:Sup3r@Secret/Pw@127.0.0.1:1/db", "postgres://u:Sup3r@Secret/Pw@127.0.0.1:1/db?connect_timeout=5&application_name=a@b"} {
		_, err := dburl.Connect(context.Background(), "target", u)
		if !errors.Is(err, dburl.ErrAtInDatabase) || !dburl.WrongURL(err) {
			t.Errorf("%s: %v, want ErrAtInDatabase, a wrong URL", dburl.Redact(u), err)
		}
		if _, err := dburl.ParseConfig("target", u); !errors.Is(err, dburl.ErrAtInDatabase) {
			t.Errorf("%s: a pool's config: %v, want ErrAtInDatabase", dburl.Redact(u), err)
		}
		for _, shown := range []string{dburl.Describe(u), dburl.Redact(u), fmt.Sprint(err)} {
			if strings.Contains(shown, "Sup3r") || strings.Contains(shown, "Secret") || strings.Contains(shown, "Pw") {
				t.Errorf("%s shows part of the password: %s", u, shown)
			}
		}
	}
	// Valid URLs with an '@' elsewhere are not refused.
	for _, u := range []string{"postgres://u@h?application_name=a@b", "postgres://u@h/db?options=x@y", "postgres://u%40corp:pw@h/db",
		"postgres://h:5432/my@db", "postgres://[::1]:5432/my@db", "postgres://u@h/my@db", "postgres://u:pw@h/my%40db",
		"postgres://u:p?x=1@h/db", "postgres://u:p?x=1@h"} { // a '?' of a password, with a path or not: user u, password "p?x=1" // a database named with an '@'
		if _, err := dburl.ParseConfig("target", u); err != nil {
			t.Errorf("%s: %v", u, err)
		}
	}
}

func testURLWithAnAt(t *testing.T, u, shown string) {
	t.Helper()
	for name, connect := range map[string]func() error{
		"connection": func() error { _, err := dburl.Connect(context.Background(), "target", u); return err },
		"pool":       func() error { _, err := dburl.Pool(context.Background(), "target", u, 1); return err },
	} {
		err := connect()
		if !errors.Is(err, dburl.ErrAtInUserInfo) || !dburl.WrongURL(err) {
			t.Fatalf("%s: %v, want ErrAtInUserInfo, a wrong URL", name, err)
		}
		msg := err.Error()
		for _, part := range []string{"s3c", "r3tpw", "r3tp"} {
			if strings.Contains(msg, part) {
				t.Errorf("%s: the error shows %q of the password: %s", name, part, msg)
			}
		}
		if want := "connect to target database " + shown + ": the URL cannot be parsed: its user info holds an '@' unescaped; write an '@' of the password (or of the user name) as %40 (and a '/' as %2F)"; msg != want {
			t.Errorf("%s of %s: %s\nwant %s", name, u, msg, want)
		}
	}
}

// TestNoPasswordIsNotAWrongPassword: a server that refuses a role with no
// password given (none in the URL, PGPASSWORD or the password file) says
// one is missing, not that the password was wrong.
func TestNoPasswordIsNotAWrongPassword(t *testing.T) {
	t.Setenv("PGPASSWORD", "")
	t.Setenv("PGPASSFILE", filepath.Join(t.TempDir(), "none"))
	refused := &pgconn.PgError{Severity: "FATAL", Code: "28P01", Message: "password authentication failed for user \"app\""}
	for _, c := range []struct {
		url, want string
	}{
		{"postgres://app@db.example.com/app", "(the server asks this role for a password, and none was given: put it in the URL, in PGPASSWORD or in ~/.pgpass)"},
		{"postgres://app:" + secret + "@db.example.com/app", "(the server refused the password for that role: check the URL's password, or PGPASSWORD and ~/.pgpass)"},
	} {
		if got := dburl.ConnectFailed("target", c.url, refused).Error(); !strings.HasSuffix(got, c.want) {
			t.Errorf("%s: %s\nwant it to end %q", dburl.Redact(c.url), got, c.want)
		}
	}
}

// TestPasswordAfterAnAtOfTheQuery: with no path, an '@' of a query value
// makes the server's client read what follows it, the password parameter
// included, as the host. Neither the description nor the error of the
// connection shows the password (a review found both did).
func TestPasswordAfterAnAtOfTheQuery(t *testing.T) {
	const u = "postgres://h?application_name=a@b&password=" + secret + "&connect_timeout=5"
	if got := dburl.Describe(u); strings.Contains(got, secret) {
		t.Errorf("Describe(%q) = %q", u, got)
	}
	if got, want := dburl.Redact(u), "postgres://h?application_name=a@b&password=xxxxx&connect_timeout=5"; got != want {
		t.Errorf("Redact = %q, want %q", got, want)
	}
	_, err := dburl.Connect(context.Background(), "target", u)
	if err == nil || strings.Contains(err.Error(), secret) {
		t.Errorf("connect: %v", err)
	}
	// The client reads up to that '@' as the user info and dials the
	// rest as a host: refused before any dialling, saying how to write it.
	for _, u := range []string{u, "postgres://127.0.0.1:1?password=Pass@" + secret} {
		_, err := dburl.Connect(context.Background(), "target", u)
		if !errors.Is(err, dburl.ErrAtInQuery) || !dburl.WrongURL(err) || strings.Contains(err.Error(), secret) {
			t.Errorf("%s: %v, want ErrAtInQuery, a wrong URL", dburl.Redact(u), err)
		}
	}
}

// TestPiecesOfASplitPasswordAreMasked: a password parameter with an '&'
// of its own, or a keyword/value password with a space, the client
// splits, and sends the pieces after the first as parameters' names,
// which the server's refusal quotes: they are masked too.
func TestPiecesOfASplitPasswordAreMasked(t *testing.T) {
	for _, c := range []struct{ conn, cause string }{
		{"postgres://u@h/db?password=Sec&" + secret, `unrecognized configuration parameter "` + secret + `" (SQLSTATE 42704)`},
		{"host=h user=u password=my " + secret + " dbname=x", `unrecognized configuration parameter "` + secret + ` dbname" (SQLSTATE 42704)`},
	} {
		got := dburl.ConnectFailed("target", c.conn, errors.New(c.cause)).Error()
		if strings.Contains(got, secret) || !strings.Contains(got, "unrecognized configuration parameter") {
			t.Errorf("%s: %s", dburl.Redact(c.conn), got)
		}
	}
}

// TestShortPasswordsAreMaskedAsWords: a password of fewer than 4
// characters that an error quotes as a word of its own (a host the
// client dialled) is masked; inside other words it stays, or the message
// itself would be garbled. A review found such passwords unmasked.
func TestShortPasswordsAreMaskedAsWords(t *testing.T) {
	for _, c := range []struct{ pw, cause, want string }{
		{"pw", `lookup pw on 10.0.0.53:53: no such host`, `lookup xxxxx on 10.0.0.53:53: no such host`},
		{"on", `lookup on on 10.0.0.53:53: no such host`, `lookup xxxxx xxxxx 10.0.0.53:53: no such host`},
		{"ab", `dial tcp: lookup ab.example.com: no such host`, `dial tcp: lookup xxxxx.example.com: no such host`},
		{"ss", `password authentication failed`, `password authentication failed`},
		{"é1", `host "é1" is unknown; é1x stays`, `host "xxxxx" is unknown; é1x stays`},
	} {
		got := dburl.ConnectFailed("target", "postgres://u:"+url.PathEscape(c.pw)+"@h/db", errors.New(c.cause)).Error()
		want := "connect to target database u@h:5432/db: " + c.want
		if got != want {
			t.Errorf("password %q:\n got %s\nwant %s", c.pw, got, want)
		}
	}
}
