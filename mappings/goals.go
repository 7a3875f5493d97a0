package mappings

// goals maps the legacy table goals onto the target table of the same name.
var goals = ownedByUser("goals")
