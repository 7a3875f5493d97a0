package load

// This file orders the mappings of a phase: parents before children,
// or children first, as many at once as the workers allow.

import (
	"context"
	"fmt"
	"slices"
	"sync"

	"golang.org/x/sync/errgroup"

	"github.com/cutover/cutover/mappings"
)

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
	var n, rows, running, totalRows int64
	tableRows := s.sourceRows()
	for _, m := range ms {
		totalRows += tableRows[m.Legacy]
	}
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
			mu.Lock()
			running += tableRows[m.Legacy]
			mu.Unlock()
			end := s.steps.begin(phase + " " + m.Name())
			err := f(gctx, m)
			end()
			if err != nil {
				return &StepError{Table: m.Legacy, Err: fmt.Errorf("%s %s: %w%s", phase, m.Name(), err, sqlstateHint(err))}
			}
			close(finished[m.Name()])
			mu.Lock()
			n++
			rows += tableRows[m.Legacy]
			running -= tableRows[m.Legacy]
			s.cfg.Progress(Event{Phase: phase, Table: m.Name(), Done: n, Total: int64(len(ms)), Rows: rows, TotalRows: totalRows, Running: running}) // under the lock: in order
			mu.Unlock()
			return nil
		})
	}
	return g.Wait()
}

// sourceRows counts the rows of each legacy table that the extract
// counted (checksummed or copied): the measure of a mapping's work in
// progress events. It reads s.sums, which no phase after the extract
// writes.
func (s *session) sourceRows() map[string]int64 {
	n := map[string]int64{}
	for _, b := range s.batches {
		n[b.Table] += s.sums[batchKey(b.Table, b.No)].Rows
	}
	return n
}
