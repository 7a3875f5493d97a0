package extract

import (
	"bufio"
	"context"
	"errors"
	"fmt"
	"io"
	"strings"
	"sync"

	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgconn"
)

// Snapshot is an open read-only transaction on the source whose snapshot
// the parallel readers import, so that every table is read as of one moment.
// It must stay open until every batch has been read.
type Snapshot struct {
	conn *pgx.Conn
	ID   string
}

// OpenSnapshot starts the exporting transaction on conn, which the Snapshot
// owns from then on.
func OpenSnapshot(ctx context.Context, conn *pgx.Conn) (*Snapshot, error) {
	if _, err := conn.Exec(ctx, "BEGIN ISOLATION LEVEL REPEATABLE READ READ ONLY"); err != nil {
		return nil, fmt.Errorf("open source snapshot: %w", err)
	}
	var id string
	if err := conn.QueryRow(ctx, "SELECT pg_export_snapshot()").Scan(&id); err != nil {
		return nil, fmt.Errorf("export source snapshot: %w", err)
	}
	return &Snapshot{conn: conn, ID: id}, nil
}

// Close ends the exporting transaction and closes its connection.
func (s *Snapshot) Close(ctx context.Context) error {
	_, err := s.conn.Exec(ctx, "COMMIT")
	return errors.Join(err, s.conn.Close(ctx))
}

// Batch is a range of heap pages of one table: the rows whose ctid is in
// [(Lo,0), (Hi,0)). Lo 0 is the table's start and Hi 0 its end, pages added
// since the plan included. A batch reads only its own pages (a TID range
// scan). Batches used to be ranges of the uuid key, and random uuids put
// rows of every range on every page: each batch of a table read all of its
// pages (points_ledger in five batches: 560-640 ms of COPY on the source,
// against 470-520 ms in page ranges).
type Batch struct {
	Table  string
	No, Of int
	Lo, Hi int64
}

// String names the batch for messages: "habits batch 3/8 (pages 16384 to 24576)".
func (b Batch) String() string {
	if b.Of <= 1 {
		return b.Table + " (all rows)"
	}
	hi := "the end"
	if b.Hi > 0 {
		hi = fmt.Sprint(b.Hi)
	}
	return fmt.Sprintf("%s batch %d/%d (pages %d to %s)", b.Table, b.No, b.Of, b.Lo, hi)
}

// EstimatedRows is the share of table t's estimated rows (the catalog's)
// that batch b holds, by its pages: the last batch, open-ended, holds the
// pages after the others'. The shares of a table's batches add up to its
// estimate. Shares by batch count instead gave the last batch, which
// holds only the pages left over, as many rows as the others, and a
// progress total that fell and rose again as the batches came in.
func (b Batch) EstimatedRows(t Table) int64 { return b.share(t.EstimatedRows, t.Pages) }

// EstimatedBytes is the share of table t's bytes (its heap, TOAST and
// indexes, pg_total_relation_size) that batch b holds, by its pages as
// EstimatedRows. Copying a batch takes time by its bytes more than by its
// rows: the rows of the legacy tables differ in width a hundredfold.
func (b Batch) EstimatedBytes(t Table) int64 { return b.share(t.Bytes, t.Pages) }

// share is the part of total, spread evenly over a table's pages, that
// batch b's pages hold.
func (b Batch) share(total, pages int64) int64 {
	total = max(total, 0)
	if b.Of <= 1 || pages <= 0 {
		return total / int64(max(b.Of, 1))
	}
	upTo := func(page int64) int64 { return total * min(page, pages) / pages } // the part before page
	hi := b.Hi
	if hi <= 0 {
		hi = pages
	}
	return upTo(hi) - upTo(b.Lo)
}

// Where is the SQL predicate selecting the batch's rows.
func (b Batch) Where() string {
	var conds []string
	if b.Lo > 0 {
		conds = append(conds, fmt.Sprintf("ctid >= '(%d,0)'::tid", b.Lo))
	}
	if b.Hi > 0 {
		conds = append(conds, fmt.Sprintf("ctid < '(%d,0)'::tid", b.Hi))
	}
	if len(conds) == 0 {
		return "true"
	}
	return strings.Join(conds, " AND ")
}

// PlanBatches splits every table into batches of about batchBytes of heap
// each, at most maxBatches per table. The bounds are multiples of one
// chunk of pages, so a table that grows keeps its batches and gains one at
// the end. The plan depends only on the sizes, never on the data. On a
// source without TID range scans (Source.PageRanges) every table is one
// batch: each range of its pages would read all of them.
func PlanBatches(src *Source, batchBytes int64, maxBatches int) []Batch {
	var out []Batch
	perBatch := max(1, batchBytes/max(1, src.BlockSize))
	for _, t := range src.Tables {
		chunk := max(perBatch, (t.Pages+int64(maxBatches)-1)/int64(maxBatches))
		if batchBytes <= 0 || !src.PageRanges() {
			chunk = max(1, t.Pages)
		}
		out = append(out, splitChunks(t.Name, t.Pages, chunk)...)
	}
	return out
}

// SplitPages returns n batches of about equal pages that cover a table of
// pages heap pages, and whatever it gains after.
func SplitPages(table string, pages int64, n int) []Batch {
	if n <= 1 || pages <= 1 {
		return []Batch{{Table: table, No: 1, Of: 1}}
	}
	return splitChunks(table, pages, (pages+int64(n)-1)/int64(n))
}

// splitChunks cuts pages into batches of chunk pages, the last open.
func splitChunks(table string, pages, chunk int64) []Batch {
	n := int(max(1, (pages+chunk-1)/chunk))
	if n == 1 {
		return []Batch{{Table: table, No: 1, Of: 1}}
	}
	out := make([]Batch, n)
	for i := range out {
		out[i] = Batch{Table: table, No: i + 1, Of: n, Lo: int64(i) * chunk, Hi: int64(i+1) * chunk}
	}
	out[n-1].Hi = 0
	return out
}

// StageTable returns the identifier of the stage copy of a legacy table in
// the stage schema.
func StageTable(schema, table string) pgx.Identifier {
	return pgx.Identifier{schema, table}
}

// StageStorage is the storage clause of every table of the stage schema:
// autovacuum leaves them alone. They live for one run, are read right after
// they are written (and analyzed where planning needs it), and autovacuum
// would spend the run's CPU vacuuming them and hold locks their early drop
// then waits for.
const StageStorage = "WITH (autovacuum_enabled = false, toast.autovacuum_enabled = false)"

// CreateStageSQL returns the DDL of the stage copy of t: the same columns
// and types, no constraints, unlogged (it is rebuilt by every run), and no
// autovacuum (StageStorage).
func CreateStageSQL(schema string, t Table) string {
	cols := make([]string, len(t.Columns))
	for i, c := range t.Columns {
		cols[i] = pgx.Identifier{c.Name}.Sanitize() + " " + c.Type
	}
	return fmt.Sprintf("CREATE UNLOGGED TABLE %s (%s) %s", StageTable(schema, t.Name).Sanitize(), strings.Join(cols, ", "), StageStorage)
}

// copyChunk is the size of the chunks CopyBatch moves rows in: the
// largest CopyData message pgconn's CopyFrom sends, so one read fills one.
const copyChunk = 64 << 10

// CopyBatch streams one batch from the source into the stage table through
// binary COPY on both sides, without decoding it: source rows never sit in
// memory beyond the pipe's buffer. src must not be in a transaction: the
// batch is read in its own transaction that imports snapshotID. dst is the
// target connection or transaction the rows are written through. It returns
// the rows copied. It is the bare pipe (the bench's raw limit); a run
// copies with StageBatch, which also takes the batch's checksum.
//
// mid, when not nil, is called once the first bytes have crossed (a test
// hook for failures in the middle of a COPY); its error aborts the copy.
func CopyBatch(ctx context.Context, src *pgx.Conn, snapshotID string, dst *pgconn.PgConn, schema string, t Table, b Batch, mid func() error) (int64, error) {
	c, err := copyBatch(ctx, src, snapshotID, dst, schema, t, b, mid, false)
	return c.Rows, err
}

// StageBatch copies one batch as CopyBatch does and returns its checksum,
// taken from the rows as they cross (rowStream): the row count, the content
// hash, and the fingerprint of the row versions, the same as FingerprintBatch
// reads. It reads the source once for both.
func StageBatch(ctx context.Context, src *pgx.Conn, snapshotID string, dst *pgconn.PgConn, schema string, t Table, b Batch, mid func() error) (Checksum, error) {
	return copyBatch(ctx, src, snapshotID, dst, schema, t, b, mid, true)
}

// HashBatch computes one batch's checksum as StageBatch does, reading the
// rows into nothing: the same rows give the same checksum either way.
func HashBatch(ctx context.Context, src *pgx.Conn, snapshotID string, t Table, b Batch) (Checksum, error) {
	return copyBatch(ctx, src, snapshotID, nil, "", t, b, nil, true)
}

// beginBatch starts the read-only transaction that reads a batch, in the
// snapshot snapshotID.
func beginBatch(ctx context.Context, src *pgx.Conn, snapshotID string) error {
	if _, err := src.Exec(ctx, "BEGIN ISOLATION LEVEL REPEATABLE READ READ ONLY"); err != nil {
		return err
	}
	return importSnapshot(ctx, src, snapshotID)
}

// importSnapshot sets the open transaction's snapshot to snapshotID; its
// error says when the transaction exporting it has ended (ErrSnapshotEnded).
func importSnapshot(ctx context.Context, src *pgx.Conn, snapshotID string) error {
	_, err := src.Exec(ctx, "SET TRANSACTION SNAPSHOT '"+snapshotID+"'")
	return importError(err)
}

// importError is the error of SET TRANSACTION SNAPSHOT with an identifier
// the exporter gave: ErrSnapshotEnded when the server says that no open
// transaction exports it (its file is gone: invalidParameterValue) or
// that the transaction exporting it is no longer running (its file not
// removed yet: objectNotInPrerequisiteState). Which of the two a run meets
// depends on when it asks.
func importError(err error) error {
	var pgErr *pgconn.PgError
	switch {
	case errors.As(err, &pgErr) && (pgErr.Code == invalidParameterValue || pgErr.Code == objectNotInPrerequisiteState):
		return fmt.Errorf("import snapshot: %w: %w", ErrSnapshotEnded, err)
	case err != nil:
		return fmt.Errorf("import snapshot: %w", err)
	}
	return nil
}

// The SQLSTATEs of SET TRANSACTION SNAPSHOT whose exporter has ended:
// "invalid snapshot identifier" and "could not import the requested
// snapshot" (DETAIL: the source transaction is not running anymore).
const (
	invalidParameterValue        = "22023"
	objectNotInPrerequisiteState = "55000"
)

// ReadError is a batch's failure on the source's side of its copy: the
// source server's error (say, a full disk under its temporary files), not
// the target's. Its text is "read <batch>…: <cause>". When the source
// server ended the connection, the batch may be read again on another
// (load writes it in a new stage transaction); a failure to write to the
// stage ends the read too, and is not a ReadError.
type ReadError struct {
	Batch Batch
	What  string // rendered after the batch: "", " from source" or ": the fingerprint's identity"
	Err   error
}

func (e *ReadError) Error() string { return fmt.Sprintf("read %s%s: %v", e.Batch, e.What, e.Err) }
func (e *ReadError) Unwrap() error { return e.Err }

// copyBatch is CopyBatch, and with hash StageBatch (dst nil: HashBatch).
func copyBatch(ctx context.Context, src *pgx.Conn, snapshotID string, dst *pgconn.PgConn, schema string, t Table, b Batch, mid func() error, hash bool) (Checksum, error) {
	if err := beginBatch(ctx, src, snapshotID); err != nil {
		return Checksum{}, &ReadError{Batch: b, Err: err}
	}
	defer src.Exec(context.WithoutCancel(ctx), "ROLLBACK")
	table := pgx.Identifier{"public", t.Name}.Sanitize()
	cols := make([]string, len(t.Columns))
	for i, c := range t.Columns {
		cols[i] = pgx.Identifier{c.Name}.Sanitize()
	}
	colList := strings.Join(cols, ", ")
	var identity *string
	var rows *rowStream
	selected := colList
	if hash {
		// The fingerprint needs the cluster's identity and a hash of row
		// versions; a server that has neither for this user gives none.
		rows = &rowStream{}
		may, err := mayFingerprint(ctx, src)
		if err == nil && may {
			err = src.QueryRow(ctx, "SELECT "+identityColumn(table)).Scan(&identity)
		}
		if err != nil {
			return Checksum{}, &ReadError{Batch: b, What: ": the fingerprint's identity", Err: err}
		}
		if may {
			rows.fingerprinted = true
			selected = "hashtidextended(t.ctid, t.xmin::text::bigint), " + colList
		}
	}
	copyOut := fmt.Sprintf("COPY (SELECT %s FROM %s t WHERE %s) TO STDOUT (FORMAT binary)", selected, table, b.Where())
	if dst == nil {
		if _, err := src.PgConn().CopyTo(ctx, rows, copyOut); err != nil {
			return Checksum{}, &ReadError{Batch: b, What: " from source", Err: err}
		}
		if err := rows.finish(); err != nil {
			return Checksum{}, &ReadError{Batch: b, What: " from source", Err: err}
		}
		return rows.checksum(identity), nil
	}
	copyIn := fmt.Sprintf("COPY %s (%s) FROM STDIN (FORMAT binary)", StageTable(schema, t.Name).Sanitize(), colList)

	pr, pw := io.Pipe()
	readErr := make(chan error, 1)
	go func() {
		// CopyTo writes each row on its own; through the bare pipe every
		// row would then be one read of CopyFrom, one CopyData message
		// and one write to the target's socket (half of the extract's CPU
		// went to the kernel). Buffered, the rows cross in chunks.
		bw := bufio.NewWriterSize(pw, copyChunk)
		var w io.Writer = bw
		if rows != nil {
			rows.out, w = bw, rows
		}
		_, err := src.PgConn().CopyTo(ctx, w, copyOut)
		if err == nil && rows != nil {
			err = rows.finish()
		}
		if err == nil {
			err = bw.Flush()
		}
		pw.CloseWithError(err)
		readErr <- err
	}()
	var in io.Reader = pr
	var hooked *hookReader
	if mid != nil {
		hooked = &hookReader{r: pr, hook: mid}
		in = hooked
	}
	tag, werr := dst.CopyFrom(ctx, in, copyIn)
	pr.CloseWithError(errStageWriteEnded)
	rerr := <-readErr
	// A read that failed only because the write ended is no cause.
	if rerr != nil && !errors.Is(rerr, errStageWriteEnded) {
		return Checksum{}, &ReadError{Batch: b, What: " from source", Err: rerr}
	}
	if herr := hooked.failed(); herr != nil {
		werr = herr // the server saw only its message
	}
	if werr != nil {
		return Checksum{}, fmt.Errorf("write %s to stage: %w", b, werr)
	}
	if rows == nil {
		return Checksum{Rows: tag.RowsAffected()}, nil
	}
	c := rows.checksum(identity)
	if c.Rows != tag.RowsAffected() {
		return Checksum{}, fmt.Errorf("write %s to stage: %d rows read, %d written", b, c.Rows, tag.RowsAffected())
	}
	return c, nil
}

// Checksum is a batch's row count and an order-independent hash of its rows
// (the content), and the fingerprint of the row versions it read.
type Checksum struct {
	Rows int64
	// Hash is the sum of the rows' hashes, each over the row's binary COPY
	// form (rowStream), with a kind prefix: "b:". Earlier builds hashed on
	// the server ("r:", "t:"); such a recorded hash never equals a new one.
	Hash string
	// Fingerprint identifies the physical row versions of the batch: the
	// cluster (its system identifier), the table's file, and the count and
	// hashed sum of each row's (ctid, xmin). PostgreSQL writes every change
	// to a row as a new version, created by a new transaction, so while
	// the fingerprint is unchanged the content is too, and reading it is
	// about three times cheaper than hashing the content (FingerprintBatch).
	// The converse does not hold: a table rewritten with the same content
	// (VACUUM FULL, UPDATE … SET x = x, a restore) has a new fingerprint
	// and the same content. "" means none could be taken.
	Fingerprint string
}

// SameContent reports whether two checksums are of the same rows, whatever
// their fingerprints.
func (c Checksum) SameContent(o Checksum) bool { return c.Rows == o.Rows && c.Hash == o.Hash }

// fingerprintColumns select a batch's fingerprint parts from its rows t:
// the cluster and file, and the sum of the row versions' hashes (a row
// count goes with them).
func fingerprintColumns(table string) string {
	return `coalesce(sum(hashtidextended(t.ctid, t.xmin::text::bigint)), 0)::text, ` + identityColumn(table)
}

// identityColumn selects the cluster and file a fingerprint names.
func identityColumn(table string) string {
	return `(SELECT system_identifier FROM pg_control_system())::text || '/' || pg_relation_filenode(` + quoteLiteral(table) + `)`
}

func fingerprint(rows int64, sum string, identity *string) string {
	if identity == nil {
		return ""
	}
	return fmt.Sprintf("f:%s:%d:%s", *identity, rows, sum)
}

func quoteLiteral(s string) string { return "'" + strings.ReplaceAll(s, "'", "''") + "'" }

// FingerprintBatch reads the fingerprint of one batch on the source (see
// Checksum.Fingerprint), in its own transaction importing snapshotID: the
// batch's rows are scanned but not hashed. It returns "" when the server
// cannot give one.
func FingerprintBatch(ctx context.Context, src *pgx.Conn, snapshotID string, b Batch) (string, error) {
	if _, err := src.Exec(ctx, "BEGIN ISOLATION LEVEL REPEATABLE READ READ ONLY"); err != nil {
		return "", fmt.Errorf("fingerprint %s: %w", b, err)
	}
	defer src.Exec(context.WithoutCancel(ctx), "ROLLBACK")
	if err := importSnapshot(ctx, src, snapshotID); err != nil {
		return "", fmt.Errorf("fingerprint %s: %w", b, err)
	}
	table := pgx.Identifier{"public", b.Table}.Sanitize()
	var rows int64
	var sum string
	var identity *string
	if may, err := mayFingerprint(ctx, src); err != nil {
		return "", fmt.Errorf("fingerprint %s: %w", b, err)
	} else if !may {
		return "", nil // none to be had: the batch gets hashed
	}
	q := fmt.Sprintf("SELECT count(*), %s FROM %s t WHERE %s", fingerprintColumns(table), table, b.Where())
	if err := src.QueryRow(ctx, q).Scan(&rows, &sum, &identity); err != nil {
		return "", fmt.Errorf("fingerprint %s: %w", b, err)
	}
	return fingerprint(rows, sum, identity), nil
}

// mayFingerprint reports whether the session's user may call the functions
// a fingerprint needs: pg_control_system (the cluster's identity, which
// hardened servers revoke from PUBLIC), pg_relation_filenode and
// hashtidextended. It asks the catalog rather than calling them, so that
// a server that forbids them logs no error for each batch. It asks once
// per connection (the answer is kept with it, under mayFingerprintKey):
// every batch a connection reads would otherwise pay a round trip for it.
// A privilege revoked while the connection lives then fails the batch that
// needed it, as a read error.
func mayFingerprint(ctx context.Context, src *pgx.Conn) (bool, error) {
	kept := src.PgConn().CustomData()
	if may, ok := kept[mayFingerprintKey].(bool); ok {
		return may, nil
	}
	var may bool
	if err := src.QueryRow(ctx, `SELECT has_function_privilege('pg_catalog.pg_control_system()', 'EXECUTE')
		AND has_function_privilege('pg_catalog.hashtidextended(tid, bigint)', 'EXECUTE')
		AND has_function_privilege('pg_catalog.pg_relation_filenode(regclass)', 'EXECUTE')`).Scan(&may); err != nil {
		return false, err
	}
	kept[mayFingerprintKey] = may
	return may, nil
}

// mayFingerprintKey keeps mayFingerprint's answer in a connection's
// custom data.
const mayFingerprintKey = "cutover.extract.mayFingerprint"

// errStageWriteEnded ends the read side of a COPY whose write side ended.
var errStageWriteEnded = errors.New("stage write ended")

// hookReader calls hook once, after the first read, and keeps its error.
type hookReader struct {
	r    io.Reader
	hook func() error
	done bool
	mu   sync.Mutex // err is read while a COPY that failed on the server may still be reading
	err  error
}

func (h *hookReader) Read(p []byte) (int, error) {
	n, err := h.r.Read(p)
	if !h.done && n > 0 {
		h.done = true
		if herr := h.hook(); herr != nil {
			h.mu.Lock()
			h.err = herr
			h.mu.Unlock()
			return 0, herr
		}
	}
	return n, err
}

// failed returns the hook's error; h may be nil.
func (h *hookReader) failed() error {
	if h == nil {
		return nil
	}
	h.mu.Lock()
	defer h.mu.Unlock()
	return h.err
}
