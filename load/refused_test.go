package load_test

import (
	"errors"
	"fmt"
	"testing"

	"github.com/jackc/pgx/v5/pgconn"

	"github.com/cutover/cutover/extract"
	"github.com/cutover/cutover/internal/dburl"
	"github.com/cutover/cutover/load"
)

// TestRefused: the refusals of a source or target given are told apart,
// however wrapped, from the failures a re-run can finish.
func TestRefused(t *testing.T) {
	for _, c := range []struct {
		err  error
		want bool
	}{
		{&extract.DetectError{}, true},
		{&extract.SourceIsATargetError{}, true},
		{&extract.RowSecurityError{Role: "r", Tables: []string{"users"}}, true},
		{&extract.ReadPrivilegeError{Role: "r", Tables: []string{"users"}}, true},
		{&dburl.SameDatabaseError{}, true},
		{&load.SealedError{}, true},
		{&load.ReadOnlyTargetError{}, true},
		{&load.TargetEncodingError{}, true},
		{&load.TargetOwnerError{Owners: []string{"o"}}, true},
		{&load.TargetIsLegacyError{}, true},
		{&pgconn.PgError{Code: "57P01"}, false},
		{&extract.NotUTF8Error{Err: &pgconn.PgError{Code: "22021"}}, false},
		{errors.New("connection reset"), false},
		{nil, false},
	} {
		for _, err := range []error{c.err, fmt.Errorf("open: %w", c.err)} {
			if got := load.Refused(err); got != c.want {
				t.Errorf("Refused(%T %v) = %t, want %t", c.err, err, got, c.want)
			}
		}
	}
}
