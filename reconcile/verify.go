package reconcile

import (
	"cmp"
	"context"
	"errors"
	"fmt"
	"log/slog"
	"runtime"
	"slices"
	"sort"
	"sync"
	"time"

	"github.com/jackc/pgx/v5"
	"golang.org/x/sync/errgroup"

	"github.com/cutover/cutover/extract"
	"github.com/cutover/cutover/internal/dburl"
	"github.com/cutover/cutover/internal/lockwatch"
	"github.com/cutover/cutover/mappings"
	"github.com/cutover/cutover/migrations"
)

const bk = migrations.BookkeepingSchema

// Config is what Verify needs.
type Config struct {
	SourceURL, TargetURL string
	// Workers bounds the checks that run at once; each holds one connection
	// to each database (default: the CPU count, from 2 to 8).
	Workers int
	// Samples bounds the findings listed per check and table (default 20);
	// the counts are always complete.
	Samples int
	// LeafRows is the bucket size below which the narrowing fetches keys
	// instead of splitting further (default 256).
	LeafRows int
	// Progress receives an event per finished check, and one per message
	// of the lock watch; it must be safe for concurrent use.
	Progress func(Event)
	Logger   *slog.Logger
	// SourceChanged, when set, says what changed in the source since the
	// last run read it ("" when nothing did): load.SourceChanges, which
	// this package cannot call itself (load's tests import it). A change
	// fails the verification: the rows verify compares may still be
	// equal (a column no mapping carries, a discarded session's expiry)
	// while a re-run would change the target.
	SourceChanged func(ctx context.Context) (string, error)
	// LockWaitReported is how long a session of verify waits for a lock
	// that others hold before its progress names them (lockwatch.Watch;
	// 0: 10s), and LockWaitRepeated how often it says so again (0: a
	// minute).
	LockWaitReported, LockWaitRepeated time.Duration
}

// Event reports a finished check, or (Message set, the rest zero) a
// session of verify waiting for a lock that others hold.
type Event struct {
	Check       string
	Table       string
	Done, Total int
	Message     string
}

func (c *Config) defaults() {
	if c.Workers <= 0 {
		c.Workers = min(8, max(2, runtime.NumCPU()))
	}
	if c.Samples <= 0 {
		c.Samples = 20
	}
	if c.LeafRows <= 0 {
		c.LeafRows = 256
	}
	if c.Progress == nil {
		c.Progress = func(Event) {}
	}
	if c.Logger == nil {
		c.Logger = slog.New(slog.DiscardHandler)
	}
}

// Result is what Verify found.
type Result struct {
	Flavor string
	// Source and Target name the servers and databases, never a password.
	Source, Target string
	// LastRun is the newest run recorded in the target.
	LastRun RunInfo
	// Tables is the conservation line of every legacy table, recomputed
	// from the data, in mapping order.
	Tables []TableCheck
	// Targets accounts for every row of every target table.
	Targets []TargetCheck
	// Contents compares the rows of every mapping whose columns can be
	// recomputed from the legacy row.
	Contents   []ContentCheck
	Invariants []InvariantCheck
	// Reasons counts the rows of cutover.rejects, archive and discards by
	// reason, and the merged rows of the ledger by reason.
	Reasons []Reason
	// Findings lists failures first, then information, each sorted by
	// check, table and key; at most Config.Samples per check, kind and table.
	Findings []Finding
	// Unlisted counts the findings beyond those, by severity: those the
	// listing dropped, and those the checks that fetch only Samples rows
	// (orphans, tenancy, duplicate keys, feed order, unexplained rows)
	// counted without fetching. With Findings, every one verify found.
	Unlisted map[Severity]int
	Elapsed  time.Duration
}

// Reason counts rows by disposition and reason.
type Reason struct {
	Disposition, Reason string
	Rows                int64
}

// RunInfo describes a run recorded in the target.
type RunInfo struct {
	ID     int64
	Status string // done, failed, or interrupted (migrations.ShownStatus)
	Error  string
}

// OK reports whether everything that must hold holds: no finding is a
// failure.
func (r *Result) OK() bool { return r.Failures() == 0 }

// Failures counts the failing findings (listed or not).
func (r *Result) Failures() int {
	n := r.Unlisted[Failure]
	for _, f := range r.Findings {
		if f.Severity == Failure {
			n++
		}
	}
	return n
}

// TableCheck is the conservation line of one legacy table, recomputed from
// the data: Source = Loaded + Merged + Folded + Archived + Discarded +
// Rejected, with every source key accounted for exactly once.
type TableCheck struct {
	Legacy, Mapping, Target string
	Source                  int64
	Loaded, Merged, Folded  int64
	Archived, Discarded     int64
	Rejected                int64
	// Key-level differences: source keys accounted for nowhere, keys in
	// the target's data the source does not have, keys accounted for more
	// than once. Exact unless Truncated (then lower bounds).
	Unaccounted, NotInSource, CountedTwice int64
	// MergedCompared counts the merged rows compared with the target row
	// they point at, on what their rule merges on (mappings.Rule.Same);
	// MergedElsewhere those whose target row does not share it.
	MergedCompared, MergedElsewhere int64
	Truncated                       bool
	// Recorded is the line the run recorded in cutover.results, nil when
	// the mapping has none.
	Recorded *Line
	// Kept compares the rows archive and rejects keep with the legacy
	// rows; nil when the table keeps none.
	Kept *KeptCheck
	// Holds: the line holds, every key is accounted for once, and every
	// kept row is its legacy row.
	Holds bool
}

// Line is a conservation line as counts.
type Line struct {
	Source, Loaded, Merged, Folded, Archived, Discarded, Rejected int64
}

func (t TableCheck) line() Line {
	return Line{t.Source, t.Loaded, t.Merged, t.Folded, t.Archived, t.Discarded, t.Rejected}
}

// TargetCheck accounts for the rows of one target table: Rows = Loaded +
// Folded + Seeds + Unexplained, and no row the ledger promises is Missing.
type TargetCheck struct {
	Table string
	Rows  int64
	// Loaded and Folded count the rows the ledger says the cutover wrote
	// (present in the table); Seeds the seed rows kept (legacy rows may
	// have merged onto them); Unexplained the rows neither explains.
	Loaded, Folded, Seeds, Unexplained int64
	// Missing counts ledger entries (loaded, folded) whose row is absent.
	Missing int64
	// SeedsMissing counts the rows 0013_seeds.sql inserts into the table
	// that it does not hold: no run deletes one (legacy rows merge onto
	// them), so something else did.
	SeedsMissing int64
	Holds        bool
}

// ContentCheck compares the rows of one mapping on both sides.
type ContentCheck struct {
	Mapping, Legacy, Target string
	// OneToOne marks a legacy table loaded into the target table of the
	// same name.
	OneToOne bool
	// Columns are the target columns compared; Computed those among them
	// whose legacy value is an expression (a rename, a constant, a SQL
	// transform); NotCompared the target columns whose value the run
	// derives from other data (a Go transform, a join).
	Columns, Computed, NotCompared []string
	// Compared is the dispositions whose rows are compared.
	Compared               []string
	SourceRows, TargetRows int64
	Missing, Extra         int64
	Changed                int64
	Truncated              bool
	// Buckets counts the key buckets whose checksums were compared.
	Buckets int
	Equal   bool
	// Skipped says why the rows of this mapping are not compared (only
	// their keys are, by the conservation check).
	Skipped string
}

// InvariantCheck is one invariant over the target.
type InvariantCheck struct {
	Check string // schema, seeds, foreign_key, tenancy, natural_key, feed_order, wallet
	Name  string // what is checked, e.g. "reading_sessions.book_id → books"
	Table string
	// Rows counts the rows examined (wallet: wallets compared).
	Rows       int64
	Violations int64
	// Enforced is set for a natural key a valid unique index enforces:
	// PostgreSQL guarantees it, no scan is needed.
	Enforced bool
	Severity Severity
	Holds    bool
}

// ErrNoBookkeeping is returned by Verify when the target holds no cutover
// bookkeeping: no run has written to it.
var ErrNoBookkeeping = errors.New("the target has no cutover bookkeeping (no ledger, cutover.dispositions): no run has written to it; " +
	"`cutover run` does, once `cutover schema apply` has given it the schema (`cutover schema status` shows what is pending)")

// verifier is one verification's state.
type verifier struct {
	cfg      Config
	src, tgt *connSet
	ms       []mappings.Mapping
	byLegacy map[string]mappings.Mapping
	scat     *catalog
	tcat     *catalog
	// seeds are the ids of the rows 0013_seeds.sql inserts, by target
	// table (migrations.SeedRows).
	seeds    map[string][]string
	recorded map[string]*Line
	// otherKeys holds, per legacy table and disposition, the keys that are
	// neither loaded nor folded: the rows a content check leaves out, and
	// the parents a SetNull reference does not keep.
	otherKeys map[string]map[string][]string
	// mergedReasons counts the ledger's merged rows by reason ("" for
	// none), read with otherKeys; mergedKeys holds their keys by legacy
	// table and reason, for the tables otherKeys holds.
	mergedReasons map[string]int64
	mergedKeys    map[string]map[string][]string
	// ledgerKept tallies the ledger's archived, discarded and rejected
	// keys by legacy table and disposition, read with otherKeys; keptData
	// tallies the keys archive, discards and rejects hold (readKeptKeys).
	// The Reasoned tallies are of each key with its reason (keyReason).
	ledgerKept, keptData                 tallies
	ledgerKeptReasoned, keptDataReasoned tallies
	// keptReasons counts the rows of archive, discards and rejects by
	// disposition and reason, read with keptData.
	keptReasons map[[2]string]int64
	// keptReasonsOf and mergedReasonsOf count the same by legacy table
	// (the merged rows the ledger's), and recordedReasons what
	// cutover.reasons records by mapping: a run's summary reads them.
	keptReasonsOf, mergedReasonsOf, recordedReasons map[string]map[[2]string]int64

	bis bisector
	// rekeyed holds the legacy tables some of whose rows the target holds
	// under another key (merged, folded or re-keyed: backward's id map
	// has rows for them). A reference to any other parent reads back as
	// itself, without backward's join (see planContent).
	rekeyed map[string]bool
	// typed says that both servers have hash_record_extended (PostgreSQL
	// 14 or later), so that rowHash hashes values by type (see rowHash).
	typed bool
	// sourceID is the source's dburl.DatabaseID ("" when it could not be
	// read), compared with the one the last run recorded.
	sourceID string

	mu  sync.Mutex
	res *Result
	// findings per (check, kind, table), to cap the samples.
	listed map[[3]string]int
}

// Verify proves the cutover from the two databases themselves (see the
// package documentation). It reads both in read-only transactions on one
// snapshot each and writes nothing. It returns an error only when it cannot
// verify (a *migrations.RunningError while a run works on the target);
// what does not hold is in the Result's findings.
func Verify(ctx context.Context, cfg Config) (*Result, error) {
	cfg.defaults()
	res, err := verify(ctx, cfg)
	if err == nil && cfg.SourceChanged != nil {
		// After verify's own sessions closed: the look at the source holds
		// connections of its own.
		var changed string
		if changed, err = cfg.SourceChanged(ctx); err != nil {
			err = fmt.Errorf("verify whether the source changed since the run: %w", err)
		} else if changed != "" {
			res.Findings = append([]Finding{{Severity: Failure, Check: CheckSource, Kind: KindSourceChanged, Message: changed}}, res.Findings...)
		}
	}
	return res, dburl.ExplainLost(ctx, dburl.ExplainLimits(err, Connections(cfg.Workers)))
}

// Connections is the most connections a verification with the given
// workers holds at once on each server: one whose snapshot the others
// share, one per worker, and the lock watch. (Its catalog reader and the
// same-database probe close before.)
func Connections(workers int) dburl.Connections {
	return dburl.Connections{Command: "a verification", Workers: workers, Source: workers + 2, Target: workers + 2}
}

func verify(ctx context.Context, cfg Config) (*Result, error) {
	start := time.Now()
	// A check waiting for a lock (an ALTER TABLE or a VACUUM FULL of the
	// application's, a psql left in a transaction) would otherwise leave
	// the operator a frozen count of checks.
	defer lockwatch.Watch{
		SourceURL: cfg.SourceURL, TargetURL: cfg.TargetURL,
		App: appName, Who: "verify",
		After: cfg.LockWaitReported, Repeat: cfg.LockWaitRepeated,
		Say:    func(m string) { cfg.Progress(Event{Message: m}) },
		Logger: cfg.Logger,
	}.Start(ctx)()
	v := &verifier{cfg: cfg, listed: map[[3]string]int{},
		bis: bisector{leafRows: cfg.LeafRows, maxDiffs: max(200, cfg.Samples)}}
	v.res = &Result{Source: dburl.Describe(cfg.SourceURL), Target: dburl.Describe(cfg.TargetURL), Unlisted: map[Severity]int{}}

	detect, err := dburl.Connect(ctx, "source", cfg.SourceURL, catalogParams...)
	if err != nil {
		return nil, err
	}
	src, err := extract.Detect(ctx, detect)
	if err == nil {
		// "": nothing to compare, which verifies the same; said as the run says it.
		var idErr error
		if v.sourceID, idErr = dburl.DatabaseID(ctx, detect); idErr != nil {
			cfg.Logger.Debug("could not read the source's identity across restarts", "err", idErr)
		}
	}
	if same := sameDatabase(ctx, detect, cfg.TargetURL); same != nil {
		err = same // explains a source refused for the target's tables
	}
	var standby *extract.Standby
	if err == nil {
		standby, err = extract.ReadStandby(ctx, detect)
	}
	detect.Close(context.Background())
	if err != nil {
		return nil, err
	}
	v.res.Flavor = src.Flavor
	if standby != nil {
		v.add(Finding{Severity: Info, Check: CheckSource, Kind: KindHotStandby, Message: "the source is a hot standby, and verify compares the target with what it has replayed: " +
			standby.PositionBefore("verify") + ". A row its primary wrote that it has not replayed yet shows as a difference: " +
			"verify once the application has stopped and the standby has replayed all its primary wrote (pg_current_wal_lsn() on the primary at most pg_last_wal_replay_lsn() on the standby)"})
	}
	if v.ms, err = mappings.For(src.Shapes()); err != nil {
		return nil, err
	}
	// Biggest tables first: the wall time is the longest chain.
	size := map[string]int64{}
	for _, t := range src.Tables {
		size[t.Name] = t.Bytes
	}
	v.byLegacy = map[string]mappings.Mapping{}
	for _, m := range v.ms {
		v.byLegacy[m.Legacy] = m
	}
	if v.seeds, err = migrations.SeedRows(); err != nil {
		return nil, err
	}
	if v.src, err = openSet(ctx, "source", cfg.SourceURL, cfg.Workers, false); err != nil {
		return nil, err
	}
	defer v.src.close()
	if v.tgt, err = openSet(ctx, "target", cfg.TargetURL, cfg.Workers, true); err != nil {
		return nil, err
	}
	defer v.tgt.close()
	if err := v.prepare(ctx); err != nil {
		return nil, withStandbyHint(err, standby)
	}

	type job struct {
		check, table string
		size         int64
		run          func(context.Context) error
	}
	var jobs []job
	for _, m := range v.ms {
		jobs = append(jobs, job{CheckConservation, m.Legacy, size[m.Legacy], func(ctx context.Context) error { return v.checkMapping(ctx, m) }})
		switch {
		case typesQuestsInGo(m):
			jobs = append(jobs, job{CheckContent, m.Legacy, size[m.Legacy], func(ctx context.Context) error { return v.questContent(ctx, m) }})
		case !comparable(m) && m.Target != "":
			v.res.Contents = append(v.res.Contents, ContentCheck{Mapping: m.Name(), Legacy: m.Legacy, Target: m.Target,
				Skipped: "its rows are typed by a Go transform before they are mapped: the conservation check accounts for every key"})
		}
	}
	for _, name := range sortedKeys(v.tcat.Tables) {
		jobs = append(jobs, job{CheckTargetRows, name, 0, func(ctx context.Context) error { return v.targetRows(ctx, v.tcat.Tables[name]) }})
	}
	for _, fk := range v.tcat.FKs {
		jobs = append(jobs, job{CheckForeignKey, fk.Child, 0, func(ctx context.Context) error { return v.foreignKey(ctx, fk) }})
	}
	for _, t := range v.tenancyChecks() {
		jobs = append(jobs, job{CheckTenancy, t.child, 0, func(ctx context.Context) error { return v.tenancy(ctx, t) }})
	}
	jobs = append(jobs,
		job{CheckSchema, "", 0, v.schema},
		job{CheckSeeds, "", 0, v.seedContent},
		job{CheckNaturalKey, "", 0, v.naturalKeys},
		job{CheckWallet, "user_wallet", 0, v.wallet},
		job{"reasons", "", 0, v.reasons})
	for _, t := range feedTables {
		if tb := v.tcat.Tables[t]; tb != nil && tb.has("sort_order") && tb.has("user_id") {
			jobs = append(jobs, job{CheckFeedOrder, t, 0, func(ctx context.Context) error { return v.feedOrder(ctx, t) }})
		}
	}
	slices.SortStableFunc(jobs, func(a, b job) int { return cmp.Compare(b.size, a.size) })

	var done int
	g, gctx := errgroup.WithContext(ctx)
	g.SetLimit(cfg.Workers)
	for _, j := range jobs {
		g.Go(func() error {
			if err := j.run(gctx); err != nil {
				if j.table != "" {
					return fmt.Errorf("verify %s %s: %w", j.check, j.table, err)
				}
				return fmt.Errorf("verify %s: %w", j.check, err)
			}
			v.mu.Lock()
			done++
			d := done
			v.mu.Unlock()
			cfg.Progress(Event{Check: j.check, Table: j.table, Done: d, Total: len(jobs)})
			return nil
		})
	}
	if err := g.Wait(); err != nil {
		return nil, withStandbyHint(err, standby)
	}
	v.finish()
	v.res.Elapsed = time.Since(start)
	return v.res, nil
}

// withStandbyHint explains err when it is a read of verify's that the
// source's replay cancelled (extract.Standby.Cancelled; standby nil: a
// primary).
func withStandbyHint(err error, standby *extract.Standby) error {
	if !standby.Cancelled(err) {
		return err
	}
	return fmt.Errorf("%w%s", err, standby.CancelledHint("verify's", "verify again"))
}

// prepare reads the catalogs, the server versions, the last run, the
// recorded results, and the ledger's keys that are neither loaded nor
// folded (with the merged rows' reasons).
func (v *verifier) prepare(ctx context.Context) error {
	sc, err := v.src.get(ctx)
	if err != nil {
		return err
	}
	v.scat, err = readCatalog(ctx, sc, false)
	var srcVersion int
	if err == nil {
		srcVersion, err = serverVersion(ctx, sc)
	}
	v.src.put(sc)
	if err != nil {
		return fmt.Errorf("source: %w", err)
	}
	tc, err := v.tgt.get(ctx)
	if err != nil {
		return err
	}
	defer func() {
		if tc != nil {
			v.tgt.put(tc)
		}
	}()
	// The target's snapshot was taken while no run worked, and none can
	// start before the catalog is read: pg_get_indexdef reads the live
	// catalog, in which a run drops indexes and builds them again.
	if v.tcat, err = readCatalog(ctx, tc, true); err != nil {
		return fmt.Errorf("target: %w", err)
	}
	if err := v.tgt.letRunsStart(ctx); err != nil {
		return err
	}
	tgtVersion, err := serverVersion(ctx, tc)
	if err != nil {
		return fmt.Errorf("target: %w", err)
	}
	v.typed = min(srcVersion, tgtVersion) >= 140000
	var ledger bool
	if err := tc.QueryRow(ctx, `SELECT to_regclass($1) IS NOT NULL`, bk+".dispositions").Scan(&ledger); err != nil {
		return fmt.Errorf("target: %w", err)
	}
	if !ledger {
		return ErrNoBookkeeping
	}
	var errText, failure *string
	var flavor, source string
	err = tc.QueryRow(ctx, `SELECT id, status, error, flavor, source, to_jsonb(r) ->> 'failure' FROM `+bk+`.runs r ORDER BY id DESC LIMIT 1`).
		Scan(&v.res.LastRun.ID, &v.res.LastRun.Status, &errText, &flavor, &source, &failure)
	switch {
	case errors.Is(err, pgx.ErrNoRows):
		v.add(Finding{Severity: Failure, Check: CheckRun, Kind: KindRunNotDone, Message: "the target records no cutover run"})
	case err != nil:
		return fmt.Errorf("target: read the last run: %w", err)
	default:
		if errText != nil {
			v.res.LastRun.Error = *errText
		}
		// No run worked when the snapshot was taken (openSet).
		v.res.LastRun.Status = migrations.ShownStatus(v.res.LastRun.Status, v.res.LastRun.Error, false)
		if v.res.LastRun.Status != "done" {
			how, next := v.res.LastRun.Status, "run `cutover run` again to finish it"
			switch {
			case how == "interrupted":
				how = migrations.Interrupted(v.res.LastRun.Error)
			case failure != nil && *failure == "too_many_rejects":
				// The same run stops at the same place again.
				how, next = "stopped at its --max-rejects", "fix in the source the rows it would reject (`cutover diff` lists them) or allow more with --max-rejects, then run again"
			case how == "failed":
				next = "`cutover status` says what stopped it and what to do, then run again"
			}
			v.add(Finding{Severity: Failure, Check: CheckRun, Kind: KindRunNotDone,
				Message: fmt.Sprintf("the last run (%d) %s and did not finish: %s; the findings after this one are what it left unfinished", v.res.LastRun.ID, how, next)})
		}
		// Another flavor than the run loaded: every check after this
		// fails, and this finding says why. (Another database name alone
		// says nothing: a replica or a restore of the source verifies.)
		if flavor != v.res.Flavor {
			v.add(Finding{Severity: Failure, Check: CheckRun, Kind: KindOtherSource, Message: fmt.Sprintf(
				"run %d loaded a legacy %s database (%s), and this source is legacy %s: verify against the source that run read (a run from this one refuses a target loaded from another flavor: load it into a new target database)",
				v.res.LastRun.ID, flavor, source, v.res.Flavor)})
		}
	}
	// Another database with the same rows verifies: said, so that the
	// findings of one with other rows are read for what they are.
	if o, err := migrations.ReadOtherSource(ctx, tc, v.sourceID, false); err != nil {
		return fmt.Errorf("target: %w", err)
	} else if o != nil {
		v.add(Finding{Severity: Info, Check: CheckSource, Kind: KindOtherDatabase,
			Message: o.Notice(v.res.Source) + ". Verify compares the rows: a restore of the rows that run read verifies, and other rows show as differences"})
	}
	v.recorded = map[string]*Line{}
	rows, err := tc.Query(ctx, `SELECT mapping, source_rows, loaded, merged, folded, archived, discarded, rejected FROM `+bk+`.results`)
	if err != nil {
		return fmt.Errorf("target: read the recorded results: %w", err)
	}
	for rows.Next() {
		var name string
		var l Line
		if err := rows.Scan(&name, &l.Source, &l.Loaded, &l.Merged, &l.Folded, &l.Archived, &l.Discarded, &l.Rejected); err != nil {
			return fmt.Errorf("target: read the recorded results: %w", err)
		}
		v.recorded[name] = &l
	}
	if err := rows.Err(); err != nil {
		return fmt.Errorf("target: read the recorded results: %w", err)
	}
	v.recordedReasons = map[string]map[[2]string]int64{}
	rows, err = tc.Query(ctx, `SELECT mapping, disposition, reason, rows FROM `+bk+`.reasons`)
	if err != nil {
		return fmt.Errorf("target: read the recorded reasons: %w", err)
	}
	for rows.Next() {
		var name, disp, reason string
		var n int64
		if err := rows.Scan(&name, &disp, &reason, &n); err != nil {
			return fmt.Errorf("target: read the recorded reasons: %w", err)
		}
		countReason(v.recordedReasons, name, disp, reason, n)
	}
	if err := rows.Err(); err != nil {
		return fmt.Errorf("target: read the recorded reasons: %w", err)
	}
	v.tgt.put(tc)
	tc = nil
	// The id-map probes, the ledger's scan and the kept rows' keys, side
	// by side (at 10M rows, 1.1, 2.2 and 0.2 s that no check can start
	// before).
	g, gctx := errgroup.WithContext(ctx)
	g.Go(func() error {
		var err error
		v.rekeyed, err = v.rekeyedParents(gctx)
		return err
	})
	g.Go(func() error {
		return v.withTarget(gctx, func(conn *pgx.Conn) error { return v.readOtherKeys(gctx, conn) })
	})
	g.Go(func() error {
		return v.withTarget(gctx, func(conn *pgx.Conn) error { return v.readKeptKeys(gctx, conn) })
	})
	if err := g.Wait(); err != nil {
		return fmt.Errorf("target: %w", err)
	}
	return nil
}

// readOtherKeys reads, in one scan of the ledger, the keys neither loaded
// nor folded and, by the way, counts the merged rows by reason (see
// reasons). Only the keys a content check leaves out are held (see
// ledgerKeys): those of the tables compared and of their SetNull
// references' parents, not, say, every key of a table archived whole.
func (v *verifier) readOtherKeys(ctx context.Context, tc *pgx.Conn) error {
	v.otherKeys = map[string]map[string][]string{}
	v.mergedReasons = map[string]int64{}
	v.mergedReasonsOf = map[string]map[[2]string]int64{}
	v.mergedKeys = map[string]map[string][]string{}
	v.ledgerKept, v.ledgerKeptReasoned = tallies{}, tallies{}
	krows, err := tc.Query(ctx, `SELECT legacy_table, disposition, coalesce(reason, ''), count(*), `+keyHashSum("legacy_key")+`, `+keyHashSum(keyReason)+`,
			CASE WHEN legacy_table = ANY($1) THEN array_agg(legacy_key) END FROM `+bk+`.dispositions
		WHERE disposition NOT IN ('loaded', 'folded') GROUP BY 1, 2, 3`, v.keysNeeded())
	if err != nil {
		return fmt.Errorf("read the ledger: %w", err)
	}
	for krows.Next() {
		var table, disp, reason, sum, reasoned string
		var n int64
		var keys []string
		if err := krows.Scan(&table, &disp, &reason, &n, &sum, &reasoned, &keys); err != nil {
			return fmt.Errorf("read the ledger: %w", err)
		}
		if keys != nil {
			if v.otherKeys[table] == nil {
				v.otherKeys[table] = map[string][]string{}
			}
			v.otherKeys[table][disp] = append(v.otherKeys[table][disp], keys...)
		}
		if disp == "merged" {
			v.mergedReasons[reason] += n
			countReason(v.mergedReasonsOf, table, disp, reason, n)
			if keys != nil {
				if v.mergedKeys[table] == nil {
					v.mergedKeys[table] = map[string][]string{}
				}
				v.mergedKeys[table][reason] = keys
			}
		} else if err := errors.Join(v.ledgerKept.add(table, disp, n, sum), v.ledgerKeptReasoned.add(table, disp, n, reasoned)); err != nil {
			return fmt.Errorf("read the ledger of %s: %w", table, err)
		}
	}
	if err := krows.Err(); err != nil {
		return fmt.Errorf("read the ledger: %w", err)
	}
	return nil
}

// serverVersion returns the server's version number (e.g. 150004).
func serverVersion(ctx context.Context, conn *pgx.Conn) (int, error) {
	n, err := dburl.ServerVersionNum(ctx, conn)
	if err != nil {
		return 0, fmt.Errorf("read the server version: %w", err)
	}
	return n, nil
}

// reasons counts the rows of the bookkeeping by disposition and reason.
func (v *verifier) reasons(ctx context.Context) error {
	// Every count was taken by prepare (the ledger's merged rows, the kept
	// tables' rows); the server sorts them, in its collation.
	var disps, reasons []string
	var counts []int64
	for _, r := range sortedKeys(v.mergedReasons) {
		disps, reasons, counts = append(disps, "merged"), append(reasons, r), append(counts, v.mergedReasons[r])
	}
	for k, n := range v.keptReasons {
		disps, reasons, counts = append(disps, k[0]), append(reasons, k[1]), append(counts, n)
	}
	return v.withTarget(ctx, func(tc *pgx.Conn) error {
		rows, err := tc.Query(ctx, `SELECT d, r, n FROM unnest($1::text[], $2::text[], $3::bigint[]) AS x(d, r, n)
			ORDER BY 3 DESC, 1, 2`, disps, reasons, counts)
		if err != nil {
			return err
		}
		var out []Reason
		for rows.Next() {
			var r Reason
			if err := rows.Scan(&r.Disposition, &r.Reason, &r.Rows); err != nil {
				return err
			}
			out = append(out, r)
		}
		v.mu.Lock()
		v.res.Reasons = out
		v.mu.Unlock()
		return rows.Err()
	})
}

// add records a finding, keeping at most Samples per check, kind and
// table; it returns whether the finding was listed.
func (v *verifier) add(f Finding) bool {
	v.mu.Lock()
	defer v.mu.Unlock()
	k := [3]string{f.Check, f.Kind, f.Table}
	if v.listed[k] >= v.cfg.Samples {
		v.res.Unlisted[f.Severity]++
		return false
	}
	v.listed[k]++
	v.res.Findings = append(v.res.Findings, f)
	return true
}

// unlisted counts n findings of severity sev that a check found beyond
// those it listed, having fetched only Samples of them (Result.Unlisted).
func (v *verifier) unlisted(sev Severity, n int64) {
	if n <= 0 {
		return
	}
	v.mu.Lock()
	defer v.mu.Unlock()
	v.res.Unlisted[sev] += int(n)
}

// withBoth runs f with a source and a target connection.
func (v *verifier) withBoth(ctx context.Context, f func(src, tgt *pgx.Conn) error) error {
	s, err := v.src.get(ctx)
	if err != nil {
		return err
	}
	defer v.src.put(s)
	t, err := v.tgt.get(ctx)
	if err != nil {
		return err
	}
	defer v.tgt.put(t)
	return f(s, t)
}

// withTarget runs f with a target connection.
func (v *verifier) withTarget(ctx context.Context, f func(tgt *pgx.Conn) error) error {
	t, err := v.tgt.get(ctx)
	if err != nil {
		return err
	}
	defer v.tgt.put(t)
	return f(t)
}

// finish orders the results deterministically.
func (v *verifier) finish() {
	order := map[string]int{}
	for i, m := range v.ms {
		order[m.Legacy] = i
	}
	r := v.res
	slices.SortFunc(r.Tables, func(a, b TableCheck) int { return cmp.Compare(order[a.Legacy], order[b.Legacy]) })
	slices.SortFunc(r.Contents, func(a, b ContentCheck) int { return cmp.Compare(order[a.Legacy], order[b.Legacy]) })
	slices.SortFunc(r.Targets, func(a, b TargetCheck) int { return cmp.Compare(a.Table, b.Table) })
	slices.SortFunc(r.Invariants, func(a, b InvariantCheck) int {
		return cmp.Or(cmp.Compare(checkOrder(a.Check), checkOrder(b.Check)), cmp.Compare(a.Table, b.Table), cmp.Compare(a.Name, b.Name))
	})
	sev := func(s Severity) int {
		if s == Failure {
			return 0
		}
		return 1
	}
	slices.SortFunc(r.Findings, func(a, b Finding) int {
		return cmp.Or(cmp.Compare(sev(a.Severity), sev(b.Severity)), cmp.Compare(checkOrder(a.Check), checkOrder(b.Check)),
			cmp.Compare(a.Table, b.Table), cmp.Compare(a.Kind, b.Kind), cmp.Compare(a.Key, b.Key), cmp.Compare(a.Message, b.Message))
	})
}

var checks = []string{CheckRun, CheckSchema, CheckSeeds, CheckConservation, CheckSummary, CheckTargetRows, CheckContent,
	CheckForeignKey, CheckTenancy, CheckNaturalKey, CheckFeedOrder, CheckWallet}

func checkOrder(c string) int { return slices.Index(checks, c) }

func sortedKeys[V any](m map[string]V) []string {
	out := make([]string, 0, len(m))
	for k := range m {
		out = append(out, k)
	}
	sort.Strings(out)
	return out
}

// sameDatabase returns a *dburl.SameDatabaseError when the target at
// targetURL is the database source is connected to; nil otherwise, also
// when it cannot tell (the target's own errors come later, from its use).
func sameDatabase(ctx context.Context, source *pgx.Conn, targetURL string) error {
	id, err := dburl.Identity(ctx, source)
	if err != nil {
		return nil
	}
	target, err := dburl.Connect(ctx, "target", targetURL, catalogParams...)
	if err != nil {
		return nil
	}
	defer target.Close(context.Background())
	if other, err := dburl.Identity(ctx, target); err == nil && other == id {
		return &dburl.SameDatabaseError{Database: dburl.Describe(targetURL)}
	}
	return nil
}
