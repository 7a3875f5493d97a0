package mappings

// userLearnSrs archives every row of the legacy table user_learn_srs: the
// target has no table for it.
var userLearnSrs = Mapping{Legacy: "user_learn_srs", ArchiveAll: true}
