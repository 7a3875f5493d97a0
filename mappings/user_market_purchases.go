package mappings

// userMarketPurchases maps the legacy table user_market_purchases onto
// user_purchases.
var userMarketPurchases = Mapping{
	Legacy: "user_market_purchases", Target: "user_purchases",
	Refs: []Ref{
		{Column: "user_id", Parent: "users", Kind: Owner},
		{Column: "item_id", Parent: "market_items", Kind: Parent},
	},
	Columns: map[string]string{
		"cost_coins": `s.cost_paid_coins`,
		"status":     `'purchased'`,
	},
}
