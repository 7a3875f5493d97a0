package bench

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"os/exec"
	"path/filepath"
	"regexp"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"

	"github.com/cutover/cutover/internal/pgtest"
)

// buildCutover builds the cutover binary the bench measures.
func buildCutover(t *testing.T) string {
	t.Helper()
	bin := filepath.Join(t.TempDir(), "cutover")
	args := []string{"build", "-o", bin}
	if inCheckout() {
		args = append(args, "-buildvcs=true") // stamped, whatever GOFLAGS say
	}
	out, err := exec.Command("go", append(args, "github.com/cutover/cutover/cmd/cutover")...).CombinedOutput()
	if err != nil {
		t.Fatalf("go build ./cmd/cutover: %v\n%s", err, out)
	}
	return bin
}

// inCheckout reports whether the tests run in a git checkout, where a
// build can be stamped with its revision.
func inCheckout() bool { return exec.Command("git", "rev-parse", "HEAD").Run() == nil }

// TestRunTiny runs the whole bench at the smallest scale, with an engine
// comparison, and checks that the report holds every measurement. It never judges a time: targets are for
// the bench to report, not for tests to assert.
func TestRunTiny(t *testing.T) {
	if testing.Short() {
		t.Skip("starts two servers and runs the cutover four times")
	}
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Minute)
	defer cancel()
	var log bytes.Buffer
	// 10 users is the smallest legacygen scale with every anomaly kind;
	// reference and catalog rows make it about 30k rows.
	// The comparison runs the same binary as the other one: it shows the
	// rounds run on a reset target (a first run each) and are reported.
	bin := buildCutover(t)
	r, err := Run(ctx, Options{Binary: bin, Users: 10, Workers: 2, Compare: bin, Rounds: 1, Log: &log})
	if err != nil {
		t.Fatalf("Run: %v\nlog:\n%s", err, log.String())
	}
	if r.Rows == 0 || r.Bytes == 0 || r.Tables == 0 {
		t.Errorf("scale not recorded: %d rows, %d bytes, %d tables", r.Rows, r.Bytes, r.Tables)
	}
	if r.Machine.CPUs == 0 || r.Machine.Postgres == "" {
		t.Errorf("machine not recorded: %+v", r.Machine)
	}
	// What the figures depend on beyond the machine: the build measured
	// (go build in a checkout stamps its revision) and the server's
	// durability settings.
	if !strings.Contains(r.Machine.Settings, "fsync=off") || !strings.Contains(r.Machine.Settings, "synchronous_commit=off") {
		t.Errorf("server settings not recorded: %q", r.Machine.Settings)
	}
	if inCheckout() && len(strings.TrimSuffix(r.Machine.Commit, "-dirty")) != 40 {
		t.Errorf("the measured build's commit: %q, want its revision", r.Machine.Commit)
	}
	mustOK := func(m *Measurement) {
		t.Helper()
		if m.Status != StatusOK {
			t.Fatalf("%s: status %q: %s", m.Name, m.Status, m.Note)
		}
		if m.Wall <= 0 || m.RowsPerSec <= 0 || m.MBPerSec <= 0 || m.VsRaw <= 0 {
			t.Errorf("%s: figures missing: %+v", m.Name, m)
		}
	}
	mustOK(&r.Raw)
	if r.Raw.VsRaw != 1 {
		t.Errorf("raw vs raw = %v, want 1", r.Raw.VsRaw)
	}
	for _, m := range []*Measurement{&r.Run, &r.Rerun, &r.Changed} {
		mustOK(m)
		if m.PeakRSSKiB <= 0 {
			t.Errorf("%s: no peak RSS", m.Name)
		}
		if m.Phases == nil || len(m.Phases.Phases) == 0 || m.Phases.Samples == 0 {
			t.Errorf("%s: no phase profile", m.Name)
		}
	}
	if r.Rerun.Note != "" {
		t.Errorf("re-run: %s", r.Rerun.Note)
	}
	// (f) ran after a change of each kind, and found it.
	if r.Change == "" || strings.HasPrefix(r.Change, "0 ") || strings.Contains(r.Change, ", 0 ") {
		t.Errorf("source change before (f): %q, want some rows of each kind", r.Change)
	}
	if r.Changed.Note != "" {
		t.Errorf("re-run after a change: %s", r.Changed.Note)
	}
	// The dry runs, of the empty target and of the finished one.
	for _, m := range []*Measurement{&r.DryRun, &r.DryRunFinished} {
		mustOK(m)
		if m.PeakRSSKiB <= 0 || m.Phases == nil {
			t.Errorf("%s: no peak RSS or no sampler: %+v", m.Name, m)
		}
	}
	if r.DryRun.Name == r.DryRunFinished.Name {
		t.Errorf("both dry runs are called %q", r.DryRun.Name)
	}
	var phases []string
	for _, p := range r.Run.Phases.Phases {
		phases = append(phases, p.Name)
	}
	// Sampled every 50 ms, a tiny run shows its longest phases; which of
	// the apply's steps gets a sample varies (the statements are short).
	for _, want := range []string{"extract", "decide"} {
		if !slices.Contains(phases, want) {
			t.Errorf("run profile lacks phase %q: %v", want, phases)
		}
	}
	if !slices.ContainsFunc(phases, func(p string) bool { return strings.HasPrefix(p, "apply: ") }) {
		t.Errorf("run profile has no apply phase: %v", phases)
	}
	switch r.Pgcopydb.Status {
	case StatusOK:
		mustOK(&r.Pgcopydb)
	case StatusSkipped:
		if r.Pgcopydb.Note == "" {
			t.Error("pgcopydb skipped without a note")
		}
	default:
		t.Errorf("pgcopydb: %s: %s", r.Pgcopydb.Status, r.Pgcopydb.Note)
	}
	switch r.Verify.Status {
	case StatusOK:
		mustOK(&r.Verify)
	case StatusUnavailable:
	default:
		t.Errorf("verify: %s: %s", r.Verify.Status, r.Verify.Note)
	}
	if len(r.Targets) != 9 {
		t.Errorf("%d targets, want 9", len(r.Targets))
	}
	for _, tg := range r.Targets {
		if !slices.Contains([]string{"PASS", "MISS", "n/a"}, tg.Result) {
			t.Errorf("target %q: result %q", tg.Name, tg.Result)
		}
	}

	if c := r.Compare; c == nil {
		t.Error("no engine comparison")
	} else {
		if len(c.This) != 1 || len(c.Others) != 1 {
			t.Fatalf("comparison: %d and %d runs, want 1 each", len(c.This), len(c.Others))
		}
		for _, m := range []*Measurement{&c.This[0], &c.Others[0]} {
			mustOK(m)
			if m.Note != "" {
				t.Errorf("%s: %s", m.Name, m.Note)
			}
		}
		if !slices.ContainsFunc(c.Phases, func(p PhaseComparison) bool { return p.Name == "extract" && p.ThisBusy > 0 && p.OtherBusy > 0 }) {
			t.Errorf("comparison by phase lacks the extract of both runs: %+v", c.Phases)
		}
		if c.ThisMedian != c.This[0].Wall || c.OtherMedian != c.Others[0].Wall || c.Ratio <= 0 {
			t.Errorf("comparison medians %s, %s, ratio %v; runs %s, %s", c.ThisMedian, c.OtherMedian, c.Ratio, c.This[0].Wall, c.Others[0].Wall)
		}
	}

	var text bytes.Buffer
	r.WriteText(&text)
	for _, want := range []string{"(a) raw COPY pipe", "(c) cutover run", "(f) re-run after a change", "(f) the change: ", "TARGET", "WHERE THE TIME OF CUTOVER RUN WENT", "ENGINE COMPARISON"} {
		if !strings.Contains(text.String(), want) {
			t.Errorf("text report lacks %q:\n%s", want, text.String())
		}
	}
	var js bytes.Buffer
	if err := r.WriteJSON(&js); err != nil {
		t.Fatal(err)
	}
	var back Report
	if err := json.Unmarshal(js.Bytes(), &back); err != nil {
		t.Fatalf("JSON report does not read back: %v", err)
	}
	if d := back.Run.Wall.D() - r.Run.Wall.D(); d > time.Microsecond || d < -time.Microsecond || back.Rows != r.Rows {
		t.Errorf("JSON round trip: run wall %v rows %d, want %v %d", back.Run.Wall, back.Rows, r.Run.Wall, r.Rows)
	}
}

// TestClassify pins the phase names of the queries cutover sends.
func TestClassify(t *testing.T) {
	for _, c := range []struct {
		source bool
		q      string
		want   string
	}{
		{true, "SELECT count(*), coalesce(sum(hash_record_extended(t, 0)), 0)::text FROM \"public\".\"users\" t WHERE true", "checksum"},
		{true, "SELECT count(*), coalesce(sum(hashtextextended(t::text, 0)), 0)::text FROM \"public\".\"users\" t WHERE true", "checksum"},
		{true, `COPY (SELECT "id" FROM "public"."users" WHERE true) TO STDOUT (FORMAT binary)`, "extract"},
		{true, `COPY (SELECT hashtidextended(t.ctid, t.xmin::text::bigint), "id" FROM "public"."users" t WHERE true) TO STDOUT (FORMAT binary)`, "extract"},
		{true, "SELECT count(*), coalesce(sum(hashtidextended(t.ctid, t.xmin::text::bigint)), 0)::text, (SELECT system_identifier FROM pg_control_system())::text FROM \"public\".\"users\" t WHERE true", "checksum"},
		{false, `COPY "cutover_stage"."users" ("id") FROM STDIN (FORMAT binary)`, "extract"},
		{false, `CREATE INDEX ON "cutover_stage"."users" (id)`, "stage indexes"},
		{false, `CREATE INDEX IF NOT EXISTS users_lower_email ON "cutover_stage"."users" (lower(email))`, "stage indexes"},
		{false, `INSERT INTO "cutover_stage"."_staged_batches" VALUES ($1, $2, $3, $4, $5, $6, $7, $8)`, "extract"},
		{false, `SELECT r.legacy_table, r.batch, r.batches FROM "cutover_stage"."_staged_batches" r`, "extract"},
		{false, `SET LOCAL default_statistics_target = 10; ANALYZE "cutover_stage"."users" ("id")`, "stage indexes"},
		{false, `SET LOCAL default_statistics_target = 10; ANALYZE "cutover_stage"."d_users" ("_k")`, "decide"},
		{false, `CREATE UNLOGGED TABLE "cutover_stage"."d_users" AS SELECT s.id::text AS _k`, "decide"},
		{false, `CREATE INDEX ON "cutover_stage"."d_users" (_k)`, "decide"},
		{false, `COPY "cutover_stage"."quests_typed" ("id") FROM STDIN (FORMAT binary)`, "prepare"},
		{false, "INSERT INTO public.\"users\" AS t (\"id\")\nSELECT d._tid", "apply: rows"},
		{false, `DELETE FROM public."users" t USING cutover.dispositions o WHERE true`, "apply: remove"},
		{false, "INSERT INTO cutover.dispositions AS o (legacy_table)", "apply: bookkeeping"},
		{false, "INSERT INTO \"cutover\".\"dispositions_users\" (legacy_table)\nSELECT 'users', _k FROM \"cutover_stage\".\"d_users\"", "apply: bookkeeping"},
		{false, `ALTER TABLE "cutover"."dispositions_users" ADD PRIMARY KEY (legacy_key, legacy_table)`, "apply: bookkeeping"},
		{false, `ALTER TABLE cutover.dispositions ATTACH PARTITION "cutover"."dispositions_users" FOR VALUES IN ('users')`, "apply: bookkeeping"},
		{false, `SET LOCAL default_statistics_target = 10; ANALYZE "cutover"."dispositions_users"`, "apply: bookkeeping"},
		{false, `SET LOCAL enable_nestloop = off`, "apply: bookkeeping"},
		{false, `DROP INDEX public.idx_habits_user_id`, "apply: index builds"},
		{false, `CREATE INDEX idx_habits_user_id ON public.habits USING btree (user_id)`, "apply: index builds"},
		{false, `ALTER TABLE public."habits" ADD CONSTRAINT "habits_pkey" PRIMARY KEY (id)`, "apply: index builds"},
		{false, "UPDATE public.inbox_items t SET sort_order = o.rn - 1", "finish: sort_order"},
		{false, "WITH u AS (UPDATE public.inbox_items t SET sort_order = o.rn - 1", "finish: sort_order"},
		{false, `ANALYZE public."habits"`, "finish: analyze"},
		{false, `SET LOCAL default_statistics_target = 10; ANALYZE cutover."rejects" (legacy_table, legacy_key)`, "finish: analyze"},
		{false, `copy "cutover"."batches" ( "legacy_table" ) from stdin binary;`, "apply: bookkeeping"},
		{false, `DROP SCHEMA IF EXISTS "cutover_stage" CASCADE`, "finish"},
		{false, `DROP TABLE IF EXISTS "cutover_stage"."d_users"`, "apply: stage drops"},
		{false, "WITH g AS (SELECT _disp, count(*) AS n FROM \"cutover_stage\".\"d_users\" GROUP BY 1),\n\tr AS (INSERT INTO cutover.results AS o (mapping) SELECT 'users' FROM g)\n\tINSERT INTO cutover.reasons SELECT 1", "apply: bookkeeping"},
		{false, `SELECT disposition, reason, sum(rows)::bigint FROM cutover.reasons GROUP BY 1, 2`, "summary"},
		{false, "SELECT count(*) FROM public.\"users\"", "summary"},
		{false, `SELECT count(*) FROM (SELECT c."user_id" AS v FROM public."habits" c JOIN "cutover_stage"."d_habits" d ON c.id = d._tid) w`, "apply: foreign-key checks"},
		{false, "SELECT 42", "target: SELECT 42"},
	} {
		if got := classify(c.source, c.q); got != c.want {
			t.Errorf("classify(%v, %q) = %q, want %q", c.source, c.q, got, c.want)
		}
	}
}

// TestStatement pins how statements are named in a profile.
func TestStatement(t *testing.T) {
	for _, c := range []struct{ q, want string }{
		{`CREATE UNLOGGED TABLE "cutover_stage"."d_users" AS SELECT s.id::text AS _k`, "CREATE UNLOGGED TABLE d_users"},
		{"INSERT INTO cutover.dispositions AS o (legacy_table)\n\tSELECT 'users', _k FROM \"cutover_stage\".\"d_users\"", "INSERT INTO dispositions (d_users)"},
		{`INSERT INTO public."habits" AS t ("id") SELECT d._tid FROM "cutover_stage"."d_habits" d`, "INSERT INTO habits (d_habits)"},
		{`SELECT count(*) FROM public."users"`, "SELECT FROM users"},
		{`COPY (SELECT "id" FROM "public"."users" WHERE true) TO STDOUT`, "COPY TO STDOUT users"},
		{`SELECT b, count(*) FILTER (WHERE ie) FROM (SELECT ((kh >> 60) & 15) AS b FROM (SELECT hashtextextended(k, 0) AS kh
			FROM (SELECT s."id"::text AS k FROM public."activity_events" s) x) y OFFSET 0) z GROUP BY 1`, "buckets activity_events"},
		{`SELECT b, count(*) FILTER (WHERE ie) FROM (SELECT ((kh >> 60) & 15) AS b FROM (SELECT hashtextextended(k, 0) AS kh, hash_record_ext`,
			"buckets (text cut before its table)"},
	} {
		if got := statement(c.q); got != c.want {
			t.Errorf("statement(%q) = %q, want %q", c.q, got, c.want)
		}
	}
}

func TestMedianWall(t *testing.T) {
	ok := func(s float64) Measurement {
		return Measurement{Status: StatusOK, Wall: Seconds(s * float64(time.Second))}
	}
	failed := Measurement{Status: StatusFailed, Wall: Seconds(time.Hour)}
	for _, c := range []struct {
		name string
		ms   []Measurement
		want float64
	}{
		{"none", nil, 0},
		{"only failed", []Measurement{failed}, 0},
		{"odd", []Measurement{ok(3), ok(1), ok(2)}, 2},
		{"even", []Measurement{ok(4), ok(1), ok(2), ok(3)}, 2.5},
		{"failed runs left out", []Measurement{ok(1), failed, ok(3)}, 2},
	} {
		if got := medianWall(c.ms).D().Seconds(); got != c.want {
			t.Errorf("%s: median %v, want %v", c.name, got, c.want)
		}
	}
}

func TestComparePhases(t *testing.T) {
	run := func(phases map[string]float64) Measurement {
		p := &Profile{}
		for name, busy := range phases {
			p.Phases = append(p.Phases, Phase{Name: name, Busy: Seconds(busy * float64(time.Second))})
		}
		return Measurement{Status: StatusOK, Wall: Seconds(time.Minute), Phases: p}
	}
	this := []Measurement{run(map[string]float64{"extract": 10, "decide": 4}), run(map[string]float64{"extract": 12, "decide": 2}),
		{Status: StatusFailed, Phases: &Profile{Phases: []Phase{{Name: "extract", Busy: Seconds(time.Hour)}}}}}
	others := []Measurement{run(map[string]float64{"extract": 11, "decide": 5, "tiny": 0.05}), run(map[string]float64{"extract": 9, "prepare": 3})}
	got := comparePhases(this, others)
	want := []PhaseComparison{
		{Name: "extract", ThisBusy: Seconds(11 * time.Second), OtherBusy: Seconds(10 * time.Second)},
		{Name: "decide", ThisBusy: Seconds(3 * time.Second), OtherBusy: Seconds(2500 * time.Millisecond)}, // a run without it counts 0
		{Name: "prepare", ThisBusy: 0, OtherBusy: Seconds(1500 * time.Millisecond)},
	}
	if d := cmp.Diff(want, got); d != "" {
		t.Errorf("comparePhases (-want +got):\n%s", d)
	}
}

// TestTargets: each target compares the measurements it names, and says
// n/a when one of them is missing. The memory-vs-scale target needs
// --baseline (Options.Baseline, a report at another scale): the run's
// peak RSS may be at most 20 % above or below the baseline run's.
func TestTargets(t *testing.T) {
	ok := func(secs float64) Measurement {
		return Measurement{Status: StatusOK, Wall: Seconds(secs * float64(time.Second))}
	}
	// baseline is a 1M-row report whose run peaked at mib MiB.
	baseline := func(mib float64) *Report {
		return &Report{Rows: 1_000_000, Run: Measurement{Status: StatusOK, PeakRSSKiB: int64(mib * 1024)}}
	}
	const growth = "run peak RSS growth with scale"
	for _, c := range []struct {
		name       string
		base       *Report
		wantGrowth string
	}{
		{"no baseline", nil, "n/a: needs --baseline (a report at another scale)"},
		{"baseline whose run failed", &Report{Rows: 1_000_000, Run: Measurement{Status: StatusFailed}},
			"n/a: the baseline's run failed"},
		{"baseline at this scale", &Report{Rows: 10_000_000, Run: Measurement{Status: StatusOK, PeakRSSKiB: 30 << 10}},
			"n/a: the baseline is at this scale (10000000 rows): give one at another"},
		{"5% growth", baseline(28.5), "PASS: 1.05× (30.0 MiB at 10000000 rows vs 28.5 MiB at 1000000 rows)"},
		{"20% growth, the limit", baseline(25), "PASS: 1.20× (30.0 MiB at 10000000 rows vs 25.0 MiB at 1000000 rows)"},
		{"50% growth", baseline(20), "MISS: 1.50× (30.0 MiB at 10000000 rows vs 20.0 MiB at 1000000 rows)"},
		{"25% shrink", baseline(40), "MISS: 0.75× (30.0 MiB at 10000000 rows vs 40.0 MiB at 1000000 rows)"},
	} {
		t.Run(c.name, func(t *testing.T) {
			r := &Report{Rows: 10_000_000, Raw: ok(4), Pgcopydb: ok(12), Run: ok(10), Verify: ok(5), Rerun: ok(1.2), Changed: ok(16), DryRun: ok(6),
				DryRunFinished: Measurement{Status: StatusFailed}}
			r.Raw.VsRaw, r.Run.VsRaw = 1, 2.5
			r.Run.PeakRSSKiB = 30 << 10
			r.Pgcopydb.Status = StatusSkipped
			got := map[string]string{}
			for _, tg := range targets(r, c.base) {
				got[tg.Name] = tg.Result + ": " + tg.Got
			}
			want := map[string]string{
				"run wall time vs the raw COPY pipe":                        "MISS: 2.50× (10s vs 4s)",
				"run wall time vs pgcopydb clone":                           "n/a: skipped",
				"run peak RSS":                                              "PASS: 30.0 MiB",
				growth:                                                      c.wantGrowth,
				"verify wall time vs the run":                               "PASS: 0.50× (5s)",
				"no-op re-run wall time vs the run":                         "MISS: 0.120× (1.2s)",
				"re-run after a change vs the run (cutover's own)":          "MISS: 1.60× (16s)",
				"dry run on the empty target vs the run (cutover's own)":    "PASS: 0.60× (6s)",
				"dry run on the finished target vs the run (cutover's own)": "n/a: failed",
			}
			if d := cmp.Diff(want, got); d != "" {
				t.Errorf("targets (-want +got):\n%s", d)
			}
		})
	}
}

// TestTargetsOfAFailedRun: when the run failed, no target shows figures
// computed from it (its wall time and peak RSS are of a failure); each
// says that the run failed, and none is judged.
func TestTargetsOfAFailedRun(t *testing.T) {
	ok := func(name string, secs float64) Measurement {
		return Measurement{Name: name, Status: StatusOK, Wall: Seconds(secs * float64(time.Second))}
	}
	r := &Report{Rows: 10_000_000, Raw: ok("raw COPY pipe", 4), Pgcopydb: ok("pgcopydb clone", 12),
		Run:    Measurement{Name: "cutover run", Status: StatusFailed, Wall: Seconds(time.Millisecond), PeakRSSKiB: 200, ExitCode: 1},
		Verify: ok("cutover verify", 5), Rerun: ok("no-op re-run", 1.2), Changed: ok(changedName, 16), DryRun: ok(dryRunName, 6), DryRunFinished: ok("dry run, finished target", 5)}
	base := &Report{Rows: 1_000_000, Run: Measurement{Status: StatusOK, PeakRSSKiB: 30 << 10}}
	for _, tg := range targets(r, base) {
		if tg.Result != "n/a" || tg.Got != "cutover run failed" {
			t.Errorf("%s: %s: %s; want n/a: cutover run failed", tg.Name, tg.Result, tg.Got)
		}
	}
	if got, want := r.Failures(), []string{"(c) cutover run failed"}; !slices.Equal(got, want) {
		t.Errorf("failures %q, want %q", got, want)
	}
}

// TestRunProcEnvironmentAndInterrupt: a measured child gets the bench's
// environment without its CUTOVER_ settings (a CUTOVER_KEEP_STAGE of the
// shell that ran the bench changed the run measured) and with what the
// bench gives it; cancelled, it is interrupted as Ctrl-C does, so that a
// cutover can record its run as interrupted, not killed.
func TestRunProcEnvironmentAndInterrupt(t *testing.T) {
	t.Setenv("CUTOVER_KEEP_STAGE", "1")
	t.Setenv("BENCH_TEST_KEPT", "yes")
	p, err := runProc(context.Background(), "/bin/sh", []string{"CUTOVER_TARGET_URL=given"}, "-c", "env")
	if err != nil {
		t.Fatal(err)
	}
	env := p.stdout.String()
	for want, has := range map[string]bool{"CUTOVER_KEEP_STAGE=": false, "BENCH_TEST_KEPT=yes": true, "CUTOVER_TARGET_URL=given": true} {
		if strings.Contains(env, want) != has {
			t.Errorf("the child's environment holds %q: %v, want %v", want, !has, has)
		}
	}

	ctx, cancel := context.WithCancel(context.Background())
	time.AfterFunc(300*time.Millisecond, cancel)
	p, err = runProc(ctx, "/bin/sh", nil, "-c", `trap 'echo interrupted; exit 130' INT; sleep 20 >/dev/null 2>&1 & wait`)
	if !errors.Is(err, context.Canceled) {
		t.Errorf("a cancelled child: %v, want the cancellation", err)
	}
	if p.exit != 130 || p.stdout.String() != "interrupted" { // killed, it would say nothing, with exit -1
		t.Errorf("a cancelled child: exit %d, said %q; want 130 and that it was interrupted", p.exit, p.stdout.String())
	}
}

// TestCompareNeedsACutoverRun: a --compare binary that exits 0 without
// running a cutover (here /bin/true) measured nothing: its runs are failed,
// with a note, and its median is none, not a run in no time that made it
// look 1,700 times faster.
func TestCompareNeedsACutoverRun(t *testing.T) {
	ctx := context.Background()
	srv := &servers{source: pgtest.NewDB(t), target: pgtest.NewDB(t)}
	srv.targetAdmin = srv.target
	var log bytes.Buffer
	o := &Options{Binary: "/bin/true", Compare: "/bin/true", Rounds: 1, SampleEvery: 50 * time.Millisecond, Log: &log}
	c, err := compare(ctx, o, srv, &Report{Rows: 1}, nil)
	if err != nil {
		t.Fatal(err)
	}
	for _, m := range append(slices.Clone(c.This), c.Others...) {
		if m.Status != StatusFailed || m.Note != "it exited 0 but recorded no finished run in the target: not a cutover run" {
			t.Errorf("%s: %s (%s), want failed as no cutover run", m.Name, m.Status, m.Note)
		}
	}
	var text bytes.Buffer
	c.writeText(&text)
	if !strings.Contains(text.String(), "median") || c.OtherMedian != 0 || !regexp.MustCompile(`median\s+-\s+-\s+-`).MatchString(text.String()) {
		t.Errorf("medians of runs that measured nothing:\n%s", text.String())
	}
}
