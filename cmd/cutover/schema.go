package main

import (
	"errors"
	"fmt"
	"text/tabwriter"

	"github.com/urfave/cli/v2"

	"github.com/cutover/cutover/migrations"
)

func schemaCommand() *cli.Command {
	return &cli.Command{
		Name:  "schema",
		Usage: "apply or inspect the target schema (the 13 embedded migrations)",
		Subcommands: []*cli.Command{
			{
				Name:  "apply",
				Usage: "apply every pending migration to the target",
				Flags: []cli.Flag{targetFlag()},
				Action: func(c *cli.Context) error {
					applied, err := migrations.Apply(c.Context, c.String("target"), logger(c))
					if err != nil {
						return err
					}
					if len(applied) == 0 {
						fmt.Fprintln(c.App.Writer, "schema is up to date: nothing to apply")
						return nil
					}
					for _, f := range applied {
						fmt.Fprintln(c.App.Writer, "applied", f)
					}
					return nil
				},
			},
			{
				Name:  "status",
				Usage: "show each migration: applied when, or pending",
				Flags: []cli.Flag{targetFlag()},
				Action: func(c *cli.Context) error {
					st, err := migrations.Statuses(c.Context, c.String("target"))
					var encoding *migrations.TargetEncodingError
					if err != nil && !errors.As(err, &encoding) {
						return err
					}
					w := tabwriter.NewWriter(c.App.Writer, 0, 4, 2, ' ', 0)
					fmt.Fprintln(w, "MIGRATION\tSTATE\tAPPLIED AT")
					applied, tampered := 0, 0
					for _, s := range st {
						state, at := "pending", ""
						if s.Applied {
							state, at = "applied", s.AppliedAt.UTC().Format("2006-01-02 15:04:05Z")
							applied++
						}
						if s.Tampered {
							state += " (CHANGED SINCE APPLIED)"
							tampered++
						}
						fmt.Fprintf(w, "%s\t%s\t%s\n", s.File, state, at)
					}
					w.Flush()
					fmt.Fprintf(c.App.Writer, "%d of %d applied\n", applied, len(st))
					if encoding != nil {
						return encoding // after the statuses: a run refuses the database
					}
					if applied == 0 {
						// All pending on a database holding the schema's tables:
						// the legacy database given as the target, most often.
						if err := migrations.CheckNew(c.Context, c.String("target")); err != nil {
							return err
						}
					}
					if tampered > 0 {
						return cli.Exit(fmt.Sprintf("%d applied migration(s) changed since they were applied", tampered), 1)
					}
					return nil
				},
			},
		},
	}
}
