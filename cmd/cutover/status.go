package main

import (
	"fmt"
	"io"
	"runtime"
	"text/tabwriter"
	"time"

	"github.com/dustin/go-humanize"
	"github.com/urfave/cli/v2"

	"github.com/cutover/cutover/load"
	"github.com/cutover/cutover/migrations"
)

func statusCommand() *cli.Command {
	return &cli.Command{
		Name:  "status",
		Usage: "show the runs, each legacy table's batches, the rejects, and what a re-run would do",
		Description: "Reads the bookkeeping the cutover keeps in the target (schema cutover); writes nothing and\n" +
			"takes no lock, so it can watch a run that is working. With --source it also checksums the\n" +
			"source (only read) as a run would, and tells exactly what running `cutover run` again would do.",
		Flags: []cli.Flag{
			targetFlag(),
			&cli.StringFlag{Name: "source", Usage: "legacy database URL, to tell exactly what a re-run would do (only read)", EnvVars: []string{"CUTOVER_SOURCE_URL"}},
			&cli.BoolFlag{Name: "no-sessions", Usage: "the re-run would discard every session (as run --no-sessions)", EnvVars: []string{"CUTOVER_NO_SESSIONS"}},
			workersFlag("parallel readers of the source", runtime.NumCPU()),
		},
		Action: func(c *cli.Context) error {
			rep, err := load.Status(c.Context, load.Config{
				TargetURL: c.String("target"), SourceURL: c.String("source"),
				NoSessions: c.Bool("no-sessions"), Workers: c.Int("workers"),
			})
			if err != nil {
				return err
			}
			printStatus(c.App.Writer, rep)
			return nil
		},
	}
}

func printStatus(w io.Writer, r *load.StatusReport) {
	if !r.Bookkeeping {
		printNext(w, r)
		printDryRun(w, r.DryRun, r.DryRunWorking)
		printStoppedDryRun(w, r.StoppedDryRun, r.Sealed != nil)
		return
	}
	printRuns(w, r.Runs)

	fmt.Fprintln(w, "\nTABLES (batches of each legacy table, by ranges of its pages)")
	tw := tabwriter.NewWriter(w, 0, 4, 2, ' ', tabwriter.AlignRight)
	changed := ""
	if r.SourceRead {
		changed = "CHANGED\t"
	}
	fmt.Fprintln(tw, "LEGACY TABLE\tBATCHES\tDONE\tPENDING\tFAILED\t"+changed+"RUN\tSOURCE ROWS\tREJECTED\t")
	var batches, done, pending, failed, nChanged, nMoved int
	for _, t := range r.Tables {
		run, rows, rejected := "-", "-", "-"
		if t.RunID > 0 {
			run = fmt.Sprint(t.RunID)
		}
		if t.Result != nil {
			rows, rejected = fmt.Sprint(t.Result.Source), fmt.Sprint(t.Result.Rejected)
		}
		if r.SourceRead {
			changed = fmt.Sprintf("%d\t", t.Changed)
		}
		fmt.Fprintf(tw, "%s\t%d\t%d\t%d\t%d\t%s%s\t%s\t%s\t\n", t.Legacy, t.Batches, t.Done, t.Pending, t.Failed, changed, run, rows, rejected)
		batches, done, pending, failed, nChanged, nMoved = batches+t.Batches, done+t.Done, pending+t.Pending, failed+t.Failed, nChanged+t.Changed, nMoved+t.Moved
	}
	tw.Flush()
	fmt.Fprintf(w, "%d tables, %d batches: %d done, %d pending, %d failed", len(r.Tables), batches, done, pending, failed)
	if r.SourceRead {
		fmt.Fprintf(w, "; %d changed in the source since they were loaded", nChanged)
		if nMoved > 0 {
			fmt.Fprintf(w, " (and %d done with their rows on other pages)", nMoved)
		}
	}
	fmt.Fprintln(w)

	if len(r.Rejects) > 0 {
		fmt.Fprintln(w, "\nREJECTS BY REASON (rows are in cutover.rejects with the original row)")
		tw = tabwriter.NewWriter(w, 0, 4, 2, ' ', 0)
		for _, c := range r.Rejects {
			fmt.Fprintf(tw, "  %s\t%d\n", c.Reason, c.Rows)
		}
		tw.Flush()
	}
	fmt.Fprintln(w)
	printNext(w, r)
	printWorking(w, "the run's", r.Working)
	printDryRun(w, r.DryRun, r.DryRunWorking)
	printStoppedDryRun(w, r.StoppedDryRun, r.Sealed != nil)
}

// printRuns lists the last ten runs, newest first: how each ended, the
// source it read (never a password), the process that ran it and the room
// it took.
func printRuns(w io.Writer, runs []load.RunInfo) {
	stamp := func(t time.Time) string { return t.UTC().Format("2006-01-02 15:04:05Z") }
	fmt.Fprintln(w, "RUNS (newest first)")
	tw := tabwriter.NewWriter(w, 0, 4, 2, ' ', 0)
	fmt.Fprintln(tw, "  RUN\tSTATUS\tSTARTED\tFINISHED\tSOURCE\tPROCESS\tROOM TAKEN\tERROR")
	for i, run := range runs {
		if i == 10 {
			fmt.Fprintf(tw, "  …\t%d more\n", len(runs)-i)
			break
		}
		finished := ""
		if run.FinishedAt != nil {
			finished = stamp(*run.FinishedAt)
		}
		room := "-"
		if run.Space != nil {
			room = humanize.IBytes(uint64(max(run.Space.Room(), 0)))
		}
		fmt.Fprintf(tw, "  %d\t%s\t%s\t%s\t%s\tpid %d on %s\t%s\t%s\n", run.ID, run.Status, stamp(run.StartedAt), finished, run.Source,
			run.PID, run.Host, room, oneLine(run.Error, 100))
	}
	tw.Flush()
}

// printNext says what the next run would do, and that the source given is
// not the database the last run read, when it is not.
func printNext(w io.Writer, r *load.StatusReport) {
	fmt.Fprintf(w, "NEXT RUN\n  %s\n", r.Next.Message)
	if r.SourceUnreachable != "" {
		fmt.Fprintf(w, "  Note: the source could not be reached, so this is from the target's records alone: %s.\n", r.SourceUnreachable)
	}
	switch {
	case r.OtherSource == "":
	case r.Next.Action == "refused" || r.Next.Action == "sealed": // no run makes it anything
		fmt.Fprintf(w, "  Note: %s.\n", r.OtherSource)
	default:
		fmt.Fprintf(w, "  Note: %s. A run makes the target this source's image, as after any change of the source.\n", r.OtherSource)
	}
}

// printDryRun says that a dry run works on the target, when one does, and
// what its sessions are busy with.
func printDryRun(w io.Writer, d *migrations.DryRunningError, sessions []load.SessionActivity) {
	if d == nil {
		return
	}
	fmt.Fprintf(w, "\nDRY RUN\n  a dry run (%s) is working on this target, in the scratch schema %s; "+
		"a run may start meanwhile, and the dry run then fails (it would compare a target that changes under it)\n",
		d.Who("2006-01-02 15:04:05Z"), load.DryRunStage)
	printWorking(w, "the dry run's", sessions)
}

// printStoppedDryRun says that a dry run which did not end left its
// scratch schema, of size, in the target ("": none did), and what drops
// it (a run refuses a sealed target).
func printStoppedDryRun(w io.Writer, size string, sealed bool) {
	if size == "" {
		return
	}
	drops := "the next `cutover run`, `diff` or `seal` drops it"
	if sealed {
		drops = "the next `cutover diff` or `seal` drops it"
	}
	fmt.Fprintf(w, "\nDRY RUN\n  a dry run that did not end (killed, or its server lost) left its scratch schema %s (%s, copies of legacy rows) in the target; "+
		"%s, as does `DROP SCHEMA %s CASCADE`\n", load.DryRunStage, size, drops, load.DryRunStage)
}

// printWorking lists what the sessions of a working run (whose: "the
// run's", "the dry run's") are busy with.
func printWorking(w io.Writer, whose string, sessions []load.SessionActivity) {
	if len(sessions) == 0 {
		return
	}
	fmt.Fprintf(w, "\nWORKING (%s busy sessions on the target, the longest busy first)\n", whose)
	tw := tabwriter.NewWriter(w, 0, 4, 2, ' ', 0)
	for _, a := range sessions {
		what := a.State
		if a.Wait != "" {
			what += ", waiting for " + a.Wait
		}
		fmt.Fprintf(tw, "  pid %d\t%s\tfor %s\t%s\n", a.PID, what, a.For.Round(time.Second), oneLine(a.Statement, 100))
	}
	tw.Flush()
}

// oneLine shortens an error to its first line and at most n characters.
func oneLine(s string, n int) string {
	for i, r := range s {
		if r == '\n' {
			s = s[:i]
			break
		}
	}
	if r := []rune(s); len(r) > n {
		return string(r[:n-1]) + "…"
	}
	return s
}
