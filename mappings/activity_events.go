package mappings

// activityEvents folds the legacy table activity_events into audit_log.
var activityEvents = Mapping{
	// activity_events fold into audit_log with their own ids.
	Legacy: "activity_events", Target: "audit_log", As: Folded,
	Refs: []Ref{{Column: "user_id", Parent: "users", Kind: Owner}},
	// details is metadata plus xp_earned and coins_earned: metadata must
	// be an object (or null: none), and hold those keys, if at all, with
	// the columns' values; otherwise one of the two would be lost.
	// An activity with the id of a legacy audit entry: two facts, one
	// id, and the audit entry keeps it (a hash join with its stage).
	Lookups: []Lookup{{
		Join:    `LEFT JOIN {{stage}}.audit_log lk_audit ON lk_audit.id = s.id`,
		Columns: []string{`lk_audit.id IS NOT NULL AS _id_taken`},
	}},
	Checks: []Rule{{
		When:        `s._id_taken`,
		Disposition: Rejected, Reason: ReasonIDTaken,
		Message: `format('id %s is the id of a legacy audit_log row, which keeps it: folded with its own id, this activity would take it too; give it another id in the source', s.id)`,
	}, {
		When:        `jsonb_typeof(s.metadata) NOT IN ('object', 'null')`,
		Disposition: Rejected, Reason: ReasonInvalidValue,
		Message: `format('column metadata: a JSON %s, not an object: details is metadata plus xp_earned and coins_earned', jsonb_typeof(s.metadata))`,
	}, {
		When: `s.metadata ? 'xp_earned' AND s.metadata->'xp_earned' IS DISTINCT FROM coalesce(to_jsonb(s.xp_earned), 'null')
			OR s.metadata ? 'coins_earned' AND s.metadata->'coins_earned' IS DISTINCT FROM coalesce(to_jsonb(s.coins_earned), 'null')`,
		Disposition: Rejected, Reason: ReasonInvalidValue,
		Message: `format('column metadata: holds xp_earned %s and coins_earned %s, the columns %s and %s: details holds one of each',
			coalesce(s.metadata->>'xp_earned', '(none)'), coalesce(s.metadata->>'coins_earned', '(none)'),
			coalesce(s.xp_earned::text, 'NULL'), coalesce(s.coins_earned::text, 'NULL'))`,
	}},
	Columns: map[string]string{
		"action":        `'activity'`,
		"resource_type": `s.category`,
		"status":        `'success'`,
		"details": `CASE WHEN jsonb_typeof(s.metadata) = 'object' THEN s.metadata ELSE '{}'::jsonb END || jsonb_build_object(
				'xp_earned', s.xp_earned, 'coins_earned', s.coins_earned)`,
	},
}
