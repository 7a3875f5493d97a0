package mappings

// entitlements archives every row of the legacy table entitlements: the
// target has no table for it.
var entitlements = Mapping{Legacy: "entitlements", ArchiveAll: true}
