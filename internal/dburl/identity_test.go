package dburl_test

import (
	"context"
	"net/url"
	"strings"
	"testing"

	"github.com/jackc/pgx/v5"

	"github.com/cutover/cutover/internal/dburl"
	"github.com/cutover/cutover/internal/pgcluster"
	"github.com/cutover/cutover/internal/pgtest"
	"github.com/cutover/cutover/internal/testkit"
)

// TestDatabaseID: two sessions of one database share its DatabaseID;
// another database of the cluster has another oid under the same cluster
// identifier, and a database of another cluster another identifier; the
// same database on a physical standby has its primary's. A role that may
// not call pg_control_system gets "", and no error.
func TestDatabaseID(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	id := func(u string) string {
		t.Helper()
		conn := pgtest.Connect(t, u)
		got, err := dburl.DatabaseID(ctx, conn)
		if err != nil {
			t.Fatalf("database id of %s: %v", dburl.Describe(u), err)
		}
		return got
	}
	one, other := pgtest.NewDB(t), pgtest.NewDB(t)
	first := id(one)
	cluster, _, ok := strings.Cut(first, "/")
	if !ok || cluster == "" {
		t.Fatalf("database id %q, want <system identifier>/<oid>", first)
	}
	if again := id(one); again != first {
		t.Errorf("a second session of one database: %q, the first %q", again, first)
	}
	if got := id(other); got == first || !strings.HasPrefix(got, cluster+"/") {
		t.Errorf("another database of the cluster: %q, the first %q", got, first)
	}
	server, err := pgcluster.Start(ctx, pgcluster.Options{})
	if err != nil {
		t.Fatal(err)
	}
	defer server.Stop()
	primary := id(server.URL("postgres"))
	if strings.HasPrefix(primary, cluster+"/") {
		t.Errorf("a database of another cluster: %q, the first %q", primary, first)
	}
	standby, err := pgcluster.Start(ctx, pgcluster.Options{StandbyOf: server})
	if err != nil {
		t.Fatal(err)
	}
	defer standby.Stop()
	if got := id(standby.URL("postgres")); got != primary {
		t.Errorf("the database on a physical standby: %q, on its primary %q", got, primary)
	}

	admin := pgtest.Connect(t, one)
	if _, err := admin.Exec(ctx, `REVOKE EXECUTE ON FUNCTION pg_control_system() FROM PUBLIC`); err != nil {
		t.Fatal(err)
	}
	testkit.EnsureRole(t, ctx, admin, "cutover_no_control", "")
	u, err := url.Parse(one)
	if err != nil {
		t.Fatal(err)
	}
	u.User = url.User("cutover_no_control")
	conn, err := pgx.Connect(ctx, u.String())
	if err != nil {
		t.Fatal(err)
	}
	defer conn.Close(ctx)
	if got, err := dburl.DatabaseID(ctx, conn); got != "" || err != nil {
		t.Errorf("a role that may not read the cluster's identity: %q, %v; want \"\" and no error", got, err)
	}
}
