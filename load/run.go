package load

import (
	"cmp"
	"context"
	"errors"
	"fmt"
	"log/slog"
	"maps"
	"os"
	"runtime"
	"slices"
	"strings"
	"sync"
	"time"

	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgconn"
	"github.com/jackc/pgx/v5/pgxpool"
	"golang.org/x/sync/errgroup"

	"github.com/cutover/cutover/extract"
	"github.com/cutover/cutover/internal/dburl"
	"github.com/cutover/cutover/mappings"
	"github.com/cutover/cutover/migrations"
)

// runLockID is the advisory lock a run holds on the target for its whole
// duration, so that two runs never work on one target at once.
const runLockID = 7_401_100_002

// Config is everything a run needs.
type Config struct {
	SourceURL, TargetURL string
	// Workers bounds parallel readers and writers (default: CPU count).
	Workers int
	// NoSessions discards every session (forces re-login).
	NoSessions bool
	// MaxRejects stops the run before it writes anything once more rows
	// than this would be rejected; a negative value means no limit.
	MaxRejects int64
	// BatchBytes is the target size of an extract batch (default 64 MiB).
	BatchBytes int64
	// KeepStage keeps the stage schema after the run, for inspection.
	KeepStage bool
	// Heartbeat is how long a run goes without a progress event before it
	// says what it is working on; 0 means 30 s.
	Heartbeat time.Duration
	// LockWaitReported is how long a session of the run waits for a lock
	// others hold before the run's progress names them (watchLocks); 0
	// means 10 s.
	LockWaitReported time.Duration
	// Full redoes every mapping, even when the source and a mapping's
	// inputs are the ones recorded: a re-run otherwise trusts the
	// bookkeeping that the target holds what it wrote, and leaves alone
	// a target row changed or deleted behind the cutover's back. A full
	// re-run writes such rows back (and only those: rows already as
	// decided are not touched).
	Full bool
	// Progress receives events; it must be safe for concurrent use.
	Progress func(Event)
	Logger   *slog.Logger

	// hook, set only by tests, is called at named points and fails the run
	// when it returns an error (fault injection).
	hook func(point string) error
}

// Event reports progress. Phase is "detect", "checksum", "extract",
// "prepare", "decide", "remove" (a re-run's removal of rows no longer
// decided), "apply" or "finish". For checksum and extract, Done and Total
// count rows of all tables (Total is the catalog's estimate when no exact
// count is known yet, and never less than Done) and Table is the table of
// the batch that just finished; for decide, remove and apply they count
// mappings.
type Event struct {
	Phase       string
	Table       string
	Done, Total int64
	Message     string
}

// ErrTooManyRejects is returned by Run when more rows than MaxRejects would
// be rejected.
var ErrTooManyRejects = errors.New("too many rejects")

// RunningError reports that another run holds the target.
type RunningError struct {
	RunID     int64
	Host      string
	PID       int
	StartedAt time.Time
}

func (e *RunningError) Error() string {
	if e.RunID == 0 {
		return "another cutover run is working on this target (it holds the run lock); wait for it to finish"
	}
	return fmt.Sprintf("another cutover run (run %d, pid %d on %s, started %s) is working on this target; wait for it to finish",
		e.RunID, e.PID, e.Host, e.StartedAt.UTC().Format(time.RFC3339))
}

// StepError is a run's failure in one batch of a legacy table (extract), or
// in the mapping of a legacy table (decide, apply: Batch is 0, all of its
// batches). Its message is Err's, which names the batch or the mapping; the
// run's record keeps Table and Batch for `cutover status`.
type StepError struct {
	Table string
	Batch int
	Err   error
}

func (e *StepError) Error() string { return e.Err.Error() }
func (e *StepError) Unwrap() error { return e.Err }

// errLockLost stops a run whose session holding the run lock has ended.
var errLockLost = errors.New("the session holding the run lock on the target has ended (terminated, or cut by a timeout): " +
	"stopping before another run can interleave; re-running the same command is safe")

func (c *Config) defaults() {
	if c.Workers <= 0 {
		c.Workers = runtime.NumCPU()
	}
	if c.BatchBytes <= 0 {
		c.BatchBytes = 64 << 20
	}
	if c.Progress == nil {
		c.Progress = func(Event) {}
	}
	if c.Logger == nil {
		c.Logger = slog.New(slog.DiscardHandler)
	}
}

func (c *Config) at(point string) error {
	if c.hook == nil {
		return nil
	}
	if err := c.hook(point); err != nil {
		return fmt.Errorf("failpoint %s: %w", point, err)
	}
	return nil
}

// session is one run's state.
type session struct {
	cfg     Config
	src     *extract.Source
	ms      []mappings.Mapping
	target  *pgx.Conn
	pool    *pgxpool.Pool
	stage   string
	app     string // application_name of its sessions: "cutover run", "cutover diff"
	runID   int64
	started time.Time
	batches []extract.Batch
	sums    map[string]extract.Checksum // by table/batch
	// staged holds the batches copied into the stage (by batchKey), and
	// stageTables the stage tables created; both nil until openStage.
	staged, stageTables map[string]bool
	// unchanged: the source is the last finished run's, so there was
	// nothing to do.
	unchanged bool
	ledger    string // schema of the dispositions ledger
	// only is what this run extracts, decides and applies (see narrow);
	// its nil sets mean everything.
	only narrowing
	// stageDropped reports the end of the stage's drop, when one was
	// started (see waitStage).
	stageDropped chan error
	// steps are the steps under way, for the heartbeat.
	steps steps
	// standby is the source's standby settings; nil when it is a primary.
	standby *extract.Standby
	// writesBefore are the source's write counts read at detect, before
	// the snapshot (nil: they could not be read), and sourceWrites the
	// legacy tables written to between then and the end of the extract.
	writesBefore map[string]int64
	sourceWrites []extract.TableWrites
}

// waitStage waits for the stage's drop to end. A failed drop fails nothing
// (the run's work is committed, and the next run drops the stage first); it
// is reported so that the operator can drop it.
func (s *session) waitStage() {
	if s.stageDropped == nil {
		return
	}
	if err := <-s.stageDropped; err != nil {
		s.cfg.Logger.Warn("could not drop the stage schema; the next run drops it, or drop it by hand", "schema", s.stage, "err", err)
		s.cfg.Progress(Event{Phase: "finish", Message: fmt.Sprintf("could not drop the stage schema %s (%v): the next run drops it, or drop it by hand", s.stage, err)})
	}
	s.stageDropped = nil
}

// Run moves the legacy database at cfg.SourceURL into the target at
// cfg.TargetURL, on which `schema apply` has run. The source is only read.
//
// A run decides the fate of every legacy row first, from one snapshot,
// without touching the application tables, and then makes the target equal
// those decisions, mapping by mapping, each in one transaction with its
// bookkeeping. So running it again after any failure finishes the job; after
// a source change it converges to what a fresh run would produce; and when
// the source is unchanged since the last finished run it writes nothing.
// A re-run extracts, decides and applies only the mappings whose inputs
// changed since they were applied, with what their decisions read (see
// narrow); the others already hold what it would write.
func Run(ctx context.Context, cfg Config) (*Summary, error) {
	cfg.defaults()
	sum, err := run(ctx, cfg)
	return sum, dburl.ExplainLimits(err, Connections(cfg.Workers))
}

// Connections is the most connections a run or a dry run with the given
// workers holds at once on each server. On the source: its snapshot, a
// reader per worker and the lock watch (the catalog's reader closes
// before). On the target: the session that holds the run lock, a pool of
// workers+2, the lock watch and the size watch.
func Connections(workers int) dburl.Connections {
	return dburl.Connections{Command: "a run", Workers: workers, Source: workers + 2, Target: workers + 5}
}

func run(ctx context.Context, cfg Config) (*Summary, error) {
	// The target's schema is checked while the source is detected.
	schemaChecked := make(chan error, 1)
	go func() { schemaChecked <- checkSchema(ctx, cfg.TargetURL) }()
	s, err := open(ctx, cfg, mappings.StageSchema, "cutover run")
	if err != nil {
		<-schemaChecked
		return nil, err
	}
	defer s.close()
	// A target that cannot be written, or not in UTF-8, is refused before
	// its schema is judged: applying the schema would not help it.
	if err := checkWritable(ctx, s.target, dburl.Describe(cfg.TargetURL)); err != nil {
		<-schemaChecked
		return nil, err
	}
	if err := migrations.CheckTargetEncoding(ctx, s.target, dburl.Describe(cfg.TargetURL)); err != nil {
		<-schemaChecked
		return nil, err
	}
	if err := <-schemaChecked; err != nil {
		return nil, s.explainSchemaError(ctx, err)
	}
	if err := checkTargetOwner(ctx, s.target, dburl.Describe(cfg.TargetURL), s.targetTables()); err != nil {
		return nil, err
	}
	// The run lock first: the bookkeeping's DDL locks tables that a
	// working run holds, and a second run would wait for it instead of
	// refusing.
	if err := takeRunLock(ctx, s.target); err != nil {
		return nil, err
	}
	defer s.target.Exec(context.Background(), "SELECT pg_advisory_unlock($1)", int64(runLockID))
	if seal, err := readSeal(ctx, s.target); err != nil {
		return nil, err
	} else if seal != nil {
		return nil, &SealedError{Seal: *seal}
	}
	// Watched from here on: the bookkeeping's first commits can wait too
	// (for a lock, or for a synchronous standby).
	defer s.heartbeat(ctx)()
	defer s.watchLocks(ctx)()
	if err := ensureBookkeeping(ctx, s.target); err != nil {
		return nil, err
	}
	if s.runID, err = startRun(ctx, s.target, s.src.Flavor, dburl.Describe(cfg.SourceURL), cfg.NoSessions); err != nil {
		return nil, err
	}
	space := sync.OnceValue(s.watchSpace(ctx, spaceEvery))
	defer space()

	changes, runErr := s.execute(ctx)
	runErr = dburl.ExplainLimits(runErr, Connections(cfg.Workers)) // as the run records it
	if runErr != nil {
		s.dropFailedStage(ctx)
		s.recordSpace(ctx, space())
	}
	status, errText := "done", ""
	var failed StepError
	if runErr != nil {
		status, errText = "failed", runErr.Error()
		var se *StepError
		if errors.As(runErr, &se) {
			failed = *se
		}
	}
	if _, err := s.target.Exec(context.WithoutCancel(ctx), `UPDATE `+bk+`.runs SET status = $2, finished_at = clock_timestamp(), error = nullif($3, ''),
		failed_table = nullif($4, ''), failed_batch = nullif($5, 0) WHERE id = $1`,
		s.runID, status, errText, failed.Table, failed.Batch); err != nil && runErr == nil {
		runErr = fmt.Errorf("record the end of run %d: %w", s.runID, err)
	}
	if runErr != nil {
		return nil, runErr
	}
	if err := cfg.at("summary"); err != nil {
		return nil, err
	}
	sum, err := Summarize(ctx, s.pool, s.cfg.Workers, s.src.Flavor, s.ms, Counts{Run: s.runID, Recorded: s.unchanged})
	if err != nil {
		return nil, err
	}
	s.waitStage()
	sum.RunID, sum.Duration, sum.Changes, sum.Space = s.runID, time.Since(s.started), changes, space()
	sum.SourceWrites = s.sourceWrites
	s.recordSpace(ctx, sum.Space)
	return sum, nil
}

// dropFailedStage drops the stage schema that a failed run created, and
// says how much room that gave back: the next run copies what it reads
// again, so the copies serve nothing, and after a full disk they hold the
// room the target lacks. It leaves the stage to a run that keeps it
// (KeepStage) or was cancelled (the operator's Ctrl-C does not wait for
// the drop; the next run drops it first). A drop that fails (say, the
// connection is gone) fails nothing more: it is logged.
func (s *session) dropFailedStage(ctx context.Context) {
	if s.staged == nil || s.cfg.KeepStage || ctx.Err() != nil {
		return
	}
	var size string
	err := s.target.QueryRow(ctx, `SELECT pg_size_pretty(coalesce(sum(pg_total_relation_size(c.oid)), 0))
		FROM pg_class c WHERE c.relnamespace = to_regnamespace($1) AND c.relkind IN ('r', 'm')`, ident(s.stage)).Scan(&size)
	if err == nil {
		_, err = s.target.Exec(ctx, `DROP SCHEMA IF EXISTS `+ident(s.stage)+` CASCADE`)
	}
	if err != nil {
		s.cfg.Logger.Debug("could not drop the stage of the failed run", "schema", s.stage, "err", err)
		return
	}
	s.cfg.Progress(Event{Phase: "finish", Message: fmt.Sprintf("dropped the failed run's stage (schema %s, %s), which the next run copies again", s.stage, size)})
}

// open connects, detects the source and selects its mappings.
// The target connects while the source is detected; a source error is
// reported first, as the source is the first thing the operator names,
// unless the two are one database (dburl.SameDatabaseError), which
// explains it.
func open(ctx context.Context, cfg Config, stage, app string) (*session, error) {
	s := &session{cfg: cfg, stage: stage, app: app, started: time.Now().UTC()}
	targetConnected := make(chan error, 1)
	go func() {
		var err error
		s.target, err = dburl.Connect(ctx, "target", cfg.TargetURL, dburl.AppName(app))
		targetConnected <- err
	}()
	source, detectErr := s.detect(ctx)
	if err := <-targetConnected; err != nil {
		if detectErr != nil {
			return nil, detectErr
		}
		return nil, err
	}
	if source != "" {
		if target, err := dburl.Identity(ctx, s.target); err == nil && target == source {
			s.target.Close(context.Background())
			return nil, &dburl.SameDatabaseError{Database: dburl.Describe(cfg.TargetURL)}
		}
	}
	if detectErr != nil {
		s.target.Close(context.Background())
		return nil, detectErr
	}
	s.batches = extract.PlanBatches(s.src, cfg.BatchBytes, 256)
	return s, nil
}

// detect reads the source's catalog and selects its mappings. It returns
// the source's dburl.Identity ("" when it did not get that far).
func (s *session) detect(ctx context.Context) (string, error) {
	source, err := dburl.Connect(ctx, "source", s.cfg.SourceURL, dburl.AppName(s.app))
	if err != nil {
		return "", err
	}
	defer source.Close(context.Background())
	id, err := dburl.Identity(ctx, source)
	if err != nil {
		return "", fmt.Errorf("read the source's identity: %w", err)
	}
	s.cfg.Progress(Event{Phase: "detect", Message: "reading the source catalog"})
	if s.src, err = extract.Detect(ctx, source); err != nil {
		return id, err
	}
	if s.ms, err = mappings.For(s.src.Shapes()); err != nil {
		return id, err
	}
	msg := "source is legacy " + s.src.Flavor
	if len(s.src.Drift) > 0 {
		msg += " with drift tables " + strings.Join(s.src.Drift, ", ")
	}
	s.cfg.Progress(Event{Phase: "detect", Message: msg})
	if s.standby, err = extract.ReadStandby(ctx, source); err != nil {
		return id, err
	}
	if s.writesBefore, err = extract.WriteCounts(ctx, source); err != nil {
		s.cfg.Logger.Debug("not watching the source for writes", "err", err)
	}
	if sb := s.standby; sb != nil {
		s.cfg.Progress(Event{Phase: "detect", Message: fmt.Sprintf(
			"source is a hot standby, and the run reads only what it has replayed: %s. At the cutover, once the application has stopped, wait until the standby has replayed all its primary wrote (pg_current_wal_lsn() on the primary at most pg_last_wal_replay_lsn() on the standby), or the last writes miss the target", sb.Position())})
		msg := fmt.Sprintf("source is a hot standby whose replay may cancel the run's reads (%s): a run that reads for longer than that while the primary changes fails; to prevent it, %s", sb, sb.Advice())
		if sb.Waits() {
			msg = fmt.Sprintf("source is a hot standby whose replay waits for the run's reads (%s): it falls behind its primary until the run has read every table", sb)
		}
		s.cfg.Progress(Event{Phase: "detect", Message: msg})
	}
	return id, nil
}

func (s *session) close() {
	s.waitStage()
	if s.pool != nil {
		s.pool.Close()
	}
	if s.target != nil {
		s.target.Close(context.Background())
	}
}

// targetTables lists the target tables the run's mappings write.
func (s *session) targetTables() []string {
	var out []string
	for _, m := range s.ms {
		if !slices.Contains(out, m.Target) {
			out = append(out, m.Target)
		}
	}
	return out
}

// explainSchemaError explains err, the target schema's check failed, by
// what the target is: a role that may not read the migrations' records
// because it does not own the schema (TargetOwnerError), or the legacy
// database itself, given as the target (TargetIsLegacyError).
func (s *session) explainSchemaError(ctx context.Context, err error) error {
	var notOwner *TargetOwnerError
	if owner := checkTargetOwner(ctx, s.target, dburl.Describe(s.cfg.TargetURL), s.targetTables()); errors.As(owner, &notOwner) {
		return owner
	}
	if legacy, derr := extract.Detect(ctx, s.target); derr == nil {
		return &TargetIsLegacyError{Target: dburl.Describe(s.cfg.TargetURL), Flavor: legacy.Flavor}
	}
	return err
}

// TargetIsLegacyError refuses a target that is a legacy database (one
// Detect recognises), with no target schema: most often the source's URL,
// given as the target, the two swapped. Nothing was written.
type TargetIsLegacyError struct {
	Target string // dburl.Describe of its URL
	Flavor string
}

func (e *TargetIsLegacyError) Error() string {
	return fmt.Sprintf("the target %s is a legacy database (%s), not one the target schema was applied to: were --source and --target swapped? "+
		"The target is a new database that `cutover schema apply --target …` migrated (nothing was written)", e.Target, e.Flavor)
}

// SchemaError refuses a target whose schema is not the embedded
// migrations': one of them is pending, or was changed after it was
// applied. Nothing was written.
type SchemaError struct {
	File     string // the first such migration
	Tampered bool   // applied, then changed; else pending
}

func (e *SchemaError) Error() string {
	if e.Tampered {
		return fmt.Sprintf("the target schema's migration %s changed since it was applied (`cutover schema status --target …` marks it): "+
			"give a target migrated by this build's files (nothing was written)", e.File)
	}
	return fmt.Sprintf("the target schema is not applied (%s is pending): run `cutover schema apply --target …` first (nothing was written)", e.File)
}

// checkSchema refuses, with a *SchemaError, a target whose schema is not
// the embedded migrations'.
func checkSchema(ctx context.Context, targetURL string) error {
	st, err := migrations.Statuses(ctx, targetURL)
	if err != nil {
		return err
	}
	for _, s := range st {
		if !s.Applied || s.Tampered {
			return &SchemaError{File: s.File, Tampered: s.Tampered}
		}
	}
	return nil
}

// takeRunLock takes the run lock on the target for the session of conn, or
// returns a RunningError naming the run that holds it.
func takeRunLock(ctx context.Context, conn *pgx.Conn) error {
	var got bool
	if err := conn.QueryRow(ctx, "SELECT pg_try_advisory_lock($1)", int64(runLockID)).Scan(&got); err != nil {
		return fmt.Errorf("take the run lock: %w", err)
	}
	if !got {
		re := &RunningError{}
		conn.QueryRow(ctx, `SELECT id, host, pid, started_at FROM `+bk+`.runs WHERE status = 'running' ORDER BY id DESC LIMIT 1`).
			Scan(&re.RunID, &re.Host, &re.PID, &re.StartedAt)
		return re
	}
	return nil
}

// startRun records the run; its session holds the run lock.
func startRun(ctx context.Context, conn *pgx.Conn, flavor, source string, noSessions bool) (int64, error) {
	// Holding the lock, any run still marked running died.
	if _, err := conn.Exec(ctx, `UPDATE `+bk+`.runs SET status = 'failed', finished_at = clock_timestamp(),
		error = coalesce(error, 'the process ended before the run finished') WHERE status = 'running'`); err != nil {
		return 0, fmt.Errorf("close interrupted runs: %w", err)
	}
	host, _ := os.Hostname()
	var id int64
	err := conn.QueryRow(ctx, `INSERT INTO `+bk+`.runs (flavor, source, host, pid, no_sessions) VALUES ($1, $2, $3, $4, $5) RETURNING id`,
		flavor, source, host, os.Getpid(), noSessions).Scan(&id)
	if err != nil {
		return 0, fmt.Errorf("record the run: %w", err)
	}
	return id, nil
}

// targetSettings are the session settings of the run's target
// connections: no JIT (see dburl.NoJIT); a small work_mem; and index
// builds after a bulk load sorted in memory up to a few million rows. Each
// is per connection (Workers+2 of them), within what a server that holds
// the application can spare during a cutover.
//
// work_mem stays at 4MB on purpose: the hash joins of a decision table
// with its stage table and the ledger then run in batches that fit the
// CPU's caches. Measured at 10M rows on 2 cores, a re-run after a change
// took 76-78 s at 4MB against 85-97 s at 64MB (statement time 183 against
// 197 connection-seconds: the target inserts 15.0 against 19.0 s), and a
// first run was the same within noise; a 2M by 2M hash anti-join alone
// took 0.85 s at 4MB, 1.2 s at 16MB and 1.4 s at 64MB.
var targetSettings = []dburl.Setting{dburl.NoJIT, {Name: "work_mem", Value: "4MB"}, {Name: "maintenance_work_mem", Value: "256MB"}}

// execute runs the phases and returns the application rows changed per
// target table.
func (s *session) execute(ctx context.Context) (map[string]int64, error) {
	settings := append(slices.Clone(targetSettings), dburl.AppName(s.app))
	// If this process dies (kill -9, a lost host), its sessions would keep
	// their statements, locks and the run lock until each statement ends;
	// checking the client's socket every few seconds (PostgreSQL 14+) ends
	// them soon, so that the re-run can start.
	var version int
	if err := s.target.QueryRow(ctx, `SELECT current_setting('server_version_num')::int`).Scan(&version); err != nil {
		return nil, fmt.Errorf("read the target's version: %w", err)
	}
	if version >= 140000 {
		check := dburl.Setting{Name: "client_connection_check_interval", Value: "3s"}
		settings = append(settings, check)
		if _, err := s.target.Exec(ctx, `SET client_connection_check_interval = '`+check.Value+`'`); err != nil {
			return nil, fmt.Errorf("set client_connection_check_interval: %w", err)
		}
	}
	// The target pool and the source's snapshot and readers connect side
	// by side: a connection costs a few milliseconds of server start-up,
	// which a run with nothing to do would otherwise spend one by one.
	var snap *extract.Snapshot
	var readers chan *pgx.Conn
	var g errgroup.Group
	g.Go(func() (err error) {
		s.pool, err = dburl.Pool(ctx, "target", s.cfg.TargetURL, int32(s.cfg.Workers+2), settings...)
		return err
	})
	g.Go(func() (err error) {
		snap, readers, err = s.openSource(ctx)
		return err
	})
	if err := g.Wait(); err != nil {
		if snap != nil {
			closeSource(snap, readers)
		}
		return nil, err
	}
	unchanged, err := s.checksums(ctx, snap, readers, true)
	if err != nil {
		closeSource(snap, readers)
		return nil, err
	}
	plans, err := s.plans(ctx)
	nothing := false
	if err == nil {
		s.only, nothing, err = s.narrow(ctx, plans, unchanged)
	}
	if err == nil && nothing {
		// Unless the target holds rows of legacy tables the source lost.
		var gone []string
		gone, err = vanishedTables(ctx, s.target, s.src.TableNames())
		nothing = len(gone) == 0
	}
	if err == nil && nothing {
		s.unchanged = true
		s.checkSourceWrites(ctx, readers)
		closeSource(snap, readers)
		if s.staged != nil {
			// Batches rewritten with the same content, copied to be checksummed.
			if _, err := s.target.Exec(ctx, `DROP SCHEMA IF EXISTS `+ident(s.stage)+` CASCADE`); err != nil {
				return nil, fmt.Errorf("drop the stage schema %s: %w", s.stage, err)
			}
		}
		if err := s.refreshFingerprints(ctx); err != nil {
			return nil, err
		}
		s.cfg.Progress(Event{Phase: "finish", Message: "the source is unchanged since the last finished run: nothing to do"})
		return map[string]int64{}, nil
	}
	if err == nil {
		err = s.stageAll(ctx, snap, readers)
	}
	if err == nil {
		s.checkSourceWrites(ctx, readers)
	}
	closeSource(snap, readers)
	if err != nil {
		return nil, err
	}
	// The batches checksums left to the extract have their checksums now:
	// the digests the run records are over them. Only the digests of
	// mappings the run redoes change: a batch is left to the extract when
	// the target records none like it, so every mapping reading its table
	// had a digest unlike the recorded one.
	s.only.digests, _ = s.inputsDigests(plans)
	if err := s.prepare(ctx); err != nil {
		return nil, err
	}
	if err := s.decide(ctx, plans); err != nil {
		return nil, err
	}
	if err := s.checkRejects(ctx); err != nil {
		return nil, err
	}
	changes, err := s.apply(ctx, plans)
	if err != nil {
		return nil, err
	}
	if err := s.restamp(ctx); err != nil {
		return nil, err
	}
	if _, err := s.target.Exec(ctx, `DELETE FROM `+bk+`.batches WHERE legacy_table <> ALL($1)`, s.src.TableNames()); err != nil {
		return nil, fmt.Errorf("forget the batches of tables no longer in the source: %w", err)
	}
	if !s.cfg.KeepStage {
		// Dropping a large stage takes seconds (unlinking its files); it
		// runs while the summary is read, and Run waits for it.
		s.stageDropped = make(chan error, 1)
		go func() {
			_, err := s.pool.Exec(context.WithoutCancel(ctx), `DROP SCHEMA IF EXISTS `+ident(s.stage)+` CASCADE`)
			s.stageDropped <- err
		}()
	}
	return changes, nil
}

// checkSourceWrites reads the source's write counts again once the run
// has read what it reads, with one of the readers, and says which legacy
// tables were written to since detect (s.sourceWrites). What was written
// after the snapshot is not in what the run read: on the night the
// application must have stopped writing. The check never fails the run.
func (s *session) checkSourceWrites(ctx context.Context, readers chan *pgx.Conn) {
	if s.writesBefore == nil {
		return
	}
	reader := <-readers
	after, err := extract.WriteCounts(ctx, reader)
	readers <- reader
	if err != nil {
		s.cfg.Logger.Debug("could not read the source's write statistics", "err", err)
		return
	}
	s.sourceWrites = extract.Written(s.writesBefore, after, s.src.TableNames())
	if len(s.sourceWrites) > 0 {
		s.cfg.Progress(Event{Phase: "extract", Message: SourceWritesMessage(s.sourceWrites)})
	}
}

// SourceWritesMessage says that the source changed while a run read it.
func SourceWritesMessage(w []extract.TableWrites) string {
	var b strings.Builder
	for i, t := range w {
		if i == 5 {
			fmt.Fprintf(&b, " and %d more tables", len(w)-i)
			break
		}
		if i > 0 {
			b.WriteString(", ")
		}
		fmt.Fprintf(&b, "%s (%d rows)", t.Table, t.Rows)
	}
	return "the source changed while the run read it: " + b.String() + " written since the run began, by the server's statistics. " +
		"What was written after the run's snapshot is not in the target: at the cutover, stop the application's writes before the run; a re-run picks the changes up"
}

// openSource opens the run's snapshot of the source and its Workers reader
// connections, all connecting at once. On error it leaves nothing open.
func (s *session) openSource(ctx context.Context) (*extract.Snapshot, chan *pgx.Conn, error) {
	readers := make(chan *pgx.Conn, s.cfg.Workers)
	var snap *extract.Snapshot
	var g errgroup.Group
	g.Go(func() error {
		snapConn, err := dburl.Connect(ctx, "source", s.cfg.SourceURL, dburl.AppName(s.app))
		if err != nil {
			return err
		}
		if snap, err = extract.OpenSnapshot(ctx, snapConn); err != nil {
			snapConn.Close(context.Background())
		}
		return err
	})
	for range s.cfg.Workers {
		g.Go(func() error {
			c, err := dburl.Connect(ctx, "source", s.cfg.SourceURL, dburl.NoParallelQuery, dburl.AppName(s.app))
			if err == nil {
				readers <- c
			}
			return err
		})
	}
	if err := g.Wait(); err != nil {
		for len(readers) > 0 {
			c := <-readers
			c.Close(context.Background())
		}
		if snap != nil {
			snap.Close(context.Background())
		}
		return nil, nil, err
	}
	return snap, readers, nil
}

func closeSource(snap *extract.Snapshot, readers chan *pgx.Conn) {
	for {
		select {
		case c := <-readers:
			c.Close(context.Background())
		default:
			snap.Close(context.Background())
			return
		}
	}
}

func batchKey(table string, no int) string { return fmt.Sprintf("%s/%d", table, no) }

// checksums takes the checksum of every batch the target records and
// reports whether the last finished run saw exactly the same source with
// the same options, in which case there is nothing to do. A batch the
// target does not record (every batch, on a first run), or records as cut
// differently, changed whatever its content: it gets its checksum from the
// extract, which reads it anyway (stageAll), instead of a pass of its own.
// A recorded batch whose row versions changed is read whole: into the
// stage when stage is set (most such batches changed, and the run then
// reads each once), else into nothing (HashBatch).
func (s *session) checksums(ctx context.Context, snap *extract.Snapshot, readers chan *pgx.Conn, stage bool) (bool, error) {
	var mu sync.Mutex
	s.sums = map[string]extract.Checksum{}
	// A batch whose row versions are the ones a run recorded has that
	// run's checksum: only its fingerprint is read (a third of the work).
	recorded, err := recordedBatches(ctx, s.target)
	if err != nil {
		return false, err
	}
	var read, rewritten []extract.Batch
	var estimated, done int64 // rows: the recorded counts, and read so far
	for _, b := range s.batches {
		if rec, ok := recorded[batchKey(b.Table, b.No)]; ok && rec.Of == b.Of {
			read = append(read, b)
			estimated += rec.Sum.Rows
		}
	}
	if len(read) == 0 {
		s.cfg.Progress(Event{Phase: "checksum", Message: "the target records no batch of this source: the extract checksums each one as it copies it"})
		return false, nil
	}
	s.cfg.Progress(Event{Phase: "checksum", Message: fmt.Sprintf("checksumming %d of %d source batches", len(read), len(s.batches))})
	g, gctx := errgroup.WithContext(ctx)
	g.SetLimit(s.cfg.Workers)
	for _, b := range read {
		g.Go(func() error {
			reader := <-readers
			defer func() { readers <- reader }()
			rec := recorded[batchKey(b.Table, b.No)]
			c, same, err := s.checksum(gctx, reader, snap.ID, b, rec, !stage)
			if hint := s.sourceHint(err); hint != "" {
				err = fmt.Errorf("%w%s", err, hint)
			}
			if err != nil {
				return &StepError{Table: b.Table, Batch: b.No, Err: err}
			}
			mu.Lock()
			if !same && stage {
				rewritten = append(rewritten, b)
				mu.Unlock()
				return nil
			}
			s.sums[batchKey(b.Table, b.No)] = c
			done += c.Rows
			e := Event{Phase: "checksum", Table: b.Table, Done: done, Total: max(estimated, done)}
			mu.Unlock()
			s.cfg.Progress(e)
			return nil
		})
	}
	if err := g.Wait(); err != nil {
		return false, err
	}
	if len(rewritten) > 0 {
		slices.SortFunc(rewritten, func(a, b extract.Batch) int { return cmp.Compare(batchKey(a.Table, a.No), batchKey(b.Table, b.No)) })
		s.cfg.Progress(Event{Phase: "checksum", Message: fmt.Sprintf(
			"%d batches have new row versions: copying them into the stage, which checksums them", len(rewritten))})
		if err := s.openStage(ctx); err != nil {
			return false, err
		}
		if err := s.copyBatches(ctx, snap, readers, rewritten, "checksum", done, estimated); err != nil {
			return false, err
		}
	}
	if len(read) < len(s.batches) {
		return false, nil
	}
	return upToDate(ctx, s.target, s.sums, s.ms, s.cfg.NoSessions)
}

// checksum returns batch b's checksum and true when the batch's
// fingerprint is the one recorded with it (the recorded checksum, rec).
// Otherwise it returns false, and with hash a checksum computed from the
// batch's rows.
func (s *session) checksum(ctx context.Context, reader *pgx.Conn, snapshotID string, b extract.Batch, rec batchRecord, hash bool) (extract.Checksum, bool, error) {
	if rec.Sum.Fingerprint != "" {
		fp, err := extract.FingerprintBatch(ctx, reader, snapshotID, b)
		if err != nil {
			return extract.Checksum{}, false, err
		}
		if fp == rec.Sum.Fingerprint {
			return rec.Sum, true, nil
		}
	}
	if !hash {
		return extract.Checksum{}, false, nil
	}
	c, err := extract.HashBatch(ctx, reader, snapshotID, *s.src.Table(b.Table), b)
	return c, false, err
}

// refreshFingerprints records the fingerprints of a source found unchanged
// where they differ from the recorded ones: the batches were rewritten
// with the same content (or recorded before fingerprints were), and the
// next run can then skip hashing them.
func (s *session) refreshFingerprints(ctx context.Context) error {
	var tables, fps []string
	var nos []int32
	for _, b := range s.batches {
		c := s.sums[batchKey(b.Table, b.No)]
		if c.Fingerprint != "" {
			tables, nos, fps = append(tables, b.Table), append(nos, int32(b.No)), append(fps, c.Fingerprint)
		}
	}
	if _, err := s.target.Exec(ctx, `UPDATE `+bk+`.batches b SET fingerprint = f.fp
		FROM unnest($1::text[], $2::int[], $3::text[]) f (legacy_table, batch, fp)
		WHERE b.legacy_table = f.legacy_table AND b.batch = f.batch AND b.fingerprint IS DISTINCT FROM f.fp`, tables, nos, fps); err != nil {
		return fmt.Errorf("record the source's fingerprints: %w", err)
	}
	return nil
}

// recordedBatches reads the batch ledger, or nothing when there is none yet.
func recordedBatches(ctx context.Context, conn *pgx.Conn) (map[string]batchRecord, error) {
	var exists bool
	if err := conn.QueryRow(ctx, `SELECT to_regclass($1) IS NOT NULL`, bk+".batches").Scan(&exists); err != nil || !exists {
		return nil, err
	}
	return readBatches(ctx, conn)
}

func nullIfEmpty(s string) any {
	if s == "" {
		return nil
	}
	return s
}

func mappingNames(ms []mappings.Mapping) []string {
	out := make([]string, len(ms))
	for i, m := range ms {
		out[i] = m.Name()
	}
	return out
}

// recordBatches records the checksums of the batches of legacy tables in
// the transaction that writes the tables' rows and bookkeeping, so that a
// batch's record and its data commit together: one DELETE and one COPY,
// however many tables.
func (s *session) recordBatches(ctx context.Context, tx pgx.Tx, tables ...string) error {
	what := "the batches of " + abbreviate(tables, 3)
	if _, err := tx.Exec(ctx, `DELETE FROM `+bk+`.batches WHERE legacy_table = ANY($1)`, tables); err != nil {
		return fmt.Errorf("record %s: %w", what, err)
	}
	var rows [][]any
	for _, b := range s.batches {
		if slices.Contains(tables, b.Table) {
			c, ok := s.sums[batchKey(b.Table, b.No)]
			if !ok {
				// checksums leaves a batch to the extract only when it
				// changed, and then every mapping reading its table is
				// redone and the table extracted.
				return fmt.Errorf("record %s: %s has no checksum (a bug: it was neither checksummed nor extracted)", what, b)
			}
			rows = append(rows, []any{b.Table, b.No, b.Of, s.runID, c.Rows, c.Hash, nullIfEmpty(c.Fingerprint)})
		}
	}
	if _, err := tx.CopyFrom(ctx, pgx.Identifier{bk, "batches"}, []string{"legacy_table", "batch", "batches", "run_id", "rows", "checksum", "fingerprint"}, pgx.CopyFromRows(rows)); err != nil {
		return fmt.Errorf("record %s: %w", what, err)
	}
	return nil
}

// restamp records, with this run's id, the batches of the legacy tables
// whose mappings the run left as they were (see narrow): their content is
// the recorded one, and the next run then finds the whole source recorded
// by one finished run (upToDate).
func (s *session) restamp(ctx context.Context) error {
	if s.only.redo == nil {
		return nil
	}
	redone := map[string]bool{}
	for _, m := range subset(s.ms, s.only.redo) {
		redone[m.Legacy] = true
	}
	var left []string
	for _, t := range s.src.TableNames() {
		if !redone[t] {
			left = append(left, t)
		}
	}
	tx, err := s.target.Begin(ctx)
	if err != nil {
		return fmt.Errorf("record the batches of the tables left as they were: %w", err)
	}
	defer tx.Rollback(context.WithoutCancel(ctx))
	if err := s.recordBatches(ctx, tx, left...); err != nil {
		return err
	}
	if err := tx.Commit(ctx); err != nil {
		return fmt.Errorf("record the batches of the tables left as they were: %w", err)
	}
	return nil
}

// holdsLock fails with errLockLost when the session holding the run lock
// has ended: the run would then write without excluding another.
func (s *session) holdsLock(ctx context.Context, q interface {
	QueryRow(context.Context, string, ...any) pgx.Row
}) error {
	var held bool
	if err := q.QueryRow(ctx, `SELECT EXISTS (SELECT 1 FROM pg_locks WHERE locktype = 'advisory' AND granted AND pid = $1
		AND classid::bigint = $2 AND objid::bigint = $3 AND objsubid = 1)`,
		s.target.PgConn().PID(), int64(runLockID>>32), int64(runLockID&0xffffffff)).Scan(&held); err != nil {
		return fmt.Errorf("check the run lock: %w", err)
	}
	if !held {
		return errLockLost
	}
	return nil
}

// openStage drops what an earlier run left of the stage schema and
// creates it empty, once per run.
func (s *session) openStage(ctx context.Context) error {
	if s.staged != nil {
		return nil
	}
	if _, err := s.target.Exec(ctx, `DROP SCHEMA IF EXISTS `+ident(s.stage)+` CASCADE; CREATE SCHEMA `+ident(s.stage)); err != nil {
		return fmt.Errorf("create the stage schema %s: %w", s.stage, err)
	}
	s.staged, s.stageTables = map[string]bool{}, map[string]bool{}
	if s.sums == nil {
		s.sums = map[string]extract.Checksum{}
	}
	return nil
}

// createStageTable creates t's stage table unless it exists.
func (s *session) createStageTable(ctx context.Context, t extract.Table) error {
	if s.stageTables[t.Name] {
		return nil
	}
	if _, err := s.target.Exec(ctx, extract.CreateStageSQL(s.stage, t)); err != nil {
		return fmt.Errorf("create stage table %s: %w", t.Name, err)
	}
	s.stageTables[t.Name] = true
	return nil
}

// copyBatches copies batches into their stage tables (created as needed)
// in parallel, each in its own target transaction. A batch s holds no
// checksum of gets the one its copy takes; one it holds must have the
// copy's row count. Its progress events are of phase, counting rows on
// from done (rows copied before, of a total that allRows starts at).
func (s *session) copyBatches(ctx context.Context, snap *extract.Snapshot, readers chan *pgx.Conn, batches []extract.Batch, phase string, done, allRows int64) error {
	for _, b := range batches {
		if err := s.createStageTable(ctx, *s.src.Table(b.Table)); err != nil {
			return err
		}
	}
	var mu sync.Mutex
	// Batches stopped by a value that is not UTF-8 (a SQL_ASCII source)
	// do not stop the others: the run then names every such value at
	// once, not one table per attempt.
	var notUTF8 []error
	g, gctx := errgroup.WithContext(ctx)
	g.SetLimit(s.cfg.Workers)
	for _, b := range batches {
		t := s.src.Table(b.Table)
		g.Go(func() (err error) {
			defer func() {
				if err != nil {
					err = &StepError{Table: b.Table, Batch: b.No, Err: err}
				}
			}()
			reader := <-readers
			defer func() { readers <- reader }()
			defer s.steps.begin(phase + " " + b.String())()
			if err := s.cfg.at("extract.before:" + b.Table); err != nil {
				return fmt.Errorf("extract %s: %w", b, err)
			}
			conn, err := s.pool.Acquire(gctx)
			if err != nil {
				return fmt.Errorf("extract %s: %w", b, err)
			}
			defer conn.Release()
			tx, err := conn.Begin(gctx)
			if err != nil {
				return fmt.Errorf("extract %s: %w", b, err)
			}
			defer tx.Rollback(context.WithoutCancel(gctx))
			mid := func() error { return s.cfg.at("extract.copy:" + b.Table) }
			c, err := extract.StageBatch(gctx, reader, snap.ID, tx.Conn().PgConn(), s.stage, *t, b, mid)
			if extract.IsNotUTF8(err) {
				var explained error
				reader, explained = s.explainNotUTF8(gctx, reader, *t, b, err)
				mu.Lock()
				notUTF8 = append(notUTF8, &StepError{Table: b.Table, Batch: b.No, Err: fmt.Errorf("extract %s: %w", b, explained)})
				mu.Unlock()
				return nil
			}
			if err != nil {
				return fmt.Errorf("extract %s: %w%s", b, err, s.sourceHint(err))
			}
			mu.Lock()
			want, checksummed := s.sums[batchKey(b.Table, b.No)]
			mu.Unlock()
			if checksummed && c.Rows != want.Rows {
				return fmt.Errorf("extract %s: copied %d rows but the snapshot holds %d", b, c.Rows, want.Rows)
			}
			if err := s.cfg.at("extract.commit:" + b.Table); err != nil {
				return fmt.Errorf("extract %s: %w", b, err)
			}
			if err := tx.Commit(gctx); err != nil {
				return fmt.Errorf("extract %s: commit: %w%s", b, err, s.sourceHint(err))
			}
			mu.Lock()
			if !checksummed {
				s.sums[batchKey(b.Table, b.No)] = c
			}
			s.staged[batchKey(b.Table, b.No)] = true
			done += c.Rows
			e := Event{Phase: phase, Table: b.Table, Done: done, Total: max(allRows, done)}
			mu.Unlock()
			s.cfg.Progress(e)
			return nil
		})
	}
	if err := g.Wait(); err != nil {
		return err
	}
	slices.SortFunc(notUTF8, func(a, b error) int {
		x, y := a.(*StepError), b.(*StepError)
		return cmp.Or(strings.Compare(x.Table, y.Table), x.Batch-y.Batch)
	})
	return errors.Join(notUTF8...)
}

// explainNotUTF8 explains err, the target's refusal of batch b of t for
// a value that is not UTF-8 (extract.IsNotUTF8), with the source's values
// in the batch that are not. It reads them with reader, or with a new
// connection in its place when the failed copy closed it, and returns the
// reader to keep. When it cannot read them, err stays as it is.
func (s *session) explainNotUTF8(ctx context.Context, reader *pgx.Conn, t extract.Table, b extract.Batch, err error) (*pgx.Conn, error) {
	e := &extract.NotUTF8Error{Table: t.Name, SourceEncoding: s.src.Encoding, Err: err}
	if reader.IsClosed() {
		c, cerr := dburl.Connect(ctx, "source", s.cfg.SourceURL, dburl.NoParallelQuery, dburl.AppName(s.app))
		if cerr != nil {
			s.cfg.Logger.Debug("could not reconnect to look for values that are not UTF-8", "err", cerr)
			return reader, e
		}
		reader = c
	}
	var ferr error
	if e.Found, e.Count, ferr = extract.FindNotUTF8(ctx, reader, t, b, 5); ferr != nil {
		s.cfg.Logger.Debug("could not look for values that are not UTF-8", "err", ferr)
	}
	return reader, e
}

// stageAll copies the source tables the run reads (all, or those of
// narrow's stage set) into the stage schema, from the one snapshot, in
// parallel batches (page ranges), and indexes the copies. Batches checksums
// copied already stay; tables it copied that the run does not read go.
func (s *session) stageAll(ctx context.Context, snap *extract.Snapshot, readers chan *pgx.Conn) error {
	if err := s.openStage(ctx); err != nil {
		return err
	}
	for _, t := range slices.Sorted(maps.Keys(s.stageTables)) {
		if has(s.only.stage, t) {
			continue
		}
		if _, err := s.target.Exec(ctx, `DROP TABLE `+extract.StageTable(s.stage, t).Sanitize()); err != nil {
			return fmt.Errorf("drop stage table %s, which the run does not read: %w", t, err)
		}
		delete(s.stageTables, t)
	}
	tables := slices.DeleteFunc(slices.Clone(s.src.Tables), func(t extract.Table) bool { return !has(s.only.stage, t.Name) })
	// The batches copied while checksumming count as copied.
	var batches, carried []extract.Batch
	var allRows int64 // exact where a checksum says, else the catalog's estimate
	for _, b := range s.batches {
		if !has(s.only.stage, b.Table) {
			continue
		}
		if c, ok := s.sums[batchKey(b.Table, b.No)]; ok {
			allRows += c.Rows
		} else {
			allRows += max(s.src.Table(b.Table).EstimatedRows, 0) / int64(max(b.Of, 1))
		}
		if s.staged[batchKey(b.Table, b.No)] {
			carried = append(carried, b)
		} else {
			batches = append(batches, b)
		}
	}
	var done int64
	for _, b := range carried {
		done += s.sums[batchKey(b.Table, b.No)].Rows
		s.cfg.Progress(Event{Phase: "extract", Table: b.Table, Done: done, Total: max(allRows, done)})
	}
	// Every table has a batch (PlanBatches), so every table read has its
	// stage table: created now, or with the batches copied while
	// checksumming.
	if err := s.copyBatches(ctx, snap, readers, batches, "extract", done, allRows); err != nil {
		return err
	}
	g, gctx := errgroup.WithContext(ctx)
	g.SetLimit(s.cfg.Workers)
	for _, t := range tables {
		g.Go(func() error {
			st := extract.StageTable(s.stage, t.Name).Sanitize()
			// Decisions join stage rows by hash; only the duplicate-email
			// check looks rows up one by one.
			var stmts []string
			if t.Name == "users" {
				stmts = append(stmts, "CREATE INDEX ON "+st+" (lower(email))")
			}
			stmts = append(stmts, sampledAnalyze(st, s.analyzed(t)))
			for _, q := range stmts {
				if _, err := s.pool.Exec(gctx, q); err != nil {
					return fmt.Errorf("index stage table %s: %w", t.Name, err)
				}
			}
			return nil
		})
	}
	return g.Wait()
}

// keptRowsKind names the disposition whose rows statement q keeps with
// their legacy row (rejects, archive, discards), or "".
func keptRowsKind(q string) string {
	for table, disp := range map[string]string{"rejects": "rejected", "archive": "archived", "discards": "discarded"} {
		if strings.HasPrefix(q, "INSERT INTO "+bk+"."+table+" ") {
			return disp
		}
	}
	return ""
}

// runArgs are the arguments of an apply statement q: the run id when q
// takes it ($1), else none (and q goes as a simple query).
func runArgs(q string, runID int64) []any {
	if strings.Contains(q, "$1") {
		return []any{runID}
	}
	return nil
}

// firstResults runs a first apply's results statements (Plan.FirstResults)
// and returns the dispositions with reasons the decisions hold: a first
// apply skips the statements that keep the rows of absent ones (each joins
// the whole stage table to find none).
func firstResults(ctx context.Context, tx pgx.Tx, stmts []string, runID int64) (map[string]bool, error) {
	if len(stmts) == 0 {
		// Without them no kept rows would be written: a plan bug.
		return nil, errors.New("the plan has no results statements")
	}
	present := map[string]bool{}
	for i, q := range stmts {
		args := runArgs(q, runID)
		if i < len(stmts)-1 {
			if _, err := tx.Exec(ctx, q, args...); err != nil {
				return nil, err
			}
			continue
		}
		rows, err := tx.Query(ctx, q, args...)
		if err != nil {
			return nil, err
		}
		got, err := pgx.CollectRows(rows, pgx.RowTo[string])
		if err != nil {
			return nil, err
		}
		for _, d := range got {
			present[d] = true
		}
	}
	return present, nil
}

// analyzed lists, quoted, the columns of stage table t that decisions join
// or group on (keys and references): the planner needs
// their statistics to choose hash joins, and collecting statistics of every
// column (sorting a sample of each) cost more than half of the step.
func (s *session) analyzed(t extract.Table) []string {
	has := map[string]bool{}
	for _, c := range t.Columns {
		has[c.Name] = true
	}
	var cols []string
	add := func(c string) {
		if has[c] && !slices.Contains(cols, c) {
			cols = append(cols, c)
		}
	}
	add("id")
	add("user_id")
	for _, m := range s.ms {
		if m.Legacy != t.Name {
			continue
		}
		for _, k := range m.KeyColumns() {
			add(k)
		}
		for _, r := range m.Refs {
			add(r.Column)
		}
		if m.SelfRef != nil {
			add(m.SelfRef.Column)
		}
	}
	return quoteAll(cols)
}

// prepare runs the Go transforms whose results the mappings read.
func (s *session) prepare(ctx context.Context) error {
	for _, m := range subset(s.ms, s.only.decide) {
		switch {
		case m.Legacy == "quests":
			s.cfg.Progress(Event{Phase: "prepare", Message: "typing the text quests (drift table)"})
			read, err := s.pool.Acquire(ctx)
			if err != nil {
				return err
			}
			write, err := s.pool.Acquire(ctx)
			if err != nil {
				read.Release()
				return err
			}
			err = prepareQuests(ctx, read.Conn(), write.Conn(), s.stage)
			read.Release()
			write.Release()
			if err != nil {
				return err
			}
		case m.Legacy == "market_items" && m.Shape == mappings.ShapeV21:
			s.cfg.Progress(Event{Phase: "prepare", Message: "deriving v21 market item keys"})
			conn, err := s.pool.Acquire(ctx)
			if err != nil {
				return err
			}
			err = prepareMarketKeys(ctx, conn.Conn(), s.stage)
			conn.Release()
			if err != nil {
				return err
			}
		}
	}
	return nil
}

// runStarted is the time sessions expire against: the run's start.
func (s *session) runStarted() string { return s.started.Format(time.RFC3339Nano) }

// plans builds every mapping's plan, reading the target's catalog through
// the pool (or, before it is open, the session's connection).
func (s *session) plans(ctx context.Context) (map[string]*Plan, error) {
	var q extract.Querier = s.target
	if s.pool != nil {
		q = s.pool
	}
	targets, err := readTargets(ctx, q)
	if err != nil {
		return nil, err
	}
	params := Params{Stage: s.stage, RunStarted: s.runStarted(), NoSessions: s.cfg.NoSessions, Ledger: s.ledger,
		UUID: map[string]bool{}, Read: map[string]bool{}}
	parents := map[string]mappings.Mapping{}
	for _, m := range s.ms {
		parents[m.Legacy] = m
		for _, a := range m.After {
			params.Read[a] = true
		}
		for _, c := range s.src.Table(m.Legacy).Columns {
			if c.Type == "uuid" {
				params.UUID[m.Legacy+"."+c.Name] = true
			}
		}
	}
	out := map[string]*Plan{}
	for _, m := range s.ms {
		source := questsTypedColumns
		if m.From == "" {
			source = nil
			for _, c := range s.src.Table(m.Legacy).Columns {
				source = append(source, c.Name)
			}
		}
		p, err := BuildPlan(m, source, targets, parents, params)
		if err != nil {
			return nil, err
		}
		out[m.Name()] = p
	}
	return out, nil
}

// decide writes the decision table of every mapping the run decides, each
// as soon as the mappings it depends on have decided.
func (s *session) decide(ctx context.Context, plans map[string]*Plan) error {
	return s.inOrder(ctx, "decide", subset(s.ms, s.only.decide), false, func(ctx context.Context, m mappings.Mapping) error {
		p := plans[m.Name()]
		if err := s.cfg.at("decide:" + m.Legacy); err != nil {
			return err
		}
		conn, err := s.pool.Acquire(ctx)
		if err != nil {
			return err
		}
		defer conn.Release()
		for _, q := range p.Decide {
			if _, err := conn.Exec(ctx, q); err != nil {
				return err
			}
		}
		if p.WaveLoop != "" {
			for {
				tag, err := conn.Exec(ctx, p.WaveLoop)
				if err != nil {
					return err
				}
				if tag.RowsAffected() == 0 {
					break
				}
			}
		}
		for _, q := range append(append([]string{}, p.WaveRest...), p.DecideEnd...) {
			if _, err := conn.Exec(ctx, q); err != nil {
				return err
			}
		}
		return nil
	})
}

// checkRejects stops the run before anything is applied when more rows
// than MaxRejects would be rejected.
func (s *session) checkRejects(ctx context.Context) error {
	if s.cfg.MaxRejects < 0 {
		return nil
	}
	// The mappings this run leaves keep the rejects they recorded.
	kept := []string{}
	parts := []string{"SELECT sum(rejected) AS n FROM " + bk + ".results WHERE mapping = ANY($1)"}
	for _, m := range s.ms {
		if !has(s.only.redo, m.Name()) {
			kept = append(kept, m.Name())
			continue
		}
		parts = append(parts, "SELECT count(*) AS n FROM "+DecisionTable(s.stage, m.Legacy)+" WHERE _disp = 'rejected'")
	}
	var n int64
	if err := s.target.QueryRow(ctx, "SELECT coalesce(sum(n), 0)::bigint FROM ("+strings.Join(parts, " UNION ALL ")+") x", kept).Scan(&n); err != nil {
		return fmt.Errorf("count rejects: %w", err)
	}
	if n > s.cfg.MaxRejects {
		return fmt.Errorf("%w: %d rows would be rejected, more than --max-rejects %d; nothing was written to the application tables (run `cutover diff` to see them)",
			ErrTooManyRejects, n, s.cfg.MaxRejects)
	}
	return nil
}

// apply makes the target equal the decisions: first it removes rows that
// are no longer decided (children first), then writes every mapping's rows
// and bookkeeping (parents first), each mapping in one transaction.
func (s *session) apply(ctx context.Context, plans map[string]*Plan) (map[string]int64, error) {
	var mu sync.Mutex
	changes := map[string]int64{}
	count := func(table string, n int64) {
		if table == "" || n == 0 {
			return
		}
		mu.Lock()
		changes[table] += n
		mu.Unlock()
	}
	// From here the target leaves the state the batch records and the
	// recorded inputs describe, for the mappings redone; each mapping's
	// come back with its rows.
	redo := subset(s.ms, s.only.redo)
	var redoTables []string
	for _, m := range redo {
		redoTables = append(redoTables, m.Legacy)
	}
	err := pgx.BeginFunc(ctx, s.target, func(tx pgx.Tx) error {
		if _, err := tx.Exec(ctx, `DELETE FROM `+bk+`.batches WHERE legacy_table = ANY($1)`, redoTables); err != nil {
			return err
		}
		_, err := tx.Exec(ctx, `UPDATE `+bk+`.results SET inputs = NULL WHERE mapping = ANY($1) AND inputs IS NOT NULL`, mappingNames(redo))
		return err
	})
	if err != nil {
		return nil, fmt.Errorf("reset the batch records: %w", err)
	}
	if err := s.holdsLock(ctx, s.pool); err != nil {
		return nil, err
	}
	// The tables that lost rows and the transactions that removed them:
	// rows whose reference their removal cleared (ON DELETE SET NULL) are
	// counted after the apply (countCleared).
	removedFrom := map[string]bool{}
	var removals []int64
	removedIn := func(table string, xid int64) {
		mu.Lock()
		defer mu.Unlock()
		removedFrom[table] = true
		removals = append(removals, xid)
	}
	if err := s.removeVanished(ctx, count, removedIn); err != nil {
		return nil, err
	}
	// The source tables with rows in the ledger. One probe per table (a
	// subquery with LIMIT stays a per-row probe, which the partitioned
	// ledger prunes to the table's partition); a DISTINCT over the whole
	// ledger read every row of it (0.4 s of a re-run at 1M).
	applied := map[string]bool{}
	prev, err := s.target.Query(ctx, `SELECT t FROM unnest($1::text[]) t
		WHERE (SELECT true FROM `+bk+`.dispositions d WHERE d.legacy_table = t LIMIT 1)`, s.src.TableNames())
	if err != nil {
		return nil, fmt.Errorf("apply: read the ledger: %w", err)
	}
	names, err := pgx.CollectRows(prev, pgx.RowTo[string])
	if err != nil {
		return nil, fmt.Errorf("apply: read the ledger: %w", err)
	}
	for _, n := range names {
		applied[n] = true
	}
	// Rows no longer decided go first, children before their parents; a
	// mapping whose table has no ledger rows owns no target row, and has
	// nothing to remove. The removals of mappings that do not depend on
	// each other run side by side: one after another they were 12 s of a
	// 10M re-run on one connection.
	var removing []mappings.Mapping
	for _, m := range redo {
		if applied[m.Legacy] && len(plans[m.Name()].Remove) > 0 {
			removing = append(removing, m)
		}
	}
	// The rows each target table loses, for the children whose foreign
	// keys would block that (RemoveReferencing).
	removed := map[string][]string{}
	for _, m := range removing {
		if ids := plans[m.Name()].RemoveIDs; ids != "" {
			removed[m.Target] = append(removed[m.Target], ids)
		}
	}
	err = s.ordered(ctx, "remove", removing, childrenFirst(s.ms), func(ctx context.Context, m mappings.Mapping) error {
		p := plans[m.Name()]
		for _, q := range p.Remove {
			var xid int64
			var tag pgconn.CommandTag
			err := pgx.BeginFunc(ctx, s.pool, func(tx pgx.Tx) (err error) {
				if xid, err = currentXID(ctx, tx); err != nil {
					return err
				}
				tag, err = tx.Exec(ctx, q)
				return err
			})
			if err != nil {
				return fmt.Errorf("remove rows no longer decided: %w", err)
			}
			count(m.Target, tag.RowsAffected())
			if tag.RowsAffected() > 0 {
				removedIn(m.Target, xid)
			}
		}
		// Then the rows it still decides that reference a parent row the
		// run removes: the ones given to another parent (removed first,
		// its rows no longer decided are counted as removals).
		for _, c := range p.FKChecks {
			fk := c.FK
			if fk.ParentColumn != "id" {
				continue
			}
			if q := p.RemoveReferencing(fk, removed[fk.Parent]); q != "" {
				// Not counted: the upsert writes each row again, and counts it then.
				if _, err := s.pool.Exec(ctx, q); err != nil {
					return fmt.Errorf("remove the rows that still reference removed %s rows (%s): %w", fk.Parent, fk.Name, err)
				}
			}
		}
		return nil
	})
	if err != nil {
		return nil, err
	}
	// A superuser skips the per-row foreign-key triggers (each takes a row
	// lock on the parent) and checks each mapping's rows set-based instead,
	// in the same transaction, before it commits. So does any role whose
	// sessions start with the triggers off (session_replication_role =
	// replica, set for the database or the role, as a bulk load or a
	// replication set-up may have left it), where no trigger would check.
	var super bool
	var replicationRole string
	if err := s.target.QueryRow(ctx, `SELECT rolsuper, current_setting('session_replication_role') FROM pg_roles WHERE rolname = current_user`).Scan(&super, &replicationRole); err != nil {
		return nil, fmt.Errorf("apply: read the target role: %w", err)
	}
	triggersOff := replicationRole == "replica"
	setBased := super || triggersOff
	if triggersOff {
		s.cfg.Progress(Event{Phase: "apply", Message: "the target's sessions start with session_replication_role = replica, so no foreign-key trigger fires: the run checks each mapping's rows against the foreign keys itself"})
	}
	var xids []int64 // the apply transactions, to tell this run's rows from older ones
	var release *stageRelease
	if !s.cfg.KeepStage {
		release = newStageRelease(s.stage, plans, s.only.redo)
	}
	err = s.inOrder(ctx, "apply", redo, true, func(ctx context.Context, m mappings.Mapping) (err error) {
		// After the transaction's rollback: a constraint may have met rows
		// the cutover did not write.
		defer func() { err = s.explainViolation(ctx, m.Target, err) }()
		p := plans[m.Name()]
		tx, err := s.pool.Begin(ctx)
		if err != nil {
			return err
		}
		defer tx.Rollback(context.WithoutCancel(ctx))
		if super && !triggersOff {
			if _, err := tx.Exec(ctx, "SET LOCAL session_replication_role = replica"); err != nil {
				return err
			}
		}
		xid, err := currentXID(ctx, tx)
		if err != nil {
			return err
		}
		mu.Lock()
		xids = append(xids, xid)
		mu.Unlock()
		upsert := p.Upsert
		var bulk bool
		var dropped []rebuild
		var partition string
		var attach []string
		var present map[string]bool // on a first apply: the dispositions decided
		first := !applied[m.Legacy] && len(p.FirstUpsert) > 0
		if first {
			// Never applied: none of its rows can be in the target yet.
			upsert = p.FirstUpsert
			if partition, attach, err = ledgerBulk(ctx, tx, m.Legacy); err != nil {
				return fmt.Errorf("prepare the ledger partition of %s: %w", m.Legacy, err)
			}
			if present, err = firstResults(ctx, tx, p.FirstResults, s.runID); err != nil {
				return fmt.Errorf("record the results: %w", err)
			}
			tgt := "public." + ident(m.Target)
			if p.FirstInsert != "" {
				if bulk, err = bulkTarget(ctx, tx, tgt); err != nil {
					return fmt.Errorf("prepare the bulk load of %s: %w", m.Target, err)
				}
			}
			if bulk {
				if dropped, err = dropIndexes(ctx, tx, tgt); err != nil {
					return err
				}
			}
		}
		for i, q := range upsert {
			if i == 0 && bulk && !slices.ContainsFunc(dropped, func(r rebuild) bool { return r.primary }) {
				q += "\nORDER BY " + strings.Join(quoteAll(p.PK), ", ") // into the primary key in its order
			}
			if i == 1 {
				if err := s.cfg.at("apply.rows:" + m.Legacy); err != nil {
					return err
				}
			}
			if strings.HasPrefix(q, "INSERT INTO "+bk+".rejects") {
				if err := s.cfg.at("apply.rejects:" + m.Legacy); err != nil {
					return err
				}
			}
			if kind := keptRowsKind(q); kind != "" && present != nil && !present[kind] {
				continue // no such rows: skip the join with the stage table
			}
			// An update of an application table counts, even when it
			// reads the bookkeeping (a seed's content restored).
			bookkeeping := strings.Contains(q, bk+".") && !strings.HasPrefix(q, "UPDATE public.")
			if partition != "" && strings.HasPrefix(q, "INSERT INTO "+bk+".dispositions ") {
				q = "INSERT INTO " + partition + " (" + ledgerColumns + ")\n" + p.LedgerRows
			}
			var tag pgconn.CommandTag
			if i == 0 && p.Vacate != "" && !first {
				tag, err = s.upsertVacating(ctx, tx, p, q, count)
			} else {
				tag, err = tx.Exec(ctx, q, runArgs(q, s.runID)...)
			}
			if err != nil {
				return err
			}
			if !bookkeeping {
				count(m.Target, tag.RowsAffected())
			}
			if i == 0 && bulk {
				if err := buildIndexes(ctx, tx, "public."+ident(m.Target), dropped); err != nil {
					return err
				}
			}
		}
		if setBased {
			for _, c := range p.FKChecks {
				var bad int64
				if err := tx.QueryRow(ctx, c.SQL).Scan(&bad); err != nil {
					return fmt.Errorf("check foreign key %s: %w", c.FK.Name, err)
				}
				if bad > 0 {
					return fmt.Errorf("%d rows of %s would break foreign key %s (%s → %s.%s): a mapping bug; nothing of this mapping was written",
						bad, m.Target, c.FK.Name, c.FK.Column, c.FK.Parent, c.FK.ParentColumn)
				}
			}
		}
		for _, q := range attach {
			if _, err := tx.Exec(ctx, q); err != nil {
				return fmt.Errorf("attach the ledger partition of %s: %w", m.Legacy, err)
			}
		}
		if err := s.recordBatches(ctx, tx, m.Legacy); err != nil {
			return err
		}
		if tag, err := tx.Exec(ctx, `UPDATE `+bk+`.results SET inputs = $2 WHERE mapping = $1`, m.Name(), s.only.digests[m.Name()]); err != nil {
			return fmt.Errorf("record the inputs: %w", err)
		} else if tag.RowsAffected() != 1 {
			return errors.New("record the inputs: the plan wrote no results row") // a plan bug
		}
		if err := s.holdsLock(ctx, tx); err != nil {
			return err
		}
		if err := s.cfg.at("apply.commit:" + m.Legacy); err != nil {
			return err
		}
		if err := tx.Commit(ctx); err != nil {
			return err
		}
		if release == nil {
			return nil
		}
		for _, rel := range release.applied(m.Name()) {
			if _, err := s.pool.Exec(ctx, `DROP TABLE IF EXISTS `+rel); err != nil {
				if ctx.Err() != nil {
					return ctx.Err()
				}
				// Not the run's failure: the stage's drop at the end takes it.
				s.cfg.Logger.Debug("could not drop a stage relation early", "relation", rel, "err", err)
			}
		}
		return nil
	})
	if err != nil {
		return nil, err
	}
	if err := s.countCleared(ctx, plans, removedFrom, removals, count); err != nil {
		return nil, err
	}
	s.cfg.Progress(Event{Phase: "finish", Message: "assigning feed order (sort_order)"})
	for _, table := range feedTables {
		if err := s.cfg.at("sort_order:" + table); err != nil {
			return nil, err
		}
		// Rows this run wrote are counted already; count the older rows
		// that only move.
		var moved int64
		err := s.target.QueryRow(ctx, `WITH u AS (UPDATE public.`+table+` t SET sort_order = o.rn - 1
			FROM (SELECT id, xmin::text::bigint AS old_xmin,
				row_number() OVER (PARTITION BY user_id ORDER BY created_at, id) AS rn FROM public.`+table+`) o
			WHERE t.id = o.id AND t.sort_order IS DISTINCT FROM o.rn - 1 RETURNING o.old_xmin)
			SELECT count(*) FILTER (WHERE NOT (old_xmin = ANY ($1))) FROM u`, xids).Scan(&moved)
		if err != nil {
			return nil, fmt.Errorf("assign %s.sort_order: %w", table, err)
		}
		count(table, moved)
	}
	if err := s.analyzeTargets(ctx, changes); err != nil {
		return nil, err
	}
	return changes, nil
}

// countCleared counts, with count, the rows whose reference to a removed
// row its removal cleared (ON DELETE SET NULL, in the removal's
// transaction, one of removals) and that no apply wrote after: the
// database changed them, and no statement of the run counted them (an
// upsert that finds such a row as decided leaves it). Only the tables with
// such a key to a table in removedFrom are read.
func (s *session) countCleared(ctx context.Context, plans map[string]*Plan, removedFrom map[string]bool, removals []int64, count func(string, int64)) error {
	if len(removals) == 0 {
		return nil
	}
	children := map[string]bool{}
	for _, p := range plans {
		for _, c := range p.FKChecks {
			if c.FK.SetsNull && removedFrom[c.FK.Parent] {
				children[p.M.Target] = true
			}
		}
	}
	for _, table := range slices.Sorted(maps.Keys(children)) {
		var n int64
		if err := s.pool.QueryRow(ctx, `SELECT count(*) FROM public.`+ident(table)+` WHERE xmin::text::bigint = ANY ($1)`, removals).Scan(&n); err != nil {
			return fmt.Errorf("count the rows of %s whose references the removals cleared: %w", table, err)
		}
		count(table, n)
	}
	return nil
}

// currentXID returns the id of tx's transaction as a row's xmin shows it
// (without the epoch), to tell the rows it wrote from older ones.
func currentXID(ctx context.Context, tx pgx.Tx) (int64, error) {
	var xid int64
	err := tx.QueryRow(ctx, "SELECT txid_current() % 4294967296").Scan(&xid)
	return xid, err
}

// uniqueViolation is the SQLSTATE of a duplicate key.
const uniqueViolation = "23505"

// diskFull is the SQLSTATE of a write the server's disk had no room for.
const diskFull = "53100"

// queryCanceled is the SQLSTATE of a statement cancelled by a request or a
// timeout, its session left open.
const queryCanceled = "57014"

// upsertVacating runs upsert q, mapping p's target rows, in tx; when it
// fails on a unique index it undoes it, moves the rows whose new values
// others hold now in chains (Plan.Vacate, until it updates nothing, each
// pass counted with count), and runs it again. Rows that still collide
// take each other's values (a swap between runs), which no order of
// updates can write; the error says so.
func (s *session) upsertVacating(ctx context.Context, tx pgx.Tx, p *Plan, q string, count func(string, int64)) (pgconn.CommandTag, error) {
	if _, err := tx.Exec(ctx, "SAVEPOINT upsert"); err != nil {
		return pgconn.CommandTag{}, err
	}
	tag, err := tx.Exec(ctx, q, runArgs(q, s.runID)...)
	var pgErr *pgconn.PgError
	if !errors.As(err, &pgErr) || pgErr.Code != uniqueViolation {
		if err == nil {
			_, err = tx.Exec(ctx, "RELEASE SAVEPOINT upsert")
		}
		return tag, err
	}
	if _, err := tx.Exec(ctx, "ROLLBACK TO SAVEPOINT upsert"); err != nil {
		return pgconn.CommandTag{}, err
	}
	for pass := 1; ; pass++ {
		moved, err := tx.Exec(ctx, p.Vacate)
		if err != nil {
			return pgconn.CommandTag{}, fmt.Errorf("update the rows whose unique values others hold, pass %d: %w", pass, err)
		}
		count(p.M.Target, moved.RowsAffected())
		if moved.RowsAffected() == 0 {
			break
		}
	}
	tag, err = tx.Exec(ctx, q, runArgs(q, s.runID)...)
	if errors.As(err, &pgErr) && pgErr.Code == uniqueViolation {
		return tag, fmt.Errorf("rows of %s take each other's values of unique index %s since the last run (a swap, or a cycle of them): "+
			"no order of updates writes them without a duplicate in between; change one of them in the source and re-run, or load into a fresh target: %w",
			p.M.Target, pgErr.ConstraintName, err)
	}
	return tag, err
}

// analyzeTargets gathers planner statistics of the target tables the run
// wrote, and of those written since their last statistics or that never
// had any (tables a failed run wrote and this one left as they were,
// seeded tables), in parallel: the application's first queries after
// go-live would otherwise be planned without statistics until autovacuum
// gets to them. The largest tables go first, so that the last ones to
// finish are small: this is the run's tail, and two workers that got the
// two largest tables last would leave one idle for a second or more.
func (s *session) analyzeTargets(ctx context.Context, changes map[string]int64) error {
	var written []string
	for t, n := range changes {
		if n > 0 {
			written = append(written, t)
		}
	}
	rows, err := s.pool.Query(ctx, `SELECT relname::text FROM pg_stat_user_tables
		WHERE schemaname = 'public' AND (n_mod_since_analyze > 0 OR last_analyze IS NULL AND last_autoanalyze IS NULL OR relname = ANY($1))
		ORDER BY pg_relation_size(relid) DESC, relname`, written)
	if err != nil {
		return fmt.Errorf("read which target tables have statistics: %w", err)
	}
	tables, err := pgx.CollectRows(rows, pgx.RowTo[string])
	if err != nil {
		return fmt.Errorf("read which target tables have statistics: %w", err)
	}
	s.cfg.Progress(Event{Phase: "finish", Message: fmt.Sprintf("gathering statistics of %d target tables (ANALYZE)", len(tables))})
	g, gctx := errgroup.WithContext(ctx)
	g.SetLimit(s.cfg.Workers)
	for _, t := range tables {
		g.Go(func() error {
			defer s.steps.begin("analyze " + t)()
			if _, err := s.pool.Exec(gctx, "ANALYZE public."+ident(t)); err != nil {
				return fmt.Errorf("analyze %s: %w", t, err)
			}
			return nil
		})
	}
	return g.Wait()
}

// inOrder runs f for every mapping of ms (the run's, or a subset of them in
// list order), at most Workers at once, each as soon as the mappings of ms
// it depends on, directly or through others, have finished; a mapping waiting for its
// dependencies holds no worker. With serialize, mappings that write the
// same target table also run one after another (in list order): apply's
// bulk load locks a table it fills, and a second writer would only wait
// for it. Failures name the mapping.
func (s *session) inOrder(ctx context.Context, phase string, ms []mappings.Mapping, serialize bool, f func(context.Context, mappings.Mapping) error) error {
	deps := mappings.Dependencies(s.ms)
	if len(ms) < len(s.ms) {
		deps = transitive(deps)
	}
	if serialize {
		last := map[string]string{} // target table -> its previous writer
		for _, m := range ms {
			if m.Target == "" {
				continue
			}
			if prev, ok := last[m.Target]; ok && !slices.Contains(deps[m.Name()], prev) {
				deps[m.Name()] = append(slices.Clone(deps[m.Name()]), prev)
			}
			last[m.Target] = m.Name()
		}
	}
	return s.ordered(ctx, phase, ms, deps, f)
}

// childrenFirst turns the dependencies of ms around: per mapping name,
// every mapping that depends on it directly or through others, all of
// which must finish before it when rows are removed (a child's rows go
// before the parent rows they reference). Transitive, so that a removal
// still waits for a grandchild's when the child between them removes
// nothing and so is not among the mappings ordered.
func childrenFirst(ms []mappings.Mapping) map[string][]string {
	children := map[string][]string{}
	for child, parents := range mappings.Dependencies(ms) {
		for _, p := range parents {
			children[p] = append(children[p], child)
		}
	}
	return transitive(children)
}

// ordered runs f for every mapping of ms, at most Workers at once, each as
// soon as the mappings of ms that deps names for it have finished (names
// outside ms are not waited for); a mapping waiting holds no worker.
func (s *session) ordered(ctx context.Context, phase string, ms []mappings.Mapping, deps map[string][]string, f func(context.Context, mappings.Mapping) error) error {
	finished := map[string]chan struct{}{}
	for _, m := range ms {
		finished[m.Name()] = make(chan struct{})
	}
	var mu sync.Mutex
	var n int64
	workers := make(chan struct{}, s.cfg.Workers)
	g, gctx := errgroup.WithContext(ctx)
	for _, m := range ms {
		g.Go(func() error {
			for _, d := range deps[m.Name()] {
				if finished[d] == nil {
					continue
				}
				select {
				case <-finished[d]:
				case <-gctx.Done():
					return gctx.Err()
				}
			}
			select {
			case workers <- struct{}{}:
			case <-gctx.Done():
				return gctx.Err()
			}
			defer func() { <-workers }()
			end := s.steps.begin(phase + " " + m.Name())
			err := f(gctx, m)
			end()
			if err != nil {
				return &StepError{Table: m.Legacy, Err: fmt.Errorf("%s %s: %w%s", phase, m.Name(), err, sqlstateHint(err))}
			}
			close(finished[m.Name()])
			mu.Lock()
			n++
			done := n
			mu.Unlock()
			s.cfg.Progress(Event{Phase: phase, Table: m.Name(), Done: done, Total: int64(len(ms))})
			return nil
		})
	}
	return g.Wait()
}

// sqlstateHint adds advice for the SQLSTATE classes an operator can act on.
// A disk-full error names the server it came from: the source's when the
// read side of a batch's copy failed (extract.ReadError), else the target's.
func sqlstateHint(err error) string {
	var pgErr *pgconn.PgError
	if !errors.As(err, &pgErr) {
		return ""
	}
	switch {
	case pgErr.Code == diskFull:
		var read *extract.ReadError
		if errors.As(err, &read) {
			return " (the source's disk is full, where the read keeps its temporary files: make room on the source, then re-run the same command)"
		}
		return " (the target's disk is full: make room, then re-run the same command; the run needs room for its stage, a copy of the legacy tables it reads, besides the target's rows)"
	case strings.HasPrefix(pgErr.Code, "23") && !errors.As(err, new(*ForeignRowsError)):
		return fmt.Sprintf(" (constraint %s: a case the mapping does not handle; nothing of this mapping was written)", pgErr.ConstraintName)
	case pgErr.Code == queryCanceled:
		return " (a statement was cancelled: by an administrator, or by a statement_timeout that the connection URL sets, since the cutover turns the server's own off; re-running the same command is safe)"
	case strings.HasPrefix(pgErr.Code, "08"), strings.HasPrefix(pgErr.Code, "57"):
		return " (the connection was lost: re-running the same command is safe)"
	}
	return ""
}

// sourceHint is sqlstateHint for an error in reading the source, told what
// the run knows of it: a standby whose replay cancelled the run's reads
// (extract.Standby.Cancelled), or a snapshot whose exporting connection
// was ended.
func (s *session) sourceHint(err error) string {
	switch {
	case s.standby.Cancelled(err):
		return s.standby.CancelledHint("the run's", "re-run the same command")
	case errors.Is(err, extract.ErrSnapshotEnded):
		return " (the source connection holding the run's snapshot was ended, by an administrator, say: re-running the same command is safe)"
	}
	return sqlstateHint(err)
}

func readTargets(ctx context.Context, q extract.Querier) (map[string]TargetTable, error) {
	rows, err := q.Query(ctx, `SELECT c.relname, a.attname, a.atttypid::regtype::text,
			coalesce(a.attnum = ANY (i.indkey), false) AS in_pk
		FROM pg_class c
		JOIN pg_attribute a ON a.attrelid = c.oid AND a.attnum > 0 AND NOT a.attisdropped
		LEFT JOIN pg_index i ON i.indrelid = c.oid AND i.indisprimary
		WHERE c.relnamespace = 'public'::regnamespace AND c.relkind = 'r' ORDER BY c.relname, a.attnum`)
	if err != nil {
		return nil, fmt.Errorf("read the target catalog: %w", err)
	}
	out := map[string]TargetTable{}
	for rows.Next() {
		var t, c, typ string
		var pk bool
		if err := rows.Scan(&t, &c, &typ, &pk); err != nil {
			return nil, err
		}
		tt := out[t]
		tt.Columns = append(tt.Columns, c)
		if tt.Types == nil {
			tt.Types = map[string]string{}
		}
		tt.Types[c] = typ
		if pk {
			tt.PK = append(tt.PK, c)
		}
		if c == "user_id" {
			tt.HasUser = true
		}
		out[t] = tt
	}
	if err := rows.Err(); err != nil {
		return nil, fmt.Errorf("read the target catalog: %w", err)
	}
	fks, err := q.Query(ctx, `SELECT c.conname, t.relname, a.attname, p.relname, pa.attname, c.confdeltype IN ('a', 'r'), c.confdeltype = 'n'
		FROM pg_constraint c
		JOIN pg_class t ON t.oid = c.conrelid
		JOIN pg_class p ON p.oid = c.confrelid
		JOIN pg_attribute a ON a.attrelid = c.conrelid AND a.attnum = c.conkey[1]
		JOIN pg_attribute pa ON pa.attrelid = c.confrelid AND pa.attnum = c.confkey[1]
		WHERE c.contype = 'f' AND t.relnamespace = 'public'::regnamespace AND cardinality(c.conkey) = 1
		ORDER BY c.conname`)
	if err != nil {
		return nil, fmt.Errorf("read the target's foreign keys: %w", err)
	}
	for fks.Next() {
		var fk FK
		var table string
		if err := fks.Scan(&fk.Name, &table, &fk.Column, &fk.Parent, &fk.ParentColumn, &fk.Blocks, &fk.SetsNull); err != nil {
			return nil, err
		}
		tt := out[table]
		tt.FKs = append(tt.FKs, fk)
		out[table] = tt
	}
	if err := fks.Err(); err != nil {
		return nil, fmt.Errorf("read the target's foreign keys: %w", err)
	}
	uniques, err := q.Query(ctx, `SELECT c.relname,
			array(SELECT pg_get_indexdef(i.indexrelid, k, true) FROM generate_series(1, i.indnkeyatts) k ORDER BY k),
			coalesce(pg_get_expr(i.indpred, i.indrelid, true), '')
		FROM pg_index i
		JOIN pg_class c ON c.oid = i.indrelid
		WHERE c.relnamespace = 'public'::regnamespace AND i.indisunique AND NOT i.indisprimary
		ORDER BY 1, i.indexrelid::regclass::text`)
	if err != nil {
		return nil, fmt.Errorf("read the target's unique indexes: %w", err)
	}
	var table string
	var u Unique
	if _, err := pgx.ForEachRow(uniques, []any{&table, &u.Keys, &u.Predicate}, func() error {
		tt := out[table]
		tt.Uniques = append(tt.Uniques, u)
		out[table] = tt
		return nil
	}); err != nil {
		return nil, fmt.Errorf("read the target's unique indexes: %w", err)
	}
	return out, nil
}
