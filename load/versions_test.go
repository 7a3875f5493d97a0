package load_test

import (
	"context"
	"errors"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"
	"github.com/jackc/pgx/v5"

	"github.com/cutover/cutover/extract"
	"github.com/cutover/cutover/internal/legacygen"
	"github.com/cutover/cutover/internal/pgcluster"
	"github.com/cutover/cutover/internal/pgtest"
	"github.com/cutover/cutover/internal/testkit"
	"github.com/cutover/cutover/load"
	"github.com/cutover/cutover/migrations"
	"github.com/cutover/cutover/reconcile"
)

// TestRunAcrossServerVersions: a legacy database on a real PostgreSQL 13
// server (the oldest INVENTORY.md allows) is read with every table in one
// batch, as that server has no TID range scans (its batches still have
// fingerprints), into a target on PostgreSQL 18 (the newest), and that
// target equals the one a run from the same data on this machine's
// PostgreSQL 15, read there in batches of a few pages, writes into a
// target on PostgreSQL 13. It verifies, a re-run writes nothing, a dry
// run after finds nothing to change, and a re-run after an edit writes
// the edit.
func TestRunAcrossServerVersions(t *testing.T) {
	t.Parallel()
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Minute)
	defer cancel()
	// migrated creates database target on a server and applies the schema.
	migrated := func(url func(string) string, admin *pgx.Conn) string {
		if _, err := admin.Exec(ctx, `CREATE DATABASE target`); err != nil {
			t.Fatal(err)
		}
		if _, err := migrations.Apply(ctx, url("target"), nil); err != nil {
			t.Fatalf("apply the target schema on %s: %v", url("target"), err)
		}
		return url("target")
	}
	url13, admin := releaseServer(t, pgcluster.PostgreSQL13)
	url18, admin18 := releaseServer(t, pgcluster.PostgreSQL18)
	if _, err := admin.Exec(ctx, `CREATE DATABASE legacy`); err != nil {
		t.Fatal(err)
	}
	src := url13("legacy")
	dst := migrated(url18, admin18)
	opts := legacygen.Options{Flavor: "v21", Drift: true, Anomalies: true, Users: 60, Seed: 11}
	if _, err := legacygen.Generate(ctx, src, opts); err != nil {
		t.Fatalf("generate the legacy database on PostgreSQL 13: %v", err)
	}
	var version int
	if err := admin.QueryRow(ctx, `SELECT current_setting('server_version_num')::int`).Scan(&version); err != nil || version/10000 != 13 {
		t.Fatalf("the source server's version: %d, %v; want 13", version, err)
	}

	// Batches of 64 kB: the larger tables would be cut into page ranges.
	const batchBytes = 64 << 10
	var said []string
	var saidMu sync.Mutex
	cfg := load.Config{SourceURL: src, TargetURL: dst, MaxRejects: -1, Workers: 2, BatchBytes: batchBytes,
		Progress: func(e load.Event) {
			saidMu.Lock()
			defer saidMu.Unlock()
			if e.Phase == "detect" {
				said = append(said, e.Message)
			}
		}}
	sum, err := load.Run(ctx, cfg)
	if err != nil {
		t.Fatalf("run from PostgreSQL 13: %v", err)
	}
	if !slices.ContainsFunc(said, func(m string) bool {
		return strings.HasPrefix(m, "source runs PostgreSQL 13,") && strings.Contains(m, "one batch")
	}) {
		t.Errorf("the run did not say how it reads a PostgreSQL 13 source; it said %q", said)
	}
	if !sum.OK() {
		t.Fatalf("conservation law fails: %+v", sum.Tables)
	}
	var tables, split int
	if err := pgtest.Connect(t, dst).QueryRow(ctx, `SELECT count(DISTINCT legacy_table), count(*) FILTER (WHERE batches > 1)
		FROM cutover.batches`).Scan(&tables, &split); err != nil {
		t.Fatal(err)
	}
	if tables < 80 || split != 0 {
		t.Errorf("batches recorded for %d tables, %d of them in page ranges; want every table, each in one batch", tables, split)
	}
	// Each with the fingerprint of its row versions, which a re-run reads
	// instead of hashing the rows again.
	var unprinted int
	if err := pgtest.Connect(t, dst).QueryRow(ctx, `SELECT count(*) FROM cutover.batches WHERE fingerprint IS NULL OR fingerprint NOT LIKE 'f:%'`).Scan(&unprinted); err != nil || unprinted != 0 {
		t.Errorf("%d batches without a fingerprint (%v), want none", unprinted, err)
	}

	// The same data on PostgreSQL 15, read in page ranges, into a target
	// on PostgreSQL 13.
	src15 := testkit.GeneratedLegacy(t, opts)
	dst13 := migrated(url13, admin)
	if _, err := load.Run(ctx, load.Config{SourceURL: src15, TargetURL: dst13, MaxRejects: -1, Workers: 2, BatchBytes: batchBytes}); err != nil {
		t.Fatalf("run from PostgreSQL 15 into PostgreSQL 13: %v", err)
	}
	if err := pgtest.Connect(t, dst13).QueryRow(ctx, `SELECT count(*) FILTER (WHERE batches > 1) FROM cutover.batches`).Scan(&split); err != nil || split == 0 {
		t.Errorf("from PostgreSQL 15: %d batches in page ranges, %v; want some (else this test compares nothing of them)", split, err)
	}
	if d := cmp.Diff(contentBesidesSeedTimes(t, ctx, dst13), contentBesidesSeedTimes(t, ctx, dst)); d != "" {
		t.Errorf("the PostgreSQL 18 target of a PostgreSQL 13 source differs from the PostgreSQL 13 target of a PostgreSQL 15 source (-15→13 +13→18):\n%s", d)
	}

	res, err := reconcile.Verify(ctx, reconcile.Config{SourceURL: src, TargetURL: dst, Workers: 2})
	if err != nil {
		t.Fatalf("verify from PostgreSQL 13: %v", err)
	}
	if !res.OK() {
		t.Errorf("verify from PostgreSQL 13: %d findings: %+v", len(res.Findings), res.Findings)
	}
	again, err := load.Run(ctx, cfg)
	if err != nil {
		t.Fatalf("re-run from PostgreSQL 13: %v", err)
	}
	if n := again.Changed(); n != 0 {
		t.Errorf("re-run from PostgreSQL 13 changed %d rows: %v", n, again.Changes)
	}
	d, err := load.DryRun(ctx, cfg, 3)
	if err != nil {
		t.Fatalf("dry run from PostgreSQL 13: %v", err)
	}
	if n := d.Changes(); n != 0 {
		t.Errorf("dry run after a finished run from PostgreSQL 13: %d changes: %+v", n, d.Targets)
	}
	// Changed on the source, the re-run finds the change.
	if _, err := pgtest.Connect(t, src).Exec(ctx, `UPDATE public.learn_drills SET title = title || ' (edited)'
		WHERE id = (SELECT id FROM public.learn_drills ORDER BY id LIMIT 1)`); err != nil {
		t.Fatal(err)
	}
	edited, err := load.Run(ctx, cfg)
	if err != nil {
		t.Fatalf("re-run after a change on PostgreSQL 13: %v", err)
	}
	if n := edited.Changes["learn_drills"]; n != 1 {
		t.Errorf("re-run after editing a drill on PostgreSQL 13: %d learn_drills changed (all: %v), want 1", n, edited.Changes)
	}
}

// releaseServer starts a throwaway server of release r for the test and
// returns its URLs by database and a connection to its postgres database.
func releaseServer(t *testing.T, r pgcluster.Release) (func(db string) string, *pgx.Conn) {
	t.Helper()
	cluster := pgtest.ReleaseServer(t, r, nil)
	return cluster.URL, pgtest.Connect(t, cluster.URL("postgres"))
}

// contentBesidesSeedTimes renders every public table of a target as one
// md5 each, as tableChecksums does, except that the seeded rows' times of
// creation and update are left out: each target's seeds were written when
// its schema was applied.
func contentBesidesSeedTimes(t *testing.T, ctx context.Context, target string) map[string]string {
	t.Helper()
	seeds, err := migrations.SeedIDs()
	if err != nil {
		t.Fatal(err)
	}
	out := tableDigests(t, ctx, target,
		`CASE WHEN to_jsonb(x)->>'id' = ANY($1) THEN (to_jsonb(x) - 'created_at' - 'updated_at')::text ELSE x::text END`, seeds)
	if len(out) < 60 {
		t.Fatalf("%d target tables read, want every one", len(out))
	}
	return out
}

// TestRefusesServersBefore13: on a real PostgreSQL 12 server, a run
// refuses the source and `schema apply` the target, each saying so before
// anything is written.
func TestRefusesServersBefore13(t *testing.T) {
	t.Parallel()
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Minute)
	defer cancel()
	url, admin := releaseServer(t, pgcluster.PostgreSQL12)
	if _, err := admin.Exec(ctx, `CREATE DATABASE legacy`); err != nil {
		t.Fatal(err)
	}
	if _, err := admin.Exec(ctx, `CREATE DATABASE target`); err != nil {
		t.Fatal(err)
	}

	dst := testkit.MigratedTarget(t)
	const bookkeeping = `SELECT coalesce(string_agg(c.relname::text, ', ' ORDER BY c.relname), '') FROM pg_class c
		WHERE c.relnamespace = to_regnamespace('cutover')`
	before := scalar[string](t, ctx, dst, bookkeeping)
	_, err := load.Run(ctx, load.Config{SourceURL: url("legacy"), TargetURL: dst, MaxRejects: -1})
	var sv *extract.SourceVersionError
	if !errors.As(err, &sv) || sv.Num/10000 != 12 || !load.Refused(err) || !strings.Contains(err.Error(), "PostgreSQL 12.22") {
		t.Errorf("run from PostgreSQL 12: %v, want a refusal of its version", err)
	}
	if after := scalar[string](t, ctx, dst, bookkeeping); after != before {
		t.Errorf("the refused run changed the target's bookkeeping from [%s] to [%s], want nothing written", before, after)
	}

	target := url("target")
	applied, err := migrations.Apply(ctx, target, nil)
	var tv *migrations.TargetVersionError
	if !errors.As(err, &tv) || tv.Num/10000 != 12 || len(applied) != 0 || !load.Refused(err) ||
		!strings.Contains(err.Error(), "PostgreSQL 12.22") || !strings.Contains(err.Error(), "nothing was written") {
		t.Errorf("schema apply on PostgreSQL 12: applied %v, %v; want a refusal of its version", applied, err)
	}
	if n := scalar[int64](t, ctx, target, `SELECT count(*) FROM pg_class WHERE relnamespace NOT IN ('pg_catalog'::regnamespace, 'information_schema'::regnamespace, 'pg_toast'::regnamespace)`); n != 0 {
		t.Errorf("the refused schema apply created %d relations, want none", n)
	}
}
