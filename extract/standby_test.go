package extract_test

import (
	"context"
	"testing"
	"time"

	"github.com/cutover/cutover/extract"
	"github.com/cutover/cutover/internal/pgtest"
)

// TestReadStandbyOnAPrimary: a server not in recovery is no standby.
// (load's TestRunFromAHotStandby reads a real standby.)
func TestReadStandbyOnAPrimary(t *testing.T) {
	sb, err := extract.ReadStandby(context.Background(), pgtest.Connect(t, pgtest.NewDB(t)))
	if err != nil || sb != nil {
		t.Errorf("ReadStandby on a primary = %+v, %v; want nil, nil", sb, err)
	}
}

// TestStandbyWaits: only a standby whose replay waits for conflicting
// queries on both its WAL sources lets a run read as long as it needs.
func TestStandbyWaits(t *testing.T) {
	for _, c := range []struct {
		sb   extract.Standby
		want bool
		text string
	}{
		{extract.Standby{StreamingDelay: -1, ArchiveDelay: -1}, true,
			"hot_standby_feedback off, max_standby_streaming_delay -1, max_standby_archive_delay -1"},
		{extract.Standby{Feedback: true, StreamingDelay: -1, ArchiveDelay: 30 * time.Second}, false,
			"hot_standby_feedback on, max_standby_streaming_delay -1, max_standby_archive_delay 30s"},
		{extract.Standby{Feedback: true, StreamingDelay: 0, ArchiveDelay: -1}, false,
			"hot_standby_feedback on, max_standby_streaming_delay 0s, max_standby_archive_delay -1"},
	} {
		if got := c.sb.Waits(); got != c.want {
			t.Errorf("%s: Waits() = %v, want %v", c.text, got, c.want)
		}
		if got := c.sb.String(); got != c.text {
			t.Errorf("String() = %q, want %q", got, c.text)
		}
	}
}

// TestStandbyPosition: how far the standby has replayed, in its own words.
func TestStandbyPosition(t *testing.T) {
	read := time.Date(2026, 12, 5, 3, 0, 0, 0, time.UTC)
	for _, c := range []struct {
		sb   extract.Standby
		want string
	}{
		{extract.Standby{ReadAt: read, LastReplayed: read.Add(-90*time.Second - 300*time.Millisecond), Unreplayed: 8192},
			"its last replayed commit is from 2026-12-05T02:58:29Z, 1m30s before the run began, and 8192 bytes of WAL it received are not replayed yet"},
		{extract.Standby{ReadAt: read, LastReplayed: read.Add(-250 * time.Millisecond)},
			"its last replayed commit is from 2026-12-05T02:59:59Z, 250ms before the run began, and 0 bytes of WAL it received are not replayed yet"},
		{extract.Standby{ReadAt: read},
			"no commit replayed since the standby started, and 0 bytes of WAL it received are not replayed yet"},
	} {
		if got := c.sb.Position(); got != c.want {
			t.Errorf("Position() = %q, want %q", got, c.want)
		}
	}
}
