package dburl_test

import (
	"context"
	"errors"
	"strings"
	"testing"

	"github.com/cutover/cutover/internal/dburl"
	"github.com/cutover/cutover/internal/pgtest"
)

// TestConnectionPoolersAreRefused: a URL that reaches the server through
// a real PgBouncer in transaction mode (the application's URL, at hand on
// the night) is refused by Connect and Pool with a *dburl.PoolerError
// that says to connect to the server itself: PgBouncer as installed
// refuses the session's start-up parameters, and told to ignore them it
// drops them, which the session's settings then show (here the
// database's statement_timeout, which would stop the cutover's long
// statements). Where the database's own settings are the values the
// cutover asks for, the session shows them all, and the pooler is told by
// the process id it gave the connection, which is not the session's; so
// is one that keeps each session whole (pool_mode session). The same
// databases reached directly connect.
func TestConnectionPoolersAreRefused(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	u, same := pgtest.NewDB(t), pgtest.NewDB(t)
	pgtest.AlterDatabase(t, u, "SET statement_timeout = '5s'")
	pgtest.AlterDatabase(t, same, "SET search_path = public", "SET row_security = off")
	ignored := "extra_float_digits,statement_timeout,lock_timeout,idle_in_transaction_session_timeout,search_path,default_transaction_isolation,row_security"
	for _, c := range []struct {
		name     string
		db       string
		settings map[string]string
		refusal  bool   // refused at start-up, rather than a setting dropped
		want     string // in the message
	}{
		{"refusing start-up parameters", u, nil, true, "unsupported startup parameter"},
		{"ignoring start-up parameters", u, map[string]string{"ignore_startup_parameters": ignored}, false,
			`the session started with statement_timeout = "5s" instead of the "0" cutover asked for at start-up`},
		{"ignoring start-up parameters the database sets alike", same, map[string]string{"ignore_startup_parameters": ignored}, false,
			"at start-up, but its session runs in server process"},
		{"session pooling, ignoring start-up parameters the database sets alike", same, map[string]string{"ignore_startup_parameters": ignored, "pool_mode": "session"}, false,
			"at start-up, but its session runs in server process"},
	} {
		t.Run(c.name, func(t *testing.T) {
			pooled := pgtest.Pooled(t, c.db, c.settings)
			check := func(what string, err error) {
				t.Helper()
				var pe *dburl.PoolerError
				var de *dburl.Error
				switch {
				case err == nil:
					t.Fatalf("%s through PgBouncer succeeded", what)
				case !errors.As(err, &de) || !errors.As(err, &pe):
					t.Fatalf("%s: error %T is not a *dburl.Error with a *dburl.PoolerError: %v", what, err, err)
				case (pe.Refusal != nil) != c.refusal:
					t.Errorf("%s: Refusal = %v, want a refusal: %t", what, pe.Refusal, c.refusal)
				}
				msg := err.Error()
				for _, want := range []string{"connect to source database cutover@127.0.0.1:", c.want, "connection pooler such as PgBouncer",
					"give it the URL of the PostgreSQL server itself, not the pooler's"} {
					if !strings.Contains(msg, want) {
						t.Errorf("%s: error does not say %q:\n%s", what, want, msg)
					}
				}
			}
			conn, err := dburl.Connect(ctx, "source", pooled)
			if conn != nil {
				conn.Close(ctx)
			}
			check("Connect", err)
			pool, err := dburl.Pool(ctx, "source", pooled, 2)
			if pool != nil {
				pool.Close()
			}
			check("Pool", err)
		})
	}
	for _, db := range []string{u, same} {
		conn, err := dburl.Connect(ctx, "source", db)
		if err != nil {
			t.Fatalf("a database reached directly: %v", err)
		}
		conn.Close(ctx)
	}
}
