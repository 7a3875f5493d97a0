package extract_test

import (
	"context"
	"fmt"
	"testing"

	"github.com/jackc/pgx/v5"

	"github.com/cutover/cutover/extract"
	"github.com/cutover/cutover/internal/pgtest"
)

// copyRig is a source table and its empty stage copy, in two databases of
// the test server.
type copyRig struct {
	table                 extract.Table
	sourceURL, targetURL  string
	snapConn, src, target *pgx.Conn
	snap                  *extract.Snapshot
}

// newCopyRig fills public.copied in a source database with rows rows of
// several types (NULLs, text wider than a 64 KiB copy chunk, timestamps)
// and creates its stage table in a target database.
func newCopyRig(tb testing.TB, rows int) *copyRig {
	tb.Helper()
	ctx := context.Background()
	r := &copyRig{sourceURL: pgtest.NewDB(tb), targetURL: pgtest.NewDB(tb)}
	r.table = extract.Table{Name: "copied", Columns: []extract.Column{
		{Name: "id", Type: "uuid"}, {Name: "n", Type: "bigint"}, {Name: "note", Type: "text"},
		{Name: "at", Type: "timestamp with time zone"}, {Name: "doc", Type: "jsonb"},
	}}
	setup := pgtest.Connect(tb, r.sourceURL)
	if _, err := setup.Exec(ctx, fmt.Sprintf(`
		CREATE TABLE copied (id uuid PRIMARY KEY, n bigint, note text, at timestamptz, doc jsonb);
		INSERT INTO copied SELECT gen_random_uuid(), i,
			CASE WHEN i %% 97 = 0 THEN NULL WHEN i %% 1000 = 1 THEN repeat('wide ', 20000) ELSE 'row ' || i END,
			'2024-01-01'::timestamptz + i * interval '1 minute',
			CASE WHEN i %% 5 = 0 THEN jsonb_build_object('i', i, 'tags', jsonb_build_array('a', i)) END
		FROM generate_series(1, %d) i;
		ANALYZE copied;`, rows)); err != nil {
		tb.Fatal(err)
	}
	r.target = pgtest.Connect(tb, r.targetURL)
	if _, err := r.target.Exec(ctx, "CREATE SCHEMA stage; "+extract.CreateStageSQL("stage", r.table)); err != nil {
		tb.Fatal(err)
	}
	r.snapConn = pgtest.Connect(tb, r.sourceURL)
	snap, err := extract.OpenSnapshot(ctx, r.snapConn)
	if err != nil {
		tb.Fatal(err)
	}
	r.snap = snap
	tb.Cleanup(func() { snap.Close(ctx) })
	r.src = pgtest.Connect(tb, r.sourceURL)
	return r
}

// copyAll copies the table in batches into the (emptied) stage table and
// returns the rows copied.
func (r *copyRig) copyAll(tb testing.TB, batches int) int64 {
	tb.Helper()
	ctx := context.Background()
	if _, err := r.target.Exec(ctx, "TRUNCATE stage.copied"); err != nil {
		tb.Fatal(err)
	}
	var total int64
	var pages int64
	if err := r.src.QueryRow(ctx, `SELECT pg_relation_size('copied') / current_setting('block_size')::bigint`).Scan(&pages); err != nil {
		tb.Fatal(err)
	}
	bs := extract.SplitPages("copied", pages, batches)
	if batches > 1 && len(bs) != batches {
		tb.Fatalf("%d pages split into %d batches, want %d", pages, len(bs), batches)
	}
	for _, b := range bs {
		n, err := extract.CopyBatch(ctx, r.src, r.snap.ID, r.target.PgConn(), "stage", r.table, b, nil)
		if err != nil {
			tb.Fatalf("%s: %v", b, err)
		}
		total += n
	}
	return total
}

// TestCopyBatch checks that the batches of a table copy every row exactly
// once and each value unchanged, including NULLs and values wider than the
// chunks the rows cross in.
func TestCopyBatch(t *testing.T) {
	ctx := context.Background()
	const rows = 5000
	r := newCopyRig(t, rows)
	if n := r.copyAll(t, 3); n != rows {
		t.Fatalf("copied %d rows, want %d", n, rows)
	}
	digest := func(conn *pgx.Conn, table string) string {
		t.Helper()
		var d string
		if err := conn.QueryRow(ctx, `SELECT count(*) || ':' || md5(string_agg(t::text, '|' ORDER BY id)) FROM `+table+` t`).Scan(&d); err != nil {
			t.Fatal(err)
		}
		return d
	}
	want, got := digest(r.src, "public.copied"), digest(r.target, "stage.copied")
	if got != want {
		t.Errorf("stage digest %s, source digest %s", got, want)
	}
	var wide, nulls int
	if err := r.target.QueryRow(ctx, `SELECT count(*) FILTER (WHERE length(note) = 100000), count(*) FILTER (WHERE note IS NULL) FROM stage.copied`).Scan(&wide, &nulls); err != nil {
		t.Fatal(err)
	}
	if wide != 5 || nulls != rows/97 {
		t.Errorf("stage has %d wide notes and %d NULL notes, want 5 and %d", wide, nulls, rows/97)
	}
}

// BenchmarkCopyBatch measures the copy of one table in four batches from
// one database of the test server to another: what the extract and the
// bench's raw pipe are made of.
func BenchmarkCopyBatch(b *testing.B) {
	const rows = 200000
	r := newCopyRig(b, rows)
	b.ResetTimer()
	for range b.N {
		if n := r.copyAll(b, 4); n != rows {
			b.Fatalf("copied %d rows, want %d", n, rows)
		}
	}
	b.ReportMetric(float64(rows*b.N)/b.Elapsed().Seconds(), "rows/s")
}
