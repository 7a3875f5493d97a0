package legacygen

import (
	"fmt"
	"slices"
	"time"

	"github.com/cutover/cutover/mappings"
)

func (g *gen) focusTables() []*table {
	pause := &table{name: "focus_pause_state", cols: []string{"id", "user_id", "session_id", "is_paused", "paused_at",
		"resumed_at", "updated_at", "created_at"}, fill: g.fillPauseState}
	if g.o.Flavor == "v15" {
		pause = &table{name: "focus_pause_state", cols: []string{"id", "user_id", "session_id", "mode",
			"time_remaining_seconds", "paused_at", "created_at", "updated_at"}, fill: g.fillPauseStateV15}
	}
	return []*table{
		g.tFocusSessions(),
		pause,
		{name: "focus_libraries", cols: []string{"id", "user_id", "name", "description", "library_type", "tracks_count",
			"is_favorite", "created_at", "updated_at"}, fill: g.fillFocusLibraries},
		{name: "focus_library_tracks", cols: []string{"id", "library_id", "track_id", "track_title", "track_url",
			"duration_seconds", "added_at"}, fill: g.fillFocusLibraryTracks},
	}
}

type focusP struct {
	id      uid
	started time.Time
	mode    string
	dur     int
	status  string
}

func (g *gen) focusOf(i int) []focusP {
	u := &g.users[i]
	if !u.has(fFocus) {
		return nil
	}
	r := g.rng("focus_sessions", i)
	n := r.count(u.w * 50)
	ts := make([]time.Time, n)
	for k := range ts {
		ts[k] = r.at(u.from(), Base)
	}
	slices.SortFunc(ts, func(a, b time.Time) int { return a.Compare(b) })
	out := make([]focusP, n)
	for k := range out {
		p := focusP{id: r.uid(), started: ts[k], mode: "focus", dur: 25 * 60}
		switch x := r.Float64(); {
		case x < 0.2:
			p.mode, p.dur = "break", 5*60
		case x < 0.27:
			p.mode, p.dur = "long_break", 15*60
		case x < 0.4:
			p.dur = r.n(10, 90) * 60
		}
		switch x := r.Float64(); {
		case k == n-1 && x < 0.3:
			p.status = "active"
		case x < 0.72:
			p.status = "completed"
		case x < 0.87:
			p.status = "abandoned"
		case x < 0.93:
			p.status = "expired"
		default:
			p.status = "paused"
		}
		out[k] = p
	}
	return out
}

func (g *gen) tFocusSessions() *table {
	return &table{name: "focus_sessions", cols: []string{"id", "user_id", "mode", "duration_seconds", "started_at",
		"completed_at", "abandoned_at", "expires_at", "paused_at", "paused_remaining_seconds", "status", "xp_awarded",
		"coins_awarded", "task_id", "task_title", "created_at"},
		fill: func(s *sink) {
			for i := range g.users {
				u := &g.users[i]
				r := g.rng("focus_sessions.c", i)
				for _, p := range g.focusOf(i) {
					end := p.started.Add(time.Duration(p.dur) * time.Second)
					var done, aband, paused, rem any
					xp, coins := 0, 0
					switch p.status {
					case "completed":
						done = end.Add(time.Duration(r.IntN(5_000_000)) * time.Microsecond)
						xp, coins = p.dur/60, p.dur/300
					case "abandoned":
						aband = r.at(p.started, end)
					case "paused":
						t := r.at(p.started, end)
						paused, rem = t, int(end.Sub(t).Seconds())
					}
					var task, title any
					if r.p(0.25) {
						task, title = r.uid(), r.title()
					}
					s.row(p.id, u.id, p.mode, p.dur, p.started, done, aband, r.opt(0.1, end), paused, rem, p.status,
						xp, coins, task, title, p.started)
				}
			}
		}}
}

func (g *gen) fillPauseState(s *sink) {
	for i := range g.users {
		u := &g.users[i]
		r := g.rng("focus_pause_state", i)
		for _, p := range g.focusOf(i) {
			switch {
			case p.status == "paused":
				t := r.after(p.started, time.Duration(p.dur)*time.Second)
				s.row(r.uid(), u.id, p.id, true, t, nil, t, t)
			case p.status == "completed" && r.p(0.15):
				t := r.after(p.started, time.Duration(p.dur)*time.Second/2)
				back := r.after(t, 10*time.Minute)
				s.row(r.uid(), u.id, p.id, false, t, back, back, t)
			}
		}
	}
}

// fillPauseStateV15 writes the older per-user pause row.
func (g *gen) fillPauseStateV15(s *sink) {
	for i := range g.users {
		u := &g.users[i]
		r := g.rng("focus_pause_state", i)
		sessions := g.focusOf(i)
		null := g.an.pauseNull[i]
		if !null && (len(sessions) == 0 || !r.p(0.35)) {
			continue
		}
		id := r.uid()
		var sid any
		mode := pick(r, []string{"focus", "focus", "break", "long_break"})
		at := r.at(u.from(), Base)
		if !null {
			last := sessions[len(sessions)-1]
			sid, mode, at = last.id, last.mode, r.after(last.started, time.Duration(last.dur)*time.Second)
		}
		s.row(id, u.id, sid, mode, r.n(0, 1500), at, at, r.at(at, Base.Add(time.Second)))
		if null {
			g.note("focus_pause_state", uidString(id), "pause_without_session", mappings.Discarded,
				mappings.ReasonPauseWithoutSession, fmt.Sprintf("v15 pause row of user %s has NULL session_id", uidString(u.id)))
		}
	}
}

type libraryP struct {
	id      uid
	created time.Time
	tracks  int
}

func (g *gen) librariesOf(i int) []libraryP {
	u := &g.users[i]
	if !u.has(fLibrary) {
		return nil
	}
	r := g.rng("focus_libraries", i)
	out := make([]libraryP, r.n(1, 3))
	for k := range out {
		out[k] = libraryP{id: r.uid(), created: r.at(u.from(), Base), tracks: r.n(0, 15)}
	}
	return out
}

func (g *gen) fillFocusLibraries(s *sink) {
	for i := range g.users {
		u := &g.users[i]
		r := g.rng("focus_libraries.c", i)
		for _, l := range g.librariesOf(i) {
			s.row(l.id, u.id, r.title(), r.text(0.5), r.opt(0.1, pick(r, []string{"custom", "playlist", "ambient"})),
				r.opt(0.1, l.tracks), r.opt(0.1, r.p(0.3)), l.created, r.at(l.created, Base.Add(time.Second)))
		}
	}
}

func (g *gen) fillFocusLibraryTracks(s *sink) {
	for i := range g.users {
		r := g.rng("focus_library_tracks", i)
		for _, l := range g.librariesOf(i) {
			for k := 0; k < l.tracks; k++ {
				var id, url string
				switch r.IntN(3) {
				case 0:
					id = "yt:" + r.hex(6)
					url = "https://www.youtube.com/watch?v=" + id[3:]
				case 1:
					id = "spotify:track:" + r.hex(11)
				default:
					id = uidString(r.uid())
					url = "https://cdn.example.com/ambient/" + id + ".mp3"
				}
				s.row(r.uid(), l.id, id, r.title(), r.opt(0.2, url), r.opt(0.2, r.n(60, 3600)), r.at(l.created, Base))
			}
		}
	}
}
