package load

import (
	"context"
	"errors"
	"fmt"
	"maps"
	"slices"
	"sort"
	"strings"
	"time"

	"github.com/jackc/pgx/v5"

	"github.com/cutover/cutover/extract"
	"github.com/cutover/cutover/internal/dburl"
	"github.com/cutover/cutover/internal/prose"
	"github.com/cutover/cutover/mappings"
	"github.com/cutover/cutover/migrations"
)

// StatusReport is what the bookkeeping of a target says: the runs, each
// legacy table's batches and conservation line, the rejects by reason, and
// what running the cutover again would do.
type StatusReport struct {
	// Bookkeeping is false when no cutover has run on the target.
	Bookkeeping bool
	// LockHeld is true while a run holds the run lock on the target.
	LockHeld bool
	// Working are the busy sessions on the target of the run holding the
	// lock, the longest busy first: what it is doing now. Only the
	// sessions the reading role may see (its own, or all with
	// pg_read_all_stats) are listed.
	Working []SessionActivity
	// DryRun names the dry run working on the target (it holds the
	// dry-run lock), or is nil: a run may start meanwhile, and that dry
	// run then fails. DryRunWorking are its busy sessions on the target,
	// as Working are a run's.
	DryRun        *migrations.DryRunningError
	DryRunWorking []SessionActivity
	// Runs are the last runs, newest first.
	Runs []RunInfo
	// Tables are the legacy tables, by name. Without the source, they are
	// the tables the bookkeeping records and those every source of the
	// newest run's legacy flavor has (flavorTables): a table of the
	// flavor with no record is pending.
	Tables []TableStatus
	// Undetermined are, when the source was not read and the newest run
	// did not finish, the drift tables (DRIFT.md) the bookkeeping records
	// nothing of: only some sources have them, so whether a run reads
	// them only the source tells. They are not in Tables. (A finished run
	// recorded every table its source had.)
	Undetermined []string
	// Rejects counts the rejected rows by reason.
	Rejects []ReasonCount
	// SourceUnreachable is, when a source was given and no connection to
	// it could be made, why (the connection's error): the report is then
	// the target's records alone, as without a source. ("" otherwise.)
	SourceUnreachable string
	// SourceRead is true when the source was read and checksummed: Changed
	// counts and Next are then exact.
	SourceRead bool
	// Vanished are the legacy tables the bookkeeping records that the
	// source no longer has (source read): a run removes the rows their
	// mappings loaded, and their bookkeeping.
	Vanished []string
	// Sealed is the target's seal: it went live, and runs refuse (nil:
	// not sealed).
	Sealed *Seal
	// Staged counts the batches, and their rows, that a run which did not
	// finish left in the stage; the next run keeps those whose rows the
	// source still holds (resumeStage).
	Staged struct{ Batches, Rows int64 }
	Next   NextRun
	// StoppedDryRun is the size of the scratch schema (DryRunStage) that a
	// dry run which did not end left in the target, "" when there is none
	// (or a dry run works in it): the next run, dry run or seal drops it.
	StoppedDryRun string
	// OtherSource says, when the source was read and is not the database
	// that the newest run knowing its source read
	// (migrations.ReadOtherSource), so; "" otherwise.
	OtherSource string
}

// SessionActivity is a busy session of a working run (pg_stat_activity).
type SessionActivity struct {
	PID   int
	State string // "active", "idle in transaction", …
	// Wait is what the session waits for ("Lock:relation", "IO:DataFileRead";
	// "" when it is not waiting).
	Wait string
	// For is how long its statement has run.
	For time.Duration
	// Statement is the start of its statement, on one line.
	Statement string
}

// workingSQL lists the busy sessions of the database's session $1 (the
// run lock's holder) and of the sessions named like it (a run's sessions
// share its application_name), the longest busy first.
const workingSQL = `SELECT a.pid, a.state, coalesce(a.wait_event_type || ':' || a.wait_event, ''),
	coalesce(extract(epoch FROM clock_timestamp() - a.query_start), 0)::float8,
	left(regexp_replace(a.query, '\s+', ' ', 'g'), 160)
FROM pg_stat_activity a JOIN pg_stat_activity h ON h.pid = $1
WHERE a.datname = current_database() AND a.pid <> pg_backend_pid()
	AND (a.pid = h.pid OR a.application_name = h.application_name)
	AND a.state IS NOT NULL AND a.state <> 'idle'
ORDER BY a.query_start, a.pid`

// working reads the busy sessions of what (a run, or a dry run) whose
// session holder holds its lock (workingSQL).
func working(ctx context.Context, conn *pgx.Conn, holder int, what string) ([]SessionActivity, error) {
	rows, err := conn.Query(ctx, workingSQL, holder)
	if err != nil {
		return nil, fmt.Errorf("read what the working %s does: %w", what, err)
	}
	var out []SessionActivity
	var a SessionActivity
	var busy float64
	if _, err := pgx.ForEachRow(rows, []any{&a.PID, &a.State, &a.Wait, &busy, &a.Statement}, func() error {
		a.For = time.Duration(busy * float64(time.Second))
		out = append(out, a)
		return nil
	}); err != nil {
		return nil, fmt.Errorf("read what the working %s does: %w", what, err)
	}
	return out, nil
}

// RunInfo is one run as the bookkeeping recorded it.
type RunInfo struct {
	ID int64
	// Status is running, done or failed; "interrupted" for a run still
	// marked running that no longer holds the run lock (its process died),
	// or one that recorded its cancellation (migrations.CancelledRun).
	Status     string
	StartedAt  time.Time
	FinishedAt *time.Time
	Flavor     string
	Source     string
	Host       string
	PID        int
	NoSessions bool
	Error      string
	// Failure is what stopped a failed run, when it is one status tells
	// apart ("too_many_rejects"; "" otherwise, and for runs recorded by a
	// build before it was recorded).
	Failure string
	// FailedTable and FailedBatch say where a failed run stopped (batch 0:
	// the table as a whole).
	FailedTable string
	FailedBatch int
	// Space is the target database's size around the run; nil for a run
	// still working, or recorded by a build before these were.
	Space *Space
}

// TableStatus is one legacy table: its batches (page ranges) and its recorded
// conservation line.
type TableStatus struct {
	Legacy string
	// Batches is the table's batch count: the source's plan when the source
	// was read, else the recorded batches (one for a table with none: a
	// table with a result and no batch record, or a table of the flavor
	// with no record at all).
	Batches int
	// Done batches are recorded in the target (with the source's checksum,
	// when the source was read); Failed is the batch the last run failed in;
	// Pending are the others, which the next run writes.
	Done, Pending, Failed int
	// Changed counts batches recorded with another checksum than the
	// source's now (source read), in a table whose rows changed.
	Changed int
	// Unrecorded counts the batches no record names at all (a batch whose
	// record names other content is Changed), Pending or Failed ones: a
	// table that grew or appeared since the last run, or whose records
	// went.
	Unrecorded int
	// Moved counts batches recorded with another checksum than the
	// source's now in a table whose rows are the recorded ones, on other
	// pages (VACUUM FULL, CLUSTER, a dump and restore): they count as
	// done, since a run writes no application row for them; it only
	// records the new batches (source read).
	Moved int
	// RunID is the run that recorded the table's batches (0: none).
	RunID int64
	// Result is the recorded conservation line; nil when none is recorded.
	Result *TableResult
}

// NextRun says what `cutover run` with the same options would do.
type NextRun struct {
	// Action is one of: "load" (nothing loaded yet), "wait" (a run is
	// working), "finish" (the last run did not finish), "update" (the
	// source changed), "nothing" (the source is unchanged since the last
	// finished run), "unknown" (the source was not read), "sealed" (the
	// target went live: a run refuses), "refused" (a run refuses the
	// target's schema or encoding), "fix" (the last run stopped because
	// more rows than --max-rejects would be rejected: the same command
	// stops again until those rows or the limit change).
	Action  string
	Message string
	// Redo names the mappings the run would redo and Extract the legacy
	// tables it would extract (see narrow), when the source was read and
	// the run would not redo everything; both sorted. Nil otherwise.
	Redo, Extract []string
}

// Status reads the bookkeeping of the target at cfg.TargetURL. When
// cfg.SourceURL is set it also checksums the source, as a run with cfg
// would, to tell exactly what a re-run would do (cfg.BatchBytes and
// cfg.NoSessions must then be the run's). It writes nothing anywhere and
// takes no lock, so it can watch a run that is working.
func Status(ctx context.Context, cfg Config) (_ *StatusReport, err error) {
	defer func() { err = dburl.ExplainLost(ctx, err) }()
	cfg.defaults()
	target, err := dburl.Connect(ctx, "target", cfg.TargetURL, dburl.AppName("cutover status"))
	if err != nil {
		return nil, err
	}
	defer target.Close(context.WithoutCancel(ctx))
	rep := &StatusReport{}
	if rep.Bookkeeping, err = relationExists(ctx, target, bk+".batches"); err != nil {
		return nil, fmt.Errorf("status: %w", err)
	}
	if rep.DryRun, err = migrations.DryRunHolder(ctx, target); err != nil {
		return nil, fmt.Errorf("status: %w", err)
	} else if rep.DryRun != nil {
		if rep.DryRunWorking, err = working(ctx, target, rep.DryRun.PID, "dry run"); err != nil {
			return nil, fmt.Errorf("status: %w", err)
		}
	} else if exists, size, err := stageSize(ctx, target, DryRunStage); err != nil {
		return nil, fmt.Errorf("status: %w", err)
	} else if exists {
		rep.StoppedDryRun = size
	}
	recs := map[string]batchRecord{}
	results := map[string]TableResult{}
	if rep.Bookkeeping {
		if err := rep.read(ctx, target); err != nil {
			return nil, fmt.Errorf("status: %w", err)
		}
		if rep.Sealed, err = readSeal(ctx, target); err != nil {
			return nil, fmt.Errorf("status: %w", err)
		}
		if recs, err = readBatches(ctx, target); err != nil {
			return nil, fmt.Errorf("status: %w", err)
		}
		if rep.Staged.Batches, rep.Staged.Rows, err = readStaged(ctx, target, mappings.StageSchema); err != nil {
			return nil, fmt.Errorf("status: %w", err)
		}
		if results, err = readResults(ctx, target); err != nil {
			return nil, fmt.Errorf("status: %w", err)
		}
	}

	// The batches: the source's plan and checksums, or the records.
	var plan []extract.Batch
	var sums map[string]extract.Checksum
	upToDate := false   // a run would have nothing to do
	sourceSame := false // the source is the last finished run's
	var mappingCount int
	var redo, toExtract []string // what a run would redo and extract (redoSet)
	redoNone := false            // and it would redo no mapping
	var flavor *OtherFlavorError // a run would refuse the source's flavor
	if cfg.SourceURL != "" {
		// A source that is down is no reason to hide the target's state,
		// which whoever re-runs at 3 a.m. needs most then.
		if c, err := dburl.Connect(ctx, "source", cfg.SourceURL, dburl.AppName("cutover status")); err != nil {
			var de *dburl.Error
			if !errors.As(err, &de) || ctx.Err() != nil {
				return nil, err
			}
			rep.SourceUnreachable, cfg.SourceURL = err.Error(), ""
		} else {
			c.Close(context.WithoutCancel(ctx))
		}
	}
	if cfg.SourceURL != "" {
		s, err := open(ctx, cfg, mappings.StageSchema, "cutover status")
		if err != nil {
			return nil, err
		}
		defer s.close()
		snap, readers, err := s.openSource(ctx)
		if err != nil {
			return nil, err
		}
		upToDate, err = s.checksums(ctx, snap, readers, false)
		closeSource(snap, readers)
		if err != nil {
			return nil, err
		}
		plan, sums, rep.SourceRead, mappingCount = s.batches, s.sums, true, len(s.ms)
		if o, err := migrations.ReadOtherSource(ctx, s.target, s.sourceID, rep.LockHeld); err != nil {
			return nil, fmt.Errorf("status: %w", err)
		} else if o != nil {
			rep.OtherSource = o.Notice(dburl.Describe(cfg.SourceURL))
		}
		if rep.Bookkeeping {
			// The digests a run would compare: the same plans, from the
			// same catalog and options.
			plans, err := s.plans(ctx)
			if err != nil {
				return nil, fmt.Errorf("status: %w", err)
			}
			n, err := s.redoSet(ctx, plans)
			if err != nil {
				return nil, fmt.Errorf("status: %w", err)
			}
			redo, toExtract = slices.Sorted(maps.Keys(n.redo)), slices.Sorted(maps.Keys(n.stage))
			redoNone = n.redo != nil && len(n.redo) == 0
			// An unchanged source is not enough: a mapping whose digest
			// is not the recorded one (another build, say) is redone, and
			// the rows of tables the source lost are removed.
			if rep.Vanished, err = vanishedTables(ctx, target, s.src.TableNames()); err != nil {
				return nil, fmt.Errorf("status: %w", err)
			}
			switch err := s.flavorRefusal(ctx); {
			case errors.As(err, &flavor): // said as the next run
			case err != nil:
				return nil, fmt.Errorf("status: %w", err)
			}
			sourceSame, upToDate = upToDate, upToDate && n.redo != nil && len(n.redo) == 0 && len(rep.Vanished) == 0
		}
	} else {
		// Without the source, a table with a result and no batch record
		// (a run forgot it and stopped) counts as one pending batch.
		recorded := map[string]bool{}
		for _, r := range recs {
			plan = append(plan, extract.Batch{Table: r.Table, No: r.No, Of: r.Of})
			recorded[r.Table] = true
		}
		listed := maps.Clone(recorded)
		for _, r := range results {
			if !recorded[r.Legacy] {
				plan = append(plan, extract.Batch{Table: r.Legacy, No: 1, Of: 1})
				listed[r.Legacy] = true
			}
		}
		// So does a table that every source of the newest run's flavor
		// has and that nothing records: a first run stopped before it
		// committed that table's mappings, and the next run reads it.
		if len(rep.Runs) > 0 {
			tables, drift, err := flavorTables(rep.Runs[0].Flavor)
			if err != nil {
				return nil, fmt.Errorf("status: %w", err)
			}
			for _, t := range tables {
				if !listed[t] {
					plan = append(plan, extract.Batch{Table: t, No: 1, Of: 1})
				}
			}
			// A drift table: the source has it if the run failed in it;
			// else, unless the run finished (its records are then all
			// the source had), only the source tells.
			for _, t := range drift {
				switch {
				case listed[t]:
				case rep.Runs[0].FailedTable == t:
					plan = append(plan, extract.Batch{Table: t, No: 1, Of: 1})
				case rep.Runs[0].Status != "done":
					rep.Undetermined = append(rep.Undetermined, t)
				}
			}
		}
	}

	var last *RunInfo
	if len(rep.Runs) > 0 {
		last = &rep.Runs[0]
	}
	moved := movedTables(plan, sums, recs)
	byTable := map[string]*TableStatus{}
	for _, b := range plan {
		ts := byTable[b.Table]
		if ts == nil {
			ts = &TableStatus{Legacy: b.Table}
			if r, ok := results[b.Table]; ok {
				ts.Result = &r
			}
			byTable[b.Table] = ts
		}
		ts.Batches++
		k := batchKey(b.Table, b.No)
		rec, recorded := recs[k]
		run, same := moved[b.Table]
		switch {
		case same && (!recorded || rec.Of != b.Of || !sums[k].SameContent(rec.Sum)):
			ts.Moved++
			recorded, rec.RunID = true, run
		case recorded && (rec.Of != b.Of || sums != nil && !sums[k].SameContent(rec.Sum)):
			ts.Changed++
			recorded = false
		case !recorded:
			ts.Unrecorded++
		}
		if recorded {
			ts.RunID = rec.RunID
		}
		switch {
		case last != nil && last.Status != "done" && last.Status != "running" && last.FailedTable == b.Table &&
			(last.FailedBatch == 0 || last.FailedBatch == b.No):
			ts.Failed++
		case recorded:
			ts.Done++
		default:
			ts.Pending++
		}
	}
	for _, ts := range byTable {
		rep.Tables = append(rep.Tables, *ts)
	}
	sort.Slice(rep.Tables, func(i, j int) bool { return rep.Tables[i].Legacy < rep.Tables[j].Legacy })
	rep.Next = rep.next(last, upToDate, sourceSame)
	switch {
	case len(redo) > 0 && (rep.Next.Action == "finish" || rep.Next.Action == "update"):
		rep.Next.Redo, rep.Next.Extract = redo, toExtract
		rep.Next.Message += fmt.Sprintf(". Of the %d mappings it redoes %d (%s), whose inputs changed, and extracts %d of %d tables (%s); the others already hold what it would write",
			mappingCount, len(redo), abbreviate(redo, 8), len(toExtract), len(rep.Tables), abbreviate(toExtract, 8))
	case redoNone && len(rep.Vanished) == 0 && rep.Next.Action == "update":
		rep.Next.Message += ", and writes no application row: every mapping already holds what it would write"
	}
	if flavor != nil {
		rep.Next = refusedNext(flavor)
	}
	if rep.Sealed != nil {
		rep.Next = NextRun{Action: "sealed", Message: (&SealedError{Seal: *rep.Sealed}).Error() + ". A run refuses; unsealed: " + rep.Next.Message}
	}
	if !rep.LockHeld {
		// A target whose schema a run refuses: that first.
		switch err := checkSchema(ctx, cfg.TargetURL); {
		case err == nil:
		case Refused(err):
			rep.Next = refusedNext(err)
		default:
			return nil, fmt.Errorf("status: %w", err)
		}
	}
	return rep, nil
}

// flavorTables returns, sorted, the legacy tables that every source of
// the legacy flavor (v21, v16 or v15) has, as Detect requires them, each
// read by the mapping a run picks for its shape in that flavor
// (mappings.For); and the drift tables (DRIFT.md), which a source of any
// flavor may have or not. Both are nil for a flavor no known shape has
// (one an earlier build recorded, say). It fails when a table of the
// flavor has no mapping, as a run of it would.
func flavorTables(flavor string) (tables, drift []string, err error) {
	shapes := map[string]mappings.Shape{}
	for name, known := range extract.KnownShapes {
		for _, k := range known {
			switch {
			case k.Drift:
				drift = append(drift, name)
			case slices.Contains(k.Flavors, flavor):
				shapes[name] = k.Shape
			}
		}
	}
	if len(shapes) == 0 {
		return nil, nil, nil
	}
	ms, err := mappings.For(shapes)
	if err != nil {
		return nil, nil, fmt.Errorf("the mappings of a legacy %s source: %w", flavor, err)
	}
	for _, m := range ms {
		tables = append(tables, m.Legacy)
	}
	slices.Sort(tables)
	slices.Sort(drift)
	return slices.Compact(tables), slices.Compact(drift), nil
}

// tooManyRejects reports whether run stopped because more rows than
// --max-rejects would be rejected (its recorded failure), and returns
// what its error said of them ("523 rows would be rejected, more than
// --max-rejects 1"), or a general line when its error reads otherwise.
func tooManyRejects(run *RunInfo) (string, bool) {
	prefix := ErrTooManyRejects.Error() + ": "
	// A run recorded by a build before cutover.runs.failure has its error's
	// words only, which that build wrote so.
	earlier := run.Failure == "" && strings.HasPrefix(run.Error, prefix)
	if run.Status != "failed" || run.Failure != failureTooManyRejects && !earlier {
		return "", false
	}
	_, detail, ok := strings.Cut(run.Error, prefix)
	if detail, _, _ = strings.Cut(detail, "; nothing was written"); !ok || detail == "" {
		detail = "more rows would be rejected than --max-rejects allows"
	}
	return detail, true
}

// refusedNext is the next run when a run would refuse the target with
// err (a Refused error, whose closing "(nothing was written)" status
// leaves out).
func refusedNext(err error) NextRun {
	return NextRun{Action: "refused", Message: "a run would refuse this target: " + strings.TrimSuffix(err.Error(), " (nothing was written)")}
}

// movedTables returns, of the tables of plan whose batches' checksums sums
// differ from the recorded ones recs, those that hold the recorded rows all
// the same (their batches' sums add up to the recorded batches' sum, see
// extract.TableContent), with the run that recorded them: their rows moved
// to other pages. A table whose batches one run recorded completely counts;
// the inputs digests compare the same totals, so a run redoes no mapping
// for it. Nil when the source was not read.
func movedTables(plan []extract.Batch, sums map[string]extract.Checksum, recs map[string]batchRecord) map[string]int64 {
	if sums == nil {
		return nil
	}
	now := map[string][]extract.Checksum{}
	differs := map[string]bool{}
	for _, b := range plan {
		k := batchKey(b.Table, b.No)
		now[b.Table] = append(now[b.Table], sums[k])
		if r, ok := recs[k]; !ok || r.Of != b.Of || !sums[k].SameContent(r.Sum) {
			differs[b.Table] = true
		}
	}
	then := map[string][]extract.Checksum{}
	runs := map[string]map[int64]bool{}
	of := map[string]int{}
	for _, r := range recs {
		if !differs[r.Table] {
			continue
		}
		then[r.Table] = append(then[r.Table], r.Sum)
		if runs[r.Table] == nil {
			runs[r.Table] = map[int64]bool{}
		}
		runs[r.Table][r.RunID] = true
		of[r.Table] = r.Of
	}
	out := map[string]int64{}
	for table := range differs {
		if len(then[table]) != of[table] || len(runs[table]) != 1 {
			continue // not recorded whole, or by several runs
		}
		a, okA := extract.TableContent(now[table])
		b, okB := extract.TableContent(then[table])
		if okA && okB && a.SameContent(b) {
			for run := range runs[table] {
				out[table] = run
			}
		}
	}
	return out
}

// read reads the runs, the lock and the rejects.
func (rep *StatusReport) read(ctx context.Context, conn *pgx.Conn) error {
	holder, err := migrations.RunLockHolder(ctx, conn)
	if err != nil {
		return err
	}
	if rep.LockHeld = holder != 0; rep.LockHeld {
		if rep.Working, err = working(ctx, conn, holder, "run"); err != nil {
			return err
		}
	}
	// The sizes through to_jsonb: bookkeeping of an earlier build has no
	// such columns (status changes nothing, and adds none).
	rows, err := conn.Query(ctx, `SELECT id, status, started_at, finished_at, flavor, source, host, pid, no_sessions,
		coalesce(error, ''), coalesce(failed_table, ''), coalesce(failed_batch, 0),
		(to_jsonb(r)->>'size_before')::bigint, (to_jsonb(r)->>'size_peak')::bigint, (to_jsonb(r)->>'size_after')::bigint,
		coalesce(to_jsonb(r)->>'failure', '')
		FROM `+bk+`.runs r ORDER BY id DESC LIMIT 20`)
	if err != nil {
		return fmt.Errorf("read the runs: %w", err)
	}
	var r RunInfo
	var before, peak, after *int64
	if _, err := pgx.ForEachRow(rows, []any{&r.ID, &r.Status, &r.StartedAt, &r.FinishedAt, &r.Flavor, &r.Source, &r.Host, &r.PID,
		&r.NoSessions, &r.Error, &r.FailedTable, &r.FailedBatch, &before, &peak, &after, &r.Failure}, func() error {
		r.Status = migrations.ShownStatus(r.Status, r.Error, rep.LockHeld)
		r.Space = nil
		if before != nil && peak != nil && after != nil {
			r.Space = &Space{Before: *before, Peak: *peak, After: *after}
		}
		rep.Runs = append(rep.Runs, r)
		return nil
	}); err != nil {
		return fmt.Errorf("read the runs: %w", err)
	}
	rows, err = conn.Query(ctx, `SELECT reason, count(*) FROM `+bk+`.rejects GROUP BY reason ORDER BY 2 DESC, 1`)
	if err != nil {
		return fmt.Errorf("read the rejects: %w", err)
	}
	c := ReasonCount{Disposition: string(mappings.Rejected)}
	if _, err := pgx.ForEachRow(rows, []any{&c.Reason, &c.Rows}, func() error {
		rep.Rejects = append(rep.Rejects, c)
		return nil
	}); err != nil {
		return fmt.Errorf("read the rejects: %w", err)
	}
	return nil
}

// changedTables returns the legacy tables with batches recorded with
// another checksum than the source's, and how many such batches.
func (rep *StatusReport) changedTables() (tables []string, batches int) {
	return rep.tablesWith(func(t TableStatus) int { return t.Changed })
}

// unrecordedTables returns the tables of which the source holds batches
// that no record names (Unrecorded), and how many such batches.
func (rep *StatusReport) unrecordedTables() (tables []string, batches int) {
	return rep.tablesWith(func(t TableStatus) int { return t.Unrecorded })
}

// tablesWith returns, in rep's order (sorted), the legacy tables of which
// count counts some batches, and their sum.
func (rep *StatusReport) tablesWith(count func(TableStatus) int) (tables []string, batches int) {
	for _, t := range rep.Tables {
		if n := count(t); n > 0 {
			tables = append(tables, t.Legacy)
			batches += n
		}
	}
	return tables, batches
}

// next tells what a run would do, from the last run and, when the source
// was read, whether the target is up to date with it and whether the
// source is the one the last finished run saw.
func (rep *StatusReport) next(last *RunInfo, upToDate, sourceSame bool) NextRun {
	changed, changedBatches := rep.changedTables()
	unrecorded, unrecordedBatches := rep.unrecordedTables()
	var moved, pending []string
	for _, t := range rep.Tables {
		if t.Moved > 0 {
			moved = append(moved, t.Legacy)
		}
		if t.Pending+t.Failed > 0 {
			pending = append(pending, t.Legacy)
		}
	}
	switch {
	case rep.LockHeld:
		who := "a run"
		if last != nil && last.Status == "running" {
			who = fmt.Sprintf("run %d (pid %d on %s)", last.ID, last.PID, last.Host)
		}
		return NextRun{Action: "wait", Message: who + " is working on this target: a second run would refuse to start; wait for it, then look again"}
	case last == nil:
		return NextRun{Action: "load", Message: "no cutover has run on this target: a run loads everything"}
	case upToDate:
		return NextRun{Action: "nothing", Message: fmt.Sprintf("the source is unchanged since run %d finished: a re-run writes nothing", lastDone(rep.Runs))}
	case last.Status != "done":
		staged := ""
		if rep.Staged.Batches > 0 {
			staged = fmt.Sprintf("the stage holds %s (%s) it copied, which a re-run keeps where the source still holds their rows",
				prose.Count(rep.Staged.Batches, "batch", "batches"), prose.Count(rep.Staged.Rows, "row", "rows"))
		}
		if detail, ok := tooManyRejects(last); ok {
			// As the run's own error says (cmd/cutover runError).
			msg := fmt.Sprintf("run %d stopped before it wrote to the application tables: %s. "+
				"The same command stops there again: fix those rows in the source (`cutover diff` lists them), or raise --max-rejects, then run again; repeating a run is safe",
				last.ID, detail)
			if staged != "" {
				msg += "; " + staged
			}
			return NextRun{Action: "fix", Message: msg}
		}
		where := "failed"
		if last.Status == "interrupted" {
			where = migrations.Interrupted(last.Error)
		}
		if last.FailedTable != "" {
			where += " in " + last.FailedTable
			if last.FailedBatch > 0 {
				where += fmt.Sprintf(" batch %d", last.FailedBatch)
			}
		}
		// Drift tables without a record (the source not read): the
		// source may have them or not.
		var drift, them string
		if n := len(rep.Undetermined); n > 0 {
			drift = prose.Plural(n, "the drift table ", "the drift tables ") + prose.List(rep.Undetermined, 8)
			them = prose.Plural(n, "it", "them")
		}
		left := fmt.Sprintf("%d of %d tables %s not done (%s)", len(pending), len(rep.Tables), prose.Plural(len(pending), "is", "are"), abbreviate(pending, 8))
		switch {
		case len(rep.Tables) == 0: // no mapping committed, nor any batch failed
			left = "no table is recorded as done yet, so a re-run does it all again"
		case len(pending) == 0 && len(rep.Undetermined) > 0:
			left = fmt.Sprintf("the batches of every table it records are done, but %s, which only some sources have, %s no record: "+
				"if the source has %s, a re-run loads %s (give --source to tell); a re-run finishes what came after them",
				drift, prose.Plural(len(rep.Undetermined), "has", "have"), them, them)
		case len(pending) == 0 && !rep.SourceRead:
			// As recorded: a source changed since makes the re-run redo
			// more than what came after them, which only reading it tells.
			left = "every table's batches are recorded as done (what the source changed since, only --source tells); a re-run finishes what came after them"
		case len(pending) == 0:
			left = "every table's batches are done; a re-run finishes what came after them"
		case len(rep.Undetermined) > 0:
			left += fmt.Sprintf("; nothing is recorded of %s, which only some sources have: if the source has %s, a re-run loads %s too (give --source to tell)",
				drift, them, them)
		}
		if staged != "" {
			left = strings.TrimSuffix(left, ", so a re-run does it all again")
			left += "; " + staged
		}
		return NextRun{Action: "finish", Message: fmt.Sprintf("run %d %s; %s. "+
			"Re-running the same command is safe: it reads the source from a new snapshot, keeps what is done and writes only the rows that differ",
			last.ID, where, left)}
	case len(rep.Vanished) > 0:
		return NextRun{Action: "update", Message: fmt.Sprintf("%s that run %d loaded %s no longer in the source (%s): a re-run removes the rows their mappings loaded, and their bookkeeping",
			prose.Count(len(rep.Vanished), "legacy table", "legacy tables"), lastDone(rep.Runs), prose.Plural(len(rep.Vanished), "is", "are"), abbreviate(rep.Vanished, 8))}
	case !rep.SourceRead:
		return NextRun{Action: "unknown", Message: fmt.Sprintf("run %d finished; if the source has not changed since, a re-run writes nothing (give --source to check)", last.ID)}
	case len(changed) > 0:
		also := ""
		if len(unrecorded) > 0 {
			also = fmt.Sprintf(", and %s of %s %s no record of that run (%s: a table that grew or appeared since, or whose records were deleted)", prose.Count(unrecordedBatches, "batch", "batches"),
				prose.Count(len(unrecorded), "table", "tables"), prose.Plural(unrecordedBatches, "has", "have"), abbreviate(unrecorded, 8))
		}
		return NextRun{Action: "update", Message: fmt.Sprintf("%s of %s changed in the source since run %d (%s)%s: a re-run updates the target to match, writing only the rows that differ",
			prose.Count(changedBatches, "batch", "batches"), prose.Count(len(changed), "table", "tables"), lastDone(rep.Runs), abbreviate(changed, 8), also)}
	case len(unrecorded) > 0:
		batches := unrecordedBatches
		return NextRun{Action: "update", Message: fmt.Sprintf("%s of %s in the source %s no record of run %d (%s: a table that grew or appeared since, or whose records were deleted): "+
			"a re-run reads %s and writes only the rows that differ",
			prose.Count(batches, "batch", "batches"), prose.Count(len(unrecorded), "table", "tables"), prose.Plural(batches, "has", "have"),
			lastDone(rep.Runs), abbreviate(unrecorded, 8), prose.Plural(batches, "it", "them"))}
	case len(moved) > 0:
		return NextRun{Action: "update", Message: fmt.Sprintf("the rows of %s are on other pages than when run %d loaded them (%s; VACUUM FULL, CLUSTER "+
			"or a dump and restore moves them), but they are the same rows: a re-run records their new batches",
			prose.Count(len(moved), "table", "tables"), lastDone(rep.Runs), abbreviate(moved, 8))}
	case sourceSame:
		return NextRun{Action: "update", Message: fmt.Sprintf("the source is unchanged since run %d finished, but what some mappings would decide is not what they recorded "+
			"(another build of cutover, or another target catalog): a re-run redoes them, writing only the rows that differ", lastDone(rep.Runs))}
	default:
		return NextRun{Action: "update", Message: "the run options differ from the last finished run's: a re-run checks every table and writes only the rows that differ"}
	}
}

func lastDone(runs []RunInfo) int64 {
	for _, r := range runs {
		if r.Status == "done" {
			return r.ID
		}
	}
	return 0
}

func abbreviate(names []string, n int) string {
	if len(names) <= n {
		return strings.Join(names, ", ")
	}
	return strings.Join(names[:n], ", ") + fmt.Sprintf(" and %d more", len(names)-n)
}

// batchRecord is one row of the batch ledger.
type batchRecord struct {
	Table  string
	No, Of int
	RunID  int64
	Sum    extract.Checksum
}

func readBatches(ctx context.Context, conn *pgx.Conn) (map[string]batchRecord, error) {
	// The fingerprint through to_jsonb: a batch ledger made before it had
	// that column reads as having none (status does not add columns).
	rows, err := conn.Query(ctx, `SELECT legacy_table, batch, batches, run_id, rows, checksum, coalesce(to_jsonb(b)->>'fingerprint', '')
		FROM `+bk+`.batches b`)
	if err != nil {
		return nil, fmt.Errorf("read the batch ledger: %w", err)
	}
	out := map[string]batchRecord{}
	var r batchRecord
	_, err = pgx.ForEachRow(rows, []any{&r.Table, &r.No, &r.Of, &r.RunID, &r.Sum.Rows, &r.Sum.Hash, &r.Sum.Fingerprint}, func() error {
		out[batchKey(r.Table, r.No)] = r
		return nil
	})
	if err != nil {
		return nil, fmt.Errorf("read the batch ledger: %w", err)
	}
	return out, nil
}

func readResults(ctx context.Context, conn *pgx.Conn) (map[string]TableResult, error) {
	rows, err := conn.Query(ctx, `SELECT mapping, legacy_table, coalesce(target_table, ''), source_rows, loaded, merged, folded, archived, discarded, rejected
		FROM `+bk+`.results`)
	if err != nil {
		return nil, fmt.Errorf("read the results: %w", err)
	}
	out := map[string]TableResult{}
	var r TableResult
	_, err = pgx.ForEachRow(rows, []any{&r.Mapping, &r.Legacy, &r.Target, &r.Source, &r.Loaded, &r.Merged, &r.Folded, &r.Archived, &r.Discarded, &r.Rejected}, func() error {
		r.Finished = true
		out[r.Legacy] = r
		return nil
	})
	if err != nil {
		return nil, fmt.Errorf("read the results: %w", err)
	}
	return out, nil
}

// upToDate reports whether a run over a source whose batches have the
// checksums sums has nothing to do on the target: every batch is recorded
// with its checksum by one run, that run finished with the same no_sessions
// option, and every mapping has its result. A run forgets every record
// before it changes the target and records each table with its rows, so a
// run that stopped half-way never leaves a complete set behind.
func upToDate(ctx context.Context, conn *pgx.Conn, sums map[string]extract.Checksum, ms []mappings.Mapping, noSessions bool) (bool, error) {
	exists, err := relationExists(ctx, conn, bk+".batches")
	if err != nil || !exists {
		return false, err
	}
	recs, err := readBatches(ctx, conn)
	if err != nil || len(recs) != len(sums) || len(sums) == 0 {
		return false, err
	}
	var run int64
	for k, c := range sums {
		r, ok := recs[k]
		if !ok || !r.Sum.SameContent(c) || (run != 0 && r.RunID != run) {
			return false, nil
		}
		run = r.RunID
	}
	var status string
	var ns bool
	err = conn.QueryRow(ctx, `SELECT status, no_sessions FROM `+bk+`.runs WHERE id = $1`, run).Scan(&status, &ns)
	switch {
	case errors.Is(err, pgx.ErrNoRows):
		return false, nil
	case err != nil:
		return false, fmt.Errorf("read run %d: %w", run, err)
	case status != "done" || ns != noSessions:
		return false, nil
	}
	var finished int
	if err := conn.QueryRow(ctx, `SELECT count(*) FROM `+bk+`.results WHERE mapping = ANY($1)`, mappingNames(ms)).Scan(&finished); err != nil {
		return false, fmt.Errorf("read the results: %w", err)
	}
	return finished == len(ms), nil
}

// SourceChanges says what changed in the source since the last run that
// finished read it, as status reads the source (from a snapshot of its
// own): the batches whose rows differ, not those whose rows only moved to
// other pages, and the legacy tables gone; "" when nothing did. A target
// that verifies but lags its source would let a re-run change it: verify
// reports it (reconcile.Config.SourceChanged).
func SourceChanges(ctx context.Context, cfg Config) (string, error) {
	rep, err := Status(ctx, cfg)
	if err != nil {
		return "", err
	}
	changed, batches := rep.changedTables()
	var parts []string
	if len(changed) > 0 {
		parts = append(parts, fmt.Sprintf("%s of %s changed (%s)", prose.Count(batches, "batch", "batches"),
			prose.Count(len(changed), "legacy table", "legacy tables"), abbreviate(changed, 8)))
	}
	// Batches no record names, after a finished run: the source grew
	// (or gained a drift table), or the records went; either way the
	// checksums that would tell are not there.
	if len(rep.Runs) > 0 && rep.Runs[0].Status == "done" {
		if unrecorded, n := rep.unrecordedTables(); n > 0 {
			parts = append(parts, fmt.Sprintf("%s of %s %s no record of being read (%s: a table that grew or appeared since, or whose records were deleted)",
				prose.Count(n, "batch", "batches"), prose.Count(len(unrecorded), "legacy table", "legacy tables"), prose.Plural(n, "has", "have"), abbreviate(unrecorded, 8)))
		}
	}
	if len(rep.Vanished) > 0 {
		parts = append(parts, fmt.Sprintf("%s no longer there (%s)", prose.Count(len(rep.Vanished), "legacy table is", "legacy tables are"),
			abbreviate(rep.Vanished, 8)))
	}
	if len(parts) == 0 {
		return "", nil
	}
	since := "the runs recorded it"
	if id := lastDone(rep.Runs); id > 0 {
		since = fmt.Sprintf("run %d read it", id)
	}
	next := "a re-run (`cutover run`) writes the difference"
	if rep.Sealed != nil {
		next = "the target is sealed (it went live), so a run refuses it: `cutover seal --undo` first, if the change must reach it"
	}
	return fmt.Sprintf("the source changed since %s: %s; the target does not hold what the source now says, and %s",
		since, strings.Join(parts, "; "), next), nil
}
