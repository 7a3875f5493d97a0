package legacygen

import (
	"fmt"
	"strings"
	"time"

	"github.com/cutover/cutover/mappings"
)

func (g *gen) learnTables() []*table {
	return []*table{
		{name: "learn_topics", cols: []string{"id", "key", "name", "description", "category", "icon", "sort_order",
			"created_at"}, fill: g.fillTopics},
		{name: "learn_lessons", cols: []string{"id", "topic_id", "key", "title", "description", "content_markdown",
			"duration_minutes", "difficulty", "quiz_json", "xp_reward", "coin_reward", "skill_key", "skill_star_reward",
			"audio_r2_key", "sort_order", "created_at"}, fill: g.fillLessons},
		{name: "learn_drills", cols: []string{"id", "topic_id", "key", "title", "description", "drill_type", "config_json",
			"difficulty", "duration_seconds", "xp_reward", "sort_order", "created_at"}, fill: g.fillDrills},
		{name: "user_lesson_progress", cols: []string{"id", "user_id", "lesson_id", "status", "started_at", "completed_at",
			"quiz_score", "attempts"}, fill: g.fillLessonProgress},
		{name: "user_drill_stats", cols: []string{"id", "user_id", "drill_id", "total_attempts", "correct_answers",
			"best_score", "average_score", "current_streak", "best_streak", "last_attempt_at", "total_time_seconds"},
			fill: g.fillDrillStats},
		{name: "user_learn_srs", cols: []string{"id", "user_id", "item_type", "item_id", "ease_factor", "interval_days",
			"repetitions", "next_review_at", "last_review_at", "last_quality"}, fill: g.fillSRS},
	}
}

var levels = []string{"beginner", "intermediate", "advanced"}

func (g *gen) seededNote(table string, c catRow) {
	if c.seeded {
		g.note(table, uidString(c.id), "seeded_natural_key", mappings.Merged, "",
			fmt.Sprintf("%s.key %q is seeded in the target", table, c.key))
	}
}

func (g *gen) fillTopics(s *sink) {
	r := g.rng("learn_topics", 0)
	for k, t := range g.cat.topics {
		s.row(t.id, t.key, capitalize(strings.ReplaceAll(t.key, "_", " ")), r.text(0.2),
			pick(r, []string{"listening", "production", "mind", "reading"}), r.opt(0.3, pick(r, []string{"ear", "brain", "book", "🎹"})), k,
			installedAt.AddDate(0, 3, k))
		g.seededNote("learn_topics", t)
	}
}

func (g *gen) fillLessons(s *sink) {
	r := g.rng("learn_lessons", 0)
	for k, l := range g.cat.lessons {
		var quiz any
		if r.p(0.6) {
			quiz = js(map[string]any{"questions": []map[string]any{
				{"q": r.sentence(), "choices": []string{"A", "B", "C", "D"}, "answer": r.n(0, 3)},
				{"q": r.sentence(), "choices": []string{"true", "false"}, "answer": r.n(0, 1)},
			}})
		}
		var skill any
		if r.p(0.5) {
			skill = pick(r, g.cat.skills)
		}
		md := "# " + l.key + "\n\n" + r.paragraph() + "\n\n```\ncode block\n```\n\n- " + r.sentence() + "\n- " + pick(r, exotic)
		s.row(l.id, g.cat.topics[l.topic].id, l.key, r.title(), r.text(0.2), r.opt(0.1, md), r.n(3, 20), pick(r, levels), quiz,
			r.n(1, 5)*5, r.n(1, 5), skill, r.opt(0.3, r.n(0, 3)), r.opt(0.6, "lessons/"+l.key+".mp3"), k,
			installedAt.AddDate(0, 4, 0).Add(time.Duration(k)*time.Hour))
		g.seededNote("learn_lessons", l.catRow)
	}
}

func (g *gen) fillDrills(s *sink) {
	r := g.rng("learn_drills", 0)
	for k, d := range g.cat.drills {
		cfg := js(map[string]any{"rounds": r.n(5, 20), "bands": []int{125, 500, 2000, 8000}[:r.n(1, 4)], "label": pick(r, exotic)})
		s.row(d.id, g.cat.topics[d.topic].id, d.key, r.title(), r.text(0.2), pick(r, []string{"frequency_id", "interval_id", "level_match", "quiz"}),
			cfg, pick(r, levels), r.n(6, 30)*10, r.n(1, 10), k, installedAt.AddDate(0, 5, 0).Add(time.Duration(k)*time.Hour))
		g.seededNote("learn_drills", d.catRow)
	}
}

func (g *gen) fillLessonProgress(s *sink) {
	for i := range g.users {
		u := &g.users[i]
		if !u.has(fLearn) {
			continue
		}
		r := g.rng("user_lesson_progress", i)
		n := len(g.cat.lessons)
		for _, k := range r.Perm(n)[:r.n(1, min(n, 10))] {
			st := pick(r, []string{"not_started", "in_progress", "completed", "completed"})
			var started, done, score any
			if st != "not_started" {
				started = r.at(u.from(), Base)
			}
			if st == "completed" {
				done, score = r.after(started.(time.Time), 2*time.Hour), r.opt(0.2, r.n(0, 100))
			}
			s.row(r.uid(), u.id, g.cat.lessons[k].id, st, started, done, score, r.n(0, 5))
		}
	}
}

func (g *gen) fillDrillStats(s *sink) {
	for i := range g.users {
		u := &g.users[i]
		if !u.has(fLearn) {
			continue
		}
		r := g.rng("user_drill_stats", i)
		n := len(g.cat.drills)
		for _, k := range r.Perm(n)[:r.n(1, min(n, 6))] {
			att := r.n(0, 200)
			var best, avg any
			if att > 0 {
				best, avg = r.n(0, 100), float32(r.n(0, 1000))/10
			}
			s.row(r.uid(), u.id, g.cat.drills[k].id, att, r.n(0, att), best, avg, r.n(0, 10), r.n(0, 30),
				r.opt(0.1, r.at(u.from(), Base)), att*r.n(20, 120))
		}
	}
}

func (g *gen) fillSRS(s *sink) {
	for i := range g.users {
		u := &g.users[i]
		if !u.has(fLearn) {
			continue
		}
		r := g.rng("user_learn_srs", i)
		for _, k := range r.Perm(len(g.cat.lessons))[:r.n(0, 5)] {
			s.row(r.uid(), u.id, "lesson", g.cat.lessons[k].id, float32(2.5), r.n(1, 60), r.n(0, 10),
				r.at(Base, Base.AddDate(0, 2, 0)), r.opt(0.2, r.at(u.from(), Base)), r.opt(0.2, r.n(0, 5)))
		}
		for _, k := range r.Perm(len(g.cat.drills))[:r.n(0, 3)] {
			s.row(r.uid(), u.id, "drill", g.cat.drills[k].id, float32(1.3+r.Float64()*1.7), r.n(1, 60), r.n(0, 10),
				r.at(Base, Base.AddDate(0, 2, 0)), nil, nil)
		}
	}
}
