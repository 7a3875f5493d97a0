// Package rowjson renders the SQL of the JSON document a legacy row is
// kept as, in cutover.archive and cutover.rejects: the run writes it from
// the stage copy, and verify computes it again from the source to compare,
// so both render it here.
package rowjson

import (
	"strings"

	"github.com/jackc/pgx/v5"
)

// Column is a column of a legacy table and its type, as format_type (or
// regtype) prints it.
type Column struct{ Name, Type string }

// SQL renders the jsonb document of row alias, a row of a table with
// columns cols: to_jsonb of the whole row, but for the values to_jsonb
// would lose, which are kept as their text instead (a JSON string): a
// float's -0, as jsonb numbers have no negative zero (NaN and the
// infinities are strings already), a float array holding one, and an array
// whose lower bounds are not all 1 (a JSON array has none), which its text
// prints ("[2:3]={a,b}"). Only a row holding such a value pays for more
// than to_jsonb; without such columns (or with cols unknown) it is
// to_jsonb(alias.*). Types are recognised by name: a domain or a composite
// over them is kept as to_jsonb keeps it (the legacy schemas have
// neither). The SQL holds no backslash, so that a server with
// standard_conforming_strings off reads it alike.
func SQL(alias string, cols []Column) string {
	plain := "to_jsonb(" + alias + ".*)" // .*: the row, even beside a column named alias
	var lossy, fields []string
	for _, c := range cols {
		v := alias + "." + pgx.Identifier{c.Name}.Sanitize()
		var when string
		switch elem, array := strings.CutSuffix(c.Type, "[]"); {
		case array && floats[elem]:
			when = "(NOT (array_dims(" + v + ") ~ '^([[]1:[0-9]+[]])+$') OR " + v + "::text ~ '(^|[{,])-0([,}]|$)')"
		case array:
			when = "NOT (array_dims(" + v + ") ~ '^([[]1:[0-9]+[]])+$')"
		case floats[c.Type]:
			when = "(" + v + " = 0 AND " + v + "::text = '-0')"
		default:
			continue
		}
		lossy = append(lossy, "coalesce("+when+", false)")
		// One object a column: jsonb_build_object takes at most 50 pairs.
		fields = append(fields, "CASE WHEN coalesce("+when+", false) THEN jsonb_build_object('"+
			strings.ReplaceAll(c.Name, "'", "''")+"', "+v+"::text) ELSE '{}'::jsonb END")
	}
	if len(lossy) == 0 {
		return plain
	}
	return "CASE WHEN " + strings.Join(lossy, " OR ") + " THEN " + plain + " || " + strings.Join(fields, " || ") + " ELSE " + plain + " END"
}

// floats are the float types, whose -0 jsonb cannot hold.
var floats = map[string]bool{"real": true, "double precision": true}
