package extract_test

import (
	"context"
	"errors"
	"strings"
	"testing"

	"github.com/jackc/pgx/v5"

	"github.com/cutover/cutover/extract"
	"github.com/cutover/cutover/internal/pgtest"
)

// TestCheckSourceVersion: sources older than PostgreSQL 13 are refused,
// named as PostgreSQL names its versions; 13 and later are read.
func TestCheckSourceVersion(t *testing.T) {
	for _, c := range []struct {
		num  int
		want string // in the refusal; "" when the version is read
	}{
		{90624, "the source runs PostgreSQL 9.6.24, and cutover reads sources on PostgreSQL 13 or later"},
		{120015, "the source runs PostgreSQL 12.15,"},
		{129999, "the source runs PostgreSQL 12.9999,"},
		{130000, ""},
		{130023, ""},
		{140000, ""},
		{150018, ""},
		{170002, ""},
	} {
		err := extract.CheckSourceVersion(c.num)
		var ve *extract.SourceVersionError
		switch {
		case c.want == "" && err != nil:
			t.Errorf("%d: refused: %v", c.num, err)
		case c.want != "" && !errors.As(err, &ve):
			t.Errorf("%d: error %v is not a *SourceVersionError", c.num, err)
		case c.want != "" && (!strings.Contains(err.Error(), c.want) || !strings.Contains(err.Error(), "nothing was read or written")):
			t.Errorf("%d: %v\nwant it to say %q and that nothing was read or written", c.num, err, c.want)
		}
	}
}

// olderServer is a real connection to the test server whose answer to
// the version query is another server's.
type olderServer struct {
	*pgx.Conn
	num    string
	others int // queries other than the version's
}

func (o *olderServer) Query(ctx context.Context, sql string, args ...any) (pgx.Rows, error) {
	if strings.Contains(sql, "server_version_num") {
		return o.Conn.Query(ctx, "SELECT "+o.num+"::int")
	}
	o.others++
	return o.Conn.Query(ctx, sql, args...)
}

// TestDetectRefusesOldServersFirst: Detect asks the version before it
// reads anything else, and refuses a legacy database on PostgreSQL 12;
// the same database on this server's version is detected, with its
// version. (Real servers of 12, 13 and 18: load's versions_test.go.)
func TestDetectRefusesOldServersFirst(t *testing.T) {
	ctx := context.Background()
	conn := pgtest.Connect(t, legacyDB(t, "v21", true))
	old := &olderServer{Conn: conn, num: "120015"}
	_, err := extract.Detect(ctx, old)
	var ve *extract.SourceVersionError
	if !errors.As(err, &ve) || ve.Num != 120015 || old.others != 0 {
		t.Errorf("Detect on PostgreSQL 12.15: %v after %d other queries; want a *SourceVersionError before any", err, old.others)
	}
	src, err := extract.Detect(ctx, conn)
	if err != nil || src.Flavor != "v21" || src.Version/10000 != 15 || !src.PageRanges() {
		t.Errorf("Detect on this server: %+v, %v", src, err)
	}
}
