package load

import (
	"fmt"
	"sort"
	"strings"

	"github.com/jackc/pgx/v5"

	"github.com/cutover/cutover/mappings"
	"github.com/cutover/cutover/transform"
)

// TargetTable is what planning needs of a target table.
type TargetTable struct {
	Columns []string // in order
	HasUser bool     // has a user_id column
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
	RunStarted string // RFC 3339 timestamp of the run's start
	NoSessions bool
}

// Plan is the SQL of one mapping, generated from its declaration, the
// source columns it reads and the target catalog. It is pure: Plan values
// are built and inspected without a database.
type Plan struct {
	M mappings.Mapping
	// Statements run in order, in one transaction; $1 is the run id.
	Statements []string
	// SelfRefLoop, when set, is run until it affects no row, before
	// SelfRefRest (waves of a self-referencing table).
	SelfRefLoop string
	SelfRefRest []string
	Finish      []string
	// Resolves is false for plans that only archive or discard.
	Resolves bool
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

// keyExpr renders the legacy key of stage row s as text.
func keyExpr(m mappings.Mapping) string {
	cols := m.KeyColumns()
	if len(cols) == 1 {
		return "s." + ident(cols[0]) + "::text"
	}
	parts := make([]string, len(cols))
	for i, c := range cols {
		parts[i] = "s." + ident(c) + "::text"
	}
	return "concat_ws(','," + strings.Join(parts, ",") + ")"
}

func substitute(sql string, m mappings.Mapping, p Params) string {
	r := strings.NewReplacer(
		"{{run_started}}", lit(p.RunStarted)+"::timestamptz",
		"{{no_sessions}}", fmt.Sprint(p.NoSessions),
		"{{derived_id}}", transform.DerivedIDSQL(m.Legacy, "s.id::text"),
	)
	return r.Replace(sql)
}

// BuildPlan generates the SQL of mapping m. source lists the columns of the
// relation it reads (the stage copy, or m.From); targets describes the
// target tables.
func BuildPlan(m mappings.Mapping, source []string, targets map[string]TargetTable, p Params) (*Plan, error) {
	stage := ident(mappings.StageSchema, m.Legacy)
	plan := &Plan{M: m}
	add := func(sql string) { plan.Statements = append(plan.Statements, substitute(sql, m, p)) }
	srcHas := map[string]bool{}
	for _, c := range source {
		srcHas[c] = true
	}
	key := keyExpr(m)
	for _, k := range m.KeyColumns() {
		if !srcHas[k] {
			return nil, &ColumnError{m.Name(), m.Legacy, k}
		}
	}
	if m.ArchiveAll || m.DiscardAll != "" {
		if m.ArchiveAll {
			add(`INSERT INTO ` + bk + `.archive (legacy_table, legacy_key, reason, row, run_id)
				SELECT ` + lit(m.Legacy) + `, ` + key + `, ` + lit(mappings.ReasonNotInTarget) + `, to_jsonb(s), $1 FROM ` + stage + ` s`)
		} else {
			add(`INSERT INTO ` + bk + `.discards (legacy_table, legacy_key, reason, run_id)
				SELECT ` + lit(m.Legacy) + `, ` + key + `, ` + lit(m.DiscardAll) + `, $1 FROM ` + stage + ` s`)
		}
		disp := "archived"
		if !m.ArchiveAll {
			disp = "discarded"
		}
		add(`INSERT INTO ` + bk + `.results (mapping, legacy_table, run_id, source_rows, ` + disp + `)
			SELECT ` + lit(m.Name()) + `, ` + lit(m.Legacy) + `, $1, count(*), count(*) FROM ` + stage)
		return plan, nil
	}

	plan.Resolves = true
	target, ok := targets[m.Target]
	if !ok {
		return nil, fmt.Errorf("mapping %s: target table %q does not exist (is the schema applied?)", m.Name(), m.Target)
	}
	from := stage
	if m.From != "" {
		from = m.From
	}

	// Inner query: the source row with its references resolved.
	var refCols, refJoins []string
	refExpr := map[string]string{}
	for i, r := range m.Refs {
		if !srcHas[r.Column] {
			return nil, &ColumnError{m.Name(), m.Legacy, r.Column}
		}
		pt, ok := targets[r.Parent]
		if !ok {
			return nil, fmt.Errorf("mapping %s: referenced table %q is not in the target", m.Name(), r.Parent)
		}
		col := "s." + ident(r.Column)
		pk := ident(r.ParentKey())
		mi, ti, pi := fmt.Sprintf("m%d", i), fmt.Sprintf("t%d", i), fmt.Sprintf("p%d", i)
		resolved := col
		if r.ParentKey() == "id" {
			refJoins = append(refJoins, fmt.Sprintf("LEFT JOIN %s.id_map %s ON %s.legacy_table = %s AND %s.legacy_key = %s::text",
				bk, mi, mi, lit(r.Parent), mi, col))
			resolved = fmt.Sprintf("coalesce(%s.target_id, %s)", mi, col)
		}
		refJoins = append(refJoins, fmt.Sprintf("LEFT JOIN public.%s %s ON %s.%s = %s", ident(r.Parent), ti, ti, pk, resolved))
		refCols = append(refCols,
			fmt.Sprintf("CASE WHEN %s.%s IS NOT NULL THEN %s END AS %s", ti, pk, resolved, ident("_ref_"+r.Column)),
			fmt.Sprintf("%s.%s IS NOT NULL AS %s", ti, pk, ident("_tgt_"+r.Column)))
		if r.Kind != mappings.SetNull {
			refJoins = append(refJoins, fmt.Sprintf("LEFT JOIN %s %s ON %s.%s = %s", ident(mappings.StageSchema, r.Parent), pi, pi, pk, col))
			refCols = append(refCols, fmt.Sprintf("%s.%s IS NOT NULL AS %s", pi, pk, ident("_src_"+r.Column)))
		}
		if pt.HasUser {
			refCols = append(refCols, fmt.Sprintf("%s.user_id AS %s", ti, ident("_own_"+r.Column)))
		}
		refExpr[r.Column] = "s." + ident("_ref_"+r.Column)
	}
	inner := "SELECT s.*"
	for _, c := range refCols {
		inner += ",\n\t\t" + c
	}
	inner += "\n\tFROM " + from + " s"
	for _, j := range refJoins {
		inner += "\n\t" + j
	}

	// Target column values.
	omit := map[string]bool{}
	for _, c := range m.Omit {
		omit[c] = true
	}
	for c := range m.Columns {
		if !target.has(c) {
			return nil, &ColumnError{m.Name(), m.Target, c}
		}
	}
	var cols, exprs []string
	for _, c := range target.Columns {
		var e string
		switch {
		case m.Columns[c] != "":
			e = m.Columns[c]
		case omit[c]:
			continue
		case m.SelfRef != nil && m.SelfRef.Column == c && m.SelfRef.Kind == mappings.SetNull:
			e = "NULL::uuid" // set once the rows it points at are in
		case refExpr[c] != "":
			e = refExpr[c]
		case srcHas[c]:
			e = "s." + ident(c)
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
		tid = m.TargetID
	}

	// Judgement, in order (fine print 1, 2, 6).
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
		return arm{r.When, string(r.Disposition), lit(r.Reason), msg, t}
	}
	for _, r := range m.ByDesign {
		arms = append(arms, ruleArm(r))
	}
	for _, r := range m.Refs {
		if r.Kind == mappings.SetNull {
			continue
		}
		c := "s." + ident(r.Column)
		arms = append(arms, arm{
			when: fmt.Sprintf("%s IS NOT NULL AND NOT s.%s AND NOT s.%s", c, ident("_tgt_"+r.Column), ident("_src_"+r.Column)),
			disp: "rejected", reason: lit(mappings.ReasonOrphan),
			msg: fmt.Sprintf("format('%s %%s points at no row of %s in the legacy database', %s)", r.Column, r.Parent, c),
			tid: "NULL::uuid",
		})
	}
	for _, r := range m.Refs {
		if r.Kind == mappings.SetNull {
			continue
		}
		c := "s." + ident(r.Column)
		arms = append(arms, arm{
			when: fmt.Sprintf("%s IS NOT NULL AND NOT s.%s", c, ident("_tgt_"+r.Column)),
			disp: "rejected", reason: lit(mappings.ReasonParentRejected),
			msg: fmt.Sprintf("format('%s %%s: that %s row did not reach the target (see its reject)', %s)", r.Column, r.Parent, c),
			tid: "NULL::uuid",
		})
	}
	for _, r := range m.Refs {
		if !r.Tenant {
			continue
		}
		of := r.TenantOf
		if of == "" {
			of = "s.user_id"
		}
		own := "s." + ident("_own_"+r.Column)
		when := fmt.Sprintf("s.%s IS NOT NULL AND %s IS DISTINCT FROM %s", ident(r.Column), own, of)
		if r.NullOwnerOK {
			when += " AND " + own + " IS NOT NULL"
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
	if len(m.NaturalKey) > 0 {
		var conds []string
		for _, k := range m.NaturalKey {
			conds = append(conds, fmt.Sprintf("n.%s = %s", ident(k), exprOf(k)))
		}
		match := "FROM public." + ident(m.Target) + " n WHERE " + strings.Join(conds, " AND ") + " AND n.id <> " + tid
		arms = append(arms, arm{
			when: "EXISTS (SELECT 1 " + match + ")", disp: "merged", reason: lit("natural_key"),
			msg: lit("merged onto the target row with the same " + strings.Join(m.NaturalKey, ", ")),
			tid: "(SELECT n.id " + match + ")",
		})
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
	sel := []string{
		key + " AS _k",
		caseOf(func(a arm) string { return lit(a.disp) }, lit(string(m.Disposition()))) + " AS _disp",
		caseOf(func(a arm) string { return a.reason }, "NULL") + " AS _reason",
		caseOf(func(a arm) string { return a.msg }, "NULL") + " AS _msg",
		caseOf(func(a arm) string { return a.tid }, tid) + " AS _tid",
	}
	if m.DedupeOrder != "" {
		sel = append(sel, "row_number() OVER (ORDER BY "+m.DedupeOrder+") AS _dord")
	}
	if m.SelfRef != nil {
		sel = append(sel, "s."+ident(m.SelfRef.Column)+" AS _self", "false AS _done")
	}
	for _, d := range m.DroppedColumns {
		if !srcHas[d] {
			return nil, &ColumnError{m.Name(), m.Legacy, d}
		}
		sel = append(sel, "s."+ident(d)+" IS NOT NULL AS "+ident("_lost_"+d))
	}
	for i, c := range cols {
		sel = append(sel, exprs[i]+" AS "+ident(c))
	}
	joins := ""
	for _, j := range m.Joins {
		joins += "\n\t" + j
	}
	add("CREATE TEMP TABLE r ON COMMIT DROP AS\nSELECT " + strings.Join(sel, ",\n\t") +
		"\nFROM (\n\t" + inner + "\n) s" + joins)

	reach := "('" + string(m.Disposition()) + "')"
	if len(m.DedupeBy) > 0 {
		part := make([]string, len(m.DedupeBy))
		for i, c := range m.DedupeBy {
			part[i] = ident(c)
		}
		add(`UPDATE r SET _disp = 'merged', _reason = 'duplicate_in_table',
			_msg = 'merged onto the first row with the same ` + strings.Join(m.DedupeBy, ", ") + `', _tid = f.first
			FROM (SELECT _k, row_number() OVER w AS rn, first_value(_tid) OVER w AS first
				FROM r WHERE _disp IN ` + reach + `
				WINDOW w AS (PARTITION BY ` + strings.Join(part, ", ") + ` ORDER BY _dord)) f
			WHERE r._k = f._k AND f.rn > 1`)
	}

	colList := make([]string, len(cols))
	for i, c := range cols {
		colList[i] = ident(c)
	}
	insertCols := strings.Join(colList, ", ")
	insert := "INSERT INTO public." + ident(m.Target) + " (" + insertCols + ") SELECT " + insertCols + " FROM r WHERE _disp IN " + reach
	if m.SelfRef != nil && m.SelfRef.Kind != mappings.SetNull {
		// Waves: rows whose parent is in go in, until none is left.
		selfCol := ident(m.SelfRef.Column)
		plan.SelfRefLoop = `WITH ins AS (` + insert + ` AND NOT _done AND (_self IS NULL OR EXISTS (
				SELECT 1 FROM public.` + ident(m.Target) + ` p WHERE p.id = r._self)) RETURNING id)
			UPDATE r SET _done = true FROM ins WHERE r.id = ins.id`
		plan.SelfRefRest = []string{`UPDATE r SET _disp = 'rejected',
			_reason = CASE WHEN EXISTS (SELECT 1 FROM ` + stage + ` p WHERE p.id = r._self) THEN 'parent_rejected' ELSE 'orphan' END,
			_msg = format('` + m.SelfRef.Column + ` %s: that ` + m.Legacy + ` row did not reach the target', r._self)
			WHERE _disp IN ` + reach + ` AND NOT _done`}
		_ = selfCol
	} else {
		plan.SelfRefRest = nil
		add(insert)
	}

	// Everything after the inserts goes into Finish.
	fin := func(sql string) { plan.Finish = append(plan.Finish, substitute(sql, m, p)) }
	if len(m.NaturalKey) > 0 {
		var sets []string
		nk := map[string]bool{"id": true}
		for _, k := range m.NaturalKey {
			nk[k] = true
		}
		for _, c := range cols {
			if !nk[c] {
				sets = append(sets, ident(c)+" = r."+ident(c))
			}
		}
		if len(sets) > 0 {
			fin(`UPDATE public.` + ident(m.Target) + ` t SET ` + strings.Join(sets, ", ") + `
				FROM r WHERE r._disp = 'merged' AND r._reason = 'natural_key' AND t.id = r._tid`)
		}
	}
	fin(`INSERT INTO ` + bk + `.id_map (legacy_table, legacy_key, target_table, target_id, disposition, reason, run_id)
		SELECT ` + lit(m.Legacy) + `, _k, ` + lit(m.Target) + `, _tid, _disp, _reason, $1 FROM r
		WHERE _tid IS NOT NULL AND (_disp IN ('merged', 'folded') OR (_disp = 'loaded' AND _tid::text <> _k))`)
	if m.SelfRef != nil && m.SelfRef.Kind == mappings.SetNull {
		self := ident(m.SelfRef.Column)
		fin(`UPDATE public.` + ident(m.Target) + ` t SET ` + self + ` = coalesce(mm.target_id, r._self)
			FROM r LEFT JOIN ` + bk + `.id_map mm ON mm.legacy_table = ` + lit(m.Legacy) + ` AND mm.legacy_key = r._self::text
			WHERE r._disp IN ('loaded', 'merged') AND t.id = r._tid AND r._self IS NOT NULL
			AND EXISTS (SELECT 1 FROM public.` + ident(m.Target) + ` p WHERE p.id = coalesce(mm.target_id, r._self))`)
	}
	rawKey := keyExpr(m)
	fin(`INSERT INTO ` + bk + `.rejects (legacy_table, legacy_key, reason, message, row, run_id)
		SELECT ` + lit(m.Legacy) + `, r._k, r._reason, r._msg, to_jsonb(s), $1
		FROM r JOIN ` + stage + ` s ON ` + rawKey + ` = r._k WHERE r._disp = 'rejected'`)
	fin(`INSERT INTO ` + bk + `.archive (legacy_table, legacy_key, reason, row, run_id)
		SELECT ` + lit(m.Legacy) + `, r._k, r._reason, to_jsonb(s), $1
		FROM r JOIN ` + stage + ` s ON ` + rawKey + ` = r._k WHERE r._disp = 'archived'`)
	fin(`INSERT INTO ` + bk + `.discards (legacy_table, legacy_key, reason, run_id)
		SELECT ` + lit(m.Legacy) + `, _k, _reason, $1 FROM r WHERE _disp = 'discarded'`)
	var counts []string
	for _, d := range mappings.Dispositions {
		counts = append(counts, fmt.Sprintf("count(*) FILTER (WHERE _disp = %s)", lit(string(d))))
	}
	fin(`INSERT INTO ` + bk + `.results (mapping, legacy_table, target_table, run_id, source_rows, loaded, merged, folded, archived, discarded, rejected)
		SELECT ` + lit(m.Name()) + `, ` + lit(m.Legacy) + `, ` + lit(m.Target) + `, $1, count(*), ` + strings.Join(counts, ", ") + ` FROM r`)
	dropped := append([]string(nil), m.DroppedColumns...)
	sort.Strings(dropped)
	for _, d := range dropped {
		fin(`INSERT INTO ` + bk + `.column_loss (mapping, col, non_null)
			SELECT ` + lit(m.Name()) + `, ` + lit(d) + `, count(*) FILTER (WHERE ` + ident("_lost_"+d) + `) FROM r WHERE _disp IN ` + reach + `
			ON CONFLICT (mapping, col) DO UPDATE SET non_null = excluded.non_null`)
	}
	return plan, nil
}
