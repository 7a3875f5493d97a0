package load

import (
	"context"
	"fmt"

	"github.com/jackc/pgx/v5"
)

// ReadOnlyTargetError refuses a target that cannot be written: a hot
// standby (a managed cluster's reader endpoint, say), or a database or role
// whose sessions are read-only by default. Nothing was written.
type ReadOnlyTargetError struct {
	Target  string // dburl.Describe of its URL
	Standby bool   // in recovery; else default_transaction_read_only
}

func (e *ReadOnlyTargetError) Error() string {
	if e.Standby {
		return fmt.Sprintf("the target %s is a hot standby (in recovery), which cannot be written: give the primary's URL (a managed cluster's writer endpoint, not a reader's)", e.Target)
	}
	return fmt.Sprintf("the target %s opens read-only sessions (default_transaction_read_only is on for this role or database): turn it off for the cutover's role (ALTER ROLE … SET default_transaction_read_only = off), or connect as another role", e.Target)
}

// checkWritable refuses, before anything is written, a target on which
// every write would fail (SQLSTATE 25006 at the first statement that
// writes, or 55000 at the run lock of a standby).
func checkWritable(ctx context.Context, conn *pgx.Conn, target string) error {
	var recovering, readOnly bool
	if err := conn.QueryRow(ctx, `SELECT pg_is_in_recovery(), current_setting('default_transaction_read_only')::bool`).Scan(&recovering, &readOnly); err != nil {
		return fmt.Errorf("read whether the target can be written: %w", err)
	}
	if recovering || readOnly {
		return &ReadOnlyTargetError{Target: target, Standby: recovering}
	}
	return nil
}
