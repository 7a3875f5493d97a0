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
