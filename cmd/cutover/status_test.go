package main

import (
	"bytes"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"

	"github.com/cutover/cutover/load"
	"github.com/cutover/cutover/migrations"
)

// TestPrintWorking: status lists what a working run's sessions are busy
// with, each on one line: whether it waits and for what, how long its
// statement has run, and the statement's start.
func TestPrintWorking(t *testing.T) {
	var buf bytes.Buffer
	printWorking(&buf, "the run's", []load.SessionActivity{
		{PID: 4242, State: "active", Wait: "Lock:relation", For: 41*time.Second + 300*time.Millisecond,
			Statement: `INSERT INTO public."habits" AS t (id, user_id, title) SELECT s.id, s.user_id, s.title FROM "cutover_stage"."habits" s JOIN "cutover_stage"."d_habits" d ON d._k = s.id`},
		{PID: 4243, State: "active", For: 2 * time.Second, Statement: `CREATE INDEX ON public.habit_completions (habit_id)`},
	})
	want := `
WORKING (the run's busy sessions on the target, the longest busy first)
  pid 4242  active, waiting for Lock:relation  for 41s  INSERT INTO public."habits" AS t (id, user_id, title) SELECT s.id, s.user_id, s.title FROM "cutover…
  pid 4243  active                             for 2s   CREATE INDEX ON public.habit_completions (habit_id)
`
	if d := cmp.Diff(want, buf.String()); d != "" {
		t.Errorf("status of a working run (-want +got):\n%s", d)
	}
	buf.Reset()
	printWorking(&buf, "the run's", nil)
	if buf.Len() != 0 {
		t.Errorf("status with no busy session printed %q", buf.String())
	}
}

// TestPrintDryRun: status says that a dry run works on the target, who it
// is (what the reading role may see of its session), what that means
// for a run, and what its sessions are busy with; with no dry run it says
// nothing of one.
func TestPrintDryRun(t *testing.T) {
	busy := []load.SessionActivity{{PID: 779, State: "active", Wait: "Lock:relation", For: 12 * time.Second,
		Statement: `CREATE UNLOGGED TABLE "cutover_dryrun"."d_users" AS SELECT s.id AS _k FROM "cutover_dryrun"."users" s`}}
	for _, c := range []struct {
		name     string
		dry      *migrations.DryRunningError
		sessions []load.SessionActivity
		want     string
	}{
		{"none", nil, nil, ""},
		{"visible", &migrations.DryRunningError{PID: 777, Client: "10.0.0.8", Since: time.Date(2026, 12, 6, 3, 50, 7, 0, time.UTC)}, nil, `
DRY RUN
  a dry run (pid 777 from 10.0.0.8, connected 2026-12-06 03:50:07Z) is working on this target, in the scratch schema cutover_dryrun; a run may start meanwhile, and the dry run then fails (it would compare a target that changes under it)
`},
		{"another role's", &migrations.DryRunningError{PID: 778}, nil, `
DRY RUN
  a dry run (pid 778) is working on this target, in the scratch schema cutover_dryrun; a run may start meanwhile, and the dry run then fails (it would compare a target that changes under it)
`},
		{"busy", &migrations.DryRunningError{PID: 778}, busy, `
DRY RUN
  a dry run (pid 778) is working on this target, in the scratch schema cutover_dryrun; a run may start meanwhile, and the dry run then fails (it would compare a target that changes under it)

WORKING (the dry run's busy sessions on the target, the longest busy first)
  pid 779  active, waiting for Lock:relation  for 12s  CREATE UNLOGGED TABLE "cutover_dryrun"."d_users" AS SELECT s.id AS _k FROM "cutover_dryrun"."users"…
`},
	} {
		t.Run(c.name, func(t *testing.T) {
			var buf bytes.Buffer
			printDryRun(&buf, c.dry, c.sessions)
			if d := cmp.Diff(c.want, buf.String()); d != "" {
				t.Errorf("status of a dry run (-want +got):\n%s", d)
			}
		})
	}
}

// TestPrintNext: status says what the next run would do, and adds a note
// when the source given is not the database the last run read (without
// what a run would make of the target, when a run refuses it).
func TestPrintNext(t *testing.T) {
	next := load.NextRun{Action: "none", Message: "nothing to do: the target holds what a run would write"}
	other := (&migrations.OtherSource{Run: 4, Status: "done", Source: "app@10.0.0.5:5432/legacy", Started: time.Date(2026, 12, 1, 22, 10, 0, 0, time.UTC)}).
		Notice("app@10.0.0.9:5432/legacy")
	for _, c := range []struct {
		name string
		rep  load.StatusReport
		want string
	}{
		{"the same source", load.StatusReport{Next: next}, `NEXT RUN
  nothing to do: the target holds what a run would write
`},
		{"another database", load.StatusReport{Next: next, OtherSource: other}, `NEXT RUN
  nothing to do: the target holds what a run would write
  Note: the source app@10.0.0.9:5432/legacy is not the database run 4 read (app@10.0.0.5:5432/legacy; the run started 2026-12-01T22:10:00Z and finished): it is a database restored or created anew since, or another server's. A run makes the target this source's image, as after any change of the source.
`},
		{"another database, refused", load.StatusReport{Next: load.NextRun{Action: "refused", Message: "a run would refuse this target: its flavor"}, OtherSource: other}, `NEXT RUN
  a run would refuse this target: its flavor
  Note: the source app@10.0.0.9:5432/legacy is not the database run 4 read (app@10.0.0.5:5432/legacy; the run started 2026-12-01T22:10:00Z and finished): it is a database restored or created anew since, or another server's.
`},
		{"the source down", load.StatusReport{Next: load.NextRun{Action: "unknown", Message: "run 4 finished; if the source has not changed since, a re-run writes nothing (give --source to check)"},
			SourceUnreachable: "connect to source database app@10.0.0.5:5432/legacy: dial tcp 10.0.0.5:5432: connect: connection refused"}, `NEXT RUN
  run 4 finished; if the source has not changed since, a re-run writes nothing (give --source to check)
  Note: the source could not be reached, so this is from the target's records alone: connect to source database app@10.0.0.5:5432/legacy: dial tcp 10.0.0.5:5432: connect: connection refused.
`},
	} {
		t.Run(c.name, func(t *testing.T) {
			var buf bytes.Buffer
			printNext(&buf, &c.rep)
			if d := cmp.Diff(c.want, buf.String()); d != "" {
				t.Errorf("next run (-want +got):\n%s", d)
			}
		})
	}
}

// TestPrintRuns: status lists the last ten runs, newest first, each with
// how it ended, the source it read and the room it took.
func TestPrintRuns(t *testing.T) {
	at := func(m int) *time.Time { x := time.Date(2026, 12, 6, 2, m, 0, 0, time.UTC); return &x }
	var runs []load.RunInfo
	for id := int64(12); id >= 1; id-- {
		runs = append(runs, load.RunInfo{ID: id, Status: "done", StartedAt: *at(int(id)), FinishedAt: at(int(id) + 1),
			Source: "app@10.0.0.5:5432/legacy", Host: "vm", PID: 900 + int(id)})
	}
	runs[0].Status, runs[0].FinishedAt, runs[0].Source = "running", nil, "app@10.0.0.9:5432/legacy"
	runs[1].Status, runs[1].Error = "failed", "extract habits batch 2/3: write to stage: disk full\nsecond line"
	runs[2].Space = &load.Space{Before: 10 << 20, Peak: 130 << 20, After: 120 << 20}
	var buf bytes.Buffer
	printRuns(&buf, runs)
	want := `RUNS (newest first)
  RUN  STATUS   STARTED               FINISHED              SOURCE                    PROCESS        ROOM TAKEN  ERROR
  12   running  2026-12-06 02:12:00Z                        app@10.0.0.9:5432/legacy  pid 912 on vm  -           
  11   failed   2026-12-06 02:11:00Z  2026-12-06 02:12:00Z  app@10.0.0.5:5432/legacy  pid 911 on vm  -           extract habits batch 2/3: write to stage: disk full
  10   done     2026-12-06 02:10:00Z  2026-12-06 02:11:00Z  app@10.0.0.5:5432/legacy  pid 910 on vm  120 MiB     
  9    done     2026-12-06 02:09:00Z  2026-12-06 02:10:00Z  app@10.0.0.5:5432/legacy  pid 909 on vm  -           
  8    done     2026-12-06 02:08:00Z  2026-12-06 02:09:00Z  app@10.0.0.5:5432/legacy  pid 908 on vm  -           
  7    done     2026-12-06 02:07:00Z  2026-12-06 02:08:00Z  app@10.0.0.5:5432/legacy  pid 907 on vm  -           
  6    done     2026-12-06 02:06:00Z  2026-12-06 02:07:00Z  app@10.0.0.5:5432/legacy  pid 906 on vm  -           
  5    done     2026-12-06 02:05:00Z  2026-12-06 02:06:00Z  app@10.0.0.5:5432/legacy  pid 905 on vm  -           
  4    done     2026-12-06 02:04:00Z  2026-12-06 02:05:00Z  app@10.0.0.5:5432/legacy  pid 904 on vm  -           
  3    done     2026-12-06 02:03:00Z  2026-12-06 02:04:00Z  app@10.0.0.5:5432/legacy  pid 903 on vm  -           
  …    2 more
`
	if d := cmp.Diff(want, buf.String()); d != "" {
		t.Errorf("status's runs (-want +got):\n%s", d)
	}
}
