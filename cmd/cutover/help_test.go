package main

import (
	"io"
	"regexp"
	"strings"
	"testing"

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
