package extract

import (
	"context"
	"fmt"

	"github.com/cutover/cutover/internal/dburl"
)

// MinSourceVersion is the oldest PostgreSQL (as server_version_num) the
// cutover reads a source from: 13, where gen_random_uuid, which every
// legacy table's key defaults to, became built in (INVENTORY.md). An older
// server holds no legacy database of this application.
const MinSourceVersion = 130000

// PageRangeVersion is the first PostgreSQL whose scans read only the heap
// pages of a ctid range (TID range scans, new in 14). On an older source
// each table is one batch, as a range of its pages would scan all of them.
// (hashtidextended, which fingerprints row versions, is in 13 already.)
const PageRangeVersion = 140000

// SourceVersionError refuses a source on a PostgreSQL older than
// MinSourceVersion, before anything is read or written.
type SourceVersionError struct{ Num int } // server_version_num

func (e *SourceVersionError) Error() string {
	return fmt.Sprintf("the source runs PostgreSQL %s, and cutover reads sources on PostgreSQL %s or later (the legacy schema's keys default to gen_random_uuid, built in from %[2]s): "+
		"is this the legacy database? If it is, restore a copy of it on PostgreSQL %[2]s or later (pg_dump -Fc, then pg_restore) and give that as the source (nothing was read or written)",
		dburl.VersionName(e.Num), dburl.VersionName(MinSourceVersion))
}

// CheckSourceVersion returns a *SourceVersionError when num, a source's
// server_version_num, is older than MinSourceVersion.
func CheckSourceVersion(num int) error {
	if num < MinSourceVersion {
		return &SourceVersionError{Num: num}
	}
	return nil
}

// checkVersion returns the source's server_version_num, and refuses one
// older than MinSourceVersion.
func checkVersion(ctx context.Context, conn Querier) (int, error) {
	num, err := queryOne[int](ctx, conn, "the source's PostgreSQL version", `SELECT current_setting('server_version_num')::int`)
	if err != nil {
		return 0, err
	}
	return num, CheckSourceVersion(num)
}
