package load

import (
	"context"
	"regexp"
	"slices"
	"strings"
	"testing"

	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgtype"

	"github.com/cutover/cutover/extract"
	"github.com/cutover/cutover/internal/pgtest"
	"github.com/cutover/cutover/internal/testkit"
	"github.com/cutover/cutover/mappings"
)

// TestNoLegacyColumnIsSilentlyLost: every column of every legacy shape a
// mapping loads or folds reaches the target. It does so under its own name,
// or through the mapping's SQL (a column expression, a rule, a join, the
// target id or the dedupe order), or it is a dropped column, whose
// non-NULL values a run counts (MAPPING.md: column-level loss is visible
// too). A mapping that stopped carrying a column would lose its values in
// every run without a word.
func TestNoLegacyColumnIsSilentlyLost(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	targets, err := readTargets(ctx, pgtest.Connect(t, testkit.MigratedTarget(t)))
	if err != nil {
		t.Fatal(err)
	}
	checked := 0
	for _, m := range mappings.All() {
		if m.Target == "" || m.ArchiveAll || m.DiscardAll != "" {
			continue // archived or discarded whole: the row is kept or gone as a whole
		}
		tt, ok := targets[m.Target]
		if !ok {
			t.Fatalf("%s: no target table %s", m.Name(), m.Target)
		}
		sql := []string{m.TargetID, m.DedupeOrder, m.KeySQL}
		sql = append(sql, m.Joins...)
		for _, e := range m.Columns {
			sql = append(sql, e)
		}
		for _, r := range slices.Concat(m.ByDesign, m.Checks) {
			sql = append(sql, r.When, r.Message, r.TargetID)
		}
		all := strings.Join(sql, "\n")
		for _, shape := range extract.KnownShapes[m.Legacy] {
			if m.Shape != mappings.AnyShape && shape.Shape != m.Shape {
				continue
			}
			for _, c := range shape.Columns {
				col := strings.Fields(c)[0]
				checked++
				switch {
				case slices.Contains(tt.Columns, col) && !slices.Contains(m.Omit, col):
				case slices.Contains(m.DroppedColumns, col):
				case regexp.MustCompile(`\bs\.` + regexp.QuoteMeta(col) + `\b`).MatchString(all):
				default:
					t.Errorf("%s: legacy column %s.%s reaches no column of %s, no SQL of the mapping reads it, and it is not counted as dropped",
						m.Name(), m.Legacy, col, m.Target)
				}
			}
		}
	}
	if checked < 300 {
		t.Errorf("checked %d legacy columns: the shapes were not read", checked)
	}
}

// TestEveryWrittenValueFitsItsColumn: in every flavor, each value a
// mapping writes has its target column's type, or a type the column takes
// without a cast that can fail (a narrower integer, varchar into text).
// The only exception is a string into a varchar(n) or char(n), whose
// length a run checks and names the rows of when it stops there (guardLength,
// SQLSTATE 22001), and a dry run checks beforehand. So an apply never
// stops on a value out of its column's range (22003) or a text that does
// not parse as its column's type (22P02), which no refusal would name: a
// mapping that brought one in fails here, not at 3 a.m. The types are
// those of the plans' rows over a kept stage, decided from the seeded rows
// of an otherwise empty legacy schema.
func TestEveryWrittenValueFitsItsColumn(t *testing.T) {
	for _, flavor := range []string{"v21", "v16", "v15"} {
		t.Run(flavor, func(t *testing.T) {
			t.Parallel()
			ctx := context.Background()
			src, dst := legacySchema(t, flavor), testkit.MigratedTarget(t)
			if _, err := Run(ctx, Config{SourceURL: src, TargetURL: dst, KeepStage: true, MaxRejects: -1}); err != nil {
				t.Fatal(err)
			}
			s, plans := plansOf(t, src, dst)
			conn := pgtest.Connect(t, dst)
			type column struct{ table, name string }
			type typ struct {
				oid  uint32
				mod  int32
				name string
			}
			targetTypes := map[column]typ{}
			rows, err := conn.Query(ctx, `SELECT c.relname::text, a.attname::text, a.atttypid, a.atttypmod, format_type(a.atttypid, a.atttypmod)
				FROM pg_attribute a JOIN pg_class c ON c.oid = a.attrelid
				WHERE c.relnamespace = 'public'::regnamespace AND c.relkind = 'r' AND a.attnum > 0 AND NOT a.attisdropped`)
			if err != nil {
				t.Fatal(err)
			}
			var col column
			var ty typ
			if _, err := pgx.ForEachRow(rows, []any{&col.table, &col.name, &ty.oid, &ty.mod, &ty.name}, func() error {
				targetTypes[col] = ty
				return nil
			}); err != nil {
				t.Fatal(err)
			}
			checked := 0
			for _, m := range s.ms {
				p := plans[m.Name()]
				if p.Rows == "" {
					continue
				}
				sd, err := conn.Prepare(ctx, "", "SELECT * FROM ("+p.Rows+") v")
				if err != nil {
					t.Fatalf("%s: %v", m.Name(), err)
				}
				if len(sd.Fields) != len(p.TargetCols) {
					t.Fatalf("%s: its rows have %d columns and it writes %d", m.Name(), len(sd.Fields), len(p.TargetCols))
				}
				for i, f := range sd.Fields {
					c := strings.Trim(p.TargetCols[i], `"`)
					want, ok := targetTypes[column{m.Target, c}]
					if !ok {
						t.Fatalf("%s writes %s.%s, which the target does not have", m.Name(), m.Target, c)
					}
					checked++
					var got string
					if err := conn.QueryRow(ctx, `SELECT format_type($1, $2)`, f.DataTypeOID, f.TypeModifier).Scan(&got); err != nil {
						t.Fatal(err)
					}
					if !fitsWithoutFailing(f.DataTypeOID, f.TypeModifier, want.oid, want.mod) {
						t.Errorf("%s writes %s values into %s.%s, of type %s: a cast at apply that a legacy value can fail",
							m.Name(), got, m.Target, c, want.name)
					}
				}
			}
			if checked < 500 {
				t.Errorf("checked %d written columns: the plans were not read", checked)
			}
		})
	}
}

// TestFitsWithoutFailing: the check TestEveryWrittenValueFitsItsColumn
// makes of each written column, on made-up plan rows (a SELECT of one
// value, whose type the server reports as it does for a plan's rows)
// written into a made-up column. A mapping writing a bigint into an
// integer, a numeric into an integer or a text into a uuid is caught: the
// apply's cast could fail (22003, 22P02); widening and length-checked
// strings pass.
func TestFitsWithoutFailing(t *testing.T) {
	ctx := context.Background()
	conn := pgtest.Connect(t, pgtest.NewDB(t))
	for _, c := range []struct {
		value, column string // the row's value; the column's type
		want          bool
	}{
		{"1::bigint", "integer", false},
		{"1::integer", "smallint", false},
		{"1::numeric", "integer", false},
		{"1::integer", "numeric(5,0)", false},
		{"1.5::double precision", "real", false},
		{"'x'::text", "uuid", false},
		{"'1'::text", "integer", false},
		{"now()", "date", false},
		{"1::integer", "integer", true},
		{"1::smallint", "integer", true},
		{"1::integer", "bigint", true},
		{"1::bigint", "numeric", true},
		{"1.5::real", "double precision", true},
		{"'x'::varchar(20)", "text", true},
		{"'x'::text", "varchar(10)", true}, // guardLength checks its length
		{"'x'::varchar(20)", "character(5)", true},
		{"now()", "timestamp with time zone", true},
	} {
		t.Run(c.value+" into "+c.column, func(t *testing.T) {
			if _, err := conn.Exec(ctx, `DROP TABLE IF EXISTS made_up; CREATE TABLE made_up (c `+c.column+`)`); err != nil {
				t.Fatal(err)
			}
			var to uint32
			var toMod int32
			if err := conn.QueryRow(ctx, `SELECT atttypid, atttypmod FROM pg_attribute WHERE attrelid = 'made_up'::regclass AND attname = 'c'`).Scan(&to, &toMod); err != nil {
				t.Fatal(err)
			}
			sd, err := conn.Prepare(ctx, "", "SELECT * FROM (SELECT "+c.value+" AS c) v")
			if err != nil {
				t.Fatal(err)
			}
			if len(sd.Fields) != 1 {
				t.Fatalf("the made-up rows have %d columns, want 1", len(sd.Fields))
			}
			f := sd.Fields[0]
			if got := fitsWithoutFailing(f.DataTypeOID, f.TypeModifier, to, toMod); got != c.want {
				t.Errorf("fitsWithoutFailing(%s into %s) = %v, want %v", c.value, c.column, got, c.want)
			}
		})
	}
}

// fitsWithoutFailing reports whether a value of type from (with its
// modifier) goes into a column of type to without a cast that can fail,
// or into a varchar(n) or char(n) column, whose length the run checks.
func fitsWithoutFailing(from uint32, fromMod int32, to uint32, toMod int32) bool {
	if from == to && (toMod == -1 || toMod == fromMod) {
		return true
	}
	widens := map[uint32][]uint32{
		pgtype.Int2OID:    {pgtype.Int4OID, pgtype.Int8OID, pgtype.NumericOID},
		pgtype.Int4OID:    {pgtype.Int8OID, pgtype.NumericOID},
		pgtype.Int8OID:    {pgtype.NumericOID},
		pgtype.Float4OID:  {pgtype.Float8OID},
		pgtype.VarcharOID: {pgtype.TextOID},
		pgtype.BPCharOID:  {pgtype.TextOID},
	}
	switch {
	case slices.Contains(widens[from], to) && (to != pgtype.NumericOID || toMod == -1):
		return true
	case (to == pgtype.VarcharOID || to == pgtype.BPCharOID) && slices.Contains([]uint32{pgtype.TextOID, pgtype.VarcharOID, pgtype.BPCharOID}, from):
		return true // guardLength
	}
	return false
}
