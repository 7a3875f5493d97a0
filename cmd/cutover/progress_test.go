package main

import (
	"bytes"
	"fmt"
	"regexp"
	"strings"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"

	"github.com/cutover/cutover/load"
)

// TestProgressLines checks what an operator reads when the output is not a
// terminal (a log, a pipe): row-counting phases name the rows and what is
// done to them, the others count mappings.
func TestProgressLines(t *testing.T) {
	tests := []struct {
		name   string
		events []load.Event
		want   []string
	}{
		{"checksum", []load.Event{
			{Phase: "checksum", Message: "checksumming 3 source batches"},
			{Phase: "checksum", Table: "users", Done: 20, Total: 20},
		}, []string{"checksum: checksumming 3 source batches", "checksum: 20 of 20 rows read (N rows/s; last: users)"}},
		{"extract", []load.Event{
			{Phase: "extract", Table: "habits", Done: 5, Total: 9},
		}, []string{"extract: 5 of 9 rows copied (N rows/s; last: habits)"}},
		{"apply", []load.Event{
			{Phase: "apply", Table: "habits", Done: 2, Total: 81},
		}, []string{"apply: 2/81 (habits)"}},
		{"apply, weighed by rows", []load.Event{
			{Phase: "apply", Table: "habits", Done: 2, Total: 81, Rows: 500, TotalRows: 2000},
			{Phase: "apply", Table: "users", Done: 81, Total: 81, Rows: 2000, TotalRows: 2000},
		}, []string{"apply: 2/81 (habits; 25% of their rows)", "apply: 81/81 (users)"}},
	}
	stamp := regexp.MustCompile(`^\[ *[0-9.]+s\] `)
	rate := regexp.MustCompile(`\([0-9]+ rows/s`)
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			var buf bytes.Buffer
			p := newProgress(&buf)
			for _, e := range tt.events {
				p.event(e)
			}
			var got []string
			for _, l := range strings.Split(strings.TrimSpace(buf.String()), "\n") {
				got = append(got, rate.ReplaceAllString(stamp.ReplaceAllString(l, ""), "(N rows/s"))
			}
			if d := cmp.Diff(tt.want, got); d != "" {
				t.Errorf("progress lines (-want +got):\n%s", d)
			}
		})
	}
}

// TestProgressRate: a phase's rate counts from the event before its first
// count, not from that count (which comes when the first batch is done):
// 25 rows copied 0.8 s after the checksum said its piece read 31 rows/s,
// where counting from the first count itself gave millions.
func TestProgressRate(t *testing.T) {
	got := playProgress([]timedEvent{
		{200 * time.Millisecond, load.Event{Phase: "checksum", Message: "the extract checksums each batch"}},
		{800 * time.Millisecond, load.Event{Phase: "extract", Table: "achievement_definitions", Done: 25, Total: 1000}},
		{3 * time.Second, load.Event{Phase: "extract", Table: "users", Done: 1000, Total: 1000}},
	})
	want := []string{
		"[   0.2s] checksum: the extract checksums each batch",
		"[   1.0s] extract: 25 of 1000 rows copied (31 rows/s; last: achievement_definitions)",
		"[   4.0s] extract: 1000 of 1000 rows copied (263 rows/s; last: users)",
	}
	if d := cmp.Diff(want, got); d != "" {
		t.Errorf("progress lines (-want +got):\n%s", d)
	}
}

// timedEvent is a progress event that comes after the one before it.
type timedEvent struct {
	after time.Duration
	e     load.Event
}

// playProgress feeds events, each after its wait on a clock that moves
// only by those, to a progress that is not on a terminal, and returns the
// lines it wrote.
func playProgress(events []timedEvent) []string {
	var buf bytes.Buffer
	p := newProgress(&buf)
	clock := p.start
	p.now = func() time.Time { return clock }
	for _, te := range events {
		clock = clock.Add(te.after)
		p.event(te.e)
	}
	return strings.Split(strings.TrimSpace(buf.String()), "\n")
}

// TestProgressTimeLeft: the lines of a phase say about how long it has
// left, at the rate of its work so far, in rows: for decide and apply, the
// rows of the mappings done (here a tenth of them in the first of 81
// mappings), so that the many small mappings do not promise an early end;
// rounded to what an estimate can tell; and nothing before a twentieth of
// the work is done (the first, small, tables tell little) or once it is.
func TestProgressTimeLeft(t *testing.T) {
	const s = time.Second
	got := playProgress([]timedEvent{
		{0, load.Event{Phase: "prepare", Message: "deriving v21 market item keys"}},
		{3 * s, load.Event{Phase: "apply", Table: "habit_completions", Done: 1, Total: 81, Rows: 100_000, TotalRows: 1_000_000}},
		{3 * s, load.Event{Phase: "apply", Table: "users", Done: 81, Total: 81, Rows: 1_000_000, TotalRows: 1_000_000}},
		{3 * s, load.Event{Phase: "extract", Table: "users", Done: 1_000, Total: 1_000_000}},
		{3 * s, load.Event{Phase: "extract", Table: "users", Done: 100_000, Total: 1_000_000}},
		{3 * s, load.Event{Phase: "extract", Table: "users", Done: 600_000, Total: 1_000_000}},
		{3 * s, load.Event{Phase: "extract", Table: "users", Done: 990_000, Total: 1_000_000}},
	})
	want := []string{
		"[   0.0s] prepare: deriving v21 market item keys",
		"[   3.0s] apply: 1/81 (habit_completions; 10% of their rows, about 27s left)",
		"[   6.0s] apply: 81/81 (users)",
		"[   9.0s] extract: 1000 of 1000000 rows copied (333 rows/s; last: users)",
		"[  12.0s] extract: 100000 of 1000000 rows copied (16667 rows/s, about 54s left; last: users)",
		"[  15.0s] extract: 600000 of 1000000 rows copied (66667 rows/s, about 6s left; last: users)",
		"[  18.0s] extract: 990000 of 1000000 rows copied (82500 rows/s; last: users)",
	}
	if d := cmp.Diff(want, got); d != "" {
		t.Errorf("progress lines (-want +got):\n%s", d)
	}
}

// TestProgressBarSaysTheTimeLeft: on a terminal, the bar says the time
// left that the log lines would (Event.Left: the mappings under way count
// half done), not progressbar's guess from its count: 2 of 10 rows done
// and 4 under way in 4 s leave about 6 s, where the count alone says 16.
func TestProgressBarSaysTheTimeLeft(t *testing.T) {
	var buf bytes.Buffer
	p := newProgress(&buf)
	p.tty = true
	clock := p.start
	p.now = func() time.Time { return clock }
	p.event(load.Event{Phase: "decide", Table: "users", Done: 81, Total: 81, Rows: 10, TotalRows: 10})
	clock = clock.Add(4 * time.Second)
	p.event(load.Event{Phase: "apply", Table: "users", Done: 1, Total: 81, Rows: 2, Running: 4, TotalRows: 10})
	p.close()
	if out := buf.String(); !strings.Contains(out, "apply   users") || !strings.Contains(out, "about 6s left") || strings.Contains(out, "16s") {
		t.Errorf("terminal output:\n%q\nwant the apply bar saying about 6s left", out)
	}
}

// TestProgressRateLeavesOutKeptRows: rows a run found copied (an
// interrupted run's stage, or batches its checksum pass copied) are
// counted, said as what they are, and left out of the rate: 40 rows copied
// in 2 s is 20 rows/s, beside 960 kept, where counting them all gave 500
// rows/s, and millions for the kept rows alone.
func TestProgressRateLeavesOutKeptRows(t *testing.T) {
	for _, c := range []struct {
		name    string
		resumed int64 // of the 960 kept
		said    string
	}{
		{"kept from an interrupted run", 960, "960 of them kept from an earlier run"},
		{"copied while checksumming", 0, "960 of them copied while checksumming"},
		{"both", 900, "900 of them kept from an earlier run and 60 copied while checksumming"},
	} {
		t.Run(c.name, func(t *testing.T) {
			var events []timedEvent
			var want []string
			if c.resumed > 0 {
				msg := fmt.Sprintf("keeping 5 batches (%d rows of 4 tables) that an earlier run copied into the stage: the source holds the same rows", c.resumed)
				events = append(events, timedEvent{0, load.Event{Phase: "extract", Message: msg}})
				want = append(want, "[   0.0s] extract: "+msg)
			}
			events = append(events,
				timedEvent{0, load.Event{Phase: "extract", Table: "habits", Done: 960, Total: 1000, Kept: 960, Resumed: c.resumed}},
				timedEvent{2 * time.Second, load.Event{Phase: "extract", Table: "users", Done: 1000, Total: 1000, Kept: 960, Resumed: c.resumed}})
			want = append(want,
				"[   0.0s] extract: 960 of 1000 rows copied, "+c.said+" (last: habits)",
				"[   2.0s] extract: 1000 of 1000 rows copied, "+c.said+" (20 rows/s; last: users)")
			if d := cmp.Diff(want, playProgress(events)); d != "" {
				t.Errorf("progress lines (-want +got):\n%s", d)
			}
		})
	}
}

// TestProgressBarAfterAMessage: on a terminal, a message in the middle of
// a phase (a heartbeat, a lock wait) ends the bar to print its line; the
// phase's next count draws the bar again below it.
func TestProgressBarAfterAMessage(t *testing.T) {
	var buf bytes.Buffer
	p := newProgress(&buf)
	p.tty = true
	p.event(load.Event{Phase: "extract", Table: "habits", Done: 5, Total: 9})
	p.event(load.Event{Phase: "still working", Message: "extract habits batch 2/2 (for 30s)"})
	before := buf.Len()
	p.event(load.Event{Phase: "extract", Table: "habits", Done: 7, Total: 9})
	if p.bar == nil {
		t.Fatal("no bar after the message")
	}
	p.close()
	out := buf.String()
	if !strings.Contains(out[:before], "still working: extract habits batch 2/2 (for 30s)") || !strings.Contains(out[before:], "extract habits") || !strings.Contains(out[before:], "/9") {
		t.Errorf("terminal output:\n%q\nwant the message, then the extract bar again", out)
	}
}

// TestProgressBarFollowsTheTotal: a phase's total is the catalog's
// estimate until the batches are counted; the bar's end moves with it, so
// that a finished phase shows all of its rows done (8/8), not 8/9.
func TestProgressBarFollowsTheTotal(t *testing.T) {
	var buf bytes.Buffer
	p := newProgress(&buf)
	p.tty = true
	p.event(load.Event{Phase: "extract", Table: "habits", Done: 5, Total: 9})
	p.event(load.Event{Phase: "extract", Table: "users", Done: 8, Total: 8})
	if p.bar == nil {
		t.Fatal("no bar")
	}
	if st := p.bar.State(); st.CurrentNum != 8 || st.Max != 8 || st.CurrentPercent != 1 {
		t.Errorf("bar at %d of %d (%.0f%%), want 8 of 8", st.CurrentNum, st.Max, 100*st.CurrentPercent)
	}
}

// TestFormatLeft: an estimate is said as precisely as it can tell.
func TestFormatLeft(t *testing.T) {
	for d, want := range map[time.Duration]string{
		1400 * time.Millisecond:                    "1s",
		27 * time.Second:                           "27s",
		59*time.Second + 600*time.Millisecond:      "1m",
		2*time.Minute + 27*time.Second:             "2m30s",
		2*time.Minute + 2*time.Second:              "2m",
		25*time.Minute + 20*time.Second:            "25m",
		time.Hour + 4*time.Minute + 40*time.Second: "1h5m",
		2*time.Hour + 20*time.Second:               "2h",
	} {
		if got := formatLeft(d); got != want {
			t.Errorf("formatLeft(%s) = %q, want %q", d, got, want)
		}
	}
}

// TestProgressBarWeighsMappings: on a terminal, the bar of a phase that
// counts mappings fills with their rows, so that its predicted time weighs
// each mapping by its work.
func TestProgressBarWeighsMappings(t *testing.T) {
	var buf bytes.Buffer
	p := newProgress(&buf)
	p.tty = true
	p.event(load.Event{Phase: "apply", Table: "habit_completions", Done: 1, Total: 81, Rows: 400, TotalRows: 1000})
	if p.bar == nil {
		t.Fatal("no bar")
	}
	if st := p.bar.State(); st.CurrentNum != 400 || st.Max != 1000 {
		t.Errorf("bar at %d of %d, want 400 of 1000 rows", st.CurrentNum, st.Max)
	}
	p.event(load.Event{Phase: "decide", Table: "users", Done: 1, Total: 81})
	if st := p.bar.State(); st.CurrentNum != 1 || st.Max != 81 {
		t.Errorf("bar of mappings without rows at %d of %d, want 1 of 81", st.CurrentNum, st.Max)
	}
}
