package mappings

// userWalletV16 maps the legacy table user_wallet onto the target table of
// the same name, in its v16 shape.
var userWalletV16 = Mapping{
	Legacy: "user_wallet", Shape: ShapeV16, Target: "user_wallet",
	Refs: []Ref{{Column: "user_id", Parent: "users", Kind: Owner}},
}
