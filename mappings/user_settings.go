package mappings

// userSettings maps the legacy table user_settings onto the target table of
// the same name.
var userSettings = ownedByUser("user_settings")
