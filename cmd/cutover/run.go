package main

import (
	"errors"
	"fmt"
	"io"
	"runtime"
	"strings"
	"sync"
	"text/tabwriter"
	"time"

	"github.com/schollz/progressbar/v3"
	"github.com/urfave/cli/v2"

	"github.com/cutover/cutover/internal/dburl"
	"github.com/cutover/cutover/load"
	"github.com/cutover/cutover/migrations"
)

func runFlags() []cli.Flag {
	return []cli.Flag{
		sourceFlag(), targetFlag(),
		workersFlag("parallel readers and writers", runtime.NumCPU()),
		&cli.BoolFlag{Name: "no-sessions", Usage: "discard every session (forces every user to log in again)", EnvVars: []string{"CUTOVER_NO_SESSIONS"}},
		maxRejectsFlag(),
		&cli.BoolFlag{Name: "keep-stage", Usage: "keep the stage schema cutover_stage after the run", EnvVars: []string{"CUTOVER_KEEP_STAGE"}},
		&cli.BoolFlag{Name: "full", Usage: "redo every mapping even where the source is unchanged: writes back target rows changed behind the cutover's back (a plain re-run trusts its bookkeeping)"},
		&cli.BoolFlag{Name: "dry-run", Usage: "do everything but write: report what the run would change (as cutover diff does)"},
		samplesFlag("with --dry-run: row diffs shown per target table"),
		dryRunReportDir(),
	}
}

// dryRunReportDir is --report-dir as run has it: the dry run's report (a
// run's proof is `cutover verify --report-dir`).
func dryRunReportDir() *cli.StringFlag {
	f := reportDirFlag()
	f.Usage = "with --dry-run: " + f.Usage + " (for a run, cutover verify --report-dir writes its proof)"
	prepare := f.Action
	f.Action = func(c *cli.Context, dir string) error {
		if !c.Bool("dry-run") {
			return nil // a run writes no report (runAndReport says so)
		}
		return prepare(c, dir)
	}
	return f
}

func runCommand() *cli.Command {
	return &cli.Command{
		Name:  "run",
		Usage: "move the legacy database into the target (re-running it is safe)",
		Description: "Detects the legacy flavor, copies every table from one snapshot, maps it onto the\n" +
			"target schema and prints each legacy table's conservation line. The source is only read.\n" +
			"If the run stops for any reason, running the same command again finishes the job.",
		Flags: runFlags(),
		Action: func(c *cli.Context) error {
			cfg := load.Config{
				SourceURL: c.String("source"), TargetURL: c.String("target"),
				Workers: c.Int("workers"), NoSessions: c.Bool("no-sessions"),
				MaxRejects: c.Int64("max-rejects"), KeepStage: c.Bool("keep-stage"),
				Full: c.Bool("full"),
			}
			if c.Bool("dry-run") {
				return dryRun(c, cfg)
			}
			return runAndReport(c, cfg)
		},
	}
}

// runAndReport runs the cutover with progress on stderr and the summary on
// stdout; it fails when the conservation law fails for any table.
func runAndReport(c *cli.Context, cfg load.Config) error {
	if dir := c.String("report-dir"); dir != "" {
		fmt.Fprintf(c.App.ErrWriter, "note: --report-dir %s: a run without --dry-run writes no report; `cutover verify --report-dir` writes the proof of the run\n", dir)
	}
	prog := newProgress(c.App.ErrWriter)
	cfg.Progress = prog.event
	cfg.Logger = logger(c)
	sum, err := load.Run(c.Context, cfg)
	prog.close()
	if err != nil {
		return runError(err)
	}
	return reportSummary(c.App.Writer, sum)
}

// runError is err, a failed run's, with what the operator does next.
func runError(err error) error {
	switch {
	case load.Refused(err):
		return err // the same command is refused again: it needs another source or target, or a new build
	case errors.As(err, new(*migrations.RunningError)):
		return err // another run works: it says to wait for it; run again at once, and the same command is refused again
	case errors.Is(err, load.ErrTooManyRejects):
		// The same command stops again: the source or the limit must change.
		return fmt.Errorf("%w\nfix those rows in the source, or raise --max-rejects, then run again; repeating a run is safe", err)
	case load.NeedsAFix(err):
		// The same command stops at the same rows until they change. A
		// run stops at the first mapping's; the dry run names every
		// mapping's, so that they are fixed in one go.
		return fmt.Errorf("%w\nthe same command stops here again until the rows named change (`cutover diff` lists such rows of every mapping, not only this one's); then running it again is safe: finished work is kept and the rest is redone", err)
	case dburl.SaysRerunIsSafe(err):
		return err // a lost connection, or a server out of connections: its advice says it
	}
	return fmt.Errorf("%w\nre-running the same command is safe: finished work is kept and the rest is redone", err)
}

// reportSummary prints sum on w, a conservation line per legacy table,
// and fails (exit status 2) when the law fails for any of them.
func reportSummary(w io.Writer, sum *load.Summary) error {
	printSummary(w, sum)
	if !sum.OK() {
		return cli.Exit("the conservation law fails for at least one legacy table (see FAIL above)", 2)
	}
	return nil
}

// progress draws a bar on a terminal, or logs a line every few seconds.
type progress struct {
	mu    sync.Mutex
	w     io.Writer
	tty   bool
	bar   *progressbar.ProgressBar
	phase string
	last  time.Time
	start time.Time
	since time.Time // start of the current phase
	prev  time.Time // the last event: a phase's first count ends its first batch, so the phase began before it
	now   func() time.Time
}

func newProgress(w io.Writer) *progress {
	start := time.Now()
	return &progress{w: w, tty: isTerminal(w), start: start, prev: start, now: time.Now}
}

// rowPhases are the phases whose events count rows, with what is done to them.
var rowPhases = map[string]string{"checksum": "read", "extract": "copied"}

func (p *progress) event(e load.Event) {
	p.mu.Lock()
	defer p.mu.Unlock()
	now := p.now()
	defer func() { p.prev = now }()
	if e.Message != "" && e.Table == "" {
		p.finishBar()
		fmt.Fprintf(p.w, "[%6.1fs] %s: %s\n", now.Sub(p.start).Seconds(), e.Phase, e.Message)
		return
	}
	if e.Phase != p.phase {
		p.finishBar()
		p.phase = e.Phase
		// Rates count from the event before: the first count of a phase
		// comes when its first batch is done, and measured from then the
		// first line would report that batch's rows in no time.
		p.since = p.prev
	}
	// A bar counts rows, also of the mappings' phases when their rows are
	// known: its predicted time then weighs each mapping by its rows.
	done, total, unit := e.Done, e.Total, "tables"
	if rowPhases[e.Phase] != "" {
		unit = "rows"
	} else if e.TotalRows > 0 {
		done, total, unit = e.Rows, e.TotalRows, "rows"
	}
	left := ""
	if d, ok := e.Left(now.Sub(p.since)); ok && d >= time.Second {
		left = "about " + formatLeft(d) + " left"
	}
	// A new phase starts a bar; so does a phase whose bar a message line
	// (a lock wait, a heartbeat) ended. The bar says the time left that
	// the log lines say (Event.Left), not its own guess from the count,
	// which knows neither the rows found done nor the mappings under way.
	if p.tty && p.bar == nil {
		p.bar = progressbar.NewOptions64(total,
			progressbar.OptionSetWriter(p.w), progressbar.OptionSetDescription(e.Phase),
			progressbar.OptionShowCount(), progressbar.OptionShowIts(), progressbar.OptionSetItsString(unit),
			progressbar.OptionSetPredictTime(false), progressbar.OptionThrottle(100*time.Millisecond),
			progressbar.OptionFullWidth(), progressbar.OptionClearOnFinish())
	}
	if p.bar != nil {
		if total != p.bar.GetMax64() { // an estimate the counted rows replaced
			p.bar.ChangeMax64(total)
		}
		p.bar.Describe(fmt.Sprintf("%-7s %-28s %s", e.Phase, e.Table, left))
		p.bar.Set64(done)
	}
	if !p.tty && (now.Sub(p.last) > 2*time.Second || e.Done == e.Total) {
		p.last = now
		if verb := rowPhases[e.Phase]; verb != "" {
			// The rows found done came at no speed: the rate is of the others.
			kept, rate := "", ""
			switch checksummed := e.Kept - e.Resumed; {
			case e.Resumed > 0 && checksummed > 0:
				kept = fmt.Sprintf(", %d of them kept from an earlier run and %d copied while checksumming", e.Resumed, checksummed)
			case e.Resumed > 0:
				kept = fmt.Sprintf(", %d of them kept from an earlier run", e.Resumed)
			case checksummed > 0:
				kept = fmt.Sprintf(", %d of them copied while checksumming", checksummed)
			}
			if e.Done > e.Kept {
				rate = fmt.Sprintf("%.0f rows/s", float64(e.Done-e.Kept)/max(now.Sub(p.since).Seconds(), 1e-3))
				if left != "" {
					rate += ", " + left
				}
				rate += "; "
			}
			fmt.Fprintf(p.w, "[%6.1fs] %s: %d of %d rows %s%s (%slast: %s)\n", now.Sub(p.start).Seconds(), e.Phase, e.Done, e.Total, verb, kept, rate, e.Table)
		} else {
			weight := ""
			if e.TotalRows > 0 && e.Done < e.Total {
				weight = fmt.Sprintf("; %d%% of their rows", e.Rows*100/e.TotalRows)
				if left != "" {
					weight += ", " + left
				}
			}
			fmt.Fprintf(p.w, "[%6.1fs] %s: %d/%d (%s%s)\n", now.Sub(p.start).Seconds(), e.Phase, e.Done, e.Total, e.Table, weight)
		}
	}
}

// formatLeft renders an estimate of the time left as precisely as it can
// tell: seconds under a minute, then tens of seconds, then minutes
// ("27s", "2m30s", "25m", "1h5m").
func formatLeft(d time.Duration) string {
	switch {
	case d < time.Minute:
		d = d.Round(time.Second)
	case d < 10*time.Minute:
		d = d.Round(10 * time.Second)
	default:
		d = d.Round(time.Minute)
	}
	s := strings.Replace(d.String(), "m0s", "m", 1) // "25m0s", "1h5m0s"
	if strings.HasSuffix(s, "h0m") {
		s = strings.TrimSuffix(s, "0m") // "2h0m"
	}
	return s
}

func (p *progress) finishBar() {
	if p.bar != nil {
		p.bar.Finish()
		p.bar = nil
	}
}

func (p *progress) close() {
	p.mu.Lock()
	defer p.mu.Unlock()
	p.finishBar()
}

func printSummary(w io.Writer, s *load.Summary) {
	fmt.Fprintf(w, "\ncutover run %d (legacy %s) finished in %s; %d application rows written\n", s.RunID, s.Flavor, s.Duration.Round(time.Millisecond), s.Changed())
	if s.Space != nil {
		fmt.Fprintf(w, "target database: %s\n", s.Space)
	}
	fmt.Fprintln(w)
	tw := tabwriter.NewWriter(w, 0, 4, 2, ' ', tabwriter.AlignRight)
	fmt.Fprintln(tw, "LEGACY TABLE\tSOURCE\t= LOADED\t+ MERGED\t+ FOLDED\t+ ARCHIVED\t+ DISCARDED\t+ REJECTED\tLAW\t")
	var fails int
	for _, t := range s.Tables {
		law := "ok"
		if !t.Holds() {
			law = "FAIL"
			fails++
		}
		fmt.Fprintf(tw, "%s\t%d\t%d\t%d\t%d\t%d\t%d\t%d\t%s\t\n", t.Mapping, t.Source, t.Loaded, t.Merged, t.Folded, t.Archived, t.Discarded, t.Rejected, law)
	}
	tw.Flush()
	if s.TargetsCountedBy > 0 && s.TargetsCountedBy != s.RunID {
		fmt.Fprintf(w, "\nTARGET TABLE ROWS (as counted at the end of run %d, the last that wrote)\n", s.TargetsCountedBy)
	} else {
		fmt.Fprintln(w, "\nTARGET TABLE ROWS")
	}
	tw = tabwriter.NewWriter(w, 0, 4, 2, ' ', 0)
	for _, t := range s.Targets {
		fmt.Fprintf(tw, "  %s\t%d\n", t.Table, t.Rows)
	}
	tw.Flush()
	if len(s.Reasons) > 0 {
		fmt.Fprintln(w, "\nREASONS (rejected rows are in cutover.rejects with the original row)")
		tw = tabwriter.NewWriter(w, 0, 4, 2, ' ', 0)
		for i, r := range s.Reasons {
			if i == 15 {
				break
			}
			fmt.Fprintf(tw, "  %s\t%s\t%d\n", r.Disposition, r.Reason, r.Rows)
		}
		tw.Flush()
	}
	if len(s.ColumnLoss) > 0 {
		fmt.Fprintln(w, "\nDROPPED COLUMNS (non-NULL values in rows that reached the target)")
		for _, c := range s.ColumnLoss {
			fmt.Fprintf(w, "  %s.%s\t%d\n", c.Mapping, c.Column, c.NonNull)
		}
	}
	if len(s.SourceWrites) > 0 {
		fmt.Fprintf(w, "\nWARNING: %s\n", load.SourceWritesMessage(s.SourceWrites))
	}
	if fails == 0 {
		fmt.Fprintf(w, "\nconservation law holds for all %d legacy tables\n", len(s.Tables))
		fmt.Fprintln(w, "when the application goes live on this target: `cutover seal`, and no later run writes to it")
	} else {
		fmt.Fprintf(w, "\nconservation law FAILS for %d legacy table(s)\n", fails)
	}
}

// maxRejectsFlag is --max-rejects of run and of the dry runs: -1 (no
// limit) or a count of rows.
func maxRejectsFlag() *cli.Int64Flag {
	return &cli.Int64Flag{Name: "max-rejects", Usage: "stop before writing to the application tables when more rows than this would be rejected (-1: no limit)",
		Value: -1, EnvVars: []string{"CUTOVER_MAX_REJECTS"},
		Action: func(_ *cli.Context, n int64) error {
			if n < -1 {
				return fmt.Errorf("--max-rejects %d: give a count of rows, or -1 for no limit", n)
			}
			return nil
		}}
}
