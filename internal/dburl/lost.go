package dburl

import (
	"context"
	"errors"
	"io"
	"net"
	"strings"
	"syscall"

	"github.com/jackc/pgx/v5/pgconn"
)

// LostHint is the advice for a connection lost under a statement. Every
// error that says a connection was lost ends with it, whether or not it
// names the side (see LostError).
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

// LostError is a command's error, Err, explained as a connection lost
// under one of its statements. Its message is Err's, after "on the
// source: " or "on the target: " when Role names the side whose
// connection was lost, and ends with LostHint, which says that re-running
// the same command is safe (see SaysRerunIsSafe). A command that decides
// by other means than Lost that a connection was lost makes one itself.
type LostError struct {
	Role string // "source", "target"; "" when the side is not known
	Err  error
}

func (e *LostError) Error() string {
	msg := e.Err.Error() + LostHint
	if e.Role != "" {
		msg = "on the " + e.Role + ": " + msg
	}
	return msg
}

func (e *LostError) Unwrap() error { return e.Err }

// ExplainLost is ExplainLostOn for a command that does not know on which
// side the connection was lost (one that works on the source and the
// target alike).
func ExplainLost(ctx context.Context, err error) error { return ExplainLostOn(ctx, "", err) }

// ExplainLostOn explains err, the error a command ends with, as a
// *LostError naming role, the database whose connection was lost ("" for
// none), when Lost(err). The error of a cancelled command (ctx done)
// stays as it is: the cancellation closed its connections. So does an
// error explained already, whatever the role it names: it says LostHint
// once, however often it is explained.
func ExplainLostOn(ctx context.Context, role string, err error) error {
	var explained *LostError
	if ctx.Err() != nil || !Lost(err) || errors.As(err, &explained) {
		return err
	}
	return &LostError{Role: role, Err: err}
}

// SaysRerunIsSafe reports whether err's message already says that
// re-running the same command is safe, by the advice this package adds:
// a lost connection (a *LostError), or a server that had no connection
// left (TooManyConnections in an *Error, or explained by ExplainLimits:
// both say TooManyConnectionsHint). A command that adds that sentence to
// its errors adds it only when this is false, so as not to say it twice.
func SaysRerunIsSafe(err error) bool {
	var lost *LostError
	var connect *Error
	var limit *limitError
	return errors.As(err, &lost) || TooManyConnections(err) && (errors.As(err, &connect) || errors.As(err, &limit))
}
