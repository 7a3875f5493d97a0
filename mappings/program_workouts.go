package mappings

// programWorkouts archives every row of the legacy table program_workouts:
// the target has no table for it.
var programWorkouts = Mapping{Legacy: "program_workouts", ArchiveAll: true}
