package legacygen

import (
	"bytes"
	"cmp"
	"fmt"
	"slices"
	"time"

	"github.com/cutover/cutover/mappings"
)

func (g *gen) marketTables() []*table {
	if g.o.Flavor == "v21" {
		return []*table{
			{name: "market_items", cols: []string{"id", "name", "description", "cost_coins", "category", "rarity",
				"icon_url", "available", "available_from", "available_until", "created_at", "updated_at"}, fill: g.fillItemsV21},
			{name: "user_wallet", cols: []string{"id", "user_id", "total_coins", "earned_coins", "spent_coins",
				"updated_at", "created_at"}, fill: g.fillWallet},
			{name: "user_market_purchases", cols: []string{"id", "user_id", "item_id", "quantity", "cost_paid_coins",
				"purchased_at"}, fill: g.fillMarketPurchases},
			{name: "user_rewards", cols: []string{"id", "user_id", "reward_type", "coins_earned", "claimed", "claimed_at",
				"created_at"}, fill: g.fillRewards},
			{name: "market_transactions", cols: []string{"id", "user_id", "transaction_type", "coins_amount", "reason",
				"created_at"}, fill: g.fillMarketTransactions},
			{name: "market_recommendations", cols: []string{"id", "user_id", "item_id", "score", "reason", "computed_at"},
				fill: g.fillRecommendations},
		}
	}
	return []*table{
		{name: "market_items", cols: []string{"id", "key", "name", "description", "category", "cost_coins", "icon",
			"image_url", "is_global", "is_available", "is_active", "is_consumable", "uses_per_purchase", "total_stock",
			"remaining_stock", "created_by_user_id", "sort_order", "created_at", "updated_at"}, fill: g.fillItemsV16},
		{name: "user_wallet", cols: []string{"id", "user_id", "coins", "total_earned", "total_spent", "created_at",
			"updated_at"}, fill: g.fillWallet},
		{name: "user_purchases", cols: []string{"id", "user_id", "item_id", "cost_coins", "quantity", "purchased_at",
			"redeemed_at", "uses_remaining", "status", "refunded_at", "refund_reason"}, fill: g.fillUserPurchases},
	}
}

var itemCategories = []string{"reward", "theme", "power-up", "cosmetic", "sound"}

// itemCreated is when catalog item k was created; the slug-collision group
// ties on created_at for its first two rows, so id decides.
func (g *gen) itemCreated(k int) time.Time {
	it := g.cat.items[k]
	if it.kind == "slug_collision" {
		t := installedAt.AddDate(2, 0, 0).Add(123456 * time.Microsecond)
		if it.name == "CAFE--CRÈME!" {
			t = t.Add(-time.Hour)
		}
		return t
	}
	return installedAt.AddDate(0, 1+k%30, k).Add(time.Duration(k*7919) * time.Microsecond)
}

func (g *gen) fillItemsV21(s *sink) {
	r := g.rng("market_items", 0)
	// expected keys of the slug group, MAPPING.md fine print 5
	var group []int
	for k, it := range g.cat.items {
		if it.kind == "slug_collision" {
			group = append(group, k)
		}
	}
	slices.SortFunc(group, func(a, b int) int {
		return cmp.Or(g.itemCreated(a).Compare(g.itemCreated(b)), bytes.Compare(g.cat.items[a].id[:], g.cat.items[b].id[:]))
	})
	for k, it := range g.cat.items {
		created := g.itemCreated(k)
		var from, until any
		switch x := r.Float64(); {
		case x < 0.6:
		case x < 0.8:
			from, until = created, created.AddDate(0, 3, 0)
		case x < 0.9:
			from = created
		default:
			until = farFuture
		}
		var cat any = pick(r, itemCategories)
		if k%7 == 3 {
			cat = nil // the cutover writes 'general'
		}
		s.row(it.id, it.name, r.text(0.2), it.cost, cat, r.opt(0.3, pick(r, []string{"common", "rare", "epic", "legendary"})),
			r.opt(0.4, "https://cdn.example.com/items/"+slug(it.name)+".png"), r.p(0.9), from, until, created, r.at(created, Base))
		switch {
		case it.seeded:
			g.note("market_items", uidString(it.id), "seeded_natural_key", mappings.Merged, "",
				fmt.Sprintf("name %q slugs to seeded key %q", it.name, it.key))
		case it.kind == "negative_cost":
			g.note("market_items", uidString(it.id), "negative_cost", mappings.Rejected, mappings.ReasonInvalidValue,
				fmt.Sprintf("cost_coins %d: v21 dropped the CHECK (cost_coins >= 0) the target keeps", it.cost))
		case it.kind == "slug_collision":
			key := it.key
			if pos := slices.Index(group, k); pos > 0 {
				key = fmt.Sprintf("%s-%d", it.key, pos+1)
			}
			g.note("market_items", uidString(it.id), "slug_collision", mappings.Loaded, "",
				fmt.Sprintf("name %q slugs to %q; expected key %q", it.name, it.key, key))
		}
	}
}

func (g *gen) fillItemsV16(s *sink) {
	r := g.rng("market_items", 0)
	admin := g.users[0].id
	for k, it := range g.cat.items {
		created := g.itemCreated(k)
		var stock, remaining any
		if r.p(0.2) {
			n := r.n(10, 500)
			stock, remaining = n, r.n(0, n)
		}
		cons := r.p(0.7)
		var uses any
		if cons {
			uses = r.opt(0.3, r.n(1, 5))
		}
		var by any
		if r.p(0.6) {
			by = admin
		}
		// Drawn in the order of the row's columns, as they were when the
		// row's call drew them.
		desc, cat, icon := r.text(0.2), pick(r, itemCategories), r.opt(0.3, pick(r, []string{"gift", "star", "coffee", "🎁"}))
		img, global := r.opt(0.6, "https://cdn.example.com/items/"+it.key+".png"), r.p(0.95)
		s.row(it.id, it.key, it.name, desc, cat, it.cost, icon, img, global, r.p(0.9), r.p(0.9), cons, uses, stock, remaining,
			by, k, created, r.at(created, Base))
		switch {
		case it.seeded && !global:
			g.note("market_items", uidString(it.id), "private_seeded_key", mappings.Rejected, mappings.ReasonPrivateSeededKey,
				fmt.Sprintf("market_items.key %q is seeded in the target, and the item is private", it.key))
		case it.seeded:
			g.note("market_items", uidString(it.id), "seeded_natural_key", mappings.Merged, "",
				fmt.Sprintf("market_items.key %q is seeded in the target", it.key))
		}
	}
}

// rewardP is a v21 user_rewards row's plan.
type rewardP struct {
	id        uid
	coins     int
	claimed   bool
	claimedAt time.Time // zero: claimed but never stamped
	created   time.Time
}

func (g *gen) rewardsOf(i int) []rewardP {
	u := &g.users[i]
	if g.o.Flavor != "v21" || !u.has(fMarket) || !g.clean(i) {
		return nil
	}
	r := g.rng("user_rewards", i)
	out := make([]rewardP, r.count(u.w*2))
	for k := range out {
		p := rewardP{id: r.uid(), coins: r.n(1, 20) * 5, created: r.at(u.from(), Base), claimed: r.p(0.7)}
		if p.claimed && r.p(0.9) {
			p.claimedAt = r.after(p.created, 72*time.Hour)
		}
		out[k] = p
	}
	return out
}

func (g *gen) fillRewards(s *sink) {
	for i := range g.users {
		u := &g.users[i]
		r := g.rng("user_rewards.c", i)
		for _, p := range g.rewardsOf(i) {
			s.row(p.id, u.id, pick(r, []string{"daily_login", "streak_bonus", "level_up", "quest_bonus", "referral"}),
				p.coins, p.claimed, orNil(p.claimedAt), p.created)
			if p.claimed {
				g.note("user_rewards", uidString(p.id), "claimed_reward", mappings.Folded, "",
					fmt.Sprintf("points_ledger event_type 'reward', coins %d", p.coins))
			} else {
				g.note("user_rewards", uidString(p.id), "unclaimed_reward", mappings.Archived, mappings.ReasonUnclaimedReward, "")
			}
		}
	}
}

func (g *gen) fillWallet(s *sink) {
	for i := range g.users {
		u := &g.users[i]
		l := g.ledgerOf(i)
		if len(l) == 0 && !u.has(fMarket) {
			continue
		}
		r := g.rng("user_wallet", i)
		sum, earned, spent := ledgerSum(l)
		rewards := 0
		for _, p := range g.rewardsOf(i) {
			if p.claimed {
				rewards += p.coins
			}
		}
		delta, bad := g.an.wallet[i]
		id, created := r.uid(), r.after(u.created, time.Hour)
		updated := r.at(u.from(), Base)
		if g.o.Flavor == "v21" {
			s.row(id, u.id, sum+rewards+delta, earned+rewards, spent, updated, created)
		} else {
			s.row(id, u.id, int64(sum+delta), int64(earned), int64(spent), created, updated)
		}
		if bad {
			g.note("user_wallet", uidString(id), "wallet_ledger_mismatch", mappings.Loaded, "",
				fmt.Sprintf("wallet coins %d, target ledger sum %d (legacy ledger %d + claimed rewards %d)", sum+rewards+delta, sum+rewards, sum, rewards))
		}
	}
}

// fillMarketPurchases draws up to four purchases per market user. The
// first market user also buys the item of a negative cost, when one is
// planted, so that its rejection has a purchase to take with it.
func (g *gen) fillMarketPurchases(s *sink) {
	refund := slices.IndexFunc(g.cat.items, func(it item) bool { return it.kind == "negative_cost" })
	for i := range g.users {
		u := &g.users[i]
		if !u.has(fMarket) {
			continue
		}
		r := g.rng("user_market_purchases", i)
		bought := r.Perm(len(g.cat.items))[:r.n(0, 4)]
		if refund >= 0 && !slices.Contains(bought, refund) {
			bought = append(bought, refund)
		}
		refund = -1
		for _, k := range bought {
			it := g.cat.items[k]
			q := 1
			if r.p(0.2) {
				q = r.n(2, 5)
			}
			id := r.uid()
			s.row(id, u.id, it.id, q, it.cost*q, r.at(u.from(), Base))
			if it.kind == "negative_cost" {
				g.note("user_market_purchases", uidString(id), "negative_cost_child", mappings.Rejected, mappings.ReasonParentRejected,
					"a purchase of the item of a negative cost")
			}
		}
	}
}

func (g *gen) fillMarketTransactions(s *sink) {
	for i := range g.users {
		u := &g.users[i]
		if !u.has(fMarket) {
			continue
		}
		r := g.rng("market_transactions", i)
		for k := r.count(u.w * 5); k > 0; k-- {
			t := pick(r, []string{"purchase", "reward", "refund", "adjustment"})
			amt := r.n(1, 300)
			if t == "purchase" {
				amt = -amt
			}
			s.row(r.uid(), u.id, t, amt, r.opt(0.3, r.title()), r.at(u.from(), Base))
		}
	}
}

func (g *gen) fillRecommendations(s *sink) {
	for i := range g.users {
		u := &g.users[i]
		r := g.rng("market_recommendations", i)
		if !u.has(fMarket) || !r.p(0.5) {
			continue
		}
		for _, k := range r.Perm(len(g.cat.items))[:r.n(1, 3)] {
			s.row(r.uid(), u.id, g.cat.items[k].id, r.opt(0.1, round2(r.Float64()*9.99)),
				r.opt(0.2, pick(r, []string{"similar_users", "recently_viewed", "cheap", "trending"})), r.at(u.from(), Base))
		}
	}
}

func (g *gen) fillUserPurchases(s *sink) {
	for i := range g.users {
		u := &g.users[i]
		if !u.has(fMarket) {
			continue
		}
		r := g.rng("user_purchases", i)
		for k := r.count(u.w * 3); k > 0; k-- {
			it := pick(r, g.cat.items)
			at := r.at(u.from(), Base)
			status := pick(r, []string{"purchased", "purchased", "redeemed", "refunded", "expired"})
			var redeemed, refunded, why, uses any
			switch status {
			case "redeemed":
				redeemed = r.after(at, 10*24*time.Hour)
				uses = 0
			case "refunded":
				refunded, why = r.after(at, 48*time.Hour), r.opt(0.3, r.sentence())
			case "purchased":
				uses = r.opt(0.5, r.n(1, 5))
			}
			s.row(r.uid(), u.id, it.id, it.cost, r.n(1, 2), at, redeemed, uses, status, refunded, why)
		}
	}
}
