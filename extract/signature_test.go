package extract_test

import (
	"context"
	"crypto/md5"
	"encoding/hex"
	"fmt"
	"slices"
	"sort"
	"strings"
	"testing"

	"github.com/google/go-cmp/cmp"

	"github.com/cutover/cutover/extract"
	"github.com/cutover/cutover/internal/pgtest"
)

// inventorySignatures are the column signatures of the legacy flavors, as
// the legacy inventory gives them (../shared/legacy/INVENTORY.md §1, the
// table "Flavor | column_signature (PostgreSQL 15)"; also
// testdata/legacy/README.md). The inventory lives beside the repository,
// not in it, so they are copied here.
var inventorySignatures = map[string]string{
	"v21": "fbb2a8d2be96ef70d31d936c303d6ba2",
	"v16": "b3ec74fbed59cc2750659108d5a7838e",
	"v15": "2df2ba8e1a01b48d07afc1149c8de42b",
}

// inventorySignatureSQL is INVENTORY.md §1's query: an md5 over the base
// tables of public but the drift tables, each column as
// table.column:type:attnotnull, ordered by table name and column number.
const inventorySignatureSQL = `SELECT md5(string_agg(format('%s.%s:%s:%s', c.relname, a.attname,
                             format_type(a.atttypid, a.atttypmod), a.attnotnull),
                      ',' ORDER BY c.relname, a.attnum)) AS column_signature
FROM pg_class c
JOIN pg_attribute a ON a.attrelid = c.oid AND a.attnum > 0 AND NOT a.attisdropped
WHERE c.relnamespace = 'public'::regnamespace AND c.relkind = 'r'
  AND c.relname NOT IN ('habit_logs', 'user_inbox', 'quests')`

// knownSignature computes the same md5 from KnownShapes: every table with a
// layout of flavor (drift tables have none), in byte order of their names
// (relname is a name, of collation "C"), each column's "name type
// null|not null" written as the query writes it, with attnotnull t or f.
func knownSignature(t *testing.T, flavor string) string {
	t.Helper()
	var tables []string
	cols := map[string][]string{}
	for table, shapes := range extract.KnownShapes {
		for _, s := range shapes {
			if !slices.Contains(s.Flavors, flavor) {
				continue
			}
			if cols[table] != nil {
				t.Fatalf("KnownShapes gives %s two layouts of %s", table, flavor)
			}
			tables = append(tables, table)
			for _, c := range s.Columns {
				name, rest, ok := strings.Cut(c, " ")
				if !ok {
					t.Fatalf("KnownShapes column %q of %s: no type", c, table)
				}
				notNull := "f"
				typ, isNull := strings.CutSuffix(rest, " null")
				if typ, ok = strings.CutSuffix(typ, " not"); ok {
					notNull = "t"
				} else if !isNull {
					t.Fatalf("KnownShapes column %q of %s: neither null nor not null", c, table)
				}
				cols[table] = append(cols[table], fmt.Sprintf("%s.%s:%s:%s", table, name, typ, notNull))
			}
		}
	}
	sort.Strings(tables)
	var all []string
	for _, table := range tables {
		all = append(all, cols[table]...)
	}
	sum := md5.Sum([]byte(strings.Join(all, ",")))
	return hex.EncodeToString(sum[:])
}

// TestLegacyColumnSignatures: each flavor that testdata/legacy builds, with
// and without the drift tables, has the column signature INVENTORY.md
// gives, by the inventory's own query on a real database; and the shapes
// the detection knows (KnownShapes) give the same md5.
func TestLegacyColumnSignatures(t *testing.T) {
	ctx := context.Background()
	for _, c := range []struct {
		flavor string
		drift  bool
	}{
		{"v21", false}, {"v21", true},
		{"v16", false}, {"v16", true},
		{"v15", false}, {"v15", true},
	} {
		t.Run(fmt.Sprintf("%s drift=%v", c.flavor, c.drift), func(t *testing.T) {
			want := inventorySignatures[c.flavor]
			conn := pgtest.Connect(t, legacyDB(t, c.flavor, c.drift))
			var got string
			if err := conn.QueryRow(ctx, inventorySignatureSQL).Scan(&got); err != nil {
				t.Fatal(err)
			}
			if d := cmp.Diff(want, got); d != "" {
				t.Errorf("column signature of the %s fixtures (drift %v) differs from INVENTORY.md's (-inventory +fixtures):\n%s", c.flavor, c.drift, d)
			}
			if d := cmp.Diff(want, knownSignature(t, c.flavor)); d != "" {
				t.Errorf("column signature of KnownShapes' %s layouts differs from INVENTORY.md's (-inventory +KnownShapes):\n%s", c.flavor, d)
			}
		})
	}
}
