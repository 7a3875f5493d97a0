package mappings

// focusPauseStateV21 maps the legacy table focus_pause_state onto the target
// table of the same name, in its v21 shape.
var focusPauseStateV21 = Mapping{
	Legacy: "focus_pause_state", Shape: ShapeV21, Target: "focus_pause_state",
	Refs: []Ref{
		{Column: "user_id", Parent: "users", Kind: Owner},
		// Denormalised ownership (INVENTORY §5): a pause row of another
		// user's session would leak across tenants.
		{Column: "session_id", Parent: "focus_sessions", Kind: Parent, Tenant: true},
	},
}
