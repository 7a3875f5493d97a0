package migrations_test

import (
	"context"
	"errors"
	"strings"
	"testing"

	"github.com/google/go-cmp/cmp"
	"github.com/jackc/pgx/v5"

	"github.com/cutover/cutover/internal/pgtest"
	"github.com/cutover/cutover/migrations"
)

// ownedByTheServer returns a new database that the test server's
// superuser owns (its URL and name), with a superuser connection to the
// server and one to the database, for tests of other roles' rights.
func ownedByTheServer(t *testing.T) (db, name string, admin, conn *pgx.Conn) {
	t.Helper()
	db = pgtest.NewDB(t)
	admin, conn = pgtest.Connect(t, pgtest.AdminURL(t)), pgtest.Connect(t, db)
	if err := conn.QueryRow(context.Background(), `SELECT current_database()`).Scan(&name); err != nil {
		t.Fatal(err)
	}
	return db, name, admin, conn
}

// TestApplyRefusesARoleThatMayNotCreate: a role that neither owns the
// target database nor may create in it and in its schema public (which
// PostgreSQL 15 grants to no one but the database's owner) is refused
// before anything is created, with the grants it lacks; with CREATE on
// the database it still lacks public; made the database's owner, as the
// error advises, it applies every migration.
func TestApplyRefusesARoleThatMayNotCreate(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	db, name, admin, conn := ownedByTheServer(t)
	role := pgtest.NewRole(t, admin, conn, "cutover_schema", "")
	asRole := pgtest.AsRole(t, db, role)
	refused := func(want ...string) {
		t.Helper()
		applied, err := migrations.Apply(ctx, asRole, nil)
		var pe *migrations.CreatePrivilegeError
		if !errors.As(err, &pe) || len(applied) != 0 {
			t.Fatalf("Apply as %s: applied %v, %v; want a *CreatePrivilegeError", role, applied, err)
		}
		if d := cmp.Diff(want, pe.Missing); d != "" {
			t.Errorf("missing privileges (-want +got):\n%s", d)
		}
		for _, say := range []string{"role " + role + " may not create the target schema in database " + name, `ALTER DATABASE "` + name + `" OWNER TO "` + role + `"`, "nothing was created"} {
			if !strings.Contains(err.Error(), say) {
				t.Errorf("the error does not say %q: %v", say, err)
			}
		}
		var created bool
		if err := conn.QueryRow(ctx, `SELECT to_regnamespace('cutover') IS NOT NULL OR EXISTS (SELECT FROM pg_tables WHERE schemaname = 'public')`).Scan(&created); err != nil || created {
			t.Fatalf("the refused apply created something (%v)", err)
		}
	}
	refused(`CREATE ON DATABASE "`+name+`"`, "CREATE ON SCHEMA public")
	if _, err := conn.Exec(ctx, `GRANT CREATE ON DATABASE `+name+` TO `+role); err != nil {
		t.Fatal(err)
	}
	refused("CREATE ON SCHEMA public")
	if _, err := admin.Exec(ctx, `ALTER DATABASE `+name+` OWNER TO `+role); err != nil {
		t.Fatal(err)
	}
	applied, err := migrations.Apply(ctx, asRole, nil)
	files, ferr := migrations.Files()
	if err != nil || ferr != nil || len(applied) != len(files) {
		t.Fatalf("Apply as the database's owner: applied %d of %d files: %v %v", len(applied), len(files), err, ferr)
	}
}

// TestSchemaCommandsNameTheRightsTheyLack: on a target another role
// applied, a role with no rights on the cutover schema is refused by
// Statuses (read) and Apply (write) with the applying role's name and the
// grants that let it in; given them, as the error says, both work.
func TestSchemaCommandsNameTheRightsTheyLack(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	db, name, admin, conn := ownedByTheServer(t)
	owner := pgtest.NewRole(t, admin, conn, "cutover_applier", "")
	other := pgtest.NewRole(t, admin, conn, "cutover_other", "")
	if _, err := admin.Exec(ctx, `ALTER DATABASE `+name+` OWNER TO `+owner); err != nil {
		t.Fatal(err)
	}
	if _, err := migrations.Apply(ctx, pgtest.AsRole(t, db, owner), nil); err != nil {
		t.Fatal(err)
	}
	asOther := pgtest.AsRole(t, db, other)
	var re *migrations.BookkeepingRightsError
	_, err := migrations.Statuses(ctx, asOther)
	if !errors.As(err, &re) || re.Write || re.Owner != owner ||
		!strings.Contains(err.Error(), "role "+other+" may not read the records of the target schema, which "+owner+" applied: run `cutover schema status` as "+owner) {
		t.Fatalf("Statuses as %s: %v", other, err)
	}
	_, err = migrations.Apply(ctx, asOther, nil)
	if !errors.As(err, &re) || !re.Write || !strings.Contains(err.Error(), "GRANT SELECT, INSERT, UPDATE, DELETE ON cutover.schema_migrations, cutover.schema_checksums TO \""+other+"\"") {
		t.Fatalf("Apply as %s: %v", other, err)
	}
	grants := err.Error()[strings.Index(err.Error(), "GRANT USAGE"):]
	if _, err := pgtest.Connect(t, pgtest.AsRole(t, db, owner)).Exec(ctx, grants); err != nil {
		t.Fatalf("the grants the error gives: %v", err)
	}
	if st, err := migrations.Statuses(ctx, asOther); err != nil || !st[len(st)-1].Applied {
		t.Errorf("Statuses after the grants: %v", err)
	}
	if applied, err := migrations.Apply(ctx, asOther, nil); err != nil || len(applied) != 0 {
		t.Errorf("Apply after the grants: applied %v, %v; want nothing to apply", applied, err)
	}
}
