package pgcluster

import (
	"context"
	"errors"
	"fmt"
	"maps"
	"net"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"syscall"
	"time"

	"github.com/jackc/pgx/v5/pgconn"
)

// Pooler is a running PgBouncer in front of a server: what an operator
// reaches when the URL at hand is the application's, for tests of what
// the cutover does with it.
type Pooler struct {
	process // pgbouncer; Stop is an immediate shutdown (SIGTERM), then a kill
	port    int
}

// FindPgBouncer returns the pgbouncer binary: the CUTOVER_PGBOUNCER
// environment variable when set, otherwise pgbouncer on PATH, otherwise
// Debian's /usr/sbin/pgbouncer (package pgbouncer).
func FindPgBouncer() (string, error) {
	if p := os.Getenv("CUTOVER_PGBOUNCER"); p != "" {
		if _, err := os.Stat(p); err != nil {
			return "", fmt.Errorf("CUTOVER_PGBOUNCER: %w", err)
		}
		return p, nil
	}
	if p, err := exec.LookPath("pgbouncer"); err == nil {
		return p, nil
	}
	if _, err := os.Stat("/usr/sbin/pgbouncer"); err == nil {
		return "/usr/sbin/pgbouncer", nil
	}
	return "", errors.New("no pgbouncer binary found: install the pgbouncer package or set CUTOVER_PGBOUNCER")
}

// StartPooler starts a PgBouncer in transaction pooling mode that serves
// every database of the server serverURL points at, as serverURL's user,
// to any client on 127.0.0.1. settings are further [pgbouncer] settings
// (ignore_startup_parameters, pool_mode, …). The caller must call Stop.
// A port another process took between freePort and PgBouncer's bind
// (a server of a test binary running beside, say) makes PgBouncer exit:
// it starts again on another port, up to poolerStarts times.
func StartPooler(ctx context.Context, serverURL string, settings map[string]string) (*Pooler, error) {
	removeStale()
	for attempt := 1; ; attempt++ {
		p, err := startPooler(ctx, serverURL, settings)
		if !errors.Is(err, errPoolerExited) || attempt == poolerStarts {
			return p, err
		}
	}
}

// poolerStarts is how often StartPooler tries a port.
const poolerStarts = 5

// poolerPort gives startPooler its port (freePort; a test takes one first).
var poolerPort = freePort

// errPoolerExited is a PgBouncer that exited while it started (its port
// taken, most likely: its log says).
var errPoolerExited = errors.New("pgbouncer exited during start")

// startPooler is one try of StartPooler, on a port poolerPort gives.
func startPooler(ctx context.Context, serverURL string, settings map[string]string) (*Pooler, error) {
	bin, err := FindPgBouncer()
	if err != nil {
		return nil, err
	}
	server, err := pgconn.ParseConfig(serverURL)
	if err != nil {
		return nil, fmt.Errorf("start pgbouncer: the server's URL: %w", err)
	}
	dir, err := os.MkdirTemp("", fmt.Sprintf("%s%d-", dirPrefix, os.Getpid()))
	if err != nil {
		return nil, fmt.Errorf("start pgbouncer: %w", err)
	}
	p := &Pooler{process: process{dir: dir, exited: make(chan struct{}), shutdown: syscall.SIGTERM, orphaned: syscall.SIGTERM, grace: 10 * time.Second}}
	fail := func(err error) (*Pooler, error) {
		os.RemoveAll(dir)
		return nil, fmt.Errorf("start pgbouncer in %s: %w", dir, err)
	}
	if p.port, err = poolerPort(); err != nil {
		return fail(err)
	}
	target := []string{"host=" + server.Host, "port=" + strconv.Itoa(int(server.Port)), "user=" + server.User}
	if server.Password != "" {
		target = append(target, "password="+server.Password)
	}
	for _, kv := range target {
		if strings.ContainsAny(kv, " '\\\n") {
			return fail(fmt.Errorf("a connection setting with a space, quote or backslash (%s)", strings.SplitN(kv, "=", 2)[0]))
		}
	}
	all := map[string]string{
		"listen_addr":       "127.0.0.1",
		"listen_port":       strconv.Itoa(p.port),
		"unix_socket_dir":   "",
		"auth_type":         "any", // every database logs in as the server URL's user
		"pool_mode":         "transaction",
		"max_client_conn":   "200",
		"default_pool_size": "20",
		"logfile":           filepath.Join(dir, "pgbouncer.log"),
	}
	for k, v := range settings {
		all[k] = v
	}
	var ini strings.Builder
	fmt.Fprintf(&ini, "[databases]\n* = %s\n\n[pgbouncer]\n", strings.Join(target, " "))
	for _, k := range slices.Sorted(maps.Keys(all)) {
		fmt.Fprintf(&ini, "%s = %s\n", k, all[k])
	}
	conf := filepath.Join(dir, "pgbouncer.ini")
	if err := os.WriteFile(conf, []byte(ini.String()), 0o600); err != nil {
		return fail(err)
	}
	// PgBouncer refuses to run as root, as the server does.
	cred, err := serverCredential()
	if err != nil {
		return fail(err)
	}
	if cred != nil {
		for _, f := range []string{dir, conf} {
			if err := os.Chown(f, int(cred.Uid), int(cred.Gid)); err != nil {
				return fail(err)
			}
		}
	}
	if err := p.start(exec.Command(bin, conf), cred, nil); err != nil {
		return fail(err)
	}
	if err := p.waitListening(ctx, all["logfile"]); err != nil {
		log, _ := os.ReadFile(all["logfile"])
		p.Stop()
		return nil, fmt.Errorf("start pgbouncer: %w\n%s", err, log)
	}
	return p, nil
}

// waitListening waits until the PgBouncer p started listens on its port:
// its log (logfile) says so, and the port accepts a connection. A
// connection alone could be another process's, on a port taken from
// under PgBouncer, which then exits (errPoolerExited).
func (p *Pooler) waitListening(ctx context.Context, logfile string) error {
	listening := "listening on 127.0.0.1:" + strconv.Itoa(p.port)
	deadline := time.Now().Add(20 * time.Second)
	for time.Now().Before(deadline) {
		select {
		case <-p.exited:
			return errPoolerExited
		case <-ctx.Done():
			return ctx.Err()
		default:
		}
		if log, _ := os.ReadFile(logfile); strings.Contains(string(log), listening) {
			if c, err := net.DialTimeout("tcp", "127.0.0.1:"+strconv.Itoa(p.port), time.Second); err == nil {
				c.Close()
				return nil
			}
		}
		time.Sleep(20 * time.Millisecond)
	}
	return errors.New("pgbouncer not listening after 20s")
}

// URL returns a URL for database db through the pooler.
func (p *Pooler) URL(db string) string {
	return fmt.Sprintf("postgres://cutover@127.0.0.1:%d/%s?sslmode=disable", p.port, db)
}
