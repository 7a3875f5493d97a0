package legacygen

import (
	"fmt"
	"time"

	"github.com/cutover/cutover/mappings"
)

func (g *gen) fitnessTables() []*table {
	return []*table{
		{name: "exercises", cols: []string{"id", "name", "description", "category", "muscle_groups", "equipment",
			"is_custom", "is_builtin", "user_id", "created_at"}, fill: g.fillExercises},
		{name: "workouts", cols: []string{"id", "user_id", "name", "description", "estimated_duration", "is_template",
			"created_at", "updated_at"}, fill: g.fillWorkouts},
		{name: "workout_sections", cols: []string{"id", "workout_id", "name", "sort_order"}, fill: g.fillSections},
		{name: "workout_exercises", cols: []string{"id", "workout_id", "section_id", "exercise_id", "sets", "reps",
			"weight", "duration", "rest_seconds", "notes", "sort_order"}, fill: g.fillWorkoutExercises},
		{name: "workout_sessions", cols: []string{"id", "user_id", "workout_id", "started_at", "completed_at", "notes",
			"rating", "xp_awarded", "coins_awarded"}, fill: g.fillWorkoutSessions},
		g.tExerciseSets(),
		{name: "personal_records", cols: []string{"id", "user_id", "exercise_id", "record_type", "value", "reps",
			"achieved_at", "exercise_set_id", "previous_value", "created_at"}, fill: g.fillPersonalRecords},
		{name: "training_programs", cols: []string{"id", "user_id", "name", "description", "duration_weeks", "goal",
			"difficulty", "is_active", "started_at", "completed_at", "created_at", "updated_at"}, fill: g.fillPrograms},
		{name: "program_weeks", cols: []string{"id", "program_id", "week_number", "name", "is_deload", "notes"},
			fill: g.fillProgramWeeks},
		{name: "program_workouts", cols: []string{"id", "program_week_id", "workout_id", "day_of_week", "order_index",
			"intensity_modifier"}, fill: g.fillProgramWorkouts},
	}
}

var muscles = []string{"chest", "back", "legs", "glutes", "shoulders", "biceps", "triceps", "core", "calves", "full_body"}

func (g *gen) customExOf(i int) []uid {
	if !g.users[i].has(fCustomEx) {
		return nil
	}
	r := g.rng("exercises.custom", i)
	out := make([]uid, r.n(1, 4))
	for k := range out {
		out[k] = r.uid()
	}
	return out
}

// exerciseFor picks a built-in exercise or one of the user's own.
func (g *gen) exerciseFor(r rnd, custom []uid) uid {
	if len(custom) > 0 && r.p(0.2) {
		return pick(r, custom)
	}
	return pick(r, g.cat.exercises)
}

func (g *gen) fillExercises(s *sink) {
	r := g.rng("exercises", 0)
	for k, id := range g.cat.exercises {
		s.row(id, exerciseNames[k], r.text(0.3), pick(r, []string{"strength", "cardio", "mobility", "core"}),
			[]string{pick(r, muscles), pick(r, muscles)}, r.opt(0.2, []string{pick(r, []string{"barbell", "dumbbell", "machine", "bodyweight", "kettlebell"})}),
			false, true, nil, installedAt.Add(time.Duration(k)*time.Minute))
	}
	for i := range g.users {
		u := &g.users[i]
		r := g.rng("exercises.c", i)
		for _, id := range g.customExOf(i) {
			s.row(id, r.title(), r.text(0.5), pick(r, []string{"strength", "cardio", "mobility", "other"}),
				r.opt(0.3, []string{pick(r, muscles)}), r.opt(0.5, []string{}), true, false, u.id, r.at(u.from(), Base))
		}
	}
}

type workoutP struct {
	id        uid
	created   time.Time
	sections  []uid
	exercises []wexP
}

type wexP struct {
	id      uid
	section int // index into sections, -1 = none
	ex      uid
}

func (g *gen) workoutsOf(i int) []workoutP {
	u := &g.users[i]
	if !u.has(fFitness) {
		return nil
	}
	r := g.rng("workouts", i)
	custom := g.customExOf(i)
	out := make([]workoutP, min(8, 1+r.count(u.w*2)))
	for k := range out {
		w := workoutP{id: r.uid(), created: r.at(u.from(), Base)}
		w.sections = make([]uid, r.n(0, 3))
		for j := range w.sections {
			w.sections[j] = r.uid()
		}
		w.exercises = make([]wexP, r.n(3, 8))
		for j := range w.exercises {
			sec := -1
			if len(w.sections) > 0 && r.p(0.8) {
				sec = r.IntN(len(w.sections))
			}
			w.exercises[j] = wexP{id: r.uid(), section: sec, ex: g.exerciseFor(r, custom)}
		}
		out[k] = w
	}
	return out
}

func (g *gen) fillWorkouts(s *sink) {
	for i := range g.users {
		u := &g.users[i]
		r := g.rng("workouts.c", i)
		for _, w := range g.workoutsOf(i) {
			s.row(w.id, u.id, pick(r, []string{"Push Day", "Pull Day", "Leg Day", "Full Body A", "Full Body B", "5×5", "Cardio 🏃", r.title()}),
				r.text(0.5), r.opt(0.3, r.n(2, 12)*10), r.p(0.4), w.created, r.at(w.created, Base.Add(time.Second)))
		}
	}
}

func (g *gen) fillSections(s *sink) {
	for i := range g.users {
		r := g.rng("workout_sections", i)
		for _, w := range g.workoutsOf(i) {
			for k, id := range w.sections {
				s.row(id, w.id, pick(r, []string{"Warm-up", "Main", "Accessories", "Finisher", "Cool-down"}), k)
			}
		}
	}
}

func (g *gen) fillWorkoutExercises(s *sink) {
	for i := range g.users {
		r := g.rng("workout_exercises", i)
		for _, w := range g.workoutsOf(i) {
			for k, e := range w.exercises {
				var sec any
				if e.section >= 0 {
					sec = w.sections[e.section]
				}
				s.row(e.id, w.id, sec, e.ex, r.n(1, 5), r.opt(0.2, pick(r, []string{"8-12", "5", "AMRAP", "10,8,6", "30s"})),
					r.opt(0.4, pick(r, []string{"60kg", "bodyweight", "135 lb", "RPE 8", "½ BW"})), r.opt(0.8, r.n(30, 600)),
					r.opt(0.3, r.n(3, 18)*10), r.text(0.8), k)
			}
		}
	}
}

type wsessionP struct {
	id      uid
	started time.Time
	workout int // index into workoutsOf, -1 = freestyle
	sets    []setP
}

type setP struct {
	id uid
	ex uid
}

func (g *gen) wsessionsOf(i int) []wsessionP {
	u := &g.users[i]
	if !u.has(fFitness) {
		return nil
	}
	r := g.rng("workout_sessions", i)
	workouts := g.workoutsOf(i)
	custom := g.customExOf(i)
	out := make([]wsessionP, 1+r.count(u.w*12))
	for k := range out {
		p := wsessionP{id: r.uid(), started: r.at(u.from(), Base), workout: -1}
		if r.p(0.7) {
			p.workout = r.IntN(len(workouts))
		}
		p.sets = make([]setP, r.n(3, 15))
		for j := range p.sets {
			ex := g.exerciseFor(r, custom)
			if p.workout >= 0 {
				ex = pick(r, workouts[p.workout].exercises).ex
			}
			p.sets[j] = setP{id: r.uid(), ex: ex}
		}
		out[k] = p
	}
	return out
}

func (g *gen) fillWorkoutSessions(s *sink) {
	for i := range g.users {
		u := &g.users[i]
		r := g.rng("workout_sessions.c", i)
		workouts := g.workoutsOf(i)
		for _, p := range g.wsessionsOf(i) {
			var w any
			if p.workout >= 0 {
				w = workouts[p.workout].id
			}
			s.row(p.id, u.id, w, p.started, r.opt(0.1, r.after(p.started, 2*time.Hour)), r.text(0.7), r.opt(0.5, r.n(1, 5)),
				r.n(0, 50), r.n(0, 10))
		}
		// A session logged against another user's workout (ON DELETE SET
		// NULL: the reference is judged, not cleared, since the workout
		// loads); it has no sets, so nothing else goes with it.
		if v, ok := g.an.tenantWorkout[i]; ok {
			if other := g.workoutsOf(v); len(other) > 0 {
				id, started := r.uid(), r.at(u.from(), Base)
				s.row(id, u.id, other[0].id, started, nil, nil, nil, 0, 0)
				g.note("workout_sessions", uidString(id), "tenant_mismatch", mappings.Rejected, mappings.ReasonTenantMismatch,
					fmt.Sprintf("workout_id %s is a workout of user %s; session owner %s", uidString(other[0].id), uidString(g.users[v].id), uidString(u.id)))
			}
		}
	}
}

func (g *gen) tExerciseSets() *table {
	return &table{name: "exercise_sets", cols: []string{"id", "session_id", "exercise_id", "set_number", "reps", "weight",
		"duration", "is_warmup", "is_dropset", "rpe", "notes", "completed_at"},
		fill: func(s *sink) {
			for i := range g.users {
				r := g.rng("exercise_sets", i)
				sessions := g.wsessionsOf(i)
				for _, p := range sessions {
					for k, st := range p.sets {
						var w any
						if r.p(0.8) {
							w = float32(r.n(0, 400)) * 0.5
						}
						s.row(st.id, p.id, st.ex, k+1, r.opt(0.1, r.n(1, 20)), w, r.opt(0.8, r.n(10, 300)), k == 0 && r.p(0.5),
							r.p(0.05), r.opt(0.5, r.n(1, 10)), r.text(0.95), r.opt(0.1, p.started.Add(time.Duration(k)*3*time.Minute)))
					}
				}
				if v, ok := g.an.tenantSet[i]; ok && len(sessions) > 0 {
					if other := g.customExOf(v); len(other) > 0 {
						id, p := r.uid(), sessions[0]
						s.row(id, p.id, other[0], len(p.sets)+1, 10, float32(40), nil, false, false, nil, nil, p.started.Add(time.Hour))
						g.note("exercise_sets", uidString(id), "tenant_mismatch", mappings.Rejected, mappings.ReasonTenantMismatch,
							fmt.Sprintf("exercise %s is a custom exercise of user %s; session owner %s",
								uidString(other[0]), uidString(g.users[v].id), uidString(g.users[i].id)))
					}
				}
			}
		}}
}

func (g *gen) fillPersonalRecords(s *sink) {
	for i := range g.users {
		u := &g.users[i]
		r := g.rng("personal_records", i)
		seen := map[uid]bool{}
		for _, p := range g.wsessionsOf(i) {
			for _, st := range p.sets {
				if seen[st.ex] || !r.p(0.3) {
					continue
				}
				seen[st.ex] = true
				for _, typ := range []string{"1rm", "max_reps", "max_volume"}[:r.n(1, 3)] {
					var set any
					if r.p(0.7) {
						set = st.id
					}
					s.row(r.uid(), u.id, st.ex, typ, float32(r.n(10, 400))*0.5, r.opt(0.3, r.n(1, 20)), p.started, set,
						r.opt(0.5, float32(r.n(10, 300))*0.5), p.started)
				}
			}
		}
	}
}

type programP struct {
	id      uid
	created time.Time
	weeks   []uid
}

func (g *gen) programsOf(i int) []programP {
	if !g.users[i].has(fPrograms) {
		return nil
	}
	r := g.rng("training_programs", i)
	p := programP{id: r.uid(), created: r.at(g.users[i].from(), Base)}
	p.weeks = make([]uid, r.n(4, 8))
	for k := range p.weeks {
		p.weeks[k] = r.uid()
	}
	return []programP{p}
}

func (g *gen) fillPrograms(s *sink) {
	for i := range g.users {
		u := &g.users[i]
		r := g.rng("training_programs.c", i)
		for _, p := range g.programsOf(i) {
			active := r.p(0.5)
			var started, done any
			if active {
				started = r.at(p.created, Base)
			} else if r.p(0.5) {
				done = r.at(p.created, Base)
			}
			s.row(p.id, u.id, pick(r, []string{"Starting Strength", "5/3/1", "Couch to 5K", "Hypertrophy Block", r.title()}),
				r.text(0.4), len(p.weeks), r.opt(0.4, pick(r, []string{"strength", "endurance", "hypertrophy"})),
				r.opt(0.1, pick(r, []string{"beginner", "intermediate", "advanced"})), active, started, done, p.created,
				r.at(p.created, Base.Add(time.Second)))
		}
	}
}

func (g *gen) fillProgramWeeks(s *sink) {
	for i := range g.users {
		r := g.rng("program_weeks", i)
		for _, p := range g.programsOf(i) {
			for k, id := range p.weeks {
				s.row(id, p.id, k+1, r.opt(0.5, fmt.Sprintf("Week %d", k+1)), k == len(p.weeks)-1, r.text(0.7))
			}
		}
	}
}

func (g *gen) fillProgramWorkouts(s *sink) {
	for i := range g.users {
		r := g.rng("program_workouts", i)
		workouts := g.workoutsOf(i)
		for _, p := range g.programsOf(i) {
			for _, wk := range p.weeks {
				for k := 0; k < r.n(2, 4); k++ {
					var mod any = float32(1.0)
					switch x := r.Float64(); {
					case x < 0.1:
						mod = nil
					case x < 0.3:
						mod = float32(0.85)
					}
					s.row(r.uid(), wk, pick(r, workouts).id, r.opt(0.2, r.n(0, 6)), k, mod)
				}
			}
		}
	}
}
