package migrations

import (
	"context"
	"errors"
	"fmt"
	"time"

	"github.com/jackc/pgx/v5"
)

// OtherSource is a run recorded on a target that read another database
// than the source given now (ReadOtherSource).
type OtherSource struct {
	Run     int64
	Status  string    // "done", "failed", "interrupted" or "running"
	Source  string    // what it read (dburl.Describe: never a password)
	Started time.Time // when it started
}

// Notice says that source (dburl.Describe of the source given now) is not
// the database the run read.
func (o *OtherSource) Notice(source string) string {
	ended := map[string]string{"done": "finished", "failed": "failed", "interrupted": "was interrupted", "running": "is running"}[o.Status]
	if ended == "" {
		ended = "ended " + o.Status
	}
	return fmt.Sprintf("the source %s is not the database run %d read (%s; the run started %s and %s): it is a database restored or created anew since, or another server's",
		source, o.Run, o.Source, o.Started.UTC().Format(time.RFC3339), ended)
}

// ReadOtherSource returns the newest run recorded on q's target that knew
// its source's identity (dburl.DatabaseID, in cutover.runs.source_id),
// when that identity is not sourceID, the source's given now; nil when it
// is, when no recorded run knew its own (a target no run wrote to, runs of
// builds before the identity, or roles that may not read it), or when
// sourceID is "" (unknown). It asks the catalog before it reads, so that
// a read in a transaction does not fail the transaction on a target
// without the column. The run's status is the one ShownStatus gives,
// where lockHeld says that another session than the caller's may hold
// the run lock now (status, which watches working runs); a run, which
// holds it, and a reader that checked WorkingRun pass false.
func ReadOtherSource(ctx context.Context, q Queryer, sourceID string, lockHeld bool) (*OtherSource, error) {
	if sourceID == "" {
		return nil, nil
	}
	var recorded bool // a runs table with the column (bookkeeping of earlier builds has none)
	if err := q.QueryRow(ctx, `SELECT EXISTS (SELECT FROM pg_attribute WHERE attrelid = to_regclass($1) AND attname = 'source_id' AND NOT attisdropped)`,
		BookkeepingSchema+".runs").Scan(&recorded); err != nil {
		return nil, fmt.Errorf("read the runs' columns: %w", err)
	} else if !recorded {
		return nil, nil
	}
	var o OtherSource
	var id, errText string
	err := q.QueryRow(ctx, `SELECT id, status, coalesce(error, ''), source, started_at, source_id FROM `+BookkeepingSchema+`.runs
		WHERE source_id IS NOT NULL ORDER BY id DESC LIMIT 1`).Scan(&o.Run, &o.Status, &errText, &o.Source, &o.Started, &id)
	switch {
	case errors.Is(err, pgx.ErrNoRows):
		return nil, nil // no run recorded one
	case err != nil:
		return nil, fmt.Errorf("read the source of the last run: %w", err)
	case id == sourceID:
		return nil, nil
	}
	o.Status = ShownStatus(o.Status, errText, lockHeld)
	return &o, nil
}
