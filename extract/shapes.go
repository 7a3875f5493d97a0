package extract

import "github.com/cutover/cutover/mappings"

// KnownShape is one known column layout of a legacy table.
type KnownShape struct {
	Shape   mappings.Shape
	Flavors []string // legacy flavors that have this layout
	Drift   bool     // a drift table (DRIFT.md), allowed beside any flavor
	// Columns are "name type null|not null" in column order.
	Columns []string
}

// KnownShapes holds every legacy and drift table's known layouts, generated
// from testdata/legacy by TestKnownShapes (go test ./extract -update).
var KnownShapes = knownShapes
