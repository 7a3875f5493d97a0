package main

import (
	"context"
	"io"
	"regexp"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"
	"github.com/urfave/cli/v2"
)

// TestFlagHelpShowsItsUsage: urfave/cli takes the first `quoted` word of a
// flag's usage as the name of its value, so "(as `cutover diff`)" printed
// as "--dry-run cutover diff   … (as cutover diff)". A flag's usage may
// quote only a placeholder (an upper-case word, as --manifest's FILE); any
// other quote is a help line that reads wrong.
func TestFlagHelpShowsItsUsage(t *testing.T) {
	placeholder := regexp.MustCompile("^[^`]*`[A-Z]+`")
	var walk func(path string, cmds []*cli.Command)
	checked := 0
	walk = func(path string, cmds []*cli.Command) {
		for _, cmd := range cmds {
			name := strings.TrimSpace(path + " " + cmd.Name)
			for _, f := range cmd.Flags {
				doc, ok := f.(cli.DocGenerationFlag)
				if !ok {
					t.Fatalf("%s: flag %v has no usage to check", name, f.Names())
				}
				usage := doc.GetUsage()
				checked++
				if strings.Contains(usage, "`") && !placeholder.MatchString(usage) {
					t.Errorf("cutover %s --%s: its usage quotes text other than a placeholder, so the help shows\n  %s",
						name, f.Names()[0], cli.FlagStringer(f))
				}
			}
			walk(name, cmd.Subcommands)
		}
	}
	walk("", newApp(io.Discard, io.Discard).Commands)
	if checked < 30 {
		t.Fatalf("checked %d flags; the command tree has more", checked)
	}
}

// commandPaths returns every command and subcommand of the app, hidden
// ones included, each as its words after "cutover" ("schema apply"), and
// the root as "".
func commandPaths(app *cli.App) map[string]*cli.Command {
	paths := map[string]*cli.Command{"": {Name: app.Name, Usage: app.Usage, Flags: app.Flags, Subcommands: app.Commands}}
	var walk func(path string, cmds []*cli.Command)
	walk = func(path string, cmds []*cli.Command) {
		for _, cmd := range cmds {
			name := strings.TrimSpace(path + " " + cmd.Name)
			paths[name] = cmd
			walk(name, cmd.Subcommands)
		}
	}
	walk("", app.Commands)
	return paths
}

// TestEveryFlagHasItsVariable pins which flags can be set from the
// environment, as the README's Commands section says: every flag of the
// cutover's own commands (and --verbose) has a CUTOVER_* variable, except
// those that choose what one command does; bench and demo take only their
// URLs from variables, their own, never the cutover's (they write into
// those databases), and the hidden legacy command only its --url.
func TestEveryFlagHasItsVariable(t *testing.T) {
	withoutVariable := map[string][]string{ // sorted
		"run":             {"dry-run", "full", "samples"},
		"diff":            {"full", "samples"},
		"verify":          {"samples"},
		"seal":            {"undo"},
		"bench":           {"baseline", "compare", "json", "markdown", "rounds", "rows", "seed", "skip-pgcopydb", "users", "workers"},
		"bench show":      {"json", "markdown"},
		"demo":            {"flavor", "seed", "users", "workers"},
		"legacy generate": {"anomalies", "drift", "drift-rows", "duplicate-emails", "expired-sessions", "flavor", "manifest", "parallel", "pauses-without-session", "seed", "tenant-mismatches", "users", "wallet-mismatches"},
		"legacy schema":   {"drift", "flavor"},
	}
	urls := map[string][]string{}
	for _, path := range []string{"run", "diff", "status", "verify"} {
		urls[path+" --source"] = []string{"CUTOVER_SOURCE_URL"}
	}
	for _, path := range []string{"schema apply", "schema status", "run", "diff", "status", "verify", "seal"} {
		urls[path+" --target"] = []string{"CUTOVER_TARGET_URL"}
	}
	for _, path := range []string{"bench", "demo"} {
		for _, side := range []string{"source", "target"} {
			urls[path+" --"+side] = []string{"CUTOVER_" + strings.ToUpper(path+"_"+side) + "_URL"}
		}
	}
	urls["legacy generate --url"] = []string{"CUTOVER_LEGACY_URL"}
	urls["legacy schema --url"] = []string{"CUTOVER_LEGACY_URL"}

	gotWithout, gotURLs := map[string][]string{}, map[string][]string{}
	flags := 0
	for path, cmd := range commandPaths(newApp(io.Discard, io.Discard)) {
		for _, f := range cmd.Flags {
			name := f.Names()[0]
			if name == "help" {
				continue
			}
			flags++
			doc, ok := f.(cli.DocGenerationFlag)
			if !ok {
				t.Fatalf("cutover %s --%s: no variables to check", path, name)
			}
			vars := doc.GetEnvVars()
			for _, v := range vars {
				if !strings.HasPrefix(v, "CUTOVER_") {
					t.Errorf("cutover %s --%s: variable %s is not a CUTOVER_* one", path, name, v)
				}
			}
			if len(vars) == 0 {
				gotWithout[path] = append(gotWithout[path], name)
			}
			if name == "source" || name == "target" || name == "url" {
				gotURLs[path+" --"+name] = vars
			}
		}
		slices.Sort(gotWithout[path])
	}
	if flags < 60 {
		t.Fatalf("checked %d flags; the command tree has more", flags)
	}
	if d := cmp.Diff(withoutVariable, gotWithout); d != "" {
		t.Errorf("flags without a CUTOVER_* variable (-README +commands):\n%s", d)
	}
	if d := cmp.Diff(urls, gotURLs); d != "" {
		t.Errorf("variables of the URL flags (-README +commands):\n%s", d)
	}
}

// TestHelpOnEveryCommand: --help on every command and subcommand, hidden
// ones included, succeeds and prints that command's usage: its name, what
// it does and each of its flags.
func TestHelpOnEveryCommand(t *testing.T) {
	paths := commandPaths(newApp(io.Discard, io.Discard))
	if len(paths) < 15 {
		t.Fatalf("found %d commands; the command tree has more", len(paths))
	}
	for path, cmd := range paths {
		t.Run("cutover "+path, func(t *testing.T) {
			args := append(strings.Fields(path), "--help")
			stdout, stderr, err := cutover(t, args...)
			if err != nil || stderr != "" {
				t.Fatalf("cutover %s --help: %v\n%s", path, err, stderr)
			}
			want := []string{"USAGE:", strings.TrimSpace("cutover " + path), cmd.Usage}
			for _, f := range cmd.Flags {
				want = append(want, "--"+f.Names()[0])
			}
			for _, sub := range cmd.Subcommands {
				if !sub.Hidden {
					want = append(want, sub.Name)
				}
			}
			for _, w := range want {
				if !strings.Contains(stdout, w) {
					t.Errorf("cutover %s --help does not show %q:\n%s", path, w, stdout)
				}
			}
		})
	}
}

// TestStrayWordsAreRefused: flags are read up to the first word that is
// none, so a stray word dropped the flags after it silently (a review
// found `cutover run dry-run` ran for real, `cutover seal now --undo`
// sealed). Every command that takes no arguments refuses any before it
// does anything, naming the flags it did not read and the flag a word
// looks like. (The URLs lead nowhere: a command that went on would fail
// to connect instead.)
func TestStrayWordsAreRefused(t *testing.T) {
	const nowhere = "postgres://u@127.0.0.1:1/db?connect_timeout=1"
	run := func(args ...string) error {
		// Refused at once; a command that went on (demo and bench start
		// servers of their own) is stopped soon.
		ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
		defer cancel()
		return newApp(io.Discard, io.Discard).RunContext(ctx, append([]string{"cutover"}, args...))
	}
	for _, c := range []struct {
		args []string
		want string
	}{
		{[]string{"run", "--source", nowhere, "--target", nowhere, "dry-run"}, `run takes no arguments, and reads no flag after one: got "dry-run"; did you mean --dry-run?`},
		{[]string{"seal", "--target", nowhere, "now", "--undo"}, `seal takes no arguments, and reads no flag after one: got "now --undo" (--undo not read); give flags only, before or without any other word (cutover seal --help)`},
		{[]string{"seal", "--target", nowhere, "undo"}, `seal takes no arguments, and reads no flag after one: got "undo"; did you mean --undo?`},
		{[]string{"schema", "apply", "--target", nowhere, "x"}, `schema apply takes no arguments, and reads no flag after one: got "x"; give flags only, before or without any other word (cutover schema apply --help)`},
	} {
		if err := run(c.args...); err == nil || err.Error() != c.want {
			t.Errorf("cutover %s: %v\nwant %s", strings.Join(c.args, " "), err, c.want)
		}
	}
	// Every command without arguments, its required flags given.
	refused := 0
	for path, cmd := range commandPaths(newApp(io.Discard, io.Discard)) {
		if path == "" || cmd.Action == nil || cmd.ArgsUsage != "" {
			continue
		}
		args := strings.Fields(path)
		for _, f := range cmd.Flags {
			if r, ok := f.(cli.RequiredFlag); ok && r.IsRequired() {
				args = append(args, "--"+f.Names()[0], nowhere)
			}
		}
		// demo and bench start servers of their own: were the word not
		// refused, an out-of-range flag stops them before they start.
		args = append(args, map[string][]string{"demo": {"--users", "0"}, "bench": {"--rows", "0"}}[path]...)
		err := run(append(args, "stray")...)
		if err == nil || !strings.HasPrefix(err.Error(), path+" takes no arguments") {
			t.Errorf("cutover %s stray: %v, want it refused", path, err)
		}
		refused++
	}
	if refused < 10 {
		t.Errorf("%d commands refused a stray word; the tree has more", refused)
	}
	// An unknown command is urfave/cli's to refuse, with its exit status.
	if _, stderr, code := runMain(t, nil, "frobnicate"); code != 3 || !strings.Contains(stderr, "No help topic for 'frobnicate'") {
		t.Errorf("cutover frobnicate: exit %d\n%s", code, stderr)
	}
	// A command's subcommand is no stray word.
	if err := run("bench", "show"); err == nil || strings.Contains(err.Error(), "takes no arguments") {
		t.Errorf("cutover bench show: %v, want bench show's own error", err)
	}
}
