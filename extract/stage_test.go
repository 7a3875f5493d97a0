package extract_test

import (
	"context"
	"strings"
	"testing"

	"github.com/jackc/pgx/v5"

	"github.com/cutover/cutover/extract"
	"github.com/cutover/cutover/internal/pgtest"
)

// TestChecksumBatch checks the batch checksum's contract: it counts the
// rows, does not depend on their physical order, changes with any column of
// any row, and comes with the fingerprint FingerprintBatch reads alone,
// which changes with every rewritten row even when its content stays. A
// batch copied into the stage (StageBatch) gets the checksum HashBatch
// reads without copying, for every column type (point has no extended
// hash, which the server-side hash of earlier builds needed).
func TestChecksumBatch(t *testing.T) {
	ctx := context.Background()
	url := pgtest.NewDB(t)
	conn, err := pgx.Connect(ctx, url)
	if err != nil {
		t.Fatal(err)
	}
	defer conn.Close(ctx)
	if _, err := conn.Exec(ctx, `
		CREATE TABLE hashed (id uuid PRIMARY KEY, name text, n int, at timestamptz);
		INSERT INTO hashed SELECT gen_random_uuid(), 'row ' || i, i, '2024-01-01'::timestamptz + i * interval '1 hour'
			FROM generate_series(1, 500) i;
		CREATE TABLE texted (id uuid PRIMARY KEY, at point);
		INSERT INTO texted SELECT gen_random_uuid(), point(i, i) FROM generate_series(1, 7) i;
		CREATE SCHEMA stage;`); err != nil {
		t.Fatal(err)
	}
	tables := map[string]extract.Table{
		"hashed": {Name: "hashed", Columns: []extract.Column{{Name: "id", Type: "uuid"}, {Name: "name", Type: "text"},
			{Name: "n", Type: "integer"}, {Name: "at", Type: "timestamp with time zone"}}},
		"texted": {Name: "texted", Columns: []extract.Column{{Name: "id", Type: "uuid"}, {Name: "at", Type: "point"}}},
	}
	for _, tb := range tables {
		if _, err := conn.Exec(ctx, extract.CreateStageSQL("stage", tb)); err != nil {
			t.Fatal(err)
		}
	}
	sum := func(table string) extract.Checksum {
		t.Helper()
		snapConn, err := pgx.Connect(ctx, url)
		if err != nil {
			t.Fatal(err)
		}
		snap, err := extract.OpenSnapshot(ctx, snapConn)
		if err != nil {
			t.Fatal(err)
		}
		defer snap.Close(ctx)
		reader, err := pgx.Connect(ctx, url)
		if err != nil {
			t.Fatal(err)
		}
		defer reader.Close(ctx)
		if _, err := conn.Exec(ctx, "TRUNCATE stage."+table); err != nil {
			t.Fatal(err)
		}
		var total extract.Checksum
		var batches []extract.Checksum
		var pages int64
		if err := conn.QueryRow(ctx, `SELECT pg_relation_size($1) / current_setting('block_size')::bigint`, table).Scan(&pages); err != nil {
			t.Fatal(err)
		}
		for i, b := range extract.SplitPages(table, pages, 2) {
			c, err := extract.HashBatch(ctx, reader, snap.ID, tables[table], b)
			if err != nil {
				t.Fatalf("batch %d: %v", i+1, err)
			}
			fp, err := extract.FingerprintBatch(ctx, reader, snap.ID, b)
			if err != nil {
				t.Fatalf("batch %d: %v", i+1, err)
			}
			if fp == "" || fp != c.Fingerprint {
				t.Errorf("%s batch %d: FingerprintBatch %q, HashBatch's fingerprint %q; want the same, not empty", table, i+1, fp, c.Fingerprint)
			}
			staged, err := extract.StageBatch(ctx, reader, snap.ID, conn.PgConn(), "stage", tables[table], b, nil)
			if err != nil {
				t.Fatalf("batch %d: %v", i+1, err)
			}
			if staged != c {
				t.Errorf("%s batch %d: StageBatch's checksum %+v, HashBatch's %+v; want the same", table, i+1, staged, c)
			}
			batches = append(batches, c)
			total.Fingerprint += c.Fingerprint + " "
		}
		var same bool
		if err := conn.QueryRow(ctx, `SELECT (SELECT array_agg(s ORDER BY s.id) FROM stage.`+table+` s)::text =
			(SELECT array_agg(p ORDER BY p.id) FROM public.`+table+` p)::text`).Scan(&same); err != nil || !same {
			t.Errorf("%s: the stage does not hold the source's rows (%v)", table, err)
		}
		content, ok := extract.TableContent(batches)
		if !ok {
			t.Fatalf("%s: checksums %+v are not all from the stream", table, batches)
		}
		total.Rows, total.Hash = content.Rows, content.Hash
		return total
	}
	exec := func(sql string) {
		t.Helper()
		if _, err := conn.Exec(ctx, sql); err != nil {
			t.Fatal(err)
		}
	}

	before := sum("hashed")
	if before.Rows != 500 || !strings.HasPrefix(before.Hash, "b:") {
		t.Fatalf("checksum of hashed = %+v, want 500 rows hashed from the stream (b:)", before)
	}
	if again := sum("hashed"); again != before {
		t.Errorf("read twice: %+v, then %+v", before, again)
	}
	// Rewriting every row moves it physically, to pages of other batches:
	// the table's content (the batches' sums added up) stays, the
	// fingerprints of the row versions do not.
	exec(`UPDATE hashed SET n = n`)
	if got := sum("hashed"); !got.SameContent(before) || got.Fingerprint == before.Fingerprint {
		t.Errorf("after rewriting the rows unchanged: %+v, want the content of %+v and another fingerprint", got, before)
	}
	for _, change := range []string{
		`UPDATE hashed SET name = name || '.' WHERE n = 250`,
		`UPDATE hashed SET at = at + interval '1 microsecond' WHERE n = 3`,
		`UPDATE hashed SET name = NULL WHERE n = 7`,
	} {
		exec(change)
		after := sum("hashed")
		if after.Rows != 500 || after.Hash == before.Hash || after.Fingerprint == before.Fingerprint {
			t.Errorf("after %q: checksum %+v did not change", change, after)
		}
		before = after
	}

	texted := sum("texted")
	if texted.Rows != 7 || !strings.HasPrefix(texted.Hash, "b:") {
		t.Fatalf("checksum of texted = %+v, want 7 rows hashed from the stream (b:)", texted)
	}
	exec(`UPDATE texted SET at = point(0, 0) WHERE at ~= point(3, 3)`)
	if got := sum("texted"); got.Hash == texted.Hash {
		t.Errorf("the checksum of a table of points did not change with a row: %+v", got)
	}
}

// TestChecksumWithoutFingerprint: a user who may not read the cluster's
// identity (pg_control_system) still gets checksums, without fingerprints
// and with the content a user who may gets, and FingerprintBatch answers
// "" rather than failing.
func TestChecksumWithoutFingerprint(t *testing.T) {
	ctx := context.Background()
	url := pgtest.NewDB(t)
	conn := pgtest.Connect(t, url)
	role := "cutover_nofp_" + strings.ReplaceAll(strings.ToLower(t.Name()), "/", "_")
	for _, q := range []string{
		`CREATE TABLE hashed (id uuid PRIMARY KEY, name text)`,
		`INSERT INTO hashed SELECT gen_random_uuid(), 'row ' || i FROM generate_series(1, 50) i`,
		`DROP ROLE IF EXISTS ` + role,
		`CREATE ROLE ` + role,
		`GRANT SELECT ON hashed TO ` + role,
		`REVOKE EXECUTE ON FUNCTION pg_control_system() FROM PUBLIC`,
	} {
		if _, err := conn.Exec(ctx, q); err != nil {
			t.Fatalf("%s: %v", q, err)
		}
	}
	t.Cleanup(func() { conn.Exec(context.Background(), `DROP OWNED BY `+role+`; DROP ROLE `+role) })
	snapConn := pgtest.Connect(t, url)
	snap, err := extract.OpenSnapshot(ctx, snapConn)
	if err != nil {
		t.Fatal(err)
	}
	defer snap.Close(ctx)
	readerConfig, err := pgx.ParseConfig(url)
	if err != nil {
		t.Fatal(err)
	}
	failed := &failedStatements{}
	readerConfig.Tracer = failed
	reader, err := pgx.ConnectConfig(ctx, readerConfig)
	if err != nil {
		t.Fatal(err)
	}
	defer reader.Close(ctx)
	if _, err := reader.Exec(ctx, `SET ROLE `+role); err != nil {
		t.Fatal(err)
	}
	b := extract.SplitPages("hashed", 0, 1)[0]
	table := extract.Table{Name: "hashed", Columns: []extract.Column{{Name: "id", Type: "uuid"}, {Name: "name", Type: "text"}}}
	c, err := extract.HashBatch(ctx, reader, snap.ID, table, b)
	if err != nil {
		t.Fatal(err)
	}
	if c.Rows != 50 || !strings.HasPrefix(c.Hash, "b:") || c.Fingerprint != "" {
		t.Errorf("checksum without the cluster's identity: %+v, want 50 rows hashed and no fingerprint", c)
	}
	// The same rows read with the cluster's identity: the same content.
	owner := pgtest.Connect(t, url)
	full, err := extract.HashBatch(ctx, owner, snap.ID, table, b)
	if err != nil {
		t.Fatal(err)
	}
	if !full.SameContent(c) || full.Fingerprint == "" {
		t.Errorf("checksum by the owner: %+v, want the content of %+v and a fingerprint", full, c)
	}
	fp, err := extract.FingerprintBatch(ctx, reader, snap.ID, b)
	if err != nil || fp != "" {
		t.Errorf("FingerprintBatch without the cluster's identity: %q, %v; want \"\", no error", fp, err)
	}
	if again, err := extract.HashBatch(ctx, reader, snap.ID, table, b); err != nil || !again.SameContent(c) {
		t.Errorf("checksum read again: %+v, %v; want %+v", again, err, c)
	}
	// Each failed statement is an ERROR in the source server's log, once
	// per batch: the reader asks whether it may instead of trying.
	if len(failed.errs) > 0 {
		t.Errorf("statements failed on the source without the cluster's identity: %v", failed.errs)
	}
	// And it asks once per connection, not once per batch.
	asked := 0
	for _, q := range failed.sqls {
		if strings.Contains(q, "has_function_privilege") {
			asked++
		}
	}
	if asked != 1 {
		t.Errorf("the reader asked %d times whether it may fingerprint, over three batches; want once", asked)
	}
}

// failedStatements records a connection's statements and their errors.
type failedStatements struct{ errs, sqls []string }

func (f *failedStatements) TraceQueryStart(ctx context.Context, _ *pgx.Conn, d pgx.TraceQueryStartData) context.Context {
	f.sqls = append(f.sqls, d.SQL)
	return ctx
}

func (f *failedStatements) TraceQueryEnd(_ context.Context, _ *pgx.Conn, d pgx.TraceQueryEndData) {
	if d.Err != nil {
		f.errs = append(f.errs, d.Err.Error())
	}
}
