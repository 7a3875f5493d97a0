package migrations

import (
	"context"
	"errors"
	"fmt"
	"strings"

	"github.com/jackc/pgx/v5"
)

// CreatePrivilegeError refuses, before anything is created, a role that
// may not create what `schema apply` must: the bookkeeping schema (CREATE
// on the database) and the migrations' tables in public (CREATE on that
// schema, which PostgreSQL 15 no longer grants to every role: public
// belongs to the database's owner). Without it the first migration
// stopped with goose's "partial migration error" and a permission denied.
type CreatePrivilegeError struct {
	Role, Database string
	Missing        []string // the privileges it lacks, as GRANT names them
}

func (e *CreatePrivilegeError) Error() string {
	grants := make([]string, len(e.Missing))
	for i, m := range e.Missing {
		grants[i] = "GRANT " + m + " TO " + pgx.Identifier{e.Role}.Sanitize()
	}
	return fmt.Sprintf("role %s may not create the target schema in database %s: it lacks %s. Apply the schema as the database's owner, "+
		"or make %[1]s its owner (ALTER DATABASE %[4]s OWNER TO %[5]s, as a superuser; from PostgreSQL 15 the owner of a database owns its schema public), or, as the owner, %[6]s (nothing was created)",
		e.Role, e.Database, strings.Join(e.Missing, " and "), pgx.Identifier{e.Database}.Sanitize(), pgx.Identifier{e.Role}.Sanitize(), strings.Join(grants, "; "))
}

// checkCreatePrivileges refuses a role that may not create what apply
// would create: the bookkeeping schema when it does not exist, and the
// tables of public when a migration is pending (by the recorded
// checksums, which apply records for every migration it applies).
func checkCreatePrivileges(ctx context.Context, conn *pgx.Conn) error {
	all, err := Files()
	if err != nil {
		return err
	}
	versions := make([]int64, len(all))
	for i, f := range all {
		versions[i] = f.Version
	}
	var role, db string
	var schemaMissing, mayCreateSchema, mayCreateTables, recorded bool
	if err := conn.QueryRow(ctx, `SELECT current_user, current_database(), to_regnamespace($1) IS NULL,
			has_database_privilege(current_database(), 'CREATE'), has_schema_privilege('public', 'CREATE'), to_regclass($2) IS NOT NULL`,
		BookkeepingSchema, checksumTable).Scan(&role, &db, &schemaMissing, &mayCreateSchema, &mayCreateTables, &recorded); err != nil {
		return fmt.Errorf("schema apply: read the role's privileges: %w", err)
	}
	pending := true
	if recorded {
		var applied int
		if err := conn.QueryRow(ctx, `SELECT count(*) FROM `+checksumTable+` WHERE version = ANY($1)`, versions).Scan(&applied); err != nil {
			return fmt.Errorf("schema apply: read the applied migrations: %w", err)
		}
		pending = applied < len(versions)
	}
	var missing []string
	if schemaMissing && !mayCreateSchema {
		missing = append(missing, "CREATE ON DATABASE "+pgx.Identifier{db}.Sanitize())
	}
	if pending && !mayCreateTables {
		missing = append(missing, "CREATE ON SCHEMA public")
	}
	if len(missing) > 0 {
		return &CreatePrivilegeError{Role: role, Database: db, Missing: missing}
	}
	return nil
}

// BookkeepingRightsError refuses a role that may not read (for status)
// or write (for apply) the records of a schema another role applied: the
// cutover schema's version and checksum tables. Without it both commands
// stopped at a bare "permission denied for schema cutover".
type BookkeepingRightsError struct {
	Role, Owner string // the role connected, and the owner of the cutover schema
	Write       bool   // apply, which records what it applies
}

func (e *BookkeepingRightsError) Error() string {
	rights, cmd := "SELECT", "schema status"
	if e.Write {
		rights, cmd = "SELECT, INSERT, UPDATE, DELETE", "schema apply"
	}
	role := pgx.Identifier{e.Role}.Sanitize()
	return fmt.Sprintf("role %s may not %s the records of the target schema, which %s applied: run `cutover %s` as %[3]s, "+
		"or, as %[3]s, GRANT USAGE ON SCHEMA %[5]s TO %[6]s; GRANT %[7]s ON %[8]s, %[9]s TO %[6]s",
		e.Role, map[bool]string{false: "read", true: "write"}[e.Write], e.Owner, cmd, BookkeepingSchema, role, rights, VersionTable, checksumTable)
}

// checkBookkeepingRights refuses, with a *BookkeepingRightsError, a role
// that may not read (write: and write) the cutover schema's records when
// that schema exists.
func checkBookkeepingRights(ctx context.Context, conn *pgx.Conn, write bool) error {
	privileges := "SELECT"
	if write {
		privileges = "SELECT, INSERT, UPDATE, DELETE"
	}
	var role, owner string
	var allowed *bool // nil: no cutover schema
	// CASE, not AND: without USAGE on the schema, to_regclass of a name in
	// it fails instead of returning NULL, and AND does not promise an order.
	if err := conn.QueryRow(ctx, `SELECT current_user, n.nspowner::regrole::text,
			CASE WHEN has_schema_privilege(n.oid, 'USAGE') THEN
				coalesce(has_table_privilege(to_regclass($2), $4), true) AND coalesce(has_table_privilege(to_regclass($3), $4), true)
			ELSE false END
		FROM pg_namespace n WHERE n.nspname = $1`, BookkeepingSchema, VersionTable, checksumTable, privileges).Scan(&role, &owner, &allowed); err != nil {
		if errors.Is(err, pgx.ErrNoRows) {
			return nil
		}
		return fmt.Errorf("read the rights on the %s schema: %w", BookkeepingSchema, err)
	}
	if allowed != nil && !*allowed {
		return &BookkeepingRightsError{Role: role, Owner: owner, Write: write}
	}
	return nil
}
