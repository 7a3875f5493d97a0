package main

import (
	"context"
	"strings"
	"testing"

	"github.com/cutover/cutover/internal/pgtest"
)

// TestPoolerURLsAreRefused: given URLs that reach the databases through
// a real PgBouncer in transaction mode (as installed, and told to ignore
// the start-up parameters it refuses), every command refuses before it
// reads or writes anything, says to give the server's own URL, and gives
// no advice to re-run, which could never help; given the servers' URLs,
// the same target answers.
func TestPoolerURLsAreRefused(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	src, dst := reportFinished(t)
	target := pgtest.Connect(t, dst)
	written := func() (state string) {
		t.Helper()
		if err := target.QueryRow(ctx, `SELECT count(*) || ' runs, seal: ' || (to_regclass('cutover.seal') IS NOT NULL) FROM cutover.runs`).Scan(&state); err != nil {
			t.Fatal(err)
		}
		return state
	}
	before := written()
	ignored := "extra_float_digits,statement_timeout,lock_timeout,idle_in_transaction_session_timeout,search_path,default_transaction_isolation,row_security"
	for _, c := range []struct {
		name     string
		settings map[string]string
		want     string
	}{
		{"refusing start-up parameters", nil, "unsupported startup parameter"},
		// (instead of the "public" the cutover pins, or the "pg_catalog"
		// verify's sessions start with)
		{"ignoring start-up parameters", map[string]string{"ignore_startup_parameters": ignored}, `the session started with search_path = "\"$user\", public" instead of the "`},
	} {
		t.Run(c.name, func(t *testing.T) {
			env := []string{"CUTOVER_SOURCE_URL=" + pgtest.Pooled(t, src, c.settings), "CUTOVER_TARGET_URL=" + pgtest.Pooled(t, dst, c.settings)}
			for _, want := range []string{c.want, "give it the URL of the PostgreSQL server itself, not the pooler's"} {
				refusedByAll(t, env, want, []string{"run", "--max-rejects", "-1"}, []string{"diff"}, []string{"verify"}, []string{"status"},
					[]string{"seal"}, []string{"schema", "apply"}, []string{"schema", "status"})
			}
		})
	}
	if after := written(); after != before {
		t.Errorf("the refused commands wrote to the target: %s, before them %s", after, before)
	}
	if stdout, stderr, code := runMain(t, []string{"CUTOVER_TARGET_URL=" + dst}, "status"); code != 0 || !strings.Contains(stdout, "run 1") {
		t.Errorf("status with the server's own URL: exit %d\n%s\n%s", code, stdout, stderr)
	}
}
