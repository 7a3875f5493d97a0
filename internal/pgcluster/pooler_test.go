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
	taken, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer taken.Close()
	takenPort := taken.Addr().(*net.TCPAddr).Port
	calls := 0
	poolerPort = func() (int, error) {
		calls++
		if calls == 1 {
			return takenPort, nil
		}
		return freePort()
	}
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
