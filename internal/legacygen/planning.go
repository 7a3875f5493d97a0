package legacygen

import (
	"fmt"
	"slices"
	"time"

	"github.com/cutover/cutover/mappings"
)

func (g *gen) planningTables() []*table {
	return []*table{
		{name: "calendar_events", cols: []string{"id", "user_id", "title", "description", "event_type", "start_time",
			"end_time", "all_day", "timezone", "location", "workout_id", "habit_id", "goal_id", "recurrence_rule",
			"recurrence_end", "parent_event_id", "color", "reminder_minutes", "metadata", "created_at", "updated_at"},
			fill: g.fillCalendar},
		{name: "daily_plans", cols: []string{"id", "user_id", "date", "items", "notes", "created_at", "updated_at"},
			fill: g.fillDailyPlans},
		{name: "plan_templates", cols: []string{"id", "user_id", "name", "description", "items", "is_public", "category",
			"use_count", "created_at", "updated_at"}, fill: g.fillPlanTemplates},
		{name: "inbox_items", cols: []string{"id", "user_id", "title", "description", "tags", "created_at", "updated_at"},
			fill: g.fillInbox},
		{name: "ideas", cols: []string{"id", "user_id", "title", "content", "category", "tags", "is_pinned", "created_at",
			"updated_at"}, fill: g.fillIdeas},
		{name: "infobase_entries", cols: []string{"id", "user_id", "title", "content", "category", "tags", "created_at",
			"updated_at"}, fill: g.fillInfobase},
		{name: "user_references", cols: []string{"id", "user_id", "title", "content", "url", "category", "tags",
			"is_pinned", "is_archived", "created_at", "updated_at"}, fill: g.fillUserReferences},
	}
}

var (
	eventTypes = []string{"general", "focus", "workout", "habit", "goal", "reminder", "meeting"}
	timezones  = []string{"Europe/Berlin", "America/New_York", "Asia/Tokyo", "UTC", "Australia/Adelaide", "America/St_Johns"}
)

// fillCalendar writes series: a recurring parent, its occurrences
// (parent_event_id → parent) and edited occurrences (→ the occurrence).
func (g *gen) fillCalendar(s *sink) {
	for i := range g.users {
		u := &g.users[i]
		if !u.has(fCalendar) {
			continue
		}
		r := g.rng("calendar_events", i)
		habits, goals, workouts := g.habitsOf(i), g.goalsOf(i), g.workoutsOf(i)
		event := func(parent any, start time.Time, rule any) uid {
			id := r.uid()
			typ := pick(r, eventTypes)
			var w, h, gl any
			switch {
			case typ == "workout" && len(workouts) > 0:
				w = pick(r, workouts).id
			case typ == "habit" && len(habits) > 0:
				h = pick(r, habits).id
			case typ == "goal" && len(goals) > 0:
				gl = pick(r, goals).id
			}
			allDay := r.p(0.15)
			var end, until any
			if !allDay {
				end = start.Add(time.Duration(r.n(1, 16)) * 15 * time.Minute)
			}
			if rule != nil {
				until = r.opt(0.5, pick(r, []any{r.after(start, 365*24*time.Hour), time.Date(2999, 12, 31, 0, 0, 0, 0, time.UTC)}))
			}
			var meta any
			if r.p(0.3) {
				meta = js(map[string]any{"source": pick(r, []string{"google", "ics", "app"}), "etag": r.hex(8)})
			}
			created := start.Add(-time.Duration(r.n(1, 240)) * time.Hour)
			s.row(id, u.id, r.title(), r.text(0.5), typ, start, end, allDay, r.opt(0.3, pick(r, timezones)),
				r.opt(0.7, pick(r, []string{"Home", "Office", "Gym", "Café Zentral", "Zoom"})), w, h, gl, rule, until, parent,
				r.opt(0.5, pick(r, habitColors)), r.opt(0.4, pick(r, []int{0, 5, 10, 30, 1440})), meta, created,
				r.at(created, Base.Add(time.Second)))
			return id
		}
		for k := r.count(u.w * 6); k >= 0; k-- {
			start := r.at(u.from(), Base.AddDate(0, 2, 0))
			if !r.p(0.25) {
				event(nil, start, nil)
				continue
			}
			root := event(nil, start, pick(r, []string{"FREQ=WEEKLY;BYDAY=MO,WE", "FREQ=DAILY;COUNT=10", "FREQ=MONTHLY;BYMONTHDAY=1"}))
			for j := 1; j <= r.n(2, 6); j++ {
				occ := event(root, start.AddDate(0, 0, 7*j), nil)
				if r.p(0.2) {
					event(occ, start.AddDate(0, 0, 7*j).Add(time.Hour), nil) // an edited occurrence
				}
			}
		}
		// An event naming another user's habit, workout or goal (soft
		// references: no foreign key in either schema).
		foreign := func(v int, typ, column string, parent uid) {
			id, start := r.uid(), r.at(u.from(), Base)
			ref := map[string]any{"workout_id": nil, "habit_id": nil, "goal_id": nil}
			ref[column] = parent
			s.row(id, u.id, "Check-in", nil, typ, start, start.Add(15*time.Minute), false, nil, nil,
				ref["workout_id"], ref["habit_id"], ref["goal_id"], nil, nil, nil, nil, nil, nil, start.Add(-time.Hour), start.Add(-time.Hour))
			g.note("calendar_events", uidString(id), "tenant_mismatch", mappings.Rejected, mappings.ReasonTenantMismatch,
				fmt.Sprintf("%s %s is a %s of user %s; event owner %s", column, uidString(parent), typ, uidString(g.users[v].id), uidString(u.id)))
		}
		if v, ok := g.an.tenantEvent[i]; ok {
			if other := g.habitsOf(v); len(other) > 0 {
				foreign(v, "habit", "habit_id", other[0].id)
			}
		}
		if v, ok := g.an.tenantEventWorkout[i]; ok {
			if other := g.workoutsOf(v); len(other) > 0 {
				foreign(v, "workout", "workout_id", other[0].id)
			}
		}
		if v, ok := g.an.tenantEventGoal[i]; ok {
			if other := g.goalsOf(v); len(other) > 0 {
				foreign(v, "goal", "goal_id", other[0].id)
			}
		}
	}
}

// planItem is one entry of a daily plan; the array order is the display
// order the user chose.
type planItem struct {
	ID       string     `json:"id"`
	Type     string     `json:"type"`
	Title    string     `json:"title"`
	Done     bool       `json:"done"`
	Time     *string    `json:"time,omitempty"`
	Minutes  int        `json:"minutes,omitempty"`
	Subtasks []planItem `json:"subtasks,omitempty"`
}

func (r rnd) planItems(n int) string {
	items := make([]planItem, n)
	for k := range items {
		it := planItem{ID: uidString(r.uid()), Type: pick(r, []string{"habit", "quest", "task", "focus", "event", "workout"}),
			Title: r.title(), Done: r.p(0.4)}
		if r.p(0.4) {
			t := fmt.Sprintf("%02d:%02d", r.n(6, 21), r.n(0, 3)*15)
			it.Time = &t
		}
		if r.p(0.3) {
			it.Minutes = r.n(1, 12) * 5
		}
		if r.p(0.05) {
			it.Subtasks = []planItem{{ID: uidString(r.uid()), Type: "task", Title: r.title()}}
		}
		items[k] = it
	}
	return js(items)
}

func (g *gen) fillDailyPlans(s *sink) {
	for i := range g.users {
		u := &g.users[i]
		if !u.has(fPlans) {
			continue
		}
		r := g.rng("daily_plans", i)
		span := max(1, int(Base.Sub(u.from()).Hours()/24))
		n := min(span, 1+r.count(u.w*20))
		days := r.Perm(span)[:n]
		slices.Sort(days)
		for _, d := range days {
			date := day(u.from()).AddDate(0, 0, d)
			created := date.Add(time.Duration(r.Int64N(20*3600e6)) * time.Microsecond)
			s.row(r.uid(), u.id, date, r.planItems(r.n(0, 8)), r.text(0.7), created, r.at(created, created.Add(24*time.Hour)))
		}
	}
}

func (g *gen) fillPlanTemplates(s *sink) {
	r := g.rng("plan_templates.public", 0)
	for k := 0; k < 3; k++ {
		t := installedAt.AddDate(0, 6+k, 0)
		s.row(r.uid(), nil, r.title(), r.text(0.3), r.planItems(r.n(2, 6)), true, r.opt(0.3, "starter"), r.n(0, 5000), t, t)
	}
	for i := range g.users {
		u := &g.users[i]
		if !u.has(fTemplates) {
			continue
		}
		r := g.rng("plan_templates", i)
		for k := r.n(1, 2); k > 0; k-- {
			t := r.at(u.from(), Base)
			s.row(r.uid(), u.id, r.title(), r.text(0.5), r.planItems(r.n(0, 6)), r.p(0.2), r.opt(0.5, "personal"), r.n(0, 40), t, r.at(t, Base.Add(time.Second)))
		}
	}
}

type inboxP struct {
	id      uid
	title   string
	created time.Time
}

func (g *gen) inboxOf(i int) []inboxP {
	u := &g.users[i]
	if !u.has(fInbox) {
		return nil
	}
	r := g.rng("inbox_items", i)
	out := make([]inboxP, 1+r.count(u.w*10))
	for k := range out {
		p := inboxP{id: r.uid(), title: r.title(), created: r.at(u.from(), Base)}
		if k > 0 && r.p(0.1) {
			p.created = out[k-1].created // same instant: sort_order falls back to id
		}
		out[k] = p
	}
	return out
}

func (g *gen) fillInbox(s *sink) {
	for i := range g.users {
		u := &g.users[i]
		r := g.rng("inbox_items.c", i)
		for k, p := range g.inboxOf(i) {
			var desc any = r.text(0.5)
			if i == 2 && k == 0 {
				desc = r.bigText(150 << 10)
			}
			s.row(p.id, u.id, p.title, desc, r.textArray(0.2), p.created, r.at(p.created, Base.Add(time.Second)))
		}
	}
}

func (g *gen) fillIdeas(s *sink) {
	for i := range g.users {
		u := &g.users[i]
		if !u.has(fIdeas) {
			continue
		}
		r := g.rng("ideas", i)
		for k := 1 + r.count(u.w*5); k > 0; k-- {
			id := r.uid()
			var content any = r.text(0.2)
			if i == 2 && k == 1 {
				content = r.bigText(120 << 10)
			}
			t := r.at(u.from(), Base)
			s.row(id, u.id, r.title(), content, pick(r, []string{"general", "general", "music", "app", "business", "🎨 art"}),
				r.jsonTags(0.3), r.p(0.1), t, r.at(t, Base.Add(time.Second)))
			if k == 1 && u.dup {
				g.note("ideas", uidString(id), "duplicate_email_child", mappings.Rejected, mappings.ReasonParentRejected,
					"owner "+uidString(u.id)+" is rejected (duplicate_email)")
			}
		}
	}
}

func (g *gen) fillInfobase(s *sink) {
	for i := range g.users {
		u := &g.users[i]
		if !u.has(fInfobase) {
			continue
		}
		r := g.rng("infobase_entries", i)
		for k := 1 + r.count(u.w*3); k > 0; k-- {
			content := r.paragraph()
			switch {
			case i == 1 && k == 1:
				content = r.bigText(1536 << 10) // 1.5 MiB
			case r.p(0.02):
				content = ""
			}
			t := r.at(u.from(), Base)
			s.row(r.uid(), u.id, r.title(), content, pick(r, []string{"Tips", "Tips", "Notes", "Reference", "How-to"}),
				r.jsonTags(0.4), t, r.at(t, Base.Add(time.Second)))
		}
	}
}

func (g *gen) fillUserReferences(s *sink) {
	for i := range g.users {
		u := &g.users[i]
		if !u.has(fRefs) {
			continue
		}
		r := g.rng("user_references", i)
		for k := 1 + r.count(u.w*3); k > 0; k-- {
			t := r.at(u.from(), Base)
			var content any = r.text(0.3)
			if i == 3 && k == 1 {
				content = r.bigText(100 << 10)
			}
			s.row(r.uid(), u.id, r.title(), content, r.opt(0.3, "https://example.com/"+r.hex(6)+"?q=a%20b&lang=de"),
				r.opt(0.4, pick(r, []string{"article", "video", "paper", "tool"})), r.textArray(0.2), r.opt(0.1, r.p(0.2)),
				r.opt(0.1, r.p(0.1)), t, r.at(t, Base.Add(time.Second)))
		}
	}
}
