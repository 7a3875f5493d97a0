package mappings

// activityEvents folds the legacy table activity_events into audit_log.
var activityEvents = Mapping{
	// activity_events fold into audit_log with their own ids.
	Legacy: "activity_events", Target: "audit_log", As: Folded,
	Refs: []Ref{{Column: "user_id", Parent: "users", Kind: Owner}},
	Columns: map[string]string{
		"action":        `'activity'`,
		"resource_type": `s.category`,
		"status":        `'success'`,
		"details": `coalesce(s.metadata, '{}'::jsonb) || jsonb_build_object(
				'xp_earned', s.xp_earned, 'coins_earned', s.coins_earned)`,
	},
}
