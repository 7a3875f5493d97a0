package mappings

// readingSessions maps the legacy table reading_sessions onto the target
// table of the same name.
var readingSessions = Mapping{
	Legacy: "reading_sessions", Target: "reading_sessions",
	Refs: []Ref{
		{Column: "book_id", Parent: "books", Kind: Parent, Tenant: true},
		{Column: "user_id", Parent: "users", Kind: Owner},
	},
}
