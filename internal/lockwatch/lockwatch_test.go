package lockwatch

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"net"
	"os"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"
	"github.com/jackc/pgx/v5"

	"github.com/cutover/cutover/internal/dburl"
	"github.com/cutover/cutover/internal/pgtest"
)

// TestMain gives the tests that need a server one (pgtest.Main).
func TestMain(m *testing.M) { os.Exit(pgtest.Main(m)) }

// TestTimeWaits: on a server that does not say since when a session waits
// for a lock, a wait counts from the poll that first saw it, is reported
// once seen for longer than the threshold (as "at least"), and starts
// anew when it was not seen at one poll.
func TestTimeWaits(t *testing.T) {
	start := time.Date(2026, 3, 2, 1, 0, 0, 0, time.UTC)
	wait := func(pid int, what string) lockWait { return lockWait{PID: pid, What: what} }
	seen := sightings[string]{}
	for _, step := range []struct {
		at    time.Duration
		waits []lockWait
		want  []string // "pid what waited"
	}{
		{0, []lockWait{wait(1, "public.habits")}, nil},
		{2 * time.Second, []lockWait{wait(1, "public.habits"), wait(2, "public.users")}, nil},
		{4 * time.Second, []lockWait{wait(1, "public.habits"), wait(2, "public.users")}, []string{"1 public.habits 4s"}},
		{6 * time.Second, []lockWait{wait(2, "public.users"), wait(1, "public.goals")}, []string{"2 public.users 4s"}},
		{8 * time.Second, []lockWait{wait(1, "public.habits")}, nil},
		{13 * time.Second, []lockWait{wait(1, "public.habits")}, []string{"1 public.habits 5s"}},
	} {
		var got []string
		for _, w := range timeWaits(seen, start.Add(step.at), step.waits, 3*time.Second) {
			if !w.AtLeast {
				t.Errorf("at %s: %+v not marked as a lower bound", step.at, w)
			}
			got = append(got, fmt.Sprintf("%d %s %s", w.PID, w.What, w.Waited))
		}
		if d := cmp.Diff(step.want, got); d != "" {
			t.Errorf("at %s: reported (-want +got):\n%s", step.at, d)
		}
	}
	if len(seen) != 1 {
		t.Errorf("the watch remembers %d waits, want the one still waiting: %v", len(seen), seen)
	}
	msg := lockWait{Who: "the run", Server: "target", PID: 7, What: "public.habits", Waited: 4 * time.Second, AtLeast: true,
		Holders: []lockHolder{{PID: 9}}}.Message()
	if !strings.HasPrefix(msg, "target: the run has waited at least 4s for a lock on public.habits, blocked by pid 9;") {
		t.Errorf("message of a lower bound: %q", msg)
	}
}

// TestLockWatchOutlivesItsConnection: the server ends the lock watch's
// connection (an administrator's cleanup of idle sessions); the watch
// goes on with a new one, and still says who blocks a session of the run
// that waits afterwards. The watch's connections are named apart from
// the run's sessions (status lists those as the run's work), unless the
// URL names every session itself: then the watch tells the run's by that
// name.
func TestLockWatchOutlivesItsConnection(t *testing.T) {
	t.Parallel()
	const app = "cutover watch test"
	for _, c := range []struct {
		name  string
		param string // the URL's application_name, or ""
		run   string // the run's sessions' name
		watch string // the watch's connections' name
	}{
		{name: "named by the run", run: app, watch: app + " lock watch"},
		{name: "named by the URL", param: "nightly", run: "nightly", watch: "nightly"},
	} {
		t.Run(c.name, func(t *testing.T) {
			t.Parallel()
			ctx, cancel := context.WithCancel(context.Background())
			defer cancel()
			url := pgtest.NewDB(t)
			admin := pgtest.Connect(t, url)
			if c.param != "" {
				url = pgtest.WithParam(t, url, "application_name", c.param)
			}
			if _, err := admin.Exec(ctx, `CREATE TABLE held (id int)`); err != nil {
				t.Fatal(err)
			}
			connect := func(name string) *pgx.Conn {
				cfg, err := pgx.ParseConfig(url)
				if err != nil {
					t.Fatal(err)
				}
				cfg.RuntimeParams["application_name"] = name
				c, err := pgx.ConnectConfig(ctx, cfg)
				if err != nil {
					t.Fatal(err)
				}
				t.Cleanup(func() { c.Close(context.Background()) })
				return c
			}
			blocker := connect("psql")
			if _, err := blocker.Exec(ctx, "BEGIN; LOCK TABLE held IN ACCESS EXCLUSIVE MODE"); err != nil {
				t.Fatal(err)
			}

			found := make(chan string, 1)
			say := func(m string) {
				select {
				case found <- m:
				default:
				}
			}
			w := Watch{App: app, Who: "the run", Say: say, Logger: slog.New(slog.DiscardHandler)}
			watched := make(chan error, 1)
			go func() { watched <- w.watchServer(ctx, "target", url, 100*time.Millisecond, lockWaitRepeat) }()

			// The watch's connection, the only one named so yet, ended by
			// the server while it is idle between its polls.
			var ended int64
			for deadline := time.Now().Add(30 * time.Second); ended == 0; {
				if time.Now().After(deadline) {
					t.Fatalf("no connection named %q showed in pg_stat_activity", c.watch)
				}
				if err := admin.QueryRow(ctx, `SELECT count(pg_terminate_backend(pid)) FROM pg_stat_activity
					WHERE datname = current_database() AND application_name = $1 AND state = 'idle'`, c.watch).Scan(&ended); err != nil {
					t.Fatal(err)
				}
				time.Sleep(50 * time.Millisecond)
			}

			// A session of the run that waits for the lock only now.
			waiter := connect(c.run)
			waiting := make(chan error, 1)
			go func() {
				_, err := waiter.Exec(ctx, "SELECT count(*) FROM held")
				waiting <- err
			}()
			const want = "target: the run has waited " // then how long, on what, by whom
			select {
			case m := <-found:
				if !strings.HasPrefix(m, want) || !strings.Contains(m, "public.held") || !strings.Contains(m, fmt.Sprintf("pid %d", blocker.PgConn().PID())) {
					t.Errorf("the watch said %q; want the wait on public.held, blocked by pid %d", m, blocker.PgConn().PID())
				}
			case err := <-watched:
				t.Fatalf("the watch ended after the server ended its connection: %v", err)
			case <-time.After(30 * time.Second):
				t.Fatal("the watch said nothing of the waiting session in 30s")
			}
			// Named apart, the watch is not among the sessions named like
			// the run's.
			var named []string
			if err := admin.QueryRow(ctx, `SELECT array_agg(application_name ORDER BY application_name) FROM pg_stat_activity
				WHERE datname = current_database() AND application_name IN ($1, $2)`, c.run, c.watch).Scan(&named); err != nil {
				t.Fatal(err)
			}
			wantNamed := []string{c.run, c.watch}
			if c.run == c.watch {
				wantNamed = []string{c.run, c.run}
			}
			slices.Sort(wantNamed)
			if d := cmp.Diff(wantNamed, named); d != "" {
				t.Errorf("the sessions named like the run and its watch (-want +got):\n%s", d)
			}
			blocker.Close(ctx)
			if err := <-waiting; err != nil {
				t.Errorf("the waiting session: %v", err)
			}
			cancel()
			if err := <-watched; err != nil {
				t.Errorf("the watch, cancelled: %v", err)
			}
		})
	}
}

// TestLockWatchGivesUpOnAServerItCannotReach: a watch whose connections
// keep failing (here, no server at all) tries again at its next poll, and
// stops after watchConnectAttempts of them with the last connection's
// error, rather than trying for the rest of the run.
func TestLockWatchGivesUpOnAServerItCannotReach(t *testing.T) {
	t.Parallel()
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	url := fmt.Sprintf("postgres://u@127.0.0.1:%d/app?sslmode=disable&connect_timeout=5", l.Addr().(*net.TCPAddr).Port)
	l.Close()
	var debug strings.Builder
	w := Watch{App: "cutover watch test", Who: "the run", Say: func(string) {},
		Logger: slog.New(slog.NewTextHandler(&debug, &slog.HandlerOptions{Level: slog.LevelDebug}))}
	err = w.watchServer(ctx, "target", url, time.Second, lockWaitRepeat)
	var de *dburl.Error
	if !errors.As(err, &de) {
		t.Fatalf("the watch of a server it cannot reach ended with %v; want the connection's *dburl.Error", err)
	}
	if tries := strings.Count(debug.String(), "tries again at its next poll"); tries != watchConnectAttempts-1 {
		t.Errorf("the watch said it tries again %d times; want %d:\n%s", tries, watchConnectAttempts-1, debug.String())
	}
}

// TestSyncRepMessage: the message of commits held for a synchronous
// standby names the command in both places, however many commits wait.
func TestSyncRepMessage(t *testing.T) {
	for _, c := range []struct {
		who      string
		sessions int
		want     string
	}{
		{"the run", 1, "target: a commit of the run has waited at least 12s for a synchronous standby to confirm it (synchronous_standby_names is 'ghost'): " +
			"one is down or far behind; bring it back, or empty synchronous_standby_names on the target (ALTER SYSTEM, then SELECT pg_reload_conf()); " +
			"the run goes on by itself once its commits are confirmed"},
		{"verify", 3, "target: 3 commits of verify have waited at least 12s for a synchronous standby to confirm it (synchronous_standby_names is 'ghost'): " +
			"one is down or far behind; bring it back, or empty synchronous_standby_names on the target (ALTER SYSTEM, then SELECT pg_reload_conf()); " +
			"verify goes on by itself once its commits are confirmed"},
	} {
		if got := syncRepMessage(c.who, "target", 12*time.Second, c.sessions, "ghost"); got != c.want {
			t.Errorf("%s, %d sessions:\n got %s\nwant %s", c.who, c.sessions, got, c.want)
		}
	}
}
