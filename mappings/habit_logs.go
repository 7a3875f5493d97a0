package mappings

// habitLogs maps the legacy table habit_logs onto habit_completions.
var habitLogs = Mapping{
	// Fine print 6: orphan → parent_rejected → tenant_mismatch → merged
	// onto a loading completion → first log of a key loads.
	Legacy: "habit_logs", Target: "habit_completions",
	Refs: []Ref{
		{Column: "habit_id", Parent: "habits", Kind: Parent, Tenant: true},
		{Column: "user_id", Parent: "users", Kind: Owner},
	},
	Columns: map[string]string{
		"completed_at": `coalesce(s.created_at, s.completed_date::timestamp AT TIME ZONE 'UTC')`,
	},
	Checks: []Rule{{
		When: `EXISTS (SELECT 1 FROM {{d:habit_completions}} c
				WHERE c._x_habit_id = s.habit_id AND c._x_completed_date = s.completed_date)`,
		Disposition: Merged, Reason: "duplicate_completion", Same: []string{"habit_id", "completed_date"},
		TargetID: `(SELECT c._tid FROM {{d:habit_completions}} c
				WHERE c._x_habit_id = s.habit_id AND c._x_completed_date = s.completed_date LIMIT 1)`,
	}},
	DedupeBy:    []string{"habit_id", "completed_date"},
	DedupeOrder: `s.created_at NULLS LAST, s.id`,
	After:       []string{"habit_completions"},
}
