package legacygen

import (
	"fmt"
	"math"
	"time"

	"github.com/cutover/cutover/mappings"
)

func (g *gen) habitTables() []*table {
	return []*table{
		{name: "habits", cols: []string{"id", "user_id", "name", "description", "frequency", "target_count",
			"custom_days", "icon", "color", "is_active", "current_streak", "longest_streak", "last_completed_at",
			"sort_order", "created_at", "updated_at"}, fill: g.fillHabits},
		g.tHabitCompletions(),
		{name: "goals", cols: []string{"id", "user_id", "title", "description", "category", "target_date", "started_at",
			"completed_at", "status", "progress", "priority", "sort_order", "created_at", "updated_at"}, fill: g.fillGoals},
		{name: "goal_milestones", cols: []string{"id", "goal_id", "title", "description", "is_completed", "completed_at",
			"sort_order"}, fill: g.fillMilestones},
	}
}

type habitP struct {
	id      uid
	created time.Time
	dates   []time.Time // completion dates, ascending
}

// habitsOf plans user i's habits and the dates each was completed on.
func (g *gen) habitsOf(i int) []habitP {
	u := &g.users[i]
	if !u.has(fHabits) {
		return nil
	}
	r := g.rng("habits", i)
	n := min(10, 1+r.count(u.w*2))
	out := make([]habitP, n)
	span := 30 + int(u.w*40)
	p := math.Min(0.92, 0.35+0.05*u.w)
	for k := range out {
		h := habitP{id: r.uid(), created: r.at(u.from(), Base.AddDate(0, 0, -7))}
		start := day(h.created)
		if t := Base.AddDate(0, 0, -span); start.Before(t) {
			start = t
		}
		for d := start; d.Before(Base); d = d.AddDate(0, 0, 1) {
			if r.p(p) {
				h.dates = append(h.dates, d)
			}
		}
		out[k] = h
	}
	return out
}

var habitColors = []string{"#ef4444", "#f59e0b", "#10b981", "#3b82f6", "#8b5cf6", "#ec4899"}

func (g *gen) fillHabits(s *sink) {
	for i := range g.users {
		u := &g.users[i]
		r := g.rng("habits.c", i)
		for k, h := range g.habitsOf(i) {
			freq := pick(r, []string{"daily", "daily", "weekly", "custom"})
			var days any
			if freq == "custom" {
				days = pick(r, []string{"1,3,5", "mon,wed,fri", `["sat","sun"]`, "", "0,6"})
			}
			var last any
			if len(h.dates) > 0 {
				last = h.dates[len(h.dates)-1].Add(time.Duration(r.Int64N(86_400_000_000)) * time.Microsecond)
			}
			streak := r.n(0, len(h.dates))
			s.row(h.id, u.id, r.title(), r.text(0.5), freq, r.n(1, 3), days, r.opt(0.3, pick(r, []string{"💧", "📖", "🏃", "🧘", "check"})),
				r.opt(0.2, pick(r, habitColors)), r.p(0.85), streak, streak+r.n(0, 30), last, k, h.created, r.at(h.created, Base))
			if k == 0 && u.dup {
				g.note("habits", uidString(h.id), "duplicate_email_child", mappings.Rejected, mappings.ReasonParentRejected,
					"owner "+uidString(u.id)+" is rejected (duplicate_email)")
			}
		}
	}
}

func (g *gen) tHabitCompletions() *table {
	return &table{name: "habit_completions", cols: []string{"id", "habit_id", "user_id", "completed_at", "completed_date", "notes"},
		fill: func(s *sink) {
			for i := range g.users {
				u := &g.users[i]
				r := g.rng("habit_completions", i)
				habits := g.habitsOf(i)
				for _, h := range habits {
					for _, d := range h.dates {
						var notes any
						if r.p(0.05) {
							notes = r.sentence()
						}
						s.row(r.uid(), h.id, u.id, d.Add(time.Duration(r.Int64N(86_400_000_000))*time.Microsecond), d, notes)
					}
				}
				if v, ok := g.an.tenantHabit[i]; ok && len(habits) > 0 {
					h := habits[0]
					d := day(h.created).AddDate(0, 0, -1)
					id := r.uid()
					s.row(id, h.id, g.users[v].id, d.Add(20*time.Hour), d, "logged from a shared device")
					g.note("habit_completions", uidString(id), "tenant_mismatch", mappings.Rejected, mappings.ReasonTenantMismatch,
						fmt.Sprintf("user_id %s, habit owner %s", uidString(g.users[v].id), uidString(u.id)))
				}
			}
		}}
}

type goalP struct {
	id         uid
	created    time.Time
	milestones int
}

func (g *gen) goalsOf(i int) []goalP {
	u := &g.users[i]
	if !u.has(fGoals) {
		return nil
	}
	r := g.rng("goals", i)
	out := make([]goalP, r.n(1, 4))
	for k := range out {
		out[k] = goalP{id: r.uid(), created: r.at(u.from(), Base), milestones: r.n(0, 6)}
	}
	return out
}

func (g *gen) fillGoals(s *sink) {
	for i := range g.users {
		u := &g.users[i]
		r := g.rng("goals.c", i)
		for k, gl := range g.goalsOf(i) {
			status := pick(r, []string{"active", "active", "completed", "abandoned", "paused"})
			var target, done any
			switch x := r.Float64(); {
			case x < 0.3:
			case x < 0.33:
				target = day(farFuture) // "someday"
			default:
				target = day(r.at(gl.created, Base.AddDate(1, 0, 0)))
			}
			progress := r.n(0, 100)
			if status == "completed" {
				progress, done = 100, r.at(gl.created, Base.Add(time.Second))
			}
			s.row(gl.id, u.id, r.title(), r.text(0.3), r.opt(0.3, pick(r, []string{"health", "career", "learning", "creative", "finance"})),
				target, r.opt(0.4, gl.created), done, status, progress, r.n(0, 3), k, gl.created, r.at(gl.created, Base.Add(time.Second)))
		}
	}
}

func (g *gen) fillMilestones(s *sink) {
	for i := range g.users {
		r := g.rng("goal_milestones", i)
		for _, gl := range g.goalsOf(i) {
			for k := 0; k < gl.milestones; k++ {
				done := r.p(0.4)
				var at any
				if done {
					at = r.opt(0.1, r.at(gl.created, Base.Add(time.Second)))
				}
				s.row(r.uid(), gl.id, r.title(), r.text(0.6), done, at, k)
			}
		}
	}
}
