package mappings

// userRewards folds the legacy table user_rewards into points_ledger.
var userRewards = Mapping{
	// Claimed rewards become ledger entries; unclaimed ones are archived.
	Legacy: "user_rewards", Target: "points_ledger", As: Folded,
	ByDesign: []Rule{{When: `NOT s.claimed`, Disposition: Archived, Reason: ReasonUnclaimedReward}},
	Refs:     []Ref{{Column: "user_id", Parent: "users", Kind: Owner}},
	TargetID: `{{derived_id}}`,
	Checks: []Rule{{
		// A ledger row of the reward's user under its idempotency key
		// records the same reward (the target's natural key, fine print
		// 4): merged onto it, instead of stopping the run on the key.
		When: `EXISTS (SELECT 1 FROM {{d:points_ledger}} p
				WHERE p._x_user_id = s.user_id AND p._x_idempotency_key = 'legacy-reward:' || s.id)`,
		Disposition: Merged, Reason: "duplicate_ledger_entry", Same: []string{"user_id"},
		TargetID: `(SELECT p._tid FROM {{d:points_ledger}} p
				WHERE p._x_user_id = s.user_id AND p._x_idempotency_key = 'legacy-reward:' || s.id LIMIT 1)`,
	}, {
		// A legacy ledger row under the reward's derived id: two facts,
		// one id, and the ledger row keeps it.
		When:        `EXISTS (SELECT 1 FROM {{d:points_ledger}} p WHERE p._tid = {{derived_id}})`,
		Disposition: Rejected, Reason: ReasonIDTaken,
		Message: `format('id %s, derived from this reward''s id, is the id of a legacy points_ledger row, which loads under it; give that row or this reward another id in the source', {{derived_id}})`,
	}},
	After: []string{"points_ledger"},
	Columns: map[string]string{
		"id":              `{{derived_id}}`,
		"event_type":      `'reward'`,
		"reason":          `s.reward_type`,
		"coins":           `s.coins_earned`,
		"created_at":      `coalesce(s.claimed_at, s.created_at)`,
		"idempotency_key": `'legacy-reward:' || s.id`,
	},
}
