package mappings

// authenticators archives every row of the legacy table authenticators: the
// target has no table for it.
var authenticators = Mapping{Legacy: "authenticators", ArchiveAll: true}
