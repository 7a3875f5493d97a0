package load

import (
	"context"
	"regexp"
	"slices"
	"strings"
	"testing"

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
