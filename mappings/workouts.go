package mappings

// workouts maps the legacy table workouts onto the target table of the same
// name.
var workouts = ownedByUser("workouts")
