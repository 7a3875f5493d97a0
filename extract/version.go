package extract

import (
	"context"
	"fmt"
)

// MinSourceVersion is the oldest PostgreSQL (as server_version_num) the
// cutover reads a source from. Its batches are ranges of heap pages (TID
// range scans) and each row version is hashed with hashtidextended as it
// is copied, both new in PostgreSQL 14. INVENTORY.md allows a legacy
// server from 13 (gen_random_uuid), where the first batch would fail with
// an undefined function after the run had started.
const MinSourceVersion = 140000

// SourceVersionError refuses a source on a PostgreSQL older than
// MinSourceVersion, before anything is read or written.
type SourceVersionError struct{ Num int } // server_version_num

func (e *SourceVersionError) Error() string {
	return fmt.Sprintf("the source runs PostgreSQL %s, and cutover reads sources on PostgreSQL %s or later (it reads tables in ranges of heap pages and hashes each row version with hashtidextended, both new in 14): "+
		"upgrade the legacy server, or restore a copy of the legacy database on PostgreSQL %[2]s or later (pg_dump -Fc, then pg_restore) and give that as the source (nothing was read or written)",
		versionName(e.Num), versionName(MinSourceVersion))
}

// CheckSourceVersion returns a *SourceVersionError when num, a source's
// server_version_num, is older than MinSourceVersion.
func CheckSourceVersion(num int) error {
	if num < MinSourceVersion {
		return &SourceVersionError{Num: num}
	}
	return nil
}

// versionName names a server_version_num as PostgreSQL does: 130012 is
// 13.12, 140000 is 14 (before 10, 90624 is 9.6.24).
func versionName(num int) string {
	major, minor := num/10000, num%10000
	if major < 10 {
		return fmt.Sprintf("%d.%d.%d", major, minor/100, minor%100)
	}
	if minor == 0 {
		return fmt.Sprint(major)
	}
	return fmt.Sprintf("%d.%d", major, minor)
}

// checkVersion refuses a source older than MinSourceVersion.
func checkVersion(ctx context.Context, conn Querier) error {
	num, err := queryOne[int](ctx, conn, "the source's PostgreSQL version", `SELECT current_setting('server_version_num')::int`)
	if err != nil {
		return err
	}
	return CheckSourceVersion(num)
}
