package bench

import (
	"bytes"
	"strings"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"
)

// TestWriteMarkdown checks the form of a report's Markdown: rates with
// thousands separators, walls as the README writes them, a measurement
// that did not run with its status and note, and verdicts in bold.
func TestWriteMarkdown(t *testing.T) {
	ok := func(secs, rows, mb, raw float64, rss int64) Measurement {
		return Measurement{Status: StatusOK, Wall: Seconds(secs * float64(time.Second)), RowsPerSec: rows, MBPerSec: mb, VsRaw: raw, PeakRSSKiB: rss, LoadAvg: 1.3}
	}
	r := &Report{
		Machine: Machine{CPU: "Test CPU", CPUs: 2, MemoryKiB: 8 << 20, Kernel: "6.1", Go: "go1.26", Postgres: "15.18"},
		Started: time.Date(2026, 12, 6, 18, 6, 0, 0, time.UTC), Users: 2222, Seed: 1, Rows: 1033516, Bytes: 202_700_000, Tables: 81, Workers: 2,
		Raw: ok(2.2, 470342, 92.2, 1, 0), Run: ok(64.6, 144909, 27.5, 3.89, 30212), Rerun: ok(0.261, 3960956, 1668.5, 0.12, 27000),
		Pgcopydb: Measurement{Name: "pgcopydb clone", Status: StatusSkipped, Note: "pgcopydb is not installed\nsecond line"},
		Change:   "206 habit_completions updated",
		Targets:  []Target{{Name: "run peak RSS", Want: "≤ 256 MiB", Got: "29.5 MiB", Result: "PASS"}, {Name: "growth", Want: "within 20%", Got: "needs --baseline", Result: "n/a"}},
	}
	r.Raw.Name, r.Run.Name, r.Rerun.Name = "raw COPY pipe", "cutover run", "no-op re-run"
	r.Run.Phases = &Profile{Every: Seconds(50 * time.Millisecond), Samples: 1292, Phases: []Phase{
		{Name: "extract", Wall: Seconds(12500 * time.Millisecond), Busy: Seconds(48850 * time.Millisecond), First: Seconds(200 * time.Millisecond), Last: Seconds(12650 * time.Millisecond)},
		{Name: "finish: analyze", Wall: Seconds(1900 * time.Millisecond), Busy: Seconds(3800 * time.Millisecond), First: Seconds(62300 * time.Millisecond), Last: Seconds(64150 * time.Millisecond)},
	}}
	for _, m := range []*Measurement{&r.Verify, &r.Changed, &r.DryRun, &r.DryRunFinished} {
		*m = Measurement{Name: "not asked for", Status: StatusSkipped}
	}
	var got bytes.Buffer
	r.WriteMarkdown(&got)
	want := []string{
		"1,033,516 legacy rows in 81 tables (202.7 MB of table data, 2,222 users, seed 1), 2 workers, started 2026-12-06 18:06 UTC.",
		"Machine: Test CPU, 2 CPUs, 8.0 GiB RAM, Linux 6.1, PostgreSQL 15.18, go1.26.",
		"",
		"| measurement | wall | rows/s | MB/s | × raw | peak RSS | load |",
		"|---|--:|--:|--:|--:|--:|--:|",
		"| (a) raw COPY pipe | 2.2 s | 470,342 | 92.2 | 1.00 | – | 1.3 |",
		"| (b) pgcopydb clone | skipped | | | | | |",
		"| (c) cutover run | 1m4.6s | 144,909 | 27.5 | 3.89 | 29.5 MiB | 1.3 |",
		"| (d) not asked for | skipped | | | | | |",
		"| (e) no-op re-run | 261ms | 3,960,956 | 1,668.5 | 0.12 | 26.4 MiB | 1.3 |",
		"| (f) not asked for | skipped | | | | | |",
		"| (g) not asked for | skipped | | | | | |",
		"| (h) not asked for | skipped | | | | | |",
		"",
		"- (b) skipped: pgcopydb is not installed …",
		"- (f) the change: 206 habit_completions updated",
		"",
		"| target | want | got | result |",
		"|---|---|---|---|",
		"| run peak RSS | ≤ 256 MiB | 29.5 MiB | **PASS** |",
		"| growth | within 20% | needs --baseline | n/a |",
		"",
		"Where the run's time went (`pg_stat_activity` on both servers sampled every 50ms, 1292 samples; conn-s are connection-seconds):",
		"",
		"| phase | wall | share | conn-s | from | to |",
		"|---|--:|--:|--:|--:|--:|",
		"| extract | 12.5 s | 19.3% | 48.9 | 200ms | 12.7 s |",
		"| finish: analyze | 1.9 s | 2.9% | 3.8 | 1m2.3s | 1m4.2s |",
		"",
	}
	if d := cmp.Diff(want, strings.Split(got.String(), "\n")); d != "" {
		t.Errorf("WriteMarkdown (-want +got):\n%s", d)
	}
}
