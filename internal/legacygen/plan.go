package legacygen

import (
	"bytes"
	"context"
	"fmt"
	"math"
	"slices"
	"strings"
	"time"
	"unicode"

	"github.com/jackc/pgx/v5"
)

// gen holds everything the table generators share: the options, the users,
// the catalog and the anomaly plan. After plan() it is read-only except for
// the notes, so generators can run concurrently.
type gen struct {
	o     Options
	seed  uint64
	users []user
	cat   catalog
	an    anomalyPlan
	notes notes

	roles        map[string]uid // seeded roles by name (pinned ids)
	entitlements map[string]uid
	flowMain     uid
	stepsMain    []uid // by step_order
}

// Feature bits: which parts of the app a user uses.
const (
	fHabits = 1 << iota
	fBooks
	fFitness
	fCustomEx
	fPrograms
	fRef
	fFocus
	fLibrary
	fLearn
	fGoals
	fQuests
	fCalendar
	fPlans
	fTemplates
	fInbox
	fIdeas
	fInfobase
	fRefs
	fMarket
	fFeedback
	fOnboarding
	fSettings
	fInterests
	fAuthn
	fSkills
	fAll = 1<<iota - 1
)

var featureOdds = [...]float64{
	fHabitsBit: 0.55, fBooksBit: 0.3, fFitnessBit: 0.3, fCustomExBit: 0.35, fProgramsBit: 0.3, fRefBit: 0.12,
	fFocusBit: 0.65, fLibraryBit: 0.2, fLearnBit: 0.3, fGoalsBit: 0.4, fQuestsBit: 0.5, fCalendarBit: 0.4,
	fPlansBit: 0.35, fTemplatesBit: 0.08, fInboxBit: 0.5, fIdeasBit: 0.3, fInfobaseBit: 0.15, fRefsBit: 0.12,
	fMarketBit: 0.4, fFeedbackBit: 0.06, fOnboardingBit: 0.8, fSettingsBit: 0.5, fInterestsBit: 0.4,
	fAuthnBit: 0.08, fSkillsBit: 0.35,
}

const (
	fHabitsBit = iota
	fBooksBit
	fFitnessBit
	fCustomExBit
	fProgramsBit
	fRefBit
	fFocusBit
	fLibraryBit
	fLearnBit
	fGoalsBit
	fQuestsBit
	fCalendarBit
	fPlansBit
	fTemplatesBit
	fInboxBit
	fIdeasBit
	fInfobaseBit
	fRefsBit
	fMarketBit
	fFeedbackBit
	fOnboardingBit
	fSettingsBit
	fInterestsBit
	fAuthnBit
	fSkillsBit
)

type user struct {
	id      uid
	created time.Time
	email   string
	name    string
	role    string  // users.role
	w       float64 // activity: mean about 1, a few heavy users above 8
	feat    uint32
	dup     bool // rejected: a later user whose email equals an older one's ignoring case
}

func (u *user) has(f uint32) bool { return u.feat&f != 0 }

// from is when the user's recorded activity starts.
func (u *user) from() time.Time {
	if t := Base.AddDate(0, -14, 0); u.created.Before(t) {
		return t
	}
	return u.created
}

func newGen(o Options) *gen {
	return &gen{o: o, seed: uint64(o.Seed)*0xD1B54A32D192ED03 + 0x5851F42D4C957F2D}
}

func (g *gen) plan() {
	g.planUsers()
	g.planCatalog()
	g.planAnomalies()
}

// planUsers draws every user. Users 1–3 are heavy "showcase" users who use
// everything, user 0 is the administrator who authored catalog rows.
func (g *gen) planUsers() {
	g.users = make([]user, g.o.Users)
	for i := range g.users {
		r := g.rng("user", i)
		u := &g.users[i]
		u.id = r.uid()
		u.created = r.at(time.Date(2019, 3, 1, 0, 0, 0, 0, time.UTC), Base.AddDate(0, 0, -3))
		first, last := pick(r, firstNames), pick(r, lastNames)
		u.name = first + " " + last
		switch x := r.Float64(); {
		case x < 0.03:
			u.name = "User"
		case x < 0.06:
			u.name += " " + pick(r, exotic)
		}
		u.email = email(r, first, last, i)
		u.role = "user"
		switch x := r.Float64(); {
		case x < 0.01:
			u.role = "admin"
		case x < 0.025:
			u.role = "moderator"
		}
		switch x := r.Float64(); {
		case x < 0.15: // signed up, never came back
			u.w = 0.05
		case x < 0.55:
			u.w = 0.1 + 0.3*r.Float64()
		case x < 0.88:
			u.w = 0.5 + r.Float64()
		case x < 0.98:
			u.w = 2 + 2*r.Float64()
		default:
			u.w = 8 + 7*r.Float64()
		}
		scale := 0.6 + 0.4*math.Min(u.w, 3)
		if u.w < 0.1 {
			scale = 0.15
		}
		for bit, p := range featureOdds {
			if r.p(math.Min(0.97, p*scale)) {
				u.feat |= 1 << bit
			}
		}
		if !u.has(fFitness) {
			u.feat &^= fCustomEx | fPrograms
		}
		switch {
		case i == 0:
			u.role = "admin"
			u.w = 1.5
			u.feat = fAll
			u.created = time.Date(2019, 1, 7, 10, 2, 3, 456789000, time.UTC)
		case i <= 3:
			u.w = 7 + float64(i)
			u.feat = fAll
			u.created = r.at(time.Date(2021, 1, 1, 0, 0, 0, 0, time.UTC), time.Date(2022, 1, 1, 0, 0, 0, 0, time.UTC))
		}
	}
}

func email(r rnd, first, last string, i int) string {
	local := asciiFold(first) + "." + asciiFold(last)
	if r.p(0.3) {
		local = asciiFold(first)[:1] + asciiFold(last)
	}
	local += fmt.Sprint(i)
	if r.p(0.05) {
		local += "+app"
	}
	dom := pick(r, emailDomains)
	if r.p(0.8) {
		return strings.ToLower(local) + "@" + dom
	}
	return local + "@" + dom // mixed case: legal, the legacy constraint is case-sensitive
}

// asciiFold keeps ASCII letters of s, folding a few accented ones.
func asciiFold(s string) string {
	var b strings.Builder
	for _, c := range s {
		switch {
		case c < 128 && unicode.IsLetter(c):
			b.WriteRune(c)
		case strings.ContainsRune("éèë", c):
			b.WriteByte('e')
		case strings.ContainsRune("üúù", c):
			b.WriteByte('u')
		case strings.ContainsRune("öøó", c):
			b.WriteByte('o')
		case strings.ContainsRune("áà", c):
			b.WriteByte('a')
		case strings.ContainsRune("íï", c):
			b.WriteByte('i')
		case strings.ContainsRune("Öİ", c):
			b.WriteByte('O')
		case strings.ContainsRune("Ł", c):
			b.WriteByte('L')
		}
	}
	if b.Len() == 0 {
		return "x"
	}
	return b.String()
}

// catalog holds the ids and natural keys of the global rows.
type catalog struct {
	skills       []string // skill_definitions.key
	skillIDs     []uid
	achievements []catRow // key
	uquests      []uid    // universal_quests
	items        []item   // market_items
	topics       []catRow
	lessons      []lesson
	drills       []lesson
	exercises    []uid // built-in exercises
	templates    []uid
	presets      []uid
	extraRoles   []catRow // name
	extraEnt     catRow
	extraFlags   []catRow
	betaFlow     uid
	betaSteps    []uid
}

type catRow struct {
	id     uid
	key    string
	seeded bool // the key equals a row of the target's 0013_seeds.sql
}

type item struct {
	catRow        // key: v15/v16 key; v21: the slug of name
	name   string // v21: the name the key is a slug of
	cost   int
	note   string // manifest note for planted rows
	kind   string
}

type lesson struct {
	catRow
	topic int
}

var (
	skillKeys = []string{"focus", "discipline", "fitness", "strength", "reading", "learning", "music_production",
		"critical_listening", "mindfulness", "creativity"}
	achievementKeys = []string{"early_bird", "night_owl", "streak_3", "streak_30", "streak_100", "focus_100",
		"focus_marathon", "habit_master", "goal_getter", "books_5", "books_25", "page_turner", "iron_will",
		"pr_breaker", "quest_novice", "quest_veteran", "learner", "drill_sergeant", "golden_ears", "collector",
		"big_spender", "inbox_zero"}
	// seededAchievements are keys of 0013_seeds.sql: planted with anomalies.
	seededAchievements = []string{"first_focus", "focus_10", "first_book"}
	topicKeys          = []string{"music_theory", "sound_design", "focus_science", "speed_reading", "arrangement"}
	marketNames        = []string{"Extra Break", "Sleep In Pass", "Dessert Voucher", "Game Hour", "Day Off",
		"Neon Theme", "Forest Theme", "Ocean Sounds Pack", "Avatar Frame: Silver", "Avatar Frame: Gold",
		"Double XP (1h)", "Habit Shield", "Focus Booster", "Book Fund €10", "New Headphones 🎧",
		"🎁 Mystery Box", "Spa Afternoon", "Takeaway Dinner", "Concert Ticket", "Weekend Trip",
		"Custom Sound Pack", "Plant for the Desk", "Pizza Night", "Board Game Evening"}
	marketKeys = []string{"extra-break", "sleep-in-pass", "dessert-voucher", "game-hour", "day-off", "neon-theme",
		"forest-theme", "ocean-sounds", "frame-silver", "frame-gold", "double-xp-1h", "habit-shield",
		"focus-booster", "book-fund-10", "headphones", "mystery-box", "spa-afternoon", "takeaway-dinner",
		"concert-ticket", "weekend-trip", "sound-pack", "desk-plant", "pizza-night", "board-games"}
	exerciseNames = []string{"Back Squat", "Front Squat", "Bench Press", "Incline Bench Press", "Overhead Press",
		"Deadlift", "Romanian Deadlift", "Barbell Row", "Pull-Up", "Chin-Up", "Dip", "Push-Up", "Lunge",
		"Bulgarian Split Squat", "Hip Thrust", "Leg Press", "Leg Curl", "Leg Extension", "Calf Raise",
		"Lat Pulldown", "Seated Cable Row", "Face Pull", "Lateral Raise", "Biceps Curl", "Hammer Curl",
		"Triceps Pushdown", "Skull Crusher", "Plank", "Hanging Leg Raise", "Russian Twist", "Kettlebell Swing",
		"Burpee", "Rowing Machine", "Treadmill Run", "Cycling", "Jump Rope"}
)

func (g *gen) planCatalog() {
	r := g.rng("catalog", 0)
	c := &g.cat
	for _, k := range skillKeys {
		c.skills = append(c.skills, k)
		c.skillIDs = append(c.skillIDs, r.uid())
	}
	for _, k := range achievementKeys {
		c.achievements = append(c.achievements, catRow{id: r.uid(), key: k})
	}
	if g.o.Anomalies {
		for _, k := range seededAchievements {
			c.achievements = append(c.achievements, catRow{id: r.uid(), key: k, seeded: true})
		}
	}
	for i := 0; i < 15; i++ {
		c.uquests = append(c.uquests, r.uid())
	}
	g.planItems(r)
	topics := slices.Clone(topicKeys)
	if g.o.Anomalies {
		topics = append(topics, "ear_training") // a seeded topic key
	}
	for ti, k := range topics {
		c.topics = append(c.topics, catRow{id: r.uid(), key: k, seeded: k == "ear_training"})
		for j := 1; j <= r.n(3, 6); j++ {
			c.lessons = append(c.lessons, lesson{catRow{id: r.uid(), key: fmt.Sprintf("%s_lesson_%d", k, j)}, ti})
		}
		for j := 1; j <= r.n(2, 4); j++ {
			c.drills = append(c.drills, lesson{catRow{id: r.uid(), key: fmt.Sprintf("%s_drill_%d", k, j)}, ti})
		}
	}
	if g.o.Anomalies {
		et := len(topics) - 1
		c.lessons = append(c.lessons, lesson{catRow{id: r.uid(), key: "ear_training_intervals", seeded: true}, et})
		c.drills = append(c.drills,
			lesson{catRow{id: r.uid(), key: "ear_training_band_id", seeded: true}, et},
			lesson{catRow{id: r.uid(), key: "mixing_level_match", seeded: true}, 1}) // under sound_design
	}
	for range exerciseNames {
		c.exercises = append(c.exercises, r.uid())
	}
	for i := 0; i < 8; i++ {
		c.templates = append(c.templates, r.uid())
	}
	for i := 0; i < 6; i++ {
		c.presets = append(c.presets, r.uid())
	}
	c.extraRoles = []catRow{{id: r.uid(), key: "support"}, {id: r.uid(), key: "beta_tester"}}
	c.extraEnt = catRow{id: r.uid(), key: "reports:read"}
	for _, k := range []string{"NEW_TODAY_PAGE", "ENABLE_TRACK_ANALYSIS_V2", "legacy.market.enabled"} {
		c.extraFlags = append(c.extraFlags, catRow{id: r.uid(), key: k})
	}
	c.betaFlow = r.uid()
	for i := 0; i < 3; i++ {
		c.betaSteps = append(c.betaSteps, r.uid())
	}
}

// planItems draws the market catalog. v21 items have only a name (the cutover
// derives key = slug(name)); v15/v16 items have a key.
func (g *gen) planItems(r rnd) {
	c := &g.cat
	for i := range marketNames {
		it := item{catRow: catRow{id: r.uid()}, name: marketNames[i], cost: r.n(0, 40) * 25}
		if g.o.Flavor == "v21" {
			it.key = slug(marketNames[i])
		} else {
			it.key = marketKeys[i]
		}
		c.items = append(c.items, it)
	}
	if !g.o.Anomalies {
		return
	}
	if g.o.Flavor == "v21" {
		// Three names with one slug: loaded, keys cafe-creme, -2, -3 in (created_at, id) order.
		for _, n := range []string{"Café Crème", "cafe creme", "CAFE--CRÈME!"} {
			c.items = append(c.items, item{catRow: catRow{id: r.uid(), key: "cafe-creme"}, name: n, cost: 40, kind: "slug_collision"})
		}
		// Slugs equal to seeded keys: merged.
		for _, n := range []string{"Coffee Break", "Theme: Dark"} {
			c.items = append(c.items, item{catRow: catRow{id: r.uid(), key: slug(n), seeded: true}, name: n, cost: 35})
		}
		// v21 dropped the CHECK (cost_coins >= 0) that the target keeps: an
		// item that gave coins back is rejected, and its purchases with it.
		c.items = append(c.items, item{catRow: catRow{id: r.uid(), key: "coin-refund"}, name: "Coin Refund", cost: -50, kind: "negative_cost"})
		return
	}
	c.items = append(c.items,
		item{catRow: catRow{id: r.uid(), key: "streak-freeze", seeded: true}, name: "Streak Freeze", cost: 60},
		item{catRow: catRow{id: r.uid(), key: "movie-night", seeded: true}, name: "Movie night 🎬", cost: 120})
}

// anomalyPlan says which users carry which planted anomaly. Keys are user
// indexes.
type anomalyPlan struct {
	dupOf     map[int]int // rejected duplicate → the older user it duplicates
	expired   map[int]int // user → number of leading expired sessions
	wallet    map[int]int // user → wallet minus ledger
	pauseNull map[int]bool
	// tenant mismatches: parent owner → user written on the child row
	tenantHabit, tenantBook, tenantAnnot, tenantRegion, tenantSet map[int]int
	// references without a parent owner's foreign key: user → the other
	// user whose habit, workout or goal an event names, whose workout a
	// session logs, whose session an audit entry names, or whose session
	// a session was rotated from
	tenantEvent, tenantEventWorkout, tenantEventGoal, tenantWorkout, tenantAudit, tenantRotation map[int]int

	// drift
	habitLogs  map[int]*habitLogPlan
	hlOrphans  int
	inbox      map[int]*inboxPlan
	inOrphans  int
	questUsers []int // users whose user_quests ids reappear in quests
	questRows  []int // users with ordinary quests rows
}

type habitLogPlan struct {
	fresh     int   // new facts: loaded
	dupCompl  int   // same key as a completion: merged
	intruder  int   // >0: user index+1 written on a log of this user's habit (tenant_mismatch)
	pairs     []int // pairs of logs with one key and no completion, by variant (0..2)
	rejParent bool  // this (duplicate) user's habits: parent_rejected
}

type inboxPlan struct {
	fresh, byID, byKey int
	rejParent          bool
}

// clean reports whether user i may carry an anomaly or be referenced by one.
func (g *gen) clean(i int) bool { return i > 0 && !g.users[i].dup }

// pool returns the clean users with all features f, shuffled by name.
func (g *gen) pool(name string, f uint32) []int {
	var out []int
	for i := range g.users {
		if g.clean(i) && g.users[i].feat&f == f {
			out = append(out, i)
		}
	}
	r := g.rng("pool."+name, 0)
	r.Shuffle(len(out), func(a, b int) { out[a], out[b] = out[b], out[a] })
	return out
}

func (g *gen) planAnomalies() {
	a := &g.an
	a.dupOf, a.expired, a.wallet, a.pauseNull = map[int]int{}, map[int]int{}, map[int]int{}, map[int]bool{}
	a.tenantHabit, a.tenantBook, a.tenantAnnot, a.tenantRegion, a.tenantSet = map[int]int{}, map[int]int{}, map[int]int{}, map[int]int{}, map[int]int{}
	a.tenantEvent, a.tenantEventWorkout, a.tenantEventGoal, a.tenantWorkout = map[int]int{}, map[int]int{}, map[int]int{}, map[int]int{}
	a.tenantAudit, a.tenantRotation = map[int]int{}, map[int]int{}
	a.habitLogs, a.inbox = map[int]*habitLogPlan{}, map[int]*inboxPlan{}
	o := g.o
	g.planDuplicates()

	for _, u := range take(g.pool("expired", 0), o.ExpiredSessions) {
		a.expired[u] = 0
	}
	left := o.ExpiredSessions
	for _, u := range sortedKeys(a.expired) {
		n := len(g.sessionsOf(u))
		k := min(left, max(1, n-1))
		if k <= 0 {
			delete(a.expired, u)
			continue
		}
		a.expired[u] = k
		left -= k
	}
	for _, u := range take(g.pool("wallet", fMarket), o.WalletMismatches) {
		r := g.rng("wallet.delta", u)
		a.wallet[u] = pick(r, []int{-500, -37, 1, 25, 100, 1234})
	}
	for _, u := range take(g.pool("pause", fFocus), o.PausesWithoutSession) {
		a.pauseNull[u] = true
	}
	pair := func(name string, owner uint32, m map[int]int, other uint32) {
		owners := take(g.pool(name, owner), o.TenantMismatches)
		others := g.pool(name+".other", other)
		for i, u := range owners {
			for j := range others {
				if v := others[(i+j)%len(others)]; v != u {
					m[u] = v
					break
				}
			}
		}
	}
	pair("tenant.habit", fHabits, a.tenantHabit, 0)
	pair("tenant.book", fBooks, a.tenantBook, 0)
	pair("tenant.annot", fRef, a.tenantAnnot, 0)
	pair("tenant.region", fRef, a.tenantRegion, 0)
	pair("tenant.set", fFitness, a.tenantSet, fFitness|fCustomEx)
	pair("tenant.event", fCalendar, a.tenantEvent, fHabits)
	pair("tenant.workout", fFitness, a.tenantWorkout, fFitness)
	pair("tenant.event.workout", fCalendar, a.tenantEventWorkout, fFitness)
	pair("tenant.event.goal", fCalendar, a.tenantEventGoal, fGoals)
	pair("tenant.audit", 0, a.tenantAudit, 0)
	pair("tenant.rotation", 0, a.tenantRotation, 0)

	if o.Drift {
		g.planDrift()
	}
}

// planDuplicates makes o.DuplicateEmails later users duplicate older users'
// emails ignoring case. The first group ties on created_at (decided by id),
// the second is a triple.
func (g *gen) planDuplicates() {
	n := g.o.DuplicateEmails
	cands := g.pool("dup", 0)
	r := g.rng("dup", 0)
	for gi := 0; n > 0 && len(cands) >= 2; gi++ {
		size := 2
		if gi == 1 && n >= 2 && len(cands) >= 3 {
			size = 3
		}
		grp := cands[:size]
		cands = cands[size:]
		n -= size - 1
		older := &g.users[grp[0]]
		if lim := Base.AddDate(0, -8, 0); older.created.After(lim) {
			older.created = r.at(lim.AddDate(-2, 0, 0), lim)
		}
		for k, ui := range grp[1:] {
			u := &g.users[ui]
			u.dup = true
			u.w = max(u.w, 1)
			u.feat |= fHabits | fBooks | fIdeas | fInbox | fFocus | fQuests
			g.an.dupOf[ui] = grp[0]
			if gi == 0 {
				u.created = older.created
				if bytes.Compare(u.id[:], older.id[:]) < 0 {
					u.id, older.id = older.id, u.id
				}
			} else {
				u.created = r.after(older.created.Add(time.Duration(k)*72*time.Hour), 60*24*time.Hour)
			}
			u.email = caseVariant(older.email, k)
		}
	}
}

// caseVariant changes the letter case of an email: k=0 capitalises words,
// k=1 upper-cases everything.
func caseVariant(e string, k int) string {
	if k == 1 {
		return strings.ToUpper(e)
	}
	b := []rune(strings.ToLower(e))
	up := true
	for i, c := range b {
		if up && unicode.IsLetter(c) {
			b[i] = unicode.ToUpper(c)
		}
		up = c == '.' || c == '@'
	}
	s := string(b)
	if s == e {
		s = strings.ToUpper(e)
	}
	return s
}

func (g *gen) planDrift() {
	a := &g.an
	o := g.o
	// habit_logs
	fresh := o.DriftRows
	for _, u := range g.pool("hl.fresh", fHabits) {
		if fresh <= 0 {
			break
		}
		k := min(fresh, 1+g.rng("hl.k", u).IntN(3))
		a.habitLogs[u] = &habitLogPlan{fresh: k}
		fresh -= k
	}
	hl := func(u int) *habitLogPlan {
		if p := a.habitLogs[u]; p != nil {
			return p
		}
		p := &habitLogPlan{}
		a.habitLogs[u] = p
		return p
	}
	if o.Anomalies {
		n := max(2, o.TenantMismatches)
		for _, u := range take(g.pool("hl.dup", fHabits), n) {
			hl(u).dupCompl++
		}
		for j, u := range take(g.pool("hl.pairs", fHabits), 3) {
			hl(u).pairs = append(hl(u).pairs, j)
		}
		owners := take(g.pool("hl.tenant", fHabits), o.TenantMismatches)
		others := g.pool("hl.tenant.other", 0)
		for i, u := range owners {
			if len(others) == 0 {
				break
			}
			if v := others[i%len(others)]; v != u {
				hl(u).intruder = v + 1
			}
		}
		a.hlOrphans = n
		for u := range a.dupOf {
			hl(u).rejParent = true
		}
	}
	// user_inbox
	in := func(u int) *inboxPlan {
		if p := a.inbox[u]; p != nil {
			return p
		}
		p := &inboxPlan{}
		a.inbox[u] = p
		return p
	}
	fresh = o.DriftRows
	for _, u := range g.pool("in.fresh", fInbox) {
		if fresh <= 0 {
			break
		}
		k := min(fresh, 1+g.rng("in.k", u).IntN(3))
		in(u).fresh = k
		fresh -= k
	}
	if o.Anomalies {
		n := max(2, o.TenantMismatches)
		for _, u := range take(g.pool("in.id", fInbox), n) {
			in(u).byID++
		}
		for _, u := range take(g.pool("in.key", fInbox), n) {
			in(u).byKey++
		}
		a.inOrphans = n
		for u := range a.dupOf {
			in(u).rejParent = true
		}
		a.questUsers = take(g.pool("q.merge", fQuests), 3)
	}
	a.questRows = take(g.pool("q.rows", 0), o.DriftRows)
}

func take(xs []int, n int) []int { return xs[:min(max(n, 0), len(xs))] }

func sortedKeys[V any](m map[int]V) []int {
	ks := make([]int, 0, len(m))
	for k := range m {
		ks = append(ks, k)
	}
	slices.Sort(ks)
	return ks
}

// pinSeeds gives the seed rows (random ids and now() timestamps in seed.sql)
// ids and timestamps derived from the seed, as a particular installation
// would have, and reads back the ids the generators refer to.
func (g *gen) pinSeeds(ctx context.Context, conn *pgx.Conn) error {
	r := g.rng("seed.pin", 0)
	ts := func(i int) time.Time {
		return installedAt.Add(time.Duration(i)*time.Second + time.Duration(r.IntN(1_000_000))*time.Microsecond)
	}
	return pgx.BeginFunc(ctx, conn, func(tx pgx.Tx) error {
		stmts := []string{
			`CREATE TEMP TABLE legacygen_re ON COMMIT DROP AS
			   SELECT r.name AS role_name, e.name AS ent_name
			   FROM role_entitlements x JOIN roles r ON r.id = x.role_id JOIN entitlements e ON e.id = x.entitlement_id`,
			`DELETE FROM role_entitlements`,
		}
		for _, s := range stmts {
			if _, err := tx.Exec(ctx, s); err != nil {
				return fmt.Errorf("legacygen: pin seed rows: %w", err)
			}
		}
		for _, t := range []string{"roles", "entitlements", "feature_flags"} {
			col := "name"
			if t == "feature_flags" {
				col = "flag_name"
			}
			names, err := strs(ctx, tx, "SELECT "+col+" FROM "+t+" ORDER BY "+col+" COLLATE \"C\"")
			if err != nil {
				return err
			}
			for i, n := range names {
				q := "UPDATE " + t + " SET id = $1, created_at = $2 WHERE " + col + " = $3"
				if t == "feature_flags" {
					q = "UPDATE " + t + " SET id = $1, created_at = $2, updated_at = $2 WHERE " + col + " = $3"
				}
				if _, err := tx.Exec(ctx, q, r.uid(), ts(i), n); err != nil {
					return fmt.Errorf("legacygen: pin %s: %w", t, err)
				}
			}
		}
		for _, q := range []string{
			`UPDATE onboarding_flows SET created_at = $1, updated_at = $1`,
			`UPDATE onboarding_steps SET created_at = $1::timestamptz + step_order * interval '1 second', updated_at = $1::timestamptz + step_order * interval '1 second'`,
			`INSERT INTO role_entitlements (role_id, entitlement_id, created_at)
			   SELECT r.id, e.id, $1 FROM legacygen_re x
			   JOIN roles r ON r.name = x.role_name JOIN entitlements e ON e.name = x.ent_name`,
		} {
			if _, err := tx.Exec(ctx, q, ts(100)); err != nil {
				return fmt.Errorf("legacygen: pin seed rows: %w", err)
			}
		}
		var err error
		if g.roles, err = idsByName(ctx, tx, "SELECT name, id FROM roles"); err != nil {
			return err
		}
		if g.entitlements, err = idsByName(ctx, tx, "SELECT name, id FROM entitlements"); err != nil {
			return err
		}
		if err := tx.QueryRow(ctx, "SELECT id FROM onboarding_flows WHERE name = 'flow_main_v1'").Scan(&g.flowMain); err != nil {
			return fmt.Errorf("legacygen: read onboarding flow: %w", err)
		}
		rows, err := tx.Query(ctx, "SELECT id FROM onboarding_steps WHERE flow_id = $1 ORDER BY step_order", g.flowMain)
		if err != nil {
			return err
		}
		g.stepsMain, err = pgx.CollectRows(rows, pgx.RowTo[uid])
		if err != nil {
			return fmt.Errorf("legacygen: read onboarding steps: %w", err)
		}
		for _, n := range []string{"user", "admin", "moderator"} {
			if _, ok := g.roles[n]; !ok {
				return fmt.Errorf("legacygen: seed.sql has no role %q", n)
			}
		}
		if len(g.stepsMain) != 5 {
			return fmt.Errorf("legacygen: seed.sql has %d onboarding steps, want 5", len(g.stepsMain))
		}
		return nil
	})
}

func strs(ctx context.Context, tx pgx.Tx, q string) ([]string, error) {
	rows, err := tx.Query(ctx, q)
	if err != nil {
		return nil, fmt.Errorf("legacygen: %w", err)
	}
	return pgx.CollectRows(rows, pgx.RowTo[string])
}

func idsByName(ctx context.Context, tx pgx.Tx, q string) (map[string]uid, error) {
	rows, err := tx.Query(ctx, q)
	if err != nil {
		return nil, fmt.Errorf("legacygen: %w", err)
	}
	out := map[string]uid{}
	var name string
	var id uid
	_, err = pgx.ForEachRow(rows, []any{&name, &id}, func() error { out[name] = id; return nil })
	return out, err
}
