package main

// Re-runs with real processes (issue 5): `cutover run` killed with SIGKILL at
// random moments, or with its target sessions terminated, is finished by
// running the same command again, and the target then equals a reference
// run's, table by table; a second process refuses while the first works;
// `cutover status` says all along what a re-run would do.

import (
	"bufio"
	"bytes"
	"context"
	"fmt"
	"math/rand/v2"
	"net/url"
	"os"
	"os/exec"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	"github.com/jackc/pgx/v5"

	"github.com/cutover/cutover/internal/legacygen"
	"github.com/cutover/cutover/internal/pgtest"
	"github.com/cutover/cutover/internal/testkit"
	"github.com/cutover/cutover/migrations"
)

func procSource(t *testing.T) string {
	t.Helper()
	return testkit.GeneratedLegacy(t, legacygen.Options{Flavor: "v21", Drift: true, Anomalies: true, Users: 40, Seed: 3})
}

var (
	procRefMu    sync.Mutex
	procRef      map[string]string
	procRefLines int
)

// procReference returns the fingerprint of the target of an uninterrupted
// `cutover run` on copies of procSource and testkit.MigratedTarget, and the number of
// progress lines the run printed.
func procReference(t *testing.T) (map[string]string, int) {
	t.Helper()
	pgtest.NewDBFrom(t, "proc_reference", func(ctx context.Context, u string) error {
		if err := procReplaceDB(ctx, t, u, testkit.MigratedTarget(t)); err != nil {
			return err
		}
		p := procStart(t, "run", "--workers", "2", "--source", procSource(t), "--target", u)
		<-p.done
		if code := p.cmd.ProcessState.ExitCode(); code != 0 {
			return fmt.Errorf("reference run: exit %d\n%s", code, p.stderr())
		}
		fp, err := testkit.Fingerprint(ctx, u)
		procRefMu.Lock()
		procRef, procRefLines = fp, len(p.lines())
		procRefMu.Unlock()
		return err
	})
	procRefMu.Lock()
	defer procRefMu.Unlock()
	return procRef, procRefLines
}

// procReplaceDB makes the (empty) template database at u a copy of the
// database at from, so that every target shares one migration's seed rows.
func procReplaceDB(ctx context.Context, t *testing.T, u, from string) error {
	name, fromName := procDBName(u), procDBName(from)
	conn, err := pgx.Connect(ctx, pgtest.AdminURL(t))
	if err != nil {
		return err
	}
	defer conn.Close(context.WithoutCancel(ctx))
	if _, err := conn.Exec(ctx, "DROP DATABASE "+pgx.Identifier{name}.Sanitize()+" WITH (FORCE)"); err != nil {
		return err
	}
	for attempt := 0; ; attempt++ {
		// 55006 while the last sessions on the template end.
		_, err = conn.Exec(ctx, "CREATE DATABASE "+pgx.Identifier{name}.Sanitize()+" TEMPLATE "+pgx.Identifier{fromName}.Sanitize())
		if err == nil || attempt == 50 {
			return err
		}
		time.Sleep(100 * time.Millisecond)
	}
}

func procDBName(u string) string {
	p, err := url.Parse(u)
	if err != nil {
		panic(err)
	}
	return strings.TrimPrefix(p.Path, "/")
}

// procRun is the test binary started as the cutover command.
type procRun struct {
	cmd    *exec.Cmd
	stdout *bytes.Buffer // read it only after done
	mu     sync.Mutex
	errOut []string // stderr lines so far
	done   chan struct{}
}

func (p *procRun) lines() []string {
	p.mu.Lock()
	defer p.mu.Unlock()
	return append([]string(nil), p.errOut...)
}

func (p *procRun) stderr() string { return strings.Join(p.lines(), "\n") }

func procStart(t *testing.T, args ...string) *procRun {
	t.Helper()
	p := &procRun{cmd: exec.Command(os.Args[0], args...), stdout: &bytes.Buffer{}, done: make(chan struct{})}
	p.cmd.Env = append(os.Environ(), envRunMain+"=1")
	p.cmd.Stdout = p.stdout
	pipe, err := p.cmd.StderrPipe()
	if err != nil {
		t.Fatal(err)
	}
	if err := p.cmd.Start(); err != nil {
		t.Fatal(err)
	}
	go func() {
		sc := bufio.NewScanner(pipe)
		for sc.Scan() {
			p.mu.Lock()
			p.errOut = append(p.errOut, sc.Text())
			p.mu.Unlock()
		}
		p.cmd.Wait()
		close(p.done)
	}()
	t.Cleanup(func() {
		p.cmd.Process.Kill()
		<-p.done
	})
	return p
}

// procQuery runs sql on u and scans its one row into dest.
func procQuery(t *testing.T, u, sql string, dest ...any) {
	t.Helper()
	ctx := context.Background()
	c, err := pgx.Connect(ctx, u)
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close(ctx)
	if err := c.QueryRow(ctx, sql).Scan(dest...); err != nil {
		t.Fatalf("%s: %v", sql, err)
	}
}

// procWaitUntil polls cond until it holds; it fails the test when p ends
// first, or after a minute (a liveness bound, not a timing assertion).
func procWaitUntil(t *testing.T, what string, p *procRun, cond func() bool) {
	t.Helper()
	for deadline := time.Now().Add(time.Minute); ; time.Sleep(50 * time.Millisecond) {
		if cond() {
			return
		}
		if p != nil {
			select {
			case <-p.done:
				t.Fatalf("the run ended before %s: exit %d\n%s", what, p.cmd.ProcessState.ExitCode(), p.stderr())
			default:
			}
		}
		if time.Now().After(deadline) {
			t.Fatalf("%s: still not after a minute", what)
		}
	}
}

// procSessionsGone waits until no session but the caller's is on u: the
// sessions of a killed process end once their statement does.
func procSessionsGone(t *testing.T, u string) {
	t.Helper()
	procWaitUntil(t, "the killed run's sessions end", nil, func() bool {
		var n int
		procQuery(t, u, `SELECT count(*) FROM pg_stat_activity WHERE datname = current_database() AND pid <> pg_backend_pid()`, &n)
		return n == 0
	})
}

// procFreeze holds an exclusive lock on public.habits until release, so a
// run that starts meanwhile stops in the middle (it holds the run lock and
// waits to write habits); it returns the backend pid of the lock's session.
func procFreeze(t *testing.T, u string) (pid int, release func()) {
	t.Helper()
	ctx := context.Background()
	c, err := pgx.Connect(ctx, u)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := c.Exec(ctx, "BEGIN; LOCK TABLE public.habits IN ACCESS EXCLUSIVE MODE"); err != nil {
		t.Fatal(err)
	}
	var once sync.Once
	release = func() { once.Do(func() { c.Close(ctx) }) }
	t.Cleanup(release)
	return int(c.PgConn().PID()), release
}

// procFrozen waits until run p holds the run lock and waits on a lock.
func procFrozen(t *testing.T, u string, p *procRun) {
	t.Helper()
	procWaitUntil(t, "the run holds the run lock and waits on habits", p, func() bool {
		var locked, waiting bool
		procQuery(t, u, `SELECT
			EXISTS (SELECT 1 FROM pg_locks WHERE locktype = 'advisory' AND granted
				AND database = (SELECT oid FROM pg_database WHERE datname = current_database())),
			EXISTS (SELECT 1 FROM pg_stat_activity WHERE datname = current_database() AND wait_event_type = 'Lock')`, &locked, &waiting)
		return locked && waiting
	})
}

// TestRunKilledAtRandomMoments kills `cutover run` with SIGKILL at random
// moments (twice in a row), then runs the same command to the end: the
// target equals a reference run's. A moment is a random progress line of
// the run plus a random delay, so that it falls within the run however
// fast the machine is. `cutover status` tells in between that the run was
// interrupted and that re-running is safe.
func TestRunKilledAtRandomMoments(t *testing.T) {
	t.Parallel()
	want, lines := procReference(t)
	src, dst := procSource(t), testkit.MigratedTarget(t)
	seed := uint64(time.Now().UnixNano())
	rng := rand.New(rand.NewPCG(seed, 5))
	t.Logf("random seed %d; the reference run printed %d progress lines", seed, lines)
	for killed, attempt := 0, 0; killed < 2; attempt++ {
		if attempt == 10 {
			t.Fatalf("no SIGKILL landed during a run in %d attempts", attempt)
		}
		procSessionsGone(t, dst)
		line := 1 + rng.IntN(max(1, lines-2))
		delay := time.Duration(rng.Int64N(int64(time.Second)))
		p := procStart(t, "run", "--workers", "2", "--source", src, "--target", dst)
		procWaitUntil(t, "a progress line", nil, func() bool {
			select {
			case <-p.done:
				return true
			default:
				return len(p.lines()) >= line
			}
		})
		select {
		case <-time.After(delay):
			p.cmd.Process.Signal(syscall.SIGKILL)
		case <-p.done:
		}
		<-p.done
		ws, _ := p.cmd.ProcessState.Sys().(syscall.WaitStatus)
		switch out := p.lines(); {
		case ws.Signaled() && ws.Signal() == syscall.SIGKILL:
			killed++
			t.Logf("killed %s after progress line %d: %q", delay.Round(time.Millisecond), line, out[len(out)-1])
		case p.cmd.ProcessState.ExitCode() == 0:
			t.Logf("the run finished within %s of progress line %d: again on a fresh target", delay.Round(time.Millisecond), line)
			dst, killed = testkit.MigratedTarget(t), 0
		default:
			t.Fatalf("run: exit %d\n%s", p.cmd.ProcessState.ExitCode(), p.stderr())
		}
	}
	procSessionsGone(t, dst)
	// What status must say depends on where the last kill landed: before the
	// run was recorded, during it, or after it was marked done.
	var last string
	procQuery(t, dst, `SELECT CASE WHEN to_regclass('cutover.runs') IS NULL THEN 'none'
		ELSE coalesce((xpath('/row/s/text()', query_to_xml('SELECT status AS s FROM cutover.runs ORDER BY id DESC LIMIT 1', false, true, '')))[1]::text, 'none') END`, &last)
	wantSays := map[string][]string{
		"none":    {"a run loads everything"},
		"running": {"interrupted", "Re-running the same command is safe"},
		"done":    {"a re-run writes nothing"},
	}[last]
	stdout, stderr, code := runMain(t, nil, "status", "--target", dst, "--source", src)
	for _, w := range wantSays {
		if code != 0 || !strings.Contains(stdout, w) {
			t.Errorf("status after the kills (last run %s) does not say %q: exit %d\n%s\n%s", last, w, code, stdout, stderr)
		}
	}
	if wantSays == nil {
		t.Errorf("the last run is %s", last)
	}
	stdout, stderr, code = runMain(t, nil, "run", "--workers", "2", "--source", src, "--target", dst)
	if code != 0 || !strings.Contains(stdout, "conservation law holds") {
		t.Fatalf("re-run after the kills: exit %d\n%s\n%s", code, stdout, stderr)
	}
	testkit.SameAs(t, want, dst)
	// Every killed run that was recorded is closed as interrupted, its
	// process ended, by the next: as status showed it before.
	var running, otherFailures int
	procQuery(t, dst, `SELECT count(*) FILTER (WHERE status = 'running'),
		count(*) FILTER (WHERE status <> 'done' AND (status, error) IS DISTINCT FROM ('interrupted', '`+migrations.EndedRun+`')) FROM cutover.runs`, &running, &otherFailures)
	if running != 0 || otherFailures != 0 {
		t.Errorf("runs: %d still running, %d not done otherwise than by ending", running, otherFailures)
	}
}

// TestSecondRunRefusesNamingTheFirst starts a second `cutover run` while a
// first one works on the same target: the second refuses, naming the first
// (run id, pid, host), and records nothing; the first finishes.
func TestSecondRunRefusesNamingTheFirst(t *testing.T) {
	t.Parallel()
	want, _ := procReference(t)
	src, dst := procSource(t), testkit.MigratedTarget(t)
	if stdout, stderr, code := runMain(t, nil, "status", "--target", dst); code != 0 || !strings.Contains(stdout, "no cutover has run on this target: a run loads everything") {
		t.Errorf("status of an untouched target: exit %d\n%s\n%s", code, stdout, stderr)
	}
	_, release := procFreeze(t, dst)
	first := procStart(t, "run", "--workers", "2", "--source", src, "--target", dst)
	procFrozen(t, dst, first)
	host, _ := os.Hostname()
	var runID int64
	procQuery(t, dst, `SELECT max(id) FROM cutover.runs`, &runID)
	// A second run refuses; so do a dry run and a verification, which
	// would read a target being rewritten.
	for _, command := range []string{"run", "diff", "verify"} {
		_, stderr, code := runMain(t, nil, command, "--workers", "2", "--source", src, "--target", dst)
		if name := fmt.Sprintf("another cutover run (run %d, pid %d on %s,", runID, first.cmd.Process.Pid, host); code != 1 || !strings.Contains(stderr, name) {
			t.Errorf("%s during the run: exit %d, want 1 and a message naming %q:\n%s", command, code, name, stderr)
		}
	}
	stdout, _, _ := runMain(t, nil, "status", "--target", dst)
	if name := fmt.Sprintf("run %d (pid %d on %s) is working on this target", runID, first.cmd.Process.Pid, host); !strings.Contains(stdout, name) {
		t.Errorf("status while the first run works does not say %q:\n%s", name, stdout)
	}
	var runs int
	procQuery(t, dst, `SELECT count(*) FROM cutover.runs`, &runs)
	if runs != 1 {
		t.Errorf("%d runs recorded, want 1: the refused run records nothing", runs)
	}
	release()
	<-first.done
	if code := first.cmd.ProcessState.ExitCode(); code != 0 {
		t.Fatalf("first run: exit %d\n%s", code, first.stderr())
	}
	testkit.SameAs(t, want, dst)
}

// TestRunWithTerminatedSessions terminates every target session of a
// working `cutover run`: it fails saying that re-running is safe; the
// re-run finishes the job, and a run after that writes nothing.
func TestRunWithTerminatedSessions(t *testing.T) {
	t.Parallel()
	want, _ := procReference(t)
	src, dst := procSource(t), testkit.MigratedTarget(t)
	freezer, release := procFreeze(t, dst)
	p := procStart(t, "run", "--workers", "2", "--source", src, "--target", dst)
	procFrozen(t, dst, p)
	var n int
	procQuery(t, dst, fmt.Sprintf(`SELECT count(pg_terminate_backend(pid)) FROM pg_stat_activity
		WHERE datname = current_database() AND pid NOT IN (pg_backend_pid(), %d)`, freezer), &n)
	release()
	<-p.done
	if code := p.cmd.ProcessState.ExitCode(); n == 0 || code != 1 || !strings.Contains(p.stderr(), "re-running the same command is safe") {
		t.Fatalf("terminated %d sessions: exit %d, want 1 and a message saying re-running is safe:\n%s", n, code, p.stderr())
	}
	procSessionsGone(t, dst)
	stdout, stderr, code := runMain(t, nil, "run", "--workers", "2", "--source", src, "--target", dst)
	if code != 0 {
		t.Fatalf("re-run: exit %d\n%s\n%s", code, stdout, stderr)
	}
	testkit.SameAs(t, want, dst)
	stdout, stderr, code = runMain(t, nil, "status", "--target", dst, "--source", src)
	if code != 0 || !strings.Contains(stdout, "a re-run writes nothing") || !strings.Contains(stdout, "0 pending, 0 failed; 0 changed") {
		t.Errorf("status after the re-run: exit %d\n%s\n%s", code, stdout, stderr)
	}
	stdout, stderr, code = runMain(t, nil, "run", "--workers", "2", "--source", src, "--target", dst)
	if code != 0 || !strings.Contains(stdout, "; 0 application rows written") || !strings.Contains(stderr, "nothing to do") {
		t.Errorf("run after a finished run: exit %d\n%s\n%s", code, stdout, stderr)
	}
	testkit.SameAs(t, want, dst)
}
