package mappings

// marketItemsV16 maps the legacy table market_items onto the target table of
// the same name, in its v16 shape.
var marketItemsV16 = Mapping{
	Legacy: "market_items", Shape: ShapeV16, Target: "market_items",
	NaturalKey: []string{"key"},
	Refs:       []Ref{{Column: "created_by_user_id", Parent: "users", Kind: SetNull}},
}
