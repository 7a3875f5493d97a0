package dburl

import (
	"context"
	"fmt"
	"strconv"
	"strings"

	"github.com/jackc/pgx/v5/pgconn"
)

// A production application often reaches its database through a
// connection pooler (PgBouncer on port 6432, say), and its URL is the one
// an operator has at hand. The cutover cannot work through one: it keeps
// state in its sessions that a pooler in transaction mode hands to other
// clients or loses between transactions (the run lock, the snapshot the
// readers share, its settings), and PgBouncer, whatever its mode, refuses
// the start-up parameters every session of the cutover starts with
// (StartSessions), or drops them when told to ignore them; either way it
// gives the connection a process id of its own. All three are refused
// with a PoolerError before anything is read or written. A proxy that
// keeps sessions whole but gives them its own process ids is refused as
// well: the run lock's watch looks for the lock under the process id the
// connection was given.

// PoolerError refuses a connection that does not reach a session of the
// server's own: something between the cutover and PostgreSQL refused the
// session's start-up parameters (Refusal), dropped one of them (Setting,
// which the session shows as Got), or gave the connection a process id
// that is not its session's (PID, Backend), as a pooler that hands
// server sessions out does whatever it does with the parameters.
type PoolerError struct {
	Refusal error // the start-up parameter refused (SQLSTATE 08P01), or nil
	Setting Setting
	Got     string
	// PID is the process the connection was told at start-up it talks
	// to, and Backend the server process its session runs in, when they
	// differ (and Refusal and Setting are zero).
	PID, Backend uint32
}

// poolerAdvice says what to do about a PoolerError.
const poolerAdvice = "cutover keeps state in its sessions that a pooler does not keep for it (its run lock, the snapshot its readers share, its settings): " +
	"give it the URL of the PostgreSQL server itself, not the pooler's (PgBouncer listens on 6432 by default)"

func (e *PoolerError) Error() string {
	if e.Refusal != nil {
		return fmt.Sprintf("%s: PostgreSQL itself takes any start-up parameter of a session, and this refusal (SQLSTATE 08P01, a protocol violation) "+
			"comes from something between cutover and the server, a connection pooler such as PgBouncer; %s", connectCause(e.Refusal), poolerAdvice)
	}
	if e.Setting.Name == "" {
		return fmt.Sprintf("the connection was given process id %d at start-up, but its session runs in server process %d: something between cutover and the server hands sessions out, "+
			"a connection pooler such as PgBouncer or a proxy, and the next transaction may run in another session; %s", e.PID, e.Backend, poolerAdvice)
	}
	return fmt.Sprintf("the session started with %s = %q instead of the %q cutover asked for at start-up: something between cutover and the server drops start-up parameters, "+
		"as a connection pooler such as PgBouncer does with ignore_startup_parameters; %s", e.Setting.Name, e.Got, e.Setting.Value, poolerAdvice)
}

func (e *PoolerError) Unwrap() error { return e.Refusal }

// pooled returns err as a *PoolerError when it is a refusal of the
// session's start-up parameters, and err itself otherwise. PostgreSQL
// takes any parameter at start-up (an unknown one fails with 42704, a bad
// value with 22023); only something that speaks the protocol in its stead
// answers 08P01 to a well-formed start-up message.
func pooled(err error) error {
	if sqlState(err) == "08P01" {
		return &PoolerError{Refusal: err}
	}
	return err
}

// checkStarted returns a *PoolerError when the session c shows a value
// other than the one asked for of any of settings (the start-up
// parameters the cutover set itself; "0" and the pinned values are
// spelled as current_setting shows them), or runs in another server
// process than the one c was told of at start-up. It costs one round
// trip, which it shares with stmt, a statement to run first ("" for
// none).
func checkStarted(ctx context.Context, c *pgconn.PgConn, stmt string, settings []Setting) error {
	var sql strings.Builder
	if stmt != "" {
		sql.WriteString(stmt + "; ")
	}
	sql.WriteString("SELECT pg_backend_pid()")
	for _, s := range settings {
		fmt.Fprintf(&sql, ", current_setting('%s')", s.Name) // names are the package's own
	}
	results, err := c.Exec(ctx, sql.String()).ReadAll()
	if err != nil {
		return err
	}
	last := results[len(results)-1]
	if len(last.Rows) != 1 || len(last.Rows[0]) != 1+len(settings) {
		return fmt.Errorf("read the session's settings: got %d rows", len(last.Rows))
	}
	row := last.Rows[0]
	for i, s := range settings {
		if got := string(row[1+i]); got != s.Value {
			return &PoolerError{Setting: s, Got: got}
		}
	}
	if backend, err := strconv.ParseUint(string(row[0]), 10, 32); err != nil || uint32(backend) != c.PID() {
		return &PoolerError{PID: c.PID(), Backend: uint32(backend)}
	}
	return nil
}
