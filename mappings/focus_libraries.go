package mappings

// focusLibraries maps the legacy table focus_libraries onto the target table
// of the same name.
var focusLibraries = ownedByUser("focus_libraries")
