package load

import (
	"context"
	"errors"
	"fmt"
	"slices"
	"strings"
	"testing"

	"github.com/cutover/cutover/internal/pgtest"
	"github.com/cutover/cutover/internal/prose"
	"github.com/cutover/cutover/internal/testkit"
)

// TestStatusWithoutTheSourceAfterAFirstRunStoppedMidApply: a first run
// that stopped while it applied (failed, or interrupted) left some tables
// recorded and the others not. Status without the source lists the
// tables of the run's flavor it has no record of as pending, as status
// with the source does (not "every table's batches are done"), and names
// the drift tables it cannot tell of instead of counting them.
func TestStatusWithoutTheSourceAfterAFirstRunStoppedMidApply(t *testing.T) {
	const point = "apply.commit:reading_sessions"
	for _, c := range []struct {
		name   string
		stop   func(cancel context.CancelFunc) func(string) error
		status string
	}{
		{"failed", func(context.CancelFunc) func(string) error { return failAt(point, 1) }, "failed"},
		{"interrupted", func(cancel context.CancelFunc) func(string) error {
			return func(p string) error {
				if p == point {
					cancel() // as SIGINT does
					return context.Canceled
				}
				return nil
			}
		}, "interrupted"},
	} {
		t.Run(c.name, func(t *testing.T) {
			t.Parallel()
			ctx := context.Background()
			dst, cfg, runCtx, cancel := interruptible(t)
			src := cfg.SourceURL
			SetHook(&cfg, c.stop(cancel))
			if _, err := Run(runCtx, cfg); !errors.Is(err, errInjected) && !errors.Is(err, context.Canceled) {
				t.Fatalf("run: %v, want it stopped at %s", err, point)
			}
			with := status(t, ctx, rerunConfig(src, dst))
			without := status(t, ctx, Config{TargetURL: dst})
			if got := without.Runs[0].Status; got != c.status {
				t.Fatalf("the first run is %s, want %s", got, c.status)
			}
			done, notDone := tablesDone(with)
			if len(done) == 0 || len(notDone) == 0 {
				t.Fatalf("the first run did %d tables and left %d: the case tests nothing", len(done), len(notDone))
			}
			// Status with the source lists the drift tables the source has;
			// without it, those nothing records are undetermined.
			gotDone, gotNotDone := tablesDone(without)
			wantNotDone := slices.DeleteFunc(slices.Clone(notDone), func(t string) bool { return slices.Contains(without.Undetermined, t) })
			if !slices.Equal(gotDone, done) || !slices.Equal(gotNotDone, wantNotDone) {
				t.Errorf("without the source:\n done %v\n not done %v\nwith it:\n done %v\n not done %v (undetermined without it: %v)",
					gotDone, gotNotDone, done, notDone, without.Undetermined)
			}
			for _, d := range without.Undetermined {
				if !slices.Contains(notDone, d) {
					t.Errorf("without the source, %s is undetermined, but the source says it is done", d)
				}
			}
			left := fmt.Sprintf("%d of %d tables %s not done", len(wantNotDone), len(without.Tables), prose.Plural(len(wantNotDone), "is", "are"))
			if without.Next.Action != "finish" || strings.Contains(without.Next.Message, "every table's batches are done") ||
				!strings.Contains(without.Next.Message, left) {
				t.Errorf("status without the source: %q: %s\nwant it to say %q", without.Next.Action, without.Next.Message, left)
			}
			t.Logf("without the source: %d tables; %s", len(without.Tables), without.Next.Message)
			if len(without.Undetermined) > 0 && !strings.Contains(without.Next.Message, "give --source to tell") {
				t.Errorf("status without the source does not name the drift tables %v it cannot tell of: %s", without.Undetermined, without.Next.Message)
			}
		})
	}
}

// tablesDone returns the tables of st whose batches are all done, and the
// others, each sorted.
func tablesDone(st *StatusReport) (done, notDone []string) {
	for _, ts := range st.Tables {
		if ts.Pending+ts.Failed == 0 {
			done = append(done, ts.Legacy)
		} else {
			notDone = append(notDone, ts.Legacy)
		}
	}
	return done, notDone
}

// TestStatusAfterTooManyRejects: after a first run that --max-rejects
// stopped, status (with the source or without) lists every table as not
// done and says that the same command stops again, and what to do, as the
// run's own error does; not that re-running it is safe and writes the
// rows that differ.
func TestStatusAfterTooManyRejects(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	src, dst := rerunSource(t), testkit.MigratedTarget(t)
	stopAtRejects(t, ctx, rerunConfig(src, dst))
	for _, c := range []struct {
		name string
		cfg  Config
	}{
		{"with the source", rerunConfig(src, dst)},
		{"without the source", Config{TargetURL: dst}},
	} {
		st := status(t, ctx, c.cfg)
		if done, _ := tablesDone(st); len(done) > 0 {
			t.Errorf("%s: tables done after a run that wrote nothing: %v", c.name, done)
		}
		for _, want := range []string{"run 1 stopped before it wrote to the application tables: ", "more than --max-rejects 1. ",
			"The same command stops there again: fix those rows in the source (`cutover diff` lists them), or raise --max-rejects, then run again"} {
			if st.Next.Action != "fix" || !strings.Contains(st.Next.Message, want) {
				t.Errorf("%s: %q: %s\nwant action fix, saying %q", c.name, st.Next.Action, st.Next.Message, want)
			}
		}
		if strings.Contains(st.Next.Message, "writes only the rows that differ") {
			t.Errorf("%s: advises the same command, which stops again: %s", c.name, st.Next.Message)
		}
	}
	// Status tells the stop by the run's recorded failure, not by its
	// error's words, which another build may phrase otherwise.
	if _, err := pgtest.Connect(t, dst).Exec(ctx, `UPDATE cutover.runs SET error = 'too many rows to reject' WHERE id = 1`); err != nil {
		t.Fatal(err)
	}
	st := status(t, ctx, Config{TargetURL: dst})
	if want := "run 1 stopped before it wrote to the application tables: more rows would be rejected than --max-rejects allows. "; st.Next.Action != "fix" || !strings.Contains(st.Next.Message, want) {
		t.Errorf("reworded error: %q: %s\nwant action fix, saying %q", st.Next.Action, st.Next.Message, want)
	}
	// A run a build before the failure code recorded: its error's words.
	if _, err := pgtest.Connect(t, dst).Exec(ctx, `UPDATE cutover.runs SET failure = NULL,
		error = 'too many rejects: 9 rows would be rejected, more than --max-rejects 1; nothing was written to the application tables' WHERE id = 1`); err != nil {
		t.Fatal(err)
	}
	st = status(t, ctx, Config{TargetURL: dst})
	if want := "run 1 stopped before it wrote to the application tables: 9 rows would be rejected, more than --max-rejects 1. "; st.Next.Action != "fix" || !strings.Contains(st.Next.Message, want) {
		t.Errorf("a run of an earlier build: %q: %s\nwant action fix, saying %q", st.Next.Action, st.Next.Message, want)
	}
}
