package main

import (
	"fmt"
	"os"
	"runtime"
	"strings"

	"github.com/urfave/cli/v2"

	"github.com/cutover/cutover/internal/bench"
)

func benchCommand() *cli.Command {
	return &cli.Command{
		Name:  "bench",
		Usage: "measure a cutover against the raw COPY limit and pgcopydb, on generated data",
		Description: "Generates a legacy database (--rows, default 1M; 10M is the documented large\n" +
			"scale), then measures in one run on the same two servers: (a) the raw limit, every\n" +
			"legacy table piped COPY TO STDOUT → COPY FROM STDIN into an unindexed copy on the target\n" +
			"server; (b) `pgcopydb clone` when pgcopydb is installed; (c) `cutover run` on a freshly\n" +
			"migrated target; (d) `cutover verify`; (e) a no-op re-run; (f) a re-run after a small\n" +
			"change to the source; (g) `cutover diff` on the freshly migrated target, before (c),\n" +
			"and (h) on the finished target, after (e). It prints rows/s, MB/s and\n" +
			"wall time, each as a ratio to (a), the run's peak RSS, and PASS or MISS per target.\n" +
			"The servers are throwaway ones unless --source/--target name EMPTY databases.\n" +
			"With --compare OTHER it then runs `cutover run` of this binary and of OTHER --rounds\n" +
			"times each, alternating which goes first, each on a reset target: two engines on the\n" +
			"same servers, data and hour.\n" +
			"`cutover bench show REPORT` prints a report that --json wrote, as text or (--markdown)\n" +
			"as the README's tables.\n" +
			"See the README's Benchmark section.",
		Flags: []cli.Flag{
			&cli.Int64Flag{Name: "rows", Usage: "legacy rows to generate (about; turned into users)", Value: bench.DefaultRows},
			&cli.IntFlag{Name: "users", Usage: "legacy users to generate (about 450 rows each); overrides --rows"},
			&cli.IntFlag{Name: "workers", Usage: "parallelism of every measurement (cutover's --workers; default: the CPU count, at most 64)", Value: min(runtime.NumCPU(), bench.MaxWorkers)},
			&cli.Int64Flag{Name: "seed", Usage: "generator seed", Value: 1},
			&cli.BoolFlag{Name: "json", Usage: "print the report as JSON on stdout"},
			&cli.BoolFlag{Name: "markdown", Usage: "print the measurements and targets as Markdown tables (the README's form)"},
			&cli.StringFlag{Name: "source", Usage: "an EMPTY database to generate the legacy data into (default: a throwaway server)", EnvVars: []string{"CUTOVER_BENCH_SOURCE_URL"}},
			&cli.StringFlag{Name: "target", Usage: "an EMPTY target database (default: a throwaway server); pgcopydb clones into a sibling database", EnvVars: []string{"CUTOVER_BENCH_TARGET_URL"}},
			&cli.BoolFlag{Name: "skip-pgcopydb", Usage: "do not run pgcopydb even when it is installed"},
			&cli.StringFlag{Name: "baseline", Usage: "a --json report from another scale, to check that peak RSS does not grow with scale", TakesFile: true},
			&cli.StringFlag{Name: "compare", Usage: "`OTHER`, another cutover binary (say, a build of an earlier commit): also run each binary's cutover run --rounds times, alternating, on the same source", TakesFile: true},
			&cli.IntFlag{Name: "rounds", Usage: "with --compare: runs of each binary", Value: 2},
		},
		Before: func(c *cli.Context) error {
			for _, f := range []struct {
				name    string
				set     bool
				value   int64
				max     int64
				explain string
			}{
				{"rows", true, c.Int64("rows"), bench.MaxRows, ""},
				{"users", c.IsSet("users"), int64(c.Int("users")), bench.MaxRows / bench.RowsPerUser, ""},
				{"workers", true, int64(c.Int("workers")), bench.MaxWorkers, " (the throwaway servers allow 200 connections)"},
				{"rounds", true, int64(c.Int("rounds")), 100, ""},
			} {
				if f.set && (f.value < 1 || f.value > f.max) {
					return cli.Exit(fmt.Sprintf("--%s %d: give from 1 to %d%s", f.name, f.value, f.max, f.explain), 2)
				}
			}
			if other := c.String("compare"); other != "" {
				if st, err := os.Stat(other); err != nil || st.IsDir() || st.Mode()&0o111 == 0 {
					return cli.Exit(fmt.Sprintf("--compare %s: not an executable file", other), 2)
				}
			}
			if c.IsSet("source") != c.IsSet("target") {
				return cli.Exit("give both --source and --target, or neither", 2)
			}
			if c.Bool("json") && c.Bool("markdown") {
				return cli.Exit("give --json or --markdown, not both", 2)
			}
			return nil
		},
		Action: func(c *cli.Context) error {
			exe, err := os.Executable()
			if err != nil {
				return fmt.Errorf("find the cutover binary to measure: %w", err)
			}
			opts := bench.Options{
				Binary: exe, Rows: c.Int64("rows"), Users: c.Int("users"), Seed: c.Int64("seed"),
				Workers: c.Int("workers"), SourceURL: c.String("source"), TargetURL: c.String("target"),
				SkipPgcopydb: c.Bool("skip-pgcopydb"), Compare: c.String("compare"), Rounds: c.Int("rounds"), Log: c.App.ErrWriter,
			}
			if f := c.String("baseline"); f != "" {
				if opts.Baseline, err = bench.ReadReport(f); err != nil {
					return fmt.Errorf("--baseline: %w", err)
				}
			}
			r, err := bench.Run(c.Context, opts)
			if err != nil && c.Context.Err() != nil && opts.SourceURL != "" {
				return &interruptedNote{err, "the given databases keep what the bench wrote before it stopped, " +
					"and it needs them empty: empty them (or give two new ones) before running it again"}
			}
			if err != nil {
				return err
			}
			if err := writeReport(c, r); err != nil {
				return err
			}
			if failed := r.Failures(); len(failed) > 0 {
				return cli.Exit("cutover bench: "+strings.Join(failed, ", ")+": the report's figures and targets leave them out (their notes say why)", 1)
			}
			return nil
		},
		Subcommands: []*cli.Command{{
			Name:      "show",
			Usage:     "print a report that `cutover bench --json` wrote",
			ArgsUsage: "REPORT",
			Flags: []cli.Flag{
				&cli.BoolFlag{Name: "json", Usage: "print it as JSON"},
				&cli.BoolFlag{Name: "markdown", Usage: "print the measurements and targets as Markdown tables (the README's form)"},
			},
			Action: func(c *cli.Context) error {
				if c.NArg() != 1 {
					return cli.Exit("give one report: cutover bench show REPORT", 2)
				}
				r, err := bench.ReadReport(c.Args().First())
				if err != nil {
					return err
				}
				return writeReport(c, r)
			},
		}},
	}
}

// writeReport prints r in the form c's --json or --markdown asks for, or
// as text.
func writeReport(c *cli.Context, r *bench.Report) error {
	switch {
	case c.Bool("json") && c.Bool("markdown"):
		return cli.Exit("give --json or --markdown, not both", 2)
	case c.Bool("json"):
		return r.WriteJSON(c.App.Writer)
	case c.Bool("markdown"):
		r.WriteMarkdown(c.App.Writer)
		return nil
	}
	r.WriteText(c.App.Writer)
	return nil
}
