package reconcile

import (
	"context"
	"fmt"
	"slices"
	"strings"

	"github.com/jackc/pgx/v5"
	"golang.org/x/sync/errgroup"
)

// relation is a set of rows on one server, as (key, row hash, label): the
// key identifies the row on both sides, the row hash is the 64-bit hash of
// what is compared (see rowHash; the hashes are summed), and the label says
// where a row came from (e.g. "rejected"). SQL is a SELECT producing the
// columns k (text), rh (bigint), label and may use the parameters
// $1…$len(Args). Vals, when set, is a SELECT producing k and a text[] of the
// compared values (same parameters): it names the columns that differ in a
// changed row.
type relation struct {
	SQL  string
	Args []any
	Vals string
	Cols []string // names of the values of Vals
}

// bucket is a key range: the rows whose key hash starts with a prefix.
type bucket struct {
	Count int64
	Sum   string // sum of the rows' hashes, as numeric text
}

// keyDiff is one key whose rows differ between the sides. Source and
// Target hold the row hashes (a key may occur more than once on a side) and
// SourceLabels/TargetLabels the labels.
type keyDiff struct {
	Key                        string
	Source, Target             []string
	SourceLabels, TargetLabels []string
}

// comparison is the outcome of comparing two relations.
type comparison struct {
	SourceRows, TargetRows int64
	// TargetLabels counts the target rows by label.
	TargetLabels map[string]int64
	Diffs        []keyDiff
	// DiffsAtLeast counts the differing keys: exactly len(Diffs) unless
	// Truncated, when narrowing stopped at the limit and there are at least
	// this many.
	Truncated    bool
	DiffsAtLeast int64
	// Buckets counts the buckets whose checksums were compared.
	Buckets int
}

// bisector compares two relations on two servers, data-diff style: per
// prefix of the 64-bit hash of the key it compares the count and the sum of
// the 64-bit row hashes, both computed by each server; it splits the
// buckets that differ by the next 4 bits (16-way) until they hold at most
// leafRows rows, and then fetches the keys and row hashes of those buckets
// only.
//
// The key hash is PostgreSQL's hashtextextended (seed 0); the row hash is
// hashtextextended or hash_record_extended (see rowHash). Both are stable
// across versions (hash partitioning relies on them) and several times
// cheaper than md5. Both servers must use the same byte order and encoding,
// as every x86-64 and ARM64 server with UTF8 databases does.
//
// Every bucket query groups by a prefix of the key hash behind an
// optimization fence (OFFSET 0), so that the planner, which cannot know
// that a prefix has at most 16ⁿ values, estimates a default number of
// groups and aggregates in a small hash table instead of sorting every row;
// where it misestimates the rows, hashGrouped penalizes the sort.
type bisector struct {
	leafRows int
	// maxDiffs stops the narrowing once this many differing buckets are
	// found.
	maxDiffs int
}

// maxDepth is the deepest prefix: 16 hex digits, the whole hash.
const maxDepth = 16

// labels are counted per bucket by the level queries.
var labels = []string{"loaded", "merged", "folded", "archived", "discarded", "rejected", "unexplained"}

// prefix renders the SQL of the first depth hex digits of hash h.
func prefix(h string, depth int) string {
	if depth >= maxDepth {
		return h
	}
	return fmt.Sprintf("((%s >> %d) & %d)", h, 64-4*depth, int64(1)<<(4*depth)-1)
}

func (b bisector) levelSQL(rel relation, depth int) string {
	where := ""
	if depth > 1 {
		where = fmt.Sprintf(" WHERE %s = ANY($%d::bigint[])", prefix("kh", depth-1), len(rel.Args)+1)
	}
	var counts []string
	for _, l := range labels {
		counts = append(counts, fmt.Sprintf("count(*) FILTER (WHERE label = '%s')", l))
	}
	return fmt.Sprintf(`SELECT b, count(*), coalesce(sum(rh), 0)::text, %s
		FROM (SELECT %s AS b, rh, label
			FROM (SELECT pg_catalog.hashtextextended(k, 0::bigint) AS kh, rh, label FROM (%s) x) y%s OFFSET 0) z GROUP BY 1`,
		strings.Join(counts, ", "), prefix("kh", depth), rel.SQL, where)
}

func (b bisector) level(ctx context.Context, conn *pgx.Conn, rel relation, depth int, prefixes []int64, labelled map[string]int64) (map[int64]bucket, error) {
	args := slices.Clone(rel.Args)
	if depth > 1 {
		args = append(args, prefixes)
	}
	out := map[int64]bucket{}
	counts := make([]int64, len(labels))
	dest := []any{nil, nil, nil}
	for i := range counts {
		dest = append(dest, &counts[i])
	}
	err := hashGrouped(ctx, conn, b.levelSQL(rel, depth), args, func(rows pgx.Rows) error {
		var p int64
		var bk bucket
		dest[0], dest[1], dest[2] = &p, &bk.Count, &bk.Sum
		if err := rows.Scan(dest...); err != nil {
			return err
		}
		out[p] = bk
		if labelled != nil {
			for i, l := range labels {
				labelled[l] += counts[i]
			}
		}
		return nil
	})
	return out, err
}

// hashGrouped runs bucket query q, calling scan for each row, with sorts
// penalized for the query alone. The fence of levelSQL gives the planner a
// default number of groups, but on a target side whose outer join it
// misestimates (31 thousand rows of points_ledger's 1.7 million at 10M)
// it still chose to sort every row to form the 16 buckets: an external
// sort (94 MB of temporary files for points_ledger, growing with the
// table) where a hash table of 40 kB does. Alone on the server, that
// first level took 5.4-6.8 s instead of 5.9-7.5 s; those of focus_sessions
// and exercise_sets gained 5-10 %, the tables the planner hashed already
// nothing.
func hashGrouped(ctx context.Context, conn *pgx.Conn, q string, args []any, scan func(pgx.Rows) error) error {
	if _, err := conn.Exec(ctx, "SET enable_sort = off"); err != nil {
		return err
	}
	rows, err := conn.Query(ctx, q, args...)
	if err != nil {
		return err
	}
	for rows.Next() {
		if err := scan(rows); err != nil {
			rows.Close()
			return err
		}
	}
	if err := rows.Err(); err != nil {
		return err
	}
	_, err = conn.Exec(ctx, "RESET enable_sort")
	return err
}

type leafRow struct{ key, hash, label string }

func (b bisector) leaves(ctx context.Context, conn *pgx.Conn, rel relation, depth int, prefixes []int64) ([]leafRow, error) {
	q := fmt.Sprintf(`SELECT k, rh::text, coalesce(label, '') FROM (%s) x WHERE %s = ANY($%d::bigint[])`,
		rel.SQL, prefix("pg_catalog.hashtextextended(k, 0::bigint)", depth), len(rel.Args)+1)
	rows, err := conn.Query(ctx, q, append(slices.Clone(rel.Args), prefixes)...)
	if err != nil {
		return nil, err
	}
	var out []leafRow
	for rows.Next() {
		var l leafRow
		if err := rows.Scan(&l.key, &l.hash, &l.label); err != nil {
			return nil, err
		}
		out = append(out, l)
	}
	return out, rows.Err()
}

// both runs f on the source and the target connection at once.
func both(ctx context.Context, src, tgt *pgx.Conn, f func(ctx context.Context, conn *pgx.Conn, target bool) error) error {
	g, gctx := errgroup.WithContext(ctx)
	g.Go(func() error { return f(gctx, src, false) })
	g.Go(func() error { return f(gctx, tgt, true) })
	return g.Wait()
}

// compare compares the relation src on the source connection with tgt on
// the target connection.
func (b bisector) compare(ctx context.Context, srcConn, tgtConn *pgx.Conn, src, tgt relation) (*comparison, error) {
	out := &comparison{TargetLabels: map[string]int64{}}
	var sb, tb map[int64]bucket
	err := both(ctx, srcConn, tgtConn, func(ctx context.Context, conn *pgx.Conn, target bool) error {
		var err error
		if target {
			tb, err = b.level(ctx, conn, tgt, 1, nil, out.TargetLabels)
		} else {
			sb, err = b.level(ctx, conn, src, 1, nil, nil)
		}
		return err
	})
	if err != nil {
		return nil, err
	}
	return out, b.narrow(ctx, srcConn, tgtConn, src, tgt, sb, tb, out)
}

// narrow completes a comparison whose first level (one hex digit) is
// known: it splits the buckets that differ until they are small, fetches
// their rows and diffs them.
func (b bisector) narrow(ctx context.Context, srcConn, tgtConn *pgx.Conn, src, tgt relation, sb, tb map[int64]bucket, out *comparison) error {
	depth := 1
	leafByDepth := map[int][]int64{}
	unexplored := 0
	for {
		keys := map[int64]bool{}
		for p := range sb {
			keys[p] = true
		}
		for p := range tb {
			keys[p] = true
		}
		out.Buckets += len(keys)
		var next []int64
		for p := range keys {
			s, t := sb[p], tb[p]
			if depth == 1 {
				out.SourceRows += s.Count
				out.TargetRows += t.Count
			}
			if s == t {
				continue
			}
			if max(s.Count, t.Count) <= int64(b.leafRows) || depth >= maxDepth {
				leafByDepth[depth] = append(leafByDepth[depth], p)
				continue
			}
			next = append(next, p)
		}
		// Stop narrowing when the differences already found (every leaf
		// bucket holds at least one) reach the limit.
		found := 0
		for _, ps := range leafByDepth {
			found += len(ps)
		}
		if len(next) == 0 || found >= b.maxDiffs {
			unexplored = len(next)
			break
		}
		slices.Sort(next)
		depth++
		err := both(ctx, srcConn, tgtConn, func(ctx context.Context, conn *pgx.Conn, target bool) error {
			var err error
			if target {
				tb, err = b.level(ctx, conn, tgt, depth, next, nil)
			} else {
				sb, err = b.level(ctx, conn, src, depth, next, nil)
			}
			return err
		})
		if err != nil {
			return err
		}
	}
	depths := make([]int, 0, len(leafByDepth))
	for d := range leafByDepth {
		depths = append(depths, d)
	}
	slices.Sort(depths)
	for _, d := range depths {
		ps := leafByDepth[d]
		slices.Sort(ps)
		var sl, tl []leafRow
		err := both(ctx, srcConn, tgtConn, func(ctx context.Context, conn *pgx.Conn, target bool) error {
			var err error
			if target {
				tl, err = b.leaves(ctx, conn, tgt, d, ps)
			} else {
				sl, err = b.leaves(ctx, conn, src, d, ps)
			}
			return err
		})
		if err != nil {
			return err
		}
		out.Diffs = append(out.Diffs, diffLeaves(sl, tl)...)
	}
	slices.SortFunc(out.Diffs, func(a, b keyDiff) int { return strings.Compare(a.Key, b.Key) })
	// Every bucket left unexplored holds at least one difference.
	out.DiffsAtLeast = int64(len(out.Diffs) + unexplored)
	out.Truncated = unexplored > 0
	if len(out.Diffs) > b.maxDiffs {
		out.Diffs = out.Diffs[:b.maxDiffs]
		out.Truncated = true
	}
	return nil
}

// dual is one relation per server that carries two comparisons at once,
// so that one scan of each side computes both first levels: the columns
// are k, label, ie (the row takes part in the key comparison, hashed by
// its key) and hc, ic (the row takes part in the content comparison, with
// the row hash hc, a bigint).
type dual struct {
	SQL  string
	Args []any
}

// firstLevel computes the first level of both comparisons of a dual
// relation, and the labels of the rows of the key comparison.
func (b bisector) firstLevel(ctx context.Context, conn *pgx.Conn, d dual) (keys, content map[int64]bucket, labelled map[string]int64, err error) {
	var counts []string
	for _, l := range labels {
		counts = append(counts, fmt.Sprintf("count(*) FILTER (WHERE ie AND label = '%s')", l))
	}
	q := fmt.Sprintf(`SELECT b,
			count(*) FILTER (WHERE ie), coalesce(sum(kh) FILTER (WHERE ie), 0)::text,
			count(*) FILTER (WHERE ic), coalesce(sum(hc) FILTER (WHERE ic), 0)::text, %s
		FROM (SELECT %s AS b, kh, hc, label, ie, ic
			FROM (SELECT pg_catalog.hashtextextended(k, 0::bigint) AS kh, hc, label, ie, ic FROM (%s) x) y OFFSET 0) z GROUP BY 1`,
		strings.Join(counts, ", "), prefix("kh", 1), d.SQL)
	keys, content, labelled = map[int64]bucket{}, map[int64]bucket{}, map[string]int64{}
	n := make([]int64, len(labels))
	err = hashGrouped(ctx, conn, q, d.Args, func(rows pgx.Rows) error {
		var p int64
		var k, c bucket
		dest := []any{&p, &k.Count, &k.Sum, &c.Count, &c.Sum}
		for i := range n {
			dest = append(dest, &n[i])
		}
		if err := rows.Scan(dest...); err != nil {
			return err
		}
		if k.Count > 0 {
			keys[p] = k
		}
		if c.Count > 0 {
			content[p] = c
		}
		for i, l := range labels {
			labelled[l] += n[i]
		}
		return nil
	})
	if err != nil {
		return nil, nil, nil, err
	}
	return keys, content, labelled, nil
}

// diffLeaves returns the keys whose multisets of row hashes differ.
func diffLeaves(src, tgt []leafRow) []keyDiff {
	type sides struct{ s, t, sl, tl []string }
	m := map[string]*sides{}
	get := func(k string) *sides {
		if m[k] == nil {
			m[k] = &sides{}
		}
		return m[k]
	}
	for _, r := range src {
		e := get(r.key)
		e.s, e.sl = append(e.s, r.hash), append(e.sl, r.label)
	}
	for _, r := range tgt {
		e := get(r.key)
		e.t, e.tl = append(e.t, r.hash), append(e.tl, r.label)
	}
	var out []keyDiff
	for k, e := range m {
		a, b := slices.Clone(e.s), slices.Clone(e.t)
		slices.Sort(a)
		slices.Sort(b)
		if slices.Equal(a, b) {
			continue
		}
		out = append(out, keyDiff{Key: k, Source: e.s, Target: e.t, SourceLabels: e.sl, TargetLabels: e.tl})
	}
	return out
}

// values fetches the compared values of the given keys from a relation's
// Vals query: key → values.
func values(ctx context.Context, conn *pgx.Conn, rel relation, keys []string) (map[string][]*string, error) {
	if rel.Vals == "" || len(keys) == 0 {
		return nil, nil
	}
	q := fmt.Sprintf(`SELECT k, v FROM (%s) x WHERE k = ANY($%d::text[])`, rel.Vals, len(rel.Args)+1)
	rows, err := conn.Query(ctx, q, append(slices.Clone(rel.Args), keys)...)
	if err != nil {
		return nil, err
	}
	out := map[string][]*string{}
	for rows.Next() {
		var k string
		var v []*string
		if err := rows.Scan(&k, &v); err != nil {
			return nil, err
		}
		out[k] = v
	}
	return out, rows.Err()
}

// changedValues reads the compared values (the relations' Vals) of the
// first samples keys of res whose rows are on both sides but differ (the
// changed rows, not the missing or extra ones), on both servers side by
// side.
func changedValues(ctx context.Context, sc, tc *pgx.Conn, src, tgt relation, res *comparison, samples int) (srcVals, tgtVals map[string][]*string, err error) {
	var keys []string
	for _, d := range res.Diffs {
		if len(d.Source) > 0 && len(d.Target) > 0 && len(keys) < samples {
			keys = append(keys, d.Key)
		}
	}
	err = both(ctx, sc, tc, func(ctx context.Context, conn *pgx.Conn, target bool) error {
		var err error
		if target {
			tgtVals, err = values(ctx, conn, tgt, keys)
		} else {
			srcVals, err = values(ctx, conn, src, keys)
		}
		return err
	})
	return srcVals, tgtVals, err
}
