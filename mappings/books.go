package mappings

// books: 0008_books.
var books = []Mapping{
	ownedByUser("books"),
	{
		Legacy: "reading_sessions", Target: "reading_sessions",
		Refs: []Ref{
			{Column: "book_id", Parent: "books", Kind: Parent, Tenant: true},
			{Column: "user_id", Parent: "users", Kind: Owner},
		},
	},
}
