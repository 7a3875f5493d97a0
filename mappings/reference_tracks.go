package mappings

// referenceTracks maps the legacy table reference_tracks onto the target
// table of the same name.
var referenceTracks = ownedByUser("reference_tracks")
