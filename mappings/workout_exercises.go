package mappings

// workoutExercises maps the legacy table workout_exercises onto the target
// table of the same name.
var workoutExercises = Mapping{
	Legacy: "workout_exercises", Target: "workout_exercises",
	Refs: []Ref{
		{Column: "workout_id", Parent: "workouts", Kind: Parent},
		// As exercise_sets: a custom exercise of another user would leak
		// across tenants.
		{Column: "exercise_id", Parent: "exercises", Kind: Parent, Tenant: true,
			TenantOf: "s._own_workout_id", NullOwnerOK: true},
	},
	DroppedColumns: []string{"section_id"},
}
