package mappings

// planning: 0006_planning, plus the archived plan templates.
var planning = []Mapping{
	{
		Legacy: "calendar_events", Target: "calendar_events",
		Refs: []Ref{{Column: "user_id", Parent: "users", Kind: Owner}},
		// ON DELETE CASCADE: a child of a rejected event is rejected.
		SelfRef: &Ref{Column: "parent_event_id", Parent: "calendar_events", Kind: Parent},
	},
	ownedByUser("daily_plans"),
	{Legacy: "plan_templates", ArchiveAll: true},
}
