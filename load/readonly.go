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

// TargetEncodingError refuses a target database whose encoding is not
// UTF8: a run copies the source's text in its UTF-8 bytes, converting
// nothing (binary COPY), so a target in another encoding would store them
// as characters of its own (mojibake), and no check could tell, as both
// sides would hash the same bytes. Nothing was written.
type TargetEncodingError struct {
	Target   string // dburl.Describe of its URL
	Encoding string
}

func (e *TargetEncodingError) Error() string {
	return fmt.Sprintf("the target %s is a database in encoding %s, and the cutover writes the application's text as UTF-8: create the target database with ENCODING 'UTF8' (CREATE DATABASE … TEMPLATE template0 ENCODING 'UTF8'), apply the schema there, and run against it (nothing was written)", e.Target, e.Encoding)
}

// checkTargetEncoding refuses a target whose encoding is not UTF8
// (TargetEncodingError).
func checkTargetEncoding(ctx context.Context, conn *pgx.Conn, target string) error {
	var enc string
	if err := conn.QueryRow(ctx, `SELECT current_setting('server_encoding')`).Scan(&enc); err != nil {
		return fmt.Errorf("read the target's encoding: %w", err)
	}
	if enc != "UTF8" {
		return &TargetEncodingError{Target: target, Encoding: enc}
	}
	return nil
}
