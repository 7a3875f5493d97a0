package bench

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"io/fs"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"
	"github.com/jackc/pgx/v5/pgconn"

	"github.com/cutover/cutover/internal/pgtest"
)

// auditSchemas makes the database at connURL record, in order, every
// schema created or dropped in it (by any role), and returns a function
// that reads the record as "CREATE SCHEMA name" and "DROP SCHEMA name".
// The record is the database's comment, a line an event: the bench
// refuses a target that holds relations.
func auditSchemas(t *testing.T, connURL string) func() []string {
	t.Helper()
	ctx := context.Background()
	// As pgtest's superuser: event triggers are a superuser's, and
	// SECURITY DEFINER lets any role's DDL write the record.
	conn := pgtest.Connect(t, connURL)
	const record = `PERFORM pg_catalog.set_config('search_path', 'pg_catalog', true);
			EXECUTE format('COMMENT ON DATABASE %I IS %L', current_database(),
				concat_ws(E'\n', shobj_description((SELECT oid FROM pg_database WHERE datname = current_database()), 'pg_database'), event));`
	for _, q := range []string{
		`CREATE SCHEMA bench_audit`,
		`CREATE FUNCTION bench_audit.created() RETURNS event_trigger LANGUAGE plpgsql SECURITY DEFINER SET search_path = pg_catalog AS $$
		DECLARE event text;
		BEGIN
			FOR event IN SELECT 'CREATE SCHEMA ' || object_identity
				FROM pg_event_trigger_ddl_commands() WHERE object_type = 'schema' AND command_tag = 'CREATE SCHEMA' LOOP
			` + record + `
			END LOOP;
		END $$`,
		`CREATE FUNCTION bench_audit.dropped() RETURNS event_trigger LANGUAGE plpgsql SECURITY DEFINER SET search_path = pg_catalog AS $$
		DECLARE event text;
		BEGIN
			FOR event IN SELECT 'DROP SCHEMA ' || object_identity
				FROM pg_event_trigger_dropped_objects() WHERE object_type = 'schema' LOOP
			` + record + `
			END LOOP;
		END $$`,
		`CREATE EVENT TRIGGER bench_audit_created ON ddl_command_end WHEN TAG IN ('CREATE SCHEMA') EXECUTE FUNCTION bench_audit.created()`,
		`CREATE EVENT TRIGGER bench_audit_dropped ON sql_drop EXECUTE FUNCTION bench_audit.dropped()`,
	} {
		if _, err := conn.Exec(ctx, q); err != nil {
			t.Fatalf("audit the schemas of the target: %v", err)
		}
	}
	return func() []string {
		return pgtest.Strings(t, conn, `SELECT e FROM pg_database d,
			regexp_split_to_table(shobj_description(d.oid, 'pg_database'), E'\n') WITH ORDINALITY AS x(e, n)
			WHERE d.datname = current_database() ORDER BY n`)
	}
}

// TestRunExistingDatabases runs a tiny bench in the mode of --source and
// --target: in two existing empty databases of the test server instead of
// servers of its own, as the superuser and as a role that owns both
// databases but may not create databases. It checks what the README says
// of that mode: the raw pipe (a) writes into a schema cutover_bench_raw of
// the target database and drops it before the target schema is applied;
// pgcopydb (b) clones into a database cutover_bench_pgcopydb on the target
// server, which the bench drops before (b), should one be left over, and
// after it; without the right to create
// databases, or with a target that is not a postgres:// URL, (b) is skipped
// with a note that says why, and the bench goes on. Whether pgcopydb is
// installed or not, the test holds: without it, (b) is skipped as not
// installed.
func TestRunExistingDatabases(t *testing.T) {
	if testing.Short() {
		t.Skip("generates a legacy database and runs the cutover five times, per case")
	}
	// The README's names, not the constants, which a change could rename.
	const rawSchema, pgcopydbDatabase = "cutover_bench_raw", "cutover_bench_pgcopydb"
	bin := buildCutover(t)
	realPgcopydb, lookErr := exec.LookPath("pgcopydb")
	for _, c := range []struct {
		name string
		// role is the CREATE ROLE options of a role that owns both
		// databases and runs the bench; "" runs it as the superuser.
		role string
		// keywords gives the bench keyword/value connection strings
		// instead of postgres:// URLs.
		keywords bool
		// mayCreateDatabases: the bench may create the database of (b).
		mayCreateDatabases bool
		// wantSkipped is what the note of a (b) skipped for want of a
		// right or of a URL says.
		wantSkipped []string
	}{
		{name: "superuser", mayCreateDatabases: true},
		{name: "role without CREATEDB", role: "NOCREATEDB NOSUPERUSER",
			wantSkipped: []string{"create database " + pgcopydbDatabase, "permission denied to create database"}},
		{name: "keyword/value target", keywords: true,
			wantSkipped: []string{"the target is not a postgres:// URL, so no sibling database can be named"}},
	} {
		t.Run(c.name, func(t *testing.T) {
			ctx, cancel := context.WithTimeout(context.Background(), 5*time.Minute)
			defer cancel()
			admin := pgtest.Connect(t, pgtest.AdminURL(t))
			// A clone an earlier case left must not fail the next one.
			t.Cleanup(func() {
				admin.Exec(context.Background(), "DROP DATABASE IF EXISTS "+pgcopydbDatabase+" WITH (FORCE)")
			})
			var role string
			if c.role != "" {
				// Made before the databases, so that it is dropped after them.
				role = pgtest.NewRole(t, admin, admin, "cutover_bench", c.role)
			}
			source, target := pgtest.NewDB(t), pgtest.NewDB(t)
			schemaEvents := auditSchemas(t, target)
			if role != "" {
				for _, u := range []string{source, target} {
					pgtest.AlterDatabase(t, u, "OWNER TO "+role)
				}
				source, target = pgtest.AsRole(t, source, role), pgtest.AsRole(t, target, role)
			}
			targetCfg, err := pgconn.ParseConfig(target)
			if err != nil {
				t.Fatal(err)
			}
			if c.keywords {
				source, target = keywordValue(t, source), keywordValue(t, target)
			}

			// (b)'s pgcopydb: a wrapper of the installed one that keeps
			// the target it is given; when (b) must not clone, a fake that
			// keeps it too, should it be asked; when none is installed,
			// none (the bench looks on PATH).
			dir := t.TempDir()
			cloneTarget := filepath.Join(dir, "clone-target")
			wrapper := filepath.Join(dir, "pgcopydb")
			script := "#!/bin/sh\n" +
				"if [ \"$1\" = clone ]; then printf '%s' \"$PGCOPYDB_TARGET_PGURI\" > '" + cloneTarget + "'; fi\n"
			var pgcopydb string
			switch {
			case c.mayCreateDatabases && lookErr == nil:
				script += "exec '" + realPgcopydb + "' \"$@\"\n"
				pgcopydb = wrapper
				// A clone an interrupted bench left: (b) replaces it.
				if _, err := admin.Exec(ctx, "CREATE DATABASE "+pgcopydbDatabase); err != nil {
					t.Fatal(err)
				}
			case c.mayCreateDatabases:
				// Not installed: the bench looks it up and skips (b).
			default:
				script += "[ \"$1\" = --version ] && echo 'pgcopydb version 0.0-fake'\nexit 97\n"
				pgcopydb = wrapper
			}
			if err := os.WriteFile(wrapper, []byte(script), 0o755); err != nil {
				t.Fatal(err)
			}

			var log bytes.Buffer
			t0 := time.Now()
			r, err := Run(ctx, Options{Binary: bin, Users: 10, Workers: 2, SourceURL: source, TargetURL: target, Pgcopydb: pgcopydb, Log: &log})
			if err != nil {
				t.Fatalf("Run: %v\nlog:\n%s", err, log.String())
			}
			t.Logf("the bench took %s", time.Since(t0).Round(time.Second))
			// The bench measured in the databases it was given.
			for _, m := range []*Measurement{&r.Raw, &r.Run, &r.Rerun, &r.Changed} {
				if m.Status != StatusOK {
					t.Errorf("%s: %s: %s", m.Name, m.Status, m.Note)
				}
			}
			if r.Rerun.Note != "" || r.Changed.Note != "" {
				t.Errorf("re-runs in the given target: %q, %q", r.Rerun.Note, r.Changed.Note)
			}

			// (a) created cutover_bench_raw in the target database and
			// dropped it before the target schema (schema cutover) was
			// applied, and never touched it again.
			events := schemaEvents()
			first := []string{"CREATE SCHEMA " + rawSchema, "DROP SCHEMA " + rawSchema, "CREATE SCHEMA cutover"}
			if len(events) < len(first) || !cmp.Equal(events[:len(first)], first) || mentions(events[len(first):], rawSchema) {
				t.Errorf("schemas created and dropped in the target database, in order: %q; want %q first, and %s never again", events, first, rawSchema)
			}
			tconn := pgtest.Connect(t, pgtest.URLFor(t, targetCfg.Database))
			if left := pgtest.Strings(t, tconn, `SELECT nspname::text FROM pg_namespace WHERE nspname = $1`, rawSchema); len(left) != 0 {
				t.Errorf("the target database keeps schema %s", rawSchema)
			}

			// (b) cloned into cutover_bench_pgcopydb on the target server,
			// or was skipped saying why; the database is gone either way.
			b := r.Pgcopydb
			var asked string
			if got, err := os.ReadFile(cloneTarget); err == nil {
				asked = string(got)
			} else if !errors.Is(err, fs.ErrNotExist) {
				t.Fatal(err)
			}
			switch {
			case c.mayCreateDatabases && lookErr == nil:
				// The clone, counted before the bench dropped it, held
				// every legacy row: the bench replaced the database of
				// that name it found (CREATE DATABASE would have failed).
				if want := fmt.Sprintf("; %d rows cloned", r.Rows); b.Status != StatusOK || !strings.HasSuffix(b.Note, want) {
					t.Errorf("(b) %s: %s; want it ok, ending %q", b.Status, b.Note, want)
				}
				cfg, err := pgconn.ParseConfig(asked)
				switch {
				case asked == "":
					t.Error("pgcopydb was not asked to clone")
				case err != nil:
					t.Errorf("pgcopydb clone was given a target URL that does not parse: %v", err)
				case cfg.Database != pgcopydbDatabase || cfg.Host != targetCfg.Host || cfg.Port != targetCfg.Port:
					t.Errorf("pgcopydb cloned into database %q on %s:%d; want %q on the target's server %s:%d",
						cfg.Database, cfg.Host, cfg.Port, pgcopydbDatabase, targetCfg.Host, targetCfg.Port)
				}
			case c.mayCreateDatabases:
				if b.Status != StatusSkipped || !strings.Contains(b.Note, "pgcopydb is not installed") {
					t.Errorf("(b) without pgcopydb: %s: %s; want skipped as not installed", b.Status, b.Note)
				}
			default:
				for _, want := range c.wantSkipped {
					if b.Status != StatusSkipped || !strings.Contains(b.Note, want) {
						t.Errorf("(b) %s: %s; want skipped with a note saying %q", b.Status, b.Note, want)
					}
				}
				if asked != "" {
					t.Error("pgcopydb was asked to clone")
				}
			}
			if dbs := pgtest.Strings(t, admin, `SELECT datname::text FROM pg_database WHERE datname = $1`, pgcopydbDatabase); len(dbs) != 0 {
				t.Errorf("database %s is left on the target server", pgcopydbDatabase)
			}
		})
	}
}

// mentions reports whether one of events names schema.
func mentions(events []string, schema string) bool {
	for _, e := range events {
		if strings.HasSuffix(e, " "+schema) {
			return true
		}
	}
	return false
}

// keywordValue turns a postgres:// URL into a keyword/value connection
// string of the same host, port, database, user and password.
func keywordValue(t *testing.T, connURL string) string {
	t.Helper()
	cfg, err := pgconn.ParseConfig(connURL)
	if err != nil {
		t.Fatal(err)
	}
	quote := func(v string) string { return "'" + strings.NewReplacer(`\`, `\\`, `'`, `\'`).Replace(v) + "'" }
	kv := fmt.Sprintf("host=%s port=%d dbname=%s user=%s", quote(cfg.Host), cfg.Port, quote(cfg.Database), quote(cfg.User))
	if cfg.Password != "" {
		kv += " password=" + quote(cfg.Password)
	}
	return kv
}

// TestRunRefusesDatabasesItWouldHarm: given databases that are one
// database, or a target that holds relations, the bench stops before it
// writes anything, and the target's relations stay.
func TestRunRefusesDatabasesItWouldHarm(t *testing.T) {
	ctx := context.Background()
	source, target := pgtest.NewDB(t), pgtest.NewDB(t)
	filled := pgtest.NewDB(t)
	conn := pgtest.Connect(t, filled)
	if _, err := conn.Exec(ctx, `CREATE SCHEMA appdata; CREATE TABLE appdata.precious (x int); INSERT INTO appdata.precious VALUES (1)`); err != nil {
		t.Fatal(err)
	}
	for _, c := range []struct {
		name           string
		source, target string
		want           string
	}{
		{"a target that holds relations", source, filled, "bench: the target database is not empty (it holds appdata.precious): "},
		{"one database as both", target, target, "bench: the source and the target are the same database ("},
	} {
		t.Run(c.name, func(t *testing.T) {
			_, err := Run(ctx, Options{Binary: "/nonexistent/cutover", SourceURL: c.source, TargetURL: c.target, Compare: "/nonexistent/other"})
			if err == nil || !strings.Contains(err.Error(), c.want) {
				t.Fatalf("bench: %v, want an error saying %q", err, c.want)
			}
			for _, db := range []string{c.source, c.target} {
				if held := pgtest.PublicTables(t, pgtest.Connect(t, db)); len(held) > 0 {
					t.Errorf("the bench wrote %v into %s", held, db)
				}
			}
		})
	}
	var n int
	if err := conn.QueryRow(ctx, `SELECT count(*) FROM appdata.precious`).Scan(&n); err != nil || n != 1 {
		t.Errorf("appdata.precious after the bench: %d rows (%v), want its 1", n, err)
	}
}
