package bench

import (
	"cmp"
	"encoding/json"
	"fmt"
	"io"
	"math"
	"os"
	"strings"
	"text/tabwriter"
	"time"
)

// Seconds is a duration that reads and writes as seconds in JSON.
type Seconds time.Duration

func (s Seconds) D() time.Duration { return time.Duration(s) }

func (s Seconds) String() string {
	d := time.Duration(s)
	switch {
	case d >= 10*time.Second:
		return d.Round(100 * time.Millisecond).String()
	case d >= time.Second:
		return d.Round(10 * time.Millisecond).String()
	}
	return d.Round(time.Millisecond).String()
}

func (s Seconds) MarshalJSON() ([]byte, error) {
	return json.Marshal(time.Duration(s).Seconds())
}

// UnmarshalJSON reads what MarshalJSON wrote back to the same nanosecond:
// the seconds' float is rounded to nanoseconds, not truncated (8.101137061
// s would read as 8101137060 ns).
func (s *Seconds) UnmarshalJSON(b []byte) error {
	var f float64
	if err := json.Unmarshal(b, &f); err != nil {
		return err
	}
	*s = Seconds(math.Round(f * float64(time.Second)))
	return nil
}

// The states of a measurement.
const (
	StatusOK          = "ok"
	StatusFailed      = "failed"        // it ran and failed; Note has the output's tail
	StatusSkipped     = "skipped"       // not asked for, or its tool is not installed
	StatusUnavailable = "not available" // the cutover binary lacks the command
)

// Measurement is one timed step.
type Measurement struct {
	Name   string  `json:"name"`
	Status string  `json:"status"`
	Note   string  `json:"note,omitempty"`
	Wall   Seconds `json:"wall_seconds"`
	// RowsPerSec and MBPerSec divide the legacy rows and table bytes by
	// the wall time (decimal MB).
	RowsPerSec float64 `json:"rows_per_second"`
	MBPerSec   float64 `json:"mb_per_second"`
	// VsRaw is the wall time over the raw pipe's.
	VsRaw float64 `json:"vs_raw"`
	// PeakRSSKiB is the child process's peak resident set size, its VmHWM
	// (0: not a child process).
	PeakRSSKiB int64 `json:"peak_rss_kib,omitempty"`
	ExitCode   int   `json:"exit_code,omitempty"`
	// LoadAvg is the machine's 1-minute load average when it started:
	// above the CPU count, something else competed for the CPUs.
	LoadAvg float64 `json:"load_average"`
	// Phases say where the time went, sampled from pg_stat_activity.
	Phases *Profile `json:"phases,omitempty"`
}

func (m *Measurement) ok() bool { return m.Status == StatusOK }

func (m *Measurement) line() string {
	if !m.ok() {
		return fmt.Sprintf("%s: %s: %s", m.Name, m.Status, firstLine(m.Note))
	}
	s := fmt.Sprintf("%s: %s, %.0f rows/s, %.1f MB/s, %.2f× raw", m.Name, m.Wall, m.RowsPerSec, m.MBPerSec, m.VsRaw)
	if m.PeakRSSKiB > 0 {
		s += fmt.Sprintf(", peak RSS %.1f MiB", float64(m.PeakRSSKiB)/1024)
	}
	return s
}

func firstLine(s string) string {
	if i := strings.IndexByte(s, '\n'); i >= 0 {
		return s[:i] + " …"
	}
	return s
}

// Target is one goal of issue 7 and whether this bench met it.
type Target struct {
	Name string `json:"name"`
	Want string `json:"want"`
	Got  string `json:"got"`
	// Result is PASS, MISS, or n/a when a measurement it needs is missing.
	Result string `json:"result"`
}

// Report is everything one bench measured.
type Report struct {
	Machine  Machine   `json:"machine"`
	Started  time.Time `json:"started"`
	Total    Seconds   `json:"total_seconds"`
	Users    int       `json:"users"`
	Seed     int64     `json:"seed"`
	Rows     int64     `json:"rows"`  // legacy rows
	Bytes    int64     `json:"bytes"` // legacy table data (heap + TOAST)
	Tables   int       `json:"tables"`
	Workers  int       `json:"workers"`
	Generate Seconds   `json:"generate_seconds"`

	Raw      Measurement `json:"raw"`
	Pgcopydb Measurement `json:"pgcopydb"`
	Run      Measurement `json:"run"`
	Verify   Measurement `json:"verify"`
	Rerun    Measurement `json:"rerun"`
	// Change says what the source's change before (f) was.
	Change  string      `json:"change"`
	Changed Measurement `json:"changed"`
	// DryRun is (g), against the freshly migrated target before (c);
	// DryRunFinished (h), against the target (c) finished, after (e).
	DryRun         Measurement `json:"dry_run"`
	DryRunFinished Measurement `json:"dry_run_finished"`

	Targets []Target `json:"targets"`
	// Compare is the engine comparison (Options.Compare), or nil.
	Compare *Comparison `json:"compare,omitempty"`
}

// Measurements lists (a) to (h) in order of their letters ((g) is taken
// before (c)).
func (r *Report) Measurements() []*Measurement {
	return []*Measurement{&r.Raw, &r.Pgcopydb, &r.Run, &r.Verify, &r.Rerun, &r.Changed, &r.DryRun, &r.DryRunFinished}
}

// Failures lists the cutover's own measurements, (c) to (h), that failed
// ("(c) cutover run failed"): a bench with any has no figures to trust
// for them, and says so by its exit status.
func (r *Report) Failures() []string {
	var out []string
	for i, m := range r.Measurements() {
		if i >= 2 && m.Status == StatusFailed {
			out = append(out, fmt.Sprintf("(%c) %s %s", 'a'+i, m.Name, m.Status))
		}
	}
	return out
}

// finish fills in the rates and the ratio to the raw pipe.
func (r *Report) finish(m *Measurement) {
	if !m.ok() || m.Wall <= 0 {
		return
	}
	secs := m.Wall.D().Seconds()
	m.RowsPerSec = float64(r.Rows) / secs
	m.MBPerSec = float64(r.Bytes) / 1e6 / secs
	if r.Raw.ok() && r.Raw.Wall > 0 {
		m.VsRaw = secs / r.Raw.Wall.D().Seconds()
	}
}

// ChangedLimit bounds (f), the re-run after a small change, as a multiple
// of the run. It is cutover's own target, not issue 7's: such a re-run
// decides every row again and compares it with the target, so it costs
// about a run; a re-run that costs several runs has a plan gone wrong (a
// ledger partition without statistics made it about 6× at 1M).
const ChangedLimit = 1.5

// DryRunLimit bounds (g) and (h), the dry runs, as a multiple of the
// run. It is cutover's own target, not issue 7's: a dry run extracts and
// decides as a run does, then compares instead of writing, so a dry run
// that costs more than the run it previews has a comparison gone wrong.
const DryRunLimit = 1.0

// RSSGrowthLimit is how much the run's peak RSS may grow between scales.
const RSSGrowthLimit = 1.20

// RSSLimitKiB is the run's peak RSS budget (set at 10M rows).
const RSSLimitKiB = 256 << 10

func targets(r *Report, base *Report) []Target {
	var out []Target
	add := func(name, want string, have bool, got string, pass bool) {
		t := Target{Name: name, Want: want, Got: got, Result: "n/a"}
		if have {
			t.Result = "MISS"
			if pass {
				t.Result = "PASS"
			}
		}
		out = append(out, t)
	}
	run, raw := &r.Run, &r.Raw
	haveRun := run.ok()
	// got is what a target that needs the run and m says when one of
	// them did not succeed: which, and how it ended.
	got := func(m *Measurement, figure string) string {
		for _, m := range []*Measurement{run, m} {
			if !m.ok() {
				return strings.TrimSpace(m.Name + " " + m.Status)
			}
		}
		return figure
	}
	add("run wall time vs the raw COPY pipe", "≤ 1.5× raw", haveRun && raw.ok(),
		got(raw, fmt.Sprintf("%.2f× (%s vs %s)", run.VsRaw, run.Wall, raw.Wall)), run.VsRaw <= 1.5)
	pc := &r.Pgcopydb
	vsPgcopydb := ""
	if pc.ok() && pc.Wall > 0 {
		vsPgcopydb = fmt.Sprintf("%.2f× (%s vs %s)", run.Wall.D().Seconds()/pc.Wall.D().Seconds(), run.Wall, pc.Wall)
	}
	add("run wall time vs pgcopydb clone", "≤ 1.0× pgcopydb", haveRun && pc.ok(), got(pc, vsPgcopydb), run.Wall <= pc.Wall)
	add("run peak RSS", "≤ 256 MiB (at 10M rows)", haveRun && run.PeakRSSKiB > 0,
		got(run, fmt.Sprintf("%.1f MiB", float64(run.PeakRSSKiB)/1024)), run.PeakRSSKiB <= RSSLimitKiB)
	switch growth := "run peak RSS growth with scale"; {
	case base == nil:
		add(growth, "within 20% across scales", false, "needs --baseline (a report at another scale)", false)
	case base.Rows == r.Rows:
		add(growth, "within 20% across scales", false, fmt.Sprintf("the baseline is at this scale (%d rows): give one at another", base.Rows), false)
	case !base.Run.ok() || base.Run.PeakRSSKiB <= 0:
		add(growth, "within 20% across scales", false, "the baseline's run "+cmp.Or(base.Run.Status, "is missing"), false)
	case haveRun && run.PeakRSSKiB > 0:
		g := float64(run.PeakRSSKiB) / float64(base.Run.PeakRSSKiB)
		add(growth, "within 20% across scales", true,
			fmt.Sprintf("%.2f× (%.1f MiB at %d rows vs %.1f MiB at %d rows)", g,
				float64(run.PeakRSSKiB)/1024, r.Rows, float64(base.Run.PeakRSSKiB)/1024, base.Rows),
			g <= RSSGrowthLimit && g >= 1/RSSGrowthLimit)
	default:
		add(growth, "within 20% across scales", false, got(run, "the run's peak RSS is unknown"), false)
	}
	// vsRun adds the target that measurement m take at most limit runs;
	// digits is the precision of the ratio shown.
	vsRun := func(name string, m *Measurement, limit float64, digits int) {
		ratio, figure := 0.0, ""
		if haveRun && m.ok() && run.Wall > 0 {
			ratio = m.Wall.D().Seconds() / run.Wall.D().Seconds()
			figure = fmt.Sprintf("%.*f× (%s)", digits, ratio, m.Wall)
		}
		add(name, fmt.Sprintf("≤ %g× run", limit), haveRun && m.ok(), got(m, figure), ratio <= limit)
	}
	vsRun("verify wall time vs the run", &r.Verify, 0.5, 2)
	vsRun("no-op re-run wall time vs the run", &r.Rerun, 0.1, 3)
	vsRun("re-run after a change vs the run (cutover's own)", &r.Changed, ChangedLimit, 2)
	vsRun("dry run on the empty target vs the run (cutover's own)", &r.DryRun, DryRunLimit, 2)
	vsRun("dry run on the finished target vs the run (cutover's own)", &r.DryRunFinished, DryRunLimit, 2)
	return out
}

// ReadReport reads a report that WriteJSON wrote to the file at path.
func ReadReport(path string) (*Report, error) {
	b, err := os.ReadFile(path)
	if err != nil {
		return nil, fmt.Errorf("read the bench report: %w", err)
	}
	r := &Report{}
	if err := json.Unmarshal(b, r); err != nil {
		return nil, fmt.Errorf("read the bench report %s: %w", path, err)
	}
	if r.Rows <= 0 || r.Workers <= 0 || r.Run.Name == "" {
		return nil, fmt.Errorf("read the bench report %s: not a report of `cutover bench --json` (it has no rows, workers or run)", path)
	}
	return r, nil
}

// WriteJSON writes the report as indented JSON.
func (r *Report) WriteJSON(w io.Writer) error {
	enc := json.NewEncoder(w)
	enc.SetIndent("", "  ")
	return enc.Encode(r)
}

// WriteText writes the report for people: the scale and machine, one line
// per measurement, the targets, and where the run's time went.
func (r *Report) WriteText(w io.Writer) {
	m := r.Machine
	fmt.Fprintf(w, "cutover bench: %d legacy rows in %d tables (%.1f MB of table data, %d users, seed %d), %d workers\n",
		r.Rows, r.Tables, float64(r.Bytes)/1e6, r.Users, r.Seed, r.Workers)
	fmt.Fprintf(w, "machine: %s\n\n", m)

	tw := tabwriter.NewWriter(w, 0, 4, 2, ' ', tabwriter.AlignRight)
	fmt.Fprintln(tw, "MEASUREMENT\tWALL\tROWS/S\tMB/S\t× RAW\tPEAK RSS\tLOAD\t")
	letters := "abcdefgh"
	var notes []string
	for i, ms := range r.Measurements() {
		name := fmt.Sprintf("(%c) %s", letters[i], ms.Name)
		if !ms.ok() {
			fmt.Fprintf(tw, "%s\t%s\t\t\t\t\t\t\n", name, ms.Status)
			if ms.Note != "" {
				notes = append(notes, fmt.Sprintf("(%c) %s: %s", letters[i], ms.Status, ms.Note))
			}
			continue
		}
		rss := "-"
		if ms.PeakRSSKiB > 0 {
			rss = fmt.Sprintf("%.1f MiB", float64(ms.PeakRSSKiB)/1024)
		}
		fmt.Fprintf(tw, "%s\t%s\t%.0f\t%.1f\t%.2f\t%s\t%.1f\t\n", name, ms.Wall, ms.RowsPerSec, ms.MBPerSec, ms.VsRaw, rss, ms.LoadAvg)
		if ms.Note != "" {
			notes = append(notes, fmt.Sprintf("(%c) %s", letters[i], ms.Note))
		}
	}
	tw.Flush()
	if r.Change != "" {
		notes = append(notes, "(f) the change: "+r.Change)
	}
	for _, ms := range r.Measurements() {
		if ms.LoadAvg > float64(m.CPUs) {
			notes = append(notes, fmt.Sprintf("LOAD above %d CPUs: other work competed with the bench, so its figures are pessimistic", m.CPUs))
			break
		}
	}
	for _, n := range notes {
		fmt.Fprintf(w, "  %s\n", indent(n, "    "))
	}

	fmt.Fprintln(w)
	tw = tabwriter.NewWriter(w, 0, 4, 2, ' ', 0)
	fmt.Fprintln(tw, "TARGET\tWANT\tGOT\tRESULT")
	for _, t := range r.Targets {
		fmt.Fprintf(tw, "%s\t%s\t%s\t%s\n", t.Name, t.Want, t.Got, t.Result)
	}
	tw.Flush()

	for _, ms := range []*Measurement{&r.Run, &r.Verify, &r.Rerun, &r.Changed, &r.DryRun, &r.DryRunFinished} {
		if ms.Phases == nil || !ms.ok() {
			continue
		}
		fmt.Fprintf(w, "\nWHERE THE TIME OF %s WENT (pg_stat_activity sampled every %s, %d samples)\n",
			strings.ToUpper(ms.Name), ms.Phases.Every, ms.Phases.Samples)
		ms.Phases.writeText(w, ms.Wall.D())
		if ms == &r.Run {
			fmt.Fprintln(w, "\nCOSTLIEST STATEMENTS OF THE RUN (connection-seconds)")
			tw := tabwriter.NewWriter(w, 0, 4, 2, ' ', 0)
			for _, st := range ms.Phases.Hottest(12) {
				fmt.Fprintf(tw, "  %s\t%.1f\n", st.Name, st.Busy.D().Seconds())
			}
			tw.Flush()
		}
	}
	if r.Compare != nil {
		r.Compare.writeText(w)
	}
	fmt.Fprintf(w, "\nbench took %s (generating the legacy database: %s)\n", r.Total, r.Generate)
}

func indent(s, prefix string) string {
	return strings.ReplaceAll(strings.TrimSpace(s), "\n", "\n"+prefix)
}
