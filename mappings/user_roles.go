package mappings

// userRoles maps the legacy table user_roles onto the target table of the
// same name.
var userRoles = Mapping{
	Legacy: "user_roles", Target: "user_roles", Key: []string{"user_id", "role_id"},
	Refs: []Ref{
		{Column: "user_id", Parent: "users", Kind: Owner},
		{Column: "role_id", Parent: "roles", Kind: Parent},
		{Column: "granted_by", Parent: "users", Kind: SetNull},
	},
}
