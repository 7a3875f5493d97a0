package mappings

// workoutExercises maps the legacy table workout_exercises onto the target
// table of the same name.
var workoutExercises = Mapping{
	Legacy: "workout_exercises", Target: "workout_exercises",
	Refs: []Ref{
		{Column: "workout_id", Parent: "workouts", Kind: Parent},
		{Column: "exercise_id", Parent: "exercises", Kind: Parent},
	},
	DroppedColumns: []string{"section_id"},
}
