package mappings

// userWalletV21 maps the legacy table user_wallet onto the target table of
// the same name, in its v21 shape.
var userWalletV21 = Mapping{
	Legacy: "user_wallet", Shape: ShapeV21, Target: "user_wallet",
	Refs: []Ref{{Column: "user_id", Parent: "users", Kind: Owner}},
	Columns: map[string]string{
		"coins":        `s.total_coins`,
		"total_earned": `s.earned_coins`,
		"total_spent":  `s.spent_coins`,
	},
}
