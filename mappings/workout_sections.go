package mappings

// workoutSections archives every row of the legacy table workout_sections:
// the target has no table for it.
var workoutSections = Mapping{Legacy: "workout_sections", ArchiveAll: true}
