package main

import (
	"runtime"
	"slices"
	"strings"

	"github.com/urfave/cli/v2"

	"github.com/cutover/cutover/internal/dburl"
	"github.com/cutover/cutover/load"
	"github.com/cutover/cutover/reconcile"
	"github.com/cutover/cutover/reconcile/report"
)

// reportDirFlag is --report-dir, shared by verify, diff and run --dry-run.
func reportDirFlag() *cli.StringFlag {
	return &cli.StringFlag{Name: "report-dir", Usage: "also write report.json, report.md and report.html (one self-contained file) into this directory",
		EnvVars: []string{"CUTOVER_REPORT_DIR"},
		Action:  func(_ *cli.Context, dir string) error { return report.PrepareDir(dir) }} // before the work, not after it
}

// defaultSamples is the row diffs a dry run shows per target table.
const defaultSamples = 3

func diffCommand() *cli.Command {
	return &cli.Command{
		Name:  "diff",
		Usage: "show what `cutover run` would do, writing nothing (the same as run --dry-run)",
		Description: "Runs the whole pipeline (detect, extract from one snapshot, transform, decide) into a\n" +
			"scratch schema of the target, compares the decisions with the target and drops the\n" +
			"scratch schema: per target table the rows a run would insert, update and delete (with\n" +
			"sample row diffs), per legacy table the conservation preview, and the rejects by reason.\n" +
			"The application tables and the bookkeeping are not touched; the source is only read.",
		Flags: []cli.Flag{
			sourceFlag(), targetFlag(),
			workersFlag("parallel readers and writers", runtime.NumCPU()),
			&cli.BoolFlag{Name: "no-sessions", Usage: "preview a run that discards every session", EnvVars: []string{"CUTOVER_NO_SESSIONS"}},
			&cli.BoolFlag{Name: "full", Usage: "preview cutover run --full: every mapping redone, so no change in the target is left alone"},
			samplesFlag("row diffs shown per target table"),
			maxRejectsFlag(),
			reportDirFlag(),
		},
		Action: func(c *cli.Context) error {
			return dryRun(c, load.Config{
				SourceURL: c.String("source"), TargetURL: c.String("target"),
				Workers: c.Int("workers"), NoSessions: c.Bool("no-sessions"), Full: c.Bool("full"), MaxRejects: c.Int64("max-rejects"),
			})
		},
	}
}

// dryRun runs load.DryRun with progress on stderr, prints the summary on
// stdout and writes the reports when --report-dir is set. It fails (exit 2)
// only when the conservation law would not hold, when the target refuses
// rows the run would load, or when a run's --max-rejects (run --dry-run)
// would stop it.
func dryRun(c *cli.Context, cfg load.Config) error {
	samples := c.Int("samples") // at least 1 (samplesFlag)
	prog := newProgress(c.App.ErrWriter)
	cfg.Progress = prog.event
	cfg.Logger = logger(c)
	d, err := load.DryRun(c.Context, cfg, samples)
	prog.close()
	if err != nil {
		return err
	}
	rep := report.FromDryRun(d, dburl.Describe(cfg.SourceURL), dburl.Describe(cfg.TargetURL), true, report.Options{})
	if err := printReport(c, rep, 2*samples); err != nil {
		return err
	}
	if !rep.OK {
		var why []string
		if rep.Totals.LegacyTablesHolding < rep.Totals.LegacyTables {
			why = append(why, "the conservation law would not hold for at least one legacy table")
		}
		if slices.ContainsFunc(rep.Findings, func(f report.Finding) bool { return f.Kind == reconcile.KindRefusedRows }) {
			why = append(why, "the target refuses rows a run would load, and the run would stop there")
		}
		if slices.ContainsFunc(rep.Findings, func(f report.Finding) bool { return f.Kind == reconcile.KindTooManyRejects }) {
			why = append(why, "more rows would be rejected than --max-rejects allows, and the run would stop before it writes to the application tables")
		}
		return cli.Exit(strings.Join(why, "; ")+" (see FAIL above)", exitFindings)
	}
	return nil
}
