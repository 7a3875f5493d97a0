package main

import (
	"fmt"
	"time"

	"github.com/urfave/cli/v2"

	"github.com/cutover/cutover/internal/legacygen"
	"github.com/cutover/cutover/internal/prose"
)

// legacyCommand builds synthetic legacy databases for tests and benchmarks.
// It is hidden: operators never need it.
func legacyCommand() *cli.Command {
	url := &cli.StringFlag{Name: "url", Usage: "an EMPTY database to build the legacy database in", EnvVars: []string{"CUTOVER_LEGACY_URL"}, Required: true}
	flavor := &cli.StringFlag{Name: "flavor", Usage: "legacy flavor: v21, v16 or v15", Value: "v21"}
	drift := &cli.BoolFlag{Name: "drift", Usage: "also create (and fill) the drift tables habit_logs, user_inbox, quests"}
	return &cli.Command{
		Name:   "legacy",
		Usage:  "build a synthetic legacy database (tests and benchmarks)",
		Hidden: true,
		Subcommands: []*cli.Command{
			{
				Name:  "generate",
				Usage: "create the legacy schema and fill it with deterministic, realistic data",
				Flags: []cli.Flag{url, flavor, drift,
					usersFlag("number of users (about 450 rows each)", 2000),
					&cli.Int64Flag{Name: "seed", Usage: "same seed, same data", Value: 1},
					&cli.BoolFlag{Name: "anomalies", Usage: "plant the anomalies MAPPING.md settles and list them in the manifest"},
					&cli.StringFlag{Name: "manifest", Usage: "write the JSON manifest (row counts, anomalies with expected dispositions) to `FILE`"},
					&cli.IntFlag{Name: "duplicate-emails", Usage: "users rejected as case-insensitive email duplicates (0 = default, -1 = none)"},
					&cli.IntFlag{Name: "tenant-mismatches", Usage: "child rows of another user's parent, per table (0 = default, -1 = none)"},
					&cli.IntFlag{Name: "expired-sessions", Usage: "expired sessions (0 = default, -1 = none)"},
					&cli.IntFlag{Name: "wallet-mismatches", Usage: "wallets that disagree with the ledger (0 = default, -1 = none)"},
					&cli.IntFlag{Name: "pauses-without-session", Usage: "v15 pause rows with NULL session_id (0 = default, -1 = none)"},
					&cli.IntFlag{Name: "drift-rows", Usage: "ordinary rows per drift table (0 = default, -1 = none)"},
					&cli.IntFlag{Name: "parallel", Usage: "tables copied at once (0 = default: CPUs + 1)"},
				},
				Action: func(c *cli.Context) error {
					t0 := time.Now()
					m, err := legacygen.Generate(c.Context, c.String("url"), legacygen.Options{
						Flavor: c.String("flavor"), Drift: c.Bool("drift"), Anomalies: c.Bool("anomalies"),
						Users: c.Int("users"), Seed: c.Int64("seed"),
						DuplicateEmails: c.Int("duplicate-emails"), TenantMismatches: c.Int("tenant-mismatches"),
						ExpiredSessions: c.Int("expired-sessions"), WalletMismatches: c.Int("wallet-mismatches"),
						PausesWithoutSession: c.Int("pauses-without-session"), DriftRows: c.Int("drift-rows"),
						Parallel: c.Int("parallel"),
					})
					if err != nil {
						return err
					}
					secs := time.Since(t0).Seconds()
					if f := c.String("manifest"); f != "" {
						if err := m.WriteFile(f); err != nil {
							return err
						}
					}
					size, err := legacygen.DatabaseSize(c.Context, c.String("url"))
					if err != nil {
						return err
					}
					fmt.Fprintf(c.App.Writer, "legacy %s: %d %s, %d rows in %d tables, %.1f MB, %.1f s, %d anomalies listed\n",
						m.Flavor, m.Users, prose.Plural(m.Users, "user", "users"), m.Rows(), len(m.Tables), float64(size)/(1<<20), secs, len(m.Anomalies))
					return nil
				},
			},
			{
				Name:  "schema",
				Usage: "create only the legacy schema (with its seed rows)",
				Flags: []cli.Flag{url, flavor, drift},
				Action: func(c *cli.Context) error {
					if err := legacygen.CreateSchema(c.Context, c.String("url"), c.String("flavor"), c.Bool("drift")); err != nil {
						return err
					}
					fmt.Fprintf(c.App.Writer, "legacy %s schema created\n", c.String("flavor"))
					return nil
				},
			},
		},
	}
}
