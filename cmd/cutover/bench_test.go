package main

import (
	"bytes"
	"encoding/json"
	"errors"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/google/go-cmp/cmp"
	"github.com/urfave/cli/v2"

	"github.com/cutover/cutover/internal/bench"
)

// TestBenchShow prints a committed report the three ways `cutover bench
// show` can, and checks each against the report it read; a missing report
// and contradicting flags are refused before anything is measured or
// printed.
func TestBenchShow(t *testing.T) {
	const report = "../../docs/bench/2026-12-07-1m.json"
	r, err := bench.ReadReport(report)
	if err != nil {
		t.Fatal(err)
	}
	var md, text bytes.Buffer
	r.WriteMarkdown(&md)
	r.WriteText(&text)
	for _, tc := range []struct {
		flag, want string
	}{
		{"--markdown", md.String()},
		{"", text.String()},
	} {
		args := []string{"bench", "show", report}
		if tc.flag != "" {
			args = []string{"bench", "show", tc.flag, report}
		}
		out, _, err := cutover(t, args...)
		if err != nil {
			t.Fatalf("cutover %s: %v", strings.Join(args, " "), err)
		}
		if d := cmp.Diff(tc.want, out); d != "" {
			t.Errorf("cutover %s (-want +got):\n%s", strings.Join(args, " "), d)
		}
	}

	out, _, err := cutover(t, "bench", "show", "--json", report)
	if err != nil {
		t.Fatal(err)
	}
	var back bench.Report
	if err := json.Unmarshal([]byte(out), &back); err != nil {
		t.Fatalf("--json printed no report: %v\n%s", err, out)
	}
	if d := cmp.Diff(r, &back); d != "" {
		t.Errorf("--json changed the report (-read +printed):\n%s", d)
	}

	notAReport, nullReport := filepath.Join(t.TempDir(), "foo.json"), filepath.Join(t.TempDir(), "null.json")
	for f, content := range map[string]string{notAReport: `{"foo": 1}`, nullReport: `null`} {
		if err := os.WriteFile(f, []byte(content), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	for _, tc := range []struct {
		args []string
		want string
	}{
		{[]string{"bench", "show"}, "give one report"},
		{[]string{"bench", "show", "no-such-report.json"}, "no-such-report.json"},
		{[]string{"bench", "show", notAReport}, "not a report of `cutover bench --json`"},
		{[]string{"bench", "--baseline", nullReport}, "--baseline: read the bench report " + nullReport + ": not a report"},
		{[]string{"bench", "show", "--json", "--markdown", report}, "not both"},
		{[]string{"bench", "--json", "--markdown"}, "not both"}, // before any server starts
		// Out-of-range values are refused before anything starts, rather
		// than replaced by the defaults or overflowing.
		{[]string{"bench", "--rows", "0"}, "--rows 0: give from 1 to 10000000000"},
		{[]string{"bench", "--rows", "-5"}, "--rows -5: give from 1 to "},
		{[]string{"bench", "--rows", "9223372036854775807"}, "--rows 9223372036854775807: give from 1 to "},
		{[]string{"bench", "--users", "-3"}, "--users -3: give from 1 to 22222222"},
		{[]string{"bench", "--workers", "0"}, "--workers 0: give from 1 to 64 (the throwaway servers allow 200 connections)"},
		{[]string{"bench", "--workers", "300"}, "--workers 300: give from 1 to 64"},
		{[]string{"bench", "--rounds", "-1"}, "--rounds -1: give from 1 to 100"},
		{[]string{"bench", "--compare", "/nonexistent/cutover"}, "--compare /nonexistent/cutover: not an executable file"},
		{[]string{"bench", "--compare", "."}, "--compare .: not an executable file"},
	} {
		_, _, err := cutover(t, tc.args...)
		if err == nil || !strings.Contains(err.Error(), tc.want) {
			t.Errorf("cutover %s: err %v, want one that says %q", strings.Join(tc.args, " "), err, tc.want)
		}
		var ec cli.ExitCoder
		if !strings.Contains(tc.want, ".json") && !strings.Contains(tc.want, "not a report") && (!errors.As(err, &ec) || ec.ExitCode() != 2) {
			t.Errorf("cutover %s: %v is not a usage error (exit 2)", strings.Join(tc.args, " "), err)
		}
	}
}
