package mappings

// exerciseSets maps the legacy table exercise_sets onto the target table of
// the same name.
var exerciseSets = Mapping{
	// A set is owned through its session; a custom exercise of another
	// user would leak across tenants.
	Legacy: "exercise_sets", Target: "exercise_sets",
	Refs: []Ref{
		{Column: "session_id", Parent: "workout_sessions", Kind: Parent},
		{Column: "exercise_id", Parent: "exercises", Kind: Parent, Tenant: true,
			TenantOf: "s._own_session_id", NullOwnerOK: true},
	},
}
