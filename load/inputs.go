package load

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"fmt"
	"io"
	"os"
	"regexp"
	"runtime/debug"
	"slices"
	"sort"
	"strings"
	"sync"
	"time"

	"github.com/jackc/pgx/v5"

	"github.com/cutover/cutover/extract"
	"github.com/cutover/cutover/mappings"
)

// A re-run after a source change redoes only the mappings whose inputs
// changed. A mapping's inputs are everything its decisions can depend on:
// its plan (the SQL, which also carries the options and the catalog it was
// built for) and the source rows of its legacy table, and the same of every
// mapping it reads, transitively (reads). Their digest is recorded with the
// mapping's results, in the transaction that applies it; a mapping whose
// digest is the recorded one holds in the target exactly what deciding and
// applying it again would write, so the run leaves it alone.
//
// The mappings to redo are then decided and applied as in a full run. Their
// decisions read the decisions of the mappings they depend on, so those are
// decided too (not applied); and only the legacy tables of the mappings
// decided are extracted. A mapping's digest covers all it reads, so every
// mapping reading a redone one is redone with it.
//
// A run clears the recorded digests of the mappings it redoes before it
// changes the target (with their batch records), so that a run that fails
// half-way leaves them to be redone, whatever the source is by then.

// inputsVersion changes when the digest's definition does, and with the
// build of cutover: the Go transforms (prepare) are inputs too, and a run
// recorded by another build redoes everything. The build is the module
// version and VCS stamp and, where the running executable can be read, the
// SHA-256 of its bytes: two builds of one revision with different
// uncommitted changes have the same stamp but not the same bytes (Go
// builds are reproducible, so the same source builds the same bytes). It
// is computed once, on first use (a no-op run never uses it).
var inputsVersion = sync.OnceValue(func() string {
	v := "cutover inputs 1"
	if bi, ok := debug.ReadBuildInfo(); ok {
		v += " " + bi.Main.Version
		for _, s := range bi.Settings {
			if s.Key == "vcs.revision" || s.Key == "vcs.modified" {
				v += " " + s.Value
			}
		}
	}
	if sum, err := executableDigest(); err == nil {
		v += " exe " + sum
	}
	return v
})

// executableDigest is the SHA-256 of the running executable's bytes.
func executableDigest() (string, error) {
	path, err := os.Executable()
	if err != nil {
		return "", err
	}
	f, err := os.Open(path)
	if err != nil {
		return "", err
	}
	defer f.Close()
	h := sha256.New()
	if _, err := io.Copy(h, f); err != nil {
		return "", err
	}
	return hex.EncodeToString(h.Sum(nil)), nil
}

// narrowing is what a run does: the mappings it applies (redo) and decides
// (decide), and the legacy tables it extracts (stage). A nil set means all.
type narrowing struct {
	redo, decide, stage map[string]bool
	// digests are every mapping's inputs digest, by mapping name.
	digests map[string]string
}

// has reports whether set (nil: every name) holds name.
func has(set map[string]bool, name string) bool { return set == nil || set[name] }

// preparedFrom names the legacy table each relation that prepare derives
// in the stage is made from.
var preparedFrom = map[string]string{"quests_typed": "quests", "market_item_keys": "market_items"}

var (
	ledgerPartName = regexp.MustCompile(`dispositions_([A-Za-z0-9_$]+)`)
	nameLiteral    = regexp.MustCompile(`'([A-Za-z_][A-Za-z0-9_$]*)'`)
)

// planSQL is every statement of plan p, in a fixed order.
func planSQL(p *Plan) string {
	sql := slices.Concat(p.Decide, []string{p.WaveLoop}, p.WaveRest, p.DecideEnd, p.Remove, p.Upsert,
		[]string{p.Rows, p.RemoveCount, p.RemoveIDs, p.MergeCount, p.FirstInsert}, p.FirstResults, p.FirstUpsert, []string{p.LedgerRows})
	for _, c := range p.FKChecks {
		sql = append(sql, c.SQL)
	}
	return strings.Join(sql, "\n;\n")
}

// planSQLs is planSQL of every plan, by mapping name.
func planSQLs(plans map[string]*Plan) map[string]string {
	out := make(map[string]string, len(plans))
	for name, p := range plans {
		out[name] = planSQL(p)
	}
	return out
}

// relationTable names the legacy table stage relation rel is made from: a
// legacy table's stage copy (known reports the legacy tables), its
// decision table d_<table>, or a relation prepare derives from it. ok is
// false for any other relation.
func relationTable(rel string, known func(string) bool) (table string, ok bool) {
	table = rel
	if from, prepared := preparedFrom[rel]; prepared {
		table = from
	} else if !known(rel) && strings.HasPrefix(rel, "d_") {
		table = strings.TrimPrefix(rel, "d_")
	}
	return table, known(table)
}

// reads returns, per mapping name, the mappings whose decisions, rows or
// source the mapping's decisions can depend on: the mappings it depends on;
// the other feeders of its target (natural-key claims); and every mapping
// whose legacy table, decision table, prepared relation, target table,
// ledger partition or legacy table name its plan (sqls, by planSQLs)
// names. A stage relation it cannot attribute makes it read every mapping.
// Not transitive.
func reads(stage string, ms []mappings.Mapping, sqls map[string]string) map[string][]string {
	byTable, byTarget := map[string][]string{}, map[string][]string{}
	for _, m := range ms {
		byTable[m.Legacy] = append(byTable[m.Legacy], m.Name())
		if m.Target != "" {
			byTarget[m.Target] = append(byTarget[m.Target], m.Name())
		}
	}
	deps := mappings.Dependencies(ms)
	out := map[string][]string{}
	for _, m := range ms {
		set := map[string]bool{}
		add := func(names ...string) {
			for _, n := range names {
				if n != m.Name() {
					set[n] = true
				}
			}
		}
		add(deps[m.Name()]...)
		add(byTarget[m.Target]...)
		sql := sqls[m.Name()]
		for _, rel := range stageRelationNames(stage, sql) {
			table, ok := relationTable(rel, func(t string) bool { return byTable[t] != nil })
			if !ok {
				add(mappingNames(ms)...) // unknown: it may read anything
				continue
			}
			add(byTable[table]...)
		}
		for _, target := range namesAfter("public.", sql) {
			add(byTarget[target]...)
		}
		for _, re := range []*regexp.Regexp{ledgerPartName, nameLiteral} {
			for _, sm := range re.FindAllStringSubmatch(sql, -1) {
				add(byTable[sm[1]]...)
			}
		}
		for n := range set {
			out[m.Name()] = append(out[m.Name()], n)
		}
		sort.Strings(out[m.Name()])
	}
	return out
}

// closure returns name and every mapping it reads, directly or through
// others, sorted.
func closure(edges map[string][]string, name string) []string {
	seen := map[string]bool{}
	stack := []string{name}
	for len(stack) > 0 {
		n := stack[len(stack)-1]
		stack = stack[:len(stack)-1]
		if seen[n] {
			continue
		}
		seen[n] = true
		stack = append(stack, edges[n]...)
	}
	out := make([]string, 0, len(seen))
	for n := range seen {
		out = append(out, n)
	}
	sort.Strings(out)
	return out
}

// runStartedLiteral matches the time a plan judges time against
// (runStartedSQL of an RFC 3339 time), whichever time it is: the run's
// start, or the time an earlier run judged a mapping at (judgedAt).
var runStartedLiteral = regexp.MustCompile(`'[0-9]{4}-[0-9]{2}-[0-9]{2}T[0-9:.]+(Z|[+-][0-9:]+)'::timestamptz`)

// judgedAt returns, for each mapping the run decides only for what reads
// it (decided, not redone) whose plan judges time (sessions' expiry), the
// time its last apply judged at (cutover.results.judged_at): the target
// holds its rows as judged then, and what reads it must see them so. (At
// the run's start instead, a session that expired since would be gone
// for audit_log, which set its references NULL, while the session stayed
// in the target.) Nil for a full run; a mapping recorded by an earlier
// build is judged at the run's start.
func (s *session) judgedAt(ctx context.Context, plans map[string]*Plan) (map[string]string, error) {
	if s.only.redo == nil {
		return nil, nil
	}
	now := runStartedSQL(s.runStarted())
	var names []string
	for _, m := range subset(s.ms, s.only.decide) {
		if !s.only.redo[m.Name()] && strings.Contains(planSQL(plans[m.Name()]), now) {
			names = append(names, m.Name())
		}
	}
	if len(names) == 0 {
		return nil, nil
	}
	judged, err := s.recorded(ctx, "judged_at")
	if err != nil {
		return nil, fmt.Errorf("read when the mappings were judged: %w", err)
	}
	out := map[string]string{}
	for _, name := range names {
		if at, ok := judged[name]; ok {
			if _, err := time.Parse(time.RFC3339Nano, at); err != nil {
				return nil, fmt.Errorf("read when the mappings were judged: mapping %s: judged_at %q is not a time: %w", name, at, err)
			}
			out[name] = at
		}
	}
	return out, nil
}

// recorded returns column of cutover.results by mapping, for the mappings
// whose row has a value in it. Through to_jsonb: a column an earlier build
// did not add reads as recording none (status adds no columns).
func (s *session) recorded(ctx context.Context, column string) (map[string]string, error) {
	rows, err := s.target.Query(ctx, `SELECT mapping, to_jsonb(r)->>$1 FROM `+bk+`.results r`, column)
	if err != nil {
		return nil, err
	}
	out := map[string]string{}
	var name string
	var value *string
	if _, err := pgx.ForEachRow(rows, []any{&name, &value}, func() error {
		if value != nil {
			out[name] = *value
		}
		return nil
	}); err != nil {
		return nil, err
	}
	return out, nil
}

// inputDigests returns every mapping's inputs digest: over the plans (sqls,
// by planSQLs) of the mappings in its closure (over edges, the reads) and the checksums of every batch of their legacy
// tables (batches in plan order, sums by batchKey).
//
// The time sessions expire against (the run's start, or the time judgedAt
// gives) is left out of the plans: the passing of time is not a change of
// the inputs, as for a run that finds the whole source unchanged. Sessions
// keep the expiry the run that applied them judged; were it in, every run
// would redo the sessions and every mapping reading them.
func inputDigests(edges map[string][]string, ms []mappings.Mapping, sqls map[string]string, batches []extract.Batch, sums map[string]extract.Checksum) map[string]string {
	legacy := map[string]string{}
	planHash := map[string]string{}
	for _, m := range ms {
		legacy[m.Name()] = m.Legacy
		sql := runStartedLiteral.ReplaceAllString(sqls[m.Name()], "{{run_started}}")
		h := sha256.Sum256([]byte(sql))
		planHash[m.Name()] = hex.EncodeToString(h[:])
	}
	// Each table's content, whatever pages its rows are on: the batches'
	// sums added up (a table rewritten with the same rows, by VACUUM FULL
	// say, is unchanged). Checksums of an earlier build are listed batch by
	// batch, which a new checksum never equals.
	byTable := map[string][]extract.Batch{}
	for _, b := range batches {
		byTable[b.Table] = append(byTable[b.Table], b)
	}
	tableSums := map[string]string{}
	for t, bs := range byTable {
		cs := make([]extract.Checksum, len(bs))
		for i, b := range bs {
			cs[i] = sums[batchKey(b.Table, b.No)]
		}
		if c, ok := extract.TableContent(cs); ok {
			tableSums[t] = fmt.Sprintf("%d %s\n", c.Rows, c.Hash)
			continue
		}
		for i, b := range bs {
			tableSums[t] += fmt.Sprintf("%d/%d %d %s\n", b.No, b.Of, cs[i].Rows, cs[i].Hash)
		}
	}
	out := map[string]string{}
	for _, m := range ms {
		h := sha256.New()
		fmt.Fprintln(h, inputsVersion())
		var tables []string
		for _, n := range closure(edges, m.Name()) {
			fmt.Fprintf(h, "mapping %s %s\n", n, planHash[n])
			if !slices.Contains(tables, legacy[n]) {
				tables = append(tables, legacy[n])
			}
		}
		sort.Strings(tables)
		for _, t := range tables {
			fmt.Fprintf(h, "table %s\n%s", t, tableSums[t])
		}
		out[m.Name()] = hex.EncodeToString(h.Sum(nil))
	}
	return out
}

// narrow chooses what the run does (redoSet) and says so. nothing is true
// when the run has nothing to do: the source is the one the last finished
// run saw (unchanged, see upToDate) and every mapping's inputs digest is
// the recorded one, so this build, with these options and this target
// catalog, would write what is there. A source that is unchanged while a
// digest is not (another build of cutover, say) redoes those mappings.
func (s *session) narrow(ctx context.Context, plans map[string]*Plan, unchanged bool) (n narrowing, nothing bool, err error) {
	if n, err = s.redoSet(ctx, plans); err != nil {
		return n, false, err
	}
	switch {
	case s.cfg.Full:
		s.cfg.Progress(Event{Phase: "extract", Message: "--full: redoing every mapping, whatever the bookkeeping records"})
	case unchanged && n.redo != nil && len(n.redo) == 0:
		return n, true, nil
	case unchanged && n.redo == nil:
		s.cfg.Progress(Event{Phase: "extract", Message: "the source is unchanged since the last finished run, but every mapping's plan or " +
			"the build of cutover differs from the one that applied it: redoing every mapping"})
	case n.redo != nil:
		s.cfg.Progress(Event{Phase: "extract", Message: fmt.Sprintf(
			"%d of %d mappings hold what their unchanged inputs decide: redoing %d (deciding %d with what they read), extracting %d of %d tables",
			len(s.ms)-len(n.redo), len(s.ms), len(n.redo), len(n.decide), len(n.stage), len(s.src.Tables))})
	}
	return n, false, nil
}

// inputsDigests returns every mapping's inputs digest (inputDigests) from
// plans and the checksums s holds, and the reads (edges) they follow.
func (s *session) inputsDigests(plans map[string]*Plan) (digests map[string]string, edges map[string][]string) {
	sqls := planSQLs(plans)
	edges = reads(s.stage, s.ms, sqls)
	return inputDigests(edges, s.ms, sqls, s.batches, s.sums), edges
}

// redoSet computes every mapping's inputs digest from plans and the
// source's checksums, and from the recorded digests what a run does: the
// mappings whose digest differs (or was never recorded) are redone, with
// the closures of their reads decided and their legacy tables extracted.
// When every mapping is to be redone, or the run was asked to (Config.Full),
// the sets are nil (a full run). It writes nothing.
func (s *session) redoSet(ctx context.Context, plans map[string]*Plan) (narrowing, error) {
	digests, edges := s.inputsDigests(plans)
	n := narrowing{digests: digests}
	if s.cfg.Full {
		return n, nil
	}
	recorded, err := s.recorded(ctx, "inputs")
	if err != nil {
		return n, fmt.Errorf("read the recorded inputs: %w", err)
	}
	redo := map[string]bool{}
	for _, m := range s.ms {
		if recorded[m.Name()] != n.digests[m.Name()] {
			redo[m.Name()] = true
		}
	}
	if len(redo) == len(s.ms) && len(redo) > 0 {
		return n, nil
	}
	n.redo, n.decide, n.stage = redo, map[string]bool{}, map[string]bool{}
	for r := range redo {
		for _, d := range closure(edges, r) {
			n.decide[d] = true
		}
	}
	for _, m := range s.ms {
		if n.decide[m.Name()] {
			n.stage[m.Legacy] = true
		}
	}
	return n, nil
}

// subset returns the mappings of ms in set (nil: all), in list order.
func subset(ms []mappings.Mapping, set map[string]bool) []mappings.Mapping {
	if set == nil {
		return ms
	}
	var out []mappings.Mapping
	for _, m := range ms {
		if set[m.Name()] {
			out = append(out, m)
		}
	}
	return out
}

// transitive returns deps with every dependency reached through others
// added, so that an order over a subset of the mappings still waits for a
// dependency's dependency when the one between them is not in it.
func transitive(deps map[string][]string) map[string][]string {
	out := map[string][]string{}
	for name := range deps {
		out[name] = slices.DeleteFunc(closure(deps, name), func(n string) bool { return n == name })
	}
	return out
}
