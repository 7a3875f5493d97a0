package mappings

// infobaseEntries maps the legacy table infobase_entries onto the target
// table of the same name.
var infobaseEntries = ownedByUser("infobase_entries")
