package mappings

// accounts maps the legacy table accounts onto the target table of the same
// name.
var accounts = Mapping{
	Legacy: "accounts", Target: "accounts",
	Refs: []Ref{{Column: "user_id", Parent: "users", Kind: Owner}},
}
