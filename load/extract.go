package load

// This file is the run's extract phase: the source's snapshot and its
// readers, each batch's checksum, the batches' records, and the copy of
// the batches that a run redoes into the stage.

import (
	"cmp"
	"context"
	"errors"
	"fmt"
	"maps"
	"slices"
	"strings"
	"sync"
	"time"

	"github.com/jackc/pgx/v5"
	"golang.org/x/sync/errgroup"

	"github.com/cutover/cutover/extract"
	"github.com/cutover/cutover/internal/dburl"
	"github.com/cutover/cutover/internal/prose"
	"github.com/cutover/cutover/mappings"
	"github.com/cutover/cutover/migrations"
)

// checkSourceWrites reads the source's write counts again once the run
// has read what it reads, with one of the readers, and says which legacy
// tables were written to since detect (s.sourceWrites). What was written
// after the snapshot is not in what the run read: on the night the
// application must have stopped writing. The check never fails the run.
func (s *session) checkSourceWrites(ctx context.Context, readers chan *pgx.Conn) {
	if s.writesBefore == nil {
		return
	}
	reader := <-readers
	after, err := extract.WriteCounts(ctx, reader)
	readers <- reader
	if err != nil {
		s.cfg.Logger.Debug("could not read the source's write statistics", "err", err)
		return
	}
	s.sourceWrites = extract.Written(s.writesBefore, after, s.src.TableNames())
	if len(s.sourceWrites) > 0 {
		s.cfg.Progress(Event{Phase: "extract", Message: SourceWritesMessage(s.sourceWrites)})
	}
}

// SourceWritesMessage says that the source changed while a run read it.
func SourceWritesMessage(w []extract.TableWrites) string {
	var b strings.Builder
	for i, t := range w {
		if i == 5 {
			fmt.Fprintf(&b, " and %s", prose.Count(len(w)-i, "more table", "more tables"))
			break
		}
		if i > 0 {
			b.WriteString(", ")
		}
		fmt.Fprintf(&b, "%s (%s)", t.Table, prose.Count(t.Rows, "row", "rows"))
	}
	return "the source changed while the run read it: " + b.String() + " written since the run began, by the server's statistics. " +
		"What was written after the run's snapshot is not in the target: at the cutover, stop the application's writes before the run; a re-run picks the changes up"
}

// openSource opens the run's snapshot of the source and its Workers reader
// connections, all connecting at once. On error it leaves nothing open.
func (s *session) openSource(ctx context.Context) (*extract.Snapshot, chan *pgx.Conn, error) {
	readers := make(chan *pgx.Conn, s.cfg.Workers)
	var snap *extract.Snapshot
	var g errgroup.Group
	g.Go(func() error {
		snapConn, err := dburl.Connect(ctx, "source", s.cfg.SourceURL, dburl.AppName(s.app))
		if err != nil {
			return err
		}
		if snap, err = extract.OpenSnapshot(ctx, snapConn); err != nil {
			snapConn.Close(context.Background())
		}
		return err
	})
	for range s.cfg.Workers {
		g.Go(func() error {
			c, err := dburl.Connect(ctx, "source", s.cfg.SourceURL, dburl.NoParallelQuery, dburl.AppName(s.app))
			if err == nil {
				readers <- c
			}
			return err
		})
	}
	if err := g.Wait(); err != nil {
		for len(readers) > 0 {
			c := <-readers
			c.Close(context.Background())
		}
		if snap != nil {
			snap.Close(context.Background())
		}
		return nil, nil, err
	}
	return snap, readers, nil
}

func closeSource(snap *extract.Snapshot, readers chan *pgx.Conn) {
	for {
		select {
		case c := <-readers:
			c.Close(context.Background())
		default:
			snap.Close(context.Background())
			return
		}
	}
}

func batchKey(table string, no int) string { return fmt.Sprintf("%s/%d", table, no) }

// checksums takes the checksum of every batch the target records and
// reports whether the last finished run saw exactly the same source with
// the same options, in which case there is nothing to do. A batch the
// target does not record (every batch, on a first run), or records as cut
// differently, changed whatever its content: it gets its checksum from the
// extract, which reads it anyway (stageAll), instead of a pass of its own.
// A recorded batch whose row versions changed is read whole: into the
// stage when stage is set (most such batches changed, and the run then
// reads each once), else into nothing (HashBatch).
func (s *session) checksums(ctx context.Context, snap *extract.Snapshot, readers chan *pgx.Conn, stage bool) (bool, error) {
	var mu sync.Mutex
	s.sums, s.printed = map[string]extract.Checksum{}, map[string]string{}
	// A batch whose row versions are the ones a run recorded has that
	// run's checksum: only its fingerprint is read (a third of the work).
	recorded, err := recordedBatches(ctx, s.target)
	if err != nil {
		return false, err
	}
	var read, rewritten []extract.Batch
	var estimated, done int64           // rows: the recorded counts, and read so far
	var estimatedBytes, doneBytes int64 // the same batches' bytes (Event.TotalBytes, Event.Bytes)
	for _, b := range s.batches {
		if rec, ok := recorded[batchKey(b.Table, b.No)]; ok && rec.Of == b.Of {
			read = append(read, b)
			estimated += rec.Sum.Rows
			estimatedBytes += b.EstimatedBytes(*s.src.Table(b.Table))
		}
	}
	if len(read) == 0 {
		s.cfg.Progress(Event{Phase: "checksum", Message: "the target records no batch of this source: the extract checksums each one as it copies it"})
		return false, nil
	}
	s.cfg.Progress(Event{Phase: "checksum", Message: fmt.Sprintf("checksumming %d of %d source batches", len(read), len(s.batches))})
	g, gctx := errgroup.WithContext(ctx)
	g.SetLimit(s.cfg.Workers)
	for _, b := range read {
		g.Go(func() error {
			reader, err := s.reader(gctx, readers)
			defer func() { readers <- reader }()
			if err != nil {
				return &StepError{Table: b.Table, Batch: b.No, Err: fmt.Errorf("checksum %s: %w", b, err)}
			}
			rec := recorded[batchKey(b.Table, b.No)]
			var c extract.Checksum
			var fp string
			var same bool
			err = s.read(gctx, &reader, false, b.String(), func(r *pgx.Conn) (err error) {
				c, fp, same, err = s.checksum(gctx, r, snap.ID, b, rec, !stage)
				return err
			})
			if hint := s.sourceHint(err); hint != "" {
				err = fmt.Errorf("%w%s", err, hint)
			}
			if err != nil {
				return &StepError{Table: b.Table, Batch: b.No, Err: err}
			}
			mu.Lock()
			if fp != "" {
				s.printed[batchKey(b.Table, b.No)] = fp
			}
			if !same && stage {
				rewritten = append(rewritten, b)
				mu.Unlock()
				return nil
			}
			s.sums[batchKey(b.Table, b.No)] = c
			done += c.Rows
			doneBytes += b.EstimatedBytes(*s.src.Table(b.Table))
			// Said under the lock: the counts arrive in order.
			s.cfg.Progress(Event{Phase: "checksum", Table: b.Table, Done: done, Total: max(estimated, done),
				Bytes: doneBytes, TotalBytes: estimatedBytes})
			mu.Unlock()
			return nil
		})
	}
	if err := g.Wait(); err != nil {
		return false, err
	}
	if len(rewritten) > 0 {
		slices.SortFunc(rewritten, func(a, b extract.Batch) int { return cmp.Compare(batchKey(a.Table, a.No), batchKey(b.Table, b.No)) })
		s.cfg.Progress(Event{Phase: "checksum", Message: fmt.Sprintf(
			"%s new row versions: copying %s into the stage, which checksums %[2]s",
			prose.Count(len(rewritten), "batch has", "batches have"), prose.Plural(len(rewritten), "it", "them"))})
		if err := s.openStage(ctx, snap, readers); err != nil {
			return false, err
		}
		// The rewritten batches' bytes are in the total already.
		tally := rowTally{done: done, total: estimated, counted: map[string]int64{},
			bytes: map[string]int64{}, doneBytes: doneBytes, totalBytes: estimatedBytes}
		for _, b := range rewritten {
			tally.counted[batchKey(b.Table, b.No)] = recorded[batchKey(b.Table, b.No)].Sum.Rows
			tally.bytes[batchKey(b.Table, b.No)] = b.EstimatedBytes(*s.src.Table(b.Table))
		}
		// What an interrupted run left in the stage is there already.
		rewritten = slices.DeleteFunc(rewritten, func(b extract.Batch) bool {
			key := batchKey(b.Table, b.No)
			if s.staged[key] {
				tally.carry(key, s.sums[key].Rows, s.resumed[key])
			}
			return s.staged[key]
		})
		if err := s.copyBatches(ctx, snap, readers, rewritten, "checksum", &tally); err != nil {
			return false, err
		}
	}
	if len(read) < len(s.batches) {
		return false, nil
	}
	return upToDate(ctx, s.target, s.sums, s.ms, s.cfg.NoSessions)
}

// checksum returns batch b's checksum and true when the batch's
// fingerprint is the one recorded with it (the recorded checksum, rec).
// Otherwise it returns false, the fingerprint it read ("" when none), and
// with hash a checksum computed from the batch's rows.
func (s *session) checksum(ctx context.Context, reader *pgx.Conn, snapshotID string, b extract.Batch, rec batchRecord, hash bool) (_ extract.Checksum, fp string, _ bool, _ error) {
	if rec.Sum.Fingerprint != "" {
		if err := s.cfg.at("extract.fingerprint:" + batchKey(b.Table, b.No)); err != nil {
			return extract.Checksum{}, "", false, err
		}
		var err error
		if fp, err = extract.FingerprintBatch(ctx, reader, snapshotID, b); err != nil {
			return extract.Checksum{}, "", false, err
		}
		if fp == rec.Sum.Fingerprint {
			return rec.Sum, fp, true, nil
		}
	}
	if !hash {
		return extract.Checksum{}, fp, false, nil
	}
	c, err := extract.HashBatch(ctx, reader, snapshotID, *s.src.Table(b.Table), b)
	return c, fp, false, err
}

// refreshFingerprints records the fingerprints of a source found unchanged
// where they differ from the recorded ones: the batches were rewritten
// with the same content (or recorded before fingerprints were), and the
// next run can then skip hashing them.
func (s *session) refreshFingerprints(ctx context.Context) error {
	var tables, fps []string
	var nos []int32
	for _, b := range s.batches {
		c := s.sums[batchKey(b.Table, b.No)]
		if c.Fingerprint != "" {
			tables, nos, fps = append(tables, b.Table), append(nos, int32(b.No)), append(fps, c.Fingerprint)
		}
	}
	if _, err := s.target.Exec(ctx, `UPDATE `+bk+`.batches b SET fingerprint = f.fp
		FROM unnest($1::text[], $2::int[], $3::text[]) f (legacy_table, batch, fp)
		WHERE b.legacy_table = f.legacy_table AND b.batch = f.batch AND b.fingerprint IS DISTINCT FROM f.fp`, tables, nos, fps); err != nil {
		return fmt.Errorf("record the source's fingerprints: %w", err)
	}
	return nil
}

// recordedBatches reads the batch ledger, or nothing when there is none yet.
func recordedBatches(ctx context.Context, conn *pgx.Conn) (map[string]batchRecord, error) {
	if exists, err := relationExists(ctx, conn, bk+".batches"); err != nil || !exists {
		return nil, err
	}
	return readBatches(ctx, conn)
}

func nullIfEmpty(s string) any {
	if s == "" {
		return nil
	}
	return s
}

func mappingNames(ms []mappings.Mapping) []string {
	out := make([]string, len(ms))
	for i, m := range ms {
		out[i] = m.Name()
	}
	return out
}

// recordBatches records the checksums of the batches of legacy tables in
// the transaction that writes the tables' rows and bookkeeping, so that a
// batch's record and its data commit together: one DELETE and one COPY,
// however many tables.
func (s *session) recordBatches(ctx context.Context, tx pgx.Tx, tables ...string) error {
	what := "the batches of " + abbreviate(tables, 3)
	if _, err := tx.Exec(ctx, `DELETE FROM `+bk+`.batches WHERE legacy_table = ANY($1)`, tables); err != nil {
		return fmt.Errorf("record %s: %w", what, err)
	}
	var rows [][]any
	for _, b := range s.batches {
		if slices.Contains(tables, b.Table) {
			c, ok := s.sums[batchKey(b.Table, b.No)]
			if !ok {
				// checksums leaves a batch to the extract only when it
				// changed, and then every mapping reading its table is
				// redone and the table extracted.
				return fmt.Errorf("record %s: %s has no checksum (a bug: it was neither checksummed nor extracted)", what, b)
			}
			rows = append(rows, []any{b.Table, b.No, b.Of, s.runID, c.Rows, c.Hash, nullIfEmpty(c.Fingerprint)})
		}
	}
	if _, err := tx.CopyFrom(ctx, pgx.Identifier{bk, "batches"}, []string{"legacy_table", "batch", "batches", "run_id", "rows", "checksum", "fingerprint"}, pgx.CopyFromRows(rows)); err != nil {
		return fmt.Errorf("record %s: %w", what, err)
	}
	return nil
}

// restamp records, with this run's id, the batches of the legacy tables
// whose mappings the run left as they were (see narrow): their content is
// the recorded one, and the next run then finds the whole source recorded
// by one finished run (upToDate).
func (s *session) restamp(ctx context.Context) error {
	if s.only.redo == nil {
		return nil
	}
	redone := map[string]bool{}
	for _, m := range subset(s.ms, s.only.redo) {
		redone[m.Legacy] = true
	}
	var left []string
	for _, t := range s.src.TableNames() {
		if !redone[t] {
			left = append(left, t)
		}
	}
	tx, err := s.target.Begin(ctx)
	if err != nil {
		return fmt.Errorf("record the batches of the tables left as they were: %w", err)
	}
	defer tx.Rollback(context.WithoutCancel(ctx))
	if err := s.recordBatches(ctx, tx, left...); err != nil {
		return err
	}
	if err := tx.Commit(ctx); err != nil {
		return fmt.Errorf("record the batches of the tables left as they were: %w", err)
	}
	return nil
}

// holdsLock fails with errLockLost when the session holding the run lock
// has ended: the run would then write without excluding another.
func (s *session) holdsLock(ctx context.Context, q migrations.Queryer) error {
	pid, err := migrations.RunLockHolder(ctx, q)
	if err != nil {
		return fmt.Errorf("check the run lock: %w", err)
	}
	if pid != int(s.target.PgConn().PID()) {
		return errLockLost
	}
	return nil
}

// openStage opens the stage schema, once per run: it keeps the batches
// a run that did not finish copied whose rows the source still holds
// (resumeStage), and drops the rest; without such a stage it creates the
// schema empty.
func (s *session) openStage(ctx context.Context, snap *extract.Snapshot, readers chan *pgx.Conn) error {
	if s.staged != nil {
		return nil
	}
	s.staged, s.stageTables, s.resumed = map[string]bool{}, map[string]bool{}, map[string]bool{}
	if s.sums == nil {
		s.sums = map[string]extract.Checksum{}
	}
	if ready, err := s.resumeStage(ctx, snap, readers); err != nil || ready {
		return err
	}
	if _, err := s.target.Exec(ctx, `DROP SCHEMA IF EXISTS `+ident(s.stage)+` CASCADE; CREATE SCHEMA `+ident(s.stage)+`;
		`+stagedBatchesDDL(s.stage)); err != nil {
		return fmt.Errorf("create the stage schema %s: %w", s.stage, err)
	}
	return nil
}

// createStageTable creates t's stage table unless it exists.
func (s *session) createStageTable(ctx context.Context, t extract.Table) error {
	if s.stageTables[t.Name] {
		return nil
	}
	if _, err := s.target.Exec(ctx, extract.CreateStageSQL(s.stage, t)); err != nil {
		return fmt.Errorf("create stage table %s: %w", t.Name, err)
	}
	s.stageTables[t.Name] = true
	return nil
}

// rowTally counts a phase's rows for its progress events.
type rowTally struct {
	done, kept, resumed int64 // Event.Done, Event.Kept, Event.Resumed
	// total is Event.Total: exact where a checksum says, else estimated;
	// counted is what it counts for each batch not done yet (by
	// batchKey), which the batch's rows replace when it is done, so that
	// the last event's Done is its Total.
	total   int64
	counted map[string]int64
	// bytes is each batch's estimated bytes (Batch.EstimatedBytes), which
	// doneBytes, keptBytes and totalBytes add up as Event.Bytes,
	// Event.KeptBytes and Event.TotalBytes.
	bytes                            map[string]int64
	doneBytes, keptBytes, totalBytes int64
}

// plan counts batch key of bytes estimated bytes into the total.
func (t *rowTally) plan(key string, bytes int64) {
	if t.bytes == nil {
		t.bytes = map[string]int64{}
	}
	t.bytes[key] = bytes
	t.totalBytes += bytes
}

// carry counts batch key's rows as found done, by an earlier run when
// resumed.
func (t *rowTally) carry(key string, rows int64, resumed bool) {
	t.copied(key, rows)
	t.kept += rows
	t.keptBytes += t.bytes[key]
	if resumed {
		t.resumed += rows
	}
}

// copied counts batch key's rows as done: they replace what total
// counted for the batch.
func (t *rowTally) copied(key string, rows int64) {
	t.done += rows
	t.doneBytes += t.bytes[key]
	if n, ok := t.counted[key]; ok {
		t.total += rows - n
		delete(t.counted, key)
	}
}

// event is the progress event of phase after a batch of table.
func (t *rowTally) event(phase, table string) Event {
	return Event{Phase: phase, Table: table, Done: t.done, Total: max(t.total, t.done), Kept: t.kept, Resumed: t.resumed,
		Bytes: t.doneBytes, TotalBytes: t.totalBytes, KeptBytes: t.keptBytes}
}

// copyBatches copies batches into their stage tables (created as needed)
// in parallel, each in its own target transaction. A batch s holds no
// checksum of gets the one its copy takes; one it holds must have the
// copy's row count. Its progress events are of phase, counting rows on
// in tally.
func (s *session) copyBatches(ctx context.Context, snap *extract.Snapshot, readers chan *pgx.Conn, batches []extract.Batch, phase string, tally *rowTally) error {
	for _, b := range batches {
		if err := s.createStageTable(ctx, *s.src.Table(b.Table)); err != nil {
			return err
		}
	}
	var mu sync.Mutex
	// Batches stopped by a value that is not UTF-8 (a SQL_ASCII source)
	// do not stop the others: the run then names every such value at
	// once, not one table per attempt.
	var notUTF8 []error
	g, gctx := errgroup.WithContext(ctx)
	g.SetLimit(s.cfg.Workers)
	for _, b := range batches {
		t := s.src.Table(b.Table)
		g.Go(func() (err error) {
			defer func() {
				if err != nil {
					err = &StepError{Table: b.Table, Batch: b.No, Err: err}
				}
			}()
			if err := s.cfg.at("extract.before:" + b.Table); err != nil {
				return fmt.Errorf("extract %s: %w", b, err)
			}
			reader, err := s.reader(gctx, readers)
			defer func() { readers <- reader }()
			if err != nil {
				return fmt.Errorf("extract %s: %w", b, err)
			}
			defer s.steps.begin(phase + " " + b.String())()
			conn, err := s.pool.Acquire(gctx)
			if err != nil {
				return fmt.Errorf("extract %s: %w", b, err)
			}
			defer conn.Release()
			// Each attempt writes in a transaction of its own, so that a
			// copy its source connection lost halfway leaves no row when
			// it is read again.
			var tx pgx.Tx
			defer func() {
				if tx != nil {
					tx.Rollback(context.WithoutCancel(gctx))
				}
			}()
			mid := func() error { return s.cfg.at("extract.copy:" + b.Table) }
			var c extract.Checksum
			err = s.read(gctx, &reader, true, b.String(), func(r *pgx.Conn) (err error) {
				if tx != nil {
					if err := tx.Rollback(gctx); err != nil {
						return err
					}
				}
				if tx, err = conn.Begin(gctx); err != nil {
					tx = nil
					return err
				}
				// A run copies only while its session holds the run
				// lock: a crash of the target's server, which empties the
				// stage, or the end of that session stops it at its next
				// batch rather than at the end of the extract.
				if s.locked {
					if err := s.holdsLock(gctx, tx); err != nil {
						return err
					}
				}
				c, err = extract.StageBatch(gctx, r, snap.ID, tx.Conn().PgConn(), s.stage, *t, b, mid)
				return err
			})
			if extract.IsNotUTF8(err) {
				var explained error
				reader, explained = s.explainNotUTF8(gctx, reader, *t, b, err)
				mu.Lock()
				notUTF8 = append(notUTF8, &StepError{Table: b.Table, Batch: b.No, Err: fmt.Errorf("extract %s: %w", b, explained)})
				mu.Unlock()
				return nil
			}
			if err != nil {
				return fmt.Errorf("extract %s: %w%s", b, err, s.sourceHint(err))
			}
			mu.Lock()
			want, checksummed := s.sums[batchKey(b.Table, b.No)]
			mu.Unlock()
			if checksummed && c.Rows != want.Rows {
				return fmt.Errorf("extract %s: copied %d rows but the snapshot holds %d", b, c.Rows, want.Rows)
			}
			if err := s.recordStaged(gctx, tx, *t, b, c); err != nil {
				return fmt.Errorf("extract %s: record it in the stage: %w", b, err)
			}
			if err := s.cfg.at("extract.commit:" + b.Table); err != nil {
				return fmt.Errorf("extract %s: %w", b, err)
			}
			if err := tx.Commit(gctx); err != nil {
				return fmt.Errorf("extract %s: commit: %w%s", b, err, s.sourceHint(err))
			}
			mu.Lock()
			if !checksummed {
				s.sums[batchKey(b.Table, b.No)] = c
			}
			s.staged[batchKey(b.Table, b.No)] = true
			tally.copied(batchKey(b.Table, b.No), c.Rows)
			s.cfg.Progress(tally.event(phase, b.Table)) // under the lock: in order
			mu.Unlock()
			return nil
		})
	}
	if err := g.Wait(); err != nil {
		return err
	}
	slices.SortFunc(notUTF8, func(a, b error) int {
		x, y := a.(*StepError), b.(*StepError)
		return cmp.Or(strings.Compare(x.Table, y.Table), x.Batch-y.Batch)
	})
	return errors.Join(notUTF8...)
}

// explainNotUTF8 explains err, the target's refusal of batch b of t for
// a value that is not UTF-8 (extract.IsNotUTF8), with the source's values
// in the batch that are not. It reads them with reader, or with a new
// connection in its place when the failed copy closed it, and returns the
// reader to keep. When it cannot read them, err stays as it is.
func (s *session) explainNotUTF8(ctx context.Context, reader *pgx.Conn, t extract.Table, b extract.Batch, err error) (*pgx.Conn, error) {
	e := &extract.NotUTF8Error{Table: t.Name, SourceEncoding: s.src.Encoding, Err: err}
	if reader.IsClosed() {
		c, cerr := dburl.Connect(ctx, "source", s.cfg.SourceURL, dburl.NoParallelQuery, dburl.AppName(s.app))
		if cerr != nil {
			s.cfg.Logger.Debug("could not reconnect to look for values that are not UTF-8", "err", cerr)
			return reader, e
		}
		reader = c
	}
	var ferr error
	if e.Found, e.Count, ferr = extract.FindNotUTF8(ctx, reader, t, b, 5); ferr != nil {
		s.cfg.Logger.Debug("could not look for values that are not UTF-8", "err", ferr)
	}
	return reader, e
}

// reader takes a reader connection from readers; one that a failed
// statement found ended (say, the ROLLBACK of its last batch, when a hot
// standby's recovery conflict ended it in that batch's transaction) it
// replaces with a new one (reconnect). The caller puts the connection
// returned back, also with an error.
func (s *session) reader(ctx context.Context, readers chan *pgx.Conn) (*pgx.Conn, error) {
	r := <-readers
	if !r.IsClosed() {
		return r, nil
	}
	return s.reconnect(ctx, r)
}

// reconnect connects to the source in place of reader r, which the server
// ended: each batch imports the run's snapshot anew, so a new connection
// reads the same rows, and a snapshot that ended too fails the batch as
// such (extract.ErrSnapshotEnded) instead of as "conn closed". On error
// it returns r, for the caller to put back.
func (s *session) reconnect(ctx context.Context, r *pgx.Conn) (*pgx.Conn, error) {
	r.Close(ctx)
	c, err := dburl.Connect(ctx, "source", s.cfg.SourceURL, dburl.NoParallelQuery, dburl.AppName(s.app))
	if err != nil {
		return r, fmt.Errorf("connect again in place of a source connection the server ended: %w", err)
	}
	s.cfg.Logger.Debug("connected again in place of a source connection the server ended")
	return c, nil
}

// readAttempts is how many times a batch is read at most when the server
// ends its source connection each time (an administrator's cleanup, a
// network that drops connections); readBackoff is the wait before the
// second attempt, doubled before each further one (readWait).
const (
	readAttempts = 3
	readBackoff  = 250 * time.Millisecond
)

// readWait is the wait before attempt (2 or more) to read a batch.
func readWait(attempt int) time.Duration { return readBackoff << (attempt - 2) }

// read runs f, a read of batch what, with *reader, and again with a new
// connection in its place (reconnect) while the server had ended it, up to
// readAttempts in all, each after a wait (readBackoff): a batch that
// failed on a source connection now ended may be read again when the run
// goes on (ctx). A copy (copied) is read again only when it failed on its
// source's side (extract.ReadError), before it read a row or halfway: f
// then writes in a new transaction, the failed attempt's rolled back. One
// that failed writing to the stage is not, as ending the read ends the
// source connection too. Each new attempt is logged as a warning. *reader
// is the connection to put back.
func (s *session) read(ctx context.Context, reader **pgx.Conn, copied bool, what string, f func(*pgx.Conn) error) error {
	for attempt := 1; ; attempt++ {
		err := f(*reader)
		var re *extract.ReadError
		if err == nil || ctx.Err() != nil || !(*reader).IsClosed() || copied && !errors.As(err, &re) {
			return err
		}
		if attempt == readAttempts {
			return fmt.Errorf("the source server ended the connection of each of %d attempts: %w", readAttempts, err)
		}
		wait := readWait(attempt + 1)
		s.cfg.Logger.Warn("the source server ended the connection reading a batch; reading it again",
			"batch", what, "attempt", attempt+1, "of", readAttempts, "after", wait, "err", err)
		select {
		case <-ctx.Done():
			// Cancelled (Ctrl-C) while it waited: the run is interrupted,
			// not failed in this batch.
			return fmt.Errorf("%w (waiting to read %s again, whose source connection the server had ended: %v)", ctx.Err(), what, err)
		case <-time.After(wait):
		}
		if *reader, err = s.reconnect(ctx, *reader); err != nil {
			return err
		}
	}
}

// stageAll copies the source tables the run reads (all, or those of
// narrow's stage set) into the stage schema, from the one snapshot, in
// parallel batches (page ranges), and indexes the copies. Batches checksums
// copied already stay; tables it copied that the run does not read go.
func (s *session) stageAll(ctx context.Context, snap *extract.Snapshot, readers chan *pgx.Conn) error {
	if err := s.openStage(ctx, snap, readers); err != nil {
		return err
	}
	for _, t := range slices.Sorted(maps.Keys(s.stageTables)) {
		if has(s.only.stage, t) {
			continue
		}
		if _, err := s.target.Exec(ctx, `DROP TABLE `+extract.StageTable(s.stage, t).Sanitize()); err != nil {
			return fmt.Errorf("drop stage table %s, which the run does not read: %w", t, err)
		}
		delete(s.stageTables, t)
	}
	tables := slices.DeleteFunc(slices.Clone(s.src.Tables), func(t extract.Table) bool { return !has(s.only.stage, t.Name) })
	// The batches copied while checksumming count as copied.
	var batches, carried []extract.Batch
	tally := rowTally{counted: map[string]int64{}}
	for _, b := range s.batches {
		if !has(s.only.stage, b.Table) {
			continue
		}
		key := batchKey(b.Table, b.No)
		if c, ok := s.sums[key]; ok {
			tally.counted[key] = c.Rows
		} else {
			tally.counted[key] = b.EstimatedRows(*s.src.Table(b.Table)) // the catalog's estimate
		}
		tally.total += tally.counted[key]
		tally.plan(key, b.EstimatedBytes(*s.src.Table(b.Table)))
		if s.staged[key] {
			carried = append(carried, b)
		} else {
			batches = append(batches, b)
		}
	}
	for _, b := range carried {
		key := batchKey(b.Table, b.No)
		tally.carry(key, s.sums[key].Rows, s.resumed[key])
		s.cfg.Progress(tally.event("extract", b.Table))
	}
	// Every table has a batch (PlanBatches), so every table read has its
	// stage table: created now, or with the batches copied while
	// checksumming.
	if err := s.copyBatches(ctx, snap, readers, batches, "extract", &tally); err != nil {
		return err
	}
	g, gctx := errgroup.WithContext(ctx)
	g.SetLimit(s.cfg.Workers)
	for _, t := range tables {
		g.Go(func() error {
			st := extract.StageTable(s.stage, t.Name).Sanitize()
			// Decisions join stage rows by hash; only the duplicate-email
			// check looks rows up one by one.
			var stmts []string
			if t.Name == "users" {
				// Named, so that a stage kept from an interrupted run,
				// which has it, does not get it twice.
				stmts = append(stmts, "CREATE INDEX IF NOT EXISTS users_lower_email ON "+st+" (lower(email))")
			}
			stmts = append(stmts, sampledAnalyze(st, s.analyzed(t)))
			for _, q := range stmts {
				if _, err := s.pool.Exec(gctx, q); err != nil {
					return fmt.Errorf("index stage table %s: %w", t.Name, err)
				}
			}
			return nil
		})
	}
	return g.Wait()
}

// analyzed lists, quoted, the columns of stage table t that decisions join
// or group on (keys and references): the planner needs
// their statistics to choose hash joins, and collecting statistics of every
// column (sorting a sample of each) cost more than half of the step.
func (s *session) analyzed(t extract.Table) []string {
	has := map[string]bool{}
	for _, c := range t.Columns {
		has[c.Name] = true
	}
	var cols []string
	add := func(c string) {
		if has[c] && !slices.Contains(cols, c) {
			cols = append(cols, c)
		}
	}
	add("id")
	add("user_id")
	for _, m := range s.ms {
		if m.Legacy != t.Name {
			continue
		}
		for _, k := range m.KeyColumns() {
			add(k)
		}
		for _, r := range m.Refs {
			add(r.Column)
		}
		if m.SelfRef != nil {
			add(m.SelfRef.Column)
		}
	}
	return quoteAll(cols)
}
