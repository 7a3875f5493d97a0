package load

import (
	"context"
	"slices"
	"strings"
	"testing"
)

// TestNextRunAfterAFailedRun: what status advises after a failed run says
// how much is left in words that fit the case: no table recorded (a run
// whose bookkeeping recorded nothing, as one through a pooler did), every
// table's batches done (it failed after them), or the tables not done;
// without the source, the drift tables it cannot tell of (Undetermined)
// are named, never counted as done. A run stopped by --max-rejects is
// said to stop again, as its own error says.
func TestNextRunAfterAFailedRun(t *testing.T) {
	done := TableStatus{Legacy: "users", Batches: 1, Done: 1}
	pending := TableStatus{Legacy: "habits", Batches: 2, Done: 1, Pending: 1}
	failed := &RunInfo{ID: 2, Status: "failed"}
	interrupted := &RunInfo{ID: 1, Status: "interrupted"}
	rejects := &RunInfo{ID: 3, Status: "failed", Error: "too many rejects: 523 rows would be rejected, more than --max-rejects 1; " +
		"nothing was written to the application tables (run `cutover diff` to see them)"}
	for _, c := range []struct {
		name         string
		last         *RunInfo
		tables       []TableStatus
		undetermined []string
		staged       int64
		action, want string
	}{
		{"no table recorded", failed, nil, nil, 0, "finish", "run 2 failed; no table is recorded as done yet, so a re-run does it all again. Re-running the same command is safe"},
		{"every table done", failed, []TableStatus{done}, nil, 0, "finish", "run 2 failed; every table's batches are done; a re-run finishes what came after them. Re-running"},
		// Without the source, done as recorded: the source may have changed
		// since (an operator read "almost finished" where 58 mappings were
		// to redo).
		{"every table done, the source not read", failed, []TableStatus{done}, nil, -1, "finish",
			"run 2 failed; every table's batches are recorded as done (what the source changed since, only --source tells); a re-run finishes what came after them. Re-running"},
		{"a table not done", failed, []TableStatus{done, pending}, nil, 0, "finish", "run 2 failed; 1 of 2 tables is not done (habits). Re-running"},
		{"every recorded table done, drift tables unknown", interrupted, []TableStatus{done}, []string{"quests", "user_inbox"}, 0, "finish",
			"run 1 was interrupted (its process or connection ended); the batches of every table it records are done, but the drift tables quests, user_inbox, " +
				"which only some sources have, have no record: if the source has them, a re-run loads them (give --source to tell); a re-run finishes what came after them. Re-running"},
		{"a table not done, a drift table unknown", interrupted, []TableStatus{done, pending}, []string{"user_inbox"}, 0, "finish",
			"run 1 was interrupted (its process or connection ended); 1 of 2 tables is not done (habits); nothing is recorded of the drift table user_inbox, " +
				"which only some sources have: if the source has it, a re-run loads it too (give --source to tell). Re-running"},
		{"too many rejects", rejects, []TableStatus{pending}, nil, 0, "fix",
			"run 3 stopped before it wrote to the application tables: 523 rows would be rejected, more than --max-rejects 1. " +
				"The same command stops there again: fix those rows in the source (`cutover diff` lists them), or raise --max-rejects, then run again; repeating a run is safe"},
		{"too many rejects, the stage kept", rejects, []TableStatus{pending}, nil, 4, "fix",
			"run 3 stopped before it wrote to the application tables: 523 rows would be rejected, more than --max-rejects 1. The same command stops there again: " +
				"fix those rows in the source (`cutover diff` lists them), or raise --max-rejects, then run again; repeating a run is safe; the stage holds 4 batches (40 rows) it copied"},
	} {
		// staged -1: the source was not read (the other cases read it).
		rep := &StatusReport{Tables: c.tables, Undetermined: c.undetermined, SourceRead: c.staged >= 0}
		rep.Staged.Batches, rep.Staged.Rows = max(c.staged, 0), 10*max(c.staged, 0)
		next := rep.next(c.last, false, false)
		if next.Action != c.action || !strings.HasPrefix(next.Message, c.want) {
			t.Errorf("%s: %q: %s\nwant %q, beginning %q", c.name, next.Action, next.Message, c.action, c.want)
		}
		if strings.Contains(next.Message, "every table's batches are done") && len(c.undetermined) > 0 {
			t.Errorf("%s: says every table is done though the drift tables %v are unknown: %s", c.name, c.undetermined, next.Message)
		}
	}
}

// TestFlavorTables: the tables status lists without the source are those
// a run of the flavor reads: every table of the flavor, each with its
// mapping, and the drift tables apart; another build's flavor gives none.
func TestFlavorTables(t *testing.T) {
	drift := []string{"habit_logs", "quests", "user_inbox"}
	for _, c := range []struct {
		flavor     string
		tables     int // at least
		has, lacks []string
	}{
		{"v21", 70, []string{"users", "focus_pause_state", "market_items", "habit_completions"}, drift},
		{"v16", 70, []string{"users", "focus_pause_state", "market_items"}, drift},
		{"v15", 70, []string{"users", "focus_pause_state"}, drift},
		{"v99", 0, nil, []string{"users"}},
	} {
		tables, gotDrift, err := flavorTables(c.flavor)
		if err != nil {
			t.Errorf("%s: %v", c.flavor, err)
			continue
		}
		if len(tables) < c.tables || !slices.IsSorted(tables) || len(slices.Compact(slices.Clone(tables))) != len(tables) {
			t.Errorf("%s: %d tables, want at least %d, sorted, each once: %v", c.flavor, len(tables), c.tables, tables)
		}
		for _, name := range c.has {
			if !slices.Contains(tables, name) {
				t.Errorf("%s: %s is not among its tables", c.flavor, name)
			}
		}
		for _, name := range c.lacks {
			if slices.Contains(tables, name) {
				t.Errorf("%s: %s is among its tables", c.flavor, name)
			}
		}
		if c.tables > 0 && !slices.Equal(gotDrift, drift) {
			t.Errorf("%s: drift tables %v, want %v", c.flavor, gotDrift, drift)
		}
	}
}

// TestStatusWithTheSourceDown: a source that cannot be reached is no
// reason to hide the target's records, which whoever re-runs needs most
// then (an operator review found status printed only the connection's
// error). The report is the target's alone, and says why.
func TestStatusWithTheSourceDown(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	dst := finishedTarget(t)
	rep, err := Status(ctx, Config{TargetURL: dst, SourceURL: "postgres://u:s3cr3tpw@127.0.0.1:1/legacy?connect_timeout=5"})
	if err != nil {
		t.Fatalf("status with the source down: %v", err)
	}
	if !strings.HasPrefix(rep.SourceUnreachable, "connect to source database u@127.0.0.1:1/legacy: ") || strings.Contains(rep.SourceUnreachable, "s3cr3tpw") {
		t.Errorf("SourceUnreachable = %q, want the connection's error, without the password", rep.SourceUnreachable)
	}
	if len(rep.Runs) != 1 || rep.Runs[0].Status != "done" || rep.SourceRead || rep.Next.Action != "unknown" || len(rep.Tables) == 0 {
		t.Errorf("runs %+v, source read %v, next %+v, %d tables: want the target's records alone", rep.Runs, rep.SourceRead, rep.Next, len(rep.Tables))
	}
}
