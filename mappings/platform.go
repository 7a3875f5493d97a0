package mappings

// platform: 0012_platform, with the drift table user_inbox. The behavior
// tables (behavior_outbox, behavior_projection_state, decision_telemetry)
// are new and stay empty.
var platform = []Mapping{
	ownedByUser("feedback"),
	ownedByUser("ideas"),
	ownedByUser("infobase_entries"),
	ownedByUser("user_settings"),
	ownedByUser("user_references"),
	{
		Legacy: "inbox_items", Target: "inbox_items",
		Refs:    []Ref{{Column: "user_id", Parent: "users", Kind: Owner}},
		Exposes: []string{"user_id", "title", "created_at"},
	},
	{Legacy: "onboarding_flows", Target: "onboarding_flows", NaturalKey: []string{"name"}},
	{
		Legacy: "onboarding_steps", Target: "onboarding_steps",
		NaturalKey: []string{"flow_id", "step_order"},
		Refs:       []Ref{{Column: "flow_id", Parent: "onboarding_flows", Kind: Parent}},
	},
	{
		Legacy: "user_onboarding_state", Target: "user_onboarding_state",
		Refs: []Ref{
			{Column: "user_id", Parent: "users", Kind: Owner},
			{Column: "flow_id", Parent: "onboarding_flows", Kind: Parent},
			{Column: "current_step_id", Parent: "onboarding_steps", Kind: Parent},
		},
	},
	{
		Legacy: "user_onboarding_responses", Target: "user_onboarding_responses",
		Refs: []Ref{
			{Column: "user_id", Parent: "users", Kind: Owner},
			{Column: "step_id", Parent: "onboarding_steps", Kind: Parent},
		},
	},
	{
		// Fine print 7: merged onto a loading inbox item with the same id or
		// the same (user_id, title, created_at); otherwise loaded.
		Legacy: "user_inbox", Target: "inbox_items",
		Refs: []Ref{{Column: "user_id", Parent: "users", Kind: Owner}},
		Checks: []Rule{
			{
				When:        `EXISTS (SELECT 1 FROM {{d:inbox_items}} i WHERE i._tid = s.id)`,
				Disposition: Merged, Reason: "duplicate_inbox_id", TargetID: `s.id`,
			},
			{
				When: `EXISTS (SELECT 1 FROM {{d:inbox_items}} i
					WHERE i._x_user_id = s.user_id AND i._x_title = s.title AND i._x_created_at = s.created_at)`,
				Disposition: Merged, Reason: "duplicate_inbox_item",
				TargetID: `(SELECT i._tid FROM {{d:inbox_items}} i
					WHERE i._x_user_id = s.user_id AND i._x_title = s.title AND i._x_created_at = s.created_at
					ORDER BY i._tid LIMIT 1)`,
			},
		},
		Omit:  []string{"sort_order"},
		After: []string{"inbox_items"},
	},
	{Legacy: "user_interests", ArchiveAll: true},
	{Legacy: "feature_flags", ArchiveAll: true},
}
