package load

// This file says when the source is not the database the target's last
// run read: a restore of it, a database created anew, or another server's
// (the staging copy a rehearsal read, say). Nothing is refused for it:
// each batch's checksum already tells what changed, and a run converges
// to the source it is given. But an operator who gave the wrong --source
// learns it before the target becomes that source's image.

import (
	"context"
	"errors"
	"fmt"
	"time"

	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgconn"

	"github.com/cutover/cutover/internal/dburl"
)

// OtherSource is a run recorded on the target that read another database
// than the source given now.
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

// otherSource returns the newest run recorded on the target that knew its
// source's identity (dburl.DatabaseID), when that identity is not the
// session's source's (s.sourceID); nil when it is, when no recorded run
// knew it (a target no run wrote to, runs of builds before the identity,
// or a role that may not read it), or when the source's own is unknown.
// It reads the session's target connection, before the run is recorded.
func (s *session) otherSource(ctx context.Context) (*OtherSource, error) {
	if s.sourceID == "" {
		return nil, nil
	}
	var o OtherSource
	var id string
	err := s.target.QueryRow(ctx, `SELECT id, status, source, started_at, source_id FROM `+bk+`.runs
		WHERE source_id IS NOT NULL ORDER BY id DESC LIMIT 1`).Scan(&o.Run, &o.Status, &o.Source, &o.Started, &id)
	var pgErr *pgconn.PgError
	switch {
	case errors.Is(err, pgx.ErrNoRows), errors.As(err, &pgErr) && (pgErr.Code == undefinedTable || pgErr.Code == undefinedColumn):
		return nil, nil // no run recorded a source's identity
	case err != nil:
		return nil, fmt.Errorf("read the source of the last run: %w", err)
	case id == s.sourceID:
		return nil, nil
	}
	return &o, nil
}

// noteOtherSource tells the operator, as an event of phase, when the last
// run read another database (otherSource), followed by then: what follows
// from it for this command. Failing to look is only logged: the notice
// changes nothing the command does.
func (s *session) noteOtherSource(ctx context.Context, phase, then string) {
	o, err := s.otherSource(ctx)
	if err != nil {
		s.cfg.Logger.Debug("could not compare the source with the last run's", "err", err)
		return
	}
	if o != nil {
		s.cfg.Progress(Event{Phase: phase, Message: o.Notice(dburl.Describe(s.cfg.SourceURL)) + ". " + then})
	}
}
