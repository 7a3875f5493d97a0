package load

// Dry runs against a finished target whose source changed (S1, see
// changeSource): the row diffs they show, and what they leave of the
// target.

import (
	"context"
	"fmt"
	"regexp"
	"strconv"
	"strings"
	"testing"

	"github.com/google/go-cmp/cmp"
	"github.com/jackc/pgx/v5"
)

// cmpLine is a line of a go-cmp diff of two maps that only one side
// holds: its side ("-" target, "+" what the run would write), the key and
// the value. go-cmp puts a space or a no-break space after the side.
var cmpLine = regexp.MustCompile(`^([-+])[\s\x{00a0}]*"([^"]+)":\s*(.*?),?$`)

// diffLines returns the keys of the lines of a RowDiff's Diff that differ,
// with their values, for each side.
func diffLines(diff string) map[string]map[string]string {
	out := map[string]map[string]string{"-": {}, "+": {}}
	for _, l := range strings.Split(diff, "\n") {
		if m := cmpLine.FindStringSubmatch(l); m != nil {
			out[m[1]][m[2]] = m[3]
		}
	}
	return out
}

// TestDryRunShowsRowDiffs: a dry run shows, per target table, at most
// samples rows it would update, as row diffs of the target's row and the
// row the run would write: against a finished target whose source renamed
// a loaded habit, the habit's diff holds its name, and nothing else, on
// both sides, and the run then writes the diff's new name. A table
// without updates shows none.
func TestDryRunShowsRowDiffs(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	src, dst := changedSource(t), finishedTarget(t)
	legacy := scalarOf[string](t, ctx, src, `SELECT key FROM test_edits.picked WHERE what = 'edited_habit'`)
	habit := scalarOf[string](t, ctx, dst, `SELECT target_id::text FROM cutover.dispositions
		WHERE legacy_table = 'habits' AND legacy_key = $1 AND disposition = 'loaded'`, legacy)
	oldName := scalarOf[string](t, ctx, dst, `SELECT name FROM public.habits WHERE id::text = $1`, habit)
	newName := scalarOf[string](t, ctx, src, `SELECT name FROM habits WHERE id::text = $1`, legacy)
	if oldName == newName || !strings.HasSuffix(newName, " (renamed)") {
		t.Fatalf("the source edit did not rename habit %s: %q in the target, %q in the source", habit, oldName, newName)
	}
	// go-cmp shows a value of the rows' maps (map[string]any) with its type.
	wantDiff := map[string]map[string]string{"-": {"name": "string(" + strconv.Quote(oldName) + ")"}, "+": {"name": "string(" + strconv.Quote(newName) + ")"}}
	for _, samples := range []int{0, 1, 3} {
		t.Run(fmt.Sprintf("samples %d", samples), func(t *testing.T) {
			dry, err := DryRun(ctx, rerunConfig(src, dst), samples)
			if err != nil {
				t.Fatal(err)
			}
			var updated, shown int
			var habits *TableDiff
			for i, td := range dry.Targets {
				if td.Table == "habits" {
					habits = &dry.Targets[i]
				}
				if td.Update > 0 {
					updated++
				}
				shown += len(td.Samples)
				// Each sample is one row the run would update, shown once.
				keys := map[string]bool{}
				for _, s := range td.Samples {
					if keys[s.Key] || s.Diff == "" {
						t.Errorf("%s: sample %q shown twice or without a diff:\n%s", td.Table, s.Key, s.Diff)
					}
					keys[s.Key] = true
				}
				if int64(len(td.Samples)) > min(int64(samples), td.Update) {
					t.Errorf("%s: %d samples, want at most %d (samples) and at most its %d updates", td.Table, len(td.Samples), samples, td.Update)
				}
			}
			if habits == nil || habits.Update == 0 || updated == 0 {
				t.Fatalf("the dry run predicts no update of habits (%+v), %d tables with updates", habits, updated)
			}
			if samples == 0 {
				if shown != 0 {
					t.Errorf("asked for no samples, the dry run showed %d", shown)
				}
				return
			}
			// The edited habit is among the samples when they can hold
			// all of habits' updates.
			if int64(samples) < habits.Update {
				t.Fatalf("habits has %d updates, more than the %d samples: the test cannot tell the edited one is shown", habits.Update, samples)
			}
			if len(habits.Samples) != int(habits.Update) {
				t.Errorf("habits: %d samples of its %d updates, want all", len(habits.Samples), habits.Update)
			}
			var got *RowDiff
			for i, s := range habits.Samples {
				if s.Key == habit {
					got = &habits.Samples[i]
				}
			}
			if got == nil {
				t.Fatalf("no sample of the renamed habit %s among %+v", habit, habits.Samples)
			}
			if d := cmp.Diff(wantDiff, diffLines(got.Diff)); d != "" {
				t.Errorf("the renamed habit's row diff differs in (-want +got):\n%s\nits diff:\n%s", d, got.Diff)
			}
		})
	}
	// What the diff shows the run would write is what it writes.
	if _, err := Run(ctx, rerunConfig(src, dst)); err != nil {
		t.Fatal(err)
	}
	if got := scalarOf[string](t, ctx, dst, `SELECT name FROM public.habits WHERE id::text = $1`, habit); got != newName {
		t.Errorf("the run wrote the habit's name %q, the dry run's diff said %q", got, newName)
	}
}

// targetState describes what a dry run must leave as it is in the target:
// the schemas, the relations of the application's and the bookkeeping's
// schemas, and every table there (partitions too) by its row count and a
// digest of its rows, whole, and every sequence's position.
func targetState(t *testing.T, ctx context.Context, u string) map[string]string {
	t.Helper()
	out := map[string]string{}
	if err := withConn(ctx, u, func(c *pgx.Conn) error {
		var schemas []string
		if err := c.QueryRow(ctx, `SELECT array_agg(nspname::text ORDER BY nspname) FROM pg_namespace
			WHERE nspname !~ '^pg_' AND nspname <> 'information_schema'`).Scan(&schemas); err != nil {
			return err
		}
		out["schemas"] = strings.Join(schemas, ", ")
		rels := map[string]string{}
		rows, _ := c.Query(ctx, `SELECT format('%I.%I', n.nspname, c.relname), c.relkind::text FROM pg_class c
			JOIN pg_namespace n ON n.oid = c.relnamespace WHERE n.nspname IN ('public', 'cutover') ORDER BY 1`)
		var name, kind string
		if _, err := pgx.ForEachRow(rows, []any{&name, &kind}, func() error { rels[name] = kind; return nil }); err != nil {
			return err
		}
		for name, kind := range rels {
			out[name] = "relkind " + kind
			var q string
			switch kind {
			case "r", "p":
				q = `SELECT format('%s rows, md5 %s', count(*), md5(coalesce(string_agg(x::text, E'\n' ORDER BY x::text COLLATE "C"), ''))) FROM ` + name + ` x`
			case "S":
				q = `SELECT format('last_value %s, is_called %s', last_value, is_called) FROM ` + name
			default:
				continue
			}
			var v string
			if err := c.QueryRow(ctx, q).Scan(&v); err != nil {
				return fmt.Errorf("%s: %w", name, err)
			}
			out[name] += ": " + v
		}
		return nil
	}); err != nil {
		t.Fatal(err)
	}
	return out
}

// TestDryRunWritesNothing: a dry run against a finished target whose
// source changed (it predicts inserts, updates and deletes) writes nothing
// to the application tables or the bookkeeping (runs, ledger, results,
// batches and the rest): every table holds the same rows after it, every
// sequence is where it was, no relation came or went, and its scratch
// schema is gone.
func TestDryRunWritesNothing(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	src, dst := changedSource(t), finishedTarget(t)
	before := targetState(t, ctx, dst)
	for _, table := range []string{"public.users", "public.habits", "cutover.runs", "cutover.dispositions", "cutover.results", "cutover.batches", "cutover.rejects"} {
		if !strings.HasPrefix(before[table], "relkind ") {
			t.Fatalf("the state of the target misses %s: %v", table, before)
		}
	}
	for _, table := range []string{"public.users", "cutover.runs", "cutover.dispositions", "cutover.results", "cutover.batches"} {
		if strings.Contains(before[table], ": 0 rows") {
			t.Fatalf("%s of the finished target is empty: the test proves nothing of it", table)
		}
	}
	if strings.Contains(before["schemas"], DryRunStage) {
		t.Fatalf("the target holds a scratch schema before the dry run: %s", before["schemas"])
	}
	dry, err := DryRun(ctx, rerunConfig(src, dst), 3)
	if err != nil {
		t.Fatal(err)
	}
	var ins, upd, del int64
	for _, td := range dry.Targets {
		ins, upd, del = ins+td.Insert, upd+td.Update, del+td.Delete
	}
	if ins == 0 || upd == 0 || del == 0 {
		t.Fatalf("the dry run predicts %d inserts, %d updates and %d deletes: want some of each", ins, upd, del)
	}
	if d := cmp.Diff(before, targetState(t, ctx, dst)); d != "" {
		t.Errorf("the dry run changed the target (-before +after):\n%s", d)
	}
}
