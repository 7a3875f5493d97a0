package mappings

// workoutSessions maps the legacy table workout_sessions onto the target
// table of the same name.
var workoutSessions = Mapping{
	Legacy: "workout_sessions", Target: "workout_sessions",
	Refs: []Ref{
		{Column: "user_id", Parent: "users", Kind: Owner},
		{Column: "workout_id", Parent: "workouts", Kind: SetNull, Tenant: true},
	},
}
