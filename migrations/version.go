package migrations

import (
	"context"
	"fmt"

	"github.com/jackc/pgx/v5"
)

// MinTargetVersion is the oldest PostgreSQL (as server_version_num) the
// target schema applies on: 13, where gen_random_uuid, which its keys
// default to, became built in.
const MinTargetVersion = 130000

// TargetVersionError refuses a target on a PostgreSQL older than
// MinTargetVersion, before any migration is applied.
type TargetVersionError struct {
	Target string // dburl.Describe of its URL
	Num    int    // its server_version_num
}

func (e *TargetVersionError) Error() string {
	return fmt.Sprintf("the target %s runs PostgreSQL %s, and the target schema needs PostgreSQL 13 or later (its keys default to gen_random_uuid, built in from 13): "+
		"create the target database on a newer server (nothing was written)", e.Target, versionName(e.Num))
}

// versionName names a server_version_num as PostgreSQL does: 120022 is
// 12.22 (before 10, 90624 is 9.6.24).
func versionName(num int) string {
	major, minor := num/10000, num%10000
	if major < 10 {
		return fmt.Sprintf("%d.%d.%d", major, minor/100, minor%100)
	}
	return fmt.Sprintf("%d.%d", major, minor)
}

// checkTargetVersion refuses a target older than MinTargetVersion
// (TargetVersionError); target is how errors name it.
func checkTargetVersion(ctx context.Context, conn *pgx.Conn, target string) error {
	var num int
	if err := conn.QueryRow(ctx, `SELECT current_setting('server_version_num')::int`).Scan(&num); err != nil {
		return fmt.Errorf("read the target's PostgreSQL version: %w", err)
	}
	if num < MinTargetVersion {
		return &TargetVersionError{Target: target, Num: num}
	}
	return nil
}
