package mappings

// focusPauseStateV15 maps the legacy table focus_pause_state onto the target
// table of the same name, in its v15 shape.
var focusPauseStateV15 = Mapping{
	// The older per-user model: a pause row is a paused session.
	Legacy: "focus_pause_state", Shape: ShapeV15, Target: "focus_pause_state",
	ByDesign: []Rule{{When: `s.session_id IS NULL`, Disposition: Discarded, Reason: ReasonPauseWithoutSession}},
	Refs: []Ref{
		{Column: "user_id", Parent: "users", Kind: Owner},
		// Denormalised ownership (INVENTORY §5): a pause row of another
		// user's session would leak across tenants.
		{Column: "session_id", Parent: "focus_sessions", Kind: Parent, Tenant: true},
	},
	Columns: map[string]string{
		"is_paused":  `true`,
		"resumed_at": `NULL::timestamptz`,
	},
	DroppedColumns: []string{"mode"},
}
