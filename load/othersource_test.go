package load

import (
	"context"
	"fmt"
	"strings"
	"sync"
	"testing"

	"github.com/jackc/pgx/v5"

	"github.com/cutover/cutover/internal/dburl"
	"github.com/cutover/cutover/internal/testkit"
)

// TestCommandsSayWhenTheSourceIsAnotherDatabase gives a target that runs
// loaded from one copy of a legacy database another copy of the same
// rows: run, diff and status say that it is not the database the last run
// read, name that run, and change nothing for it. A second run from the
// new copy, and a run whose role may not read the cluster's identity, say
// nothing; the run after that one compares its source with the newest
// run's that knew its own.
func TestCommandsSayWhenTheSourceIsAnotherDatabase(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	dst := testkit.MigratedTarget(t)
	first, second := rerunSource(t), rerunSource(t)
	if dbName(first) == dbName(second) {
		t.Fatal("the two sources are one database")
	}
	const notice = "is not the database run"
	// said runs f with a config from source src and returns the notices
	// among its events.
	said := func(src string, f func(Config) error) []string {
		t.Helper()
		var mu sync.Mutex
		var notices []string
		cfg := rerunConfig(src, dst)
		cfg.Progress = func(e Event) {
			if strings.Contains(e.Message, notice) {
				mu.Lock()
				notices = append(notices, e.Message)
				mu.Unlock()
			}
		}
		if err := f(cfg); err != nil {
			t.Fatal(err)
		}
		return notices
	}
	run := func(cfg Config) error { _, err := Run(ctx, cfg); return err }

	for i, src := range []string{first, first} {
		if got := said(src, run); len(got) != 0 {
			t.Errorf("run %d, from the source every run read: %q", i+1, got)
		}
	}
	// wantNotice checks that got is one notice that source src is not
	// the database run read (from source was), which ended so.
	wantNotice := func(what string, got []string, src string, run int, was, ended, then string) {
		t.Helper()
		if len(got) != 1 {
			t.Fatalf("%s from another database: %d notices %q, want one", what, len(got), got)
		}
		for _, part := range []string{"the source " + dburl.Describe(src) + " ", fmt.Sprintf("run %d read (%s; the run started ", run, dburl.Describe(was)), " and " + ended + "): ", then} {
			if !strings.Contains(got[0], part) {
				t.Errorf("%s from another database says %q, want it to contain %q", what, got[0], part)
			}
		}
	}
	// Another database: the same rows, so nothing to write, but said.
	st := status(t, ctx, Config{SourceURL: second, TargetURL: dst, BatchBytes: rerunConfig("", "").BatchBytes})
	wantNotice("status", []string{st.OtherSource}, second, 2, first, "finished", "another server's")
	if st.Next.Action != "nothing" {
		t.Errorf("status from a copy of the same rows: next run %q (%s), want nothing", st.Next.Action, st.Next.Message)
	}
	wantNotice("diff", said(second, func(cfg Config) error {
		d, err := DryRun(ctx, cfg, 3)
		if err == nil && !strings.HasPrefix(d.OtherSource, "the source "+dburl.Describe(second)+" is not the database run 2 read") {
			t.Errorf("the dry run's report keeps %q, want the notice", d.OtherSource)
		}
		return err
	}), second, 2, first, "finished",
		"The diff compares this source with what the target holds")
	wantNotice("run", said(second, run), second, 2, first, "finished", "stop the run (Ctrl-C) and run again with the right --source")
	if got := said(second, run); len(got) != 0 {
		t.Errorf("a second run from the new source: %q", got)
	}
	if id := scalarOf[string](t, ctx, dst, `SELECT coalesce(source_id, '') FROM cutover.runs WHERE id = 3`); !strings.HasSuffix(id, "/"+scalarOf[string](t, ctx, second, `SELECT oid::text FROM pg_database WHERE datname = current_database()`)) {
		t.Errorf("run 3 recorded the source %q, want the second source's database", id)
	}

	// A role that may not read the cluster's identity: no notice, and
	// nothing recorded. The next run that knows its source's compares it
	// with the newest run that knew its own (run 4).
	if err := withConn(ctx, first, func(c *pgx.Conn) error {
		_, err := c.Exec(ctx, `REVOKE EXECUTE ON FUNCTION pg_control_system() FROM PUBLIC`)
		return err
	}); err != nil {
		t.Fatal(err)
	}
	if got := said(testkit.ReadOnlyURL(t, ctx, first), run); len(got) != 0 {
		t.Errorf("a run whose role may not read the source's identity: %q", got)
	}
	if got := scalarOf[bool](t, ctx, dst, `SELECT source_id IS NULL FROM cutover.runs WHERE id = 5`); !got {
		t.Error("a run whose role may not read the source's identity recorded one")
	}
	// Run 4 recorded as running, as a process killed meanwhile leaves it:
	// it was interrupted, as status shows it.
	if err := withConn(ctx, dst, func(c *pgx.Conn) error {
		_, err := c.Exec(ctx, `UPDATE cutover.runs SET status = 'running', finished_at = NULL WHERE id = 4`)
		return err
	}); err != nil {
		t.Fatal(err)
	}
	st = status(t, ctx, Config{SourceURL: first, TargetURL: dst, BatchBytes: rerunConfig("", "").BatchBytes})
	wantNotice("status after a run that did not know its source", []string{st.OtherSource}, first, 4, second, "was interrupted", "another server's")
	wantNotice("run after one that did not know its source", said(first, run), first, 4, second, "was interrupted", "stop the run")
}
