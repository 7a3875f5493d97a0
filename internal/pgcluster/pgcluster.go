// Package pgcluster starts and removes throwaway PostgreSQL clusters from the
// server binaries installed on this machine. Tests (through internal/pgtest),
// `cutover demo` and `cutover bench` use it so that nobody needs a server of
// their own.
//
// A cluster lives in a fresh temporary directory (data directory, unix
// socket, log file), listens on a free TCP port on 127.0.0.1 and on a unix
// socket, trusts local connections and runs with durability switched off
// (fsync, full_page_writes, synchronous_commit): it is for data that can be
// regenerated. A cluster can also be a hot standby of another, streaming
// from it (Options.StandbyOf). When the current process runs as root the
// server runs as the `postgres` user, as PostgreSQL refuses to run as root.
//
// The server is started with a parent-death signal, so that it goes away even
// when the process that started it is killed; Stop removes the directory.
// Directories left behind by killed processes are removed by the next Start.
package pgcluster

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"maps"
	"net"
	"net/url"
	"os"
	"os/exec"
	"os/user"
	"path/filepath"
	"slices"
	"sort"
	"strconv"
	"strings"
	"syscall"
	"time"

	"github.com/jackc/pgx/v5/pgconn"
)

// dirPrefix names every directory this package creates, so that stale ones
// can be found and removed.
const dirPrefix = "cutover-pg-"

// Cluster is a running throwaway PostgreSQL server.
type Cluster struct {
	process // postgres; Stop is a fast shutdown, then a kill
	port    int
}

// Options tune Start. The zero value is fine.
type Options struct {
	// BinDir holds initdb and postgres; empty means FindBinDir.
	BinDir string
	// Settings are extra `-c name=value` server settings.
	Settings map[string]string
	// StandbyOf, when set, makes the new cluster a hot standby of that
	// running cluster, streaming from it: its data directory is a
	// pg_basebackup of it instead of a fresh initdb.
	StandbyOf *Cluster
}

// FindBinDir returns the directory that holds initdb and postgres: the
// CUTOVER_PG_BINDIR environment variable when set, otherwise the newest
// /usr/lib/postgresql/<major>/bin, otherwise the directory of `initdb` on PATH.
func FindBinDir() (string, error) {
	if d := os.Getenv("CUTOVER_PG_BINDIR"); d != "" {
		return d, nil
	}
	matches, _ := filepath.Glob("/usr/lib/postgresql/*/bin/initdb")
	sort.Slice(matches, func(i, j int) bool { return majorOf(matches[i]) > majorOf(matches[j]) })
	if len(matches) > 0 {
		return filepath.Dir(matches[0]), nil
	}
	if p, err := exec.LookPath("initdb"); err == nil {
		return filepath.Dir(p), nil
	}
	return "", errors.New("no PostgreSQL server binaries found: install the postgresql-15 package or set CUTOVER_PG_BINDIR")
}

func majorOf(initdbPath string) int {
	n, _ := strconv.Atoi(filepath.Base(filepath.Dir(filepath.Dir(initdbPath))))
	return n
}

// Start creates and starts a new cluster. The caller must call Stop.
func Start(ctx context.Context, opts Options) (*Cluster, error) {
	removeStale()
	bin := opts.BinDir
	if bin == "" {
		var err error
		if bin, err = FindBinDir(); err != nil {
			return nil, err
		}
	}
	dir, err := os.MkdirTemp("", fmt.Sprintf("%s%d-", dirPrefix, os.Getpid()))
	if err != nil {
		return nil, fmt.Errorf("start throwaway postgres: %w", err)
	}
	c := &Cluster{process: process{dir: dir, exited: make(chan struct{}), shutdown: syscall.SIGINT, orphaned: syscall.SIGQUIT, grace: 20 * time.Second}}
	fail := func(err error) (*Cluster, error) {
		os.RemoveAll(dir)
		return nil, fmt.Errorf("start throwaway postgres in %s: %w", dir, err)
	}
	cred, err := serverCredential()
	if err != nil {
		return fail(err)
	}
	if cred != nil {
		if err := os.Chown(dir, int(cred.Uid), int(cred.Gid)); err != nil {
			return fail(err)
		}
	}
	var out bytes.Buffer
	create := exec.CommandContext(ctx, filepath.Join(bin, "initdb"),
		"-D", c.dataDir(), "-U", "postgres", "--auth=trust", "-E", "UTF8", "--locale=C.UTF-8", "--no-sync")
	if p := opts.StandbyOf; p != nil {
		// -R writes standby.signal and the primary's connection settings.
		create = exec.CommandContext(ctx, filepath.Join(bin, "pg_basebackup"),
			"-h", p.dir, "-p", strconv.Itoa(p.port), "-U", "postgres", "-D", c.dataDir(), "-R", "-X", "stream", "--checkpoint=fast", "--no-sync")
	}
	create.Stdout, create.Stderr = &out, &out
	create.SysProcAttr = &syscall.SysProcAttr{Credential: cred}
	if err := create.Run(); err != nil {
		return fail(fmt.Errorf("%s: %w\n%s", filepath.Base(create.Path), err, out.String()))
	}
	// A port another process took between serverPort and the server's
	// bind (a cluster of a test binary running beside, say) makes the
	// server exit during its start: it starts again on another port, up
	// to serverStarts times.
	for attempt := 1; ; attempt++ {
		err := c.listen(ctx, bin, cred, opts.Settings)
		if err == nil {
			return c, nil
		}
		tail := c.logTail() // before Stop removes the log
		if !errors.Is(err, errServerExited) || attempt == serverStarts {
			c.Stop()
			return nil, fmt.Errorf("start throwaway postgres: %w\n%s", err, tail)
		}
		c.process = process{dir: dir, exited: make(chan struct{}), shutdown: c.shutdown, orphaned: c.orphaned, grace: c.grace}
	}
}

// serverStarts is how often Start tries a port.
const serverStarts = 5

// serverPort gives Start its port (freePort; a test takes one first).
var serverPort = freePort

// errServerExited is a server that exited while it started (its port
// taken, most likely: its log says).
var errServerExited = errors.New("server exited during start")

// listen is one try of Start's: it starts the server of c's data
// directory, run as cred with settings over the defaults, on a port
// serverPort gives, and waits until it accepts connections. The caller
// stops c when it fails.
func (c *Cluster) listen(ctx context.Context, bin string, cred *syscall.Credential, extra map[string]string) error {
	port, err := serverPort()
	if err != nil {
		return err
	}
	c.port = port
	settings := map[string]string{
		"listen_addresses":        "127.0.0.1",
		"unix_socket_directories": c.dir,
		"fsync":                   "off",
		"full_page_writes":        "off",
		"synchronous_commit":      "off",
		"shared_buffers":          "128MB",
		"max_connections":         "200",
		"max_wal_size":            "2GB",
		"log_min_messages":        "warning",
		"unix_socket_permissions": "0777",
	}
	for k, v := range extra {
		settings[k] = v
	}
	args := []string{"-D", c.dataDir(), "-p", strconv.Itoa(port)}
	for _, k := range slices.Sorted(maps.Keys(settings)) {
		args = append(args, "-c", k+"="+settings[k])
	}
	logf, err := os.Create(c.logPath())
	if err != nil {
		return err
	}
	// The server must outlive ctx (ctx only bounds the start), so it is not
	// started with CommandContext.
	cmd := exec.Command(filepath.Join(bin, "postgres"), args...)
	cmd.Stdout, cmd.Stderr = logf, logf
	if err := c.start(cmd, cred, logf); err != nil {
		logf.Close()
		return err
	}
	return c.waitReady(ctx)
}

func (c *Cluster) dataDir() string { return filepath.Join(c.dir, "data") }
func (c *Cluster) logPath() string { return filepath.Join(c.dir, "postgres.log") }

func (c *Cluster) logTail() string {
	b, _ := os.ReadFile(c.logPath())
	if len(b) > 4000 {
		b = b[len(b)-4000:]
	}
	return string(b)
}

// Dir is the cluster's temporary directory.
func (c *Cluster) Dir() string { return c.dir }

// Port is the TCP port the server listens on at 127.0.0.1.
func (c *Cluster) Port() int { return c.port }

// URL returns a connection URL for database db as the superuser `postgres`,
// over the unix socket.
func (c *Cluster) URL(db string) string {
	u := url.URL{Scheme: "postgres", User: url.User("postgres"), Path: "/" + db}
	q := url.Values{}
	q.Set("host", c.dir)
	q.Set("port", strconv.Itoa(c.port))
	q.Set("sslmode", "disable")
	u.RawQuery = q.Encode()
	return u.String()
}

// TCPURL returns a connection URL for database db over TCP on 127.0.0.1.
func (c *Cluster) TCPURL(db string) string {
	return fmt.Sprintf("postgres://postgres@127.0.0.1:%d/%s?sslmode=disable", c.port, db)
}

func (c *Cluster) waitReady(ctx context.Context) error {
	deadline := time.Now().Add(60 * time.Second)
	var last error
	for time.Now().Before(deadline) {
		select {
		case <-c.exited:
			return errServerExited
		case <-ctx.Done():
			return ctx.Err()
		default:
		}
		cctx, cancel := context.WithTimeout(ctx, 2*time.Second)
		conn, err := pgconn.Connect(cctx, c.URL("postgres"))
		cancel()
		if err == nil {
			conn.Close(ctx)
			return nil
		}
		last = err
		time.Sleep(50 * time.Millisecond)
	}
	return fmt.Errorf("server not ready after 60s: %w", last)
}

// serverCredential returns the credential of the postgres user when running
// as root, and nil otherwise.
func serverCredential() (*syscall.Credential, error) {
	if os.Geteuid() != 0 {
		return nil, nil
	}
	u, err := user.Lookup("postgres")
	if err != nil {
		return nil, fmt.Errorf("running as root needs a `postgres` user to run the server: %w", err)
	}
	uid, _ := strconv.Atoi(u.Uid)
	gid, _ := strconv.Atoi(u.Gid)
	return &syscall.Credential{Uid: uint32(uid), Gid: uint32(gid)}, nil
}

func freePort() (int, error) {
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		return 0, fmt.Errorf("find a free port: %w", err)
	}
	defer l.Close()
	return l.Addr().(*net.TCPAddr).Port, nil
}

// removeStale deletes cluster directories whose creating process is gone.
func removeStale() {
	entries, _ := os.ReadDir(os.TempDir())
	for _, e := range entries {
		name := e.Name()
		if !e.IsDir() || !strings.HasPrefix(name, dirPrefix) {
			continue
		}
		pidStr, _, _ := strings.Cut(strings.TrimPrefix(name, dirPrefix), "-")
		pid, err := strconv.Atoi(pidStr)
		if err != nil || pid == os.Getpid() || processAlive(pid) {
			continue
		}
		os.RemoveAll(filepath.Join(os.TempDir(), name))
	}
}

func processAlive(pid int) bool {
	err := syscall.Kill(pid, 0)
	return err == nil || errors.Is(err, syscall.EPERM)
}
