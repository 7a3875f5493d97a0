// Package testkit holds database fixtures that tests of several packages
// share, on top of internal/pgtest.
package testkit

import (
	"context"
	"testing"

	"github.com/cutover/cutover/internal/pgtest"
	"github.com/cutover/cutover/migrations"
)

// MigratedTarget returns a fresh database on which the 13 target
// migrations are applied, cloned from one template per test binary. Every
// target of a binary comes from the same template, so the seeds' timestamps
// agree between targets that a test compares.
func MigratedTarget(t testing.TB) string {
	t.Helper()
	return pgtest.NewDBFrom(t, "migrated_target", func(ctx context.Context, url string) error {
		_, err := migrations.Apply(ctx, url, nil)
		return err
	})
}
