package main

import (
	"bytes"
	"encoding/json"
	"errors"
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

	for _, tc := range []struct {
		args []string
		want string
	}{
		{[]string{"bench", "show"}, "give one report"},
		{[]string{"bench", "show", "no-such-report.json"}, "no-such-report.json"},
		{[]string{"bench", "show", "--json", "--markdown", report}, "not both"},
		{[]string{"bench", "--json", "--markdown"}, "not both"}, // before any server starts
	} {
		_, _, err := cutover(t, tc.args...)
		if err == nil || !strings.Contains(err.Error(), tc.want) {
			t.Errorf("cutover %s: err %v, want one that says %q", strings.Join(tc.args, " "), err, tc.want)
		}
		var ec cli.ExitCoder
		if tc.want != "no-such-report.json" && (!errors.As(err, &ec) || ec.ExitCode() != 2) {
			t.Errorf("cutover %s: %v is not a usage error (exit 2)", strings.Join(tc.args, " "), err)
		}
	}
}
