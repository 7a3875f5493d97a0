package mappings

// userStreaks maps the legacy table user_streaks onto the target table of
// the same name.
var userStreaks = ownedByUser("user_streaks")
