package main

import (
	"context"
	"fmt"
	"io"
	"runtime"
	"strings"
	"sync"
	"time"

	"github.com/urfave/cli/v2"

	"github.com/cutover/cutover/load"
	"github.com/cutover/cutover/reconcile"
	"github.com/cutover/cutover/reconcile/report"
)

// Exit codes of verify (and of a dry run whose conservation preview fails).
const (
	exitFindings = 2 // something that must hold does not
)

func verifyCommand() *cli.Command {
	return &cli.Command{
		Name:  "verify",
		Usage: "prove a finished cutover from the two databases themselves",
		Description: "Recomputes everything from the source and the target, never from the run's own summary:\n" +
			"the conservation law of every legacy table key by key, every target table's rows, a\n" +
			"checksum of the shared columns of every mapping (narrowed down to the missing, extra\n" +
			"and changed rows), foreign keys, tenancy, natural keys and feed order, and the wallets\n" +
			"against their ledger (a finding, not a failure). Both databases are only read.\n\n" +
			"Exit status: 0 when everything that must hold holds, 2 when something does not, 1 when\n" +
			"it cannot verify (e.g. a database is unreachable).",
		Flags: []cli.Flag{
			sourceFlag(), targetFlag(),
			workersFlag("checks run at once (each holds one connection per database)", min(8, max(2, runtime.NumCPU()))),
			&cli.IntFlag{Name: "samples", Usage: "findings listed per check and table (the counts are always complete)", Value: 20},
			reportDirFlag(),
		},
		Action: func(c *cli.Context) error {
			prog := newVerifyProgress(c.App.ErrWriter)
			src, dst, workers := c.String("source"), c.String("target"), c.Int("workers")
			res, err := reconcile.Verify(c.Context, reconcile.Config{
				SourceURL: src, TargetURL: dst,
				Workers: workers, Samples: c.Int("samples"),
				Progress: prog.event, Logger: logger(c),
				SourceChanged: func(ctx context.Context) (string, error) {
					return load.SourceChanges(ctx, load.Config{SourceURL: src, TargetURL: dst, Workers: workers, Logger: logger(c)})
				},
			})
			prog.close()
			if err != nil {
				return err
			}
			rep := report.FromVerify(res, report.Options{})
			if err := printReport(c, rep, 25); err != nil {
				return err
			}
			if !res.OK() {
				return cli.Exit("", exitFindings)
			}
			return nil
		},
	}
}

// writeReports writes report.json, report.md and report.html when
// --report-dir is set, and returns the line that says so ("" when it is
// not), for after the summary. Call it before the summary goes to stdout:
// a stdout closed early (`| head`, a pager quit) ends the process at its
// next write there (SIGPIPE), and the reports asked for would be lost.
func writeReports(c *cli.Context, rep *report.Report) (string, error) {
	dir := c.String("report-dir")
	if dir == "" {
		return "", nil
	}
	if err := report.WriteDir(dir, rep); err != nil {
		return "", err
	}
	return fmt.Sprintf("reports written: %s/report.json, report.md, report.html", dir), nil
}

// printReport writes the text summary of rep (samples findings per check
// and table) on stdout, after the reports (writeReports), then the line
// that says where those are on stderr.
// A report that cannot be written (a full disk) is said after the
// summary, which the work's result is not lost with.
func printReport(c *cli.Context, rep *report.Report, samples int) error {
	written, reportErr := writeReports(c, rep)
	if err := report.WriteText(c.App.Writer, rep, samples); err != nil {
		return err
	}
	if reportErr != nil {
		return reportErr
	}
	if written != "" {
		fmt.Fprintln(c.App.ErrWriter, written)
	}
	return nil
}

// verifyProgress shows how many checks are done: a bar on a terminal, a
// line every few seconds otherwise.
type verifyProgress struct {
	mu   sync.Mutex
	w    io.Writer
	tty  bool
	last time.Time
	done bool
}

func newVerifyProgress(w io.Writer) *verifyProgress {
	return &verifyProgress{w: w, tty: isTerminal(w), last: time.Now()}
}

func (p *verifyProgress) event(e reconcile.Event) {
	p.mu.Lock()
	defer p.mu.Unlock()
	switch {
	case e.Message != "": // a lock wait: a line of its own, ending the bar's
		if p.tty && !p.done {
			fmt.Fprint(p.w, "\r\033[K")
		}
		fmt.Fprintf(p.w, "verify: %s\n", e.Message)
	case p.tty:
		fmt.Fprintf(p.w, "\rverify: %d/%d checks", e.Done, e.Total)
		p.done = false
	case time.Since(p.last) > 3*time.Second:
		p.last = time.Now()
		fmt.Fprintf(p.w, "verify: %d/%d checks (last: %s)\n", e.Done, e.Total, strings.TrimSpace(e.Check+" "+e.Table))
	}
}

func (p *verifyProgress) close() {
	p.mu.Lock()
	defer p.mu.Unlock()
	if p.tty && !p.done {
		fmt.Fprint(p.w, "\r\033[K")
		p.done = true
	}
}
