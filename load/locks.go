package load

import (
	"context"

	"github.com/cutover/cutover/internal/lockwatch"
)

// watchLocks is the run's (or the dry run's) lockwatch.Watch, saying through
// Progress (phase "waiting").
func (s *session) watchLocks(ctx context.Context) (stop func()) {
	return lockwatch.Watch{
		SourceURL: s.cfg.SourceURL, TargetURL: s.cfg.TargetURL,
		App: s.app, Who: "the run",
		After: s.cfg.LockWaitReported, Repeat: s.cfg.LockWaitRepeated,
		Say:    func(m string) { s.cfg.Progress(Event{Phase: "waiting", Message: m}) },
		Logger: s.cfg.Logger,
	}.Start(ctx)
}
