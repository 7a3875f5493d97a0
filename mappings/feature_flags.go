package mappings

// featureFlags archives every row of the legacy table feature_flags: the
// target has no table for it.
var featureFlags = Mapping{Legacy: "feature_flags", ArchiveAll: true}
