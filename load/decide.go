package load

// This file is the run's prepare and decide phases: the Go transforms,
// the plans, and the decision tables of the mappings a run redoes.

import (
	"context"
	"fmt"
	"strings"
	"time"

	"github.com/cutover/cutover/extract"
	"github.com/cutover/cutover/internal/prose"
	"github.com/cutover/cutover/internal/rowjson"
	"github.com/cutover/cutover/mappings"
)

// prepare runs the Go transforms whose results the mappings read.
func (s *session) prepare(ctx context.Context) error {
	for _, m := range subset(s.ms, s.only.decide) {
		switch {
		case m.Prepare == mappings.TypeQuests:
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
		case m.Prepare == mappings.DeriveMarketKeys:
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
	return s.plansJudgedAt(ctx, nil)
}

// plansJudgedAt is plans, with the mappings of judgedAt judging time
// against the time it gives them instead of the run's start (see
// judgedAt).
func (s *session) plansJudgedAt(ctx context.Context, judgedAt map[string]string) (map[string]*Plan, error) {
	var q extract.Querier = s.target
	if s.pool != nil {
		q = s.pool
	}
	targets, err := readTargets(ctx, q)
	if err != nil {
		return nil, err
	}
	params := Params{Stage: s.stage, RunStarted: s.runStarted(), NoSessions: s.cfg.NoSessions, Ledger: s.ledger,
		UUID: map[string]bool{}, Read: map[string]bool{}, Columns: map[string][]rowjson.Column{}}
	parents := map[string]mappings.Mapping{}
	for _, m := range s.ms {
		parents[m.Legacy] = m
		for _, a := range m.After {
			params.Read[a] = true
		}
		var cols []rowjson.Column
		for _, c := range s.src.Table(m.Legacy).Columns {
			if c.Type == "uuid" {
				params.UUID[m.Legacy+"."+c.Name] = true
			}
			cols = append(cols, rowjson.Column{Name: c.Name, Type: c.Type})
		}
		params.Columns[m.Legacy] = cols
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
		mp := params
		if at, ok := judgedAt[m.Name()]; ok {
			mp.RunStarted = at
		}
		p, err := BuildPlan(m, source, targets, parents, mp)
		if err != nil {
			return nil, err
		}
		out[m.Name()] = p
	}
	s.refs = buildRefGraph(out, s.ms, targets, ident(params.ledger())+".dispositions")
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
		return fmt.Errorf("%w: %s would be rejected, more than --max-rejects %d; nothing was written to the application tables (run `cutover diff` to see them)",
			ErrTooManyRejects, prose.Count(n, "row", "rows"), s.cfg.MaxRejects)
	}
	return nil
}
