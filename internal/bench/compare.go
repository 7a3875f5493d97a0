package bench

import (
	"cmp"
	"context"
	"fmt"
	"io"
	"slices"
	"strings"
	"text/tabwriter"
	"time"

	"github.com/jackc/pgx/v5"

	"github.com/cutover/cutover/internal/dburl"
)

// Comparison is `cutover run` of the measured binary against another
// binary's (Options.Compare), in rounds on the same servers and source that
// alternate which of the two goes first, each run on a target reset and
// migrated by the binary that runs. A single bench run moves by 10–20 %
// with the machine's hour; two engines measured this way share the hour.
type Comparison struct {
	Other string `json:"other"` // the other binary's path
	// This and Others are the runs of each binary, round by round.
	This   []Measurement `json:"this"`
	Others []Measurement `json:"others"`
	// ThisMedian and OtherMedian are the median wall times of the runs
	// that finished (0: none did); Ratio is ThisMedian over OtherMedian
	// (below 1: the measured binary is faster), 0 when either is missing.
	ThisMedian  Seconds `json:"this_median_seconds"`
	OtherMedian Seconds `json:"other_median_seconds"`
	Ratio       float64 `json:"ratio"`
	// Phases compares the engines phase by phase (connection-seconds from
	// the runs' profiles), costliest first: a phase neither engine changed
	// that differs as much as the wall time says the machine, not the
	// engine, made the difference.
	Phases []PhaseComparison `json:"phases,omitempty"`
}

// PhaseComparison is one phase's median busy time in each binary's runs
// that finished (a run without the phase counts as 0).
type PhaseComparison struct {
	Name      string  `json:"name"`
	ThisBusy  Seconds `json:"this_busy_seconds"`
	OtherBusy Seconds `json:"other_busy_seconds"`
}

// comparePhases lists the phases of this's and others' profiles with their
// median busy times, costliest first, leaving out those under 0.1 s in both.
func comparePhases(this, others []Measurement) []PhaseComparison {
	var names []string
	for _, m := range append(slices.Clone(this), others...) {
		if m.ok() && m.Phases != nil {
			for _, p := range m.Phases.Phases {
				if !slices.Contains(names, p.Name) {
					names = append(names, p.Name)
				}
			}
		}
	}
	busy := func(ms []Measurement, name string) Seconds {
		var per []time.Duration
		for _, m := range ms {
			if !m.ok() || m.Phases == nil {
				continue
			}
			var b time.Duration
			for _, p := range m.Phases.Phases {
				if p.Name == name {
					b = p.Busy.D()
				}
			}
			per = append(per, b)
		}
		return median(per)
	}
	var out []PhaseComparison
	for _, n := range names {
		pc := PhaseComparison{Name: n, ThisBusy: busy(this, n), OtherBusy: busy(others, n)}
		if max(pc.ThisBusy, pc.OtherBusy) >= Seconds(100*time.Millisecond) {
			out = append(out, pc)
		}
	}
	slices.SortStableFunc(out, func(a, b PhaseComparison) int {
		return cmp.Compare(max(b.ThisBusy, b.OtherBusy), max(a.ThisBusy, a.OtherBusy))
	})
	return out
}

// compare takes the comparison's rounds; args are `cutover run`'s flags.
// It fails only when the target cannot be reset.
func compare(ctx context.Context, o *Options, srv *servers, r *Report, args []string) (*Comparison, error) {
	c := &Comparison{Other: o.Compare}
	bins := []struct {
		label, path string
		runs        *[]Measurement
	}{{"this", o.Binary, &c.This}, {"other", o.Compare, &c.Others}}
	for round := 1; round <= o.Rounds; round++ {
		order := []int{0, 1}
		if round%2 == 0 {
			order = []int{1, 0}
		}
		for _, i := range order {
			b := bins[i]
			name := fmt.Sprintf("cutover run (%s, round %d)", b.label, round)
			if err := resetTarget(ctx, srv.target); err != nil {
				return nil, fmt.Errorf("bench: compare: %w", err)
			}
			var m Measurement
			if p, err := runProc(ctx, b.path, srv.env(), "schema", "apply"); err != nil || p.exit != 0 {
				note := fmt.Sprint(err)
				if err == nil {
					note = p.exitNote(srv)
				}
				m = Measurement{Name: name, Status: StatusFailed, Note: "schema apply: " + note}
			} else {
				load := settle(ctx, srv.source, srv.targetAdmin)
				m = measureCommand(ctx, o, srv, b.path, name, append([]string{"run"}, args...))
				m.LoadAvg = load
				if m.ok() {
					// A binary that exits 0 without running a cutover (not a
					// cutover, say) measured nothing.
					switch done, err := finishedRun(ctx, srv.target); {
					case err != nil:
						m.Status, m.Note = StatusFailed, "read the target's runs: "+err.Error()
					case !done:
						m.Status, m.Note = StatusFailed, "it exited 0 but recorded no finished run in the target: not a cutover run"
					}
				}
				r.finish(&m)
			}
			o.logf("%s", m.line())
			*b.runs = append(*b.runs, m)
			if err := ctx.Err(); err != nil {
				return nil, err
			}
		}
	}
	c.ThisMedian, c.OtherMedian = medianWall(c.This), medianWall(c.Others)
	if c.ThisMedian > 0 && c.OtherMedian > 0 {
		c.Ratio = c.ThisMedian.D().Seconds() / c.OtherMedian.D().Seconds()
	}
	c.Phases = comparePhases(c.This, c.Others)
	return c, nil
}

// finishedRun says whether the target records a finished cutover run.
func finishedRun(ctx context.Context, targetURL string) (bool, error) {
	conn, err := dburl.Connect(ctx, "target", targetURL)
	if err != nil {
		return false, err
	}
	defer conn.Close(context.WithoutCancel(ctx))
	var done bool
	if err := conn.QueryRow(ctx, `SELECT to_regclass('cutover.runs') IS NOT NULL`).Scan(&done); err != nil || !done {
		return false, err
	}
	err = conn.QueryRow(ctx, `SELECT EXISTS (SELECT FROM cutover.runs WHERE status = 'done')`).Scan(&done)
	return done, err
}

// medianWall is the median wall time of the measurements that finished.
func medianWall(ms []Measurement) Seconds {
	var walls []time.Duration
	for _, m := range ms {
		if m.ok() {
			walls = append(walls, m.Wall.D())
		}
	}
	return median(walls)
}

// median is the median of ds (0 when empty); it sorts ds.
func median(ds []time.Duration) Seconds {
	if len(ds) == 0 {
		return 0
	}
	slices.Sort(ds)
	n := len(ds)
	if n%2 == 1 {
		return Seconds(ds[n/2])
	}
	return Seconds((ds[n/2-1] + ds[n/2]) / 2)
}

// resetTarget empties the target database: it drops every schema but the
// system's (the application's, the bookkeeping, the stage) and creates an
// empty public schema, so that the next run is a first run.
func resetTarget(ctx context.Context, targetURL string) error {
	conn, err := dburl.Connect(ctx, "target", targetURL)
	if err != nil {
		return err
	}
	defer conn.Close(context.WithoutCancel(ctx))
	rows, err := conn.Query(ctx, `SELECT nspname FROM pg_namespace
		WHERE nspname NOT LIKE 'pg\_%' AND nspname <> 'information_schema' ORDER BY 1`)
	if err != nil {
		return fmt.Errorf("reset the target: %w", err)
	}
	schemas, err := pgx.CollectRows(rows, pgx.RowTo[string])
	if err != nil {
		return fmt.Errorf("reset the target: %w", err)
	}
	var drop []string
	for _, s := range schemas {
		drop = append(drop, pgx.Identifier{s}.Sanitize())
	}
	q := "CREATE SCHEMA public"
	if len(drop) > 0 {
		q = "DROP SCHEMA " + strings.Join(drop, ", ") + " CASCADE; " + q
	}
	if _, err := conn.Exec(ctx, q); err != nil {
		return fmt.Errorf("reset the target: %w", err)
	}
	return nil
}

// writeText writes the comparison for people: each round's two runs and
// the medians.
func (c *Comparison) writeText(w io.Writer) {
	fmt.Fprintf(w, "\nENGINE COMPARISON: `cutover run` of this binary against %s, rounds alternating which runs first\n", c.Other)
	tw := tabwriter.NewWriter(w, 0, 4, 2, ' ', tabwriter.AlignRight)
	fmt.Fprintln(tw, "ROUND\tTHIS\tOTHER\tTHIS/OTHER\t")
	wall := func(m Measurement) string {
		if !m.ok() {
			return m.Status
		}
		return m.Wall.String()
	}
	for i := range max(len(c.This), len(c.Others)) {
		var this, other Measurement
		if i < len(c.This) {
			this = c.This[i]
		}
		if i < len(c.Others) {
			other = c.Others[i]
		}
		ratio := "-"
		if this.ok() && other.ok() {
			ratio = fmt.Sprintf("%.3f", this.Wall.D().Seconds()/other.Wall.D().Seconds())
		}
		fmt.Fprintf(tw, "%d\t%s\t%s\t%s\t\n", i+1, wall(this), wall(other), ratio)
	}
	ratio := "-"
	if c.Ratio > 0 {
		ratio = fmt.Sprintf("%.3f", c.Ratio)
	}
	med := func(s Seconds) string { // none when no run of that binary finished
		if s <= 0 {
			return "-"
		}
		return s.String()
	}
	fmt.Fprintf(tw, "median\t%s\t%s\t%s\t\n", med(c.ThisMedian), med(c.OtherMedian), ratio)
	tw.Flush()
	if len(c.Phases) > 0 {
		fmt.Fprintln(w, "\nBY PHASE (median connection-seconds)")
		tw = tabwriter.NewWriter(w, 0, 4, 2, ' ', tabwriter.AlignRight)
		fmt.Fprintln(tw, "PHASE\tTHIS\tOTHER\tTHIS/OTHER\t")
		for _, p := range c.Phases {
			ratio := "-"
			if p.OtherBusy > 0 {
				ratio = fmt.Sprintf("%.3f", p.ThisBusy.D().Seconds()/p.OtherBusy.D().Seconds())
			}
			fmt.Fprintf(tw, "%s\t%.1f\t%.1f\t%s\t\n", p.Name, p.ThisBusy.D().Seconds(), p.OtherBusy.D().Seconds(), ratio)
		}
		tw.Flush()
	}
	for _, ms := range [][]Measurement{c.This, c.Others} {
		for _, m := range ms {
			if m.Note != "" {
				fmt.Fprintf(w, "  %s: %s\n", m.Name, indent(m.Note, "    "))
			}
		}
	}
}
