package mappings

// userRewards folds the legacy table user_rewards into points_ledger.
var userRewards = Mapping{
	// Claimed rewards become ledger entries; unclaimed ones are archived.
	Legacy: "user_rewards", Target: "points_ledger", As: Folded,
	ByDesign: []Rule{{When: `NOT s.claimed`, Disposition: Archived, Reason: ReasonUnclaimedReward}},
	Refs:     []Ref{{Column: "user_id", Parent: "users", Kind: Owner}},
	TargetID: `{{derived_id}}`,
	// A legacy ledger row of the reward's user under its idempotency key
	// records the same reward (the target's natural key, fine print 4):
	// merged onto it, instead of stopping the run on the key. A legacy
	// ledger row under the reward's derived id is another fact with that
	// id, and keeps it. Both are hash joins with the ledger's stage; a
	// ledger row has its user's fate (its one reference), so the stage
	// tells as the decisions would.
	Lookups: []Lookup{{
		Join: `LEFT JOIN (SELECT user_id, idempotency_key, min(id::text)::uuid AS id FROM {{stage}}.points_ledger
				WHERE idempotency_key LIKE 'legacy-reward:%' GROUP BY 1, 2) lk_entry
				ON lk_entry.user_id = s.user_id AND lk_entry.idempotency_key = 'legacy-reward:' || s.id`,
		Columns: []string{`lk_entry.id AS _ledger_entry`},
	}, {
		Join:    `LEFT JOIN {{stage}}.points_ledger lk_ledger ON lk_ledger.id = {{derived_id}}`,
		Columns: []string{`lk_ledger.id IS NOT NULL AS _id_taken`},
	}},
	Checks: []Rule{{
		When:        `s._ledger_entry IS NOT NULL`,
		Disposition: Merged, Reason: "duplicate_ledger_entry", Same: []string{"user_id"},
		TargetID: `s._ledger_entry`,
	}, {
		When:        `s._id_taken`,
		Disposition: Rejected, Reason: ReasonIDTaken,
		Message: `format('id %s, derived from this reward''s id, is the id of a legacy points_ledger row, which keeps it; give that row or this reward another id in the source', {{derived_id}})`,
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
