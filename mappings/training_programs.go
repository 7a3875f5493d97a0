package mappings

// trainingPrograms maps the legacy table training_programs onto the target
// table of the same name.
var trainingPrograms = ownedByUser("training_programs")
