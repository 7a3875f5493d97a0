package reconcile

import (
	"context"
	"fmt"
	"strings"

	"github.com/jackc/pgx/v5"

	"github.com/cutover/cutover/mappings"
)

// mergeRule is what the rows a mapping merges for one reason share with
// the row they merge onto (mappings.Rule.Same).
type mergeRule struct {
	reason string
	same   []string
}

// mergeRules lists the merge rules of m whose rows verify can check: those
// that name what they share, and DedupeBy's (the rows share its columns
// with the first). A mapping that reads a relation a Go transform typed
// (the text quests) has none here: questContent checks its rows merged by
// id against their typed uid.
func mergeRules(m mappings.Mapping) []mergeRule {
	if m.From != "" || m.Target == "" {
		return nil
	}
	var out []mergeRule
	for _, r := range append(append([]mappings.Rule{}, m.ByDesign...), m.Checks...) {
		if r.Disposition == mappings.Merged && len(r.Same) > 0 {
			out = append(out, mergeRule{r.Reason, r.Same})
		}
	}
	if len(m.DedupeBy) > 0 {
		out = append(out, mergeRule{mappings.ReasonDuplicateInTable, m.DedupeBy})
	}
	return out
}

// mergedElsewhere checks that each merged row of m's legacy table points
// (through the ledger) at a target row that shares what its rule says it
// shares: a ledger entry re-pointed at another row still counts as merged
// for the conservation law, which only asks that the row exists. Each rule
// is a comparison of its own: the source's rows of the keys the ledger
// merged for that reason against the target rows they point at, hashed as
// the text of the shared values (references as legacy keys). It returns
// how many merged rows point elsewhere, each also a finding; keys on one
// side only are the conservation check's. It also returns how many merged
// rows it compared (the target side's).
func (v *verifier) mergedElsewhere(ctx context.Context, sc, tc *pgx.Conn, m mappings.Mapping) (n, compared int64, err error) {
	for _, rule := range mergeRules(m) {
		keys := v.mergedKeys[m.Legacy][rule.reason]
		if len(keys) == 0 {
			continue
		}
		src, tgt := v.mergedRelations(m, rule, keys)
		res, err := v.bis.compare(ctx, sc, tc, src, tgt)
		if err != nil {
			return 0, 0, fmt.Errorf("compare the rows merged as %s: %w", rule.reason, err)
		}
		compared += res.TargetRows
		srcVals, tgtVals, err := changedValues(ctx, sc, tc, src, tgt, res, v.cfg.Samples)
		if err != nil {
			return 0, 0, fmt.Errorf("read the rows merged as %s: %w", rule.reason, err)
		}
		var elsewhere int64
		for _, d := range res.Diffs {
			if len(d.Source) == 0 || len(d.Target) == 0 {
				continue
			}
			elsewhere++
			_, what := describeChange(rule.same, srcVals[d.Key], tgtVals[d.Key])
			v.add(Finding{Severity: Failure, Check: CheckConservation, Kind: KindMergedElsewhere, Table: m.Legacy, Key: redactKey(m.KeyColumns(), d.Key),
				Columns: rule.same, Message: fmt.Sprintf("merged (%s) onto a %s row that does not share its %s: %s",
					rule.reason, m.Target, strings.Join(rule.same, ", "), what)})
		}
		// Narrowing stopped: some keys it did not reach may point
		// elsewhere too (the one-sided ones are the conservation
		// check's, and so is its own truncation then).
		if res.Truncated && elsewhere > 0 {
			v.add(Finding{Severity: Failure, Check: CheckConservation, Kind: KindTooManyDiffs, Table: m.Legacy,
				Message: fmt.Sprintf("at least %d rows of %s merged as %s point at rows that do not share it; narrowing stopped after %d", elsewhere, m.Legacy, rule.reason, len(res.Diffs))})
		}
		n += elsewhere
	}
	return n, compared, nil
}

// mergedRelations builds both sides of the comparison of the rows of m
// merged for rule.reason: the legacy rows of keys ($1) and the target rows
// the ledger points them at, each as the hash of the text of the shared
// values.
func (v *verifier) mergedRelations(m mappings.Mapping, rule mergeRule, keys []string) (src, tgt relation) {
	parent := map[string]string{}
	for _, r := range m.Refs {
		if r.ParentKey() == "id" {
			parent[r.Column] = r.Parent
		}
	}
	srcE := make([]string, len(rule.same))
	tgtE := make([]string, len(rule.same))
	joins := ""
	for i, c := range rule.same {
		srcE[i] = "s." + ident(c) + "::text"
		tgtE[i] = "t." + ident(c) + "::text"
		if p := parent[c]; p != "" && v.rekeyed[p] {
			var j string
			tgtE[i], j = backward("t", c, p, fmt.Sprintf("mb%d", i))
			joins += j
		}
	}
	key := legacyKey(m, "s")
	kept, col := v.excludedKeys(m, "s")
	from := "\nFROM public." + ident(m.Legacy) + " s\nWHERE EXISTS (SELECT 1 FROM (" + kept + ") e WHERE e.k = " + col + ")"
	src = relation{
		SQL:  "SELECT " + key + " AS k, pg_catalog.hashtextextended(" + rowText(srcE) + ", 0::bigint) AS rh, NULL::text AS label" + from,
		Vals: "SELECT " + key + " AS k, " + valArray(srcE) + " AS v" + from,
		Args: []any{keys}, Cols: rule.same,
	}
	where := "\nFROM " + bk + ".dispositions d JOIN public." + ident(m.Target) + " t ON t.id = d.target_id" + joins +
		"\nWHERE d.legacy_table = " + lit(m.Legacy) + " AND d.target_table = " + lit(m.Target) +
		" AND d.disposition = 'merged' AND d.reason = " + lit(rule.reason)
	tgt = relation{
		SQL:  "SELECT d.legacy_key AS k, pg_catalog.hashtextextended(" + rowText(tgtE) + ", 0::bigint) AS rh, 'merged' AS label" + where,
		Vals: "SELECT d.legacy_key AS k, " + valArray(tgtE) + " AS v" + where,
		Cols: rule.same,
	}
	return src, tgt
}
