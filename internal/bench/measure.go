package bench

import (
	"cmp"
	"context"
	"fmt"
	"os"
	"os/exec"
	"slices"
	"strconv"
	"strings"
	"sync/atomic"
	"time"

	"github.com/jackc/pgx/v5"
	"golang.org/x/sync/errgroup"

	"github.com/cutover/cutover/extract"
	"github.com/cutover/cutover/internal/dburl"
)

// RawSchema is the schema of the target database the raw pipe writes
// into; it is dropped when (a) ends, before the target schema is applied.
const RawSchema = "cutover_bench_raw"

// measureRaw pipes every legacy table whole, from one snapshot, into a
// plain (logged, unindexed) copy on the target server: one COPY … TO STDOUT
// → COPY … FROM STDIN (binary, as cutover copies) per table, largest tables
// first, over `workers` streams.
func measureRaw(ctx context.Context, sourceURL, targetURL string, workers int) (Measurement, error) {
	m := Measurement{Name: "raw COPY pipe"}
	source, err := dburl.Connect(ctx, "source", sourceURL)
	if err != nil {
		return m, err
	}
	src, err := extract.Detect(ctx, source)
	source.Close(context.WithoutCancel(ctx))
	if err != nil {
		return m, err
	}
	var batches []extract.Batch
	for _, t := range src.Tables {
		batches = append(batches, extract.SplitPages(t.Name, t.Pages, 1)...)
	}
	size := func(b extract.Batch) int64 { return src.Table(b.Table).Bytes }
	slices.SortStableFunc(batches, func(a, b extract.Batch) int { return cmp.Compare(size(b), size(a)) })

	target, err := dburl.Connect(ctx, "target", targetURL)
	if err != nil {
		return m, err
	}
	defer target.Close(context.WithoutCancel(ctx))
	schema := pgx.Identifier{RawSchema}.Sanitize()
	ddl := []string{"DROP SCHEMA IF EXISTS " + schema + " CASCADE", "CREATE SCHEMA " + schema}
	for _, t := range src.Tables {
		cols := make([]string, len(t.Columns))
		for i, c := range t.Columns {
			cols[i] = pgx.Identifier{c.Name}.Sanitize() + " " + c.Type
		}
		ddl = append(ddl, fmt.Sprintf("CREATE TABLE %s (%s)", extract.StageTable(RawSchema, t.Name).Sanitize(), strings.Join(cols, ", ")))
	}
	for _, q := range ddl {
		if _, err := target.Exec(ctx, q); err != nil {
			return m, fmt.Errorf("prepare %s: %w", RawSchema, err)
		}
	}
	defer target.Exec(context.WithoutCancel(ctx), "DROP SCHEMA IF EXISTS "+schema+" CASCADE")

	t0 := time.Now()
	var copied atomic.Int64
	err = pipe(ctx, sourceURL, targetURL, workers, batches, func(ctx context.Context, r, w *pgx.Conn, snapshot string, b extract.Batch) error {
		n, err := extract.CopyBatch(ctx, r, snapshot, w.PgConn(), RawSchema, *src.Table(b.Table), b, nil)
		copied.Add(n)
		return err
	})
	if err != nil {
		return m, err
	}
	m.Wall, m.Status = Seconds(time.Since(t0)), StatusOK
	m.Note = fmt.Sprintf("%d rows, %d tables over %d streams", copied.Load(), len(batches), workers)
	return m, nil
}

// pipe opens a snapshot on the source and `workers` reader and writer
// connections, and runs f for every batch with a free pair.
func pipe(ctx context.Context, sourceURL, targetURL string, workers int, batches []extract.Batch,
	f func(ctx context.Context, r, w *pgx.Conn, snapshot string, b extract.Batch) error) error {
	snapConn, err := dburl.Connect(ctx, "source", sourceURL)
	if err != nil {
		return err
	}
	snap, err := extract.OpenSnapshot(ctx, snapConn)
	if err != nil {
		snapConn.Close(context.WithoutCancel(ctx))
		return err
	}
	defer snap.Close(context.WithoutCancel(ctx))
	type pair struct{ r, w *pgx.Conn }
	pairs := make(chan pair, workers)
	defer func() {
		close(pairs)
		for p := range pairs {
			p.r.Close(context.WithoutCancel(ctx))
			p.w.Close(context.WithoutCancel(ctx))
		}
	}()
	for range workers {
		r, err := dburl.Connect(ctx, "source", sourceURL)
		if err != nil {
			return err
		}
		w, err := dburl.Connect(ctx, "target", targetURL)
		if err != nil {
			r.Close(context.WithoutCancel(ctx))
			return err
		}
		pairs <- pair{r, w}
	}
	g, gctx := errgroup.WithContext(ctx)
	g.SetLimit(workers)
	for _, b := range batches {
		g.Go(func() error {
			p := <-pairs
			defer func() { pairs <- p }()
			return f(gctx, p.r, p.w, snap.ID, b)
		})
	}
	return g.Wait()
}

// proc is a finished child process.
type proc struct {
	wall time.Duration
	// hwmKiB is the child's peak resident set size (VmHWM), polled while
	// it runs.
	hwmKiB         int64
	exit           int
	stdout, stderr *tail
}

func (p proc) output() string {
	return strings.TrimSpace(p.stderr.String() + "\n" + p.stdout.String())
}

// exitNote says how a child that exited non-zero ended: its code and the
// tail of its output, without srv's secrets.
func (p proc) exitNote(srv *servers) string {
	return fmt.Sprintf("exit code %d:\n%s", p.exit, srv.scrub(lastLines(p.output(), 12)))
}

// hwmPoll is how often runProc reads the child's VmHWM.
const hwmPoll = 10 * time.Millisecond

// runProc runs a child process to its end, with env added to the bench's
// environment less its CUTOVER_ settings (CUTOVER_KEEP_STAGE,
// CUTOVER_MAX_REJECTS, …, which would change what is measured, and which
// no report records). The error is only for a child that could not start;
// a failing child is a proc with a non-zero exit. Cancelled, the child is
// interrupted as Ctrl-C does (a cutover records its run as interrupted,
// pgcopydb stops its workers), and killed only if it has not ended
// WaitDelay later.
//
// The peak RSS is read from /proc/<pid>/status (VmHWM, the high-water mark
// of the child's own address space) every hwmPoll, not from getrusage:
// on Linux a child's ru_maxrss includes the RSS of the parent it was forked
// from, which would make the bench's own memory the child's.
func runProc(ctx context.Context, bin string, env []string, args ...string) (proc, error) {
	p := proc{stdout: &tail{max: 16 << 10}, stderr: &tail{max: 16 << 10}}
	cmd := exec.CommandContext(ctx, bin, args...)
	cmd.Stdout, cmd.Stderr = p.stdout, p.stderr
	cmd.Env = append(slices.DeleteFunc(os.Environ(), func(kv string) bool { return strings.HasPrefix(kv, "CUTOVER_") }), env...)
	cmd.Cancel = func() error { return cmd.Process.Signal(os.Interrupt) }
	cmd.WaitDelay = 10 * time.Second
	t0 := time.Now()
	if err := cmd.Start(); err != nil {
		return p, fmt.Errorf("start %s: %w", bin, err)
	}
	done := make(chan struct{})
	polled := make(chan int64, 1)
	go func() {
		var hwm int64
		tick := time.NewTicker(hwmPoll)
		defer tick.Stop()
		for {
			hwm = max(hwm, vmHWM(cmd.Process.Pid))
			select {
			case <-done:
				polled <- hwm
				return
			case <-tick.C:
			}
		}
	}()
	cmd.Wait()
	p.wall = time.Since(t0)
	close(done)
	p.hwmKiB = <-polled
	p.exit = cmd.ProcessState.ExitCode()
	if err := ctx.Err(); err != nil {
		return p, err
	}
	return p, nil
}

// vmHWM reads a process's peak resident set size in KiB (0 when it cannot).
func vmHWM(pid int) int64 {
	b, err := os.ReadFile(fmt.Sprintf("/proc/%d/status", pid))
	if err != nil {
		return 0
	}
	for _, line := range strings.Split(string(b), "\n") {
		if v, ok := strings.CutPrefix(line, "VmHWM:"); ok {
			n, _ := strconv.ParseInt(strings.TrimSuffix(strings.TrimSpace(v), " kB"), 10, 64)
			return n
		}
	}
	return 0
}

// measureCommand runs the cutover binary with args while sampling both
// servers.
func measureCommand(ctx context.Context, o *Options, srv *servers, bin, name string, args []string) Measurement {
	m := Measurement{Name: name}
	smp, err := startSampler(ctx, o.SampleEvery, srv.source, srv.target)
	if err != nil {
		m.Status, m.Note = StatusFailed, "sampler: "+err.Error()
		return m
	}
	p, err := runProc(ctx, bin, srv.env(), args...)
	m.Phases = smp.stop()
	if err != nil {
		m.Status, m.Note = StatusFailed, err.Error()
		return m
	}
	m.Wall, m.PeakRSSKiB, m.ExitCode = Seconds(p.wall), p.hwmKiB, p.exit
	m.Status = StatusOK
	if p.exit != 0 {
		m.Status = StatusFailed
		m.Note = p.exitNote(srv)
		return m
	}
	// A run that did not do what its measurement is of measured something
	// else: it fails, and its target is not judged.
	noop := strings.Contains(p.stderr.String(), "nothing to do")
	switch {
	case name == "no-op re-run" && !noop:
		m.Status, m.Note = StatusFailed, "the re-run was not a no-op: it did not find the source unchanged"
	case name == changedName && noop:
		m.Status, m.Note = StatusFailed, "the re-run after a change found nothing to do: it missed the change"
	case name != "no-op re-run" && args[0] == "run" && noop:
		m.Status, m.Note = StatusFailed, "the run found nothing to do: the target was not fresh"
	}
	return m
}

func lastLines(s string, n int) string {
	lines := strings.Split(s, "\n")
	if len(lines) > n {
		lines = lines[len(lines)-n:]
	}
	return strings.Join(lines, "\n")
}

// verifyAvailable reports whether the binary has a verify command.
func verifyAvailable(ctx context.Context, bin string) (bool, string) {
	p, err := runProc(ctx, bin, nil, "help", "verify")
	if err != nil {
		return false, err.Error()
	}
	if p.exit != 0 {
		return false, "this cutover binary has no verify command yet"
	}
	return true, ""
}

// PgcopydbDatabase is the database on the target server that (b) clones
// into; it is dropped when (b) ends.
const PgcopydbDatabase = "cutover_bench_pgcopydb"

// measurePgcopydb clones the legacy database with pgcopydb into a fresh
// database on the target server, with cutover's parallelism as table and
// index jobs. It records pgcopydb's version in the report's machine.
func measurePgcopydb(ctx context.Context, o *Options, srv *servers, machine *Machine) Measurement {
	m := Measurement{Name: "pgcopydb clone", Status: StatusSkipped}
	if o.SkipPgcopydb {
		m.Note = "--skip-pgcopydb"
		return m
	}
	bin := o.Pgcopydb
	if bin == "" {
		var err error
		if bin, err = exec.LookPath("pgcopydb"); err != nil {
			m.Note = "pgcopydb is not installed (Debian: apt-get install pgcopydb)"
			return m
		}
	}
	if p, err := runProc(ctx, bin, nil, "--version"); err == nil {
		if v, ok := strings.CutPrefix(firstLine(p.stdout.String()+p.stderr.String()), "pgcopydb version "); ok {
			machine.Pgcopydb = strings.TrimSuffix(v, " …")
		}
	}
	dst, err := srv.targetDB(PgcopydbDatabase)
	if err != nil {
		m.Note = err.Error()
		return m
	}
	dropDatabase(ctx, srv.targetAdmin, PgcopydbDatabase)
	if err := createDatabase(ctx, srv.targetAdmin, PgcopydbDatabase); err != nil {
		m.Note = err.Error()
		return m
	}
	defer dropDatabase(context.WithoutCancel(ctx), srv.targetAdmin, PgcopydbDatabase)
	dir, err := os.MkdirTemp("", "cutover-bench-pgcopydb-")
	if err != nil {
		m.Status, m.Note = StatusFailed, err.Error()
		return m
	}
	defer os.RemoveAll(dir)
	o.logf("(b) pgcopydb clone, %d table jobs and %d index jobs", o.Workers, o.Workers)
	jobs := fmt.Sprint(o.Workers)
	// The URLs go by pgcopydb's environment, not its command line, which
	// every user of the machine may read (ps).
	p, err := runProc(ctx, bin, []string{"PGCOPYDB_SOURCE_PGURI=" + srv.pgcopydbSource, "PGCOPYDB_TARGET_PGURI=" + dst},
		"clone", "--dir", dir, "--table-jobs", jobs, "--index-jobs", jobs, "--no-owner", "--no-acl")
	if err != nil {
		m.Status, m.Note = StatusFailed, err.Error()
		return m
	}
	m.Wall, m.PeakRSSKiB, m.ExitCode = Seconds(p.wall), p.hwmKiB, p.exit
	if p.exit != 0 {
		m.Status, m.Note = StatusFailed, p.exitNote(srv)
		return m
	}
	m.Status = StatusOK
	m.Note = "peak RSS is pgcopydb's main process only (its workers are processes of their own)"
	rows, err := countRows(ctx, dst)
	switch {
	case err != nil:
		m.Note += "; rows not counted: " + err.Error()
	default:
		m.Note += fmt.Sprintf("; %d rows cloned", rows)
	}
	return m
}

// countRows counts the rows of every table in schema public.
func countRows(ctx context.Context, connURL string) (int64, error) {
	conn, err := dburl.Connect(ctx, "target", connURL)
	if err != nil {
		return 0, err
	}
	defer conn.Close(context.WithoutCancel(ctx))
	rows, err := conn.Query(ctx, `SELECT relname FROM pg_class WHERE relnamespace = 'public'::regnamespace AND relkind = 'r'`)
	if err != nil {
		return 0, err
	}
	names, err := pgx.CollectRows(rows, pgx.RowTo[string])
	if err != nil {
		return 0, err
	}
	var total int64
	for _, n := range names {
		var c int64
		if err := conn.QueryRow(ctx, "SELECT count(*) FROM public."+pgx.Identifier{n}.Sanitize()).Scan(&c); err != nil {
			return 0, err
		}
		total += c
	}
	return total, nil
}
