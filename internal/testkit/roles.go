package testkit

import (
	"context"
	"errors"
	"net/url"
	"testing"

	"github.com/jackc/pgx/v5"
)

// EnsureRole creates the login role name (no superuser) with the grants
// statement, unless it exists; roles are cluster-wide and tests run in
// parallel.
func EnsureRole(t testing.TB, ctx context.Context, conn *pgx.Conn, name, grants string) {
	t.Helper()
	create := "CREATE ROLE " + pgx.Identifier{name}.Sanitize() + " LOGIN NOSUPERUSER;"
	if grants != "" {
		create += grants + ";"
	}
	_, err := conn.Exec(ctx, `DO $$ BEGIN
		IF NOT EXISTS (SELECT 1 FROM pg_roles WHERE rolname = '`+name+`') THEN `+create+` END IF;
	END $$`)
	var pgErr interface{ SQLState() string }
	if err != nil && !(errors.As(err, &pgErr) && pgErr.SQLState() == "23505") { // concurrent creation
		t.Fatal(err)
	}
}

// ReadOnlyURL returns connURL with a role that may only read
// (pg_read_all_data).
func ReadOnlyURL(t testing.TB, ctx context.Context, connURL string) string {
	t.Helper()
	conn, err := pgx.Connect(ctx, connURL)
	if err != nil {
		t.Fatal(err)
	}
	defer conn.Close(ctx)
	EnsureRole(t, ctx, conn, "cutover_reader", "GRANT pg_read_all_data TO cutover_reader")
	u, err := url.Parse(connURL)
	if err != nil {
		t.Fatal(err)
	}
	u.User = url.User("cutover_reader")
	return u.String()
}
