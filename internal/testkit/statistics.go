package testkit

import (
	"context"
	"testing"

	"github.com/jackc/pgx/v5"

	"github.com/cutover/cutover/internal/pgtest"
)

// CheckAnalyzed fails t unless every application table of target u that
// holds rows has planner statistics gathered after the table's last write.
// An ANALYZE by autovacuum counts too (between a failed run and its re-run
// it may get to a table first); without either, the table fails. The
// fixtures are small enough for ANALYZE to read every row, so statistics
// gathered before a table's last write count other than its rows.
func CheckAnalyzed(t testing.TB, u string) {
	t.Helper()
	ctx := context.Background()
	conn := pgtest.Connect(t, u)
	names := pgtest.PublicTables(t, conn)
	nonEmpty := 0
	for _, name := range names {
		var rows, estimated int64
		var analyzed bool
		if err := conn.QueryRow(ctx, `SELECT (SELECT count(*) FROM public.`+pgx.Identifier{name}.Sanitize()+`),
			c.reltuples::bigint, s.last_analyze IS NOT NULL OR s.last_autoanalyze IS NOT NULL
			FROM pg_class c JOIN pg_stat_user_tables s ON s.relid = c.oid WHERE c.oid = $1::regclass`,
			pgx.Identifier{"public", name}.Sanitize()).Scan(&rows, &estimated, &analyzed); err != nil {
			t.Fatalf("statistics of %s: %v", name, err)
		}
		if rows == 0 {
			continue
		}
		nonEmpty++
		if !analyzed || estimated != rows {
			t.Errorf("%s: analyzed %v, its statistics count %d rows of %d", name, analyzed, estimated, rows)
		}
	}
	if nonEmpty < 40 {
		t.Errorf("only %d of %d application tables hold rows: the check proves little", nonEmpty, len(names))
	}
}
