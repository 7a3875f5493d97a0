package load

import (
	"strings"
	"testing"
)

// TestNextRunAfterAFailedRun: what status advises after a failed run says
// how much is left in words that fit the case: no table recorded (a run
// whose bookkeeping recorded nothing, as one through a pooler did), every
// table's batches done (it failed after them), or the tables not done.
func TestNextRunAfterAFailedRun(t *testing.T) {
	done := TableStatus{Legacy: "users", Batches: 1, Done: 1}
	pending := TableStatus{Legacy: "habits", Batches: 2, Done: 1, Pending: 1}
	failed := &RunInfo{ID: 2, Status: "failed"}
	for _, c := range []struct {
		name   string
		tables []TableStatus
		want   string
	}{
		{"no table recorded", nil, "run 2 failed; no table is recorded as done yet, so a re-run does it all again. Re-running the same command is safe"},
		{"every table done", []TableStatus{done}, "run 2 failed; every table's batches are done; a re-run finishes what came after them. Re-running"},
		{"a table not done", []TableStatus{done, pending}, "run 2 failed; 1 of 2 tables are not done (habits). Re-running"},
	} {
		rep := &StatusReport{Tables: c.tables}
		next := rep.next(failed, false, false)
		if next.Action != "finish" || !strings.HasPrefix(next.Message, c.want) {
			t.Errorf("%s: %q: %s\nwant it to begin %q", c.name, next.Action, next.Message, c.want)
		}
	}
}
