// Package extract reads the legacy database: it recognises each table's
// shape from the catalog (Detect), and copies tables into the target's
// stage schema from one consistent snapshot shared by parallel readers
// (Stage). The source is only ever read: every transaction is REPEATABLE
// READ READ ONLY and takes no lock beyond a plain read's.
package extract

import (
	"context"
	"fmt"
	"maps"
	"slices"
	"sort"
	"strings"

	"github.com/jackc/pgx/v5"

	"github.com/cutover/cutover/internal/prose"
	"github.com/cutover/cutover/mappings"
	"github.com/cutover/cutover/migrations"
)

// Column is one column of a table as the catalog describes it.
type Column struct {
	Name    string
	Type    string // format_type
	NotNull bool
}

func (c Column) String() string {
	n := "null"
	if c.NotNull {
		n = "not null"
	}
	return fmt.Sprintf("%s %s %s", c.Name, c.Type, n)
}

// Table is a source table with its recognised shape.
type Table struct {
	Name    string
	Shape   mappings.Shape
	Columns []Column
	// EstimatedRows and Bytes come from the catalog statistics.
	EstimatedRows int64
	Bytes         int64
	// Pages is the size of the table's heap in pages (PlanBatches).
	Pages int64
}

// Source describes a recognised legacy database.
type Source struct {
	Tables []Table
	// Flavor is v21, v16 or v15: every table of that flavor is present in
	// its shape (Detect refuses anything else).
	Flavor string
	// Drift lists the drift tables present (habit_logs, user_inbox, quests).
	Drift []string
	// BlockSize is the server's page size in bytes.
	BlockSize int64
	// Encoding is the database's server_encoding: UTF8 or SQL_ASCII
	// (Detect refuses others, see ReadableEncoding).
	Encoding string
	// Version is the server's server_version_num (Detect refuses one
	// older than MinSourceVersion); 0 when unknown, taken as current.
	Version int
}

// PageRanges reports whether the source reads a range of a table's heap
// pages without scanning the rest (PageRangeVersion or later).
func (s *Source) PageRanges() bool { return s.Version == 0 || s.Version >= PageRangeVersion }

// TableNames returns the names of the source's tables.
func (s *Source) TableNames() []string {
	out := make([]string, len(s.Tables))
	for i, t := range s.Tables {
		out[i] = t.Name
	}
	return out
}

// Shapes returns the shape of every table, for mappings.For.
func (s *Source) Shapes() map[string]mappings.Shape {
	out := make(map[string]mappings.Shape, len(s.Tables))
	for _, t := range s.Tables {
		out[t.Name] = t.Shape
	}
	return out
}

// Table returns the named table, or nil.
func (s *Source) Table(name string) *Table {
	for i := range s.Tables {
		if s.Tables[i].Name == name {
			return &s.Tables[i]
		}
	}
	return nil
}

// UnknownTableError reports a source table that no mapping knows.
type UnknownTableError struct{ Table string }

func (e *UnknownTableError) Error() string {
	t := pgx.Identifier{e.Table}.Sanitize()
	return fmt.Sprintf("source table %q is not a known legacy or drift table: no mapping knows it; "+
		"if it is not the application's (a backup, a copy made by hand), move it out of schema public, the only one the cutover reads, "+
		"on the legacy database (CREATE SCHEMA attic; ALTER TABLE public.%s SET SCHEMA attic): its rows stay there (nothing was written)", e.Table, t)
}

// ShapeError reports a known table whose columns match none of its known
// shapes. Missing and Extra are relative to the closest known shape.
type ShapeError struct {
	Table          string
	Closest        mappings.Shape
	Missing, Extra []string
}

func (e *ShapeError) Error() string {
	var parts []string
	if len(e.Missing) > 0 {
		parts = append(parts, "expected but missing or different: "+strings.Join(e.Missing, ", "))
	}
	if len(e.Extra) > 0 {
		parts = append(parts, "unexpected: "+strings.Join(e.Extra, ", "))
	}
	closest := "the legacy shape"
	if e.Closest != mappings.AnyShape {
		closest = "its " + string(e.Closest) + " shape"
	}
	return fmt.Sprintf("source table %q does not match %s: %s (nothing was written)", e.Table, closest, strings.Join(parts, "; "))
}

// FlavorError reports a source whose tables, each of a known shape, are
// not one legacy flavor's complete set: tables are missing (an empty
// database, a partial restore, the wrong database), or tables of several
// flavors' migrations sit side by side. Closest is the flavor that needs
// the fewest changes; Missing are its tables the source lacks, Foreign the
// source's tables in a shape it does not have, each with the flavors whose
// shape or table it is ("focus_pause_state in its v15 shape").
//
// A source with none of the legacy tables in public names the other
// schemas that hold tables of their names (Elsewhere): a legacy database
// restored under another schema name.
type FlavorError struct {
	Closest          string
	Of               int // the closest flavor's table count, drift tables aside
	Missing, Foreign []string
	Elsewhere        []SchemaTables
}

// none is a source with none of the legacy tables in public.
func (e *FlavorError) none() bool { return e.Of == len(e.Missing) && len(e.Foreign) == 0 }

func (e *FlavorError) Error() string {
	if e.none() && len(e.Elsewhere) > 0 {
		return "the source has none of the legacy tables in schema public, but " + elsewhereAdvice(e.Elsewhere) + " (nothing was written)"
	}
	if e.none() {
		return "the source has none of the legacy tables in schema public: is it the legacy database? (nothing was written)"
	}
	var parts []string
	if len(e.Missing) > 0 {
		parts = append(parts, fmt.Sprintf("it lacks %d of its %d tables (%s)", len(e.Missing), e.Of, abbreviate(e.Missing, 10)))
	}
	if len(e.Foreign) > 0 {
		parts = append(parts, fmt.Sprintf("%s another flavor's shape (%s)", prose.Count(len(e.Foreign), "table has", "tables have"), abbreviate(e.Foreign, 10)))
	}
	return fmt.Sprintf("the source matches no legacy flavor (v21, v16 or v15); the closest is %s, but %s (nothing was written)", e.Closest, strings.Join(parts, " and "))
}

// abbreviate joins names, the first n of them and a count of the rest.
func abbreviate(names []string, n int) string {
	if len(names) <= n {
		return strings.Join(names, ", ")
	}
	return strings.Join(names[:n], ", ") + fmt.Sprintf(" and %d more", len(names)-n)
}

// flavorError explains why tables, every one of a known shape, are no
// flavor's complete set, against the flavor they are closest to.
func flavorError(tables []Table) *FlavorError {
	shapes := map[string]mappings.Shape{}
	for _, t := range tables {
		shapes[t.Name] = t.Shape
	}
	var best *FlavorError
	for _, f := range []string{"v21", "v16", "v15"} {
		e := &FlavorError{Closest: f}
		for _, name := range slices.Sorted(maps.Keys(KnownShapes)) {
			ofFlavor := slices.IndexFunc(KnownShapes[name], func(k KnownShape) bool { return !k.Drift && slices.Contains(k.Flavors, f) })
			shape, present := shapes[name]
			switch {
			case ofFlavor >= 0 && !present:
				e.Of++
				e.Missing = append(e.Missing, name)
			case ofFlavor >= 0:
				e.Of++
				if KnownShapes[name][ofFlavor].Shape != shape {
					e.Foreign = append(e.Foreign, fmt.Sprintf("%s in its %s shape", name, strings.Join(flavorsOf(name, shape), "/")))
				}
			case present && !slices.ContainsFunc(KnownShapes[name], func(k KnownShape) bool { return k.Drift && k.Shape == shape }):
				e.Foreign = append(e.Foreign, fmt.Sprintf("%s, a %s table", name, strings.Join(flavorsOf(name, shape), "/")))
			}
		}
		if best == nil || len(e.Missing)+len(e.Foreign) < len(best.Missing)+len(best.Foreign) {
			best = e
		}
	}
	return best
}

// flavorsOf returns the flavors that have table in shape.
func flavorsOf(table string, shape mappings.Shape) []string {
	for _, k := range KnownShapes[table] {
		if k.Shape == shape && !k.Drift {
			return k.Flavors
		}
	}
	return nil
}

// MissingTablesError names the tables of the flavor a source is closest
// to that it does not have, beside problems of the tables it has.
type MissingTablesError struct {
	Flavor string
	Tables []string
}

func (e *MissingTablesError) Error() string {
	return fmt.Sprintf("it lacks %s of the legacy %s (%s)",
		prose.Count(len(e.Tables), "table", "tables"), e.Flavor, abbreviate(e.Tables, 10))
}

// DetectError collects every unknown table and shape.
type DetectError struct{ Problems []error }

func (e *DetectError) Error() string {
	msgs := make([]string, len(e.Problems))
	for i, p := range e.Problems {
		msgs[i] = p.Error()
	}
	return fmt.Sprintf("the source is not a database cutover recognises (%d problem(s)):\n  %s", len(e.Problems), strings.Join(msgs, "\n  "))
}

// Unwrap returns the individual problems.
func (e *DetectError) Unwrap() []error { return e.Problems }

// ReadColumns returns the columns of every base table of schema public.
func ReadColumns(ctx context.Context, conn Querier) (map[string][]Column, error) {
	rows, err := conn.Query(ctx, `
		SELECT c.relname, a.attname, format_type(a.atttypid, a.atttypmod), a.attnotnull
		FROM pg_class c
		JOIN pg_attribute a ON a.attrelid = c.oid AND a.attnum > 0 AND NOT a.attisdropped
		WHERE c.relnamespace = 'public'::regnamespace AND c.relkind IN ('r', 'p')
		ORDER BY c.relname, a.attnum`)
	if err != nil {
		return nil, fmt.Errorf("read source catalog: %w", err)
	}
	out := map[string][]Column{}
	for rows.Next() {
		var t string
		var c Column
		if err := rows.Scan(&t, &c.Name, &c.Type, &c.NotNull); err != nil {
			return nil, fmt.Errorf("read source catalog: %w", err)
		}
		out[t] = append(out[t], c)
	}
	if err := rows.Err(); err != nil {
		return nil, fmt.Errorf("read source catalog: %w", err)
	}
	return out, nil
}

// Querier is what Detect needs of a connection.
type Querier interface {
	Query(ctx context.Context, sql string, args ...any) (pgx.Rows, error)
}

// Detect reads the source catalog and recognises every table's shape
// against KnownShapes. It reads no row. A server older than
// MinSourceVersion is refused first (SourceVersionError); the version of
// one it reads is Source.Version. An unknown
// table or shape, or an encoding the cutover cannot copy
// (SourceEncodingError), fails with a
// *DetectError that names each table and the columns that differ. Before
// that it refuses a cutover target given as the source
// (SourceIsATargetError), and a role that may not read every table
// (ReadPrivilegeError) or reads one through row-level security
// (RowSecurityError).
func Detect(ctx context.Context, conn Querier) (*Source, error) {
	version, err := checkVersion(ctx, conn)
	if err != nil {
		return nil, err
	}
	cols, err := ReadColumns(ctx, conn)
	if err != nil {
		return nil, err
	}
	names := make([]string, 0, len(cols))
	for t := range cols {
		names = append(names, t)
	}
	sort.Strings(names)
	src := &Source{Version: version}
	var problems []error
	if err := checkNotATarget(ctx, conn); err != nil {
		return nil, err
	}
	if src.Encoding, err = readEncoding(ctx, conn); err != nil {
		return nil, err
	}
	if !ReadableEncoding(src.Encoding) {
		problems = append(problems, &SourceEncodingError{Encoding: src.Encoding})
	}
	if err := checkReadable(ctx, conn); err != nil {
		return nil, err
	}
	if err := checkRowSecurity(ctx, conn); err != nil {
		return nil, err
	}
	flavors := map[string]bool{"v21": true, "v16": true, "v15": true}
	for _, name := range names {
		known, ok := KnownShapes[name]
		if !ok {
			problems = append(problems, &UnknownTableError{Table: name})
			continue
		}
		shape, perr := match(name, cols[name], known)
		if perr != nil {
			problems = append(problems, perr)
			continue
		}
		src.Tables = append(src.Tables, Table{Name: name, Shape: shape.Shape, Columns: cols[name]})
		if shape.Drift {
			src.Drift = append(src.Drift, name)
			continue
		}
		for f := range flavors {
			if !contains(shape.Flavors, f) {
				delete(flavors, f)
			}
		}
	}
	if len(problems) > 0 {
		// Every problem at once: also the tables the closest flavor lacks
		// that the source does not have at all (one in a shape of its own
		// is named above), so that one round of fixes is enough.
		fe := flavorError(src.Tables)
		var missing []string
		for _, name := range fe.Missing {
			if _, there := cols[name]; !there {
				missing = append(missing, name)
			}
		}
		if len(missing) > 0 {
			problems = append(problems, &MissingTablesError{Flavor: fe.Closest, Tables: missing})
		}
		return nil, &DetectError{Problems: problems}
	}
	// A flavor also needs all of its tables.
	present := map[string]bool{}
	for _, t := range src.Tables {
		present[t.Name] = true
	}
	for f := range flavors {
		for t, shapes := range KnownShapes {
			for _, s := range shapes {
				if !s.Drift && contains(s.Flavors, f) && !present[t] {
					delete(flavors, f)
				}
			}
		}
	}
	for _, f := range []string{"v21", "v16", "v15"} {
		if flavors[f] {
			src.Flavor = f
			break
		}
	}
	if src.Flavor == "" {
		fe := flavorError(src.Tables)
		if fe.none() {
			if fe.Elsewhere, err = schemasHolding(ctx, conn); err != nil {
				return nil, err
			}
		}
		return nil, &DetectError{Problems: []error{fe}}
	}
	if err := readSizes(ctx, conn, src); err != nil {
		return nil, err
	}
	return src, nil
}

// SourceIsATargetError refuses a source that records applied migrations
// of the target schema (migrations.VersionTable): a cutover target, given
// as the source, most often with --target the legacy database, the two
// swapped.
type SourceIsATargetError struct{}

func (e *SourceIsATargetError) Error() string {
	return "the source holds the target schema's records (" + migrations.VersionTable + ", which `cutover schema apply` writes): it is a cutover target, not the legacy database; were --source and --target swapped? (nothing was written)"
}

// checkNotATarget returns a SourceIsATargetError when the database of conn
// is a cutover target: one whose version table records a migration
// applied. A version table with none (an old build's failed schema apply
// against the legacy database left one) does not make a target.
func checkNotATarget(ctx context.Context, conn Querier) error {
	const what = "whether the source is a cutover target"
	exists, err := queryOne[bool](ctx, conn, what, `SELECT to_regclass('`+migrations.VersionTable+`') IS NOT NULL`)
	if err != nil || !exists {
		return err
	}
	applied, err := queryOne[bool](ctx, conn, what, `SELECT EXISTS (SELECT FROM `+migrations.VersionTable+` WHERE version_id > 0 AND is_applied)`)
	if err != nil {
		return err
	}
	if applied {
		return &SourceIsATargetError{}
	}
	return nil
}

// queryOne runs q, which returns one row of one column, on conn; what
// names the read in its errors.
func queryOne[T any](ctx context.Context, conn Querier, what, q string) (T, error) {
	var v T
	rows, err := conn.Query(ctx, q)
	if err == nil {
		v, err = pgx.CollectExactlyOneRow(rows, pgx.RowTo[T])
	}
	if err != nil {
		return v, fmt.Errorf("read %s: %w", what, err)
	}
	return v, nil
}

// ReadPrivilegeError refuses a source with tables the role the cutover
// reads as may not read (in part: a column it may not select), before the
// extract would stop at the first of them. Nothing was read or written.
type ReadPrivilegeError struct {
	Role   string
	Tables []string
}

func (e *ReadPrivilegeError) Error() string {
	return fmt.Sprintf("role %s may not read the source's %s %s: grant it the right to read them all "+
		"(GRANT pg_read_all_data TO %[4]s on PostgreSQL 14 and later, or GRANT USAGE ON SCHEMA public TO %[4]s and GRANT SELECT ON ALL TABLES IN SCHEMA public TO %[4]s), or read as the tables' owner (nothing was written)",
		e.Role, prose.Plural(len(e.Tables), "table", "tables"), prose.List(e.Tables, 10), pgx.Identifier{e.Role}.Sanitize())
}

// checkReadable returns a ReadPrivilegeError naming the source's tables
// (all of them, without USAGE on schema public) whose every column the
// session's role may not select.
func checkReadable(ctx context.Context, conn Querier) error {
	role, tables, err := tablesWhere(ctx, conn, "privileges", `NOT has_schema_privilege('public', 'USAGE')
		OR NOT has_table_privilege(c.oid, 'SELECT') AND EXISTS (
			SELECT FROM pg_attribute a
			WHERE a.attrelid = c.oid AND a.attnum > 0 AND NOT a.attisdropped AND NOT has_column_privilege(c.oid, a.attnum, 'SELECT'))`)
	if err != nil || len(tables) == 0 {
		return err
	}
	return &ReadPrivilegeError{Role: role, Tables: tables}
}

// tablesWhere returns the session's role and the names, sorted, of the
// tables of public (aliased c, from pg_class) for which cond holds; what
// names the read in its errors.
func tablesWhere(ctx context.Context, conn Querier, what, cond string) (role string, tables []string, err error) {
	rows, err := conn.Query(ctx, `SELECT current_user::text, c.relname::text FROM pg_class c
		WHERE c.relnamespace = 'public'::regnamespace AND c.relkind IN ('r', 'p') AND (`+cond+`)
		ORDER BY c.relname`)
	if err != nil {
		return "", nil, fmt.Errorf("read the source's %s: %w", what, err)
	}
	for rows.Next() {
		var table string
		if err := rows.Scan(&role, &table); err != nil {
			return "", nil, fmt.Errorf("read the source's %s: %w", what, err)
		}
		tables = append(tables, table)
	}
	if err := rows.Err(); err != nil {
		return "", nil, fmt.Errorf("read the source's %s: %w", what, err)
	}
	return role, tables, nil
}

// RowSecurityError refuses a source whose tables have row-level security
// that applies to the role the cutover reads as. Its policies would hide
// rows from every read, the counts of the conservation law included, so
// a run would lose them and find everything accounted for. Nothing was
// read or written.
type RowSecurityError struct {
	Role   string
	Tables []string
}

func (e *RowSecurityError) Error() string {
	return fmt.Sprintf("row-level security on the source's %s applies to role %s and would hide rows from the cutover's reads and counts: "+
		"read the source as the tables' owner, a superuser, or a role with BYPASSRLS (ALTER ROLE %s BYPASSRLS, as a superuser) (nothing was written)",
		prose.Plural(len(e.Tables), "table", "tables")+" "+strings.Join(e.Tables, ", "), e.Role, pgx.Identifier{e.Role}.Sanitize())
}

// checkRowSecurity returns a RowSecurityError when row-level security
// applies to the session's role on a table of the source: a table with it
// enabled, for a role that is neither a superuser nor BYPASSRLS, and not
// the table's owner unless the table forces it on its owner too.
func checkRowSecurity(ctx context.Context, conn Querier) error {
	role, tables, err := tablesWhere(ctx, conn, "row-level security", `c.relrowsecurity
		AND NOT EXISTS (SELECT FROM pg_roles r WHERE r.rolname = current_user AND (r.rolsuper OR r.rolbypassrls))
		AND (c.relforcerowsecurity OR NOT pg_has_role(current_user, c.relowner, 'USAGE'))`)
	if err != nil || len(tables) == 0 {
		return err
	}
	return &RowSecurityError{Role: role, Tables: tables}
}

// readEncoding returns the database's server_encoding.
func readEncoding(ctx context.Context, conn Querier) (string, error) {
	return queryOne[string](ctx, conn, "the source's encoding", `SELECT current_setting('server_encoding')`)
}

func readSizes(ctx context.Context, conn Querier, src *Source) error {
	rows, err := conn.Query(ctx, `
		SELECT c.relname, greatest(c.reltuples, 0)::bigint, pg_total_relation_size(c.oid),
			pg_relation_size(c.oid) / current_setting('block_size')::bigint, current_setting('block_size')::bigint
		FROM pg_class c
		WHERE c.relnamespace = 'public'::regnamespace AND c.relkind IN ('r', 'p')`)
	if err != nil {
		return fmt.Errorf("read source table sizes: %w", err)
	}
	defer rows.Close()
	for rows.Next() {
		var name string
		var n, b, pages int64
		if err := rows.Scan(&name, &n, &b, &pages, &src.BlockSize); err != nil {
			return fmt.Errorf("read source table sizes: %w", err)
		}
		if t := src.Table(name); t != nil {
			t.EstimatedRows, t.Bytes, t.Pages = n, b, pages
		}
	}
	return rows.Err()
}

func match(table string, got []Column, known []KnownShape) (KnownShape, error) {
	gotSig := signature(got)
	best, bestDist := -1, 0
	var bestMissing, bestExtra []string
	for i, k := range known {
		if strings.Join(k.Columns, ",") == strings.Join(gotSig, ",") {
			return k, nil
		}
		missing, extra := diff(k.Columns, gotSig)
		if d := len(missing) + len(extra); best < 0 || d < bestDist {
			best, bestDist, bestMissing, bestExtra = i, d, missing, extra
		}
	}
	if len(bestMissing) == 0 && len(bestExtra) == 0 {
		bestMissing = []string{"(same columns in another order: " + strings.Join(gotSig, ", ") + ")"}
	}
	return KnownShape{}, &ShapeError{Table: table, Closest: known[best].Shape, Missing: bestMissing, Extra: bestExtra}
}

func signature(cols []Column) []string {
	out := make([]string, len(cols))
	for i, c := range cols {
		out[i] = c.String()
	}
	return out
}

func diff(want, got []string) (missing, extra []string) {
	in := func(list []string, s string) bool { return contains(list, s) }
	for _, w := range want {
		if !in(got, w) {
			missing = append(missing, w)
		}
	}
	for _, g := range got {
		if !in(want, g) {
			extra = append(extra, g)
		}
	}
	return missing, extra
}

func contains(list []string, s string) bool {
	for _, x := range list {
		if x == s {
			return true
		}
	}
	return false
}
