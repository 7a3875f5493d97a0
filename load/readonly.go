package load

import (
	"context"
	"errors"
	"fmt"
	"slices"
	"strings"

	"github.com/jackc/pgx/v5"

	"github.com/cutover/cutover/extract"
	"github.com/cutover/cutover/internal/dburl"
	"github.com/cutover/cutover/internal/prose"
	"github.com/cutover/cutover/migrations"
)

// Refused reports whether err is a refusal of the source or the target
// given, made before anything was written, which the same command would
// meet again: it needs another source or target (or rights, or a build),
// not a re-run.
func Refused(err error) bool {
	for _, target := range []any{
		new(*extract.DetectError), new(*extract.SourceVersionError), new(*extract.SourceIsATargetError), new(*extract.RowSecurityError), new(*extract.ReadPrivilegeError),
		new(*dburl.SameDatabaseError), new(*dburl.PoolerError), new(*SealedError), new(*ReadOnlyTargetError), new(*migrations.TargetEncodingError),
		new(*migrations.TargetVersionError), new(*TargetOwnerError), new(*TargetIsLegacyError), new(*SchemaError), new(*migrations.BookkeepingRightsError),
		new(*OtherFlavorError),
	} {
		if errors.As(err, target) {
			return true
		}
	}
	return dburl.WrongURL(err)
}

// NeedsAFix reports whether err stopped a run at rows that the same
// command meets again until someone changes them: rows the target refuses
// (RefusedRowsError), rows the cutover did not write that meet a legacy
// row's key (ForeignRowsError) or reference rows a re-run removes
// (ForeignReferencesError). The error names them; what the run finished
// before stays.
func NeedsAFix(err error) bool {
	for _, target := range []any{new(*RefusedRowsError), new(*ForeignRowsError), new(*ForeignReferencesError)} {
		if errors.As(err, target) {
			return true
		}
	}
	return false
}

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

// TargetOwnerError refuses a run by a role that does not own the target's
// schema (the tables of public and the bookkeeping schema): a run creates
// its bookkeeping and ledger partitions in that schema, and rebuilds the
// indexes of the tables it fills first, which only their owner may do.
// Without this check such a run stopped at its first write with a
// permission error. Nothing was written.
type TargetOwnerError struct {
	Target  string   // dburl.Describe of its URL
	Role    string   // the role the run connected as
	Owners  []string // the roles that own what it does not
	Objects []string // "schema cutover", "table users", …
}

func (e *TargetOwnerError) Error() string {
	list := prose.List(e.Objects, 5)
	owners := strings.Join(e.Owners, ", ")
	return fmt.Sprintf("role %s does not own the schema of the target %s: %s %s to %s. A run creates its bookkeeping and ledger partitions there and rebuilds the indexes of the tables it fills first, which only their owner may: "+
		"run as %s, or as a role that is a member of it (GRANT %s TO %s, as a superuser) (nothing was written)",
		e.Role, e.Target, list, prose.Plural(len(e.Objects), "belongs", "belong"), owners, owners, pgx.Identifier{e.Owners[0]}.Sanitize(), pgx.Identifier{e.Role}.Sanitize())
}

// checkTargetOwner refuses a run on conn whose role is not a member of the
// owner of every table it writes (tables, in public) and of the
// bookkeeping schema (TargetOwnerError); a superuser is a member of every
// role. Tables the run does not write (the application's own) may belong
// to anyone.
func checkTargetOwner(ctx context.Context, conn *pgx.Conn, target string, tables []string) error {
	rows, err := conn.Query(ctx, `
		SELECT current_user::text, pg_get_userbyid(o.owner)::text, o.kind || ' ' || o.name
		FROM (
			SELECT 'schema' AS kind, n.nspname::text AS name, n.nspowner AS owner FROM pg_namespace n WHERE n.nspname = $1
			UNION ALL
			SELECT 'table', c.relname::text, c.relowner FROM pg_class c
			WHERE c.relnamespace = 'public'::regnamespace AND c.relkind IN ('r', 'p') AND c.relname = ANY($2)
		) o
		WHERE NOT pg_has_role(current_user, o.owner, 'USAGE')
		ORDER BY o.kind, o.name`, bk, tables)
	if err != nil {
		return fmt.Errorf("read the owners of the target's schema: %w", err)
	}
	e := TargetOwnerError{Target: target}
	for rows.Next() {
		var owner, object string
		if err := rows.Scan(&e.Role, &owner, &object); err != nil {
			return fmt.Errorf("read the owners of the target's schema: %w", err)
		}
		if !slices.Contains(e.Owners, owner) {
			e.Owners = append(e.Owners, owner)
		}
		e.Objects = append(e.Objects, object)
	}
	if err := rows.Err(); err != nil {
		return fmt.Errorf("read the owners of the target's schema: %w", err)
	}
	if len(e.Objects) > 0 {
		return &e
	}
	return nil
}
