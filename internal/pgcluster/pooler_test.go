package pgcluster

import (
	"context"
	"net"
	"os"
	"strconv"
	"strings"
	"testing"
)

// TestStartPoolerOnATakenPort: when another process takes the port
// between freePort and PgBouncer's bind, PgBouncer exits (the other
// process answers on the port meanwhile); StartPooler sees that in
// PgBouncer's log and starts it again on another port, where it listens.
// Before, the other process's answer passed for PgBouncer's, and a test
// of the pooler met a closed port (a CI run failed so).
func TestStartPoolerOnATakenPort(t *testing.T) {
	if _, err := FindPgBouncer(); err != nil {
		if os.Getenv("CUTOVER_REQUIRE_PGBOUNCER") != "" {
			t.Fatal(err)
		}
		t.Skipf("%v: this test starts a real PgBouncer (.ci/run installs it)", err)
	}
	var takenPort, calls int
	poolerPort, takenPort = takenFirst(t, &calls)
	defer func() { poolerPort = freePort }()
	p, err := StartPooler(context.Background(), "postgres://u@127.0.0.1:1/db", nil)
	if err != nil {
		t.Fatalf("start pgbouncer beside a taken port: %v", err)
	}
	defer p.Stop()
	if calls != 2 || p.port == takenPort || !strings.Contains(p.URL("db"), ":"+strconv.Itoa(p.port)+"/") {
		t.Errorf("pgbouncer on port %d after %d tries (port %d taken), URL %s", p.port, calls, takenPort, p.URL("db"))
	}
	c, err := net.Dial("tcp", "127.0.0.1:"+strconv.Itoa(p.port))
	if err != nil {
		t.Fatalf("the pooler's port: %v", err)
	}
	c.Close()
}

// takenFirst returns a port source that gives a port this test holds
// open (another process's, to a server started on it) the first time,
// and free ports after, counting its calls in calls; and the port held,
// until the test ends.
func takenFirst(t *testing.T, calls *int) (func() (int, error), int) {
	t.Helper()
	taken, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { taken.Close() })
	port := taken.Addr().(*net.TCPAddr).Port
	return func() (int, error) {
		*calls++
		if *calls == 1 {
			return port, nil
		}
		return freePort()
	}, port
}
