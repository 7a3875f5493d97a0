package mappings

// fitness: 0009_fitness, plus the archived fitness tables.
var fitness = []Mapping{
	{
		// user_id NULL is a built-in exercise.
		Legacy: "exercises", Target: "exercises",
		Refs: []Ref{{Column: "user_id", Parent: "users", Kind: Parent}},
	},
	ownedByUser("workouts"),
	ownedByUser("training_programs"),
	{
		Legacy: "workout_exercises", Target: "workout_exercises",
		Refs: []Ref{
			{Column: "workout_id", Parent: "workouts", Kind: Parent},
			{Column: "exercise_id", Parent: "exercises", Kind: Parent},
		},
		DroppedColumns: []string{"section_id"},
	},
	{
		Legacy: "workout_sessions", Target: "workout_sessions",
		Refs: []Ref{
			{Column: "user_id", Parent: "users", Kind: Owner},
			{Column: "workout_id", Parent: "workouts", Kind: SetNull},
		},
	},
	{
		// A set is owned through its session; a custom exercise of another
		// user would leak across tenants.
		Legacy: "exercise_sets", Target: "exercise_sets",
		Refs: []Ref{
			{Column: "session_id", Parent: "workout_sessions", Kind: Parent},
			{Column: "exercise_id", Parent: "exercises", Kind: Parent, Tenant: true,
				TenantOf: "s._own_session_id", NullOwnerOK: true},
		},
	},
	{Legacy: "workout_sections", ArchiveAll: true},
	{Legacy: "personal_records", ArchiveAll: true},
	{Legacy: "program_weeks", ArchiveAll: true},
	{Legacy: "program_workouts", ArchiveAll: true},
}
