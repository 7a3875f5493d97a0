package load

import (
	"context"
	"errors"
	"fmt"
	"slices"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/cutover/cutover/extract"
	"github.com/cutover/cutover/internal/pgtest"
	"github.com/cutover/cutover/internal/testkit"
)

// TestRunSaysTheSourceChangedUnderIt: the application was not stopped,
// and rewrites every user while the run reads the source. The run
// finishes with what its snapshot held, and says which legacy table was
// written to meanwhile, in its progress and its summary; the re-run, with
// the source quiet, says nothing of the kind.
func TestRunSaysTheSourceChangedUnderIt(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	src, dst := rerunSource(t), testkit.MigratedTarget(t)
	admin := pgtest.Connect(t, src)
	var users int64
	if err := admin.QueryRow(ctx, `SELECT count(*) FROM users`).Scan(&users); err != nil {
		t.Fatal(err)
	}
	// written waits until the server's statistics count the application's
	// writes (a session's reach them when it goes idle or ends).
	written := func(before int64) error {
		for range 200 {
			var n int64
			if err := admin.QueryRow(ctx, `SELECT n_tup_upd FROM pg_stat_user_tables WHERE relid = 'public.users'::regclass`).Scan(&n); err != nil {
				return err
			}
			if n >= before+users {
				return nil
			}
			time.Sleep(50 * time.Millisecond)
		}
		return errors.New("the update of the users never reached the statistics")
	}
	cfg := rerunConfig(src, dst)
	hookFirstExtract(&cfg, func() error {
		var before int64
		if err := admin.QueryRow(ctx, `SELECT n_tup_upd FROM pg_stat_user_tables WHERE relid = 'public.users'::regclass`).Scan(&before); err != nil {
			return err
		}
		app := pgtest.Connect(t, src)
		if _, err := app.Exec(ctx, `UPDATE users SET email = email`); err != nil {
			return err
		}
		app.Close(ctx)
		return written(before)
	})
	h := heard{phase: "extract"}
	cfg.Progress = h.progress
	sum, err := Run(ctx, cfg)
	if err != nil {
		t.Fatal(err)
	}
	want := []extract.TableWrites{{Table: "users", Rows: users}}
	if !slices.Equal(sum.SourceWrites, want) {
		t.Errorf("the run saw writes %v, want %v", sum.SourceWrites, want)
	}
	said := "the source changed while the run read it: users (" + strconv.FormatInt(users, 10) + " rows) written since the run began"
	if !anyHasPrefix(h.messages(), said) {
		t.Errorf("the run said:\n%s\nwant a line starting %q", strings.Join(h.messages(), "\n"), said)
	}

	SetHook(&cfg, nil)
	again, err := Run(ctx, cfg)
	if err != nil {
		t.Fatal(err)
	}
	if len(again.SourceWrites) != 0 {
		t.Errorf("the re-run on a quiet source saw writes %v", again.SourceWrites)
	}
}

// TestSourceWritesMessage: the warning names at most five tables, each
// count agreeing with its noun.
func TestSourceWritesMessage(t *testing.T) {
	tables := func(rows ...int64) []extract.TableWrites {
		var out []extract.TableWrites
		for i, n := range rows {
			out = append(out, extract.TableWrites{Table: fmt.Sprintf("t%d", i+1), Rows: n})
		}
		return out
	}
	for _, c := range []struct {
		writes []extract.TableWrites
		want   string
	}{
		{tables(1), "t1 (1 row) written"},
		{tables(2, 1), "t1 (2 rows), t2 (1 row) written"},
		{tables(1, 1, 1, 1, 1, 1), "t5 (1 row) and 1 more table written"},
		{tables(1, 1, 1, 1, 1, 1, 1), "t5 (1 row) and 2 more tables written"},
	} {
		got := SourceWritesMessage(c.writes)
		if !strings.HasPrefix(got, "the source changed while the run read it: ") || !strings.Contains(got, c.want) {
			t.Errorf("%v: %q, want it to say %q", c.writes, got, c.want)
		}
	}
}
