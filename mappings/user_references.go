package mappings

// userReferences maps the legacy table user_references onto the target table
// of the same name.
var userReferences = ownedByUser("user_references")
