package mappings

// habits maps the legacy table habits onto the target table of the same
// name.
var habits = ownedByUser("habits")
