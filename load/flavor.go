package load

import (
	"context"
	"fmt"
	"slices"

	"github.com/jackc/pgx/v5"

	"github.com/cutover/cutover/internal/dburl"
	"github.com/cutover/cutover/internal/prose"
	"github.com/cutover/cutover/mappings"
)

// OtherFlavorError refuses a run or a dry run from a source of another
// legacy flavor than the one whose rows the target holds, when the two
// flavors give a table the target holds rows of different shapes
// (market_items and user_wallet before legacy migration 0017,
// focus_pause_state before 0016). A run could not make such a target the
// source's image: the other shape's mapping wrote target columns this
// one does not write, which its upsert would leave as they are, and
// recorded its results under its own name. Nothing was written.
type OtherFlavorError struct {
	Target string   // dburl.Describe of its URL
	Flavor string   // the source's
	Loaded string   // the flavor of the run that loaded them
	Run    int64    // that run
	Source string   // what it read (dburl.Describe)
	Tables []string // the legacy tables of another shape, sorted
}

func (e *OtherFlavorError) Error() string {
	return fmt.Sprintf("the target %s holds rows that run %d loaded from a legacy %s database (%s), and this source is legacy %s, "+
		"in which %s another shape: %s. A run cannot turn the rows of one shape into the other's: "+
		"load this source into a new target database (`cutover schema apply --target …` on an empty one), or give the source that run read (nothing was written)",
		e.Target, e.Run, e.Loaded, e.Source, e.Flavor, prose.Plural(len(e.Tables), "this table has", "these tables have"), prose.List(e.Tables, len(e.Tables)))
}

// checkFlavor refuses (OtherFlavorError) a target whose results record a
// mapping of another shape of a legacy table that one of ms, this
// source's mappings, reads. A legacy table of no mapping of ms is not
// refused: the run removes what its mappings loaded (vanished.go).
func checkFlavor(ctx context.Context, q resultsReader, target, flavor string, ms []mappings.Mapping) error {
	if recorded, err := relationExists(ctx, q, bk+".results"); err != nil || !recorded {
		return err // no bookkeeping yet
	}
	names := map[string][]string{} // this source's mappings, by legacy table
	for _, m := range ms {
		names[m.Legacy] = append(names[m.Legacy], m.Name())
	}
	rows, err := q.Query(ctx, `SELECT r.legacy_table, r.mapping, u.id, u.flavor, u.source
		FROM `+bk+`.results r JOIN `+bk+`.runs u ON u.id = r.run_id ORDER BY u.id DESC, r.legacy_table`)
	if err != nil {
		return fmt.Errorf("read the results: %w", err)
	}
	var e *OtherFlavorError
	var legacy, mapping, loaded, source string
	var run int64
	_, err = pgx.ForEachRow(rows, []any{&legacy, &mapping, &run, &loaded, &source}, func() error {
		mine := names[legacy]
		if len(mine) == 0 || slices.Contains(mine, mapping) {
			return nil
		}
		if e == nil {
			e = &OtherFlavorError{Target: target, Flavor: flavor, Loaded: loaded, Run: run, Source: source}
		}
		if !slices.Contains(e.Tables, legacy) {
			e.Tables = append(e.Tables, legacy)
		}
		return nil
	})
	if err != nil {
		return fmt.Errorf("read the results: %w", err)
	}
	if e == nil {
		return nil
	}
	slices.Sort(e.Tables)
	return e
}

// flavorRefusal is checkFlavor for the session's source and target.
func (s *session) flavorRefusal(ctx context.Context) error {
	return checkFlavor(ctx, s.target, dburl.Describe(s.cfg.TargetURL), s.src.Flavor, s.ms)
}
