package legacygen

import (
	"fmt"
	"time"

	"github.com/cutover/cutover/mappings"
)

func (g *gen) platformTables() []*table {
	return []*table{
		{name: "feedback", cols: []string{"id", "user_id", "feedback_type", "title", "description", "status", "priority",
			"admin_response", "resolved_at", "metadata", "created_at", "updated_at"}, fill: g.fillFeedback},
		g.tAuditLog(),
		{name: "onboarding_flows", cols: []string{"id", "name", "description", "is_active", "total_steps", "created_at",
			"updated_at"}, fill: g.fillFlows},
		{name: "onboarding_steps", cols: []string{"id", "flow_id", "step_order", "step_type", "title", "description",
			"target_selector", "target_route", "fallback_content", "options", "allows_multiple", "required", "action_type",
			"action_config", "created_at", "updated_at"}, fill: g.fillSteps},
		{name: "user_onboarding_state", cols: []string{"id", "user_id", "flow_id", "current_step_id", "status", "can_resume",
			"started_at", "completed_at", "skipped_at", "created_at", "updated_at"}, fill: g.fillOnboardingState},
		{name: "user_onboarding_responses", cols: []string{"id", "user_id", "step_id", "response", "created_at"},
			fill: g.fillOnboardingResponses},
		{name: "user_settings", cols: []string{"id", "user_id", "key", "value", "updated_at", "created_at"}, fill: g.fillSettings},
		{name: "user_interests", cols: []string{"id", "user_id", "interest_key", "interest_label", "created_at"}, fill: g.fillInterests},
	}
}

func (g *gen) fillFeedback(s *sink) {
	for i := range g.users {
		u := &g.users[i]
		if !u.has(fFeedback) {
			continue
		}
		r := g.rng("feedback", i)
		for k := r.n(1, 2); k > 0; k-- {
			t := r.at(u.from(), Base)
			status := pick(r, []string{"open", "acknowledged", "in_progress", "resolved", "closed", "wont_fix"})
			var resp, resolved any
			if status == "resolved" || status == "closed" {
				resp, resolved = r.opt(0.3, r.paragraph()), r.after(t, 30*24*time.Hour)
			}
			desc := r.paragraph()
			if i == 1 && k == 1 {
				desc = r.bigText(110 << 10) // a pasted log
			}
			s.row(r.uid(), u.id, pick(r, []string{"bug", "feature", "other"}), r.title(), desc, status,
				pick(r, []string{"low", "normal", "normal", "high", "urgent"}), resp, resolved,
				r.opt(0.5, js(map[string]any{"page": "/today", "ua": pick(r, userAgents), "build": r.n(100, 999)})), t, r.at(t, Base))
		}
	}
}

var auditEvents = []struct{ event, resource, action string }{
	{"auth.login", "session", "login"}, {"auth.logout", "session", "logout"}, {"auth.login_failed", "session", "login"},
	{"user.update", "user", "update"}, {"habit.create", "habit", "create"}, {"quest.complete", "quest", "complete"},
	{"market.purchase", "market_item", "purchase"}, {"admin.backup", "backup", "create"}, {"settings.update", "settings", "update"},
}

func (g *gen) tAuditLog() *table {
	return &table{name: "audit_log", cols: []string{"id", "user_id", "session_id", "event_type", "resource_type",
		"resource_id", "action", "status", "details", "ip_address", "user_agent", "request_id", "created_at"},
		fill: func(s *sink) {
			row := func(r rnd, user, session any, from time.Time) uid {
				e := pick(r, auditEvents)
				status := "success"
				switch x := r.Float64(); {
				case e.event == "auth.login_failed" || x < 0.03:
					status = "failure"
				case x < 0.05:
					status = "denied"
				}
				var details any
				if r.p(0.6) {
					details = js(map[string]any{"changed": r.tagList(), "by": pick(r, []string{"web", "api", "cron"})})
				}
				id := r.uid()
				s.row(id, user, session, e.event, r.opt(0.1, e.resource), r.opt(0.3, uidString(r.uid())), e.action, status,
					details, r.opt(0.2, r.ip()), r.opt(0.2, pick(r, userAgents)), r.opt(0.3, "req_"+r.hex(8)), r.at(from, Base))
				return id
			}
			for i := range g.users {
				u := &g.users[i]
				r := g.rng("audit_log", i)
				sessions := g.sessionsOf(i)
				for k := r.count(u.w * 12); k > 0; k-- {
					var sid any
					if r.p(0.5) {
						sid = pick(r, sessions).id
					}
					row(r, u.id, sid, u.from())
				}
				// An entry naming another user's live session (its own
				// rng: the other rows stay as they were).
				if v, ok := g.an.tenantAudit[i]; ok {
					if other, ok := g.liveSession(v); ok {
						id := row(g.rng("audit_log.tenant", i), u.id, other.id, u.from())
						g.note("audit_log", uidString(id), "tenant_mismatch", mappings.Rejected, mappings.ReasonTenantMismatch,
							fmt.Sprintf("session_id %s is a session of user %s; entry owner %s", uidString(other.id), uidString(g.users[v].id), uidString(u.id)))
					}
				}
			}
			r := g.rng("audit_log.system", 0)
			for k := 1 + len(g.users)/20; k > 0; k-- {
				row(r, nil, nil, installedAt) // system events: no user
			}
		}}
}

func (g *gen) fillFlows(s *sink) {
	t := installedAt.AddDate(3, 0, 0)
	s.row(g.cat.betaFlow, "flow_beta_2024", "Shorter flow tested in 2024", false, 3, t, t.AddDate(0, 1, 0))
	g.note("onboarding_flows", uidString(g.flowMain), "seeded_natural_key", mappings.Merged, "",
		"onboarding_flows.name 'flow_main_v1' is seeded in the target")
	g.note("onboarding_flows", uidString(g.cat.betaFlow), "custom_catalog_row", mappings.Loaded, "",
		"onboarding_flows.name 'flow_beta_2024' is not seeded")
}

func (g *gen) fillSteps(s *sink) {
	t := installedAt.AddDate(3, 0, 0)
	types := []string{"welcome", "action", "completion"}
	for k, id := range g.cat.betaSteps {
		var cfg any
		if types[k] == "action" {
			cfg = `{"route": "/focus", "autostart": true}`
		}
		s.row(id, g.cat.betaFlow, k+1, types[k], fmt.Sprintf("Beta step %d", k+1), nil, nil, nil, nil, nil, false, k != 1,
			nil, cfg, t, t)
	}
	for k, id := range g.stepsMain {
		g.note("onboarding_steps", uidString(id), "seeded_natural_key", mappings.Merged, "",
			fmt.Sprintf("onboarding_steps (flow 'flow_main_v1', step_order %d) is seeded in the target", k+1))
	}
}

// onboardingOf says which flow user i is in (0 = main, 1 = beta, -1 none).
func (g *gen) onboardingOf(i int) int {
	if !g.users[i].has(fOnboarding) {
		return -1
	}
	if g.rng("user_onboarding", i).p(0.1) {
		return 1
	}
	return 0
}

func (g *gen) fillOnboardingState(s *sink) {
	for i := range g.users {
		u := &g.users[i]
		f := g.onboardingOf(i)
		if f < 0 {
			continue
		}
		r := g.rng("user_onboarding_state", i)
		flow, steps := g.flowMain, g.stepsMain
		if f == 1 {
			flow, steps = g.cat.betaFlow, g.cat.betaSteps
		}
		status := pick(r, []string{"not_started", "in_progress", "completed", "completed", "skipped"})
		var cur, started, done, skipped any
		t := r.after(u.created, time.Hour)
		switch status {
		case "in_progress":
			cur, started = pick(r, steps), t
		case "completed":
			cur, started, done = steps[len(steps)-1], t, r.after(t, time.Hour)
		case "skipped":
			started, skipped = t, r.after(t, time.Minute)
		}
		s.row(r.uid(), u.id, flow, cur, status, r.p(0.9), started, done, skipped, u.created, r.at(u.created, Base))
	}
}

func (g *gen) fillOnboardingResponses(s *sink) {
	interests := []string{"focus", "fitness", "learning", "music_production", "reading", "habits"}
	for i := range g.users {
		u := &g.users[i]
		if g.onboardingOf(i) != 0 {
			continue
		}
		r := g.rng("user_onboarding_responses", i)
		t := r.after(u.created, 2*time.Hour)
		if r.p(0.7) {
			pickd := []string{}
			for _, k := range r.Perm(len(interests))[:r.n(0, 4)] {
				pickd = append(pickd, interests[k])
			}
			s.row(r.uid(), u.id, g.stepsMain[1], js(map[string]any{"selected": pickd}), t)
		}
		if r.p(0.5) {
			s.row(r.uid(), u.id, g.stepsMain[2], js(map[string]string{"name": u.name}), t.Add(time.Minute))
		}
	}
}

func (g *gen) fillSettings(s *sink) {
	keys := []string{"theme", "locale", "timezone", "notifications", "focus.default_minutes", "sound.volume", "today.layout"}
	for i := range g.users {
		u := &g.users[i]
		if !u.has(fSettings) {
			continue
		}
		r := g.rng("user_settings", i)
		for _, k := range r.Perm(len(keys))[:r.n(1, len(keys))] {
			var v string
			switch keys[k] {
			case "theme":
				v = js(pick(r, []string{"dark", "light", "system"}))
			case "locale":
				v = js(pick(r, []string{"en-US", "de-DE", "ar-EG", "he-IL", "ja-JP", "pt-BR"}))
			case "timezone":
				v = js(pick(r, timezones))
			case "notifications":
				v = js(map[string]any{"email": r.p(0.5), "push": r.p(0.5), "quiet_hours": []string{"22:00", "07:00"}})
			case "focus.default_minutes":
				v = fmt.Sprint(pick(r, []int{15, 25, 50}))
			case "sound.volume":
				v = fmt.Sprintf("%.2f", r.Float64())
			default:
				v = "null" // JSON null: the column default, not SQL NULL
			}
			t := r.at(u.from(), Base)
			s.row(r.uid(), u.id, keys[k], v, r.at(t, Base.Add(time.Second)), t)
		}
	}
}

func (g *gen) fillInterests(s *sink) {
	labels := map[string]string{"focus": "Focus & deep work", "fitness": "Fitness", "learning": "Learning",
		"music_production": "Music production 🎛️", "reading": "Reading", "habits": "Habits"}
	keys := []string{"focus", "fitness", "learning", "music_production", "reading", "habits"}
	for i := range g.users {
		u := &g.users[i]
		if !u.has(fInterests) {
			continue
		}
		r := g.rng("user_interests", i)
		for _, k := range r.Perm(len(keys))[:r.n(1, 4)] {
			s.row(r.uid(), u.id, keys[k], labels[keys[k]], r.after(u.created, time.Hour))
		}
	}
}
