// Package migrations owns the target schema: the 13 SQL files beside this
// file, embedded in the binary and applied with pressly/goose v3.
//
// Apply records, next to goose's version table, the SHA-256 of every file it
// applied, and refuses to go on when an applied file has changed since
// (ErrTampered names the file). Two concurrent Apply calls never interleave:
// both goose and Apply hold PostgreSQL advisory locks. All bookkeeping lives
// in the schema named by BookkeepingSchema, so that `public` holds exactly the
// application's tables.
package migrations

import (
	"context"
	"crypto/sha256"
	"database/sql"
	"embed"
	"encoding/hex"
	"errors"
	"fmt"
	"io/fs"
	"log/slog"
	"sort"
	"strconv"
	"strings"
	"time"

	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/stdlib"
	"github.com/pressly/goose/v3"
	"github.com/pressly/goose/v3/lock"

	"github.com/cutover/cutover/internal/dburl"
)

//go:embed *.sql
var files embed.FS

// BookkeepingSchema is the schema of the cutover's own tables in the target.
const BookkeepingSchema = "cutover"

// VersionTable records the migrations applied to a target: a database
// that has it is a cutover target.
const VersionTable = BookkeepingSchema + ".schema_migrations"

const (
	versionTable  = VersionTable
	checksumTable = BookkeepingSchema + ".schema_checksums"
	// applyLockID is the advisory lock that serialises Apply (goose holds
	// its own as well, for the duration of Up).
	applyLockID = 7_401_100_001
)

// FS returns the embedded migration files.
func FS() fs.FS { return files }

// File is one embedded migration.
type File struct {
	Version int64
	Name    string // e.g. "0001_auth.sql"
	SHA256  string
}

// Files lists the embedded migrations in version order.
func Files() ([]File, error) {
	entries, err := fs.Glob(files, "*.sql")
	if err != nil {
		return nil, err
	}
	sort.Strings(entries)
	out := make([]File, 0, len(entries))
	for _, name := range entries {
		prefix, _, _ := strings.Cut(name, "_")
		v, err := strconv.ParseInt(prefix, 10, 64)
		if err != nil {
			return nil, fmt.Errorf("migration %s: name must start with a number: %w", name, err)
		}
		b, err := files.ReadFile(name)
		if err != nil {
			return nil, err
		}
		sum := sha256.Sum256(b)
		out = append(out, File{Version: v, Name: name, SHA256: hex.EncodeToString(sum[:])})
	}
	return out, nil
}

// TamperedError reports an applied migration whose embedded file differs from
// what was applied.
type TamperedError struct {
	File             string
	Applied, Current string // SHA-256 sums
}

func (e *TamperedError) Error() string {
	return fmt.Sprintf("migration %s was changed after it was applied (applied sha256 %.12s…, file now %.12s…): restore the file or apply a new migration instead",
		e.File, e.Applied, e.Current)
}

// ErrTampered matches every *TamperedError with errors.Is.
var ErrTampered = errors.New("applied migration changed")

// Is makes errors.Is(err, ErrTampered) true for a TamperedError.
func (e *TamperedError) Is(target error) bool { return target == ErrTampered }

// Status is the state of one migration in a target database.
type Status struct {
	File      string
	Version   int64
	Applied   bool
	AppliedAt time.Time // zero when pending
	Tampered  bool      // applied, but the file has changed since
}

// Apply applies every pending migration to the database at targetURL and
// returns the files it applied. It fails with a *TamperedError, before
// applying anything, when an applied migration's file has changed, with a
// *TargetVersionError on a PostgreSQL older than MinTargetVersion, with a
// *TargetEncodingError when the database is not in UTF-8, and with a
// *CreatePrivilegeError when the role may not create what it would (both
// before creating anything).
func Apply(ctx context.Context, targetURL string, logger *slog.Logger) (_ []string, err error) {
	defer func() { err = dburl.ExplainLostOn(ctx, "target", err) }() // each migration is its own transaction
	conn, err := dburl.Connect(ctx, "target", targetURL, dburl.AppName(appName))
	if err != nil {
		return nil, err
	}
	defer conn.Close(context.Background())
	if _, err := conn.Exec(ctx, "SELECT pg_advisory_lock($1)", int64(applyLockID)); err != nil {
		return nil, fmt.Errorf("schema apply: take advisory lock: %w", err)
	}
	defer conn.Exec(context.Background(), "SELECT pg_advisory_unlock($1)", int64(applyLockID))

	if err := checkTargetVersion(ctx, conn, dburl.Describe(targetURL)); err != nil {
		return nil, err
	}
	if err := CheckTargetEncoding(ctx, conn, dburl.Describe(targetURL)); err != nil {
		return nil, err
	}
	if err := checkBookkeepingRights(ctx, conn, true); err != nil {
		return nil, err
	}
	if err := checkNewDatabase(ctx, conn); err != nil {
		return nil, err
	}
	if err := checkCreatePrivileges(ctx, conn); err != nil {
		return nil, err
	}
	if err := ensureBookkeeping(ctx, conn); err != nil {
		return nil, err
	}
	if _, err := verify(ctx, conn); err != nil {
		return nil, err
	}
	provider, db, err := newProvider(targetURL, logger)
	if err != nil {
		return nil, err
	}
	defer db.Close()
	results, err := provider.Up(ctx)
	var applied []string
	for _, r := range results {
		if r.Error == nil && r.Source != nil {
			applied = append(applied, fileName(r.Source.Path))
		}
	}
	if err != nil {
		return applied, fmt.Errorf("schema apply: %w", err)
	}
	if err := recordChecksums(ctx, conn); err != nil {
		return applied, err
	}
	return applied, nil
}

// appName names the sessions of the schema commands in pg_stat_activity.
const appName = "cutover schema"

// Statuses reports every embedded migration's state in the target database,
// without changing it. A database no run may write (a *TargetEncodingError)
// is an error returned with the statuses, which are read all the same.
func Statuses(ctx context.Context, targetURL string) (_ []Status, err error) {
	defer func() { err = dburl.ExplainLostOn(ctx, "target", err) }()
	conn, err := dburl.Connect(ctx, "target", targetURL, dburl.AppName(appName))
	if err != nil {
		return nil, err
	}
	defer conn.Close(context.Background())
	st, err := statuses(ctx, conn)
	if err != nil {
		return nil, err
	}
	return st, CheckTargetEncoding(ctx, conn, dburl.Describe(targetURL))
}

func statuses(ctx context.Context, conn *pgx.Conn) ([]Status, error) {
	all, err := Files()
	if err != nil {
		return nil, err
	}
	out := make([]Status, len(all))
	for i, f := range all {
		out[i] = Status{File: f.Name, Version: f.Version}
	}
	if err := checkBookkeepingRights(ctx, conn, false); err != nil {
		return nil, err
	}
	var exists bool
	if err := conn.QueryRow(ctx, "SELECT to_regclass($1) IS NOT NULL", versionTable).Scan(&exists); err != nil {
		return nil, fmt.Errorf("schema status: %w", err)
	}
	if !exists {
		return out, nil
	}
	// goose's tstamp is a timestamp without time zone, written as now() in
	// the session's TimeZone: read it back in that zone.
	rows, err := conn.Query(ctx, `SELECT version_id, max(tstamp) AT TIME ZONE current_setting('TimeZone') FROM `+versionTable+`
		WHERE is_applied AND version_id > 0 GROUP BY version_id`)
	if err != nil {
		return nil, fmt.Errorf("schema status: %w", err)
	}
	appliedAt := map[int64]time.Time{}
	for rows.Next() {
		var v int64
		var at time.Time
		if err := rows.Scan(&v, &at); err != nil {
			return nil, err
		}
		appliedAt[v] = at
	}
	if err := rows.Err(); err != nil {
		return nil, fmt.Errorf("schema status: %w", err)
	}
	tampered, err := verify(ctx, conn)
	if err != nil && !errors.Is(err, ErrTampered) {
		return nil, err
	}
	for i := range out {
		if at, ok := appliedAt[out[i].Version]; ok {
			out[i].Applied, out[i].AppliedAt = true, at
		}
		out[i].Tampered = tampered[out[i].File]
	}
	return out, nil
}

func ensureBookkeeping(ctx context.Context, conn *pgx.Conn) error {
	// Only when missing: CREATE SCHEMA IF NOT EXISTS asks for CREATE on the
	// database even when the schema exists, which a role another role
	// applied the schema for need not have.
	var exists bool
	if err := conn.QueryRow(ctx, `SELECT to_regclass($1) IS NOT NULL`, checksumTable).Scan(&exists); err != nil {
		return fmt.Errorf("schema apply: read the bookkeeping schema %s: %w", BookkeepingSchema, err)
	}
	if exists {
		return nil
	}
	_, err := conn.Exec(ctx, `CREATE SCHEMA IF NOT EXISTS `+BookkeepingSchema+`;
CREATE TABLE IF NOT EXISTS `+checksumTable+` (
	version    bigint PRIMARY KEY,
	file       text NOT NULL,
	sha256     text NOT NULL,
	applied_at timestamptz NOT NULL DEFAULT now()
)`)
	if err != nil {
		return fmt.Errorf("schema apply: create bookkeeping schema %s: %w", BookkeepingSchema, err)
	}
	return nil
}

// verify compares the recorded checksums with the embedded files. It returns
// the set of changed files and, when there is one, a *TamperedError for the
// first of them.
func verify(ctx context.Context, conn *pgx.Conn) (map[string]bool, error) {
	var exists bool
	if err := conn.QueryRow(ctx, "SELECT to_regclass($1) IS NOT NULL", checksumTable).Scan(&exists); err != nil {
		return nil, fmt.Errorf("verify migration checksums: %w", err)
	}
	if !exists {
		return nil, nil
	}
	all, err := Files()
	if err != nil {
		return nil, err
	}
	current := map[int64]File{}
	for _, f := range all {
		current[f.Version] = f
	}
	rows, err := conn.Query(ctx, "SELECT version, file, sha256 FROM "+checksumTable+" ORDER BY version")
	if err != nil {
		return nil, fmt.Errorf("verify migration checksums: %w", err)
	}
	type rec struct {
		v          int64
		file, hash string
	}
	recs, err := pgx.CollectRows(rows, func(r pgx.CollectableRow) (rec, error) {
		var x rec
		err := r.Scan(&x.v, &x.file, &x.hash)
		return x, err
	})
	if err != nil {
		return nil, fmt.Errorf("verify migration checksums: %w", err)
	}
	tampered := map[string]bool{}
	var first error
	for _, r := range recs {
		f, ok := current[r.v]
		if !ok {
			continue // applied by a newer binary; goose reports it as untracked
		}
		if f.SHA256 != r.hash {
			tampered[f.Name] = true
			if first == nil {
				first = &TamperedError{File: f.Name, Applied: r.hash, Current: f.SHA256}
			}
		}
	}
	return tampered, first
}

func recordChecksums(ctx context.Context, conn *pgx.Conn) error {
	all, err := Files()
	if err != nil {
		return err
	}
	batch := &pgx.Batch{}
	for _, f := range all {
		batch.Queue(`INSERT INTO `+checksumTable+` (version, file, sha256)
			SELECT $1, $2, $3 WHERE EXISTS (
				SELECT 1 FROM `+versionTable+` WHERE version_id = $1 AND is_applied)
			ON CONFLICT (version) DO NOTHING`, f.Version, f.Name, f.SHA256)
	}
	if err := conn.SendBatch(ctx, batch).Close(); err != nil {
		return fmt.Errorf("schema apply: record checksums: %w", err)
	}
	return nil
}

func newProvider(targetURL string, logger *slog.Logger) (*goose.Provider, *sql.DB, error) {
	cfg, err := pgx.ParseConfig(targetURL)
	if err != nil {
		return nil, nil, &dburl.Error{Role: "target", Server: dburl.Redact(targetURL), Err: err}
	}
	dburl.StartSessions(&cfg.Config)
	if _, named := cfg.RuntimeParams["application_name"]; !named {
		cfg.RuntimeParams["application_name"] = appName
	}
	db := stdlib.OpenDB(*cfg)
	locker, err := lock.NewPostgresSessionLocker(lock.WithLockTimeout(1, 600))
	if err != nil {
		db.Close()
		return nil, nil, err
	}
	opts := []goose.ProviderOption{
		goose.WithTableName(versionTable),
		goose.WithSessionLocker(locker),
		goose.WithDisableGlobalRegistry(true),
	}
	if logger == nil {
		logger = slog.New(slog.DiscardHandler)
	}
	opts = append(opts, goose.WithSlog(logger))
	p, err := goose.NewProvider(goose.DialectPostgres, db, files, opts...)
	if err != nil {
		db.Close()
		return nil, nil, fmt.Errorf("schema apply: %w", err)
	}
	return p, db, nil
}

func fileName(path string) string {
	if i := strings.LastIndexByte(path, '/'); i >= 0 {
		return path[i+1:]
	}
	return path
}
