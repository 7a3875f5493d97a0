package main

import (
	"fmt"
	"time"

	"github.com/urfave/cli/v2"

	"github.com/cutover/cutover/load"
)

func sealCommand() *cli.Command {
	return &cli.Command{
		Name:  "seal",
		Usage: "mark the target live: from now on every `cutover run` on it refuses (--undo lifts it)",
		Description: "Once the application runs on the target, its users change the rows the cutover wrote; a run\n" +
			"after that would overwrite their changes and remove rows whose legacy rows are gone. Seal the\n" +
			"target when it goes live. Its last run must have finished. `cutover diff`, `verify` and\n" +
			"`status` still work on a sealed target; they write nothing. Sealing drops the stage schema\n" +
			"a --keep-stage run left, with its copies of legacy rows.",
		Flags: []cli.Flag{
			targetFlag(),
			&cli.BoolFlag{Name: "undo", Usage: "lift the seal, so that runs may write to the target again"},
		},
		Action: func(c *cli.Context) error {
			if c.Bool("undo") {
				s, err := load.UnsealTarget(c.Context, c.String("target"))
				switch {
				case err != nil:
					return err
				case s == nil:
					fmt.Fprintln(c.App.Writer, "the target was not sealed")
				default:
					fmt.Fprintf(c.App.Writer, "lifted the seal of %s: runs may write to the target again\n", s.At.UTC().Format(time.RFC3339))
				}
				return nil
			}
			s, err := load.SealTarget(c.Context, c.String("target"))
			if err != nil {
				return err
			}
			already := ""
			if s.Before {
				already = " (it was already)"
			}
			fmt.Fprintf(c.App.Writer, "the target is sealed since %s (after run %d)%s: every `cutover run` on it refuses until `cutover seal --undo`\n",
				s.At.UTC().Format(time.RFC3339), s.Run, already)
			if s.DroppedStage != "" {
				fmt.Fprintf(c.App.Writer, "dropped the stage schema a run kept (%s): it held copies of legacy rows\n", s.DroppedStage)
			}
			if s.DroppedDryRun != "" {
				fmt.Fprintf(c.App.Writer, "dropped the scratch schema a stopped dry run left (%s): it held copies of legacy rows\n", s.DroppedDryRun)
			}
			return nil
		},
	}
}
