package load_test

import (
	"errors"
	"fmt"
	"strings"
	"testing"

	"github.com/jackc/pgx/v5/pgconn"

	"github.com/cutover/cutover/extract"
	"github.com/cutover/cutover/internal/dburl"
	"github.com/cutover/cutover/load"
	"github.com/cutover/cutover/migrations"
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
		{&migrations.TargetEncodingError{}, true},
		{&migrations.TargetVersionError{}, true},
		{&load.TargetOwnerError{Owners: []string{"o"}}, true},
		{&load.TargetIsLegacyError{}, true},
		{&load.SchemaError{File: "0001_auth.sql"}, true},
		{&migrations.BookkeepingRightsError{Role: "app", Owner: "owner"}, true},
		{&extract.SourceVersionError{Num: 120015}, true},
		{&dburl.PoolerError{Setting: dburl.Setting{Name: "search_path", Value: "public"}}, true},
		{&dburl.Error{Role: "target", Err: &pgconn.PgError{Code: "3D000"}}, true},
		{&dburl.Error{Role: "target", Err: &pgconn.PgError{Code: "28P01"}}, true},
		{&dburl.Error{Role: "source", Err: &pgconn.PgError{Code: "28000"}}, true},
		{&dburl.Error{Role: "source", Err: &pgconn.PgError{Code: "53300"}}, false},
		{&dburl.Error{Role: "source", Err: errors.New("dial tcp: connection refused")}, false},
		{&pgconn.PgError{Code: "3D000"}, false}, // not at connect: a database dropped mid-run
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

// TestTargetOwnerErrorAgrees: the refusal's verb agrees with what it
// names ("table users belong to …" read wrong, a review).
func TestTargetOwnerErrorAgrees(t *testing.T) {
	for _, c := range []struct {
		objects []string
		want    string
	}{
		{[]string{"table user_streaks"}, ": table user_streaks belongs to app_owner. A run"},
		{[]string{"schema cutover", "table users"}, ": schema cutover, table users belong to app_owner. A run"},
	} {
		err := &load.TargetOwnerError{Target: "t", Role: "r", Owners: []string{"app_owner"}, Objects: c.objects}
		if !strings.Contains(err.Error(), c.want) {
			t.Errorf("%v: %q, want it to say %q", c.objects, err.Error(), c.want)
		}
	}
}
