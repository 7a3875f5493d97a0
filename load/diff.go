package load

import (
	"context"
	"encoding/json"
	"fmt"
	"sort"
	"strings"
	"time"

	"github.com/google/go-cmp/cmp"

	"github.com/cutover/cutover/internal/dburl"
	"github.com/cutover/cutover/mappings"
)

// DryRunStage is the scratch schema of dry runs, apart from a real run's.
const DryRunStage = "cutover_dryrun"

// TableDiff is what a run would do to one target table.
type TableDiff struct {
	Table     string
	Insert    int64 // decided rows not in the target
	Update    int64 // decided rows in the target with other values
	Unchanged int64 // decided rows already right
	Delete    int64 // rows an earlier run wrote that are no longer decided
	// OnlyInTarget counts rows neither decided nor written by a cutover
	// (seeds, rows the application wrote).
	OnlyInTarget int64
	Samples      []RowDiff
}

// Changes is the rows a run would write in this table.
func (d TableDiff) Changes() int64 { return d.Insert + d.Update + d.Delete }

// RowDiff shows one row a run would update, rendered with go-cmp.
type RowDiff struct {
	Key  string
	Diff string // "-target +decided"
}

// Diff is the report of a dry run.
type Diff struct {
	Flavor string
	// Tables: the conservation preview per legacy table (as Summary).
	Tables  []TableResult
	Targets []TableDiff
	// Rejects the run would record, by reason.
	Reasons []ReasonCount
	Elapsed time.Duration
}

// Changes is the application rows a run would write in all.
func (d *Diff) Changes() int64 {
	var n int64
	for _, t := range d.Targets {
		n += t.Changes()
	}
	return n
}

// DryRun runs the whole pipeline — detect, extract from one snapshot,
// transform, decide — and compares the decisions with the target, writing
// nothing to the application tables or the bookkeeping schema. It uses a
// scratch schema (DryRunStage) in the target and drops it at the end.
// samples bounds the row diffs shown per table.
func DryRun(ctx context.Context, cfg Config, samples int) (*Diff, error) {
	cfg.defaults()
	s, err := open(ctx, cfg, DryRunStage)
	if err != nil {
		return nil, err
	}
	defer s.close()
	if err := checkSchema(ctx, cfg.TargetURL); err != nil {
		return nil, err
	}
	if s.pool, err = dburl.Pool(ctx, "target", cfg.TargetURL, int32(cfg.Workers+2)); err != nil {
		return nil, err
	}
	defer s.target.Exec(context.WithoutCancel(ctx), `DROP SCHEMA IF EXISTS `+ident(DryRunStage)+` CASCADE`)
	snap, readers, err := s.openSource(ctx)
	if err != nil {
		return nil, err
	}
	err = s.stageAll(ctx, snap, readers)
	closeSource(snap, readers)
	if err != nil {
		return nil, err
	}
	var hasLedger bool
	if err := s.target.QueryRow(ctx, `SELECT to_regclass($1) IS NOT NULL`, bk+".dispositions").Scan(&hasLedger); err != nil {
		return nil, err
	}
	ledger := bk
	if !hasLedger {
		// A target no cutover has written to: nothing is owned yet.
		ledger = DryRunStage
		if _, err := s.target.Exec(ctx, `CREATE TABLE `+ident(DryRunStage)+`.dispositions
			(legacy_table text, legacy_key text, disposition text, target_table text, target_id uuid)`); err != nil {
			return nil, err
		}
	}
	s.ledger = ledger
	if err := s.prepare(ctx); err != nil {
		return nil, err
	}
	plans, err := s.decide(ctx)
	if err != nil {
		return nil, err
	}
	return s.diff(ctx, plans, samples)
}

func (s *session) diff(ctx context.Context, plans map[string]*Plan, samples int) (*Diff, error) {
	out := &Diff{Flavor: s.src.Flavor}
	byTable := map[string]*TableDiff{}
	reasons := map[[2]string]int64{}
	for _, m := range s.ms {
		p := plans[m.Name()]
		d := DecisionTable(s.stage, m.Legacy)
		r := TableResult{Legacy: m.Legacy, Mapping: m.Name(), Target: m.Target, Finished: true}
		rows, err := s.pool.Query(ctx, `SELECT _disp, coalesce(_reason, ''), count(*) FROM `+d+` GROUP BY 1, 2`)
		if err != nil {
			return nil, fmt.Errorf("diff %s: %w", m.Name(), err)
		}
		for rows.Next() {
			var disp, reason string
			var n int64
			if err := rows.Scan(&disp, &reason, &n); err != nil {
				return nil, err
			}
			r.Source += n
			switch mappings.Disposition(disp) {
			case mappings.Loaded:
				r.Loaded += n
			case mappings.Merged:
				r.Merged += n
			case mappings.Folded:
				r.Folded += n
			case mappings.Archived:
				r.Archived += n
			case mappings.Discarded:
				r.Discarded += n
			case mappings.Rejected:
				r.Rejected += n
			}
			if disp != "loaded" && disp != "folded" {
				reasons[[2]string{disp, reason}] += n
			}
		}
		if err := rows.Err(); err != nil {
			return nil, err
		}
		out.Tables = append(out.Tables, r)
		if p.Rows == "" || m.Target == "" {
			continue
		}
		td := byTable[m.Target]
		if td == nil {
			td = &TableDiff{Table: m.Target}
			byTable[m.Target] = td
		}
		if err := s.diffMapping(ctx, p, td, samples); err != nil {
			return nil, fmt.Errorf("diff %s: %w", m.Name(), err)
		}
	}
	targets, err := readTargets(ctx, s.pool)
	if err != nil {
		return nil, err
	}
	names := make([]string, 0, len(targets))
	for t := range targets {
		names = append(names, t)
	}
	sort.Strings(names)
	for _, t := range names {
		td := byTable[t]
		if td == nil {
			td = &TableDiff{Table: t}
		}
		var total int64
		if err := s.pool.QueryRow(ctx, "SELECT count(*) FROM public."+ident(t)).Scan(&total); err != nil {
			return nil, err
		}
		td.OnlyInTarget = max(0, total-td.Update-td.Unchanged-td.Delete)
		out.Targets = append(out.Targets, *td)
	}
	for k, n := range reasons {
		out.Reasons = append(out.Reasons, ReasonCount{Disposition: k[0], Reason: k[1], Rows: n})
	}
	sort.Slice(out.Reasons, func(i, j int) bool {
		if out.Reasons[i].Rows != out.Reasons[j].Rows {
			return out.Reasons[i].Rows > out.Reasons[j].Rows
		}
		return out.Reasons[i].Disposition+out.Reasons[i].Reason < out.Reasons[j].Disposition+out.Reasons[j].Reason
	})
	out.Elapsed = time.Since(s.started)
	return out, nil
}

// diffMapping counts what applying one mapping would do to its target.
func (s *session) diffMapping(ctx context.Context, p *Plan, td *TableDiff, samples int) error {
	tgt := "public." + ident(p.M.Target)
	var on, cmpV, cmpT []string
	pk := map[string]bool{}
	for _, c := range p.PK {
		on = append(on, "t."+ident(c)+" = v."+ident(c))
		pk[c] = true
	}
	for _, c := range p.TargetCols {
		if !pk[c] {
			cmpV = append(cmpV, "v."+ident(c))
			cmpT = append(cmpT, "t."+ident(c))
		}
	}
	same := "true"
	if len(cmpV) > 0 {
		same = "(" + strings.Join(cmpT, ", ") + ") IS NOT DISTINCT FROM (" + strings.Join(cmpV, ", ") + ")"
	}
	firstPK := "t." + ident(p.PK[0])
	join := "FROM (" + p.Rows + ") v LEFT JOIN " + tgt + " t ON " + strings.Join(on, " AND ")
	var ins, upd, unch int64
	if err := s.pool.QueryRow(ctx, `SELECT count(*) FILTER (WHERE `+firstPK+` IS NULL),
		count(*) FILTER (WHERE `+firstPK+` IS NOT NULL AND NOT `+same+`),
		count(*) FILTER (WHERE `+firstPK+` IS NOT NULL AND `+same+`) `+join).Scan(&ins, &upd, &unch); err != nil {
		return err
	}
	var del int64
	if err := s.pool.QueryRow(ctx, p.RemoveCount).Scan(&del); err != nil {
		return err
	}
	td.Insert += ins
	td.Update += upd
	td.Unchanged += unch
	td.Delete += del
	if upd == 0 || len(td.Samples) >= samples {
		return nil
	}
	cols := make([]string, 0, len(p.TargetCols))
	for _, c := range p.TargetCols {
		cols = append(cols, lit(c)+", "+"%s."+ident(c))
	}
	obj := func(alias string) string {
		return "jsonb_build_object(" + strings.ReplaceAll(strings.Join(cols, ", "), "%s", alias) + ")"
	}
	rows, err := s.pool.Query(ctx, `SELECT `+obj("t")+`, `+obj("v")+` `+join+` WHERE `+firstPK+` IS NOT NULL AND NOT `+same+
		` ORDER BY `+firstPK+` LIMIT `+fmt.Sprint(samples-len(td.Samples)))
	if err != nil {
		return err
	}
	for rows.Next() {
		var have, want []byte
		if err := rows.Scan(&have, &want); err != nil {
			return err
		}
		var h, w map[string]any
		if err := json.Unmarshal(have, &h); err != nil {
			return err
		}
		if err := json.Unmarshal(want, &w); err != nil {
			return err
		}
		key := make([]string, len(p.PK))
		for i, c := range p.PK {
			key[i] = fmt.Sprint(w[c])
		}
		redact(p.M.Target, h)
		redact(p.M.Target, w)
		td.Samples = append(td.Samples, RowDiff{Key: strings.Join(key, ","), Diff: cmp.Diff(h, w)})
	}
	return rows.Err()
}

// secretColumns never appear in reports or diffs.
var secretColumns = map[string]bool{
	"token": true, "access_token": true, "refresh_token": true, "id_token": true,
	"session_state": true, "credential_public_key": true, "password": true, "password_hash": true,
}

func redact(_ string, row map[string]any) {
	for k := range row {
		if secretColumns[k] {
			row[k] = "[redacted]"
		}
	}
}
