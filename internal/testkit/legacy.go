package testkit

import (
	"context"
	"fmt"
	"testing"

	"github.com/cutover/cutover/internal/legacygen"
	"github.com/cutover/cutover/internal/pgtest"
)

// GeneratedLegacy returns a fresh copy of the legacy database the generator
// builds with o, cloned from one template per test binary and options.
func GeneratedLegacy(t testing.TB, o legacygen.Options) string {
	t.Helper()
	name := fmt.Sprintf("legacy_%s_u%d_s%d_d%t_a%t", o.Flavor, o.Users, o.Seed, o.Drift, o.Anomalies)
	return pgtest.NewDBFrom(t, name, func(ctx context.Context, u string) error {
		_, err := legacygen.Generate(ctx, u, o)
		return err
	})
}
