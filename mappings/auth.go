package mappings

// auth: users, accounts, sessions, roles, user_roles, audit_log (0001_auth),
// and the legacy auth tables the target does not keep.
var auth = []Mapping{
	{
		Legacy: "users", Target: "users",
		Checks: []Rule{{
			// Case-insensitive emails: the oldest (created_at, id) of a group
			// loads, the others are rejected with all their data.
			When: `EXISTS (SELECT 1 FROM {{stage}}.users o
				WHERE lower(o.email) = lower(s.email) AND (o.created_at, o.id) < (s.created_at, s.id))`,
			Disposition: Rejected, Reason: ReasonDuplicateEmail,
			Message: `format('email %s equals the email of user %s ignoring case: merge or rename one of them in the source, then re-run',
				s.email, (SELECT o.id FROM {{stage}}.users o WHERE lower(o.email) = lower(s.email)
					ORDER BY o.created_at, o.id LIMIT 1))`,
		}},
	},
	{
		Legacy: "accounts", Target: "accounts",
		Refs: []Ref{{Column: "user_id", Parent: "users", Kind: Owner}},
	},
	{
		Legacy: "sessions", Target: "sessions",
		ByDesign: []Rule{
			{When: `{{no_sessions}}`, Disposition: Discarded, Reason: ReasonAllSessions},
			{When: `s.expires_at <= {{run_started}}`, Disposition: Discarded, Reason: ReasonExpiredSession},
		},
		Refs:    []Ref{{Column: "user_id", Parent: "users", Kind: Owner}},
		SelfRef: &Ref{Column: "rotated_from", Parent: "sessions", Kind: SetNull},
	},
	{
		Legacy: "roles", Target: "roles",
		NaturalKey: []string{"name"},
		SelfRef:    &Ref{Column: "parent_role_id", Parent: "roles", Kind: SetNull},
	},
	{
		Legacy: "user_roles", Target: "user_roles", Key: []string{"user_id", "role_id"},
		Refs: []Ref{
			{Column: "user_id", Parent: "users", Kind: Owner},
			{Column: "role_id", Parent: "roles", Kind: Parent},
			{Column: "granted_by", Parent: "users", Kind: SetNull},
		},
	},
	{
		Legacy: "audit_log", Target: "audit_log",
		Refs: []Ref{
			// Nullable, but a row of a rejected user is rejected with it
			// (fine print 2); NULL stays NULL.
			{Column: "user_id", Parent: "users", Kind: Parent},
			{Column: "session_id", Parent: "sessions", Kind: SetNull},
		},
	},
	{
		// activity_events fold into audit_log with their own ids.
		Legacy: "activity_events", Target: "audit_log", As: Folded,
		Refs: []Ref{{Column: "user_id", Parent: "users", Kind: Owner}},
		Columns: map[string]string{
			"action":        `'activity'`,
			"resource_type": `s.category`,
			"status":        `'success'`,
			"details": `coalesce(s.metadata, '{}'::jsonb) || jsonb_build_object(
				'xp_earned', s.xp_earned, 'coins_earned', s.coins_earned)`,
		},
	},
	{
		// The key names the row without its secret: a one-time token never
		// reaches the target, not even the bookkeeping.
		Legacy: "verification_tokens", Key: []string{"identifier", "token"}, DiscardAll: ReasonCredentialToken,
		KeySQL: `s.identifier || ',sha256:' || encode(sha256(convert_to(s.token, 'UTF8')), 'hex')`,
	},
	{Legacy: "authenticators", ArchiveAll: true},
	{Legacy: "entitlements", ArchiveAll: true},
	{Legacy: "role_entitlements", Key: []string{"role_id", "entitlement_id"}, ArchiveAll: true},
}
