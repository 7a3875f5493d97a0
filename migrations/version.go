package migrations

import (
	"context"
	"fmt"

	"github.com/jackc/pgx/v5"

	"github.com/cutover/cutover/internal/dburl"
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
		"create the target database on a newer server (nothing was written)", e.Target, dburl.VersionName(e.Num))
}

// checkTargetVersion refuses a target older than MinTargetVersion
// (TargetVersionError); target is how errors name it.
func checkTargetVersion(ctx context.Context, conn *pgx.Conn, target string) error {
	num, err := dburl.ServerVersionNum(ctx, conn)
	if err != nil {
		return fmt.Errorf("read the target's PostgreSQL version: %w", err)
	}
	if num < MinTargetVersion {
		return &TargetVersionError{Target: target, Num: num}
	}
	return nil
}
