package mappings

// userInterests archives every row of the legacy table user_interests: the
// target has no table for it.
var userInterests = Mapping{Legacy: "user_interests", ArchiveAll: true}
