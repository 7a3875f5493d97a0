package mappings

// sessions maps the legacy table sessions onto the target table of the same
// name.
var sessions = Mapping{
	Legacy: "sessions", Target: "sessions",
	ByDesign: []Rule{
		{When: `{{no_sessions}}`, Disposition: Discarded, Reason: ReasonAllSessions},
		{When: `s.expires_at <= {{run_started}}`, Disposition: Discarded, Reason: ReasonExpiredSession},
	},
	Refs: []Ref{{Column: "user_id", Parent: "users", Kind: Owner}},
	// A session rotated from another user's is rejected (tenant_mismatch).
	SelfRef: &Ref{Column: "rotated_from", Parent: "sessions", Kind: SetNull, Tenant: true},
}
