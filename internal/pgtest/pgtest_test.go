package pgtest_test

import (
	"context"
	"errors"
	"fmt"
	"os"
	"sync/atomic"
	"testing"

	"github.com/jackc/pgx/v5"

	"github.com/cutover/cutover/internal/pgtest"
)

var (
	builds     atomic.Int64 // calls of buildCounted
	clusterDir string       // the throwaway cluster's directory, if any
)

func TestMain(m *testing.M) {
	code := pgtest.Main(m)
	// Main has removed the throwaway cluster.
	if clusterDir != "" {
		if _, err := os.Stat(clusterDir); !errors.Is(err, os.ErrNotExist) {
			fmt.Fprintf(os.Stderr, "FAIL: pgtest.Main left the cluster directory %s behind (stat: %v)\n", clusterDir, err)
			code = 1
		}
	}
	if n := builds.Load(); n > 1 {
		fmt.Fprintf(os.Stderr, "FAIL: the template was built %d times, want once\n", n)
		code = 1
	}
	os.Exit(code)
}

func query[T any](t *testing.T, connURL, sql string, args ...any) T {
	t.Helper()
	ctx := context.Background()
	conn, err := pgx.Connect(ctx, connURL)
	if err != nil {
		t.Fatal(err)
	}
	defer conn.Close(ctx)
	var v T
	if err := conn.QueryRow(ctx, sql, args...).Scan(&v); err != nil {
		t.Fatalf("%s: %v", sql, err)
	}
	return v
}

func exec(t *testing.T, connURL, sql string) {
	t.Helper()
	ctx := context.Background()
	conn, err := pgx.Connect(ctx, connURL)
	if err != nil {
		t.Fatal(err)
	}
	defer conn.Close(ctx)
	if _, err := conn.Exec(ctx, sql); err != nil {
		t.Fatalf("%s: %v", sql, err)
	}
}

func databaseExists(t *testing.T, name string) bool {
	t.Helper()
	return query[bool](t, pgtest.AdminURL(t), "SELECT EXISTS (SELECT 1 FROM pg_database WHERE datname = $1)", name)
}

func TestNewDB(t *testing.T) {
	if c := pgtest.Cluster(); c != nil {
		clusterDir = c.Dir()
	}
	var names []string
	t.Run("create", func(t *testing.T) {
		a, b := pgtest.NewDB(t), pgtest.NewDB(t)
		if a == b {
			t.Fatalf("two NewDB calls returned the same URL %s", a)
		}
		for _, u := range []string{a, b} {
			names = append(names, query[string](t, u, "SELECT current_database()"))
			if n := query[int](t, u, "SELECT count(*) FROM pg_tables WHERE schemaname = 'public'"); n != 0 {
				t.Errorf("new database has %d tables in public", n)
			}
		}
		if names[0] == names[1] {
			t.Fatalf("two NewDB calls share database %s", names[0])
		}
		// The test owns its database: it can hold connections open, and
		// the cleanup still drops it.
		ctx := context.Background()
		conn, err := pgx.Connect(ctx, a)
		if err != nil {
			t.Fatal(err)
		}
		t.Cleanup(func() { conn.Close(ctx) })
		if _, err := conn.Exec(ctx, "CREATE TABLE t (id int)"); err != nil {
			t.Fatal(err)
		}
	})
	for _, n := range names {
		if databaseExists(t, n) {
			t.Errorf("database %s still exists after its test ended", n)
		}
	}
	if u := pgtest.URLFor(t, "postgres"); query[string](t, u, "SELECT current_database()") != "postgres" {
		t.Errorf("URLFor(postgres) = %s connects elsewhere", u)
	}
}

// buildCounted builds the "counted" template: one table with one row.
func buildCounted(ctx context.Context, url string) error {
	builds.Add(1)
	conn, err := pgx.Connect(ctx, url)
	if err != nil {
		return err
	}
	defer conn.Close(ctx)
	_, err = conn.Exec(ctx, "CREATE TABLE widgets (id int PRIMARY KEY, name text); INSERT INTO widgets VALUES (1, 'template')")
	return err
}

// checkClone asserts that db is a fresh copy of the "counted" template and
// that the template was built exactly once so far.
func checkClone(t *testing.T, db string) {
	t.Helper()
	if n := builds.Load(); n != 1 {
		t.Errorf("template built %d times so far, want 1", n)
	}
	if got := query[string](t, db, "SELECT string_agg(id || ':' || name, ',' ORDER BY id) FROM widgets"); got != "1:template" {
		t.Errorf("clone holds %q, want the template's single row", got)
	}
	// Writing to a clone touches neither the template nor other clones.
	exec(t, db, "INSERT INTO widgets VALUES (2, 'mine')")
}

// TestNewDBFrom* are several tests, some parallel, that share one template.
func TestNewDBFromFirst(t *testing.T) {
	checkClone(t, pgtest.NewDBFrom(t, "counted", buildCounted))
}

func TestNewDBFromParallel(t *testing.T) {
	for i := range 8 {
		t.Run(fmt.Sprint(i), func(t *testing.T) {
			t.Parallel()
			checkClone(t, pgtest.NewDBFrom(t, "counted", buildCounted))
		})
	}
}

func TestNewDBFromSecond(t *testing.T) {
	a := pgtest.NewDBFrom(t, "counted", buildCounted)
	b := pgtest.NewDBFrom(t, "counted", buildCounted)
	checkClone(t, a)
	checkClone(t, b)
}

func TestNewDBFromConcurrentFirstUse(t *testing.T) {
	// Several parallel tests ask for a template nobody has built yet.
	var n atomic.Int64
	build := func(ctx context.Context, url string) error {
		n.Add(1)
		conn, err := pgx.Connect(ctx, url)
		if err != nil {
			return err
		}
		defer conn.Close(ctx)
		_, err = conn.Exec(ctx, "CREATE TABLE marker (x int)")
		return err
	}
	t.Run("group", func(t *testing.T) {
		for i := range 6 {
			t.Run(fmt.Sprint(i), func(t *testing.T) {
				t.Parallel()
				u := pgtest.NewDBFrom(t, "concurrent first use", build)
				if query[int](t, u, "SELECT count(*) FROM pg_tables WHERE tablename = 'marker'") != 1 {
					t.Errorf("%s is not a clone of the template", u)
				}
			})
		}
	})
	if got := n.Load(); got != 1 {
		t.Errorf("template built %d times by concurrent first users, want 1", got)
	}
}
