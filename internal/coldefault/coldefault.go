// Package coldefault says what a column of a table holds in every row an
// insert leaves it out of, when that is one value: the run writes it
// explicitly where a row may move between mappings (load), and verify
// compares the rows the run loaded with it (reconcile).
package coldefault

// FixedSQL is the SQL, over a (the column's pg_attribute row) and d (its
// pg_attrdef row, LEFT JOINed: NULL without a default), of the column's
// fixed value as an expression in text: 'NULL' without a default; its
// default when that calls only immutable functions (the node tree names
// each function it calls by funcid or opfuncid; now() and CURRENT_DATE
// are not, and neither is a sequence, nor a conversion through text, which
// calls a type's input function: 'now'::date); NULL (no fixed value) for
// identity and generated columns and every other default. Cast it to the
// column's type with its modifier (Cast). A default has no column to name,
// so pg_get_expr needs no relation (given one, it locks it, and waits for a
// session holding the table).
const FixedSQL = `CASE WHEN a.attidentity <> '' OR a.attgenerated <> '' THEN NULL
		WHEN d.oid IS NULL THEN 'NULL'
		WHEN d.adbin::text !~ '\{(SQLVALUEFUNCTION|NEXTVALUEEXPR|PARAM|COERCEVIAIO) '
			AND NOT EXISTS (SELECT 1 FROM regexp_matches(d.adbin::text, ':(?:op)?funcid (\d+)', 'g') f
				JOIN pg_proc p ON p.oid = f[1]::oid WHERE p.provolatile <> 'i')
		THEN pg_get_expr(d.adbin, 0) END`

// Cast renders fixed (a FixedSQL value) as a value of the column's type
// fullType (format_type with its modifier: character(3)).
func Cast(fixed, fullType string) string { return "(" + fixed + ")::" + fullType }
