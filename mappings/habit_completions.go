package mappings

// habitCompletions maps the legacy table habit_completions onto the target
// table of the same name.
var habitCompletions = Mapping{
	Legacy: "habit_completions", Target: "habit_completions",
	Exposes: []string{"habit_id", "completed_date"},
	Refs: []Ref{
		{Column: "habit_id", Parent: "habits", Kind: Parent, Tenant: true},
		{Column: "user_id", Parent: "users", Kind: Owner},
	},
}
