package reconcile

import (
	"context"
	"slices"
	"strings"

	"github.com/jackc/pgx/v5"

	"github.com/cutover/cutover/mappings"
)

// checkMapping checks one mapping: the conservation law of its legacy
// table key by key and, when its rows can be recomputed from the legacy
// rows, their content. One scan of each side computes the first level of
// both comparisons; only buckets that differ are read again.
func (v *verifier) checkMapping(ctx context.Context, m mappings.Mapping) error {
	var p *contentPlan
	if comparable(m) {
		var err error
		if p, err = v.planContent(m); err != nil {
			return err
		}
	}
	srcDual, tgtDual := v.duals(m, p)
	keySrc, keyTgt := sourceKeys(m), v.evidence(m)
	var contentSrc, contentTgt relation
	if p != nil {
		contentSrc, contentTgt = v.relations(m, p, srcDual.Args)
	}
	return v.withBoth(ctx, func(sc, tc *pgx.Conn) error {
		var sk, sc1, tk, tc1 map[int64]bucket
		var labelled map[string]int64
		err := both(ctx, sc, tc, func(ctx context.Context, conn *pgx.Conn, target bool) error {
			var err error
			if target {
				tk, tc1, labelled, err = v.bis.firstLevel(ctx, conn, tgtDual)
			} else {
				sk, sc1, _, err = v.bis.firstLevel(ctx, conn, srcDual)
			}
			return err
		})
		if err != nil {
			return err
		}
		keys := &comparison{TargetLabels: labelled}
		if err := v.bis.narrow(ctx, sc, tc, keySrc, keyTgt, sk, tk, keys); err != nil {
			return err
		}
		kept, err := v.keptRows(ctx, sc, tc, m)
		if err != nil {
			return err
		}
		elsewhere, merged, err := v.mergedElsewhere(ctx, sc, tc, m)
		if err != nil {
			return err
		}
		if err := v.recordConservation(ctx, tc, m, keys, kept, elsewhere, merged); err != nil {
			return err
		}
		if p == nil {
			return nil
		}
		content := &comparison{}
		if err := v.bis.narrow(ctx, sc, tc, contentSrc, contentTgt, sc1, tc1, content); err != nil {
			return err
		}
		if derivesMarketKeys(m) && slices.Contains(p.NotCompared, "key") {
			diffs, err := v.marketKeyDiffs(ctx, sc, tc, m)
			if err != nil {
				return err
			}
			p.Derived = map[string][]derivedDiff{"key": diffs}
		}
		return v.recordContent(ctx, sc, tc, m, p, contentSrc, contentTgt, content)
	})
}

// canonicalUUID matches the text of a uuid as PostgreSQL writes it.
const canonicalUUID = `'^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$'`

// excludedKeys renders the relation (column k) of the legacy keys a
// content check leaves out ($1, text) and what its k equals in legacy row
// alias a. A key of one uuid column is matched as a uuid: the join on its
// text wrote every row's uuid out as text first, 1.1 of 3.4 s for
// habit_completions' 2M rows at 10M. Only the texts a uuid is written as
// can equal that text, so the others are dropped before the cast.
func (v *verifier) excludedKeys(m mappings.Mapping, a string) (keys, col string) {
	cols := m.KeyColumns()
	if t := v.scat.Tables[m.Legacy]; m.KeySQL == "" && len(cols) == 1 && t != nil && t.Types[cols[0]] == "uuid" {
		return "SELECT DISTINCT k::uuid AS k FROM unnest($1::text[]) u(k) WHERE k ~ " + canonicalUUID, a + "." + ident(cols[0])
	}
	return "SELECT DISTINCT unnest($1::text[]) AS k", legacyKey(m, a)
}

// duals builds the relations whose single scan per side computes the
// first level of both comparisons of m (columns k, label, ie, hc, ic; see
// dual). They must hash exactly what sourceKeys/evidence (ie) and
// relations (ic) select.
func (v *verifier) duals(m mappings.Mapping, p *contentPlan) (src, tgt dual) {
	key := legacyKey(m, "s")
	hc, ic := "NULL::bigint", "false"
	from := "\nFROM public." + ident(m.Legacy) + " s"
	var srcE, tgtE, types []string
	if p != nil {
		for _, c := range p.Cols {
			srcE, tgtE, types = append(srcE, c.Src), append(tgtE, c.Tgt), append(types, c.Type)
		}
		src.Args = v.contentArgs(m, p)
		for _, j := range p.SrcJoins {
			from += "\n\t" + j
		}
		keys, col := v.excludedKeys(m, "s")
		from += "\n\tLEFT JOIN (" + keys + ") ex ON ex.k = " + col
		hc, ic = rowHash(srcE, types, v.typed, key), "ex.k IS NULL"
	}
	src.SQL = "SELECT " + key + " AS k, NULL::text AS label, true AS ie, " + hc + " AS hc, " + ic + " AS ic" + from

	L := lit(m.Legacy)
	var parts []string
	tbl := "public." + ident(m.Target)
	joins := ""
	// thc is the target's row hash of the row whose key is the SQL key.
	thc := func(key string) string { return "NULL::bigint" }
	if p != nil {
		joins = strings.Join(p.TgtJoins, "")
		thc = func(key string) string { return rowHash(tgtE, types, v.typed, key) }
	}
	switch {
	case m.Target == "":
	case v.hasIDKey(m) && p != nil && m.Target == m.Legacy:
		// One pass over the table: its rows with their claims in the
		// ledger; a row nothing claims and no seed explains is extra.
		parts = append(parts, `SELECT coalesce(d.legacy_key, t.id::text) AS k, coalesce(d.disposition, 'unexplained') AS label,
				d.legacy_table IS NOT NULL AS ie, `+thc("coalesce(d.legacy_key, t.id::text)")+` AS hc,
				CASE WHEN d.legacy_table IS NULL THEN NOT t.id = ANY(`+uuidArray(v.seeds[m.Target])+`)
					ELSE d.disposition IN ('`+strings.Join(compared(m), "', '")+`') END AS ic
			FROM `+tbl+` t
			LEFT JOIN `+bk+`.dispositions d ON `+v.fedBy(m.Target, "d")+` AND d.target_table = `+lit(m.Target)+` AND d.target_id = t.id
				AND d.disposition IN ('loaded', 'folded', 'merged')`+joins+`
			WHERE d.legacy_table IS NULL OR d.legacy_table = `+L)
	case v.hasIDKey(m):
		tic := "false"
		if p != nil {
			tic = "d.disposition IN ('" + strings.Join(compared(m), "', '") + "')"
		}
		parts = append(parts, `SELECT d.legacy_key AS k, d.disposition AS label, true AS ie, `+thc("d.legacy_key")+` AS hc, `+tic+` AS ic
			FROM `+bk+`.dispositions d JOIN `+tbl+` t ON t.id = d.target_id`+joins+`
			WHERE d.legacy_table = `+L+` AND d.target_table = `+lit(m.Target)+` AND d.disposition IN ('loaded', 'folded', 'merged')`)
	case m.Target == m.Legacy:
		k, kj := v.backwardKey(m, "t")
		tic := "false"
		if p != nil {
			tic = "true"
		}
		parts = append(parts, `SELECT `+k+` AS k, `+lit(string(m.Disposition()))+` AS label, true AS ie, `+thc(k)+` AS hc, `+tic+` AS ic
			FROM `+tbl+` t`+kj+joins)
	}
	for _, e := range keptDispositions {
		parts = append(parts, `SELECT legacy_key AS k, '`+e.disp+`' AS label, true AS ie, NULL::bigint AS hc, false AS ic
			FROM `+bk+`.`+e.table+` WHERE legacy_table = `+L)
	}
	tgt.SQL = strings.Join(parts, "\nUNION ALL\n")
	return src, tgt
}
