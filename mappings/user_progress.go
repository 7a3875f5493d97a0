package mappings

// userProgress maps the legacy table user_progress onto the target table of
// the same name.
var userProgress = ownedByUser("user_progress")
