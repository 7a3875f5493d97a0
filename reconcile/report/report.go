// Package report renders what `cutover verify` found (reconcile.Result) and
// what a dry run would do (load.Diff) for people and for machines: a
// concise terminal summary, report.json (a versioned schema, documented in
// docs/report-schema.md), report.md and report.html, one self-contained
// file with inline CSS and SVG charts.
//
// Both kinds of report share one model, Report, which is what report.json
// holds. Rendering never touches a database; no secret value reaches a
// report (reconcile.SecretColumn names the columns, and dry-run row diffs are
// scrubbed once more here).
package report

import (
	"cmp"
	"fmt"
	"slices"
	"strings"
	"time"
	"unicode"

	"github.com/dustin/go-humanize"

	"github.com/cutover/cutover/internal/prose"
	"github.com/cutover/cutover/load"
	"github.com/cutover/cutover/mappings"
	"github.com/cutover/cutover/reconcile"
)

// SchemaVersion is the version of the report.json schema. It changes only
// when a field changes meaning or disappears; new fields may be added
// within a version.
const SchemaVersion = 1

// Kinds of report.
const (
	KindVerify = "verify"
	KindDryRun = "dry_run"
)

// Report is the content of report.json (docs/report-schema.md).
type Report struct {
	SchemaVersion int    `json:"schema_version"`
	Kind          string `json:"kind"`
	OK            bool   `json:"ok"`
	Flavor        string `json:"flavor"`
	// Volatile fields, omitted with Options.Stable.
	GeneratedAt string   `json:"generated_at,omitempty"`
	ElapsedMS   int64    `json:"elapsed_ms,omitempty"`
	Source      string   `json:"source,omitempty"`
	Target      string   `json:"target,omitempty"`
	LastRun     *LastRun `json:"last_run,omitempty"`

	Totals       Totals        `json:"totals"`
	Domains      []Domain      `json:"domains"`
	LegacyTables []LegacyTable `json:"legacy_tables"`
	TargetTables []TargetTable `json:"target_tables"`
	Content      []Content     `json:"content,omitempty"`
	Invariants   []Invariant   `json:"invariants,omitempty"`
	Reasons      []Reason      `json:"reasons"`
	// RejectedRows are, of a dry run, rows a run would reject: at most
	// load.RejectSamples of each legacy table and reason.
	RejectedRows []RejectedRow `json:"rejected_rows,omitempty"`
	Findings     []Finding     `json:"findings"`
	// Room is what a dry run took on the target (dry run only; volatile,
	// omitted with Options.Stable).
	Room *Room `json:"room,omitempty"`
	// Redo names, of a dry run, the mappings the run previewed would redo
	// (load.Diff.Redo): all of them on a first run, with --full or on a
	// target that records no inputs; none when it would be a no-op.
	Redo []string `json:"redo,omitempty"`
	// Mappings counts, of a dry run, the mappings of its flavor (of which
	// Redo names some).
	Mappings int `json:"mappings,omitempty"`
	// DroppedColumns are, of a dry run, the legacy columns the target
	// drops, with their non-NULL values in the rows a run would bring to
	// the target without them (load.Diff.ColumnLoss).
	DroppedColumns []DroppedColumn `json:"dropped_columns,omitempty"`
}

// DroppedColumn is a legacy column the target does not keep, and how many
// non-NULL values of it a run would drop.
type DroppedColumn struct {
	Mapping string `json:"mapping"`
	Column  string `json:"column"`
	NonNull int64  `json:"non_null"`
}

// Room is the target database's size before a dry run and at its sampled
// peak, in bytes. What the dry run took (its stage and decisions) a run
// needs too, and more for the rows, indexes and bookkeeping it writes.
type Room struct {
	BeforeBytes int64 `json:"before_bytes"`
	PeakBytes   int64 `json:"peak_bytes"`
}

// Taken is the room the dry run took: the peak over the size before.
func (r Room) Taken() int64 { return max(r.PeakBytes-r.BeforeBytes, 0) }

// Text says it in a sentence.
func (r Room) Text() string {
	return "the dry run took at least " + byteSize(r.Taken()) + " on the target at its peak (its stage and decisions, beside " + byteSize(r.BeforeBytes) +
		" already there); a run needs that, and room for the rows, indexes and bookkeeping it writes (a rehearsal run's `cutover status` shows what it took)"
}

// byteSize renders a size in binary units ("115 MiB").
func byteSize(n int64) string { return humanize.IBytes(uint64(max(n, 0))) }

// LastRun is the newest run recorded in the target (verify only).
type LastRun struct {
	ID     int64  `json:"id,omitempty"`
	Status string `json:"status"`
}

// Totals sums the report up.
type Totals struct {
	LegacyTables        int          `json:"legacy_tables"`
	LegacyTablesHolding int          `json:"legacy_tables_holding"`
	SourceRows          int64        `json:"source_rows"`
	Dispositions        Dispositions `json:"dispositions"`
	Failures            int          `json:"failures"`
	Informational       int          `json:"informational"`
	// FailuresUnlisted and InformationalUnlisted count the findings found
	// beyond those listed (at most --samples per check, kind and table).
	FailuresUnlisted      int `json:"failures_unlisted,omitempty"`
	InformationalUnlisted int `json:"informational_unlisted,omitempty"`
	// Verify only.
	TargetTables        *int `json:"target_tables,omitempty"`
	TargetTablesHolding *int `json:"target_tables_holding,omitempty"`
	ContentChecks       *int `json:"content_checks,omitempty"`
	ContentEqual        *int `json:"content_equal,omitempty"`
	Invariants          *int `json:"invariants,omitempty"`
	InvariantsHolding   *int `json:"invariants_holding,omitempty"`
	// Dry run only.
	Changes *Changes `json:"changes,omitempty"`
}

// Dispositions counts legacy rows by disposition.
type Dispositions struct {
	Loaded    int64 `json:"loaded"`
	Merged    int64 `json:"merged"`
	Folded    int64 `json:"folded"`
	Archived  int64 `json:"archived"`
	Discarded int64 `json:"discarded"`
	Rejected  int64 `json:"rejected"`
}

func (d *Dispositions) add(o Dispositions) {
	d.Loaded += o.Loaded
	d.Merged += o.Merged
	d.Folded += o.Folded
	d.Archived += o.Archived
	d.Discarded += o.Discarded
	d.Rejected += o.Rejected
}

// Sum is the rows accounted for.
func (d Dispositions) Sum() int64 {
	return d.Loaded + d.Merged + d.Folded + d.Archived + d.Discarded + d.Rejected
}

// Changes is what a run would write to a target table (dry run).
type Changes struct {
	Insert       int64 `json:"insert"`
	Update       int64 `json:"update"`
	Delete       int64 `json:"delete"`
	Unchanged    int64 `json:"unchanged"`
	OnlyInTarget int64 `json:"only_in_target"`
	// LeftAlone counts the rows of Insert, Update and Delete that a plain
	// `cutover run` leaves as they are: rows changed in the target after
	// the cutover wrote them, which only `cutover run --full` writes back
	// (load.Diff.LeftAlone).
	LeftAlone int64 `json:"left_alone,omitempty"`
	// Samples shows some updates as row diffs, "-target +decided".
	Samples []Sample `json:"samples,omitempty"`
}

// Total is the rows in which the target differs from what the source
// decides: the rows `cutover run --full` would write.
func (c Changes) Total() int64 { return c.Insert + c.Update + c.Delete }

// Writes is the rows a plain `cutover run` would write.
func (c Changes) Writes() int64 { return c.Total() - c.LeftAlone }

// Sample is one row diff of a dry run.
type Sample struct {
	Key  string `json:"key"`
	Diff string `json:"diff"`
}

// Domain is one part of the application (a target migration file).
type Domain struct {
	Name         string       `json:"name"`
	Title        string       `json:"title"`
	LegacyTables int          `json:"legacy_tables"`
	SourceRows   int64        `json:"source_rows"`
	Dispositions Dispositions `json:"dispositions"`
	Holds        bool         `json:"holds"`
}

// LegacyTable is one legacy table's conservation line.
type LegacyTable struct {
	Domain  string `json:"domain"`
	Table   string `json:"table"`
	Mapping string `json:"mapping"`
	Target  string `json:"target,omitempty"`
	Source  int64  `json:"source"`
	Dispositions
	Holds bool `json:"holds"`
	// Verify only: key-level differences, the run's recorded line, and
	// the rows kept in archive and rejects compared with the legacy rows.
	Keys     *KeyCheck `json:"keys,omitempty"`
	Recorded *Line     `json:"recorded,omitempty"`
	Kept     *Kept     `json:"kept,omitempty"`
}

// Kept compares the rows a legacy table's archived and rejected keys keep
// with the legacy rows (verify only).
type Kept struct {
	Rows      int64 `json:"rows"`
	Changed   int64 `json:"changed"`
	Truncated bool  `json:"truncated"`
	Equal     bool  `json:"equal"`
}

// KeyCheck counts the legacy keys not accounted for exactly once.
type KeyCheck struct {
	Unaccounted  int64 `json:"unaccounted"`
	NotInSource  int64 `json:"not_in_source"`
	CountedTwice int64 `json:"counted_twice"`
	// MergedCompared counts the merged keys whose target row was checked
	// to share what their rule merges on; MergedElsewhere those it does
	// not.
	MergedCompared  int64 `json:"merged_compared"`
	MergedElsewhere int64 `json:"merged_elsewhere"`
	Truncated       bool  `json:"truncated"`
}

// Line is a recorded conservation line.
type Line struct {
	Source int64 `json:"source"`
	Dispositions
}

// TargetTable is one target table.
type TargetTable struct {
	Domain string `json:"domain"`
	Table  string `json:"table"`
	// Verify: where its rows come from. Dry run: what a run would write.
	Rows    *Rows    `json:"rows,omitempty"`
	Changes *Changes `json:"changes,omitempty"`
}

// Rows accounts for a target table's rows (verify).
type Rows struct {
	Total       int64 `json:"total"`
	Loaded      int64 `json:"loaded"`
	Folded      int64 `json:"folded"`
	Seeds       int64 `json:"seeds"`
	Unexplained int64 `json:"unexplained"`
	Missing     int64 `json:"missing"`
	// SeedsMissing counts the seeded rows the table does not hold.
	SeedsMissing int64 `json:"seeds_missing"`
	Holds        bool  `json:"holds"`
}

// Content is one mapping's content comparison (verify).
type Content struct {
	Domain      string   `json:"domain"`
	Mapping     string   `json:"mapping"`
	Legacy      string   `json:"legacy"`
	Target      string   `json:"target"`
	OneToOne    bool     `json:"one_to_one"`
	Compared    []string `json:"compared"`
	Columns     []string `json:"columns"`
	Computed    []string `json:"computed"`
	NotCompared []string `json:"not_compared"`
	SourceRows  int64    `json:"source_rows"`
	TargetRows  int64    `json:"target_rows"`
	Missing     int64    `json:"missing"`
	Extra       int64    `json:"extra"`
	Changed     int64    `json:"changed"`
	Truncated   bool     `json:"truncated"`
	Buckets     int      `json:"buckets"`
	Equal       bool     `json:"equal"`
	Skipped     string   `json:"skipped,omitempty"`
}

// Invariant is one invariant check (verify).
type Invariant struct {
	Check      string `json:"check"`
	Name       string `json:"name"`
	Table      string `json:"table"`
	Rows       int64  `json:"rows,omitempty"`
	Violations int64  `json:"violations"`
	Enforced   bool   `json:"enforced"`
	Severity   string `json:"severity"`
	Holds      bool   `json:"holds"`
}

// Reason counts rows by disposition and reason.
// RejectedRow is a row a run would reject (dry run).
type RejectedRow struct {
	Domain      string `json:"domain"`
	LegacyTable string `json:"legacy_table"`
	Key         string `json:"key"`
	Reason      string `json:"reason"`
	Message     string `json:"message"`
}

type Reason struct {
	Disposition string `json:"disposition"`
	Reason      string `json:"reason"`
	Rows        int64  `json:"rows"`
}

// Finding is one finding (verify).
type Finding struct {
	Severity string   `json:"severity"`
	Check    string   `json:"check"`
	Kind     string   `json:"kind"`
	Domain   string   `json:"domain,omitempty"`
	Table    string   `json:"table,omitempty"`
	Key      string   `json:"key,omitempty"`
	Columns  []string `json:"columns,omitempty"`
	Message  string   `json:"message"`
}

// Options tune rendering.
type Options struct {
	// Stable leaves out everything that changes from one run to the next on
	// the same data (time, duration, servers, run id): for golden files.
	Stable bool
	// Now is the generation time (default time.Now).
	Now time.Time
}

func (o Options) stamp(r *Report, elapsed time.Duration, source, target string) {
	if o.Stable {
		r.GeneratedAt, r.ElapsedMS, r.Source, r.Target = "", 0, "", ""
		if r.LastRun != nil {
			r.LastRun.ID = 0
		}
		return
	}
	now := o.Now
	if now.IsZero() {
		now = time.Now()
	}
	r.GeneratedAt = now.UTC().Format(time.RFC3339)
	r.ElapsedMS = max(1, elapsed.Milliseconds())
	r.Source, r.Target = source, target
}

func ptr[T any](v T) *T { return &v }

// FromVerify builds the report of a verification.
func FromVerify(res *reconcile.Result, opts Options) *Report {
	r := &Report{SchemaVersion: SchemaVersion, Kind: KindVerify, OK: res.OK(), Flavor: res.Flavor,
		LastRun: &LastRun{ID: res.LastRun.ID, Status: res.LastRun.Status}}
	if r.LastRun.Status == "" {
		r.LastRun.Status = "none"
	}
	opts.stamp(r, res.Elapsed, res.Source, res.Target)
	domainOf := map[string]string{}
	for _, t := range res.Tables {
		d := legacyDomain(t.Legacy, t.Target)
		domainOf[t.Legacy] = d
		lt := LegacyTable{Domain: d, Table: t.Legacy, Mapping: t.Mapping, Target: t.Target, Source: t.Source,
			Dispositions: Dispositions{t.Loaded, t.Merged, t.Folded, t.Archived, t.Discarded, t.Rejected}, Holds: t.Holds,
			Keys: &KeyCheck{t.Unaccounted, t.NotInSource, t.CountedTwice, t.MergedCompared, t.MergedElsewhere, t.Truncated}}
		if t.Recorded != nil {
			l := t.Recorded
			lt.Recorded = &Line{l.Source, Dispositions{l.Loaded, l.Merged, l.Folded, l.Archived, l.Discarded, l.Rejected}}
		}
		if k := t.Kept; k != nil {
			lt.Kept = &Kept{k.Rows, k.Changed, k.Truncated, k.Equal}
		}
		r.LegacyTables = append(r.LegacyTables, lt)
	}
	holding := 0
	for _, t := range res.Targets {
		if t.Holds {
			holding++
		}
		r.TargetTables = append(r.TargetTables, TargetTable{Domain: targetDomain(t.Table), Table: t.Table,
			Rows: &Rows{t.Rows, t.Loaded, t.Folded, t.Seeds, t.Unexplained, t.Missing, t.SeedsMissing, t.Holds}})
	}
	r.Totals.TargetTables, r.Totals.TargetTablesHolding = ptr(len(res.Targets)), ptr(holding)
	equal, compared := 0, 0
	for _, c := range res.Contents {
		if c.Skipped == "" {
			compared++
		}
		if c.Equal {
			equal++
		}
		r.Content = append(r.Content, Content{Domain: targetDomain(c.Target), Mapping: c.Mapping, Legacy: c.Legacy, Target: c.Target,
			OneToOne: c.OneToOne, Compared: nonNil(c.Compared), Columns: nonNil(c.Columns), Computed: nonNil(c.Computed),
			NotCompared: nonNil(c.NotCompared), SourceRows: c.SourceRows, TargetRows: c.TargetRows, Missing: c.Missing,
			Extra: c.Extra, Changed: c.Changed, Truncated: c.Truncated, Buckets: c.Buckets, Equal: c.Equal, Skipped: c.Skipped})
	}
	r.Totals.ContentChecks, r.Totals.ContentEqual = ptr(compared), ptr(equal)
	holding = 0
	for _, i := range res.Invariants {
		if i.Holds || i.Severity == reconcile.Info {
			holding++
		}
		r.Invariants = append(r.Invariants, Invariant{Check: i.Check, Name: i.Name, Table: i.Table, Rows: i.Rows,
			Violations: i.Violations, Enforced: i.Enforced, Severity: string(i.Severity), Holds: i.Holds})
	}
	r.Totals.Invariants, r.Totals.InvariantsHolding = ptr(len(res.Invariants)), ptr(holding)
	for _, x := range res.Reasons {
		r.Reasons = append(r.Reasons, Reason{x.Disposition, x.Reason, x.Rows})
	}
	r.Findings = []Finding{}
	for _, f := range res.Findings {
		d := domainOf[f.Table]
		if d == "" && f.Table != "" {
			d = targetDomain(f.Table)
		}
		r.Findings = append(r.Findings, Finding{Severity: string(f.Severity), Check: f.Check, Kind: f.Kind, Domain: d,
			Table: f.Table, Key: f.Key, Columns: f.Columns, Message: f.Message})
	}
	r.finish()
	r.Totals.FailuresUnlisted, r.Totals.InformationalUnlisted = res.Unlisted[reconcile.Failure], res.Unlisted[reconcile.Info]
	return r
}

// FailingCount says how many findings fail: "30 (20 listed)" when some
// are not listed, else "20".
func (t Totals) FailingCount() string { return countListed(t.Failures, t.FailuresUnlisted) }

// InformationalCount is FailingCount of the informational findings.
func (t Totals) InformationalCount() string {
	return countListed(t.Informational, t.InformationalUnlisted)
}

func countListed(listed, unlisted int) string {
	if unlisted == 0 {
		return num(int64(listed))
	}
	return fmt.Sprintf("%s (%s listed)", num(int64(listed+unlisted)), num(int64(listed)))
}

// FromDryRun builds the report of a dry run.
func FromDryRun(d *load.Diff, source, target string, samples bool, opts Options) *Report {
	r := &Report{SchemaVersion: SchemaVersion, Kind: KindDryRun, OK: true, Flavor: d.Flavor}
	opts.stamp(r, d.Elapsed, source, target)
	for _, t := range d.Tables {
		r.LegacyTables = append(r.LegacyTables, LegacyTable{Domain: legacyDomain(t.Legacy, t.Target), Table: t.Legacy,
			Mapping: t.Mapping, Target: t.Target, Source: t.Source,
			Dispositions: Dispositions{t.Loaded, t.Merged, t.Folded, t.Archived, t.Discarded, t.Rejected}, Holds: t.Holds()})
		if !t.Holds() {
			r.OK = false
		}
	}
	var total Changes
	for _, t := range d.Targets {
		c := &Changes{Insert: t.Insert, Update: t.Update, Delete: t.Delete, Unchanged: t.Unchanged, OnlyInTarget: t.OnlyInTarget,
			LeftAlone: d.LeftAlone[t.Table]}
		if samples {
			for _, s := range t.Samples {
				c.Samples = append(c.Samples, Sample{Key: s.Key, Diff: ScrubDiff(s.Diff)})
			}
		}
		total.Insert += t.Insert
		total.Update += t.Update
		total.Delete += t.Delete
		total.Unchanged += t.Unchanged
		total.OnlyInTarget += t.OnlyInTarget
		total.LeftAlone += c.LeftAlone
		r.TargetTables = append(r.TargetTables, TargetTable{Domain: targetDomain(t.Table), Table: t.Table, Changes: c})
	}
	r.Totals.Changes = &total
	r.Redo, r.Mappings = d.Redo, len(d.Tables)
	for _, c := range d.ColumnLoss {
		r.DroppedColumns = append(r.DroppedColumns, DroppedColumn{c.Mapping, c.Column, c.NonNull})
	}
	if d.Space != nil && !opts.Stable {
		r.Room = &Room{BeforeBytes: d.Space.Before, PeakBytes: d.Space.Peak}
	}
	for _, x := range d.Reasons {
		r.Reasons = append(r.Reasons, Reason{x.Disposition, x.Reason, x.Rows})
	}
	for _, x := range d.Rejects {
		r.RejectedRows = append(r.RejectedRows, RejectedRow{legacyDomain(x.Legacy, ""), x.Legacy, x.Key, x.Reason, x.Message})
	}
	r.Findings = []Finding{}
	for _, t := range r.LegacyTables {
		if !t.Holds {
			r.Findings = append(r.Findings, Finding{Severity: string(reconcile.Failure), Check: reconcile.CheckConservation,
				Kind: reconcile.KindUnaccounted, Domain: t.Domain, Table: t.Table,
				Message: "the conservation law would not hold for this table"})
		}
	}
	for _, x := range d.Refusals {
		r.OK = false
		r.Findings = append(r.Findings, Finding{Severity: string(reconcile.Failure), Check: reconcile.CheckConstraints,
			Kind: reconcile.KindRefusedRows, Domain: targetDomain(x.Table), Table: x.Table,
			Message: "a run would stop at the mapping " + x.Mapping + ": " + x.String()})
	}
	if n := d.Rejected(); d.MaxRejects != nil && n > *d.MaxRejects {
		r.OK = false
		r.Findings = append(r.Findings, Finding{Severity: string(reconcile.Failure), Check: reconcile.CheckRun, Kind: reconcile.KindTooManyRejects,
			Message: fmt.Sprintf("%s would be rejected, more than --max-rejects %d: a run stops before it writes to the application tables; fix those rows in the source (see the rejects), or raise the limit",
				prose.Count(n, "row", "rows"), *d.MaxRejects)})
	}
	if sb := d.Standby; sb != nil {
		msg := "the source is a hot standby, and a run reads only what it has replayed"
		if !opts.Stable {
			msg += ": " + sb.Position()
		}
		msg += "; at the cutover, once the application has stopped, wait until the standby has replayed all its primary wrote. Its settings (" + sb.String() + ") "
		if sb.Waits() {
			msg += "make replay wait for the run's reads"
		} else {
			msg += "let replay cancel a run that reads while the primary changes: " + sb.Advice()
		}
		r.Findings = append(r.Findings, Finding{Severity: string(reconcile.Info), Check: reconcile.CheckSource, Kind: reconcile.KindHotStandby, Message: msg})
	}
	if d.OtherSource != "" {
		r.Findings = append(r.Findings, Finding{Severity: string(reconcile.Info), Check: reconcile.CheckSource, Kind: reconcile.KindOtherDatabase,
			Message: d.OtherSource + ". The dry run compared this source with what the target holds: a run makes the target this source's image"})
	}
	if sl := d.Sealed; sl != nil {
		when := ""
		if !opts.Stable {
			when = fmt.Sprintf(" at %s (on %s, after run %d)", sl.At.UTC().Format(time.RFC3339), sl.Host, sl.Run)
		}
		r.Findings = append(r.Findings, Finding{Severity: string(reconcile.Info), Check: reconcile.CheckRun, Kind: reconcile.KindSealed,
			Message: "the target went live: it was sealed" + when + ", and a run refuses it; the changes are what a run would write once `cutover seal --undo` lifted the seal"})
	}
	for _, t := range d.Targets {
		if n := d.LeftAlone[t.Table]; n > 0 {
			r.Findings = append(r.Findings, Finding{Severity: string(reconcile.Info), Check: reconcile.CheckRerun,
				Kind: reconcile.KindLeftAlone, Domain: targetDomain(t.Table), Table: t.Table,
				Message: fmt.Sprintf("%s from what the source decides, but every mapping writing this table holds its recorded inputs: "+
					"they were changed in the target after the cutover wrote them, and a plain `cutover run` leaves them; `cutover run --full` writes them back",
					prose.Count(n, "row differs", "rows differ"))})
		}
	}
	r.finish()
	return r
}

// finish computes the totals and the domains.
func (r *Report) finish() {
	if r.Reasons == nil {
		r.Reasons = []Reason{}
	}
	if r.TargetTables == nil {
		r.TargetTables = []TargetTable{}
	}
	r.Totals.LegacyTables = len(r.LegacyTables)
	byName := map[string]*Domain{}
	for _, t := range r.LegacyTables {
		if t.Holds {
			r.Totals.LegacyTablesHolding++
		}
		r.Totals.SourceRows += t.Source
		r.Totals.Dispositions.add(t.Dispositions)
		d := byName[t.Domain]
		if d == nil {
			d = &Domain{Name: t.Domain, Title: domainTitle(t.Domain), Holds: true}
			byName[t.Domain] = d
		}
		d.LegacyTables++
		d.SourceRows += t.Source
		d.Dispositions.add(t.Dispositions)
		d.Holds = d.Holds && t.Holds
	}
	for _, t := range r.TargetTables {
		if byName[t.Domain] == nil {
			byName[t.Domain] = &Domain{Name: t.Domain, Title: domainTitle(t.Domain), Holds: true}
		}
	}
	for _, f := range r.Findings {
		switch f.Severity {
		case string(reconcile.Failure):
			r.Totals.Failures++
			if d := byName[f.Domain]; d != nil {
				d.Holds = false
			}
		default:
			r.Totals.Informational++
		}
	}
	r.Domains = []Domain{}
	for _, d := range byName {
		r.Domains = append(r.Domains, *d)
	}
	slices.SortFunc(r.Domains, func(a, b Domain) int { return cmp.Compare(domainRank(a.Name), domainRank(b.Name)) })
}

func nonNil(s []string) []string {
	if s == nil {
		return []string{}
	}
	return s
}

// Dispositions in the order of the conservation law, for charts.
var dispositionOrder = mappings.Dispositions

// shown is r as the reports for people show it (text, Markdown, HTML):
// its findings' keys and messages, and its samples' keys, which may quote
// legacy values, made printable. report.json, for machines, keeps them
// as they are (JSON escapes what it must).
func shown(r *Report) *Report {
	c := *r
	c.Findings = slices.Clone(r.Findings)
	for i := range c.Findings {
		c.Findings[i].Key, c.Findings[i].Message = printable(c.Findings[i].Key), printable(c.Findings[i].Message)
	}
	c.RejectedRows = slices.Clone(r.RejectedRows)
	for i := range c.RejectedRows {
		c.RejectedRows[i].Key, c.RejectedRows[i].Message = printable(c.RejectedRows[i].Key), printable(c.RejectedRows[i].Message)
	}
	c.TargetTables = slices.Clone(r.TargetTables)
	for i, t := range c.TargetTables {
		if t.Changes == nil {
			continue
		}
		changes := *t.Changes
		changes.Samples = slices.Clone(t.Changes.Samples)
		for j := range changes.Samples {
			changes.Samples[j].Key = printable(changes.Samples[j].Key)
		}
		c.TargetTables[i].Changes = &changes
	}
	return &c
}

// printable escapes in s the characters no report for people should pass
// on as they are: control characters (an escape sequence would reach the
// operator's terminal, a carriage return break a Markdown row, and XML, so
// the HTML report, allows none) and the bidirectional and line-separator
// formatting characters (which reorder or break what is shown). Each
// becomes \xNN or \uNNNN, and then a backslash of s becomes \\, so
// that an escape reads as one; s is unchanged when it has none.
func printable(s string) string {
	hidden := func(r rune) bool {
		return unicode.IsControl(r) || unicode.Is(unicode.Bidi_Control, r) || r == '\u2028' || r == '\u2029'
	}
	if !strings.ContainsFunc(s, hidden) {
		return s
	}
	var b strings.Builder
	for _, r := range s {
		switch {
		case r == '\\':
			b.WriteString(`\\`)
		case !hidden(r):
			b.WriteRune(r)
		case r < 0x100:
			fmt.Fprintf(&b, `\x%02x`, r)
		default:
			fmt.Fprintf(&b, `\u%04x`, r)
		}
	}
	return b.String()
}
