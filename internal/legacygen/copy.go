package legacygen

import (
	"context"
	"errors"
	"fmt"
	"os"
	"slices"
	"time"

	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgxpool"
)

// table is one legacy table: its columns (in the order fill emits values)
// and the generator that streams its rows.
type table struct {
	name string
	cols []string
	fill func(s *sink)
}

// sink batches the rows of one table for the COPY that consumes them.
type sink struct {
	ch    chan [][]any
	stop  <-chan struct{}
	buf   [][]any
	bytes int
}

var errStopped = errors.New("legacygen: copy stopped")

const (
	batchRows  = 512
	batchBytes = 4 << 20
)

// row emits one row; values are in the order of the table's columns.
func (s *sink) row(v ...any) {
	s.buf = append(s.buf, v)
	if len(s.buf) >= batchRows || s.bytes >= batchBytes {
		s.flush()
	}
}

// weigh tells the sink that the next row is large, so batches stay small.
func (s *sink) weigh(n int) { s.bytes += n }

func (s *sink) flush() {
	if len(s.buf) == 0 {
		return
	}
	select {
	case <-s.stop:
		panic(errStopped)
	default:
	}
	select {
	case s.ch <- s.buf:
	case <-s.stop:
		panic(errStopped)
	}
	s.buf = make([][]any, 0, batchRows)
	s.bytes = 0
}

// copyAll copies every table, at most o.Parallel at a time, each only after
// the tables its foreign keys point at are committed.
// weight estimates a table's share of the work, for scheduling.
var weight = map[string]int{
	"habit_completions": 100, "points_ledger": 80, "activity_events": 50, "exercise_sets": 50, "focus_sessions": 40,
	"analysis_frame_data": 30, "audit_log": 12, "daily_plans": 10, "reading_sessions": 10, "calendar_events": 8,
	"inbox_items": 8, "focus_pause_state": 6, "personal_records": 6, "workout_sessions": 5, "analysis_events": 5,
}

// copyAll copies every table, at most o.Parallel at a time, each only after
// the tables its foreign keys point at are committed. Among the tables that
// are ready, the one heading the heaviest chain of dependants goes first.
func (g *gen) copyAll(ctx context.Context, pool *pgxpool.Pool, deps map[string][]string) (map[string]int64, error) {
	tables := g.tables()
	byName := map[string]*table{}
	for _, t := range tables {
		byName[t.name] = t
	}
	children := map[string][]string{}
	for child, parents := range deps {
		if byName[child] == nil {
			return nil, fmt.Errorf("legacygen: no generator for table %s", child)
		}
		for _, p := range parents {
			if byName[p] == nil {
				return nil, fmt.Errorf("legacygen: no generator for table %s (parent of %s)", p, child)
			}
			children[p] = append(children[p], child)
		}
	}
	prio := map[string]int{}
	var chain func(string) int
	chain = func(n string) int {
		if v, ok := prio[n]; ok {
			return v
		}
		best := 0
		for _, c := range children[n] {
			best = max(best, chain(c))
		}
		prio[n] = max(1, weight[n]) + best
		return prio[n]
	}
	pending := slices.Clone(tables)
	slices.SortStableFunc(pending, func(a, b *table) int { return chain(b.name) - chain(a.name) })

	ctx, cancel := context.WithCancel(ctx)
	defer cancel()

	type result struct {
		name string
		n    int64
		err  error
	}
	results := make(chan result)
	counts := map[string]int64{}
	done := map[string]bool{}
	running := 0
	var firstErr error
	start := time.Now()
	for len(pending) > 0 || running > 0 {
		for firstErr == nil && running < g.o.Parallel {
			k := slices.IndexFunc(pending, func(t *table) bool {
				return !slices.ContainsFunc(deps[t.name], func(p string) bool { return !done[p] })
			})
			if k < 0 {
				break
			}
			t := pending[k]
			pending = slices.Delete(pending, k, k+1)
			running++
			go func() {
				t0 := time.Now()
				conn, err := pool.Acquire(ctx)
				if err != nil {
					results <- result{t.name, 0, err}
					return
				}
				defer conn.Release()
				n, err := copyTable(ctx, conn.Conn(), t)
				if trace && err == nil {
					fmt.Fprintf(os.Stderr, "legacygen: %7.3fs %-28s %8d rows in %v\n", time.Since(start).Seconds(), t.name, n, time.Since(t0).Round(time.Millisecond))
				}
				results <- result{t.name, n, err}
			}()
		}
		if running == 0 {
			if firstErr == nil && len(pending) > 0 {
				firstErr = fmt.Errorf("legacygen: cannot order tables: %s wait for each other", pending[0].name)
			}
			break
		}
		res := <-results
		running--
		if res.err != nil && firstErr == nil {
			firstErr = res.err
			cancel()
		}
		counts[res.name] = res.n
		done[res.name] = true
	}
	if firstErr != nil {
		return nil, firstErr
	}
	return counts, nil
}

// trace (LEGACYGEN_TRACE=1) logs each table's copy.
var trace = os.Getenv("LEGACYGEN_TRACE") != ""

// copyTable streams t's rows into one binary COPY: the generator runs in its
// own goroutine, so generating and encoding overlap.
func copyTable(ctx context.Context, conn *pgx.Conn, t *table) (int64, error) {
	ch := make(chan [][]any, 2)
	stop := make(chan struct{})
	var genErr error
	go func() {
		defer close(ch)
		defer func() {
			if p := recover(); p != nil && p != errStopped {
				genErr = fmt.Errorf("legacygen: generate %s: %v", t.name, p)
			}
		}()
		s := &sink{ch: ch, stop: stop, buf: make([][]any, 0, batchRows)}
		t.fill(s)
		s.flush()
	}()
	var cur [][]any
	i := 0
	src := pgx.CopyFromFunc(func() ([]any, error) {
		for i >= len(cur) {
			b, ok := <-ch
			if !ok {
				return nil, genErr // channel closed after genErr was set
			}
			cur, i = b, 0
		}
		i++
		return cur[i-1], nil
	})
	n, err := conn.CopyFrom(ctx, pgx.Identifier{t.name}, t.cols, src)
	close(stop)
	for range ch { // let the generator finish
	}
	if err == nil {
		err = genErr
	}
	if err != nil {
		return 0, fmt.Errorf("legacygen: copy %s: %w", t.name, err)
	}
	return n, nil
}

// tables lists every table of the flavor (and the drift tables) with its
// generator.
func (g *gen) tables() []*table {
	var all []*table
	add := func(ts ...*table) {
		for _, t := range ts {
			if slices.ContainsFunc(all, func(x *table) bool { return x.name == t.name }) {
				continue
			}
			if isDrift(t.name) && !g.o.Drift || !flavorHas(g.o.Flavor, t.name) {
				continue
			}
			all = append(all, t)
		}
	}
	// The heaviest tables first: they start as soon as their parents are in.
	add(g.tHabitCompletions(), g.tPointsLedger(), g.tActivityEvents(), g.tFocusSessions(), g.tExerciseSets(),
		g.tAnalysisFrameData(), g.tAuditLog())
	add(g.authTables()...)
	add(g.gamificationTables()...)
	add(g.marketTables()...)
	add(g.focusTables()...)
	add(g.habitTables()...)
	add(g.questTables()...)
	add(g.planningTables()...)
	add(g.bookTables()...)
	add(g.fitnessTables()...)
	add(g.learnTables()...)
	add(g.referenceTables()...)
	add(g.platformTables()...)
	add(g.driftTables()...)
	return all
}
