package load

import (
	"strings"
	"testing"

	"github.com/cutover/cutover/mappings"
)

// TestWholeTableAntiJoinsDoNotNestLoops: the statements of a re-run that
// compare the ledger or the kept rows (rejects, archive, discards) with the
// decisions (DELETE … NOT EXISTS) run with nested loops off, whatever the
// planner estimates of tables a first load filled and left unanalyzed; the
// statements that read the stage by ctid, and those after, run with the
// planner's choice.
func TestWholeTableAntiJoinsDoNotNestLoops(t *testing.T) {
	m := mappings.Mapping{Legacy: "items", Target: "items"}
	targets := map[string]TargetTable{"items": {Columns: []string{"id", "title"}, PK: []string{"id"}}}
	p, err := BuildPlan(m, []string{"id", "title"}, targets, map[string]mappings.Mapping{"items": m}, Params{Stage: "stage"})
	if err != nil {
		t.Fatal(err)
	}
	nestLoop := true
	var antiJoins, byCtid int
	for _, q := range p.Upsert {
		switch q {
		case noNestLoop:
			nestLoop = false
			continue
		case nestLoopAgain:
			nestLoop = true
			continue
		}
		if strings.HasPrefix(q, "DELETE FROM "+bk+".") && strings.Contains(q, "NOT EXISTS") {
			antiJoins++
			if nestLoop {
				t.Errorf("an anti-join of the bookkeeping may nest loops:\n%s", q)
			}
		}
		if strings.Contains(q, "s.ctid = x._ctid") {
			byCtid++
			if !nestLoop {
				t.Errorf("a read of the stage by ctid runs without nested loops:\n%s", q)
			}
		}
	}
	// The ledger's, and each kept table's.
	if antiJoins != 4 || byCtid != 2 {
		t.Errorf("%d anti-joins of the bookkeeping and %d reads by ctid, want 4 and 2 (rejects and archive)", antiJoins, byCtid)
	}
	if !nestLoop {
		t.Error("the statements leave nested loops off for what follows them in the transaction")
	}
}
