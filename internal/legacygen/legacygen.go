// Package legacygen builds a legacy database (INVENTORY.md, DRIFT.md) and
// fills it with deterministic, realistic, anomaly-rich data: the source side
// of every cutover test and benchmark.
//
// Generate creates the schema of one flavor (v21, v16, v15), optionally with
// the drift tables, and streams rows into every table with binary COPY,
// parents before children, several tables at a time. Everything is derived
// from Options.Seed: ids come from PCG streams keyed by (seed, table, user),
// timestamps are offsets from a fixed base date, so the same Options give the
// same database byte for byte. When Options.Anomalies is set, it plants the
// cases MAPPING.md settles (duplicate emails, tenant mismatches, expired
// sessions, drift duplicates, catalog collisions, …) and lists each in the
// Manifest with the disposition and reason a correct cutover must reach.
package legacygen

import (
	"context"
	"errors"
	"fmt"
	"runtime"
	"slices"
	"time"

	"github.com/jackc/pgx/v5"

	"github.com/cutover/cutover/internal/dburl"
	"github.com/cutover/cutover/internal/legacyschema"
)

// Flavors lists the legacy flavors, newest first.
var Flavors = []string{"v21", "v16", "v15"}

// Options say what Generate builds. Zero anomaly counts mean "the default",
// which scales with Users (about 0.5 % of users, at least 2); a negative
// count means none of that kind. Counts are ignored unless Anomalies is set.
type Options struct {
	Flavor    string // v21 (default), v16 or v15
	Drift     bool   // also create and fill the drift tables habit_logs, user_inbox, quests
	Anomalies bool   // plant the anomalies below and list them in the manifest
	Users     int    // number of users (default 2000)
	Seed      int64  // same seed, same data

	DuplicateEmails      int // later users whose email equals an older user's ignoring case
	TenantMismatches     int // per table: child rows whose user differs from the parent's owner
	ExpiredSessions      int // sessions whose expires_at lies in the past (default 10 % of users)
	WalletMismatches     int // wallets that disagree with the user's ledger sum
	PausesWithoutSession int // v15: focus_pause_state rows with NULL session_id
	DriftRows            int // ordinary (loadable) rows per drift table (default 5 % of users, at least 20)

	// Parallel is the number of tables copied at once (default: CPUs + 1).
	Parallel int
}

// withDefaults fills in defaults and checks the options.
func (o Options) withDefaults() (Options, error) {
	if o.Flavor == "" {
		o.Flavor = "v21"
	}
	if !slices.Contains(Flavors, o.Flavor) {
		return o, fmt.Errorf("legacygen: unknown flavor %q (want v21, v16 or v15)", o.Flavor)
	}
	if o.Users == 0 {
		o.Users = 2000
	}
	if o.Users < 1 {
		return o, fmt.Errorf("legacygen: users must be positive, got %d", o.Users)
	}
	if o.Parallel <= 0 {
		o.Parallel = runtime.NumCPU() + 1
	}
	small := max(2, o.Users/200)
	def := func(n *int, d int) {
		switch {
		case !o.Anomalies || *n < 0:
			*n = 0
		case *n == 0:
			*n = d
		}
	}
	def(&o.DuplicateEmails, small)
	def(&o.TenantMismatches, small)
	def(&o.ExpiredSessions, max(2, o.Users/10))
	def(&o.WalletMismatches, small)
	def(&o.PausesWithoutSession, small)
	if o.Flavor != "v15" {
		o.PausesWithoutSession = 0
	}
	switch {
	case !o.Drift || o.DriftRows < 0:
		o.DriftRows = 0
	case o.DriftRows == 0:
		o.DriftRows = max(20, o.Users/20)
	}
	return o, nil
}

// SchemaFiles returns the files of testdata/legacy that build a flavor, in
// order.
func SchemaFiles(flavor string, drift bool) ([]string, error) {
	return legacyschema.Files(flavor, drift)
}

// CreateSchema creates a legacy database of the given flavor in the empty
// database at url: it executes the embedded SQL files in order, in one
// transaction. The seed rows get random ids and now() timestamps, as in a
// real installation; Generate pins them.
func CreateSchema(ctx context.Context, url, flavor string, drift bool) error {
	conn, err := dburl.Connect(ctx, "legacy", url)
	if err != nil {
		return err
	}
	defer conn.Close(context.WithoutCancel(ctx))
	return createSchema(ctx, conn, flavor, drift)
}

func createSchema(ctx context.Context, conn *pgx.Conn, flavor string, drift bool) error {
	return pgx.BeginFunc(ctx, conn, func(tx pgx.Tx) error { return legacyschema.CreateIn(ctx, tx, flavor, drift) })
}

// Generate creates the legacy schema in the empty database at url and fills
// it as opts says. The returned manifest counts the rows of every table and
// lists every planted anomaly with its expected disposition.
//
// While it copies, the primary, unique and foreign keys are dropped; they
// are re-created (and so validated) at the end. A failed Generate leaves a
// database to throw away. LEGACYGEN_TRACE=1 logs each table's copy time.
func Generate(ctx context.Context, url string, opts Options) (*Manifest, error) {
	opts, err := opts.withDefaults()
	if err != nil {
		return nil, err
	}
	conn, err := dburl.Connect(ctx, "legacy", url)
	if err != nil {
		return nil, err
	}
	defer conn.Close(context.WithoutCancel(ctx))

	var tables int
	if err := conn.QueryRow(ctx, `SELECT count(*) FROM pg_class
		WHERE relnamespace = 'public'::regnamespace AND relkind IN ('r', 'p', 'v', 'm', 'S')`).Scan(&tables); err != nil {
		return nil, fmt.Errorf("legacygen: inspect database: %w", err)
	}
	if tables > 0 {
		return nil, errors.New("legacygen: the database is not empty (schema public holds relations); generate needs a fresh database")
	}
	if err := createSchema(ctx, conn, opts.Flavor, opts.Drift); err != nil {
		return nil, err
	}

	g := newGen(opts)
	if err := g.pinSeeds(ctx, conn); err != nil {
		return nil, err
	}
	g.plan()

	seeded, err := seedCounts(ctx, conn)
	if err != nil {
		return nil, err
	}
	deps, err := fkDeps(ctx, conn)
	if err != nil {
		return nil, err
	}
	keys, err := dropKeys(ctx, conn)
	if err != nil {
		return nil, err
	}
	pool, err := dburl.Pool(ctx, "legacy", url, int32(g.o.Parallel))
	if err != nil {
		return nil, err
	}
	defer pool.Close()
	counts, err := g.copyAll(ctx, pool, deps)
	if err != nil {
		return nil, err
	}
	if err := keys.restore(ctx, pool, g.o.Parallel, counts); err != nil {
		return nil, err
	}
	for t, n := range seeded {
		counts[t] += n
	}
	m := &Manifest{
		Flavor:    opts.Flavor,
		Seed:      opts.Seed,
		Users:     opts.Users,
		Drift:     opts.Drift,
		Anomalies: g.notes.sorted(),
		Tables:    counts,
	}
	return m, nil
}

// seedCounts counts the rows seed.sql put into each table.
func seedCounts(ctx context.Context, conn *pgx.Conn) (map[string]int64, error) {
	out := map[string]int64{}
	for _, t := range []string{"roles", "entitlements", "role_entitlements", "feature_flags", "onboarding_flows", "onboarding_steps"} {
		var n int64
		if err := conn.QueryRow(ctx, "SELECT count(*) FROM "+t).Scan(&n); err != nil {
			return nil, fmt.Errorf("legacygen: count %s: %w", t, err)
		}
		out[t] = n
	}
	return out, nil
}

// fkDeps returns, for every public table, the tables its foreign keys point
// at (self-references left out): the load order.
func fkDeps(ctx context.Context, conn *pgx.Conn) (map[string][]string, error) {
	rows, err := conn.Query(ctx, `SELECT DISTINCT c.relname::text, r.relname::text
		FROM pg_constraint k
		JOIN pg_class c ON c.oid = k.conrelid
		JOIN pg_class r ON r.oid = k.confrelid
		WHERE k.contype = 'f' AND c.relnamespace = 'public'::regnamespace AND k.conrelid <> k.confrelid`)
	if err != nil {
		return nil, fmt.Errorf("legacygen: read foreign keys: %w", err)
	}
	deps := map[string][]string{}
	for rows.Next() {
		var child, parent string
		if err := rows.Scan(&child, &parent); err != nil {
			return nil, err
		}
		deps[child] = append(deps[child], parent)
	}
	return deps, rows.Err()
}

// Base is the fixed "now" of every generated database: all timestamps are
// offsets from it.
var Base = time.Date(2025, 6, 1, 0, 0, 0, 0, time.UTC)

// flavorHas reports whether a table exists in a flavor (drift aside).
func flavorHas(flavor, table string) bool {
	switch table {
	case "user_rewards", "user_market_purchases", "market_transactions", "market_recommendations":
		return flavor == "v21"
	case "user_purchases":
		return flavor != "v21"
	}
	return true
}

func isDrift(table string) bool {
	return table == "habit_logs" || table == "user_inbox" || table == "quests"
}

// DatabaseSize returns pg_database_size of the database at url, in bytes.
func DatabaseSize(ctx context.Context, url string) (int64, error) {
	conn, err := dburl.Connect(ctx, "legacy", url)
	if err != nil {
		return 0, err
	}
	defer conn.Close(context.WithoutCancel(ctx))
	var n int64
	if err := conn.QueryRow(ctx, "SELECT pg_database_size(current_database())").Scan(&n); err != nil {
		return 0, fmt.Errorf("legacygen: database size: %w", err)
	}
	return n, nil
}
