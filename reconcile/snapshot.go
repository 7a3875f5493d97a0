package reconcile

import (
	"context"
	"errors"
	"fmt"
	"slices"

	"github.com/jackc/pgx/v5"
	"golang.org/x/sync/errgroup"

	"github.com/cutover/cutover/internal/dburl"
	"github.com/cutover/cutover/migrations"
)

// sessionParams, with dburl.TextFormat, make every value render the same
// text on both servers (timestamps in UTC, ISO dates, hex bytea, shortest
// exact floats) and as the run wrote the rows it kept, and
// plan verify's statements for what they are: few large scans and hash
// joins with small results, already run Config.Workers at a time.
//
//   - jit off: the scans have large cost estimates, so the planner would
//     compile them, and compiling costs more than it saves (dburl.NoJIT).
//   - No parallel workers: Verify already runs Workers checks at once on
//     each server; a Gather on top duplicates the hash tables it builds
//     (each worker builds its own) and only adds CPU on a busy server.
//   - work_mem 4MB (the server's default, set so that a server configured
//     otherwise does not change verify's plans): the hash joins of a table
//     with its ledger entries run in batches that fit the CPU's caches. At
//     10M rows on 2 cores, four alternating verifications took 31.9-37.0 s
//     (median 34.4 s) at 4MB against 35.8-40.9 s (median 36.5 s) at 64MB,
//     each round faster at 4MB; load.targetSettings measured the same.
//     It is a per-node limit; a verification holds 2×Workers sessions,
//     each running one statement at a time.
//   - application_name "cutover verify" (appName), unless the URL names
//     every session itself: the lock watch finds verify's sessions by it.
//   - search_path pg_catalog alone, whatever the URL or the database
//     sets: a function, an operator or a type in public of either
//     database would otherwise be a candidate for verify's calls, and one
//     of the exact argument types wins over the server's own (a
//     public.to_jsonb(users) over to_jsonb(anyelement), an operator
//     || (text, uuid) over anynonarray || text), so that whoever may
//     create one could make verify pass a tampered target. Verify names
//     every table with its schema.
var sessionParams = slices.Concat(catalogParams, []dburl.Setting{
	dburl.NoJIT,
	{Name: "max_parallel_workers_per_gather", Value: "0"},
	{Name: "work_mem", Value: "4MB"},
}, dburl.TextFormat)

// catalogParams are the settings of verify's sessions that read only
// catalogs (detecting the source, reading the target's catalog): the name
// and the search_path of sessionParams.
var catalogParams = []dburl.Setting{dburl.AppName(appName), {Name: "search_path", Value: "pg_catalog"}}

// appName is the application_name of verify's sessions.
const appName = "cutover verify"

// connSet is a fixed set of connections to one database, every one inside a
// REPEATABLE READ READ ONLY transaction that imported the same snapshot: all
// queries of a verification see the database as of one moment, and none can
// write.
type connSet struct {
	role  string
	snap  *pgx.Conn
	conns chan *pgx.Conn
	all   []*pgx.Conn
	// runsHeldOff says that snap holds the run lock shared
	// (migrations.HoldOffRuns) until letRunsStart.
	runsHeldOff bool
}

func connect(ctx context.Context, role, url string) (*pgx.Conn, error) {
	return dburl.Connect(ctx, role, url, sessionParams...)
}

// openSet opens n connections sharing one snapshot. With holdOffRuns
// (the target's), it takes the snapshot holding the run lock shared, after
// waiting for a working run (migrations.HoldOffRuns: a *RunningError
// when one does not end), and keeps holding it until letRunsStart: the
// snapshot never shows a run half done.
func openSet(ctx context.Context, role, url string, n int, holdOffRuns bool) (_ *connSet, err error) {
	s := &connSet{role: role, conns: make(chan *pgx.Conn, n)}
	defer func() {
		if err != nil {
			s.close()
		}
	}()
	if s.snap, err = connect(ctx, role, url); err != nil {
		return nil, err
	}
	if holdOffRuns {
		if err = migrations.HoldOffRuns(ctx, s.snap); err != nil {
			return nil, err
		}
		s.runsHeldOff = true
	}
	if _, err = s.snap.Exec(ctx, "BEGIN ISOLATION LEVEL REPEATABLE READ READ ONLY"); err != nil {
		return nil, fmt.Errorf("%s: open snapshot: %w", role, err)
	}
	var id string
	if err = s.snap.QueryRow(ctx, "SELECT pg_export_snapshot()").Scan(&id); err != nil {
		return nil, fmt.Errorf("%s: export snapshot: %w", role, err)
	}
	s.all = make([]*pgx.Conn, n)
	g, gctx := errgroup.WithContext(ctx)
	for i := range s.all {
		g.Go(func() error {
			c, err := connect(gctx, role, url)
			if err != nil {
				return err
			}
			s.all[i] = c
			if _, err := c.Exec(gctx, "BEGIN ISOLATION LEVEL REPEATABLE READ READ ONLY"); err != nil {
				return fmt.Errorf("%s: %w", role, err)
			}
			if _, err := c.Exec(gctx, "SET TRANSACTION SNAPSHOT '"+id+"'"); err != nil {
				return fmt.Errorf("%s: import snapshot: %w", role, err)
			}
			return nil
		})
	}
	if err = g.Wait(); err != nil {
		return nil, err
	}
	for _, c := range s.all {
		s.conns <- c
	}
	return s, nil
}

// letRunsStart releases the run lock openSet holds shared, if it does.
func (s *connSet) letRunsStart(ctx context.Context) error {
	if !s.runsHeldOff {
		return nil
	}
	s.runsHeldOff = false
	if err := migrations.LetRunsStart(ctx, s.snap); err != nil {
		return fmt.Errorf("%s: %w", s.role, err)
	}
	return nil
}

// get waits for a free connection.
func (s *connSet) get(ctx context.Context) (*pgx.Conn, error) {
	select {
	case c := <-s.conns:
		return c, nil
	case <-ctx.Done():
		return nil, ctx.Err()
	}
}

func (s *connSet) put(c *pgx.Conn) { s.conns <- c }

func (s *connSet) close() error {
	if s == nil {
		return nil
	}
	var errs []error
	ctx := context.Background()
	for _, c := range append(s.all, s.snap) {
		if c == nil {
			continue
		}
		c.Exec(ctx, "ROLLBACK")
		errs = append(errs, c.Close(ctx))
	}
	return errors.Join(errs...)
}
