package mappings

// pointsLedger maps the legacy table points_ledger onto the target table of
// the same name.
var pointsLedger = Mapping{
	Legacy: "points_ledger", Target: "points_ledger",
	Refs: []Ref{{Column: "user_id", Parent: "users", Kind: Owner}},
	// user_rewards merges a reward that a ledger row already records
	// under the reward's idempotency key.
	Exposes: []string{"user_id", "idempotency_key"},
}
