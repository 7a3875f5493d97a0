// Package legacyschema creates the legacy database's schema, in any of its
// three flavors and with or without the drift tables, from the SQL fixtures
// in testdata/legacy (embedded as cutover.LegacyFS).
package legacyschema

import (
	"context"
	"fmt"

	"github.com/jackc/pgx/v5"

	cutover "github.com/cutover/cutover"
)

// Flavors lists the legacy flavors, newest first.
var Flavors = []string{"v21", "v16", "v15"}

// Files returns the fixture files that build flavor, in order
// (testdata/legacy/README.md).
func Files(flavor string, drift bool) ([]string, error) {
	switch flavor {
	case "v21", "v16", "v15":
	default:
		return nil, fmt.Errorf("unknown legacy flavor %q (want v21, v16 or v15)", flavor)
	}
	files := []string{"common.sql", flavor + ".sql"}
	if drift {
		files = append(files, "drift.sql")
	}
	return append(files, "seed.sql"), nil
}

// Create builds the schema of flavor (and the seed rows every legacy
// installation has) in the empty database at url, in one transaction.
func Create(ctx context.Context, url, flavor string, drift bool) error {
	conn, err := pgx.Connect(ctx, url)
	if err != nil {
		return fmt.Errorf("create legacy %s schema: %w", flavor, err)
	}
	defer conn.Close(context.Background())
	return pgx.BeginFunc(ctx, conn, func(tx pgx.Tx) error { return CreateIn(ctx, tx, flavor, drift) })
}

// CreateIn builds the schema of flavor through tx.
func CreateIn(ctx context.Context, tx pgx.Tx, flavor string, drift bool) error {
	files, err := Files(flavor, drift)
	if err != nil {
		return err
	}
	for _, f := range files {
		sql, err := cutover.LegacyFS.ReadFile("testdata/legacy/" + f)
		if err != nil {
			return err
		}
		if _, err := tx.Exec(ctx, string(sql)); err != nil {
			return fmt.Errorf("create legacy %s schema: %s: %w", flavor, f, err)
		}
	}
	return nil
}
