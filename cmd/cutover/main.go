// Command cutover moves a live application's legacy PostgreSQL database into
// its rebuilt target schema. This package only turns flags into a
// configuration and calls one library function per command.
package main

import (
	"context"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"os"
	"os/signal"
	"slices"
	"strings"
	"syscall"

	"github.com/urfave/cli/v2"
)

func main() {
	ctx, caught := stopOnSignals()
	keepRunningWithoutReaders()
	stdout, stderr := &output{f: os.Stdout}, &output{f: os.Stderr}
	err := newApp(stdout, stderr).RunContext(ctx, os.Args)
	if err != nil {
		// Interrupted: whatever the error says (a statement cancelled, or
		// a copy whose connection the cancel closed under it), the signal
		// ended the command.
		if ctx.Err() != nil {
			sig := (<-caught).(syscall.Signal)
			fmt.Fprintln(os.Stderr, interruptedMessage(sig, err))
			os.Exit(128 + int(sig)) // as a shell reports a process the signal ended
		}
		var ec cli.ExitCoder
		if errors.As(err, &ec) {
			if msg := err.Error(); msg != "" {
				fmt.Fprintln(os.Stderr, "cutover:", msg)
			}
			os.Exit(ec.ExitCode())
		}
		fmt.Fprintln(os.Stderr, "cutover:", err)
		os.Exit(1)
	}
	if stdout.Broken() || stderr.Broken() {
		// Only stdout may be gone (`| head`): say why the exit status.
		fmt.Fprintln(os.Stderr, "cutover: the command finished, but its output was cut short: nothing read the rest of it")
		os.Exit(128 + int(syscall.SIGPIPE))
	}
}

// interruptedNote is an error of a command that a signal ended, with what
// the operator must do before running it again, when re-running it as it
// is would not do (a bench given databases it has filled).
type interruptedNote struct {
	err  error
	note string
}

func (e *interruptedNote) Error() string { return e.err.Error() }
func (e *interruptedNote) Unwrap() error { return e.err }

// interruptedMessage is what a command that sig ended with err says.
func interruptedMessage(sig syscall.Signal, err error) string {
	var n *interruptedNote
	if errors.As(err, &n) {
		return fmt.Sprintf("cutover: interrupted (%s); %s", sig, n.note)
	}
	return fmt.Sprintf("cutover: interrupted (%s); nothing half-written is kept, re-running the same command is safe", sig)
}

// stopOnSignals returns a context cancelled by the first of Ctrl-C
// (SIGINT), SIGTERM and a closed terminal (SIGHUP: an operator's SSH
// connection dropped), and a channel that then holds that signal. Each
// stops a command as Ctrl-C does: what is committed stays committed, and
// the run records that it was interrupted. A process started with SIGHUP
// ignored (nohup) keeps ignoring it and runs on: asking for SIGHUP would
// undo that.
func stopOnSignals() (context.Context, <-chan os.Signal) {
	signals := []os.Signal{os.Interrupt, syscall.SIGTERM}
	if !signal.Ignored(syscall.SIGHUP) {
		signals = append(signals, syscall.SIGHUP)
	}
	ctx, cancel := context.WithCancel(context.Background())
	got, caught := make(chan os.Signal, 1), make(chan os.Signal, 1)
	signal.Notify(got, signals...)
	go func() {
		sig := <-got
		signal.Stop(got) // a second Ctrl-C ends the process at once
		caught <- sig
		cancel()
	}()
	return ctx, caught
}

// newApp builds the command tree; stdout and stderr are injectable for tests.
func newApp(stdout, stderr io.Writer) *cli.App {
	app := &cli.App{
		Name:      "cutover",
		Usage:     "move a legacy PostgreSQL database into its rebuilt target schema",
		Writer:    stdout,
		ErrWriter: stderr,
		Flags: []cli.Flag{
			&cli.BoolFlag{Name: "verbose", Aliases: []string{"v"}, Usage: "log debug details", EnvVars: []string{"CUTOVER_VERBOSE"}},
		},
		ExitErrHandler: func(*cli.Context, error) {}, // main prints errors once
		Commands: []*cli.Command{
			schemaCommand(),
			legacyCommand(),
			runCommand(),
			demoCommand(),
			statusCommand(),
			benchCommand(),
			verifyCommand(),
			diffCommand(),
			sealCommand(),
		},
	}
	refuseArguments("", app.Commands)
	return app
}

// refuseArguments makes every command of cmds (and of their subcommands)
// that takes no arguments (no ArgsUsage) refuse any, before it does
// anything: flags are read up to the first word that is none, so a stray
// word silently dropped the flags after it, and `cutover run dry-run` ran
// for real, `cutover seal now --undo` sealed.
func refuseArguments(path string, cmds []*cli.Command) {
	for _, cmd := range cmds {
		name := strings.TrimSpace(path + " " + cmd.Name)
		refuseArguments(name, cmd.Subcommands)
		if cmd.Action == nil || cmd.ArgsUsage != "" {
			continue
		}
		before, flags, subs := cmd.Before, cmd.Flags, cmd.Subcommands
		cmd.Before = func(c *cli.Context) error {
			// A command with subcommands runs this before one of them
			// (bench before bench show): its name is no stray word.
			isSub := slices.ContainsFunc(subs, func(sub *cli.Command) bool { return sub.HasName(c.Args().First()) })
			if c.Args().Present() && !isSub {
				return strayArguments(name, flags, c.Args().Slice())
			}
			if before != nil {
				return before(c)
			}
			return nil
		}
	}
}

// strayArguments is the error of command name, whose flags are flags,
// given the words args it takes none of.
func strayArguments(name string, flags []cli.Flag, args []string) error {
	msg := fmt.Sprintf("%s takes no arguments, and reads no flag after one: got %q", name, strings.Join(args, " "))
	var ignored []string
	for _, a := range args[1:] {
		if strings.HasPrefix(a, "-") {
			ignored = append(ignored, a)
		}
	}
	if len(ignored) > 0 {
		msg += fmt.Sprintf(" (%s not read)", strings.Join(ignored, " "))
	}
	for _, f := range flags {
		if slices.Contains(f.Names(), strings.TrimLeft(args[0], "-")) {
			return fmt.Errorf("%s; did you mean --%s?", msg, f.Names()[0])
		}
	}
	return fmt.Errorf("%s; give flags only, before or without any other word (cutover %s --help)", msg, name)
}

// sourceFlag and targetFlag are the two database URLs, shared by commands.
func sourceFlag() *cli.StringFlag {
	return &cli.StringFlag{Name: "source", Usage: "legacy database URL (only read)", EnvVars: []string{"CUTOVER_SOURCE_URL"}, Required: true}
}

func targetFlag() *cli.StringFlag {
	return &cli.StringFlag{Name: "target", Usage: "target database URL", EnvVars: []string{"CUTOVER_TARGET_URL"}, Required: true}
}

// workersFlag is --workers, what a command does side by side (usage), by
// default def; it must be at least 1.
func workersFlag(usage string, def int) *cli.IntFlag {
	return &cli.IntFlag{Name: "workers", Usage: usage, Value: def, EnvVars: []string{"CUTOVER_WORKERS"},
		Action: func(_ *cli.Context, n int) error {
			if n < 1 {
				return fmt.Errorf("--workers %d: give at least 1 (the default is %d)", n, def)
			}
			return nil
		}}
}

// samplesFlag is --samples of the dry runs: the row diffs shown per
// target table, at least 1 (0 was taken for the default, silently).
func samplesFlag(usage string) *cli.IntFlag {
	return &cli.IntFlag{Name: "samples", Usage: usage, Value: defaultSamples,
		Action: func(_ *cli.Context, n int) error {
			if n < 1 {
				return fmt.Errorf("--samples %d: give at least 1 (the default is %d)", n, defaultSamples)
			}
			return nil
		}}
}

// ownWorkersFlag is workersFlag without its variable: the demo takes none
// of the cutover's (TestEveryFlagHasItsVariable).
func ownWorkersFlag(usage string, def int) *cli.IntFlag {
	f := workersFlag(usage, def)
	f.EnvVars = nil
	return f
}

// usersFlag is --users of the generator's commands, by default def; it
// must be at least 1 (0 would otherwise be taken for the generator's
// default, silently).
func usersFlag(usage string, def int) *cli.IntFlag {
	return &cli.IntFlag{Name: "users", Usage: usage, Value: def,
		Action: func(_ *cli.Context, n int) error {
			if n < 1 {
				return fmt.Errorf("--users %d: give at least 1 (the default is %d)", n, def)
			}
			return nil
		}}
}

func logger(c *cli.Context) *slog.Logger {
	level := slog.LevelInfo
	if c.Bool("verbose") {
		level = slog.LevelDebug
	}
	return slog.New(slog.NewTextHandler(c.App.ErrWriter, &slog.HandlerOptions{Level: level}))
}
