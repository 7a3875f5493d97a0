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
// columns cols: to_jsonb of the row, but for the values to_jsonb would
// lose, which are kept as their text instead (a JSON string): a float's
// -0, as jsonb numbers have no negative zero (NaN and the infinities are
// strings already), and an array whose lower bounds are not all 1 (a JSON
// array has none), which prints them ("[2:3]={a,b}"). Only a row holding
// such a value pays for more than to_jsonb; without such columns (or with
// cols unknown) it is to_jsonb(alias).
func SQL(alias string, cols []Column) string {
	plain := "to_jsonb(" + alias + ")"
	var lossy, fields []string
	for _, c := range cols {
		v := alias + "." + pgx.Identifier{c.Name}.Sanitize()
		var when string
		switch {
		case strings.HasSuffix(c.Type, "[]"):
			when = "NOT (array_dims(" + v + ") ~ '^(\\[1:[0-9]+\\])+$')"
		case c.Type == "real" || c.Type == "double precision":
			when = v + " = 0 AND " + v + "::text = '-0'"
		default:
			continue
		}
		lossy = append(lossy, "coalesce("+when+", false)")
		fields = append(fields, "'"+strings.ReplaceAll(c.Name, "'", "''")+"', CASE WHEN "+when+" THEN to_jsonb("+v+"::text) ELSE to_jsonb("+v+") END")
	}
	if len(lossy) == 0 {
		return plain
	}
	return "CASE WHEN " + strings.Join(lossy, " OR ") + " THEN " + plain + " || jsonb_build_object(" + strings.Join(fields, ", ") + ") ELSE " + plain + " END"
}
