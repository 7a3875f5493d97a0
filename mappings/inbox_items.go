package mappings

// inboxItems maps the legacy table inbox_items onto the target table of the
// same name.
var inboxItems = Mapping{
	Legacy: "inbox_items", Target: "inbox_items",
	Refs:    []Ref{{Column: "user_id", Parent: "users", Kind: Owner}},
	Exposes: []string{"user_id", "title", "created_at"},
	// user_inbox asks whether its id is an inbox item's.
	IndexTargetID: true,
}
