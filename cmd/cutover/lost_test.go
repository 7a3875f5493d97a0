package main

import (
	"context"
	"fmt"
	"strings"
	"testing"

	"github.com/jackc/pgx/v5"

	"github.com/cutover/cutover/internal/dburl"
)

// TestCommandsWhoseSessionIsTerminated: status, verify and seal, whose
// target session an administrator terminates while it waits on a lock,
// fail saying that the connection was lost and that re-running is safe;
// re-run, each finishes.
func TestCommandsWhoseSessionIsTerminated(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	src, dst := reportFinished(t)
	for _, args := range [][]string{
		{"status", "--source", src, "--target", dst},
		{"verify", "--source", src, "--target", dst},
		{"seal", "--target", dst}, // last: it seals the target
	} {
		t.Run(args[0], func(t *testing.T) {
			// Every one of them reads the runs.
			locker, err := pgx.Connect(ctx, dst)
			if err != nil {
				t.Fatal(err)
			}
			defer locker.Close(ctx)
			if _, err := locker.Exec(ctx, "BEGIN; LOCK TABLE cutover.runs IN ACCESS EXCLUSIVE MODE"); err != nil {
				t.Fatal(err)
			}
			p := procStart(t, args...)
			app := "cutover " + args[0]
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
				t.Errorf("%s, its session terminated: exit %d, want 1 and the error ending with %q:\n%s", app, code, dburl.LostHint, p.stderr())
			}
			if stdout, stderr, code := runMain(t, nil, args...); code != 0 {
				t.Errorf("%s again: exit %d\n%s\n%s", app, code, stdout, stderr)
			}
		})
	}
}
