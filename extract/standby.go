package extract

import (
	"context"
	"errors"
	"fmt"
	"time"

	"github.com/jackc/pgx/v5/pgconn"
)

// Standby describes a source that is a hot standby, by the settings that
// decide whether replaying its primary's changes may cancel the run's
// reads. A run holds one snapshot from its first batch to its last. On a
// standby, a replayed change that conflicts with it (a vacuum on the
// primary removing row versions the snapshot may still see, a lock the
// primary took) waits for it at most max_standby_streaming_delay
// (max_standby_archive_delay for WAL restored from an archive), then
// cancels it, and the transaction exporting the snapshot with it.
type Standby struct {
	// Feedback is hot_standby_feedback: the primary keeps the row versions
	// the standby's snapshots may see, so that only locks conflict (a
	// vacuum truncating a table's empty end, DDL).
	Feedback bool
	// StreamingDelay and ArchiveDelay are how long replay waits for a
	// conflicting query; negative: as long as the query runs.
	StreamingDelay, ArchiveDelay time.Duration
	// LastReplayed is when the last transaction the standby replayed
	// committed on the primary (zero: none since the standby started), and
	// ReadAt the standby's clock when it was read.
	LastReplayed, ReadAt time.Time
	// Unreplayed is the WAL received from the primary and not yet
	// replayed, in bytes (0 for a standby fed from an archive only).
	Unreplayed int64
}

// ReadStandby reads the source's recovery state, standby settings and
// replay position: nil when the source is not in recovery.
func ReadStandby(ctx context.Context, q Querier) (*Standby, error) {
	rows, err := q.Query(ctx, `SELECT current_setting('hot_standby_feedback') = 'on',
			(SELECT setting::bigint FROM pg_settings WHERE name = 'max_standby_streaming_delay'),
			(SELECT setting::bigint FROM pg_settings WHERE name = 'max_standby_archive_delay'),
			pg_last_xact_replay_timestamp(), now(),
			pg_wal_lsn_diff(pg_last_wal_receive_lsn(), pg_last_wal_replay_lsn())::bigint
		WHERE pg_is_in_recovery()`)
	if err != nil {
		return nil, fmt.Errorf("read whether the source is a standby: %w", err)
	}
	defer rows.Close()
	if !rows.Next() {
		if err := rows.Err(); err != nil {
			return nil, fmt.Errorf("read whether the source is a standby: %w", err)
		}
		return nil, nil
	}
	var s Standby
	var streaming, archive int64
	var replayed *time.Time
	var unreplayed *int64
	if err := rows.Scan(&s.Feedback, &streaming, &archive, &replayed, &s.ReadAt, &unreplayed); err != nil {
		return nil, fmt.Errorf("read whether the source is a standby: %w", err)
	}
	s.StreamingDelay, s.ArchiveDelay = time.Duration(streaming)*time.Millisecond, time.Duration(archive)*time.Millisecond
	if replayed != nil {
		s.LastReplayed = *replayed
	}
	if unreplayed != nil {
		s.Unreplayed = *unreplayed
	}
	return &s, rows.Err()
}

// Position says how far the standby has replayed its primary's changes,
// which is all a run on it reads: the last replayed commit's time, and the
// WAL it has received but not replayed yet.
func (s Standby) Position() string { return s.PositionBefore("the run") }

// PositionBefore is Position for another reader than a run: reader is
// what began when the standby was read ("verify").
func (s Standby) PositionBefore(reader string) string {
	last := "no commit replayed since the standby started"
	if !s.LastReplayed.IsZero() {
		age := s.ReadAt.Sub(s.LastReplayed)
		if age >= time.Second {
			age = age.Round(time.Second)
		}
		last = fmt.Sprintf("its last replayed commit is from %s, %s before %s began",
			s.LastReplayed.UTC().Format(time.RFC3339), age.Round(time.Millisecond), reader)
	}
	return fmt.Sprintf("%s, and %d bytes of WAL it received are not replayed yet", last, s.Unreplayed)
}

// Waits reports whether replay waits for the run's reads however long they
// take (both delays -1): nothing the primary does can cancel them, and the
// standby falls behind its primary while the run reads instead.
func (s Standby) Waits() bool { return s.StreamingDelay < 0 && s.ArchiveDelay < 0 }

// String gives the settings as the server names them.
func (s Standby) String() string {
	feedback := "off"
	if s.Feedback {
		feedback = "on"
	}
	delay := func(d time.Duration) string {
		if d < 0 {
			return "-1"
		}
		return d.String()
	}
	return fmt.Sprintf("hot_standby_feedback %s, max_standby_streaming_delay %s, max_standby_archive_delay %s",
		feedback, delay(s.StreamingDelay), delay(s.ArchiveDelay))
}

// Advice says what lets a run read from this standby without being
// cancelled.
func (s Standby) Advice() string {
	return "on the standby set max_standby_streaming_delay and max_standby_archive_delay to -1 and hot_standby_feedback to on for the run (a reload: ALTER SYSTEM, then SELECT pg_reload_conf()), or read from the primary"
}

// Cancelled reports whether err is a read this standby's replay cancelled
// (a conflict with recovery): replay may cancel reads here (not Waits),
// and err is a reading statement's serialization failure (40001, which a
// read-only snapshot on a primary never has) or the snapshot's exporting
// transaction gone (ErrSnapshotEnded). Nil s is a primary: false.
func (s *Standby) Cancelled(err error) bool {
	var pgErr *pgconn.PgError
	return s != nil && !s.Waits() &&
		(errors.As(err, &pgErr) && pgErr.Code == "40001" || errors.Is(err, ErrSnapshotEnded))
}

// CancelledHint explains a read that Cancelled reports, whose reads they
// were ("the run's", "verify's"), and what to do before trying again.
func (s Standby) CancelledHint(whose, then string) string {
	return fmt.Sprintf(" (the source is a hot standby (%s), and replaying its primary's changes cancelled %s reads, a conflict with recovery: %s; then %s)",
		s, whose, s.Advice(), then)
}

// ErrSnapshotEnded is in the error of a batch whose transaction could not
// import the run's snapshot because the transaction exporting it had
// ended: its connection was terminated (by an administrator, or on a hot
// standby by a conflict with recovery). Every batch after it fails the
// same way; a new run takes a new snapshot.
var ErrSnapshotEnded = errors.New("the source transaction holding the run's snapshot has ended")
