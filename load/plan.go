package load

import (
	"fmt"
	"regexp"
	"slices"
	"sort"
	"strings"

	"github.com/jackc/pgx/v5"

	"github.com/cutover/cutover/extract"
	"github.com/cutover/cutover/internal/rowjson"
	"github.com/cutover/cutover/mappings"
	"github.com/cutover/cutover/migrations"
	"github.com/cutover/cutover/transform"
)

// TargetTable is what planning needs of a target table.
type TargetTable struct {
	Columns []string // in order
	PK      []string // primary key columns
	HasUser bool     // has a user_id column
	FKs     []FK     // outgoing foreign keys
	// Types maps each column to its type without modifiers (regtype), to
	// give untyped literals of mapping SQL their column's type; FullTypes
	// to its type with them (format_type), to cast a decided value to.
	Types, FullTypes map[string]string
	// Uniques are the unique indexes besides the primary key.
	Uniques []Unique
	// Fixed maps the columns whose value is the same in every row an
	// INSERT that does not name them writes to that value, typed: NULL
	// for a column without a default, else its default, when that calls
	// only immutable functions. Columns whose default is now() or
	// gen_random_uuid() are not here.
	Fixed map[string]string
}

// Unique is a unique index of a target table: its key columns or
// expressions as the catalog prints them (pg_get_indexdef), the
// predicate of a partial index ("" for none), and whether it holds NULL
// keys equal (NULLS NOT DISTINCT, PostgreSQL 15 and later) where an
// index by default holds none of them.
type Unique struct {
	Keys             []string
	Predicate        string
	NullsNotDistinct bool
	// Name is the index's name.
	Name string
	// Park are the columns of type text the index reads that no primary
	// key, foreign key or check constraint reads: a row given a value of
	// its own in one of them (Plan.Park) holds no key another row wants.
	Park []string
}

// FK is a single-column foreign key of a target table.
type FK struct {
	Name, Column, Parent, ParentColumn string
	// Blocks is true when deleting a parent row that a row references
	// fails (ON DELETE NO ACTION or RESTRICT) rather than deleting the row
	// or clearing its reference.
	Blocks bool
	// SetsNull is true when deleting a parent row clears the reference
	// (ON DELETE SET NULL).
	SetsNull bool
	// OnDelete is the action as the catalog names it: NO ACTION,
	// RESTRICT, CASCADE, SET NULL or SET DEFAULT.
	OnDelete string
}

func (t TargetTable) has(col string) bool {
	for _, c := range t.Columns {
		if c == col {
			return true
		}
	}
	return false
}

// Params are the values substituted into mapping SQL.
type Params struct {
	// Stage is the schema of the stage copies and decisions.
	Stage string
	// RunStarted is the RFC 3339 timestamp sessions expire against.
	RunStarted string
	NoSessions bool
	// Ledger is the schema whose dispositions table says which target rows
	// the cutover owns (default: the bookkeeping schema).
	Ledger string
	// UUID names the stage columns of type uuid, as "table.column". A
	// mapping keyed by one such column keeps its decision key _k as a uuid
	// (joins on 16 bytes, no text per row); otherwise _k is the key's text.
	// Nil: every _k is text.
	UUID map[string]bool
	// Read names the legacy tables whose decisions other mappings of the
	// run read ({{d:table}}; a reader names the table in its After). Only
	// those decision tables get the index of their Exposes columns;
	// a source without the drift tables that read them (habit_logs,
	// user_inbox) skips building it (2.5 connection-seconds for
	// habit_completions at 10M rows). Nil: every mapping's index is built.
	Read map[string]bool
	// Columns are each legacy table's stage columns with their types, for
	// the JSON its archived and rejected rows are kept as (rowjson.SQL).
	// Nil: kept as to_jsonb gives them.
	Columns map[string][]rowjson.Column
}

// uuidKey reports whether mapping m's decision key _k is a uuid: it reads
// its own stage table (not a From relation) and is keyed by one uuid
// column. The ledger's legacy_key is always _k's text.
func (p Params) uuidKey(m mappings.Mapping) bool {
	cols := m.KeyColumns()
	return m.KeySQL == "" && m.From == "" && len(cols) == 1 && p.UUID[m.Legacy+"."+cols[0]]
}

// decisionKey renders the decision key _k of mapping m's row alias a: the
// uuid column itself when p.uuidKey(m), else the key's text (keyExpr).
func (p Params) decisionKey(m mappings.Mapping, a string) string {
	if p.uuidKey(m) {
		return a + "." + ident(m.KeyColumns()[0])
	}
	return keyExpr(m, a)
}

// keyMatch compares decision key pk (of mapping parent) with column col of
// mapping m's row alias a, without a per-row text conversion when both
// are uuids.
func (p Params) keyMatch(parent mappings.Mapping, pk string, m mappings.Mapping, a, col string) string {
	colUUID := m.From == "" && p.UUID[m.Legacy+"."+col]
	switch {
	case p.uuidKey(parent) && colUUID:
		return pk + " = " + a + "." + ident(col)
	case p.uuidKey(parent):
		return pk + "::text = " + a + "." + ident(col) + "::text"
	default:
		return pk + " = " + a + "." + ident(col) + "::text"
	}
}

func (p Params) ledger() string {
	if p.Ledger == "" {
		return bk
	}
	return p.Ledger
}

// Plan is the SQL of one mapping, generated from its declaration, the
// source columns it reads and the target catalog. Building it is pure.
//
// A cutover runs in two phases. Decide (every mapping, in dependency
// order) writes the mapping's decision table d_<legacy table> in the stage
// schema: one row per legacy row with its disposition, reason, target id
// and resolved references, judged against the decisions of its parents —
// nothing in the application tables is touched. Apply then makes the target
// equal the decisions: Remove (in reverse order) deletes rows this mapping
// put in the target earlier that are no longer decided; Upsert (in order)
// inserts new rows and updates changed ones, writing nothing for rows that
// are already right, and syncs the bookkeeping of the mapping in the same
// transaction.
type Plan struct {
	M mappings.Mapping
	// Decide builds the decision table; $1 is never used.
	Decide []string
	// WaveLoop is repeated until it affects no row, then WaveRest runs
	// (self-references: a row reaches the target only with its parent).
	WaveLoop string
	WaveRest []string
	// DecideEnd runs after the waves (indexes, statistics).
	DecideEnd []string
	// Remove deletes the application rows this mapping owns that are no
	// longer decided.
	Remove []string
	// Upsert writes the decided rows and the bookkeeping; $1 is the run id.
	Upsert []string
	// Rows is a SELECT of the decided target rows (target columns), for the
	// dry-run diff; empty when the mapping reaches no target.
	Rows string
	// keyedRows is Rows with each row's legacy key first (_k), to name
	// the legacy rows a target constraint refuses (refusedRows).
	keyedRows string
	// TargetCols are the target columns Rows and Upsert write, of
	// target (compared reads its types).
	TargetCols []string
	target     TargetTable
	// PK is the target table's primary key; Target its table.
	PK []string
	// RemoveCount counts the rows Remove would delete; RemoveIDs selects
	// their ids (tables with an id).
	RemoveCount, RemoveIDs string
	// Vacate updates the target rows the mapping decides other values for
	// whose new values of every unique index (the primary key aside) no
	// other row holds now: repeated until it updates nothing, it lets
	// rows hand values on in a chain (a user takes the email another gave
	// up), which one upsert cannot, as it checks each row against the
	// others' old values. "" when the target table has no such index.
	Vacate string
	// Park gives the rows Vacate left (rows that still differ from their
	// decisions: each wants a value another of them holds, a swap or a
	// cycle of them) a value of their own in one column of each unique
	// index in Parks, which Vacate then replaces with the decided one:
	// the run writes a swap through that value, in one transaction, as a
	// person would. "" when no index has a column to park (Unique.Park)
	// that the mapping writes.
	Park string
	// Parks names the unique indexes Park frees.
	Parks map[string]bool
	// ownedIDs selects the ids of the target rows this mapping owns, by
	// the ledger (tables with an id; see RemoveReferencing).
	ownedIDs string
	// ownsRow is a condition on a row t of the target table that holds
	// when the ledger says this mapping owns it (buildRefGraph).
	ownsRow string
	// takenOver, for a target table without an id (its primary key is
	// the legacy key), counts the decided rows whose primary key a target
	// row holds that the ledger does not give this mapping, and names the
	// first five, "legacy key (held by the row key, which no ledger row
	// gives the mapping)": the upsert would take such a row over
	// (takenOver).
	takenOver string
	// seedRestore gives seeded rows of the target that a merge replaced
	// their seeded content back, counting those this run merges nothing
	// onto; RestoreReferencing completes it ("" without a natural key).
	seedRestore string
	// MergeCount counts the seeded rows the natural-key merge would update,
	// and those it merges onto that already hold what it would write (two
	// columns); RestoreCount those it no longer merges onto whose content
	// is not their seeded content, which they get back ("" without a
	// natural key).
	MergeCount, RestoreCount string
	// FirstInsert is a plain INSERT of the rows; FirstResults, then
	// FirstUpsert, replace Upsert when the mapping has never been applied
	// (its rows and bookkeeping cannot exist yet): plain inserts, no
	// conflict handling. The last of FirstResults returns a row per reason
	// of each disposition with reasons the decisions hold (merged,
	// archived, discarded, rejected); FirstUpsert's statements that keep
	// rejected, archived or discarded rows are skipped when it returned no
	// such disposition.
	FirstInsert  string
	FirstResults []string
	FirstUpsert  []string
	// LedgerRows selects the mapping's rows of the disposition ledger
	// (ledgerColumns; $1 is the run id), for a first write into a fresh
	// ledger partition.
	LedgerRows string
	// FKChecks each count the rows just written that break a foreign key,
	// for runs that skip the per-row checks (see Apply).
	FKChecks []FKCheck
}

// FKCheck is a set-based foreign-key check of the rows a mapping wrote.
type FKCheck struct {
	FK  FK
	SQL string
	// Lock locks, FOR KEY SHARE, the parent rows that the rows this
	// transaction wrote reference (age(xmin) <= 0: its own xid, and its
	// subtransactions' after it), as the key's trigger would: the
	// set-based check then holds them to commit, and a parent the
	// application deletes meanwhile either is gone before the check,
	// which counts it, or waits for the commit and then does what the key
	// says.
	Lock string
}

// ColumnError reports a mapping that names a column the target or source
// does not have.
type ColumnError struct {
	Mapping, Table, Column string
}

func (e *ColumnError) Error() string {
	return fmt.Sprintf("mapping %s: column %q does not exist on table %q", e.Mapping, e.Column, e.Table)
}

type arm struct {
	when, disp, reason, msg, tid string
}

func lit(s string) string { return "'" + strings.ReplaceAll(s, "'", "''") + "'" }

func ident(parts ...string) string { return pgx.Identifier(parts).Sanitize() }

// reaching lists the dispositions whose rows are (or point at) target rows.
const reaching = "('loaded', 'folded', 'merged')"

// reasoned lists the dispositions the summary breaks down by reason.
const reasoned = "('merged', 'archived', 'discarded', 'rejected')"

// untypedLiteral matches mapping SQL that is a bare string literal or NULL.
var untypedLiteral = regexp.MustCompile(`^\s*('(?:[^']|'')*'|(?i:null))\s*$`)

// owning lists the dispositions whose target rows the cutover wrote.
const owning = "('loaded', 'folded')"

// keyExpr renders the legacy key of row alias a as text.
func keyExpr(m mappings.Mapping, a string) string { return mappings.KeyExpr(m, a) }

// DecisionTable names the decision table of a legacy table.
func DecisionTable(stage, legacy string) string { return ident(stage, "d_"+legacy) }

// runStartedSQL is the SQL of the time sessions expire against.
func runStartedSQL(runStarted string) string { return lit(runStarted) + "::timestamptz" }

func substitute(sql string, m mappings.Mapping, p Params) string {
	repl := []string{
		"{{stage}}", ident(p.Stage),
		"{{ledger}}", ident(p.ledger()),
		"{{run_started}}", runStartedSQL(p.RunStarted),
		"{{no_sessions}}", fmt.Sprint(p.NoSessions),
		"{{derived_id}}", transform.DerivedIDSQL(m.Legacy, "s.id::text"),
	}
	for {
		i := strings.Index(sql, "{{d:")
		if i < 0 {
			break
		}
		j := strings.Index(sql[i:], "}}")
		name := sql[i+4 : i+j]
		sql = sql[:i] + "(SELECT * FROM " + DecisionTable(p.Stage, name) + " WHERE _disp IN " + owning + ")" + sql[i+j+2:]
	}
	return strings.NewReplacer(repl...).Replace(sql)
}

// BuildPlan generates the SQL of mapping m. source lists the columns of the
// relation it reads (the stage copy, or m.From); targets describes the
// target tables; parents maps each legacy table referenced to its mapping.
func BuildPlan(m mappings.Mapping, source []string, targets map[string]TargetTable, parents map[string]mappings.Mapping, p Params) (*Plan, error) {
	sub := func(s string) string { return substitute(s, m, p) }
	stage := ident(p.Stage, m.Legacy)
	d := DecisionTable(p.Stage, m.Legacy)
	plan := &Plan{M: m}
	decide := func(sql string) { plan.Decide = append(plan.Decide, sub(sql)) }
	srcHas := map[string]bool{}
	for _, c := range source {
		srcHas[c] = true
	}
	for _, k := range m.KeyColumns() {
		if !srcHas[k] {
			return nil, &ColumnError{m.Name(), m.Legacy, k}
		}
	}
	from := stage
	if m.From != "" {
		from = sub(m.From)
	}
	key := p.decisionKey(m, "s")

	if m.ArchiveAll || m.DiscardAll != "" {
		disp, reason := mappings.Archived, mappings.ReasonNotInTarget
		if !m.ArchiveAll {
			disp, reason = mappings.Discarded, m.DiscardAll
		}
		decide(`CREATE UNLOGGED TABLE ` + d + ` ` + extract.StageStorage + ` AS SELECT ` + key + ` AS _k, ` + lit(string(disp)) + `::text AS _disp, ` +
			lit(reason) + `::text AS _reason, NULL::text AS _msg, NULL::uuid AS _tid, s.ctid AS _ctid FROM ` + stage + ` s`)
		b := bookkeeping(m, p, d, stage, nil, "")
		plan.Upsert, plan.FirstResults, plan.FirstUpsert, plan.LedgerRows = b.stmts, b.firstResults, b.first, b.ledgerRows
		return plan, nil
	}

	target, ok := targets[m.Target]
	if !ok {
		return nil, fmt.Errorf("mapping %s: target table %q does not exist (is the schema applied?)", m.Name(), m.Target)
	}

	// Inner query: the source row with its references resolved against the
	// decisions about the rows they point at.
	var refCols, refJoins []string
	refExpr := map[string]string{}
	for i, r := range m.Refs {
		if !srcHas[r.Column] {
			return nil, &ColumnError{m.Name(), m.Legacy, r.Column}
		}
		pm, ok := parents[r.Parent]
		if !ok {
			return nil, fmt.Errorf("mapping %s: referenced table %q is not in the source", m.Name(), r.Parent)
		}
		col := "s." + ident(r.Column)
		pi := fmt.Sprintf("p%d", i)
		on := p.keyMatch(pm, pi+"._k", m, "s", r.Column)
		if r.ParentKey() != "id" {
			on = fmt.Sprintf("%s.%s = %s", pi, ident("_nk_"+r.ParentKey()), col)
		}
		refJoins = append(refJoins, fmt.Sprintf("LEFT JOIN %s %s ON %s", DecisionTable(p.Stage, pm.Legacy), pi, on))
		resolved := pi + "._tid"
		if r.ParentKey() != "id" {
			resolved = col // referenced by natural key, which merges keep
		}
		refCols = append(refCols,
			fmt.Sprintf("CASE WHEN %s._disp IN %s THEN %s END AS %s", pi, reaching, resolved, ident("_ref_"+r.Column)),
			fmt.Sprintf("coalesce(%s._disp IN %s, false) AS %s", pi, reaching, ident("_tgt_"+r.Column)),
			fmt.Sprintf("%s._k IS NOT NULL AS %s", pi, ident("_src_"+r.Column)))
		if pt, ok := targets[pm.Target]; ok && pt.HasUser {
			refCols = append(refCols, fmt.Sprintf("%s._uid AS %s", pi, ident("_own_"+r.Column)))
		}
		refExpr[r.Column] = "s." + ident("_ref_"+r.Column)
		if r.Kind == mappings.Soft {
			// What it names, where that reached the target; as it is
			// otherwise (an orphan, or a row that did not reach).
			refExpr[r.Column] = "coalesce(s." + ident("_ref_"+r.Column) + ", " + col + ")"
		}
	}
	if r := m.SelfRef; r != nil && r.Tenant && r.Kind != mappings.SetNull {
		// The owner of the row it points at, another row of the stage (a
		// hash join: a lookup per row inside the judging CASE took 24 s
		// for calendar_events at 1M).
		if m.From != "" {
			return nil, fmt.Errorf("mapping %s: the tenancy of %s reads the stage table, which From replaces", m.Name(), r.Column)
		}
		refCols = append(refCols, "sp.user_id AS "+ident("_own_"+r.Column))
		refJoins = append(refJoins, fmt.Sprintf("LEFT JOIN %s sp ON sp.%s = s.%s", stage, ident(r.ParentKey()), ident(r.Column)))
	}
	for _, l := range m.Lookups {
		refJoins = append(refJoins, sub(l.Join))
		for _, c := range l.Columns {
			refCols = append(refCols, sub(c))
		}
	}
	inner := "SELECT s.*"
	if keepsStageRow(m) {
		inner += ", s.ctid AS _ctid"
	}
	for _, c := range refCols {
		inner += ",\n\t\t" + c
	}
	inner += "\n\tFROM " + from + " s"
	for _, j := range refJoins {
		inner += "\n\t" + j
	}

	// Target column values, as expressions over the inner row `s`.
	omit := map[string]bool{}
	for _, c := range m.Omit {
		omit[c] = true
	}
	for c := range m.Columns {
		if !target.has(c) {
			return nil, &ColumnError{m.Name(), m.Target, c}
		}
	}
	feeders := cofeeders(m, parents)
	var cols, exprs []string
	for _, c := range target.Columns {
		var e string
		switch {
		case m.Columns[c] != "":
			e = sub(m.Columns[c])
		case omit[c]:
			continue
		case m.SelfRef != nil && m.SelfRef.Column == c:
			e = "s." + ident(c) // replaced by the decided reference at apply
		case refExpr[c] != "":
			e = refExpr[c]
		case srcHas[c]:
			e = "s." + ident(c)
		case target.Fixed[c] != "" && len(feeders) > 0 && !(c == "sort_order" && slices.Contains(feedTables, m.Target)):
			// A row another mapping of the table wrote may become this
			// one's (a row moving between feeders, which the removal
			// keeps): the update gives it the value an insert would, not
			// the other mapping's (user_quests.streak_count of a quest
			// now loaded from quests). A feed's sort_order is numbered
			// after every mapping.
			e = target.Fixed[c]
		default:
			continue
		}
		cols = append(cols, c)
		exprs = append(exprs, e)
	}
	exprOf := func(c string) string {
		for i, x := range cols {
			if x == c {
				return exprs[i]
			}
		}
		return "NULL"
	}
	tid := "NULL::uuid"
	if srcHas["id"] && m.KeyColumns()[0] == "id" {
		tid = "s.id"
	}
	if m.TargetID != "" {
		tid = sub(m.TargetID)
	}

	// Judgement, in order (MAPPING.md fine print 1, 2, 6).
	var arms []arm
	ruleArm := func(r mappings.Rule) arm {
		msg := r.Message
		if msg == "" {
			msg = lit(string(r.Disposition) + ": " + r.Reason)
		}
		t := "NULL::uuid"
		if r.TargetID != "" {
			t = r.TargetID
		}
		return arm{sub(r.When), string(r.Disposition), lit(r.Reason), sub(msg), sub(t)}
	}
	for _, r := range m.ByDesign {
		arms = append(arms, ruleArm(r))
	}
	// Rows whose reference (one that is not cleared instead) fails the
	// stage's flag column flag+column are rejected with reason; msg
	// formats the column, the parent table and the column's value. Every
	// reference's orphan arm comes before any parent_rejected arm.
	rejectRefs := func(flag, reason, msg string) {
		for _, r := range m.Refs {
			if r.Kind == mappings.SetNull || r.Kind == mappings.Soft {
				continue
			}
			c := "s." + ident(r.Column)
			arms = append(arms, arm{
				when: fmt.Sprintf("%s IS NOT NULL AND NOT s.%s", c, ident(flag+r.Column)),
				disp: "rejected", reason: lit(reason),
				msg: fmt.Sprintf(msg, r.Column, r.Parent, c),
				tid: "NULL::uuid",
			})
		}
	}
	rejectRefs("_src_", mappings.ReasonOrphan, "format('%s %%s points at no row of %s in the legacy database', %s)")
	rejectRefs("_tgt_", mappings.ReasonParentRejected, "format('%s %%s: that %s row does not reach the target (see its own disposition)', %s)")
	for _, r := range m.TenantRefs() {
		self := m.SelfRef != nil && r.Column == m.SelfRef.Column
		if self && r.Kind == mappings.SetNull {
			continue // judged once the rows it points at are (selfTenancy)
		}
		of := r.TenantOf
		if of == "" {
			of = "s.user_id"
		}
		own := "s." + ident("_own_"+r.Column) // of a SelfRef: the stage's row (above)
		// A row without an owner of its own (audit_log's) has no tenant
		// to leak to.
		when := fmt.Sprintf("s.%s IS NOT NULL AND %s IS NOT NULL AND %s IS DISTINCT FROM %s", ident(r.Column), of, own, of)
		if r.NullOwnerOK {
			when += " AND " + own + " IS NOT NULL"
		}
		if r.Kind == mappings.SetNull || r.Kind == mappings.Soft {
			// A reference cleared because what it points at does not
			// reach the target (fine print 2), or one naming a row that
			// is not there, leaks nothing.
			when += " AND s." + ident("_tgt_"+r.Column)
		}
		arms = append(arms, arm{
			when: when, disp: "rejected", reason: lit(mappings.ReasonTenantMismatch),
			msg: fmt.Sprintf("format('%s %%s belongs to user %%s, but this row to user %%s', s.%s, %s, %s)", r.Column, ident(r.Column), own, of),
			tid: "NULL::uuid",
		})
	}
	for _, r := range m.Checks {
		arms = append(arms, ruleArm(r))
	}
	// The rows 0013_seeds.sql inserts, by target table: the only rows a
	// legacy row merges onto by its natural key, and ids no legacy row
	// may load under (seeded_id).
	seeds, err := migrations.SeedRows()
	if err != nil {
		return nil, err
	}
	if len(m.NaturalKey) == 0 && tid != "NULL::uuid" {
		// A catalog without a natural key is loaded by id next to its
		// seeds, never merged with them (fine print 4): a row whose id a
		// seed holds cannot be loaded under it, and would otherwise fail
		// the whole mapping on the primary key.
		if ids := seeds[m.Target]; len(ids) > 0 {
			arms = append(arms, arm{
				when: tid + " = ANY('{" + strings.Join(ids, ",") + "}'::uuid[])", disp: "rejected", reason: lit(mappings.ReasonSeededID),
				msg: fmt.Sprintf("format('id %%s is the id of a row 0013_seeds.sql seeds in %s, a catalog without a natural key whose rows are never merged with seeds: give this row another id in the source', %s)", m.Target, tid),
				tid: "NULL::uuid",
			})
		}
	}
	if len(m.NaturalKey) > 0 && len(seeds[m.Target]) > 0 {
		// A row whose natural key is already in the target, in a seeded
		// row the cutover did not write, merges onto that row (fine print
		// 5). Only a seed: a row the application wrote is not the
		// cutover's to overwrite, and the run refuses it as it refuses
		// any row it did not write that holds a key it needs.
		conds := []string{"n.id = ANY('{" + strings.Join(seeds[m.Target], ",") + "}'::uuid[])"}
		for _, k := range m.NaturalKey {
			conds = append(conds, fmt.Sprintf("n.%s = %s", ident(k), exprOf(k)))
		}
		// Only the partitions of the target's feeders, which have the
		// index by target row (claimLookups).
		var feeders []string
		for _, l := range mappings.Feeders(mappings.All(), m.Target) {
			feeders = append(feeders, lit(l))
		}
		match := "FROM public." + ident(m.Target) + " n WHERE " + strings.Join(conds, " AND ") +
			" AND NOT EXISTS (SELECT 1 FROM {{ledger}}.dispositions o WHERE o.legacy_table IN (" + strings.Join(feeders, ", ") + ")" +
			" AND o.target_table = " + lit(m.Target) +
			" AND o.target_id = n.id AND o.disposition IN " + owning + ")"
		for _, r := range m.SeedCollision {
			a := ruleArm(r)
			a.when = "EXISTS (SELECT 1 " + match + ") AND (" + a.when + ")"
			arms = append(arms, a)
		}
		arms = append(arms, arm{
			when: "EXISTS (SELECT 1 " + match + ")", disp: "merged", reason: lit("natural_key"),
			msg: lit("merged onto the target row with the same " + strings.Join(m.NaturalKey, ", ")),
			tid: "(SELECT n.id " + match + " LIMIT 1)",
		})
		if tid != "NULL::uuid" {
			// A row that did not merge onto a seed by its key but carries
			// a seed's id would load under it: a first run failed on the
			// primary key, a re-run's upsert overwrote the seed.
			arms = append(arms, arm{
				when: tid + " = ANY('{" + strings.Join(seeds[m.Target], ",") + "}'::uuid[])", disp: "rejected", reason: lit(mappings.ReasonSeededID),
				msg: fmt.Sprintf("format('id %%s is the id of a row 0013_seeds.sql seeds in %s, whose %s is not this row''s (a row merges onto a seed by its %[2]s alone): give this row another id in the source', %s)",
					m.Target, strings.Join(m.NaturalKey, ", "), tid),
				tid: "NULL::uuid",
			})
		}
	}
	caseOf := func(field func(arm) string, def string) string {
		if len(arms) == 0 {
			return def
		}
		var b strings.Builder
		b.WriteString("CASE")
		for _, a := range arms {
			fmt.Fprintf(&b, "\n\t\tWHEN %s THEN %s", a.when, field(a))
		}
		fmt.Fprintf(&b, "\n\t\tELSE %s END", def)
		return b.String()
	}
	// carried names the decision columns that hold an expression as decide
	// wrote it and no later step updates (the key, the owner, exposed
	// columns): a target value with the same expression is read from them
	// instead of being written twice.
	carried := map[string]string{key: "_k"}
	sel := []string{
		key + " AS _k",
		caseOf(func(a arm) string { return lit(a.disp) }, lit(string(m.Disposition()))) + "::text AS _disp",
		caseOf(func(a arm) string { return a.reason }, "NULL") + "::text AS _reason",
		caseOf(func(a arm) string { return a.msg }, "NULL") + "::text AS _msg",
		caseOf(func(a arm) string { return a.tid }, tid) + " AS _tid",
	}
	if target.HasUser {
		sel = append(sel, exprOf("user_id")+" AS _uid")
		carried[exprOf("user_id")] = "_uid"
	}
	if keepsStageRow(m) {
		sel = append(sel, "s._ctid")
	}
	exposed := map[string]bool{}
	for _, c := range append(append([]string{}, m.NaturalKey...), m.DedupeBy...) {
		exposed[c] = true
	}
	for _, c := range m.Exposes {
		exposed[c] = true
	}
	var exposedCols []string
	for c := range exposed {
		exposedCols = append(exposedCols, c)
	}
	sort.Strings(exposedCols)
	for _, c := range exposedCols {
		if !target.has(c) {
			return nil, &ColumnError{m.Name(), m.Target, c}
		}
		prefix := "_x_"
		for _, k := range m.NaturalKey {
			if k == c {
				prefix = "_nk_"
			}
		}
		sel = append(sel, exprOf(c)+" AS "+ident(prefix+c))
		if _, ok := carried[exprOf(c)]; !ok {
			carried[exprOf(c)] = prefix + c
		}
		if prefix == "_nk_" {
			// also usable as _x_
			sel = append(sel, exprOf(c)+" AS "+ident("_x_"+c))
		}
	}
	if m.DedupeOrder != "" {
		sel = append(sel, "row_number() OVER (ORDER BY "+m.DedupeOrder+") AS _dord")
	}
	// _self holds the parent's key as the type of _k where it can, so the
	// waves join on it directly.
	selfMatch := "p._k = c._self"
	if m.SelfRef != nil {
		selfExpr := "s." + ident(m.SelfRef.Column) + "::text"
		if p.uuidKey(m) {
			if p.UUID[m.Legacy+"."+m.SelfRef.Column] {
				selfExpr = "s." + ident(m.SelfRef.Column)
			} else {
				selfMatch = "p._k::text = c._self"
			}
		}
		sel = append(sel, selfExpr+" AS _self", "NULL::uuid AS _ref_self", "false AS _done")
	}
	for _, dc := range m.DroppedColumns {
		if !srcHas[dc] {
			return nil, &ColumnError{m.Name(), m.Legacy, dc}
		}
		sel = append(sel, "s."+ident(dc)+" IS NOT NULL AS "+ident("_lost_"+dc))
	}
	// Each target column's value, computed in the pass that judges the row
	// (_v_<column>, or the carried column that already holds the same
	// expression): apply then reads the decision table alone instead of
	// joining the stage table again. An untyped literal gets its column's
	// type (as the INSERT would have given it; the type has no modifiers,
	// so a length is still checked when the value is written).
	value := map[string]string{} // target column -> its decision column
	for i, c := range cols {
		if m.SelfRef != nil && c == m.SelfRef.Column {
			value[c] = "_ref_self" // decided by the waves
			continue
		}
		e := exprs[i]
		if typ := target.Types[c]; typ != "" && untypedLiteral.MatchString(e) {
			e = "CAST(" + e + " AS " + typ + ")"
		}
		if name, ok := carried[e]; ok {
			value[c] = name
			continue
		}
		value[c] = "_v_" + c
		sel = append(sel, e+" AS "+ident(value[c]))
	}
	joins := ""
	for _, j := range m.Joins {
		joins += "\n\t" + sub(j)
	}
	decide(`CREATE UNLOGGED TABLE ` + d + ` ` + extract.StageStorage + ` AS SELECT ` + strings.Join(sel, ",\n\t") +
		"\nFROM (\n\t" + inner + "\n) s" + joins)

	reach := "('" + string(m.Disposition()) + "')"
	if len(m.DedupeBy) > 0 {
		part := make([]string, len(m.DedupeBy))
		for i, c := range m.DedupeBy {
			part[i] = ident("_x_" + c)
		}
		shared := strings.Join(m.DedupeBy, ", ")
		if !target.HasUser {
			decide(`UPDATE ` + d + ` t SET _disp = 'merged', _reason = ` + lit(mappings.ReasonDuplicateInTable) + `,
				_msg = 'merged onto the first row with the same ` + shared + `', _tid = f.first
				FROM (SELECT _k, row_number() OVER w AS rn, first_value(_tid) OVER w AS first
					FROM ` + d + ` WHERE _disp IN ` + reach + `
					WINDOW w AS (PARTITION BY ` + strings.Join(part, ", ") + ` ORDER BY _dord)) f
				WHERE t._k = f._k AND f.rn > 1`)
		} else {
			// A row of another user (or of none, against a user's) than
			// the first's is not the same fact: merged, it would be lost
			// into the other user's row. It is rejected as a tenant
			// mismatch, naming the row that keeps the values.
			same := `t._uid IS NOT DISTINCT FROM f.first_uid`
			decide(`UPDATE ` + d + ` t SET
				_disp = CASE WHEN ` + same + ` THEN 'merged' ELSE 'rejected' END,
				_reason = CASE WHEN ` + same + ` THEN ` + lit(mappings.ReasonDuplicateInTable) + ` ELSE ` + lit(mappings.ReasonTenantMismatch) + ` END,
				_msg = CASE WHEN ` + same + ` THEN 'merged onto the first row with the same ` + shared + `'
					ELSE format('` + m.Legacy + ` row %s, the first with the same ` + shared + `, is of %s, and this row is of %s: not the same fact, so not merged; give one of them another ` + shared + ` in the source',
						f.first_k, coalesce('user ' || f.first_uid, 'no user'), coalesce('user ' || t._uid, 'no user')) END,
				_tid = CASE WHEN ` + same + ` THEN f.first END
				FROM (SELECT _k, row_number() OVER w AS rn, first_value(_tid) OVER w AS first,
						first_value(_uid) OVER w AS first_uid, first_value(_k) OVER w AS first_k
					FROM ` + d + ` WHERE _disp IN ` + reach + `
					WINDOW w AS (PARTITION BY ` + strings.Join(part, ", ") + ` ORDER BY _dord)) f
				WHERE t._k = f._k AND f.rn > 1`)
		}
	}
	if m.SelfRef != nil {
		if m.SelfRef.Kind == mappings.SetNull {
			// The reference is kept when what it points at reaches the
			// target, re-pointed if it merged, and NULL otherwise.
			resolve := `UPDATE ` + d + ` c SET _ref_self = p._tid FROM ` + d + ` p
				WHERE ` + selfMatch + ` AND p._disp IN ` + reaching + ` AND c._disp IN ` + reaching
			if m.SelfRef.Tenant {
				mark, loop, rest, err := selfTenancy(m, target, d, selfMatch, reach)
				if err != nil {
					return nil, err
				}
				decide(mark)
				plan.WaveLoop, plan.WaveRest = loop, []string{rest, resolve}
			} else {
				decide(resolve)
			}
		} else {
			// Waves: a row reaches the target only when its parent does.
			decide(`UPDATE ` + d + ` SET _done = true WHERE _self IS NULL AND _disp IN ` + reach)
			plan.WaveLoop = `UPDATE ` + d + ` c SET _done = true, _ref_self = p._tid FROM ` + d + ` p
				WHERE NOT c._done AND c._disp IN ` + reach + ` AND ` + selfMatch + ` AND p._done`
			plan.WaveRest = []string{`UPDATE ` + d + ` c SET _disp = 'rejected',
				_reason = CASE WHEN EXISTS (SELECT 1 FROM ` + d + ` p WHERE ` + selfMatch + `) THEN 'parent_rejected' ELSE 'orphan' END,
				_msg = format('` + m.SelfRef.Column + ` %s: that ` + m.Legacy + ` row does not reach the target', c._self),
				_tid = NULL
				WHERE _disp IN ` + reach + ` AND NOT _done`}
		}
	}
	// Other mappings' checks look decisions up by exposed columns from
	// inside CASE expressions (a subplan per row): index those. Joins on _k
	// are hash joins and need no index. The checks' EXISTS on _tid (is
	// this id taken?) are hashed subplans while the decisions' ids fit in
	// hash_mem (work_mem 4MB × 2), and a scan of the whole decision table
	// per row past that: 10.8 s of decide for 2,500 habit logs against
	// 230,000 completions at 1M. A mapping whose readers ask that
	// (IndexTargetID) is indexed on _tid when one of them is in the run,
	// so that the planner has a probe to fall back on; the large tables'
	// readers join instead (Lookups, a hash join).
	// The checks match all exposed columns at once (or the first alone), so
	// one index over them in their declared order serves every lookup; an
	// index per column made each probe visit every decision of, say, the
	// habit, and cost a build each.
	// Statistics only of the columns others join or filter on: ANALYZE
	// costs per column, and the rest are only carried to the target.
	statCols := []string{"_k", "_disp", "_tid"}
	for _, c := range exposedCols {
		statCols = append(statCols, "_x_"+c)
		if slices.Contains(m.NaturalKey, c) {
			statCols = append(statCols, "_nk_"+c)
		}
	}
	if m.SelfRef != nil {
		statCols = append(statCols, "_self")
	}
	plan.DecideEnd = []string{sampledAnalyze(d, quoteAll(statCols))}
	if m.IndexTargetID && p.Read[m.Legacy] && tid != "NULL::uuid" {
		plan.DecideEnd = append([]string{`CREATE INDEX ON ` + d + ` (_tid)`}, plan.DecideEnd...)
	}
	if len(m.Exposes) > 0 && (p.Read == nil || p.Read[m.Legacy]) {
		x := make([]string, len(m.Exposes))
		for i, c := range m.Exposes {
			x[i] = ident("_x_" + c)
		}
		plan.DecideEnd = append([]string{`CREATE INDEX ON ` + d + ` (` + strings.Join(x, ", ") + `)`}, plan.DecideEnd...)
	}

	// Apply: the target rows, as decide computed them.
	colList := make([]string, len(cols))
	for i, c := range cols {
		colList[i] = ident(c)
	}
	var sel2 []string
	for i, c := range cols {
		sel2 = append(sel2, "d."+ident(value[c])+" AS "+colList[i])
	}
	plan.TargetCols, plan.target = cols, target
	decidedRows := strings.Join(sel2, ", ") + "\nFROM " + d + " d\nWHERE d._disp IN " + reach
	plan.Rows = "SELECT " + decidedRows
	plan.keyedRows = "SELECT d._k, " + decidedRows

	pk := target.PK
	plan.PK = pk
	if len(pk) == 0 {
		return nil, fmt.Errorf("mapping %s: target table %s has no primary key", m.Name(), m.Target)
	}
	var sets, nonKey []string
	pkSet := map[string]bool{}
	for _, c := range pk {
		pkSet[c] = true
	}
	for i, c := range colList {
		if pkSet[cols[i]] {
			continue
		}
		sets = append(sets, c+" = excluded."+c)
		nonKey = append(nonKey, cols[i])
	}
	conflict := " ON CONFLICT (" + strings.Join(quoteAll(pk), ", ") + ") DO NOTHING"
	if len(sets) > 0 {
		conflict = " ON CONFLICT (" + strings.Join(quoteAll(pk), ", ") + ") DO UPDATE SET " + strings.Join(sets, ", ") +
			" WHERE " + differ(target, nonKey, "t", "excluded")
	}
	tgt := "public." + ident(m.Target)
	upsert := []string{"INSERT INTO " + tgt + " AS t (" + strings.Join(colList, ", ") + ")\n" + plan.Rows + conflict}
	if len(sets) > 0 {
		// Rows the target holds as decided are left out before the
		// upsert: ON CONFLICT … DO UPDATE locks the row it conflicts with
		// (one WAL record and a dirtied page per row) even when its WHERE
		// then updates nothing, which made a re-run write a record for
		// every target row. The anti-join compares what that WHERE
		// compares, so the rows it drops are the ones the upsert would
		// have left alone; the upsert still decides the rest.
		keyEq := make([]string, len(pk))
		for i, c := range quoteAll(pk) {
			keyEq[i] = "c." + c + " = r." + c
		}
		upsert[0] = "INSERT INTO " + tgt + " AS t (" + strings.Join(colList, ", ") + ")\nSELECT r.* FROM (" + plan.Rows + ") r\n" +
			"WHERE NOT EXISTS (SELECT 1 FROM " + tgt + " c WHERE " + strings.Join(keyEq, " AND ") +
			" AND NOT (" + differ(target, nonKey, "c", "r") + "))" + conflict // c the target's row, r the decided one
	}
	if len(sets) > 0 && len(target.Uniques) > 0 {
		plan.Vacate = vacate(tgt, pk, cols, target, plan.Rows, target.Uniques)
		plan.Park, plan.Parks = park(tgt, pk, cols, target, plan.Rows, target.Uniques)
	}
	plan.FirstInsert = "INSERT INTO " + tgt + " (" + strings.Join(colList, ", ") + ")\n" + plan.Rows
	if slices.Contains(feedTables, m.Target) && target.has("sort_order") && !slices.Contains(cols, "sort_order") &&
		slices.Contains(cols, "user_id") && slices.Contains(cols, "created_at") && slices.Contains(cols, "id") {
		// A first load numbers the feed as it writes it, so that the final
		// numbering (over all of the table's rows, after every mapping) has
		// nothing to rewrite when this mapping is the table's only source.
		plan.FirstInsert = "INSERT INTO " + tgt + " (" + strings.Join(colList, ", ") + ", sort_order)\n" +
			"SELECT r.*, row_number() OVER (PARTITION BY r.user_id ORDER BY r.created_at, r.id) - 1 FROM (" + plan.Rows + ") r"
	}
	for _, fk := range target.FKs {
		written := "SELECT c." + ident(fk.Column) + " AS v FROM " + tgt + " c JOIN " + d + " d ON c.id = d._tid AND d._disp IN " + reach
		if !target.has("id") {
			written = "SELECT c." + ident(fk.Column) + " AS v FROM " + tgt + " c"
		}
		plan.FKChecks = append(plan.FKChecks, FKCheck{FK: fk, SQL: "SELECT count(*) FROM (" + written + ") w WHERE w.v IS NOT NULL AND NOT EXISTS (SELECT 1 FROM public." +
			ident(fk.Parent) + " p WHERE p." + ident(fk.ParentColumn) + " = w.v)",
			Lock: "SELECT 1 FROM public." + ident(fk.Parent) + " p WHERE p." + ident(fk.ParentColumn) + " IN (SELECT c." + ident(fk.Column) +
				" FROM " + tgt + " c WHERE age(c.xmin) <= 0) FOR KEY SHARE OF p"})
	}

	// Rows this mapping wrote earlier and no longer decides.
	var ownKey, decidedKey string
	if target.has("id") {
		ownKey = "t.id = o.target_id"
		decidedKey = "x._tid = o.target_id AND x._disp IN " + owning
	} else {
		// A table without an id: a ledger row owns the target row whose
		// key it recorded (target_key). A row of an earlier build has
		// none; its key is re-derived from the legacy key, with each
		// reference re-pointed as the referenced row's disposition
		// records it now (user_roles.role_id of a role merged onto a
		// seeded role), or the legacy key itself.
		derived := "o.legacy_key"
		if strings.Join(m.KeyColumns(), ",") == strings.Join(pk, ",") {
			parts := make([]string, len(pk))
			for i, c := range pk {
				parts[i] = fmt.Sprintf("split_part(o.legacy_key, ',', %d)", i+1)
				for _, r := range m.Refs {
					if r.Column == c && r.ParentKey() == "id" {
						parts[i] = fmt.Sprintf("coalesce((SELECT p.target_id::text FROM %s.dispositions p WHERE p.legacy_table = %s AND p.legacy_key = %s), %s)",
							ident(p.ledger()), lit(r.Parent), parts[i], parts[i])
					}
				}
			}
			derived = "concat_ws(',', " + strings.Join(parts, ", ") + ")"
		}
		ownKey = keyExpr(mappings.Mapping{Key: pk}, "t") + " = coalesce(o.target_key, " + derived + ")"
		// No decision owns the row t any more when none writes its key:
		// a grant still decided but now of another role (one that no
		// longer merges onto a seeded role) writes another row, and this
		// one goes.
		decidedKey = targetKeyOf(pk, value, "x") + " = " + keyExpr(mappings.Mapping{Key: pk}, "t") + " AND x._disp IN " + owning
	}
	// The ledger's rows of this legacy table that own a target row, and
	// the condition that no decision owns it any more.
	ledger := ident(p.ledger()) + `.dispositions o`
	owned := `o.legacy_table = ` + lit(m.Legacy) + ` AND o.disposition IN ` + owning
	undecided := `NOT EXISTS (SELECT 1 FROM ` + d + ` x WHERE ` + decidedKey + `)`
	if target.has("id") {
		// Nor does a row another mapping of the table now writes under
		// the same id (a row moving between feeders, as an inbox item
		// from inbox_items to user_inbox when the first loses it): that
		// mapping's upsert updates it, where deleting it here and
		// inserting it there would count two changes and take along
		// the rows referencing it. Only a mapping applied before (with
		// rows in the ledger) upserts: a first apply inserts, and would
		// meet the row kept. The test of the ledger is uncorrelated (run
		// once), inside the NOT EXISTS so that it stays an anti-join.
		for _, f := range feeders {
			undecided += ` AND NOT EXISTS (SELECT 1 FROM ` + DecisionTable(p.Stage, f.Legacy) + ` x WHERE x._tid = o.target_id AND x._disp IN ` + owning + `
				AND EXISTS (SELECT 1 FROM ` + ident(p.ledger()) + `.dispositions a WHERE a.legacy_table = ` + lit(f.Legacy) + `))`
		}
	}
	removable := tgt + ` t, ` + ledger + `
		WHERE ` + owned + ` AND ` + ownKey + `
		AND ` + undecided
	plan.RemoveCount = `SELECT count(*) FROM ` + removable
	plan.ownsRow = `EXISTS (SELECT 1 FROM ` + ledger + ` WHERE ` + owned + ` AND ` + ownKey + `)`
	if target.has("id") {
		plan.RemoveIDs = `SELECT t.id FROM ` + removable
		plan.ownedIDs = `SELECT o.target_id FROM ` + ledger + ` WHERE ` + owned
		// By id, the removal is the ledger's owned rows that no decision
		// owns, each target row then looked up by its primary key. Joined
		// as removable is, the planner hashed the whole target table
		// before it learnt that nothing was gone (the usual re-run): 0.6
		// of 2.9 s for habit_completions at 10M.
		plan.Remove = []string{`DELETE FROM ` + tgt + ` t WHERE t.id IN (SELECT o.target_id FROM ` + ledger + `
			WHERE ` + owned + `
			AND ` + undecided + `)`}
	} else {
		plan.Remove = []string{`DELETE FROM ` + strings.Replace(removable, ",", " USING", 1)}
		on := make([]string, len(pk))
		for i, c := range quoteAll(pk) {
			on[i] = "t." + c + " = x." + c
		}
		plan.takenOver = `SELECT count(*), coalesce((array_agg(pair ORDER BY pair))[1:5], '{}')
			FROM (SELECT x._k::text || ' (held by the row ' || concat_ws(',', ` + qualified("t", pk) + `) || ', which no ledger row gives the mapping)' AS pair
				FROM (` + plan.keyedRows + `) x JOIN ` + tgt + ` t ON ` + strings.Join(on, " AND ") + `
				WHERE NOT ` + plan.ownsRow + `) h`
	}

	if len(m.NaturalKey) > 0 {
		// The seeded row takes the legacy content (catalog collisions).
		nk := map[string]bool{"id": true}
		for _, k := range m.NaturalKey {
			nk[k] = true
		}
		var csets, cc, content, rv []string
		for _, c := range cols {
			if nk[c] {
				continue
			}
			csets = append(csets, ident(c)+" = v."+ident(c))
			cc = append(cc, ident(c))
			content = append(content, c)
			rv = append(rv, "r."+ident(c)) // the seed's kept content, written back
		}
		if len(csets) > 0 {
			mergedRows := strings.Replace(plan.Rows, "WHERE d._disp IN "+reach, "WHERE d._disp = 'merged' AND d._reason = 'natural_key'", 1)
			mergedRows = strings.Replace(mergedRows, "SELECT ", "SELECT d._tid AS _into, ", 1)
			// The replaced seeds with their kept content r, in the
			// ledger schema given; whether the decisions merge onto the
			// target row id; whether a row's content is not its seed's.
			replaced := func(schema string) string {
				return schema + `.seeds_replaced s, jsonb_populate_record(NULL::` + tgt + `, s.row) r`
			}
			mergedOnto := func(id string) string {
				return `EXISTS (SELECT 1 FROM ` + d + ` x WHERE x._tid = ` + id + ` AND x._disp = 'merged' AND x._reason = 'natural_key')`
			}
			unseeded := differ(target, content, "t", "r")
			// Seeds this mapping replaced and no longer merges onto get
			// their own content back; the seeds it merges onto now keep
			// theirs, the first time, before the merge overwrites it.
			notMerging := `s.target_table = ` + lit(m.Target) + ` AND s.mapping = ` + lit(m.Name()) + `
				AND NOT ` + mergedOnto("s.target_id")
			restoreSets := "(" + strings.Join(cc, ", ") + ") = ROW(" + strings.Join(rv, ", ") + ")"
			upsert = append(upsert,
				`UPDATE `+tgt+` t SET `+restoreSets+`
				FROM `+replaced(bk)+`
				WHERE t.id = s.target_id AND `+notMerging+`
				AND `+unseeded,
				`DELETE FROM `+bk+`.seeds_replaced s WHERE `+notMerging,
				`INSERT INTO `+bk+`.seeds_replaced (target_table, target_id, mapping, row)
				SELECT `+lit(m.Target)+`, t.id, `+lit(m.Name())+`, to_jsonb(t) FROM `+tgt+` t
				WHERE t.id IN (SELECT _tid FROM `+d+` WHERE _disp = 'merged' AND _reason = 'natural_key')
				ON CONFLICT (target_table, target_id) DO NOTHING`)
			plan.RestoreCount = `SELECT count(*) FROM ` + replaced(ident(p.ledger())) + `, ` + tgt + ` t
				WHERE t.id = s.target_id AND ` + notMerging + ` AND ` + unseeded
			plan.seedRestore = `WITH restored AS (UPDATE ` + tgt + ` t SET ` + restoreSets + `
				FROM ` + replaced(bk) + `
				WHERE s.target_table = ` + lit(m.Target) + ` AND t.id = s.target_id
				AND ` + unseeded + `
				AND {{referencing}}
				RETURNING NOT ` + mergedOnto("t.id") + ` AS freed)
				SELECT count(*) FILTER (WHERE freed) FROM restored`
			upsert = append(upsert, `UPDATE `+tgt+` t SET `+strings.Join(csets, ", ")+`
				FROM (`+mergedRows+`) v WHERE t.id = v._into AND `+differ(target, content, "t", "v"))
			changes := differ(target, content, "t", "v")
			plan.MergeCount = `SELECT count(*) FILTER (WHERE ` + changes + `), count(*) FILTER (WHERE NOT ` + changes + `)
				FROM ` + tgt + ` t JOIN (` + mergedRows + `) v ON t.id = v._into`
		}
	}
	tk := ""
	if !target.has("id") {
		tk = targetKeyOf(pk, value, "x")
	}
	b := bookkeeping(m, p, d, stage, &m, tk)
	plan.LedgerRows = b.ledgerRows
	var handover []string
	if target.has("id") {
		// The rows the removal kept for a mapping applied after this one
		// (a row moving between feeders) are that mapping's in the
		// ledger from this transaction on, which drops this mapping's
		// claim: should the run stop before that mapping's apply, a
		// later run still knows whose they are, and removes them when
		// neither decides them. And that mapping's claims on the rows
		// this one takes from it (the reverse move) give way to its
		// decisions of their keys (or go, with their keys), so that no
		// row is claimed twice, and a later removal counted twice. That
		// mapping's bookkeeping writes the same ledger rows again.
		for _, f := range feeders {
			if !slices.Contains(f.After, m.Legacy) {
				continue
			}
			fd := DecisionTable(p.Stage, f.Legacy)
			// f's ledger rows as its bookkeeping writes them, of its
			// decision rows x (a table with an id: no target_key).
			fRows := `INSERT INTO ` + bk + `.dispositions AS o (` + ledgerColumns + `)
			SELECT ` + lit(f.Legacy) + `, x._k::text, ` + lit(f.Name()) + `, x._disp, x._reason, CASE WHEN x._disp IN ` + reaching + ` THEN ` + lit(f.Target) + ` END, x._tid, NULL, $1`
			taken := `c.legacy_table = ` + lit(f.Legacy) + ` AND c.disposition IN ` + owning + `
				AND EXISTS (SELECT 1 FROM ` + d + ` y WHERE y._tid = c.target_id AND y._disp IN ` + owning + `)`
			handover = append(handover, `DELETE FROM `+bk+`.dispositions c WHERE `+taken+`
				AND NOT EXISTS (SELECT 1 FROM `+fd+` x WHERE x._k::text = c.legacy_key)`,
				fRows+`
			FROM `+fd+` x JOIN `+bk+`.dispositions c ON c.legacy_key = x._k::text
			WHERE `+taken+`
			`+ledgerConflict)
			handover = append(handover, fRows+`
			FROM `+fd+` x
			WHERE x._disp IN `+owning+` AND EXISTS (SELECT 1 FROM `+bk+`.dispositions a WHERE a.legacy_table = `+lit(f.Legacy)+`)
				AND x._tid IN (SELECT c.target_id FROM `+bk+`.dispositions c
					WHERE c.legacy_table = `+lit(m.Legacy)+` AND c.disposition IN `+owning+`
					AND NOT EXISTS (SELECT 1 FROM `+d+` y WHERE y._tid = c.target_id AND y._disp IN `+owning+`))
			`+ledgerConflict)
		}
	}
	plan.Upsert = append(append(upsert, handover...), b.stmts...)
	plan.FirstResults = b.firstResults
	plan.FirstUpsert = append(append([]string{plan.FirstInsert}, upsert[1:]...), b.first...)
	return plan, nil
}

// RemoveReferencing deletes the rows this mapping owns whose column fk
// references a parent row among parentIDs (a union of the parent mappings'
// RemoveIDs), when fk blocks the parent's removal: a row the source moved
// to another parent, whose old parent is gone from the source, still
// references that parent until the upsert re-points it, which comes after
// every removal. Deleted here (the children's removals come first), the
// row is inserted again by its mapping's upsert, which finds it missing.
// Rows no mapping owns are left alone. "" when fk does not block, or the
// target table has no id.
func (p *Plan) RemoveReferencing(fk FK, parentIDs []string) string {
	if p.ReferencingIDs(fk, parentIDs) == "" {
		return ""
	}
	return `DELETE FROM public.` + ident(p.M.Target) + ` t WHERE t.` + ident(fk.Column) + ` IN (` + strings.Join(parentIDs, " UNION ALL ") + `)
		AND t.id IN (` + p.ownedIDs + `)`
}

// ReferencingIDs selects the ids of the rows RemoveReferencing deletes
// (and the upsert writes again); "" when it deletes none.
func (p *Plan) ReferencingIDs(fk FK, parentIDs []string) string {
	if !fk.Blocks || p.ownedIDs == "" || len(parentIDs) == 0 {
		return ""
	}
	return `SELECT t.id FROM public.` + ident(p.M.Target) + ` t WHERE t.` + ident(fk.Column) + ` IN (` + strings.Join(parentIDs, " UNION ALL ") + `)
		AND t.id IN (` + p.ownedIDs + `)`
}

// RestoreReferencing gives the seeded rows of this mapping's target whose
// column fk references a parent row among parentIDs (a union of the parent
// mappings' RemoveIDs) their seeded content back, before the parent's
// removal: a merge onto a seed (a catalog collision) wrote the legacy
// row's reference into the seed, to a row the cutover loaded, and
// removing that row would delete the seed with it (ON DELETE CASCADE: a
// learn drill merged onto a seeded one, of a topic the source no longer
// has), fail (NO ACTION) or clear the reference. Seeds are never the
// cutover's to remove; the upsert merges onto them again what the source
// still merges. The statement returns how many of the rows it restored no
// decision merges onto (the upsert counts the others when it merges).
// "" when the mapping merges onto no seed or no parent row goes.
func (p *Plan) RestoreReferencing(fk FK, parentIDs []string) string {
	if p.seedRestore == "" || len(parentIDs) == 0 {
		return ""
	}
	return strings.Replace(p.seedRestore, "{{referencing}}", `t.`+ident(fk.Column)+` IN (`+strings.Join(parentIDs, " UNION ALL ")+`)`, 1)
}

// vacate builds Plan.Vacate for target table tgt (target, whose column
// types the comparison reads) with primary key pk, written columns cols
// and decided rows rows. An index's keys are evaluated on a held row o
// and on the decided row v by name: inside
// "SELECT … FROM (SELECT v.*) x" the bare column names are v's, in the
// subquery over the target they are o's. A key over a column the mapping
// does not write resolves to o's column on both sides, so that index never
// counts a value free: its rows do not move, and the upsert fails as it
// would have.
func vacate(tgt string, pk, cols []string, target TargetTable, rows string, uniques []Unique) string {
	pkSet := map[string]bool{}
	var keyEq, otherKey []string
	for _, raw := range pk {
		pkSet[raw] = true
		c := ident(raw)
		keyEq = append(keyEq, "t."+c+" = v."+c)
		otherKey = append(otherKey, "o."+c+" = v."+c)
	}
	var sets, nonKey []string
	for _, raw := range cols {
		if pkSet[raw] {
			continue
		}
		c := ident(raw)
		sets = append(sets, c+" = v."+c)
		nonKey = append(nonKey, raw)
	}
	free := make([]string, len(uniques))
	for i, u := range uniques {
		keys := strings.Join(u.Keys, ", ")
		mine := "SELECT " + keys + " FROM (SELECT v.*) x"
		same := "(" + keys + ") = ("
		if u.NullsNotDistinct { // NULL keys are held too: compared as one record
			mine = "SELECT ROW(" + keys + ") FROM (SELECT v.*) x"
			same = "ROW(" + keys + ") IS NOT DISTINCT FROM ("
		}
		taken := "SELECT 1 FROM " + tgt + " o WHERE NOT (" + strings.Join(otherKey, " AND ") + ") AND " + same + mine
		if u.Predicate != "" {
			taken += " WHERE " + u.Predicate + ") AND (" + u.Predicate + ")"
		} else {
			taken += ")"
		}
		free[i] = "NOT EXISTS (" + taken + ")"
	}
	return "UPDATE " + tgt + " t SET " + strings.Join(sets, ", ") + "\nFROM (" + rows + ") v\nWHERE " + strings.Join(keyEq, " AND ") +
		" AND " + differ(target, nonKey, "t", "v") + "\n\tAND " + strings.Join(free, "\n\tAND ")
}

// park renders Plan.Park for target table tgt with primary key pk, whose
// rows the mapping writes as rows (a SELECT of columns cols) decides, and
// the indexes it frees. Each index with a parking column the mapping
// writes (Unique.Park, the first such) gets it set to
// 'cutover-parked-' and the row's key, which no other row holds; a column
// shared by several indexes is set once.
func park(tgt string, pk, cols []string, target TargetTable, rows string, uniques []Unique) (string, map[string]bool) {
	isPK := map[string]bool{}
	var keyEq []string
	for _, c := range pk {
		isPK[c] = true
		keyEq = append(keyEq, "t."+ident(c)+" = v."+ident(c))
	}
	var sets, nonKey []string
	for _, c := range cols {
		if !isPK[c] {
			nonKey = append(nonKey, c)
		}
	}
	parks := map[string]bool{}
	parked := map[string]bool{}
	for _, u := range uniques {
		for _, c := range u.Park {
			if slices.Contains(cols, c) && !isPK[c] {
				parks[u.Name] = true
				if !parked[c] {
					parked[c] = true
					sets = append(sets, ident(c)+" = 'cutover-parked-' || concat_ws(',', "+qualified("t", pk)+")")
				}
				break
			}
		}
	}
	if len(sets) == 0 {
		return "", nil
	}
	return "UPDATE " + tgt + " t SET " + strings.Join(sets, ", ") + "\nFROM (" + rows + ") v\nWHERE " + strings.Join(keyEq, " AND ") +
		" AND " + differ(target, nonKey, "t", "v"), parks
}

// differ renders the run's change check of columns cols of target
// between the rows a and b (aliases): whether any differs, as compared
// compares them. Every check of a target row against a decided one goes
// through it.
func differ(target TargetTable, cols []string, a, b string) string {
	as, bs := make([]string, len(cols)), make([]string, len(cols))
	for i, c := range cols {
		as[i], bs[i] = compared(target, a, c), compared(target, b, c)
	}
	return "(" + strings.Join(as, ", ") + ") IS DISTINCT FROM (" + strings.Join(bs, ", ") + ")"
}

// compared is what the run's change checks compare of column col of
// target, read through alias: the value itself where its type's equality
// tells apart any two values whose text differs (exactEquality), else its
// text, in the column's own type. Floats hold -0 = 0, numeric and jsonb
// numbers 1.5 = 1.50, intervals 1 day = 24 hours: a source value changed
// into an equal one was judged unchanged, no run wrote it, and verify,
// which compares text, failed on it for good.
func compared(target TargetTable, alias, col string) string {
	e := alias + "." + ident(col)
	if exactEquality[strings.TrimSuffix(target.Types[col], "[]")] {
		return e
	}
	// In the column's own type first: a decided value may be of another
	// (a double into a real, an unconstrained numeric into numeric(10,2)),
	// whose text would never equal the column's.
	if full := target.FullTypes[col]; full != "" {
		return "(" + e + ")::" + full + "::text"
	}
	return e + "::text"
}

// exactEquality are the types whose equal values print alike (text under
// a deterministic collation compares its bytes); an array of one of them
// too, as array equality compares bounds and elements. A type not here
// is compared as text: slower, never wrong.
var exactEquality = map[string]bool{
	"uuid": true, "smallint": true, "integer": true, "bigint": true, "boolean": true, "date": true,
	"timestamp with time zone": true, "timestamp without time zone": true, "bytea": true,
	"text": true, "character varying": true, `"char"`: true,
}

func quoteAll(cols []string) []string {
	out := make([]string, len(cols))
	for i, c := range cols {
		out[i] = ident(c)
	}
	return out
}

// books are the statements that make the bookkeeping of a mapping equal
// its decisions: the disposition ledger, rejects, archive, discards,
// results and column losses.
type books struct {
	// stmts write only what differs from the bookkeeping there is.
	stmts []string
	// firstResults, then first, replace stmts on a first apply. The last
	// of firstResults writes the results and the reasons and returns the
	// dispositions with reasons the decisions hold, from the one pass over
	// the decision table a first apply makes for its counts; first skips
	// keeping the rows of dispositions it did not return.
	firstResults, first []string
	// ledgerRows selects the mapping's ledger rows (see Plan.LedgerRows).
	ledgerRows string
}

// noNestLoop and nestLoopAgain surround the statements of a transaction
// that compare two whole tables (an anti-join of the ledger or of the kept
// rows with the decisions), where only a hash or merge join has a bounded
// cost whatever the planner's estimates; the statements after them keep
// the planner's choice.
const (
	noNestLoop    = `SET LOCAL enable_nestloop = off`
	nestLoopAgain = `SET LOCAL enable_nestloop TO DEFAULT`
)

// selfTenancy returns the statements that reject (tenant_mismatch) the
// rows of mapping m, decided in d, whose SelfRef, a reference cleared
// when what it points at does not reach the target (SetNull), points at a
// row of another user that does reach it. A row's fate then hangs on its
// parent's, which may hang on its own parent's (a session rotated from
// another user's, rotated in turn from a third's), so they are judged top
// down, and only along such chains:
//   - mark flags (_done) the candidates: rows left to reach the target
//     (reach) by the other rules whose parent is another user's and is
//     left to reach it too;
//   - loop, repeated until it judges none, judges each candidate whose
//     parent is no candidate or is judged: rejected when that parent
//     reaches the target, left as it is (the reference then cleared)
//     when it does not;
//   - rest rejects the candidates left, whose parents form a cycle.
//
// selfMatch joins a row c with the row p it points at. The owners
// compared are the target's (_uid); a row without one has no tenant (nor,
// with NullOwnerOK, a parent without one).
func selfTenancy(m mappings.Mapping, target TargetTable, d, selfMatch, reach string) (mark, loop, rest string, err error) {
	r := m.SelfRef
	if !target.HasUser || r.TenantOf != "" {
		return "", "", "", fmt.Errorf("mapping %s: the tenancy of %s compares the owners of two rows of %s, which has no user_id", m.Name(), r.Column, m.Target)
	}
	other := "c._uid IS NOT NULL AND p._uid IS DISTINCT FROM c._uid"
	if r.NullOwnerOK {
		other += " AND p._uid IS NOT NULL"
	}
	mark = `UPDATE ` + d + ` c SET _done = true FROM ` + d + ` p
		WHERE ` + selfMatch + ` AND p._disp IN ` + reaching + ` AND c._disp IN ` + reach + ` AND ` + other
	msg := `format('` + r.Column + ` %s belongs to user %s, but this row to user %s', c._self, p._uid, c._uid)`
	reached := "p._disp IN " + reaching
	loop = `UPDATE ` + d + ` c SET _done = false,
			_disp = CASE WHEN ` + reached + ` THEN 'rejected' ELSE c._disp END,
			_reason = CASE WHEN ` + reached + ` THEN ` + lit(mappings.ReasonTenantMismatch) + ` ELSE c._reason END,
			_msg = CASE WHEN ` + reached + ` THEN ` + msg + ` ELSE c._msg END,
			_tid = CASE WHEN ` + reached + ` THEN NULL ELSE c._tid END
		FROM ` + d + ` p
		WHERE c._done AND ` + selfMatch + ` AND NOT p._done`
	rest = `UPDATE ` + d + ` c SET _done = false, _disp = 'rejected', _reason = ` + lit(mappings.ReasonTenantMismatch) + `,
			_msg = ` + msg + `, _tid = NULL
		FROM ` + d + ` p
		WHERE c._done AND ` + selfMatch
	return mark, loop, rest, nil
}

// cofeeders returns, in name order, the mappings of ms other than m that
// write m's target table and that m reads or that read m: the run decides
// them whenever it decides m (a mapping's inputs cover what it reads), so
// their decision tables are there when m's rows are removed. Feeders of
// one table that do not read each other give their rows ids of their own.
func cofeeders(m mappings.Mapping, ms map[string]mappings.Mapping) []mappings.Mapping {
	var out []mappings.Mapping
	for _, f := range ms {
		if f.Legacy != m.Legacy && f.Target == m.Target && (slices.Contains(m.After, f.Legacy) || slices.Contains(f.After, m.Legacy)) {
			out = append(out, f)
		}
	}
	sort.Slice(out, func(i, j int) bool { return out[i].Legacy < out[j].Legacy })
	return out
}

// targetKeyOf renders, for a target table without an id whose primary key
// is pk, the key of the row that decision row a writes, as the ledger's
// target_key records it (value names each column's decision column).
func targetKeyOf(pk []string, value map[string]string, a string) string {
	parts := make([]string, len(pk))
	for i, c := range pk {
		parts[i] = a + "." + ident(value[c]) + "::text"
	}
	if len(parts) == 1 {
		return parts[0]
	}
	return "concat_ws(','," + strings.Join(parts, ",") + ")"
}

// bookkeeping returns the books of mapping m, whose decisions are in d.
// targetKey, for a target table without an id, is the key of the row a
// decision row x writes (targetKeyOf), which the ledger records of the
// rows it owns; "" for other tables.
func bookkeeping(m mappings.Mapping, p Params, d, stage string, withTarget *mappings.Mapping, targetKey string) books {
	L := lit(m.Legacy)
	rawKey := p.decisionKey(m, "s")
	target := "NULL"
	if withTarget != nil {
		target = lit(m.Target)
	}
	written := "NULL"
	if targetKey != "" {
		written = `CASE WHEN x._disp IN ` + owning + ` THEN ` + targetKey + ` END`
	}
	ledgerRows := `SELECT ` + L + `, x._k::text, ` + lit(m.Name()) + `, x._disp, x._reason, CASE WHEN x._disp IN ` + reaching + ` THEN ` + target + ` END, x._tid, ` +
		written + `, $1 FROM ` + d + ` x`
	// A first load writes into an empty ledger: plain inserts in key order
	// (several times faster than ON CONFLICT into a growing index).
	first := []string{`INSERT INTO ` + bk + `.dispositions AS o (` + ledgerColumns + `)
			` + ledgerRows + ` ORDER BY x._k`}
	// The ledger columns a mapping decides (mapping to target_key), of
	// decision row x.
	ledgerValues := lit(m.Name()) + `, x._disp, x._reason, CASE WHEN x._disp IN ` + reaching + ` THEN ` + target + ` END, x._tid, ` + written
	stmts := []string{
		// The ledger's rows against the decisions, both the whole legacy
		// table's rows: a hash or merge join is the right plan, and a
		// nested loop, which the planner takes when it underestimates
		// one side, costs a probe per row (see noNestLoop).
		noNestLoop,
		`DELETE FROM ` + bk + `.dispositions o WHERE o.legacy_table = ` + L + `
			AND NOT EXISTS (SELECT 1 FROM ` + d + ` x WHERE x._k::text = o.legacy_key)`,
		// Ledger rows already as decided are left out first, as the
		// target rows are (see the target upsert in plan). The planner
		// probes the partition's primary key once per decision (a nested
		// loop: 7.9-12 s for habit_completions' 2M rows at 10M, no better
		// than the upsert's own probes); hashing the partition instead
		// compares the two tables in 3.6 s.
		`INSERT INTO ` + bk + `.dispositions AS o (` + ledgerColumns + `)
			SELECT ` + L + `, x._k::text, ` + ledgerValues + `, $1 FROM ` + d + ` x
			WHERE NOT EXISTS (SELECT 1 FROM ` + bk + `.dispositions p WHERE p.legacy_table = ` + L + ` AND p.legacy_key = x._k::text
				AND (p.mapping, p.disposition, p.reason, p.target_table, p.target_id, p.target_key) IS NOT DISTINCT FROM (` + ledgerValues + `))
			` + ledgerConflict + `
			WHERE (o.mapping, o.disposition, o.reason, o.target_table, o.target_id, o.target_key) IS DISTINCT FROM
				(excluded.mapping, excluded.disposition, excluded.reason, excluded.target_table, excluded.target_id, excluded.target_key)`,
		nestLoopAgain,
	}
	kept := rowjson.SQL("s", p.Columns[m.Legacy])
	for _, kind := range []struct{ table, disp, extraCols, extraVals string }{
		{"rejects", "rejected", ", message, row", ", coalesce(x._msg, x._reason), " + kept},
		{"archive", "archived", ", row", ", " + kept},
		{"discards", "discarded", "", ""},
	} {
		t := bk + "." + kind.table
		// The kept rows of this table that are decided otherwise now.
		// Without a nested loop: a run analyzes the kept tables it
		// changed only at its end, so a re-run after a failed one may
		// find them without statistics, plan them as a few rows, and
		// probe the whole decision table once for each (a 10M bench's
		// re-run spent over 20 minutes in this DELETE for 18k rejected
		// habit_completions, before runs analyzed them).
		stmts = append(stmts, noNestLoop,
			`DELETE FROM `+t+` o WHERE o.legacy_table = `+L+` AND NOT EXISTS (
				SELECT 1 FROM `+d+` x WHERE x._k::text = o.legacy_key AND x._disp = '`+kind.disp+`')`,
			nestLoopAgain) // the insert below reads the stage by ctid: a nested loop
		sets := "reason = excluded.reason, run_id = excluded.run_id"
		cmp1, cmp2 := "o.reason", "excluded.reason"
		if kind.extraCols != "" {
			for _, c := range strings.Split(strings.TrimPrefix(kind.extraCols, ", "), ", ") {
				sets += ", " + c + " = excluded." + c
				if c == "row" { // jsonb: compared as text, as compared says why
					cmp1 += ", o.row::text"
					cmp2 += ", excluded.row::text"
				} else {
					cmp1 += ", o." + c
					cmp2 += ", excluded." + c
				}
			}
		}
		join := ""
		if kind.extraVals != "" {
			join = " JOIN " + stage + " s ON " + rawKey + " = x._k"
			if keepsStageRow(m) {
				// By the row's address: a few rejects of a large table
				// are then a few heap fetches, not a scan of its stage.
				join = " JOIN " + stage + " s ON s.ctid = x._ctid"
			}
		}
		insert := `INSERT INTO ` + t + ` AS o (legacy_table, legacy_key, reason` + kind.extraCols + `, run_id)
			SELECT ` + L + `, x._k::text, x._reason` + kind.extraVals + `, $1 FROM ` + d + ` x` + join + ` WHERE x._disp = '` + kind.disp + `'`
		first = append(first, insert)
		// Kept rows go through ON CONFLICT alone, which locks each one it
		// meets: an anti-join in front, as the ledger and the target rows
		// have, made personal_records' 175k archived rows at 10M take
		// 8.5 s instead of 2.5 s (probing the archive per row and
		// comparing the rows' JSON twice).
		stmts = append(stmts, insert+`
			ON CONFLICT (legacy_table, legacy_key) DO UPDATE SET `+sets+`
			WHERE (`+cmp1+`) IS DISTINCT FROM (`+cmp2+`)`)
	}
	var counts []string
	for _, disp := range mappings.Dispositions {
		counts = append(counts, fmt.Sprintf("coalesce(sum(n) FILTER (WHERE _disp = %s), 0)", lit(string(disp))))
	}
	// The results and the reasons, from one pass over the decisions.
	results := []string{`DELETE FROM ` + bk + `.results WHERE legacy_table = ` + L + ` AND mapping <> ` + lit(m.Name()),
		`DELETE FROM ` + bk + `.reasons WHERE mapping = ` + lit(m.Name()),
		`WITH g AS (SELECT _disp, coalesce(_reason, '') AS reason, count(*) AS n FROM ` + d + ` GROUP BY 1, 2),
		r AS (INSERT INTO ` + bk + `.results AS o (mapping, legacy_table, target_table, run_id, source_rows, loaded, merged, folded, archived, discarded, rejected)
			SELECT ` + lit(m.Name()) + `, ` + L + `, ` + target + `, $1, coalesce(sum(n), 0), ` + strings.Join(counts, ", ") + ` FROM g
			ON CONFLICT (mapping) DO UPDATE SET target_table = excluded.target_table, run_id = excluded.run_id, source_rows = excluded.source_rows,
				loaded = excluded.loaded, merged = excluded.merged, folded = excluded.folded, archived = excluded.archived,
				discarded = excluded.discarded, rejected = excluded.rejected, finished_at = clock_timestamp())
		INSERT INTO ` + bk + `.reasons (mapping, disposition, reason, rows)
		SELECT ` + lit(m.Name()) + `, _disp, reason, n FROM g WHERE _disp IN ` + reasoned}
	var losses []string
	dropped := append([]string(nil), m.DroppedColumns...)
	sort.Strings(dropped)
	for _, dc := range dropped {
		losses = append(losses, `INSERT INTO `+bk+`.column_loss (mapping, col, non_null)
			SELECT `+lit(m.Name())+`, `+lit(dc)+`, count(*) FILTER (WHERE `+ident("_lost_"+dc)+`) FROM `+d+` WHERE _disp IN ('`+string(m.Disposition())+`')
			ON CONFLICT (mapping, col) DO UPDATE SET non_null = excluded.non_null`)
	}
	firstResults := slices.Clone(results)
	firstResults[len(firstResults)-1] += "\n\t\tRETURNING disposition"
	return books{
		stmts:        append(append(stmts, results...), losses...),
		firstResults: firstResults,
		first:        append(first, losses...),
		ledgerRows:   ledgerRows,
	}
}

// workStatistics is the statistics target of the stage and decision
// tables and of a new ledger partition: they are read by a few joins, which
// need row counts, rough distinct counts and the few dispositions' shares,
// not the histograms a target table's queries plan from (those get the
// server's default; autovacuum later re-analyzes a ledger partition with it).
const workStatistics = 10

// sampledAnalyze gathers statistics of columns cols (all when empty) of
// relation rel with the sample of workStatistics: one simple-protocol
// string, whose implicit transaction scopes the SET LOCAL to this ANALYZE
// when it runs alone; inside a transaction the setting lasts to its end.
func sampledAnalyze(rel string, cols []string) string {
	q := fmt.Sprintf("SET LOCAL default_statistics_target = %d; ANALYZE %s", workStatistics, rel)
	if len(cols) > 0 {
		q += " (" + strings.Join(cols, ", ") + ")"
	}
	return q
}

// keepsStageRow reports whether mapping m's decision table records the
// address (_ctid) of each row's stage copy, for the rejects and the archive
// to copy the legacy row from. A mapping that reads another relation (From)
// does not: its decisions are about that relation's rows.
func keepsStageRow(m mappings.Mapping) bool { return m.From == "" }

// ledgerColumns are the columns of the disposition ledger a mapping writes.
// ledgerConflict makes an insert into the ledger (alias o) replace the
// row of the same legacy key with what it inserts.
const ledgerConflict = `ON CONFLICT (legacy_table, legacy_key) DO UPDATE SET mapping = excluded.mapping, disposition = excluded.disposition,
				reason = excluded.reason, target_table = excluded.target_table, target_id = excluded.target_id,
				target_key = excluded.target_key, run_id = excluded.run_id`

const ledgerColumns = "legacy_table, legacy_key, mapping, disposition, reason, target_table, target_id, target_key, run_id"
