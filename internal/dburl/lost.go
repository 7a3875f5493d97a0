package dburl

import (
	"context"
	"errors"
	"fmt"
	"io"
	"net"
	"strings"
	"syscall"

	"github.com/jackc/pgx/v5/pgconn"
)

// LostHint is the advice for a connection lost under a statement.
const LostHint = " (the connection was lost: the server restarted or crashed, or an administrator, a proxy or the network ended it; re-running the same command is safe)"

// QueryCanceled is the SQLSTATE of a statement cancelled by a request
// (pg_cancel_backend) or a timeout: its session goes on.
const QueryCanceled = "57014"

// Lost reports whether err says that a connection was lost under a
// statement: the server's SQLSTATE says so (class 08, or 57 but for a
// cancelled statement), the socket closed or was reset, or a statement
// went to a connection that had broken before (pgconn.ErrConnClosed:
// "conn closed"). A failure to connect (*Error) is not one: its own
// message says what to check.
func Lost(err error) bool {
	var connectErr *Error
	if err == nil || errors.As(err, &connectErr) {
		return false
	}
	var pgErr *pgconn.PgError
	if errors.As(err, &pgErr) {
		return strings.HasPrefix(pgErr.Code, "08") || strings.HasPrefix(pgErr.Code, "57") && pgErr.Code != QueryCanceled
	}
	var netErr *net.OpError
	return errors.Is(err, io.ErrUnexpectedEOF) || errors.Is(err, syscall.EPIPE) || errors.Is(err, syscall.ECONNRESET) ||
		errors.As(err, &netErr) || errors.Is(err, pgconn.ErrConnClosed)
}

// ExplainLost adds LostHint to err, the error a command ends with, when
// Lost(err). The error of a cancelled command (ctx done) stays as it is:
// the cancellation closed its connections.
func ExplainLost(ctx context.Context, err error) error {
	if ctx.Err() != nil || !Lost(err) {
		return err
	}
	return fmt.Errorf("%w%s", err, LostHint)
}
