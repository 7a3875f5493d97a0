package mappings

// market: 0007_market. The two legacy shapes of market_items merge into one.
var market = []Mapping{
	{
		Legacy: "market_items", Shape: ShapeV16, Target: "market_items",
		NaturalKey: []string{"key"},
		Refs:       []Ref{{Column: "created_by_user_id", Parent: "users", Kind: SetNull}},
	},
	{
		// v21 items have no key: it is the slug of the name, computed by
		// transform.MarketKeys into the stage relation joined here.
		Legacy: "market_items", Shape: ShapeV21, Target: "market_items",
		NaturalKey: []string{"key"},
		Joins:      []string{`JOIN {{stage}}.market_item_keys k ON k.id = s.id`},
		// v21 dropped the CHECK (cost_coins >= 0) that the older shapes
		// and the target keep (INVENTORY.md 3.1): a negative cost is
		// wrong data, rejected with its value, not a failed run.
		Checks: []Rule{{
			When:        `s.cost_coins < 0`,
			Disposition: Rejected, Reason: ReasonInvalidValue,
			Message: `format('column cost_coins: %s is negative, and the target keeps market_items.cost_coins >= 0', s.cost_coins)`,
		}},
		Columns: map[string]string{
			"key":          `k.key`,
			"is_available": `s.available`,
			"icon":         `s.icon_url`,
			"category":     `coalesce(s.category, 'general')`,
		},
	},
	{
		Legacy: "user_purchases", Shape: AnyShape, Target: "user_purchases",
		Refs: []Ref{
			{Column: "user_id", Parent: "users", Kind: Owner},
			{Column: "item_id", Parent: "market_items", Kind: Parent},
		},
	},
	{
		Legacy: "user_market_purchases", Target: "user_purchases",
		Refs: []Ref{
			{Column: "user_id", Parent: "users", Kind: Owner},
			{Column: "item_id", Parent: "market_items", Kind: Parent},
		},
		Columns: map[string]string{
			"cost_coins": `s.cost_paid_coins`,
			"status":     `'purchased'`,
		},
	},
	ownedByUser("market_transactions"),
	{Legacy: "market_recommendations", ArchiveAll: true},
}
