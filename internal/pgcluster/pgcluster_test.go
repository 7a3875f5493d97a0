package pgcluster

import (
	"bufio"
	"context"
	"errors"
	"fmt"
	"io"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/jackc/pgx/v5"
)

// alive reports whether pid is a live process (a zombie counts as dead).
func alive(pid int) bool {
	b, err := os.ReadFile(fmt.Sprintf("/proc/%d/stat", pid))
	if err != nil {
		return false
	}
	// The state follows the parenthesised command name.
	s := string(b)
	if i := strings.LastIndexByte(s, ')'); i >= 0 && i+2 < len(s) {
		return s[i+2] != 'Z'
	}
	return true
}

// waitDead waits a little for pid to go: a backend can outlive its
// postmaster by a moment.
func waitDead(pid int) bool {
	for deadline := time.Now().Add(10 * time.Second); time.Now().Before(deadline); time.Sleep(20 * time.Millisecond) {
		if !alive(pid) {
			return true
		}
	}
	return false
}

func postmasterPID(t *testing.T, c *Cluster) int {
	t.Helper()
	b, err := os.ReadFile(filepath.Join(c.dataDir(), "postmaster.pid"))
	if err != nil {
		t.Fatal(err)
	}
	first, _, _ := strings.Cut(string(b), "\n")
	pid, err := strconv.Atoi(strings.TrimSpace(first))
	if err != nil {
		t.Fatalf("postmaster.pid: %v", err)
	}
	return pid
}

func TestStartStop(t *testing.T) {
	t.Parallel()
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
	defer cancel()
	start := time.Now()
	c, err := Start(ctx, Options{Settings: map[string]string{"work_mem": "7MB"}})
	if err != nil {
		t.Fatal(err)
	}
	t.Logf("Start took %v", time.Since(start))
	defer c.Stop()

	if !strings.HasPrefix(filepath.Base(c.Dir()), fmt.Sprintf("%s%d-", dirPrefix, os.Getpid())) {
		t.Errorf("Dir() = %s, want a %s<pid>- prefix", c.Dir(), dirPrefix)
	}
	pid := postmasterPID(t, c)
	if pid != c.cmd.Process.Pid {
		t.Errorf("postmaster.pid says %d, started process is %d", pid, c.cmd.Process.Pid)
	}

	// Both URLs work; the extra setting is in effect; the server does not
	// run as root.
	var backends []int
	for _, u := range []string{c.URL("postgres"), c.TCPURL("postgres")} {
		conn, err := pgx.Connect(ctx, u)
		if err != nil {
			t.Fatalf("connect %s: %v", u, err)
		}
		var workMem, fsync string
		var backend int
		err = conn.QueryRow(ctx, "SELECT current_setting('work_mem'), current_setting('fsync'), pg_backend_pid()").Scan(&workMem, &fsync, &backend)
		if err != nil {
			t.Fatal(err)
		}
		if workMem != "7MB" || fsync != "off" {
			t.Errorf("work_mem = %s, fsync = %s; want 7MB, off", workMem, fsync)
		}
		backends = append(backends, backend)
		// Keep the first connection open over Stop: a fast shutdown must
		// end it as well.
		if len(backends) == 2 {
			conn.Close(ctx)
		}
	}

	start = time.Now()
	if err := c.Stop(); err != nil {
		t.Fatalf("Stop: %v", err)
	}
	t.Logf("Stop took %v", time.Since(start))
	if _, err := os.Stat(c.Dir()); !errors.Is(err, os.ErrNotExist) {
		t.Errorf("cluster directory %s still there after Stop (stat: %v)", c.Dir(), err)
	}
	if !waitDead(pid) {
		t.Errorf("postmaster %d still running after Stop", pid)
	}
	for _, b := range backends {
		if !waitDead(b) {
			t.Errorf("backend %d still running after Stop", b)
		}
	}
	if err := c.Stop(); err != nil {
		t.Errorf("second Stop: %v", err)
	}
	if _, err := pgx.Connect(ctx, c.TCPURL("postgres")); err == nil {
		t.Error("server still accepts connections after Stop")
	}
}

func TestStartRemovesStaleDirectories(t *testing.T) {
	t.Parallel()
	// A directory left behind by a process that is gone…
	dead := exec.Command("true")
	if err := dead.Run(); err != nil {
		t.Fatal(err)
	}
	stale, err := os.MkdirTemp("", fmt.Sprintf("%s%d-", dirPrefix, dead.Process.Pid))
	if err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(filepath.Join(stale, "postgres.log"), []byte("old"), 0o600); err != nil {
		t.Fatal(err)
	}
	// …and one of a live process (this one), which must stay.
	mine, err := os.MkdirTemp("", fmt.Sprintf("%s%d-", dirPrefix, os.Getpid()))
	if err != nil {
		t.Fatal(err)
	}
	defer os.RemoveAll(mine)

	c, err := Start(context.Background(), Options{})
	if err != nil {
		t.Fatal(err)
	}
	defer c.Stop()
	if _, err := os.Stat(stale); !errors.Is(err, os.ErrNotExist) {
		t.Errorf("stale directory %s of dead pid %d not removed (stat: %v)", stale, dead.Process.Pid, err)
	}
	if _, err := os.Stat(mine); err != nil {
		t.Errorf("directory of a live process removed: %v", err)
	}
	if err := c.Stop(); err != nil {
		t.Fatal(err)
	}
}

// TestStartFailsCleanly is not parallel: it counts this process's cluster
// directories.
func TestStartFailsCleanly(t *testing.T) {
	before, _ := filepath.Glob(filepath.Join(os.TempDir(), fmt.Sprintf("%s%d-*", dirPrefix, os.Getpid())))
	_, err := Start(context.Background(), Options{BinDir: t.TempDir()})
	if err == nil {
		t.Fatal("Start with an empty BinDir succeeded")
	}
	after, _ := filepath.Glob(filepath.Join(os.TempDir(), fmt.Sprintf("%s%d-*", dirPrefix, os.Getpid())))
	if len(after) != len(before) {
		t.Errorf("failed Start left a directory behind: before %v, after %v", before, after)
	}

	// A setting the server rejects: Start reports the server log and
	// leaves nothing running.
	_, err = Start(context.Background(), Options{Settings: map[string]string{"no_such_setting": "1"}})
	if err == nil {
		t.Fatal("Start with a bad setting succeeded")
	}
	if !strings.Contains(err.Error(), "no_such_setting") {
		t.Errorf("error does not quote the server log: %v", err)
	}
	after, _ = filepath.Glob(filepath.Join(os.TempDir(), fmt.Sprintf("%s%d-*", dirPrefix, os.Getpid())))
	if len(after) != len(before) {
		t.Errorf("failed Start left a directory behind: before %v, after %v", before, after)
	}
}

func TestFindBinDir(t *testing.T) {
	t.Setenv("CUTOVER_PG_BINDIR", "/opt/pg/bin")
	if d, err := FindBinDir(); err != nil || d != "/opt/pg/bin" {
		t.Errorf("FindBinDir with CUTOVER_PG_BINDIR = %q, %v", d, err)
	}
	t.Setenv("CUTOVER_PG_BINDIR", "")
	d, err := FindBinDir()
	if err != nil {
		t.Fatal(err)
	}
	for _, bin := range []string{"initdb", "postgres"} {
		if _, err := os.Stat(filepath.Join(d, bin)); err != nil {
			t.Errorf("FindBinDir() = %s: %v", d, err)
		}
	}
}

// TestServerDiesWithParent kills (SIGKILL, no cleanup possible) a process
// that started a cluster: the server must go away by itself, and the next
// Start removes the directory left behind.
func TestServerDiesWithParent(t *testing.T) {
	if os.Getenv("PGCLUSTER_TEST_HELPER") == "1" {
		c, err := Start(context.Background(), Options{})
		if err != nil {
			fmt.Println("ERROR", err)
			os.Exit(1)
		}
		fmt.Printf("READY %d %s\n", c.cmd.Process.Pid, c.Dir())
		select {} // until killed
	}
	t.Parallel()
	helper := exec.Command(os.Args[0], "-test.run=^TestServerDiesWithParent$")
	helper.Env = append(os.Environ(), "PGCLUSTER_TEST_HELPER=1")
	out, err := helper.StdoutPipe()
	if err != nil {
		t.Fatal(err)
	}
	if err := helper.Start(); err != nil {
		t.Fatal(err)
	}
	defer helper.Process.Kill()
	var pid int
	var dir string
	lines := make(chan string, 1)
	go func() {
		sc := bufio.NewScanner(out)
		for sc.Scan() {
			if l := sc.Text(); strings.HasPrefix(l, "READY ") || strings.HasPrefix(l, "ERROR ") {
				lines <- l
				break
			}
		}
		io.Copy(io.Discard, out)
	}()
	select {
	case line := <-lines:
		if _, err := fmt.Sscanf(line, "READY %d %s", &pid, &dir); err != nil {
			t.Fatalf("helper said %q", line)
		}
	case <-time.After(2 * time.Minute):
		t.Fatal("helper did not start a cluster")
	}
	if !alive(pid) {
		t.Fatalf("postmaster %d not running", pid)
	}
	if err := helper.Process.Kill(); err != nil {
		t.Fatal(err)
	}
	helper.Wait()
	if !waitDead(pid) {
		syscall.Kill(pid, syscall.SIGKILL)
		t.Fatalf("postmaster %d outlived the killed process that started it", pid)
	}
	// The directory is left behind (a parallel test's Start may already
	// have removed it); the next Start removes it.
	c, err := Start(context.Background(), Options{})
	if err != nil {
		t.Fatal(err)
	}
	defer c.Stop()
	if _, err := os.Stat(dir); !errors.Is(err, os.ErrNotExist) {
		t.Errorf("next Start did not remove %s (stat: %v)", dir, err)
	}
}

// TestStandby: a cluster started as a standby of another is in recovery,
// holds what the primary held when it was copied, replays what the primary
// writes after, and runs with its own settings.
func TestStandby(t *testing.T) {
	t.Parallel()
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
	defer cancel()
	primary, err := Start(ctx, Options{})
	if err != nil {
		t.Fatal(err)
	}
	defer primary.Stop()
	p, err := pgx.Connect(ctx, primary.URL("postgres"))
	if err != nil {
		t.Fatal(err)
	}
	defer p.Close(ctx)
	if _, err := p.Exec(ctx, "CREATE TABLE t (n int); INSERT INTO t VALUES (1)"); err != nil {
		t.Fatal(err)
	}
	standby, err := Start(ctx, Options{StandbyOf: primary, Settings: map[string]string{"max_standby_streaming_delay": "7s"}})
	if err != nil {
		t.Fatal(err)
	}
	defer standby.Stop()
	if _, err := p.Exec(ctx, "INSERT INTO t VALUES (2)"); err != nil {
		t.Fatal(err)
	}
	s, err := pgx.Connect(ctx, standby.URL("postgres"))
	if err != nil {
		t.Fatal(err)
	}
	defer s.Close(ctx)
	var recovering bool
	var delay string
	if err := s.QueryRow(ctx, "SELECT pg_is_in_recovery(), current_setting('max_standby_streaming_delay')").Scan(&recovering, &delay); err != nil {
		t.Fatal(err)
	}
	if !recovering || delay != "7s" {
		t.Errorf("standby: in recovery %v, max_standby_streaming_delay %s; want true, 7s", recovering, delay)
	}
	var sum int
	for range 200 {
		if err := s.QueryRow(ctx, "SELECT sum(n) FROM t").Scan(&sum); err != nil {
			t.Fatal(err)
		}
		if sum == 3 {
			return
		}
		time.Sleep(50 * time.Millisecond)
	}
	t.Errorf("the standby holds rows summing to %d, want 3 (the primary's two)", sum)
}

// TestStartOnATakenPort: when another process takes the port between
// freePort and the server's bind (a throwaway cluster of another test
// binary of `go test ./...`, say), the server exits during its start;
// Start starts it again on another port, where it accepts connections,
// instead of failing the test that asked for it.
func TestStartOnATakenPort(t *testing.T) {
	var takenPort, calls int
	serverPort, takenPort = takenFirst(t, &calls)
	defer func() { serverPort = freePort }()
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
	defer cancel()
	c, err := Start(ctx, Options{})
	if err != nil {
		t.Fatalf("start a server beside a taken port: %v", err)
	}
	defer c.Stop()
	if calls != 2 || c.Port() == takenPort {
		t.Errorf("server on port %d after %d tries (port %d taken)", c.Port(), calls, takenPort)
	}
	conn, err := pgx.Connect(ctx, c.TCPURL("postgres"))
	if err != nil {
		t.Fatalf("the server's port: %v", err)
	}
	conn.Close(ctx)
}
