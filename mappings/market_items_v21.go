package mappings

// marketItemsV21 maps the legacy table market_items onto the target table of
// the same name, in its v21 shape.
var marketItemsV21 = Mapping{
	// v21 items have no key: it is the slug of the name, computed by
	// transform.MarketKeys into the stage relation joined here.
	Legacy: "market_items", Shape: ShapeV21, Target: "market_items", Prepare: DeriveMarketKeys,
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
}
