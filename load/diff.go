package load

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"maps"
	"math/big"
	"slices"
	"sort"
	"strings"
	"sync"
	"time"

	"github.com/google/go-cmp/cmp"
	"github.com/jackc/pgx/v5"

	"github.com/cutover/cutover/extract"
	"github.com/cutover/cutover/internal/dburl"
	"github.com/cutover/cutover/internal/secret"
	"github.com/cutover/cutover/mappings"
	"github.com/cutover/cutover/migrations"
)

// DryRunStage is the scratch schema of dry runs, apart from a real run's.
const DryRunStage = "cutover_dryrun"

// TableDiff is what a run would do to one target table.
type TableDiff struct {
	Table     string
	Insert    int64 // decided rows not in the target
	Update    int64 // decided rows in the target with other values
	Unchanged int64 // decided rows already right
	Delete    int64 // rows an earlier run wrote that are no longer decided
	// OnlyInTarget counts rows neither decided nor written by a cutover
	// (seeds, rows the application wrote).
	OnlyInTarget int64
	Samples      []RowDiff
	// reordered counts the rows of Update that differ only in sort_order
	// (feed tables): every run that writes anything renumbers them.
	reordered int64
}

// Changes is the rows a run would write in this table.
func (d TableDiff) Changes() int64 { return d.Insert + d.Update + d.Delete }

// add sums into d what another mapping would do to its table, and
// appends that mapping's row diffs while d holds fewer than samples.
// Each mapping's diffs are its first by key, so adding them in mapping
// order gives the samples one mapping after another would have taken.
func (d *TableDiff) add(o TableDiff, samples int) {
	d.Insert += o.Insert
	d.Update += o.Update
	d.Unchanged += o.Unchanged
	d.Delete += o.Delete
	d.Samples = append(d.Samples, o.Samples[:min(len(o.Samples), max(0, samples-len(d.Samples)))]...)
}

// RowDiff shows one row a run would update, rendered with go-cmp.
type RowDiff struct {
	Key  string
	Diff string // "-target +decided"
}

// Diff is the report of a dry run.
type Diff struct {
	Flavor string
	// Tables: the conservation preview per legacy table (as Summary).
	Tables  []TableResult
	Targets []TableDiff
	// Rejects the run would record, by reason.
	Reasons []ReasonCount
	// Rejects are rows a run would reject, at most RejectSamples of each
	// legacy table and reason, in mapping order, then by reason and key: the rows
	// to fix in the source (a run that --max-rejects stops writes none of
	// them to cutover.rejects).
	Rejects []RejectedRow
	// Refusals are the target's checks, NOT NULLs and unique indexes that
	// rows the run would load break: its apply of each such mapping would
	// stop (RefusedRowsError). Each mapping's own come in mapping order,
	// then those between mappings that feed one table.
	Refusals []Refusal
	// LeftAlone holds the target tables a plain `cutover run` would not
	// redo, because every mapping writing them holds its recorded inputs
	// (see narrow), with the rows of their changes above that it would
	// leave as they are: rows changed in the target after the cutover
	// wrote them, which only `cutover run --full` writes back. A run that
	// writes anything still renumbers the feed tables' sort_order, so those
	// rows are not counted then. Nil when the target records no inputs.
	LeftAlone map[string]int64
	Elapsed   time.Duration
	// Space is the target database's size around the dry run, which took
	// room for its stage and decisions (nil: it could not be read). A run
	// needs that room too, and more for the rows it writes.
	Space *Space
	// Standby is the source's standby settings and replay position when
	// it is a hot standby (nil: a primary).
	Standby *extract.Standby
	// OtherSource says that the source is not the database the last run
	// that knew its source read (migrations.OtherSource.Notice); "" when
	// it is, or when that cannot be told.
	OtherSource string
	// Sealed is the target's seal (it went live): a run refuses it, and
	// the diff is what a run would write once the seal is lifted. Nil
	// when the target is not sealed.
	Sealed *Seal
	// ColumnLoss counts, per column the target drops (mappings.Mapping
	// DroppedColumns), its non-NULL values in the rows a run would bring
	// to the target without them, as a run records them.
	ColumnLoss []ColumnLoss
	// Redo names the mappings the run previewed would redo: those whose
	// inputs (their source rows, their parents' decisions, the build)
	// changed since the run that recorded them, or every mapping (--full,
	// a target that records no inputs, or a change that reaches them
	// all); empty when it would be a no-op. A run rewrites their
	// bookkeeping, and the rows cutover.archive and cutover.rejects keep
	// of them, even where no application row changes.
	Redo []string
	// MaxRejects is the limit of the run previewed (Config.MaxRejects; nil:
	// none): a run that would reject more rows than it, in all the
	// mappings' previews (Tables), stops before it writes to the
	// application tables.
	MaxRejects *int64
}

// Rejected is the rows a run would reject in all (Tables), those that
// --max-rejects counts.
func (d *Diff) Rejected() int64 {
	var n int64
	for _, t := range d.Tables {
		n += t.Rejected
	}
	return n
}

// Changes is the application rows a run would write in all.
func (d *Diff) Changes() int64 {
	var n int64
	for _, t := range d.Targets {
		n += t.Changes()
	}
	return n
}

// DryRun runs the whole pipeline — detect, extract from one snapshot,
// transform, decide — and compares the decisions with the target, writing
// nothing to the application tables or the bookkeeping schema. It uses a
// scratch schema (DryRunStage) in the target and drops it at the end.
// samples bounds the row diffs shown per table. While a run works on the
// target it fails with a *migrations.RunningError.
func DryRun(ctx context.Context, cfg Config, samples int) (*Diff, error) {
	cfg.defaults()
	d, err := dryRun(ctx, cfg, samples)
	need := Connections(cfg.Workers)
	need.Command = "a dry run"
	return d, dburl.ExplainLimits(err, need)
}

func dryRun(ctx context.Context, cfg Config, samples int) (_ *Diff, err error) {
	s, err := open(ctx, cfg, DryRunStage, "cutover diff")
	if err != nil {
		return nil, err
	}
	defer s.close()
	defer func() { err = explainLost(ctx, err, s.target) }()
	if err := checkWritable(ctx, s.target, dburl.Describe(cfg.TargetURL)); err != nil {
		return nil, err // the dry run writes its scratch stage there
	}
	if err := migrations.CheckTargetEncoding(ctx, s.target, dburl.Describe(cfg.TargetURL)); err != nil {
		return nil, err
	}
	if err := checkSchema(ctx, cfg.TargetURL); err != nil {
		return nil, s.explainSchemaError(ctx, err)
	}
	// One dry run at a time: they share the scratch schema.
	if err := takeDryRunLock(ctx, s.target); err != nil {
		return nil, err
	}
	defer s.target.Exec(context.WithoutCancel(ctx), "SELECT pg_advisory_unlock($1)", int64(migrations.DryRunLockID))
	// The runs recorded before it looks: a later one worked on the target
	// while it compared (runDuring).
	lastRun, err := lastRunID(ctx, s.target)
	if err != nil {
		return nil, err
	}
	if err := migrations.WorkingRun(ctx, s.target); err != nil {
		return nil, err // what a run is rewriting cannot be compared
	}
	if err := s.flavorRefusal(ctx); err != nil {
		return nil, err // a run would refuse: there is nothing to preview
	}
	// A sealed target is still compared (what changed since go-live),
	// but the report says that a run refuses it.
	sealed, err := readSeal(ctx, s.target)
	if err != nil {
		return nil, err
	}
	otherSource := s.noteOtherSource(ctx, "start", "The diff compares this source with what the target holds, and shows what a run from it would change")
	if s.pool, err = dburl.Pool(ctx, "target", cfg.TargetURL, int32(cfg.Workers+2), append(slices.Clone(dburl.TextFormat), dburl.NoJIT, dburl.AppName(s.app))...); err != nil {
		return nil, err
	}
	defer s.dropScratch(ctx)
	defer s.heartbeat(ctx)()
	defer s.watchLocks(ctx)()
	space := sync.OnceValue(s.watchSpace(ctx, spacePause))
	defer space()
	snap, readers, err := s.openSource(ctx)
	if err != nil {
		return nil, err
	}
	recorded, err := recordsInputs(ctx, s.target)
	if err == nil && recorded {
		// What a plain run would leave alone needs the source's checksums
		// (of the snapshot staged here) for the inputs digests.
		_, err = s.checksums(ctx, snap, readers, true)
	}
	if err == nil {
		err = s.stageAll(ctx, snap, readers)
	}
	if err == nil {
		s.checkSourceWrites(ctx, readers)
	}
	closeSource(snap, readers)
	if err != nil {
		return nil, err
	}
	var hasLedger, hasReplaced, hasTargetKey bool
	if err := s.target.QueryRow(ctx, `SELECT to_regclass($1) IS NOT NULL, to_regclass($2) IS NOT NULL,
			EXISTS (SELECT FROM pg_attribute WHERE attrelid = to_regclass($1) AND attname = 'target_key' AND NOT attisdropped)`,
		bk+".dispositions", bk+".seeds_replaced").Scan(&hasLedger, &hasReplaced, &hasTargetKey); err != nil {
		return nil, err
	}
	ledger := bk
	if !hasReplaced || !hasTargetKey {
		// A target no cutover has written to (nothing owned, no seed
		// replaced), or bookkeeping of an earlier build, read as it is:
		// a ledger without target_key (its rows' ownership re-derived,
		// as a run adds the column only when it writes), or without
		// seeds_replaced (no seed replaced).
		ledger = DryRunStage
		columns := "*"
		if !hasTargetKey {
			columns = "*, NULL::text AS target_key"
		}
		dispositions := `CREATE VIEW ` + ident(DryRunStage) + `.dispositions AS SELECT ` + columns + ` FROM ` + bk + `.dispositions`
		if !hasLedger {
			dispositions = `CREATE TABLE ` + ident(DryRunStage) + `.dispositions
				(legacy_table text, legacy_key text, disposition text, target_table text, target_id uuid, target_key text)`
		}
		replaced := `CREATE VIEW ` + ident(DryRunStage) + `.seeds_replaced AS SELECT * FROM ` + bk + `.seeds_replaced`
		if !hasReplaced {
			replaced = `CREATE TABLE ` + ident(DryRunStage) + `.seeds_replaced (target_table text, target_id uuid, mapping text, row jsonb)`
		}
		if _, err := s.target.Exec(ctx, dispositions+`;
			`+replaced); err != nil {
			return nil, err
		}
	}
	s.ledger = ledger
	if err := s.prepare(ctx); err != nil {
		return nil, err
	}
	plans, err := s.plans(ctx)
	if err != nil {
		if errors.Is(err, errIndexGone) {
			// A run began under the dry run: say so, as at its end.
			if rerr := runDuring(ctx, s.target, lastRun); rerr != nil {
				return nil, rerr
			}
		}
		return nil, err
	}
	if err := s.decide(ctx, plans); err != nil {
		return nil, err
	}
	d, err := s.diff(ctx, plans, samples)
	if err == nil {
		d.Space = space() // before the stage is dropped
		d.Standby, d.OtherSource, d.Sealed = s.standby, otherSource, sealed
		if limit := s.cfg.MaxRejects; limit >= 0 {
			d.MaxRejects = &limit
		}
	}
	if err == nil && recorded {
		d.LeftAlone, d.Redo, err = s.leftAlone(ctx, d.Targets)
	}
	if err == nil && d.Redo == nil {
		for _, m := range s.ms {
			d.Redo = append(d.Redo, m.Name())
		}
	}
	if err == nil {
		err = runDuring(ctx, s.target, lastRun)
	}
	if err != nil {
		return nil, err
	}
	return d, nil
}

// dropScratch drops the dry run's scratch schema at its end, however it
// ends. An interrupt cancels the statement in flight, and pgx may close
// the session's connection for it, or the cancel request may reach the
// drop itself: then a new connection drops it, holding the dry-run lock
// (without it, another dry run has begun, and drops the schema as it
// begins). Best effort: the next dry run drops it too.
func (s *session) dropScratch(ctx context.Context) {
	ctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), time.Minute)
	defer cancel()
	drop := `DROP SCHEMA IF EXISTS ` + ident(DryRunStage) + ` CASCADE`
	if !s.target.IsClosed() {
		_, err := s.target.Exec(ctx, drop)
		if err == nil {
			return
		}
		s.cfg.Logger.Debug("could not drop the dry run's scratch schema on its session; trying a new one", "err", err)
	}
	conn, err := dburl.Connect(ctx, "target", s.cfg.TargetURL, dburl.AppName(s.app))
	if err != nil {
		s.cfg.Logger.Warn("could not drop the dry run's scratch schema; the next dry run drops it", "schema", DryRunStage, "err", err)
		return
	}
	defer closeReleasing(conn)
	if got, err := migrations.TryLock(ctx, conn, migrations.DryRunLockID, migrations.LockGrace); err != nil || !got {
		return // another dry run works in it
	}
	if _, err := conn.Exec(ctx, drop); err != nil {
		s.cfg.Logger.Warn("could not drop the dry run's scratch schema; the next dry run drops it", "schema", DryRunStage, "err", err)
	}
}

// dropStoppedDryRun drops the scratch schema (DryRunStage) that a dry run
// which did not end (killed, or its server lost) left in the target, and
// returns its size: "" when there was none, or a dry run works in it. It
// holds copies of legacy rows (password hashes, tokens) and their room.
// The dry-run lock, held for the moment, keeps a dry run from starting in
// between (a dry run that does waits for it, migrations.LockGrace).
func dropStoppedDryRun(ctx context.Context, conn *pgx.Conn) (string, error) {
	exists, size, err := stageSize(ctx, conn, DryRunStage)
	if err != nil || !exists {
		return "", err
	}
	got, err := migrations.TryLock(ctx, conn, migrations.DryRunLockID, 0)
	if err != nil || !got {
		return "", err
	}
	defer conn.Exec(context.WithoutCancel(ctx), "SELECT pg_advisory_unlock($1)", int64(migrations.DryRunLockID))
	if _, err := conn.Exec(ctx, `DROP SCHEMA IF EXISTS `+ident(DryRunStage)+` CASCADE`); err != nil {
		return "", err
	}
	return size, nil
}

// takeDryRunLock takes the dry-run lock on the target for the session of
// conn, or returns a *migrations.DryRunningError naming the dry run that
// holds it (after migrations.LockGrace: a session the server is still
// ending may hold it for a moment).
func takeDryRunLock(ctx context.Context, conn *pgx.Conn) error {
	got, err := migrations.TryLock(ctx, conn, migrations.DryRunLockID, migrations.LockGrace)
	if err != nil {
		return fmt.Errorf("take the dry-run lock: %w", err)
	}
	if got {
		return nil
	}
	holder, err := migrations.DryRunHolder(ctx, conn)
	if err != nil {
		return err
	}
	if holder == nil { // it finished in between
		return takeDryRunLock(ctx, conn)
	}
	return holder
}

// lastRunID returns the id of the newest run recorded on the target, 0
// when none is (or no run ever recorded one).
func lastRunID(ctx context.Context, conn *pgx.Conn) (int64, error) {
	if recorded, err := relationExists(ctx, conn, bk+".runs"); err != nil || !recorded {
		return 0, err
	}
	var id int64
	if err := conn.QueryRow(ctx, `SELECT coalesce(max(id), 0) FROM `+bk+`.runs`).Scan(&id); err != nil {
		return 0, fmt.Errorf("read the runs: %w", err)
	}
	return id, nil
}

// RunDuringDryRunError reports that a run worked on the target while a dry
// run compared it: the comparison mixes the target before and during that
// run, so the dry run reports nothing.
type RunDuringDryRunError struct{ *migrations.RunningError }

func (e *RunDuringDryRunError) Error() string {
	what := "a cutover run"
	if e.RunID != 0 {
		what = fmt.Sprintf("cutover run %d (pid %d on %s, started %s)", e.RunID, e.PID, e.Host, e.StartedAt.UTC().Format(time.RFC3339))
	}
	return what + " worked on this target while the dry run compared it, so what it compared mixes the target before and during that run: " +
		"run the dry run again once that run has finished (nothing was written)"
}

// runDuring returns a *RunDuringDryRunError when a run holds the run lock
// now, or was recorded after run lastRun.
func runDuring(ctx context.Context, conn *pgx.Conn, lastRun int64) error {
	if held, err := migrations.RunLockHeld(ctx, conn); err != nil || held {
		if err != nil {
			return err
		}
		return &RunDuringDryRunError{migrations.RunningRecord(ctx, conn)}
	}
	if recorded, err := relationExists(ctx, conn, bk+".runs"); err != nil || !recorded {
		return err
	}
	re := &migrations.RunningError{}
	err := conn.QueryRow(ctx, `SELECT id, host, pid, started_at FROM `+bk+`.runs WHERE id > $1 ORDER BY id LIMIT 1`, lastRun).
		Scan(&re.RunID, &re.Host, &re.PID, &re.StartedAt)
	switch {
	case err == nil:
		return &RunDuringDryRunError{re}
	case errors.Is(err, pgx.ErrNoRows):
		return nil
	}
	return fmt.Errorf("read the runs: %w", err)
}

// recordsInputs reports whether the target's bookkeeping records any
// mapping's inputs digest.
func recordsInputs(ctx context.Context, conn *pgx.Conn) (bool, error) {
	exists, err := relationExists(ctx, conn, bk+".results")
	if err != nil || !exists {
		return false, err
	}
	if err := conn.QueryRow(ctx, `SELECT EXISTS (SELECT 1 FROM `+bk+`.results r WHERE to_jsonb(r)->>'inputs' IS NOT NULL)`).Scan(&exists); err != nil {
		return false, fmt.Errorf("read the recorded inputs: %w", err)
	}
	return exists, nil
}

// leftAlone returns the target tables a plain run would not redo, with
// the rows of their diffs it would leave (see Diff.LeftAlone), and the
// mappings it would redo (Diff.Redo; nil when it would redo them all):
// it builds the plans a run would (in the run's stage and ledger, which
// the digests name) and its redo set, from the checksums s holds.
func (s *session) leftAlone(ctx context.Context, diffs []TableDiff) (map[string]int64, []string, error) {
	run := &session{cfg: s.cfg, src: s.src, ms: s.ms, target: s.target, pool: s.pool, stage: mappings.StageSchema,
		started: s.started, batches: s.batches, sums: s.sums}
	plans, err := run.plans(ctx)
	if err != nil {
		return nil, nil, err
	}
	n, err := run.redoSet(ctx, plans)
	if err != nil {
		return nil, nil, err
	}
	out := map[string]int64{}
	if n.redo == nil {
		return out, nil, nil
	}
	redone := map[string]bool{}
	for _, m := range subset(s.ms, n.redo) {
		redone[m.Target] = true
	}
	for _, m := range s.ms {
		if m.Target != "" && !redone[m.Target] {
			out[m.Target] = 0
		}
	}
	writes := len(n.redo) > 0 // else a no-op: not even sort_order is renumbered
	for _, d := range diffs {
		if _, left := out[d.Table]; left {
			out[d.Table] = d.Changes()
			if writes {
				out[d.Table] -= d.reordered
			}
		}
	}
	redo := []string{}
	for _, m := range subset(s.ms, n.redo) {
		redo = append(redo, m.Name())
	}
	return out, redo, nil
}

// feedTables get their sort_order assigned after every mapping applied.
var feedTables = []string{"inbox_items", "user_quests"}

// reordered counts the rows of a feed table that the run would renumber
// without otherwise changing them (n), and of those the rows decided for
// it (decided: the mappings' comparison counted them as unchanged): the
// final order is computed over the rows the target keeps and the rows
// decided for it.
func (s *session) reordered(ctx context.Context, table string, plans map[string]*Plan, gone []string) (n, decided int64, _ error) {
	tgt := "public." + ident(table)
	var decisions, changed, removed []string
	for _, m := range s.ms {
		p := plans[m.Name()]
		if m.Target != table || p.Rows == "" {
			continue
		}
		decisions = append(decisions, "SELECT v.id, v.user_id, v.created_at FROM ("+p.Rows+") v")
		changed = append(changed, "SELECT v.id FROM ("+p.Rows+") v JOIN "+tgt+" t ON t.id = v.id WHERE "+
			differ(p.target, slices.DeleteFunc(slices.Clone(p.TargetCols), func(c string) bool { return c == "id" }), "t", "v"))
		if p.RemoveIDs != "" {
			removed = append(removed, p.RemoveIDs)
		}
	}
	if len(decisions) == 0 {
		return 0, 0, nil
	}
	if len(gone) > 0 {
		removed = append(removed, vanishedIDs(gone, table))
	}
	if len(removed) == 0 {
		removed = []string{"SELECT NULL::uuid AS id WHERE false"}
	}
	q := `WITH decided AS (` + strings.Join(decisions, " UNION ALL ") + `),
		changed AS (` + strings.Join(changed, " UNION ALL ") + `),
		removed AS (` + strings.Join(removed, " UNION ALL ") + `),
		final AS (
			SELECT id, user_id, created_at FROM decided
			UNION ALL
			SELECT t.id, t.user_id, t.created_at FROM ` + tgt + ` t
			WHERE NOT EXISTS (SELECT 1 FROM decided d WHERE d.id = t.id) AND NOT EXISTS (SELECT 1 FROM removed r WHERE r.id = t.id)),
		ordered AS (SELECT id, row_number() OVER (PARTITION BY user_id ORDER BY created_at, id) - 1 AS rn FROM final)
		SELECT count(*), count(*) FILTER (WHERE EXISTS (SELECT 1 FROM decided d WHERE d.id = t.id))
		FROM ` + tgt + ` t JOIN ordered o ON o.id = t.id
		WHERE t.sort_order IS DISTINCT FROM o.rn AND NOT EXISTS (SELECT 1 FROM changed c WHERE c.id = t.id)`
	if err := s.pool.QueryRow(ctx, q).Scan(&n, &decided); err != nil {
		return 0, 0, fmt.Errorf("diff %s feed order: %w", table, err)
	}
	return n, decided, nil
}

// diff compares the decisions of every mapping with the target: what a
// run would insert, update and delete there, and the rows it would have
// to write that the target refuses, with at most samples row diffs per
// target table.
func (s *session) diff(ctx context.Context, plans map[string]*Plan, samples int) (*Diff, error) {
	out := &Diff{Flavor: s.src.Flavor}
	byTable := map[string]*TableDiff{}
	reasons := map[[2]string]int64{}
	// The mappings are compared side by side, each into its own part,
	// and the parts are summed in mapping order: the same Diff as one
	// mapping after another.
	parts := make([]mappingDiff, len(s.ms))
	at := map[string]int{}
	for i, m := range s.ms {
		at[m.Name()] = i
	}
	// The rows of legacy tables the source no longer has go (removeVanished).
	gone, err := vanishedTables(ctx, s.pool, s.src.TableNames())
	if err != nil {
		return nil, err
	}
	if err := s.ordered(ctx, "compare", s.ms, nil, func(ctx context.Context, m mappings.Mapping) error {
		return s.compareMapping(ctx, plans[m.Name()], samples, s.awayAtApply(plans, m, gone), &parts[at[m.Name()]])
	}); err != nil {
		return nil, err
	}
	feeders := map[string][]int{} // target table -> its compared mappings, in order
	for i, m := range s.ms {
		part := &parts[i]
		out.Tables = append(out.Tables, part.result)
		for k, n := range part.reasons {
			reasons[k] += n
		}
		out.Rejects = append(out.Rejects, part.rejects...)
		out.Refusals = append(out.Refusals, part.refusals...)
		out.ColumnLoss = append(out.ColumnLoss, part.loss...)
		if !part.compared {
			continue
		}
		td := byTable[m.Target]
		if td == nil {
			td = &TableDiff{Table: m.Target}
			byTable[m.Target] = td
		}
		td.add(part.td, samples)
		feeders[m.Target] = append(feeders[m.Target], i)
	}
	// A run also deletes, and writes again, the rows a mapping still
	// decides that reference rows removed (RemoveReferencing): rows the
	// cutover did not write that reference those stop it too.
	refs, err := s.referencingRefusals(ctx, plans, parts)
	if err != nil {
		return nil, err
	}
	out.Refusals = append(out.Refusals, refs...)
	for _, m := range s.ms {
		fed := feeders[m.Target]
		if len(fed) < 2 || s.ms[fed[0]].Name() != m.Name() {
			continue // one feeder, or a table already checked
		}
		ps := make([]*Plan, len(fed))
		gs := make([][]guard, len(fed))
		for i, at := range fed {
			ps[i], gs[i] = plans[s.ms[at].Name()], parts[at].guards
		}
		held, err := s.heldAcross(ctx, ps, gs)
		if err != nil {
			return nil, fmt.Errorf("compare the mappings of %s: %w", m.Target, err)
		}
		out.Refusals = append(out.Refusals, held...)
	}
	for _, legacy := range gone {
		rows, err := s.pool.Query(ctx, vanishedOwned, legacy)
		if err != nil {
			return nil, fmt.Errorf("diff %s, no longer in the source: %w", legacy, err)
		}
		var target string
		var n, nils int64
		if _, err := pgx.ForEachRow(rows, []any{&target, &n, &nils}, func() error {
			if byTable[target] == nil {
				byTable[target] = &TableDiff{Table: target}
			}
			byTable[target].Delete += n
			return nil
		}); err != nil {
			return nil, fmt.Errorf("diff %s, no longer in the source: %w", legacy, err)
		}
	}
	for _, table := range feedTables {
		n, decided, err := s.reordered(ctx, table, plans, gone)
		if err != nil {
			return nil, err
		}
		if td := byTable[table]; td != nil {
			td.Update += n
			td.Unchanged -= decided // counted there by the mappings' comparison
			td.reordered = n
		}
	}
	targets, err := readTargets(ctx, s.pool)
	if err != nil {
		return nil, err
	}
	names := make([]string, 0, len(targets))
	for t := range targets {
		names = append(names, t)
	}
	sort.Strings(names)
	for _, t := range names {
		td := byTable[t]
		if td == nil {
			td = &TableDiff{Table: t}
		}
		var total int64
		if err := s.pool.QueryRow(ctx, "SELECT count(*) FROM public."+ident(t)).Scan(&total); err != nil {
			return nil, err
		}
		td.OnlyInTarget = max(0, total-td.Update-td.Unchanged-td.Delete)
		out.Targets = append(out.Targets, *td)
	}
	for k, n := range reasons {
		out.Reasons = append(out.Reasons, ReasonCount{Disposition: k[0], Reason: k[1], Rows: n})
	}
	sort.Slice(out.Reasons, func(i, j int) bool {
		if out.Reasons[i].Rows != out.Reasons[j].Rows {
			return out.Reasons[i].Rows > out.Reasons[j].Rows
		}
		return out.Reasons[i].Disposition+out.Reasons[i].Reason < out.Reasons[j].Disposition+out.Reasons[j].Reason
	})
	out.Elapsed = time.Since(s.started)
	return out, nil
}

// mappingDiff is what a dry run found for one mapping: its conservation
// preview, its rows by disposition and reason, and, when it loads rows
// into a target table (compared), what applying it would do there and
// the target's constraints its rows break.
type mappingDiff struct {
	result   TableResult
	reasons  map[[2]string]int64
	rejects  []RejectedRow
	compared bool
	td       TableDiff
	guards   []guard // the target's constraints over the columns it writes
	refusals []Refusal
	loss     []ColumnLoss
}

// awayAtApply selects, for the dry run, the ids of the rows of mapping
// m's target table that are not there, or not with the values they have
// now, when m's apply runs: those the run removes before any apply (the
// rows each mapping of the table owns and no longer decides, and those
// of legacy tables gone), and those the mappings of the table before m
// rewrite. Only for a table whose primary key is id, which the removals
// select (byID).
func (s *session) awayAtApply(plans map[string]*Plan, m mappings.Mapping, gone []string) []string {
	if p := plans[m.Name()]; p.Rows == "" || m.Target == "" || !byID(p) {
		return nil
	}
	var out []string
	earlier := true
	for _, o := range s.ms {
		q := plans[o.Name()]
		if o.Target != m.Target || q.Rows == "" {
			continue
		}
		if o.Name() == m.Name() {
			earlier = false
		} else if earlier {
			out = append(out, "SELECT v.id FROM ("+q.Rows+") v")
		}
		if q.RemoveIDs != "" {
			out = append(out, q.RemoveIDs)
		}
	}
	if len(gone) > 0 {
		out = append(out, vanishedIDs(gone, m.Target))
	}
	return out
}

// referencingRefusals finds, for a dry run, the rows the cutover did not
// write that reference rows a run deletes and writes again
// (RemoveReferencing: rows still decided whose parent the run removes),
// where the parent's mappings remove rows (parts, in the order of s.ms).
func (s *session) referencingRefusals(ctx context.Context, plans map[string]*Plan, parts []mappingDiff) ([]Refusal, error) {
	removing := map[string][]string{} // target table -> the RemoveIDs of its mappings that remove rows
	for i, m := range s.ms {
		if ids := plans[m.Name()].RemoveIDs; ids != "" && parts[i].td.Delete > 0 {
			removing[m.Target] = append(removing[m.Target], ids)
		}
	}
	var out []Refusal
	for _, m := range s.ms {
		p := plans[m.Name()]
		for _, c := range p.FKChecks {
			if !s.referenced(p) || c.FK.ParentColumn != "id" {
				continue
			}
			ids := p.ReferencingIDs(c.FK, removing[c.FK.Parent])
			if ids == "" {
				continue
			}
			_, _, refs, err := s.deletion(ctx, p, ids, true, true)
			if err != nil {
				return nil, fmt.Errorf("compare %s: %w", m.Name(), err)
			}
			out = append(out, refs...)
		}
	}
	return out, nil
}

// RejectSamples is how many rows of each legacy table and reason a dry
// run lists of those a run would reject (Diff.Rejects).
const RejectSamples = 20

// RejectedRow is a row a run would reject: its legacy table and key, and
// why (the reason code and the message cutover.rejects would keep).
type RejectedRow struct {
	Legacy, Key, Reason, Message string
}

// rejectedRows lists the rows of mapping m's decisions that a run would
// reject, at most RejectSamples per reason, by reason and key.
func (s *session) rejectedRows(ctx context.Context, m mappings.Mapping) ([]RejectedRow, error) {
	rows, err := s.pool.Query(ctx, `SELECT k, reason, msg FROM (
		SELECT _k::text COLLATE "C" AS k, coalesce(_reason, '') AS reason, coalesce(_msg, _reason, '') AS msg,
			row_number() OVER (PARTITION BY _reason ORDER BY _k::text COLLATE "C") AS n
		FROM `+DecisionTable(s.stage, m.Legacy)+` WHERE _disp = 'rejected') x
		WHERE n <= $1 ORDER BY reason, k`, RejectSamples)
	if err != nil {
		return nil, err
	}
	out := []RejectedRow{}
	r := RejectedRow{Legacy: m.Legacy}
	_, err = pgx.ForEachRow(rows, []any{&r.Key, &r.Reason, &r.Message}, func() error {
		out = append(out, r)
		return nil
	})
	return out, err
}

// byID reports whether plan p's target table has primary key id.
func byID(p *Plan) bool { return len(p.PK) == 1 && p.PK[0] == "id" }

// compareMapping fills part with what a run would do for the mapping of
// plan p, from its decision table: at most samples row diffs. For a
// table whose primary key is id, it also finds the decided rows whose
// unique key a row that the target keeps until p's apply holds
// (heldRows; away, from awayAtApply, selects the rows gone by then), and
// those that take each other's keys of an index the run cannot park
// (swappedRows, Plan.Parks).
func (s *session) compareMapping(ctx context.Context, p *Plan, samples int, away []string, part *mappingDiff) error {
	m := p.M
	part.result = TableResult{Legacy: m.Legacy, Mapping: m.Name(), Target: m.Target, Finished: true}
	part.reasons = map[[2]string]int64{}
	r := &part.result
	// In the same scan of the decisions: the values of the columns the
	// target drops, in the rows that reach it, as the run records them
	// (cutover.column_loss).
	dropped := slices.Sorted(slices.Values(m.DroppedColumns))
	lost := make([]int64, len(dropped))
	q := `SELECT _disp, coalesce(_reason, ''), count(*)`
	for _, c := range dropped {
		q += `, count(*) FILTER (WHERE ` + ident("_lost_"+c) + `)`
	}
	rows, err := s.pool.Query(ctx, q+` FROM `+DecisionTable(s.stage, m.Legacy)+` GROUP BY 1, 2`)
	if err != nil {
		return err
	}
	count := map[mappings.Disposition]*int64{mappings.Loaded: &r.Loaded, mappings.Merged: &r.Merged, mappings.Folded: &r.Folded,
		mappings.Archived: &r.Archived, mappings.Discarded: &r.Discarded, mappings.Rejected: &r.Rejected}
	var disp, reason string
	var n int64
	dest := []any{&disp, &reason, &n}
	nonNull := make([]int64, len(dropped))
	for i := range nonNull {
		dest = append(dest, &nonNull[i])
	}
	if _, err := pgx.ForEachRow(rows, dest, func() error {
		r.Source += n
		if c := count[mappings.Disposition(disp)]; c != nil {
			*c += n
		}
		if disp != "loaded" && disp != "folded" {
			part.reasons[[2]string{disp, reason}] += n
		}
		if disp == string(m.Disposition()) {
			for i, v := range nonNull {
				lost[i] += v
			}
		}
		return nil
	}); err != nil {
		return err
	}
	for i, c := range dropped {
		part.loss = append(part.loss, ColumnLoss{Mapping: m.Name(), Column: c, NonNull: lost[i]})
	}
	if r.Rejected > 0 {
		if part.rejects, err = s.rejectedRows(ctx, m); err != nil {
			return fmt.Errorf("read the rows %s would reject: %w", m.Name(), err)
		}
	}
	if p.Rows == "" || m.Target == "" {
		return nil
	}
	part.compared = true
	if err := s.diffMapping(ctx, p, &part.td, samples); err != nil {
		return err
	}
	part.guards, err = s.guards(ctx, p)
	if err != nil {
		return err
	}
	part.refusals, err = s.refusals(ctx, p, part.guards)
	if err != nil {
		return err
	}
	// Rows the cutover did not write that reference rows it removes stop
	// the run before that removal (apply); looked for only when it
	// removes some (most dry runs against a finished target remove none,
	// and the search costs what counting them did).
	if part.td.Delete > 0 && s.referenced(p) {
		_, _, refs, err := s.deletion(ctx, p, p.RemoveIDs, false, true)
		if err != nil {
			return err
		}
		part.refusals = append(part.refusals, refs...)
	}
	if !byID(p) {
		held, err := takenOver(ctx, s.pool, p)
		if held.Count > 0 {
			part.refusals = append(part.refusals, held)
		}
		return err
	}
	for _, g := range part.guards {
		if g.kind != guardUnique {
			continue
		}
		held, err := s.heldRows(ctx, p, g, away)
		if err != nil {
			return err
		}
		if held.Count > 0 {
			part.refusals = append(part.refusals, held)
		}
		if p.Vacate == "" || part.td.Update == 0 {
			// A table with no column but its key and indexes, or no row
			// that changes: nothing moves (and the look, which keys every
			// decided and target row, is spared: 1.5 s of a 1M bench's
			// dry run against a finished target).
			continue
		}
		if p.Parks[g.name] {
			// The run writes a swap of this index through a parking
			// value (Plan.Park): nothing to refuse.
			continue
		}
		swapped, err := s.swappedRows(ctx, p, g)
		if err != nil {
			return err
		}
		if swapped.Count > 0 {
			part.refusals = append(part.refusals, swapped)
		}
	}
	return nil
}

// diffMapping counts what applying one mapping would do to its target.
func (s *session) diffMapping(ctx context.Context, p *Plan, td *TableDiff, samples int) error {
	tgt := "public." + ident(p.M.Target)
	var on, nonKey []string
	pk := map[string]bool{}
	for _, c := range p.PK {
		on = append(on, "t."+ident(c)+" = v."+ident(c))
		pk[c] = true
	}
	for _, c := range p.TargetCols {
		if !pk[c] {
			nonKey = append(nonKey, c)
		}
	}
	same := "true"
	if len(nonKey) > 0 {
		same = "(NOT " + differ(p.target, nonKey, "t", "v") + ")"
	}
	firstPK := "t." + ident(p.PK[0])
	join := "FROM (" + p.Rows + ") v LEFT JOIN " + tgt + " t ON " + strings.Join(on, " AND ")
	var ins, upd, unch int64
	if err := s.pool.QueryRow(ctx, `SELECT count(*) FILTER (WHERE `+firstPK+` IS NULL),
		count(*) FILTER (WHERE `+firstPK+` IS NOT NULL AND NOT `+same+`),
		count(*) FILTER (WHERE `+firstPK+` IS NOT NULL AND `+same+`) `+join).Scan(&ins, &upd, &unch); err != nil {
		return err
	}
	var del int64
	if err := s.pool.QueryRow(ctx, p.RemoveCount).Scan(&del); err != nil {
		return err
	}
	if p.MergeCount != "" {
		// Seeded rows merged onto are decided rows too: updated, or
		// unchanged when they hold the merge's content already (not
		// rows only the target has).
		var changed, same, restored int64
		if err := s.pool.QueryRow(ctx, p.MergeCount).Scan(&changed, &same); err != nil {
			return err
		}
		if err := s.pool.QueryRow(ctx, p.RestoreCount).Scan(&restored); err != nil {
			return err
		}
		upd += changed + restored
		unch += same
	}
	td.Insert += ins
	td.Update += upd
	td.Unchanged += unch
	td.Delete += del
	if upd == 0 || len(td.Samples) >= samples {
		return nil
	}
	cols := make([]string, 0, len(p.TargetCols))
	for _, c := range p.TargetCols {
		cols = append(cols, lit(c)+", "+"%s."+ident(c))
	}
	obj := func(alias string) string {
		return "jsonb_build_object(" + strings.ReplaceAll(strings.Join(cols, ", "), "%s", alias) + ")"
	}
	rows, err := s.pool.Query(ctx, `SELECT `+obj("t")+`, `+obj("v")+` `+join+` WHERE `+firstPK+` IS NOT NULL AND NOT `+same+
		` ORDER BY `+firstPK+` LIMIT `+fmt.Sprint(samples-len(td.Samples)))
	if err != nil {
		return err
	}
	for rows.Next() {
		var have, want []byte
		if err := rows.Scan(&have, &want); err != nil {
			return err
		}
		d, err := rowDiff(have, want, p.PK)
		if err != nil {
			return fmt.Errorf("sample an update of %s: %w", p.M.Target, err)
		}
		td.Samples = append(td.Samples, d)
	}
	return rows.Err()
}

// rowDiff is the sample of a row a run would update: its key (the pk
// columns of want) and the diff of have, the target's row, and want, the
// row the run would write, both JSON objects. Numbers are kept as
// written (a bigint beyond 2^53 is not rounded, nor an integer shown as
// a float), and secrets are redacted (secret columns, and the values of
// keys that name secrets within documents): a row that differs only in
// them says so rather than showing an empty diff.
func rowDiff(have, want []byte, pk []string) (RowDiff, error) {
	h, err := decodeRow(have)
	if err != nil {
		return RowDiff{}, err
	}
	w, err := decodeRow(want)
	if err != nil {
		return RowDiff{}, err
	}
	key := make([]string, len(pk))
	for i, c := range pk {
		key[i] = fmt.Sprint(w[c])
	}
	differ := !cmp.Equal(h, w, sameNumber)
	var hidden []string
	for _, c := range slices.Sorted(maps.Keys(w)) {
		if secret.Column(c) && !cmp.Equal(h[c], w[c], sameNumber) {
			hidden = append(hidden, c)
		}
	}
	secret.Scrub(h)
	secret.Scrub(w)
	d := cmp.Diff(h, w, sameNumber)
	switch {
	case d != "" || !differ:
	case len(hidden) > 0:
		d = "(the rows differ only in " + strings.Join(hidden, ", ") + ", which no report shows)\n"
	default:
		d = "(the rows differ only in the values of keys that name secrets within a document, which no report shows)\n"
	}
	return RowDiff{Key: strings.Join(key, ","), Diff: d}, nil
}

// sameNumber compares two numbers of a document as jsonb does, by value:
// 12.50 is 12.5.
var sameNumber = cmp.Comparer(func(a, b json.Number) bool {
	x, okA := new(big.Rat).SetString(string(a))
	y, okB := new(big.Rat).SetString(string(b))
	if !okA || !okB {
		return a == b
	}
	return x.Cmp(y) == 0
})

// decodeRow decodes a row's JSON object: a column's integer as an int64,
// any other number (and those within a document) as written
// (json.Number), never rounded through a float64.
func decodeRow(b []byte) (map[string]any, error) {
	dec := json.NewDecoder(bytes.NewReader(b))
	dec.UseNumber()
	var row map[string]any
	if err := dec.Decode(&row); err != nil {
		return nil, err
	}
	for c, v := range row {
		if n, ok := v.(json.Number); ok {
			if i, err := n.Int64(); err == nil {
				row[c] = i
			}
		}
	}
	return row, nil
}
