package mappings

// userInbox maps the legacy table user_inbox onto inbox_items.
var userInbox = Mapping{
	// Fine print 7: merged onto a loading inbox item with the same id or
	// the same (user_id, title, created_at); otherwise loaded.
	Legacy: "user_inbox", Target: "inbox_items",
	Refs: []Ref{{Column: "user_id", Parent: "users", Kind: Owner}},
	Checks: []Rule{
		{
			When:        `EXISTS (SELECT 1 FROM {{d:inbox_items}} i WHERE i._tid = s.id)`,
			Disposition: Merged, Reason: "duplicate_inbox_id", TargetID: `s.id`, Same: []string{"id"},
		},
		{
			When: `EXISTS (SELECT 1 FROM {{d:inbox_items}} i
					WHERE i._x_user_id = s.user_id AND i._x_title = s.title AND i._x_created_at = s.created_at)`,
			Disposition: Merged, Reason: "duplicate_inbox_item", Same: []string{"user_id", "title", "created_at"},
			TargetID: `(SELECT i._tid FROM {{d:inbox_items}} i
					WHERE i._x_user_id = s.user_id AND i._x_title = s.title AND i._x_created_at = s.created_at
					ORDER BY i._tid LIMIT 1)`,
		},
	},
	Omit:  []string{"sort_order"},
	After: []string{"inbox_items"},
}
