package load_test

import (
	"context"
	"os"
	"testing"

	"github.com/cutover/cutover/internal/legacyschema"
	"github.com/cutover/cutover/internal/pgtest"
	"github.com/cutover/cutover/load"
	"github.com/cutover/cutover/migrations"
)

func TestMain(m *testing.M) { os.Exit(pgtest.Main(m)) }

func targetDB(t *testing.T) string {
	t.Helper()
	return pgtest.NewDBFrom(t, "target", func(ctx context.Context, url string) error {
		_, err := migrations.Apply(ctx, url, nil)
		return err
	})
}

func legacyDB(t *testing.T, flavor string, drift bool) string {
	t.Helper()
	name := "legacy_" + flavor
	if drift {
		name += "_drift"
	}
	return pgtest.NewDBFrom(t, name, func(ctx context.Context, url string) error {
		return legacyschema.Create(ctx, url, flavor, drift)
	})
}

func TestRunSeedOnlyLegacy(t *testing.T) {
	for _, flavor := range []string{"v21", "v16", "v15"} {
		t.Run(flavor, func(t *testing.T) {
			t.Parallel()
			ctx := context.Background()
			src, dst := legacyDB(t, flavor, true), targetDB(t)
			sum, err := load.Run(ctx, load.Config{SourceURL: src, TargetURL: dst, MaxRejects: -1})
			if err != nil {
				t.Fatal(err)
			}
			if !sum.OK() {
				t.Fatalf("conservation law fails: %+v", sum.Tables)
			}
			for _, r := range sum.Tables {
				if r.Legacy == "roles" && r.Merged != 3 {
					t.Errorf("roles: want the 3 legacy roles merged onto the seeds, got %+v", r)
				}
			}
		})
	}
}
