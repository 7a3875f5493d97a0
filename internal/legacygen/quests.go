package legacygen

import (
	"time"
)

func (g *gen) questTables() []*table {
	return []*table{
		{name: "universal_quests", cols: []string{"id", "title", "description", "type", "xp_reward", "coin_reward",
			"target", "target_type", "target_config", "skill_key", "is_active", "created_by", "sort_order", "created_at",
			"updated_at"}, fill: g.fillUniversalQuests},
		{name: "user_quest_progress", cols: []string{"id", "user_id", "quest_id", "status", "progress", "accepted_at",
			"completed_at", "claimed_at", "last_reset_at", "times_completed", "created_at", "updated_at"},
			fill: g.fillQuestProgress},
		{name: "user_quests", cols: []string{"id", "user_id", "title", "description", "category", "difficulty",
			"xp_reward", "coin_reward", "status", "is_active", "is_universal", "source_quest_id", "accepted_at",
			"completed_at", "expires_at", "is_repeatable", "repeat_frequency", "last_completed_date", "streak_count",
			"created_at", "updated_at"}, fill: g.fillUserQuests},
	}
}

var questTypes = []string{"daily", "weekly", "monthly", "one_time", "repeatable"}

func (g *gen) fillUniversalQuests(s *sink) {
	r := g.rng("universal_quests", 0)
	admin := g.users[0].id
	for k, id := range g.cat.uquests {
		created := installedAt.AddDate(0, 2+k, 0).Add(time.Duration(r.IntN(1e9)) * time.Microsecond)
		var by, skill, cfg any
		if r.p(0.7) {
			by = admin
		}
		if r.p(0.5) {
			skill = pick(r, g.cat.skills)
		}
		if r.p(0.6) {
			cfg = js(map[string]any{"mode": pick(r, []string{"focus", "any"}), "min_minutes": r.n(5, 60)})
		}
		s.row(id, r.title(), r.text(0.2), pick(r, questTypes), r.n(1, 10)*5, r.n(1, 10), r.n(1, 10),
			r.opt(0.2, pick(r, []string{"focus_sessions", "habit_completions", "pages_read", "workouts"})), cfg, skill,
			r.p(0.85), by, k, created, r.at(created, Base))
	}
}

func (g *gen) fillQuestProgress(s *sink) {
	for i := range g.users {
		u := &g.users[i]
		if !u.has(fQuests) {
			continue
		}
		r := g.rng("user_quest_progress", i)
		for _, k := range r.Perm(len(g.cat.uquests))[:r.n(1, 6)] {
			t := r.at(u.from(), Base)
			status := pick(r, []string{"available", "in_progress", "completed", "claimed"})
			var acc, done, claimed any
			if status != "available" {
				acc = r.after(t, time.Hour)
			}
			if status == "completed" || status == "claimed" {
				done = r.after(t, 48*time.Hour)
			}
			if status == "claimed" {
				claimed = r.after(t.Add(48*time.Hour), time.Hour)
			}
			s.row(r.uid(), u.id, g.cat.uquests[k], status, r.n(0, 10), acc, done, claimed, r.opt(0.6, r.at(t, Base)),
				r.n(0, 20), t, r.at(t, Base.Add(time.Second)))
		}
	}
}

type questP struct {
	id      uid
	created time.Time
}

// questsOf plans user i's user_quests; i = -1 plans the universal copies
// (user_id NULL).
func (g *gen) questsOf(i int) []questP {
	var r rnd
	var n int
	from := installedAt.AddDate(1, 0, 0)
	if i < 0 {
		r = g.rng("user_quests.universal", 0)
		n = 8
	} else {
		u := &g.users[i]
		if !u.has(fQuests) {
			return nil
		}
		r = g.rng("user_quests", i)
		n = 1 + r.count(u.w*5)
		from = u.from()
	}
	out := make([]questP, n)
	for k := range out {
		t := r.at(from, Base)
		if k > 0 && r.p(0.1) {
			t = out[k-1].created // a tie: sort_order falls back to id
		}
		out[k] = questP{id: r.uid(), created: t}
	}
	return out
}

var difficulties = []string{"starter", "easy", "medium", "hard", "epic"}
var questStatuses = []string{"available", "accepted", "completed", "abandoned", "expired"}

func (g *gen) fillUserQuests(s *sink) {
	for i := -1; i < len(g.users); i++ {
		var owner any
		if i >= 0 {
			owner = g.users[i].id
		}
		r := g.rng("user_quests.c", i+1)
		for _, q := range g.questsOf(i) {
			status := pick(r, questStatuses)
			var acc, done, exp, freq, lastDay, src any
			if status != "available" {
				acc = r.after(q.created, 24*time.Hour)
			}
			if status == "completed" {
				done = r.after(q.created, 7*24*time.Hour)
			}
			if r.p(0.3) {
				exp = r.after(q.created, 30*24*time.Hour)
			}
			rep := r.p(0.3)
			if rep {
				freq = r.opt(0.2, pick(r, []string{"daily", "weekly", "monthly"}))
				lastDay = r.opt(0.3, day(r.at(q.created, Base)))
			}
			universal := i < 0 || r.p(0.1)
			if universal {
				src = r.opt(0.2, pick(r, g.cat.uquests))
			}
			s.row(q.id, owner, r.title(), r.text(0.3), pick(r, []string{"focus", "health", "learning", "social", "general"}),
				pick(r, difficulties), r.n(1, 20)*5, r.n(0, 10), status, r.p(0.9), universal, src, acc, done, exp, rep, freq,
				lastDay, r.n(0, 12), q.created, r.at(q.created, Base.Add(time.Second)))
		}
	}
}
