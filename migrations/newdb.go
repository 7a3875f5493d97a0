package migrations

import (
	"context"
	"fmt"
	"io/fs"
	"regexp"
	"slices"
	"strings"

	"github.com/jackc/pgx/v5"

	"github.com/cutover/cutover/internal/dburl"
	"github.com/cutover/cutover/internal/prose"
)

// NotNewDatabaseError refuses to apply the schema to a database that
// already holds tables of the names the schema creates, with no migration
// of it applied: the legacy database given as the target, most often. The
// first migration would fail on the first such table, after the schema's
// records were created there (and a source holding them looks like a
// target). Nothing was written.
type NotNewDatabaseError struct {
	Tables []string
}

func (e *NotNewDatabaseError) Error() string {
	list := prose.List(e.Tables, 5)
	return fmt.Sprintf("schema apply: the database already holds tables the target schema creates (%s), and no migration of it was applied: "+
		"it is not a new database (the legacy database, given as the target?). Apply the schema to a new, empty database (nothing was written)", list)
}

// createTable finds the tables the migrations create.
var createTable = regexp.MustCompile(`(?mi)^\s*CREATE TABLE (?:IF NOT EXISTS )?(?:public\.)?"?(\w+)"?`)

// CreatedTables lists, sorted, the tables of public the migrations create.
func CreatedTables() ([]string, error) {
	out, err := matchMigrations(createTable, func(string) bool { return true })
	if err != nil {
		return nil, fmt.Errorf("read the tables the migrations create: %w", err)
	}
	return out, nil
}

// matchMigrations returns, sorted and once each, the first group of every
// match of re in the embedded migrations whose file name keep accepts.
func matchMigrations(re *regexp.Regexp, keep func(name string) bool) ([]string, error) {
	var out []string
	err := fs.WalkDir(FS(), ".", func(path string, d fs.DirEntry, err error) error {
		if err != nil || d.IsDir() || !strings.HasSuffix(path, ".sql") || !keep(path) {
			return err
		}
		b, err := fs.ReadFile(FS(), path)
		if err != nil {
			return err
		}
		for _, m := range re.FindAllStringSubmatch(string(b), -1) {
			out = append(out, m[1])
		}
		return nil
	})
	slices.Sort(out)
	return slices.Compact(out), err
}

// CheckNew returns a *NotNewDatabaseError when the database at targetURL
// records no applied migration and holds a table the migrations create:
// what `schema status` says of the legacy database given as the target,
// whose migrations would all show as pending.
func CheckNew(ctx context.Context, targetURL string) error {
	conn, err := dburl.Connect(ctx, "target", targetURL, dburl.AppName(appName))
	if err != nil {
		return err
	}
	defer conn.Close(context.WithoutCancel(ctx))
	return checkNewDatabase(ctx, conn)
}

// checkNewDatabase returns a NotNewDatabaseError when the database of conn
// records no applied migration and holds a table the migrations create.
func checkNewDatabase(ctx context.Context, conn *pgx.Conn) error {
	var exists bool
	if err := conn.QueryRow(ctx, `SELECT to_regclass($1) IS NOT NULL`, versionTable).Scan(&exists); err != nil {
		return fmt.Errorf("schema apply: read the schema's records: %w", err)
	}
	if exists {
		var applied bool
		if err := conn.QueryRow(ctx, `SELECT EXISTS (SELECT FROM `+versionTable+` WHERE version_id > 0 AND is_applied)`).Scan(&applied); err != nil {
			return fmt.Errorf("schema apply: read the schema's records: %w", err)
		}
		if applied {
			return nil
		}
	}
	created, err := CreatedTables()
	if err != nil {
		return err
	}
	rows, err := conn.Query(ctx, `SELECT c.relname::text FROM pg_class c
		WHERE c.relnamespace = 'public'::regnamespace AND c.relkind IN ('r', 'p') AND c.relname = ANY($1)
		ORDER BY c.relname`, created)
	if err != nil {
		return fmt.Errorf("schema apply: read the database's tables: %w", err)
	}
	held, err := pgx.CollectRows(rows, pgx.RowTo[string])
	if err != nil {
		return fmt.Errorf("schema apply: read the database's tables: %w", err)
	}
	if len(held) > 0 {
		return &NotNewDatabaseError{Tables: held}
	}
	return nil
}
