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
	var buf bytes.Buffer
	p := newProgress(&buf)
	clock := p.start
	p.now = func() time.Time { return clock }
	clock = clock.Add(200 * time.Millisecond)
	p.event(load.Event{Phase: "checksum", Message: "the extract checksums each batch"})
	clock = clock.Add(800 * time.Millisecond)
	p.event(load.Event{Phase: "extract", Table: "achievement_definitions", Done: 25, Total: 1000})
	clock = clock.Add(3 * time.Second)
	p.event(load.Event{Phase: "extract", Table: "users", Done: 1000, Total: 1000})
	want := []string{
		"[   0.2s] checksum: the extract checksums each batch",
		"[   1.0s] extract: 25 of 1000 rows copied (31 rows/s; last: achievement_definitions)",
		"[   4.0s] extract: 1000 of 1000 rows copied (263 rows/s; last: users)",
	}
	if d := cmp.Diff(want, strings.Split(strings.TrimSpace(buf.String()), "\n")); d != "" {
		t.Errorf("progress lines (-want +got):\n%s", d)
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
			var buf bytes.Buffer
			p := newProgress(&buf)
			clock := p.start
			p.now = func() time.Time { return clock }
			var want []string
			if c.resumed > 0 {
				msg := fmt.Sprintf("keeping 5 batches (%d rows of 4 tables) that an earlier run copied into the stage: the source holds the same rows", c.resumed)
				p.event(load.Event{Phase: "extract", Message: msg})
				want = append(want, "[   0.0s] extract: "+msg)
			}
			p.event(load.Event{Phase: "extract", Table: "habits", Done: 960, Total: 1000, Kept: 960, Resumed: c.resumed})
			clock = clock.Add(2 * time.Second)
			p.event(load.Event{Phase: "extract", Table: "users", Done: 1000, Total: 1000, Kept: 960, Resumed: c.resumed})
			want = append(want,
				"[   0.0s] extract: 960 of 1000 rows copied, "+c.said+" (last: habits)",
				"[   2.0s] extract: 1000 of 1000 rows copied, "+c.said+" (20 rows/s; last: users)")
			if d := cmp.Diff(want, strings.Split(strings.TrimSpace(buf.String()), "\n")); d != "" {
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
