package reconcile

import (
	"cmp"
	"context"
	"fmt"
	"slices"
	"strings"

	"github.com/jackc/pgx/v5"
)

// feedTables have a stored feed order (MAPPING.md, "Feed order").
var feedTables = []string{"inbox_items", "user_quests"}

func (v *verifier) addInvariant(c InvariantCheck) {
	v.mu.Lock()
	v.res.Invariants = append(v.res.Invariants, c)
	v.mu.Unlock()
}

// rowKey renders the key of target row alias a of table t.
func rowKey(t *table, a string) string {
	if t.has("id") {
		return a + ".id::text"
	}
	return keyExpr(t.PK, a)
}

// foreignKey checks that no row of the child points at no parent row (the
// constraint may have been bypassed, e.g. with session_replication_role).
func (v *verifier) foreignKey(ctx context.Context, fk foreignKey) error {
	child := v.tcat.Tables[fk.Child]
	var notNull, match []string
	for i, c := range fk.ChildCols {
		notNull = append(notNull, "c."+ident(c)+" IS NOT NULL")
		match = append(match, "p."+ident(fk.ParentCols[i])+" = c."+ident(c))
	}
	q := `SELECT count(*) OVER (), ` + rowKey(child, "c") + `, concat_ws(',', ` + prefixAll("c.", fk.ChildCols) + `)
		FROM public.` + ident(fk.Child) + ` c WHERE ` + strings.Join(notNull, " AND ") + `
		AND NOT EXISTS (SELECT 1 FROM public.` + ident(fk.Parent) + ` p WHERE ` + strings.Join(match, " AND ") + `)
		ORDER BY 2 LIMIT ` + fmt.Sprint(v.cfg.Samples)
	ic := InvariantCheck{Check: CheckForeignKey, Table: fk.Child, Severity: Failure,
		Name: fmt.Sprintf("%s.%s → %s", fk.Child, strings.Join(fk.ChildCols, ","), fk.Parent)}
	err := v.withTarget(ctx, func(conn *pgx.Conn) error {
		rows, err := conn.Query(ctx, q)
		if err != nil {
			return err
		}
		listed := 0
		for rows.Next() {
			var key, val string
			if err := rows.Scan(&ic.Violations, &key, &val); err != nil {
				return err
			}
			listed++
			v.add(Finding{Severity: Failure, Check: CheckForeignKey, Kind: KindOrphan, Table: fk.Child, Key: key,
				Message: fmt.Sprintf("%s %s points at no row of %s (constraint %s)", strings.Join(fk.ChildCols, ","), val, fk.Parent, fk.Name)})
		}
		v.unlisted(Failure, ic.Violations-int64(listed))
		return rows.Err()
	})
	ic.Holds = ic.Violations == 0
	v.addInvariant(ic)
	return err
}

func prefixAll(p string, cols []string) string {
	out := make([]string, len(cols))
	for i, c := range cols {
		out[i] = p + ident(c) + "::text"
	}
	return strings.Join(out, ", ")
}

// tenancyCheck is one tenancy rule over the target: a row of child whose
// column col points at a parent row must belong to the parent's owner. The
// row's user is child.user_id, or, with via, the owner of the row its
// column via points at (in viaParent).
type tenancyCheck struct {
	child, col, parent string
	via, viaParent     string
	nullOwnerOK        bool
	// parentOwner is the parent's column that holds its owner ("" for
	// user_id), and private, when set, the predicate over the parent p
	// that makes it its owner's alone (others' rows may point at the rest).
	parentOwner, private string
}

// tenancyChecks derives the tenancy rules from the mappings' references
// (MAPPING.md, "Tenancy").
func (v *verifier) tenancyChecks() []tenancyCheck {
	var out []tenancyCheck
	seen := map[string]bool{}
	for _, m := range v.ms {
		child := v.tcat.Tables[m.Target]
		if child == nil {
			continue
		}
		for _, r := range m.TenantRefs() {
			if !child.has(r.Column) {
				continue
			}
			pm, ok := v.byLegacy[r.Parent]
			if !ok || v.tcat.Tables[pm.Target] == nil || !v.tcat.Tables[pm.Target].has("user_id") {
				continue
			}
			t := tenancyCheck{child: m.Target, col: r.Column, parent: pm.Target, nullOwnerOK: r.NullOwnerOK}
			switch {
			case r.TenantOf == "" || r.TenantOf == "s.user_id":
				if !child.has("user_id") {
					continue
				}
			case strings.HasPrefix(r.TenantOf, "s._own_"):
				t.via = strings.TrimPrefix(r.TenantOf, "s._own_")
				var found bool
				for _, o := range m.Refs {
					if o.Column == t.via {
						if om, ok := v.byLegacy[o.Parent]; ok && v.tcat.Tables[om.Target] != nil {
							t.viaParent, found = om.Target, true
						}
					}
				}
				if !found || !child.has(t.via) {
					continue
				}
			default:
				continue
			}
			k := t.child + "." + t.col
			if !seen[k] {
				seen[k] = true
				out = append(out, t)
			}
		}
	}
	// MAPPING.md, "user_purchases vs the buyer": a private item (v15 and
	// v16 had them) is its creator's, and only its creator buys it (the
	// mapping's check; the target keeps the item's owner).
	c, p := v.tcat.Tables["user_purchases"], v.tcat.Tables["market_items"]
	if c != nil && p != nil && c.has("item_id") && c.has("user_id") && p.has("created_by_user_id") && p.has("is_global") {
		out = append(out, tenancyCheck{child: "user_purchases", col: "item_id", parent: "market_items",
			parentOwner: "created_by_user_id", private: "NOT p.is_global", nullOwnerOK: true})
	}
	return out
}

func (t tenancyCheck) name() string {
	if t.private != "" {
		return fmt.Sprintf("%s.%s → %s (%s of a private one)", t.child, t.col, t.parent, t.parentOwner)
	}
	if t.via != "" {
		return fmt.Sprintf("%s.%s → %s (user of %s.%s)", t.child, t.col, t.parent, t.viaParent, "user_id")
	}
	return fmt.Sprintf("%s.%s → %s (user_id)", t.child, t.col, t.parent)
}

// tenancy checks one tenancy rule: no cross-user data.
func (v *verifier) tenancy(ctx context.Context, t tenancyCheck) error {
	child := v.tcat.Tables[t.child]
	owner, join := "c.user_id", ""
	if t.via != "" {
		owner = "o.user_id"
		join = " JOIN public." + ident(t.viaParent) + " o ON o.id = c." + ident(t.via)
	}
	parentOwner := "p." + ident(cmp.Or(t.parentOwner, "user_id"))
	// A row without an owner of its own (audit_log's) has no tenant.
	cond := owner + " IS NOT NULL AND " + owner + " IS DISTINCT FROM " + parentOwner
	if t.nullOwnerOK {
		cond += " AND " + parentOwner + " IS NOT NULL"
	}
	if t.private != "" {
		cond += " AND " + t.private
	}
	q := `SELECT count(*) OVER (), ` + rowKey(child, "c") + `, coalesce(` + owner + `::text, 'NULL'), p.id::text, coalesce(` + parentOwner + `::text, 'NULL')
		FROM public.` + ident(t.child) + ` c JOIN public.` + ident(t.parent) + ` p ON p.id = c.` + ident(t.col) + join + `
		WHERE ` + cond + ` ORDER BY 2 LIMIT ` + fmt.Sprint(v.cfg.Samples)
	ic := InvariantCheck{Check: CheckTenancy, Table: t.child, Name: t.name(), Severity: Failure}
	err := v.withTarget(ctx, func(conn *pgx.Conn) error {
		rows, err := conn.Query(ctx, q)
		if err != nil {
			return err
		}
		listed := 0
		for rows.Next() {
			var key, user, pid, puser string
			if err := rows.Scan(&ic.Violations, &key, &user, &pid, &puser); err != nil {
				return err
			}
			listed++
			v.add(Finding{Severity: Failure, Check: CheckTenancy, Kind: KindTenantMismatch, Table: t.child, Key: key,
				Message: fmt.Sprintf("belongs to user %s, but its %s row %s (%s) belongs to user %s", user, t.parent, pid, t.col, puser)})
		}
		v.unlisted(Failure, ic.Violations-int64(listed))
		return rows.Err()
	})
	ic.Holds = ic.Violations == 0
	v.addInvariant(ic)
	return err
}

// naturalKeys checks that natural keys are unique: the target's unique
// indexes (a valid one is enforced by the server) and the natural keys the
// mappings merge on, scanned for duplicates when no valid index enforces
// them.
func (v *verifier) naturalKeys(ctx context.Context) error {
	type nk struct {
		table string
		exprs []string
		pred  string
		index string
		valid bool
	}
	var keys []nk
	for _, u := range v.tcat.Uniques {
		keys = append(keys, nk{u.Table, u.Exprs, u.Predicate, u.Name, u.Valid})
	}
	want := []nk{{table: "users", exprs: []string{"lower(email)"}}}
	for _, m := range v.ms {
		if len(m.NaturalKey) > 0 && v.tcat.Tables[m.Target] != nil {
			want = append(want, nk{table: m.Target, exprs: m.NaturalKey})
		}
	}
	for _, w := range want {
		covered := slices.ContainsFunc(keys, func(k nk) bool {
			return k.table == w.table && k.pred == "" && slices.Equal(k.exprs, w.exprs)
		})
		if !covered {
			keys = append(keys, w)
		}
	}
	return v.withTarget(ctx, func(conn *pgx.Conn) error {
		for _, k := range keys {
			ic := InvariantCheck{Check: CheckNaturalKey, Table: k.table, Severity: Failure,
				Name: fmt.Sprintf("%s (%s)", k.table, strings.Join(k.exprs, ", "))}
			if k.pred != "" {
				ic.Name += " WHERE " + k.pred
			}
			if k.valid {
				ic.Enforced, ic.Holds = true, true
				v.addInvariant(ic)
				continue
			}
			var notNull []string
			for _, e := range k.exprs {
				notNull = append(notNull, "("+e+") IS NOT NULL")
			}
			if k.pred != "" {
				notNull = append(notNull, "("+k.pred+")")
			}
			group := strings.Join(k.exprs, ", ")
			q := `SELECT count(*) OVER (), concat_ws(',', ` + group + `), count(*) FROM public.` + ident(k.table) + `
				WHERE ` + strings.Join(notNull, " AND ") + ` GROUP BY ` + group + ` HAVING count(*) > 1 ORDER BY 2 LIMIT ` + fmt.Sprint(v.cfg.Samples)
			rows, err := conn.Query(ctx, q)
			if err != nil {
				return fmt.Errorf("%s: %w", ic.Name, err)
			}
			listed := 0
			for rows.Next() {
				var val string
				var n int64
				if err := rows.Scan(&ic.Violations, &val, &n); err != nil {
					return err
				}
				listed++
				if slices.ContainsFunc(k.exprs, SecretColumn) {
					val = Redacted
				}
				v.add(Finding{Severity: Failure, Check: CheckNaturalKey, Kind: KindDuplicateKey, Table: k.table, Key: val,
					Message: fmt.Sprintf("%d rows share the natural key (%s) = (%s)", n, group, val)})
			}
			if err := rows.Err(); err != nil {
				return err
			}
			v.unlisted(Failure, ic.Violations-int64(listed))
			ic.Holds = ic.Violations == 0
			v.addInvariant(ic)
		}
		return nil
	})
}

// feedOrder checks that sort_order numbers each user's rows by
// (created_at, id) from 0.
func (v *verifier) feedOrder(ctx context.Context, t string) error {
	q := `SELECT count(*) OVER (), id::text, sort_order, want FROM (
			SELECT id, sort_order, row_number() OVER (PARTITION BY user_id ORDER BY created_at, id) - 1 AS want
			FROM public.` + ident(t) + `) x
		WHERE sort_order IS DISTINCT FROM want ORDER BY 2 LIMIT ` + fmt.Sprint(v.cfg.Samples)
	ic := InvariantCheck{Check: CheckFeedOrder, Table: t, Name: t + ".sort_order by (created_at, id) per user", Severity: Failure}
	err := v.withTarget(ctx, func(conn *pgx.Conn) error {
		rows, err := conn.Query(ctx, q)
		if err != nil {
			return err
		}
		listed := 0
		for rows.Next() {
			var id string
			var have, want int64
			if err := rows.Scan(&ic.Violations, &id, &have, &want); err != nil {
				return err
			}
			listed++
			v.add(Finding{Severity: Failure, Check: CheckFeedOrder, Kind: KindFeedOrder, Table: t, Key: id,
				Message: fmt.Sprintf("sort_order is %d, its place in the user's feed is %d", have, want)})
		}
		v.unlisted(Failure, ic.Violations-int64(listed))
		return rows.Err()
	})
	ic.Holds = ic.Violations == 0
	v.addInvariant(ic)
	return err
}

// wallet compares every loaded wallet's coins with the user's ledger sum in
// the target (legacy ledger plus folded rewards), and reports the sum of
// the legacy ledger alone beside it (fine print 9). A difference is a
// finding, not a failure: legacy data may disagree.
func (v *verifier) wallet(ctx context.Context) error {
	w, l := v.tcat.Tables["user_wallet"], v.tcat.Tables["points_ledger"]
	if w == nil || l == nil || !w.has("coins") || !l.has("coins") {
		return nil
	}
	ic := InvariantCheck{Check: CheckWallet, Table: "user_wallet", Name: "user_wallet.coins = sum(points_ledger.coins) per user", Severity: Info}
	from := `FROM public.user_wallet w
		LEFT JOIN (SELECT p.user_id, sum(p.coins)::bigint AS total,
				coalesce(sum(p.coins) FILTER (WHERE d.legacy_table = 'points_ledger'), 0)::bigint AS legacy
			FROM public.points_ledger p
			LEFT JOIN ` + bk + `.dispositions d ON ` + v.fedBy("points_ledger", "d") + ` AND d.target_table = 'points_ledger' AND d.target_id = p.id AND d.disposition IN ('loaded', 'folded')
			GROUP BY p.user_id) s ON s.user_id = w.user_id
		WHERE EXISTS (SELECT 1 FROM ` + bk + `.dispositions d WHERE ` + v.fedBy("user_wallet", "d") + ` AND d.target_table = 'user_wallet' AND d.target_id = w.id AND d.disposition = 'loaded')`
	// One pass: the wallets with their sums are computed once, counted,
	// and the first disagreeing ones listed beside the counts (a single
	// row with NULL samples when none disagrees).
	q := `WITH w AS MATERIALIZED (SELECT w.id, w.user_id, w.coins, coalesce(s.total, 0) AS total, coalesce(s.legacy, 0) AS legacy ` + from + `)
		SELECT n.wallets, n.differ, x.id::text, x.user_id::text, x.coins, x.total, x.legacy
		FROM (SELECT count(*) AS wallets, count(*) FILTER (WHERE coins IS DISTINCT FROM total) AS differ FROM w) n
		LEFT JOIN LATERAL (SELECT * FROM w WHERE coins IS DISTINCT FROM total ORDER BY user_id LIMIT ` + fmt.Sprint(v.cfg.Samples) + `) x ON true`
	err := v.withTarget(ctx, func(conn *pgx.Conn) error {
		rows, err := conn.Query(ctx, q)
		if err != nil {
			return err
		}
		for rows.Next() {
			var id, user *string
			var coins, total, legacy *int64
			if err := rows.Scan(&ic.Rows, &ic.Violations, &id, &user, &coins, &total, &legacy); err != nil {
				return err
			}
			if id == nil {
				continue
			}
			v.add(Finding{Severity: Info, Check: CheckWallet, Kind: KindWalletMismatch, Table: "user_wallet", Key: *id,
				Message: fmt.Sprintf("user %s: wallet coins %s, ledger sum in the target %d (legacy ledger alone %d, folded rewards %d)",
					deref(user), orNull(coins), *total, *legacy, *total-*legacy)})
		}
		return rows.Err()
	})
	ic.Holds = ic.Violations == 0
	v.addInvariant(ic)
	return err
}

func deref(s *string) string {
	if s == nil {
		return "NULL"
	}
	return *s
}

func orNull(n *int64) string {
	if n == nil {
		return "NULL"
	}
	return fmt.Sprint(*n)
}
