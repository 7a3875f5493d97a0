package mappings

// roles maps the legacy table roles onto the target table of the same name.
var roles = Mapping{
	Legacy: "roles", Target: "roles",
	NaturalKey: []string{"name"},
	SelfRef:    &Ref{Column: "parent_role_id", Parent: "roles", Kind: SetNull},
}
