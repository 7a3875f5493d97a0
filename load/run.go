package load

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"os"
	"runtime"
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
	// MaxRejects stops the run once more rows than this were rejected; a
	// negative value means no limit.
	MaxRejects int64
	// BatchBytes is the target size of an extract batch (default 64 MiB).
	BatchBytes int64
	// KeepStage keeps the stage schema after the run, for inspection.
	KeepStage bool
	// Progress receives events; it must be safe for concurrent use.
	Progress func(Event)
	Logger   *slog.Logger
}

// Event reports progress. Phase is "detect", "extract", "prepare",
// "resolve" or "finish"; Done and Total count rows (extract) or mappings.
type Event struct {
	Phase       string
	Table       string
	Done, Total int64
	Message     string
}

// ErrTooManyRejects is returned by Run when more rows than MaxRejects were
// rejected.
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

// Run moves the legacy database at cfg.SourceURL into the target at
// cfg.TargetURL, on which `schema apply` has run. The source is only read.
// It returns the summary of everything the target holds from the cutover
// so far (also when the run resumed an earlier, interrupted one). Running it
// again after a failure finishes the job; after a success it changes
// nothing.
func Run(ctx context.Context, cfg Config) (*Summary, error) {
	cfg.defaults()
	started := time.Now().UTC()
	source, err := dburl.Connect(ctx, "source", cfg.SourceURL)
	if err != nil {
		return nil, err
	}
	defer source.Close(context.Background())
	cfg.Progress(Event{Phase: "detect", Message: "reading the source catalog"})
	src, err := extract.Detect(ctx, source)
	if err != nil {
		return nil, err
	}
	ms, err := mappings.For(src.Shapes())
	if err != nil {
		return nil, err
	}
	msg := "source is legacy " + src.Flavor
	if len(src.Drift) > 0 {
		msg += " with drift tables " + strings.Join(src.Drift, ", ")
	}
	cfg.Progress(Event{Phase: "detect", Message: msg})

	target, err := dburl.Connect(ctx, "target", cfg.TargetURL)
	if err != nil {
		return nil, err
	}
	defer target.Close(context.Background())
	if err := checkSchema(ctx, cfg.TargetURL); err != nil {
		return nil, err
	}
	if err := ensureBookkeeping(ctx, target); err != nil {
		return nil, err
	}
	runID, err := startRun(ctx, target, src.Flavor, dburl.Describe(cfg.SourceURL))
	if err != nil {
		return nil, err
	}
	defer target.Exec(context.Background(), "SELECT pg_advisory_unlock($1)", int64(runLockID))

	runErr := execute(ctx, cfg, src, ms, target, runID, started)
	status, errText := "done", ""
	if runErr != nil {
		status, errText = "failed", runErr.Error()
	}
	if _, err := target.Exec(context.WithoutCancel(ctx), `UPDATE `+bk+`.runs SET status = $2, finished_at = clock_timestamp(), error = nullif($3, '') WHERE id = $1`,
		runID, status, errText); err != nil && runErr == nil {
		runErr = fmt.Errorf("record the end of run %d: %w", runID, err)
	}
	if runErr != nil {
		return nil, runErr
	}
	sum, err := Summarize(ctx, target, src.Flavor, ms)
	if err != nil {
		return nil, err
	}
	sum.RunID, sum.Duration = runID, time.Since(started)
	return sum, nil
}

func checkSchema(ctx context.Context, targetURL string) error {
	st, err := migrations.Statuses(ctx, targetURL)
	if err != nil {
		return err
	}
	for _, s := range st {
		if !s.Applied {
			return fmt.Errorf("the target schema is not applied (%s is pending): run `cutover schema apply --target …` first", s.File)
		}
		if s.Tampered {
			return fmt.Errorf("the target schema's migration %s changed since it was applied", s.File)
		}
	}
	return nil
}

func startRun(ctx context.Context, conn *pgx.Conn, flavor, source string) (int64, error) {
	var got bool
	if err := conn.QueryRow(ctx, "SELECT pg_try_advisory_lock($1)", int64(runLockID)).Scan(&got); err != nil {
		return 0, fmt.Errorf("take the run lock: %w", err)
	}
	if !got {
		re := &RunningError{}
		conn.QueryRow(ctx, `SELECT id, host, pid, started_at FROM `+bk+`.runs WHERE status = 'running' ORDER BY id DESC LIMIT 1`).
			Scan(&re.RunID, &re.Host, &re.PID, &re.StartedAt)
		return 0, re
	}
	// Holding the lock, any run still marked running died.
	if _, err := conn.Exec(ctx, `UPDATE `+bk+`.runs SET status = 'failed', finished_at = clock_timestamp(),
		error = coalesce(error, 'the process ended before the run finished') WHERE status = 'running'`); err != nil {
		return 0, fmt.Errorf("close interrupted runs: %w", err)
	}
	host, _ := os.Hostname()
	var id int64
	err := conn.QueryRow(ctx, `INSERT INTO `+bk+`.runs (flavor, source, host, pid) VALUES ($1, $2, $3, $4) RETURNING id`,
		flavor, source, host, os.Getpid()).Scan(&id)
	if err != nil {
		return 0, fmt.Errorf("record the run: %w", err)
	}
	return id, nil
}

func execute(ctx context.Context, cfg Config, src *extract.Source, ms []mappings.Mapping, target *pgx.Conn, runID int64, started time.Time) error {
	done := map[string]bool{}
	rows, err := target.Query(ctx, `SELECT mapping FROM `+bk+`.results`)
	if err != nil {
		return fmt.Errorf("read finished mappings: %w", err)
	}
	names, err := pgx.CollectRows(rows, pgx.RowTo[string])
	if err != nil {
		return fmt.Errorf("read finished mappings: %w", err)
	}
	for _, n := range names {
		done[n] = true
	}
	var todo []mappings.Mapping
	for _, m := range ms {
		if !done[m.Name()] {
			todo = append(todo, m)
		}
	}
	if len(todo) > 0 {
		pool, err := dburl.Pool(ctx, "target", cfg.TargetURL, int32(cfg.Workers+2))
		if err != nil {
			return err
		}
		defer pool.Close()
		if err := stage(ctx, cfg, src, target, pool, runID); err != nil {
			return err
		}
		if err := prepare(ctx, cfg, src, todo, pool); err != nil {
			return err
		}
		if err := resolve(ctx, cfg, src, ms, done, pool, runID, started); err != nil {
			return err
		}
	}
	cfg.Progress(Event{Phase: "finish", Message: "assigning feed order"})
	for _, table := range []string{"inbox_items", "user_quests"} {
		if _, err := target.Exec(ctx, `UPDATE public.`+table+` t SET sort_order = o.rn - 1
			FROM (SELECT id, row_number() OVER (PARTITION BY user_id ORDER BY created_at, id) AS rn FROM public.`+table+`) o
			WHERE t.id = o.id AND t.sort_order IS DISTINCT FROM o.rn - 1`); err != nil {
			return fmt.Errorf("assign %s.sort_order: %w", table, err)
		}
	}
	if !cfg.KeepStage {
		if _, err := target.Exec(ctx, `DROP SCHEMA IF EXISTS `+mappings.StageSchema+` CASCADE`); err != nil {
			return fmt.Errorf("drop the stage schema: %w", err)
		}
	}
	return nil
}

// stage copies every source table into the stage schema, from one snapshot,
// in parallel key-range batches.
func stage(ctx context.Context, cfg Config, src *extract.Source, target *pgx.Conn, pool *pgxpool.Pool, runID int64) error {
	if _, err := target.Exec(ctx, `DROP SCHEMA IF EXISTS `+mappings.StageSchema+` CASCADE; CREATE SCHEMA `+mappings.StageSchema); err != nil {
		return fmt.Errorf("create the stage schema: %w", err)
	}
	for _, t := range src.Tables {
		if _, err := target.Exec(ctx, extract.CreateStageSQL(t)); err != nil {
			return fmt.Errorf("create stage table %s: %w", t.Name, err)
		}
	}
	snapConn, err := dburl.Connect(ctx, "source", cfg.SourceURL)
	if err != nil {
		return err
	}
	snap, err := extract.OpenSnapshot(ctx, snapConn)
	if err != nil {
		snapConn.Close(context.Background())
		return err
	}
	defer snap.Close(context.Background())

	batches := extract.PlanBatches(src, cfg.BatchBytes, 256)
	readers := make(chan *pgx.Conn, cfg.Workers)
	var readerList []*pgx.Conn
	defer func() {
		for _, c := range readerList {
			c.Close(context.Background())
		}
	}()
	for i := 0; i < cfg.Workers; i++ {
		c, err := dburl.Connect(ctx, "source", cfg.SourceURL)
		if err != nil {
			return err
		}
		readerList = append(readerList, c)
		readers <- c
	}
	var mu sync.Mutex
	copied := map[string]int64{}
	g, gctx := errgroup.WithContext(ctx)
	g.SetLimit(cfg.Workers)
	for _, b := range batches {
		t := src.Table(b.Table)
		g.Go(func() error {
			reader := <-readers
			defer func() { readers <- reader }()
			conn, err := pool.Acquire(gctx)
			if err != nil {
				return fmt.Errorf("extract %s: %w", b, err)
			}
			defer conn.Release()
			tx, err := conn.Begin(gctx)
			if err != nil {
				return fmt.Errorf("extract %s: %w", b, err)
			}
			defer tx.Rollback(context.WithoutCancel(gctx))
			n, err := extract.CopyBatch(gctx, reader, snap.ID, tx.Conn().PgConn(), *t, b)
			if err != nil {
				return fmt.Errorf("extract %s: %w", b, err)
			}
			if _, err := tx.Exec(gctx, `INSERT INTO `+bk+`.batches (legacy_table, batch, batches, run_id, rows) VALUES ($1, $2, $3, $4, $5)
				ON CONFLICT (legacy_table, batch) DO UPDATE SET batches = excluded.batches, run_id = excluded.run_id,
				rows = excluded.rows, finished_at = clock_timestamp()`, b.Table, b.No, b.Of, runID, n); err != nil {
				return fmt.Errorf("extract %s: record the batch: %w", b, err)
			}
			if err := tx.Commit(gctx); err != nil {
				return fmt.Errorf("extract %s: commit: %w", b, err)
			}
			mu.Lock()
			copied[b.Table] += n
			total := copied[b.Table]
			mu.Unlock()
			cfg.Progress(Event{Phase: "extract", Table: b.Table, Done: total, Total: max(t.EstimatedRows, total)})
			return nil
		})
	}
	if err := g.Wait(); err != nil {
		return err
	}
	if _, err := target.Exec(ctx, `DELETE FROM `+bk+`.batches b WHERE NOT EXISTS (
		SELECT 1 FROM `+bk+`.batches x WHERE x.legacy_table = b.legacy_table AND x.run_id = $1)`, runID); err != nil {
		return fmt.Errorf("extract: tidy the batch ledger: %w", err)
	}
	// Index what later joins look up, and give the planner statistics.
	g, gctx = errgroup.WithContext(ctx)
	g.SetLimit(cfg.Workers)
	for _, t := range src.Tables {
		g.Go(func() error {
			var stmts []string
			for _, c := range t.Columns {
				if c.Name == "id" {
					stmts = append(stmts, "CREATE INDEX ON "+extract.StageTable(t.Name).Sanitize()+" (id)")
				}
			}
			if t.Name == "users" {
				stmts = append(stmts, "CREATE INDEX ON "+extract.StageTable(t.Name).Sanitize()+" (lower(email))")
			}
			stmts = append(stmts, "ANALYZE "+extract.StageTable(t.Name).Sanitize())
			for _, s := range stmts {
				if _, err := pool.Exec(gctx, s); err != nil {
					return fmt.Errorf("index stage table %s: %w", t.Name, err)
				}
			}
			return nil
		})
	}
	return g.Wait()
}

// prepare runs the Go transforms whose results the mappings read.
func prepare(ctx context.Context, cfg Config, src *extract.Source, todo []mappings.Mapping, pool *pgxpool.Pool) error {
	for _, m := range todo {
		switch {
		case m.Legacy == "quests":
			cfg.Progress(Event{Phase: "prepare", Table: "quests", Message: "typing the text quests"})
			if err := withConns(ctx, cfg, func(read, write *pgx.Conn) error { return prepareQuests(ctx, read, write) }); err != nil {
				return err
			}
		case m.Legacy == "market_items" && m.Shape == mappings.ShapeV21:
			cfg.Progress(Event{Phase: "prepare", Table: "market_items", Message: "deriving market item keys"})
			conn, err := pool.Acquire(ctx)
			if err != nil {
				return err
			}
			err = prepareMarketKeys(ctx, conn.Conn())
			conn.Release()
			if err != nil {
				return err
			}
		}
	}
	return nil
}

func withConns(ctx context.Context, cfg Config, f func(read, write *pgx.Conn) error) error {
	read, err := dburl.Connect(ctx, "target", cfg.TargetURL)
	if err != nil {
		return err
	}
	defer read.Close(context.Background())
	write, err := dburl.Connect(ctx, "target", cfg.TargetURL)
	if err != nil {
		return err
	}
	defer write.Close(context.Background())
	return f(read, write)
}

// resolve runs every mapping not yet done, each in one transaction, as soon
// as the mappings it depends on are done.
func resolve(ctx context.Context, cfg Config, src *extract.Source, ms []mappings.Mapping, done map[string]bool, pool *pgxpool.Pool, runID int64, started time.Time) error {
	targets, err := readTargets(ctx, pool)
	if err != nil {
		return err
	}
	params := Params{RunStarted: started.Format(time.RFC3339Nano), NoSessions: cfg.NoSessions}
	deps := mappings.Dependencies(ms)
	finished := map[string]chan struct{}{}
	for _, m := range ms {
		finished[m.Name()] = make(chan struct{})
		if done[m.Name()] {
			close(finished[m.Name()])
		}
	}
	plans := map[string]*Plan{}
	for _, m := range ms {
		if done[m.Name()] {
			continue
		}
		source := questsTypedColumns
		if m.From == "" {
			source = nil
			for _, c := range src.Table(m.Legacy).Columns {
				source = append(source, c.Name)
			}
		}
		p, err := BuildPlan(m, source, targets, params)
		if err != nil {
			return err
		}
		plans[m.Name()] = p
	}
	var rejected int64
	var mu sync.Mutex
	total := int64(len(ms))
	var finishedCount int64 = int64(len(done))
	g, gctx := errgroup.WithContext(ctx)
	g.SetLimit(cfg.Workers)
	// Start mappings in dependency order so that the limit never blocks a
	// mapping's dependencies behind it.
	for _, m := range ms {
		if done[m.Name()] {
			continue
		}
		for _, d := range deps[m.Name()] {
			select {
			case <-finished[d]:
			case <-gctx.Done():
				return g.Wait()
			}
		}
		p := plans[m.Name()]
		g.Go(func() error {
			n, err := applyPlan(gctx, pool, p, runID)
			if err != nil {
				return fmt.Errorf("resolve %s: %w%s", m.Name(), err, sqlstateHint(err))
			}
			mu.Lock()
			rejected += n
			finishedCount++
			r, fc := rejected, finishedCount
			mu.Unlock()
			close(finished[m.Name()])
			cfg.Progress(Event{Phase: "resolve", Table: m.Name(), Done: fc, Total: total})
			if cfg.MaxRejects >= 0 && r > cfg.MaxRejects {
				return fmt.Errorf("%w: %d rows rejected so far, more than --max-rejects %d; what is done stays, re-run after fixing the source",
					ErrTooManyRejects, r, cfg.MaxRejects)
			}
			return nil
		})
	}
	return g.Wait()
}

// applyPlan runs one mapping's plan in one transaction and returns the rows
// it rejected.
func applyPlan(ctx context.Context, pool *pgxpool.Pool, p *Plan, runID int64) (int64, error) {
	tx, err := pool.Begin(ctx)
	if err != nil {
		return 0, err
	}
	defer tx.Rollback(context.WithoutCancel(ctx))
	exec := func(sql string) (int64, error) {
		tag, err := tx.Exec(ctx, sql, runID)
		if err != nil {
			return 0, err
		}
		return tag.RowsAffected(), nil
	}
	execNoArg := func(sql string) (int64, error) {
		if !strings.Contains(sql, "$1") {
			tag, err := tx.Exec(ctx, sql)
			return tag.RowsAffected(), err
		}
		return exec(sql)
	}
	for _, s := range p.Statements {
		if _, err := execNoArg(s); err != nil {
			return 0, err
		}
	}
	if p.SelfRefLoop != "" {
		for {
			n, err := execNoArg(p.SelfRefLoop)
			if err != nil {
				return 0, err
			}
			if n == 0 {
				break
			}
		}
	}
	for _, s := range p.SelfRefRest {
		if _, err := execNoArg(s); err != nil {
			return 0, err
		}
	}
	for _, s := range p.Finish {
		if _, err := execNoArg(s); err != nil {
			return 0, err
		}
	}
	var rejected int64
	if p.Resolves {
		if err := tx.QueryRow(ctx, `SELECT count(*) FROM r WHERE _disp = 'rejected'`).Scan(&rejected); err != nil {
			return 0, err
		}
	}
	return rejected, tx.Commit(ctx)
}

// sqlstateHint adds advice for the SQLSTATE classes an operator can act on.
func sqlstateHint(err error) string {
	var pgErr *pgconn.PgError
	if !errors.As(err, &pgErr) {
		return ""
	}
	switch {
	case pgErr.Code == "53100":
		return " (the target's disk is full: free space, then re-run the same command; finished mappings are kept)"
	case strings.HasPrefix(pgErr.Code, "23"):
		return fmt.Sprintf(" (constraint %s: a case the mapping does not handle; nothing of this mapping was written)", pgErr.ConstraintName)
	case strings.HasPrefix(pgErr.Code, "08"), strings.HasPrefix(pgErr.Code, "57"):
		return " (the connection was lost: re-running the same command is safe)"
	}
	return ""
}

func readTargets(ctx context.Context, pool *pgxpool.Pool) (map[string]TargetTable, error) {
	rows, err := pool.Query(ctx, `SELECT c.relname, a.attname
		FROM pg_class c JOIN pg_attribute a ON a.attrelid = c.oid AND a.attnum > 0 AND NOT a.attisdropped
		WHERE c.relnamespace = 'public'::regnamespace AND c.relkind = 'r' ORDER BY c.relname, a.attnum`)
	if err != nil {
		return nil, fmt.Errorf("read the target catalog: %w", err)
	}
	out := map[string]TargetTable{}
	for rows.Next() {
		var t, c string
		if err := rows.Scan(&t, &c); err != nil {
			return nil, err
		}
		tt := out[t]
		tt.Columns = append(tt.Columns, c)
		if c == "user_id" {
			tt.HasUser = true
		}
		out[t] = tt
	}
	return out, rows.Err()
}
