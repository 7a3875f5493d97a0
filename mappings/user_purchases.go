package mappings

// userPurchases maps the legacy table user_purchases onto the target table
// of the same name.
var userPurchases = Mapping{
	Legacy: "user_purchases", Shape: AnyShape, Target: "user_purchases",
	Refs: []Ref{
		{Column: "user_id", Parent: "users", Kind: Owner},
		{Column: "item_id", Parent: "market_items", Kind: Parent},
	},
	Checks: []Rule{{
		// MAPPING.md, "user_purchases vs the buyer": a private item
		// (is_global false, in v15 and v16; v21's items have no owner, so
		// the columns are read through to_jsonb, which either shape has)
		// is its creator's; another user's purchase of it would leak it.
		// Uncorrelated, so that each subquery is hashed once (the stage
		// has no index to look an item up by, row by row).
		When: `s.item_id IN (SELECT i.id FROM {{stage}}.market_items i
				WHERE (to_jsonb(i)->>'is_global')::boolean IS FALSE AND to_jsonb(i)->>'created_by_user_id' IS NOT NULL)
			AND (s.item_id, s.user_id) NOT IN (SELECT i.id, (to_jsonb(i)->>'created_by_user_id')::uuid FROM {{stage}}.market_items i
				WHERE (to_jsonb(i)->>'is_global')::boolean IS FALSE AND to_jsonb(i)->>'created_by_user_id' IS NOT NULL)`,
		Disposition: Rejected, Reason: ReasonTenantMismatch,
		Message: `format('item_id %s is a private item of user %s, but this row belongs to user %s', s.item_id,
			(SELECT to_jsonb(i)->>'created_by_user_id' FROM {{stage}}.market_items i WHERE i.id = s.item_id), s.user_id)`,
	}},
}
