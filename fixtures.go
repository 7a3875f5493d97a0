// Package cutover is the module root. It holds only embedded fixtures that
// live under testdata/ (Go cannot embed files from a parent directory); the
// tool itself is in cmd/cutover, extract, transform, load and mappings.
package cutover

import "embed"

// LegacyFS holds testdata/legacy: the SQL that creates each legacy flavor,
// the drift tables and the rows every legacy installation has.
//
//go:embed testdata/legacy/*.sql
var LegacyFS embed.FS
