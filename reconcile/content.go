package reconcile

import (
	"context"
	"fmt"
	"regexp"
	"slices"
	"strings"

	"github.com/jackc/pgx/v5"

	"github.com/cutover/cutover/internal/secret"
	"github.com/cutover/cutover/mappings"
)

// comparable reports whether the rows of m can be compared column by
// column: it reaches a target table, reading the legacy table itself (not a
// relation a Go transform prepares).
func comparable(m mappings.Mapping) bool {
	return m.Target != "" && m.From == "" && !m.ArchiveAll && m.DiscardAll == ""
}

// colSpec is one compared target column: its value rendered from the
// legacy row (src, over alias s) and from the target row (tgt, over alias
// t), as the same type on both sides: Type (format_type).
type colSpec struct {
	Name     string
	Src, Tgt string
	Type     string
	Computed bool
}

// setNullRef is a SetNull reference whose value the run replaces by NULL
// when the row it points at does not reach the target.
type setNullRef struct {
	Column, Parent string
}

// contentPlan is the comparison of one mapping.
type contentPlan struct {
	Cols        []colSpec
	NotCompared []string
	SrcJoins    []string
	TgtJoins    []string
	SetNull     []setNullRef
	// Derived holds, per column the run derives in Go and verify derives
	// again (see derivesMarketKeys), the rows whose value differs; the
	// column is compared, though not by the checksum.
	Derived map[string][]derivedDiff
}

var (
	// aliasRef finds qualified column references (alias.column) in a
	// mapping's SQL expression.
	aliasRef   = regexp.MustCompile(`(?i)\b([a-z_][a-z0-9_]*)\s*\.\s*"?([a-z_][a-z0-9_]*)`)
	stringLits = regexp.MustCompile(`'(?:[^']|'')*'`)
)

// evaluable reports whether a mapping's column expression can be computed
// on the source from the legacy row alone: no placeholders, and every
// qualified reference is a column of the legacy row s.
func evaluable(expr string, legacy *table) bool {
	if strings.Contains(expr, "{{") {
		return false
	}
	for _, m := range aliasRef.FindAllStringSubmatch(stringLits.ReplaceAllString(expr, "''"), -1) {
		if m[1] != "s" || !legacy.has(m[2]) {
			return false
		}
	}
	return true
}

// planContent decides the compared columns of mapping m.
func (v *verifier) planContent(m mappings.Mapping) (*contentPlan, error) {
	legacy, target := v.scat.Tables[m.Legacy], v.tcat.Tables[m.Target]
	switch {
	case legacy == nil:
		return nil, fmt.Errorf("the source has no table %s", m.Legacy)
	case target == nil:
		return nil, fmt.Errorf("the target has no table %s, which the migrations make: it was dropped or renamed since", m.Target)
	}
	omit := map[string]bool{}
	for _, c := range m.Omit {
		omit[c] = true
	}
	refs := map[string]mappings.Ref{}
	for _, r := range m.Refs {
		refs[r.Column] = r
	}
	if m.SelfRef != nil {
		r := *m.SelfRef
		r.Parent = m.Legacy
		refs[r.Column] = r
	}
	p := &contentPlan{}
	idKey := v.hasIDKey(m)
	for _, c := range target.Columns {
		typ := target.Types[c]
		tgt := "t." + ident(c)
		switch r, isRef := refs[c]; {
		case omit[c]:
		case idKey && c == "id":
			// The key: rows are matched by it, through the ledger. A
			// mapping that loads its rows under their own ids must have
			// left each row its id: a row whose id changed, with its
			// ledger entry, would match by key and pass. A row merged
			// onto another (a seed holding its natural key) keeps that
			// row's id; the ledger's d says which.
			if m.TargetID == "" && m.Columns["id"] == "" && m.KeySQL == "" && slices.Equal(m.KeyColumns(), []string{"id"}) &&
				legacy.Types["id"] == "uuid" && typ == "uuid" {
				p.Cols = append(p.Cols, colSpec{Name: "id", Src: "s.id", Tgt: "CASE WHEN d.disposition IS DISTINCT FROM 'merged' THEN t.id WHEN d.legacy_key ~ " + canonicalUUID + " THEN d.legacy_key::uuid END", Type: "uuid"})
			}
		case m.Columns[c] != "":
			if !evaluable(m.Columns[c], legacy) {
				p.NotCompared = append(p.NotCompared, c)
				continue
			}
			p.Cols = append(p.Cols, colSpec{Name: c, Src: "(" + m.Columns[c] + ")::" + typ, Tgt: tgt, Type: typ, Computed: true})
		case isRef && r.ParentKey() == "id" && legacy.has(c):
			// References compare as legacy keys, in text: the target's
			// mapped back through the id map where the parent has
			// re-keyed rows. Where it has none, a uuid on both sides
			// compares as the uuid it is (no text written per row).
			b, src, as := tgt+"::text", "s."+ident(c)+"::text", "text"
			switch {
			case v.rekeyed[r.Parent]:
				var j string
				b, j = backward("t", c, r.Parent, fmt.Sprintf("cb%d", len(p.TgtJoins)))
				p.TgtJoins = append(p.TgtJoins, j)
			case typ == "uuid" && legacy.Types[c] == "uuid":
				b, src, as = tgt, "s."+ident(c), "uuid"
			}
			if r.Kind == mappings.SetNull {
				i := len(p.SetNull)
				p.SetNull = append(p.SetNull, setNullRef{Column: c, Parent: r.Parent})
				// $1 is the excluded keys; $2… the non-reaching parents.
				p.SrcJoins = append(p.SrcJoins,
					fmt.Sprintf("LEFT JOIN public.%s pe%d ON pe%d.id = s.%s", ident(r.Parent), i, i, ident(c)),
					fmt.Sprintf("LEFT JOIN (SELECT DISTINCT unnest($%d::text[]) AS k) nr%d ON nr%d.k = s.%s::text", i+2, i, i, ident(c)))
				src = fmt.Sprintf("CASE WHEN pe%d.id IS NOT NULL AND nr%d.k IS NULL THEN %s END", i, i, src)
			}
			p.Cols = append(p.Cols, colSpec{Name: c, Src: src, Tgt: b, Type: as})
		case legacy.has(c):
			src := "s." + ident(c)
			if legacy.Types[c] != typ {
				src += "::" + typ
			}
			p.Cols = append(p.Cols, colSpec{Name: c, Src: src, Tgt: tgt, Type: typ})
		case c == "sort_order" && slices.Contains(feedTables, m.Target):
			// Numbered by the run after every mapping (feedOrder).
		case target.Fixed[c] != "":
			// Left to its default, one value in every row the run
			// wrote. A seed a row merged onto keeps its own (the
			// ledger's d, which the target side joins by id, says which).
			if len(m.NaturalKey) > 0 && idKey {
				tgt = "CASE WHEN d.disposition = 'merged' THEN " + target.Fixed[c] + " ELSE " + tgt + " END"
			}
			p.Cols = append(p.Cols, colSpec{Name: c, Src: target.Fixed[c], Tgt: tgt, Type: typ, Computed: true})
		default:
			// Left to a default that differs by row (now(), a sequence).
			p.NotCompared = append(p.NotCompared, c)
		}
	}
	return p, nil
}

// compared returns the dispositions whose rows a content check compares:
// the rows that reach the target, and for natural-key mappings the rows
// merged onto a seeded row, which takes their content.
func compared(m mappings.Mapping) []string {
	out := []string{string(m.Disposition())}
	if len(m.NaturalKey) > 0 {
		out = append(out, string(mappings.Merged))
	}
	return out
}

func rowText(exprs []string) string {
	if len(exprs) == 0 {
		return "''::text"
	}
	return "ROW(" + strings.Join(exprs, ", ") + ")::text"
}

// hashedAsIs are the column types whose own extended hash function tells
// apart exactly the values whose text differs (one type on both sides, in
// verify's session settings): rowHash hashes their binary values instead
// of their text, which saves the output function of every value. The
// others (numeric, float, jsonb, arrays, inet, …) have values that compare
// equal with different text (1.0 and 1.00, -0 and 0), so they are still
// compared as text.
var hashedAsIs = map[string]bool{
	"uuid": true, "smallint": true, "integer": true, "bigint": true, "boolean": true, "date": true,
	"timestamp with time zone": true, "timestamp without time zone": true, "bytea": true,
}

// rowHash renders the 64-bit hash of the compared values exprs, whose
// types are types (the same on both sides), of the row whose key (its
// text, as the bisector's key hash reads it) is the SQL key. With typed
// (both servers are PostgreSQL 14 or later) it is hash_record_extended of
// a row of the values of the hashedAsIs types and the text of every other
// value (as text in the "C" collation, whose hash is of the bytes; a NULL
// hashes as no text can); otherwise the hash of the text of the row of all
// values. Either way two rows of one key hash alike exactly when (but for
// collisions) each value has the same text. Each text is its own field:
// the text of one row of them all cost the record's output function, which
// quotes and escapes every value again (0.8–1.1 of 5.7 s for the jsonb of
// activity_events' 1M rows at 10M).
//
// The key's hash seeds every value's hash. The bisector sums the row
// hashes of a bucket, and hash_record_extended is linear in its fields'
// hashes (h = 31·h + field): unseeded, a bucket's sum is a sum over each
// column's values, whichever row holds them, so two rows of a bucket that
// swapped a value (a user_id, a title) kept the sum and passed.
func rowHash(exprs, types []string, typed bool, key string) string {
	seed := "pg_catalog.hashtextextended(" + key + ", 0::bigint)"
	if len(exprs) == 0 {
		return "pg_catalog.hashtextextended(''::text, 0::bigint)"
	}
	if !typed {
		return "pg_catalog.hashtextextended(" + rowText(exprs) + ", " + seed + ")"
	}
	vals := make([]string, len(exprs))
	for i, e := range exprs {
		if t := types[i]; hashedAsIs[t] {
			vals[i] = "(" + e + ")::" + t
		} else {
			vals[i] = "(" + e + `)::text COLLATE "C"`
		}
	}
	return "pg_catalog.hash_record_extended(ROW(" + strings.Join(vals, ", ") + "), " + seed + ")"
}

func valArray(exprs []string) string {
	if len(exprs) == 0 {
		return "ARRAY[]::text[]"
	}
	parts := make([]string, len(exprs))
	for i, e := range exprs {
		parts[i] = "(" + e + ")::text"
	}
	return "ARRAY[" + strings.Join(parts, ", ") + "]"
}

// relations builds both sides of the content comparison of m. The source
// relation takes $1 (legacy keys not compared) and $2… (per SetNull
// reference, the parent keys that do not reach the target).
func (v *verifier) relations(m mappings.Mapping, p *contentPlan, args []any) (src, tgt relation) {
	var srcE, tgtE, names, types []string
	for _, c := range p.Cols {
		srcE, tgtE, names, types = append(srcE, c.Src), append(tgtE, c.Tgt), append(names, c.Name), append(types, c.Type)
	}
	key := legacyKey(m, "s")
	srcH := rowHash(srcE, types, v.typed, key)
	from := "\nFROM public." + ident(m.Legacy) + " s"
	for _, j := range p.SrcJoins {
		from += "\n\t" + j
	}
	keys, col := v.excludedKeys(m, "s")
	from += "\nWHERE NOT EXISTS (SELECT 1 FROM (" + keys + ") e WHERE e.k = " + col + ")"
	src = relation{
		SQL:  "SELECT " + key + " AS k, " + srcH + " AS rh, NULL::text AS label" + from,
		Vals: "SELECT " + key + " AS k, " + valArray(srcE) + " AS v" + from,
		Args: args, Cols: names,
	}
	joins := strings.Join(p.TgtJoins, "")
	tbl := "public." + ident(m.Target)
	var parts, vals []string
	if v.hasIDKey(m) {
		in := "('" + strings.Join(compared(m), "', '") + "')"
		from := "\nFROM " + bk + ".dispositions d JOIN " + tbl + " t ON t.id = d.target_id" + joins +
			"\nWHERE d.legacy_table = " + lit(m.Legacy) + " AND d.target_table = " + lit(m.Target) + " AND d.disposition IN " + in
		parts = append(parts, "SELECT d.legacy_key AS k, "+rowHash(tgtE, types, v.typed, "d.legacy_key")+" AS rh, d.disposition AS label"+from)
		vals = append(vals, "SELECT d.legacy_key AS k, "+valArray(tgtE)+" AS v"+from)
		if m.Target == m.Legacy {
			// Rows of the table that nothing explains are extra rows.
			// (d: the disposition and key a column left to its default,
			// and the id, read: none here.)
			from := "\nFROM " + tbl + " t" + joins + "\n\tCROSS JOIN (SELECT NULL::text AS disposition, NULL::text AS legacy_key) d\nWHERE NOT EXISTS (SELECT 1 FROM " + bk + ".dispositions d WHERE " + v.fedBy(m.Target, "d") + " AND d.target_table = " +
				lit(m.Target) + " AND d.target_id = t.id AND d.disposition IN ('loaded', 'folded', 'merged'))" +
				" AND NOT t.id = ANY(" + uuidArray(v.seeds[m.Target]) + ")"
			parts = append(parts, "SELECT t.id::text AS k, "+rowHash(tgtE, types, v.typed, "t.id::text")+" AS rh, 'unexplained' AS label"+from)
			vals = append(vals, "SELECT t.id::text AS k, "+valArray(tgtE)+" AS v"+from)
		}
	} else {
		k, kj := v.backwardKey(m, "t")
		from := "\nFROM " + tbl + " t" + kj + joins
		parts = append(parts, "SELECT "+k+" AS k, "+rowHash(tgtE, types, v.typed, k)+" AS rh, "+lit(string(m.Disposition()))+" AS label"+from)
		vals = append(vals, "SELECT "+k+" AS k, "+valArray(tgtE)+" AS v"+from)
	}
	tgt = relation{SQL: strings.Join(parts, "\nUNION ALL\n"), Vals: strings.Join(vals, "\nUNION ALL\n"), Cols: names}
	return src, tgt
}

// contentArgs are the parameters of the source side of the content
// comparison of m: $1 the legacy keys not compared, $2… per SetNull
// reference the parents that do not reach the target.
func (v *verifier) contentArgs(m mappings.Mapping, p *contentPlan) []any {
	args := []any{v.ledgerKeys(m.Legacy, func(d string) bool { return !slices.Contains(compared(m), d) })}
	for _, r := range p.SetNull {
		args = append(args, v.ledgerKeys(r.Parent, func(d string) bool { return d != string(mappings.Merged) }))
	}
	return args
}

// recordContent turns the content comparison of mapping m into its check
// and findings, naming the columns of (some of) the changed rows.
func (v *verifier) recordContent(ctx context.Context, sc, tc *pgx.Conn, m mappings.Mapping, p *contentPlan, src, tgt relation, res *comparison) error {
	cc := ContentCheck{Mapping: m.Name(), Legacy: m.Legacy, Target: m.Target, OneToOne: m.Target == m.Legacy && m.Disposition() == mappings.Loaded,
		NotCompared: slices.Clone(p.NotCompared), Compared: compared(m)}
	for _, c := range p.Cols {
		cc.Columns = append(cc.Columns, c.Name)
		if c.Computed {
			cc.Computed = append(cc.Computed, c.Name)
		}
	}
	srcVals, tgtVals, err := changedValues(ctx, sc, tc, src, tgt, res, v.cfg.Samples)
	if err != nil {
		return err
	}
	cc.SourceRows, cc.TargetRows, cc.Buckets = res.SourceRows, res.TargetRows, res.Buckets
	keyCols := m.KeyColumns()
	for _, d := range res.Diffs {
		f := Finding{Severity: Failure, Check: CheckContent, Table: m.Target, Key: redactKey(keyCols, d.Key)}
		switch {
		case len(d.Target) == 0:
			cc.Missing++
			f.Kind = KindMissingRow
			f.Message = fmt.Sprintf("legacy %s row is not in %s", m.Legacy, m.Target)
		case len(d.Source) == 0:
			cc.Extra++
			f.Kind = KindExtraRow
			if slices.Contains(d.TargetLabels, "unexplained") {
				f.Message = fmt.Sprintf("a row of %s that no legacy row explains", m.Target)
			} else {
				f.Message = fmt.Sprintf("the ledger maps onto this row a key of legacy table %s that the source does not have (or does not compare)", m.Legacy)
			}
		default:
			cc.Changed++
			f.Kind = KindChangedRow
			f.Columns, f.Message = describeChange(cc.Columns, srcVals[d.Key], tgtVals[d.Key])
			if len(d.Target) > 1 {
				f.Message = fmt.Sprintf("%d target rows for one legacy row; ", len(d.Target)) + f.Message
			}
		}
		v.add(f)
	}
	if res.Truncated {
		cc.Truncated = true
		v.add(Finding{Severity: Failure, Check: CheckContent, Kind: KindTooManyDiffs, Table: m.Target,
			Message: fmt.Sprintf("at least %d rows of %s differ; narrowing stopped after %d", res.DiffsAtLeast, m.Legacy, len(res.Diffs))})
	}
	cc.Equal = res.DiffsAtLeast == 0
	for _, col := range sortedKeys(p.Derived) {
		cc.NotCompared = slices.DeleteFunc(cc.NotCompared, func(c string) bool { return c == col })
		cc.Columns, cc.Computed = append(cc.Columns, col), append(cc.Computed, col)
		for _, d := range p.Derived[col] {
			cc.Changed++
			cc.Equal = false
			v.add(Finding{Severity: Failure, Check: CheckContent, Kind: KindChangedRow, Table: m.Target, Key: redactKey(keyCols, d.Key), Columns: []string{col},
				Message: fmt.Sprintf("%s: legacy %q, target %q (derived from the legacy rows as the run derives it)", col, shorten(d.Want, 60), shorten(d.Got, 60))})
		}
	}
	v.mu.Lock()
	v.res.Contents = append(v.res.Contents, cc)
	v.mu.Unlock()
	return nil
}

// describeChange names the columns whose values differ, with the values
// (secrets redacted, long values shortened).
func describeChange(cols []string, src, tgt []*string) ([]string, string) {
	return describeChangeAs(cols, src, tgt, "target")
}

// describeChangeAs is describeChange, calling the values of tgt side's.
func describeChangeAs(cols []string, src, tgt []*string, side string) ([]string, string) {
	if src == nil || tgt == nil {
		return nil, "the row differs"
	}
	var names, parts []string
	for i, c := range cols {
		if i >= len(src) || i >= len(tgt) {
			break
		}
		a, b := src[i], tgt[i]
		if (a == nil) == (b == nil) && (a == nil || *a == *b) {
			continue
		}
		names = append(names, c)
		if !SecretColumn(c) {
			// A JSON value's secret keys (a "password" in audit details)
			// are shown as no report shows a secret column.
			var alike bool
			if a, b, alike = scrubSecretKeys(a, b); alike {
				parts = append(parts, c+": differ only in the values of keys that name secrets, which no report shows")
				continue
			}
		}
		show := func(p *string) string {
			switch {
			case p == nil:
				return "NULL"
			case SecretColumn(c):
				return Redacted
			}
			return fmt.Sprintf("%q", shorten(*p, 60))
		}
		sa, sb := show(a), show(b)
		if a != nil && b != nil && !SecretColumn(c) && (sa == sb || !printsApart(*a, *b)) {
			// Alike as shown (past the first 60 characters), or parting
			// where characters may print alike (é and e + U+0301, a
			// no-break space): from where they part, escaped.
			sa, sb = whereTheyDiffer(*a, *b)
		}
		parts = append(parts, fmt.Sprintf("%s: legacy %s, %s %s", c, sa, side, sb))
	}
	if len(names) == 0 {
		return nil, "the row differs"
	}
	return names, strings.Join(parts, "; ")
}

// scrubSecretKeys returns a and b, two values of a column, with the values
// of the JSON keys that name secrets redacted (secret.ScrubJSON), and
// whether the two are then alike: they differ only in secrets.
func scrubSecretKeys(a, b *string) (*string, *string, bool) {
	scrub := func(p *string) (*string, bool) {
		if p == nil {
			return nil, false
		}
		s, ok := secret.ScrubJSON(*p)
		return &s, ok
	}
	sa, ra := scrub(a)
	sb, rb := scrub(b)
	if !ra && !rb {
		return a, b, false
	}
	return sa, sb, sa != nil && sb != nil && *sa == *sb
}

// firstDifference is the index of the first rune where ra and rb differ
// (the shorter one's length when one begins the other).
func firstDifference(ra, rb []rune) int {
	i := 0
	for i < len(ra) && i < len(rb) && ra[i] == rb[i] {
		i++
	}
	return i
}

// printsApart reports whether a and b, two different texts, first differ
// in printable ASCII characters, which cannot be taken for each other.
func printsApart(a, b string) bool {
	ra, rb := []rune(a), []rune(b)
	i := firstDifference(ra, rb)
	for _, r := range [][]rune{ra, rb} {
		if i < len(r) && (r[i] < ' ' || r[i] > '~') {
			return false
		}
	}
	return true
}

// whereTheyDiffer shows a and b, two different texts, from a few
// characters before the first where they differ, quoted with every
// non-ASCII character escaped ("…caf\u00e9", "…cafe\u0301").
func whereTheyDiffer(a, b string) (string, string) {
	ra, rb := []rune(a), []rune(b)
	from := max(0, firstDifference(ra, rb)-10)
	show := func(r []rune) string {
		s := string(r[min(from, len(r)):min(from+30, len(r))])
		q := fmt.Sprintf("%+q", s)
		if from > 0 {
			q = "…" + q
		}
		if from+30 < len(r) {
			q += "…"
		}
		return q
	}
	return show(ra), show(rb)
}

// keysNeeded lists the legacy tables whose keys ledgerKeys is asked for:
// those of the mappings whose content is compared, and the parents of
// their SetNull references.
func (v *verifier) keysNeeded() []string {
	var out []string
	for _, m := range v.ms {
		if !comparable(m) {
			continue
		}
		out = append(out, m.Legacy)
		for _, r := range m.Refs {
			if r.Kind == mappings.SetNull {
				out = append(out, r.Parent)
			}
		}
	}
	slices.Sort(out)
	return slices.Compact(out)
}

// ledgerKeys returns the keys of a legacy table whose disposition is
// neither loaded nor folded (read once, see prepare) and satisfies keep;
// legacy must be one of keysNeeded.
func (v *verifier) ledgerKeys(legacy string, keep func(disposition string) bool) []string {
	out := []string{}
	for d, keys := range v.otherKeys[legacy] {
		if keep(d) {
			out = append(out, keys...)
		}
	}
	return out
}
