package load

// This file says when the source is not the database the target's last
// run read: a restore of it, a database created anew, or another server's
// (the staging copy a rehearsal read, say). Nothing is refused for it:
// each batch's checksum already tells what changed, and a run converges
// to the source it is given. But an operator who gave the wrong --source
// learns it before the target becomes that source's image.

import (
	"context"

	"github.com/cutover/cutover/internal/dburl"
	"github.com/cutover/cutover/migrations"
)

// noteOtherSource tells the operator, as an event of phase, when the last
// run that knew its source read another database than the session's
// source (migrations.ReadOtherSource), followed by then: what follows
// from it for this command. It returns what it said ("" when nothing).
// Failing to look is only logged: the notice changes nothing the command
// does. No other run may work meanwhile: the session holds the run lock
// (a run), or saw no run hold it (a dry run).
func (s *session) noteOtherSource(ctx context.Context, phase, then string) string {
	o, err := migrations.ReadOtherSource(ctx, s.target, s.sourceID, false)
	if err != nil {
		s.cfg.Logger.Debug("could not compare the source with the last run's", "err", err)
		return ""
	}
	if o == nil {
		return ""
	}
	notice := o.Notice(dburl.Describe(s.cfg.SourceURL))
	s.cfg.Progress(Event{Phase: phase, Message: notice + ". " + then})
	return notice
}
