package reconcile

import (
	"context"
	"fmt"
	"slices"
	"strings"

	"github.com/jackc/pgx/v5"

	"github.com/cutover/cutover/internal/rowjson"
	"github.com/cutover/cutover/mappings"
)

// KeptCheck compares the rows that cutover.archive and cutover.rejects keep
// of one legacy table with the legacy rows themselves: MAPPING.md keeps them
// "verbatim (as JSON)", so each kept row must be the legacy row's JSON
// (rowjson.SQL: to_jsonb, with a float's -0 and an array's bounds as
// their text), value for value. The run writes that JSON in
// dburl.TextFormat, and verify computes it from the source in the same
// format.
type KeptCheck struct {
	// Rows counts the kept rows (archived and rejected) of the table.
	Rows int64
	// Changed counts the kept rows whose JSON differs from their legacy
	// row's: the row was changed in the source after the run kept it, or
	// in the target. Exact unless Truncated (then a lower bound).
	Changed   int64
	Truncated bool
	Equal     bool
}

// keptRelations builds both sides of the kept-row comparison of m: the
// target's archived and rejected rows of the legacy table, each as the
// hash of its JSON's text, and the source's rows of the same keys as the
// hash of the text of their to_jsonb. A table archived whole compares every
// row; otherwise the source reads the keys kept ($1, keys).
func (v *verifier) keptRelations(m mappings.Mapping, keys []string) (src, tgt relation) {
	var cols []string
	var typed []rowjson.Column
	if t := v.scat.Tables[m.Legacy]; t != nil {
		cols = t.Columns
		for _, c := range cols {
			typed = append(typed, rowjson.Column{Name: c, Type: t.Types[c]})
		}
	}
	doc := rowjson.SQL("s", typed) // as the run keeps it
	key := legacyKey(m, "s")
	from, where := "\nFROM public."+ident(m.Legacy)+" s", ""
	if !m.ArchiveAll {
		kept, col := v.excludedKeys(m, "s")
		where = "\nWHERE EXISTS (SELECT 1 FROM (" + kept + ") e WHERE e.k = " + col + ")"
		src.Args = []any{keys}
	}
	src.SQL = "SELECT " + key + " AS k, pg_catalog.hashtextextended((" + doc + ")::text, 0::bigint) AS rh, NULL::text AS label" + from + where
	// The document once a row, for its fields.
	src.Vals = "SELECT " + key + " AS k, " + jsonFields("j.doc", cols) + " AS v" + from + " CROSS JOIN LATERAL (SELECT " + doc + " AS doc) j" + where
	src.Cols = cols
	var parts, vals []string
	for _, e := range keptDispositions {
		if e.disp == "discarded" {
			continue // discards keep no row
		}
		where := "\nFROM " + bk + "." + e.table + " WHERE legacy_table = " + lit(m.Legacy)
		parts = append(parts, "SELECT legacy_key AS k, pg_catalog.hashtextextended(row::text, 0::bigint) AS rh, '"+e.disp+"' AS label"+where)
		vals = append(vals, "SELECT legacy_key AS k, "+jsonFields("row", cols)+" AS v"+where)
	}
	tgt = relation{SQL: strings.Join(parts, "\nUNION ALL\n"), Vals: strings.Join(vals, "\nUNION ALL\n"), Cols: cols}
	return src, tgt
}

// jsonFields renders the text of the fields cols of JSON document doc, as
// an array.
func jsonFields(doc string, cols []string) string {
	if len(cols) == 0 {
		return "ARRAY[]::text[]"
	}
	parts := make([]string, len(cols))
	for i, c := range cols {
		parts[i] = doc + "->>" + lit(c)
	}
	return "ARRAY[" + strings.Join(parts, ", ") + "]"
}

// keptRows compares the kept rows of m's legacy table with the source (see
// KeptCheck) and records what differs. It returns nil when the table keeps
// no row (the conservation check counts the kept keys; this one their
// content). Keys on one side only are the conservation check's findings.
func (v *verifier) keptRows(ctx context.Context, sc, tc *pgx.Conn, m mappings.Mapping) (*KeptCheck, error) {
	n := v.keptData.get(m.Legacy, "archived").n + v.keptData.get(m.Legacy, "rejected").n
	if n == 0 {
		return nil, nil
	}
	var keys []string
	switch {
	case m.ArchiveAll:
	case slices.Contains(v.keysNeeded(), m.Legacy):
		// The ledger's, which verify holds already (a difference from the
		// kept tables' is a ledger_mismatch).
		keys = v.ledgerKeys(m.Legacy, func(d string) bool { return d == string(mappings.Archived) || d == string(mappings.Rejected) })
	default:
		if err := tc.QueryRow(ctx, `SELECT coalesce(array_agg(legacy_key), '{}') FROM (
				SELECT legacy_key FROM `+bk+`.archive WHERE legacy_table = $1
				UNION ALL SELECT legacy_key FROM `+bk+`.rejects WHERE legacy_table = $1) k`, m.Legacy).Scan(&keys); err != nil {
			return nil, fmt.Errorf("read the kept keys: %w", err)
		}
	}
	src, tgt := v.keptRelations(m, keys)
	res, err := v.bis.compare(ctx, sc, tc, src, tgt)
	if err != nil {
		return nil, fmt.Errorf("compare the kept rows: %w", err)
	}
	kc := &KeptCheck{Rows: res.TargetRows}
	var changed []keyDiff
	for _, d := range res.Diffs {
		if len(d.Source) > 0 && len(d.Target) > 0 {
			changed = append(changed, d)
		}
	}
	srcVals, tgtVals, err := changedValues(ctx, sc, tc, src, tgt, res, v.cfg.Samples)
	if err != nil {
		return nil, fmt.Errorf("read the differing kept rows: %w", err)
	}
	keyCols := m.KeyColumns()
	for _, d := range changed {
		kc.Changed++
		kept := "cutover." + keptTable(d.TargetLabels)
		f := Finding{Severity: Failure, Check: CheckKeptRows, Kind: KindChangedRow, Table: m.Legacy, Key: redactKey(keyCols, d.Key)}
		var what string
		f.Columns, what = describeChangeAs(src.Cols, srcVals[d.Key], tgtVals[d.Key], "kept")
		f.Message = fmt.Sprintf("the row %s keeps is not the legacy row (the legacy row changed after the run kept it, or the kept row was edited or written in another text format by an earlier build: `cutover run --full` writes every kept row again from the source): %s",
			kept, what)
		v.add(f)
	}
	// Narrowing stopped: some of the keys it did not reach may be changed
	// rows too (the others are the conservation check's).
	if res.Truncated && len(changed) > 0 {
		kc.Truncated = true
		v.add(Finding{Severity: Failure, Check: CheckKeptRows, Kind: KindTooManyDiffs, Table: m.Legacy,
			Message: fmt.Sprintf("at least %d kept rows of %s differ from the source; narrowing stopped after %d", len(changed), m.Legacy, len(res.Diffs))})
	}
	kc.Equal = len(changed) == 0
	return kc, nil
}

// keptTable names the table that keeps a row labelled labels[0].
func keptTable(labels []string) string {
	for _, e := range keptDispositions {
		if len(labels) > 0 && labels[0] == e.disp {
			return e.table
		}
	}
	return "archive"
}
