package load

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
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
	"github.com/cutover/cutover/internal/coldefault"
	"github.com/cutover/cutover/internal/dburl"
	"github.com/cutover/cutover/mappings"
	"github.com/cutover/cutover/migrations"
)

// Config is everything a run needs.
type Config struct {
	SourceURL, TargetURL string
	// Workers bounds parallel readers and writers (default: CPU count).
	Workers int
	// NoSessions discards every session (forces re-login).
	NoSessions bool
	// MaxRejects stops the run before it writes to the application tables
	// once more rows than this would be rejected; a negative value means
	// no limit.
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
	// LockWaitRepeated is how often the run names a lock wait again while
	// it lasts; 0 means a minute.
	LockWaitRepeated time.Duration
	// Full redoes every mapping, even when the source and a mapping's
	// inputs are the ones recorded: a re-run otherwise trusts the
	// bookkeeping that the target holds what it wrote, and leaves alone
	// a target row changed or deleted behind the cutover's back. A full
	// re-run writes such rows back (and only those: rows already as
	// decided are not touched).
	Full bool
	// Progress receives events; it must be safe for concurrent use. The
	// events that count a phase's work come one at a time and in order:
	// Done never goes down within a phase. Progress should return
	// quickly, since the workers counting wait for it.
	Progress func(Event)
	Logger   *slog.Logger

	// hook, set only by tests, is called at named points and fails the run
	// when it returns an error (fault injection).
	hook func(point string) error
	// clock, set only by tests, is when the run starts instead of now:
	// the time sessions expire against.
	clock func() time.Time
}

// Event reports progress. Phase is "detect", "checksum", "extract",
// "prepare", "decide", "remove" (a re-run's removal of rows no longer
// decided), "apply" or "finish"; a dry run's "compare" (of its decisions
// with the target) comes after its decide. For checksum and extract, Done
// and Total count rows of all tables (Total is the catalog's estimate when
// no exact count is known yet, and never less than Done) and Table is the
// table of the batch that just finished; for decide, remove, apply and
// compare they count mappings, and Rows and TotalRows weigh them.
type Event struct {
	Phase       string
	Table       string
	Done, Total int64
	// Rows and TotalRows are, for decide, remove, apply and compare, the source
	// rows of the mappings done and of all the phase's mappings (the rows
	// the extract counted in their legacy tables): a mapping's work grows
	// with its rows, and the mappings differ in rows by orders of
	// magnitude. TotalRows is 0 when the extract counted none.
	Rows, TotalRows int64
	// Running is, for decide, remove and apply, the source rows of the
	// mappings under way when the event came: their work is begun but
	// not in Rows, and several big mappings run at once, so a rate of
	// Rows alone ran about twice too slow early in apply.
	Running int64
	// Kept is the part of Done that the phase found done and did not do
	// itself (batches copied earlier, in the checksum phase or by an
	// interrupted run): a rate leaves it out. Resumed is the part of Kept
	// that an earlier run copied.
	Kept, Resumed int64
	// Bytes and TotalBytes are, for checksum and extract, the source bytes
	// of the batches done and of all the phase's batches (each batch its
	// pages' share of its table's pg_total_relation_size), and KeptBytes
	// the part of Bytes found done: Left goes by them, since a batch takes
	// time by its bytes more than by its rows (the legacy tables' rows
	// differ in width a hundredfold).
	Bytes, TotalBytes, KeptBytes int64
	Message                      string
}

// Left estimates how long the phase of e needs to finish, having run for
// elapsed when e came: the work left at the rate of the work done so far
// (batches by their bytes, else their rows; mappings weighed by their
// rows, the mappings under way, Running, counted half done; work found
// done, Kept, came at no rate and is left out). ok is false when there is no rate to go by
// (less than a twentieth of the work done: the first batches, of the
// smallest tables, say little of the rest; or mappings without rows) or
// nothing is left.
func (e Event) Left(elapsed time.Duration) (left time.Duration, ok bool) {
	var done, total int64
	switch {
	case e.TotalRows > 0:
		done, total = e.Rows+e.Running/2, e.TotalRows
	case (e.Phase == "checksum" || e.Phase == "extract") && e.TotalBytes > 0:
		done, total = e.Bytes-e.KeptBytes, e.TotalBytes-e.KeptBytes
	case e.Phase == "checksum" || e.Phase == "extract":
		done, total = e.Done-e.Kept, e.Total-e.Kept
	}
	if done <= 0 || done*20 < total || total <= done || elapsed <= 0 {
		return 0, false
	}
	return time.Duration(float64(elapsed) * float64(total-done) / float64(done)), true
}

// ErrTooManyRejects is returned by Run when more rows than MaxRejects would
// be rejected.
var ErrTooManyRejects = errors.New("too many rejects")

// failureTooManyRejects is cutover.runs.failure of a run that
// ErrTooManyRejects stopped.
const failureTooManyRejects = "too_many_rejects"

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
var errLockLost = errors.New("the session holding the run lock on the target has ended (terminated, cut by a timeout, or its server restarted): " +
	"stopping before another run can interleave") // the command adds that re-running it is safe

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
	cfg    Config
	src    *extract.Source
	ms     []mappings.Mapping
	target *pgx.Conn
	pool   *pgxpool.Pool
	stage  string
	app    string // application_name of its sessions: "cutover run", "cutover diff"
	runID  int64
	// locked: the session target holds the run lock (a run, not a dry
	// run).
	locked  bool
	started time.Time
	batches []extract.Batch
	sums    map[string]extract.Checksum // by table/batch
	// printed holds the fingerprints the checksum pass read in this run's
	// snapshot (by batchKey): resumeStage compares a kept stage's batches
	// with them instead of reading them again.
	printed map[string]string
	// staged holds the batches copied into the stage (by batchKey), and
	// stageTables the stage tables created; both nil until openStage.
	// resumed holds those of staged that an earlier run copied
	// (resumeStage).
	staged, stageTables, resumed map[string]bool
	// unchanged: the source is the last finished run's, so there was
	// nothing to do.
	unchanged bool
	ledger    string // schema of the dispositions ledger
	// refs are the target's foreign keys by referenced table, with what
	// tells a referencing row the cutover wrote (plans sets them).
	refs refGraph
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
	// sourceID is the source's dburl.DatabaseID ("" when it could not be
	// read), which the run records (see noteOtherSource).
	sourceID string
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
	s.locked = true
	defer s.target.Exec(context.Background(), "SELECT pg_advisory_unlock($1)", int64(migrations.RunLockID))
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
	if err := s.flavorRefusal(ctx); err != nil {
		return nil, err
	}
	s.noteOtherSource(ctx, "start", "The run makes the target this source's image, as after any change of the source: "+
		"if this is not the source meant, stop the run (Ctrl-C) and run again with the right --source")
	if s.runID, err = startRun(ctx, s.target, s.src.Flavor, dburl.Describe(cfg.SourceURL), s.sourceID, cfg.NoSessions); err != nil {
		return nil, err
	}
	// A dry run working on the target shares its CPUs, and fails once it
	// sees the run (RunDuringDryRunError): said, so that neither surprises.
	if dry, err := migrations.DryRunHolder(ctx, s.target); err != nil {
		s.cfg.Logger.Debug("could not look for a dry run working on the target", "err", err)
	} else if dry != nil {
		s.cfg.Progress(Event{Phase: "start", Message: fmt.Sprintf("a dry run (%s) is working on this target: the run goes on, "+
			"and that dry run will fail, as the run changes what it compares", dry.Who(time.RFC3339))})
	} else if size, err := dropStoppedDryRun(ctx, s.target); err != nil {
		s.cfg.Logger.Warn("could not drop the scratch schema a stopped dry run left; the next dry run drops it", "schema", DryRunStage, "err", err)
	} else if size != "" {
		s.cfg.Progress(Event{Phase: "start", Message: fmt.Sprintf("dropped the scratch schema %s (%s) that a stopped dry run left: it held copies of legacy rows", DryRunStage, size)})
	}
	space := sync.OnceValue(s.watchSpace(ctx, spacePause))
	defer space()

	changes, runErr := s.execute(ctx)
	runErr = dburl.ExplainLimits(runErr, Connections(cfg.Workers)) // as the run records it
	runErr = explainLost(ctx, runErr, s.target)
	if runErr != nil {
		s.closeFailedStage(ctx, runErr)
		s.recordSpace(ctx, space())
	}
	status, errText, failure := "done", "", ""
	var failed StepError
	var se *StepError
	switch {
	case runErr != nil && ctx.Err() != nil:
		// Whatever the error says: a statement cancelled, or a copy whose
		// connection the cancel closed under it ("use of closed network
		// connection"), which is no table's failure.
		status, errText = "interrupted", migrations.CancelledRun
	case runErr != nil:
		status, errText = "failed", runErr.Error()
		if errors.Is(runErr, ErrTooManyRejects) {
			failure = failureTooManyRejects
		}
		if errors.As(runErr, &se) {
			failed = *se
		}
	}
	record := func(ctx context.Context, conn *pgx.Conn) error {
		_, err := conn.Exec(ctx, `UPDATE `+bk+`.runs SET status = $2, finished_at = clock_timestamp(), error = nullif($3, ''),
			failed_table = nullif($4, ''), failed_batch = nullif($5, 0), failure = nullif($6, '') WHERE id = $1`,
			s.runID, status, errText, failed.Table, failed.Batch, failure)
		return err
	}
	rctx, cancel := context.WithoutCancel(ctx), context.CancelFunc(func() {})
	if runErr != nil {
		// A failed run says so within about 10 s: its commit may wait
		// for a synchronous standby that went.
		rctx, cancel = context.WithTimeout(rctx, 10*time.Second)
	}
	recordErr := record(rctx, s.target)
	cancel()
	if recordErr != nil && runErr == nil {
		runErr = fmt.Errorf("record the end of run %d: %w", s.runID, recordErr)
	} else if recordErr != nil {
		// The run's session is gone, often what stopped the run (its
		// connection was ended): a session of its own records why and
		// where, or status would only know that the run ended.
		s.recordElsewhere(ctx, record)
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

// recordElsewhere runs record, the end of a failed run, on a new target
// connection, for about 10 seconds at most; best effort (the next run
// marks a run it finds unrecorded interrupted).
func (s *session) recordElsewhere(ctx context.Context, record func(context.Context, *pgx.Conn) error) {
	ctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), 10*time.Second)
	defer cancel()
	conn, err := dburl.Connect(ctx, "target", s.cfg.TargetURL, dburl.AppName(s.app))
	if err == nil {
		defer closeReleasing(conn)
		err = record(ctx, conn) // bounded too: a commit may wait for a standby that went
	}
	if err != nil {
		s.cfg.Logger.Warn("could not record the end of the failed run", "run", s.runID, "err", err)
	}
}

// closeFailedStage deals with the stage schema that a run which failed
// with err created, and says what it did and how much room the stage
// holds. After the target's disk was full (SQLSTATE 53100) it drops the
// stage: its copies hold the room the target lacks, and the next run
// copies what it reads again. After any other failure (too many rejects,
// a lost connection, a timeout, the source's full disk) it keeps it: the
// next run keeps the batches whose rows the source still holds
// (resumeStage) and copies only the rest. It leaves alone the stage of a
// run that keeps it (KeepStage) or was cancelled (the operator's Ctrl-C
// does not wait; the next run keeps what it can of it). A statement here
// that fails (say, the connection is gone) fails nothing more: it is
// logged.
func (s *session) closeFailedStage(ctx context.Context, err error) {
	if s.staged == nil || s.cfg.KeepStage || ctx.Err() != nil {
		return
	}
	_, size, serr := stageSize(ctx, s.target, s.stage)
	var pgErr *pgconn.PgError
	var read *extract.ReadError // the source's disk: the stage takes none of its room
	if !errors.As(err, &pgErr) || pgErr.Code != diskFull || errors.As(err, &read) {
		if serr != nil {
			s.cfg.Logger.Debug("could not measure the stage of the failed run", "schema", s.stage, "err", serr)
			return
		}
		s.cfg.Progress(Event{Phase: "finish", Message: fmt.Sprintf("kept the failed run's stage (schema %s, %s): the next run keeps the batches whose rows the source still holds, and copies the rest (`DROP SCHEMA %s CASCADE` gives its room back)", s.stage, size, ident(s.stage))})
		return
	}
	if serr == nil {
		_, serr = s.target.Exec(ctx, `DROP SCHEMA IF EXISTS `+ident(s.stage)+` CASCADE`)
	}
	if serr != nil {
		s.cfg.Logger.Debug("could not drop the stage of the failed run", "schema", s.stage, "err", serr)
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
	started := time.Now()
	if cfg.clock != nil {
		started = cfg.clock()
	}
	s := &session{cfg: cfg, stage: stage, app: app, started: started.UTC()}
	targetConnected := make(chan error, 1)
	go func() {
		var err error
		s.target, err = dburl.Connect(ctx, "target", cfg.TargetURL, append(slices.Clone(dburl.TextFormat), dburl.AppName(app))...)
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
	if !s.src.PageRanges() {
		s.cfg.Progress(Event{Phase: "detect", Message: fmt.Sprintf(
			"source runs PostgreSQL %d, before TID range scans (14): each table is read in one batch, by one connection",
			s.src.Version/10000)})
	}
	if s.standby, err = extract.ReadStandby(ctx, source); err != nil {
		return id, err
	}
	if s.writesBefore, err = extract.WriteCounts(ctx, source); err != nil {
		s.cfg.Logger.Debug("not watching the source for writes", "err", err)
	}
	if s.sourceID, err = dburl.DatabaseID(ctx, source); err != nil {
		s.cfg.Logger.Debug("could not read the source's identity across restarts", "err", err)
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
		closeReleasing(s.target)
	}
}

// closeReleasing closes conn after releasing the advisory locks its
// session holds (the run lock, the dry-run lock). Closed without that, a
// session's locks go only as its backend exits, after the command has
// returned: a command started right after it could find the lock held by
// a session that is ending, and refuse ("another cutover run is working
// on this target", seen once in CI: a seal right after a run). The
// release is best effort, bounded by a few seconds on a server that no
// longer answers.
func closeReleasing(conn *pgx.Conn) {
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	if !conn.IsClosed() {
		_, _ = conn.Exec(ctx, "SELECT pg_advisory_unlock_all()") // best effort: closing releases them too, later
	}
	conn.Close(ctx)
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

// errIndexGone is a unique index of the target dropped while its catalog
// was read: a run drops a table's indexes when it first loads it, and
// builds them again after the rows.
var errIndexGone = errors.New("it went while the target's catalog was read (a run rebuilds a table's indexes when it first loads it: another cutover run is working on the target; look again once it has finished)")

// takeRunLock takes the run lock on the target for the session of conn, or
// returns a RunningError naming the run that holds it (after
// migrations.LockGrace: a session the server is still ending may hold it
// for a moment).
func takeRunLock(ctx context.Context, conn *pgx.Conn) error {
	got, err := migrations.TryLock(ctx, conn, migrations.RunLockID, migrations.LockGrace)
	if err != nil {
		return fmt.Errorf("take the run lock: %w", err)
	}
	if !got {
		return migrations.RunningRecord(ctx, conn)
	}
	return nil
}

// startRun records the run; its session holds the run lock.
func startRun(ctx context.Context, conn *pgx.Conn, flavor, source, sourceID string, noSessions bool) (int64, error) {
	// Holding the lock, any run still marked running died: status shows
	// it as interrupted already, and it stays so.
	if _, err := conn.Exec(ctx, `UPDATE `+bk+`.runs SET status = 'interrupted', finished_at = clock_timestamp(),
		error = coalesce(error, $1) WHERE status = 'running'`, migrations.EndedRun); err != nil {
		return 0, fmt.Errorf("close interrupted runs: %w", err)
	}
	host, _ := os.Hostname()
	var id int64
	err := conn.QueryRow(ctx, `INSERT INTO `+bk+`.runs (flavor, source, source_id, host, pid, no_sessions)
		VALUES ($1, $2, nullif($3, ''), $4, $5, $6) RETURNING id`,
		flavor, source, sourceID, host, os.Getpid(), noSessions).Scan(&id)
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
//
// The text format is dburl.TextFormat's: the rows archived and rejected
// are written as JSON in it, as verify reads the source to compare them.
var targetSettings = append([]dburl.Setting{dburl.NoJIT, {Name: "work_mem", Value: "4MB"}, {Name: "maintenance_work_mem", Value: "256MB"}},
	dburl.TextFormat...)

// execute runs the phases and returns the application rows changed per
// target table.
func (s *session) execute(ctx context.Context) (map[string]int64, error) {
	settings := append(slices.Clone(targetSettings), dburl.AppName(s.app))
	// If this process dies (kill -9, a lost host), its sessions would keep
	// their statements, locks and the run lock until each statement ends;
	// checking the client's socket every few seconds (PostgreSQL 14+) ends
	// them soon, so that the re-run can start.
	version, err := dburl.ServerVersionNum(ctx, s.target)
	if err != nil {
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
		// What the run decides only for what reads it is judged as the
		// target holds it.
		var at map[string]string
		if at, err = s.judgedAt(ctx, plans); err == nil && len(at) > 0 {
			plans, err = s.plansJudgedAt(ctx, at)
		}
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
	// A target server that restarted while the run copied (a crash
	// empties the stage) stops the run here, not after deciding.
	if err := s.holdsLock(ctx, s.pool); err != nil {
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

// uniqueViolation is the SQLSTATE of a duplicate key.
const uniqueViolation = "23505"

// diskFull is the SQLSTATE of a write the server's disk had no room for.
const diskFull = "53100"

// explainLost adds dburl.LostHint to err, the error a run or a dry run
// ends with, when a connection was lost under it (dburl.Lost), or when
// session, the one the command holds on the target from start to end, no
// longer answers. The last catches a failure that a crash of the target's
// server caused without saying so: a table whose committing transaction
// the crash lost (with synchronous_commit off) is missing to the statement
// after it. A cancelled command's error, and errLockLost, stay as they
// are.
func explainLost(ctx context.Context, err error, session *pgx.Conn) error {
	if err == nil || ctx.Err() != nil || errors.Is(err, errLockLost) { // that one says it
		return err
	}
	lost, targetLost := dburl.Lost(err), false
	if session != nil {
		pctx, cancel := context.WithTimeout(ctx, 5*time.Second)
		defer cancel()
		targetLost = session.Ping(pctx) != nil
	}
	if !lost && !targetLost {
		return err
	}
	// The side whose connection was lost, when it is known: a copy's
	// read side is the source's; a target session that no longer
	// answers, the target's.
	var read *extract.ReadError
	role := ""
	switch {
	case errors.As(err, &read):
		role = "source"
	case targetLost:
		role = "target"
	}
	return &dburl.LostError{Role: role, Err: err}
}

// sqlstateHint adds advice for the SQLSTATE classes an operator can act on
// (a lost connection's is added once, to the run's error: explainLost).
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
	case strings.HasPrefix(pgErr.Code, "23") && !errors.As(err, new(*ForeignRowsError)) && !errors.As(err, new(*RefusedRowsError)):
		return fmt.Sprintf(" (constraint %s: a case the mapping does not handle; nothing of this mapping was written)", pgErr.ConstraintName)
	case pgErr.Code == dburl.QueryCanceled:
		return " (a statement was cancelled: by an administrator, or by a statement_timeout that the connection URL sets, since the cutover turns the server's own off; re-running the same command is safe)"
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

// nullsNotDistinct is the SQL of whether index i (a pg_index row) holds
// NULL keys equal: pg_index has indnullsnotdistinct from PostgreSQL 15 on,
// and a target of 13 or 14 has no such index.
const nullsNotDistinct = `coalesce((to_jsonb(i)->>'indnullsnotdistinct')::bool, false)`

func readTargets(ctx context.Context, q extract.Querier) (map[string]TargetTable, error) {
	// A column's fixed value (TargetTable.Fixed): coldefault.FixedSQL.
	rows, err := q.Query(ctx, `SELECT c.relname, a.attname, a.atttypid::regtype::text,
			coalesce(a.attnum = ANY (i.indkey), false) AS in_pk,
			`+coldefault.FixedSQL+`,
			format_type(a.atttypid, a.atttypmod)
		FROM pg_class c
		JOIN pg_attribute a ON a.attrelid = c.oid AND a.attnum > 0 AND NOT a.attisdropped
		LEFT JOIN pg_index i ON i.indrelid = c.oid AND i.indisprimary
		LEFT JOIN pg_attrdef d ON d.adrelid = c.oid AND d.adnum = a.attnum
		WHERE c.relnamespace = 'public'::regnamespace AND c.relkind = 'r' ORDER BY c.relname, a.attnum`)
	if err != nil {
		return nil, fmt.Errorf("read the target catalog: %w", err)
	}
	out := map[string]TargetTable{}
	for rows.Next() {
		var t, c, typ string
		var pk bool
		var fixed *string
		var fullType string
		if err := rows.Scan(&t, &c, &typ, &pk, &fixed, &fullType); err != nil {
			return nil, err
		}
		tt := out[t]
		tt.Columns = append(tt.Columns, c)
		if tt.Types == nil {
			tt.Types, tt.FullTypes = map[string]string{}, map[string]string{}
			tt.Fixed = map[string]string{}
		}
		tt.Types[c], tt.FullTypes[c] = typ, fullType
		if fixed != nil {
			tt.Fixed[c] = coldefault.Cast(*fixed, fullType)
		}
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
	fks, err := q.Query(ctx, `SELECT c.conname, t.relname, a.attname, p.relname, pa.attname, c.confdeltype IN ('a', 'r'), c.confdeltype = 'n',
			CASE c.confdeltype WHEN 'a' THEN 'NO ACTION' WHEN 'r' THEN 'RESTRICT' WHEN 'c' THEN 'CASCADE' WHEN 'n' THEN 'SET NULL' ELSE 'SET DEFAULT' END
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
		if err := fks.Scan(&fk.Name, &table, &fk.Column, &fk.Parent, &fk.ParentColumn, &fk.Blocks, &fk.SetsNull, &fk.OnDelete); err != nil {
			return nil, err
		}
		tt := out[table]
		tt.FKs = append(tt.FKs, fk)
		out[table] = tt
	}
	if err := fks.Err(); err != nil {
		return nil, fmt.Errorf("read the target's foreign keys: %w", err)
	}
	// An index's parking columns (Unique.Park): the text columns it reads
	// (as a key, in an expression or in its predicate) that no primary
	// key, foreign key (either end) or check constraint reads. pg_depend
	// lists its INCLUDE columns too, which hold no key: a column of the
	// index (indkey) counts only as a key column.
	uniques, err := q.Query(ctx, `SELECT c.relname,
			array(SELECT pg_get_indexdef(i.indexrelid, k, true) FROM generate_series(1, i.indnkeyatts) k ORDER BY k),
			coalesce(pg_get_expr(i.indpred, i.indrelid, true), ''), `+nullsNotDistinct+`, x.relname,
			array(SELECT a.attname::text FROM pg_attribute a
				WHERE a.attrelid = i.indrelid AND a.attnum > 0 AND NOT a.attisdropped AND a.atttypid = 'text'::regtype
				AND (a.attnum = ANY ((i.indkey::int2[])[0:i.indnkeyatts - 1])
					OR a.attnum <> ALL (i.indkey::int2[]) AND EXISTS (SELECT FROM pg_depend d WHERE d.classid = 'pg_class'::regclass AND d.objid = i.indexrelid
						AND d.refclassid = 'pg_class'::regclass AND d.refobjid = i.indrelid AND d.refobjsubid = a.attnum))
				AND NOT EXISTS (SELECT FROM pg_constraint k
					WHERE (k.conrelid = i.indrelid AND k.contype IN ('p', 'f', 'c') AND a.attnum = ANY (k.conkey))
					OR (k.contype = 'f' AND k.confrelid = i.indrelid AND a.attnum = ANY (k.confkey)))
				ORDER BY a.attnum)
		FROM pg_index i
		JOIN pg_class c ON c.oid = i.indrelid
		JOIN pg_class x ON x.oid = i.indexrelid
		WHERE c.relnamespace = 'public'::regnamespace AND i.indisunique AND NOT i.indisprimary
		ORDER BY 1, i.indexrelid::regclass::text`)
	if err != nil {
		return nil, fmt.Errorf("read the target's unique indexes: %w", err)
	}
	var table string
	var u Unique
	var keys []*string
	if _, err := pgx.ForEachRow(uniques, []any{&table, &keys, &u.Predicate, &u.NullsNotDistinct, &u.Name, &u.Park}, func() error {
		// pg_get_indexdef reads the live catalog: an index dropped since
		// this statement's snapshot has no definition.
		u.Keys = make([]string, len(keys))
		for i, k := range keys {
			if k == nil {
				return fmt.Errorf("index %s of %s: %w", u.Name, table, errIndexGone)
			}
			u.Keys[i] = *k
		}
		tt := out[table]
		tt.Uniques = append(tt.Uniques, u)
		out[table] = tt
		return nil
	}); err != nil {
		return nil, fmt.Errorf("read the target's unique indexes: %w", err)
	}
	return out, nil
}
