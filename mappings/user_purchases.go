package mappings

// userPurchases maps the legacy table user_purchases onto the target table
// of the same name.
var userPurchases = Mapping{
	Legacy: "user_purchases", Shape: AnyShape, Target: "user_purchases",
	Refs: []Ref{
		{Column: "user_id", Parent: "users", Kind: Owner},
		{Column: "item_id", Parent: "market_items", Kind: Parent},
	},
}
