package mappings

// gamification: 0002_gamification, the folded rewards and the archived
// skill tables.
var gamification = []Mapping{
	{Legacy: "achievement_definitions", Target: "achievement_definitions", NaturalKey: []string{"key"}},
	{
		Legacy: "user_achievements", Target: "user_achievements",
		Refs: []Ref{
			{Column: "user_id", Parent: "users", Kind: Owner},
			{Column: "achievement_key", Parent: "achievement_definitions", Key: "key", Kind: Parent},
		},
	},
	ownedByUser("user_progress"),
	ownedByUser("user_streaks"),
	ownedByUser("points_ledger"),
	{
		Legacy: "user_wallet", Shape: ShapeV16, Target: "user_wallet",
		Refs: []Ref{{Column: "user_id", Parent: "users", Kind: Owner}},
	},
	{
		Legacy: "user_wallet", Shape: ShapeV21, Target: "user_wallet",
		Refs: []Ref{{Column: "user_id", Parent: "users", Kind: Owner}},
		Columns: map[string]string{
			"coins":        `s.total_coins`,
			"total_earned": `s.earned_coins`,
			"total_spent":  `s.spent_coins`,
		},
	},
	{
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
	},
	{Legacy: "skill_definitions", ArchiveAll: true},
	{Legacy: "user_skills", ArchiveAll: true},
}

// ownedByUser is the plain 1:1 mapping of a table whose only reference is
// its owner.
func ownedByUser(table string) Mapping {
	return Mapping{
		Legacy: table, Target: table,
		Refs: []Ref{{Column: "user_id", Parent: "users", Kind: Owner}},
	}
}
