// Package pgtest gives every test its own database on a real PostgreSQL
// server.
//
// A package that uses it calls Main from its TestMain:
//
//	func TestMain(m *testing.M) { os.Exit(pgtest.Main(m)) }
//
// The server is CUTOVER_TEST_DATABASE_URL when that is set (a superuser URL;
// the package creates and drops databases on it), otherwise a throwaway
// cluster started by internal/pgcluster and removed when the tests end, also
// when they fail or are interrupted with SIGINT/SIGTERM.
//
// NewDB returns a fresh empty database; NewDBFrom clones a template database
// that is built once per test binary, which makes a migrated or generated
// database per test cheap.
package pgtest

import (
	"context"
	"fmt"
	"net/url"
	"os"
	"os/signal"
	"strings"
	"sync"
	"sync/atomic"
	"syscall"
	"testing"
	"time"

	"github.com/jackc/pgx/v5"

	"github.com/cutover/cutover/internal/pgcluster"
)

// EnvURL names the environment variable with an existing server's URL.
const EnvURL = "CUTOVER_TEST_DATABASE_URL"

var (
	mu        sync.Mutex
	adminURL  string // URL of a maintenance database on the server
	inMain    bool
	cluster   *pgcluster.Cluster
	templates = map[string]*template{}
	created   []string // template databases to drop at the end
	dbCounter atomic.Int64
	// cloneStrategy is the clause with which CREATE DATABASE copies a
	// template (fileCopy).
	cloneStrategy = sync.OnceValues(func() (string, error) { return strategy(context.Background(), adminURL) })
)

type template struct {
	once sync.Once
	name string
	err  error
}

// Main starts (or connects to) the server, runs the tests and cleans up. It
// returns the exit code for os.Exit.
func Main(m *testing.M) int {
	ctx := context.Background()
	if u := os.Getenv(EnvURL); u != "" {
		adminURL = u
	} else {
		c, err := pgcluster.Start(ctx, pgcluster.Options{})
		if err != nil {
			fmt.Fprintln(os.Stderr, "pgtest:", err)
			return 1
		}
		cluster = c
		adminURL = c.URL("postgres")
	}
	inMain = true
	sigs := make(chan os.Signal, 1)
	signal.Notify(sigs, syscall.SIGINT, syscall.SIGTERM)
	go func() {
		s := <-sigs
		cleanup()
		fmt.Fprintf(os.Stderr, "pgtest: %v: test server removed\n", s)
		os.Exit(2)
	}()
	code := m.Run()
	cleanup()
	return code
}

func cleanup() {
	mu.Lock()
	defer mu.Unlock()
	if cluster != nil {
		cluster.Stop()
		cluster = nil
		return
	}
	for _, name := range created {
		exec(context.Background(), adminURL, "DROP DATABASE IF EXISTS "+pgx.Identifier{name}.Sanitize()+" WITH (FORCE)")
	}
	created = nil
}

// AdminURL is a superuser URL for the test server's maintenance database.
func AdminURL(t testing.TB) string {
	t.Helper()
	if !inMain {
		t.Fatal("pgtest: call pgtest.Main from the package's TestMain")
	}
	return adminURL
}

// URLFor returns the URL of database db on the test server.
func URLFor(t testing.TB, db string) string {
	t.Helper()
	return withDatabase(AdminURL(t), db)
}

// Cluster returns the throwaway cluster, or nil when the tests run against
// CUTOVER_TEST_DATABASE_URL.
func Cluster() *pgcluster.Cluster { return cluster }

// NewDB creates an empty database for this test, dropped when it ends, and
// returns its URL.
func NewDB(t testing.TB) string {
	t.Helper()
	return newDB(t, "template0", "")
}

// NewDBWith returns a new empty database, created from template0 with
// options, a clause of CREATE DATABASE: "ENCODING 'LATIN1' LC_COLLATE 'C'
// LC_CTYPE 'C'" for a database in another encoding than the server's.
func NewDBWith(t testing.TB, options string) string {
	t.Helper()
	return newDB(t, "template0", options)
}

// NewDBFrom returns a new database cloned from the template called name. The
// template is built once per test binary by build, which receives the URL of
// the (initially empty) template database and must close its connections
// before it returns.
func NewDBFrom(t testing.TB, name string, build func(ctx context.Context, url string) error) string {
	t.Helper()
	admin := AdminURL(t)
	mu.Lock()
	tp, ok := templates[name]
	if !ok {
		tp = &template{name: fmt.Sprintf("tmpl_%s_%d", sanitize(name), os.Getpid())}
		templates[name] = tp
	}
	mu.Unlock()
	tp.once.Do(func() {
		ctx, cancel := context.WithTimeout(context.Background(), 10*time.Minute)
		defer cancel()
		q := pgx.Identifier{tp.name}.Sanitize()
		if tp.err = exec(ctx, admin, "DROP DATABASE IF EXISTS "+q+" WITH (FORCE)"); tp.err != nil {
			return
		}
		if tp.err = exec(ctx, admin, "CREATE DATABASE "+q+" TEMPLATE template0"); tp.err != nil {
			return
		}
		mu.Lock()
		created = append(created, tp.name)
		mu.Unlock()
		if err := build(ctx, withDatabase(admin, tp.name)); err != nil {
			tp.err = fmt.Errorf("build template %s: %w", name, err)
		}
	})
	if tp.err != nil {
		t.Fatalf("pgtest: %v", tp.err)
	}
	return newDB(t, tp.name, "")
}

func newDB(t testing.TB, from, options string) string {
	t.Helper()
	admin := AdminURL(t)
	name := fmt.Sprintf("t_%d_%d", os.Getpid(), dbCounter.Add(1))
	ctx := context.Background()
	q := pgx.Identifier{name}.Sanitize()
	how, err := cloneStrategy()
	if err != nil {
		t.Fatalf("pgtest: %v", err)
	}
	for attempt := 0; attempt < 20; attempt++ {
		// CREATE DATABASE … TEMPLATE fails with 55006 while another session
		// is still connected to the template; that passes quickly.
		if err = exec(ctx, admin, "CREATE DATABASE "+q+" TEMPLATE "+pgx.Identifier{from}.Sanitize()+" "+options+how); err == nil {
			break
		}
		time.Sleep(100 * time.Millisecond)
	}
	if err != nil {
		t.Fatalf("pgtest: create database %s: %v", name, err)
	}
	t.Cleanup(func() {
		if err := exec(context.Background(), admin, "DROP DATABASE IF EXISTS "+q+" WITH (FORCE)"); err != nil {
			t.Errorf("pgtest: drop database %s: %v", name, err)
		}
	})
	return withDatabase(admin, name)
}

// strategy returns the clause with which CREATE DATABASE clones a
// template on the server of connURL (fileCopy).
func strategy(ctx context.Context, connURL string) (string, error) {
	conn, err := pgx.Connect(ctx, connURL)
	if err != nil {
		return "", fmt.Errorf("read the server's version: %w", err)
	}
	defer conn.Close(ctx)
	var version int
	var fsync string
	if err := conn.QueryRow(ctx, `SELECT current_setting('server_version_num')::int, current_setting('fsync')`).Scan(&version, &fsync); err != nil {
		return "", fmt.Errorf("read the server's version: %w", err)
	}
	return fileCopy(version, fsync), nil
}

// fileCopy returns " STRATEGY FILE_COPY" for a server of version (as
// server_version_num) 15 or later with fsync off, else "" (the server's
// default). From 15 on, the default writes every page of the template
// through the WAL: a 40 MB template took 0.27 s to clone that way and
// 0.057 s as a file copy (BenchmarkClone). A file copy costs two
// checkpoints, which are cheap without fsync and can take seconds with
// it; before 15 there is no choice.
func fileCopy(version int, fsync string) string {
	if version >= 150000 && fsync == "off" {
		return " STRATEGY FILE_COPY"
	}
	return ""
}

func exec(ctx context.Context, connURL, sql string) error {
	conn, err := pgx.Connect(ctx, connURL)
	if err != nil {
		return err
	}
	defer conn.Close(ctx)
	_, err = conn.Exec(ctx, sql)
	return err
}

func withDatabase(connURL, db string) string {
	u, err := url.Parse(connURL)
	if err != nil {
		panic(fmt.Sprintf("pgtest: bad server URL: %v", err))
	}
	u.Path = "/" + db
	return u.String()
}

func sanitize(s string) string {
	return strings.Map(func(r rune) rune {
		if r >= 'a' && r <= 'z' || r >= '0' && r <= '9' {
			return r
		}
		return '_'
	}, strings.ToLower(s))
}

// ReleaseServer starts a throwaway server of release r (a PostgreSQL
// version this machine's packages do not have, fetched once: see
// pgcluster.Release) with settings, stopped when t ends.
func ReleaseServer(t testing.TB, r pgcluster.Release, settings map[string]string) *pgcluster.Cluster {
	t.Helper()
	bin, err := r.BinDir(context.Background())
	if err != nil {
		t.Fatal(err)
	}
	server, err := pgcluster.Start(context.Background(), pgcluster.Options{BinDir: bin, Settings: settings})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { server.Stop() })
	return server
}

// Connect opens a connection to database u for the rest of test t.
func Connect(t testing.TB, u string) *pgx.Conn {
	t.Helper()
	conn, err := pgx.Connect(context.Background(), u)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { conn.Close(context.Background()) })
	return conn
}

// Strings runs query on conn and returns its one text column.
func Strings(t testing.TB, conn *pgx.Conn, query string, args ...any) []string {
	t.Helper()
	rows, err := conn.Query(context.Background(), query, args...)
	if err != nil {
		t.Fatal(err)
	}
	out, err := pgx.CollectRows(rows, pgx.RowTo[string])
	if err != nil {
		t.Fatal(err)
	}
	return out
}

// PublicTables lists the ordinary tables of conn's public schema, by name.
func PublicTables(t testing.TB, conn *pgx.Conn) []string {
	t.Helper()
	return Strings(t, conn, `SELECT relname::text FROM pg_class
		WHERE relnamespace = 'public'::regnamespace AND relkind = 'r' ORDER BY 1`)
}

// AlterDatabase runs ALTER DATABASE on the database of URL u, once per
// clause ("SET work_mem = '64kB'", "CONNECTION LIMIT 1"), as the test
// server's superuser: a database-level setting that every later session
// of that database starts with.
func AlterDatabase(t testing.TB, u string, clauses ...string) {
	t.Helper()
	parsed, err := url.Parse(u)
	if err != nil {
		t.Fatal(err)
	}
	db := pgx.Identifier{strings.TrimPrefix(parsed.Path, "/")}.Sanitize()
	admin := Connect(t, AdminURL(t))
	for _, c := range clauses {
		if _, err := admin.Exec(context.Background(), "ALTER DATABASE "+db+" "+c); err != nil {
			t.Fatalf("ALTER DATABASE %s %s: %v", db, c, err)
		}
	}
	admin.Close(context.Background())
}

// RequirePgBouncer names the environment variable that makes Pooled fail,
// rather than skip its test, when no pgbouncer binary is installed;
// .ci/run sets it, after installing one.
const RequirePgBouncer = "CUTOVER_REQUIRE_PGBOUNCER"

// Pooled returns a URL for the database at u through a PgBouncer of its
// own (pgcluster.StartPooler, transaction pooling, with the further
// [pgbouncer] settings given), stopped when the test ends. Without a
// pgbouncer binary it skips the test, saying how to get one, unless
// RequirePgBouncer is set: PgBouncer is not a database, and a machine
// with only the PostgreSQL server runs every other test.
func Pooled(t testing.TB, u string, settings map[string]string) string {
	t.Helper()
	if _, err := pgcluster.FindPgBouncer(); err != nil {
		if os.Getenv(RequirePgBouncer) != "" {
			t.Fatalf("%v (%s is set)", err, RequirePgBouncer)
		}
		t.Skipf("%v: this test puts a real PgBouncer in front of the server (.ci/run installs it)", err)
	}
	parsed, err := url.Parse(u)
	if err != nil {
		t.Fatal(err)
	}
	p, err := pgcluster.StartPooler(context.Background(), u, settings)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { p.Stop() })
	return p.URL(strings.TrimPrefix(parsed.Path, "/"))
}

// NewRole creates a login role named prefix and this process's id, with
// CREATE ROLE options, as admin, and drops it when the test ends, with what
// it was granted and owns in the database of db.
func NewRole(t testing.TB, admin, db *pgx.Conn, prefix, options string) string {
	t.Helper()
	role := fmt.Sprintf("%s_%d", prefix, os.Getpid())
	if _, err := admin.Exec(context.Background(), `CREATE ROLE `+role+` LOGIN `+options); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() {
		db.Exec(context.Background(), `DROP OWNED BY `+role)
		admin.Exec(context.Background(), `DROP ROLE IF EXISTS `+role)
	})
	return role
}

// AsRole returns connURL with its user set to role.
func AsRole(t testing.TB, connURL, role string) string {
	t.Helper()
	u, err := url.Parse(connURL)
	if err != nil {
		t.Fatal(err)
	}
	u.User = url.User(role)
	return u.String()
}

// WithParam returns connURL with its query parameter name set to value.
func WithParam(t testing.TB, connURL, name, value string) string {
	t.Helper()
	u, err := url.Parse(connURL)
	if err != nil {
		t.Fatal(err)
	}
	q := u.Query()
	q.Set(name, value)
	u.RawQuery = q.Encode()
	return u.String()
}

// Block opens a session on the database at u, named as an operator's psql
// ("psql"), and runs sql in a transaction it leaves open (BEGIN first),
// so that the session holds what sql locks. It returns the session's
// backend pid and release, which ends the session; release runs once,
// also at the end of t and after two minutes, so that a test that fails
// to release it does not wait forever. timedOut reports whether the two
// minutes ended it.
func Block(t testing.TB, u, sql string) (pid uint32, release func(), timedOut func() bool) {
	t.Helper()
	ctx := context.Background()
	cfg, err := pgx.ParseConfig(u)
	if err != nil {
		t.Fatal(err)
	}
	cfg.RuntimeParams["application_name"] = "psql"
	blocker, err := pgx.ConnectConfig(ctx, cfg)
	if err != nil {
		t.Fatal(err)
	}
	var once sync.Once
	release = func() { once.Do(func() { blocker.Close(context.Background()) }) }
	t.Cleanup(release)
	var fired atomic.Bool
	timer := time.AfterFunc(2*time.Minute, func() { fired.Store(true); release() })
	t.Cleanup(func() { timer.Stop() })
	if _, err := blocker.Exec(ctx, "BEGIN; "+sql); err != nil {
		t.Fatal(err)
	}
	return blocker.PgConn().PID(), release, fired.Load
}
