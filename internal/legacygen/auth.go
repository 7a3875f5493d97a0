package legacygen

import (
	"fmt"
	"slices"
	"time"

	"github.com/cutover/cutover/mappings"
)

var userAgents = []string{
	"Mozilla/5.0 (Windows NT 10.0; Win64; x64) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/124.0 Safari/537.36",
	"Mozilla/5.0 (iPhone; CPU iPhone OS 17_4 like Mac OS X) AppleWebKit/605.1.15 (KHTML, like Gecko) Version/17.4 Mobile/15E148 Safari/604.1",
	"Mozilla/5.0 (Macintosh; Intel Mac OS X 14_4) AppleWebKit/605.1.15 (KHTML, like Gecko) Version/17.4 Safari/605.1.15",
	"Mozilla/5.0 (X11; Linux x86_64; rv:125.0) Gecko/20100101 Firefox/125.0",
	"okhttp/4.12.0",
}

func (g *gen) authTables() []*table {
	return []*table{
		{name: "users", cols: []string{"id", "name", "email", "email_verified", "image", "role", "approved",
			"age_verified", "tos_accepted", "tos_accepted_at", "tos_version", "last_activity_at", "created_at", "updated_at"},
			fill: g.fillUsers},
		{name: "accounts", cols: []string{"id", "user_id", "type", "provider", "provider_account_id", "refresh_token",
			"access_token", "expires_at", "token_type", "scope", "id_token", "session_state", "created_at", "updated_at"},
			fill: g.fillAccounts},
		{name: "sessions", cols: []string{"id", "user_id", "token", "expires_at", "created_at", "last_activity_at",
			"user_agent", "ip_address", "rotated_from"}, fill: g.fillSessions},
		{name: "authenticators", cols: []string{"id", "user_id", "credential_id", "provider_account_id",
			"credential_public_key", "counter", "credential_device_type", "credential_backed_up", "transports", "created_at"},
			fill: g.fillAuthenticators},
		{name: "verification_tokens", cols: []string{"identifier", "token", "expires", "created_at"}, fill: g.fillVerificationTokens},
		{name: "roles", cols: []string{"id", "name", "description", "parent_role_id", "created_at"}, fill: g.fillRoles},
		{name: "entitlements", cols: []string{"id", "name", "description", "resource", "action", "created_at"}, fill: g.fillEntitlements},
		{name: "role_entitlements", cols: []string{"role_id", "entitlement_id", "created_at"}, fill: g.fillRoleEntitlements},
		{name: "user_roles", cols: []string{"user_id", "role_id", "granted_by", "granted_at", "expires_at"}, fill: g.fillUserRoles},
		{name: "feature_flags", cols: []string{"id", "flag_name", "enabled", "description", "created_at", "updated_at"}, fill: g.fillFeatureFlags},
	}
}

func (g *gen) note(table, key, kind string, d mappings.Disposition, reason, note string) {
	g.notes.add(Anomaly{Table: table, Key: key, Kind: kind, Disposition: string(d), Reason: reason, Note: note})
}

func (g *gen) fillUsers(s *sink) {
	for i := range g.users {
		u := &g.users[i]
		r := g.rng("users.c", i)
		var verified any
		switch x := r.Float64(); {
		case x < 0.25:
		case x < 0.26:
			verified = epochZero // an import that wrote 0 for "unknown"
		default:
			verified = r.after(u.created, 48*time.Hour)
		}
		var image any
		if r.p(0.4) {
			image = fmt.Sprintf("https://lh3.googleusercontent.com/a/%s=s96-c", r.hex(12))
		}
		tos := r.p(0.85)
		var tosAt, tosVer any
		if tos {
			tosAt, tosVer = r.after(u.created, time.Hour), pick(r, []string{"2023-01", "2024-03", "2024-11"})
		}
		last := r.at(u.from(), Base)
		s.row(u.id, u.name, u.email, verified, image, u.role, r.p(0.98), r.p(0.97), tos, tosAt, tosVer,
			r.opt(0.05, last), u.created, r.at(u.created, Base))
		if u.dup {
			older := &g.users[g.an.dupOf[i]]
			g.note("users", uidString(u.id), "duplicate_email", mappings.Rejected, mappings.ReasonDuplicateEmail,
				fmt.Sprintf("email %q equals %q of older user %s ignoring case", u.email, older.email, uidString(older.id)))
		}
	}
}

func (g *gen) fillAccounts(s *sink) {
	for i := range g.users {
		u := &g.users[i]
		r := g.rng("accounts", i)
		provs := []string{}
		for _, p := range []string{"credentials", "google", "azure-ad"} {
			if r.p(map[string]float64{"credentials": 0.5, "google": 0.55, "azure-ad": 0.1}[p]) {
				provs = append(provs, p)
			}
		}
		if len(provs) == 0 {
			provs = []string{"google"}
		}
		for _, p := range provs {
			created := r.after(u.created, time.Minute)
			if p == "credentials" {
				s.row(r.uid(), u.id, "credentials", p, uidString(u.id), nil, nil, nil, nil, nil, nil, nil, created, created)
				continue
			}
			acct := fmt.Sprintf("1%020d", r.Int64N(1e18))
			if p == "azure-ad" {
				acct = uidString(r.uid())
			}
			var exp any
			if r.p(0.8) {
				exp = r.at(u.created, Base.AddDate(0, 0, 1)).Unix()
			}
			s.row(r.uid(), u.id, "oauth", p, acct, r.opt(0.3, "1//0"+r.hex(40)), r.opt(0.1, "ya29."+r.hex(60)), exp,
				"Bearer", "openid email profile", r.opt(0.2, "eyJhbGciOiJSUzI1NiJ9."+r.hex(200)+"."+r.hex(64)),
				nil, created, r.at(created, Base))
		}
	}
}

// sessP is a session's plan.
type sessP struct {
	id       uid
	created  time.Time
	expired  bool
	rotated  int // index of the session this one was rotated from, or -1
	lastSeen time.Time
}

// sessionsOf plans user i's sessions: a few chains of rotations; with
// anomalies the oldest ones of some users are expired.
func (g *gen) sessionsOf(i int) []sessP {
	u := &g.users[i]
	r := g.rng("sessions", i)
	n := min(12, 1+r.count(u.w*2))
	from := u.from()
	if t := Base.AddDate(0, 0, -200); from.Before(t) {
		from = t
	}
	to := Base.AddDate(0, 0, -15)
	if !from.Before(to) {
		from = to.Add(-time.Hour)
	}
	ts := make([]time.Time, n)
	for k := range ts {
		ts[k] = r.at(from, to)
	}
	slices.SortFunc(ts, func(a, b time.Time) int { return a.Compare(b) })
	out := make([]sessP, n)
	expired := g.an.expired[i]
	for k := range out {
		out[k] = sessP{id: r.uid(), created: ts[k], rotated: -1, expired: k < expired}
		if k > 0 && r.p(0.7) {
			out[k].rotated = k - 1
		}
		out[k].lastSeen = r.at(ts[k], Base)
	}
	return out
}

func (g *gen) fillSessions(s *sink) {
	for i := range g.users {
		u := &g.users[i]
		r := g.rng("sessions.c", i)
		plan := g.sessionsOf(i)
		for _, p := range plan {
			var exp any
			last := p.lastSeen
			switch {
			case p.expired && r.p(0.1):
				exp, last = farPast, p.created
			case p.expired:
				exp = r.after(p.created, 14*24*time.Hour)
				last = p.created
			case r.p(0.15):
				exp = infinity
			default:
				exp = r.after(year2099, 300*24*time.Hour)
			}
			var rot any
			if p.rotated >= 0 {
				rot = plan[p.rotated].id
			}
			s.row(p.id, u.id, r.hex(32), exp, p.created, last, r.opt(0.1, pick(r, userAgents)), r.opt(0.1, r.ip()), rot)
			switch {
			case p.expired:
				g.note("sessions", uidString(p.id), "expired_session", mappings.Discarded, mappings.ReasonExpiredSession, "")
			case p.rotated >= 0 && plan[p.rotated].expired && g.clean(i):
				g.note("sessions", uidString(p.id), "rotated_from_discarded", mappings.Loaded, "",
					"rotated_from "+uidString(plan[p.rotated].id)+" is an expired session: set NULL (fine print 2)")
			}
		}
		// A session rotated from another user's live session (its own
		// rng: the other rows stay as they were).
		if v, ok := g.an.tenantRotation[i]; ok {
			if from, ok := g.liveSession(v); ok {
				r := g.rng("sessions.tenant", i)
				id, created := r.uid(), r.at(from.created, Base)
				s.row(id, u.id, r.hex(32), r.after(year2099, 300*24*time.Hour), created, created, nil, nil, from.id)
				g.note("sessions", uidString(id), "tenant_mismatch", mappings.Rejected, mappings.ReasonTenantMismatch,
					fmt.Sprintf("rotated_from %s is a session of user %s; session owner %s", uidString(from.id), uidString(g.users[v].id), uidString(u.id)))
			}
		}
	}
}

// liveSession returns user i's first session that has not expired.
func (g *gen) liveSession(i int) (sessP, bool) {
	for _, p := range g.sessionsOf(i) {
		if !p.expired {
			return p, true
		}
	}
	return sessP{}, false
}

func (g *gen) fillAuthenticators(s *sink) {
	for i := range g.users {
		u := &g.users[i]
		if !u.has(fAuthn) {
			continue
		}
		r := g.rng("authenticators", i)
		for k := 0; k < r.n(1, 2); k++ {
			s.row(r.uid(), u.id, r.hex(32), uidString(u.id), "pQECAyYgASFYI"+r.hex(48), int64(r.n(0, 5000)),
				pick(r, []string{"singleDevice", "multiDevice"}), r.p(0.5), r.opt(0.3, pick(r, []string{"internal", "internal,hybrid", "usb", "nfc,usb"})),
				r.after(u.created, 90*24*time.Hour))
		}
	}
}

func (g *gen) fillVerificationTokens(s *sink) {
	for i := range g.users {
		u := &g.users[i]
		r := g.rng("vtokens", i)
		if !r.p(0.1) {
			continue
		}
		created := r.at(u.from(), Base)
		s.row(u.email, r.hex(32), created.Add(24*time.Hour), created)
	}
	r := g.rng("vtokens.pending", 0)
	for k := 0; k < 1+len(g.users)/50; k++ {
		created := r.at(Base.AddDate(0, -2, 0), Base)
		s.row(fmt.Sprintf("pending.signup%d@example.com", k), r.hex(32), created.Add(24*time.Hour), created)
	}
}

func (g *gen) fillRoles(s *sink) {
	c := &g.cat
	s.row(c.extraRoles[0].id, "support", "Support staff: reads users and feedback", g.roles["moderator"], installedAt.AddDate(1, 0, 0))
	s.row(c.extraRoles[1].id, "beta_tester", nil, g.roles["user"], installedAt.AddDate(2, 3, 4))
	for _, r := range []string{"user", "admin", "moderator"} {
		g.note("roles", uidString(g.roles[r]), "seeded_natural_key", mappings.Merged, "",
			fmt.Sprintf("roles.name %q is seeded in the target", r))
	}
	for _, r := range c.extraRoles {
		g.note("roles", uidString(r.id), "custom_catalog_row", mappings.Loaded, "", fmt.Sprintf("roles.name %q is not seeded", r.key))
	}
}

func (g *gen) fillEntitlements(s *sink) {
	s.row(g.cat.extraEnt.id, "reports:read", "Read usage reports", "reports", "read", installedAt.AddDate(1, 0, 0))
}

func (g *gen) fillRoleEntitlements(s *sink) {
	c := &g.cat
	t := installedAt.AddDate(1, 0, 0)
	s.row(c.extraRoles[0].id, c.extraEnt.id, t)
	s.row(c.extraRoles[0].id, g.entitlements["feedback:read"], t)
	s.row(c.extraRoles[0].id, g.entitlements["users:read"], t)
	s.row(c.extraRoles[1].id, g.entitlements["feedback:write"], t)
}

func (g *gen) fillUserRoles(s *sink) {
	admin := g.users[0].id
	for i := range g.users {
		u := &g.users[i]
		r := g.rng("user_roles", i)
		if r.p(0.9) || u.role == "user" && i <= 3 {
			s.row(u.id, g.roles["user"], nil, u.created, nil)
		}
		if u.role != "user" {
			var by any
			if i != 0 {
				by = admin
			}
			s.row(u.id, g.roles[u.role], by, r.after(u.created, 30*24*time.Hour), r.opt(0.7, farFuture))
		}
		if g.clean(i) && r.p(0.02) {
			s.row(u.id, g.cat.extraRoles[0].id, admin, r.at(u.from(), Base), r.opt(0.5, farFuture))
		}
		if g.clean(i) && r.p(0.05) {
			var exp any
			if r.p(0.5) {
				exp = r.at(Base.AddDate(0, -3, 0), Base) // an expired grant: still a row
			}
			s.row(u.id, g.cat.extraRoles[1].id, admin, r.at(u.from(), Base), exp)
		}
	}
}

func (g *gen) fillFeatureFlags(s *sink) {
	for k, f := range g.cat.extraFlags {
		t := installedAt.AddDate(1+k, 0, 0)
		var desc any
		if k != 2 {
			desc = "Rolled out to a share of users"
		}
		s.row(f.id, f.key, k == 0, desc, t, t.AddDate(0, 2, 0))
	}
}
