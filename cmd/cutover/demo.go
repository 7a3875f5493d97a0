package main

import (
	"context"
	"fmt"
	"runtime"
	"time"

	"github.com/jackc/pgx/v5"
	"github.com/urfave/cli/v2"

	"github.com/cutover/cutover/internal/legacygen"
	"github.com/cutover/cutover/internal/pgcluster"
	"github.com/cutover/cutover/internal/prose"
	"github.com/cutover/cutover/load"
	"github.com/cutover/cutover/migrations"
)

func demoCommand() *cli.Command {
	return &cli.Command{
		Name:  "demo",
		Usage: "run a whole cutover on generated data, on throwaway servers (needs no server of your own)",
		Description: "Starts two throwaway PostgreSQL servers from the installed server binaries (unless\n" +
			"--source/--target are given), generates a legacy v21 database with drift tables and\n" +
			"anomalies, applies the target schema, runs the cutover and prints the summary. The\n" +
			"throwaway servers are removed at the end.",
		Flags: []cli.Flag{
			&cli.StringFlag{Name: "source", Usage: "an EMPTY database to generate the legacy data into (default: a throwaway server)", EnvVars: []string{"CUTOVER_DEMO_SOURCE_URL"}},
			&cli.StringFlag{Name: "target", Usage: "an EMPTY database for the target (default: a throwaway server)", EnvVars: []string{"CUTOVER_DEMO_TARGET_URL"}},
			usersFlag("legacy users to generate", 2000),
			&cli.StringFlag{Name: "flavor", Usage: "legacy flavor: v21, v16 or v15", Value: "v21"},
			&cli.Int64Flag{Name: "seed", Usage: "generator seed", Value: 1},
			ownWorkersFlag("parallel readers and writers", runtime.NumCPU()),
		},
		Action: func(c *cli.Context) error {
			ctx := c.Context
			out := c.App.ErrWriter
			src, dst := c.String("source"), c.String("target")
			for _, u := range []*string{&src, &dst} {
				if *u != "" {
					continue
				}
				cl, err := pgcluster.Start(ctx, pgcluster.Options{})
				if err != nil {
					return err
				}
				defer cl.Stop()
				if err := createDatabase(ctx, cl.URL("postgres"), "cutover_demo"); err != nil {
					return err
				}
				*u = cl.URL("cutover_demo")
				fmt.Fprintf(out, "demo: started a throwaway PostgreSQL server in %s\n", cl.Dir())
			}
			t0 := time.Now()
			man, err := legacygen.Generate(ctx, src, legacygen.Options{
				Flavor: c.String("flavor"), Drift: true, Anomalies: true, Users: c.Int("users"), Seed: c.Int64("seed"),
			})
			if err != nil {
				return err
			}
			var rows int64
			for _, n := range man.Tables {
				rows += n
			}
			fmt.Fprintf(out, "demo: generated a legacy %s database: %d %s, %d rows in %d tables, %d anomalies (%s)\n",
				man.Flavor, man.Users, prose.Plural(man.Users, "user", "users"), rows, len(man.Tables), len(man.Anomalies), time.Since(t0).Round(time.Millisecond))
			applied, err := migrations.Apply(ctx, dst, nil)
			if err != nil {
				return err
			}
			fmt.Fprintf(out, "demo: applied %d target migrations\n", len(applied))
			return runAndReport(c, load.Config{SourceURL: src, TargetURL: dst, Workers: c.Int("workers"), MaxRejects: -1})
		},
	}
}

func createDatabase(ctx context.Context, adminURL, name string) error {
	conn, err := pgx.Connect(ctx, adminURL)
	if err != nil {
		return err
	}
	defer conn.Close(context.Background())
	_, err = conn.Exec(ctx, "CREATE DATABASE "+pgx.Identifier{name}.Sanitize())
	return err
}
