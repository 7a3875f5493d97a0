package main

import (
	"context"
	"fmt"
	"strings"
	"testing"

	"github.com/jackc/pgx/v5"

	"github.com/cutover/cutover/internal/dburl"
	"github.com/cutover/cutover/migrations"
)

// TestCommandsWhoseSessionIsTerminated: status, verify, schema apply,
// schema status and seal, whose target session an administrator
// terminates while it waits on a lock, fail saying that the connection was
// lost and that re-running is safe; re-run, each finishes.
func TestCommandsWhoseSessionIsTerminated(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	src, dst := reportFinished(t)
	for _, c := range []struct {
		args   []string
		app    string // its sessions' application_name
		locked string // a table it reads
	}{
		{[]string{"status", "--source", src, "--target", dst}, "cutover status", "cutover.runs"},
		{[]string{"verify", "--source", src, "--target", dst}, "cutover verify", "cutover.runs"},
		{[]string{"schema", "apply", "--target", dst}, "cutover schema", migrations.VersionTable},
		{[]string{"schema", "status", "--target", dst}, "cutover schema", migrations.VersionTable},
		{[]string{"seal", "--target", dst}, "cutover seal", "cutover.runs"}, // last: it seals the target
	} {
		args, app := c.args, c.app
		command, _, _ := strings.Cut(strings.Join(args, " "), " --")
		t.Run(command, func(t *testing.T) {
			locker, err := pgx.Connect(ctx, dst)
			if err != nil {
				t.Fatal(err)
			}
			defer locker.Close(ctx)
			if _, err := locker.Exec(ctx, "BEGIN; LOCK TABLE "+c.locked+" IN ACCESS EXCLUSIVE MODE"); err != nil {
				t.Fatal(err)
			}
			p := procStart(t, args...)
			var n int
			procWaitUntil(t, app+" waits on the lock", p, func() bool {
				procQuery(t, dst, fmt.Sprintf(`SELECT count(pg_terminate_backend(pid)) FROM pg_stat_activity
					WHERE datname = current_database() AND application_name = '%s' AND wait_event_type = 'Lock'`, app), &n)
				return n > 0
			})
			if _, err := locker.Exec(ctx, "ROLLBACK"); err != nil {
				t.Fatal(err)
			}
			<-p.done
			if code := p.cmd.ProcessState.ExitCode(); code != 1 || !strings.HasSuffix(p.stderr(), dburl.LostHint) {
				t.Errorf("cutover %s, its session terminated: exit %d, want 1 and the error ending with %q:\n%s", command, code, dburl.LostHint, p.stderr())
			}
			// Its other sessions end with its process, on the server a
			// moment later: until then one may hold the run lock (seal's),
			// and the command run again would find a run at work.
			procWaitUntil(t, "the sessions of cutover "+command+" ended", nil, func() bool {
				procQuery(t, dst, `SELECT count(*) FROM pg_stat_activity WHERE datname = current_database() AND application_name = '`+app+`'`, &n)
				return n == 0
			})
			if stdout, stderr, code := runMain(t, nil, args...); code != 0 {
				t.Errorf("cutover %s again: exit %d\n%s\n%s", command, code, stdout, stderr)
			}
		})
	}
}
