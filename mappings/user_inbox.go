package mappings

// userInbox maps the legacy table user_inbox onto inbox_items.
var userInbox = Mapping{
	// Fine print 7: merged onto a loading inbox item with the same id or
	// the same (user_id, title, created_at); otherwise loaded. An id of
	// another user's item is rejected (tenant_mismatch), not merged.
	Legacy: "user_inbox", Target: "inbox_items",
	Refs: []Ref{{Column: "user_id", Parent: "users", Kind: Owner}},
	Checks: []Rule{
		{
			// The id of another user's inbox item is not the same fact:
			// merged, this user's item would be lost into the other's.
			When:        `EXISTS (SELECT 1 FROM {{d:inbox_items}} i WHERE i._tid = s.id AND i._x_user_id IS DISTINCT FROM s.user_id)`,
			Disposition: Rejected, Reason: ReasonTenantMismatch,
			Message: `format('id %s is an inbox item of user %s, and this row belongs to user %s: not the same item, so not merged; give it another id in the source', ` +
				`s.id, (SELECT i._x_user_id FROM {{d:inbox_items}} i WHERE i._tid = s.id LIMIT 1), s.user_id)`,
		},
		{
			When:        `EXISTS (SELECT 1 FROM {{d:inbox_items}} i WHERE i._tid = s.id)`,
			Disposition: Merged, Reason: "duplicate_inbox_id", TargetID: `s.id`, Same: []string{"id", "user_id"},
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
