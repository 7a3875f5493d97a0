// Package bench measures a cutover against the limits it is judged by, in
// one run on the same two servers (issue 7):
//
//	(a) raw      every legacy table piped COPY TO STDOUT → COPY FROM STDIN into
//	             an unindexed copy on the target server, with as many
//	             parallel streams as the run uses: the floor nothing beats;
//	(b) pgcopydb `pgcopydb clone` of the legacy database (schema, data,
//	             indexes, constraints) when the binary is installed;
//	(c) run      `cutover run` end to end on a freshly migrated target;
//	(d) verify   `cutover verify` of that target;
//	(e) rerun    `cutover run` again, with nothing to do;
//	(f) changed  `cutover run` again after a small change to the source
//	             (changeSource): the re-run an operator makes after fixing
//	             rows, or after a failed run;
//	(g) dry run  `cutover diff` against the freshly migrated target,
//	             before (c): the operator's dry run the week before;
//	(h) dry run  `cutover diff` against the target (c) finished, after
//	             (e): the preview of a re-run.
//
// (c) to (h) run the cutover binary as a child process, so that its
// peak resident set size is the child's own (its VmHWM, see runProc), and
// while they run a sampler reads pg_stat_activity on both servers to say
// where the time goes. Report carries every figure, each wall time as a
// ratio to (a), and a PASS or MISS per target; nothing here asserts on time,
// the caller judges.
package bench

import (
	"context"
	"errors"
	"fmt"
	"io"
	"net/url"
	"runtime"
	"strings"
	"time"

	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgconn"

	"github.com/cutover/cutover/internal/dburl"
	"github.com/cutover/cutover/internal/legacygen"
	"github.com/cutover/cutover/internal/pgcluster"
	"github.com/cutover/cutover/migrations"
)

// DefaultRows is the legacy row count a bench generates unless told.
const DefaultRows = 1_000_000

// RowsPerUser is about how many legacy rows legacygen makes per user (v21,
// drift tables and anomalies on); Options.Rows is turned into users with it.
const RowsPerUser = 450

// Options say what to measure. The zero value, with Binary set, benchmarks
// DefaultRows rows on two throwaway servers.
type Options struct {
	// Binary is the cutover executable that (c) to (f) run.
	Binary string
	// Rows is the legacy row count to generate (default DefaultRows); it is
	// turned into a user count with RowsPerUser. Users, when set, wins.
	Rows  int64
	Users int
	// Seed is legacygen's seed (default 1).
	Seed int64
	// Workers is the parallelism of every measurement: cutover's --workers,
	// the raw pipe's streams and pgcopydb's table and index jobs (default:
	// the CPU count, cutover's default).
	Workers int
	// SourceURL and TargetURL name existing EMPTY databases to use instead
	// of throwaway servers. pgcopydb clones into a sibling database on the
	// target server, which it needs the right to create.
	SourceURL, TargetURL string
	// SkipPgcopydb skips (b) even when pgcopydb is installed.
	SkipPgcopydb bool
	// Pgcopydb is the pgcopydb executable (default: found on PATH).
	Pgcopydb string
	// Baseline is an earlier report at another scale; with it the bench
	// checks that the run's peak RSS does not grow with scale.
	Baseline *Report
	// SampleEvery is the pg_stat_activity sampling interval (default 50ms).
	SampleEvery time.Duration
	// Compare is another cutover executable (say, a build of an earlier
	// commit). With it, after (f), the bench runs `cutover run` of each
	// binary Rounds times (see Comparison).
	Compare string
	// Rounds is the number of runs of each binary Compare takes (default 2).
	Rounds int
	// Log receives one line per step; nil discards them.
	Log io.Writer
}

// MaxRows is the most legacy rows a bench generates, and MaxWorkers the
// most workers it runs with: each worker holds a connection to each
// server in each measurement, and the throwaway servers allow 200.
const (
	MaxRows    = 10_000_000_000
	MaxWorkers = 64
)

func (o *Options) defaults() error {
	if o.Binary == "" {
		return errors.New("bench: Options.Binary (the cutover executable) is required")
	}
	if o.Rows <= 0 {
		o.Rows = DefaultRows
	}
	if o.Rows > MaxRows || o.Workers > MaxWorkers {
		return fmt.Errorf("bench: at most %d rows and %d workers", int64(MaxRows), MaxWorkers)
	}
	if o.Users <= 0 {
		o.Users = int(max(1, (o.Rows+RowsPerUser/2)/RowsPerUser))
	}
	if o.Seed == 0 {
		o.Seed = 1
	}
	if o.Workers <= 0 {
		o.Workers = min(runtime.NumCPU(), MaxWorkers)
	}
	if (o.SourceURL == "") != (o.TargetURL == "") {
		return errors.New("bench: give both a source and a target database, or neither")
	}
	if o.Rounds <= 0 {
		o.Rounds = 2
	}
	if o.SampleEvery <= 0 {
		o.SampleEvery = 50 * time.Millisecond
	}
	if o.Log == nil {
		o.Log = io.Discard
	}
	return nil
}

func (o *Options) logf(format string, args ...any) {
	fmt.Fprintf(o.Log, "bench: "+format+"\n", args...)
}

// servers are the two databases a bench works in, plus what it needs to
// make sibling databases on the target server.
type servers struct {
	source, target string // the legacy database and the cutover target
	// pgcopydbSource is the source for pgcopydb, and targetAdmin the
	// target server's database for CREATE DATABASE.
	pgcopydbSource string
	targetAdmin    string
	// targetDB builds the URL of another database on the target server,
	// reached as the run reaches it (a unix socket for throwaway servers:
	// pgcopydb over TCP paid for loopback the run does not); nil when the
	// URL form does not allow it.
	targetDB func(name string) (string, error)
	// secrets are the passwords of the URLs the bench was given, which
	// its children's output may print (pgcopydb does, in some errors).
	secrets []string
	stop    []func()
}

// env is the environment a cutover child gets the URLs from: not its
// command line, which every user of the machine may read (ps).
func (s *servers) env() []string {
	return []string{"CUTOVER_SOURCE_URL=" + s.source, "CUTOVER_TARGET_URL=" + s.target}
}

// scrub replaces in a child's output every password of the bench's URLs,
// as written and as escaped in a URL, by "xxxxx": the output goes into
// the report, and reports never hold secrets.
func (s *servers) scrub(out string) string {
	for _, pw := range s.secrets {
		for _, form := range []string{pw, url.QueryEscape(pw), url.PathEscape(pw), (&url.URL{User: url.UserPassword("", pw)}).User.String()[1:]} {
			if form != "" {
				out = strings.ReplaceAll(out, form, "xxxxx")
			}
		}
	}
	return out
}

// passwords returns the passwords the connection URLs (or keyword/value
// strings) carry, leaving out those that do not parse: a URL that does
// not parse reaches no child.
func passwords(connURLs ...string) []string {
	var out []string
	for _, u := range connURLs {
		if cfg, err := pgconn.ParseConfig(u); err == nil && cfg.Password != "" {
			out = append(out, cfg.Password)
		}
	}
	return out
}

func (s *servers) close() {
	for i := len(s.stop) - 1; i >= 0; i-- {
		s.stop[i]()
	}
}

func startServers(ctx context.Context, o *Options) (*servers, error) {
	s := &servers{}
	if o.SourceURL != "" {
		s.source, s.target = o.SourceURL, o.TargetURL
		s.pgcopydbSource, s.targetAdmin = o.SourceURL, o.TargetURL
		s.targetDB = func(name string) (string, error) { return withDatabase(o.TargetURL, name) }
		s.secrets = passwords(o.SourceURL, o.TargetURL)
		if err := checkGiven(ctx, o.SourceURL, o.TargetURL); err != nil {
			return nil, err
		}
		return s, nil
	}
	for i, role := range []string{"source", "target"} {
		// The sampler names a statement by the relations in its text, which
		// pg_stat_activity cuts at 1 kB by default: before the FROM of a
		// verify bucket query, whose hash expressions come first.
		cl, err := pgcluster.Start(ctx, pgcluster.Options{Settings: map[string]string{"track_activity_query_size": "16384"}})
		if err != nil {
			s.close()
			return nil, err
		}
		s.stop = append(s.stop, func() { cl.Stop() })
		db := "legacy"
		if i == 1 {
			db = "cutover"
		}
		if err := createDatabase(ctx, cl.URL("postgres"), db); err != nil {
			s.close()
			return nil, err
		}
		o.logf("started a throwaway %s server in %s", role, cl.Dir())
		if i == 0 {
			s.source, s.pgcopydbSource = cl.URL(db), cl.URL(db)
		} else {
			s.target, s.targetAdmin = cl.URL(db), cl.URL("postgres")
			s.targetDB = func(name string) (string, error) { return cl.URL(name), nil }
		}
	}
	return s, nil
}

// checkGiven refuses given databases the bench would harm: one database
// given as both (generating the source fills the target), or a target
// that holds anything (the bench writes the cutover's schema into it and,
// comparing builds, drops every schema in it between rounds). The source's
// emptiness is legacygen's to check.
func checkGiven(ctx context.Context, sourceURL, targetURL string) error {
	var ids [2]string
	for i, c := range []struct{ role, url string }{{"source", sourceURL}, {"target", targetURL}} {
		conn, err := dburl.Connect(ctx, c.role, c.url)
		if err != nil {
			return err
		}
		ids[i], err = dburl.Identity(ctx, conn)
		if err == nil && c.role == "target" {
			err = emptyTarget(ctx, conn)
		}
		conn.Close(context.WithoutCancel(ctx))
		if err != nil {
			return fmt.Errorf("bench: %w", err)
		}
	}
	if ids[0] == ids[1] {
		return fmt.Errorf("bench: the source and the target are the same database (%s); give two empty databases", dburl.Describe(targetURL))
	}
	return nil
}

// emptyTarget fails when conn's database holds relations (tables,
// sequences, views, …) outside the system's schemas, naming a few.
func emptyTarget(ctx context.Context, conn *pgx.Conn) error {
	rows, err := conn.Query(ctx, `SELECT format('%I.%I', n.nspname, c.relname)
		FROM pg_class c JOIN pg_namespace n ON n.oid = c.relnamespace
		WHERE n.nspname NOT LIKE 'pg\_%' AND n.nspname <> 'information_schema'
		ORDER BY 1 LIMIT 4`)
	if err != nil {
		return fmt.Errorf("inspect the target: %w", err)
	}
	held, err := pgx.CollectRows(rows, pgx.RowTo[string])
	if err != nil {
		return fmt.Errorf("inspect the target: %w", err)
	}
	if len(held) == 0 {
		return nil
	}
	if len(held) == 4 {
		held[3] = "…"
	}
	return fmt.Errorf("the target database is not empty (it holds %s): the bench writes the cutover's schema into it, "+
		"and --compare drops every schema in it; give an empty database", strings.Join(held, ", "))
}

// withDatabase returns connURL with its database replaced by db; only the
// URL form (postgres://…) is supported.
func withDatabase(connURL, db string) (string, error) {
	u, err := url.Parse(connURL)
	if err != nil || (u.Scheme != "postgres" && u.Scheme != "postgresql") {
		return "", errors.New("the target is not a postgres:// URL, so no sibling database can be named")
	}
	u.Path = "/" + db
	u.RawPath = ""
	return u.String(), nil
}

func createDatabase(ctx context.Context, adminURL, name string) error {
	conn, err := dburl.Connect(ctx, "target", adminURL)
	if err != nil {
		return err
	}
	defer conn.Close(context.WithoutCancel(ctx))
	if _, err := conn.Exec(ctx, "CREATE DATABASE "+pgx.Identifier{name}.Sanitize()); err != nil {
		return fmt.Errorf("create database %s: %w", name, err)
	}
	return nil
}

func dropDatabase(ctx context.Context, adminURL, name string) error {
	conn, err := dburl.Connect(ctx, "target", adminURL)
	if err != nil {
		return err
	}
	defer conn.Close(context.WithoutCancel(ctx))
	if _, err := conn.Exec(ctx, "DROP DATABASE IF EXISTS "+pgx.Identifier{name}.Sanitize()+" WITH (FORCE)"); err != nil {
		return fmt.Errorf("drop database %s: %w", name, err)
	}
	return nil
}

// settle checkpoints both servers (connURLs) and returns the load average,
// just before a measurement: the source's too, as the VACUUM after the
// generator, or a re-run after a change, leaves it gigabytes of dirty
// pages that its next checkpoint would write during the measurement.
func settle(ctx context.Context, connURLs ...string) float64 {
	for _, u := range connURLs {
		checkpoint(ctx, u)
	}
	return loadAverage()
}

// checkpoint asks the server to write its dirty buffers, so that one
// measurement does not pay for the previous one's writes. Errors (a role
// that may not checkpoint) are ignored: it only makes figures steadier.
func checkpoint(ctx context.Context, connURL string) {
	conn, err := dburl.Connect(ctx, "target", connURL)
	if err != nil {
		return
	}
	defer conn.Close(context.WithoutCancel(ctx))
	conn.Exec(ctx, "CHECKPOINT")
}

// Run generates the legacy database and takes every measurement. It fails
// only when the bench itself cannot go on (a server, the generator, the
// raw pipe); a failing cutover command is a measurement with Status
// "failed" and the tail of its output in Note.
func Run(ctx context.Context, opts Options) (*Report, error) {
	if err := opts.defaults(); err != nil {
		return nil, err
	}
	o := &opts
	srv, err := startServers(ctx, o)
	if err != nil {
		return nil, err
	}
	defer srv.close()

	r := &Report{Users: o.Users, Workers: o.Workers, Seed: o.Seed, Started: time.Now().UTC()}
	r.Machine = readMachine(ctx, srv.target, o.Binary)

	o.logf("generating a legacy v21 database: %d users (about %d rows)", o.Users, int64(o.Users)*RowsPerUser)
	t0 := time.Now()
	man, err := legacygen.Generate(ctx, srv.source, legacygen.Options{Flavor: "v21", Drift: true, Anomalies: true, Users: o.Users, Seed: o.Seed})
	if err != nil {
		return nil, err
	}
	if err := analyze(ctx, srv.source); err != nil {
		return nil, err
	}
	r.Generate = Seconds(time.Since(t0))
	r.Rows, r.Tables = man.Rows(), len(man.Tables)
	if r.Bytes, err = dataBytes(ctx, srv.source); err != nil {
		return nil, err
	}
	o.logf("generated %d rows in %d tables, %.1f MB of table data (%s)", r.Rows, r.Tables, float64(r.Bytes)/1e6, r.Generate)

	// step takes one measurement after a checkpoint; it stops the bench
	// when the measurement cannot be taken or the bench was interrupted.
	step := func(letter string, m *Measurement, measure func() (Measurement, error)) error {
		load := settle(ctx, srv.source, srv.targetAdmin)
		got, err := measure()
		if err != nil {
			return err
		}
		*m = got
		m.LoadAvg = load
		r.finish(m)
		o.logf("(%s) %s", letter, m.line())
		return ctx.Err()
	}
	command := func(name string, args ...string) func() (Measurement, error) {
		return func() (Measurement, error) {
			o.logf("%s", name)
			return measureCommand(ctx, o, srv, o.Binary, name, args), nil
		}
	}
	o.logf("(a) raw COPY pipe, %d streams", o.Workers)
	if err := step("a", &r.Raw, func() (Measurement, error) {
		m, err := measureRaw(ctx, srv.source, srv.target, o.Workers)
		if err != nil {
			return m, fmt.Errorf("bench: raw COPY pipe: %w", err)
		}
		return m, nil
	}); err != nil {
		return nil, err
	}
	if err := step("b", &r.Pgcopydb, func() (Measurement, error) { return measurePgcopydb(ctx, o, srv, &r.Machine), nil }); err != nil {
		return nil, err
	}
	if _, err := migrations.Apply(ctx, srv.target, nil); err != nil {
		return nil, fmt.Errorf("bench: apply the target schema: %w", err)
	}
	args := []string{"--workers", fmt.Sprint(o.Workers)} // the URLs go by srv.env
	if err := step("g", &r.DryRun, command(dryRunName, append([]string{"diff"}, args...)...)); err != nil {
		return nil, err
	}
	if err := step("c", &r.Run, command("cutover run", append([]string{"run"}, args...)...)); err != nil {
		return nil, err
	}
	verify := command("cutover verify", append([]string{"verify"}, args...)...)
	if ok, why := verifyAvailable(ctx, o.Binary); !ok {
		verify = func() (Measurement, error) {
			return Measurement{Name: "cutover verify", Status: StatusUnavailable, Note: why}, nil
		}
	}
	if err := step("d", &r.Verify, verify); err != nil {
		return nil, err
	}
	if err := step("e", &r.Rerun, command("no-op re-run", append([]string{"run"}, args...)...)); err != nil {
		return nil, err
	}
	if err := step("h", &r.DryRunFinished, command(dryRunFinishedName, append([]string{"diff"}, args...)...)); err != nil {
		return nil, err
	}
	if r.Change, err = changeSource(ctx, srv.source, r.Rows); err != nil {
		return nil, err
	}
	o.logf("changed the source: %s", r.Change)
	if err := step("f", &r.Changed, command(changedName, append([]string{"run"}, args...)...)); err != nil {
		return nil, err
	}

	if o.Compare != "" {
		o.logf("engine comparison against %s, %d rounds", o.Compare, o.Rounds)
		if r.Compare, err = compare(ctx, o, srv, r, args); err != nil {
			return nil, err
		}
	}
	r.Targets = targets(r, o.Baseline)
	r.Total = Seconds(time.Since(r.Started))
	return r, nil
}

// Names of measurements (f), (g) and (h).
const (
	changedName        = "re-run after a change"
	dryRunName         = "dry run, empty target"
	dryRunFinishedName = "dry run, finished target"
)

// changeSource makes the small change (f) re-runs after, in one
// transaction on the source: about one legacy row in 5,000 updated (habit
// completions' notes), one in 20,000 deleted (points_ledger rows), and five
// catalog rows renamed (learn_drills titles, which drills are matched on).
// It returns what it changed, for the log and the report.
func changeSource(ctx context.Context, connURL string, rows int64) (string, error) {
	conn, err := dburl.Connect(ctx, "source", connURL)
	if err != nil {
		return "", err
	}
	defer conn.Close(context.WithoutCancel(ctx))
	updates, deletes := max(1, rows/5000), max(1, rows/20000)
	var done [3]int64
	err = pgx.BeginFunc(ctx, conn, func(tx pgx.Tx) error {
		for i, q := range []string{
			`UPDATE habit_completions SET notes = coalesce(notes, '') || ' (edited)' WHERE ctid IN (SELECT ctid FROM habit_completions LIMIT $1)`,
			`DELETE FROM points_ledger WHERE ctid IN (SELECT ctid FROM points_ledger LIMIT $1)`,
			`UPDATE learn_drills SET title = title || ' (rev)' WHERE ctid IN (SELECT ctid FROM learn_drills LIMIT $1)`,
		} {
			tag, err := tx.Exec(ctx, q, []int64{updates, deletes, 5}[i])
			if err != nil {
				return err
			}
			done[i] = tag.RowsAffected()
		}
		return nil
	})
	if err != nil {
		return "", fmt.Errorf("bench: change the source for (f): %w", err)
	}
	return fmt.Sprintf("%d habit_completions updated, %d points_ledger rows deleted, %d learn_drills renamed", done[0], done[1], done[2]), nil
}

// analyze gives the generated source the statistics and visibility map a
// live database has; cutover plans its batches from the statistics.
func analyze(ctx context.Context, connURL string) error {
	conn, err := dburl.Connect(ctx, "source", connURL)
	if err != nil {
		return err
	}
	defer conn.Close(context.WithoutCancel(ctx))
	if _, err := conn.Exec(ctx, "VACUUM ANALYZE"); err != nil {
		return fmt.Errorf("bench: vacuum analyze the source: %w", err)
	}
	return nil
}

// dataBytes is the size of the legacy tables (heap and TOAST, without
// indexes): the MB in MB/s.
func dataBytes(ctx context.Context, connURL string) (int64, error) {
	conn, err := dburl.Connect(ctx, "source", connURL)
	if err != nil {
		return 0, err
	}
	defer conn.Close(context.WithoutCancel(ctx))
	var n int64
	err = conn.QueryRow(ctx, `SELECT coalesce(sum(pg_table_size(c.oid)), 0)::bigint FROM pg_class c
		WHERE c.relnamespace = 'public'::regnamespace AND c.relkind = 'r'`).Scan(&n)
	if err != nil {
		return 0, fmt.Errorf("bench: size the source: %w", err)
	}
	return n, nil
}

// tail keeps the last bytes written to it.
type tail struct {
	buf []byte
	max int
}

func (t *tail) Write(p []byte) (int, error) {
	t.buf = append(t.buf, p...)
	if len(t.buf) > t.max {
		t.buf = append(t.buf[:0], t.buf[len(t.buf)-t.max:]...)
	}
	return len(p), nil
}

func (t *tail) String() string { return strings.TrimSpace(string(t.buf)) }
