package reconcile

import (
	"errors"
	"fmt"
	"strings"
	"testing"
	"time"

	"github.com/jackc/pgx/v5/pgconn"

	"github.com/cutover/cutover/extract"
)

// TestWithStandbyHint: verify explains a read cancelled by a conflict with
// recovery only when the source is a standby that may cancel reads.
func TestWithStandbyHint(t *testing.T) {
	cancels := &extract.Standby{StreamingDelay: 30 * time.Second, ArchiveDelay: -1}
	waits := &extract.Standby{StreamingDelay: -1, ArchiveDelay: -1}
	conflict := fmt.Errorf("verify conservation habits: %w", &pgconn.PgError{Code: "40001"})
	for _, c := range []struct {
		name    string
		standby *extract.Standby
		err     error
		hinted  bool
	}{
		{"standby that cancels", cancels, conflict, true},
		{"standby that waits", waits, conflict, false},
		{"primary", nil, conflict, false},
		{"another error", cancels, &pgconn.PgError{Code: "42P01"}, false},
	} {
		t.Run(c.name, func(t *testing.T) {
			got := withStandbyHint(c.err, c.standby)
			if !errors.Is(got, c.err) {
				t.Errorf("%v does not wrap %v", got, c.err)
			}
			hinted := strings.Contains(got.Error(), "the source is a hot standby (hot_standby_feedback off, max_standby_streaming_delay 30s, max_standby_archive_delay -1), and replaying its primary's changes cancelled verify's reads")
			if hinted != c.hinted {
				t.Errorf("%q: hinted %v, want %v", got, hinted, c.hinted)
			}
		})
	}
}
