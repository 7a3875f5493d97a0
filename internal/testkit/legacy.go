package testkit

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"fmt"
	"testing"

	"github.com/cutover/cutover/internal/legacygen"
	"github.com/cutover/cutover/internal/pgtest"
)

// GeneratedLegacy returns a fresh copy of the legacy database the generator
// builds with o, cloned from one template per test binary and options.
func GeneratedLegacy(t testing.TB, o legacygen.Options) string {
	t.Helper()
	return pgtest.NewDBFrom(t, TemplateName("legacy", o), func(ctx context.Context, u string) error {
		_, err := legacygen.Generate(ctx, u, o)
		return err
	})
}

// TemplateName names a template database of kind ("legacy", or what a test
// builds from such a database) generated with options o. Options that
// generate other data never share a name: besides the flavor, users, seed,
// drift tables and anomalies it names, it carries a hash of the options
// when any other field is set.
func TemplateName(kind string, o legacygen.Options) string {
	name := fmt.Sprintf("%s_%s_u%d_s%d_d%t_a%t", kind, o.Flavor, o.Users, o.Seed, o.Drift, o.Anomalies)
	if o != (legacygen.Options{Flavor: o.Flavor, Users: o.Users, Seed: o.Seed, Drift: o.Drift, Anomalies: o.Anomalies}) {
		h := sha256.Sum256(fmt.Appendf(nil, "%#v", o))
		name += "_" + hex.EncodeToString(h[:4])
	}
	return name
}
