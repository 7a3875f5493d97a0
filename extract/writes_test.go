package extract_test

import (
	"context"
	"slices"
	"testing"
	"time"

	"github.com/cutover/cutover/extract"
	"github.com/cutover/cutover/internal/pgtest"
)

// TestWritten: the tables of the list whose write count grew, by name; a
// table created since counts from zero, one dropped since is left out.
func TestWritten(t *testing.T) {
	before := map[string]int64{"users": 10, "habits": 5, "goals": 7, "gone": 1}
	after := map[string]int64{"users": 10, "habits": 8, "goals": 9, "new": 2, "other": 50}
	got := extract.Written(before, after, []string{"users", "habits", "goals", "gone", "new"})
	want := []extract.TableWrites{{"goals", 2}, {"habits", 3}, {"new", 2}}
	if !slices.Equal(got, want) {
		t.Errorf("Written = %v, want %v", got, want)
	}
}

// TestWriteCounts: a table's count grows by the rows another session
// writes to it, once that session's statistics reach the server.
func TestWriteCounts(t *testing.T) {
	ctx := context.Background()
	u := pgtest.NewDB(t)
	reader := pgtest.Connect(t, u)
	if _, err := reader.Exec(ctx, `CREATE TABLE public.notes (n int)`); err != nil {
		t.Fatal(err)
	}
	before, err := extract.WriteCounts(ctx, reader)
	if err != nil {
		t.Fatal(err)
	}
	writer := pgtest.Connect(t, u)
	if _, err := writer.Exec(ctx, `INSERT INTO public.notes SELECT generate_series(1, 3); UPDATE public.notes SET n = n + 1 WHERE n = 1`); err != nil {
		t.Fatal(err)
	}
	writer.Close(ctx) // a session's statistics reach the server when it ends at the latest
	for range 100 {
		after, err := extract.WriteCounts(ctx, reader)
		if err != nil {
			t.Fatal(err)
		}
		if w := extract.Written(before, after, []string{"notes"}); len(w) == 1 && w[0].Rows == 4 {
			return
		} else if len(w) == 1 && w[0].Rows > 4 {
			t.Fatalf("written %v, want notes 4 rows", w)
		}
		time.Sleep(50 * time.Millisecond)
	}
	t.Error("the writes of another session never reached the counts")
}
