package legacygen

import (
	"bytes"
	"fmt"
	"strconv"
	"strings"
	"time"

	"github.com/cutover/cutover/mappings"
)

func (g *gen) driftTables() []*table {
	return []*table{
		{name: "habit_logs", cols: []string{"id", "habit_id", "user_id", "completed_date", "notes", "created_at"}, fill: g.fillHabitLogs},
		{name: "user_inbox", cols: []string{"id", "user_id", "title", "description", "tags", "created_at", "updated_at"}, fill: g.fillUserInbox},
		{name: "quests", cols: []string{"id", "user_id", "title", "description", "category", "difficulty", "xp_reward",
			"coin_reward", "is_universal", "is_active", "is_repeatable", "status", "accepted_at", "completed_at",
			"expires_at", "created_at", "updated_at", "repeat_frequency"}, fill: g.fillQuests},
	}
}

type habitKey struct {
	habit uid
	date  time.Time
}

// fillHabitLogs writes the rows an older backend wrote beside
// habit_completions. MAPPING.md fine print 6 decides each.
func (g *gen) fillHabitLogs(s *sink) {
	for _, i := range sortedKeys(g.an.habitLogs) {
		p := g.an.habitLogs[i]
		u := &g.users[i]
		r := g.rng("habit_logs", i)
		habits := g.habitsOf(i)
		if len(habits) == 0 {
			continue
		}
		used := map[habitKey]bool{}
		for _, h := range habits {
			for _, d := range h.dates {
				used[habitKey{h.id, d}] = true
			}
		}
		// freeDay finds a day of habit h with neither a completion nor a log.
		freeDay := func(h habitP) (time.Time, bool) {
			from := day(h.created)
			span := int(Base.Sub(from).Hours() / 24)
			for try := 0; try < 64 && span > 0; try++ {
				d := from.AddDate(0, 0, r.IntN(span))
				if !used[habitKey{h.id, d}] {
					used[habitKey{h.id, d}] = true
					return d, true
				}
			}
			return time.Time{}, false
		}
		stamp := func(d time.Time) time.Time { return d.Add(time.Duration(r.Int64N(86_400_000_000)) * time.Microsecond) }
		emit := func(id uid, h uid, user uid, d time.Time, created any) {
			s.row(id, h, user, d, r.opt(0.6, r.sentence()), created)
		}
		key := func(h uid, d time.Time) string {
			return fmt.Sprintf("habit %s, %s", uidString(h), d.Format(time.DateOnly))
		}

		if p.rejParent {
			h := habits[0]
			if d, ok := freeDay(h); ok {
				id := r.uid()
				emit(id, h.id, u.id, d, stamp(d))
				g.note("habit_logs", uidString(id), "habit_log_parent_rejected", mappings.Rejected, mappings.ReasonParentRejected,
					"habit owner "+uidString(u.id)+" is rejected (duplicate_email)")
			}
			continue
		}
		for k := 0; k < p.fresh; k++ {
			h := pick(r, habits)
			d, ok := freeDay(h)
			if !ok {
				continue
			}
			id := r.uid()
			var created any = stamp(d)
			note := key(h.id, d)
			if r.p(0.25) {
				created, note = nil, note+"; created_at NULL: completed_at is the date at 00:00 UTC"
			}
			emit(id, h.id, u.id, d, created)
			g.note("habit_logs", uidString(id), "habit_log_new", mappings.Loaded, "", note)
		}
		for k := 0; k < p.dupCompl; k++ {
			var h habitP
			for _, x := range r.Perm(len(habits)) {
				if len(habits[x].dates) > 0 {
					h = habits[x]
					break
				}
			}
			if len(h.dates) == 0 {
				continue
			}
			d := pick(r, h.dates)
			id := r.uid()
			emit(id, h.id, u.id, d, stamp(d))
			g.note("habit_logs", uidString(id), "habit_log_duplicates_completion", mappings.Merged, "",
				key(h.id, d)+" is also in habit_completions")
		}
		if p.intruder > 0 {
			v := &g.users[p.intruder-1]
			h := habits[0]
			if d, ok := freeDay(h); ok {
				id := r.uid()
				emit(id, h.id, v.id, d, stamp(d))
				g.note("habit_logs", uidString(id), "tenant_mismatch", mappings.Rejected, mappings.ReasonTenantMismatch,
					fmt.Sprintf("user_id %s, habit owner %s", uidString(v.id), uidString(u.id)))
			}
		}
		for _, variant := range p.pairs {
			h := habits[len(habits)-1]
			d, ok := freeDay(h)
			if !ok {
				continue
			}
			a, b := r.uid(), r.uid()
			var ca, cb any
			t := stamp(d)
			switch variant {
			case 0: // both stamped: the earlier loads
				ca, cb = t.Add(time.Hour), t
			case 1: // NULLS LAST: the stamped one loads
				ca, cb = nil, t
			default: // both NULL: the smaller id loads
			}
			winner := b
			if variant == 2 && bytes.Compare(a[:], b[:]) < 0 {
				winner = a
			}
			emit(a, h.id, u.id, d, ca)
			emit(b, h.id, u.id, d, cb)
			desc := []string{"both stamped", "one created_at NULL", "both created_at NULL"}[variant]
			for _, id := range []uid{a, b} {
				if id == winner {
					g.note("habit_logs", uidString(id), "habit_log_same_key", mappings.Loaded, "",
						key(h.id, d)+", "+desc+": this one is first by (created_at NULLS LAST, id)")
				} else {
					g.note("habit_logs", uidString(id), "habit_log_same_key", mappings.Merged, "",
						key(h.id, d)+", "+desc+": merged onto "+uidString(winner))
				}
			}
		}
	}
	r := g.rng("habit_logs.orphans", 0)
	users := g.pool("hl.orphan.user", 0)
	for k := 0; k < g.an.hlOrphans && len(users) > 0; k++ {
		id, h := r.uid(), r.uid()
		d := day(r.at(Base.AddDate(0, -6, 0), Base))
		s.row(id, h, g.users[users[k%len(users)]].id, d, nil, r.opt(0.3, r.after(d, 24*time.Hour)))
		g.note("habit_logs", uidString(id), "orphan", mappings.Rejected, mappings.ReasonOrphan, "habit_id "+uidString(h)+" is no habit")
	}
}

// fillUserInbox writes the older backend's inbox rows; MAPPING.md fine
// print 7 decides each.
func (g *gen) fillUserInbox(s *sink) {
	for _, i := range sortedKeys(g.an.inbox) {
		p := g.an.inbox[i]
		u := &g.users[i]
		r := g.rng("user_inbox", i)
		items := g.inboxOf(i)
		if p.rejParent {
			id, t := r.uid(), r.at(u.from(), Base)
			s.row(id, u.id, r.title(), nil, r.textArray(0.3), t, t)
			g.note("user_inbox", uidString(id), "inbox_parent_rejected", mappings.Rejected, mappings.ReasonParentRejected,
				"owner "+uidString(u.id)+" is rejected (duplicate_email)")
			continue
		}
		for k := 0; k < p.byID && len(items) > 0; k++ {
			it := items[r.IntN(len(items))]
			s.row(it.id, u.id, it.title+" (old copy)", r.text(0.5), r.textArray(0.3), it.created, r.at(it.created, Base))
			g.note("user_inbox", uidString(it.id), "inbox_duplicate_id", mappings.Merged, "", "inbox_items has the same id")
		}
		for k := 0; k < p.byKey && len(items) > 0; k++ {
			it := items[r.IntN(len(items))]
			id := r.uid()
			s.row(id, u.id, it.title, r.text(0.5), r.textArray(0.3), it.created, it.created)
			g.note("user_inbox", uidString(id), "inbox_duplicate_key", mappings.Merged, "",
				"same (user_id, title, created_at) as inbox_items "+uidString(it.id))
		}
		for k := 0; k < p.fresh; k++ {
			id, t := r.uid(), r.at(u.from(), Base)
			s.row(id, u.id, r.title(), r.text(0.4), r.textArray(0.3), t, r.at(t, Base.Add(time.Second)))
			g.note("user_inbox", uidString(id), "inbox_new", mappings.Loaded, "", "")
		}
	}
	r := g.rng("user_inbox.orphans", 0)
	for k := 0; k < g.an.inOrphans; k++ {
		id, who, t := r.uid(), r.uid(), r.at(Base.AddDate(0, -6, 0), Base)
		s.row(id, who, r.title(), nil, nil, t, t)
		g.note("user_inbox", uidString(id), "orphan", mappings.Rejected, mappings.ReasonOrphan, "user_id "+uidString(who)+" is no user")
	}
}

// Timestamp forms of the SQLite import (DRIFT.md).
const (
	tsISO = iota
	tsOffset
	tsSQLite
	tsEpoch
)

func tsText(t time.Time, form int) string {
	t = t.Truncate(time.Second)
	switch form {
	case tsISO:
		return t.UTC().Format("2006-01-02T15:04:05Z")
	case tsOffset:
		return t.In(time.FixedZone("", 2*3600)).Format("2006-01-02T15:04:05-07:00")
	case tsSQLite:
		return t.UTC().Format(time.DateTime)
	}
	return strconv.FormatInt(t.Unix(), 10)
}

// questRow is a quests row; every column is text or NULL.
type questRow struct {
	vals map[string]any
}

var questCols = []string{"id", "user_id", "title", "description", "category", "difficulty", "xp_reward",
	"coin_reward", "is_universal", "is_active", "is_repeatable", "status", "accepted_at", "completed_at",
	"expires_at", "created_at", "updated_at", "repeat_frequency"}

// validQuest draws a loadable row in the given timestamp form.
func validQuest(r rnd, id string, user any, form int) questRow {
	created := r.at(Base.AddDate(-3, 0, 0), Base.AddDate(0, -1, 0))
	bools := [][2]string{{"0", "1"}, {"false", "true"}}[r.IntN(2)]
	b := func(v bool) string {
		if v {
			return bools[1]
		}
		return bools[0]
	}
	status := pick(r, questStatuses)
	var acc, done any
	if status != "available" {
		acc = tsText(r.after(created, 24*time.Hour), form)
	}
	if status == "completed" {
		done = tsText(r.after(created.Add(24*time.Hour), 72*time.Hour), form)
	}
	uni := user == nil || user == ""
	rep := r.p(0.3)
	freq := ""
	if rep {
		freq = pick(r, []string{"daily", "weekly", "monthly"})
	}
	return questRow{vals: map[string]any{
		"id": id, "user_id": user, "title": r.title(), "description": r.text(0.3), "category": pick(r, []string{"focus", "health", "learning"}),
		"difficulty": pick(r, difficulties), "xp_reward": strconv.Itoa(r.n(1, 20) * 5), "coin_reward": strconv.Itoa(r.n(0, 10)),
		"is_universal": b(uni), "is_active": b(r.p(0.9)), "is_repeatable": b(rep), "status": status,
		"accepted_at": acc, "completed_at": done, "expires_at": nil, "created_at": tsText(created, form),
		"updated_at": tsText(r.after(created, 90*24*time.Hour), form), "repeat_frequency": freq,
	}}
}

func (q questRow) emit(s *sink) {
	row := make([]any, len(questCols))
	for k, c := range questCols {
		row[k] = q.vals[c]
	}
	s.row(row...)
}

// fillQuests writes the text import of the previous store: every accepted
// form, every rejected form, and ids that already exist in user_quests.
func (g *gen) fillQuests(s *sink) {
	r := g.rng("quests", 0)
	seq := 1000
	legacyID := func() string { seq += 7; return "q_" + strconv.Itoa(seq) }
	rows := g.an.questRows
	userOf := func(k int) string { return uidString(g.users[rows[k%len(rows)]].id) }
	put := func(q questRow, kind string, d mappings.Disposition, reason, note string) {
		q.emit(s)
		g.note("quests", q.vals["id"].(string), kind, d, reason, note)
	}
	for k := range rows {
		id := uidString(r.uid())
		if r.p(0.2) {
			id = legacyID()
		}
		put(validQuest(r, id, userOf(k), r.IntN(4)), "quest_new", mappings.Loaded, "", "")
	}
	if !g.o.Anomalies || len(rows) == 0 {
		return
	}
	forms := []struct {
		note string
		edit func(q questRow)
	}{
		{"timestamps ISO 8601 with Z, booleans 0/1", func(q questRow) {}},
		{"timestamps with +02:00 offset", func(q questRow) {}},
		{"timestamps 'YYYY-MM-DD HH:MM:SS' (UTC)", func(q questRow) {}},
		{"timestamps as epoch seconds", func(q questRow) {}},
		{"accepted_at '', completed_at NULL, expires_at '' mean NULL", func(q questRow) {
			q.vals["status"], q.vals["accepted_at"], q.vals["completed_at"], q.vals["expires_at"] = "abandoned", "", nil, ""
		}},
		{"difficulty padded and mixed case", func(q questRow) { q.vals["difficulty"] = "  Hard " }},
		{"difficulty upper case", func(q questRow) { q.vals["difficulty"] = "EPIC" }},
		{"booleans true/false", func(q questRow) {
			q.vals["is_universal"], q.vals["is_active"], q.vals["is_repeatable"] = "false", "true", "false"
			q.vals["repeat_frequency"] = ""
		}},
		{"legacy id q_NNNN gets a derived UUID", func(q questRow) { q.vals["id"] = legacyID() }},
		{"user_id '' is a universal quest", func(q questRow) { q.vals["user_id"], q.vals["is_universal"] = "", "1" }},
		{"user_id NULL is a universal quest", func(q questRow) { q.vals["user_id"], q.vals["is_universal"] = nil, "1" }},
		{"rewards '-5' and '007'", func(q questRow) { q.vals["xp_reward"], q.vals["coin_reward"] = "-5", "007" }},
		{"repeatable weekly", func(q questRow) { q.vals["is_repeatable"], q.vals["repeat_frequency"] = "1", "weekly" }},
		{"expires_at set, title with emoji", func(q questRow) {
			q.vals["expires_at"] = tsText(Base.AddDate(0, 1, 0), tsISO)
			q.vals["title"] = "Read 📚 every day"
		}},
	}
	for k, f := range forms {
		form := tsISO
		if k < 4 {
			form = k
		}
		q := validQuest(r, uidString(r.uid()), userOf(k), form)
		f.edit(q)
		put(q, "quest_valid_form", mappings.Loaded, "", f.note)
	}
	bad := []struct{ col, val string }{
		{"status", "in_review"},
		{"is_active", "yes"},
		{"accepted_at", "31/12/2025"},
		{"completed_at", "1741083300.5"},
		{"xp_reward", "12.5"},
		{"coin_reward", "2147483648"},
		{"difficulty", "legendary"},
		{"user_id", "user-42"},
	}
	for k, b := range bad {
		q := validQuest(r, uidString(r.uid()), userOf(k), tsISO)
		if b.col == "accepted_at" || b.col == "completed_at" {
			q.vals["status"] = "completed"
			q.vals["accepted_at"] = tsText(Base.AddDate(0, -2, 0), tsISO)
			q.vals["completed_at"] = tsText(Base.AddDate(0, -2, 1), tsISO)
		}
		q.vals[b.col] = b.val
		put(q, "quest_invalid_value", mappings.Rejected, mappings.ReasonInvalidValue, fmt.Sprintf("%s = %q", b.col, b.val))
	}
	nobody := uidString(r.uid())
	put(validQuest(r, uidString(r.uid()), nobody, tsISO), "orphan", mappings.Rejected, mappings.ReasonOrphan,
		"user_id "+nobody+" is no user")
	for _, u := range sortedKeys(g.an.dupOf) {
		put(validQuest(r, uidString(r.uid()), uidString(g.users[u].id), tsSQLite), "quest_parent_rejected", mappings.Rejected,
			mappings.ReasonParentRejected, "user "+uidString(g.users[u].id)+" is rejected (duplicate_email)")
		break
	}
	// ids that already exist in user_quests: merged, whatever else the row says
	for k, u := range g.an.questUsers {
		qs := g.questsOf(u)
		if len(qs) == 0 {
			continue
		}
		id := uidString(qs[r.IntN(len(qs))].id)
		q := validQuest(r, id, uidString(g.users[u].id), tsEpoch)
		note := "id exists in user_quests"
		switch k {
		case 1:
			q.vals["id"] = strings.ToUpper(id)
			note += " (written in upper case)"
		case 2:
			q.vals["status"] = "bogus"
			note += " (the id test comes before the value checks: status 'bogus' does not matter)"
		}
		put(q, "quest_existing_id", mappings.Merged, "", note)
	}
	if qs := g.questsOf(-1); len(qs) > 0 {
		q := validQuest(r, uidString(qs[0].id), nil, tsSQLite)
		put(q, "quest_existing_id", mappings.Merged, "", "id exists in user_quests (a universal copy, user_id NULL)")
	}
}
