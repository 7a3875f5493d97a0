package reconcile

import (
	"cmp"
	"context"
	"fmt"
	"math/big"
	"slices"
	"strings"

	"github.com/jackc/pgx/v5"

	"github.com/cutover/cutover/mappings"
)

// keyTally is a set of legacy keys as a count and a sum of their
// hashtextextended: two sets with equal tallies hold the same keys but with
// the odds of a 64-bit hash collision, the standard the content checksums
// keep. A count alone passes a swapped pair (one key gone, another made up).
type keyTally struct {
	n   int64
	sum big.Int
}

// keyHashSum is the SQL of a keyTally's sum over column col, as text.
func keyHashSum(col string) string {
	return `coalesce(sum(pg_catalog.hashtextextended(` + col + `, 0::bigint)::numeric), 0)::text`
}

// add adds n keys whose hashes sum to sum (the text of keyHashSum).
func (t *keyTally) add(n int64, sum string) error {
	var s big.Int
	if _, ok := s.SetString(sum, 10); !ok {
		return fmt.Errorf("a key hash sum that is no integer: %q", sum)
	}
	t.n += n
	t.sum.Add(&t.sum, &s)
	return nil
}

func (t *keyTally) equal(o *keyTally) bool { return t.n == o.n && t.sum.Cmp(&o.sum) == 0 }

// tallies holds keyTallies by legacy table and disposition.
type tallies map[string]map[string]*keyTally

// get returns the tally of table and disposition, an empty one if none.
func (ts tallies) get(table, disp string) *keyTally {
	if t := ts[table][disp]; t != nil {
		return t
	}
	return &keyTally{}
}

func (ts tallies) add(table, disp string, n int64, sum string) error {
	if ts[table] == nil {
		ts[table] = map[string]*keyTally{}
	}
	if ts[table][disp] == nil {
		ts[table][disp] = &keyTally{}
	}
	return ts[table][disp].add(n, sum)
}

// keyReason is the SQL of a kept row's key with its reason (a row of the
// ledger, or of archive, discards or rejects), whose tallies tell a kept
// row recorded under another reason than the ledger's.
const keyReason = `legacy_key || ':' || coalesce(reason, '')`

// keptDispositions pairs each disposition whose rows the bookkeeping keeps
// with the table that keeps them.
var keptDispositions = []struct{ disp, table string }{
	{"archived", "archive"}, {"discarded", "discards"}, {"rejected", "rejects"},
}

// readKeptKeys tallies the keys that archive, discards and rejects hold,
// by legacy table, to compare with the ledger's (see readOtherKeys), and
// counts their rows by reason (see reasons), in one scan of each. The
// tables hold about one legacy row in a hundred; only their keys and
// reasons are read.
func (v *verifier) readKeptKeys(ctx context.Context, tc *pgx.Conn) error {
	q := ""
	for i, k := range keptDispositions {
		if i > 0 {
			q += "\nUNION ALL "
		}
		q += `SELECT legacy_table, '` + k.disp + `', reason, count(*), ` + keyHashSum("legacy_key") + `, ` + keyHashSum(keyReason) + ` FROM ` + bk + `.` + k.table + ` GROUP BY 1, 3`
	}
	rows, err := tc.Query(ctx, q)
	if err != nil {
		return fmt.Errorf("read the kept rows' keys: %w", err)
	}
	v.keptData, v.keptDataReasoned = tallies{}, tallies{}
	v.keptReasons = map[[2]string]int64{}
	v.keptReasonsOf = map[string]map[[2]string]int64{}
	for rows.Next() {
		var table, disp, reason, sum, reasoned string
		var n int64
		if err := rows.Scan(&table, &disp, &reason, &n, &sum, &reasoned); err != nil {
			return fmt.Errorf("read the kept rows' keys: %w", err)
		}
		if err := v.keptDataReasoned.add(table, disp, n, reasoned); err != nil {
			return fmt.Errorf("read the kept rows' keys of %s: %w", table, err)
		}
		v.keptReasons[[2]string{disp, reason}] += n
		countReason(v.keptReasonsOf, table, disp, reason, n)
		if err := v.keptData.add(table, disp, n, sum); err != nil {
			return fmt.Errorf("read the kept rows' keys of %s: %w", table, err)
		}
	}
	if err := rows.Err(); err != nil {
		return fmt.Errorf("read the kept rows' keys: %w", err)
	}
	return nil
}

// countReason adds n rows of disposition disp and reason to counts[of].
func countReason(counts map[string]map[[2]string]int64, of, disp, reason string, n int64) {
	if counts[of] == nil {
		counts[of] = map[[2]string]int64{}
	}
	counts[of][[2]string{disp, reason}] += n
}

// reasonsMismatch compares the rows by disposition and reason that
// cutover.reasons records for mapping m with the data's (the kept tables',
// and the ledger's merged rows), and describes the differences; "" when
// they agree.
func (v *verifier) reasonsMismatch(m mappings.Mapping) string {
	data := map[[2]string]int64{}
	for _, of := range []map[string]map[[2]string]int64{v.keptReasonsOf, v.mergedReasonsOf} {
		for k, n := range of[m.Legacy] {
			data[k] += n
		}
	}
	recorded := v.recordedReasons[m.Name()]
	var keys [][2]string
	for k := range data {
		keys = append(keys, k)
	}
	for k := range recorded {
		if _, ok := data[k]; !ok {
			keys = append(keys, k)
		}
	}
	slices.SortFunc(keys, func(a, b [2]string) int { return cmp.Or(strings.Compare(a[0], b[0]), strings.Compare(a[1], b[1])) })
	var parts []string
	for _, k := range keys {
		if recorded[k] != data[k] {
			parts = append(parts, fmt.Sprintf("%s %s: recorded %d, the data %d", k[0], cmp.Or(k[1], "(no reason)"), recorded[k], data[k]))
		}
	}
	if len(parts) == 0 {
		return ""
	}
	return "cutover.reasons, which a run's summary reads, disagrees with the data: " + strings.Join(parts, "; ")
}
