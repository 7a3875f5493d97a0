package mappings

// focusSessions maps the legacy table focus_sessions onto the target table
// of the same name.
var focusSessions = ownedByUser("focus_sessions")
