package mappings

// roleEntitlements archives every row of the legacy table role_entitlements:
// the target has no table for it.
var roleEntitlements = Mapping{Legacy: "role_entitlements", Key: []string{"role_id", "entitlement_id"}, ArchiveAll: true}
