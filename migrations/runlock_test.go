package migrations_test

import (
	"testing"

	"github.com/cutover/cutover/migrations"
)

// TestShownStatus: status and verify show a run as interrupted when it was
// cancelled or its process ended, whichever build recorded it (failed by
// earlier ones), and when it is recorded running while nobody holds the
// run lock; every other record as it is.
func TestShownStatus(t *testing.T) {
	for _, c := range []struct {
		status, err string
		lockHeld    bool
		want        string
	}{
		{"interrupted", migrations.CancelledRun, false, "interrupted"},
		{"interrupted", migrations.EndedRun, false, "interrupted"},
		{"failed", migrations.CancelledRun, false, "interrupted"},
		{"failed", migrations.EndedRun, false, "interrupted"},
		{"failed", "apply habits: disk full", false, "failed"},
		{"running", "", false, "interrupted"},
		{"running", "", true, "running"},
		{"done", "", false, "done"},
	} {
		if got := migrations.ShownStatus(c.status, c.err, c.lockHeld); got != c.want {
			t.Errorf("ShownStatus(%q, %q, lock held %v) = %q, want %q", c.status, c.err, c.lockHeld, got, c.want)
		}
	}
	// How each says it ended.
	for err, want := range map[string]string{
		migrations.CancelledRun: "was interrupted (Ctrl-C, SIGTERM or a closed terminal)",
		migrations.EndedRun:     "was interrupted (its process or connection ended)",
		"":                      "was interrupted (its process or connection ended)",
	} {
		if got := migrations.Interrupted(err); got != want {
			t.Errorf("Interrupted(%q) = %q, want %q", err, got, want)
		}
	}
}
