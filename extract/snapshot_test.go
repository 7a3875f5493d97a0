package extract

import (
	"errors"
	"testing"

	"github.com/jackc/pgx/v5/pgconn"
)

// TestImportError: SET TRANSACTION SNAPSHOT fails in two ways once the
// transaction exporting the snapshot has ended, depending on whether its
// snapshot file is removed yet; both are ErrSnapshotEnded, and other
// failures are not.
func TestImportError(t *testing.T) {
	for _, c := range []struct {
		name  string
		err   error
		ended bool
	}{
		{"invalid snapshot identifier", &pgconn.PgError{Code: "22023", Message: `invalid snapshot identifier: "00000004-00000038-1"`}, true},
		{"exporter not running", &pgconn.PgError{Code: "55000", Message: "could not import the requested snapshot",
			Detail: "The source transaction 1234 is not running anymore."}, true},
		{"another database", &pgconn.PgError{Code: "0A000", Message: "cannot import a snapshot from a different database"}, false},
		{"no server error", errors.New("conn closed"), false},
	} {
		t.Run(c.name, func(t *testing.T) {
			got := importError(c.err)
			if !errors.Is(got, c.err) || errors.Is(got, ErrSnapshotEnded) != c.ended {
				t.Errorf("importError(%v) = %v: the snapshot ended %v, want %v", c.err, got, errors.Is(got, ErrSnapshotEnded), c.ended)
			}
		})
	}
	if importError(nil) != nil {
		t.Error("importError(nil) is not nil")
	}
}
