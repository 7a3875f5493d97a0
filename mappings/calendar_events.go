package mappings

// calendarEvents maps the legacy table calendar_events onto the target table
// of the same name.
var calendarEvents = Mapping{
	Legacy: "calendar_events", Target: "calendar_events",
	Refs: []Ref{
		{Column: "user_id", Parent: "users", Kind: Owner},
		// No foreign key in either schema: carried, orphans too; an
		// event naming another user's workout, habit or goal is rejected
		// (tenant_mismatch).
		{Column: "workout_id", Parent: "workouts", Kind: Soft, Tenant: true},
		{Column: "habit_id", Parent: "habits", Kind: Soft, Tenant: true},
		{Column: "goal_id", Parent: "goals", Kind: Soft, Tenant: true},
	},
	// ON DELETE CASCADE: a child of a rejected event is rejected, and so
	// is a child of another user's event (tenant_mismatch).
	SelfRef: &Ref{Column: "parent_event_id", Parent: "calendar_events", Kind: Parent, Tenant: true},
}
