// Package lockwatch says who blocks a command of the cutover (a run, a
// dry run, a verification): a session of it waiting for a lock that others
// hold, or a commit held for a synchronous standby.
package lockwatch

import (
	"cmp"
	"context"
	"fmt"
	"log/slog"
	"strings"
	"sync"
	"time"

	"github.com/jackc/pgx/v5"

	"github.com/cutover/cutover/internal/dburl"
)

// A command whose session waits for a lock that someone else holds (the
// application left running, an idle transaction in psql, a VACUUM FULL on
// the source) makes no progress and says nothing: at night the operator
// sees a frozen progress line. watchLocks says who holds the lock.

// Every is how often each server is asked for waiting sessions.
const Every = 2 * time.Second

// lockWaitReported is how long a session of the command waits for a lock
// before the watch names who holds it, then again every lockWaitRepeat
// while the wait lasts (the defaults of Watch.After and Watch.Repeat).
const (
	lockWaitReported = 10 * time.Second
	lockWaitRepeat   = time.Minute
)

// lockWait is a session of the command waiting for a lock that sessions of
// others hold.
type lockWait struct {
	Who     string // the command the session works for, as messages name it: "the run", "verify"
	Server  string // "source" or "target"
	PID     int    // the waiting session of the command
	What    string // the relation, "a row of" it, or the kind of lock waited for
	Waited  time.Duration
	AtLeast bool // Waited is how long the watch has seen it wait (before PostgreSQL 14)
	Holders []lockHolder
}

// lockHolder is a session that holds (or waits ahead for) a lock a command's
// session waits for.
type lockHolder struct {
	PID         int
	User        string
	Application string
	State       string        // "idle in transaction", "active", … ("" when not visible to the command's role)
	InXact      time.Duration // how long its transaction has been open (0 when not visible)
}

// Message tells the operator who blocks the command and what to do.
func (w lockWait) Message() string {
	var hs, pids []string
	for _, h := range w.Holders {
		d := fmt.Sprintf("pid %d", h.PID)
		var parts []string
		if h.User != "" {
			parts = append(parts, "user "+h.User)
		}
		if h.Application != "" {
			parts = append(parts, "application "+h.Application)
		}
		if h.State != "" {
			parts = append(parts, h.State)
		}
		if h.InXact > 0 {
			parts = append(parts, "its transaction open for "+h.InXact.Round(time.Second).String())
		}
		if len(parts) > 0 {
			d += " (" + strings.Join(parts, ", ") + ")"
		}
		hs = append(hs, d)
		pids = append(pids, fmt.Sprint(h.PID))
	}
	end := "end that session (SELECT pg_terminate_backend(" + pids[0] + ")) or let it finish"
	if len(pids) > 1 {
		end = "end those sessions (SELECT pg_terminate_backend(pid) FROM unnest('{" + strings.Join(pids, ",") + "}'::int[]) pid) or let them finish"
	}
	waited := w.Waited.Round(time.Second).String()
	if w.AtLeast {
		waited = "at least " + waited
	}
	return fmt.Sprintf("%s: %s has waited %s for a lock on %s, blocked by %s; %s: %[2]s goes on by itself once the lock is free",
		w.Server, w.Who, waited, w.What, strings.Join(hs, " and "), end)
}

// lockWaitsSQL lists the sessions of this database named $1 (the command's
// sessions share its application_name, see dburl.AppName) that wait for a
// lock, with the sessions blocking them that are neither the command's own
// (its sessions wait for each other briefly, in order) nor the
// asking watch. With waitStart (pg_locks.waitstart, PostgreSQL 14+) it
// lists only those that have waited longer than $2 seconds, and how long;
// without, it lists them all, with 0, and the watch times them
// (timeWaits). A session waiting for a row another transaction locked or
// wrote waits, in pg_locks, for that transaction's id, holding the row's
// tuple lock: the row's table is that lock's.
func lockWaitsSQL(waitStart bool) string {
	waited, longer := "0::float8", ""
	if waitStart {
		waited = "extract(epoch FROM now() - l.waitstart)::float8"
		longer = "\n\tAND l.waitstart < now() - make_interval(secs => $2)"
	}
	return `SELECT w.pid, CASE
		WHEN l.locktype = 'tuple' THEN coalesce('a row of ' || ` + lockedRelation("l") + `, 'a row')
		WHEN l.locktype = 'transactionid' THEN coalesce((SELECT 'a row of ' || ` + lockedRelation("t") + ` FROM pg_locks t
			WHERE t.pid = w.pid AND t.locktype = 'tuple' AND t.granted LIMIT 1), 'a row or key another transaction writes')
		ELSE coalesce(` + lockedRelation("l") + `, l.locktype) END,
	` + waited + `,
	b.pid, coalesce(b.usename::text, ''), coalesce(b.application_name, ''), coalesce(b.state, ''),
	coalesce(extract(epoch FROM now() - b.xact_start), 0)::float8
FROM pg_stat_activity w
JOIN pg_locks l ON l.pid = w.pid AND NOT l.granted
CROSS JOIN LATERAL unnest(pg_blocking_pids(w.pid)) AS bp(pid)
JOIN pg_stat_activity b ON b.pid = bp.pid
WHERE w.datname = current_database() AND w.pid <> pg_backend_pid()
	AND w.application_name = $1
	AND b.application_name IS DISTINCT FROM $1 AND b.pid <> pg_backend_pid()` + longer + `
ORDER BY w.pid, b.pid`
}

// lockedRelation is the SQL of the qualified name of the relation the
// pg_locks row alias holds or awaits a lock on (NULL for locks on no
// relation).
func lockedRelation(alias string) string {
	return `(SELECT n.nspname || '.' || c.relname FROM pg_class c
		JOIN pg_namespace n ON n.oid = c.relnamespace WHERE c.oid = ` + alias + `.relation)`
}

// lockWaits lists the sessions named run on conn's database waiting for
// others' locks (lockWaitsSQL): with waitStart those waiting longer than
// after, each with how long; without, all of them, with Waited 0.
func lockWaits(ctx context.Context, conn *pgx.Conn, who, server, run string, after time.Duration, waitStart bool) ([]lockWait, error) {
	args := []any{run}
	if waitStart {
		args = append(args, after.Seconds())
	}
	rows, err := conn.Query(ctx, lockWaitsSQL(waitStart), args...)
	if err != nil {
		return nil, err
	}
	var out []lockWait
	for rows.Next() {
		var w lockWait
		var h lockHolder
		var waited, inXact float64
		if err := rows.Scan(&w.PID, &w.What, &waited, &h.PID, &h.User, &h.Application, &h.State, &inXact); err != nil {
			rows.Close()
			return nil, err
		}
		w.Who, w.Server, w.Waited, h.InXact = who, server, time.Duration(waited*float64(time.Second)), time.Duration(inXact*float64(time.Second))
		if n := len(out); n > 0 && out[n-1].PID == w.PID && out[n-1].What == w.What {
			out[n-1].Holders = append(out[n-1].Holders, h)
			continue
		}
		w.Holders = []lockHolder{h}
		out = append(out, w)
	}
	return out, rows.Err()
}

// sightings remembers since when the watch has seen each wait, for waits
// the server does not say the start of: a lock wait before PostgreSQL 14,
// a commit waiting for a synchronous standby.
type sightings[K comparable] map[K]time.Time

// see records that the waits seen are waiting at now, forgets the others,
// and returns for each wait seen how long it has been seen (0 the first
// time): a lower bound of how long it has waited, short of it by up to a
// poll's interval.
func (s sightings[K]) see(now time.Time, seen []K) map[K]time.Duration {
	waiting := make(map[K]time.Duration, len(seen))
	for _, k := range seen {
		if _, ok := s[k]; !ok {
			s[k] = now
		}
		waiting[k] = now.Sub(s[k])
	}
	for k := range s {
		if _, ok := waiting[k]; !ok {
			delete(s, k)
		}
	}
	return waiting
}

// timeWaits gives the waits of a server without pg_locks.waitstart how
// long the watch has seen them (seen), and keeps those seen longer than
// after.
func timeWaits(seen sightings[string], now time.Time, waits []lockWait, after time.Duration) []lockWait {
	keys := make([]string, len(waits))
	for i, w := range waits {
		keys[i] = fmt.Sprint(w.PID, w.What)
	}
	long := seen.see(now, keys)
	var out []lockWait
	for i, w := range waits {
		if w.Waited, w.AtLeast = long[keys[i]], true; w.Waited >= after {
			out = append(out, w)
		}
	}
	return out
}

// Watch watches the sessions of a command (a run, a dry run, a
// verification) on the source and the target, for the operator who
// otherwise sees a frozen progress line: a session waiting for a lock
// that others hold (the application left running, an idle transaction
// in psql, a VACUUM FULL), or a commit held for a synchronous standby.
type Watch struct {
	SourceURL, TargetURL string
	// App is the application_name of the command's sessions (dburl.AppName).
	App string
	// Who names the command in the messages: "the run", "verify".
	Who string
	// After is how long a session waits before the watch names who holds
	// the lock (0: 10s), and Repeat how often it says so again while the
	// wait lasts (0: a minute).
	After, Repeat time.Duration
	// Say receives each message; it must be safe for concurrent use.
	Say    func(string)
	Logger *slog.Logger
}

// Start watches each server from a connection of its own (named
// watchName(App), so that status and an administrator tell its polls from
// the command's work), and says every wait for a lock held by others
// longer than After, again every Repeat while it lasts, and likewise a
// commit held for a synchronous standby (syncRepWatch). It never fails
// the command: a server it cannot watch (unreachable) is not watched,
// which the debug log says. stop ends the watch and waits for it.
func (w Watch) Start(ctx context.Context) (stop func()) {
	after, repeat := cmp.Or(w.After, lockWaitReported), cmp.Or(w.Repeat, lockWaitRepeat)
	if w.Logger == nil {
		w.Logger = slog.New(slog.DiscardHandler)
	}
	ctx, cancel := context.WithCancel(ctx)
	var wg sync.WaitGroup
	for _, srv := range []struct{ role, url string }{{"source", w.SourceURL}, {"target", w.TargetURL}} {
		wg.Add(1)
		go func() {
			defer wg.Done()
			if err := w.watchServer(ctx, srv.role, srv.url, after, repeat); err != nil && ctx.Err() == nil {
				w.Logger.Debug("not watching the lock waits of "+w.Who, "server", srv.role, "err", err)
			}
		}()
	}
	return func() {
		cancel()
		wg.Wait()
	}
}

// watchName is the application_name of a lock watch's connections, the
// watched command's sessions being named app.
func watchName(app string) string { return app + " lock watch" }

// watchConnectAttempts is how many connections in a row the lock watch
// tries, one per poll, before it stops watching a server.
const watchConnectAttempts = 3

// watchServer is Start on one server. When the server ends its
// connection (an administrator's cleanup of idle sessions, which may come
// while the watch is still connecting), it goes on with a new one; it
// stops after watchConnectAttempts connections in a row failed, and at
// any other error.
func (w Watch) watchServer(ctx context.Context, role, url string, after, repeat time.Duration) error {
	var conn *pgx.Conn
	defer func() {
		if conn != nil {
			conn.Close(context.WithoutCancel(ctx))
		}
	}()
	var run string     // the name of the command's sessions
	var waitStart bool // pg_locks.waitstart (14+); before, the watch times the waits it sees
	connect := func() error {
		c, err := dburl.Connect(ctx, role, url, dburl.AppName(watchName(w.App)))
		if err != nil {
			return err
		}
		// The command's sessions are named w.App, unless the URL names
		// every session itself (dburl.AppName): then the watch is named so
		// too.
		version, err := dburl.ServerVersionNum(ctx, c)
		if err == nil {
			err = c.QueryRow(ctx, `SELECT current_setting('application_name')`).Scan(&run)
		}
		if err != nil {
			c.Close(context.WithoutCancel(ctx))
			return err
		}
		if run == watchName(w.App) {
			run = w.App
		}
		conn, waitStart = c, version >= 140000
		return nil
	}
	seen := sightings[string]{}
	reported := map[string]time.Time{} // waiter and what → when last said
	var syncRep syncRepWatch
	tick := time.NewTicker(Every)
	defer tick.Stop()
	failed := 0 // connections in a row
	for {
		if conn == nil {
			if err := connect(); err != nil {
				if ctx.Err() != nil {
					return nil
				}
				if failed++; failed == watchConnectAttempts {
					return err
				}
				w.Logger.Debug("the lock watch could not connect; it tries again at its next poll", "server", role, "err", err)
			} else {
				failed = 0
			}
		}
		select {
		case <-ctx.Done():
			return nil
		case <-tick.C:
		}
		if conn == nil {
			continue
		}
		waits, err := lockWaits(ctx, conn, w.Who, role, run, after, waitStart)
		var msg string
		if err == nil {
			msg, err = syncRep.poll(ctx, conn, w.Who, role, run, after, repeat)
		}
		if err != nil {
			if ctx.Err() != nil || !conn.IsClosed() {
				return err
			}
			conn.Close(ctx)
			conn = nil
			w.Logger.Debug("the server ended the lock watch's connection; it connects again", "server", role)
			continue
		}
		if !waitStart {
			waits = timeWaits(seen, time.Now(), waits, after)
		}
		if msg != "" {
			w.Say(msg)
		}
		now := time.Now()
		said := map[string]bool{} // sessions waiting alike say one line
		for _, wait := range waits {
			key := fmt.Sprint(wait.PID, wait.What)
			if last, ok := reported[key]; ok && now.Sub(last) < repeat {
				continue
			}
			reported[key] = now
			if m := wait.Message(); !said[m] {
				said[m] = true
				w.Say(m)
			}
		}
	}
}

// A server whose synchronous_standby_names names a standby that is down
// (or far behind) holds every commit until that standby confirms it: the
// command's sessions wait on the wait event SyncRep, which no lock shows,
// and the command makes no progress.

// syncRepWaitsSQL lists the command's sessions on this database (named $1)
// waiting for a synchronous standby to confirm their commit, with the
// server's synchronous_standby_names.
const syncRepWaitsSQL = `SELECT pid, current_setting('synchronous_standby_names') FROM pg_stat_activity
WHERE datname = current_database() AND pid <> pg_backend_pid()
	AND application_name = $1
	AND wait_event_type = 'IPC' AND wait_event = 'SyncRep'`

// syncRepWatch tracks since when each session of the command has been seen
// waiting for a synchronous standby (pg_stat_activity says that it waits,
// not since when), and when the wait was last said.
type syncRepWatch struct {
	since sightings[int]
	said  time.Time
}

// poll asks once, and returns a message when a session of the command has
// waited longer than after (again every repeat while it lasts).
func (w *syncRepWatch) poll(ctx context.Context, conn *pgx.Conn, who, server, run string, after, repeat time.Duration) (string, error) {
	rows, err := conn.Query(ctx, syncRepWaitsSQL, run)
	if err != nil {
		return "", err
	}
	var pid int
	var names string
	var pids []int
	if _, err := pgx.ForEachRow(rows, []any{&pid, &names}, func() error {
		pids = append(pids, pid)
		return nil
	}); err != nil {
		return "", err
	}
	now := time.Now()
	if w.since == nil {
		w.since = sightings[int]{}
	}
	waiting := w.since.see(now, pids)
	var longest time.Duration
	for _, d := range waiting {
		longest = max(longest, d)
	}
	if len(waiting) == 0 || longest < after || now.Sub(w.said) < repeat {
		return "", nil
	}
	w.said = now
	return syncRepMessage(who, server, longest, len(waiting), names), nil
}

// syncRepMessage tells the operator that the command's commits wait for a
// synchronous standby, and what to do.
func syncRepMessage(who, server string, waited time.Duration, sessions int, names string) string {
	commits := "a commit of " + who + " has"
	if sessions > 1 {
		commits = fmt.Sprintf("%d commits of %s have", sessions, who)
	}
	return fmt.Sprintf("%s: %s waited at least %s for a synchronous standby to confirm it (synchronous_standby_names is '%s'): "+
		"one is down or far behind; bring it back, or empty synchronous_standby_names on the %[1]s (ALTER SYSTEM, then SELECT pg_reload_conf()); "+
		"%[5]s goes on by itself once its commits are confirmed",
		server, commits, waited.Round(time.Second), names, who)
}
