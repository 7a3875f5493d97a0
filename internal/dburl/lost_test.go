package dburl_test

import (
	"context"
	"errors"
	"fmt"
	"io"
	"net"
	"os"
	"strings"
	"syscall"
	"testing"

	"github.com/jackc/pgx/v5/pgconn"

	"github.com/cutover/cutover/internal/dburl"
	"github.com/cutover/cutover/internal/pgtest"
)

// TestLost: a command's error says that a connection was lost, once,
// when the server said so, when the socket broke under a statement, or
// when a statement went to a connection that had broken before; not for
// a cancelled statement, another server error, a failure to connect
// (which says what to check), or a cancelled command.
func TestLost(t *testing.T) {
	cancelled, cancel := context.WithCancel(context.Background())
	cancel()
	brokenPipe := &net.OpError{Op: "write", Net: "unix", Err: os.NewSyscallError("write", syscall.EPIPE)}
	// A statement on a connection closed before: pgx's "conn closed".
	gone := pgtest.Connect(t, pgtest.NewDB(t))
	gone.Close(context.Background())
	_, closedConn := gone.Exec(context.Background(), "SELECT 1")
	refused := dburl.ConnectFailed("target", "postgres://app:secret@db.example/app",
		&net.OpError{Op: "dial", Net: "tcp", Err: os.NewSyscallError("connect", syscall.ECONNREFUSED)})
	for _, c := range []struct {
		name string
		ctx  context.Context
		err  error
		lost bool
	}{
		{"terminated", context.Background(), fmt.Errorf("verify users: %w", &pgconn.PgError{Code: "57P01"}), true},
		{"server crashed", context.Background(), &pgconn.PgError{Code: "57P02"}, true},
		{"server starting", context.Background(), &pgconn.PgError{Code: "57P03"}, true},
		{"connection failure", context.Background(), &pgconn.PgError{Code: "08006"}, true},
		{"socket closed under a write", context.Background(), fmt.Errorf("extract workouts: write failed: %w", brokenPipe), true},
		{"socket closed under a read", context.Background(), fmt.Errorf("reset the batch records: %w", io.ErrUnexpectedEOF), true},
		{"socket reset", context.Background(), fmt.Errorf("read: %w", syscall.ECONNRESET), true},
		{"a connection broken before", context.Background(), fmt.Errorf("decide users: %w", closedConn), true},
		{"a cancelled statement", context.Background(), &pgconn.PgError{Code: "57014"}, false},
		{"a duplicate key", context.Background(), &pgconn.PgError{Code: "23505"}, false},
		{"another error", context.Background(), errors.New("copied 3 rows but the snapshot holds 4"), false},
		{"a failure to connect", context.Background(), fmt.Errorf("verify: %w", refused), false},
		{"a cancelled command", cancelled, fmt.Errorf("extract workouts: write failed: %w", brokenPipe), false},
		{"no error", context.Background(), nil, false},
	} {
		t.Run(c.name, func(t *testing.T) {
			if got := dburl.Lost(c.err); got != c.lost && c.ctx.Err() == nil {
				t.Errorf("Lost(%v) = %v, want %v", c.err, got, c.lost)
			}
			got := dburl.ExplainLost(c.ctx, c.err)
			if !errors.Is(got, c.err) {
				t.Errorf("ExplainLost(%v) = %v, which does not wrap it", c.err, got)
			}
			if said := got != nil && strings.Count(got.Error(), dburl.LostHint) == 1 && strings.HasSuffix(got.Error(), dburl.LostHint); said != c.lost {
				t.Errorf("ExplainLost(%v) = %v: says the connection was lost %v, want %v", c.err, got, said, c.lost)
			}
		})
	}
}

// TestLostNamesTheSide: a lost connection's error names the side whose
// connection was lost when the command knows it (ExplainLostOn), and says
// LostHint, with its "re-running the same command is safe", once and
// last, however often it is explained, and whatever side a later
// explanation names; an error that is not a lost connection stays as it
// is.
func TestLostNamesTheSide(t *testing.T) {
	ctx := context.Background()
	const safe = "re-running the same command is safe"
	terminated := fmt.Errorf("decide points_ledger: %w", &pgconn.PgError{Severity: "FATAL", Code: "57P01",
		Message: "terminating connection due to administrator command"})
	for _, c := range []struct {
		name    string
		explain func(error) error
		err     error
		want    string // the message; "" for err's own
	}{
		{"no side", func(err error) error { return dburl.ExplainLost(ctx, err) }, terminated, terminated.Error() + dburl.LostHint},
		{"the target", func(err error) error { return dburl.ExplainLostOn(ctx, "target", err) }, terminated, "on the target: " + terminated.Error() + dburl.LostHint},
		{"the source", func(err error) error { return dburl.ExplainLostOn(ctx, "source", err) }, terminated, "on the source: " + terminated.Error() + dburl.LostHint},
		{"explained twice", func(err error) error { return dburl.ExplainLost(ctx, dburl.ExplainLost(ctx, err)) }, terminated, terminated.Error() + dburl.LostHint},
		{"explained on a side, then without", func(err error) error {
			return fmt.Errorf("verify: %w", dburl.ExplainLost(ctx, fmt.Errorf("verify: %w", dburl.ExplainLostOn(ctx, "source", err))))
		}, terminated, "verify: verify: on the source: " + terminated.Error() + dburl.LostHint},
		{"explained by the command, then by ExplainLostOn", func(err error) error {
			return dburl.ExplainLostOn(ctx, "source", &dburl.LostError{Role: "target", Err: err})
		}, terminated, "on the target: " + terminated.Error() + dburl.LostHint},
		{"not lost", func(err error) error { return dburl.ExplainLostOn(ctx, "target", err) }, &pgconn.PgError{Code: "23505"}, ""},
	} {
		t.Run(c.name, func(t *testing.T) {
			got := c.explain(c.err)
			if !errors.Is(got, c.err) {
				t.Fatalf("%v does not wrap %v", got, c.err)
			}
			want := c.want
			if want == "" {
				want = c.err.Error()
			}
			if got.Error() != want {
				t.Errorf("got  %q\nwant %q", got, want)
			}
			if n := strings.Count(got.Error(), safe); c.want != "" && n != 1 {
				t.Errorf("%q says %q %d times, want once", got, safe, n)
			}
			if said := dburl.SaysRerunIsSafe(got); said != (c.want != "") {
				t.Errorf("SaysRerunIsSafe(%q) = %v, want %v", got, said, c.want != "")
			}
		})
	}
}

// TestSaysRerunIsSafe: what this package's advice says of a re-run is
// known to a command that would add it: said for a lost connection and a
// server without a connection left, however explained; not for an error
// not explained, nor for advice that says to change something first.
func TestSaysRerunIsSafe(t *testing.T) {
	ctx := context.Background()
	refused := &pgconn.PgError{Code: "53300", Message: "too many connections for role \"app\""}
	run := dburl.Connections{Command: "a run", Workers: 3, Source: 5, Target: 8}
	for _, c := range []struct {
		name string
		err  error
		said bool
	}{
		{"a lost connection, explained", dburl.ExplainLost(ctx, &pgconn.PgError{Code: "57P01"}), true},
		{"a lost connection, not explained", fmt.Errorf("decide users: %w", &pgconn.PgError{Code: "57P01"}), false},
		{"a connection refused for want of a slot", &dburl.Error{Role: "target", Server: "t", Err: refused}, true},
		{"the same, with the connections told", dburl.ExplainLimits(&dburl.Error{Role: "target", Server: "t", Err: refused}, run), true},
		{"no slot for a pool's connection", dburl.ExplainLimits(fmt.Errorf("extract habits: %w", refused), dburl.Connections{}), true},
		{"no slot, not explained", fmt.Errorf("extract habits: %w", refused), false},
		{"temp_file_limit", dburl.ExplainLimits(&pgconn.PgError{Code: "53400"}, run), false},
		{"a database the server does not have", &dburl.Error{Role: "source", Server: "t", Err: &pgconn.PgError{Code: "3D000"}}, false},
		{"another error", errors.New("copied 3 rows but the snapshot holds 4"), false},
		{"no error", nil, false},
	} {
		t.Run(c.name, func(t *testing.T) {
			if got := dburl.SaysRerunIsSafe(c.err); got != c.said {
				t.Errorf("SaysRerunIsSafe(%v) = %v, want %v", c.err, got, c.said)
			}
			if c.said && !strings.Contains(c.err.Error(), "re-running the same command is safe") {
				t.Errorf("SaysRerunIsSafe(%v), which does not say so", c.err)
			}
		})
	}
}
