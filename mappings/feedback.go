package mappings

// feedback maps the legacy table feedback onto the target table of the same
// name.
var feedback = ownedByUser("feedback")
