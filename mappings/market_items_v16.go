package mappings

// marketItemsV16 maps the legacy table market_items onto the target table of
// the same name, in its v16 shape.
var marketItemsV16 = Mapping{
	Legacy: "market_items", Shape: ShapeV16, Target: "market_items",
	NaturalKey: []string{"key"},
	Refs:       []Ref{{Column: "created_by_user_id", Parent: "users", Kind: SetNull}},
	// A private item whose key is seeded is not merged: the seed, a
	// catalog item every user sees, would take its is_global false and
	// its creator (and its name and description), and vanish from
	// everyone else's market. Renamed in the source, it loads.
	SeedCollision: []Rule{{
		When:        `s.is_global IS FALSE`,
		Disposition: Rejected, Reason: ReasonPrivateSeededKey,
		Message: `format('key %s is seeded in the target, and this item is private (is_global false, created by user %s): merged, it would make the seeded item private; give it another key in the source', ` +
			`s.key, coalesce(s.created_by_user_id::text, 'none'))`,
	}},
}
