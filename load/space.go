package load

import (
	"context"
	"fmt"
	"sync"
	"time"

	"github.com/dustin/go-humanize"

	"github.com/cutover/cutover/internal/dburl"
)

// Space is the size of the target database (pg_database_size: its tables,
// indexes and TOAST, not the server's WAL) before a run, at its peak and
// after it. The room a run needs on the target's disk is Peak − Before:
// more than After − Before, since the stage holds a copy of what the run
// reads until its rows are written. It is a lower bound: the peak is
// sampled (spacePause), and the temporary files of sorts (index builds)
// are not the database's.
type Space struct {
	Before, Peak, After int64
}

// Room is what the run needed on the target's disk beyond what the
// database held before it.
func (s Space) Room() int64 { return s.Peak - s.Before }

// String tells the sizes, in binary units.
func (s Space) String() string {
	return fmt.Sprintf("%s before, %s at the sampled peak, %s after: the run took at least %s of room (not counting sorts' temporary files)",
		ibytes(s.Before), ibytes(s.Peak), ibytes(s.After), ibytes(s.Room()))
}

// ibytes renders a size in binary units ("115 MiB").
func ibytes(n int64) string { return humanize.IBytes(uint64(max(n, 0))) }

// spaceEvery is how often a run samples the target database's size, at
// most (see spacePause).
const spaceEvery = 500 * time.Millisecond

// spaceShare bounds the watch's work: it waits at least spaceShare times
// as long as its last sample took before it takes the next, so that its
// connection is busy at most 1/spaceShare of the run. pg_database_size
// stats every file of the database; on a busy target holding a 10M-row
// run's stage and decisions one call took about 37 ms (4.4 of the bench's
// connection-seconds at 500 ms), where on an idle one it takes 1 to 3.
const spaceShare = 50

// spacePause is how long the watch waits after a sample that took took:
// spaceEvery, or spaceShare times took when that is longer.
func spacePause(took time.Duration) time.Duration {
	return max(spaceEvery, spaceShare*took)
}

// watchSpace samples the target database's size from a connection of its
// own, at once and then, until stop, again after each pause(took), where
// took is how long the sample before took (a run's pause is spacePause).
// stop samples it a last time (After) and returns the sizes; nil when the
// size could not be read (the watch never fails the run; the debug log
// says why).
func (s *session) watchSpace(ctx context.Context, pause func(took time.Duration) time.Duration) (stop func() *Space) {
	conn, err := dburl.Connect(ctx, "target", s.cfg.TargetURL, dburl.AppName(s.app))
	if err != nil {
		s.cfg.Logger.Debug("not watching the target's size", "err", err)
		return func() *Space { return nil }
	}
	measure := func(ctx context.Context) (int64, error) {
		var n int64
		err := conn.QueryRow(ctx, `SELECT pg_database_size(current_database())`).Scan(&n)
		return n, err
	}
	start := time.Now()
	before, err := measure(ctx)
	took := time.Since(start)
	if err != nil {
		conn.Close(context.WithoutCancel(ctx))
		s.cfg.Logger.Debug("not watching the target's size", "err", err)
		return func() *Space { return nil }
	}
	var mu sync.Mutex
	peak := before
	// The loop ends on quit, between samples, not by cancelling ctx: a
	// query cancelled in flight closes its connection, and the last sample
	// needs it.
	quit, done := make(chan struct{}), make(chan struct{})
	go func() {
		defer close(done)
		for {
			wait := time.NewTimer(pause(took))
			select {
			case <-ctx.Done():
				wait.Stop()
				return
			case <-quit:
				wait.Stop()
				return
			case <-wait.C:
			}
			start := time.Now()
			n, err := measure(ctx)
			took = time.Since(start)
			if err != nil {
				if ctx.Err() == nil {
					s.cfg.Logger.Debug("could not read the target's size", "err", err)
				}
				return
			}
			mu.Lock()
			peak = max(peak, n)
			mu.Unlock()
		}
	}()
	return func() *Space {
		close(quit)
		<-done
		defer conn.Close(context.Background())
		after, err := measure(context.WithoutCancel(ctx))
		if err != nil {
			s.cfg.Logger.Debug("could not read the target's size", "err", err)
			return nil
		}
		mu.Lock()
		defer mu.Unlock()
		return &Space{Before: before, Peak: max(peak, after), After: after}
	}
}

// recordSpace records a run's sizes with it (best effort: a run is not
// failed for its record of the room it took).
func (s *session) recordSpace(ctx context.Context, sp *Space) {
	if sp == nil {
		return
	}
	if _, err := s.target.Exec(context.WithoutCancel(ctx), `UPDATE `+bk+`.runs SET size_before = $2, size_peak = $3, size_after = $4 WHERE id = $1`,
		s.runID, sp.Before, sp.Peak, sp.After); err != nil {
		s.cfg.Logger.Debug("could not record the run's sizes", "err", err)
	}
}
