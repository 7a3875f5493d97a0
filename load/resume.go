package load

import (
	"cmp"
	"context"
	"errors"
	"fmt"
	"slices"
	"strings"
	"sync"

	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgconn"
	"golang.org/x/sync/errgroup"

	"github.com/cutover/cutover/extract"
	"github.com/cutover/cutover/internal/prose"
	"github.com/cutover/cutover/migrations"
)

// insufficientPrivilege is the SQLSTATE of a statement the role may not run.
const insufficientPrivilege = "42501"

// undefinedColumn is the SQLSTATE of a column that does not exist.
const undefinedColumn = "42703"

// stagedBatchesTable is the stage's own record of the batches it holds:
// one row per batch committed into a stage table, written in the batch's
// transaction. It lives in the stage schema and is unlogged like the stage
// tables, so that whatever empties or drops them (a server crash, the drop
// at the end of a run) empties or drops it too.
const stagedBatchesTable = "_staged_batches"

// stagedBatchesDDL creates the record in stage schema stage.
func stagedBatchesDDL(stage string) string {
	return `CREATE UNLOGGED TABLE ` + ident(stage, stagedBatchesTable) + ` (
		legacy_table text NOT NULL,
		batch        int NOT NULL,
		batches      int NOT NULL,
		pages        text NOT NULL, -- the batch's condition (Batch.Where)
		stage_table  text NOT NULL, -- the stage table's DDL, its columns
		rows         bigint NOT NULL,
		hash         text NOT NULL,
		fingerprint  text NOT NULL,
		-- the copying transaction's id (32 bits): the xmin of the batch's
		-- rows in the stage table, which are never updated
		xid          bigint NOT NULL,
		PRIMARY KEY (legacy_table, batch)
	) ` + extract.StageStorage
}

// recordStaged records batch b of t, copied with checksum c, in tx, the
// transaction that copied it. A batch without a fingerprint is not
// recorded: nothing could tell a later run that its rows are unchanged.
func (s *session) recordStaged(ctx context.Context, tx pgx.Tx, t extract.Table, b extract.Batch, c extract.Checksum) error {
	if c.Fingerprint == "" {
		return nil
	}
	_, err := tx.Exec(ctx, `INSERT INTO `+ident(s.stage, stagedBatchesTable)+` VALUES ($1, $2, $3, $4, $5, $6, $7, $8, txid_current() % 4294967296)`,
		b.Table, b.No, b.Of, b.Where(), extract.CreateStageSQL(s.stage, t), c.Rows, c.Hash, c.Fingerprint)
	return err
}

// stagedRecords follows FROM: the records (r) of stage schema
// stage whose stage tables are still there (an apply drops a table once
// nothing reads it), given the schema's name as $1.
func stagedRecords(stage string) string {
	return ident(stage, stagedBatchesTable) + ` r
		WHERE to_regclass(format('%I.%I', $1::text, r.legacy_table)) IS NOT NULL`
}

// stagedBatch is a batch recorded by stagedBatchesTable.
type stagedBatch struct {
	batch, batches int
	pages, ddl     string
	sum            extract.Checksum
	xid            int64
}

// resumeStage keeps what an interrupted or failed run copied into the
// stage, where the source still holds the same rows, and drops the rest
// of the stage. A batch is kept when this run plans it cut the same way,
// into a stage table of the same columns, and the source's fingerprint of
// it in this run's snapshot is the recorded one. The fingerprint names the
// physical row versions (see extract.Checksum), so an equal one means the
// same rows, which the recorded checksum then counts and hashes. The rows
// of a batch not kept leave its stage table: they are the rows whose xmin
// is the recorded transaction's (each batch is copied in a transaction of
// its own, and stage rows are never updated). A stage table with nothing
// kept is dropped. Kept batches count as copied (s.staged) with their
// recorded checksums. It reports whether the stage schema is ready: false
// when there is none, or none made by a build that records its batches
// so, and the caller then makes a new one.
func (s *session) resumeStage(ctx context.Context, snap *extract.Snapshot, readers chan *pgx.Conn) (bool, error) {
	exists, err := relationExists(ctx, s.target, ident(s.stage, stagedBatchesTable))
	if err != nil {
		return false, fmt.Errorf("read the stage schema %s: %w", s.stage, err)
	}
	if !exists {
		return false, nil
	}
	recorded := map[string][]stagedBatch{}
	rows, err := s.target.Query(ctx, `SELECT r.legacy_table, r.batch, r.batches, r.pages, r.stage_table, r.rows, r.hash, r.fingerprint, r.xid
		FROM `+stagedRecords(s.stage), s.stage)
	var pgErr *pgconn.PgError
	if errors.As(err, &pgErr) && pgErr.Code == undefinedColumn {
		return false, nil // an earlier build's record, without the transactions
	}
	if err != nil {
		return false, fmt.Errorf("read the batches the stage holds: %w", err)
	}
	for rows.Next() {
		var table string
		var r stagedBatch
		if err := rows.Scan(&table, &r.batch, &r.batches, &r.pages, &r.ddl, &r.sum.Rows, &r.sum.Hash, &r.sum.Fingerprint, &r.xid); err != nil {
			rows.Close()
			return false, fmt.Errorf("read the batches the stage holds: %w", err)
		}
		recorded[table] = append(recorded[table], r)
	}
	if err := rows.Err(); err != nil {
		return false, fmt.Errorf("read the batches the stage holds: %w", err)
	}
	// The candidates: planned batches recorded alike, in stage tables of
	// this run's columns.
	var check []extract.Batch
	same := map[string]stagedBatch{} // by batchKey
	for _, b := range s.batches {
		t := s.src.Table(b.Table)
		recs := recorded[b.Table]
		if t == nil || slices.ContainsFunc(recs, func(r stagedBatch) bool { return r.ddl != extract.CreateStageSQL(s.stage, *t) }) {
			continue
		}
		if i := slices.IndexFunc(recs, func(r stagedBatch) bool { return r.batch == b.No }); i >= 0 && recs[i].batches == b.Of && recs[i].pages == b.Where() {
			check = append(check, b)
			same[batchKey(b.Table, b.No)] = recs[i]
		}
	}
	// Each candidate batch's fingerprint in this run's snapshot (read by
	// the checksum pass already, for a batch the target records).
	var keep []extract.Batch
	var mu sync.Mutex
	g, gctx := errgroup.WithContext(ctx)
	g.SetLimit(s.cfg.Workers)
	for _, b := range check {
		g.Go(func() error {
			key := batchKey(b.Table, b.No)
			fp, read := s.printed[key]
			if !read {
				if err := s.cfg.at("extract.fingerprint:" + key); err != nil {
					return err
				}
				reader, err := s.reader(gctx, readers)
				defer func() { readers <- reader }()
				if err != nil {
					return &StepError{Table: b.Table, Batch: b.No, Err: fmt.Errorf("fingerprint %s: %w", b, err)}
				}
				if err = s.read(gctx, &reader, false, b.String(), func(r *pgx.Conn) (err error) {
					fp, err = extract.FingerprintBatch(gctx, r, snap.ID, b)
					return err
				}); err != nil {
					return &StepError{Table: b.Table, Batch: b.No, Err: fmt.Errorf("%w%s", err, s.sourceHint(err))}
				}
			}
			if fp != "" && fp == same[key].sum.Fingerprint {
				mu.Lock()
				keep = append(keep, b)
				mu.Unlock()
			}
			return nil
		})
	}
	if err := g.Wait(); err != nil {
		return false, err
	}
	keep, foreign, err := s.stillStaged(ctx, keep, same)
	if err != nil {
		return false, err
	}
	var kept []string // the stage tables that keep batches
	var rowsKept int64
	keptXIDs := map[string]bool{} // table/xid
	for _, b := range keep {
		key := batchKey(b.Table, b.No)
		s.staged[key], s.resumed[key] = true, true
		if _, ok := s.sums[key]; !ok {
			// One the bookkeeping gave, for the same row versions, stays:
			// the digests compare with what it recorded.
			s.sums[key] = same[key].sum
		}
		rowsKept += same[key].sum.Rows
		keptXIDs[fmt.Sprintf("%s/%d", b.Table, same[key].xid)] = true
		if !slices.Contains(kept, b.Table) {
			kept = append(kept, b.Table)
			s.stageTables[b.Table] = true
		}
	}
	slices.Sort(kept)
	// In the tables that keep some batches and not others, every row but
	// the kept batches' leaves (a scan of the table), and so do the other
	// batches' records.
	var drops []string
	for _, table := range kept {
		var keptIDs []string
		stale := false
		for _, r := range recorded[table] {
			if keptXIDs[fmt.Sprintf("%s/%d", table, r.xid)] {
				keptIDs = append(keptIDs, fmt.Sprint(r.xid))
			} else {
				stale = true
			}
		}
		if stale || foreign[table] {
			drops = append(drops, `DELETE FROM `+extract.StageTable(s.stage, table).Sanitize()+` WHERE xmin::text::bigint NOT IN (`+strings.Join(keptIDs, ", ")+`)`,
				`DELETE FROM `+ident(s.stage, stagedBatchesTable)+` WHERE legacy_table = `+lit(table)+` AND xid NOT IN (`+strings.Join(keptIDs, ", ")+`)`)
		}
	}
	// Everything else goes: the other stage tables, the decisions and the
	// prepared tables, which this run makes again from the stage.
	rels, err := s.target.Query(ctx, `SELECT c.relname, c.relkind FROM pg_class c
		WHERE c.relnamespace = to_regnamespace($1) AND c.relkind IN ('r', 'p', 'v', 'm', 'f') AND c.relname <> ALL($2)`,
		ident(s.stage), append(slices.Clone(kept), stagedBatchesTable))
	if err != nil {
		return false, fmt.Errorf("read the stage schema %s: %w", s.stage, err)
	}
	for rels.Next() {
		var name string
		var kind byte
		if err := rels.Scan(&name, &kind); err != nil {
			rels.Close()
			return false, fmt.Errorf("read the stage schema %s: %w", s.stage, err)
		}
		what := map[byte]string{'v': "VIEW", 'm': "MATERIALIZED VIEW", 'f': "FOREIGN TABLE"}[kind]
		drops = append(drops, "DROP "+cmp.Or(what, "TABLE")+" IF EXISTS "+ident(s.stage, name)+" CASCADE")
	}
	if err := rels.Err(); err != nil {
		return false, fmt.Errorf("read the stage schema %s: %w", s.stage, err)
	}
	drops = append(drops, `DELETE FROM `+ident(s.stage, stagedBatchesTable)+` WHERE legacy_table <> ALL(`+textArray(kept)+`)`)
	if _, err := s.target.Exec(ctx, strings.Join(drops, ";\n")); err != nil {
		return false, fmt.Errorf("drop what the stage schema %s holds that this run copies again: %w", s.stage, err)
	}
	if len(keep) > 0 {
		s.cfg.Progress(Event{Phase: "extract", Message: fmt.Sprintf(
			"keeping %s (%s of %s) that an earlier run copied into the stage: the source holds the same rows",
			prose.Count(len(keep), "batch", "batches"), prose.Count(rowsKept, "row", "rows"), prose.Count(len(kept), "table", "tables"))})
	}
	return true, nil
}

// stillStaged returns the batches of keep whose stage table still holds
// every row they copied (as many rows as recorded, of the transaction
// that copied them), and the stage tables that hold rows no recorded
// batch copied. The stage is the run's own, but an operator short of
// room may have emptied or edited a table of it: a batch kept on its
// record alone would then reach the decisions without its rows, and the
// run's conservation line, which counts the decisions, would hold. One
// scan of each stage table that keeps batches.
func (s *session) stillStaged(ctx context.Context, keep []extract.Batch, recs map[string]stagedBatch) ([]extract.Batch, map[string]bool, error) {
	tables := map[string]bool{}
	for _, b := range keep {
		tables[b.Table] = true
	}
	foreign := map[string]bool{}
	counts := map[string]int64{} // table/xid
	for table := range tables {
		rows, err := s.target.Query(ctx, `SELECT xmin::text::bigint, count(*) FROM `+extract.StageTable(s.stage, table).Sanitize()+` GROUP BY 1`)
		if err != nil {
			return nil, nil, fmt.Errorf("count the rows the stage holds of %s: %w", table, err)
		}
		var xid, n int64
		if _, err := pgx.ForEachRow(rows, []any{&xid, &n}, func() error {
			counts[fmt.Sprintf("%s/%d", table, xid)] = n
			return nil
		}); err != nil {
			return nil, nil, fmt.Errorf("count the rows the stage holds of %s: %w", table, err)
		}
	}
	var out []extract.Batch
	copied := map[string]bool{} // table/xid of every recorded batch kept
	for _, b := range keep {
		r := recs[batchKey(b.Table, b.No)]
		key := fmt.Sprintf("%s/%d", b.Table, r.xid)
		if counts[key] != r.sum.Rows {
			s.cfg.Logger.Warn("the stage no longer holds the rows an earlier run copied of a batch; copying it again",
				"batch", b.String(), "recorded", r.sum.Rows, "staged", counts[key])
			continue
		}
		copied[key] = true
		out = append(out, b)
	}
	for key, n := range counts {
		if table, _, _ := strings.Cut(key, "/"); n > 0 && !copied[key] {
			foreign[table] = true
		}
	}
	return out, foreign, nil
}

// textArray is a text[] literal of ss.
func textArray(ss []string) string {
	quoted := make([]string, len(ss))
	for i, s := range ss {
		quoted[i] = lit(s)
	}
	return "ARRAY[" + strings.Join(quoted, ", ") + "]::text[]"
}

// readStaged counts the batches, and their rows, recorded in stage schema
// stage whose stage tables are still there: what a run that did not
// finish left for the next one to keep. A target without such a stage, or
// whose stage the role may not read, counts none. It asks whether the
// record exists first, so that a target without one (every finished
// cutover's) logs no error for it.
func readStaged(ctx context.Context, q migrations.Queryer, stage string) (batches, rows int64, err error) {
	exists, err := relationExists(ctx, q, ident(stage, stagedBatchesTable))
	if err == nil && !exists {
		return 0, 0, nil
	}
	if err == nil {
		err = q.QueryRow(ctx, `SELECT count(*), coalesce(sum(r.rows), 0)::bigint
			FROM `+stagedRecords(stage), stage).Scan(&batches, &rows)
	}
	var pgErr *pgconn.PgError
	if errors.As(err, &pgErr) && (pgErr.Code == undefinedTable || pgErr.Code == insufficientPrivilege) {
		return 0, 0, nil
	}
	if err != nil {
		return 0, 0, fmt.Errorf("read the batches the stage holds: %w", err)
	}
	return batches, rows, nil
}

// stageSize reports whether schema stage exists and, pretty-printed, the
// room its tables take.
func stageSize(ctx context.Context, q migrations.Queryer, stage string) (exists bool, size string, err error) {
	err = q.QueryRow(ctx, `SELECT to_regnamespace($1) IS NOT NULL, pg_size_pretty(coalesce(sum(pg_total_relation_size(c.oid)), 0))
		FROM pg_class c WHERE c.relnamespace = to_regnamespace($1) AND c.relkind IN ('r', 'm')`, ident(stage)).Scan(&exists, &size)
	return exists, size, err
}
