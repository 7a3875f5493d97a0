package migrations_test

import (
	"context"
	"errors"
	"strings"
	"testing"

	"github.com/google/go-cmp/cmp"

	"github.com/cutover/cutover/internal/pgtest"
	"github.com/cutover/cutover/migrations"
)

// TestApplyRefusesARoleThatMayNotCreate: a role that neither owns the
// target database nor may create in it and in its schema public (which
// PostgreSQL 15 grants to no one but the database's owner) is refused
// before anything is created, with the grants it lacks; with CREATE on
// the database it still lacks public; made the database's owner, as the
// error advises, it applies every migration.
func TestApplyRefusesARoleThatMayNotCreate(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	db := pgtest.NewDB(t)
	admin, conn := pgtest.Connect(t, pgtest.AdminURL(t)), pgtest.Connect(t, db)
	role := pgtest.NewRole(t, admin, conn, "cutover_schema", "")
	var name string
	if err := conn.QueryRow(ctx, `SELECT current_database()`).Scan(&name); err != nil {
		t.Fatal(err)
	}
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
