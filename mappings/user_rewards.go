package mappings

// userRewards folds the legacy table user_rewards into points_ledger.
var userRewards = Mapping{
	// Claimed rewards become ledger entries; unclaimed ones are archived.
	Legacy: "user_rewards", Target: "points_ledger", As: Folded,
	ByDesign: []Rule{{When: `NOT s.claimed`, Disposition: Archived, Reason: ReasonUnclaimedReward}},
	Refs:     []Ref{{Column: "user_id", Parent: "users", Kind: Owner}},
	TargetID: `{{derived_id}}`,
	Columns: map[string]string{
		"id":              `{{derived_id}}`,
		"event_type":      `'reward'`,
		"reason":          `s.reward_type`,
		"coins":           `s.coins_earned`,
		"created_at":      `coalesce(s.claimed_at, s.created_at)`,
		"idempotency_key": `'legacy-reward:' || s.id`,
	},
}
