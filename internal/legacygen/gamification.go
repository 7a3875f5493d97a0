package legacygen

import (
	"fmt"
	"slices"
	"strings"
	"time"

	"github.com/cutover/cutover/mappings"
)

func (g *gen) gamificationTables() []*table {
	return []*table{
		{name: "skill_definitions", cols: []string{"id", "key", "name", "description", "category", "icon", "max_level",
			"stars_per_level", "sort_order", "created_at"}, fill: g.fillSkillDefinitions},
		{name: "achievement_definitions", cols: []string{"id", "key", "name", "description", "category", "icon",
			"trigger_type", "trigger_config", "reward_coins", "reward_xp", "is_hidden", "sort_order", "created_at"},
			fill: g.fillAchievementDefinitions},
		{name: "user_progress", cols: []string{"id", "user_id", "total_xp", "current_level", "xp_to_next_level",
			"total_skill_stars", "created_at", "updated_at"}, fill: g.fillUserProgress},
		{name: "user_skills", cols: []string{"id", "user_id", "skill_key", "current_stars", "current_level", "created_at",
			"updated_at"}, fill: g.fillUserSkills},
		{name: "user_achievements", cols: []string{"id", "user_id", "achievement_key", "earned_at", "notified"},
			fill: g.fillUserAchievements},
		{name: "user_streaks", cols: []string{"id", "user_id", "streak_type", "current_streak", "longest_streak",
			"last_activity_date", "created_at", "updated_at"}, fill: g.fillUserStreaks},
		g.tPointsLedger(),
		g.tActivityEvents(),
	}
}

func (g *gen) fillSkillDefinitions(s *sink) {
	r := g.rng("skill_definitions", 0)
	for k, key := range g.cat.skills {
		name := strings.ReplaceAll(key, "_", " ")
		s.row(g.cat.skillIDs[k], key, capitalize(name), r.text(0.2), pick(r, []string{"mind", "body", "craft"}),
			r.opt(0.3, pick(r, []string{"brain", "dumbbell", "book", "music", "ear"})), r.n(5, 20), 10, k, installedAt.AddDate(0, k, 0))
	}
}

func (g *gen) fillAchievementDefinitions(s *sink) {
	r := g.rng("achievement_definitions", 0)
	for k, a := range g.cat.achievements {
		cfg := js(map[string]any{"event": pick(r, []string{"focus_completed", "habit_completed", "book_completed", "login"}), "count": r.n(1, 100)})
		if r.p(0.1) {
			cfg = "null" // JSON null, not SQL NULL
		}
		var trig any = cfg
		if r.p(0.1) {
			trig = nil
		}
		s.row(a.id, a.key, capitalize(strings.ReplaceAll(a.key, "_", " ")), r.text(0.2),
			pick(r, []string{"focus", "habits", "books", "fitness", "learn", "general"}), r.opt(0.2, pick(r, []string{"🏆", "star", "flame", "medal"})),
			pick(r, []string{"count", "streak", "threshold", "manual"}), trig, r.n(0, 20)*5, r.n(0, 40)*5, r.p(0.1), k,
			installedAt.Add(time.Duration(k)*time.Hour+time.Duration(r.IntN(1e6))*time.Microsecond))
		if a.seeded {
			g.note("achievement_definitions", uidString(a.id), "seeded_natural_key", mappings.Merged, "",
				fmt.Sprintf("achievement_definitions.key %q is seeded in the target", a.key))
		}
	}
}

func (g *gen) fillUserProgress(s *sink) {
	for i := range g.users {
		u := &g.users[i]
		r := g.rng("user_progress", i)
		if !r.p(0.9) && i > 3 {
			continue
		}
		xp := int64(u.w * float64(r.n(100, 5000)))
		lvl := 1 + int(xp/1000)
		s.row(r.uid(), u.id, xp, lvl, r.n(1, 1000), r.n(0, 200), r.after(u.created, time.Hour), r.at(u.from(), Base))
	}
}

func (g *gen) fillUserSkills(s *sink) {
	for i := range g.users {
		u := &g.users[i]
		if !u.has(fSkills) {
			continue
		}
		r := g.rng("user_skills", i)
		for _, k := range r.Perm(len(g.cat.skills))[:r.n(1, 5)] {
			t := r.at(u.from(), Base)
			s.row(r.uid(), u.id, g.cat.skills[k], r.n(0, 99), r.n(0, 9), t, r.at(t, Base.Add(time.Second)))
		}
	}
}

func (g *gen) fillUserAchievements(s *sink) {
	for i := range g.users {
		u := &g.users[i]
		r := g.rng("user_achievements", i)
		n := min(len(g.cat.achievements), r.count(u.w*4))
		for _, k := range r.Perm(len(g.cat.achievements))[:n] {
			s.row(r.uid(), u.id, g.cat.achievements[k].key, r.at(u.from(), Base), r.p(0.8))
		}
	}
}

func (g *gen) fillUserStreaks(s *sink) {
	types := []string{"daily_login", "focus", "habits", "reading", "workout"}
	for i := range g.users {
		u := &g.users[i]
		r := g.rng("user_streaks", i)
		for _, k := range r.Perm(len(types))[:r.n(0, len(types))] {
			cur := r.n(0, 40)
			t := r.at(u.from(), Base)
			s.row(r.uid(), u.id, types[k], cur, cur+r.n(0, 100), r.opt(0.1, day(r.at(t, Base))), t, r.at(t, Base.Add(time.Second)))
		}
	}
}

// ledgerP is one points_ledger entry's plan; the wallet is derived from them.
type ledgerP struct {
	id    uid
	at    time.Time
	coins int
	xp    int
}

func (g *gen) ledgerOf(i int) []ledgerP {
	u := &g.users[i]
	r := g.rng("points_ledger", i)
	n := r.count(u.w * 80)
	if n == 0 {
		return nil
	}
	ts := make([]time.Time, n)
	for k := range ts {
		ts[k] = r.at(u.from(), Base)
	}
	slices.SortFunc(ts, func(a, b time.Time) int { return a.Compare(b) })
	out := make([]ledgerP, n)
	bal := 0
	for k := range out {
		c := 0
		switch x := r.Float64(); {
		case x < 0.7:
			c = r.n(1, 50)
		case x < 0.85 && bal >= 30:
			c = -r.n(5, min(bal, 150))
		}
		bal += c
		out[k] = ledgerP{id: r.uid(), at: ts[k], coins: c, xp: r.n(0, 20) * 5}
	}
	return out
}

// ledgerSum is the sum of the user's ledger coins, and of gains and spends.
func ledgerSum(l []ledgerP) (sum, earned, spent int) {
	for _, e := range l {
		sum += e.coins
		if e.coins > 0 {
			earned += e.coins
		} else {
			spent -= e.coins
		}
	}
	return
}

var ledgerEvents = []string{"focus_complete", "habit_complete", "quest_complete", "reading_session", "workout_complete",
	"lesson_complete", "achievement", "purchase", "daily_bonus", "admin_adjustment"}

func (g *gen) tPointsLedger() *table {
	return &table{name: "points_ledger", cols: []string{"id", "user_id", "event_type", "event_id", "coins", "xp",
		"skill_stars", "skill_key", "reason", "idempotency_key", "created_at"},
		fill: func(s *sink) {
			for i := range g.users {
				u := &g.users[i]
				r := g.rng("points_ledger.c", i)
				for _, e := range g.ledgerOf(i) {
					ev := "purchase"
					if e.coins >= 0 {
						ev = ledgerEvents[r.IntN(len(ledgerEvents)-1)]
					}
					var key, skill any
					if r.p(0.8) {
						key = ev + ":" + uidString(e.id)
					}
					if r.p(0.2) {
						skill = pick(r, g.cat.skills)
					}
					s.row(e.id, u.id, ev, r.opt(0.4, r.uid()), e.coins, e.xp, r.n(0, 2), skill,
						r.opt(0.5, pick(r, []string{"Focus session completed", "Daily bonus 🎉", "Quest: " + r.title(), "Bought an item"})),
						key, e.at)
				}
			}
		}}
}

var activityTypes = []string{"focus_started", "focus_completed", "habit_completed", "quest_accepted", "quest_completed",
	"book_added", "reading_logged", "workout_logged", "lesson_completed", "login", "level_up", "item_purchased"}

func (g *gen) tActivityEvents() *table {
	return &table{name: "activity_events", cols: []string{"id", "user_id", "event_type", "category", "metadata",
		"xp_earned", "coins_earned", "created_at"},
		fill: func(s *sink) {
			for i := range g.users {
				u := &g.users[i]
				r := g.rng("activity_events", i)
				for k := r.count(u.w * 50); k > 0; k-- {
					ev := pick(r, activityTypes)
					var meta any
					switch x := r.Float64(); {
					case x < 0.2:
					case x < 0.25:
						meta = "{}"
					default:
						meta = js(map[string]any{"source": pick(r, []string{"web", "ios", "android"}), "ref": uidString(r.uid()), "v": r.n(1, 3)})
					}
					s.row(r.uid(), u.id, ev, r.opt(0.1, strings.SplitN(ev, "_", 2)[0]), meta, r.opt(0.1, r.n(0, 50)),
						r.opt(0.1, r.n(0, 20)), r.at(u.from(), Base))
				}
			}
		}}
}
